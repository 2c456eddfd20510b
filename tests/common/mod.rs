//! Helpers shared by the integration tests: the fixtures, running the binary and the argument
//! lists of its commands, folder listings, and the parts of a test HTTP server.
// Each test file uses only some of them.
#![allow(dead_code)]

pub mod suites;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

/// The world stream the tests ingest and import: a folder with `video.mp4` and its tasks.
pub fn world_stream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00")
}

/// The world stream's 10 s clips (one line each in its truth.jsonl).
pub fn world_clips() -> usize {
    std::fs::read_to_string(world_stream().join("truth.jsonl"))
        .unwrap()
        .lines()
        .count()
}

/// The world stream's video.
pub fn world_video() -> PathBuf {
    world_stream().join("video.mp4")
}

/// Runs the `taskmem` binary with `args`.
pub fn taskmem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args(args)
        .output()
        .expect("run taskmem")
}

/// Runs the `taskmem` binary with `args`, which must succeed: what it printed on stdout.
pub fn taskmem_ok(args: &[&str]) -> String {
    let out = taskmem(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `path` as a command-line argument (the tests' paths are UTF-8).
pub fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The arguments of `taskmem import WHAT FROM --project PROJECT`, then `extra`.
pub fn import_args<'a>(
    what: &'a str,
    from: &'a Path,
    project: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    [
        &["import", what, s(from), "--project", s(project)][..],
        extra,
    ]
    .concat()
}

/// The arguments of `taskmem export WHAT --project PROJECT --format FORMAT --out OUT`, then
/// `extra`.
pub fn export_args<'a>(
    what: &'a str,
    project: &'a Path,
    format: &'a str,
    out: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let command = [
        "export",
        what,
        "--project",
        s(project),
        "--format",
        format,
        "--out",
        s(out),
    ];
    [&command[..], extra].concat()
}

/// `taskmem import tasks FILE --project PROJECT --format FORMAT`, then `extra`.
pub fn import_tasks(file: &Path, format: &str, project: &Path, extra: &[&str]) -> Output {
    let extra = [&["--format", format][..], extra].concat();
    taskmem(&import_args("tasks", file, project, &extra))
}

/// `taskmem export tasks --project PROJECT --format FORMAT --out OUT`, then `extra`.
pub fn export_tasks(project: &Path, format: &str, out: &Path, extra: &[&str]) -> Output {
    taskmem(&export_args("tasks", project, format, out, extra))
}

/// `taskmem import world` of the world stream into `project`, which must succeed.
pub fn import_world(project: &Path) {
    let out = taskmem(&import_args("world", &world_stream(), project, &[]));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A tiny model of the world vocabulary, its weights seeded, saved into `dir/name`.
pub fn tiny_model(dir: &Path, name: &str) -> PathBuf {
    use taskmem::policy::{builtin::Config, lang::Vocab, train::Trainable};
    let model = dir.join(name);
    Trainable::fresh(&Config::tiny(Vocab::world().len()), 5)
        .expect("a tiny model")
        .save(&model)
        .expect("save the tiny model");
    model
}

/// Writes `n` EgoRAG caption records at `path`, one per line, 10 s each on stream DAY1.
pub fn write_captions(path: &Path, n: usize) {
    use std::fmt::Write as _;
    let mut text = String::new();
    for k in 0..n {
        writeln!(
            text,
            "{{\"start_time\": {}, \"end_time\": {}, \"text\": \"caption {k}: someone walks to the kitchen and picks up a red cup\", \"date\": \"DAY1\"}}",
            k * 10,
            k * 10 + 10
        )
        .expect("write to a string");
    }
    std::fs::write(path, text).expect("write the captions");
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the folder")
        .map(|e| {
            e.expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Every file under `dir`, in every folder below it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for item in std::fs::read_dir(&folder).expect("read the folder") {
            let path = item.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Reads the head of an HTTP request: its `Content-Length` (0 when absent) and its
/// `Authorization` header (empty when absent); `None` when the connection ends first.
pub fn read_request_head(reader: &mut impl BufRead) -> Option<(usize, String)> {
    let (mut length, mut authorization) = (0, String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            line["authorization:".len()..]
                .trim()
                .clone_into(&mut authorization);
        }
    }
    Some((length, authorization))
}

/// Writes an evaluation results folder at `out` holding `rows`, all of one `lane`, as
/// `taskmem eval` would (for the run comparison's tests).
pub fn write_results(out: &Path, lane: &str, rows: &[taskmem::eval::metrics::ResultRow]) {
    use taskmem::eval::metrics::{LaneInfo, Summary, summarize};
    let lanes = [LaneInfo {
        lane: lane.to_owned(),
        ..Default::default()
    }];
    let summary = Summary {
        source: "test".into(),
        split: "test".into(),
        answerer: "builtin".into(),
        policy: "builtin".into(),
        questions: rows.len(),
        seconds: 0.0,
        lanes: summarize(rows, &lanes),
        notes: Vec::new(),
    };
    taskmem::eval::results::write(out, rows, &summary).unwrap();
}
