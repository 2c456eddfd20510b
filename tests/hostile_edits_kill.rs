//! Kill -9 during the app's label and task edits (issue 30's soak reaches them only here: no CLI
//! command makes them). The test binary re-runs itself as the editing process, which makes one
//! edit after another and says each one that was written; the parent kills it at seeded moments
//! spread over the run, then checks that the project opens, that every edit said to be written
//! is there, that none is there twice, and that the next edit after the kill lands.
// Test helpers panic on purpose
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{asset, s, taskmem_ok};
use taskmem::memory::labels::LabelEvent;
use taskmem::project::Project;
use taskmem::tasks::{Task, TaskEvent};

/// When set, this test binary is the editing process for the project it names.
const EDITOR_VAR: &str = "TASKMEM_KILL_EDITS";
const STREAM: &str = "world-tempo-test-00";
/// Edits per run: label edits (cycling over the entries) and task puts, alternating; enough
/// that a run lasts long past the parent's reaction time.
const EDITS: usize = 2000;
/// Makes each write large enough that a kill often lands inside it.
const PADDING: &str = "a red cup on the shelf beside the window; ";
const KILLS: usize = 24;

fn label_marker(i: usize) -> String {
    format!("{}kill-edit-{i}-end", PADDING.repeat(20))
}

fn task_marker(i: usize) -> String {
    format!("kill-task-{i}-end")
}

fn task(i: usize) -> Task {
    let mut t = Task::authored(format!("k{i}"), STREAM, 1_000 * i as i64, "ann");
    t.text = format!(
        "What is on the shelf? {}{}",
        PADDING.repeat(20),
        task_marker(i)
    );
    t
}

/// Makes edit `i`: even ones edit entry i/2's text, odd ones put a task.
fn edit(project: &mut Project, ids: &[u64], i: usize) {
    if i.is_multiple_of(2) {
        project
            .record_label(&LabelEvent::Edit {
                entry: ids[(i / 2) % ids.len()],
                text: Some(label_marker(i)),
            })
            .unwrap();
    } else {
        project
            .record_tasks(&[TaskEvent::Put {
                task: Box::new(task(i)),
            }])
            .unwrap();
    }
}

fn entry_ids(project: &Project) -> Vec<u64> {
    project.memory.entries().iter().map(|e| e.id).collect()
}

/// The editing process: every edit, each announced on stdout once it returned.
fn run_editor(dir: &Path) -> ! {
    let mut project = Project::open(dir).unwrap();
    let ids = entry_ids(&project);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    // Waits for the parent's go, so that the edits start when its clock does.
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    for i in 0..EDITS {
        edit(&mut project, &ids, i);
        writeln!(out, "{i}").unwrap();
        out.flush().unwrap();
    }
    std::process::exit(0)
}

fn base_project(dir: &Path) -> PathBuf {
    let project = dir.join("base");
    let world = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/world-tempo/test")
        .join(STREAM);
    taskmem_ok(&["import", "world", s(&world), "--project", s(&project)]);
    let demo = asset("taskmem_demo_memories.json");
    taskmem_ok(&["import", "demo", s(&demo), "--project", s(&project)]);
    project
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

/// Runs the editor on `project`, kills it `kill_after` its first edit began (None: lets it
/// finish), and returns the last edit it announced and how long it edited.
fn edit_and_kill(project: &Path, kill_after: Option<Duration>) -> (Option<usize>, Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_label_and_task_edits_lose_and_double_nothing",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EDITOR_VAR, project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut last = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The harness writes "test NAME ... " before the test's own first line.
            if line.trim_end().ends_with("ready") {
                let _ = ready_tx.send(());
            } else if let Ok(i) = line.trim().parse::<usize>() {
                last = Some(i);
            }
        }
        last
    });
    // An editor that dies before it is ready drops the sender, and recv returns at once.
    let _ = ready_rx.recv();
    let mut stdin = child.stdin.take().unwrap();
    let _ = writeln!(stdin, "go");
    let _ = stdin.flush();
    let began = Instant::now();
    if let Some(after) = kill_after {
        std::thread::sleep(after);
        let _ = child.kill(); // SIGKILL; an editor that already ended is fine
    }
    child.wait().unwrap();
    let edited = began.elapsed();
    (reader.join().unwrap(), edited)
}

/// How often each edit's marker occurs in the project's files, by edit number.
fn marker_counts(project: &Path) -> std::collections::HashMap<usize, usize> {
    let mut counts = std::collections::HashMap::new();
    for item in std::fs::read_dir(project).unwrap() {
        let path = item.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for prefix in ["kill-edit-", "kill-task-"] {
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + prefix.len()..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if rest[digits.len()..].starts_with("-end") {
                    *counts.entry(digits.parse().unwrap()).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// Every announced edit is there, none past the one in flight, none twice.
fn check_after_kill(project: &Path, done: Option<usize>, case: &str) {
    let opened = Project::open(project).unwrap_or_else(|e| panic!("{case}: does not open: {e}"));
    let ids = entry_ids(&opened);
    let in_flight = done.map_or(0, |d| d + 1);
    if let Some((i, n)) = marker_counts(project).into_iter().find(|&(_, n)| n > 1) {
        panic!("{case}: edit {i} written {n} times");
    }
    for i in (1..EDITS).step_by(2) {
        let present = opened.tasks.get(STREAM, &format!("k{i}")).is_some();
        assert!(
            present || i >= in_flight,
            "{case}: task edit {i} was announced but is lost"
        );
        assert!(
            !present || i <= in_flight,
            "{case}: task edit {i} is there before edit {in_flight}"
        );
    }
    // An entry's text is that of its last label edit that had begun.
    for (slot, &id) in ids.iter().enumerate().take(EDITS / 2) {
        let edits: Vec<usize> = (0..EDITS)
            .step_by(2)
            .filter(|i| (i / 2) % ids.len() == slot)
            .collect();
        let announced = edits.iter().rev().find(|&&i| i < in_flight).copied();
        let text = opened.labels.edited(id);
        let ok = text == announced.map(label_marker).as_deref()
            || (edits.contains(&in_flight) && text == Some(label_marker(in_flight).as_str()));
        assert!(
            ok,
            "{case}: entry {id} reads {text:?}, not edit {announced:?}"
        );
    }
}

/// The project keeps working after the kill: one more edit lands and survives a reopen.
fn check_next_edit_lands(project: &Path, case: &str) {
    let mut opened = Project::open(project).unwrap();
    let next = task(EDITS + 1);
    opened
        .record_tasks(&[TaskEvent::Put {
            task: Box::new(next),
        }])
        .unwrap();
    let reopened = Project::open(project).unwrap();
    assert!(
        reopened
            .tasks
            .get(STREAM, &format!("k{}", EDITS + 1))
            .is_some(),
        "{case}: the edit after the kill is lost"
    );
}

#[test]
fn killed_label_and_task_edits_lose_and_double_nothing() {
    if let Some(dir) = std::env::var_os(EDITOR_VAR) {
        run_editor(Path::new(&dir));
    }
    let work = tempfile::tempdir().unwrap();
    let base = base_project(work.path());

    // An uninterrupted run: every edit lands, and how long a run takes sets the kill moments.
    let whole = work.path().join("whole");
    copy_dir(&base, &whole);
    let (done, edited) = edit_and_kill(&whole, None);
    assert_eq!(done, Some(EDITS - 1));
    let run_us = u64::try_from(edited.as_micros()).unwrap().max(1);
    check_after_kill(&whole, Some(EDITS - 1), "uninterrupted");

    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut cut_off = 0;
    for k in 0..KILLS {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = Duration::from_micros((seed >> 33) % run_us);
        let project = work.path().join(format!("kill-{k}"));
        copy_dir(&base, &project);
        let (done, _) = edit_and_kill(&project, Some(at));
        let case = format!("kill {k} at {at:?} after edit {done:?}");
        check_after_kill(&project, done, &case);
        check_next_edit_lands(&project, &case);
        cut_off += usize::from(matches!(done, Some(d) if d < EDITS - 1));
        std::fs::remove_dir_all(&project).unwrap();
    }
    eprintln!("{KILLS} kills, {cut_off} between the first and the last edit");
    // Kill moments are drawn over the measured editing time, so most land mid-run; too few
    // would mean this test no longer tests what it says.
    assert!(cut_off >= KILLS / 4, "only {cut_off} kills landed mid-run");
}
