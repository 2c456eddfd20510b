//! The window as a person uses it, rendered headless by `egui_kittest`: open a video, play it
//! with Space, step with the keyboard, and type in a text field without triggering shortcuts.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use taskmem::app::path_window::SystemDialogs;
use taskmem::app::player::Shown;
use taskmem::app::project_view::{LabelFilter, RowSort};
use taskmem::app::{AppCommand, Settings, TaskMemApp};
use taskmem::memory::Verdict;

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

/// The app as a returning user finds it (not a first start, which opens the demo), with
/// `video` open and no welcome window in the way.
fn app_harness(video: Option<PathBuf>) -> Harness<'static, TaskMemApp> {
    let settings = returning();
    Harness::builder()
        .with_size(egui::vec2(1200.0, 760.0))
        .build_eframe(move |_| {
            let mut app = TaskMemApp::with_settings(settings, video);
            app.show_welcome = false;
            app
        })
}

/// Steps frames while a window's background job runs (real time passes: it is a thread).
fn wait_for_job(
    h: &mut Harness<'_, TaskMemApp>,
    what: &str,
    limit_s: u64,
    running: impl Fn(&TaskMemApp) -> bool,
) {
    let start = Instant::now();
    while running(h.state()) {
        assert!(start.elapsed() < Duration::from_secs(limit_s), "{what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Steps frames until `done` holds (the decoder works on its own threads).
fn step_until(h: &mut Harness<'_, TaskMemApp>, what: &str, done: impl Fn(&TaskMemApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn opened(video: &str) -> Harness<'static, TaskMemApp> {
    opened_path(asset(video))
}

/// Opened, first frame shown, layout settled: widgets are where the accessibility tree says.
fn opened_path(video: PathBuf) -> Harness<'static, TaskMemApp> {
    let mut h = app_harness(Some(video));
    step_until(&mut h, "the video to open", |app| app.player().is_some());
    step_until(&mut h, "the first exact frame", |app| {
        matches!(app.player().and_then(|p| p.shown), Some(Shown::Exact(0)))
    });
    h
}

fn position_ms(h: &Harness<'_, TaskMemApp>) -> i64 {
    h.state().player().unwrap().playback.position_ns() / 1_000_000
}

#[test]
fn space_plays_and_the_playhead_advances() {
    let mut h = opened("baseline.mp4");
    assert_eq!(position_ms(&h), 0);
    h.key_press(egui::Key::Space);
    h.step();
    assert!(h.state().player().unwrap().playback.is_playing());
    for _ in 0..3 {
        h.step();
    }
    assert!(position_ms(&h) > 0, "the playhead moves while playing");
    h.get_by_label("⏸ Pause").click();
    h.step();
    assert!(!h.state().player().unwrap().playback.is_playing());
}

#[test]
fn arrow_keys_move_one_second_and_frames_step_exactly() {
    let mut h = opened("baseline.mp4");
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert_eq!(position_ms(&h), 1_000);
    step_until(&mut h, "the frame at 1 s", |app| {
        app.player().unwrap().shown == Some(Shown::Exact(25))
    });
    h.get_by_label_contains("00:00:01.000 / 00:00:02.000");
    h.get_by_label("Scrub bar at 00:00:01.000");
    h.get_by_label_contains("frame 25 / 49");
    h.key_press(egui::Key::Period);
    h.step();
    assert_eq!(position_ms(&h), 1_040);
    h.key_press(egui::Key::Comma);
    h.key_press(egui::Key::Comma);
    h.step();
    assert_eq!(position_ms(&h), 960);
    h.key_press(egui::Key::ArrowLeft);
    h.step();
    assert_eq!(position_ms(&h), 0);
    h.key_press(egui::Key::End);
    h.step();
    assert_eq!(position_ms(&h), 1_960);
    h.key_press(egui::Key::Home);
    h.step();
    assert_eq!(position_ms(&h), 0);
    h.key_press(egui::Key::CloseBracket);
    h.key_press(egui::Key::CloseBracket);
    h.step();
    assert!((h.state().player().unwrap().playback.speed() - 4.0).abs() < 1e-9);
    h.key_press(egui::Key::OpenBracket);
    h.step();
    assert!((h.state().player().unwrap().playback.speed() - 2.0).abs() < 1e-9);
}

#[test]
fn space_in_a_text_field_types_a_space_and_does_not_play() {
    let mut h = opened("baseline.mp4");
    h.get_by_role(Role::TextInput).focus();
    h.step();
    h.key_press(egui::Key::Space);
    h.get_by_role(Role::TextInput).type_text("1 s");
    h.step();
    h.step();
    assert!(
        !h.state().player().unwrap().playback.is_playing(),
        "Space went to the field"
    );
    assert_eq!(
        h.get_by_role(Role::TextInput).value().as_deref(),
        Some("1 s")
    );
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert_eq!(
        position_ms(&h),
        0,
        "arrows move the text cursor, not the playhead"
    );
}

#[test]
fn go_to_time_field_seeks_on_enter() {
    let mut h = opened("baseline.mp4");
    h.get_by_role(Role::TextInput).focus();
    h.step();
    h.get_by_role(Role::TextInput).type_text("1.5s");
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    assert_eq!(position_ms(&h), 1_500);
    assert_eq!(h.state().player().unwrap().playback.current_frame(), 37);
}

#[test]
fn a_bad_file_shows_a_toast_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("holiday.mp4");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n0000000000000000").unwrap();
    let mut h = app_harness(None);
    h.state_mut().submit(AppCommand::Open(bad));
    step_until(&mut h, "the open job", |app| {
        !app.is_opening() && !app.toasts.messages().is_empty()
    });
    h.step();
    let message = h.state().toasts.messages().join("\n");
    assert!(
        message.contains("holiday.mp4") && message.contains("PNG"),
        "{message}"
    );
    h.get_by_label_contains("holiday.mp4");
    assert!(h.state().player().is_none());
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_file_opens_it_and_remembers_it() {
    let mut h = app_harness(None);
    h.get_by_label_contains("drop an MP4");
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(asset("vfr.mp4"))));
    h.step();
    step_until(&mut h, "the dropped video", |app| app.player().is_some());
    assert!(h.state().settings.recent_files[0].ends_with("vfr.mp4"));
    h.get_by_label_contains("(VFR)");
}

#[test]
fn clicking_the_scrub_bar_seeks_there() {
    let mut h = opened("baseline.mp4");
    let bar = h.get_by_label_contains("Scrub bar").rect();
    // The ruler fits the 2 s video to its width on open.
    h.hover_at(bar.center());
    h.drag_at(bar.center());
    h.drop_at(bar.center());
    h.step();
    h.step();
    let ms = position_ms(&h);
    assert!(
        (800..=1_200).contains(&ms),
        "clicked the middle, landed at {ms} ms"
    );
}

/// Byte offsets of the top-level boxes of an MP4 of a given type.
fn top_level_boxes(bytes: &[u8], kind: [u8; 4]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut offset = 0usize;
    while offset + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        if bytes[offset + 4..offset + 8] == kind {
            found.push(offset);
        }
        if size < 8 {
            break;
        }
        offset += size;
    }
    found
}

#[test]
fn follow_live_picks_up_new_fragments_of_a_growing_file() {
    let full = std::fs::read(asset("fragmented.mp4")).unwrap();
    let moofs = top_level_boxes(&full, *b"moof");
    assert!(moofs.len() >= 3);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.mp4");
    std::fs::write(&live, &full[..moofs[2]]).unwrap();

    let mut h = opened_path(live.clone());
    let first_count = h.state().player().unwrap().playback.frame_count();
    h.get_by_label("Follow live").click();
    step_until(&mut h, "follow-live to turn on", |app| {
        app.player().unwrap().playback.follows_live()
    });

    // The recorder appends the rest of the stream.
    std::fs::write(&live, &full).unwrap();
    step_until(&mut h, "the grown stream", |app| {
        app.player().unwrap().playback.frame_count() > first_count
    });
    let playback = &h.state().player().unwrap().playback;
    assert_eq!(playback.frame_count(), 50);
    assert!(playback.follows_live());
    assert_eq!(
        playback.position_ns(),
        playback.last_frame_ns(),
        "at the live edge"
    );
}

#[test]
fn shift_drag_on_the_scrub_bar_selects_a_loop_and_playback_wraps_inside_it() {
    let mut h = opened("baseline.mp4");
    let bar = h.get_by_label_contains("Scrub bar").rect();
    let at = |fraction: f32| egui::pos2(bar.left() + bar.width() * fraction, bar.center().y);
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
    h.hover_at(at(0.25));
    h.drag_at(at(0.25));
    h.hover_at(at(0.4));
    h.hover_at(at(0.5));
    h.drop_at(at(0.5));
    h.step();
    h.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    h.step();
    let playback = &h.state().player().unwrap().playback;
    let (start, end) = playback.loop_range_ns().expect("a loop range");
    assert!(
        (400..=600).contains(&(start / 1_000_000)),
        "loop starts at {start}"
    );
    assert!(
        (900..=1_100).contains(&(end / 1_000_000)),
        "loop ends at {end}"
    );
    assert!(playback.is_looping());
    h.state_mut().submit(AppCommand::Seek(900_000_000));
    h.key_press(egui::Key::Space);
    for _ in 0..6 {
        h.step();
        let ms = position_ms(&h);
        assert!(
            (start / 1_000_000..end / 1_000_000).contains(&ms),
            "played out of the loop: {ms} ms"
        );
    }
    assert!(h.state().player().unwrap().playback.is_playing());
}

#[test]
fn the_ruler_zooms_at_the_mouse_pans_on_drag_and_fits_on_double_click() {
    let mut h = opened("baseline.mp4");
    let (start, end) = h.state().timeline_view_ns();
    assert!(
        start.abs() < 1e6 && (end - 2e9).abs() < 1e6,
        "fitted: {start}..{end}"
    );
    let ruler = h.get_by_label_contains("Time ruler").rect();
    let mouse = egui::pos2(ruler.left() + ruler.width() * 0.25, ruler.center().y);
    let time_at = |h: &Harness<'_, TaskMemApp>, x: f32| {
        let (s, e) = h.state().timeline_view_ns();
        s + (e - s) * f64::from((x - ruler.left()) / ruler.width())
    };
    let anchor_before = time_at(&h, mouse.x);
    h.hover_at(mouse);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 200.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    for _ in 0..4 {
        h.step();
    }
    let (s, e) = h.state().timeline_view_ns();
    assert!(e - s < 1.5e9, "zoomed in: {s}..{e}");
    let anchor_after = time_at(&h, mouse.x);
    assert!(
        (anchor_after - anchor_before).abs() < 2e7,
        "the time under the mouse stays put"
    );

    // Drag the ruler right: earlier times come into view.
    let (s_before, _) = h.state().timeline_view_ns();
    h.drag_at(mouse);
    h.hover_at(mouse + egui::vec2(60.0, 0.0));
    h.hover_at(mouse + egui::vec2(120.0, 0.0));
    h.drop_at(mouse + egui::vec2(120.0, 0.0));
    h.step();
    let (s_after, _) = h.state().timeline_view_ns();
    assert!(s_after < s_before, "panned: {s_before} -> {s_after}");

    // Double-click fits the whole video again.
    for pressed in [true, false, true, false] {
        h.input_mut().events.push(egui::Event::PointerButton {
            pos: mouse,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.step();
    h.step();
    let (start, end) = h.state().timeline_view_ns();
    assert!(
        start.abs() < 1e6 && (end - 2e9).abs() < 1e6,
        "fitted again: {start}..{end}"
    );
}

#[test]
fn opening_a_suite_shows_a_stream_with_its_questions_as_markers() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-mme");
    let mut h = app_harness(Some(suite));
    step_until(&mut h, "the suite's first test stream", |app| {
        app.player().is_some()
    });
    let player = h.state().player().unwrap();
    assert!(
        player.path.ends_with("test/world-mme-test-00/video.mp4"),
        "{}",
        player.path.display()
    );
    let questions = player.questions.len();
    assert!(questions > 5, "{questions} questions");
    assert!(
        player
            .questions
            .windows(2)
            .all(|w| w[0].ask_ms <= w[1].ask_ms)
    );
    h.step();
    h.get_by_label(&format!("Tasks lane ({questions} tasks)"));
    h.get_by_label("Suite").click();
    for _ in 0..3 {
        h.step();
    }
    h.get_by_label("world-mme-train-00");
    h.get_by_label("world-mme-test-03");
}

/// The app on a project folder, opened and laid out.
fn project_harness_at(project: PathBuf) -> Harness<'static, TaskMemApp> {
    let mut h = app_harness(Some(project));
    step_until(&mut h, "the project", |app| {
        app.project().is_some() && app.player().is_some()
    });
    for _ in 0..3 {
        h.step();
    }
    h
}

/// The committed demo project, read only.
fn project_harness() -> Harness<'static, TaskMemApp> {
    project_harness_at(asset("project_v1"))
}

#[test]
fn a_project_without_its_video_shows_memory_lanes_on_an_empty_stage() {
    let h = project_harness();
    let player = h.state().player().unwrap();
    assert!(
        player.decoder.is_none(),
        "the demo's videos are not on disk"
    );
    assert_eq!(player.playback.duration_ns(), 120_000_000_000);
    h.get_by_label("Memory lane General Memory (12 entries)");
    h.get_by_label("Memory lane Object Reasoning (12 entries)");
    h.get_by_label_contains("No video for this stream");
    assert_eq!(h.state().project().unwrap().row_count(), 24);
}

#[test]
fn selecting_a_memory_row_moves_the_video_time_and_arrows_walk_the_rows() {
    let mut h = project_harness();
    h.get_all_by_label_contains("00:00:30  ")
        .next()
        .unwrap()
        .click();
    for _ in 0..3 {
        h.step();
    }
    assert_eq!(position_ms(&h), 30_000);
    let first = h.state().project().unwrap().selected().unwrap().start_ms;
    assert_eq!(first, 30_000);
    h.key_press(egui::Key::ArrowDown);
    h.key_press(egui::Key::ArrowDown);
    for _ in 0..4 {
        h.step();
    }
    // Two rows further: the other lane's entry for the same clip, then the next clip.
    assert_eq!(
        h.state().project().unwrap().selected().unwrap().start_ms,
        40_000
    );
    assert_eq!(position_ms(&h), 40_000);
}

#[test]
fn searching_filters_the_memory_rows() {
    use egui_kittest::kittest::NodeT as _;
    let mut h = project_harness();
    let all = h.state().project().unwrap().row_count();
    h.get_by_label("Search").focus();
    h.step();
    h.get_by_label("Search").type_text("caltech");
    for _ in 0..3 {
        h.step();
    }
    let found = h.state().project().unwrap().row_count();
    assert!(found >= 1 && found < all, "{found} of {all} rows");
    // The hits are marked on the timeline too: a lane says how many it holds.
    let marked: usize = h
        .get_all_by_label_contains("search hits)")
        .map(|node| {
            let label = node.accesskit_node().label().unwrap_or_default();
            let count = label.rsplit(", ").next().unwrap_or_default();
            count
                .trim_end_matches(" search hits)")
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(marked, found, "every listed hit is marked on a lane");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn labels_are_saved_with_the_project_and_undo_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let mut h = project_harness_at(project.clone());
    h.get_all_by_label_contains("00:00:10  ")
        .next()
        .unwrap()
        .click();
    for _ in 0..3 {
        h.step();
    }
    let id = h.state().project().unwrap().selected().unwrap().id;
    h.get_by_label("hallucinated").click();
    for _ in 0..3 {
        h.step();
    }
    let verdict = |h: &Harness<'_, TaskMemApp>| h.state().project().unwrap().labels().verdict(id);
    assert_eq!(verdict(&h), Some(Verdict::Hallucinated));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    for _ in 0..2 {
        h.step();
    }
    assert_eq!(verdict(&h), None, "Ctrl+Z undoes the label");
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    for _ in 0..2 {
        h.step();
    }
    assert_eq!(
        verdict(&h),
        Some(Verdict::Hallucinated),
        "Ctrl+Shift+Z redoes it"
    );
    // Saved: a fresh open of the folder has it.
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.labels.verdict(id), Some(Verdict::Hallucinated));
}

#[test]
fn entries_written_live_on_another_thread_appear_and_follow_live_keeps_up() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let mut h = project_harness_at(project.clone());
    h.get_by_label("Follow live").click();
    step_until(&mut h, "follow-live", |app| {
        app.player().unwrap().playback.follows_live()
    });

    let (tx, rx) = crossbeam_channel::bounded(8);
    h.state_mut().attach_live_writer(rx);
    let writer_dir = project.clone();
    let writer = std::thread::Builder::new()
        .name("test-live-writer".to_owned())
        .spawn(move || {
            let mut appender = taskmem::project::MemoryAppender::open(&writer_dir).unwrap();
            for k in 0..30i64 {
                let entry = taskmem::memory::MemoryEntry {
                    budget_tokens: None,
                    id: 10_000 + k as u64,
                    stream: "video5_obj".to_owned(),
                    lane: "live".to_owned(),
                    start_ms: k * 10_000,
                    end_ms: (k + 1) * 10_000,
                    text: format!("live entry {k}"),
                    available_ms: (k + 1) * 10_000 + 2_000,
                    policy: Some("test-writer".to_owned()),
                    adapter: None,
                    raw_response: None,
                    score: None,
                    highlights: Vec::new(),
                };
                appender.append(&entry).unwrap();
                tx.send(entry).unwrap();
            }
        })
        .unwrap();
    step_until(&mut h, "the live entries", |app| {
        app.project().unwrap().row_count() == 24 + 30
    });
    writer.join().unwrap();
    h.step();
    h.get_by_label("Memory lane live (30 entries)");
    let playback = &h.state().player().unwrap().playback;
    assert_eq!(
        playback.duration_ns(),
        300_000_000_000,
        "the stage grew with the stream"
    );
    assert!(playback.follows_live());
    assert_eq!(
        playback.position_ns(),
        playback.last_frame_ns(),
        "at the newest"
    );
    // Everything the writer sent is on disk.
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.memory.len(), 87 + 30);
}

/// A project in `dir` made from a shipped world stream (its video, reference lane and tasks).
fn world_stream_project(dir: &Path) -> (PathBuf, taskmem::project::Project) {
    let project = dir.join("p");
    let stream =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00");
    let mut p = taskmem::project::Project::create(&project, "p").unwrap();
    p.add_imported(taskmem::memory::import::world_stream(&stream).unwrap())
        .unwrap();
    (project, p)
}

#[test]
fn a_project_over_a_world_stream_plays_its_video_and_shows_clip_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let (project, p) = world_stream_project(dir.path());
    let world_tasks = p.tasks.tasks().len();
    drop(p);
    let mut h = app_harness(Some(project));
    step_until(&mut h, "the stream's video", |app| {
        app.player().is_some_and(|p| p.decoder.is_some()) && app.project().is_some()
    });
    step_until(&mut h, "the previews", |app| {
        let (built, total) = app
            .player()
            .unwrap()
            .decoder
            .as_ref()
            .unwrap()
            .preview_progress();
        built == total
    });
    for _ in 0..3 {
        h.step();
    }
    let (tasks, clips) = (world_tasks, common::world_clips());
    h.get_by_label(&format!("Memory lane Reference ({clips} entries)"));
    h.get_by_label(&format!("Tasks lane ({tasks} tasks)"));
    h.get_all_by_label_contains("00:00:20  ")
        .next()
        .unwrap()
        .click();
    for _ in 0..4 {
        h.step();
    }
    assert_eq!(position_ms(&h), 20_000);
    assert!(
        h.get_all_by_role(Role::Image).count() >= 4,
        "the video and three thumbnails"
    );
    assert!(
        !h.state()
            .toasts
            .messages()
            .iter()
            .any(|m| m.contains("not the video")),
        "the stream's own video passes its hash check"
    );
}

#[test]
fn the_browser_filters_by_time_range_and_label_and_sorts_by_label() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let mut h = project_harness_at(project);
    h.get_by_label("from").focus();
    h.step();
    h.get_by_label("from").type_text("0:30");
    h.step();
    h.get_by_label("to").focus();
    h.step();
    h.get_by_label("to").type_text("50s");
    for _ in 0..3 {
        h.step();
    }
    // Clips 30-40 s and 40-50 s in both lanes.
    assert_eq!(h.state().project().unwrap().row_count(), 4);

    let id = h.state().project().unwrap().selected().map(|e| e.id);
    assert!(id.is_none());
    h.get_all_by_label_contains("00:00:40  ")
        .next()
        .unwrap()
        .click();
    for _ in 0..3 {
        h.step();
    }
    let picked = h.state().project().unwrap().selected().unwrap().id;
    h.get_by_label("irrelevant").click();
    for _ in 0..3 {
        h.step();
    }
    let view = h.state_mut().project_mut().unwrap();
    view.set_filters(LabelFilter::Is(Verdict::Irrelevant), RowSort::Time);
    assert_eq!(view.row_count(), 1);
    view.set_filters(LabelFilter::Unlabeled, RowSort::Time);
    assert_eq!(view.row_count(), 3, "the unlabeled ones");
    view.set_filters(LabelFilter::Any, RowSort::Verdict);
    assert_eq!(view.row_count(), 4);
    assert_eq!(
        view.row_ids().first().copied(),
        Some(picked),
        "labeled rows sort first"
    );
}

#[test]
fn the_timeline_of_the_demo_project_looks_right() {
    use taskmem::app::project_view::ProjectView;
    use taskmem::app::task_panel::{TaskPanel, TaskView};
    use taskmem::app::ui::ruler::{RulerInput, TimeRuler};
    let project = taskmem::project::Project::open(&asset("project_v1")).unwrap();
    let mut view = ProjectView::new(project);
    let duration_ns = view.select_stream("video5_obj").unwrap().duration_ms * 1_000_000;
    // Most of the way in: the last clips are not available yet, so the delay shows.
    let position_ns = duration_ns * 9 / 10;
    let mut h = Harness::builder()
        .with_size(egui::vec2(640.0, 170.0))
        .build_ui_state(
            move |ui, (ruler, view, tasks): &mut (TimeRuler, ProjectView, TaskPanel)| {
                let input = RulerInput {
                    duration_ns,
                    position_ns,
                    keyframes_ns: &[],
                    loop_range_ns: None,
                    playing: false,
                };
                let _ = ruler.ruler_ui(ui, &input);
                let _ = view.lanes_ui(ui, ruler, position_ns, Some(duration_ns / 1_000_000));
                let task_view = TaskView {
                    library: view.tasks(),
                    generation: 0,
                    stream: view.stream(),
                    lanes: view.lanes(),
                    position_ns,
                    duration_ns,
                    frame_times_ns: &[],
                    editable: true,
                };
                let slice = view.tasks().stream_slice(view.stream());
                let _ = tasks.lane_ui(ui, ruler, slice, &task_view);
            },
            (TimeRuler::default(), view, TaskPanel::default()),
        );
    h.run_steps(3);
    h.get_by_label("Memory lane General Memory (12 entries)");
    h.get_by_label("Tasks lane (3 tasks)");
    h.snapshot("timeline_demo_project");
}

#[test]
fn a_stream_video_that_is_not_the_one_the_memory_was_made_from_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (project, mut p) = world_stream_project(dir.path());
    p.manifest.streams[0].video_sha256 = Some("0".repeat(64));
    p.save_manifest().unwrap();
    let mut h = app_harness(Some(project));
    // The hash check and the opening run on threads of their own: either may finish first.
    step_until(
        &mut h,
        "the mismatch warning, and the video playing anyway",
        |app| {
            app.toasts
                .messages()
                .iter()
                .any(|m| m.contains("not the video the memory was made from"))
                && app.player().is_some_and(|p| p.decoder.is_some())
        },
    );
}

/// A writable copy of the demo project, opened (its 3 + 4 questions are tasks).
#[test]
fn keys_one_to_four_label_the_selected_row_u_finds_the_next_unlabeled_and_progress_counts() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let mut h = project_harness_at(project.clone());
    let progress = |h: &Harness<'_, TaskMemApp>| h.state().project().unwrap().review_progress();
    let (none, all) = progress(&h);
    assert_eq!(none, 0);
    assert!(all >= 3, "{all} entries");
    assert!(h.query_by_label(&format!("0 of {all} reviewed")).is_some());
    h.get_all_by_label_contains("00:00:10  ")
        .next()
        .unwrap()
        .click();
    steps(&mut h, 3);
    let first = h.state().project().unwrap().selected().unwrap().id;
    let verdict = |h: &Harness<'_, TaskMemApp>, id| h.state().project().unwrap().verdict(id);
    h.key_press(egui::Key::Num2);
    steps(&mut h, 2);
    assert_eq!(verdict(&h, first), Some(Verdict::Hallucinated));
    h.key_press(egui::Key::Num2);
    steps(&mut h, 2);
    assert_eq!(
        verdict(&h, first),
        None,
        "the same key again clears the label"
    );
    h.key_press(egui::Key::Num1);
    steps(&mut h, 2);
    assert_eq!(verdict(&h, first), Some(Verdict::Correct));
    assert_eq!(progress(&h), (1, all));
    assert!(h.query_by_label(&format!("1 of {all} reviewed")).is_some());
    // U: the next row without a label, never the labelled one.
    h.key_press(egui::Key::U);
    steps(&mut h, 3);
    let next = h.state().project().unwrap().selected().unwrap().id;
    assert_ne!(next, first);
    assert_eq!(verdict(&h, next), None);
    h.key_press(egui::Key::Num4);
    steps(&mut h, 2);
    assert_eq!(verdict(&h, next), Some(Verdict::MissingDetail));
    // Saved with the project, and Ctrl+Z takes the last key back.
    let reopened = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(reopened.labels.verdict(next), Some(Verdict::MissingDetail));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert_eq!(verdict(&h, next), None);
}

#[test]
fn view_lanes_hides_and_reorders_timeline_lanes_and_the_project_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let mut h = project_harness_at(project.clone());
    let lane_shown = |h: &Harness<'_, TaskMemApp>, title: &str| {
        h.query_by_label_contains(&format!("Memory lane {title} ("))
            .is_some()
    };
    assert!(lane_shown(&h, "Object Reasoning"));
    h.get_by_label("View").click();
    steps(&mut h, 2);
    h.get_by_label("Lanes").click();
    steps(&mut h, 2);
    h.get_by_label("Object Reasoning").click();
    steps(&mut h, 3);
    assert!(
        !lane_shown(&h, "Object Reasoning"),
        "unticked: off the timeline"
    );
    assert!(lane_shown(&h, "General Memory"));
    // Down: General Memory goes below Object Reasoning.
    h.get_all_by_label("Down").next().unwrap().click();
    steps(&mut h, 3);
    let order: Vec<String> = h
        .state()
        .project()
        .unwrap()
        .lane_legend()
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    assert_eq!(order[..2], ["object-reasoning", "general"]);
    let reopened = taskmem::project::Project::open(&project).unwrap();
    let lanes = &reopened.manifest.lanes;
    assert_eq!(lanes[1].id, "general");
    assert!(
        lanes
            .iter()
            .find(|l| l.id == "object-reasoning")
            .unwrap()
            .hidden
    );
    // A hidden lane is still browsed: its rows stay listed.
    assert_eq!(h.state().project().unwrap().row_count(), 24);
}

/// A click on a library column's header orders the rows by it, a second turns it round, a
/// third goes back to the library's own order.
fn library_columns_order_on_a_click_and_turn_round_on_the_second(
    h: &mut Harness<'static, TaskMemApp>,
) {
    let column = |h: &Harness<'_, TaskMemApp>, of: fn(&taskmem::tasks::Task) -> String| {
        let tasks = h.state().project().unwrap().tasks().tasks().to_vec();
        let rows = h.state().task_panel().library_rows().to_vec();
        rows.iter().map(|&i| of(&tasks[i])).collect::<Vec<String>>()
    };
    let texts = |t: &taskmem::tasks::Task| t.text.to_lowercase();
    let unsorted = column(h, texts);
    let mut ascending = unsorted.clone();
    ascending.sort();
    assert_ne!(
        unsorted, ascending,
        "the fixture is not in text order already"
    );
    h.get_by_label("question").click();
    steps(h, 2);
    assert_eq!(column(h, texts), ascending, "one click: A to Z");
    h.get_by_label("question").click();
    steps(h, 2);
    let mut descending = ascending.clone();
    descending.reverse();
    assert_eq!(column(h, texts), descending, "a second click: Z to A");
    h.get_by_label("question").click();
    steps(h, 2);
    assert_eq!(
        column(h, texts),
        unsorted,
        "a third: the library's own order"
    );
    // The type column's right edge drags it wider.
    let before = h.state().task_panel().columns.task_type;
    let header = h.get_by_label("type").rect();
    let edge = egui::pos2(header.left() + before, header.center().y);
    h.hover_at(edge);
    h.drag_at(edge);
    h.hover_at(edge + egui::vec2(30.0, 0.0));
    h.hover_at(edge + egui::vec2(60.0, 0.0));
    h.drop_at(edge + egui::vec2(60.0, 0.0));
    steps(h, 2);
    let after = h.state().task_panel().columns.task_type;
    assert!((after - before - 60.0).abs() < 1.0, "{before} -> {after}");
}

fn writable_project() -> (tempfile::TempDir, PathBuf, Harness<'static, TaskMemApp>) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    copy_dir(&asset("project_v1"), &project);
    let h = project_harness_at(project.clone());
    (dir, project, h)
}

fn steps(h: &mut Harness<'_, TaskMemApp>, n: usize) {
    for _ in 0..n {
        h.step();
    }
}

fn task<'a>(h: &'a Harness<'_, TaskMemApp>, id: &str) -> Option<&'a taskmem::tasks::Task> {
    let view = h.state().project().unwrap();
    view.tasks().get(view.stream(), id)
}

#[test]
fn ctrl_e_creates_a_task_at_the_playhead_typing_fills_it_and_undo_removes_it() {
    let (_dir, project, mut h) = writable_project();
    assert_eq!(h.state().project().unwrap().tasks().len(), 7);
    h.state_mut().submit(AppCommand::Seek(30_000_000_000));
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 3);
    let created = task(&h, "task-1").expect("Ctrl+E made a task");
    assert_eq!(created.ask_ms, 30_000);
    assert_eq!(h.state().task_panel().selected(), Some("task-1"));
    assert!(
        h.get_by_label("Question").is_focused(),
        "the form opens with the question focused"
    );
    h.get_by_label("Question")
        .type_text("How many cups are on the table?");
    steps(&mut h, 2);
    h.get_by_label("Type").focus();
    h.step();
    h.get_by_label("Type").type_text("Counting Problem");
    steps(&mut h, 3);
    let typed = task(&h, "task-1").unwrap();
    assert_eq!(typed.text, "How many cups are on the table?");
    assert_eq!(typed.task_type, "Counting Problem");
    // Saved as typed: the project on disk has it.
    let on_disk = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(on_disk.tasks.len(), 8);
    assert_eq!(
        on_disk.tasks.get("video5_obj", "task-1").unwrap().text,
        "How many cups are on the table?"
    );

    // Leave the field, then undo: the type, the whole typed question, then the task.
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert_eq!(task(&h, "task-1").unwrap().task_type, "");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert_eq!(task(&h, "task-1").unwrap().text, "");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert!(task(&h, "task-1").is_none(), "undo removes the task");
    let on_disk = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(
        on_disk.tasks.len(),
        7,
        "the questions stay, the new task is gone"
    );
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    steps(&mut h, 2);
    assert!(task(&h, "task-1").is_some(), "redo brings it back");
}

#[test]
fn creating_a_task_while_the_video_plays_keeps_the_time_you_started() {
    let (_dir, _project, mut h) = writable_project();
    h.key_press(egui::Key::Space);
    steps(&mut h, 4);
    assert!(h.state().player().unwrap().playback.is_playing());
    let pressed_at = position_ms(&h);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 6);
    let ask_ms = task(&h, "task-1").unwrap().ask_ms;
    // kittest gives the Ctrl key-down a frame of its own (250 ms of play) before the E.
    assert!(
        (pressed_at..=pressed_at + 250).contains(&ask_ms),
        "asked at {ask_ms}, pressed at {pressed_at}"
    );
    assert!(
        position_ms(&h) >= ask_ms + 1_000,
        "the video plays on; the ask time stays"
    );
}

#[test]
fn a_drag_on_the_tasks_lane_sets_evidence_and_alt_arrows_nudge_its_edges() {
    let (_dir, _project, mut h) = writable_project();
    h.state_mut().submit(AppCommand::Seek(60_000_000_000));
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 3);
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    let lane = h.get_by_label_contains("Tasks lane (").rect();
    let at = |fraction: f32| egui::pos2(lane.left() + lane.width() * fraction, lane.center().y);
    // Away from the question markers (at 8 s, 18 s and 28 s).
    h.hover_at(at(0.5));
    h.drag_at(at(0.5));
    h.hover_at(at(0.6));
    h.hover_at(at(0.7));
    h.drop_at(at(0.7));
    steps(&mut h, 3);
    let evidence = task(&h, "task-1").unwrap().evidence.clone();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    let span = evidence[0];
    assert!(
        (59_000..=61_000).contains(&span.start_ms),
        "starts at {span:?}"
    );
    assert!((83_000..=85_000).contains(&span.end_ms), "ends at {span:?}");
    // Dragged edges land on frames (ten a second here), the start on the 60 s clip boundary.
    assert_eq!(span.start_ms, 60_000, "{span:?}");
    assert_eq!(span.end_ms % 100, 0, "{span:?}");

    // The start edge by a frame (this empty stage has ten a second), the end by a second.
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowRight);
    steps(&mut h, 2);
    let nudged = task(&h, "task-1").unwrap().evidence[0];
    assert_eq!(nudged.start_ms, span.start_ms.div_euclid(100) * 100 + 100);
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowDown);
    h.key_press_modifiers(
        egui::Modifiers::ALT | egui::Modifiers::SHIFT,
        egui::Key::ArrowLeft,
    );
    steps(&mut h, 2);
    let nudged_end = task(&h, "task-1").unwrap().evidence[0];
    assert_eq!(nudged_end.end_ms, span.end_ms - 1_000);
    assert_eq!(nudged_end.start_ms, nudged.start_ms);
    assert_eq!(position_ms(&h), 60_000, "nudging never moves the playhead");
}

#[test]
fn ctrl_arrows_jump_between_tasks_and_the_library_filters_and_deletes_in_bulk() {
    let (_dir, _project, mut h) = writable_project();
    let asks: Vec<i64> = {
        let view = h.state().project().unwrap();
        view.tasks()
            .stream_slice(view.stream())
            .iter()
            .map(|t| t.ask_ms)
            .collect()
    };
    assert_eq!(asks.len(), 3);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    steps(&mut h, 2);
    assert_eq!(position_ms(&h), asks[0]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    steps(&mut h, 2);
    assert_eq!(position_ms(&h), asks[1]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowLeft);
    steps(&mut h, 2);
    assert_eq!(position_ms(&h), asks[0]);
    assert!(h.state().task_panel().selected().is_some());

    h.get_by_label("Task library").click();
    steps(&mut h, 3);
    assert_eq!(h.state().task_panel().library_rows().len(), 3);
    h.get_by_label("all streams").click();
    steps(&mut h, 3);
    assert_eq!(h.state().task_panel().library_rows().len(), 7);
    library_columns_order_on_a_click_and_turn_round_on_the_second(&mut h);
    h.get_by_label("Search").focus();
    h.step();
    h.get_by_label("Search").type_text("who");
    steps(&mut h, 3);
    let found = h.state().task_panel().library_rows().len();
    assert!((1..7).contains(&found), "{found} of 7 tasks match");
    h.get_by_label("select all shown").click();
    steps(&mut h, 2);
    h.get_by_label(&format!("Delete {found}")).click();
    steps(&mut h, 3);
    assert_eq!(h.state().project().unwrap().tasks().len(), 7 - found);
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert_eq!(
        h.state().project().unwrap().tasks().len(),
        7,
        "one undo brings the bulk delete back"
    );
}

#[test]
fn importing_questions_adds_their_tasks_and_a_malformed_file_gets_a_toast_naming_the_record() {
    let (dir, _project, mut h) = writable_project();
    h.state_mut().submit(AppCommand::ImportTasks(Some(asset(
        "tasks/videomme_flat_sample.json",
    ))));
    step_until(&mut h, "the import", |app| {
        app.project().unwrap().tasks().len() == 7 + 11
    });
    h.get_by_label_contains("Imported 11 tasks over 6 streams");
    // Importing the same file again changes nothing.
    h.state_mut().submit(AppCommand::ImportTasks(Some(asset(
        "tasks/videomme_flat_sample.json",
    ))));
    step_until(&mut h, "the second import", |app| {
        app.toasts
            .messages()
            .iter()
            .any(|m| m.contains("(11 already there)"))
    });
    assert_eq!(h.state().project().unwrap().tasks().len(), 18);

    let bad = dir.path().join("broken.json");
    let text = std::fs::read_to_string(asset("tasks/videomme_flat_sample.json")).unwrap();
    std::fs::write(&bad, text.replacen("\"answer\"", "\"answr\"", 1)).unwrap();
    h.state_mut().submit(AppCommand::ImportTasks(Some(bad)));
    step_until(&mut h, "the error toast", |app| {
        app.toasts
            .messages()
            .iter()
            .any(|m| m.contains("broken.json") && m.contains("record 1"))
    });
    assert_eq!(h.state().project().unwrap().tasks().len(), 18);
}

#[test]
fn a_world_stream_becomes_a_project_whose_questions_are_tasks() {
    let stream =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00");
    let questions = std::fs::read_to_string(stream.join("tasks.jsonl"))
        .unwrap()
        .lines()
        .count();
    let mut h = opened_path(stream);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 2);
    h.get_by_label_contains("Tasks are saved in a project");
    let dir = tempfile::tempdir().unwrap();
    h.state_mut()
        .submit(AppCommand::NewProjectFromVideo(Some(dir.path().join("p"))));
    step_until(&mut h, "the new project", |app| {
        app.project()
            .is_some_and(|p| p.tasks().len() == questions && app.player().is_some())
    });
    steps(&mut h, 3);
    h.get_by_label(&format!("Tasks lane ({questions} tasks)"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 3);
    assert_eq!(h.state().project().unwrap().tasks().len(), questions + 1);
}

#[test]
fn tasks_asked_at_the_same_time_are_each_reachable_and_form_fields_belong_to_their_task() {
    let (_dir, _project, mut h) = writable_project();
    h.state_mut().submit(AppCommand::Seek(50_000_000_000));
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 3);
    h.get_by_label("Question").type_text("First question?");
    steps(&mut h, 2);
    // A second task at the same time, made while typing in the first.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    steps(&mut h, 3);
    assert_eq!(h.state().task_panel().selected(), Some("task-2"));
    // The new task's field has its own history: undo there never brings the first's text.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    steps(&mut h, 2);
    assert_eq!(task(&h, "task-2").unwrap().text, "");
    assert_eq!(task(&h, "task-1").unwrap().text, "First question?");
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowLeft);
    steps(&mut h, 2);
    assert_eq!(h.state().task_panel().selected(), Some("task-1"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    steps(&mut h, 2);
    assert_eq!(h.state().task_panel().selected(), Some("task-2"));
}

#[test]
fn without_a_project_alt_arrows_keep_their_playback_meaning() {
    let mut h = opened("baseline.mp4");
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert_eq!(position_ms(&h), 1_000);
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowLeft);
    h.step();
    assert_eq!(position_ms(&h), 0);
    assert!(
        !h.state()
            .toasts
            .messages()
            .iter()
            .any(|m| m.contains("project")),
        "no task toast"
    );
}

#[test]
fn memorizing_while_playing_writes_each_clip_played_through_and_nothing_on_seeks() {
    use taskmem::policy::builtin::Config;
    use taskmem::policy::lang::Vocab;
    use taskmem::policy::train::Trainable;
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = world_stream_project(dir.path());
    let model = dir.path().join("model");
    Trainable::fresh(&Config::tiny(Vocab::world().len()), 3)
        .unwrap()
        .save(&model)
        .unwrap();
    let mut h = app_harness(Some(project.clone()));
    step_until(&mut h, "the stream's video", |app| {
        app.player().is_some_and(|p| p.decoder.is_some()) && app.project().is_some()
    });
    h.state_mut().settings.policy_model = Some(model);
    let lane_len = |app: &TaskMemApp| {
        let view = app.project().unwrap();
        view.lane_clip_starts("builtin").len()
    };

    // Plays from `from_ms` just past `past_ms`, then pauses (each harness step is 250 ms).
    let play_past = |h: &mut Harness<'static, TaskMemApp>, from_ms: i64, past_ms: i64| {
        h.state_mut().submit(AppCommand::Seek(from_ms * 1_000_000));
        h.state_mut().submit(AppCommand::TogglePlay);
        step_until(h, "the playhead to pass the clip end", |app| {
            app.player().unwrap().playback.position_ns() / 1_000_000 > past_ms
        });
        h.state_mut().submit(AppCommand::TogglePlay);
        h.step();
        assert!(!h.state().player().unwrap().playback.is_playing());
    };

    h.state_mut().submit(AppCommand::SetMemorizing(true));
    play_past(&mut h, 9_500, 10_000);
    // Paused: the clip in hand is still written.
    step_until(&mut h, "the first clip's memory", |app| lane_len(app) == 1);
    assert_eq!(
        h.state().project().unwrap().lane_clip_starts("builtin"),
        vec![0]
    );
    h.step();
    h.get_by_label("Memory lane builtin (1 entries)");
    h.get_by_label_contains("memorizing with builtin:model into lane builtin");
    // On disk at once, as one checked line.
    let lane_file = std::fs::read_dir(project.join("memory"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("builtin"))
        .unwrap();
    let text = std::fs::read_to_string(&lane_file).unwrap();
    assert_eq!(text.lines().count(), 1);
    let (_crc, json) = text.trim_end().split_once(' ').unwrap();
    let entry: taskmem::memory::MemoryEntry = serde_json::from_str(json).unwrap();
    assert_eq!((entry.start_ms, entry.end_ms), (0, 10_000));
    assert!(
        entry.available_ms >= entry.end_ms,
        "available at the clip end plus the processing time"
    );
    assert_eq!(entry.stream, "world-tempo-test-00");

    // A seek past clip ends memorizes nothing; playing on through the next end does.
    play_past(&mut h, 39_700, 40_000);
    step_until(&mut h, "the clip ending at 40 s", |app| lane_len(app) == 2);
    assert_eq!(
        h.state().project().unwrap().lane_clip_starts("builtin"),
        vec![0, 30_000],
        "the clips at 10 s and 20 s were skipped by the seek"
    );
    // Playing through an end already memorized writes nothing again.
    play_past(&mut h, 9_700, 10_000);
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lane_len(h.state()), 2);

    // An adapter lane runs beside the general one, its entries naming the adapter.
    let adapter = dir.path().join("zero.safetensors");
    taskmem::policy::adapter::Adapter::from_values(
        "zero",
        taskmem::policy::adapter::AdapterMeta {
            layer: 0,
            scale: 1.0,
            task_type: None,
            task_ids: Vec::new(),
            metrics: serde_json::Value::Null,
        },
        vec![0.0; Config::tiny(Vocab::world().len()).d_model],
    )
    .unwrap()
    .save(&adapter)
    .unwrap();
    h.state_mut()
        .submit(AppCommand::MemorizeWithAdapter(Some(adapter)));
    h.step();
    play_past(&mut h, 49_700, 50_000);
    step_until(&mut h, "both lanes' clip ending at 50 s", |app| {
        let view = app.project().unwrap();
        view.lane_clip_starts("builtin").contains(&40_000)
            && view.lane_clip_starts("zero").contains(&40_000)
    });
    h.step();
    h.get_by_label("Memory lane zero (1 entries)");
    h.get_by_label_contains("into lane zero");
    let texts = |lane: &str| -> Vec<String> {
        let dir = project.join("memory");
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_stem().unwrap().to_string_lossy().contains(lane))
            .unwrap();
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| {
                let entry: taskmem::memory::MemoryEntry =
                    serde_json::from_str(l.split_once(' ').unwrap().1).unwrap();
                format!(
                    "{} {}",
                    entry.start_ms,
                    entry.adapter.unwrap_or_else(|| "none".to_owned())
                )
            })
            .collect()
    };
    assert_eq!(texts("zero"), vec!["40000 zero".to_owned()]);
    assert_eq!(texts("builtin").last().unwrap(), "40000 none");

    h.state_mut().submit(AppCommand::SetMemorizing(false));
    h.step();
    assert!(h.query_by_label_contains("memorizing with").is_none());

    // Switched off right after a clip end: the clip already asked for is still written and
    // shown.
    h.state_mut().submit(AppCommand::SetMemorizing(true));
    h.step();
    h.state_mut().submit(AppCommand::Seek(69_800_000_000));
    h.state_mut().submit(AppCommand::TogglePlay);
    step_until(&mut h, "the playhead to pass 70 s", |app| {
        app.player().unwrap().playback.position_ns() > 70_000_000_000
    });
    h.state_mut().submit(AppCommand::TogglePlay);
    h.state_mut().submit(AppCommand::SetMemorizing(false));
    step_until(&mut h, "the clip asked for before switching off", |app| {
        lane_len(app) == 4
    });
    assert!(
        h.state()
            .project()
            .unwrap()
            .lane_clip_starts("builtin")
            .contains(&60_000)
    );
}

#[test]
fn the_training_window_runs_phase_one_with_progress_curves_a_report_and_cancel() {
    use taskmem::policy::phase1::{ModelSize, Phase1Settings};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let mut h = app_harness(None);
    h.step();
    h.state_mut().submit(AppCommand::ShowTraining);
    h.step();
    let mut settings = Phase1Settings {
        // World-tempo's streams whose videos the repository holds (the shipped suite
        // generates most of its videos on demand).
        suite: common::suites::tempo_small(dir.path()),
        out: out.clone(),
        seed: 2,
        warmup_steps: 6,
        steps: 2,
        extra_streams: 0,
        size: ModelSize::Tiny,
        perception: None,
        budget_tokens: 24,
        from: None,
        richness: taskmem::policy::phase1::Richness::Uniform,
    };
    h.state_mut().training.configure(&settings);
    h.step();
    h.get_by_label("Start training").click();
    steps(&mut h, 2);
    assert!(h.state().training.is_running());
    wait_for_job(&mut h, "training took too long", 240, |app| {
        app.training.is_running()
    });
    h.step();
    h.get_by_label_contains("Warm-up loss curve (6 points");
    h.get_by_label_contains("Phase One reward curve (2 points");
    h.get_by_label("phase one");
    h.get_by_label("true facts / description");
    assert!(out.join("model.safetensors").is_file());
    h.get_by_label("Memorize with this model").click();
    steps(&mut h, 2);
    assert_eq!(
        h.state().settings.policy_model.as_deref(),
        Some(out.as_path())
    );

    // A long run stops on Cancel, and writes no model.
    settings.out = dir.path().join("cancelled");
    settings.warmup_steps = 100_000;
    h.state_mut().training.configure(&settings);
    h.step();
    h.get_by_label("Start training").click();
    steps(&mut h, 2);
    h.get_by_label("Cancel training").click();
    wait_for_job(&mut h, "cancel took too long", 120, |app| {
        app.training.is_running()
    });
    h.step();
    h.get_by_label("stopped");
    assert!(!settings.out.join("model.safetensors").exists());
}

#[test]
fn the_evaluate_window_answers_a_suite_charts_it_loads_results_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let mut h = app_harness(None);
    h.step();
    h.get_by_label("Evaluate").click();
    steps(&mut h, 2);
    h.get_by_label("Evaluate from memory…").click();
    steps(&mut h, 4);
    assert!(h.state().evaluation.open);
    h.get_by_label_contains("No results yet");
    // World-tempo's streams whose videos the repository holds (the shipped suite generates
    // most of its videos on demand).
    let suite = common::suites::tempo_small(dir.path());
    let questions = common::suites::questions(&suite, "test").len();
    {
        let panel = &mut h.state_mut().evaluation;
        panel.suite = suite.display().to_string();
        panel.reference = true;
        panel.out = out.display().to_string();
    }
    h.step();
    h.get_by_label("Run evaluation").click();
    steps(&mut h, 2);
    wait_for_job(&mut h, "evaluation took too long", 120, |app| {
        app.evaluation.is_running()
    });
    h.step();
    h.get_by_label_contains("Saved in");
    h.get_by_label("Accuracy by task type (%, 95% interval)");
    // The table: both lanes, overall and per type.
    assert!(h.query_all_by_label("builtin").count() >= 2);
    assert!(h.query_all_by_label("reference").count() >= 2);
    assert_eq!(
        h.query_all_by_label("Counting Problem").count(),
        2,
        "a row per lane"
    );
    let summary = h.state().evaluation.summary().unwrap().clone();
    assert_eq!(summary.lanes.len(), 2);
    assert_eq!(summary.questions, questions);
    for file in [
        "results.parquet",
        "results.csv",
        "summary.json",
        "chart.png",
        "chart.svg",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }

    // A results folder is shown again from disk; a folder without one is a toast naming it.
    let mut fresh = app_harness(None);
    fresh.step();
    fresh.state_mut().submit(AppCommand::ShowEvaluation);
    steps(&mut fresh, 4);
    fresh.state_mut().evaluation.load = out.display().to_string();
    fresh.step();
    fresh.get_by_label("Load results").click();
    steps(&mut fresh, 2);
    let loaded = fresh.state().evaluation.summary().unwrap();
    assert_eq!(loaded.questions, summary.questions);
    assert_eq!(
        loaded
            .lanes
            .iter()
            .map(|l| (&l.lane, l.overall.correct))
            .collect::<Vec<_>>(),
        summary
            .lanes
            .iter()
            .map(|l| (&l.lane, l.overall.correct))
            .collect::<Vec<_>>()
    );
    fresh.state_mut().evaluation.load = dir.path().display().to_string();
    fresh.step();
    fresh.get_by_label("Load results").click();
    steps(&mut fresh, 2);
    let toasts = fresh.state().toasts.messages().join("\n");
    assert!(toasts.contains("summary.json"), "{toasts}");

    // A long run stops on Cancel and writes nothing.
    let cancelled = dir.path().join("cancelled");
    {
        let panel = &mut h.state_mut().evaluation;
        // Another suite, not memorized yet: a stream whose video the repository holds.
        panel.suite = common::suites::committed(
            &dir.path().join("other"),
            "world-mme",
            &["test/world-mme-test-00"],
        )
        .display()
        .to_string();
        panel.out = cancelled.display().to_string();
    }
    h.step();
    h.get_by_label("Run evaluation").click();
    steps(&mut h, 2);
    h.get_by_label("Cancel evaluation").click();
    wait_for_job(&mut h, "cancel took too long", 60, |app| {
        app.evaluation.is_running()
    });
    h.step();
    h.get_by_label("stopped");
    assert!(!cancelled.exists());
}

#[test]
fn phase_two_tunes_an_adapter_on_ten_tasks_shows_its_pairs_and_memorizes_a_new_lane() {
    let dir = tempfile::tempdir().unwrap();
    let (project, mut p) = world_stream_project(dir.path());
    // A question that, when it arrives, switches the policy to the lane tuned below.
    let mut trigger = p.tasks.tasks()[0].clone();
    trigger.trigger = true;
    trigger.switch_to = Some("all-types-10".to_owned());
    let trigger_ms = trigger.ask_ms;
    p.record_tasks(&[taskmem::tasks::TaskEvent::Put {
        task: Box::new(trigger),
    }])
    .unwrap();
    drop(p);
    let mut h = app_harness(Some(project.clone()));
    step_until(&mut h, "the stream's video", |app| {
        app.player().is_some_and(|p| p.decoder.is_some()) && app.project().is_some()
    });
    // The shipped warm-up model as the policy: its samples differ in what questions ask
    // (events), so the judge finds pairs; the shipped Phase One model's samples of these
    // clips all tie (README, Phase Two), and tuning stops with that error.
    h.state_mut().settings.policy_model =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/policy/warmup"));
    h.get_by_label("Policy").click();
    steps(&mut h, 2);
    h.get_by_label("Phase Two: tune an adapter…").click();
    steps(&mut h, 4);
    assert!(h.state().phase2.open);
    assert_eq!(
        h.state().phase2.source,
        taskmem::app::phase2_panel::TaskSource::Project,
        "a project's own tasks first"
    );
    {
        let panel = &mut h.state_mut().phase2;
        panel.task_type = String::new();
        panel.recent = 10;
        panel.steps = 6;
    }
    h.step();
    h.get_by_label("Start tuning").click();
    steps(&mut h, 2);
    wait_for_job(&mut h, "tuning took too long", 120, |app| {
        app.phase2.is_running()
    });
    h.step();
    let summary = h.state().phase2.finished().expect("an adapter").clone();
    assert!(summary.task_ids.len() <= 10 && !summary.task_ids.is_empty());
    assert_eq!(
        summary.adapter,
        project.join("adapters/all-types-10.safetensors")
    );
    assert!(summary.adapter.is_file() && summary.adapter.with_extension("json").is_file());
    h.get_by_label_contains("DPO loss curve (6 points");
    h.get_by_label_contains("Reward margin curve (6 points");
    let (kept, kept_count) = h
        .state()
        .phase2
        .judged(taskmem::app::phase2_panel::JudgedKind::Kept);
    assert!(!kept.is_empty() && kept_count == summary.counts.kept);
    // A finished run opens on what its adapter changes in the training clips' memory.
    assert_eq!(
        h.state().phase2.listing,
        taskmem::app::phase2_panel::Listing::Changes
    );
    h.get_by_label(&format!(
        "changed by the adapter {} of {}",
        summary.changes.len(),
        summary.compared
    ));
    for c in summary.changes.iter().take(3) {
        assert_ne!(c.before, c.after);
    }
    h.get_by_label(&format!("kept pairs {}", summary.counts.kept))
        .click();
    steps(&mut h, 2);
    assert_eq!(
        h.state().phase2.listing,
        taskmem::app::phase2_panel::Listing::Judged
    );
    h.get_by_label(&format!("ties {}", summary.counts.ties));
    // The project's adapters, with what their sidecars say.
    h.get_by_label("Adapters in this project (1)").click();
    steps(&mut h, 2);
    h.get_by_label_contains(&format!(
        "every type, tuned on {} tasks, {} pairs, changes {} of {} clips, judged by builtin",
        summary.task_ids.len(),
        summary.counts.kept,
        summary.changes.len(),
        summary.compared
    ));
    h.get_by_label("Evaluate with all-types-10");

    // The adapter becomes a lane, filled as the video plays.
    h.get_by_label("Memorize a lane with this adapter").click();
    steps(&mut h, 2);
    h.state_mut().submit(AppCommand::Seek(9_500 * 1_000_000));
    h.state_mut().submit(AppCommand::TogglePlay);
    step_until(&mut h, "the adapter lane's first clip", |app| {
        app.project()
            .unwrap()
            .lane_clip_starts("all-types-10")
            .contains(&0)
    });
    h.state_mut().submit(AppCommand::TogglePlay);
    h.step();
    h.get_by_label_contains("Memory lane all-types-10 (");
    // The lane records its adapter file, which the evaluation below checks.
    let recorded = h
        .state()
        .project()
        .unwrap()
        .lanes()
        .iter()
        .find(|l| l.id == "all-types-10")
        .and_then(|l| l.adapter.clone());
    assert_eq!(recorded, Some(summary.adapter.display().to_string()));
    // The trigger's arrival is where the active-lane band switches to the new lane.
    let phases = h.state().project().unwrap().active_phases();
    assert_eq!(phases.len(), 2, "{phases:?}");
    assert_eq!(phases[1].lane, "all-types-10");
    assert_eq!(phases[1].at_ms, trigger_ms);
    h.get_by_label("Active lane");

    // Evaluated on the project's own tasks, the adapter's lane is flagged: it was tuned on
    // them, so its accuracy there is not held-out.
    {
        let panel = &mut h.state_mut().evaluation;
        panel.source = taskmem::app::evaluation::EvalSource::Project;
        panel.out = dir.path().join("eval").display().to_string();
    }
    h.state_mut().submit(AppCommand::ShowEvaluation);
    steps(&mut h, 3);
    h.get_by_label("Run evaluation").click();
    steps(&mut h, 2);
    wait_for_job(&mut h, "evaluation took too long", 60, |app| {
        app.evaluation.is_running()
    });
    h.step();
    let evaluated = h.state().evaluation.summary().unwrap().clone();
    let lane = |id: &str| {
        evaluated
            .lanes
            .iter()
            .find(|l| l.lane == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        lane("all-types-10").tuned_on_evaluated,
        summary.task_ids.len()
    );
    assert!(
        evaluated
            .lanes
            .iter()
            .filter(|l| l.lane != "all-types-10")
            .all(|l| l.tuned_on_evaluated == 0),
        "lanes without an adapter saw nothing"
    );
    h.get_by_label_contains(&format!(
        "lane 'all-types-10' was tuned on {} of the {} questions evaluated here",
        summary.task_ids.len(),
        evaluated.questions
    ));
}

#[test]
fn the_phase_two_window_shows_the_tasks_that_define_the_reward_before_a_run() {
    use egui_kittest::kittest::NodeT;
    let dir = tempfile::tempdir().unwrap();
    let (project, p) = world_stream_project(dir.path());
    let all: Vec<taskmem::tasks::Task> = p.tasks.tasks().to_vec();
    drop(p);
    let mut h = app_harness(Some(project));
    step_until(&mut h, "the project", |app| app.project().is_some());
    h.state_mut().submit(AppCommand::ShowPhase2);
    steps(&mut h, 3);
    {
        let panel = &mut h.state_mut().phase2;
        panel.task_type = String::new();
        panel.recent = all.len() + 1;
    }
    steps(&mut h, 2);
    let header = format!(
        "Reward model: all {} tasks of every type there are ({} asked for)",
        all.len(),
        all.len() + 1
    );
    h.get_by_label(&header).click();
    steps(&mut h, 2);
    // Opened, it lists each task with its question.
    for t in &all {
        h.get_by_label(&t.id);
        h.get_by_label(&t.text);
    }
    // The last 10 of one type only.
    let of_type = all[0].task_type.clone();
    let n = all.iter().filter(|t| t.task_type == of_type).count();
    h.state_mut().phase2.recent = n + 1;
    of_type.clone_into(&mut h.state_mut().phase2.task_type);
    steps(&mut h, 2);
    h.get_by_label_contains(&if n == 1 {
        format!(
            "Reward model: the only task of {of_type} ({} asked for)",
            n + 1
        )
    } else {
        format!(
            "Reward model: all {n} tasks of {of_type} there are ({} asked for)",
            n + 1
        )
    });
    assert!(
        !h.get_by_label("Start tuning")
            .accesskit_node()
            .is_disabled()
    );
    // A type with no task here: said, with the types there are, and nothing to start.
    "Juggling".clone_into(&mut h.state_mut().phase2.task_type);
    steps(&mut h, 2);
    h.get_by_label_contains("Reward model: no tasks of type 'Juggling' to tune on (types there: ");
    assert!(
        h.get_by_label("Start tuning")
            .accesskit_node()
            .is_disabled()
    );
    // Ticked tasks instead of the recent N: none ticked yet.
    h.state_mut().phase2.task_type = String::new();
    h.state_mut().phase2.use_checked = true;
    steps(&mut h, 2);
    h.get_by_label_contains("tick tasks in the task library first");
    assert!(
        h.get_by_label("Start tuning")
            .accesskit_node()
            .is_disabled()
    );
}

#[test]
fn phase_two_can_be_judged_by_an_llm_endpoint_and_a_judge_that_favours_the_first_note_keeps_no_pair()
 {
    // Always prefers the note it reads first: a position bias, so every sample flips.
    let server = taskmem::remote::mock::MockServer::start(
        "{\"better\": 1, \"score_1\": 7, \"score_2\": 3}",
        Duration::ZERO,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (project, p) = world_stream_project(dir.path());
    drop(p);
    let mut h = app_harness(Some(project.clone()));
    step_until(&mut h, "the stream's video", |app| {
        app.player().is_some_and(|p| p.decoder.is_some()) && app.project().is_some()
    });
    h.state_mut().submit(AppCommand::ShowPhase2);
    steps(&mut h, 4);
    h.get_by_label("an LLM (OpenAI-compatible endpoint)")
        .click();
    steps(&mut h, 2);
    h.get_by_label("API key variable");
    {
        let panel = &mut h.state_mut().phase2;
        panel.task_type = String::new();
        panel.max_clips = 6;
        panel.samples = 6;
        server.url.clone_into(&mut panel.judge_endpoint.base_url);
        "judge-model".clone_into(&mut panel.judge_endpoint.model);
        "TASKMEM_TEST_NO_SUCH_KEY".clone_into(&mut panel.judge_endpoint.api_key_env);
    }
    h.step();
    h.get_by_label("Start tuning").click();
    steps(&mut h, 2);
    wait_for_job(&mut h, "judging took too long", 120, |app| {
        app.phase2.is_running()
    });
    h.step();
    assert!(h.state().phase2.finished().is_none(), "no pair, no adapter");
    let toasts = h.state().toasts.messages().join("\n");
    assert!(toasts.contains("no preference pairs"), "{toasts}");
    let (flips, flip_count) = h
        .state()
        .phase2
        .judged(taskmem::app::phase2_panel::JudgedKind::Flips);
    assert!(!flips.is_empty(), "every judged sample flipped");
    assert_eq!(
        h.state().phase2.showing,
        taskmem::app::phase2_panel::JudgedKind::Flips,
        "a run without pairs opens on what was dropped"
    );
    h.get_by_label(&format!("flips {flip_count}"));
    h.get_by_label("ties 0");
    // Each sample was asked about in both orders, and the window counts the requests.
    assert_eq!(
        server.answered.load(std::sync::atomic::Ordering::SeqCst),
        2 * flip_count
    );
    h.get_by_label_contains(&format!("Remote judge: {} requests", 2 * flip_count));
}

/// The Evaluate window set to answer the test questions of world-tempo's committed streams
/// (copied into `out`'s folder) with `model` behind `url`, writing to `out` (not started): how
/// many test questions there are.
fn evaluate_world_tempo_with(
    h: &mut Harness<'_, TaskMemApp>,
    out: &Path,
    url: &str,
    model: &str,
) -> usize {
    h.step();
    h.state_mut().submit(AppCommand::ShowEvaluation);
    steps(h, 4);
    let suite = common::suites::tempo_small(out.parent().unwrap());
    {
        let panel = &mut h.state_mut().evaluation;
        panel.suite = suite.display().to_string();
        panel.out = out.display().to_string();
    }
    h.step();
    h.get_by_label("an LLM (OpenAI-compatible endpoint)")
        .click();
    steps(h, 2);
    {
        let panel = &mut h.state_mut().evaluation;
        url.clone_into(&mut panel.endpoint.base_url);
        model.clone_into(&mut panel.endpoint.model);
        "TASKMEM_TEST_NO_SUCH_KEY".clone_into(&mut panel.endpoint.api_key_env);
    }
    h.step();
    common::suites::questions(&suite, "test").len()
}

#[test]
fn the_evaluate_window_can_answer_with_an_llm_endpoint_and_counts_its_requests() {
    let server =
        taskmem::remote::mock::MockServer::start("The best answer is B.", Duration::ZERO).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut h = app_harness(None);
    let questions =
        evaluate_world_tempo_with(&mut h, &dir.path().join("r"), &server.url, "judge-model");
    h.get_by_label("Run evaluation").click();
    steps(&mut h, 2);
    wait_for_job(&mut h, "evaluation took too long", 120, |app| {
        app.evaluation.is_running()
    });
    h.step();
    let summary = h.state().evaluation.summary().unwrap().clone();
    assert_eq!(summary.answerer, "remote:judge-model");
    // Each question, two lanes (the policy's and the reference): one request each.
    h.get_by_label_contains(&format!(
        "Remote answerer: {} requests (0 failed or retried)",
        2 * questions
    ));
    assert_eq!(
        server.answered.load(std::sync::atomic::Ordering::SeqCst),
        2 * questions
    );
}

#[test]
fn a_remote_model_memorizes_its_own_lane_while_playing() {
    let server = taskmem::remote::mock::MockServer::start(
        "<think>a kitchen</think>{\"description\": \"In the kitchen, the remote model sees a table.\"}",
        Duration::from_millis(50),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = world_stream_project(dir.path());
    let mut h = app_harness(Some(project));
    step_until(&mut h, "the stream's video", |app| {
        app.player().is_some_and(|p| p.decoder.is_some()) && app.project().is_some()
    });
    {
        let settings = &mut h.state_mut().settings;
        settings.remote_base_url.clone_from(&server.url);
        settings.remote_model = "remote-vlm".to_owned();
        settings.remote_api_key_env = "TASKMEM_TEST_NO_SUCH_KEY".to_owned();
    }
    h.state_mut().submit(AppCommand::MemorizeRemote);
    h.step();
    h.state_mut().submit(AppCommand::Seek(9_500 * 1_000_000));
    h.state_mut().submit(AppCommand::TogglePlay);
    step_until(&mut h, "the remote lane's first clip", |app| {
        app.project()
            .unwrap()
            .lane_clip_starts("remote-vlm")
            .contains(&0)
    });
    h.state_mut().submit(AppCommand::TogglePlay);
    h.step();
    h.get_by_label_contains("Memory lane remote-vlm (");
    let view = h.state().project().unwrap();
    assert!(
        view.lane_clip_starts("builtin").is_empty(),
        "only the remote lane was started"
    );
    assert!(server.answered.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let lane_file = std::fs::read_dir(dir.path().join("p/memory"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("remote-vlm"))
        .unwrap();
    let text = std::fs::read_to_string(lane_file).unwrap();
    assert!(text.contains("the remote model sees a table"), "{text}");
    assert!(text.contains("remote:remote-vlm"), "{text}");
}

#[test]
fn a_stalled_endpoint_never_holds_the_ui_and_cancel_drops_its_request() {
    // An endpoint that takes two minutes to answer anything.
    let server =
        taskmem::remote::mock::MockServer::start("The best answer is B.", Duration::from_secs(120))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut h = app_harness(None);
    evaluate_world_tempo_with(&mut h, &dir.path().join("r"), &server.url, "stalled-model");
    {
        let panel = &mut h.state_mut().evaluation;
        panel.reference = false;
        panel.endpoint.prices.input_per_mtok_usd = 1.0;
    }
    h.step();
    h.get_by_label("Run evaluation").click();
    // The suite is memorized first; then the first question goes out and hangs.
    let start = Instant::now();
    while server.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no request went out"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Frames go on being drawn while the request hangs, with the counters on show.
    steps(&mut h, 10);
    assert!(h.state().evaluation.is_running());
    h.get_by_label_contains("Remote answerer: 1 requests (0 failed or retried)");
    h.get_by_label("Cancel evaluation").click();
    wait_for_job(&mut h, "the cancel to stop the run", 5, |app| {
        app.evaluation.is_running()
    });
    h.step();
    assert!(h.state().evaluation.summary().is_none());
    assert!(
        h.state().toasts.messages().is_empty(),
        "a cancel is not an error: {:?}",
        h.state().toasts.messages()
    );
    assert!(
        !dir.path().join("r/results.parquet").exists(),
        "a cancelled run writes nothing"
    );
    assert_eq!(server.answered.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// The app at a start with `settings`, building its demos under `data`.
fn start_with(settings: Settings, data: &Path) -> Harness<'static, TaskMemApp> {
    let data = data.to_path_buf();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |_| {
            let mut app = TaskMemApp::with_settings(settings, None);
            app.data_dir = data;
            app
        })
}

/// The settings of someone who closed the welcome window before, with nothing open last.
fn returning() -> Settings {
    Settings {
        welcomed: true,
        ..Settings::default()
    }
}

#[test]
fn the_first_start_opens_the_welcome_window_on_the_live_demo_and_the_second_the_last_project() {
    let data = tempfile::tempdir().unwrap();
    let mut h = start_with(Settings::default(), data.path());
    h.step();
    h.get_by_label("Open the demo: a world stream, memorized live");
    h.get_by_label("Open the memory-only demo: TaskMem's own memories");
    h.get_by_label("Open a video or project…");
    h.get_by_label("Present the demo  (F11)");
    // Behind the welcome window the demo opens, plays and memorizes: something alive.
    step_until(&mut h, "the demo playing and memorizing", |app| {
        app.project().is_some()
            && app
                .player()
                .is_some_and(|p| p.decoder.is_some() && p.playback.is_playing())
            && app.is_memorizing()
    });
    let demo = data.path().join("demo");
    assert_eq!(
        h.state().project().unwrap().dir().canonicalize().unwrap(),
        demo.canonicalize().unwrap()
    );
    h.get_by_label("Close").click();
    steps(&mut h, 2);
    assert!(!h.state().show_welcome);
    let settings = h.state().settings.clone();
    assert!(settings.welcomed);
    drop(h);

    // The second start opens what was open last, with no welcome window and no rebuild.
    std::fs::write(demo.join("kept.txt"), "still here").unwrap();
    let mut h = start_with(settings, data.path());
    step_until(&mut h, "the last project", |app| {
        app.project().is_some() && app.player().is_some_and(|p| p.decoder.is_some())
    });
    assert!(!h.state().show_welcome);
    assert_eq!(
        h.state().project().unwrap().dir().canonicalize().unwrap(),
        demo.canonicalize().unwrap()
    );
    assert!(demo.join("kept.txt").is_file(), "the demo was not rebuilt");
    assert!(
        !h.state().is_memorizing(),
        "only the first start memorizes by itself"
    );
}

#[test]
fn the_memory_only_demo_opens_from_the_welcome_window() {
    let data = tempfile::tempdir().unwrap();
    let mut h = start_with(returning(), data.path());
    h.step();
    h.get_by_label("Open the memory-only demo: TaskMem's own memories")
        .click();
    step_until(&mut h, "the memory demo", |app| {
        app.project().is_some_and(|p| p.entry_count() > 10)
    });
    h.get_by_label_contains("no video: memory on an empty stage");
}

/// The welcome window's explanations are small lines under their buttons: a tooltip opened
/// below the pointer and covered the next button. Esc closes the window (issue 31).
#[test]
fn the_welcome_window_explains_without_covering_its_buttons_and_esc_closes_it() {
    let data = tempfile::tempdir().unwrap();
    let mut h = start_with(Settings::default(), data.path());
    h.step();
    h.get_by_label("Open a video or project…").hover();
    // Past egui's tooltip delay.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    let hints: Vec<egui::Rect> = h
        .query_all_by_label_contains("or drop it on the window")
        .map(|n| n.rect())
        .collect();
    assert_eq!(hints.len(), 1, "one line under the button, no tooltip");
    let open = h.get_by_label("Open a video or project…").rect();
    let import = h.get_by_label("Import a benchmark's questions…").rect();
    assert!(
        hints[0].min.y >= open.max.y && hints[0].max.y <= import.min.y,
        "the hint {:?} lies between its button {open:?} and the next {import:?}",
        hints[0]
    );
    assert!(h.state().show_welcome);
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    assert!(!h.state().show_welcome, "Esc closes the welcome window");
    assert!(h.state().settings.welcomed);
    assert!(h.query_by_label("Open a video or project…").is_none());
}

#[test]
fn the_demo_script_plays_every_step_in_presentation_mode() {
    use taskmem::demo::{Script, StepAction};
    let script = Script::load(&taskmem::demo::shipped(taskmem::demo::DEMO_SCRIPT)).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut h = start_with(returning(), data.path());
    h.step();
    h.key_press(egui::Key::F11);
    steps(&mut h, 2);
    assert!(h.state().presentation.is_active());
    assert!(!h.state().show_welcome);
    // P pauses the script's own stepping: from here N alone moves it on, so no step passes
    // unchecked however long its check takes.
    h.key_press(egui::Key::P);
    steps(&mut h, 1);
    assert!(h.state().presentation.is_paused());
    let count = script.steps.len();
    for (index, step) in script.steps.iter().enumerate() {
        step_until(&mut h, &format!("step {}", index + 1), |app| {
            app.presentation.position() == Some((index, count))
        });
        steps(&mut h, 2);
        // Each step shows its caption and where it is.
        h.get_by_label(&step.caption);
        h.get_by_label_contains(&format!("Step {} of {count}", index + 1));
        let app = h.state();
        match &step.action {
            StepAction::OpenDemo => {
                step_until(&mut h, "the demo's first frame", |app| {
                    app.player()
                        .is_some_and(|p| matches!(p.shown, Some(Shown::Exact(_))))
                });
            }
            StepAction::Seek { at_ms } => {
                let at = app.player().unwrap().playback.position_ns() / 1_000_000;
                assert!((at - at_ms).abs() < 1_000, "{at} vs {at_ms}");
            }
            StepAction::MemorizeGeneral => assert!(app.is_memorizing()),
            StepAction::Speed(speed) => {
                assert!((app.player().unwrap().playback.speed() - speed).abs() < 1e-9);
            }
            StepAction::Play => assert!(app.player().unwrap().playback.is_playing()),
            StepAction::Pause => {
                assert!(!app.player().unwrap().playback.is_playing());
                // The clip to inspect next is written on the lanes' threads in real time,
                // while the test steps frames fast: wait for it.
                step_until(&mut h, "the action lane's clip at 2:00", |app| {
                    app.project()
                        .unwrap()
                        .lane_clip_starts("action")
                        .contains(&120_000)
                        && app
                            .project()
                            .unwrap()
                            .lane_clip_starts("builtin")
                            .contains(&120_000)
                });
            }
            StepAction::WaitUntil { at_ms } => {
                step_until(&mut h, "the playhead", |app| {
                    app.player().unwrap().playback.position_ns() / 1_000_000 >= *at_ms
                });
            }
            StepAction::Trigger { task_id, .. } => {
                step_until(&mut h, "the action lane", |app| {
                    app.project()
                        .unwrap()
                        .lanes()
                        .iter()
                        .any(|l| l.id == "action")
                });
                let view = h.state().project().unwrap();
                let task = view.tasks().get(view.stream(), task_id).unwrap();
                assert!(task.trigger);
                assert_eq!(task.switch_to.as_deref(), Some("action"));
                // The active-lane band switches to the task lane at the question's arrival.
                let phases = view.active_phases();
                assert_eq!(phases.last().unwrap().lane, "action");
                assert_eq!(phases.last().unwrap().at_ms, task.ask_ms);
            }
            StepAction::Inspect { lane, at_ms } => {
                let selected = app.project().unwrap().selected().unwrap();
                assert_eq!(&selected.lane, lane);
                assert!(selected.start_ms <= *at_ms && *at_ms < selected.end_ms);
                h.get_by_label_contains("Memory lane action (");
            }
            StepAction::Answer { .. } => {
                h.get_by_label_contains("Answer from ");
            }
            StepAction::Chart { .. } => {
                assert!(app.evaluation.open);
                assert!(
                    app.evaluation.is_running(),
                    "the before-and-after run started: {:?} {}",
                    app.toasts.messages(),
                    app.evaluation.status()
                );
                // The chart itself is the Evaluate window's (tested on its own); stop here.
                h.state_mut().evaluation.cancel();
                wait_for_job(&mut h, "the cancel", 60, |app| app.evaluation.is_running());
            }
        }
        if index + 1 < count {
            // Straight on, whatever the step's hold time.
            h.key_press(egui::Key::N);
        }
    }
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    assert!(!h.state().presentation.is_active());
}

/// The app at `size` on a world stream project with its video, previews built, the first
/// memory row selected: the inspector and the clip's three thumbnails show in the side panel.
fn selected_first_row_at(size: egui::Vec2) -> (tempfile::TempDir, Harness<'static, TaskMemApp>) {
    let (dir, h) = first_row_clicked_at(size);
    assert!(h.state().project().unwrap().selected().is_some());
    assert!(
        h.get_all_by_role(Role::Image).count() >= 4,
        "the video and three thumbnails"
    );
    (dir, h)
}

/// [`selected_first_row_at`] without its checks: the row clicked, whatever came of it.
fn first_row_clicked_at(size: egui::Vec2) -> (tempfile::TempDir, Harness<'static, TaskMemApp>) {
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = world_stream_project(dir.path());
    let settings = returning();
    let mut h = Harness::builder().with_size(size).build_eframe(move |_| {
        let mut app = TaskMemApp::with_settings(settings, Some(project));
        app.show_welcome = false;
        app
    });
    step_until(&mut h, "the stream's video and its previews", |app| {
        app.project().is_some()
            && app.player().is_some_and(|p| {
                p.decoder.as_ref().is_some_and(|d| {
                    let (built, total) = d.preview_progress();
                    built == total
                })
            })
    });
    steps(&mut h, 3);
    h.get_all_by_label_contains("00:00:00  ")
        .next()
        .unwrap()
        .click();
    steps(&mut h, 3);
    (dir, h)
}

fn rects(h: &Harness<'_, TaskMemApp>) -> Vec<(&'static str, egui::Rect)> {
    h.state().panel_rects().to_vec()
}

/// Issue 31: the three thumbnails asked for 4 px more than the side panel had, the resizable
/// panel widened to fit, and so on each frame until the video was gone. No panel may move by
/// itself, at the smallest supported window and at full HD, across 10,000 frames.
#[test]
fn no_panel_grows_by_itself_with_a_memory_row_selected() {
    for size in [egui::vec2(1024.0, 640.0), egui::vec2(1920.0, 1080.0)] {
        let (_dir, mut h) = selected_first_row_at(size);
        let start = rects(&h);
        let names: Vec<_> = start.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            ["menu", "status", "transport", "memory", "central"],
            "{size:?}"
        );
        let central = start[4].1;
        assert!(
            central.width() >= 400.0,
            "{size:?}: the video keeps room: {central:?}"
        );
        for frame in 0..10_000 {
            h.step();
            let now = rects(&h);
            assert_eq!(
                now, start,
                "{size:?}: a panel moved by itself at frame {frame}"
            );
        }
        // The panel's other tabs, with the same row selected, hold still too.
        for tab in ["Task", "Task library"] {
            h.get_by_label(tab).click();
            steps(&mut h, 3);
            let start = rects(&h);
            for frame in 0..1_000 {
                h.step();
                assert_eq!(
                    rects(&h),
                    start,
                    "{size:?}: on the {tab} tab a panel moved at frame {frame}"
                );
            }
        }
    }
}

#[test]
fn esc_clears_the_memory_row_selection() {
    let (_dir, mut h) = selected_first_row_at(egui::vec2(1280.0, 800.0));
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    assert!(h.state().project().unwrap().selected().is_none());
    assert_eq!(
        h.get_all_by_role(Role::Image).count(),
        1,
        "the thumbnails go with the selection"
    );
}

/// A side panel width saved by a build that let it grow (egui persists it) is clamped when
/// read: the video keeps its room at 1024x640, and the panel stays where it was put.
#[test]
fn a_saved_side_panel_width_that_hides_the_video_is_clamped_on_load() {
    let (_dir, mut h) = selected_first_row_at(egui::vec2(1024.0, 640.0));
    let id = h.state().side_panel_id().unwrap();
    // The id is the one egui keeps the width under (else this test would test nothing).
    let stored = egui::PanelState::load(&h.ctx, id).unwrap();
    let memory = rects(&h).iter().find(|(n, _)| *n == "memory").unwrap().1;
    assert!(
        (stored.size().x - memory.width()).abs() < 1.0,
        "{stored:?} {memory:?}"
    );
    h.ctx.data_mut(|d| {
        d.insert_persisted(
            id,
            egui::PanelState {
                outer_rect: egui::Rect::from_min_size(
                    egui::pos2(24.0, 20.0),
                    egui::vec2(1000.0, 600.0),
                ),
            },
        );
    });
    steps(&mut h, 3);
    let start = rects(&h);
    let width = |name: &str| start.iter().find(|(n, _)| *n == name).unwrap().1.width();
    assert!(width("memory") <= 1024.0 - 400.0 + 1.0, "{start:?}");
    assert!(width("central") >= 399.0, "{start:?}");
    steps(&mut h, 100);
    assert_eq!(rects(&h), start);
}

/// View > Reset layout: a panel dragged wide, moved left and a larger UI scale all go back.
#[test]
fn reset_layout_puts_the_panel_and_scale_back() {
    let (_dir, mut h) = selected_first_row_at(egui::vec2(1600.0, 900.0));
    let width = |h: &Harness<'_, TaskMemApp>| {
        rects(h)
            .iter()
            .find(|(n, _)| *n == "memory")
            .unwrap()
            .1
            .width()
    };
    let default = width(&h);
    let id = h.state().side_panel_id().unwrap();
    h.ctx.data_mut(|d| {
        d.insert_persisted(
            id,
            egui::PanelState {
                outer_rect: egui::Rect::from_min_size(
                    egui::pos2(0.0, 20.0),
                    egui::vec2(700.0, 800.0),
                ),
            },
        );
    });
    h.state_mut().settings.panel_side = taskmem::app::PanelSide::Left;
    steps(&mut h, 3);
    assert!((width(&h) - 700.0).abs() < 2.0, "{} wide", width(&h));
    h.get_by_label("View").click();
    steps(&mut h, 2);
    h.get_by_label("Reset layout").click();
    steps(&mut h, 4);
    assert!(
        (width(&h) - default).abs() < 2.0,
        "{} wide, default {default}",
        width(&h)
    );
    assert_eq!(
        h.state().settings.panel_side,
        taskmem::app::PanelSide::Right
    );
    assert_eq!(h.state().settings.ui_scale, None);
}

/// A demo project in `data` as the app builds it, with a task an annotator wrote added to it.
fn demo_with_an_authored_task(data: &Path) -> (PathBuf, String) {
    let dir = taskmem::demo::build(taskmem::demo::Demo::Stream, data)
        .unwrap()
        .dir;
    let mut project = taskmem::project::Project::open(&dir).unwrap();
    let mut task = project.tasks.tasks()[0].clone();
    "authored-1".clone_into(&mut task.id);
    "Where did I leave the blue mug?".clone_into(&mut task.text);
    project
        .record_tasks(&[taskmem::tasks::TaskEvent::Put {
            task: Box::new(task),
        }])
        .unwrap();
    let log = std::fs::read_to_string(dir.join(taskmem::project::TASKS_FILE)).unwrap();
    (dir, log)
}

/// Issue 31: starting presentation mode rebuilt the demo and deleted an annotator's tasks.
/// Now the demo holding work is kept as it is, and the presentation runs on a fresh copy.
#[test]
fn presentation_mode_keeps_a_demo_holding_an_authored_task() {
    let data = tempfile::tempdir().unwrap();
    let (demo, log) = demo_with_an_authored_task(data.path());
    let mut h = start_with(returning(), data.path());
    h.step();
    h.key_press(egui::Key::F11);
    steps(&mut h, 2);
    assert!(h.state().presentation.is_active());
    h.key_press(egui::Key::P);
    step_until(&mut h, "the fresh demo's first frame", |app| {
        app.project().is_some()
            && app
                .player()
                .is_some_and(|p| matches!(p.shown, Some(Shown::Exact(_))))
    });
    let fresh = data.path().join("demo-2");
    assert_eq!(
        h.state().project().unwrap().dir().canonicalize().unwrap(),
        fresh.canonicalize().unwrap()
    );
    assert!(
        h.state()
            .toasts
            .messages()
            .iter()
            .any(|m| m.contains("holds your work") && m.contains("tasks authored")),
        "{:?}",
        h.state().toasts.messages()
    );
    steps(&mut h, 30);
    h.key_press(egui::Key::Escape);
    steps(&mut h, 2);
    assert!(!h.state().presentation.is_active());
    drop(h);
    assert_eq!(
        std::fs::read_to_string(demo.join(taskmem::project::TASKS_FILE)).unwrap(),
        log,
        "the task log is intact"
    );
    let kept = taskmem::project::Project::open(&demo).unwrap();
    assert!(kept.tasks.tasks().iter().any(|t| t.id == "authored-1"));
    // Opening and showing a demo writes nothing of the user's into it: the next build may
    // reuse the fresh copy.
    assert_eq!(
        taskmem::demo::inspect(&fresh),
        taskmem::demo::Found::Untouched
    );
}

#[test]
fn the_demo_is_saved_as_a_new_project_in_the_folder_the_window_names() {
    let data = tempfile::tempdir().unwrap();
    let (demo, log) = demo_with_an_authored_task(data.path());
    let mut h = start_with(returning(), data.path());
    h.state_mut().submit(AppCommand::Open(demo.clone()));
    step_until(&mut h, "the demo", |app| {
        app.project().is_some() && app.player().is_some()
    });
    steps(&mut h, 2);
    h.get_by_label("File").click();
    steps(&mut h, 2);
    h.get_by_label("Save the demo as a new project…").click();
    steps(&mut h, 2);
    // The window proposes a new folder beside the demo, in a field that can be typed in.
    let target = data.path().join("my-project-1");
    assert!(
        h.query_all_by_value(&target.display().to_string())
            .next()
            .is_some()
    );
    h.get_by_label("Save").click();
    step_until(&mut h, "the copy", |app| {
        app.project().is_some_and(|p| p.dir() == target.as_path())
    });
    assert!(!taskmem::demo::is_demo(&target));
    assert_eq!(
        std::fs::read_to_string(target.join(taskmem::project::TASKS_FILE)).unwrap(),
        log
    );
    assert!(demo.is_dir(), "the demo stays");
    assert!(h.query_by_label("Save the demo as a new project").is_none());
}

/// A question file in a folder of its own, for typing its path with completion.
fn question_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("questions");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        asset("tasks/videomme_flat_sample.json"),
        folder.join("videomme_flat_sample.json"),
    )
    .unwrap();
    std::fs::write(folder.join("notes.md"), "not a question file").unwrap();
    folder
}

/// Replaces the path field's text by typing, as a person does.
fn type_path(h: &mut Harness<'_, TaskMemApp>, text: &str) {
    h.get_by_label("Path").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Path").type_text(text);
    steps(h, 3);
}

fn path_text(h: &Harness<'_, TaskMemApp>) -> String {
    h.state().paths.window.as_ref().unwrap().text.clone()
}

#[test]
fn without_a_dialog_import_questions_takes_a_typed_path_and_attaches_them_to_the_open_stream() {
    let (dir, _project, mut h) = writable_project();
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    let folder = question_folder(dir.path());
    h.state_mut().submit(AppCommand::ImportTasks(None));
    steps(&mut h, 2);
    // Not silence: a toast says why, and the window asks for the path.
    h.get_by_label_contains("There is no system file dialog here");
    h.get_by_label("Browse…");
    // Tab completes the partly typed name (notes.md is no question file, so not offered).
    type_path(&mut h, &format!("{}/vid", folder.display()));
    h.key_press(egui::Key::Tab);
    steps(&mut h, 2);
    assert_eq!(
        path_text(&h),
        format!("{}/videomme_flat_sample.json", folder.display())
    );
    h.get_by_label("Import").click();
    // Video-MME's streams "001"... are not in the project: the open stream is offered.
    step_until(&mut h, "the stream choice", |app| {
        app.paths.window.as_ref().is_some_and(|w| w.offer.is_some())
    });
    steps(&mut h, 2);
    let stream = h.state().project().unwrap().stream().to_owned();
    h.get_by_label_contains(&format!("Attach them to the open stream \"{stream}\""));
    h.get_by_label("Keep their own stream names");
    h.get_by_label("Import").click();
    step_until(&mut h, "the import", |app| {
        app.project().unwrap().tasks().len() == 7 + 11
    });
    steps(&mut h, 3);
    h.get_by_label_contains(&format!(
        "Imported 11 tasks onto the open stream \"{stream}\""
    ));
    assert!(h.state().paths.window.is_none(), "the window closes");
    let view = h.state().project().unwrap();
    let on_stream = view.tasks().stream_slice(&stream);
    let imported: Vec<_> = on_stream
        .iter()
        .filter(|t| t.extra.contains_key("imported_stream"))
        .collect();
    assert_eq!(imported.len(), 11);
    // Asked at the end of the open stream (120 s), not at 00:00:00.
    assert!(imported.iter().all(|t| t.ask_ms == 120_000));
    assert_eq!(imported[0].extra["imported_stream"], "001");
    // They show at once: the library lists the open stream's tasks, these among them.
    assert_eq!(
        h.state().task_panel().library_rows().len(),
        on_stream.len(),
        "the library shows every task of the open stream"
    );
}

#[test]
fn keeping_their_streams_lists_them_at_once_and_a_bad_path_keeps_the_window() {
    let (dir, _project, mut h) = writable_project();
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    let folder = question_folder(dir.path());
    h.state_mut().submit(AppCommand::ImportTasks(None));
    steps(&mut h, 2);
    // A file that is not there: a toast, and the typed path stays to be corrected.
    type_path(&mut h, &format!("{}/nothing.json", folder.display()));
    h.get_by_label_contains("no such file or folder");
    h.get_by_label("Import").click();
    step_until(&mut h, "the error toast", |app| {
        app.toasts
            .messages()
            .iter()
            .any(|m| m.contains("nothing.json: cannot read"))
    });
    assert!(h.state().paths.window.is_some());
    type_path(
        &mut h,
        &format!("{}/videomme_flat_sample.json", folder.display()),
    );
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the stream choice", |app| {
        app.paths.window.as_ref().is_some_and(|w| w.offer.is_some())
    });
    steps(&mut h, 2);
    h.get_by_label("Keep their own stream names").click();
    steps(&mut h, 2);
    h.get_by_label("Import").click();
    step_until(&mut h, "the import", |app| {
        app.project().unwrap().tasks().len() == 7 + 11
    });
    steps(&mut h, 3);
    h.get_by_label_contains("Imported 11 tasks over 6 streams");
    // None is on the open stream, so the library lists every stream: all 18 at once.
    assert_eq!(h.state().task_panel().library_rows().len(), 18);
    let view = h.state().project().unwrap();
    assert_eq!(view.tasks().stream_slice("001").len(), 3);
}

#[test]
fn without_a_dialog_export_tasks_and_open_take_typed_paths() {
    let (dir, _project, mut h) = writable_project();
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    h.state_mut().submit(AppCommand::ExportTasks(None));
    steps(&mut h, 2);
    let out = dir.path().join("out.csv");
    type_path(&mut h, &out.display().to_string());
    h.get_by_label_contains("(new)");
    h.key_press(egui::Key::Enter);
    steps(&mut h, 3);
    assert!(out.is_file(), "exported");
    h.get_by_label_contains("Exported 7 tasks to");
    assert!(h.state().paths.window.is_none());
    // A name without a format's extension: a toast, and the window stays.
    h.state_mut().submit(AppCommand::ExportTasks(None));
    steps(&mut h, 2);
    type_path(&mut h, &dir.path().join("out.doc").display().to_string());
    h.key_press(egui::Key::Enter);
    steps(&mut h, 3);
    h.get_by_label_contains("choose .jsonl, .parquet, .csv or .txt");
    assert!(h.state().paths.window.is_some());
    h.get_by_label("Cancel").click();
    steps(&mut h, 2);
    assert!(h.state().paths.window.is_none());
    // Open: a folder completes with its slash, a video opens.
    h.state_mut().submit(AppCommand::OpenDialog);
    steps(&mut h, 2);
    let assets = asset("baseline.mp4").parent().unwrap().to_path_buf();
    type_path(&mut h, &format!("{}/basel", assets.display()));
    h.key_press(egui::Key::Tab);
    steps(&mut h, 2);
    assert_eq!(path_text(&h), asset("baseline.mp4").display().to_string());
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the video", |app| {
        app.player()
            .is_some_and(|p| p.path.ends_with("baseline.mp4"))
    });
    assert!(h.state().paths.window.is_none());
}

/// The menus and the shortcut sheet are drawn from the one command table: the sheet lists each
/// command that has a key, with its keys, and a menu item is greyed or not by the same rule its
/// key follows (with a video but no project, a new task says tasks need a project, by menu as
/// by Ctrl+E; jumping between tasks is greyed).
#[test]
fn the_menus_and_the_shortcut_sheet_come_from_the_command_table() {
    use egui_kittest::kittest::NodeT;
    use taskmem::app::command::Command;
    let mut h = opened("baseline.mp4");
    h.key_press(egui::Key::Questionmark);
    steps(&mut h, 2);
    for command in Command::ALL {
        let keys = command.all_shortcuts_text(false);
        if keys.is_empty() {
            continue;
        }
        assert!(
            h.query_all_by_label(&keys).next().is_some(),
            "the sheet lists {keys}"
        );
        assert!(
            h.query_all_by_label(command.text()).next().is_some(),
            "the sheet names {:?}",
            command.text()
        );
    }
    h.key_press(egui::Key::Questionmark);
    steps(&mut h, 2);
    assert!(
        h.query_by_label("Ctrl+Shift+Z / Ctrl+Y").is_none(),
        "? closes the sheet"
    );
    // A menu button's label is its text and its key.
    let item = |c: Command| format!("{} {}", c.text(), c.all_shortcuts_text(false));
    h.get_by_label("Tasks").click();
    steps(&mut h, 2);
    assert!(
        h.get_by_label(&item(Command::PreviousTask))
            .accesskit_node()
            .is_disabled()
    );
    h.get_by_label(&item(Command::NewTask)).click();
    steps(&mut h, 2);
    h.get_by_label_contains("Tasks are saved in a project");
}

#[test]
fn without_a_dialog_the_presentation_script_is_a_typed_path() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("my-script.txt");
    std::fs::write(&script, "caption Hello\n").unwrap();
    let mut h = app_harness(None);
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    steps(&mut h, 2);
    h.get_by_label("View").click();
    steps(&mut h, 2);
    h.get_by_label("Presentation script…").click();
    steps(&mut h, 3);
    type_path(&mut h, &format!("{}/my-", dir.path().display()));
    h.key_press(egui::Key::Tab);
    steps(&mut h, 2);
    assert_eq!(path_text(&h), script.display().to_string());
    h.key_press(egui::Key::Enter);
    steps(&mut h, 3);
    assert_eq!(
        h.state().settings.presentation_script.as_deref(),
        Some(script.as_path())
    );
    assert!(h.state().paths.window.is_none());
}

/// A summary whose Evaluate window is taller than 800 px: eleven task types, three lanes, an
/// adapter series for the chart of accuracy against tasks seen, and a note.
fn tall_summary() -> taskmem::eval::metrics::Summary {
    use taskmem::eval::metrics::{Interval, LaneSummary, Metrics, Summary};
    let m = |questions: usize, correct: usize| Metrics {
        questions,
        answered: questions,
        correct,
        acc: correct as f64 / questions as f64,
        cov: 1.0,
        prec: correct as f64 / questions as f64,
        acc_ci: Some(Interval {
            low: 0.1,
            high: 0.9,
        }),
        cov_ci: None,
        prec_ci: None,
    };
    let types: Vec<String> = (0..11).map(|i| format!("Task type {i}")).collect();
    let lane = |name: &str, seen: Option<usize>, correct: usize| LaneSummary {
        lane: name.into(),
        adapter: seen.map(|_| format!("{name}.safetensors")),
        task_type: seen.map(|_| types[0].clone()),
        tasks_seen: seen,
        tuned_on_evaluated: 0,
        unverified_adapter: None,
        overall: m(110, correct * 11),
        by_type: types.iter().map(|t| (t.clone(), m(10, correct))).collect(),
    };
    Summary {
        source: "datasets/world-mme".into(),
        split: "test".into(),
        answerer: "builtin".into(),
        policy: "builtin".into(),
        questions: 110,
        seconds: 1.0,
        lanes: vec![
            lane("builtin", None, 3),
            lane("type-0-10", Some(10), 5),
            lane("type-0-30", Some(30), 7),
        ],
        notes: vec!["Lane 'nowhere' holds no memory of the stream asked about.".into()],
    }
}

#[test]
fn the_evaluate_window_fits_1280x800_and_scrolls_to_its_last_chart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("summary.json"),
        serde_json::to_string(&tall_summary()).unwrap(),
    )
    .unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|_| {
            let mut app = TaskMemApp::with_settings(returning(), None);
            app.show_welcome = false;
            app
        });
    h.step();
    h.state_mut().submit(AppCommand::ShowEvaluation);
    h.state_mut()
        .submit(AppCommand::LoadEvaluation(dir.path().to_path_buf()));
    steps(&mut h, 6);
    assert_eq!(h.state().evaluation.summary().unwrap().questions, 110);
    // The summary's notes say why, above the charts.
    h.get_by_label_contains("Lane 'nowhere' holds no memory");
    let window = |h: &Harness<'_, TaskMemApp>| {
        let id = taskmem::app::evaluation::EvaluationPanel::window_id();
        h.ctx.memory(|m| m.area_rect(id)).unwrap()
    };
    let shown = window(&h);
    assert!(
        shown.top() >= 0.0 && shown.bottom() <= 800.0 && shown.right() <= 1280.0,
        "{shown:?}"
    );
    let last_chart =
        |h: &Harness<'_, TaskMemApp>| h.get_by_label("Accuracy against tasks seen").rect();
    assert!(
        last_chart(&h).top() > shown.bottom(),
        "the last chart starts below the window: {:?}",
        last_chart(&h)
    );
    // The mouse wheel over the window's left column scrolls it to its last chart.
    h.hover_at(egui::pos2(shown.left() + 60.0, shown.center().y));
    for _ in 0..20 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -120.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    steps(&mut h, 4);
    let shown = window(&h);
    let label = last_chart(&h);
    // The chart itself is 180 px tall under its heading.
    assert!(
        label.top() >= shown.top() && label.bottom() + 180.0 <= shown.bottom(),
        "the last chart {label:?} is in the window {shown:?}"
    );
    assert!(shown.bottom() <= 800.0, "{shown:?}");
}

#[test]
fn without_a_dialog_export_memory_takes_a_typed_path_from_the_file_menu() {
    let (dir, _project, mut h) = writable_project();
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    h.get_by_label("File").click();
    steps(&mut h, 2);
    h.get_by_label("Export memory…").click();
    steps(&mut h, 3);
    let out = dir.path().join("memory.jsonl");
    type_path(&mut h, &out.display().to_string());
    h.key_press(egui::Key::Enter);
    steps(&mut h, 3);
    let entries = h.state().project().unwrap().memory_entries().len();
    assert!(entries > 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), entries);
    h.get_by_label_contains(&format!("Exported {entries} memory entries to"));
    assert!(h.state().paths.window.is_none());
}

#[test]
fn without_a_dialog_import_memory_takes_a_typed_path_and_the_lanes_show_it() {
    let (_dir, _project, mut h) = writable_project();
    h.state_mut().paths.dialogs = SystemDialogs::Never;
    let before = h.state().project().unwrap().memory_entries().len();
    h.get_by_label("File").click();
    steps(&mut h, 2);
    h.get_by_label("Import memory…").click();
    steps(&mut h, 3);
    // A world stream folder: told from its truth.jsonl, a stream and lane the project lacks.
    let stream =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00");
    type_path(&mut h, &stream.display().to_string());
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the project with the imported memory", |app| {
        !app.is_opening()
            && app
                .project()
                .is_some_and(|p| p.memory_entries().len() > before)
    });
    steps(&mut h, 2);
    h.get_by_label_contains("Imported ");
    h.get_by_label_contains("memory entries (");
    assert!(h.state().paths.window.is_none());
    // A file that is no memory: a toast naming it, and the window stays to correct it.
    h.state_mut().submit(AppCommand::ImportMemory(None));
    steps(&mut h, 2);
    type_path(&mut h, &asset("tasks/README.md").display().to_string());
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the error toast", |app| {
        app.toasts
            .messages()
            .iter()
            .any(|m| m.contains("cannot import memory") && m.contains("README.md"))
    });
    assert!(h.state().paths.window.is_some());
}

/// Issue 31: the window from 1024x640 up to 4K, at UI scales 0.75 to 2.0, and presentation
/// mode's 1.5 on 1280x800. egui lays out in points, so a scale `s` on a `W`x`H` window is a
/// `W/s`x`H/s` screen (what eframe gives egui, and what the harness is built at here). At
/// every one: each panel lies inside the window, the video keeps room, every button and the
/// scrub bar are on screen, and nothing moves by itself.
#[test]
fn every_window_size_and_ui_scale_keeps_the_controls_on_screen() {
    use egui_kittest::kittest::NodeT as _;
    let mut screens: Vec<(f32, f32, f32)> = vec![(1280.0, 800.0, 1.5)];
    for (w, h) in [(1024.0, 640.0), (1920.0, 1080.0), (3840.0, 2160.0)] {
        for scale in [0.75, 1.0, 1.5, 2.0] {
            screens.push((w, h, scale));
        }
    }
    let mut faults = Vec::new();
    for (w, h_px, scale) in screens {
        let size = egui::vec2(w / scale, h_px / scale);
        let case = format!("{w}x{h_px} at {scale}");
        let (_dir, mut h) = first_row_clicked_at(size);
        if h.state().project().unwrap().selected().is_none() {
            // The row may sit below the fold of a short panel (it scrolls): selected the way
            // Down would, for the same inspector and thumbnails.
            let first = h.state().project().unwrap().row_ids()[0];
            h.state_mut().submit(AppCommand::SelectEntry(first));
            steps(&mut h, 3);
        }
        // Two points of slack: a panel's edge stroke may fall on the window's last pixel.
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, size).expand(2.0);
        let start = rects(&h);
        for (name, rect) in &start {
            if !screen.contains_rect(*rect) {
                faults.push(format!("{case}: {name} {rect:?} leaves the window"));
            }
        }
        for (i, (a, ra)) in start.iter().enumerate() {
            for (b, rb) in &start[i + 1..] {
                let overlap = ra.intersect(*rb);
                if overlap.width() > 1.0 && overlap.height() > 1.0 {
                    faults.push(format!("{case}: {a} {ra:?} and {b} {rb:?} overlap"));
                }
            }
        }
        let central = start.iter().find(|(n, _)| *n == "central").unwrap().1;
        if central.width() < size.x * 0.4 || central.height() < size.y * 0.25 {
            faults.push(format!("{case}: the video has {central:?} of {size:?}"));
        }
        // The fixed bars' buttons (the side panel's scroll, so theirs may lie past its fold).
        let bars: Vec<egui::Rect> = start
            .iter()
            .filter(|(n, _)| ["menu", "status", "transport"].contains(n))
            .map(|(_, r)| *r)
            .collect();
        for button in h.get_all_by_role(Role::Button) {
            let rect = button.rect();
            let in_bar = bars
                .iter()
                .any(|bar| (bar.min.y..=bar.max.y).contains(&rect.center().y));
            if in_bar && !screen.contains_rect(rect) {
                faults.push(format!(
                    "{case}: the button {:?} at {rect:?} is off screen",
                    button.accesskit_node().label()
                ));
            }
        }
        let bar = h.get_by_label_contains("Scrub bar").rect();
        if !screen.contains_rect(bar) {
            faults.push(format!("{case}: the scrub bar {bar:?}"));
        }
        steps(&mut h, 200);
        if rects(&h) != start {
            faults.push(format!("{case}: a panel moved by itself"));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// Issue 31, Compare runs: two evaluation runs of the project's lane. The Evaluate window
/// offers the project's runs (newest as B), lists per type and the question whose answer
/// turned, and "B's memory" selects the entry B's answer rested on; an answer whose memory
/// the project lacks says so instead of doing nothing.
#[test]
fn compare_runs_lists_the_answer_that_turned_and_jumps_to_the_memory_it_used() {
    use taskmem::eval::metrics::ResultRow;
    let dir = tempfile::tempdir().unwrap();
    let (project, p) = world_stream_project(dir.path());
    let entry = p.memory.entries()[3].clone();
    drop(p);
    let row = |id: &str, answer: &str, correct: bool, used: &str| ResultRow {
        stream: entry.stream.clone(),
        task_id: id.into(),
        task_type: "OCR Problems".into(),
        ask_ms: entry.end_ms + 5_000,
        lane: entry.lane.clone(),
        answer: answer.into(),
        expected: "B".into(),
        correct,
        abstained: answer == "E",
        entries_available: 4,
        entries_used: used.into(),
    };
    let write = |name: &str, rows: Vec<ResultRow>| {
        let out = project.join("eval").join(name);
        common::write_results(&out, &entry.lane, &rows);
        // Distinct times: the newest run is offered as B.
        std::thread::sleep(Duration::from_millis(20));
        out
    };
    let used = entry.id.to_string();
    write(
        "run-1",
        vec![row("q1", "E", false, ""), row("q2", "B", true, "999999")],
    );
    write(
        "run-2",
        vec![row("q1", "B", true, &used), row("q2", "C", false, "999999")],
    );
    let mut h = app_harness(Some(project));
    step_until(&mut h, "the project", |app| app.project().is_some());
    h.state_mut().submit(AppCommand::ShowEvaluation);
    steps(&mut h, 2);
    h.get_by_label("Compare runs").click();
    steps(&mut h, 2);
    assert!(h.state().evaluation.compare.b.ends_with("run-2"));
    assert!(h.state().evaluation.compare.a.ends_with("run-1"));
    h.get_all_by_label("Compare runs").last().unwrap().click();
    steps(&mut h, 3);
    let shown = h.state().evaluation.compare.shown().expect("compared");
    assert_eq!(
        (shown.types["all"].fixed, shown.types["all"].broken),
        (1, 1)
    );
    // The table's column heads and the two questions' marks.
    assert_eq!(h.get_all_by_label("fixed").count(), 2);
    assert_eq!(h.get_all_by_label("broken").count(), 2);
    h.get_by_label("2 of 2 questions changed");
    assert!(h.state().project().unwrap().selected().is_none());
    h.get_all_by_label("B's memory").next().unwrap().click();
    steps(&mut h, 3);
    assert_eq!(
        h.state().project().unwrap().selected().map(|e| e.id),
        Some(entry.id),
        "B's answer to q1 used this entry"
    );
    // q2's entries are not in the project: a warning names them.
    h.get_all_by_label("A's memory").last().unwrap().click();
    steps(&mut h, 2);
    assert!(
        h.state()
            .toasts
            .messages()
            .iter()
            .any(|m| m.contains("999999") && m.contains("not in the open project")),
        "{:?}",
        h.state().toasts.messages()
    );
}

/// Issue 31, presentation mode at its scale (1.5) on 1280x800: tool windows left open do not
/// cover the first scene, the inspect step brings the inspector it talks about into view,
/// and the Evaluate window keeps clear of the caption.
#[test]
fn presentation_closes_tool_windows_shows_the_inspector_and_keeps_windows_off_the_caption() {
    // The harness applies the presentation's zoom: 1280x800 becomes 853x533 points.
    let (dir, mut h) = selected_first_row_at(egui::vec2(1280.0, 800.0));
    let lane = h.state().project().unwrap().memory_entries()[0]
        .lane
        .clone();
    let script = dir.path().join("script.txt");
    std::fs::write(
        &script,
        format!("inspect {lane} 00:00:50 hold 60s | The clip in the inspector\n"),
    )
    .unwrap();
    h.state_mut().settings.presentation_script = Some(script);
    h.state_mut().submit(AppCommand::ShowEvaluation);
    steps(&mut h, 2);
    assert!(h.state().evaluation.open);
    h.state_mut().submit(AppCommand::TogglePresentation);
    steps(&mut h, 6);
    assert!(h.state().presentation.is_active());
    assert!(
        !h.state().evaluation.open,
        "tool windows close for the first scene"
    );
    let selected = h.state().project().unwrap().selected().unwrap();
    assert!(selected.start_ms <= 50_000 && 50_000 < selected.end_ms);
    let side = rects(&h)
        .into_iter()
        .find(|(n, _)| *n == "memory")
        .unwrap()
        .1;
    let verdict = h.get_by_label("hallucinated").rect();
    assert!(
        side.expand(1.0).contains_rect(verdict),
        "the inspector's verdicts {verdict:?} are in view in the panel {side:?}"
    );
    h.state_mut().submit(AppCommand::ShowEvaluation);
    steps(&mut h, 4);
    let caption = h.get_by_label("The clip in the inspector").rect();
    let window = h
        .ctx
        .memory(|m| m.area_rect(taskmem::app::evaluation::EvaluationPanel::window_id()))
        .unwrap();
    assert!(
        window.max.y <= caption.min.y + 1.0,
        "the Evaluate window {window:?} covers the caption at {caption:?}"
    );
}

/// Every background job shows in the status bar, named as a person would name it, with its
/// progress and a Stop button; Stop ends it as cancelled (not failed) and its row goes.
#[test]
fn the_status_bar_lists_a_running_job_and_its_stop_button_cancels_it() {
    use taskmem::studio::jobs::Outcome;
    let mut h = app_harness(None);
    h.step();
    let job = h
        .state()
        .jobs
        .spawn::<(), (), String>("task-import", |r| {
            r.progress(3, 10, "reading questions.json");
            let start = Instant::now();
            while !r.is_cancelled() && start.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err("stopped".to_owned())
        })
        .unwrap();
    let row = "Importing tasks: reading questions.json";
    let start = Instant::now();
    while h.query_by_label(row).is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "no status row");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.get_by_label("Stop").click();
    let start = Instant::now();
    let outcome = loop {
        h.step();
        if let (_, Some(outcome)) = job.poll() {
            break outcome;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the job never stopped"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(outcome, Outcome::Cancelled, "a stop is not a failure");
    h.step();
    h.step();
    assert!(h.query_by_label(row).is_none(), "the row is gone");
    assert!(h.state().jobs.running().is_empty());
}
