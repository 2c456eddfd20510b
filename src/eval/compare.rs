//! Two evaluation runs side by side (a run comparison, as Langfuse does for prompts, here for
//! memory): the same question on the same lane in both, what each answered, whether it
//! turned right or wrong between them, and which memory entries each answer rested on; per
//! task type, the accuracy of each and how many answers were fixed or broken. Read from the
//! runs' `results.parquet`; no egui.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::EvalError;
use super::metrics::ResultRow;

/// How a question's answer moved from run A to run B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Wrong (or abstained) in A, right in B.
    Fixed,
    /// Right in A, wrong in B.
    Broken,
    /// Wrong in both, with different answers.
    Different,
    /// The same answer, or right in both.
    Same,
    /// Asked in one run only.
    OnlyA,
    OnlyB,
}

impl Change {
    /// Words for a table cell.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Broken => "broken",
            Self::Different => "other wrong answer",
            Self::Same => "same",
            Self::OnlyA => "only in A",
            Self::OnlyB => "only in B",
        }
    }
}

/// One answer of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub answer: String,
    pub correct: bool,
    pub abstained: bool,
    /// The memory entries the answer rests on (ids of the lane's entries).
    pub entries_used: Vec<u64>,
}

impl Answer {
    fn of(row: &ResultRow) -> Self {
        Self {
            answer: row.answer.clone(),
            correct: row.correct,
            abstained: row.abstained,
            entries_used: row
                .entries_used
                .split_whitespace()
                .filter_map(|id| id.parse().ok())
                .collect(),
        }
    }
}

/// A question (on one lane) in either run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuestionChange {
    pub stream: String,
    pub task_id: String,
    pub task_type: String,
    pub lane: String,
    pub ask_ms: i64,
    pub expected: String,
    pub a: Option<Answer>,
    pub b: Option<Answer>,
    pub change: Change,
}

/// One task type's accuracy in each run (over the questions both asked) and its changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TypeChange {
    /// Questions asked in both runs.
    pub n: usize,
    /// Accuracy in percent over those questions.
    pub acc_a: f64,
    pub acc_b: f64,
    pub fixed: usize,
    pub broken: usize,
    pub different: usize,
}

/// The whole comparison.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Comparison {
    /// Per task type, and `"all"` over every type.
    pub types: BTreeMap<String, TypeChange>,
    /// Every question of either run, changed ones first (fixed, broken, different), then by
    /// stream and ask time.
    pub questions: Vec<QuestionChange>,
}

/// The key a question has in both runs.
type Key = (String, String, String);

fn key(row: &ResultRow) -> Key {
    (row.stream.clone(), row.task_id.clone(), row.lane.clone())
}

/// Compares two runs' rows, question by question on each lane.
#[must_use]
pub fn compare(a: &[ResultRow], b: &[ResultRow]) -> Comparison {
    let index = |rows: &[ResultRow]| -> BTreeMap<Key, usize> {
        rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect()
    };
    let (in_a, in_b) = (index(a), index(b));
    let mut keys: Vec<&Key> = in_a.keys().chain(in_b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut questions: Vec<QuestionChange> = keys
        .into_iter()
        .map(|k| {
            let (ra, rb) = (in_a.get(k).map(|&i| &a[i]), in_b.get(k).map(|&i| &b[i]));
            let row = ra.or(rb).expect("a key comes from one of the runs");
            let change = match (ra, rb) {
                (Some(x), Some(y)) => match (x.correct, y.correct) {
                    (false, true) => Change::Fixed,
                    (true, false) => Change::Broken,
                    (false, false) if x.answer != y.answer => Change::Different,
                    _ => Change::Same,
                },
                (Some(_), None) => Change::OnlyA,
                _ => Change::OnlyB,
            };
            QuestionChange {
                stream: row.stream.clone(),
                task_id: row.task_id.clone(),
                task_type: row.task_type.clone(),
                lane: row.lane.clone(),
                ask_ms: row.ask_ms,
                expected: row.expected.clone(),
                a: ra.map(Answer::of),
                b: rb.map(Answer::of),
                change,
            }
        })
        .collect();
    questions.sort_by(|x, y| {
        (x.change, &x.stream, x.ask_ms, &x.task_id, &x.lane)
            .cmp(&(y.change, &y.stream, y.ask_ms, &y.task_id, &y.lane))
    });
    Comparison {
        types: per_type(&questions),
        questions,
    }
}

fn per_type(questions: &[QuestionChange]) -> BTreeMap<String, TypeChange> {
    let mut counts: BTreeMap<String, (TypeChange, usize, usize)> = BTreeMap::new();
    for q in questions {
        let (Some(a), Some(b)) = (&q.a, &q.b) else {
            continue;
        };
        for name in [q.task_type.as_str(), "all"] {
            let (t, right_a, right_b) = counts.entry(name.to_owned()).or_default();
            t.n += 1;
            *right_a += usize::from(a.correct);
            *right_b += usize::from(b.correct);
            match q.change {
                Change::Fixed => t.fixed += 1,
                Change::Broken => t.broken += 1,
                Change::Different => t.different += 1,
                _ => {}
            }
        }
    }
    counts
        .into_iter()
        .map(|(name, (mut t, right_a, right_b))| {
            let n = t.n.max(1) as f64;
            t.acc_a = 100.0 * right_a as f64 / n;
            t.acc_b = 100.0 * right_b as f64 / n;
            (name, t)
        })
        .collect()
}

/// Reads a results folder's rows (its `results.parquet`).
///
/// # Errors
/// When the folder holds no results table, or it is not one; the message names the file.
pub fn read_rows(dir: &Path) -> Result<Vec<ResultRow>, EvalError> {
    use polars::prelude::*;
    let path = if dir.is_dir() {
        dir.join("results.parquet")
    } else {
        dir.to_path_buf()
    };
    let fail = |detail: String| {
        EvalError::Input(format!(
            "{}: not an evaluation results table: {detail}",
            path.display()
        ))
    };
    if !dir.exists() {
        return Err(EvalError::Input(format!(
            "{}: no such results folder",
            dir.display()
        )));
    }
    let file = std::fs::File::open(&path).map_err(|e| {
        EvalError::Input(if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{}: missing: the folder is not a results folder written by `taskmem eval`",
                path.display()
            )
        } else {
            format!("{}: cannot read: {e}", path.display())
        })
    })?;
    // polars may panic on a damaged file: caught, and reported as the file's problem.
    let df = std::panic::catch_unwind(|| ParquetReader::new(file).finish())
        .map_err(|_| fail("the file is damaged".to_owned()))?
        .map_err(|e| fail(e.to_string()))?;
    let series = |name: &str| {
        df.column(name)
            .map(|c| c.as_materialized_series().clone())
            .map_err(|e| fail(e.to_string()))
    };
    let text = |name: &str| -> Result<Vec<String>, EvalError> {
        let s = series(name)?;
        let ca = s.str().map_err(|e| fail(e.to_string()))?;
        Ok(ca
            .iter()
            .map(|v| v.unwrap_or_default().to_owned())
            .collect())
    };
    let flag = |name: &str| -> Result<Vec<bool>, EvalError> {
        let s = series(name)?;
        let ca = s.bool().map_err(|e| fail(e.to_string()))?;
        Ok(ca.iter().map(Option::unwrap_or_default).collect())
    };
    let ask = series("ask_ms")?;
    let ask: Vec<i64> = ask
        .i64()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .map(Option::unwrap_or_default)
        .collect();
    let available = series("entries_available")?;
    let available: Vec<u64> = available
        .u64()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (stream, task_id, task_type) = (text("stream")?, text("task_id")?, text("task_type")?);
    let (lane, answer, expected) = (text("lane")?, text("answer")?, text("expected")?);
    let (correct, abstained, used) = (flag("correct")?, flag("abstained")?, text("entries_used")?);
    Ok((0..df.height())
        .map(|i| ResultRow {
            stream: stream[i].clone(),
            task_id: task_id[i].clone(),
            task_type: task_type[i].clone(),
            ask_ms: ask[i],
            lane: lane[i].clone(),
            answer: answer[i].clone(),
            expected: expected[i].clone(),
            correct: correct[i],
            abstained: abstained[i],
            entries_available: usize::try_from(available[i]).unwrap_or(usize::MAX),
            entries_used: used[i].clone(),
        })
        .collect())
}

/// Reads two results folders and compares them.
///
/// # Errors
/// As [`read_rows`], for either folder.
pub fn compare_dirs(a: &Path, b: &Path) -> Result<Comparison, EvalError> {
    Ok(compare(&read_rows(a)?, &read_rows(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(task: &str, kind: &str, lane: &str, answer: &str, correct: bool) -> ResultRow {
        ResultRow {
            stream: "s".into(),
            task_id: task.into(),
            task_type: kind.into(),
            ask_ms: 1_000,
            lane: lane.into(),
            answer: answer.into(),
            expected: "B".into(),
            correct,
            abstained: answer == "E",
            entries_available: 3,
            entries_used: if correct { "4 7".into() } else { String::new() },
        }
    }

    #[test]
    fn answers_that_turned_are_listed_first_and_counted_per_type() {
        let a = vec![
            row("q1", "OCR", "general", "E", false),
            row("q2", "OCR", "general", "B", true),
            row("q3", "Count", "general", "A", false),
            row("q4", "Count", "general", "B", true),
            row("q5", "Count", "general", "B", true),
        ];
        let b = vec![
            row("q1", "OCR", "general", "B", true),
            row("q2", "OCR", "general", "C", false),
            row("q3", "Count", "general", "D", false),
            row("q4", "Count", "general", "B", true),
            row("q6", "Count", "general", "B", true),
        ];
        let c = compare(&a, &b);
        let changes: Vec<(&str, Change)> = c
            .questions
            .iter()
            .map(|q| (q.task_id.as_str(), q.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("q1", Change::Fixed),
                ("q2", Change::Broken),
                ("q3", Change::Different),
                ("q4", Change::Same),
                ("q5", Change::OnlyA),
                ("q6", Change::OnlyB),
            ]
        );
        assert_eq!(c.questions[0].b.as_ref().unwrap().entries_used, [4, 7]);
        let ocr = &c.types["OCR"];
        assert_eq!((ocr.n, ocr.fixed, ocr.broken), (2, 1, 1));
        assert!((ocr.acc_a - 50.0).abs() < 1e-9 && (ocr.acc_b - 50.0).abs() < 1e-9);
        let all = &c.types["all"];
        assert_eq!((all.n, all.fixed, all.broken, all.different), (4, 1, 1, 1));
        assert!((all.acc_a - 50.0).abs() < 1e-9, "{all:?}");
    }

    #[test]
    fn the_same_question_on_two_lanes_is_two_comparisons() {
        let a = vec![
            row("q1", "OCR", "general", "E", false),
            row("q1", "OCR", "ocr", "B", true),
        ];
        let c = compare(&a, &a);
        assert_eq!(c.questions.len(), 2);
        assert!(c.questions.iter().all(|q| q.change == Change::Same));
    }

    #[test]
    fn a_written_results_folder_reads_back_and_a_missing_one_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            row("q1", "OCR", "general", "B", true),
            row("q2", "Count", "general", "E", false),
        ];
        let lanes = [super::super::metrics::LaneInfo {
            lane: "general".into(),
            ..Default::default()
        }];
        let summary = super::super::metrics::Summary {
            source: "test".into(),
            split: "test".into(),
            answerer: "builtin".into(),
            policy: "builtin".into(),
            questions: rows.len(),
            seconds: 0.0,
            lanes: super::super::metrics::summarize(&rows, &lanes),
            notes: Vec::new(),
        };
        super::super::results::write(dir.path(), &rows, &summary).unwrap();
        assert_eq!(read_rows(dir.path()).unwrap(), rows);
        let missing = dir.path().join("nothing");
        let err = read_rows(&missing).unwrap_err().to_string();
        assert!(err.contains("nothing: no such results folder"), "{err}");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = read_rows(&empty).unwrap_err().to_string();
        assert!(err.contains("results.parquet: missing"), "{err}");
        std::fs::write(dir.path().join("results.parquet"), b"not parquet").unwrap();
        let err = read_rows(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not an evaluation results table"), "{err}");
    }
}
