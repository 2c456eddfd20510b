//! Tasks: the questions an agent must answer from memory, authored in the app or imported from
//! benchmarks. A [`TaskLibrary`] holds a project's tasks (one task set per stream), validates
//! them, filters them for the library table and orders them by ask time for Phase Two.
//! Changes are [`TaskEvent`]s so that the project can append them to a log and undo is just
//! another event. No egui here.

pub mod export;
pub mod import;
pub mod log;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Video-MME's twelve task types, then EgoLifeQA's five: offered in the form, free entry allowed.
pub const KNOWN_TYPES: [&str; 17] = [
    "Temporal Perception",
    "Spatial Perception",
    "Attribute Perception",
    "Action Recognition",
    "Object Recognition",
    "OCR Problems",
    "Counting Problem",
    "Temporal Reasoning",
    "Spatial Reasoning",
    "Action Reasoning",
    "Object Reasoning",
    "Information Synopsis",
    "EntityLog",
    "EventRecall",
    "HabitInsight",
    "RelationMap",
    "TaskMaster",
];

/// The most options a multiple-choice task has (A-E).
pub const MAX_OPTIONS: usize = 5;

/// The latest stream time a task may be asked at or point to as evidence: a year. EgoLife's
/// week is the longest stream a benchmark has; a time past this is a broken file (a clip id
/// or `MM:SS` of nine digits), and bounding it keeps every ms-to-ns conversion in range.
pub const MAX_STREAM_MS: i64 = 366 * 24 * 3_600_000;

/// A span of stream time, `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Span {
    /// A span with its ends in order.
    #[must_use]
    pub fn new(a_ms: i64, b_ms: i64) -> Self {
        Self {
            start_ms: a_ms.min(b_ms),
            end_ms: a_ms.max(b_ms),
        }
    }
}

/// Where a task came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskSource {
    /// Written by a person in the app.
    #[default]
    Authored,
    /// Imported from a benchmark file; the name says which (`videomme`, `egolife`, ...).
    Imported(String),
    /// Generated with a synthetic world stream.
    World,
}

impl TaskSource {
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Authored => "authored".to_owned(),
            Self::Imported(name) => name.clone(),
            Self::World => "world".to_owned(),
        }
    }
}

/// A column the task library can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskColumn {
    Stream,
    Asked,
    Question,
    Type,
    Evidence,
    Answer,
    Source,
}

/// Orders `rows` (indices into `tasks`) by `column`, ties by stream then ask time, so that
/// equal keys keep a stable, meaningful order; `descending` reverses the column's order only.
pub fn sort_rows(rows: &mut [usize], tasks: &[Task], column: TaskColumn, descending: bool) {
    use std::cmp::Ordering;
    let key = |a: &Task, b: &Task| -> Ordering {
        match column {
            TaskColumn::Stream => a.stream.cmp(&b.stream),
            TaskColumn::Asked => a.ask_ms.cmp(&b.ask_ms),
            TaskColumn::Question => a.text.to_lowercase().cmp(&b.text.to_lowercase()),
            TaskColumn::Type => a.task_type.cmp(&b.task_type),
            TaskColumn::Evidence => a.evidence.len().cmp(&b.evidence.len()),
            TaskColumn::Answer => a.answer.cmp(&b.answer),
            TaskColumn::Source => a.source.label().cmp(&b.source.label()),
        }
    };
    rows.sort_by(|&i, &j| {
        let (a, b) = (&tasks[i], &tasks[j]);
        let primary = if descending { key(b, a) } else { key(a, b) };
        primary
            .then_with(|| a.stream.cmp(&b.stream))
            .then_with(|| a.ask_ms.cmp(&b.ask_ms))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// A question for the agent (DESIGN.md section 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// The stream (video) whose task set holds it.
    pub stream: String,
    pub text: String,
    /// Empty for open questions; otherwise 2-5 option texts, lettered A, B, ... by position
    /// (stored without the "A. " prefix).
    #[serde(default)]
    pub options: Vec<String>,
    /// A letter for multiple choice, free text for open questions.
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub task_type: String,
    /// When the task arrives in the stream.
    pub ask_ms: i64,
    /// Where in the stream the answer can be seen.
    #[serde(default)]
    pub evidence: Vec<Span>,
    /// Whether its arrival switches the active memorization policy.
    #[serde(default)]
    pub trigger: bool,
    /// The lane a trigger switches to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_to: Option<String>,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub source: TaskSource,
    /// Benchmark fields kept as they were (EgoLifeQA's trigger cue and reason, M3-Bench's
    /// reasoning, Video-MME's domain, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Wall-clock times, Unix milliseconds.
    #[serde(default)]
    pub created_unix_ms: i64,
    #[serde(default)]
    pub edited_unix_ms: i64,
}

/// From when on a lane is the active one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub at_ms: i64,
    pub lane: String,
}

/// Which lane is active when, from the trigger tasks of one stream: the General lane from the
/// start, then each trigger task's lane from its ask time on (TaskMem switches the policy when
/// such a question arrives). Empty when no task triggers a switch.
#[must_use]
pub fn phases_from_triggers<'a>(
    general_lane: &str,
    tasks: impl Iterator<Item = &'a Task>,
) -> Vec<Phase> {
    let mut triggers: Vec<(i64, &str)> = tasks
        .filter(|t| t.trigger)
        .filter_map(|t| t.switch_to.as_deref().map(|lane| (t.ask_ms, lane)))
        .collect();
    if triggers.is_empty() {
        return Vec::new();
    }
    triggers.sort_by_key(|(at_ms, _)| *at_ms);
    let mut phases = vec![Phase {
        at_ms: 0,
        lane: general_lane.to_owned(),
    }];
    for (at_ms, lane) in triggers {
        if phases.last().is_some_and(|p| p.lane == lane) {
            continue;
        }
        if phases.last().is_some_and(|p| p.at_ms == at_ms) {
            phases.pop();
        }
        phases.push(Phase {
            at_ms: at_ms.max(0),
            lane: lane.to_owned(),
        });
    }
    phases
}

/// The letter of option `index` (0 = A).
#[must_use]
pub fn option_letter(index: usize) -> char {
    char::from(b'A' + u8::try_from(index.min(25)).unwrap_or(25))
}

/// An option's text without a leading letter ("A. Apples." gives "Apples.").
#[must_use]
pub fn strip_option_letter(option: &str) -> String {
    let trimmed = option.trim_start();
    let mut chars = trimmed.chars();
    if let (Some(letter), Some(sep)) = (chars.next(), chars.next())
        && letter.is_ascii_uppercase()
        && matches!(sep, '.' | ')' | ':')
    {
        return chars.as_str().trim().to_owned();
    }
    option.trim().to_owned()
}

/// Wall-clock now, Unix milliseconds.
#[must_use]
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Why a task cannot be kept as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("task {id}: the id is empty")]
    EmptyId { id: String },
    #[error("task {id}: the question text is empty")]
    EmptyText { id: String },
    #[error("task {id}: {count} options; a multiple-choice task has 2 to 5 (or none)")]
    OptionCount { id: String, count: usize },
    #[error("task {id}: the answer \"{answer}\" is not one of the options ({letters})")]
    AnswerNotAnOption {
        id: String,
        answer: String,
        letters: String,
    },
    #[error("task {id}: the ask time is negative ({ask_ms} ms)")]
    NegativeAsk { id: String, ask_ms: i64 },
    #[error(
        "task {id}: the ask time {ask_ms} ms is past the longest stream allowed ({MAX_STREAM_MS} ms, a year)"
    )]
    AskTooLate { id: String, ask_ms: i64 },
    #[error("task {id}: evidence {start_ms} - {end_ms} ms {problem}")]
    BadEvidence {
        id: String,
        start_ms: i64,
        end_ms: i64,
        problem: &'static str,
    },
    #[error("a task with id {id} already exists in stream {stream}")]
    DuplicateId { id: String, stream: String },
    #[error(
        "task {id} of stream {stream} is already in the project with a different {field}; delete it there first (nothing was imported)"
    )]
    ImportConflict {
        id: String,
        stream: String,
        field: String,
    },
    #[error("no task with id {id} in stream {stream}")]
    NoSuchTask { id: String, stream: String },
}

/// Something worth telling the author that does not stop the task from being kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskWarning {
    /// Evidence after the ask time: the agent cannot have seen it yet.
    EvidenceAfterAsk { span: Span },
    /// A multiple-choice task without an answer yet.
    NoAnswer,
}

impl std::fmt::Display for TaskWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EvidenceAfterAsk { span } => write!(
                f,
                "evidence {} - {} ends after the ask time: the agent has not seen it yet",
                crate::timefmt::format_hms_ms(
                    span.start_ms.saturating_mul(crate::video::NS_PER_MS)
                ),
                crate::timefmt::format_hms_ms(span.end_ms.saturating_mul(crate::video::NS_PER_MS))
            ),
            Self::NoAnswer => write!(f, "no answer yet"),
        }
    }
}

impl Task {
    /// A new authored task at `ask_ms`, empty otherwise.
    #[must_use]
    pub fn authored(id: String, stream: &str, ask_ms: i64, author: &str) -> Self {
        let now = now_unix_ms();
        Self {
            id,
            stream: stream.to_owned(),
            text: String::new(),
            options: Vec::new(),
            answer: String::new(),
            task_type: String::new(),
            ask_ms,
            evidence: Vec::new(),
            trigger: false,
            switch_to: None,
            author: author.to_owned(),
            source: TaskSource::Authored,
            extra: BTreeMap::new(),
            created_unix_ms: now,
            edited_unix_ms: now,
        }
    }

    /// Whether the task is multiple choice.
    #[must_use]
    pub fn is_multiple_choice(&self) -> bool {
        !self.options.is_empty()
    }

    /// The options as "A. text" lines.
    #[must_use]
    pub fn lettered_options(&self) -> Vec<String> {
        self.options
            .iter()
            .enumerate()
            .map(|(i, o)| format!("{}. {o}", option_letter(i)))
            .collect()
    }

    /// The same task apart from when it was created and edited.
    #[must_use]
    pub fn same_content(&self, other: &Self) -> bool {
        self.differing_fields(other).is_empty()
    }

    /// The fields in which two tasks differ (times of creation and editing aside).
    #[must_use]
    pub fn differing_fields(&self, other: &Self) -> Vec<&'static str> {
        let checks: [(&str, bool); 12] = [
            ("id", self.id != other.id || self.stream != other.stream),
            ("text", self.text != other.text),
            ("options", self.options != other.options),
            ("answer", self.answer != other.answer),
            ("type", self.task_type != other.task_type),
            ("ask time", self.ask_ms != other.ask_ms),
            ("evidence", self.evidence != other.evidence),
            ("trigger", self.trigger != other.trigger),
            ("lane", self.switch_to != other.switch_to),
            ("author", self.author != other.author),
            ("source", self.source != other.source),
            ("benchmark fields (extra)", self.extra != other.extra),
        ];
        checks
            .iter()
            .filter(|(_, differs)| *differs)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Checks the task; `Ok` carries the warnings.
    ///
    /// # Errors
    /// What makes the task unusable: no id or text, a wrong number of options, an answer that
    /// is not among the options, an ask time or evidence before 0 or past [`MAX_STREAM_MS`],
    /// evidence that ends before it starts.
    pub fn validate(&self) -> Result<Vec<TaskWarning>, TaskError> {
        let id = || self.id.clone();
        if self.id.trim().is_empty() {
            return Err(TaskError::EmptyId { id: id() });
        }
        if self.text.trim().is_empty() {
            return Err(TaskError::EmptyText { id: id() });
        }
        if self.ask_ms < 0 {
            return Err(TaskError::NegativeAsk {
                id: id(),
                ask_ms: self.ask_ms,
            });
        }
        if self.ask_ms > MAX_STREAM_MS {
            return Err(TaskError::AskTooLate {
                id: id(),
                ask_ms: self.ask_ms,
            });
        }
        for span in &self.evidence {
            let problem = if span.start_ms < 0 {
                Some("starts before 0")
            } else if span.end_ms < span.start_ms {
                Some("ends before it starts")
            } else if span.end_ms > MAX_STREAM_MS {
                Some("ends past the longest stream allowed (a year)")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(TaskError::BadEvidence {
                    id: id(),
                    start_ms: span.start_ms,
                    end_ms: span.end_ms,
                    problem,
                });
            }
        }
        let mut warnings = Vec::new();
        let count = self.options.len();
        if count > 0 {
            if !(2..=MAX_OPTIONS).contains(&count) {
                return Err(TaskError::OptionCount { id: id(), count });
            }
            let answer = self.answer.trim();
            if answer.is_empty() {
                warnings.push(TaskWarning::NoAnswer);
            } else {
                let ok = answer.len() == 1
                    && (0..count).any(|i| {
                        option_letter(i).eq_ignore_ascii_case(&answer.chars().next().unwrap_or(' '))
                    });
                if !ok {
                    return Err(TaskError::AnswerNotAnOption {
                        id: id(),
                        answer: answer.to_owned(),
                        letters: (0..count).map(option_letter).collect::<String>(),
                    });
                }
            }
        }
        for span in &self.evidence {
            if span.end_ms > self.ask_ms {
                warnings.push(TaskWarning::EvidenceAfterAsk { span: *span });
            }
        }
        Ok(warnings)
    }
}

/// One change to the task library; the project appends these to its task log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TaskEvent {
    /// Adds a task or replaces the one with its (stream, id).
    Put { task: Box<Task> },
    /// Removes a task.
    Delete { stream: String, id: String },
}

/// Which tasks the library table shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Case-insensitive substring of the text, id or answer.
    pub text: String,
    pub task_type: Option<String>,
    pub source: Option<String>,
    pub author: Option<String>,
    /// `Some(true)`: only tasks with evidence; `Some(false)`: only tasks without.
    pub has_evidence: Option<bool>,
    pub stream: Option<String>,
}

impl TaskFilter {
    #[must_use]
    pub fn matches(&self, task: &Task, lowered_text: &str) -> bool {
        self.stream.as_ref().is_none_or(|s| &task.stream == s)
            && self.task_type.as_ref().is_none_or(|t| &task.task_type == t)
            && self
                .source
                .as_ref()
                .is_none_or(|s| &task.source.label() == s)
            && self.author.as_ref().is_none_or(|a| &task.author == a)
            && self
                .has_evidence
                .is_none_or(|want| want != task.evidence.is_empty())
            && (lowered_text.is_empty()
                || contains_lowered(&task.text, lowered_text)
                || contains_lowered(&task.id, lowered_text)
                || contains_lowered(&task.answer, lowered_text))
    }
}

fn contains_lowered(haystack: &str, lowered_needle: &str) -> bool {
    if haystack.is_ascii() && lowered_needle.is_ascii() {
        haystack
            .as_bytes()
            .windows(lowered_needle.len())
            .any(|w| w.eq_ignore_ascii_case(lowered_needle.as_bytes()))
    } else {
        haystack.to_lowercase().contains(lowered_needle)
    }
}

/// A project's tasks: every stream's task set, kept in (stream, ask time, id) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskLibrary {
    tasks: Vec<Task>,
}

impl TaskLibrary {
    /// A library of `tasks`; the later of two with the same (stream, id) wins.
    #[must_use]
    pub fn new(tasks: Vec<Task>) -> Self {
        let mut library = Self::default();
        library.apply_all(
            &tasks
                .into_iter()
                .map(|task| TaskEvent::Put {
                    task: Box::new(task),
                })
                .collect::<Vec<_>>(),
        );
        library
    }

    /// Applies many changes at once: one sort instead of an insertion per task (importing
    /// 10,000 questions, replaying a long log).
    pub fn apply_all(&mut self, events: &[TaskEvent]) {
        if events.len() < 64 {
            for event in events {
                self.apply(event);
            }
            return;
        }
        let mut by_key: std::collections::HashMap<(String, String), Task> = self
            .tasks
            .drain(..)
            .map(|t| ((t.stream.clone(), t.id.clone()), t))
            .collect();
        for event in events {
            match event {
                TaskEvent::Put { task } => {
                    by_key.insert((task.stream.clone(), task.id.clone()), (**task).clone());
                }
                TaskEvent::Delete { stream, id } => {
                    by_key.remove(&(stream.clone(), id.clone()));
                }
            }
        }
        self.tasks = by_key.into_values().collect();
        self.tasks.sort_unstable_by(|a, b| {
            (a.stream.as_str(), a.ask_ms, a.id.as_str()).cmp(&(
                b.stream.as_str(),
                b.ask_ms,
                b.id.as_str(),
            ))
        });
    }

    /// All tasks in (stream, ask time, id) order.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn position(&self, stream: &str, id: &str) -> Option<usize> {
        let from = self.tasks.partition_point(|t| t.stream.as_str() < stream);
        self.tasks[from..]
            .iter()
            .take_while(|t| t.stream == stream)
            .position(|t| t.id == id)
            .map(|i| from + i)
    }

    #[must_use]
    pub fn get(&self, stream: &str, id: &str) -> Option<&Task> {
        self.position(stream, id).map(|i| &self.tasks[i])
    }

    /// A stream's task set as one slice, by ask time (the library keeps streams contiguous).
    #[must_use]
    pub fn stream_slice(&self, stream: &str) -> &[Task] {
        let from = self.tasks.partition_point(|t| t.stream.as_str() < stream);
        let to = self.tasks.partition_point(|t| t.stream.as_str() <= stream);
        &self.tasks[from..to]
    }

    /// A stream's task set, by ask time.
    pub fn stream(&self, stream: &str) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(move |t| t.stream == stream)
    }

    /// The streams that have tasks, in order.
    #[must_use]
    pub fn streams(&self) -> Vec<String> {
        let mut streams: Vec<String> = Vec::new();
        for t in &self.tasks {
            if streams.last() != Some(&t.stream) {
                streams.push(t.stream.clone());
            }
        }
        streams.dedup();
        streams
    }

    /// Adds or replaces; returns the task it replaced.
    pub fn put(&mut self, task: Task) -> Option<Task> {
        let old = self
            .position(&task.stream, &task.id)
            .map(|i| self.tasks.remove(i));
        let key = |t: &Task| (t.stream.clone(), t.ask_ms, t.id.clone());
        let at = self.tasks.partition_point(|t| key(t) < key(&task));
        self.tasks.insert(at, task);
        old
    }

    /// Adds a task whose id must be new in its stream.
    ///
    /// # Errors
    /// [`TaskError::DuplicateId`] when the stream already has that id.
    pub fn insert_new(&mut self, task: Task) -> Result<(), TaskError> {
        if self.get(&task.stream, &task.id).is_some() {
            return Err(TaskError::DuplicateId {
                id: task.id,
                stream: task.stream,
            });
        }
        self.put(task);
        Ok(())
    }

    /// How `tasks` join the library: new ones become `put` events, ones it already has with
    /// the same content are counted as unchanged (re-importing a file changes nothing).
    ///
    /// # Errors
    /// [`TaskError::ImportConflict`] for the first task whose (stream, id) the library has with
    /// different content; nothing should be written then.
    pub fn plan_import(&self, tasks: Vec<Task>) -> Result<(Vec<TaskEvent>, usize), TaskError> {
        // One look-up table, not `get` per task: `get` walks the task's stream, and a stream
        // of 100,000 tasks made a re-import quadratic.
        let by_key: std::collections::HashMap<(&str, &str), &Task> = self
            .tasks
            .iter()
            .map(|t| ((t.stream.as_str(), t.id.as_str()), t))
            .collect();
        let mut events = Vec::new();
        let mut unchanged = 0;
        for task in tasks {
            match by_key.get(&(task.stream.as_str(), task.id.as_str())) {
                Some(existing) if existing.same_content(&task) => unchanged += 1,
                Some(existing) => {
                    return Err(TaskError::ImportConflict {
                        field: existing
                            .differing_fields(&task)
                            .first()
                            .copied()
                            .unwrap_or("content")
                            .to_owned(),
                        id: task.id,
                        stream: task.stream,
                    });
                }
                None => events.push(TaskEvent::Put {
                    task: Box::new(task),
                }),
            }
        }
        Ok((events, unchanged))
    }

    /// Removes a task; returns it.
    pub fn remove(&mut self, stream: &str, id: &str) -> Option<Task> {
        self.position(stream, id).map(|i| self.tasks.remove(i))
    }

    /// Applies one logged change.
    pub fn apply(&mut self, event: &TaskEvent) {
        match event {
            TaskEvent::Put { task } => {
                self.put((**task).clone());
            }
            TaskEvent::Delete { stream, id } => {
                self.remove(stream, id);
            }
        }
    }

    /// The event that undoes `event`, given the library before it.
    #[must_use]
    pub fn inverse(&self, event: &TaskEvent) -> TaskEvent {
        let (stream, id) = match event {
            TaskEvent::Put { task } => (task.stream.as_str(), task.id.as_str()),
            TaskEvent::Delete { stream, id } => (stream.as_str(), id.as_str()),
        };
        match self.get(stream, id) {
            Some(before) => TaskEvent::Put {
                task: Box::new(before.clone()),
            },
            None => TaskEvent::Delete {
                stream: stream.to_owned(),
                id: id.to_owned(),
            },
        }
    }

    /// An id not yet used in `stream`: `prefix-N` with the smallest free N from 1.
    #[must_use]
    pub fn fresh_id(&self, stream: &str, prefix: &str) -> String {
        let used: std::collections::HashSet<&str> =
            self.stream(stream).map(|t| t.id.as_str()).collect();
        // One of the first len + 1 numbers is free.
        (1..=used.len() + 1)
            .map(|n| format!("{prefix}-{n}"))
            .find(|id| !used.contains(id.as_str()))
            .unwrap_or_default()
    }

    /// Indices of the tasks `filter` keeps, in library order.
    #[must_use]
    pub fn filtered(&self, filter: &TaskFilter) -> Vec<usize> {
        let lowered = filter.text.trim().to_lowercase();
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| filter.matches(t, &lowered))
            .map(|(i, _)| i)
            .collect()
    }

    /// How many tasks of each type (empty type counted as "").
    #[must_use]
    pub fn counts_by_type(&self, indices: &[usize]) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for &i in indices {
            *counts.entry(self.tasks[i].task_type.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The tasks of `stream` asked at or before `now_ms`, newest first: what Phase Two reads.
    #[must_use]
    pub fn recent(&self, stream: &str, now_ms: i64, limit: usize) -> Vec<&Task> {
        let mut asked: Vec<&Task> = self.stream(stream).filter(|t| t.ask_ms <= now_ms).collect();
        asked.reverse();
        asked.truncate(limit);
        asked
    }

    /// The task of `stream` asked before (`forward` false) or after `at_ms`.
    #[must_use]
    pub fn neighbour(&self, stream: &str, at_ms: i64, forward: bool) -> Option<&Task> {
        if forward {
            self.stream(stream).find(|t| t.ask_ms > at_ms)
        } else {
            self.stream(stream).filter(|t| t.ask_ms < at_ms).last()
        }
    }

    /// Distinct values of a field over all tasks, sorted (for filter combo boxes).
    #[must_use]
    pub fn distinct(&self, field: impl Fn(&Task) -> String) -> Vec<String> {
        let mut values: Vec<String> = self.tasks.iter().map(field).collect();
        values.sort();
        values.dedup();
        values
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn trigger_tasks_switch_the_active_lane_at_their_ask_times() {
        let mut a = Task::authored("a".into(), "s", 30_000, "me");
        a.trigger = true;
        a.switch_to = Some("count".into());
        let mut b = Task::authored("b".into(), "s", 10_000, "me");
        b.trigger = true;
        b.switch_to = Some("ocr".into());
        let plain = Task::authored("c".into(), "s", 20_000, "me");
        let phases = phases_from_triggers("builtin", [&a, &b, &plain].into_iter());
        let got: Vec<(i64, &str)> = phases.iter().map(|p| (p.at_ms, p.lane.as_str())).collect();
        assert_eq!(
            got,
            vec![(0, "builtin"), (10_000, "ocr"), (30_000, "count")]
        );
        assert!(phases_from_triggers("builtin", [&plain].into_iter()).is_empty());
    }

    use super::*;

    fn task(id: &str, ask_ms: i64) -> Task {
        let mut t = Task::authored(id.to_owned(), "s", ask_ms, "ann");
        t.text = format!("question {id}");
        t
    }

    #[test]
    fn the_answer_must_be_among_the_options() {
        let mut t = task("q1", 5_000);
        t.options = vec!["red".into(), "blue".into(), "green".into()];
        t.answer = "D".into();
        let err = t.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "task q1: the answer \"D\" is not one of the options (ABC)"
        );
        t.answer = "b".into();
        assert_eq!(t.validate().unwrap(), vec![]);
        t.options.push("x".into());
        t.options.push("y".into());
        t.options.push("z".into());
        assert!(matches!(
            t.validate(),
            Err(TaskError::OptionCount { count: 6, .. })
        ));
    }

    #[test]
    fn evidence_after_the_ask_time_is_a_warning() {
        let mut t = task("q1", 5_000);
        t.evidence = vec![Span::new(1_000, 2_000), Span::new(4_000, 6_000)];
        let warnings = t.validate().unwrap();
        assert_eq!(
            warnings,
            vec![TaskWarning::EvidenceAfterAsk {
                span: Span::new(4_000, 6_000)
            }]
        );
        assert!(warnings[0].to_string().contains("00:00:04.000"));
    }

    #[test]
    fn duplicate_ids_are_refused_and_events_undo() {
        let mut lib = TaskLibrary::default();
        lib.insert_new(task("q1", 3_000)).unwrap();
        lib.insert_new(task("q2", 1_000)).unwrap();
        assert!(matches!(
            lib.insert_new(task("q1", 9_000)),
            Err(TaskError::DuplicateId { .. })
        ));
        assert_eq!(lib.tasks()[0].id, "q2", "ordered by ask time");
        let mut edited = task("q1", 3_000);
        edited.text = "changed".into();
        let event = TaskEvent::Put {
            task: Box::new(edited),
        };
        let undo = lib.inverse(&event);
        lib.apply(&event);
        assert_eq!(lib.get("s", "q1").unwrap().text, "changed");
        lib.apply(&undo);
        assert_eq!(lib.get("s", "q1").unwrap().text, "question q1");
        let delete = TaskEvent::Delete {
            stream: "s".into(),
            id: "q2".into(),
        };
        let undo = lib.inverse(&delete);
        lib.apply(&delete);
        assert_eq!(lib.len(), 1);
        lib.apply(&undo);
        assert_eq!(lib.len(), 2);
        assert_eq!(lib.fresh_id("s", "q"), "q-1");
        assert_eq!(lib.stream_slice("s").len(), 2);
        assert!(lib.stream_slice("t").is_empty());
        assert_eq!(strip_option_letter("B. Candles."), "Candles.");
        assert_eq!(strip_option_letter("Bob"), "Bob");
    }

    #[test]
    fn filters_counts_recent_and_neighbours() {
        let mut a = task("a", 1_000);
        a.task_type = "Counting Problem".into();
        a.evidence = vec![Span::new(0, 500)];
        let mut b = task("b", 2_000);
        b.task_type = "OCR Problems".into();
        b.source = TaskSource::Imported("videomme".into());
        let c = task("c", 3_000);
        let lib = TaskLibrary::new(vec![c, b, a]);
        let many: Vec<Task> = (0..200).rev().map(|i| task(&format!("m{i}"), i)).collect();
        let big = TaskLibrary::new(many);
        assert_eq!(big.len(), 200);
        assert!(big.tasks().windows(2).all(|w| w[0].ask_ms < w[1].ask_ms));
        assert_eq!(big.get("s", "m17").unwrap().ask_ms, 17);
        let all = lib.filtered(&TaskFilter::default());
        assert_eq!(all.len(), 3);
        let with_evidence = lib.filtered(&TaskFilter {
            has_evidence: Some(true),
            ..TaskFilter::default()
        });
        assert_eq!(with_evidence, vec![0]);
        let imported = lib.filtered(&TaskFilter {
            source: Some("videomme".into()),
            ..TaskFilter::default()
        });
        assert_eq!(imported, vec![1]);
        let text = lib.filtered(&TaskFilter {
            text: "QUESTION C".into(),
            ..TaskFilter::default()
        });
        assert_eq!(text, vec![2]);
        assert_eq!(lib.counts_by_type(&all)["Counting Problem"], 1);
        let recent: Vec<&str> = lib
            .recent("s", 2_500, 5)
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(recent, ["b", "a"]);
        assert_eq!(lib.neighbour("s", 2_000, true).unwrap().id, "c");
        assert_eq!(lib.neighbour("s", 2_000, false).unwrap().id, "a");
        assert!(lib.neighbour("s", 3_000, true).is_none());
    }
}
