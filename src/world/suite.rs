//! The shipped benchmark suites: a fixed list of streams per suite (train and test), each
//! generated from a seed derived from the suite, so `taskmem world suite` rebuilds them
//! byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Manifest, SuiteSpec, WorldError, generate, write_atomic};

/// One stream of a suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPlan {
    /// `train/<name>-train-00` style relative folder.
    pub folder: String,
    pub split: String,
    pub seed: u64,
    pub duration_ms: i64,
}

/// The streams of a suite: (train count, test count, minutes each, first seed).
fn layout(name: &str) -> Option<(usize, usize, i64, u64)> {
    match name {
        "world-mme" => Some((6, 4, 3, 1_000)),
        "world-life" => Some((1, 1, 20, 3_000)),
        "world-tempo" => Some((4, 4, 2, 5_000)),
        _ => None,
    }
}

/// The suites shipped in datasets/.
pub const SUITES: [&str; 3] = ["world-mme", "world-life", "world-tempo"];

pub fn plan(name: &str) -> Result<Vec<StreamPlan>, WorldError> {
    let (train, test, minutes, first_seed) =
        layout(name).ok_or_else(|| WorldError::UnknownSuite(name.to_owned()))?;
    let mut streams = Vec::new();
    for (split, count, offset) in [("train", train, 0u64), ("test", test, 500)] {
        for i in 0..count {
            streams.push(StreamPlan {
                folder: format!("{split}/{name}-{split}-{i:02}"),
                split: split.to_owned(),
                seed: first_seed + offset + i as u64,
                duration_ms: minutes * 60_000,
            });
        }
    }
    Ok(streams)
}

/// suite.json: what a suite holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteManifest {
    pub suite: String,
    pub spec: SuiteSpec,
    pub streams: Vec<StreamPlan>,
    /// Questions per task type, over all streams.
    pub questions_per_type: BTreeMap<String, usize>,
    pub questions: usize,
    pub minutes: f64,
    pub bytes: u64,
}

/// Generates every stream of a suite under `out`, and suite.json.
pub fn generate_suite(
    name: &str,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<SuiteManifest, WorldError> {
    let spec = SuiteSpec::named(name)?;
    let streams = plan(name)?;
    let mut per_type = BTreeMap::new();
    let mut questions = 0;
    let mut bytes = 0;
    for stream in &streams {
        progress(&stream.folder);
        let dir = out.join(&stream.folder);
        let manifest: Manifest =
            generate(&spec, stream.seed, stream.duration_ms, &dir, &mut |_, _| {})?;
        let tasks =
            super::questions::load_tasks(&dir.join("tasks.jsonl")).map_err(|e| WorldError::Io {
                path: dir.join("tasks.jsonl"),
                source: std::io::Error::other(e.to_string()),
            })?;
        for q in &tasks {
            *per_type.entry(q.task_type.clone()).or_insert(0) += 1;
        }
        questions += manifest.questions;
        for file in manifest
            .files
            .keys()
            .map(String::as_str)
            .chain(["manifest.json"])
        {
            bytes += std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
        }
    }
    let manifest = SuiteManifest {
        suite: name.to_owned(),
        spec,
        minutes: streams
            .iter()
            .map(|s| s.duration_ms as f64 / 60_000.0)
            .sum(),
        streams,
        questions_per_type: per_type,
        questions,
        bytes,
    };
    let path = out.join("suite.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| WorldError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path, &text).map_err(|source| WorldError::Io { path, source })?;
    Ok(manifest)
}

/// A markdown table of the suites' sizes and question counts per type (for datasets/README.md).
#[must_use]
pub fn markdown_table(suites: &[SuiteManifest]) -> String {
    let row = |label: String, cells: Vec<String>| format!("| {label} | {} |", cells.join(" | "));
    let per_suite = |f: &dyn Fn(&SuiteManifest) -> String| suites.iter().map(f).collect::<Vec<_>>();
    let mut types: Vec<&String> = suites
        .iter()
        .flat_map(|s| s.questions_per_type.keys())
        .collect();
    types.sort();
    types.dedup();
    let mut lines = vec![
        row("task type".to_owned(), per_suite(&|s| s.suite.clone())),
        row("---".to_owned(), per_suite(&|_| "---:".to_owned())),
    ];
    for t in types {
        lines.push(row(
            t.clone(),
            per_suite(&|s| {
                s.questions_per_type
                    .get(t)
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            }),
        ));
    }
    lines.push(row(
        "**all questions**".to_owned(),
        per_suite(&|s| format!("**{}**", s.questions)),
    ));
    lines.push(row(
        "streams (train + test)".to_owned(),
        per_suite(&|s| {
            let train = s.streams.iter().filter(|p| p.split == "train").count();
            format!("{train} + {}", s.streams.len() - train)
        }),
    ));
    lines.push(row(
        "minutes of video".to_owned(),
        per_suite(&|s| format!("{:.0}", s.minutes)),
    ));
    lines.push(row(
        "size (MB)".to_owned(),
        per_suite(&|s| format!("{:.1}", s.bytes as f64 / 1e6)),
    ));
    lines.join("\n") + "\n"
}
