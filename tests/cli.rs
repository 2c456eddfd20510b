//! The headless commands as a script would call them: output, files written, exit codes.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{asset, export_args, import_args, s, stderr, stdout, taskmem, taskmem_ok};
use std::path::Path;
use std::process::Output;

/// What `taskmem probe` prints about `video`.
fn probe(video: &Path) -> serde_json::Value {
    serde_json::from_str(&stdout(&taskmem(&["probe", s(video)]))).unwrap()
}

/// `taskmem frames VIDEO`, then `how` (`--at` or `--every`), writing into `out`.
fn frames(video: &Path, how: &[&str], out: &Path) -> Output {
    taskmem(&[&["frames", s(video)], how, &["--out", s(out)]].concat())
}

#[test]
fn probe_prints_one_json_object_with_every_field() {
    let path = asset("high_bframes.mp4");
    let out = taskmem(&["probe", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["container"], "mp4");
    assert_eq!(json["codec"], "h264");
    assert_eq!(json["profile"], "High");
    assert_eq!(json["width"], 640);
    assert_eq!(json["height"], 360);
    assert_eq!(json["frame_count"], 18);
    assert_eq!(json["keyframe_count"], 3);
    assert_eq!(json["has_b_frames"], true);
    assert_eq!(json["vfr"], false);
    assert_eq!(json["duration_ms"], 600);
    assert!((json["avg_fps"].as_f64().unwrap() - 30.0).abs() < 0.01);
    assert!(json["path"].as_str().unwrap().ends_with("high_bframes.mp4"));

    assert_eq!(probe(&asset("vfr.mp4"))["vfr"], true);
    assert_eq!(
        probe(&asset("fragmented.mp4"))["container"],
        "mp4 (fragmented)"
    );
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn frames_at_times_are_named_by_presentation_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = frames(&asset("baseline.mp4"), &["--at", "0.5s,1010ms"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    // 25 fps: 0.5 s shows the frame at 480 ms, 1010 ms the one at 1000 ms (at or before).
    for name in ["000000480.png", "000001000.png"] {
        assert_eq!(png_size(&dir.path().join(name)), (320, 180), "{name}");
    }
    let names = common::names(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn frames_every_interval_cover_the_video() {
    let dir = tempfile::tempdir().unwrap();
    let out = frames(&asset("vfr.mp4"), &["--every", "500ms"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let names = common::names(dir.path());
    // vfr.mp4: 20 frames of 40 ms, 10 of 100 ms, 10 of 20 ms (2.0 s in all).
    assert_eq!(
        names,
        [
            "000000000.png",
            "000000480.png",
            "000001000.png",
            "000001500.png"
        ]
    );
    assert_eq!(png_size(&dir.path().join("000001500.png")), (320, 180));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.mp4");
    std::fs::write(&fake, b"\x89PNG\r\n\x1a\nnot a video at all").unwrap();
    for args in [
        vec!["probe", fake.to_str().unwrap()],
        vec!["probe", "/no/such/video.mp4"],
        vec![
            "frames",
            fake.to_str().unwrap(),
            "--at",
            "1s",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        vec!["bench", "decode", fake.to_str().unwrap()],
    ] {
        let out = taskmem(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(".mp4"), "{err}");
    }
    let path = asset("baseline.mp4");
    let out = frames(&path, &["--at", "soon"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("soon"));
    let out = frames(&path, &["--at", "99s"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("past the end"), "{}", stderr(&out));
}

#[test]
fn bench_decode_prints_speeds_and_ratios_when_ffmpeg_is_there() {
    let out = taskmem(&[
        "bench",
        "decode",
        asset("main.mp4").to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ours_one_core_fps=") && text.contains("ours_all_cores_fps="),
        "{text}"
    );
    assert!(text.contains("frames=42"), "{text}");
    if which_ffmpeg() {
        assert!(
            text.lines().any(|l| l.starts_with("ratio_one_core=")),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("ratio_all_cores=")),
            "{text}"
        );
    }
}

fn which_ffmpeg() -> bool {
    taskmem::video::ffmpeg_path().is_some()
}

#[test]
fn world_generate_writes_a_stream_the_video_core_opens_and_repeats_itself() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [&a, &b] {
        let out = taskmem(&[
            "world",
            "generate",
            "--seed",
            "5",
            "--minutes",
            "0.5",
            "--suite",
            "world-tempo",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let manifest: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(manifest["clips"], 3);
    }
    for name in ["video.mp4", "truth.jsonl", "tasks.jsonl", "manifest.json"] {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name}"
        );
    }
    let json = probe(&a.path().join("video.mp4"));
    assert_eq!(json["frame_count"], 300);
    assert_eq!(json["duration_ms"], 30_000);
}

#[test]
fn world_generate_rejects_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (folder, sub) = (s(dir.path()), file.join("sub"));
    for args in [
        &["generate", "--suite", "world-nope", "--out", folder][..],
        &["generate", "--minutes", "-3", "--out", folder],
        &["generate", "--minutes", "0.2", "--out", s(&sub)],
        &["suite", "world-nope", "--out", folder],
    ] {
        let args = [&["world"][..], args].concat();
        let out = taskmem(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).trim().is_empty());
    }
}

#[test]
fn import_and_export_memory_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("proj");
    let demo = asset("taskmem_demo_memories.json");
    let said = taskmem_ok(&import_args("demo", &demo, &project, &[]));
    assert!(said.contains("imported 87 memory entries"), "{said}");

    let qa = dir.path().join("qa.txt");
    taskmem_ok(&export_args(
        "memory",
        &project,
        "qa-text",
        &qa,
        &["--stream", "video3", "--lane", "general"],
    ));
    let text = std::fs::read_to_string(&qa).unwrap();
    assert!(text.starts_with("00:00:00-00:00:10\n"), "{text}");
    assert_eq!(text.matches("-00:00:").count(), 4);

    let episodic = dir.path().join("episodic_general.json");
    let out = taskmem(&export_args("memory", &project, "taskmem", &episodic, &[]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "several lanes need --stream and --lane"
    );
    taskmem_ok(&export_args(
        "memory",
        &project,
        "taskmem",
        &episodic,
        &["--stream", "video2", "--lane", "general"],
    ));
    let out_dir = dir.path().join("taskmem-out");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::rename(&episodic, out_dir.join("episodic_general.json")).unwrap();
    let p2 = dir.path().join("p2");
    let said = taskmem_ok(&import_args(
        "taskmem-output",
        &out_dir,
        &p2,
        &["--stream", "video2"],
    ));
    assert!(said.contains("imported 3 memory entries"), "{said}");

    let parquet = dir.path().join("memory.parquet");
    taskmem_ok(&export_args("memory", &project, "parquet", &parquet, &[]));
    let back = taskmem::memory::export::read_parquet(&parquet).unwrap();
    assert_eq!(back.len(), 87);

    let bad = taskmem(&import_args(
        "demo",
        Path::new("/no/such/demo.json"),
        &project,
        &[],
    ));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("demo.json"));
}

#[test]
fn the_screenshot_command_renders_each_view_of_a_project_at_the_asked_size() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    common::import_world(&project);
    let mut pictures = Vec::new();
    for view in ["timeline", "inspector", "tasks", "phase2", "eval"] {
        let out = tmp.path().join(format!("shots/{view}.png"));
        let run = taskmem(&[
            "screenshot",
            "--project",
            project.to_str().unwrap(),
            "--view",
            view,
            "--size",
            "960x600",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{view}: {}", stderr(&run));
        let image = image::open(&out).unwrap().to_rgba8();
        assert_eq!(image.dimensions(), (960, 600), "{view}");
        let colours: std::collections::HashSet<[u8; 4]> = image.pixels().map(|p| p.0).collect();
        assert!(colours.len() > 40, "{view}: only {} colours", colours.len());
        pictures.push((view, image));
    }
    // Each view shows something of its own.
    for (i, (a, first)) in pictures.iter().enumerate() {
        for (b, second) in &pictures[i + 1..] {
            assert_ne!(first.as_raw(), second.as_raw(), "{a} and {b} look the same");
        }
    }
    let bad = taskmem(&[
        "screenshot",
        "--project",
        tmp.path().join("nothing").to_str().unwrap(),
        "--out",
        tmp.path().join("x.png").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("nothing: not a project folder"),
        "{}",
        stderr(&bad)
    );
    assert!(!tmp.path().join("x.png").exists());
}

#[test]
fn train_perception_writes_weights_and_a_report_and_refuses_to_overwrite_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let args = [
        "train",
        "perception",
        "--out",
        s(&out),
        "--size",
        "tiny",
        "--steps",
        "3",
        "--batch",
        "2",
        "--heldout",
        "4",
    ];
    let text = taskmem_ok(&args);
    assert!(text.contains("sign character"), "{text}");
    assert!(text.contains("GFLOP/s for a 1024^3 f32 matmul"), "{text}");
    for file in [
        "model.safetensors",
        "config.json",
        "report.json",
        "checkpoint.json",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let again = taskmem(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    let resumed = taskmem_ok(&[&args[..], &["--resume"]].concat());
    assert!(resumed.contains("resumed from step 3"), "{resumed}");
}

/// `taskmem compare A B`: the question that turned, per type and as JSON; a folder that is
/// not a run exits 2 naming its file.
#[test]
fn compare_prints_what_changed_between_two_runs() {
    use taskmem::eval::metrics::ResultRow;
    let dir = tempfile::tempdir().unwrap();
    let row = |answer: &str, correct: bool, used: &str| ResultRow {
        stream: "s".into(),
        task_id: "q1".into(),
        task_type: "Counting Problem".into(),
        ask_ms: 40_000,
        lane: "general".into(),
        answer: answer.into(),
        expected: "C".into(),
        correct,
        abstained: answer == "E",
        entries_available: 4,
        entries_used: used.into(),
    };
    let write = |name: &str, rows: Vec<ResultRow>| {
        let out = dir.path().join(name);
        common::write_results(&out, "general", &rows);
        out
    };
    let a = write("a", vec![row("E", false, "")]);
    let b = write("b", vec![row("C", true, "3 4")]);
    let text = taskmem_ok(&["compare", s(&a), s(&b)]);
    assert!(text.contains("Counting Problem"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("fixed") && l.contains("q1") && l.contains("C [3 4]")),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&taskmem_ok(&["compare", s(&a), s(&b), "--json"])).unwrap();
    assert_eq!(json["types"]["all"]["fixed"], 1);
    assert_eq!(json["types"]["Counting Problem"]["acc_b"], 100.0);
    assert_eq!(json["questions"][0]["change"], "fixed");
    let out = taskmem(&["compare", s(&a), s(&dir.path().join("nothing"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing"), "{}", stderr(&out));
}
