//! Phase Two end to end: `taskmem train phase2` tunes an adapter from a suite's training
//! tasks only, `taskmem export pairs` writes TRL's layout, and bad input is exit 2.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// A small world-mme suite generated here (the shipped one generates hours of training video
/// on demand).
fn mme() -> PathBuf {
    common::suites::mme_small()
}

fn task_ids(split: &str) -> Vec<String> {
    common::suites::questions(&mme(), split)
        .into_iter()
        .map(|q| q.id)
        .collect()
}

const TYPE: &str = "Attribute Perception";

/// The shipped warm-up model: its samples differ in what these questions ask (events), so the
/// judge finds pairs; the shipped Phase One model's samples tie (README, Phase Two), which
/// `a_run_without_pairs_is_exit_2_...` covers.
fn warmup() -> String {
    root("assets/policy/warmup").display().to_string()
}

/// `taskmem train phase2` on the small world-mme suite's training streams for `task_type`, from at most
/// `max_clips` clips, writing `out`, with `extra` arguments.
fn train_phase2(task_type: &str, max_clips: &str, extra: &[&str], out: &Path) -> Output {
    let suite = mme();
    let mut args = vec![
        "train",
        "phase2",
        "--suite",
        suite.to_str().unwrap(),
        "--type",
        task_type,
        "--max-clips",
        max_clips,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    common::taskmem(&args)
}

#[test]
fn phase2_tunes_from_training_tasks_only_and_writes_an_adapter_with_its_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("attr.safetensors");
    let warmup = warmup();
    let run = train_phase2(TYPE, "60", &["--steps", "12", "--model", &warmup], &out);
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert!(
        common::stdout(&run).contains("pairs kept"),
        "{}",
        common::stdout(&run)
    );
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(sidecar["task_type"], TYPE);
    assert_eq!(sidecar["layer"], 0);
    assert!((sidecar["scale"].as_f64().unwrap() - 1.5).abs() < 1e-9);
    assert!(sidecar["metrics"]["pairs"].as_u64().unwrap() >= 1);
    assert_eq!(
        sidecar["metrics"]["flips"], 0,
        "the built-in judge has no position bias"
    );
    assert_eq!(sidecar["metrics"]["judge"], "builtin");
    // What the adapter does to memory: the training clips it describes differently.
    let changed = sidecar["metrics"]["clips_changed"].as_u64().unwrap();
    let clips = sidecar["metrics"]["clips"].as_u64().unwrap();
    assert!(
        common::stdout(&run).contains(&format!(
            "the adapter changes {changed} of the {clips} training clips' descriptions"
        )),
        "{}",
        common::stdout(&run)
    );
    assert!(changed <= clips);

    // Honesty: tuned on training tasks of the type, never on a test stream's question.
    let train = task_ids("train");
    let test = task_ids("test");
    let tuned: Vec<String> = sidecar["task_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(!tuned.is_empty());
    assert!(tuned.iter().all(|id| train.contains(id)), "{tuned:?}");
    assert!(tuned.iter().all(|id| !test.contains(id)), "{tuned:?}");

    // The adapter loads and steers the policy as a lane in an evaluation.
    let adapter = taskmem::policy::adapter::Adapter::load(&out).unwrap();
    assert_eq!(adapter.name, "attr");
    assert_eq!(adapter.meta.task_ids, tuned);
}

#[test]
fn a_run_without_pairs_is_exit_2_with_a_tie_that_shows_why_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ocr.safetensors");
    // The shipped policy states the room and who is there, never what a sign reads: every
    // sample it writes is exactly as (un)helpful for OCR questions as its own description.
    let run = train_phase2("OCR Problems", "12", &[], &out);
    let err = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no preference pairs for 'OCR Problems'") && err.contains(" ties, 0 flips)"),
        "{err}"
    );
    assert!(
        err.contains("for example, world-mme-train-")
            && err.contains("the policy's own \"I am in the "),
        "a tie is shown: {err}"
    );
    assert!(!out.exists() && !out.with_extension("json").exists());
}

#[test]
fn export_pairs_writes_prompt_chosen_rejected_and_clip_references() {
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pairs.parquet");
    let run = common::taskmem(&[
        "export",
        "pairs",
        "--suite",
        mme().to_str().unwrap(),
        "--type",
        TYPE,
        "--max-clips",
        "60",
        "--model",
        &warmup(),
        "--format",
        "trl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let frame = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    assert_eq!(
        &names[..3],
        &[
            "prompt".to_owned(),
            "chosen".to_owned(),
            "rejected".to_owned()
        ]
    );
    for col in [
        "stream",
        "video",
        "start_ms",
        "end_ms",
        "chosen_score",
        "rejected_score",
    ] {
        assert!(names.iter().any(|n| n == col), "{col}");
    }
    assert!(frame.height() >= 1);
    let chosen = frame.column("chosen").unwrap().str().unwrap().clone();
    let rejected = frame.column("rejected").unwrap().str().unwrap().clone();
    let scores_c = frame.column("chosen_score").unwrap().f64().unwrap().clone();
    let scores_r = frame
        .column("rejected_score")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    for i in 0..frame.height() {
        assert_ne!(chosen.get(i), rejected.get(i));
        assert!(scores_c.get(i).unwrap() > scores_r.get(i).unwrap());
    }
    let streams = frame.column("stream").unwrap().str().unwrap().clone();
    assert!((0..frame.height()).all(|i| streams.get(i).unwrap().contains("-train-")));
}

#[test]
fn unknown_types_bad_paths_and_outputs_are_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = mme();
    let out = tmp.path().join("a.safetensors");
    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec![
                "train",
                "phase2",
                "--suite",
                suite.to_str().unwrap(),
                "--type",
                TYPE,
                "--layer",
                "7",
                "--out",
                out.to_str().unwrap(),
            ],
            "the layer must be below 2",
        ),
        (
            vec![
                "train",
                "phase2",
                "--suite",
                suite.to_str().unwrap(),
                "--type",
                "Juggling",
                "--out",
                out.to_str().unwrap(),
            ],
            "no tasks of type 'Juggling'",
        ),
        (
            vec![
                "train",
                "phase2",
                "--project",
                "/no/such/project",
                "--type",
                TYPE,
                "--out",
                out.to_str().unwrap(),
            ],
            "/no/such/project",
        ),
        (
            vec![
                "train",
                "phase2",
                "--suite",
                suite.to_str().unwrap(),
                "--type",
                TYPE,
                "--out",
                "adapter.bin",
            ],
            "adapter.bin",
        ),
        (
            vec![
                "train",
                "phase2",
                "--suite",
                suite.to_str().unwrap(),
                "--type",
                TYPE,
                "--judge-model",
                "m",
                "--out",
                out.to_str().unwrap(),
            ],
            "--judge-model and --base-url are for --judge remote",
        ),
        (
            vec![
                "export",
                "pairs",
                "--suite",
                suite.to_str().unwrap(),
                "--type",
                TYPE,
                "--judge",
                "remote",
                "--out",
                out.to_str().unwrap(),
            ],
            "--judge remote needs --judge-model NAME",
        ),
    ];
    for (args, needle) in cases {
        let run = common::taskmem(&args);
        assert_eq!(
            run.status.code(),
            Some(2),
            "{args:?}: {}",
            common::stderr(&run)
        );
        assert!(
            common::stderr(&run).contains(needle),
            "{args:?}: {}",
            common::stderr(&run)
        );
    }
    assert!(!out.exists());
}

#[test]
fn several_types_and_task_counts_tune_one_adapter_each_into_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("adapters");
    let warmup = warmup();
    let run = common::taskmem(&[
        "train",
        "phase2",
        "--suite",
        mme().to_str().unwrap(),
        "--type",
        "Action Recognition,Juggling",
        "--recent",
        "3,50",
        "--model",
        &warmup,
        "--max-clips",
        "24",
        "--steps",
        "5",
        // The toy warm-up model's descriptions run long: at its full 48 tokens its samples
        // still differ enough to make pairs for both counts.
        "--budget-tokens",
        "48",
        "--out",
        out.to_str().unwrap(),
    ]);
    // A type without tasks writes nothing, says so, and makes the exit code 2; the others
    // are still tuned, each under its default name.
    assert_eq!(run.status.code(), Some(2), "{}", common::stderr(&run));
    assert!(
        common::stdout(&run).contains("wrote 2 of 4 adapters"),
        "{}",
        common::stdout(&run)
    );
    let err = common::stderr(&run);
    assert!(
        err.contains("juggling-3.safetensors") && err.contains("no tasks of type 'Juggling'"),
        "{err}"
    );
    // The recent 3, and all of the type the training streams hold (fewer than 50).
    let of_type = common::suites::questions(&mme(), "train")
        .iter()
        .filter(|q| q.task_type == "Action Recognition")
        .count();
    assert!((4..50).contains(&of_type), "{of_type} training tasks");
    for (name, tasks) in [
        ("action-recognition-3", 3),
        ("action-recognition-50", of_type),
    ] {
        let adapter =
            taskmem::policy::adapter::Adapter::load(&out.join(format!("{name}.safetensors")))
                .unwrap();
        assert_eq!(adapter.meta.task_ids.len(), tasks, "{name}");
        assert_eq!(
            adapter.meta.task_type.as_deref(),
            Some("Action Recognition")
        );
    }
    assert!(!out.join("juggling-50.safetensors").exists());
    // A folder is what several adapters go to.
    let run = common::taskmem(&[
        "train",
        "phase2",
        "--suite",
        mme().to_str().unwrap(),
        "--type",
        "Action Recognition",
        "--recent",
        "10,30",
        "--out",
        tmp.path().join("one.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(common::stderr(&run).contains("--out is a folder"));
}
