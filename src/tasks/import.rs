//! Benchmark question files into tasks, one task set per video ([`Task::stream`]):
//!
//! - **Video-MME**: the flat records of its Hugging Face release, as JSON or as the parquet
//!   itself, and the nested schema of its official results template (whose trailing commas a
//!   tolerant pre-pass removes). `stream` = `video_id`. Video-MME asks every question after
//!   the whole video, so the tasks come back [`ImportedTasks::asked_at_end`].
//! - **EgoLifeQA**: `query_time` and `target_time` are `DAYn` plus `HHMMSSff` (ff: hundredths
//!   of a second); stream time is `(n - 1) x day offset + time of day`. The evidence is the
//!   10 s clip that starts at `target_time`: the moment the annotators point at is the first
//!   thing the agent must have seen. EgoLifeQA's `trigger` is a text cue, not a policy switch:
//!   it is kept as `extra["trigger_cue"]`. `stream` = `identity` (the wearer, e.g. `A1_JAKE`).
//! - **EgoTempo**: `clip_id` = `{uid}_{start}_{end}` (seconds, split from the right because the
//!   uid has hyphens and underscores are the separator; starts may be negative). Each clip is
//!   the video the agent watches, so `stream` = `clip_id` and a question is asked at the
//!   clip's end, `end - max(start, 0)` seconds into it; no evidence (the set has none).
//! - **M3-Bench**: `{video_name: {qa_list: [...]}}`; `timestamp` `MM:SS` (minutes may pass
//!   59; one digit allowed) is the ask time; the `type` list joined with ", " is the type.
//! - **Lines**: TaskMem's plain-text question file, one question per line (blank lines
//!   skipped), ids `q-1`, `q-2`, ..., asked at the end.
//! - Our own exports read back: JSONL (one [`Task`] per line), Parquet and CSV (the columns of
//!   [`super::export::COLUMNS`]).
//!
//! Every field not mapped onto the task is kept verbatim in [`Task::extra`] (strings as they
//! are, anything else as compact JSON). Every task is checked with [`Task::validate`]; a file
//! with one bad record is refused whole, with a message naming the file and the record.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Span, Task, TaskSource, now_unix_ms, option_letter};

/// EgoLifeQA's days are this far apart in stream time unless told otherwise.
pub const DEFAULT_DAY_OFFSET_MS: i64 = 24 * 3_600_000;

/// The evidence span an EgoLifeQA `target_time` becomes: one memory clip.
pub const EGOLIFE_EVIDENCE_MS: i64 = 10_000;

/// How many known video ids an error lists.
const KNOWN_LISTED: usize = 5;

/// Why a question file cannot be imported; each names the file, and the record where there is one.
#[derive(Debug, thiserror::Error)]
pub enum TaskImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not UTF-8 at byte {offset} (line {line}{})", path.display(), record.as_ref().map(|r| format!(", {r}")).unwrap_or_default())]
    NotUtf8 {
        path: PathBuf,
        offset: usize,
        line: usize,
        /// The task whose text holds the bad byte, where it could be told.
        record: Option<String>,
    },
    #[error("{}: not valid JSON: {detail}", path.display())]
    Json { path: PathBuf, detail: String },
    /// The file as a whole is not what the format says.
    #[error("{}: {detail}", path.display())]
    Shape { path: PathBuf, detail: String },
    #[error("{}: {record}: {detail}", path.display())]
    Record {
        path: PathBuf,
        record: String,
        detail: String,
    },
    #[error("{}: {second} has the id {id} of {first} in video {stream}, with different content", path.display())]
    Duplicate {
        path: PathBuf,
        stream: String,
        id: String,
        first: String,
        second: String,
    },
    #[error("{}: no video {video} in the file (it has {count}: {known})", path.display())]
    NoSuchVideo {
        path: PathBuf,
        video: String,
        count: usize,
        known: String,
    },
    #[error("{}: cannot read the Parquet table: {detail}", path.display())]
    Parquet { path: PathBuf, detail: String },
}

type Result<T> = std::result::Result<T, TaskImportError>;

/// The question files we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskFormat {
    /// Video-MME: flat JSON, nested JSON or the Hugging Face parquet, told apart by content.
    VideoMme,
    EgoLife,
    EgoTempo,
    M3Bench,
    /// One question per line.
    Lines,
    /// Our JSONL export.
    Jsonl,
    /// Our Parquet export.
    Parquet,
    /// Our CSV export.
    Csv,
}

impl TaskFormat {
    /// The name imported tasks carry as their [`TaskSource::Imported`] (our own exports keep
    /// the source each task had).
    #[must_use]
    pub fn source_name(self) -> &'static str {
        match self {
            Self::VideoMme => "videomme",
            Self::EgoLife => "egolife",
            Self::EgoTempo => "egotempo",
            Self::M3Bench => "m3bench",
            Self::Lines => "lines",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
            Self::Csv => "csv",
        }
    }
}

/// Settings of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Keep only this video's tasks (a multi-video file); for a lines file, the stream the
    /// tasks belong to; for EgoLifeQA, an identity to keep, or, when the file has one wearer
    /// only, the stream to put the tasks in.
    pub video: Option<String>,
    /// EgoLifeQA: stream time between the starts of consecutive days.
    pub day_offset_ms: i64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            video: None,
            day_offset_ms: DEFAULT_DAY_OFFSET_MS,
        }
    }
}

/// What an importer read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportedTasks {
    /// In file order, one task per record.
    pub tasks: Vec<Task>,
    /// The format has no ask times: every question comes after the whole video. The tasks
    /// carry `ask_ms` 0 until [`ImportedTasks::ask_at_end`] places them.
    pub asked_at_end: bool,
}

impl ImportedTasks {
    /// The streams the tasks belong to, in first-seen order.
    #[must_use]
    pub fn streams(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.tasks
            .iter()
            .filter(|t| seen.insert(t.stream.as_str()))
            .map(|t| t.stream.clone())
            .collect()
    }

    /// Whether these tasks should be offered to the open stream `open`: none of their
    /// streams is in the project (`known`), so as they are they would sit on streams with no
    /// video, at 00:00:00 when the format has no ask times. A file of one video's questions
    /// whose name the project does not use is the usual case (Video-MME's "001").
    #[must_use]
    pub fn offers_stream(&self, open: &str, known: impl Fn(&str) -> bool) -> bool {
        !self.tasks.is_empty()
            && !open.is_empty()
            && self.streams().iter().all(|s| s != open && !known(s))
    }

    /// Puts every task on `stream`. Each keeps the stream it came with as
    /// `extra["imported_stream"]`; ids that would clash (several videos' questions numbered
    /// alike) become `<old stream>/<id>`. Call [`Self::ask_at_end`] again afterwards: the
    /// new stream's length is the ask time of a format without ask times.
    pub fn attach_to(&mut self, stream: &str) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for task in &self.tasks {
            *seen.entry(task.id.as_str()).or_default() += 1;
        }
        let clashing: std::collections::HashSet<String> = seen
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(id, _)| id.to_owned())
            .collect();
        for task in &mut self.tasks {
            if task.stream == stream {
                continue;
            }
            if clashing.contains(&task.id) {
                task.id = format!("{}/{}", task.stream, task.id);
            }
            let old = std::mem::replace(&mut task.stream, stream.to_owned());
            task.extra.insert("imported_stream".to_owned(), old);
        }
    }

    /// For a format without ask times, asks each task at its stream's duration where
    /// `duration_ms` knows it (and it is positive), else at 0; returns the streams left at 0.
    /// Does nothing when the tasks have their own ask times.
    pub fn ask_at_end(&mut self, duration_ms: impl Fn(&str) -> Option<i64>) -> Vec<String> {
        let mut unknown: Vec<String> = Vec::new();
        if !self.asked_at_end {
            return unknown;
        }
        // A set beside the list: `contains` on the list made 300,000 questions over 100,000
        // videos the project does not know quadratic.
        let mut listed: std::collections::HashSet<String> = std::collections::HashSet::new();
        for task in &mut self.tasks {
            if let Some(d) = duration_ms(&task.stream).filter(|&d| d > 0) {
                task.ask_ms = d;
            } else {
                task.ask_ms = 0;
                if unknown.last() != Some(&task.stream) && listed.insert(task.stream.clone()) {
                    unknown.push(task.stream.clone());
                }
            }
        }
        unknown
    }
}

/// The formats [`detect_format`] tells apart, by the names `--format` takes, for messages that
/// ask for one.
pub const FORMAT_NAMES: &str = "videomme, egolife, egotempo, m3bench, lines, jsonl, parquet, csv";

/// Which format a question file is, from its name and a look at its content (so neither the
/// app nor the CLI has to ask); `None` when it is none we know: an empty or binary file, a
/// `.parquet` without Parquet's magic, or JSON of another shape.
#[must_use]
pub fn detect_format(path: &Path, bytes: &[u8]) -> Option<TaskFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"PAR1") {
        // Our export has an ask_ms column; Video-MME's has videoID.
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        return Some(if has(b"ask_ms") {
            TaskFormat::Parquet
        } else {
            TaskFormat::VideoMme
        });
    }
    if ext == "parquet" {
        // Named Parquet but without its magic: a damaged or mislabelled file, not text.
        return None;
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let head = match std::str::from_utf8(head) {
        Ok(text) => text,
        // The cut at 64 KiB may split a character; anything else is binary.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let head = head.trim_start_matches('\u{feff}').trim_start();
    let first = head.chars().next()?;
    match ext.as_str() {
        "jsonl" | "ndjson" => return Some(TaskFormat::Jsonl),
        "csv" => return Some(TaskFormat::Csv),
        "txt" => return Some(TaskFormat::Lines),
        _ => {}
    }
    let has = |key: &str| head.contains(&format!("\"{key}\""));
    match first {
        '[' if has("query_time") => Some(TaskFormat::EgoLife),
        '[' if has("video_id") || has("videoID") => Some(TaskFormat::VideoMme),
        '{' if has("annotations") && has("clip_id") => Some(TaskFormat::EgoTempo),
        '{' if has("qa_list") => Some(TaskFormat::M3Bench),
        '{' if is_task_line(head.lines().next().unwrap_or_default()) => Some(TaskFormat::Jsonl),
        '[' | '{' => None,
        _ if is_task_header(head.lines().next().unwrap_or_default()) => Some(TaskFormat::Csv),
        _ => Some(TaskFormat::Lines),
    }
}

/// A line of our JSONL export: one whole object with a task's stream and text.
fn is_task_line(line: &str) -> bool {
    serde_json::from_str::<Value>(line).is_ok_and(|v| {
        v.as_object()
            .is_some_and(|o| o.contains_key("stream") && o.contains_key("text"))
    })
}

/// The header of our CSV export: its first columns, in order.
fn is_task_header(line: &str) -> bool {
    let mut names = line.split(',').map(|n| n.trim().trim_matches('"'));
    super::export::COLUMNS[..3]
        .iter()
        .all(|c| names.next() == Some(*c))
}

/// Reads a question file.
pub fn import_file(
    path: &Path,
    format: TaskFormat,
    options: &ImportOptions,
) -> Result<ImportedTasks> {
    let bytes = std::fs::read(path).map_err(|source| TaskImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    import_bytes(path, &bytes, format, options)
}

/// Reads a question file already in memory (`path` names it in errors and gives a lines
/// file its stream).
pub fn import_bytes(
    path: &Path,
    bytes: &[u8],
    format: TaskFormat,
    options: &ImportOptions,
) -> Result<ImportedTasks> {
    let parquet = bytes.starts_with(b"PAR1");
    match format {
        TaskFormat::Parquet => {
            return guard_parquet(path, bytes, || read_parquet(path, bytes, options));
        }
        TaskFormat::VideoMme if parquet => {
            return guard_parquet(path, bytes, || videomme_parquet(path, bytes, options));
        }
        _ => {}
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => import_text(path, text, format, options),
        Err(e) => Err(not_utf8(path, bytes, e.valid_up_to(), format, options)),
    }
}

/// Reads a question file given as text.
pub fn import_text(
    path: &Path,
    text: &str,
    format: TaskFormat,
    options: &ImportOptions,
) -> Result<ImportedTasks> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let ctx = Ctx {
        path,
        source: format.source_name(),
        now_ms: now_unix_ms(),
    };
    match format {
        TaskFormat::VideoMme => videomme_json(&ctx, text, options),
        TaskFormat::EgoLife => egolife(&ctx, text, options),
        TaskFormat::EgoTempo => egotempo(&ctx, text, options),
        TaskFormat::M3Bench => m3bench(&ctx, text, options),
        TaskFormat::Lines => Ok(lines(&ctx, text, options)),
        TaskFormat::Jsonl => jsonl(&ctx, text, options),
        TaskFormat::Csv => csv(&ctx, text, options),
        TaskFormat::Parquet => Err(ctx.shape("a Parquet file must be read as bytes")),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared machinery

struct Ctx<'a> {
    path: &'a Path,
    source: &'static str,
    now_ms: i64,
}

impl Ctx<'_> {
    fn shape(&self, detail: impl Into<String>) -> TaskImportError {
        TaskImportError::Shape {
            path: self.path.to_path_buf(),
            detail: detail.into(),
        }
    }

    fn rec(&self, label: String) -> Rec<'_> {
        Rec {
            path: self.path,
            label,
        }
    }

    fn task(&self, id: String, stream: String, text: String) -> Task {
        Task {
            id,
            stream,
            text,
            options: Vec::new(),
            answer: String::new(),
            task_type: String::new(),
            ask_ms: 0,
            evidence: Vec::new(),
            trigger: false,
            switch_to: None,
            author: String::new(),
            source: TaskSource::Imported(self.source.to_owned()),
            extra: BTreeMap::new(),
            created_unix_ms: self.now_ms,
            edited_unix_ms: self.now_ms,
        }
    }
}

/// One record of a file, for error messages.
struct Rec<'a> {
    path: &'a Path,
    label: String,
}

impl Rec<'_> {
    fn err(&self, detail: impl Into<String>) -> TaskImportError {
        TaskImportError::Record {
            path: self.path.to_path_buf(),
            record: self.label.clone(),
            detail: detail.into(),
        }
    }

    fn object<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>> {
        value
            .as_object()
            .ok_or_else(|| self.err(format!("is {}, want an object", kind(value))))
    }

    fn field<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value> {
        match obj.get(key) {
            None | Some(Value::Null) => Err(self.err(format!("missing field \"{key}\""))),
            Some(v) => Ok(v),
        }
    }

    fn str<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Result<&'v str> {
        let v = self.field(obj, key)?;
        v.as_str()
            .ok_or_else(|| wrong_type(self, key, v, "a string"))
    }

    /// A string, or a number written as one (ids).
    fn text(&self, obj: &Map<String, Value>, key: &str) -> Result<String> {
        match self.field(obj, key)? {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            v => Err(wrong_type(self, key, v, "a string")),
        }
    }

    fn opt_str<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Result<Option<&'v str>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(self, key, v, "a string")),
        }
    }

    /// An optional string, empty when absent.
    fn opt_string(&self, obj: &Map<String, Value>, key: &str) -> Result<String> {
        Ok(self
            .opt_str(obj, key)?
            .map(str::to_owned)
            .unwrap_or_default())
    }

    fn strings(&self, obj: &Map<String, Value>, key: &str) -> Result<Vec<String>> {
        let v = self.field(obj, key)?;
        let list = v
            .as_array()
            .ok_or_else(|| wrong_type(self, key, v, "a list of strings"))?;
        list.iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    self.err(format!(
                        "item {} of \"{key}\" is {}, want a string",
                        i + 1,
                        kind(item)
                    ))
                })
            })
            .collect()
    }
}

fn trimmed(text: &str) -> String {
    text.trim().to_owned()
}

fn wrong_type(rec: &Rec<'_>, key: &str, value: &Value, want: &str) -> TaskImportError {
    rec.err(format!("field \"{key}\" is {}, want {want}", kind(value)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value for a record's label.
fn peek(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn label(what: String, id_key: &str, obj: Option<&Map<String, Value>>) -> String {
    match obj.and_then(|o| peek(o, id_key)) {
        Some(id) => format!("{what} ({id_key} {id})"),
        None => what,
    }
}

/// The fields of `obj` not in `used`, verbatim: strings as they are, other values as compact
/// JSON; nulls left out.
fn extras(obj: &Map<String, Value>, used: &[&str], into: &mut BTreeMap<String, String>) {
    for (key, value) in obj {
        if used.contains(&key.as_str()) {
            continue;
        }
        match value {
            Value::Null => {}
            Value::String(s) => {
                into.insert(key.clone(), s.clone());
            }
            other => {
                into.insert(key.clone(), other.to_string());
            }
        }
    }
}

/// Removes commas that stand right before `]` or `}` (outside strings), as in Video-MME's
/// official template. Borrowed when there are none.
#[must_use]
pub fn strip_trailing_commas(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut drop: Vec<usize> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = bytes[i + 1..]
                .iter()
                .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
            if matches!(next, Some(b']' | b'}')) {
                drop.push(i);
            }
        }
    }
    if drop.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for at in drop {
        // A comma is one ASCII byte, so both cuts fall on character boundaries.
        out.push_str(&text[from..at]);
        from = at + 1;
    }
    out.push_str(&text[from..]);
    std::borrow::Cow::Owned(out)
}

fn parse_json(ctx: &Ctx<'_>, text: &str) -> Result<Value> {
    serde_json::from_str(&strip_trailing_commas(text)).map_err(|e| TaskImportError::Json {
        path: ctx.path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Tasks with their records' labels, checked and de-duplicated.
struct Collected {
    tasks: Vec<Task>,
    labels: Vec<String>,
}

impl Collected {
    fn new() -> Self {
        Self {
            tasks: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn push(&mut self, rec: &Rec<'_>, task: Task) -> Result<()> {
        task.validate().map_err(|e| rec.err(e.to_string()))?;
        self.tasks.push(task);
        self.labels.push(rec.label.clone());
        Ok(())
    }

    /// Drops exact repeats, refuses a repeated (stream, id) with other content, and keeps
    /// only `video`'s tasks when one is asked for.
    fn finish(
        self,
        ctx: &Ctx<'_>,
        video: Option<&str>,
        asked_at_end: bool,
    ) -> Result<ImportedTasks> {
        let mut first: HashMap<(&str, &str), usize> = HashMap::with_capacity(self.tasks.len());
        let mut keep = vec![true; self.tasks.len()];
        for (i, task) in self.tasks.iter().enumerate() {
            match first.entry((task.stream.as_str(), task.id.as_str())) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(i);
                }
                std::collections::hash_map::Entry::Occupied(slot) => {
                    let j = *slot.get();
                    if self.tasks[j] != *task {
                        return Err(TaskImportError::Duplicate {
                            path: ctx.path.to_path_buf(),
                            stream: task.stream.clone(),
                            id: task.id.clone(),
                            first: self.labels[j].clone(),
                            second: self.labels[i].clone(),
                        });
                    }
                    keep[i] = false;
                }
            }
        }
        drop(first);
        let mut tasks: Vec<Task> = self
            .tasks
            .into_iter()
            .zip(keep)
            .filter_map(|(t, k)| k.then_some(t))
            .collect();
        if let Some(video) = video {
            let imported = ImportedTasks {
                tasks,
                asked_at_end,
            };
            if !imported.tasks.iter().any(|t| t.stream == video) {
                let streams = imported.streams();
                return Err(no_such_video(ctx.path, video, &streams));
            }
            tasks = imported.tasks;
            tasks.retain(|t| t.stream == video);
        }
        Ok(ImportedTasks {
            tasks,
            asked_at_end,
        })
    }
}

fn no_such_video(path: &Path, video: &str, streams: &[String]) -> TaskImportError {
    let mut known = streams
        .iter()
        .take(KNOWN_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if streams.len() > KNOWN_LISTED {
        known.push_str(", ...");
    }
    if streams.is_empty() {
        known.push_str("none");
    }
    TaskImportError::NoSuchVideo {
        path: path.to_path_buf(),
        video: video.to_owned(),
        count: streams.len(),
        known,
    }
}

/// Finds where an invalid byte is: its line and, where the lossy text still imports, the task
/// that holds it.
fn not_utf8(
    path: &Path,
    bytes: &[u8],
    offset: usize,
    format: TaskFormat,
    options: &ImportOptions,
) -> TaskImportError {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.split(|&b| b == b'\n').count();
    // Replacement characters already in the valid part come before the one we look for.
    let earlier = std::str::from_utf8(before).map_or(0, |s| s.matches('\u{fffd}').count());
    let lossy = String::from_utf8_lossy(bytes);
    let record = import_text(path, &lossy, format, options)
        .ok()
        .and_then(|imported| {
            let mut seen = 0;
            imported.tasks.iter().find_map(|t| {
                let count = |s: &str| s.matches('\u{fffd}').count();
                seen += count(&t.id)
                    + count(&t.stream)
                    + count(&t.text)
                    + count(&t.answer)
                    + count(&t.task_type)
                    + t.options.iter().map(|o| count(o)).sum::<usize>()
                    + t.extra.values().map(|v| count(v)).sum::<usize>();
                (seen > earlier).then(|| format!("in task {} of video {}", t.id, t.stream))
            })
        });
    TaskImportError::NotUtf8 {
        path: path.to_path_buf(),
        offset,
        line,
        record,
    }
}

/// Strips an option's own "A. " prefix. A prefix with another letter than its position's is
/// refused: the answer letters would point at the wrong options.
fn strip_option_prefix(rec: &Rec<'_>, index: usize, text: &str) -> Result<String> {
    let trimmed = text.trim_start();
    let mut chars = trimmed.chars();
    if let (Some(letter), Some(sep)) = (chars.next(), chars.next()) {
        let rest = chars.as_str();
        if ('A'..='E').contains(&letter)
            && matches!(sep, '.' | ')' | ':')
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            if letter != option_letter(index) {
                return Err(rec.err(format!(
                    "option {} is lettered \"{letter}{sep}\"; options must come in order A, B, C, ...",
                    index + 1
                )));
            }
            return Ok(rest.trim_start().to_owned());
        }
    }
    Ok(text.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Video-MME

const VIDEOMME_QUESTION_FIELDS: [&str; 5] =
    ["question_id", "question", "options", "answer", "task_type"];

/// One Video-MME question; `parent` is the nested schema's video record.
fn videomme_task(
    ctx: &Ctx<'_>,
    rec: &Rec<'_>,
    obj: &Map<String, Value>,
    parent: Option<(&str, &Map<String, Value>)>,
) -> Result<Task> {
    let stream = match parent {
        Some((video, _)) => video.to_owned(),
        None => rec.text(obj, "video_id")?,
    };
    let id = rec.text(obj, "question_id")?;
    let text = rec.str(obj, "question")?.to_owned();
    let mut task = ctx.task(id, stream, text);
    task.options = rec
        .strings(obj, "options")?
        .iter()
        .enumerate()
        .map(|(i, o)| strip_option_prefix(rec, i, o))
        .collect::<Result<_>>()?;
    task.answer = trimmed(&rec.text(obj, "answer")?);
    task.task_type = rec.opt_string(obj, "task_type")?;
    if let Some((_, video)) = parent {
        extras(video, &["video_id", "questions"], &mut task.extra);
        extras(obj, &VIDEOMME_QUESTION_FIELDS, &mut task.extra);
    } else {
        let mut used = VIDEOMME_QUESTION_FIELDS.to_vec();
        used.push("video_id");
        extras(obj, &used, &mut task.extra);
    }
    Ok(task)
}

fn videomme_json(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    let value = parse_json(ctx, text)?;
    let Value::Array(records) = value else {
        return Err(ctx.shape(format!(
            "is {}, want a list of Video-MME records",
            kind(&value)
        )));
    };
    videomme_records(ctx, &records, options)
}

fn videomme_records(
    ctx: &Ctx<'_>,
    records: &[Value],
    options: &ImportOptions,
) -> Result<ImportedTasks> {
    let nested = records
        .first()
        .and_then(Value::as_object)
        .is_some_and(|o| o.contains_key("questions"));
    let mut out = Collected::new();
    for (i, record) in records.iter().enumerate() {
        let n = i + 1;
        if nested {
            let rec = ctx.rec(label(format!("record {n}"), "video_id", record.as_object()));
            let video_obj = rec.object(record)?;
            let video = rec.text(video_obj, "video_id")?;
            let questions = rec.field(video_obj, "questions")?;
            let questions = questions
                .as_array()
                .ok_or_else(|| wrong_type(&rec, "questions", questions, "a list"))?;
            for (q, question) in questions.iter().enumerate() {
                let qrec = ctx.rec(label(
                    format!("video {video}, question {}", q + 1),
                    "question_id",
                    question.as_object(),
                ));
                let obj = qrec.object(question)?;
                let task = videomme_task(ctx, &qrec, obj, Some((&video, video_obj)))?;
                out.push(&qrec, task)?;
            }
        } else {
            let rec = ctx.rec(label(
                format!("record {n}"),
                "question_id",
                record.as_object(),
            ));
            let obj = rec.object(record)?;
            let task = videomme_task(ctx, &rec, obj, None)?;
            out.push(&rec, task)?;
        }
    }
    out.finish(ctx, options.video.as_deref(), true)
}

/// Runs a Parquet reader on a file whose frame (its `PAR1` markers and footer length) is
/// whole, turning a panic inside the reader (a damaged file) into an error, without the
/// panic's message on stderr.
fn guard_parquet(
    path: &Path,
    bytes: &[u8],
    read: impl FnOnce() -> Result<ImportedTasks>,
) -> Result<ImportedTasks> {
    let damaged = |detail: String| TaskImportError::Parquet {
        path: path.to_path_buf(),
        detail,
    };
    check_parquet_frame(bytes).map_err(damaged)?;
    quiet_panics(read).unwrap_or_else(|message| {
        Err(damaged(format!(
            "the reader failed on this file (damaged?): {message}"
        )))
    })
}

/// Whether `bytes` are framed as a Parquet file: `PAR1`, then the footer whose length the
/// last eight bytes give, then `PAR1`. A file cut short fails here, before the reader.
fn check_parquet_frame(bytes: &[u8]) -> std::result::Result<(), String> {
    const MAGIC: &[u8] = b"PAR1";
    let n = bytes.len();
    if !bytes.starts_with(MAGIC) {
        return Err("not a Parquet file (it does not start with PAR1)".to_owned());
    }
    if n < 12 || !bytes.ends_with(MAGIC) {
        return Err(format!(
            "cut short or damaged: no PAR1 marker at its end ({n} bytes)"
        ));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&bytes[n - 8..n - 4]);
    let footer = u64::from(u32::from_le_bytes(len));
    if footer + 12 > n as u64 {
        return Err(format!(
            "cut short or damaged: its footer claims {footer} bytes, more than the file's {n}"
        ));
    }
    Ok(())
}

thread_local! {
    /// Whether this thread runs inside [`quiet_panics`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many [`quiet_panics`] calls are running: polars' own worker threads (`polars-N`) are
/// quiet meanwhile too, since a reader's panic may happen on one of them.
static QUIET_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `f`, returning a panic inside it as its message instead of unwinding, and without the
/// "thread 'main' panicked" report on stderr (a damaged input file is the user's to fix, and
/// the error that follows names it). Panics elsewhere are reported as before.
///
/// # Errors
/// The panic's message, on one line.
pub fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    use std::sync::atomic::Ordering;
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let polars_worker = QUIET_CALLS.load(Ordering::SeqCst) > 0
                && std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("polars"));
            if !(QUIET.with(std::cell::Cell::get) || polars_worker) {
                report(info);
            }
        }));
    });
    let was_quiet = QUIET.with(|q| q.replace(true));
    QUIET_CALLS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_CALLS.fetch_sub(1, Ordering::SeqCst);
    QUIET.with(|q| q.set(was_quiet));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let one_line: String = message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(300)
            .collect();
        one_line
    })
}

fn parquet_frame(path: &Path, bytes: &[u8]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| TaskImportError::Parquet {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// A column as JSON values, row by row: strings, numbers, booleans, lists of strings.
fn column_values(path: &Path, column: &polars::prelude::Column) -> Result<Vec<Value>> {
    use polars::prelude::*;
    let fail = |e: PolarsError| TaskImportError::Parquet {
        path: path.to_path_buf(),
        detail: format!("column \"{}\": {e}", column.name()),
    };
    let series = column.as_materialized_series();
    let n = series.len();
    let values = match series.dtype() {
        DataType::String => {
            let ca = series.str().map_err(fail)?;
            (0..n)
                .map(|i| {
                    ca.get(i)
                        .map_or(Value::Null, |s| Value::String(s.to_owned()))
                })
                .collect()
        }
        DataType::Boolean => {
            let ca = series.bool().map_err(fail)?;
            (0..n)
                .map(|i| ca.get(i).map_or(Value::Null, Value::Bool))
                .collect()
        }
        DataType::List(_) => {
            let ca = series.list().map_err(fail)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(match ca.get_as_series(i) {
                    None => Value::Null,
                    Some(items) => {
                        let items = items.cast(&DataType::String).map_err(fail)?;
                        let items = items.str().map_err(fail)?;
                        Value::Array(
                            items
                                .iter()
                                .map(|s| s.map_or(Value::Null, |s| Value::String(s.to_owned())))
                                .collect(),
                        )
                    }
                });
            }
            out
        }
        dtype if dtype.is_integer() => {
            let cast = series.cast(&DataType::Int64).map_err(fail)?;
            let ca = cast.i64().map_err(fail)?;
            (0..n)
                .map(|i| ca.get(i).map_or(Value::Null, Value::from))
                .collect()
        }
        dtype if dtype.is_float() => {
            let cast = series.cast(&DataType::Float64).map_err(fail)?;
            let ca = cast.f64().map_err(fail)?;
            (0..n)
                .map(|i| ca.get(i).map_or(Value::Null, Value::from))
                .collect()
        }
        DataType::Null => vec![Value::Null; n],
        _ => {
            let cast = series.cast(&DataType::String).map_err(fail)?;
            let ca = cast.str().map_err(fail)?;
            (0..n)
                .map(|i| {
                    ca.get(i)
                        .map_or(Value::Null, |s| Value::String(s.to_owned()))
                })
                .collect()
        }
    };
    Ok(values)
}

/// The rows of a Parquet table as JSON objects.
fn parquet_rows(path: &Path, bytes: &[u8]) -> Result<Vec<Value>> {
    let df = parquet_frame(path, bytes)?;
    let mut rows: Vec<Map<String, Value>> = vec![Map::new(); df.height()];
    for column in df.columns() {
        let name = column.name().to_string();
        for (row, value) in rows.iter_mut().zip(column_values(path, column)?) {
            row.insert(name.clone(), value);
        }
    }
    Ok(rows.into_iter().map(Value::Object).collect())
}

fn videomme_parquet(path: &Path, bytes: &[u8], options: &ImportOptions) -> Result<ImportedTasks> {
    let rows = parquet_rows(path, bytes)?;
    let ctx = Ctx {
        path,
        source: TaskFormat::VideoMme.source_name(),
        now_ms: now_unix_ms(),
    };
    videomme_records(&ctx, &rows, options)
}

// ---------------------------------------------------------------------------------------------
// EgoLifeQA

/// `DAYn` plus `HHMMSSff` as stream time.
fn egolife_time(
    rec: &Rec<'_>,
    obj: &Map<String, Value>,
    key: &str,
    day_offset_ms: i64,
) -> Result<i64> {
    let v = rec.field(obj, key)?;
    let at = v
        .as_object()
        .ok_or_else(|| wrong_type(rec, key, v, "an object {date, time}"))?;
    let date = rec.str(at, "date").map_err(|e| nest(rec, key, e))?;
    let time = rec.str(at, "time").map_err(|e| nest(rec, key, e))?;
    let bad_date = || rec.err(format!("{key}: bad date \"{date}\" (want DAYn, n from 1)"));
    let day: i64 = date
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("DAY"))
        .and_then(|_| date.get(3..))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .filter(|&n| n >= 1)
        .ok_or_else(bad_date)?;
    let bad_time = || rec.err(format!("{key}: bad time \"{time}\" (want HHMMSSff)"));
    if time.len() != 8 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_time());
    }
    let part = |at: usize| time.get(at..at + 2).and_then(|p| p.parse::<i64>().ok());
    let (Some(h), Some(m), Some(s), Some(ff)) = (part(0), part(2), part(4), part(6)) else {
        return Err(bad_time());
    };
    if h > 23 || m > 59 || s > 59 {
        return Err(bad_time());
    }
    let of_day = ((h * 60 + m) * 60 + s) * 1000 + ff * 10;
    (day - 1)
        .checked_mul(day_offset_ms)
        .and_then(|d| d.checked_add(of_day))
        .ok_or_else(bad_date)
}

/// A field error inside a nested object, named by its path.
fn nest(rec: &Rec<'_>, outer: &str, e: TaskImportError) -> TaskImportError {
    match e {
        TaskImportError::Record { detail, .. } => {
            rec.err(detail.replacen("field \"", &format!("field \"{outer}."), 1))
        }
        other => other,
    }
}

fn egolife(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    const CHOICES: [&str; 5] = ["choice_a", "choice_b", "choice_c", "choice_d", "choice_e"];
    let value = parse_json(ctx, text)?;
    let records = match value {
        Value::Array(records) => records,
        // A single record.
        Value::Object(_) => vec![value],
        other => {
            return Err(ctx.shape(format!(
                "is {}, want a list of EgoLifeQA records",
                kind(&other)
            )));
        }
    };
    // The wearers in the file: `--video` keeps one of them, or names the stream of a file
    // with a single wearer.
    let identities: Vec<String> = {
        let mut seen: Vec<String> = Vec::new();
        let mut known = std::collections::HashSet::new();
        for r in &records {
            if let Some(id) = r.as_object().and_then(|o| peek(o, "identity"))
                && known.insert(id.clone())
            {
                seen.push(id);
            }
        }
        seen
    };
    let (restrict, rename) = match options.video.as_deref() {
        Some(v) if identities.iter().any(|i| i == v) => (Some(v), None),
        Some(v) if identities.len() <= 1 => (None, Some(v)),
        Some(v) => return Err(no_such_video(ctx.path, v, &identities)),
        None => (None, None),
    };
    let mut out = Collected::new();
    for (i, record) in records.iter().enumerate() {
        let rec = ctx.rec(label(format!("record {}", i + 1), "ID", record.as_object()));
        let obj = rec.object(record)?;
        let stream = match rename {
            Some(v) => v.to_owned(),
            None => rec.text(obj, "identity")?,
        };
        let mut task = ctx.task(
            rec.text(obj, "ID")?,
            stream,
            rec.str(obj, "question")?.to_owned(),
        );
        for key in CHOICES {
            match rec.opt_str(obj, key)? {
                Some(choice) => task.options.push(choice.to_owned()),
                None => break,
            }
        }
        task.answer = trimmed(&rec.text(obj, "answer")?);
        task.task_type = rec.opt_string(obj, "type")?;
        task.ask_ms = egolife_time(&rec, obj, "query_time", options.day_offset_ms)?;
        if obj.get("target_time").is_some_and(|v| !v.is_null()) {
            let at = egolife_time(&rec, obj, "target_time", options.day_offset_ms)?;
            task.evidence = vec![Span::new(at, at.saturating_add(EGOLIFE_EVIDENCE_MS))];
        }
        if let Some(cue) = rec.opt_str(obj, "trigger")? {
            task.extra.insert("trigger_cue".to_owned(), cue.to_owned());
        }
        let mut used = vec!["ID", "question", "answer", "type", "trigger"];
        used.extend(CHOICES);
        extras(obj, &used, &mut task.extra);
        out.push(&rec, task)?;
    }
    out.finish(ctx, restrict, false)
}

// ---------------------------------------------------------------------------------------------
// EgoTempo

/// `{uid}_{start}_{end}`: the uid and the two times in seconds, as written.
fn split_clip_id(clip_id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = clip_id.rsplitn(3, '_');
    let end = parts.next()?;
    let start = parts.next()?;
    let uid = parts.next()?;
    (!uid.is_empty()).then_some((uid, start, end))
}

fn egotempo(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    let value = parse_json(ctx, text)?;
    let records = match &value {
        Value::Object(o) => match o.get("annotations") {
            Some(Value::Array(a)) => a.as_slice(),
            Some(other) => {
                return Err(ctx.shape(format!("\"annotations\" is {}, want a list", kind(other))));
            }
            None => return Err(ctx.shape("missing \"annotations\" (want {info, annotations})")),
        },
        Value::Array(a) => a.as_slice(),
        other => {
            return Err(ctx.shape(format!("is {}, want {{info, annotations}}", kind(other))));
        }
    };
    let mut out = Collected::new();
    for (i, record) in records.iter().enumerate() {
        let rec = ctx.rec(label(
            format!("record {}", i + 1),
            "question_id",
            record.as_object(),
        ));
        let obj = rec.object(record)?;
        let clip_id = rec.text(obj, "clip_id")?;
        let bad_clip = || {
            rec.err(format!(
                "bad clip_id \"{clip_id}\" (want {{uid}}_{{start_s}}_{{end_s}})"
            ))
        };
        let (uid, start, end) = split_clip_id(&clip_id).ok_or_else(bad_clip)?;
        let seconds = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(start_s), Some(end_s)) = (seconds(start), seconds(end)) else {
            return Err(bad_clip());
        };
        let length_s = end_s - start_s.max(0.0);
        if length_s < 0.0 {
            return Err(rec.err(format!("clip_id \"{clip_id}\" ends before it starts")));
        }
        // Bounded before the conversion: a nine-digit end would ask past any stream, and
        // 9223372036854775807 s has no millisecond count at all.
        let ask_ms = (length_s * 1000.0).round();
        if !ask_ms.is_finite() || ask_ms > super::MAX_STREAM_MS as f64 {
            return Err(rec.err(format!(
                "clip_id \"{clip_id}\" is {length_s} s long, past the longest stream allowed (a year)"
            )));
        }
        let mut task = ctx.task(
            rec.text(obj, "question_id")?,
            clip_id.clone(),
            rec.str(obj, "question")?.to_owned(),
        );
        task.answer = rec.text(obj, "answer")?;
        task.task_type = rec.opt_string(obj, "question_type")?;
        // In 0..=MAX_STREAM_MS (checked above), so the conversion is exact.
        task.ask_ms = ask_ms as i64;
        task.extra.insert("clip_uid".to_owned(), uid.to_owned());
        task.extra
            .insert("clip_start_s".to_owned(), start.to_owned());
        task.extra.insert("clip_end_s".to_owned(), end.to_owned());
        extras(
            obj,
            &[
                "question_id",
                "clip_id",
                "question",
                "answer",
                "question_type",
            ],
            &mut task.extra,
        );
        out.push(&rec, task)?;
    }
    out.finish(ctx, options.video.as_deref(), false)
}

// ---------------------------------------------------------------------------------------------
// M3-Bench

/// `MM:SS` (minutes may pass 59 and have one digit) as milliseconds.
fn mm_ss_ms(text: &str) -> Option<i64> {
    let (m, s) = text.trim().split_once(':')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(m) || !digits(s) || s.len() != 2 || m.len() > 9 {
        return None;
    }
    let (m, s): (i64, i64) = (m.parse().ok()?, s.parse().ok()?);
    if s >= 60 {
        return None;
    }
    m.checked_mul(60)?.checked_add(s)?.checked_mul(1000)
}

fn m3bench(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    let value = parse_json(ctx, text)?;
    let Value::Object(videos) = value else {
        return Err(ctx.shape(format!(
            "is {}, want {{video_name: {{qa_list: [...]}}}}",
            kind(&value)
        )));
    };
    let mut out = Collected::new();
    for (video, record) in &videos {
        let rec = ctx.rec(format!("video {video}"));
        let video_obj = rec.object(record)?;
        let qa = rec.field(video_obj, "qa_list")?;
        let qa = qa
            .as_array()
            .ok_or_else(|| wrong_type(&rec, "qa_list", qa, "a list"))?;
        for (q, question) in qa.iter().enumerate() {
            let qrec = ctx.rec(label(
                format!("video {video}, question {}", q + 1),
                "question_id",
                question.as_object(),
            ));
            let obj = qrec.object(question)?;
            let mut task = ctx.task(
                qrec.text(obj, "question_id")?,
                video.clone(),
                qrec.str(obj, "question")?.to_owned(),
            );
            task.answer = qrec.text(obj, "answer")?;
            let timestamp = qrec.str(obj, "timestamp")?;
            task.ask_ms = mm_ss_ms(timestamp)
                .ok_or_else(|| qrec.err(format!("bad timestamp \"{timestamp}\" (want MM:SS)")))?;
            task.task_type = match obj.get("type") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => qrec.strings(obj, "type")?.join(", "),
            };
            if let Some(v) = obj.get("before_clip")
                && !(v.is_i64() || v.is_u64() || v.is_null())
            {
                return Err(wrong_type(&qrec, "before_clip", v, "a whole number"));
            }
            extras(video_obj, &["qa_list"], &mut task.extra);
            extras(
                obj,
                &["question_id", "question", "answer", "type"],
                &mut task.extra,
            );
            out.push(&qrec, task)?;
        }
    }
    out.finish(ctx, options.video.as_deref(), false)
}

// ---------------------------------------------------------------------------------------------
// TaskMem's lines file

fn lines(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> ImportedTasks {
    let stream = options.video.clone().unwrap_or_else(|| {
        ctx.path
            .file_stem()
            .map_or_else(|| "stream".to_owned(), |s| s.to_string_lossy().into_owned())
    });
    let tasks = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| ctx.task(format!("q-{}", i + 1), stream.clone(), line.to_owned()))
        .collect();
    ImportedTasks {
        tasks,
        asked_at_end: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Our own exports

fn jsonl(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    let mut out = Collected::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let value: Value = serde_json::from_str(line).map_err(|e| {
            ctx.rec(format!("line {n}"))
                .err(format!("not valid JSON: {e}"))
        })?;
        let rec = ctx.rec(label(format!("line {n}"), "id", value.as_object()));
        let task: Task = serde_json::from_value(value).map_err(|e| rec.err(e.to_string()))?;
        out.push(&rec, task)?;
    }
    out.finish(ctx, options.video.as_deref(), false)
}

/// A [`TaskSource`] from its label (the inverse of [`TaskSource::label`]).
#[must_use]
pub fn source_from_label(label: &str) -> TaskSource {
    match label {
        "" | "authored" => TaskSource::Authored,
        "world" => TaskSource::World,
        name => TaskSource::Imported(name.to_owned()),
    }
}

/// One row of our CSV or Parquet table, by column name, into a task.
fn row_task(rec: &Rec<'_>, row: &Map<String, Value>) -> Result<Task> {
    let int = |key: &str, required: bool| -> Result<i64> {
        match row.get(key) {
            None | Some(Value::Null) if !required => Ok(0),
            None | Some(Value::Null) => Err(rec.err(format!("missing field \"{key}\""))),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| rec.err(format!("field \"{key}\" is not a whole number: {n}"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| rec.err(format!("field \"{key}\" is not a whole number: \"{s}\""))),
            Some(v) => Err(wrong_type(rec, key, v, "a whole number")),
        }
    };
    let opt = |key: &str| -> Result<String> { rec.opt_string(row, key) };
    let json_list = |key: &str| -> Result<Option<Value>> {
        match row.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|e| rec.err(format!("field \"{key}\" is not valid JSON: {e}"))),
            Some(v) => Ok(Some(v.clone())),
        }
    };
    let options: Vec<String> = match json_list("options")? {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v)
            .map_err(|_| rec.err("field \"options\" is not a list of strings"))?,
    };
    let evidence: Vec<Span> = match json_list("evidence")? {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v)
            .map_err(|_| rec.err("field \"evidence\" is not a list of {start_ms, end_ms}"))?,
    };
    let extra: BTreeMap<String, String> = match json_list("extra")? {
        None => BTreeMap::new(),
        Some(v) => serde_json::from_value(v)
            .map_err(|_| rec.err("field \"extra\" is not an object of strings"))?,
    };
    let trigger = match row.get("trigger") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            _ => return Err(rec.err(format!("field \"trigger\" is \"{s}\", want true or false"))),
        },
        Some(v) => return Err(wrong_type(rec, "trigger", v, "true or false")),
    };
    let switch_to = Some(opt("switch_to")?).filter(|s| !s.is_empty());
    Ok(Task {
        id: rec.text(row, "id")?,
        stream: rec.text(row, "stream")?,
        text: rec.str(row, "text")?.to_owned(),
        options,
        answer: opt("answer")?,
        task_type: opt("task_type")?,
        ask_ms: int("ask_ms", true)?,
        evidence,
        trigger,
        switch_to,
        author: opt("author")?,
        source: source_from_label(&opt("source")?),
        extra,
        created_unix_ms: int("created_unix_ms", false)?,
        edited_unix_ms: int("edited_unix_ms", false)?,
    })
}

fn table_tasks(ctx: &Ctx<'_>, rows: &[Value], options: &ImportOptions) -> Result<ImportedTasks> {
    if let Some(first) = rows.first().and_then(Value::as_object)
        && !first.contains_key("stream")
    {
        let hint = if first.contains_key("video_id") {
            " (a Video-MME table? use the videomme format)"
        } else {
            ""
        };
        return Err(ctx.shape(format!("missing column \"stream\"{hint}")));
    }
    let mut out = Collected::new();
    for (i, row) in rows.iter().enumerate() {
        let rec = ctx.rec(label(format!("row {}", i + 1), "id", row.as_object()));
        let task = row_task(&rec, rec.object(row)?)?;
        out.push(&rec, task)?;
    }
    out.finish(ctx, options.video.as_deref(), false)
}

fn read_parquet(path: &Path, bytes: &[u8], options: &ImportOptions) -> Result<ImportedTasks> {
    let rows = parquet_rows(path, bytes)?;
    let ctx = Ctx {
        path,
        source: TaskFormat::Parquet.source_name(),
        now_ms: now_unix_ms(),
    };
    table_tasks(&ctx, &rows, options)
}

/// RFC 4180 records: fields separated by commas, records by CRLF or LF, quoted fields with
/// `""` for a quote and line breaks kept. An error names the record (1 = the header).
pub fn parse_csv(text: &str) -> std::result::Result<Vec<Vec<String>>, (usize, String)> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    // Whether the current field was quoted, and whether the current line has anything.
    let (mut quoted, mut started) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() && !quoted => {
                quoted = true;
                started = true;
                loop {
                    match chars.next() {
                        None => {
                            return Err((
                                records.len() + 1,
                                "a quoted field is never closed".to_owned(),
                            ));
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(other) => field.push(other),
                    }
                }
                if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                    return Err((
                        records.len() + 1,
                        "text after a closing quote (a quote inside a field must be doubled)"
                            .to_owned(),
                    ));
                }
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                quoted = false;
                started = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if started || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                quoted = false;
                started = false;
            }
            '"' if !quoted => {
                return Err((
                    records.len() + 1,
                    "a quote inside an unquoted field".to_owned(),
                ));
            }
            other => {
                field.push(other);
                started = true;
            }
        }
    }
    if started || !field.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

fn csv(ctx: &Ctx<'_>, text: &str, options: &ImportOptions) -> Result<ImportedTasks> {
    let records = parse_csv(text).map_err(|(n, detail)| {
        ctx.rec(if n == 1 {
            "the header".to_owned()
        } else {
            format!("row {}", n - 1)
        })
        .err(detail)
    })?;
    let Some((header, body)) = records.split_first() else {
        return Ok(ImportedTasks::default());
    };
    let rows: Vec<Value> = body
        .iter()
        .enumerate()
        .map(|(i, fields)| {
            if fields.len() != header.len() {
                return Err(ctx.rec(format!("row {}", i + 1)).err(format!(
                    "{} fields, the header has {}",
                    fields.len(),
                    header.len()
                )));
            }
            Ok(Value::Object(
                header
                    .iter()
                    .zip(fields)
                    .map(|(k, v)| (k.trim().to_owned(), Value::String(v.clone())))
                    .collect(),
            ))
        })
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        return Ok(ImportedTasks::default());
    }
    table_tasks(ctx, &rows, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_name_and_content() {
        let p = Path::new;
        assert_eq!(
            detect_format(p("a.json"), br#"[{"video_id": "001", "questions": []}]"#),
            Some(TaskFormat::VideoMme)
        );
        assert_eq!(
            detect_format(p("a.json"), br#"[{"ID": "1", "query_time": {}}]"#),
            Some(TaskFormat::EgoLife)
        );
        assert_eq!(
            detect_format(
                p("a.json"),
                br#"{"info": {}, "annotations": [{"clip_id": "x"}]}"#
            ),
            Some(TaskFormat::EgoTempo)
        );
        assert_eq!(
            detect_format(p("a.json"), br#"{"v": {"qa_list": []}}"#),
            Some(TaskFormat::M3Bench)
        );
        assert_eq!(
            detect_format(p("q.txt"), b"What?\n"),
            Some(TaskFormat::Lines)
        );
        assert_eq!(detect_format(p("t.jsonl"), b"{}"), Some(TaskFormat::Jsonl));
        assert_eq!(detect_format(p("a.json"), br#"{"something": 1}"#), None);
        // Without a telling name, the content decides.
        assert_eq!(
            detect_format(
                p("tasks"),
                b"{\"id\":\"a\",\"stream\":\"s\",\"text\":\"Q?\"}\n"
            ),
            Some(TaskFormat::Jsonl)
        );
        assert_eq!(
            detect_format(p("tasks"), b"id,stream,text,options\na,s,Q?,[]\n"),
            Some(TaskFormat::Csv)
        );
        assert_eq!(
            detect_format(p("questions"), b"\xef\xbb\xbfWhat?\n"),
            Some(TaskFormat::Lines)
        );
        assert_eq!(detect_format(p("a.json"), b""), None, "empty");
        assert_eq!(detect_format(p("a.txt"), b"  \n\n"), None, "blank");
        assert_eq!(detect_format(p("a.bin"), b"\x00\xff\xfe"), None, "binary");
        assert_eq!(detect_format(p("a.parquet"), b"not parquet"), None);
    }

    #[test]
    fn trailing_commas_go_but_not_inside_strings() {
        let text = r#"[{"a": "x,]", "b": [1, 2, ], }, ]"#;
        let fixed = strip_trailing_commas(text);
        assert_eq!(fixed, r#"[{"a": "x,]", "b": [1, 2 ] } ]"#);
        let escaped = r#"{"a": "q\",}"}"#;
        assert_eq!(strip_trailing_commas(escaped), escaped);
    }

    #[test]
    fn mm_ss_allows_long_minutes_and_one_digit() {
        assert_eq!(mm_ss_ms("00:43"), Some(43_000));
        assert_eq!(mm_ss_ms("7:33"), Some(453_000));
        assert_eq!(mm_ss_ms("75:02"), Some(4_502_000));
        for bad in ["7:xx", "1:60", "12", ":30", "1:5", "-1:30", "1:30:00"] {
            assert_eq!(mm_ss_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn clip_ids_split_from_the_right() {
        assert_eq!(
            split_clip_id("12cc-8ad3_-0.1055_34.46"),
            Some(("12cc-8ad3", "-0.1055", "34.46"))
        );
        assert_eq!(split_clip_id("a_b"), None);
    }

    #[test]
    fn csv_quotes_and_line_breaks() {
        let text = "a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\r\n,\n";
        let records = parse_csv(text).unwrap();
        assert_eq!(
            records,
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x, \"y\"".to_owned(), "two\nlines".to_owned()],
                vec![String::new(), String::new()],
            ]
        );
        assert_eq!(parse_csv("a\n\"open").unwrap_err().0, 2);
        assert!(parse_csv("a\nx\"y\n").is_err());
    }

    #[test]
    fn option_prefixes_must_match_their_position() {
        let path = Path::new("f.json");
        let rec = Rec {
            path,
            label: "record 1".to_owned(),
        };
        assert_eq!(
            strip_option_prefix(&rec, 1, "B. Candles.").unwrap(),
            "Candles."
        );
        assert_eq!(strip_option_prefix(&rec, 0, "Alice").unwrap(), "Alice");
        let err = strip_option_prefix(&rec, 0, "C. Berries.").unwrap_err();
        assert!(
            err.to_string().starts_with("f.json: record 1: option 1"),
            "{err}"
        );
    }
}
