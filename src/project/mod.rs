//! A project folder: `project.json` (schema version, streams with their questions and phases,
//! lanes, settings), written atomically; memory per lane as append-only JSONL under `memory/`,
//! one entry per line behind its CRC-32, so a crash mid-append costs at most the line being
//! written and never a project that does not open.
//!
//! An import ([`Project::add_imported`]) is all or nothing: each file it adds to is written
//! whole to a side file (`<file>.pending`, which opening never reads), then `project.json` is
//! rewritten (one atomic rename) naming those side files: that rename is the commit. The side
//! files are then renamed over their files and the manifest rewritten without them; a kill in
//! between is finished by the next open. Entries already in the project (same stream, lane,
//! times and text) are not added again, so rerunning a killed or failed import never
//! duplicates. (An import rewrites the lane files it adds to, so an append to the same lane
//! from another process during an import may be lost; appends to other lanes are not.) Writes
//! never follow a symbolic link out of the folder ([`crate::fsutil::open_append_inside`]).
//! Entries with times no importer accepts are skipped on open like damaged lines.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::memory::import::{Imported, MAX_TIME_MS, StreamInfo};
use crate::memory::labels::{LabelEvent, Labels};
use crate::memory::{Lane, MemoryEntry, MemoryStore};
use crate::tasks::{TaskEvent, TaskLibrary};

/// The task log is one of the project's files; its format is the tasks module's.
pub use crate::tasks::log::TASKS_FILE;

/// The schema this build writes; older ones are migrated on open.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a TaskMem Studio project: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
    #[error("{}: written by a newer TaskMem Studio (schema {found}, this one reads up to {SCHEMA_VERSION})", path.display())]
    TooNew { path: PathBuf, found: u32 },
    #[error("lane \"{lane}\": {detail}")]
    BadLane { lane: String, detail: String },
    #[error("{}: stream '{stream}': its video \"{video}\" {detail}", path.display())]
    BadVideo {
        path: PathBuf,
        stream: String,
        video: String,
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProjectError + '_ {
    move |source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub clip_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { clip_ms: 10_000 }
    }
}

/// project.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub name: String,
    #[serde(default)]
    pub streams: Vec<StreamInfo>,
    #[serde(default)]
    pub lanes: Vec<Lane>,
    #[serde(default)]
    pub settings: Settings,
    /// An import committed but not yet finished: side files to rename over their files (paths
    /// relative to the project folder). Opening finishes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingFile>,
}

/// A side file of an import and the project file it replaces, relative to the project folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    pub from: String,
    pub to: String,
}

/// What [`Project::add_imported_counted`] did: entries added, and entries left out because
/// the project already held them (a rerun import).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCount {
    pub added: usize,
    pub already: usize,
}

/// A project's manifest and some lane files' lengths at one moment ([`Project::checkpoint`]).
pub struct Checkpoint {
    manifest: Manifest,
    files: Vec<(PathBuf, Option<u64>)>,
}

/// An open project.
pub struct Project {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub memory: MemoryStore,
    /// Annotators' verdicts and edits, folded from `labels.jsonl`.
    pub labels: Labels,
    /// Every stream's tasks, folded from `task_log.jsonl` (an append-only log of changes).
    pub tasks: TaskLibrary,
    /// Lines in `task_log.jsonl` at open: far more than tasks means a long edit history.
    pub task_log_lines: usize,
    /// Lines of memory or label files that were cut short or damaged and were skipped on open.
    pub skipped_lines: usize,
    /// The files those lines were in, with how many each (also logged as warnings on open).
    pub skipped_files: Vec<(PathBuf, usize)>,
}

/// Refuses a lane id that cannot name its file `memory/<lane>.jsonl` (see
/// [`crate::memory::lane_id_problem`]).
///
/// # Errors
/// [`ProjectError::BadLane`] naming the lane.
pub fn check_lane_id(lane: &str) -> Result<(), ProjectError> {
    match crate::memory::lane_id_problem(lane) {
        None => Ok(()),
        Some(detail) => Err(ProjectError::BadLane {
            lane: lane.to_owned(),
            detail: detail.to_owned(),
        }),
    }
}

/// Refuses a stream whose video is a relative path leading out of the project folder (an
/// absolute path is one the user gave and is kept; a URL is not a path).
fn check_video(dir: &Path, stream: &StreamInfo) -> Result<(), ProjectError> {
    let Some(video) = stream.video.as_deref() else {
        return Ok(());
    };
    if video.contains("://") {
        return Ok(());
    }
    crate::fsutil::resolve_inside(dir, Path::new(video))
        .map(|_| ())
        .map_err(|_| ProjectError::BadVideo {
            path: dir.join("project.json"),
            stream: stream.id.clone(),
            video: video.to_owned(),
            detail:
                "leads out of the project folder; give an absolute path or one inside the project"
                    .to_owned(),
        })
}

fn lane_file_name(lane: &str) -> String {
    let safe: String = lane
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.jsonl")
}

impl Project {
    /// A new, empty project folder (refuses to overwrite one).
    pub fn create(dir: &Path, name: &str) -> Result<Self, ProjectError> {
        let manifest_path = dir.join("project.json");
        if manifest_path.exists() {
            return Err(ProjectError::Invalid {
                path: manifest_path,
                detail: "a project already exists here".to_owned(),
            });
        }
        let memory_dir = dir.join("memory");
        let created = crate::fsutil::create_dir_all_new(&memory_dir).map_err(io(dir))?;
        let project = Self {
            dir: dir.to_path_buf(),
            manifest: Manifest {
                schema_version: SCHEMA_VERSION,
                name: name.to_owned(),
                streams: Vec::new(),
                lanes: Vec::new(),
                settings: Settings::default(),
                pending: Vec::new(),
            },
            memory: MemoryStore::default(),
            labels: Labels::default(),
            tasks: TaskLibrary::default(),
            task_log_lines: 0,
            skipped_lines: 0,
            skipped_files: Vec::new(),
        };
        if let Err(e) = project.save_manifest() {
            // A full disk: no half-made project is left where there was none.
            if let Some(top) = created {
                crate::fsutil::remove_created(&top, &memory_dir);
            }
            return Err(e);
        }
        Ok(project)
    }

    /// What the manifest and the files of `lanes` hold now, for [`Project::roll_back`] when a
    /// command that appends entries one by one (an ingest) fails to write part way.
    #[must_use]
    pub fn checkpoint(&self, lanes: &[&str]) -> Checkpoint {
        let files = lanes
            .iter()
            .map(|lane| {
                let path = self.dir.join("memory").join(lane_file_name(lane));
                let len = std::fs::symlink_metadata(&path).ok().map(|m| m.len());
                (path, len)
            })
            .collect();
        Checkpoint {
            manifest: self.manifest.clone(),
            files,
        }
    }

    /// Puts the project back as it was at `checkpoint`: each lane file cut back to its length
    /// then (removed if it was not there), then the manifest written as it was, and the
    /// project opened again. Cutting the files back first frees the room the manifest needs.
    ///
    /// # Errors
    /// A file cannot be cut back or removed, or the manifest cannot be written.
    pub fn roll_back(&mut self, checkpoint: &Checkpoint) -> Result<(), ProjectError> {
        for (path, len) in &checkpoint.files {
            crate::fsutil::check_inside_for_write(&self.dir, path).map_err(io(path))?;
            let result = match len {
                Some(len) => std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|file| file.set_len(*len).and_then(|()| file.sync_data())),
                None => match std::fs::remove_file(path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            result.map_err(io(path))?;
        }
        if self.manifest != checkpoint.manifest {
            write_manifest(&self.dir, &checkpoint.manifest)?;
        }
        *self = Self::open(&self.dir)?;
        Ok(())
    }

    /// Opens a project, or creates it when the folder has none yet.
    pub fn open_or_create(dir: &Path) -> Result<Self, ProjectError> {
        if dir.join("project.json").exists() {
            Self::open(dir)
        } else {
            let name = dir.file_name().map_or_else(
                || "project".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            Self::create(dir, &name)
        }
    }

    /// Opens a project: finishes an import that was committed but cut short, skips (and warns
    /// about) damaged lines, and refuses stream videos that lead out of the folder.
    pub fn open(dir: &Path) -> Result<Self, ProjectError> {
        let mut manifest = read_manifest(dir)?;
        if !manifest.pending.is_empty() {
            finish_pending(dir, &mut manifest)?;
        }
        for stream in &mut manifest.streams {
            if let Err(e) = check_video(dir, stream) {
                // Not fatal: the memory is still worth opening; the video is just not used.
                log::warn!("{e}; the video is not opened");
                stream.video = None;
            }
            if !(0..=MAX_TIME_MS).contains(&stream.duration_ms) {
                log::warn!(
                    "{}: stream '{}': duration {} ms is not between 0 and a year; taken as 0",
                    dir.join("project.json").display(),
                    stream.id,
                    stream.duration_ms
                );
                stream.duration_ms = 0;
            }
        }
        let mut skipped_files = Vec::new();
        let entries = read_memory(dir, &mut skipped_files)?;
        let mut labels = Labels::default();
        let labels_path = dir.join("labels.jsonl");
        if labels_path.is_file() {
            for event in read_checked::<LabelEvent>(&labels_path, &mut skipped_files)? {
                labels.apply(&event);
            }
        }
        let mut tasks = TaskLibrary::default();
        let mut task_log_lines = 0;
        let tasks_path = dir.join(TASKS_FILE);
        if tasks_path.exists() {
            let events = read_checked::<TaskEvent>(&tasks_path, &mut skipped_files)?;
            task_log_lines = events.len();
            tasks.apply_all(&events);
        } else {
            // Schema 1 before the task library: the manifest's stream questions are the tasks.
            tasks = TaskLibrary::new(
                manifest
                    .streams
                    .iter()
                    .flat_map(|s| crate::memory::import::tasks_from_questions(s, "taskmem-demo"))
                    .collect(),
            );
        }
        // The one warning per damaged file, whichever command opened the project.
        for (file, count) in &skipped_files {
            log::warn!("{}", skipped_warning(file, *count));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            memory: MemoryStore::new(entries),
            labels,
            tasks,
            task_log_lines,
            skipped_lines: skipped_files.iter().map(|(_, n)| n).sum(),
            skipped_files,
        })
    }

    /// One line per file with damaged lines that opening skipped (as opening warned them).
    #[must_use]
    pub fn skipped_warnings(&self) -> Vec<String> {
        self.skipped_files
            .iter()
            .map(|(file, count)| skipped_warning(file, *count))
            .collect()
    }

    pub fn save_manifest(&self) -> Result<(), ProjectError> {
        write_manifest(&self.dir, &self.manifest)
    }

    /// Appends entries to their lanes' files (each line checksummed, then synced).
    pub fn append(&mut self, entries: &[MemoryEntry]) -> Result<(), ProjectError> {
        for e in entries {
            check_lane_id(&e.lane)?;
        }
        let memory_dir = self.dir.join("memory");
        create_memory_dir(&self.dir)?;
        let mut by_lane: std::collections::BTreeMap<&str, Vec<&MemoryEntry>> =
            std::collections::BTreeMap::new();
        for e in entries {
            by_lane.entry(e.lane.as_str()).or_default().push(e);
        }
        for (lane, lane_entries) in by_lane {
            let path = memory_dir.join(lane_file_name(lane));
            let mut buf = Vec::new();
            for e in lane_entries {
                buf.extend_from_slice(&encode_line(e));
            }
            append_lines(&self.dir, &path, &buf)?;
        }
        for e in entries {
            self.memory.push(e.clone());
        }
        Ok(())
    }

    /// Records a label change (appended to labels.jsonl, then applied).
    pub fn record_label(&mut self, event: &LabelEvent) -> Result<(), ProjectError> {
        let path = self.dir.join("labels.jsonl");
        append_lines(&self.dir, &path, &encode_checked(event))?;
        self.labels.apply(event);
        Ok(())
    }

    /// Records task changes (appended to `task_log.jsonl` in one synced write, then applied).
    pub fn record_tasks(&mut self, events: &[TaskEvent]) -> Result<(), ProjectError> {
        if events.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(TASKS_FILE);
        if !path.exists() && !self.tasks.is_empty() {
            // Tasks migrated from a schema-1 manifest exist only in memory: write them first.
            self.compact_tasks()?;
        }
        let mut buf = Vec::new();
        for event in events {
            buf.extend_from_slice(&encode_checked(event));
        }
        append_lines(&self.dir, &path, &buf)?;
        self.tasks.apply_all(events);
        Ok(())
    }

    /// Whether the task log holds mostly superseded edits (every keystroke is a line).
    #[must_use]
    pub fn task_log_is_long(&self) -> bool {
        self.task_log_lines > 4 * self.tasks.len() + 256
    }

    /// The task log as one `put` per task.
    fn compacted_tasks(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        for task in self.tasks.tasks() {
            buf.extend_from_slice(&encode_checked(&TaskEvent::Put {
                task: Box::new(task.clone()),
            }));
        }
        buf
    }

    /// Rewrites `task_log.jsonl` as one `put` per task (atomically), dropping the history of edits.
    pub fn compact_tasks(&self) -> Result<(), ProjectError> {
        let path = self.dir.join(TASKS_FILE);
        crate::fsutil::check_inside_for_write(&self.dir, &path).map_err(io(&path))?;
        crate::fsutil::write_atomic(&path, &self.compacted_tasks()).map_err(io(&path))
    }

    /// Adds what an importer produced: streams and lanes merged by id, entries renumbered.
    /// Returns how many entries were added (see [`Project::add_imported_counted`]).
    pub fn add_imported(&mut self, imported: Imported) -> Result<usize, ProjectError> {
        self.add_imported_counted(imported).map(|c| c.added)
    }

    /// Adds what an importer produced, all or nothing (see the module doc): streams and lanes
    /// merged by id, tasks the project lacks, and the entries it does not already hold,
    /// renumbered. On any error the project (files and `self`) is as it was.
    ///
    /// # Errors
    /// A lane that cannot name a file, a stream video leading out of the folder, or a write
    /// that fails.
    pub fn add_imported_counted(
        &mut self,
        imported: Imported,
    ) -> Result<ImportCount, ProjectError> {
        for lane in &imported.lanes {
            check_lane_id(&lane.id)?;
        }
        for e in &imported.entries {
            check_lane_id(&e.lane)?;
        }
        for stream in &imported.streams {
            check_video(&self.dir, stream)?;
        }
        let mut manifest = self.manifest.clone();
        for stream in imported.streams {
            match manifest.streams.iter_mut().find(|s| s.id == stream.id) {
                Some(existing) => *existing = stream,
                None => manifest.streams.push(stream),
            }
        }
        for lane in imported.lanes {
            if !manifest.lanes.iter().any(|l| l.id == lane.id) {
                manifest.lanes.push(lane);
            }
        }
        // General first, then the task-focused lanes.
        manifest.lanes.sort_by_key(|l| !l.general);
        // Tasks that came along; ones already in the project (a re-import) are kept as they are.
        let new_tasks: Vec<TaskEvent> = imported
            .tasks
            .into_iter()
            .filter(|t| self.tasks.get(&t.stream, &t.id).is_none())
            .map(|t| TaskEvent::Put { task: Box::new(t) })
            .collect();
        let (entries, already) = self.new_entries(imported.entries);
        let mut appends = self.lane_appends(&entries);
        if !new_tasks.is_empty() {
            let path = self.dir.join(TASKS_FILE);
            let mut buf = if path.exists() {
                Vec::new()
            } else {
                // Tasks migrated from a schema-1 manifest exist only in memory: written first.
                self.compacted_tasks()
            };
            for event in &new_tasks {
                buf.extend_from_slice(&encode_checked(event));
            }
            appends.push((path, buf));
        }
        commit(&self.dir, &manifest, &appends)?;
        self.manifest = manifest;
        self.tasks.apply_all(&new_tasks);
        let added = entries.len();
        for e in entries {
            self.memory.push(e);
        }
        Ok(ImportCount { added, already })
    }

    /// The imported entries the project does not hold yet (same stream, lane, times and text),
    /// numbered after the project's, and how many it already held.
    fn new_entries(&self, imported: Vec<MemoryEntry>) -> (Vec<MemoryEntry>, usize) {
        type Key<'a> = (&'a str, &'a str, i64, i64, &'a str);
        let lanes: std::collections::BTreeSet<(&str, &str)> = imported
            .iter()
            .map(|e| (e.stream.as_str(), e.lane.as_str()))
            .collect();
        let held: std::collections::HashSet<Key<'_>> = lanes
            .iter()
            .flat_map(|(stream, lane)| self.memory.lane(stream, lane))
            .map(|e| {
                (
                    e.stream.as_str(),
                    e.lane.as_str(),
                    e.start_ms,
                    e.end_ms,
                    e.text.as_str(),
                )
            })
            .collect();
        let mut next = self.memory.next_id();
        let mut already = 0;
        let mut fresh = Vec::with_capacity(imported.len());
        for mut e in imported {
            let k: Key<'_> = (&e.stream, &e.lane, e.start_ms, e.end_ms, &e.text);
            if held.contains(&k) {
                already += 1;
                continue;
            }
            e.id = next;
            next = next.saturating_add(1);
            fresh.push(e);
        }
        (fresh, already)
    }

    /// The lines to add to each lane file for `entries`.
    fn lane_appends(&self, entries: &[MemoryEntry]) -> Vec<(PathBuf, Vec<u8>)> {
        let mut by_lane: std::collections::BTreeMap<&str, Vec<u8>> =
            std::collections::BTreeMap::new();
        for e in entries {
            by_lane
                .entry(e.lane.as_str())
                .or_default()
                .extend_from_slice(&encode_line(e));
        }
        by_lane
            .into_iter()
            .map(|(lane, buf)| (self.dir.join("memory").join(lane_file_name(lane)), buf))
            .collect()
    }
}

/// The side file an import writes before its commit: not `*.jsonl`, so opening never reads it.
fn side_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".pending");
    path.with_file_name(name)
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Creates `memory/`, refusing one that is a link out of the project.
fn create_memory_dir(dir: &Path) -> Result<(), ProjectError> {
    let memory_dir = dir.join("memory");
    crate::fsutil::check_inside_for_write(dir, &memory_dir).map_err(io(&memory_dir))?;
    std::fs::create_dir_all(&memory_dir).map_err(io(&memory_dir))
}

/// Writes each file's old content plus its new lines to a side file, commits by writing the
/// manifest naming the side files, then renames them into place and clears the manifest's
/// list. Before the commit, a failure removes the side files and leaves everything as it was.
fn commit(
    dir: &Path,
    manifest: &Manifest,
    appends: &[(PathBuf, Vec<u8>)],
) -> Result<(), ProjectError> {
    if !appends.is_empty() {
        create_memory_dir(dir)?;
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let sides = write_sides(dir, appends, &mut written);
    let mut committed = manifest.clone();
    let result = sides.and_then(|pending| {
        committed.pending = pending;
        write_manifest(dir, &committed)
    });
    if let Err(e) = result {
        for side in &written {
            // Best effort: the import already failed, and that error is the one to report.
            let _ = std::fs::remove_file(side);
        }
        return Err(e);
    }
    // Committed: the import has landed, and from here a failure is finished by the next open.
    // Renaming the side files needs no room but rewriting the manifest without them does, so
    // a full disk can stop this step; the import is then reported as done (it is, on disk),
    // not as a failure that changed the project.
    if !committed.pending.is_empty()
        && let Err(e) = finish_pending(dir, &mut committed)
    {
        log::warn!("{e}; the import is committed and the next open of the project finishes it");
    }
    Ok(())
}

/// The side files of `appends` (old content, a line break if the last line was cut short, the
/// new lines), synced; `written` collects them for clean-up.
fn write_sides(
    dir: &Path,
    appends: &[(PathBuf, Vec<u8>)],
    written: &mut Vec<PathBuf>,
) -> Result<Vec<PendingFile>, ProjectError> {
    let mut pending = Vec::new();
    for (path, lines) in appends {
        crate::fsutil::check_inside_for_write(dir, path).map_err(io(path))?;
        let mut bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(path)(e)),
        };
        if bytes.last().is_some_and(|&b| b != b'\n') {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(lines);
        let side = side_path(path);
        written.push(side.clone());
        write_synced(&side, &bytes).map_err(io(&side))?;
        pending.push(PendingFile {
            from: relative(dir, &side),
            to: relative(dir, path),
        });
    }
    Ok(pending)
}

/// Writes a fresh file (a stale one or a link of that name is removed first) and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = crate::fsutil::create_fresh(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn read_manifest(dir: &Path) -> Result<Manifest, ProjectError> {
    let manifest_path = dir.join("project.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ProjectError::Invalid {
            path: manifest_path.clone(),
            detail: e.to_string(),
        })?;
    let found = value["schema_version"]
        .as_u64()
        .ok_or_else(|| ProjectError::Invalid {
            path: manifest_path.clone(),
            detail: "no schema_version".to_owned(),
        })?;
    if found > u64::from(SCHEMA_VERSION) {
        return Err(ProjectError::TooNew {
            path: manifest_path,
            found: u32::try_from(found).unwrap_or(u32::MAX),
        });
    }
    // Version 1 is the current schema; later versions add their migrations here.
    serde_json::from_value(value).map_err(|e| ProjectError::Invalid {
        path: manifest_path,
        detail: e.to_string(),
    })
}

/// A pending file's path inside the project, refusing one that leads out of it.
fn pending_path(dir: &Path, rel: &str) -> Result<PathBuf, ProjectError> {
    let path = Path::new(rel);
    if path.is_absolute() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(ProjectError::Invalid {
            path: dir.join("project.json"),
            detail: format!("pending file \"{rel}\" is not a path inside the project"),
        });
    }
    Ok(dir.join(path))
}

/// Finishes an import committed in the manifest: renames its side files over their files
/// (one already renamed is gone and skipped), then rewrites the manifest without them.
fn finish_pending(dir: &Path, manifest: &mut Manifest) -> Result<(), ProjectError> {
    for file in &manifest.pending {
        let from = pending_path(dir, &file.from)?;
        let to = pending_path(dir, &file.to)?;
        crate::fsutil::check_inside_for_write(dir, &to).map_err(io(&to))?;
        // A side file already gone was renamed by an earlier try.
        if let Err(e) = std::fs::rename(&from, &to)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(io(&from)(e));
        }
    }
    manifest.pending.clear();
    write_manifest(dir, manifest)
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ProjectError> {
    let path = dir.join("project.json");
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| ProjectError::Invalid {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    crate::fsutil::write_atomic(&path, &text).map_err(io(&path))
}

/// Every lane file's entries (`memory/*.jsonl`; side files of imports are not read).
fn read_memory(
    dir: &Path,
    skipped: &mut Vec<(PathBuf, usize)>,
) -> Result<Vec<MemoryEntry>, ProjectError> {
    let memory_dir = dir.join("memory");
    if !memory_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&memory_dir)
        .map_err(io(&memory_dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        // `.jsonl` alone: older builds wrote a lane without letters or digits there.
        .filter(|p| {
            p.extension().is_some_and(|e| e == "jsonl")
                || p.file_name().is_some_and(|n| n == ".jsonl")
        })
        .collect();
    files.sort();
    let mut entries = Vec::new();
    for file in files {
        let read = read_checked::<MemoryEntry>(&file, skipped)?;
        let lines = read.len();
        // Times no importer accepts (written by hand or by an older build) are damage too:
        // a view sized by them would allocate without bound.
        let held = entries.len();
        entries.extend(
            read.into_iter()
                .filter(|e| e.start_ms >= 0 && e.end_ms >= e.start_ms && e.end_ms <= MAX_TIME_MS),
        );
        let absurd = lines - (entries.len() - held);
        if absurd > 0 {
            match skipped.iter_mut().find(|(f, _)| *f == file) {
                Some((_, count)) => *count += absurd,
                None => skipped.push((file, absurd)),
            }
        }
    }
    Ok(entries)
}

/// The warning for `count` damaged lines of `file` that opening skipped.
fn skipped_warning(file: &Path, count: usize) -> String {
    format!(
        "{}: skipped {count} damaged line{} (cut short, corrupted or with impossible times); the file's other lines are loaded",
        file.display(),
        if count == 1 { "" } else { "s" }
    )
}

/// The checked lines of an append-only file; damaged ones are counted against the file.
fn read_checked<T: serde::de::DeserializeOwned>(
    path: &Path,
    skipped: &mut Vec<(PathBuf, usize)>,
) -> Result<Vec<T>, ProjectError> {
    let text = std::fs::read(path).map_err(io(path))?;
    let mut values = Vec::new();
    let mut damaged = 0;
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match parse_checked::<T>(line) {
            Some(value) => values.push(value),
            None => damaged += 1,
        }
    }
    if damaged > 0 {
        skipped.push((path.to_path_buf(), damaged));
    }
    Ok(values)
}

/// A project with `count` synthetic entries over three lanes (10 s clips), for benches.
pub fn synthetic_project(dir: &Path, count: usize) -> Result<(), ProjectError> {
    use crate::memory::import::{Imported, StreamInfo};
    use crate::memory::{Lane, MemoryEntry};
    const WORDS: [&str; 24] = [
        "kitchen", "table", "red", "key", "picks", "up", "puts", "down", "the", "a", "bag", "blue",
        "cup", "office", "desk", "opens", "box", "garden", "bench", "phone", "reads", "sign",
        "apple", "eats",
    ];
    let lanes = ["general", "object-reasoning", "action-reasoning"];
    let mut rng = crate::world::rng::Rng::new(7);
    let per_lane = count.div_ceil(lanes.len());
    let mut entries = Vec::with_capacity(count);
    for (l, lane) in lanes.iter().enumerate() {
        for k in 0..per_lane {
            if entries.len() >= count {
                break;
            }
            let text: Vec<&str> = (0..30).map(|_| WORDS[rng.below(WORDS.len())]).collect();
            let start_ms = k as i64 * 10_000;
            entries.push(MemoryEntry {
                budget_tokens: None,
                id: (l * per_lane + k) as u64,
                stream: "long".to_owned(),
                lane: (*lane).to_owned(),
                start_ms,
                end_ms: start_ms + 10_000,
                text: format!("<face_{}> {}.", k % 7, text.join(" ")),
                available_ms: start_ms + 16_000,
                policy: None,
                adapter: None,
                raw_response: None,
                score: None,
                highlights: Vec::new(),
            });
        }
    }
    let mut project = Project::create(dir, "bench")?;
    project.add_imported(Imported {
        streams: vec![StreamInfo {
            id: "long".to_owned(),
            title: "long".to_owned(),
            duration_ms: per_lane as i64 * 10_000,
            video: None,
            video_sha256: None,
            questions: Vec::new(),
            phases: Vec::new(),
        }],
        lanes: lanes
            .iter()
            .map(|id| Lane {
                hidden: false,
                id: (*id).to_owned(),
                title: (*id).to_owned(),
                general: *id == "general",
                task_hint: None,
                adapter: None,
            })
            .collect(),
        entries,
        tasks: Vec::new(),
    })?;
    Ok(())
}

/// Appends memory entries to a project's lane files from another thread (an ingest, a live
/// policy), one checked, synced line per entry; the app learns of them over a channel.
pub struct MemoryAppender {
    project_dir: PathBuf,
}

impl MemoryAppender {
    pub fn open(project_dir: &Path) -> Result<Self, ProjectError> {
        create_memory_dir(project_dir)?;
        Ok(Self {
            project_dir: project_dir.to_path_buf(),
        })
    }

    pub fn append(&mut self, entry: &MemoryEntry) -> Result<(), ProjectError> {
        check_lane_id(&entry.lane)?;
        let path = self
            .project_dir
            .join("memory")
            .join(lane_file_name(&entry.lane));
        append_lines(&self.project_dir, &path, &encode_checked(entry))
    }
}

/// Appends whole lines and syncs, never through a link out of the project folder `dir`. A
/// line cut short by a crash is ended first, so that it stays the only damaged line instead of
/// swallowing the next one.
fn append_lines(dir: &Path, path: &Path, lines: &[u8]) -> Result<(), ProjectError> {
    use std::io::{Read, Seek, SeekFrom};
    let existed = std::fs::symlink_metadata(path).is_ok();
    let mut file = crate::fsutil::open_append_inside(dir, path).map_err(io(path))?;
    let len = file.metadata().map_err(io(path))?.len();
    let mut torn = false;
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(io(path))?;
        torn = last[0] != b'\n';
    }
    let mut buf = Vec::with_capacity(lines.len() + 1);
    if torn {
        buf.push(b'\n');
    }
    buf.extend_from_slice(lines);
    let written = file.write_all(&buf).and_then(|()| file.sync_data());
    if written.is_err() {
        // A full disk stops a write part way: cut the file back to what it held (or remove
        // the file this append made), so the failed append leaves the file as it was.
        if existed {
            let _ = file.set_len(len).and_then(|()| file.sync_data());
        } else {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
    written.map_err(io(path))
}

/// A line of an append-only file (see [`crate::fsutil::checked_line`]); the project's records
/// always serialise.
fn encode_checked<T: Serialize>(value: &T) -> Vec<u8> {
    crate::fsutil::checked_line(value).unwrap_or_default()
}

/// The value of a line, or `None` if it was cut short or damaged.
fn parse_checked<T: serde::de::DeserializeOwned>(line: &[u8]) -> Option<T> {
    crate::fsutil::parse_checked_line(line)
}

fn encode_line(e: &MemoryEntry) -> Vec<u8> {
    encode_checked(e)
}

#[cfg(test)]
fn parse_line(line: &[u8]) -> Option<MemoryEntry> {
    parse_checked(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_is_skipped_not_fatal() {
        let e = MemoryEntry::for_test(1, "general", "hello");
        let line = encode_line(&e);
        assert_eq!(parse_line(&line[..line.len() - 1]), Some(e));
        let mut damaged = line.clone();
        damaged[12] ^= 1;
        assert_eq!(parse_line(&damaged[..damaged.len() - 1]), None);
        assert_eq!(parse_line(&line[..line.len() / 2]), None);
    }
}
