//! Opening a video, a project or a suite stream on the `video-open` job, checking a stream's
//! video against the project's hash on `video-verify`, and re-reading a growing file while
//! following live.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::player::Player;
use super::project_view::ProjectView;
use super::{LIVE_CHECK_SECS, MAX_RECENT, TaskMemApp, file_name};
use crate::project::Project;
use crate::studio::jobs::{Job, Outcome};
use crate::tasks::Task;
use crate::timefmt::format_hms_ms;
use crate::video::{OpenOptions, VideoSource};
use crate::world::questions::load_tasks;

pub(super) struct OpenJob {
    pub(super) path: PathBuf,
    pub(super) job: Job<(), Opened, anyhow::Error>,
    /// Re-reading a growing file while following live: keep the playback state, stay quiet
    /// about half-written fragments.
    pub(super) reload: bool,
}

/// What the open thread hands back: the video, and the questions of a world stream.
pub struct Opened {
    pub source: Option<VideoSource>,
    pub questions: Vec<Task>,
    /// A tasks.jsonl that was there but could not be read (the video opens anyway).
    pub questions_error: Option<String>,
    /// When a suite folder was opened: all its streams.
    pub suite_streams: Vec<PathBuf>,
    /// When a project folder was opened.
    pub project: Option<Box<Project>>,
}

/// Opens a video, a stream folder (video.mp4 beside tasks.jsonl) or a suite folder (its
/// first test stream, with the others offered in the Suite menu), on the open thread.
pub(super) fn open_stream(path: &Path, options: &OpenOptions) -> anyhow::Result<Opened> {
    if path.join("project.json").is_file() {
        let project = Project::open(path)?;
        if project.task_log_is_long()
            && let Err(err) = project.compact_tasks()
        {
            // Only a longer log: the project is fine as it is.
            log::warn!("{err}");
        }
        return Ok(Opened {
            source: None,
            questions: Vec::new(),
            questions_error: None,
            suite_streams: Vec::new(),
            project: Some(Box::new(project)),
        });
    }
    let suite_streams = suite_streams(path);
    let stream = suite_streams
        .iter()
        .find(|p| p.to_string_lossy().contains("/test/"))
        .or(suite_streams.first())
        .cloned()
        .unwrap_or_else(|| path.to_path_buf());
    let video = if stream.is_dir() {
        // A suite's stream whose video the repository does not hold is generated here, on
        // the open thread, from its committed manifest.
        if !stream.join("video.mp4").is_file() {
            crate::world::suite::ensure_stream(&stream, &mut |_| {
                std::ops::ControlFlow::Continue(())
            })?;
        }
        stream.join("video.mp4")
    } else {
        stream
    };
    let source = VideoSource::open(&video, options)?;
    let tasks = video.with_file_name("tasks.jsonl");
    let (questions, questions_error) = if tasks.is_file() {
        match load_tasks(&tasks) {
            Ok(q) => (q.iter().map(Task::from).collect(), None),
            Err(err) => (Vec::new(), Some(err.to_string())),
        }
    } else {
        (Vec::new(), None)
    };
    Ok(Opened {
        source: Some(source),
        questions,
        questions_error,
        suite_streams,
        project: None,
    })
}

/// The stream folders of a suite folder (one with suite.json), or none.
pub(super) fn suite_streams(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path.join("suite.json")) else {
        return Vec::new();
    };
    serde_json::from_str::<crate::world::suite::SuiteManifest>(&text)
        .map(|m| m.streams.iter().map(|s| path.join(&s.folder)).collect())
        .unwrap_or_default()
}

impl TaskMemApp {
    pub(super) fn start_open(&mut self, path: PathBuf) {
        self.start_open_job(path, false);
    }

    pub(super) fn start_open_job(&mut self, path: PathBuf, reload: bool) {
        let (job_path, options) = (path.clone(), self.open_options.clone());
        let name = if reload { "video-reload" } else { "video-open" };
        let spawned = self.jobs.spawn(name, move |r| {
            r.progress(0, 0, format!("opening {}", file_name(&job_path)));
            let opened = open_stream(&job_path, &options)?;
            // Cancelled while it read: nothing opens.
            if r.is_cancelled() {
                anyhow::bail!("cancelled");
            }
            Ok(opened)
        });
        match spawned {
            Ok(job) => self.opening = Some(OpenJob { path, job, reload }),
            Err(err) => self.toasts.error(format!("{}: {err}", path.display())),
        }
    }

    pub(super) fn poll_open(&mut self, ctx: &egui::Context) {
        let Some(job) = &self.opening else { return };
        let (_, Some(outcome)) = job.job.poll() else {
            return;
        };
        let (path, reload) = (job.path.clone(), job.reload);
        self.opening = None;
        let result = match outcome {
            Outcome::Done(opened) => Ok(opened),
            Outcome::Cancelled => return,
            Outcome::Failed(err) => Err(err),
        };
        if reload {
            self.finish_reload(result, ctx);
            return;
        }
        let opened = match result {
            Ok(opened) => opened,
            Err(err) => {
                self.toasts.error(format!("{err:#}"));
                return;
            }
        };
        if let Some(err) = &opened.questions_error {
            self.toasts.error(err.clone());
        }
        if !opened.suite_streams.is_empty() {
            self.suite_streams = opened.suite_streams;
        }
        if let Some(project) = opened.project {
            self.remember_recent(&path);
            let view = ProjectView::new(*project);
            let first = view.streams().first().map(|s| s.id.clone());
            self.toasts.info(format!(
                "Opened project {} ({} memory entries in {} streams)",
                view.name(),
                view.entry_count(),
                view.streams().len()
            ));
            self.memorize.abandon();
            self.project = Some(view);
            self.tasks.reset();
            if let Some(stream) = first {
                self.switch_stream(&stream);
            }
            return;
        }
        let Some(source) = opened.source else { return };
        let index = Arc::clone(source.index());
        match Player::new(source, opened.questions, ctx) {
            Ok(player) => {
                // A stream of the open project keeps the clips still being written; anything
                // else leaves the project and forgets them.
                if self.project.as_ref().is_some_and(|p| p.owns_video(&path)) {
                    self.memorize.stop();
                } else {
                    self.memorize.abandon();
                }
                self.player = Some(player);
                self.ruler.fit();
                // A video opened on its own leaves the project; one of the project's streams
                // keeps it.
                if !self.project.as_ref().is_some_and(|p| p.owns_video(&path)) {
                    self.project = None;
                    self.remember_recent(&path);
                }
                self.toasts.info(format!(
                    "Opened {} ({}x{}, {}, {})",
                    file_name(&index.path),
                    index.width,
                    index.height,
                    index.codec.name(),
                    format_hms_ms(index.duration_ns())
                ));
            }
            Err(err) => self
                .toasts
                .error(format!("{}: cannot start decoding: {err}", path.display())),
        }
    }

    /// Hashes a stream's video on its own thread (a long video takes seconds) while it opens;
    /// a mismatch becomes a warning, the video still plays.
    pub(super) fn start_verify(&mut self, video: PathBuf, expected_sha256: String) {
        let spawned = self.jobs.spawn("video-verify", move |r| {
            r.progress(0, 0, format!("checking {}", file_name(&video)));
            Ok(match crate::world::sha256_file(&video) {
                Ok(found) if found == expected_sha256 => None,
                Ok(found) => Some(format!(
                    "{}: this is not the video the memory was made from (SHA-256 {}…, \
                         the project expects {}…); spans may not match what you see",
                    video.display(),
                    &found[..12.min(found.len())],
                    &expected_sha256[..12.min(expected_sha256.len())]
                )),
                Err(err) => Some(format!(
                    "{}: cannot check the video: {err}",
                    video.display()
                )),
            })
        });
        match spawned {
            Ok(job) => self.verifying = Some(job),
            Err(err) => self.toasts.warning(format!(
                "the video cannot be checked against the project's hash: {err}"
            )),
        }
    }

    pub(super) fn poll_verify(&mut self) {
        let Some(job) = &self.verifying else { return };
        let (_, Some(outcome)) = job.poll() else {
            return;
        };
        self.verifying = None;
        match outcome {
            Outcome::Done(None) | Outcome::Cancelled => {}
            Outcome::Done(Some(problem)) | Outcome::Failed(problem) => {
                self.toasts.warning(problem);
            }
        }
    }

    /// While following live, re-reads the file when it has grown.
    pub(super) fn check_live_growth(&mut self, ctx: &egui::Context, now_s: f64) {
        let Some(player) = &mut self.player else {
            return;
        };
        if !player.playback.follows_live() || self.opening.is_some() {
            return;
        }
        ctx.request_repaint_after(std::time::Duration::from_secs_f64(LIVE_CHECK_SECS));
        if now_s - player.last_live_check_s < LIVE_CHECK_SECS {
            return;
        }
        player.last_live_check_s = now_s;
        let Some(known_len) = player.index().map(|i| i.file_len) else {
            return;
        };
        let grown = std::fs::metadata(&player.path).is_ok_and(|m| m.len() != known_len);
        if grown {
            let path = player.path.clone();
            self.start_open_job(path, true);
        }
    }

    pub(super) fn finish_reload(&mut self, result: anyhow::Result<Opened>, ctx: &egui::Context) {
        let Some(old) = &self.player else { return };
        let opened = match result {
            Ok(opened) => opened,
            // A fragment still being written: try again at the next check.
            Err(err) => {
                log::debug!("live reload: {err}");
                return;
            }
        };
        let Some(source) = opened.source else { return };
        match Player::new(source, opened.questions, ctx) {
            Ok(mut player) => {
                let (speed, playing) = (old.playback.speed(), old.playback.is_playing());
                let looped = (old.playback.loop_range_ns(), old.playback.is_looping());
                player.playback.set_speed(speed);
                player.playback.set_loop_range_ns(looped.0);
                player.playback.set_looping(looped.1);
                player.playback.set_follow_live(true);
                if playing {
                    player.playback.play();
                }
                self.player = Some(player);
            }
            Err(err) => self
                .toasts
                .error(format!("cannot reload the live file: {err}")),
        }
    }

    pub(super) fn remember_recent(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.settings.recent_files.retain(|p| p != &path);
        self.settings.recent_files.insert(0, path.clone());
        self.settings.recent_files.truncate(MAX_RECENT);
        self.settings.last_opened = Some(path);
    }

    pub(super) fn switch_stream(&mut self, stream: &str) {
        let Some(view) = &mut self.project else {
            return;
        };
        let Some(info) = view.select_stream(stream) else {
            return;
        };
        self.memorize.stop();
        self.tasks.select(None);
        self.tasks.clear_checked();
        if let Some(video) = view.local_video(&info) {
            if let Some(expected) = info.video_sha256.clone() {
                self.start_verify(video.clone(), expected);
            }
            self.start_open(video);
        } else {
            self.player = Some(Player::empty_stage(
                view.dir().to_path_buf(),
                info.duration_ms,
            ));
            self.ruler.fit();
        }
    }
}
