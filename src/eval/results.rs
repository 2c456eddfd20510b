//! A results folder: `results.parquet` and `results.csv` (one row per question and lane),
//! `summary.json` (the metrics), and `chart.png` / `chart.svg`. The folder's files are written
//! beside it and moved in once all are whole, so a reader never sees half of one, and a full
//! disk never leaves a half-written results folder.

use std::path::{Path, PathBuf};

use super::EvalError;
use super::chart::{ChartData, draw};
use super::metrics::{ResultRow, Summary};
use crate::tasks::export::csv_field;

/// The columns of the results table, in order.
pub const COLUMNS: [&str; 11] = [
    "stream",
    "task_id",
    "task_type",
    "ask_ms",
    "lane",
    "answer",
    "expected",
    "correct",
    "abstained",
    "entries_available",
    "entries_used",
];

/// Chart size written with the results, in pixels.
pub const CHART_SIZE: (u32, u32) = (1400, 900);

fn write_error(path: &Path, message: impl std::fmt::Display) -> EvalError {
    EvalError::Write {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// RFC 4180 CSV with a header row.
#[must_use]
pub fn to_csv(rows: &[ResultRow]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let fields = [
            r.stream.clone(),
            r.task_id.clone(),
            r.task_type.clone(),
            r.ask_ms.to_string(),
            r.lane.clone(),
            r.answer.clone(),
            r.expected.clone(),
            r.correct.to_string(),
            r.abstained.to_string(),
            r.entries_available.to_string(),
            r.entries_used.clone(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}

fn to_frame(rows: &[ResultRow]) -> Result<polars::prelude::DataFrame, String> {
    use polars::prelude::*;
    let text = |f: &dyn Fn(&ResultRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let flag = |f: &dyn Fn(&ResultRow) -> bool| rows.iter().map(f).collect::<Vec<bool>>();
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("stream".into(), text(&|r| &r.stream)),
            Column::new("task_id".into(), text(&|r| &r.task_id)),
            Column::new("task_type".into(), text(&|r| &r.task_type)),
            Column::new(
                "ask_ms".into(),
                rows.iter().map(|r| r.ask_ms).collect::<Vec<i64>>(),
            ),
            Column::new("lane".into(), text(&|r| &r.lane)),
            Column::new("answer".into(), text(&|r| &r.answer)),
            Column::new("expected".into(), text(&|r| &r.expected)),
            Column::new("correct".into(), flag(&|r| r.correct)),
            Column::new("abstained".into(), flag(&|r| r.abstained)),
            Column::new(
                "entries_available".into(),
                rows.iter()
                    .map(|r| r.entries_available as u64)
                    .collect::<Vec<u64>>(),
            ),
            Column::new("entries_used".into(), text(&|r| &r.entries_used)),
        ],
    )
    .map_err(|e| e.to_string())
}

/// Writes the whole folder (created if missing). Returns the files written.
///
/// The files are written into a fresh folder beside `dir` (`.<name>.partial`) and moved in
/// only once all of them are whole, so a full disk or a kill never leaves a half-written
/// results folder: a new one appears whole or not at all, and an existing one keeps its old
/// files until the new ones replace them.
///
/// # Errors
/// When the folder or a file cannot be written.
pub fn write(dir: &Path, rows: &[ResultRow], summary: &Summary) -> Result<Vec<PathBuf>, EvalError> {
    let staged = crate::fsutil::StagedDir::new(dir).map_err(|e| write_error(dir, e))?;
    let names = write_files(staged.path(), rows, summary)?;
    staged.commit().map_err(|e| write_error(dir, e))?;
    Ok(names.iter().map(|n| dir.join(n)).collect())
}

/// Writes every file of a results folder into `dir`; returns their names.
fn write_files(
    dir: &Path,
    rows: &[ResultRow],
    summary: &Summary,
) -> Result<Vec<&'static str>, EvalError> {
    let parquet = dir.join("results.parquet");
    let mut frame = to_frame(rows).map_err(|e| write_error(&parquet, e))?;
    crate::fsutil::write_parquet_atomic(&parquet, &mut frame)
        .map_err(|e| write_error(&parquet, e))?;
    let csv = dir.join("results.csv");
    crate::fsutil::write_atomic(&csv, to_csv(rows).as_bytes()).map_err(|e| write_error(&csv, e))?;
    let json = dir.join("summary.json");
    let text = serde_json::to_string_pretty(summary).map_err(|e| write_error(&json, e))?;
    crate::fsutil::write_atomic(&json, text.as_bytes()).map_err(|e| write_error(&json, e))?;
    let data = ChartData::of(summary);
    for name in ["chart.png", "chart.svg"] {
        draw(&data, &dir.join(name), CHART_SIZE.0, CHART_SIZE.1)?;
    }
    Ok(vec![
        "results.parquet",
        "results.csv",
        "summary.json",
        "chart.png",
        "chart.svg",
    ])
}

/// Reads a results folder's summary (or a summary.json given directly).
///
/// # Errors
/// When it is missing or is not a summary; the message names the file.
pub fn read_summary(path: &Path) -> Result<Summary, EvalError> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| EvalError::Input(format!("{}: cannot read: {e}", file.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        EvalError::Input(format!(
            "{}: not an evaluation summary: {e}",
            file.display()
        ))
    })
}
