//! Hostile input to the task commands (issue 30): a full disk during `import tasks` and
//! `export tasks`, damaged Parquet files, a symlinked task log, exports aimed at the project's
//! own files, absurd task times, and damaged task-log lines. Each test asserts what a user
//! would notice: the exit code, a message naming the file, and what is (not) on disk.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{export_args, export_tasks, import_args, import_tasks, names, s, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use taskmem::tasks::export;
use taskmem::tasks::{Span, Task};

fn task(stream: &str, id: &str, ask_ms: i64) -> Task {
    let mut t = Task::authored(id.to_owned(), stream, ask_ms, "ann");
    // Digits that do not repeat, so that a Parquet file of many tasks does not compress away.
    let mut x = id.bytes().fold(ask_ms as u64 ^ 0x9E37, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let noise: Vec<String> = (0..6)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            format!("{x:016x}")
        })
        .collect();
    t.text = format!("What happens in {stream} before {id}? {}", noise.join(" "));
    t.options = vec!["Red.".into(), "Blue.".into(), "Green.".into()];
    t.answer = "B".into();
    t
}

fn tasks(stream: &str, count: usize) -> Vec<Task> {
    (0..count)
        .map(|i| task(stream, &format!("t{i}"), 1_000 * i as i64))
        .collect()
}

/// Writes `tasks` as our JSONL export at `path`.
fn jsonl_file(path: &Path, tasks: &[Task]) -> PathBuf {
    std::fs::write(path, export::to_jsonl(tasks)).unwrap();
    path.to_path_buf()
}

fn import_jsonl(file: &Path, project: &Path) -> Output {
    import_tasks(file, "jsonl", project, &[])
}

/// A project holding `count` tasks of stream `base`.
fn project_with_tasks(dir: &Path, count: usize) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let project = dir.join("p");
    let file = jsonl_file(&dir.join("base.jsonl"), &tasks("base", count));
    let out = import_jsonl(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    project
}

/// Runs `taskmem` with no file allowed past `blocks` blocks (the shell's `ulimit -f`), the
/// way a full disk stops a write half way: the write fails with "File too large" instead of
/// the process being killed (SIGXFSZ ignored, which `exec` keeps). No root needed.
fn taskmem_with_file_limit(blocks: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f {blocks} && trap '' XFSZ && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_taskmem"))
        .args(args)
        .output()
        .expect("run sh")
}

// ---------------------------------------------------------------------------------------------
// 1. A full disk during `import tasks`: all or nothing, and the message says so.

#[test]
fn disk_full_during_a_task_import_keeps_the_project_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 10);
    let log = project.join("task_log.jsonl");
    let log_before = std::fs::read(&log).unwrap();
    let files_before = names(&project);
    assert!(
        log_before.len() < 8 * 1024,
        "the old log fits under the limit"
    );
    let file = jsonl_file(&dir.path().join("many.jsonl"), &tasks("many", 500));
    assert!(std::fs::metadata(&file).unwrap().len() > 100 * 1024);
    // 40 blocks: 20 or 40 KB (the shell's block size), room for the old log, not the new one.
    let out = taskmem_with_file_limit(
        40,
        &import_args("tasks", &file, &project, &["--format", "jsonl"]),
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(s(&log)), "names the log: {err}");
    assert!(
        err.contains("none of the 500 tasks were imported"),
        "says how many landed: {err}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), log_before, "log unchanged");
    assert_eq!(names(&project), files_before, "no temp file left");
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.tasks.len(), 10);
    // With room again the same import lands whole, once.
    let out = import_jsonl(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = import_jsonl(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.tasks.len(), 510);
    assert_eq!(reopened.skipped_lines, 0);
}

// ---------------------------------------------------------------------------------------------
// 3. Damaged Parquet files: a clean error naming the file, no panic report.

#[test]
fn damaged_parquet_files_give_one_clean_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = export::to_parquet(&tasks("s", 20)).unwrap();
    let n = good.len();
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [4, 12, n / 4, n / 2, n - 9, n - 4, n - 1] {
        variants.push((format!("cut{cut}"), good[..cut].to_vec()));
    }
    for k in 1..48 {
        let at = 4 + (n - 12) * k / 48;
        let mut flipped = good.clone();
        flipped[at] ^= 0xFF;
        variants.push((format!("flip{at}"), flipped));
    }
    // The footer's length field pointing before the start of the file.
    let mut long_footer = good.clone();
    long_footer[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    variants.push(("footer".to_owned(), long_footer));
    let (mut failed, mut reader_failures) = (0, 0);
    for (name, bytes) in &variants {
        let path = dir.path().join(format!("{name}.parquet"));
        std::fs::write(&path, bytes).unwrap();
        for format in ["parquet", "videomme"] {
            // A project each: a flip in a harmless spot imports, and must not conflict later.
            let project = dir.path().join(format!("p-{name}-{format}"));
            let out = import_tasks(&path, format, &project, &[]);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{name} as {format}: {err}");
            assert!(!err.contains("RUST_BACKTRACE"), "{name} as {format}: {err}");
            if out.status.success() {
                // A flip in a harmless spot (a string's byte); the import is still whole.
                continue;
            }
            failed += 1;
            reader_failures += usize::from(err.contains("the reader failed"));
            assert_eq!(out.status.code(), Some(2), "{name} as {format}: {err}");
            assert!(
                err.starts_with(&format!("error: {}: ", path.display())),
                "{name} as {format}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{name} as {format}: {err}");
        }
    }
    assert!(failed >= 20, "most damaged files are refused ({failed})");
    eprintln!(
        "{failed} damaged variants refused, {reader_failures} of them by a panic inside polars"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A symlinked task log: never written through out of the project.

#[cfg(unix)]
#[test]
fn a_task_log_linked_out_of_the_project_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 3);
    let log = project.join("task_log.jsonl");
    let outside = dir.path().join("outside.jsonl");
    std::fs::rename(&log, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &log).unwrap();
    let outside_before = std::fs::read(&outside).unwrap();
    let file = jsonl_file(&dir.path().join("new.jsonl"), &tasks("new", 5));
    let out = import_jsonl(&file, &project);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(s(&log)), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), outside_before);
    assert!(
        std::fs::symlink_metadata(&log)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[cfg(unix)]
#[test]
fn a_link_planted_at_the_import_temp_file_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 3);
    let log = project.join("task_log.jsonl");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let tmp = taskmem::tasks::log::temp_path(&log);
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    let file = jsonl_file(&dir.path().join("new.jsonl"), &tasks("new", 5));
    let out = import_jsonl(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!tmp.exists() && std::fs::symlink_metadata(&tmp).is_err());
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.tasks.len(), 8);
}

// ---------------------------------------------------------------------------------------------
// 5. Exports never replace the project's own files, and a failed one leaves no temp file.

#[test]
fn exports_onto_the_projects_own_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 4);
    std::fs::create_dir_all(project.join("memory")).unwrap();
    std::fs::write(project.join("memory/general.jsonl"), "").unwrap();
    let before: Vec<(String, Vec<u8>)> = ["project.json", "task_log.jsonl"]
        .iter()
        .map(|n| ((*n).to_owned(), std::fs::read(project.join(n)).unwrap()))
        .collect();
    let relinked = project.join("..").join("p").join("task_log.jsonl");
    for out_path in [
        project.join("task_log.jsonl"),
        relinked,
        project.join("project.json"),
        project.join("project.json.tmp"),
        project.join("labels.jsonl"),
        project.join("memory/general.jsonl"),
        project.join("memory"),
    ] {
        for format in ["jsonl", "csv"] {
            let out = export_tasks(&project, format, &out_path, &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{}: {err}", out_path.display());
            assert!(err.contains(s(&out_path)), "{err}");
            assert!(err.contains("the project's own"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    for (name, bytes) in &before {
        assert_eq!(&std::fs::read(project.join(name)).unwrap(), bytes, "{name}");
    }
    assert!(!project.join("labels.jsonl").exists());
    assert_eq!(
        std::fs::read(project.join("memory/general.jsonl")).unwrap(),
        b""
    );
    assert_eq!(
        taskmem::project::Project::open(&project)
            .unwrap()
            .tasks
            .len(),
        4
    );
    // Beside the project, and in its exports/ folder, exports still work.
    std::fs::create_dir(project.join("exports")).unwrap();
    for out_path in [
        dir.path().join("tasks.csv"),
        project.join("exports/tasks.csv"),
    ] {
        let out = export_tasks(&project, "csv", &out_path, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out_path.is_file());
    }
}

#[test]
fn a_failed_export_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 500);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for format in ["jsonl", "csv", "parquet", "lines"] {
        let out_path = out_dir.join(format!("tasks.{format}"));
        let out =
            taskmem_with_file_limit(8, &export_args("tasks", &project, format, &out_path, &[]));
        let err = stderr(&out);
        assert!(!out.status.success(), "{format}: {}", stdout(&out));
        assert!(err.contains(s(&out_path)), "{format}: {err}");
        assert!(
            names(&out_dir).is_empty(),
            "{format}: {:?}",
            names(&out_dir)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Absurd task times: exit 2 naming the file and the record, nothing imported.

fn assert_refused(project: &Path, file: &Path, format: &str, record: &str, problem: &str) {
    let log = project.join("task_log.jsonl");
    let before = std::fs::read(&log).unwrap();
    let out = import_tasks(file, format, project, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}: {err}", file.display());
    assert!(
        err.starts_with(&format!("error: {}: ", file.display())),
        "{err}"
    );
    assert!(err.contains(record), "{record}: {err}");
    assert!(err.contains(problem), "{problem}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(&log).unwrap(), before);
}

#[test]
fn absurd_task_times_are_refused_naming_the_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 2);
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // EgoTempo: a clip id whose end overflows any millisecond count.
    let egotempo = write(
        "egotempo.json",
        r#"{"info": {}, "annotations": [
            {"question_id": "q1", "clip_id": "abc-1_0_30", "question": "What?", "answer": "x"},
            {"question_id": "q2", "clip_id": "abc-2_0_9223372036854775807", "question": "What?", "answer": "x"}
        ]}"#,
    );
    assert_refused(
        &project,
        &egotempo,
        "egotempo",
        "record 2",
        "9223372036854775807",
    );
    // M3-Bench: a timestamp of 99,999,999 minutes.
    let m3 = write(
        "m3.json",
        r#"{"v1": {"qa_list": [
            {"question_id": "a", "question": "Q?", "answer": "x", "timestamp": "01:00"},
            {"question_id": "b", "question": "Q?", "answer": "x", "timestamp": "99999999:00"}
        ]}}"#,
    );
    assert_refused(&project, &m3, "m3bench", "question 2", "longest stream");
    // EgoLifeQA: day 99,999,999.
    let ego = write(
        "ego.json",
        r#"[{"ID": "e1", "identity": "A1", "question": "Q?", "answer": "A",
             "choice_a": "x", "choice_b": "y",
             "query_time": {"date": "DAY99999999", "time": "11210217"}}]"#,
    );
    assert_refused(&project, &ego, "egolife", "record 1", "longest stream");
    // Our JSONL: a negative ask time, evidence ending before it starts, and past a year.
    let mut negative = task("j", "neg", 5_000);
    negative.ask_ms = -1;
    let mut backwards = task("j", "back", 5_000);
    backwards.evidence = vec![Span {
        start_ms: 4_000,
        end_ms: 1_000,
    }];
    let mut late = task("j", "late", 5_000);
    late.evidence = vec![Span {
        start_ms: 0,
        end_ms: i64::MAX,
    }];
    let mut huge = task("j", "huge", 5_000);
    huge.ask_ms = 9_223_372_036_854_775_807;
    for (t, problem) in [
        (negative, "negative"),
        (backwards, "ends before it starts"),
        (late, "longest stream"),
        (huge, "longest stream"),
    ] {
        let mut file_tasks = tasks("j", 3);
        let id = t.id.clone();
        file_tasks.push(t);
        let file = jsonl_file(&dir.path().join(format!("{id}.jsonl")), &file_tasks);
        assert_refused(
            &project,
            &file,
            "jsonl",
            &format!("line 4 (id {id})"),
            problem,
        );
        // The same through our CSV export.
        let csv = dir.path().join(format!("{id}.csv"));
        std::fs::write(&csv, export::to_csv(&file_tasks)).unwrap();
        assert_refused(&project, &csv, "csv", &format!("row 4 (id {id})"), problem);
    }
    assert_eq!(
        taskmem::project::Project::open(&project)
            .unwrap()
            .tasks
            .len(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Damaged lines of the task log are reported, not skipped in silence.

#[test]
fn damaged_task_log_lines_are_reported_with_the_file_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with_tasks(dir.path(), 5);
    let log = project.join("task_log.jsonl");
    let mut bytes = std::fs::read(&log).unwrap();
    // One line corrupted in the middle, one cut short at the end.
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes[second + 20] ^= 0x20;
    let last_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    bytes.truncate(last_start + 30);
    std::fs::write(&log, &bytes).unwrap();
    let out = export_tasks(&project, "jsonl", &dir.path().join("out.jsonl"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(s(&log)), "{err}");
    assert!(err.contains("skipped 2 damaged lines"), "{err}");
    // One warning for the file, not one from opening and another from the command.
    assert_eq!(err.matches("damaged line").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        stdout(&out).contains("exported 3 tasks"),
        "{}",
        stdout(&out)
    );
    // An import says so too, and keeps the damaged lines' neighbours.
    let file = jsonl_file(&dir.path().join("new.jsonl"), &tasks("new", 2));
    let out = import_jsonl(&file, &project);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped 2 damaged lines"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).matches("damaged line").count(),
        1,
        "{}",
        stderr(&out)
    );
    // A sound log says nothing.
    let clean = project_with_tasks(&dir.path().join("clean"), 3);
    let out = export_tasks(&clean, "csv", &dir.path().join("clean.csv"), &[]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
}
