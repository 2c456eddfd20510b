//! Streaming evaluation by TaskMem's protocol: every task is answered at its ask time from the
//! memory written before it (never the video or the ground truth), "insufficient information"
//! allowed; Acc, Cov and Prec per lane and task type with bootstrap intervals; results as
//! Parquet, CSV and a summary JSON; charts as PNG and SVG.
//!
//! - [`answer`]: the `Answerer` trait, the built-in answerer, lmms-eval's letter extraction.
//! - [`replay`]: memorize a suite (General lane plus one per adapter) or take a project's
//!   lanes, then answer.
//! - [`metrics`]: result rows and their metrics.
//! - [`results`]: writing and reading result folders.
//! - [`chart`]: the before-and-after charts drawn with plotters.
//! - [`explain`]: why a result is empty or near-empty, in plain words.
//! - [`budget`]: the headroom oracle: what a per-clip token budget leaves answerable with
//!   perfect perception, in a generic and a task-focused fact order.

pub mod answer;
pub mod budget;
pub mod chart;
pub mod compare;
pub mod explain;
pub mod metrics;
pub mod replay;
pub mod results;

/// Why an evaluation could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Something the user supplied (suite, video, model, adapter, results folder) is wrong; the
    /// message names the file.
    #[error("{0}")]
    Input(String),
    #[error("policy failed: {0}")]
    Policy(String),
    #[error(transparent)]
    Answer(#[from] answer::AnswerError),
    #[error("{path}: cannot write: {message}")]
    Write { path: String, message: String },
    #[error("{path}: cannot draw the chart: {message}")]
    Chart { path: String, message: String },
    #[error("stopped")]
    Cancelled,
}
