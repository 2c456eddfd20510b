//! The shipped suites in datasets/: they regenerate byte for byte, their question counts are
//! what datasets/README.md says, and they stay within the size budget.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use taskmem::world::questions::load_tasks;
use taskmem::world::suite::{SUITES, SuiteManifest, plan};
use taskmem::world::{Manifest, SuiteSpec, generate};

fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

fn suite_manifest(name: &str) -> SuiteManifest {
    let text = std::fs::read_to_string(datasets().join(name).join("suite.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn one_stream_of_each_suite_regenerates_to_the_committed_hashes() {
    for name in SUITES {
        let spec = SuiteSpec::named(name).unwrap();
        let stream = plan(name)
            .unwrap()
            .into_iter()
            .find(|s| s.split == "test")
            .unwrap();
        let committed: Manifest = serde_json::from_str(
            &std::fs::read_to_string(
                datasets()
                    .join(name)
                    .join(&stream.folder)
                    .join("manifest.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fresh = generate(
            &spec,
            stream.seed,
            stream.duration_ms,
            dir.path(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(fresh.files, committed.files, "{name}/{}", stream.folder);
        assert_eq!(fresh, committed);
    }
}

#[test]
fn question_counts_match_the_readme_and_the_files() {
    let readme = std::fs::read_to_string(datasets().join("README.md")).unwrap();
    for (column, name) in SUITES.iter().enumerate() {
        let manifest = suite_manifest(name);
        let mut counted: BTreeMap<String, usize> = BTreeMap::new();
        for stream in &manifest.streams {
            let tasks = load_tasks(
                &datasets()
                    .join(name)
                    .join(&stream.folder)
                    .join("tasks.jsonl"),
            )
            .unwrap();
            for q in tasks {
                *counted.entry(q.task_type).or_insert(0) += 1;
            }
        }
        assert_eq!(counted, manifest.questions_per_type, "{name}: suite.json");
        for (task_type, n) in &counted {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| {task_type} |")))
                .unwrap_or_else(|| panic!("README has no row for {task_type}"));
            let cells: Vec<&str> = row
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(
                cells[column + 1],
                n.to_string(),
                "README: {name} {task_type}"
            );
        }
    }
}

#[test]
fn the_suites_fit_in_forty_megabytes() {
    let mut total = 0u64;
    let mut stack = vec![datasets()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                total += entry.metadata().unwrap().len();
            }
        }
    }
    assert!(total <= 40_000_000, "datasets/ holds {total} bytes");
}
