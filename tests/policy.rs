//! The built-in policy on real world streams: examples from video and truth, a short seeded
//! warm-up that lowers the loss, and saving and loading the weights.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::ControlFlow;
use std::path::Path;

use taskmem::policy::builtin::{Config, Sampling};
use taskmem::policy::data::stream_examples;
use taskmem::policy::frontend::Frontend;
use taskmem::policy::lang::Vocab;
use taskmem::policy::train::{Trainable, WarmupSettings, warm_up};

fn stream(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn a_stream_becomes_one_example_per_clip_with_the_preceding_reference_as_context() {
    let vocab = Vocab::world();
    let cfg = Config::small(vocab.len());
    let examples = stream_examples(
        &stream("datasets/world-tempo/test/world-tempo-test-00"),
        &cfg,
        &vocab,
        2,
        &Frontend::Pixels,
    )
    .unwrap();
    assert_eq!(examples.len(), common::world_clips());
    assert!(examples[0].context.is_empty());
    for pair in examples.windows(2) {
        assert_eq!(pair[1].context, pair[0].target);
    }
    let per_clip = cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim();
    assert!(examples.iter().all(|e| e.patches.len() == per_clip));
    // Real pictures: not all one value.
    let first = &examples[0].patches;
    assert!(first.iter().any(|&v| (v - first[0]).abs() > 0.1));
}

#[test]
fn a_seeded_warm_up_lowers_the_loss_and_the_weights_round_trip() {
    let vocab = Vocab::world();
    let mut cfg = Config::small(vocab.len());
    // Smaller and quicker than the shipped model; the same code.
    cfg.d_model = 64;
    cfg.d_ff = 128;
    cfg.dec_layers = 1;
    cfg.frames_per_clip = 4;
    let examples = stream_examples(
        &stream("datasets/world-tempo/train/world-tempo-train-00"),
        &cfg,
        &vocab,
        2,
        &Frontend::Pixels,
    )
    .unwrap();
    let trainable = Trainable::fresh(&cfg, 5).unwrap();
    let settings = WarmupSettings {
        steps: 40,
        batch: 4,
        learning_rate: 3e-3,
        seed: 9,
        ..WarmupSettings::default()
    };
    let mut reported = 0;
    let losses = warm_up(&trainable, &examples, &settings, &mut |p| {
        reported = p.step;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(reported, 40);
    let head: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let tail: f32 = losses[35..].iter().sum::<f32>() / 5.0;
    assert!(tail < head * 0.7, "loss {head} -> {tail}");

    let dir = tempfile::tempdir().unwrap();
    trainable.save(dir.path()).unwrap();
    let loaded = Trainable::load(dir.path()).unwrap();
    let patches = candle_core::Tensor::from_vec(
        examples[3].patches.clone(),
        (
            1,
            cfg.frames_per_clip * cfg.patches_per_frame(),
            cfg.patch_dim(),
        ),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let a = trainable
        .model
        .generate(&patches, &examples[3].context, Sampling::Greedy)
        .unwrap();
    let b = loaded
        .model
        .generate(&patches, &examples[3].context, Sampling::Greedy)
        .unwrap();
    assert_eq!(a, b, "the saved weights write the same memory");

    // Stopping early is honoured.
    let trainable = Trainable::fresh(&cfg, 5).unwrap();
    let losses = warm_up(&trainable, &examples, &settings, &mut |p| {
        if p.step == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(losses.len(), 3);
}

#[test]
fn train_phase1_writes_weights_config_log_and_a_side_by_side_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    // World-tempo's streams whose videos the repository holds (the shipped suite generates
    // most of its videos on demand).
    let suite = common::suites::tempo_small(dir.path());
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args([
            "train",
            "phase1",
            "--suite",
            suite.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--size",
            "tiny",
            "--warmup-steps",
            "4",
            "--steps",
            "2",
            "--extra-streams",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed = String::from_utf8_lossy(&run.stdout);
    assert!(
        printed.contains("warm-up") && printed.contains("phase one"),
        "{printed}"
    );
    for file in [
        "model.safetensors",
        "config.json",
        "training_log.parquet",
        "summary.json",
        "warmup/model.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let (train, test) = (
        common::suites::clips(&suite, "train"),
        common::suites::clips(&suite, "test"),
    );
    assert!(train > 0 && test > train, "{train} and {test} clips");
    assert_eq!(summary["test_clips"], test);
    assert_eq!(
        summary["train_clips"],
        train + 2 * 18,
        "the suite's train streams and two simulated 3-minute streams"
    );
    assert!(summary["phase1"]["precision"].is_number());
    assert!(Trainable::load(&out).is_ok());

    // The report: both models side by side, one JSON object for a script.
    let judged = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args([
            "train",
            "judge",
            "--suite",
            suite.to_str().unwrap(),
            "--model",
        ])
        .arg(&out)
        .args(["--split", "test", "--samples", "2", "--json"])
        .output()
        .unwrap();
    assert!(
        judged.status.success(),
        "{}",
        String::from_utf8_lossy(&judged.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&judged.stdout).unwrap();
    let models = json["models"].as_object().unwrap();
    assert_eq!(
        models.keys().collect::<Vec<_>>(),
        ["phase one", "warm-up"],
        "{json}"
    );
    for model in models.values() {
        for key in ["precision", "true_facts_per_description", "recall"] {
            let value = model[key].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&value), "{key}: {value}");
        }
        assert_eq!(model["descriptions"], test);
        let kinds = model["kinds"].as_object().unwrap();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        for kind in [
            "room", "people", "outfit", "object", "count", "text", "event",
        ] {
            let k = &kinds[kind];
            for key in ["stated", "precision", "sampled_share", "sampled_precision"] {
                assert!(k[key].is_number(), "{kind}.{key}: {k}");
            }
            assert!(k["sampled_share"].as_f64().unwrap() <= 100.0);
        }
    }

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(["train", "phase1", "--suite", "/nonexistent", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/suite.json"));
}

#[test]
fn the_policy_never_reads_the_ground_truth() {
    use taskmem::policy::data::{clip_frames, read_truth};
    use taskmem::policy::{BuiltinPolicy, ClipInput, MemorizationPolicy};
    let vocab = Vocab::world();
    let cfg = Config::tiny(vocab.len());
    let original = stream("datasets/world-tempo/test/world-tempo-test-01");
    let spans: Vec<(i64, i64)> = read_truth(&original.join("truth.jsonl"))
        .unwrap()
        .iter()
        .map(|c| (c.start_ms, c.end_ms))
        .collect();
    // The same video in a folder with no truth file at all.
    let bare = tempfile::tempdir().unwrap();
    std::fs::copy(original.join("video.mp4"), bare.path().join("video.mp4")).unwrap();
    let memorize = |video: &Path| -> Vec<String> {
        let frames = clip_frames(video, &spans, cfg.frames_per_clip, 2, &Frontend::Pixels).unwrap();
        let mut policy = BuiltinPolicy::new(Trainable::fresh(&cfg, 11).unwrap(), "builtin-test");
        let mut previous: Option<String> = None;
        let mut texts = Vec::new();
        for (frames, &(start_ms, end_ms)) in frames.iter().zip(&spans) {
            let written = policy
                .memorize(&ClipInput {
                    frames,
                    start_ms,
                    end_ms,
                    previous: previous.as_deref(),
                    adapter: None,
                })
                .unwrap();
            previous = Some(written.text.clone());
            texts.push(written.text);
        }
        texts
    };
    let with_truth = memorize(&original.join("video.mp4"));
    let without = memorize(&bare.path().join("video.mp4"));
    assert_eq!(with_truth.len(), spans.len());
    assert_eq!(with_truth, without);
}

#[test]
fn memory_is_written_within_the_budget_and_each_entry_records_it() {
    use taskmem::policy::data::{clip_frames, read_truth};
    use taskmem::policy::ingest::Memorizer;
    use taskmem::policy::{BuiltinPolicy, DEFAULT_BUDGET_TOKENS};
    let vocab = Vocab::world();
    // A ceiling above the default, so that the default is what binds.
    let cfg = Config {
        max_output_tokens: 40,
        ..Config::tiny(vocab.len())
    };
    let video = stream("datasets/world-tempo/test/world-tempo-test-01/video.mp4");
    let spans: Vec<(i64, i64)> = read_truth(&video.with_file_name("truth.jsonl"))
        .unwrap()
        .iter()
        .map(|c| (c.start_ms, c.end_ms))
        .collect();
    let frames = clip_frames(&video, &spans, cfg.frames_per_clip, 2, &Frontend::Pixels).unwrap();
    for (budget, expected) in [(Some(5), 5), (None, DEFAULT_BUDGET_TOKENS), (Some(99), 40)] {
        let policy = BuiltinPolicy::new(Trainable::fresh(&cfg, 11).unwrap(), "builtin-test")
            .with_budget(budget);
        let mut memorizer = Memorizer::new(Box::new(policy), "s", "General");
        for (frames, &(start_ms, end_ms)) in frames.iter().zip(&spans) {
            let entry = memorizer.memorize(frames, start_ms, end_ms).unwrap();
            assert_eq!(entry.budget_tokens, Some(expected), "{budget:?}");
            // The raw reply is the tokens as written, one word each.
            let tokens = entry
                .raw_response
                .as_deref()
                .unwrap()
                .split_whitespace()
                .count();
            assert!(
                tokens <= expected,
                "{tokens} tokens over {expected}: {}",
                entry.text
            );
        }
    }
}

#[test]
fn corrupt_truncated_or_wrong_model_and_truth_files_are_clear_errors() {
    let vocab = Vocab::world();
    let cfg = Config::tiny(vocab.len());
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    // No files at all.
    let err = Trainable::load(&model).err().unwrap().to_string();
    assert!(
        err.contains("config.json") && err.contains("cannot read"),
        "{err}"
    );
    Trainable::fresh(&cfg, 1).unwrap().save(&model).unwrap();
    // Truncated weights.
    let weights = model.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = Trainable::load(&model).err().unwrap().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // A PNG where the weights should be, and a config that is not one.
    std::fs::write(&weights, b"\x89PNG\r\n\x1a\n not weights").unwrap();
    assert!(Trainable::load(&model).is_err());
    std::fs::write(model.join("config.json"), b"{\"vocab_size\": \"many\"}").unwrap();
    let err = Trainable::load(&model).err().unwrap().to_string();
    assert!(err.contains("not a model config"), "{err}");

    // A truth file cut in the middle of a line names the file and the line.
    let truth = dir.path().join("truth.jsonl");
    let text = std::fs::read_to_string(stream(
        "datasets/world-tempo/test/world-tempo-test-00/truth.jsonl",
    ))
    .unwrap();
    let second = text.find('\n').unwrap() + 1;
    std::fs::write(&truth, &text[..second + 40]).unwrap();
    let err = taskmem::policy::data::read_truth(&truth)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("truth.jsonl") && err.contains("line 2"),
        "{err}"
    );
    // A video that is not one.
    std::fs::write(dir.path().join("video.mp4"), b"not a video").unwrap();
    let err = taskmem::policy::data::clip_frames(
        &dir.path().join("video.mp4"),
        &[(0, 10_000)],
        2,
        1,
        &Frontend::Pixels,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("video.mp4"), "{err}");
}

#[test]
fn ingest_writes_one_entry_per_clip_to_a_lane_and_refuses_to_write_it_twice() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    Trainable::fresh(&Config::tiny(Vocab::world().len()), 5)
        .unwrap()
        .save(&model)
        .unwrap();
    let video = stream("datasets/world-tempo/test/world-tempo-test-00/video.mp4");
    let project = dir.path().join("p");
    let args = |lane: &str| {
        vec![
            "ingest".to_owned(),
            video.display().to_string(),
            "--project".to_owned(),
            project.display().to_string(),
            "--model".to_owned(),
            model.display().to_string(),
            "--lane".to_owned(),
            lane.to_owned(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::taskmem(&args)
    };
    let out = run(args("builtin"));
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains(&format!(
            "memorized {} clips of 'world-tempo-test-00'",
            common::world_clips()
        )),
        "{}",
        common::stdout(&out)
    );
    assert!(
        common::stderr(&out).contains(&format!("{0}/{0} clips", common::world_clips())),
        "a progress bar"
    );
    let opened = taskmem::project::Project::open(&project).unwrap();
    let lane = opened.memory.lane("world-tempo-test-00", "builtin");
    assert_eq!(
        lane.len(),
        common::world_clips(),
        "one entry per 10 s clip of the stream"
    );
    for (k, entry) in lane.iter().enumerate() {
        assert_eq!(entry.start_ms, k as i64 * 10_000);
        assert_eq!(entry.end_ms, (k as i64 + 1) * 10_000);
        assert!(
            entry.available_ms >= entry.end_ms,
            "clip end plus processing time"
        );
        assert_eq!(entry.policy.as_deref(), Some("builtin:model"));
    }
    let stream_info = &opened.manifest.streams[0];
    assert!(
        stream_info.video_sha256.is_some(),
        "the video's hash is kept"
    );
    assert!(
        opened
            .manifest
            .lanes
            .iter()
            .any(|l| l.id == "builtin" && l.general)
    );

    // The same lane again is refused (exit 2); another lane is fine.
    let out = run(args("builtin"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains(&format!("already holds {} entries", common::world_clips())),
        "{}",
        common::stderr(&out)
    );

    // A token budget per clip.
    let mut short = args("short");
    short.extend(["--budget-tokens".to_owned(), "4".to_owned()]);
    let out = run(short);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let opened = taskmem::project::Project::open(&project).unwrap();
    let lane = opened.memory.lane("world-tempo-test-00", "short");
    assert_eq!(lane.len(), common::world_clips());
    for entry in lane {
        let tokens = entry.raw_response.as_deref().unwrap().split(' ').count();
        assert!(tokens <= 4, "{:?}", entry.raw_response);
    }

    // A video that is not one, and a model folder without a model: exit 2 naming the file.
    let bad = dir.path().join("bad.mp4");
    std::fs::write(&bad, b"not a video").unwrap();
    let mut bad_args = args("other");
    bad_args[1] = bad.display().to_string();
    let out = run(bad_args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("bad.mp4"),
        "{}",
        common::stderr(&out)
    );
    let mut no_model = args("other");
    no_model[5] = dir.path().join("nothing").display().to_string();
    let out = run(no_model);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("config.json"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn an_adapter_steers_the_policy_a_zero_one_changes_nothing_and_ingest_writes_its_lane() {
    use taskmem::policy::adapter::{Adapter, AdapterMeta};
    use taskmem::policy::data::clip_frames;
    use taskmem::policy::{BuiltinPolicy, ClipInput, MemorizationPolicy};
    let vocab = Vocab::world();
    let cfg = Config::tiny(vocab.len());
    let dir = tempfile::tempdir().unwrap();
    let meta = |scale: f64| AdapterMeta {
        layer: 0,
        scale,
        task_type: Some("Counting Problem".to_owned()),
        task_ids: vec!["q1".to_owned()],
        metrics: serde_json::Value::Null,
    };
    let zero = Adapter::from_values("zero", meta(1.0), vec![0.0; cfg.d_model]).unwrap();
    let strong_values: Vec<f32> = (0..cfg.d_model)
        .map(|i| if i % 2 == 0 { 3.0 } else { -3.0 })
        .collect();
    let strong = Adapter::from_values("strong", meta(4.0), strong_values.clone()).unwrap();
    // Round trip through the file and its sidecar.
    let path = dir.path().join("counting.safetensors");
    strong.save(&path).unwrap();
    assert!(dir.path().join("counting.json").is_file());
    let loaded = Adapter::load(&path).unwrap();
    assert_eq!(loaded.name, "counting");
    assert_eq!(loaded.meta, strong.meta);
    assert_eq!(
        loaded.steering.vector.to_vec1::<f32>().unwrap(),
        strong_values
    );

    let video = stream("datasets/world-tempo/test/world-tempo-test-00/video.mp4");
    let frames = clip_frames(
        &video,
        &[(0, 10_000)],
        cfg.frames_per_clip,
        1,
        &Frontend::Pixels,
    )
    .unwrap();
    let mut policy = BuiltinPolicy::new(Trainable::fresh(&cfg, 9).unwrap(), "t");
    let mut write = |adapter: Option<&Adapter>| {
        policy
            .memorize(&ClipInput {
                frames: &frames[0],
                start_ms: 0,
                end_ms: 10_000,
                previous: None,
                adapter,
            })
            .unwrap()
    };
    let base = write(None);
    assert_eq!(
        write(Some(&zero)),
        base,
        "a zero steering vector changes nothing"
    );
    assert_ne!(
        write(Some(&loaded)).raw,
        base.raw,
        "a strong one steers the writing"
    );

    // A truncated file, a PNG named like one, and a missing or broken sidecar: errors naming
    // the file, never a panic.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(
        dir.path().join("counting.json"),
        dir.path().join("cut.json"),
    )
    .unwrap();
    let err = Adapter::load(&cut).err().unwrap().to_string();
    assert!(err.contains("cut.safetensors"), "{err}");
    let png = dir.path().join("png.safetensors");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n not an adapter").unwrap();
    std::fs::copy(
        dir.path().join("counting.json"),
        dir.path().join("png.json"),
    )
    .unwrap();
    let err = Adapter::load(&png).err().unwrap().to_string();
    assert!(err.contains("png.safetensors"), "{err}");
    let no_sidecar = dir.path().join("lone.safetensors");
    std::fs::copy(&path, &no_sidecar).unwrap();
    let err = Adapter::load(&no_sidecar).err().unwrap().to_string();
    assert!(
        err.contains("lone.json") && err.contains("cannot read"),
        "{err}"
    );
    std::fs::write(dir.path().join("lone.json"), b"{\"layer\": \"first\"}").unwrap();
    let err = Adapter::load(&no_sidecar).err().unwrap().to_string();
    assert!(
        err.contains("lone.json") && err.contains("not an adapter"),
        "{err}"
    );
    // A sidecar whose vector file is gone: the file cannot be read, which is not a bad format.
    std::fs::copy(
        dir.path().join("counting.json"),
        dir.path().join("gone.json"),
    )
    .unwrap();
    let err = Adapter::load(&dir.path().join("gone.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("gone.safetensors") && err.contains("cannot read"),
        "{err}"
    );

    // An adapter for another model's width is refused, naming its file.
    let wide = Adapter::from_values("wide", meta(1.0), vec![0.0; cfg.d_model + 1]).unwrap();
    let wide_path = dir.path().join("wide.safetensors");
    wide.save(&wide_path).unwrap();
    let model = dir.path().join("model");
    Trainable::fresh(&cfg, 9).unwrap().save(&model).unwrap();
    let project = dir.path().join("p");
    let ingest = |adapter: &Path| {
        common::taskmem(&[
            "ingest",
            video.to_str().unwrap(),
            "--project",
            project.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--adapter",
            adapter.to_str().unwrap(),
        ])
    };
    let out = ingest(&wide_path);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("wide.safetensors"),
        "{}",
        common::stderr(&out)
    );
    // The adapter's lane, named after it, task-focused, each entry naming the adapter.
    let out = ingest(&path);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let opened = taskmem::project::Project::open(&project).unwrap();
    let lane = opened.memory.lane("world-tempo-test-00", "counting");
    assert_eq!(lane.len(), common::world_clips());
    assert!(
        lane.iter()
            .all(|e| e.adapter.as_deref() == Some("counting"))
    );
    let info = opened
        .manifest
        .lanes
        .iter()
        .find(|l| l.id == "counting")
        .unwrap();
    assert!(!info.general);
    assert_eq!(info.task_hint.as_deref(), Some("Counting Problem"));
}

#[test]
fn the_shipped_model_loads_fits_in_20_mb_and_writes_well_formed_memory() {
    use taskmem::policy::data::clip_frames;
    use taskmem::policy::{BuiltinPolicy, ClipInput, MemorizationPolicy, shipped_model_dir};
    let dir = shipped_model_dir();
    let bytes: u64 = ["model.safetensors", "config.json"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum();
    assert!(bytes <= 20 << 20, "{bytes} bytes");
    let mut policy = BuiltinPolicy::load(None).unwrap();
    assert_eq!(policy.name(), "builtin");
    let video = stream("datasets/world-mme/test/world-mme-test-00/video.mp4");
    let frames = clip_frames(
        &video,
        &[(0, 10_000)],
        policy.frames_per_clip(),
        1,
        &Frontend::Pixels,
    )
    .unwrap();
    let written = policy
        .memorize(&ClipInput {
            frames: &frames[0],
            start_ms: 0,
            end_ms: 10_000,
            previous: None,
            adapter: None,
        })
        .unwrap();
    let parsed = taskmem::world::grammar::statements(&written.text);
    assert_eq!(parsed.malformed, 0, "{}", written.text);
    // The shipped policy learnt world v2's picture and cannot read v3's (README, "The synthetic
    // world"): it writes the world's language, well formed, about some room.
    assert!(
        parsed
            .claims
            .iter()
            .any(|c| c.canonical().starts_with("I am in the ")),
        "the first clip names a room: {}",
        written.text
    );
}

/// The policy v2 candidate (assets/policy-v2, README): loads with its perception encoder and,
/// from pixels, writes well-formed memory within the default budget that states true facts of
/// the demo stream's first clips (the truth file used only to judge).
#[test]
fn the_v2_candidate_loads_with_its_encoder_and_states_true_facts_within_the_budget() {
    use taskmem::policy::data::{clip_frames, read_truth};
    use taskmem::policy::reward::is_true;
    use taskmem::policy::{BuiltinPolicy, ClipInput, DEFAULT_BUDGET_TOKENS, MemorizationPolicy};
    let dir = stream("assets/policy-v2");
    let mut policy = BuiltinPolicy::load(Some(&dir)).unwrap();
    assert!(matches!(policy.frontend(), Frontend::Perception(_)));
    let folder = stream("datasets/world-mme/test/world-mme-test-00");
    let truth = read_truth(&folder.join("truth.jsonl")).unwrap();
    let spans: Vec<(i64, i64)> = truth
        .iter()
        .take(3)
        .map(|c| (c.start_ms, c.end_ms))
        .collect();
    let frames = clip_frames(
        &folder.join("video.mp4"),
        &spans,
        policy.frames_per_clip(),
        1,
        policy.frontend(),
    )
    .unwrap();
    let vocab = Vocab::world();
    let (mut stated, mut right) = (0, 0);
    let mut previous: Option<String> = None;
    for ((frames, &(start_ms, end_ms)), clip) in frames.iter().zip(&spans).zip(&truth) {
        let written = policy
            .memorize(&ClipInput {
                frames,
                start_ms,
                end_ms,
                previous: previous.as_deref(),
                adapter: None,
            })
            .unwrap();
        assert!(vocab.encode(&written.text).len() <= DEFAULT_BUDGET_TOKENS);
        let parsed = taskmem::world::grammar::statements(&written.text);
        assert_eq!(parsed.malformed, 0, "{}", written.text);
        stated += parsed.claims.len();
        right += parsed.claims.iter().filter(|c| is_true(c, clip)).count();
        previous = Some(written.text);
    }
    assert!(stated >= 3, "{stated} claims in 3 clips");
    assert!(right * 2 > stated, "{right} of {stated} claims true");
}

mod perception {
    use std::ops::ControlFlow;
    use std::path::Path;

    use taskmem::policy::frontend::Frontend;
    use taskmem::policy::lang::Vocab;

    use taskmem::policy::perception::labels::{Attribute, QUERIES};
    use taskmem::policy::perception::model::{Config, input_tensor};
    use taskmem::policy::perception::train::{Settings, fresh, heldout_rng, pretrain, scenes};
    use taskmem::world::render::Renderer;

    fn tiny(steps: usize) -> Settings {
        Settings {
            config: Config::tiny(),
            batch: 4,
            learning_rate: 3e-3,
            warmup_steps: 2,
            steps,
            minutes: None,
            seed: 3,
            checkpoint_every_s: 3_600,
            heldout_frames: 8,
        }
    }

    #[test]
    fn a_random_encoder_gives_one_token_per_query_and_logits_per_attribute() {
        let cfg = Config::tiny();
        let (_, model) = fresh(&cfg, 1).unwrap();
        let renderer = Renderer::new().unwrap();
        let frames = scenes(&renderer, &cfg, &mut heldout_rng(1), 3);
        let inputs: Vec<Vec<f32>> = frames.iter().map(|(x, _)| x.clone()).collect();
        let tokens = model
            .forward(&input_tensor(&inputs, &cfg).unwrap())
            .unwrap();
        assert_eq!(tokens.dims(), &[3, QUERIES, cfg.d_model]);
        for (a, logits) in Attribute::ALL.iter().zip(model.logits(&tokens).unwrap()) {
            assert_eq!(logits.dims(), &[3, a.queries().len(), a.classes()], "{a:?}");
        }
    }

    #[test]
    fn a_seeded_few_step_pretraining_lowers_its_loss() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = pretrain(dir.path(), &tiny(40), false, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        let first: f32 = outcome.losses[..5].iter().sum::<f32>() / 5.0;
        let last: f32 = outcome.losses[35..].iter().sum::<f32>() / 5.0;
        assert!(last < first * 0.8, "loss {first} -> {last}");
        assert!(dir.path().join("model.safetensors").exists());
        let report = outcome.report.unwrap();
        assert_eq!(report.attributes.len(), Attribute::ALL.len());
        // The saved encoder reads as the trained one did.
        let loaded = taskmem::policy::perception::train::load(dir.path()).unwrap();
        let again = taskmem::policy::perception::report::evaluate(
            &loaded,
            &scenes(
                &Renderer::new().unwrap(),
                &Config::tiny(),
                &mut heldout_rng(3),
                8,
            ),
            "fresh held-out scenes",
        )
        .unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn a_killed_run_resumes_from_its_checkpoint_and_goes_on_as_if_never_stopped() {
        let whole = tempfile::tempdir().unwrap();
        let straight = pretrain(whole.path(), &tiny(8), false, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        let parts = tempfile::tempdir().unwrap();
        // Stopped after step 5, the way Ctrl+C stops the CLI: a checkpoint, no report.
        let stopped = pretrain(parts.path(), &tiny(8), false, &mut |e| match e {
            taskmem::policy::perception::train::Event::Step { step: 5, .. } => {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .unwrap();
        assert_eq!((stopped.steps, stopped.report.is_none()), (5, true));
        // Without --resume the folder is refused rather than overwritten.
        assert!(
            pretrain(parts.path(), &tiny(8), false, &mut |_| {
                ControlFlow::Continue(())
            })
            .is_err()
        );
        let resumed = pretrain(parts.path(), &tiny(8), true, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!((resumed.resumed_from, resumed.steps), (Some(5), 8));
        assert_eq!(resumed.losses.len(), 3);
        for (a, b) in straight.losses[5..].iter().zip(&resumed.losses) {
            assert!(
                (a - b).abs() < 1e-4,
                "the loss does not continue: {a} vs {b}"
            );
        }
    }

    /// Policy v2 end to end at toy size: an encoder, a decoder trained through it on fact
    /// subsets, saved as one folder that loads whole and writes memories from pixels alone.
    #[test]
    fn a_v2_policy_loads_with_its_encoder_and_writes_the_same_memory_without_the_truth() {
        use taskmem::policy::data::{clip_frames, read_truth};
        use taskmem::policy::phase1::{ModelSize, Phase1Settings, Richness, run};
        use taskmem::policy::{BuiltinPolicy, ClipInput, MemorizationPolicy};
        let dir = tempfile::tempdir().unwrap();
        let encoder = dir.path().join("encoder");
        pretrain(
            &encoder,
            &tiny(2),
            false,
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
        let out = dir.path().join("model");
        let settings = Phase1Settings {
            suite: crate::common::suites::tempo_small_with_validation(dir.path()),
            out: out.clone(),
            seed: 1,
            warmup_steps: 3,
            steps: 1,
            extra_streams: 0,
            size: ModelSize::Tiny,
            perception: Some(encoder),
            budget_tokens: 12,
            from: None,
            richness: Richness::Uniform,
        };
        let first = run(&settings, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(out.join("perception/model.safetensors").exists());
        // Phase One again from that model: no warm-up, its weights kept as the warm-up model,
        // facts weighted by what the training questions ask.
        let again = run(
            &Phase1Settings {
                out: dir.path().join("again"),
                warmup_steps: 0,
                from: Some(out.clone()),
                richness: Richness::Questions,
                ..settings.clone()
            },
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
        assert_eq!(again.warmup_steps, 0);
        assert_eq!(
            again.warmup, first.phase1,
            "the loaded model is judged as it was"
        );
        let worth = again.kind_utility.0;
        assert!(worth.iter().all(|w| (0.1..=1.0).contains(w)), "{worth:?}");
        assert!(worth.iter().any(|w| (w - 1.0).abs() < 1e-9), "{worth:?}");
        let other_shape = run(
            &Phase1Settings {
                out: dir.path().join("refused"),
                warmup_steps: 0,
                from: Some(out.clone()),
                perception: None,
                ..settings.clone()
            },
            &mut |_| ControlFlow::Continue(()),
        );
        assert!(
            other_shape.is_err_and(|e| e.to_string().contains("not the shape")),
            "a model of another shape is refused"
        );
        let original = crate::stream("datasets/world-tempo/test/world-tempo-test-01");
        let spans: Vec<(i64, i64)> = read_truth(&original.join("truth.jsonl"))
            .unwrap()
            .iter()
            .map(|c| (c.start_ms, c.end_ms))
            .take(4)
            .collect();
        let bare = tempfile::tempdir().unwrap();
        std::fs::copy(original.join("video.mp4"), bare.path().join("video.mp4")).unwrap();
        let memorize = |video: &Path| -> Vec<String> {
            let mut policy = BuiltinPolicy::load(Some(&out)).unwrap();
            assert!(matches!(policy.frontend(), Frontend::Perception(_)));
            let frames = clip_frames(video, &spans, 10, 2, policy.frontend()).unwrap();
            let vocab = Vocab::world();
            let mut previous: Option<String> = None;
            let mut texts = Vec::new();
            for (frames, &(start_ms, end_ms)) in frames.iter().zip(&spans) {
                let written = policy
                    .memorize(&ClipInput {
                        frames,
                        start_ms,
                        end_ms,
                        previous: previous.as_deref(),
                        adapter: None,
                    })
                    .unwrap();
                assert!(vocab.encode(&written.text).len() <= 48);
                previous = Some(written.text.clone());
                texts.push(written.text);
            }
            texts
        };
        assert_eq!(
            memorize(&original.join("video.mp4")),
            memorize(&bare.path().join("video.mp4"))
        );
    }
}
