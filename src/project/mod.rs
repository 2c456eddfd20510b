//! A project folder: `project.json` (schema version, streams with their questions and phases,
//! lanes, settings), written atomically; memory per lane as append-only JSONL under `memory/`,
//! one entry per line behind its CRC-32, so a crash mid-append costs at most the line being
//! written and never a project that does not open.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::memory::import::{Imported, StreamInfo};
use crate::memory::labels::{LabelEvent, Labels};
use crate::tasks::{TaskEvent, TaskLibrary};

/// The log of task changes inside a project folder.
/// Not `tasks.jsonl`: that is a world stream's question file, and a project may be made in a
/// stream's folder.
pub const TASKS_FILE: &str = "task_log.jsonl";
use crate::memory::{Lane, MemoryEntry, MemoryStore};

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
}

/// CRC-32 (IEEE), for the memory lines.
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
        std::fs::create_dir_all(dir.join("memory")).map_err(io(dir))?;
        let project = Self {
            dir: dir.to_path_buf(),
            manifest: Manifest {
                schema_version: SCHEMA_VERSION,
                name: name.to_owned(),
                streams: Vec::new(),
                lanes: Vec::new(),
                settings: Settings::default(),
            },
            memory: MemoryStore::default(),
            labels: Labels::default(),
            tasks: TaskLibrary::default(),
            task_log_lines: 0,
            skipped_lines: 0,
        };
        project.save_manifest()?;
        Ok(project)
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

    pub fn open(dir: &Path) -> Result<Self, ProjectError> {
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
            })? as u32;
        if found > SCHEMA_VERSION {
            return Err(ProjectError::TooNew {
                path: manifest_path,
                found,
            });
        }
        // Version 1 is the current schema; later versions add their migrations here.
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| ProjectError::Invalid {
                path: manifest_path.clone(),
                detail: e.to_string(),
            })?;
        let mut entries = Vec::new();
        let mut skipped_lines = 0;
        let memory_dir = dir.join("memory");
        if memory_dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&memory_dir)
                .map_err(io(&memory_dir))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read(&file).map_err(io(&file))?;
                for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    match parse_line(line) {
                        Some(entry) => entries.push(entry),
                        None => skipped_lines += 1,
                    }
                }
            }
        }
        let mut labels = Labels::default();
        let labels_path = dir.join("labels.jsonl");
        if labels_path.is_file() {
            let text = std::fs::read(&labels_path).map_err(io(&labels_path))?;
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                match parse_checked::<LabelEvent>(line) {
                    Some(event) => labels.apply(&event),
                    None => skipped_lines += 1,
                }
            }
        }
        let mut tasks = TaskLibrary::default();
        let mut task_log_lines = 0;
        let tasks_path = dir.join(TASKS_FILE);
        if tasks_path.exists() {
            let text = std::fs::read(&tasks_path).map_err(io(&tasks_path))?;
            let mut events = Vec::new();
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                match parse_checked::<TaskEvent>(line) {
                    Some(event) => events.push(event),
                    None => skipped_lines += 1,
                }
            }
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
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            memory: MemoryStore::new(entries),
            labels,
            tasks,
            task_log_lines,
            skipped_lines,
        })
    }

    pub fn save_manifest(&self) -> Result<(), ProjectError> {
        let path = self.dir.join("project.json");
        let text =
            serde_json::to_vec_pretty(&self.manifest).map_err(|e| ProjectError::Invalid {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        crate::fsutil::write_atomic(&path, &text).map_err(io(&path))
    }

    /// Appends entries to their lanes' files (each line checksummed, then synced).
    pub fn append(&mut self, entries: &[MemoryEntry]) -> Result<(), ProjectError> {
        let memory_dir = self.dir.join("memory");
        std::fs::create_dir_all(&memory_dir).map_err(io(&memory_dir))?;
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
            append_lines(&path, &buf)?;
        }
        for e in entries {
            self.memory.push(e.clone());
        }
        Ok(())
    }

    /// Records a label change (appended to labels.jsonl, then applied).
    pub fn record_label(&mut self, event: &LabelEvent) -> Result<(), ProjectError> {
        let path = self.dir.join("labels.jsonl");
        append_lines(&path, &encode_checked(event))?;
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
        append_lines(&path, &buf)?;
        self.tasks.apply_all(events);
        Ok(())
    }

    /// Whether the task log holds mostly superseded edits (every keystroke is a line).
    #[must_use]
    pub fn task_log_is_long(&self) -> bool {
        self.task_log_lines > 4 * self.tasks.len() + 256
    }

    /// Rewrites `task_log.jsonl` as one `put` per task (atomically), dropping the history of edits.
    pub fn compact_tasks(&self) -> Result<(), ProjectError> {
        let path = self.dir.join(TASKS_FILE);
        let mut buf = Vec::new();
        for task in self.tasks.tasks() {
            buf.extend_from_slice(&encode_checked(&TaskEvent::Put {
                task: Box::new(task.clone()),
            }));
        }
        crate::fsutil::write_atomic(&path, &buf).map_err(io(&path))
    }

    /// Adds what an importer produced: streams and lanes merged by id, entries renumbered.
    pub fn add_imported(&mut self, imported: Imported) -> Result<usize, ProjectError> {
        for stream in imported.streams {
            match self.manifest.streams.iter_mut().find(|s| s.id == stream.id) {
                Some(existing) => *existing = stream,
                None => self.manifest.streams.push(stream),
            }
        }
        for lane in imported.lanes {
            if !self.manifest.lanes.iter().any(|l| l.id == lane.id) {
                self.manifest.lanes.push(lane);
            }
        }
        // General first, then the task-focused lanes.
        self.manifest.lanes.sort_by_key(|l| !l.general);
        // Tasks that came along; ones already in the project (a re-import) are kept as they are.
        let new_tasks: Vec<TaskEvent> = imported
            .tasks
            .into_iter()
            .filter(|t| self.tasks.get(&t.stream, &t.id).is_none())
            .map(|t| TaskEvent::Put { task: Box::new(t) })
            .collect();
        self.record_tasks(&new_tasks)?;
        let first = self.memory.next_id();
        let entries: Vec<MemoryEntry> = imported
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.id = first + i as u64;
                e
            })
            .collect();
        let count = entries.len();
        self.append(&entries)?;
        self.save_manifest()?;
        Ok(count)
    }
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
    memory_dir: PathBuf,
}

impl MemoryAppender {
    pub fn open(project_dir: &Path) -> Result<Self, ProjectError> {
        let memory_dir = project_dir.join("memory");
        std::fs::create_dir_all(&memory_dir).map_err(io(&memory_dir))?;
        Ok(Self { memory_dir })
    }

    pub fn append(&mut self, entry: &MemoryEntry) -> Result<(), ProjectError> {
        let path = self.memory_dir.join(lane_file_name(&entry.lane));
        append_lines(&path, &encode_checked(entry))
    }
}

/// Appends whole lines and syncs. A line cut short by a crash is ended first, so that it
/// stays the only damaged line instead of swallowing the next one.
fn append_lines(path: &Path, lines: &[u8]) -> Result<(), ProjectError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
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
    file.write_all(&buf)
        .and_then(|()| file.sync_data())
        .map_err(io(path))
}

/// A line of an append-only file: CRC-32 of the JSON, a space, the JSON, a newline.
fn encode_checked<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_string(value).unwrap_or_default();
    format!("{:08x} {json}\n", crc32(json.as_bytes())).into_bytes()
}

/// The value of a line, or `None` if it was cut short or damaged.
fn parse_checked<T: serde::de::DeserializeOwned>(line: &[u8]) -> Option<T> {
    let text = std::str::from_utf8(line).ok()?;
    let (crc, json) = text.split_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32(json.as_bytes()) {
        return None;
    }
    serde_json::from_str(json).ok()
}

fn encode_line(e: &MemoryEntry) -> Vec<u8> {
    encode_checked(e)
}

fn parse_line(line: &[u8]) -> Option<MemoryEntry> {
    parse_checked(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_damaged_line_is_skipped_not_fatal() {
        let e = MemoryEntry {
            id: 1,
            stream: "s".into(),
            lane: "general".into(),
            start_ms: 0,
            end_ms: 10_000,
            text: "hello".into(),
            available_ms: 10_000,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        };
        let line = encode_line(&e);
        assert_eq!(parse_line(&line[..line.len() - 1]), Some(e));
        let mut damaged = line.clone();
        damaged[12] ^= 1;
        assert_eq!(parse_line(&damaged[..damaged.len() - 1]), None);
        assert_eq!(parse_line(&line[..line.len() / 2]), None);
    }
}
