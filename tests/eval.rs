//! Streaming evaluation end to end: the built-in answerer on the shipped suites' questions,
//! `taskmem eval` and `taskmem chart` with their files, and bad input.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use taskmem::eval::answer::BuiltinAnswerer;
use taskmem::eval::replay::answer_tasks;
use taskmem::memory::MemoryEntry;
use taskmem::policy::data::read_truth;
use taskmem::tasks::Task;
use taskmem::world::questions::load_tasks;

fn root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Every stream folder of the shipped suites (every split), as suite.json lists them.
fn stream_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for suite in taskmem::world::suite::SUITES {
        let dir = root("datasets").join(suite);
        let manifest = taskmem::world::suite::read_manifest(&dir).unwrap();
        out.extend(manifest.streams.iter().map(|s| dir.join(&s.folder)));
    }
    out.sort();
    out
}

/// A memory that states every fact of every clip, available at the clip's end.
fn memory_of_facts(dir: &Path, stream: &str) -> Vec<MemoryEntry> {
    read_truth(&dir.join("truth.jsonl"))
        .unwrap()
        .into_iter()
        .map(|c| MemoryEntry {
            budget_tokens: None,
            id: c.clip as u64,
            stream: stream.to_owned(),
            lane: "facts".to_owned(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            text: c.facts.join(" "),
            available_ms: c.end_ms,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        })
        .collect()
}

const SUPPORT_LATE: &str = "its facts are not in memory before it is asked";

/// Why the built-in answerer leaves a question of an all-facts memory unanswered.
fn why_unanswered(task: &Task, memory: &[MemoryEntry]) -> &'static str {
    let support = task.extra.get("support").cloned().unwrap_or_default();
    let known = |fact: &str| {
        memory
            .iter()
            .any(|m| m.available_ms <= task.ask_ms && m.text.contains(fact))
    };
    let answer = task
        .options
        .get(usize::from(
            task.answer.bytes().next().unwrap_or(b'A') - b'A',
        ))
        .cloned()
        .unwrap_or_default();
    if !support.split(" | ").all(known) {
        SUPPORT_LATE
    } else if answer.ends_with(" only") || answer.ends_with(" only.") {
        "its answer is 'X only', and no memory states that something did not happen"
    } else {
        "its facts are there but the answerer does not pick one option from them"
    }
}

#[test]
fn a_memory_of_every_fact_answers_the_shipped_questions() {
    let mut by_type: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for dir in stream_dirs() {
        let stream = "s";
        let tasks: Vec<Task> = load_tasks(&dir.join("tasks.jsonl"))
            .unwrap()
            .iter()
            .map(|q| {
                let mut t = Task::from(q);
                t.stream = stream.to_owned();
                t
            })
            .collect();
        let memory = memory_of_facts(&dir, stream);
        let rows = answer_tasks(&tasks, &memory, &["facts".to_owned()], &BuiltinAnswerer).unwrap();
        for (row, task) in rows.iter().zip(&tasks) {
            let e = by_type.entry(row.task_type.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(!row.abstained);
            e.2 += usize::from(row.correct);
            if !row.correct {
                wrong.push((
                    why_unanswered(task, &memory),
                    format!("{} | got {} want {}", task.text, row.answer, task.answer),
                ));
            }
        }
    }
    // Which questions it cannot answer, and why, grouped by reason.
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for (why, question) in &wrong {
        *reasons.entry(why).or_default() += 1;
        eprintln!("{why}: {question}");
    }
    eprintln!("{by_type:#?}\nnot answered: {reasons:#?}");
    assert!(
        !reasons.contains_key(SUPPORT_LATE),
        "questions whose facts come after they are asked"
    );
    let (n, answered, correct) = by_type
        .values()
        .fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    assert!(n >= 200, "{n} questions");
    assert!(correct * 100 >= n * 95, "{correct}/{n} right");
    assert_eq!(correct, answered, "a memory of true facts never misleads");
}

fn png_size_and_colors(path: &Path) -> (u32, u32, usize) {
    let img = image::open(path).unwrap().to_rgb8();
    let mut colors: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colors.sort_unstable();
    colors.dedup();
    (img.width(), img.height(), colors.len())
}

fn results_csv_rows(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("results.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn taskmem_eval_memorizes_a_suite_with_an_adapter_and_writes_results_summary_and_charts() {
    use taskmem::policy::adapter::{Adapter, AdapterMeta};
    let tmp = tempfile::tempdir().unwrap();
    let meta = AdapterMeta {
        layer: 1,
        scale: 1.5,
        task_type: Some("Counting Problem".into()),
        task_ids: (0..10).map(|i| format!("t{i}")).collect(),
        metrics: serde_json::Value::Null,
    };
    let adapter_path = tmp.path().join("count10.safetensors");
    Adapter::from_values("count10", meta, vec![0.05; 128])
        .unwrap()
        .save(&adapter_path)
        .unwrap();
    let out = tmp.path().join("results");
    // World-tempo's streams whose videos the repository holds (the shipped suite's test
    // split generates most of its videos on demand).
    let suite = common::suites::tempo_small(tmp.path());
    let questions = common::suites::questions(&suite, "test").len();
    assert!(questions >= 20, "{questions} test questions");
    let run = common::taskmem(&[
        "eval",
        "--suite",
        suite.to_str().unwrap(),
        "--split",
        "test",
        "--adapter",
        adapter_path.to_str().unwrap(),
        "--reference",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let printed = common::stdout(&run);
    assert!(
        printed.contains("Acc %") && printed.contains("count10"),
        "{printed}"
    );

    // One row per question of the test streams and lane, three lanes.
    let rows = results_csv_rows(&out);
    assert_eq!(rows.len(), questions * 3);
    for lane in ["builtin", "count10", "reference"] {
        assert_eq!(
            rows.iter().filter(|r| r[4] == lane).count(),
            questions,
            "{lane}"
        );
    }
    // An abstention is E (or the open-answer form) and never correct.
    for r in &rows {
        if r[8] == "true" {
            assert_eq!(r[7], "false");
        }
    }
    let parquet = std::fs::read(out.join("results.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let lanes = summary["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 3);
    assert_eq!(lanes[1]["tasks_seen"], 10);
    assert_eq!(lanes[1]["task_type"], "Counting Problem");
    for lane in lanes {
        let m = &lane["overall"];
        let (acc, cov, prec) = (
            m["acc"].as_f64().unwrap(),
            m["cov"].as_f64().unwrap(),
            m["prec"].as_f64().unwrap(),
        );
        assert!(
            (acc - cov * prec).abs() < 1e-9,
            "Acc = Cov x Prec in {lane}"
        );
        let correct = rows
            .iter()
            .filter(|r| r[4] == lane["lane"].as_str().unwrap() && r[7] == "true")
            .count();
        assert_eq!(m["correct"].as_u64().unwrap() as usize, correct);
    }
    // The reference descriptions say far more than nothing.
    assert!(lanes[2]["overall"]["acc"].as_f64().unwrap() > 0.2);

    let (w, h, colors) = png_size_and_colors(&out.join("chart.png"));
    assert_eq!((w, h), (1400, 900));
    assert!(colors > 20, "a chart, not a blank page: {colors} colors");
    let svg = std::fs::read_to_string(out.join("chart.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Memory-only accuracy"));
    assert!(
        svg.contains("Accuracy against tasks seen"),
        "the adapter's line"
    );

    // `taskmem chart` redraws at another size, as PNG or SVG.
    let small = tmp.path().join("small.png");
    let redraw = common::taskmem(&[
        "chart",
        out.to_str().unwrap(),
        "--out",
        small.to_str().unwrap(),
        "--size",
        "800x500",
    ]);
    assert!(redraw.status.success(), "{}", common::stderr(&redraw));
    let (w, h, colors) = png_size_and_colors(&small);
    assert_eq!((w, h), (800, 500));
    assert!(colors > 20);
}

#[test]
fn bad_suites_adapters_results_and_chart_files_are_clear_errors_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    // A suite that is whole: the errors come after it is checked (the shipped one would
    // generate its test videos first).
    let suite = common::suites::tempo_small(tmp.path());
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "eval".into(),
                "--suite".into(),
                "/no/such/suite".into(),
                "--out".into(),
                out_s.into(),
            ],
            "/no/such/suite/suite.json",
        ),
        (
            vec![
                "eval".into(),
                "--suite".into(),
                suite.display().to_string(),
                "--split".into(),
                "holdout".into(),
                "--out".into(),
                out_s.into(),
            ],
            "no streams in split 'holdout'",
        ),
        (
            vec![
                "eval".into(),
                "--suite".into(),
                suite.display().to_string(),
                "--adapter".into(),
                "/no/such/adapter.safetensors".into(),
                "--out".into(),
                out_s.into(),
            ],
            "/no/such/adapter.",
        ),
        (
            vec![
                "chart".into(),
                tmp.path().display().to_string(),
                "--out".into(),
                "x.png".into(),
            ],
            "summary.json",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
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
    // A broken summary, and a chart format that is not PNG or SVG.
    std::fs::write(tmp.path().join("summary.json"), b"{\"source\": 3").unwrap();
    let run = common::taskmem(&["chart", tmp.path().to_str().unwrap(), "--out", "x.png"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(common::stderr(&run).contains("not an evaluation summary"));
    assert!(!out.exists(), "nothing written for a failed run");
}

/// `taskmem eval --project PROJECT [EXTRA...] --out OUT`.
fn eval_project(project: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["eval", "--project", project.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    common::taskmem(&args)
}

#[test]
fn a_project_is_answered_from_the_lanes_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    let stream = root("datasets/world-tempo/test/world-tempo-test-01");
    let import = common::taskmem(&[
        "import",
        "world",
        stream.to_str().unwrap(),
        "--project",
        project.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", common::stderr(&import));
    let ingest = common::taskmem(&[
        "ingest",
        stream.join("video.mp4").to_str().unwrap(),
        "--project",
        project.to_str().unwrap(),
    ]);
    assert!(ingest.status.success(), "{}", common::stderr(&ingest));
    let out = tmp.path().join("results");
    let run = eval_project(&project, &out, &[]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let rows = results_csv_rows(&out);
    let lanes: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(
        lanes.len(),
        2,
        "the reference lane and the policy's: {lanes:?}"
    );
    assert!(lanes.contains("builtin"));
    let questions = load_tasks(&stream.join("tasks.jsonl")).unwrap().len();
    assert_eq!(rows.len(), questions * 2);
    // Only these lanes, and a lane the project lacks.
    let only = eval_project(&project, &out, &["--lane", "nope"]);
    assert_eq!(only.status.code(), Some(2));
    assert!(common::stderr(&only).contains("no lane 'nope'"));
}

#[test]
fn the_default_suite_is_found_from_any_current_folder() {
    // Run from a folder that has no datasets/: the default suite, its shipped relative path
    // and its name all reach the shipped suite (a split it lacks keeps the run short).
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for suite in [None, Some("datasets/world-mme"), Some("world-mme")] {
        let mut args = vec!["eval", "--split", "nosuch", "--out", out.to_str().unwrap()];
        if let Some(suite) = suite {
            args.extend(["--suite", suite]);
        }
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
            .args(&args)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let stderr = common::stderr(&run);
        assert_eq!(run.status.code(), Some(2), "{suite:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: no streams in split 'nosuch'",
                root("datasets/world-mme").display()
            )),
            "{suite:?}: {stderr}"
        );
        assert!(!stderr.contains("cannot read"), "{suite:?}: {stderr}");
    }
}

#[test]
fn the_memory_only_demo_says_in_plain_words_why_it_scores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    let out = tmp.path().join("results");
    common::taskmem_ok(&[
        "import",
        "demo",
        root("assets/demo/taskmem_demo_memories.json")
            .to_str()
            .unwrap(),
        "--project",
        project.to_str().unwrap(),
    ]);
    let run = eval_project(&project, &out, &[]);
    let (stdout, stderr) = (common::stdout(&run), common::stderr(&run));
    assert!(run.status.success(), "{stderr}");
    // Why 0%: the answerer cannot read this memory, and the questions have no answers.
    assert!(
        stdout.contains("note: The built-in answerer reads only the synthetic world's language"),
        "{stdout}"
    );
    assert!(stdout.contains("has a reference answer"), "{stdout}");
    // 3 and 4 questions per type: no interval, said so.
    assert!(stdout.contains("n too small"), "{stdout}");
    assert!(!stdout.contains("[100.0, 100.0]"), "{stdout}");
    // The imported lanes name adapters the project lacks: said so once for all seven, not
    // "(os error 2)" seven times.
    assert!(!stderr.contains("os error"), "{stderr}");
    assert!(
        stderr.contains(
            "their adapter files are not in the project; the first: \
             adapters/object-reasoning.safetensors"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["notes"].as_array().is_some_and(|n| !n.is_empty()));
    let general = &summary["lanes"][0];
    assert!(general["overall"]["questions"].as_u64().unwrap() >= 5);
    let small = general["by_type"]
        .as_object()
        .unwrap()
        .values()
        .find(|m| m["questions"].as_u64().unwrap() < 5)
        .unwrap();
    assert!(small["acc_ci"].is_null(), "{small}");
}
