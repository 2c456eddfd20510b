//! An open project as the studio holds it: the project on disk, one undo history for labels
//! and tasks together, and the channel a live lane's writer sends its entries on. Every change
//! to a project made in the app goes through here, so undo covers all of it and nothing is
//! changed in memory that was not written first.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;

use crate::memory::import::StreamInfo;
use crate::memory::labels::{LabelEvent, Labels};
use crate::memory::{Lane, MemoryEntry, Verdict};
use crate::project::{Project, ProjectError};
use crate::tasks::{Phase, TaskEvent, TaskLibrary};

/// One undoable step: what was done and what reverts it.
#[derive(Clone, Debug)]
enum Change {
    Label {
        forward: LabelEvent,
        inverse: LabelEvent,
    },
    Tasks {
        forward: Vec<TaskEvent>,
        inverse: Vec<TaskEvent>,
        /// Consecutive changes with the same key (typing in one field) are one step.
        coalesce: Option<String>,
    },
}

/// What an undo or redo changed, so views know what to refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undone {
    /// There was nothing to undo (or redo).
    Nothing,
    Labels,
    Tasks,
}

/// An open project with its undo history and live channel.
pub struct ProjectSession {
    project: Project,
    undo: Vec<Change>,
    redo: Vec<Change>,
    /// Bumped on every change to the tasks (cached views of them compare it).
    tasks_generation: u64,
    /// Entries arriving from a writer on another thread (already on disk).
    live: Option<Receiver<MemoryEntry>>,
}

impl ProjectSession {
    #[must_use]
    pub fn new(project: Project) -> Self {
        Self {
            project,
            undo: Vec::new(),
            redo: Vec::new(),
            // Unique across projects opened in this run, so caches never mix two projects.
            tasks_generation: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1 << 32, std::sync::atomic::Ordering::Relaxed)
            },
            live: None,
        }
    }

    /// The project as it is on disk.
    #[must_use]
    pub fn project(&self) -> &Project {
        &self.project
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.project.manifest.name
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.project.dir
    }

    #[must_use]
    pub fn streams(&self) -> &[StreamInfo] {
        &self.project.manifest.streams
    }

    #[must_use]
    pub fn lanes(&self) -> &[Lane] {
        &self.project.manifest.lanes
    }

    /// Every memory entry of the project, each stream and lane.
    #[must_use]
    pub fn memory_entries(&self) -> &[MemoryEntry] {
        self.project.memory.entries()
    }

    /// The entries `lane` holds for `stream`, in time order.
    #[must_use]
    pub fn lane_entries(&self, stream: &str, lane: &str) -> &[MemoryEntry] {
        self.project.memory.lane(stream, lane)
    }

    /// The id the next entry written for this project gets.
    #[must_use]
    pub fn next_entry_id(&self) -> u64 {
        self.project.memory.next_id()
    }

    /// The project's clip length.
    #[must_use]
    pub fn clip_ms(&self) -> i64 {
        self.project.manifest.settings.clip_ms
    }

    /// The project's labels (verdicts and edits).
    #[must_use]
    pub fn labels(&self) -> &Labels {
        &self.project.labels
    }

    /// An entry's text as the annotator left it: their edit, else what the policy wrote.
    #[must_use]
    pub fn shown_text<'a>(&'a self, entry: &'a MemoryEntry) -> &'a str {
        self.project.labels.edited(entry.id).unwrap_or(&entry.text)
    }

    /// The label an entry has, if any.
    #[must_use]
    pub fn verdict(&self, id: u64) -> Option<Verdict> {
        self.project.labels.verdict(id)
    }

    /// The project's tasks.
    #[must_use]
    pub fn tasks(&self) -> &TaskLibrary {
        &self.project.tasks
    }

    /// Changes whenever the tasks do.
    #[must_use]
    pub fn tasks_generation(&self) -> u64 {
        self.tasks_generation
    }

    /// Listens to a writer on another thread: what it sends joins the project's memory.
    pub fn attach_live(&mut self, entries: Receiver<MemoryEntry>) {
        self.live = Some(entries);
    }

    #[must_use]
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// What the live writer sent since the last call, at most `max` (a burst never stalls a
    /// frame); taken into the project's memory, and returned.
    pub fn drain_live(&mut self, max: usize) -> Vec<MemoryEntry> {
        let Some(receiver) = &self.live else {
            return Vec::new();
        };
        let entries: Vec<MemoryEntry> = receiver.try_iter().take(max).collect();
        self.add_entries(entries.clone());
        entries
    }

    /// Takes entries another thread already wrote to the project's files into its memory; a
    /// lane the project did not know yet is added.
    pub fn add_entries(&mut self, entries: Vec<MemoryEntry>) {
        for entry in entries {
            if !self
                .project
                .manifest
                .lanes
                .iter()
                .any(|l| l.id == entry.lane)
            {
                self.project.manifest.lanes.push(Lane {
                    hidden: false,
                    id: entry.lane.clone(),
                    title: entry.lane.clone(),
                    general: false,
                    task_hint: None,
                    adapter: None,
                });
            }
            self.project.memory.push(entry);
        }
    }

    /// Adds a lane to the project (saved at once) unless it has one with that id; a lane
    /// memorized with an adapter records the file (the latest one, when it is memorized again).
    ///
    /// # Errors
    /// When project.json cannot be written.
    pub fn ensure_lane(
        &mut self,
        id: &str,
        general: bool,
        adapter: Option<&Path>,
    ) -> Result<(), ProjectError> {
        let adapter = adapter.map(|p| p.display().to_string());
        if let Some(lane) = self.project.manifest.lanes.iter_mut().find(|l| l.id == id) {
            if adapter.is_none() || lane.adapter == adapter {
                return Ok(());
            }
            lane.adapter = adapter;
            return self.project.save_manifest();
        }
        self.project.manifest.lanes.push(Lane {
            hidden: false,
            id: id.to_owned(),
            title: id.to_owned(),
            general,
            task_hint: None,
            adapter,
        });
        self.project.manifest.lanes.sort_by_key(|l| !l.general);
        self.project.save_manifest()
    }

    /// Records a label change, undoable.
    ///
    /// # Errors
    /// When the labels log cannot be written (nothing changes then).
    pub fn record_label(&mut self, event: LabelEvent) -> Result<(), ProjectError> {
        let inverse = self.project.labels.inverse(&event);
        self.project.record_label(&event)?;
        self.undo.push(Change::Label {
            forward: event,
            inverse,
        });
        self.redo.clear();
        Ok(())
    }

    /// Records task changes as one undoable step (each task at most once in `events`);
    /// with a `coalesce` key equal to the last step's, they extend that step instead.
    ///
    /// # Errors
    /// When the task log cannot be written (nothing changes then).
    pub fn record_tasks(
        &mut self,
        events: Vec<TaskEvent>,
        coalesce: Option<String>,
    ) -> Result<(), ProjectError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut inverse: Vec<TaskEvent> = events
            .iter()
            .map(|e| self.project.tasks.inverse(e))
            .collect();
        inverse.reverse();
        self.project.record_tasks(&events)?;
        self.tasks_generation += 1;
        if let (
            Some(key),
            Some(Change::Tasks {
                forward: last_forward,
                coalesce: Some(last_key),
                ..
            }),
        ) = (&coalesce, self.undo.last_mut())
            && key == last_key
            && self.redo.is_empty()
        {
            // Same field, same task: keep the first inverse, extend what it undoes.
            *last_forward = events;
            return Ok(());
        }
        self.undo.push(Change::Tasks {
            forward: events,
            inverse,
            coalesce,
        });
        self.redo.clear();
        Ok(())
    }

    fn replay(&mut self, change: &Change, backwards: bool) -> Result<Undone, ProjectError> {
        match change {
            Change::Label { forward, inverse } => {
                self.project
                    .record_label(if backwards { inverse } else { forward })?;
                Ok(Undone::Labels)
            }
            Change::Tasks {
                forward, inverse, ..
            } => {
                self.project
                    .record_tasks(if backwards { inverse } else { forward })?;
                self.tasks_generation += 1;
                Ok(Undone::Tasks)
            }
        }
    }

    /// Undoes the last change (a label or tasks).
    ///
    /// # Errors
    /// When the log cannot be written (the change stays done).
    pub fn undo(&mut self) -> Result<Undone, ProjectError> {
        self.travel(true)
    }

    /// Redoes the last undone change.
    ///
    /// # Errors
    /// When the log cannot be written (the change stays undone).
    pub fn redo(&mut self) -> Result<Undone, ProjectError> {
        self.travel(false)
    }

    /// One step back (`backwards`) or forward in the history; a step that cannot be written
    /// stays where it was.
    fn travel(&mut self, backwards: bool) -> Result<Undone, ProjectError> {
        let popped = if backwards {
            self.undo.pop()
        } else {
            self.redo.pop()
        };
        let Some(change) = popped else {
            return Ok(Undone::Nothing);
        };
        let result = self.replay(&change, backwards);
        if backwards == result.is_ok() {
            self.redo.push(change);
        } else {
            self.undo.push(change);
        }
        result
    }

    /// The stream's video, when it is a file on this machine (absolute or project-relative).
    #[must_use]
    pub fn local_video(&self, info: &StreamInfo) -> Option<PathBuf> {
        let video = info.video.as_deref()?;
        if video.contains("://") {
            return None;
        }
        let path = Path::new(video);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.project.dir.join(path)
        };
        path.is_file().then_some(path)
    }

    /// Whether `path` is the video of one of the project's streams.
    #[must_use]
    pub fn owns_video(&self, path: &Path) -> bool {
        self.streams()
            .iter()
            .filter_map(|s| self.local_video(s))
            .any(|v| v == path)
    }

    /// Shows or hides a lane on the timeline; saved in project.json.
    ///
    /// # Errors
    /// When project.json cannot be written (the change is then undone).
    pub fn set_lane_shown(&mut self, lane: &str, shown: bool) -> Result<(), ProjectError> {
        let lanes = &mut self.project.manifest.lanes;
        let Some(at) = lanes.iter().position(|l| l.id == lane) else {
            return Ok(());
        };
        lanes[at].hidden = !shown;
        let saved = self.project.save_manifest();
        if saved.is_err() {
            self.project.manifest.lanes[at].hidden = shown;
        }
        saved
    }

    /// Moves a lane one place up (`earlier`) or down on the timeline; saved in project.json.
    ///
    /// # Errors
    /// When project.json cannot be written (the order is then put back).
    pub fn move_lane(&mut self, lane: &str, earlier: bool) -> Result<(), ProjectError> {
        let lanes = &mut self.project.manifest.lanes;
        let Some(at) = lanes.iter().position(|l| l.id == lane) else {
            return Ok(());
        };
        let other = if earlier {
            at.checked_sub(1)
        } else {
            Some(at + 1).filter(|&o| o < lanes.len())
        };
        let Some(other) = other else {
            return Ok(());
        };
        lanes.swap(at, other);
        let saved = self.project.save_manifest();
        if saved.is_err() {
            self.project.manifest.lanes.swap(at, other);
        }
        saved
    }

    /// Which lane is active when in `stream`: the stream's own phases (TaskMem's demo), else
    /// the ones its trigger tasks make.
    #[must_use]
    pub fn active_phases(&self, stream: &str) -> Vec<Phase> {
        let Some(info) = self.streams().iter().find(|s| s.id == stream) else {
            return Vec::new();
        };
        if !info.phases.is_empty() {
            return info.phases.clone();
        }
        let lanes = &self.project.manifest.lanes;
        let general = lanes
            .iter()
            .find(|l| l.general)
            .or_else(|| lanes.first())
            .map_or("builtin", |l| l.id.as_str());
        crate::tasks::phases_from_triggers(general, self.project.tasks.stream(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Verdict;
    use crate::tasks::Task;

    fn session() -> (tempfile::TempDir, ProjectSession) {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::create(&dir.path().join("p"), "s1").unwrap();
        (dir, ProjectSession::new(project))
    }

    fn put(id: &str, text: &str) -> TaskEvent {
        let mut task = Task::authored(id.to_owned(), "s1", 1000, "ann");
        text.clone_into(&mut task.text);
        TaskEvent::Put {
            task: Box::new(task),
        }
    }

    #[test]
    fn one_history_undoes_labels_and_tasks_in_the_order_they_were_made() {
        let (_dir, mut s) = session();
        s.record_tasks(vec![put("t1", "first")], None).unwrap();
        s.record_label(LabelEvent::Verdict {
            entry: 7,
            verdict: Some(Verdict::Correct),
        })
        .unwrap();
        assert_eq!(s.verdict(7), Some(Verdict::Correct));
        assert_eq!(s.undo().unwrap(), Undone::Labels);
        assert_eq!(s.verdict(7), None);
        let generation = s.tasks_generation();
        assert_eq!(s.undo().unwrap(), Undone::Tasks);
        assert!(s.tasks().get("s1", "t1").is_none());
        assert_ne!(
            s.tasks_generation(),
            generation,
            "views of the tasks refresh"
        );
        assert_eq!(s.undo().unwrap(), Undone::Nothing);
        assert_eq!(s.redo().unwrap(), Undone::Tasks);
        assert_eq!(s.redo().unwrap(), Undone::Labels);
        assert_eq!(s.verdict(7), Some(Verdict::Correct));
        // What is undone is undone on disk too.
        let reopened = Project::open(s.dir()).unwrap();
        assert_eq!(reopened.labels.verdict(7), Some(Verdict::Correct));
        assert!(reopened.tasks.get("s1", "t1").is_some());
    }

    #[test]
    fn typing_in_one_field_is_one_undo_step() {
        let (_dir, mut s) = session();
        s.record_tasks(vec![put("t1", "")], None).unwrap();
        for text in ["W", "Wh", "Wha", "What"] {
            s.record_tasks(vec![put("t1", text)], Some("s1/t1:text".into()))
                .unwrap();
        }
        assert_eq!(s.tasks().get("s1", "t1").unwrap().text, "What");
        s.undo().unwrap();
        assert_eq!(s.tasks().get("s1", "t1").unwrap().text, "", "one step back");
    }

    #[test]
    fn live_entries_join_the_memory_with_their_lane() {
        let (_dir, mut s) = session();
        let (tx, rx) = crossbeam_channel::bounded(8);
        s.attach_live(rx);
        let entry = MemoryEntry {
            id: s.next_entry_id(),
            stream: "s1".into(),
            lane: "adapter-x".into(),
            start_ms: 0,
            end_ms: 10_000,
            available_ms: 10_500,
            text: "I am in the kitchen.".into(),
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
            budget_tokens: None,
        };
        tx.send(entry).unwrap();
        assert_eq!(s.drain_live(256).len(), 1);
        assert_eq!(s.lane_entries("s1", "adapter-x").len(), 1);
        assert!(s.lanes().iter().any(|l| l.id == "adapter-x"));
        assert!(s.drain_live(256).is_empty());
    }
}
