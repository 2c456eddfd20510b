//! Writing files so that a reader (or a crash) never sees half of one, reading JSON Lines, the
//! checksum of a logged line, and keeping a project's reads and writes inside its folder.
//!
//! Containment rules (README "Paths"):
//! - A write into a project ([`open_append_inside`], [`check_inside_for_write`]) never goes
//!   through a symbolic link below the project folder that leads out of it (or nowhere): a
//!   `memory/` or `task_log.jsonl` linked elsewhere is refused, not followed. Links that stay
//!   inside, and the links the user made to reach the project folder itself, are fine.
//! - A path read from a project file ([`resolve_inside`]) that is relative must stay inside the
//!   project once symbolic links are followed; an absolute one is a path the user gave at import
//!   time and is taken as it is.
//! - An export ([`check_export_target`]) never lands on a file the project owns: any `--out`
//!   inside the project folder is refused, except under its `exports/` folder.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// The folder inside a project where exports may be written.
pub const EXPORTS_DIR: &str = "exports";

/// The temp file a write to `path` goes through before its rename.
#[must_use]
pub fn temp_path(path: &Path) -> PathBuf {
    path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ))
}

/// Creates a fresh file for writing (a temp or side file): a stale file or symbolic link of
/// that name is removed first, and the file is created exclusively, so the write never goes
/// through a link.
///
/// # Errors
/// The stale file cannot be removed, or the new one cannot be created.
pub fn create_fresh(tmp: &Path) -> io::Result<File> {
    if let Err(e) = std::fs::remove_file(tmp)
        && e.kind() != io::ErrorKind::NotFound
    {
        return Err(e);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
}

/// Writes next to the target, syncs, then renames over it. On any failure the temp file is
/// removed and the target is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = create_fresh(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    });
    if result.is_err() {
        // Best effort: the write already failed, and that error is the one to report.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and any missing folders above it, and returns the outermost folder it
/// created (`None` when `dir` was there already), so that a command failing later can take
/// away what it made with [`remove_created`]. Folders made before a failure to create the
/// rest are removed again.
///
/// # Errors
/// A folder cannot be created.
pub fn create_dir_all_new(dir: &Path) -> io::Result<Option<PathBuf>> {
    let mut top = None;
    let mut current = Some(dir);
    while let Some(path) = current {
        if path.as_os_str().is_empty() || std::fs::symlink_metadata(path).is_ok() {
            break;
        }
        top = Some(path.to_path_buf());
        current = path.parent();
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        if let Some(top) = &top {
            remove_created(top, dir);
        }
        return Err(e);
    }
    Ok(top)
}

/// Removes the empty folders from `dir` up to `top` (what [`create_dir_all_new`] returned),
/// best effort: a folder that is not empty stays, and so do the ones above it.
pub fn remove_created(top: &Path, dir: &Path) {
    let mut current = Some(dir);
    while let Some(path) = current {
        if !path.starts_with(top) || std::fs::remove_dir(path).is_err() || path == top {
            break;
        }
        current = path.parent();
    }
}

/// A folder written beside its place (`.<name>.partial`) and moved in once every file in it
/// is whole ([`StagedDir::commit`]), so that a full disk or a failure part way never leaves a
/// half-written output folder: a new folder appears whole or not at all, and an existing one
/// keeps its old files until the new ones replace them (files of its own that the new output
/// does not write stay). Dropped without a commit, the stage and any folder made above it
/// are removed.
pub struct StagedDir {
    target: PathBuf,
    stage: PathBuf,
    created: Option<PathBuf>,
    done: bool,
}

impl StagedDir {
    /// Makes the stage for `target` (and the folders above it); a stage a killed run left is
    /// removed first.
    ///
    /// # Errors
    /// `target` has no file name, or a folder cannot be made.
    pub fn new(target: &Path) -> io::Result<Self> {
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a folder name", target.display()),
            )
        })?;
        let mut stage_name = std::ffi::OsString::from(".");
        stage_name.push(name);
        stage_name.push(".partial");
        let stage = target.with_file_name(stage_name);
        let created = match stage.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => create_dir_all_new(parent)?,
            None => None,
        };
        let staged = Self {
            target: target.to_path_buf(),
            stage,
            created,
            done: false,
        };
        if std::fs::symlink_metadata(&staged.stage).is_ok() {
            std::fs::remove_dir_all(&staged.stage)?;
        }
        std::fs::create_dir(&staged.stage)?;
        Ok(staged)
    }

    /// The folder to write into.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.stage
    }

    /// Moves what was written into the target: one rename when there is no target yet, else
    /// file by file (renames need no room, so a full disk cannot stop them part way).
    ///
    /// # Errors
    /// A rename fails (the stage is then removed, as on drop).
    pub fn commit(mut self) -> io::Result<()> {
        let moved = if std::fs::symlink_metadata(&self.target).is_ok() {
            move_into(&self.stage, &self.target).and_then(|()| std::fs::remove_dir(&self.stage))
        } else {
            std::fs::rename(&self.stage, &self.target)
        };
        self.done = moved.is_ok();
        moved
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Best effort: the write already failed, and that error is the one reported.
        let _ = std::fs::remove_dir_all(&self.stage);
        if let (Some(top), Some(parent)) = (&self.created, self.stage.parent()) {
            remove_created(top, parent);
        }
    }
}

/// Moves every entry of `from` into `to`, merging folders that are in both.
fn move_into(from: &Path, to: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let merge = entry.file_type()?.is_dir()
            && std::fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir());
        if merge {
            move_into(&source, &dest)?;
            std::fs::remove_dir(&source)?;
        } else {
            std::fs::rename(&source, &dest)?;
        }
    }
    Ok(())
}

/// Why a JSON Lines file could not be read: I/O, or the 1-based line that does not parse.
#[derive(Debug)]
pub enum JsonlError {
    Io(std::io::Error),
    Line { line: usize, detail: String },
}

/// Reads one value per non-empty line.
///
/// # Errors
/// The file cannot be read, or a line is not a `T`.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, JsonlError> {
    let text = std::fs::read_to_string(path).map_err(JsonlError::Io)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| JsonlError::Line {
                line: i + 1,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Writes a table as Parquet through a temp file and a rename; the temp file is removed when
/// anything fails.
///
/// # Errors
/// The file cannot be written; the message says why.
pub fn write_parquet_atomic(
    path: &Path,
    df: &mut polars::prelude::DataFrame,
) -> Result<(), String> {
    use polars::prelude::ParquetWriter;
    let tmp = path.with_extension("parquet.tmp");
    let result = create_fresh(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|file| {
            let mut writer = FirstError {
                inner: &file,
                error: None,
            };
            let written = ParquetWriter::new(&mut writer).finish(df);
            // Polars words a failed write as its own ("Invalid thrift: transport error" on a
            // full disk): the I/O error underneath is the one that says what happened.
            match (written, writer.error) {
                (Err(_), Some(e)) => return Err(e),
                (Err(e), None) => return Err(e.to_string()),
                (Ok(_), _) => {}
            }
            file.sync_all().map_err(|e| e.to_string())
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A writer that keeps the first I/O error it met, for writers (polars) that report a
/// failed write in their own words.
struct FirstError<W> {
    inner: W,
    error: Option<String>,
}

impl<W: Write> Write for FirstError<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.error.get_or_insert_with(|| e.to_string());
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.error.get_or_insert_with(|| e.to_string());
        })
    }
}

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: {why}", path.display()),
    )
}

/// Checks that `path` lies lexically below `root` and that no existing part of it below `root`
/// is a symbolic link leading out of `root` (or nowhere), so that writing there cannot leave
/// the project folder. A link whose target stays inside the project is allowed; parts that do
/// not exist yet are fine (they will be created as plain files or folders).
///
/// # Errors
/// `InvalidInput` naming the path when it is outside `root` or goes through such a link.
pub fn check_inside_for_write(root: &Path, path: &Path) -> io::Result<()> {
    let rel = path.strip_prefix(root).map_err(|_| {
        refused(
            path,
            "is outside the project folder; refusing to write there",
        )
    })?;
    let mut current = root.to_path_buf();
    for component in rel.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(name) => current.push(name),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(refused(
                    path,
                    "leaves the project folder; refusing to write there",
                ));
            }
        }
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if !resolves_inside(root, &current) {
                    return Err(refused(
                        &current,
                        "is a symbolic link leading out of the project folder; refusing to write through it",
                    ));
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `path` exists and, links followed, lies inside `root`.
fn resolves_inside(root: &Path, path: &Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(real_root)) => real.starts_with(real_root),
        _ => false,
    }
}

/// Opens `path` (below the project folder `root`) for appending, creating it if missing, never
/// through a symbolic link out of the project: see [`check_inside_for_write`]. The file is
/// checked again once open, so a link swapped in between is caught too.
///
/// # Errors
/// The path is refused, or it cannot be opened.
pub fn open_append_inside(root: &Path, path: &Path) -> io::Result<File> {
    check_inside_for_write(root, path)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let opened = file.metadata()?;
    let now = std::fs::metadata(path)?;
    if !resolves_inside(root, path) || !same_file(&now, &opened) {
        return Err(refused(
            path,
            "changed into a symbolic link out of the project while opening; refusing to write through it",
        ));
    }
    Ok(file)
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.file_type() == b.file_type()
}

/// The path a project file's `value` names: an absolute path is taken as it is (the user gave
/// it at import time); a relative one is joined to `root` and must stay inside `root` once
/// symbolic links are followed (a missing file is checked by its words alone).
///
/// # Errors
/// `InvalidInput` naming the value when a relative path leaves the project folder.
pub fn resolve_inside(root: &Path, value: &Path) -> io::Result<PathBuf> {
    if value.is_absolute() {
        return Ok(value.to_path_buf());
    }
    let outside = || refused(value, "leaves the project folder; refusing to read it");
    let mut depth = 0usize;
    for component in value.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(outside)?,
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    let joined = root.join(value);
    if let (Ok(real), Ok(real_root)) = (joined.canonicalize(), root.canonicalize())
        && !real.starts_with(&real_root)
    {
        return Err(outside());
    }
    Ok(joined)
}

/// The canonical form of a path that may not exist yet: its nearest existing ancestor,
/// canonicalised (links followed), with the rest appended; `..` in the rest is refused.
fn canonical_target(path: &Path) -> io::Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if std::fs::symlink_metadata(existing).is_ok() {
            break;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return Err(refused(path, "has no existing folder above it")),
        }
    }
    let mut real = match existing.canonicalize() {
        Ok(real) => real,
        // A dangling link: what gets written is the link's own place.
        Err(_) => existing
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .zip(existing.file_name())
            .map(|(p, n)| p.join(n))
            .ok_or_else(|| refused(path, "cannot be resolved"))?,
    };
    for name in rest.iter().rev() {
        if Path::new(name)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(refused(path, "is not a plain path"));
        }
        real.push(name);
    }
    Ok(real)
}

/// Refuses an export destination `out` that resolves (links followed) to the project folder
/// `project_root` or anything in it other than its `exports/` folder, so an export can never
/// overwrite `project.json`, `task_log.jsonl`, labels, memory or adapters.
///
/// # Errors
/// `InvalidInput` naming `out` and the project when it would land inside the project.
pub fn check_export_target(project_root: &Path, out: &Path) -> io::Result<()> {
    let Ok(root) = project_root.canonicalize() else {
        return Ok(());
    };
    let exports = root.join(EXPORTS_DIR);
    let mut targets = vec![canonical_target(out)?];
    // Where the link points, too: a later writer might follow it.
    if let Ok(followed) = out.canonicalize() {
        targets.push(followed);
    } else if let Ok(link) = std::fs::read_link(out) {
        // A dangling link: creating the file would create its target.
        let base = out.parent().unwrap_or_else(|| Path::new(""));
        targets.push(canonical_target(&base.join(link))?);
    }
    for target in targets {
        if target.starts_with(&root) && !(target.starts_with(&exports) && target != exports) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: is inside the project {}; an export may not overwrite the project's own files (write it outside the project, or under its {EXPORTS_DIR}/ folder)",
                    out.display(),
                    project_root.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A line of an append-only log: CRC-32 of the JSON in hex, a space, the JSON, a line break.
///
/// # Errors
/// The value cannot be serialised as JSON.
pub fn checked_line<T: serde::Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let json = serde_json::to_string(value)?;
    Ok(format!("{:08x} {json}\n", crc32(json.as_bytes())).into_bytes())
}

/// The value on a [`checked_line`] (without its line break), or `None` when the line was cut
/// short or damaged.
#[must_use]
pub fn parse_checked_line<T: serde::de::DeserializeOwned>(line: &[u8]) -> Option<T> {
    let text = std::str::from_utf8(line).ok()?;
    let (crc, json) = text.split_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32(json.as_bytes()) {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// CRC-32 (IEEE): the checksum in front of each line of a project's memory and task logs,
/// which tells a line cut short or damaged from a whole one.
#[must_use]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn write_atomic_leaves_no_temp_file_when_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a folder: the rename fails after the temp file was written.
        let target = dir.path().join("F");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write_atomic(&target, b"hello").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("F")]);
    }

    #[test]
    fn folders_a_command_created_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("kept");
        std::fs::create_dir(&existing).unwrap();
        let deep = existing.join("a/b/c");
        let top = create_dir_all_new(&deep).unwrap().unwrap();
        assert_eq!(top, existing.join("a"));
        assert!(deep.is_dir());
        assert_eq!(create_dir_all_new(&deep).unwrap(), None);
        remove_created(&top, &deep);
        assert!(existing.is_dir() && !existing.join("a").exists());
        // A folder that is not empty stays, with the ones above it.
        let top = create_dir_all_new(&deep).unwrap().unwrap();
        std::fs::write(existing.join("a/b/x"), b"x").unwrap();
        remove_created(&top, &deep);
        assert!(!deep.exists() && existing.join("a/b/x").is_file());
    }

    #[test]
    fn a_staged_folder_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new/out");
        // Dropped without a commit: nothing is left, not even the folder made above it.
        {
            let staged = StagedDir::new(&target).unwrap();
            std::fs::write(staged.path().join("a"), b"a").unwrap();
        }
        assert!(!dir.path().join("new").exists());
        let staged = StagedDir::new(&target).unwrap();
        std::fs::create_dir(staged.path().join("sub")).unwrap();
        std::fs::write(staged.path().join("sub/b"), b"b").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(target.join("sub/b")).unwrap(), b"b");
        // Into an existing folder: its files are replaced, its others kept, folders merged.
        std::fs::write(target.join("mine"), b"kept").unwrap();
        let staged = StagedDir::new(&target).unwrap();
        std::fs::create_dir(staged.path().join("sub")).unwrap();
        std::fs::write(staged.path().join("sub/b"), b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(target.join("sub/b")).unwrap(), b"new");
        assert_eq!(std::fs::read(target.join("mine")).unwrap(), b"kept");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("new"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_does_not_write_through_a_planted_temp_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let target = dir.path().join("project.json");
        std::os::unix::fs::symlink(&victim, temp_path(&target)).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn appending_through_a_link_below_the_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("memory")).unwrap();
        let err = open_append_inside(&root, &root.join("memory/general.jsonl")).unwrap_err();
        assert!(
            err.to_string().contains("symbolic link leading out"),
            "{err}"
        );
        assert!(!outside.join("general.jsonl").exists());
        // A link that stays inside the project is fine.
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("inner")).unwrap();
        open_append_inside(&root, &root.join("inner/x.jsonl")).unwrap();
        assert!(root.join("real/x.jsonl").is_file());
        // A dangling link is refused: creating it would create its target.
        std::os::unix::fs::symlink(outside.join("d"), root.join("d.jsonl")).unwrap();
        assert!(open_append_inside(&root, &root.join("d.jsonl")).is_err());
        assert!(!outside.join("d").exists());
        std::fs::create_dir_all(root.join("m2")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("m2/f.jsonl")).unwrap();
        assert!(open_append_inside(&root, &root.join("m2/f.jsonl")).is_err());
        assert!(!outside.join("f").exists());
        open_append_inside(&root, &root.join("m2/plain.jsonl")).unwrap();
    }

    #[test]
    fn relative_paths_read_from_a_project_stay_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(resolve_inside(root, Path::new("../../../x.mp4")).is_err());
        assert!(resolve_inside(root, Path::new("a/../../x.mp4")).is_err());
        assert_eq!(
            resolve_inside(root, Path::new("a/../v.mp4")).unwrap(),
            root.join("a/../v.mp4")
        );
        assert_eq!(
            resolve_inside(root, Path::new("/data/v.mp4")).unwrap(),
            PathBuf::from("/data/v.mp4")
        );
    }

    #[test]
    fn exports_into_the_project_are_refused_except_under_exports() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("memory")).unwrap();
        std::fs::create_dir_all(root.join(EXPORTS_DIR)).unwrap();
        for bad in [
            "project.json",
            "task_log.jsonl",
            "memory/general.jsonl",
            "new/x.csv",
        ] {
            assert!(
                check_export_target(&root, &root.join(bad)).is_err(),
                "{bad}"
            );
        }
        assert!(check_export_target(&root, &root.join("memory/../project.json")).is_err());
        assert!(check_export_target(&root, &root.join("exports/x.jsonl")).is_ok());
        assert!(check_export_target(&root, &dir.path().join("x.jsonl")).is_ok());
        #[cfg(unix)]
        {
            std::fs::write(root.join("project.json"), b"{}").unwrap();
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(root.join("project.json"), &link).unwrap();
            assert!(check_export_target(&root, &link).is_err());
            let dangling = dir.path().join("dangling.jsonl");
            std::os::unix::fs::symlink(root.join("task_log.jsonl"), &dangling).unwrap();
            assert!(check_export_target(&root, &dangling).is_err());
            let dir_link = dir.path().join("pl");
            std::os::unix::fs::symlink(&root, &dir_link).unwrap();
            assert!(check_export_target(&root, &dir_link.join("task_log.jsonl")).is_err());
        }
    }
}
