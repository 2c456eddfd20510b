//! `taskmem screenshot`: the real app, rendered offscreen by `egui_kittest`'s wgpu renderer (no
//! window, no display), on a project and one of its views, saved as a PNG. README's images are
//! made this way, never by hand.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;

use super::task_panel::SideTab;
use super::{AppCommand, Settings, TaskMemApp};

/// Which part of the app the picture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// The video, the memory lanes and the tasks lane.
    Timeline,
    /// An entry selected: the inspector beside the same clip in the other lanes.
    Inspector,
    /// A task in the form, its evidence on the tasks lane.
    Tasks,
    /// The Phase Two window.
    Phase2,
    /// The Evaluate window, with the project's newest results when it has some.
    Eval,
}

#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("{path}: not a project folder (no project.json)")]
    NotAProject { path: PathBuf },
    #[error("{path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("cannot render offscreen: {0}")]
    Render(String),
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How long a project may take to open and show its first frame.
const OPEN_LIMIT: Duration = Duration::from_secs(60);

fn step_until(
    h: &mut Harness<'_, TaskMemApp>,
    limit: Duration,
    done: impl Fn(&TaskMemApp) -> bool,
) -> bool {
    let start = Instant::now();
    while !done(h.state()) {
        if start.elapsed() > limit {
            return false;
        }
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Where opening the project stands, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Opening {
    /// Still reading the project or its video, or decoding the first frame.
    Busy,
    /// Ready to be pictured: a stream on screen (its video, or an empty stage when the video
    /// is missing), or a project with no stream at all (tasks only), shown as the app shows it.
    Ready,
    /// Nothing more will come: the project, or its stream's video, did not open.
    Failed(String),
}

fn opening_state(app: &TaskMemApp) -> Opening {
    if app.is_opening() {
        return Opening::Busy;
    }
    let failed = |what: &str| {
        let messages = app.toasts.messages().join("; ");
        Opening::Failed(if messages.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {messages}")
        })
    };
    let Some(project) = app.project() else {
        return failed("the project did not open");
    };
    match app.player() {
        None if project.streams().is_empty() => Opening::Ready,
        None => failed(&format!(
            "the video of stream '{}' did not open",
            project.stream()
        )),
        Some(p) if p.decoder.is_none() || p.shown.is_some() => Opening::Ready,
        Some(_) => Opening::Busy,
    }
}

/// The newest results folder under the project's `eval/`.
fn newest_results(project: &Path) -> Option<PathBuf> {
    std::fs::read_dir(project.join("eval"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("summary.json").is_file())
        .max_by_key(|p| {
            std::fs::metadata(p.join("summary.json"))
                .and_then(|m| m.modified())
                .ok()
        })
}

/// Renders `view` of `project` at `width` x `height` pixels into `out` (PNG, written to a
/// temporary file and renamed).
///
/// # Errors
/// When the project does not open, nothing can render, or the file cannot be written.
pub fn screenshot(
    project: &Path,
    view: View,
    (width, height): (u32, u32),
    out: &Path,
) -> Result<(), ScreenshotError> {
    if !project.join("project.json").is_file() {
        return Err(ScreenshotError::NotAProject {
            path: project.to_path_buf(),
        });
    }
    let settings = Settings {
        welcomed: true,
        ..Settings::default()
    };
    let dir = project.to_path_buf();
    let mut h = Harness::builder()
        .with_size(egui::vec2(width as f32, height as f32))
        .wgpu()
        .build_eframe(move |_| TaskMemApp::with_settings(settings, Some(dir)));
    // The first frame applies the open command; from then on the app is opening until it has
    // the project (and its stream's video) or has said why not.
    h.step();
    step_until(&mut h, OPEN_LIMIT, |app| {
        opening_state(app) != Opening::Busy
    });
    match opening_state(h.state()) {
        Opening::Ready => {}
        Opening::Failed(message) => {
            return Err(ScreenshotError::Open {
                path: project.to_path_buf(),
                message,
            });
        }
        Opening::Busy => {
            let messages = h.state().toasts.messages().join("; ");
            return Err(ScreenshotError::Open {
                path: project.to_path_buf(),
                message: if messages.is_empty() {
                    "did not open within a minute".to_owned()
                } else {
                    messages
                },
            });
        }
    }
    // The scrub bar's previews, so the picture shows the finished timeline.
    step_until(&mut h, Duration::from_secs(20), |app| {
        app.player()
            .and_then(|p| p.decoder.as_ref())
            .is_none_or(|d| {
                let (built, total) = d.preview_progress();
                built == total
            })
    });
    let app = h.state_mut();
    match view {
        View::Timeline => {
            // Most of the way in: the lanes are written up to the playhead.
            if let Some(duration_ns) = app.player().map(|p| p.playback.duration_ns()) {
                app.submit(AppCommand::Seek(duration_ns / 10 * 7));
            }
        }
        View::Inspector => {
            app.tasks.tab = SideTab::Memory;
            // An entry of the general lane for a clip another lane also holds, when there is one.
            let pick = app.project().and_then(|p| {
                let lanes = p.lanes();
                let general = lanes.iter().find(|l| l.general).or(lanes.first())?;
                let entries = p.lane_entries(&general.id);
                let in_other = |start_ms: i64| {
                    lanes
                        .iter()
                        .filter(|l| l.id != general.id)
                        .any(|l| p.lane_clip_starts(&l.id).contains(&start_ms))
                };
                entries
                    .iter()
                    .find(|e| in_other(e.start_ms) && !e.text.is_empty())
                    .or(entries.first())
                    .map(|e| e.id)
            });
            if let Some(id) = pick {
                app.submit(AppCommand::SelectEntry(id));
            }
        }
        View::Tasks => {
            let pick = app.project().and_then(|p| {
                let tasks = p.tasks().stream_slice(p.stream());
                tasks
                    .iter()
                    .find(|t| !t.evidence.is_empty())
                    .or(tasks.first())
                    .map(|t| t.id.clone())
            });
            app.submit(AppCommand::SelectTask(pick));
            app.tasks.tab = SideTab::Task;
        }
        View::Phase2 => {
            // A run on the project's own tasks, so that the picture shows what the judge did
            // with the policy's samples (with the shipped policy: ties, and why).
            app.submit(AppCommand::ShowPhase2);
            app.phase2.source = super::phase2_panel::TaskSource::Project;
            app.phase2.task_type = String::new();
            app.phase2.recent = 10;
            // A picture must not leave an adapter in the user's project.
            app.phase2.out = std::env::temp_dir()
                .join(format!(
                    "taskmem-screenshot-{}.safetensors",
                    std::process::id()
                ))
                .display()
                .to_string();
            app.submit(AppCommand::StartPhase2);
            // The command is applied on the next frame; then the run goes until it ends.
            step_until(&mut h, Duration::from_secs(10), |app| {
                app.phase2.is_running()
            });
            step_until(&mut h, Duration::from_secs(120), |app| {
                !app.phase2.is_running()
            });
        }
        View::Eval => {
            app.submit(AppCommand::ShowEvaluation);
            if let Some(results) = newest_results(project) {
                app.submit(AppCommand::LoadEvaluation(results));
            }
        }
    }
    for _ in 0..8 {
        h.step();
    }
    step_until(&mut h, Duration::from_secs(10), |app| {
        app.player().is_none_or(|p| {
            p.decoder.is_none() || matches!(p.shown, Some(super::player::Shown::Exact(_)))
        })
    });
    // Messages about opening are for a person at the window, not for a picture of it.
    h.state_mut().toasts.clear();
    for _ in 0..4 {
        h.step();
    }
    let image = h.render().map_err(ScreenshotError::Render)?;
    let write = |e: std::io::Error| ScreenshotError::Write {
        path: out.to_path_buf(),
        source: e,
    };
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| write(std::io::Error::other(e)))?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    let created = match parent {
        Some(parent) => crate::fsutil::create_dir_all_new(parent).map_err(write)?,
        None => None,
    };
    let result = crate::fsutil::write_atomic(out, png.get_ref());
    if result.is_err()
        && let (Some(top), Some(parent)) = (created, parent)
    {
        // A folder made for the picture goes with it when the picture cannot be written.
        crate::fsutil::remove_created(&top, parent);
    }
    result.map_err(write)
}
