//! Tasks out to JSONL (one [`Task`] per line, as serde writes it), Parquet and CSV (one row per
//! task, the columns of [`COLUMNS`]: options as a list (Parquet) or JSON list (CSV), evidence
//! and extra as JSON text), and TaskMem's question file: one question per line, line breaks
//! in a question flattened to spaces. Every file is written next to its target and renamed
//! over it, so a reader never sees half of one, and a failed write leaves no temp file.
//! [`refuse_project_file`] keeps an export off the project's own files. [`super::import`]
//! reads all four back.

use std::path::{Path, PathBuf};

use super::Task;

/// The table columns of the Parquet and CSV exports, in order.
pub const COLUMNS: [&str; 15] = [
    "id",
    "stream",
    "text",
    "options",
    "answer",
    "task_type",
    "ask_ms",
    "evidence",
    "trigger",
    "switch_to",
    "author",
    "source",
    "extra",
    "created_unix_ms",
    "edited_unix_ms",
];

#[derive(Debug, thiserror::Error)]
pub enum TaskExportError {
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot write the Parquet table: {detail}", path.display())]
    Parquet { path: PathBuf, detail: String },
    /// `--out` lands on the project's own files.
    #[error("{detail}")]
    ProjectFile { detail: String },
}

/// Refuses an `out` path inside the project folder (outside its `exports/` folder): it
/// could replace `project.json`, the task log, labels, memory or adapters, and the project
/// would lose its tasks, a lane, or no longer open. See [`crate::fsutil::check_export_target`].
///
/// # Errors
/// [`TaskExportError::ProjectFile`] naming `out` and the project.
pub fn refuse_project_file(out: &Path, project_dir: &Path) -> Result<(), TaskExportError> {
    crate::fsutil::check_export_target(project_dir, out).map_err(|e| TaskExportError::ProjectFile {
        detail: e.to_string(),
    })
}

/// The files we write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    Jsonl,
    Parquet,
    Csv,
    /// TaskMem's question file.
    Lines,
}

/// One JSON object per task and line.
#[must_use]
pub fn to_jsonl(tasks: &[Task]) -> String {
    let mut out = String::new();
    for task in tasks {
        if let Ok(line) = serde_json::to_string(task) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A question on one line: line breaks (and the spaces around them) become one space, and
/// the ends are trimmed, as the lines importer trims them.
#[must_use]
pub fn flatten_line(text: &str) -> String {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    };
    if !text.contains(is_break) {
        return text.trim().to_owned();
    }
    text.split(is_break)
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// TaskMem's question file: one question per line in the order given, only `task_type`'s
/// when one is given.
#[must_use]
pub fn to_lines(tasks: &[Task], task_type: Option<&str>) -> String {
    let mut out = String::new();
    for task in tasks {
        if task_type.is_some_and(|t| task.task_type != t) {
            continue;
        }
        let line = flatten_line(&task.text);
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A field quoted as RFC 4180 wants when it holds a comma, quote, line break or edge spaces.
pub(crate) fn csv_field(out: &mut String, field: &str) {
    let needs = field.contains([',', '"', '\n', '\r'])
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if needs {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The row of a task as text fields, in [`COLUMNS`] order.
fn text_row(task: &Task) -> [String; 15] {
    [
        task.id.clone(),
        task.stream.clone(),
        task.text.clone(),
        json_text(&task.options),
        task.answer.clone(),
        task.task_type.clone(),
        task.ask_ms.to_string(),
        if task.evidence.is_empty() {
            String::new()
        } else {
            json_text(&task.evidence)
        },
        task.trigger.to_string(),
        task.switch_to.clone().unwrap_or_default(),
        task.author.clone(),
        task.source.label(),
        if task.extra.is_empty() {
            String::new()
        } else {
            json_text(&task.extra)
        },
        task.created_unix_ms.to_string(),
        task.edited_unix_ms.to_string(),
    ]
}

/// RFC 4180 CSV with a header row and CRLF line ends.
#[must_use]
pub fn to_csv(tasks: &[Task]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for task in tasks {
        for (i, field) in text_row(task).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, field);
        }
        out.push_str("\r\n");
    }
    out
}

/// The tasks as a Parquet table, in memory.
pub fn to_parquet(tasks: &[Task]) -> Result<Vec<u8>, String> {
    use polars::prelude::*;
    let strings = |f: &dyn Fn(&Task) -> &str| tasks.iter().map(f).collect::<Vec<&str>>();
    let ints = |f: &dyn Fn(&Task) -> i64| tasks.iter().map(f).collect::<Vec<i64>>();
    let json_or_null =
        |f: &dyn Fn(&Task) -> Option<String>| tasks.iter().map(f).collect::<Vec<Option<String>>>();
    let mut options = ListStringChunkedBuilder::new(
        "options".into(),
        tasks.len(),
        tasks.iter().map(|t| t.options.len()).sum(),
    );
    for task in tasks {
        options.append_values_iter(task.options.iter().map(String::as_str));
    }
    let options = options.finish().into_series();
    let sources: Vec<String> = tasks.iter().map(|t| t.source.label()).collect();
    let mut df = DataFrame::new(
        tasks.len(),
        vec![
            Column::new("id".into(), strings(&|t| &t.id)),
            Column::new("stream".into(), strings(&|t| &t.stream)),
            Column::new("text".into(), strings(&|t| &t.text)),
            options.into_column(),
            Column::new("answer".into(), strings(&|t| &t.answer)),
            Column::new("task_type".into(), strings(&|t| &t.task_type)),
            Column::new("ask_ms".into(), ints(&|t| t.ask_ms)),
            Column::new(
                "evidence".into(),
                json_or_null(&|t| (!t.evidence.is_empty()).then(|| json_text(&t.evidence))),
            ),
            Column::new(
                "trigger".into(),
                tasks.iter().map(|t| t.trigger).collect::<Vec<bool>>(),
            ),
            Column::new(
                "switch_to".into(),
                tasks
                    .iter()
                    .map(|t| t.switch_to.as_deref())
                    .collect::<Vec<Option<&str>>>(),
            ),
            Column::new("author".into(), strings(&|t| &t.author)),
            Column::new("source".into(), sources),
            Column::new(
                "extra".into(),
                json_or_null(&|t| (!t.extra.is_empty()).then(|| json_text(&t.extra))),
            ),
            Column::new("created_unix_ms".into(), ints(&|t| t.created_unix_ms)),
            Column::new("edited_unix_ms".into(), ints(&|t| t.edited_unix_ms)),
        ],
    )
    .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Writes `tasks` in `format` (through a temp file and a rename); `task_type` keeps one
/// type's tasks in the lines file.
pub fn write(
    tasks: &[Task],
    format: ExportFormat,
    path: &Path,
    task_type: Option<&str>,
) -> Result<(), TaskExportError> {
    let bytes = match format {
        ExportFormat::Jsonl => to_jsonl(tasks).into_bytes(),
        ExportFormat::Csv => to_csv(tasks).into_bytes(),
        ExportFormat::Lines => to_lines(tasks, task_type).into_bytes(),
        ExportFormat::Parquet => to_parquet(tasks).map_err(|detail| TaskExportError::Parquet {
            path: path.to_path_buf(),
            detail,
        })?,
    };
    crate::fsutil::write_atomic(path, &bytes).map_err(|source| TaskExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_flatten_breaks_and_filter_by_type() {
        assert_eq!(flatten_line("  What\r\n  is\nthis? "), "What is this?");
        let mut a = Task::authored("a".into(), "s", 0, "");
        a.text = "first\nquestion".into();
        a.task_type = "OCR Problems".into();
        let mut b = a.clone();
        b.text = "second".into();
        b.task_type = "Counting Problem".into();
        let tasks = [a, b];
        assert_eq!(to_lines(&tasks, None), "first question\nsecond\n");
        assert_eq!(to_lines(&tasks, Some("Counting Problem")), "second\n");
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let mut out = String::new();
        csv_field(&mut out, "plain");
        out.push('|');
        csv_field(&mut out, "a, \"b\"");
        out.push('|');
        csv_field(&mut out, " edge");
        assert_eq!(out, "plain|\"a, \"\"b\"\"\"|\" edge\"");
    }
}
