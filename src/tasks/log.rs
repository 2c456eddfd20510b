//! The project's task log on disk (`task_log.jsonl`): one [`TaskEvent`] per line behind its
//! CRC-32, the line format [`crate::project::Project`] writes and reads.
//!
//! A task import lands whole or not at all: the log with the new lines is written next to the
//! old one and renamed over it in one step, so a full disk or a kill leaves the old log as it
//! was (an append cut short would keep some of the tasks). The log is never written through a
//! symbolic link that leads out of the project folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{TaskEvent, TaskLibrary};

/// The log of task changes inside a project folder.
/// Not `tasks.jsonl`: that is a world stream's question file, and a project may be made in a
/// stream's folder.
pub const TASKS_FILE: &str = "task_log.jsonl";

/// Why the task log could not be read or rewritten.
#[derive(Debug, thiserror::Error)]
pub enum TaskLogError {
    /// A link out of the project (or a dangling one): [`crate::fsutil::check_inside_for_write`]
    /// says which.
    #[error("{detail} (nothing was imported)")]
    OutsideProject { detail: String },
    #[error("{}: is not a plain file; refusing to write it (nothing was imported)", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: cannot write: {source}; none of the {count} tasks were imported (the task log is as it was)",
        path.display()
    )]
    Write {
        path: PathBuf,
        count: usize,
        #[source]
        source: std::io::Error,
    },
}

/// One event as a log line: CRC-32 of the JSON in hex, a space, the JSON, a line break.
///
/// # Errors
/// The event cannot be serialised (it always can: its maps have string keys).
pub fn encode_event(event: &TaskEvent) -> std::io::Result<Vec<u8>> {
    crate::fsutil::checked_line(event).map_err(std::io::Error::other)
}

/// The event on a log line (without its line break), or `None` when the line was cut short
/// or damaged.
#[must_use]
pub fn decode_line(line: &[u8]) -> Option<TaskEvent> {
    crate::fsutil::parse_checked_line(line)
}

/// How many non-empty lines of a log are damaged (opening a project skips them).
#[must_use]
pub fn damaged_lines(log: &[u8]) -> usize {
    log.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && decode_line(l).is_none())
        .count()
}

/// Where the task log of `project_dir` is to be written: the log itself, or, when it is a
/// symbolic link, its target provided that lies inside the project folder.
///
/// # Errors
/// A link out of the project (or a dangling one), something that is not a file, or a log
/// whose kind cannot be read.
pub fn log_path(project_dir: &Path) -> Result<PathBuf, TaskLogError> {
    let path = project_dir.join(TASKS_FILE);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
        Err(source) => return Err(TaskLogError::Read { path, source }),
    };
    if meta.file_type().is_symlink() {
        // A dangling link is refused too: creating its target would write wherever it points.
        crate::fsutil::check_inside_for_write(project_dir, &path).map_err(|e| {
            TaskLogError::OutsideProject {
                detail: e.to_string(),
            }
        })?;
        // A link inside the project: the new log replaces the file it points to, so that
        // the link and the project keep reading the same log.
        let target = std::fs::canonicalize(&path).map_err(|source| TaskLogError::Read {
            path: path.clone(),
            source,
        })?;
        return if target.is_file() {
            Ok(target)
        } else {
            Err(TaskLogError::NotAFile { path })
        };
    }
    if meta.is_file() {
        Ok(path)
    } else {
        Err(TaskLogError::NotAFile { path })
    }
}

/// Writes `bytes` into the file being built; [`commit_with`] lets a test make it fail.
pub type Sink<'a> = &'a mut dyn FnMut(&mut std::fs::File, &[u8]) -> std::io::Result<()>;

/// Adds `events` to the task log of `project_dir` all at once (see the module doc).
/// `before` is the library before them: when there is no log yet its tasks (migrated from a
/// schema-1 manifest) are written first, as [`crate::project::Project::record_tasks`] does.
///
/// # Errors
/// The log cannot be read, leads out of the project, or the new one cannot be written; the
/// old log is untouched then and no temp file is left.
pub fn commit(
    project_dir: &Path,
    before: &TaskLibrary,
    events: &[TaskEvent],
) -> Result<(), TaskLogError> {
    commit_with(
        project_dir,
        before,
        events,
        &mut |file: &mut std::fs::File, bytes: &[u8]| file.write_all(bytes),
    )
}

/// [`commit`] writing the new log's bytes through `sink` (a test hook for a full disk).
///
/// # Errors
/// As [`commit`].
pub fn commit_with(
    project_dir: &Path,
    before: &TaskLibrary,
    events: &[TaskEvent],
    sink: Sink<'_>,
) -> Result<(), TaskLogError> {
    if events.is_empty() {
        return Ok(());
    }
    let path = log_path(project_dir)?;
    let count = events
        .iter()
        .filter(|e| matches!(e, TaskEvent::Put { .. }))
        .count();
    let write_err = |source| TaskLogError::Write {
        path: path.clone(),
        count,
        source,
    };
    let mut bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut migrated = Vec::new();
            for task in before.tasks() {
                migrated.extend(
                    encode_event(&TaskEvent::Put {
                        task: Box::new(task.clone()),
                    })
                    .map_err(write_err)?,
                );
            }
            migrated
        }
        Err(source) => {
            return Err(TaskLogError::Read {
                path: path.clone(),
                source,
            });
        }
    };
    if bytes.last().is_some_and(|&b| b != b'\n') {
        // A line cut short by a crash stays the only damaged one.
        bytes.push(b'\n');
    }
    for event in events {
        bytes.extend(encode_event(event).map_err(write_err)?);
    }
    write_side_then_rename(&path, &bytes, sink).map_err(write_err)
}

/// The temp file a commit writes before renaming it over `path`.
#[must_use]
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".import.tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to a new temp file next to `path`, syncs it and renames it over `path`;
/// on any failure the temp file is removed.
fn write_side_then_rename(path: &Path, bytes: &[u8], sink: Sink<'_>) -> std::io::Result<()> {
    let tmp = temp_path(path);
    // A temp file left by a killed run (or a link planted there) goes first, and the new one
    // is created exclusively: the write never follows a link.
    let mut file = crate::fsutil::create_fresh(&tmp)?;
    let written = sink(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable once the folder is synced; a folder that cannot be opened for
    // that (some filesystems) still has the complete new log.
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::Task;

    fn put(id: &str) -> TaskEvent {
        let mut task = Task::authored(id.to_owned(), "s", 1_000, "me");
        task.text = format!("question {id}");
        // Fixed times: two puts made a millisecond apart are still the same event.
        task.created_unix_ms = 1_700_000_000_000;
        task.edited_unix_ms = 1_700_000_000_000;
        TaskEvent::Put {
            task: Box::new(task),
        }
    }

    #[test]
    fn lines_round_trip_and_damage_is_counted() {
        let line = encode_event(&put("a")).unwrap();
        assert_eq!(decode_line(&line[..line.len() - 1]), Some(put("a")));
        let mut log = line.clone();
        log.extend_from_slice(b"0000 {\"op\":\"put\"}\n");
        log.extend_from_slice(&line[..line.len() / 2]);
        assert_eq!(damaged_lines(&log), 2);
    }

    #[test]
    fn a_failed_commit_leaves_the_log_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let library = TaskLibrary::default();
        commit(dir.path(), &library, &[put("a")]).unwrap();
        let log = dir.path().join(TASKS_FILE);
        let before = std::fs::read(&log).unwrap();
        let events: Vec<TaskEvent> = (0..500).map(|i| put(&format!("t{i}"))).collect();
        let mut full_disk = |file: &mut std::fs::File, bytes: &[u8]| -> std::io::Result<()> {
            file.write_all(&bytes[..bytes.len() / 2])?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        };
        let err = commit_with(dir.path(), &library, &events, &mut full_disk).unwrap_err();
        assert!(
            err.to_string()
                .contains("none of the 500 tasks were imported"),
            "{err}"
        );
        assert_eq!(std::fs::read(&log).unwrap(), before);
        assert!(!temp_path(&log).exists());
    }
}
