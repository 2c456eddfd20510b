//! The shipped suites in datasets/: their streams regenerate byte for byte from the committed
//! manifests, their question counts per type and split are what suite.json and
//! datasets/README.md say and meet the floors, the training streams spread each type's tasks
//! so that "the recent 10, 30, 50" differ, and what the repository holds stays within 50 MB.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use taskmem::tasks::Task;
use taskmem::train::reward::TaskRewardModel;
use taskmem::world::questions::load_tasks;
use taskmem::world::suite::{
    EnsureError, SPLITS, SUITES, StreamPlan, SuiteManifest, ensure, gitignore, plan, read_manifest,
};
use taskmem::world::{GENERATOR_VERSION, Manifest, SuiteSpec, generate};

/// The crate's datasets/, or `$TASKMEM_TEST_DATASETS` (a regeneration checked before it is
/// copied in: `taskmem world suite all --out DIR`, then datasets/README.md beside it).
fn datasets() -> PathBuf {
    std::env::var_os("TASKMEM_TEST_DATASETS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
        PathBuf::from,
    )
}

fn suite_manifest(name: &str) -> SuiteManifest {
    read_manifest(&datasets().join(name)).unwrap()
}

fn committed_manifest(name: &str, stream: &StreamPlan) -> Manifest {
    let path = datasets()
        .join(name)
        .join(&stream.folder)
        .join("manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn go_on(_: &taskmem::world::suite::SuiteEvent) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// The tasks of a suite's split, in suite order, as the Phase Two reward model reads them.
fn split_tasks(name: &str, split: &str) -> Vec<Task> {
    let mut out = Vec::new();
    for stream in suite_manifest(name)
        .streams
        .iter()
        .filter(|s| s.split == split)
    {
        let dir = datasets().join(name).join(&stream.folder);
        let stream_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for q in load_tasks(&dir.join("tasks.jsonl")).unwrap() {
            let mut task = Task::from(&q);
            task.stream.clone_from(&stream_name);
            out.push(task);
        }
    }
    out
}

#[test]
fn suite_json_lists_the_planned_streams_with_distinct_seeds() {
    let mut seeds = BTreeSet::new();
    for name in SUITES {
        let manifest = suite_manifest(name);
        assert_eq!(manifest.streams, plan(name).unwrap(), "{name}");
        assert_eq!(manifest.spec, SuiteSpec::named(name).unwrap(), "{name}");
        assert_eq!(manifest.splits(), SPLITS.to_vec(), "{name}");
        for stream in &manifest.streams {
            assert!(
                seeds.insert(stream.seed),
                "{name}: seed {} twice",
                stream.seed
            );
            let committed = committed_manifest(name, stream);
            assert_eq!(committed.seed, stream.seed, "{}", stream.folder);
            assert_eq!(
                committed.duration_ms, stream.duration_ms,
                "{}",
                stream.folder
            );
            assert_eq!(committed.version, manifest.version, "{}", stream.folder);
        }
    }
}

#[test]
fn one_stream_of_each_suite_regenerates_to_the_committed_hashes() {
    // The fast variant: the first test stream of each suite, one thread each (every stream:
    // the ignored test below).
    std::thread::scope(|scope| {
        for name in SUITES {
            scope.spawn(move || {
                let spec = SuiteSpec::named(name).unwrap();
                let stream = plan(name)
                    .unwrap()
                    .into_iter()
                    .find(|s| s.split == "test")
                    .unwrap();
                let committed = committed_manifest(name, &stream);
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
            });
        }
    });
}

/// Slow (every stream of every suite, a few minutes in release): `cargo test --release --test
/// datasets -- --ignored`.
#[test]
#[ignore = "generates every suite (minutes); run with --ignored in release"]
fn every_stream_regenerates_to_its_committed_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    for name in SUITES {
        let out = tmp.path().join(name);
        let fresh = taskmem::world::suite::generate_suite(name, &out, &mut go_on).unwrap();
        let committed = suite_manifest(name);
        assert_eq!(fresh, committed, "{name}: suite.json");
        for stream in &committed.streams {
            let ours: Manifest = serde_json::from_str(
                &std::fs::read_to_string(out.join(&stream.folder).join("manifest.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(ours, committed_manifest(name, stream), "{}", stream.folder);
        }
    }
}

#[test]
fn question_counts_per_type_and_split_match_the_files_the_readme_and_the_floors() {
    let readme = std::fs::read_to_string(datasets().join("README.md")).unwrap();
    for (column, name) in SUITES.iter().enumerate() {
        let manifest = suite_manifest(name);
        let mut counted: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
        for stream in &manifest.streams {
            let tasks = load_tasks(
                &datasets()
                    .join(name)
                    .join(&stream.folder)
                    .join("tasks.jsonl"),
            )
            .unwrap();
            assert_eq!(
                tasks.len(),
                committed_manifest(name, stream).questions,
                "{}",
                stream.folder
            );
            for q in tasks {
                *counted
                    .entry(stream.split.clone())
                    .or_default()
                    .entry(q.task_type.clone())
                    .or_insert(0) += 1;
                *per_type.entry(q.task_type).or_insert(0) += 1;
            }
        }
        assert_eq!(counted, manifest.questions_per_split, "{name}: suite.json");
        assert_eq!(per_type, manifest.questions_per_type, "{name}: suite.json");
        for task_type in per_type.keys() {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| {task_type} |")))
                .unwrap_or_else(|| panic!("README has no row for {task_type}"));
            let cells: Vec<&str> = row
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let want: Vec<String> = SPLITS
                .iter()
                .map(|s| {
                    counted
                        .get(*s)
                        .and_then(|m| m.get(task_type))
                        .copied()
                        .unwrap_or(0)
                        .to_string()
                })
                .collect();
            assert_eq!(
                cells[column + 1],
                want.join(" / "),
                "README: {name} {task_type}"
            );
        }
    }
    // world-mme: at least 60 training, 60 validation and 100 test questions of every type
    // it asks.
    let mme = suite_manifest("world-mme");
    for task_type in mme.questions_per_type.keys() {
        for (split, floor) in [("train", 60), ("validation", 60), ("test", 100)] {
            let n = mme.questions_per_split[split]
                .get(task_type)
                .copied()
                .unwrap_or(0);
            assert!(n >= floor, "world-mme {split} {task_type}: {n} < {floor}");
        }
    }
}

#[test]
fn the_recent_10_30_and_50_tasks_of_each_type_are_different_sets() {
    let tasks = split_tasks("world-mme", "train");
    let types: BTreeSet<&str> = tasks.iter().map(|t| t.task_type.as_str()).collect();
    for task_type in types {
        let recent = |n: usize| -> BTreeSet<String> {
            TaskRewardModel::recent(&tasks, Some(task_type), n)
                .ids()
                .into_iter()
                .collect()
        };
        let (r10, r30, r50) = (recent(10), recent(30), recent(50));
        let all = recent(usize::MAX);
        assert_eq!(
            (r10.len(), r30.len(), r50.len()),
            (10, 30, 50),
            "{task_type}"
        );
        assert!(r10.is_subset(&r30) && r30.is_subset(&r50), "{task_type}");
        assert!(all.len() > 50, "{task_type}: {} training tasks", all.len());
        // Spread over time: the recent 10 of a type come from the last streams, the recent
        // 50 from several more of them.
        let streams = |ids: &BTreeSet<String>| -> BTreeSet<String> {
            tasks
                .iter()
                .filter(|t| ids.contains(&t.id))
                .map(|t| t.stream.clone())
                .collect()
        };
        assert!(
            streams(&r50).len() > streams(&r10).len(),
            "{task_type}: the recent 50 come from as few streams as the recent 10"
        );
    }
}

#[test]
fn the_gitignore_names_the_videos_not_committed_and_the_rest_is_there() {
    for name in SUITES {
        let dir = datasets().join(name);
        let manifest = suite_manifest(name);
        assert_eq!(
            std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
            gitignore(&manifest.streams),
            "{name}/.gitignore"
        );
        for stream in &manifest.streams {
            let folder = dir.join(&stream.folder);
            for file in ["manifest.json", "truth.jsonl", "tasks.jsonl"] {
                assert!(folder.join(file).is_file(), "{}/{file}", stream.folder);
            }
            if stream.committed {
                assert!(folder.join("video.mp4").is_file(), "{}", stream.folder);
            }
        }
    }
}

#[test]
fn what_the_repository_holds_fits_in_fifty_megabytes() {
    // Every file under datasets/ but the videos the suites generate on demand.
    let mut ignored = BTreeSet::new();
    for name in SUITES {
        for stream in suite_manifest(name).streams.iter().filter(|s| !s.committed) {
            ignored.insert(datasets().join(name).join(&stream.folder).join("video.mp4"));
        }
    }
    let mut total = 0u64;
    let mut stack = vec![datasets()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".ensure") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if !ignored.contains(&entry.path()) {
                total += entry.metadata().unwrap().len();
            }
        }
    }
    assert!(total <= 50_000_000, "datasets/ commits {total} bytes");
    let said: u64 = SUITES
        .iter()
        .map(|n| suite_manifest(n).committed_bytes)
        .sum();
    assert!(said <= total, "suite.json says {said}, found {total}");
}

/// A one-stream suite of 12 s written here: suite.json and the stream's files.
fn tiny_suite(dir: &Path) -> StreamPlan {
    let spec = SuiteSpec::named("world-tempo").unwrap();
    let stream = StreamPlan {
        folder: "test/tiny-test-00".to_owned(),
        split: "test".to_owned(),
        seed: 77,
        duration_ms: 12_000,
        committed: false,
    };
    generate(
        &spec,
        stream.seed,
        stream.duration_ms,
        &dir.join(&stream.folder),
        &mut |_, _| {},
    )
    .unwrap();
    let manifest = SuiteManifest {
        suite: "tiny".to_owned(),
        version: GENERATOR_VERSION.to_owned(),
        spec,
        streams: vec![stream.clone()],
        questions_per_type: BTreeMap::new(),
        questions_per_split: BTreeMap::new(),
        questions: 0,
        minutes: 0.2,
        bytes: 0,
        committed_bytes: 0,
    };
    std::fs::write(
        dir.join("suite.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    stream
}

#[test]
fn ensure_regenerates_what_is_missing_byte_for_byte_and_refuses_another_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let stream = tiny_suite(tmp.path());
    let folder = tmp.path().join(&stream.folder);
    let video = std::fs::read(folder.join("video.mp4")).unwrap();

    // Whole: only read.
    let ensured = ensure(tmp.path(), &mut go_on).unwrap();
    assert_eq!((ensured.present, ensured.generated.len()), (1, 0));

    // The video missing and the truth changed: both made again, the same bytes.
    std::fs::remove_file(folder.join("video.mp4")).unwrap();
    std::fs::write(folder.join("truth.jsonl"), "changed\n").unwrap();
    let mut events = Vec::new();
    let ensured = ensure(tmp.path(), &mut |e| {
        events.push(e.clone());
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(ensured.generated, vec![stream.folder.clone()]);
    assert_eq!(std::fs::read(folder.join("video.mp4")).unwrap(), video);
    let last = events.last().unwrap().fraction();
    assert_eq!(last.0, last.1, "progress ends full: {events:?}");
    assert!(!tmp.path().join(".ensure").exists(), "the stage is gone");

    // A manifest this generator does not reproduce: refused, the committed files untouched.
    let path = folder.join("manifest.json");
    let mut manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest
        .files
        .insert("tasks.jsonl".to_owned(), "0".repeat(64));
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let err = ensure(tmp.path(), &mut go_on).unwrap_err();
    assert!(
        matches!(&err, EnsureError::Mismatch { file, .. } if file == "tasks.jsonl"),
        "{err}"
    );
    assert!(err.to_string().contains("taskmem world suite"), "{err}");

    // Another generator version: refused before generating.
    manifest.version = "0".to_owned();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let err = ensure(tmp.path(), &mut go_on).unwrap_err();
    assert!(matches!(err, EnsureError::Version { .. }), "{err}");
    assert!(err.to_string().contains("version 0"), "{err}");

    // A stop from the progress callback.
    let err = ensure(tmp.path(), &mut |_| ControlFlow::Break(())).unwrap_err();
    assert!(matches!(err, EnsureError::Cancelled), "{err}");
}

#[test]
fn the_cli_ensures_a_suite_folder_and_names_a_folder_without_one() {
    let tmp = tempfile::tempdir().unwrap();
    let stream = tiny_suite(tmp.path());
    std::fs::remove_file(tmp.path().join(&stream.folder).join("video.mp4")).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(["world", "ensure"])
        .arg(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("0 streams whole, 1 generated"), "{stdout}");
    assert!(tmp.path().join(&stream.folder).join("video.mp4").is_file());

    let empty = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(["world", "ensure"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no suite.json"));
}
