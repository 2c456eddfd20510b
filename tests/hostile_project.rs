//! A project under hostile input and kills: lane names that name no file, exports aimed at the
//! project's own files, imports killed or failing half-way, absurd times, symbolic links out of
//! the folder, and damaged lines (issue 30, "Silent data loss" and "Paths").

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{export_args, import_args, s, write_captions as captions};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use taskmem::memory::MemoryEntry;
use taskmem::memory::import::{Imported, StreamInfo, demo_file, egorag_captions};
use taskmem::project::{MemoryAppender, Project, ProjectError};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Starts `taskmem` with `args` and kills it after `at_ms` (SIGKILL: no destructor, no flush).
fn run_killed_after(args: &[&str], at_ms: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(at_ms));
    let _ = child.kill();
    child.wait().unwrap();
}

/// `taskmem export memory` of `project` as `format` into `out`.
fn export_memory(project: &Path, format: &str, out: &Path) -> Output {
    run(&export_args("memory", project, format, out, &[]))
}

fn entry(lane: &str, k: i64) -> MemoryEntry {
    MemoryEntry {
        budget_tokens: None,
        id: 0,
        stream: "s".to_owned(),
        lane: lane.to_owned(),
        start_ms: k * 10_000,
        end_ms: (k + 1) * 10_000,
        text: format!("clip {k}"),
        available_ms: (k + 1) * 10_000,
        policy: None,
        adapter: None,
        raw_response: None,
        score: None,
        highlights: Vec::new(),
    }
}

/// Every file under `dir` (recursively), as paths relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    common::files_under(dir)
        .into_iter()
        .map(|path| path.strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

fn demo_project(dir: &Path) -> PathBuf {
    let project = dir.join("p");
    let demo = common::asset("taskmem_demo_memories.json");
    let out = run(&import_args("demo", &demo, &project, &[]));
    assert!(out.status.success(), "{}", common::stderr(&out));
    project
}

// 1. Lane names that sanitise to nothing.

#[test]
fn a_lane_name_without_letters_or_digits_is_refused_on_the_cli_and_in_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captions.jsonl");
    captions(&file, 3);
    let project = dir.path().join("p");
    for lane in ["!!!", "", ".."] {
        let out = run(&import_args("egorag", &file, &project, &["--lane", lane]));
        assert_eq!(out.status.code(), Some(2), "{lane:?}");
        let err = common::stderr(&out);
        assert!(
            err.contains(&format!("lane \"{lane}\"")) && err.contains("captions.jsonl"),
            "{err}"
        );
        let out = run(&[
            "ingest",
            s(&common::asset("nothing.mp4")),
            "--project",
            s(&project),
            "--lane",
            lane,
        ]);
        assert_eq!(out.status.code(), Some(2), "{lane:?}");
        assert!(
            common::stderr(&out).contains(&format!("--lane \"{lane}\"")),
            "{}",
            common::stderr(&out)
        );
    }
    assert!(!project.join("memory/.jsonl").exists());

    let mut opened = Project::create(&dir.path().join("lib"), "lib").unwrap();
    for lane in ["", "..", "!!!", "/"] {
        assert!(matches!(
            opened.append(&[entry(lane, 0)]),
            Err(ProjectError::BadLane { .. })
        ));
        let imported = Imported {
            entries: vec![entry(lane, 0)],
            ..Imported::default()
        };
        let err = opened.add_imported(imported).unwrap_err();
        assert!(
            err.to_string().contains(&format!("lane \"{lane}\"")),
            "{err}"
        );
        let mut appender = MemoryAppender::open(&opened.dir).unwrap();
        assert!(appender.append(&entry(lane, 0)).is_err());
    }
    assert_eq!(files(&opened.dir.join("memory")), Vec::<PathBuf>::new());
    assert!(egorag_captions(&file, "!!!").is_err());
}

#[test]
fn entries_an_older_build_wrote_to_memory_dot_jsonl_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(&dir.path().join("p"), "p").unwrap();
    project.append(&[entry("general", 0)]).unwrap();
    let line = std::fs::read(project.dir.join("memory/general.jsonl")).unwrap();
    std::fs::write(project.dir.join("memory/.jsonl"), line).unwrap();
    assert_eq!(Project::open(&project.dir).unwrap().memory.len(), 2);
}

// 2. Exports never overwrite the project's own files, and leave no temp files.

#[test]
fn exports_aimed_at_the_projects_own_files_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path());
    let before: Vec<(PathBuf, Vec<u8>)> = files(&project)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(project.join(&f)).unwrap()))
        .collect();
    let outside_link = dir.path().join("link.json");
    #[cfg(unix)]
    std::os::unix::fs::symlink(project.join("project.json"), &outside_link).unwrap();
    let mut targets = vec![
        project.join("project.json"),
        project.join("task_log.jsonl"),
        project.join("memory/general.jsonl"),
        project.join("memory/../project.json"),
        project.join("new.jsonl"),
    ];
    if cfg!(unix) {
        targets.push(outside_link);
    }
    for out in &targets {
        for format in ["jsonl", "parquet", "qa-text"] {
            let run_out = export_memory(&project, format, out);
            assert_eq!(run_out.status.code(), Some(2), "{}", out.display());
            let err = common::stderr(&run_out);
            assert!(
                err.contains(s(out)) && err.contains("inside the project"),
                "{err}"
            );
        }
    }
    for (file, bytes) in &before {
        assert_eq!(
            &std::fs::read(project.join(file)).unwrap(),
            bytes,
            "{}",
            file.display()
        );
    }
    assert_eq!(Project::open(&project).unwrap().memory.len(), 87);

    // The project's exports/ folder, and anywhere outside, are fine.
    std::fs::create_dir_all(project.join("exports")).unwrap();
    for out in [project.join("exports/m.jsonl"), dir.path().join("m.jsonl")] {
        let run_out = export_memory(&project, "jsonl", &out);
        assert!(run_out.status.success(), "{}", common::stderr(&run_out));
        assert!(out.is_file());
    }
}

#[test]
fn a_failed_export_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path());
    // The destination is a folder: the write goes to the temp file, then the rename fails.
    let out_dir = dir.path().join("out");
    let out = out_dir.join("F");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("inside"), b"x").unwrap();
    for format in ["jsonl", "parquet"] {
        let run_out = export_memory(&project, format, &out);
        assert_eq!(
            run_out.status.code(),
            Some(2),
            "{}",
            common::stderr(&run_out)
        );
        assert_eq!(
            files(&out_dir),
            vec![PathBuf::from("F/inside")],
            "no temp file"
        );
    }
}

// 3. Imports are all or nothing, and a rerun never duplicates.

fn import_egorag(file: &Path, project: &Path) -> Output {
    run(&import_args("egorag", file, project, &[]))
}

fn assert_exactly(project: &Path, n: usize) {
    let opened = Project::open(project).unwrap();
    assert_eq!(opened.memory.len(), n);
    let lane = opened.memory.lane("DAY1", "egorag-captions");
    assert_eq!(lane.len(), n);
    for (k, e) in lane.iter().enumerate() {
        assert_eq!(e.start_ms, k as i64 * 10_000, "each clip once, in order");
    }
    assert!(opened.manifest.streams.iter().any(|s| s.id == "DAY1"));
    assert!(
        opened
            .manifest
            .lanes
            .iter()
            .any(|l| l.id == "egorag-captions")
    );
    assert!(opened.manifest.pending.is_empty());
}

#[test]
fn entries_written_without_their_manifest_are_not_added_twice_by_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captions.jsonl");
    captions(&file, 50);
    let project = dir.path().join("p");
    // What the old code left when killed: the entries appended, the manifest not written.
    let mut opened = Project::create(&project, "p").unwrap();
    let imported = egorag_captions(&file, "EgoRAG captions").unwrap();
    opened.append(&imported.entries).unwrap();
    drop(opened);
    let out = import_egorag(&file, &project);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("imported 0 memory entries")
            && common::stdout(&out).contains("50 already there"),
        "{}",
        common::stdout(&out)
    );
    assert_exactly(&project, 50);
    // Rerunning a finished import changes nothing either.
    let out = import_egorag(&file, &project);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_exactly(&project, 50);
}

#[test]
fn a_side_file_left_before_the_commit_is_ignored_and_one_after_it_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captions.jsonl");
    captions(&file, 40);
    let done = dir.path().join("done");
    assert!(import_egorag(&file, &done).status.success());
    let lane_file = Path::new("memory/egorag-captions.jsonl");
    let lines = std::fs::read(done.join(lane_file)).unwrap();

    // Killed before the commit: a side file the manifest does not name.
    let before = dir.path().join("before");
    Project::create(&before, "before").unwrap();
    let side = before.join("memory/egorag-captions.jsonl.pending");
    std::fs::write(&side, &lines).unwrap();
    assert_eq!(Project::open(&before).unwrap().memory.len(), 0);
    assert!(import_egorag(&file, &before).status.success());
    assert_exactly(&before, 40);
    assert!(!side.exists());

    // Killed after the commit: the manifest names the side file; opening finishes it.
    let after = dir.path().join("after");
    std::fs::create_dir_all(after.join("memory")).unwrap();
    std::fs::write(after.join("memory/egorag-captions.jsonl.pending"), &lines).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(done.join("project.json")).unwrap()).unwrap();
    manifest["pending"] = serde_json::json!([{
        "from": "memory/egorag-captions.jsonl.pending",
        "to": "memory/egorag-captions.jsonl",
    }]);
    std::fs::write(after.join("project.json"), manifest.to_string()).unwrap();
    assert_exactly(&after, 40);
    assert!(!after.join("memory/egorag-captions.jsonl.pending").exists());
    assert!(import_egorag(&file, &after).status.success());
    assert_exactly(&after, 40);

    // A manifest naming a pending file outside the project is refused, not followed.
    manifest["pending"] = serde_json::json!([{ "from": "../x", "to": "memory/a.jsonl" }]);
    std::fs::write(after.join("project.json"), manifest.to_string()).unwrap();
    assert!(Project::open(&after).is_err());
}

#[test]
fn a_write_failing_half_way_through_an_import_leaves_the_project_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    let mut opened = Project::create(&project, "p").unwrap();
    opened.append(&[entry("general", 0)]).unwrap();
    let imported = demo_file(&common::asset("taskmem_demo_memories.json")).unwrap();
    // The last lane's side file cannot be written (a folder is in the way), as when the disk
    // fills up after the first lanes are written.
    let blocked = project.join("memory/object-reasoning.jsonl.pending");
    std::fs::create_dir_all(blocked.join("x")).unwrap();
    let manifest = std::fs::read(project.join("project.json")).unwrap();
    let before = files(&project);
    assert!(opened.add_imported(imported.clone()).is_err());
    assert_eq!(
        std::fs::read(project.join("project.json")).unwrap(),
        manifest
    );
    assert_eq!(files(&project), before, "no side file is left behind");
    assert_eq!(opened.memory.len(), 1);
    assert!(opened.manifest.streams.is_empty());
    let reopened = Project::open(&project).unwrap();
    assert_eq!(reopened.memory.len(), 1);
    assert!(
        reopened.tasks.is_empty(),
        "the demo's tasks did not land either"
    );
    // The retry lands every entry once.
    std::fs::remove_dir_all(&blocked).unwrap();
    let mut reopened = reopened;
    assert_eq!(reopened.add_imported(imported.clone()).unwrap(), 87);
    assert_eq!(reopened.add_imported(imported).unwrap(), 0);
    let last = Project::open(&project).unwrap();
    assert_eq!(last.memory.len(), 88);
    assert_eq!(last.tasks.len(), 7);
}

/// A tiny pseudo-random sequence (the moments to kill at), fixed per run.
fn moments(seed: u64, count: usize, below_ms: u64) -> Vec<u64> {
    let mut x = seed;
    (0..count)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % below_ms.max(1)
        })
        .collect()
}

#[test]
fn an_import_killed_at_random_moments_reruns_to_exactly_every_entry_once() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captions.jsonl");
    captions(&file, N);
    // How long one import takes here, to spread the kills over it.
    let started = std::time::Instant::now();
    let full = dir.path().join("full");
    assert!(import_egorag(&file, &full).status.success());
    let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap();
    assert_exactly(&full, N);
    let seed = u64::from(std::process::id());
    for (k, at_ms) in moments(seed, 5, took_ms + took_ms / 4)
        .into_iter()
        .enumerate()
    {
        let project = dir.path().join(format!("p{k}"));
        // Some projects already hold another lane, so the import rewrites a file.
        if k % 2 == 1 {
            Project::create(&project, "p")
                .unwrap()
                .append(&[entry("general", 0)])
                .unwrap();
        }
        run_killed_after(&import_args("egorag", &file, &project, &[]), at_ms);
        if project.join("project.json").exists() {
            let opened = Project::open(&project)
                .unwrap_or_else(|e| panic!("killed at {at_ms} ms (seed {seed}): {e}"));
            let held = opened.memory.lane("DAY1", "egorag-captions").len();
            assert!(
                held == 0 || held == N,
                "all or nothing, got {held} (seed {seed})"
            );
        }
        let out = import_egorag(&file, &project);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let opened = Project::open(&project).unwrap();
        assert_eq!(
            opened.memory.lane("DAY1", "egorag-captions").len(),
            N,
            "killed at {at_ms} ms (seed {seed})"
        );
        assert_eq!(opened.memory.len(), N + k % 2);
    }
}

// 5. Times and clip ids that are not times.

#[test]
fn absurd_times_and_clip_ids_are_refused_naming_the_file_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    let cases = [
        (
            r#"{"start_time": -5, "end_time": 10, "text": "a"}"#,
            "record 2",
        ),
        (
            r#"{"start_time": 20, "end_time": 10, "text": "a"}"#,
            "record 2",
        ),
        (
            r#"{"start_time": "99999999", "end_time": "99999999", "text": "a"}"#,
            "record 2",
        ),
        (
            r#"{"start_time": 0, "end_time": 1e9, "text": "a"}"#,
            "record 2",
        ),
        (
            r#"{"start_time": 0, "end_time": "1e400", "text": "a"}"#,
            "record 2",
        ),
    ];
    for (record, want) in cases {
        let file = dir.path().join("bad.jsonl");
        std::fs::write(
            &file,
            format!("{{\"start_time\": 0, \"end_time\": 10, \"text\": \"ok\"}}\n{record}\n"),
        )
        .unwrap();
        let out = import_egorag(&file, &project);
        assert_eq!(out.status.code(), Some(2), "{record}");
        let err = common::stderr(&out);
        assert!(err.contains("bad.jsonl") && err.contains(want), "{err}");
    }
    assert!(!project.join("memory").exists() || files(&project.join("memory")).is_empty());

    // TaskMem's output: a clip id whose time overflows.
    let output = dir.path().join("out");
    std::fs::create_dir_all(&output).unwrap();
    std::fs::write(
        output.join("episodic_general.json"),
        r#"{"0": "fine", "9223372036854775807": "wraps"}"#,
    )
    .unwrap();
    let out = run(&import_args("taskmem-output", &output, &project, &[]));
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("episodic_general.json") && err.contains("9223372036854775807"),
        "{err}"
    );
    std::fs::write(output.join("episodic_general.json"), r#"{"-1": "before"}"#).unwrap();
    let out = run(&import_args("taskmem-output", &output, &project, &[]));
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));

    // The demo file: a clip that ends before it starts.
    let demo = dir.path().join("demo.json");
    std::fs::write(
        &demo,
        r#"[{"id": "d", "clipTimes": [[0, 10], [30, 20]], "tracks": [{"id": "t", "title": "General", "clips": ["a", "b"]}]}]"#,
    )
    .unwrap();
    let out = run(&import_args("demo", &demo, &project, &[]));
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("demo.json") && err.contains("clip time 2"),
        "{err}"
    );
}

// 6. Containment.

#[cfg(unix)]
#[test]
fn writes_never_follow_a_link_out_of_the_project() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let file = dir.path().join("captions.jsonl");
    captions(&file, 3);

    // memory/ is a link out.
    let project = dir.path().join("p");
    Project::create(&project, "p").unwrap();
    std::fs::remove_dir(project.join("memory")).unwrap();
    symlink(&outside, project.join("memory")).unwrap();
    let out = import_egorag(&file, &project);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("symbolic link"),
        "{}",
        common::stderr(&out)
    );
    assert!(files(&outside).is_empty());
    let mut opened = Project::open(&project).unwrap();
    assert!(opened.append(&[entry("general", 0)]).is_err());
    assert!(MemoryAppender::open(&project).is_err());
    assert!(files(&outside).is_empty());

    // A lane file, the labels and the task log are links out.
    let project = dir.path().join("q");
    let mut opened = Project::create(&project, "q").unwrap();
    let target = outside.join("target.jsonl");
    std::fs::write(&target, b"").unwrap();
    symlink(&target, project.join("memory/general.jsonl")).unwrap();
    symlink(&target, project.join("labels.jsonl")).unwrap();
    symlink(&target, project.join("task_log.jsonl")).unwrap();
    assert!(opened.append(&[entry("general", 0)]).is_err());
    let mut appender = MemoryAppender::open(&project).unwrap();
    assert!(appender.append(&entry("general", 0)).is_err());
    let imported = Imported {
        entries: vec![entry("general", 1)],
        ..Imported::default()
    };
    assert!(opened.add_imported(imported).is_err());
    let task = taskmem::tasks::Task::authored("t1".to_owned(), "s", 0, "q?");
    assert!(
        opened
            .record_tasks(&[taskmem::tasks::TaskEvent::Put {
                task: Box::new(task)
            }])
            .is_err()
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"",
        "nothing written outside"
    );
    // A dangling link out would create its target.
    std::fs::remove_file(project.join("memory/general.jsonl")).unwrap();
    symlink(
        outside.join("created.jsonl"),
        project.join("memory/general.jsonl"),
    )
    .unwrap();
    assert!(opened.append(&[entry("general", 0)]).is_err());
    assert!(!outside.join("created.jsonl").exists());
}

#[test]
fn a_stream_video_leading_out_of_the_project_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    let mut opened = Project::create(&project, "p").unwrap();
    let stream = |video: &str| StreamInfo {
        id: "s".to_owned(),
        title: "s".to_owned(),
        duration_ms: 10_000,
        video: Some(video.to_owned()),
        video_sha256: None,
        questions: Vec::new(),
        phases: Vec::new(),
    };
    // Refused when imported.
    let err = opened
        .add_imported(Imported {
            streams: vec![stream("../../../x.mp4")],
            ..Imported::default()
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("../../../x.mp4") && err.to_string().contains("project.json"),
        "{err}"
    );
    // Written by hand: the project opens, without that video.
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("project.json")).unwrap()).unwrap();
    manifest["streams"] = serde_json::json!([stream("../../../x.mp4"), {
        "id": "t", "title": "t", "duration_ms": 0, "video": "/abs/video.mp4"
    }, {
        "id": "u", "title": "u", "duration_ms": 0, "video": "videos/u.mp4"
    }]);
    std::fs::write(project.join("project.json"), manifest.to_string()).unwrap();
    let reopened = Project::open(&project).unwrap();
    let videos: Vec<Option<&str>> = reopened
        .manifest
        .streams
        .iter()
        .map(|s| s.video.as_deref())
        .collect();
    assert_eq!(
        videos,
        [None, Some("/abs/video.mp4"), Some("videos/u.mp4")],
        "an absolute path is the user's; a relative one must stay inside"
    );
    // The CLI says so on stderr.
    let out = export_memory(&project, "jsonl", &dir.path().join("m.jsonl"));
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("../../../x.mp4"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn an_egorag_video_path_is_relative_to_the_captions_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captions.jsonl");
    std::fs::write(
        &file,
        r#"{"start_time": 0, "end_time": 10, "text": "a", "date": "DAY1", "video_path": "../videos/DAY1.mp4"}"#,
    )
    .unwrap();
    let imported = egorag_captions(&file, "captions").unwrap();
    let video = imported.streams[0].video.clone().unwrap();
    assert!(Path::new(&video).is_absolute(), "{video}");
    assert!(video.ends_with("videos/DAY1.mp4"), "{video}");
    let project = dir.path().join("p");
    assert!(import_egorag(&file, &project).status.success());
}

// 7. Damaged lines are counted and told.

#[test]
fn damaged_lines_are_counted_per_file_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path());
    let lane_file = project.join("memory/general.jsonl");
    let mut text = std::fs::read(&lane_file).unwrap();
    text.extend_from_slice(b"0badc0de {\"id\": 1}\nnot a line at all\n");
    // A well-formed line whose clip ends before it starts, as no importer writes.
    let mut absurd = entry("general", 3);
    absurd.stream = "video1".to_owned();
    absurd.end_ms = -1_000_000_000_000;
    let json = serde_json::to_string(&absurd).unwrap();
    text.extend_from_slice(
        format!("{:08x} {json}\n", taskmem::fsutil::crc32(json.as_bytes())).as_bytes(),
    );
    std::fs::write(&lane_file, text).unwrap();
    let opened = Project::open(&project).unwrap();
    assert_eq!(opened.memory.len(), 87);
    assert_eq!(opened.skipped_lines, 3);
    assert_eq!(opened.skipped_files, vec![(lane_file.clone(), 3)]);
    assert!(opened.skipped_warnings()[0].contains("skipped 3 damaged lines"));
    let out = export_memory(&project, "jsonl", &dir.path().join("m.jsonl"));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("general.jsonl") && err.contains("skipped 3 damaged lines"),
        "{err}"
    );
}

// 4. A killed ingest resumes into its lane.

#[test]
fn a_killed_ingest_resumes_after_its_last_complete_entry() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::tiny_model(dir.path(), "model");
    let video = common::world_video();
    let ingest = |project: &Path, lane: &str| {
        run(&[
            "ingest",
            s(&video),
            "--project",
            s(project),
            "--model",
            s(&model),
            "--lane",
            lane,
        ])
    };
    let texts = |project: &Path| -> Vec<(i64, String)> {
        Project::open(project)
            .unwrap()
            .memory
            .lane("world-tempo-test-00", "builtin")
            .iter()
            .map(|e| (e.start_ms, e.text.clone()))
            .collect()
    };
    let whole = dir.path().join("whole");
    let started = std::time::Instant::now();
    assert!(ingest(&whole, "builtin").status.success());
    let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap();
    let expected = texts(&whole);
    assert_eq!(expected.len(), common::world_clips());

    // Real kills at a few moments: the rerun resumes (or starts) and ends with every clip once.
    let seed = u64::from(std::process::id()) ^ 0x5eed;
    for (k, at_ms) in moments(seed, 3, took_ms).into_iter().enumerate() {
        let project = dir.path().join(format!("kill{k}"));
        let args = ["ingest", s(&video), "--project", s(&project)];
        run_killed_after(
            &[&args[..], &["--model", s(&model), "--lane", "builtin"]].concat(),
            at_ms,
        );
        let out = ingest(&project, "builtin");
        let resumed_or_started =
            out.status.success() || common::stderr(&out).contains("nothing left to resume");
        assert!(resumed_or_started, "{}", common::stderr(&out));
        assert_eq!(
            texts(&project),
            expected,
            "killed at {at_ms} ms (seed {seed})"
        );
    }

    // A run killed during its sixth clip: five complete lines and half of the next.
    let killed = dir.path().join("killed");
    std::fs::create_dir_all(killed.join("memory")).unwrap();
    std::fs::copy(whole.join("project.json"), killed.join("project.json")).unwrap();
    let lines = std::fs::read(whole.join("memory/builtin.jsonl")).unwrap();
    let mut cut = 0;
    for _ in 0..5 {
        cut += lines[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    cut += 40;
    std::fs::write(killed.join("memory/builtin.jsonl"), &lines[..cut]).unwrap();
    assert_eq!(texts(&killed).len(), 5);
    let out = ingest(&killed, "builtin");
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("resuming lane 'builtin'")
            && common::stdout(&out)
                .contains(&format!("memorized {} clips", common::world_clips() - 5)),
        "{}{}",
        common::stderr(&out),
        common::stdout(&out)
    );
    assert_eq!(
        texts(&killed),
        expected,
        "every clip once, each after the description before it, as in an uninterrupted run"
    );
    // Nothing left to resume: refused, saying why.
    let out = ingest(&killed, "builtin");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains(&format!("already holds {} entries", common::world_clips())),
        "{}",
        common::stderr(&out)
    );

    // A lane file that is a link out of the project: nothing is written there.
    #[cfg(unix)]
    {
        let outside = dir.path().join("outside.jsonl");
        std::fs::write(&outside, b"").unwrap();
        std::os::unix::fs::symlink(&outside, killed.join("memory/escape.jsonl")).unwrap();
        let out = ingest(&killed, "escape");
        assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
        assert_eq!(std::fs::read(&outside).unwrap(), b"");
    }
}

#[test]
fn an_ingest_that_fails_before_its_first_entry_leaves_no_new_project_behind() {
    let dir = tempfile::tempdir().unwrap();
    // A video whose index reads but whose samples are zeros: decoding fails at the first clip.
    let mut bytes = std::fs::read(common::world_video()).unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    assert!(mdat < moov, "the index is after the samples");
    for b in &mut bytes[mdat + 200..moov - 1000] {
        *b = 0;
    }
    let video = dir.path().join("zeros.mp4");
    std::fs::write(&video, bytes).unwrap();
    let project = dir.path().join("p");
    let out = run(&["ingest", s(&video), "--project", s(&project)]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("zeros.mp4"));
    assert!(!project.exists(), "no project folder left behind");
    // An existing project keeps its memory.
    let mut opened = Project::create(&project, "p").unwrap();
    opened.append(&[entry("general", 0)]).unwrap();
    let out = run(&["ingest", s(&video), "--project", s(&project)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(Project::open(&project).unwrap().memory.len(), 1);
}
