//! UI-thread cost of one frame of the real app (egui pass, texture hand-off, decoder requests)
//! while seeking and scrubbing, against an idle frame in the same run. The floor is 16 ms; the
//! decoding itself runs on the decoder threads and is not on this path.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use taskmem::app::{AppCommand, TaskMemApp};

/// The real window opened on `path`, stepped until `ready` (opening runs on its own thread).
fn opened_app(
    path: std::path::PathBuf,
    ready: impl Fn(&TaskMemApp) -> bool,
) -> Harness<'static, TaskMemApp> {
    let mut h: Harness<'_, TaskMemApp> = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| TaskMemApp::new(cc, Some(path)));
    for _ in 0..300 {
        if ready(h.state()) {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h
}

fn ui_frames(c: &mut Criterion) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-mme");
    let mut h = opened_app(demo, |app| app.player().is_some());
    let mut group = c.benchmark_group("ui frame");
    group.bench_function("idle", |b| b.iter(|| h.step()));
    let mut t_ns: i64 = 0;
    group.bench_function("scrubbing (a new time every frame)", |b| {
        b.iter(|| {
            // Jump by a prime step so that most frames land in another GOP.
            t_ns = (t_ns + 7_310_000_000) % 180_000_000_000;
            h.state_mut().submit(AppCommand::Scrub(t_ns));
            h.step();
        });
    });
    group.bench_function("seeking with Right (+1 s) every frame", |b| {
        b.iter(|| {
            h.key_press(egui::Key::ArrowRight);
            h.step();
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    ui_frames,
    ui_frames_big_project,
    ui_frames_task_library
);
criterion_main!(benches);

/// A frame of the window with a 100,000-entry project open: lanes, browser and inspector.
fn ui_frames_big_project(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("taskmem-bench-ui-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if taskmem::project::synthetic_project(&dir, 100_000).is_err() {
        return;
    }
    let project_dir = dir.clone();
    let mut h = opened_app(project_dir, |app| app.project().is_some());
    let mut group = c.benchmark_group("ui frame, 100k memory entries");
    group.bench_function("idle", |b| b.iter(|| h.step()));
    group.bench_function("walking the rows with Down", |b| {
        b.iter(|| {
            h.key_press(egui::Key::ArrowDown);
            h.step();
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A frame of the task library with 10,000 tasks while typing in its search field: the filter
/// runs again on every keystroke (floor: within one 16 ms frame).
fn ui_frames_task_library(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("taskmem-bench-tasks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if taskmem::project::synthetic_project(&dir, 3_000).is_err() {
        return;
    }
    let Ok(mut project) = taskmem::project::Project::open(&dir) else {
        return;
    };
    let types = taskmem::tasks::KNOWN_TYPES;
    let events: Vec<taskmem::tasks::TaskEvent> = (0..10_000_i64)
        .map(|i| {
            let mut task =
                taskmem::tasks::Task::authored(format!("q{i}"), "long", i * 900, "bench");
            task.text = format!(
                "What did the person with the {} bag do near table {} before minute {}?",
                ["red", "blue", "green", "pink"][(i % 4) as usize],
                i % 37,
                i / 60
            );
            types[(i as usize) % types.len()].clone_into(&mut task.task_type);
            taskmem::tasks::TaskEvent::Put {
                task: Box::new(task),
            }
        })
        .collect();
    if project.record_tasks(&events).is_err() {
        return;
    }
    let project_dir = dir.clone();
    let mut h = opened_app(project_dir, |app| {
        app.project().is_some() && app.player().is_some()
    });
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("Task library").click_accesskit();
    for _ in 0..3 {
        h.step();
    }
    assert_eq!(
        h.state().task_panel().tab,
        taskmem::app::task_panel::SideTab::Library
    );
    h.get_by_label("Search").focus();
    h.step();
    h.get_by_label("Search").type_text("blue");
    h.step();
    let shown = h.state().task_panel().library_rows().len();
    assert!(
        shown > 0 && shown < 10_000,
        "the search filters: {shown} rows"
    );
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.step();
    let mut group = c.benchmark_group("ui frame, 10k tasks in the library");
    group.bench_function("idle", |b| b.iter(|| h.step()));
    let mut keystroke = 0_usize;
    group.bench_function("typing in the search field (filter per keystroke)", |b| {
        b.iter(|| {
            // Type "blue 1", erase it, and again: every frame filters anew.
            let word = "blue 1";
            let at = keystroke % (2 * word.len());
            if at < word.len() {
                h.get_by_label("Search").type_text(&word[at..=at]);
            } else {
                h.key_press(egui::Key::Backspace);
            }
            keystroke += 1;
            h.step();
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}
