//! `taskmem bench budget`, the headroom oracle, as a script calls it: the --json shape and
//! figures on a one-stream suite written here, and exit code 2 naming suite.json when the
//! split or the suite is missing or malformed.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{s, stderr, stdout, taskmem};
use std::path::Path;

const ROOM: &str = "I am in the kitchen."; // 6 tokens
const COUNT: &str = "There are 3 apples on the kitchen table."; // 9 tokens
const PICK: &str = "<face_1> picks up the red cup from the kitchen table."; // 11 tokens

/// A suite of one test stream: one clip [ROOM, COUNT, PICK] and two questions on it.
fn suite(dir: &Path) {
    std::fs::write(
        dir.join("suite.json"),
        serde_json::json!({"suite": "tiny", "streams": [
            {"folder": "test/tiny-test-00", "split": "test", "seed": 1, "duration_ms": 10_000},
            {"folder": "train/tiny-train-00", "split": "train", "seed": 2, "duration_ms": 10_000},
        ]})
        .to_string(),
    )
    .unwrap();
    let stream = dir.join("test/tiny-test-00");
    std::fs::create_dir_all(&stream).unwrap();
    let clip = serde_json::json!({
        "clip": 0, "start_ms": 0, "end_ms": 10_000, "facts": [ROOM, COUNT, PICK],
    });
    std::fs::write(stream.join("truth.jsonl"), format!("{clip}\n")).unwrap();
    let question = |id: &str, task_type: &str, fact: &str| {
        serde_json::json!({
            "id": id, "text": "?", "options": [], "answer": "", "task_type": task_type,
            "style": "videomme", "ask_ms": 20_000,
            "evidence": [{"start_ms": 0, "end_ms": 10_000}], "support": [fact], "source": "tiny",
        })
    };
    std::fs::write(
        stream.join("tasks.jsonl"),
        format!(
            "{}\n{}\n",
            question("q1", "Counting Problem", COUNT),
            question("q2", "Attribute Perception", PICK)
        ),
    )
    .unwrap();
}

fn keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn bench_budget_json_has_the_documented_shape_and_the_shares_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path());
    let out = taskmem(&["bench", "budget", "--suite", s(dir.path()), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(keys(&json), ["budgets", "split", "suite"]);
    assert_eq!(json["suite"], "tiny");
    assert_eq!(json["split"], "test");
    // Generic order: PICK (11), ROOM (6), COUNT (9). At 16: PICK; at 24: PICK ROOM (COUNT
    // would make 26); at 32 and 48: all. Focused for counting: COUNT first, kept at every
    // budget; the pick-up is kept first for attribute questions, and by the generic order.
    let counting_generic = [0.0, 0.0, 100.0, 100.0];
    let budgets = json["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 4);
    for (i, (row, tokens)) in budgets.iter().zip([16, 24, 32, 48]).enumerate() {
        assert_eq!(keys(row), ["budget_tokens", "overall", "types"]);
        assert_eq!(row["budget_tokens"], tokens);
        assert_eq!(
            keys(&row["types"]),
            ["Attribute Perception", "Counting Problem"]
        );
        for shares in row["types"].as_object().unwrap().values() {
            assert_eq!(keys(shares), ["focused", "generic", "n"]);
            assert_eq!(shares["n"], 1);
        }
        let counting = &row["types"]["Counting Problem"];
        assert_eq!(counting["generic"].as_f64(), Some(counting_generic[i]));
        assert_eq!(counting["focused"].as_f64(), Some(100.0));
        let attribute = &row["types"]["Attribute Perception"];
        assert_eq!(attribute["generic"].as_f64(), Some(100.0));
        assert_eq!(attribute["focused"].as_f64(), Some(100.0));
        assert_eq!(keys(&row["overall"]), ["focused", "generic"]);
        assert_eq!(
            row["overall"]["generic"].as_f64(),
            Some(f64::midpoint(counting_generic[i], 100.0))
        );
        assert_eq!(row["overall"]["focused"].as_f64(), Some(100.0));
    }

    // The table names every type and the overall share.
    let out = taskmem(&["bench", "budget", "--suite", s(dir.path())]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in ["Counting Problem", "Attribute Perception", "overall"] {
        assert!(text.contains(line), "{text}");
    }
}

#[test]
fn bench_budget_exits_2_naming_suite_json_for_a_missing_split_or_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path());
    let out = taskmem(&[
        "bench",
        "budget",
        "--suite",
        s(dir.path()),
        "--split",
        "validation",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("suite.json") && err.contains("'validation'") && err.contains("test, train"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    // The train split is listed but its stream is not there: the file is named.
    let out = taskmem(&[
        "bench",
        "budget",
        "--suite",
        s(dir.path()),
        "--split",
        "train",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("truth.jsonl"), "{}", stderr(&out));

    let missing = dir.path().join("no-such-suite");
    let out = taskmem(&["bench", "budget", "--suite", s(&missing)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("suite.json"), "{}", stderr(&out));

    std::fs::write(dir.path().join("suite.json"), "{\"streams\": 3}").unwrap();
    let out = taskmem(&["bench", "budget", "--suite", s(dir.path())]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("suite.json: not a suite"),
        "{}",
        stderr(&out)
    );
}
