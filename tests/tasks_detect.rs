//! `taskmem import tasks FILE` without `--format`: every benchmark file in tests/assets/tasks
//! and each of our export formats is recognised from the file (its name and content) and
//! imported with the counts `--format` gives; `--format` still overrides; a file of no known
//! shape is refused with exit 2, naming the file and listing the formats. Questions on streams
//! the project lacks are offered to the open stream and attach to it.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{export_tasks, s, stderr, stdout, taskmem};
use std::path::{Path, PathBuf};

fn asset(name: &str) -> PathBuf {
    common::asset("tasks").join(name)
}

/// `taskmem import tasks FILE --project PROJECT` with no `--format`.
fn import_detected(file: &Path, project: &Path) -> std::process::Output {
    taskmem(&["import", "tasks", s(file), "--project", s(project)])
}

/// `taskmem import tasks FILE --project PROJECT --onto STREAM`.
fn import_onto(file: &Path, project: &Path, stream: &str) -> std::process::Output {
    taskmem(&[
        "import",
        "tasks",
        s(file),
        "--project",
        s(project),
        "--onto",
        stream,
    ])
}

#[test]
fn every_benchmark_file_is_recognised_and_imports_as_with_its_format() {
    let cases = [
        ("videomme_flat_sample.json", "videomme", 11, 6),
        ("videomme_nested_output_template.json", "videomme", 9, 3),
        ("egolifeqa_sample.json", "egolife", 1, 1),
        ("egotempo_openQA.json", "egotempo", 500, 367),
        ("m3bench_robot.json", "m3bench", 1276, 100),
    ];
    for (name, format, tasks, streams) in cases {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        let out = import_detected(&asset(name), &project);
        let text = stdout(&out);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            text.contains(&format!("read as {format} (recognised from the file")),
            "{name}: {text}"
        );
        assert!(
            text.contains(&format!("imported {tasks} tasks over {streams} streams")),
            "{name}: {text}"
        );
        // The same file with its format given says nothing new: everything is already there.
        let again = common::import_tasks(&asset(name), format, &project, &[]);
        assert!(
            stdout(&again).contains(&format!("imported 0 tasks over {streams} streams")),
            "{name}: {}",
            stdout(&again)
        );
    }
}

#[test]
fn our_exports_read_back_without_a_format_even_under_a_plain_name() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let out = import_detected(&asset("videomme_nested_output_template.json"), &source);
    assert!(out.status.success(), "{}", stderr(&out));
    for (format, ext) in [
        ("jsonl", "jsonl"),
        ("csv", "csv"),
        ("parquet", "parquet"),
        ("lines", "txt"),
    ] {
        let file = dir.path().join(format!("tasks.{ext}"));
        let out = export_tasks(&source, format, &file, &[]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        // Renamed without an extension, only the content can tell (a lines file has one
        // stream, named after the file, so it cannot be renamed without changing that).
        let plain = if format == "lines" {
            file.clone()
        } else {
            let plain = dir.path().join(format!("tasks-{format}"));
            std::fs::rename(&file, &plain).unwrap();
            plain
        };
        let project = dir.path().join(format!("p-{format}"));
        let out = import_detected(&plain, &project);
        let text = stdout(&out);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            text.contains(&format!("read as {format} (recognised")),
            "{format}: {text}"
        );
        assert!(text.contains("imported 9 tasks"), "{format}: {text}");
    }
}

#[test]
fn format_overrides_what_the_file_looks_like() {
    let dir = tempfile::tempdir().unwrap();
    // Looks like our JSONL export, but the user says each line is a question.
    let file = dir.path().join("odd.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"a\",\"stream\":\"s\",\"text\":\"Q?\"}\n{\"id\":\"b\",\"stream\":\"s\",\"text\":\"R?\"}\n",
    )
    .unwrap();
    let project = dir.path().join("p");
    let out = common::import_tasks(&file, "lines", &project, &[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!text.contains("recognised"), "{text}");
    assert!(
        text.contains("imported 2 tasks over 1 streams (odd)"),
        "{text}"
    );
}

#[test]
fn a_file_of_no_known_shape_is_exit_2_naming_it_and_listing_the_formats() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    for (name, bytes) in [
        ("other.json", &br#"{"something": [1, 2]}"#[..]),
        ("empty.json", b""),
        ("binary.dat", b"\x00\x01\xff\xfe\x00"),
        ("fake.parquet", b"this is not parquet"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let out = import_detected(&file, &project);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(
            err.contains("give --format with one of: videomme, egolife, egotempo, m3bench, lines, jsonl, parquet, csv"),
            "{name}: {err}"
        );
        assert!(
            !project.exists(),
            "{name}: a refused import makes no project"
        );
    }
    let missing = dir.path().join("missing.json");
    let out = import_detected(&missing, &project);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing.json: cannot read"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn questions_on_streams_the_project_lacks_are_offered_and_attach_with_their_old_stream_kept() {
    use taskmem::tasks::import::{ImportOptions, TaskFormat, import_file};
    let mut imported = import_file(
        &asset("videomme_flat_sample.json"),
        TaskFormat::VideoMme,
        &ImportOptions::default(),
    )
    .unwrap();
    let none = |_: &str| false;
    assert!(imported.offers_stream("open", none));
    // One of its streams is in the project, or is the open one: nothing to offer.
    assert!(!imported.offers_stream("open", |s| s == "001"));
    assert!(!imported.offers_stream("001", none));
    assert!(!imported.offers_stream("", none), "no open stream");
    imported.attach_to("open");
    assert_eq!(imported.streams(), ["open"]);
    assert_eq!(imported.tasks[0].id, "001-1");
    assert_eq!(imported.tasks[0].extra["imported_stream"], "001");
    // Asked at the end of the stream they now belong to.
    imported.ask_at_end(|s| (s == "open").then_some(90_000));
    assert!(imported.tasks.iter().all(|t| t.ask_ms == 90_000));

    // Two videos' questions numbered alike keep apart under their old stream's name.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.jsonl");
    let line = |stream: &str| {
        format!(
            "{{\"id\":\"q-1\",\"stream\":\"{stream}\",\"text\":\"Where is {stream}?\",\"ask_ms\":0}}\n"
        )
    };
    std::fs::write(&file, line("a") + &line("b")).unwrap();
    let mut two = import_file(&file, TaskFormat::Jsonl, &ImportOptions::default()).unwrap();
    two.attach_to("open");
    let ids: Vec<&str> = two.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["a/q-1", "b/q-1"]);
}

#[test]
fn onto_puts_questions_on_a_project_stream_and_without_it_the_cli_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    common::import_world(&project);
    let world = common::world_stream();
    let stream = world.file_name().unwrap().to_str().unwrap();
    let file = asset("videomme_flat_sample.json");
    // None of Video-MME's streams is in the project: the CLI says how to put them on one.
    let out = import_detected(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "none of these streams is in the project; --onto STREAM puts the questions on one of its streams ({stream})"
        )),
        "{}",
        stdout(&out)
    );
    // A stream the project lacks: exit 2, nothing changed.
    let before = std::fs::read_dir(&project).unwrap().count();
    let out = import_onto(&file, &project, "nope");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "--onto nope: {} has no such stream (it has: {stream})",
            project.display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&project).unwrap().count(), before);
    let out = import_onto(&file, &project, stream);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains(&format!("imported 11 tasks over 1 streams ({stream})")),
        "{text}"
    );
    assert!(!text.contains("none of these streams"), "{text}");
    assert!(text.contains("(1 streams with a known duration)"), "{text}");
}
