//! `taskmem screenshot` on hostile projects: a caption that claims to end most of a year in
//! (the empty stage's clock was ten steps a second, gigabytes of them), a project with tasks
//! but no stream, one whose video is not an MP4, and a project file that is not one. Each
//! renders or fails at once with a message, never waits out the minute nor aborts.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

/// `taskmem screenshot` of `project`'s timeline into `out`, with the process's data segment
/// limited to `limit_kb` (through the shell's `ulimit -d`): an allocation past it fails.
fn screenshot(project: &Path, out: &Path, limit_kb: u64) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -d {limit_kb} && exec \"$0\" screenshot --project \"$1\" --view timeline \
             --size 640x400 --out \"$2\""
        ))
        .arg(env!("CARGO_BIN_EXE_taskmem"))
        .arg(project)
        .arg(out)
        .output()
        .unwrap()
}

const ONE_GB_KB: u64 = 1 << 20;

#[test]
fn a_caption_ending_most_of_a_year_in_renders_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let captions = tmp.path().join("captions.json");
    // 31,000,000 s: within the importers' one-year bound, 359 days of empty stage.
    std::fs::write(
        &captions,
        r#"[{"start_time": 0, "end_time": 31000000, "text": "a long caption", "date": "DAY1"}]"#,
    )
    .unwrap();
    let project = tmp.path().join("p");
    let imported = common::taskmem(&common::import_args("egorag", &captions, &project, &[]));
    assert!(imported.status.success(), "{}", common::stderr(&imported));
    let out = tmp.path().join("timeline.png");
    // Ten clock steps a second over 359 days were 2.5 GB.
    let run = screenshot(&project, &out, ONE_GB_KB);
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert_eq!(
        image::open(&out).unwrap().to_rgba8().dimensions(),
        (640, 400)
    );
}

#[test]
fn a_project_with_tasks_but_no_stream_renders_as_the_app_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let questions = tmp.path().join("q.txt");
    std::fs::write(&questions, "What is on the table?\nWho came in?\n").unwrap();
    let project = tmp.path().join("p");
    let imported = common::import_tasks(&questions, "lines", &project, &[]);
    assert!(imported.status.success(), "{}", common::stderr(&imported));
    let out = tmp.path().join("tasks-only.png");
    let run = screenshot(&project, &out, ONE_GB_KB);
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert!(out.is_file());
    // The old wait for a video that never comes ended in an error after a minute.
}

#[test]
fn a_video_that_is_not_an_mp4_or_a_broken_project_fails_at_once_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    std::fs::create_dir_all(project.join("memory")).unwrap();
    std::fs::write(project.join("video.mp4"), "not a video").unwrap();
    std::fs::write(
        project.join("project.json"),
        r#"{"schema_version": 1, "name": "p", "lanes": [], "settings": {"clip_ms": 10000},
            "streams": [{"id": "s", "title": "s", "duration_ms": 10000, "video": "video.mp4"}]}"#,
    )
    .unwrap();
    let out = tmp.path().join("x.png");
    let run = screenshot(&project, &out, ONE_GB_KB);
    let stderr = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("video.mp4") && stderr.contains("did not open"),
        "{stderr}"
    );
    assert!(!stderr.contains("within a minute"), "{stderr}");
    assert!(!out.exists());

    // A project file cut short: the parse error, at once.
    std::fs::write(
        project.join("project.json"),
        r#"{"schema_version": 1, "name": "#,
    )
    .unwrap();
    let run = screenshot(&project, &out, ONE_GB_KB);
    let stderr = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("project.json"), "{stderr}");
    assert!(!out.exists());
}
