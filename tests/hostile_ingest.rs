//! A batch `ingest` (many videos, several streams at once) killed part way resumes into its
//! lane (issue 30, "A killed `ingest` cannot resume into its lane"): the rerun skips the
//! streams that were finished, goes on with each begun stream after its last complete entry
//! (reading that entry as its preceding description), starts the others, and ends with every
//! clip of every stream exactly once, as an uninterrupted run writes them.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use taskmem::project::Project;

const LANE: &str = "builtin";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn videos() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test");
    (0..3)
        .map(|i| root.join(format!("world-tempo-test-0{i}/video.mp4")))
        .collect()
}

/// A small seeded model, fast enough to memorize three streams many times over.
fn model(dir: &Path) -> PathBuf {
    use taskmem::policy::builtin::Config;
    use taskmem::policy::lang::Vocab;
    use taskmem::policy::train::Trainable;
    let model = dir.join("model");
    Trainable::fresh(&Config::tiny(Vocab::world().len()), 5)
        .unwrap()
        .save(&model)
        .unwrap();
    model
}

/// `taskmem ingest V0 V1 V2 --concurrency 2`: two streams at once, so that their entries
/// interleave in the lane file and a kill leaves streams finished, begun and not begun.
fn batch(project: &Path, model: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskmem"));
    command.arg("ingest");
    for video in videos() {
        command.arg(video);
    }
    command
        .args(["--project", p(project), "--model", p(model), "--lane", LANE])
        .args(["--concurrency", "2"])
        .env("RUST_LOG", "warn");
    command
}

fn run(project: &Path, model: &Path) -> Output {
    batch(project, model).output().unwrap()
}

/// Each stream's entries of the lane, in clip order: (start, end, text). Also checks that no
/// clip is there twice and that every id is distinct.
fn lane(project: &Path) -> BTreeMap<String, Vec<(i64, i64, String)>> {
    let opened = Project::open(project).unwrap();
    let mut out: BTreeMap<String, Vec<(i64, i64, String)>> = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for stream in &opened.manifest.streams {
        let entries = opened.memory.lane(&stream.id, LANE);
        for e in entries {
            assert!(
                ids.insert(e.id),
                "id {} twice in {}",
                e.id,
                project.display()
            );
        }
        let clips: Vec<(i64, i64, String)> = entries
            .iter()
            .map(|e| (e.start_ms, e.end_ms, e.text.clone()))
            .collect();
        let mut starts: Vec<i64> = clips.iter().map(|c| c.0).collect();
        starts.dedup();
        assert_eq!(starts.len(), clips.len(), "a clip twice: {}", stream.id);
        out.insert(stream.id.clone(), clips);
    }
    out
}

fn lane_file(project: &Path) -> PathBuf {
    project.join("memory").join(format!("{LANE}.jsonl"))
}

/// Complete lines of the lane file so far.
fn lines_written(project: &Path) -> usize {
    // The pieces between line breaks, less the one after the last break.
    std::fs::read(lane_file(project))
        .map_or(0, |b| b.split(|&c| c == b'\n').count().saturating_sub(1))
}

/// A copy of the uninterrupted run's project as a kill after `lines` complete entries (and
/// `torn` bytes of the next) leaves it: any prefix of the lane file is such a moment, since
/// entries are appended one by one as they are written.
fn killed_after(whole: &Path, to: &Path, lines: usize, torn: usize) {
    std::fs::create_dir_all(to.join("memory")).unwrap();
    std::fs::copy(whole.join("project.json"), to.join("project.json")).unwrap();
    let bytes = std::fs::read(lane_file(whole)).unwrap();
    let mut cut = 0;
    for _ in 0..lines {
        cut += bytes[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    let end = (cut + torn).min(bytes.len());
    std::fs::write(lane_file(to), &bytes[..end]).unwrap();
}

#[test]
fn a_killed_batch_ingest_resumes_every_stream_after_its_last_complete_entry() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let whole = dir.path().join("whole");
    let out = run(&whole, &model);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let expected = lane(&whole);
    assert_eq!(expected.len(), 3);
    let clips: usize = expected.values().map(Vec::len).sum();
    assert!(
        expected.values().all(|c| c.len() >= 6),
        "{:?}",
        expected.values().map(Vec::len).collect::<Vec<_>>()
    );

    // Every way a kill can leave the lane: at the start, after the first entry, with a line
    // torn, half way (a stream done, one begun, one not), one entry short of the end.
    for (lines, torn) in [
        (0, 0),
        (1, 0),
        (3, 25),
        (clips / 2, 0),
        (clips / 2 + 1, 60),
        (clips - 1, 0),
    ] {
        let project = dir.path().join(format!("cut-{lines}-{torn}"));
        killed_after(&whole, &project, lines, torn);
        let before = lane(&project);
        let out = run(&project, &model);
        let err = common::stderr(&out);
        assert!(out.status.success(), "cut after {lines} lines: {err}");
        let memorized = format!("memorized {} clips", clips - lines);
        assert!(
            common::stdout(&out).contains(&memorized),
            "cut after {lines} lines: {}",
            common::stdout(&out)
        );
        if lines > 0 {
            assert!(err.contains(&format!("resuming lane '{LANE}'")), "{err}");
        }
        // A stream the kill left finished is told as done and not touched.
        let finished = before
            .iter()
            .filter(|(id, c)| c.len() == expected[id.as_str()].len())
            .count();
        if finished > 0 {
            assert!(
                err.contains(&format!("{finished} of 3 streams done already")),
                "{err}"
            );
        }
        assert_eq!(
            lane(&project),
            expected,
            "cut after {lines} lines, {torn} torn"
        );
    }

    // Real kills, each once the lane holds a given number of complete entries (the process
    // may have written a few more by the time the kill lands).
    for at in [2, clips / 3, 2 * clips / 3] {
        let project = dir.path().join(format!("kill-{at}"));
        let mut child = batch(&project, &model)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(600);
        while lines_written(&project) < at
            && child.try_wait().unwrap().is_none()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        child.wait().unwrap();
        let out = run(&project, &model);
        let err = common::stderr(&out);
        let resumed_or_done = out.status.success() || err.contains("nothing left to resume");
        assert!(resumed_or_done, "killed at {at} entries: {err}");
        assert_eq!(lane(&project), expected, "killed at {at} entries");
    }

    // Nothing left: refused, saying why, and nothing written.
    let before = std::fs::read(lane_file(&whole)).unwrap();
    let out = run(&whole, &model);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("nothing left to resume"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(std::fs::read(lane_file(&whole)).unwrap(), before);
}

#[test]
fn a_batch_does_not_resume_a_lane_another_policy_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let whole = dir.path().join("whole");
    assert!(run(&whole, &model).status.success());
    // The second stream's first clip, as another policy wrote it into the same lane.
    let project = dir.path().join("other");
    killed_after(&whole, &project, 0, 0);
    let mut opened = Project::open(&project).unwrap();
    opened
        .append(&[taskmem::memory::MemoryEntry {
            budget_tokens: None,
            id: 1,
            stream: "world-tempo-test-01".to_owned(),
            lane: LANE.to_owned(),
            start_ms: 0,
            end_ms: 10_000,
            text: "someone else's words".to_owned(),
            available_ms: 10_000,
            policy: Some("another".to_owned()),
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        }])
        .unwrap();
    let before = std::fs::read(lane_file(&project)).unwrap();
    let out = run(&project, &model);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'world-tempo-test-01' written by another")
            && err.contains("cannot resume it"),
        "{err}"
    );
    // Refused before anything was memorized.
    assert_eq!(std::fs::read(lane_file(&project)).unwrap(), before);
}
