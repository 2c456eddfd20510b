//! The egui application. Panels emit [`AppCommand`]s; [`TaskMemApp::apply`] is the one place
//! they change state. Opening a video runs on a named thread; decoding on the video threads.

pub mod command;
pub mod compare_view;
pub mod endpoint;
pub mod evaluation;
pub mod memorize;
mod menu;
pub mod path_window;
pub mod phase2_panel;
pub mod player;
pub mod presentation;
pub mod project_view;
pub mod screenshot;
pub mod task_panel;
pub mod toasts;
pub mod training;
pub mod ui;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::memory::Verdict;
use crate::memory::labels::LabelEvent;
use crate::project::Project;
use crate::studio::jobs::{Job, Jobs, Outcome};
use crate::studio::task_edit::{self, Edge, TaskKey};
use crate::tasks::{Span, Task, TaskEvent};
use crate::timefmt::format_hms_ms;
use crate::video::{NS_PER_MS, OpenOptions, VideoSource};
use crate::world::questions::load_tasks;
use command::Command;
use memorize::MemorizeControl;
use player::Player;
use project_view::ProjectView;
use task_panel::{SideTab, TaskPanel, TaskView};
use toasts::Toasts;
use ui::ruler::{RulerInput, TimeRuler};
use ui::transport::TransportBar;

/// Everything a panel may ask for.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    OpenDialog,
    Open(PathBuf),
    CloseVideo,
    ClearRecent,
    TogglePlay,
    Seek(i64),
    /// Dragging on the scrub track: seek, show previews, decode only the frame under the mouse.
    Scrub(i64),
    ScrubEnd,
    Skip(i64),
    StepFrames(i64),
    Home,
    End,
    Faster,
    Slower,
    SetSpeed(f64),
    SetLoop(Option<(i64, i64)>),
    ToggleLoop,
    SetFollowLive(bool),
    FitTimeline,
    /// The panel's width, side and visibility, the UI scale and the timeline's zoom back to
    /// their defaults (View > Reset layout).
    ResetLayout,
    ToggleShortcuts,
    Quit,
    /// Select a memory entry and seek to its clip.
    SelectEntry(u64),
    /// The memory an evaluation answer rested on (Compare runs): the first of `ids` that
    /// the open project holds on `stream` is selected, switching streams if need be.
    JumpToMemory {
        stream: String,
        ids: Vec<u64>,
    },
    /// Move the memory selection by rows (Up/Down).
    SelectRelative(i64),
    /// Gives the selected entry this label, or clears it when it has it already (keys 1-4).
    LabelSelected(Verdict),
    /// Selects the next listed row without a label, from the selection on, wrapping round.
    SelectNextUnlabeled,
    /// Show another stream of the open project.
    SwitchStream(String),
    /// Set or clear an annotator's verdict on an entry.
    Label {
        entry: u64,
        verdict: Option<Verdict>,
    },
    /// Replace an entry's text (`None`: back to the original).
    EditText {
        entry: u64,
        text: Option<String>,
    },
    Undo,
    Redo,
    /// A new task asked at `ask_ms` (the playhead when Ctrl+E was pressed).
    NewTask {
        ask_ms: i64,
    },
    /// Select a task of the current stream (`None` clears).
    SelectTask(Option<String>),
    /// Store a task as the form has it (same stream and id).
    PutTask(Box<Task>),
    RenameTask {
        key: TaskKey,
        new_id: String,
    },
    DuplicateTask(TaskKey),
    DeleteTasks(Vec<TaskKey>),
    RetypeTasks(Vec<TaskKey>, String),
    /// Replace evidence span `index` of a task (or add one with `None`).
    SetEvidence {
        key: TaskKey,
        index: Option<usize>,
        span: Span,
    },
    /// Move the selected task's active evidence edge by frames and seconds.
    NudgeEdge {
        frames: i64,
        seconds: i64,
    },
    SelectEdge(Edge),
    /// Select the task asked before or after the playhead and seek to it.
    JumpTask {
        forward: bool,
    },
    /// Make a project for the open video (its world questions become tasks) in a folder
    /// (`None`: ask with a dialog).
    NewProjectFromVideo(Option<PathBuf>),
    /// Import a benchmark's question file into the project (`None`: ask with a dialog); the
    /// format is recognised from the file.
    ImportTasks(Option<PathBuf>),
    /// Export the project's tasks (`None`: ask); the format follows the extension (.jsonl,
    /// .parquet, .csv, or .txt for TaskMem's one-question-per-line file).
    ExportTasks(Option<PathBuf>),
    /// Export the project's memory entries with their verdicts (`None`: ask); the format
    /// follows the extension (.jsonl, .parquet, or .txt for the QA text).
    ExportMemory(Option<PathBuf>),
    /// Add memory to the open project (`None`: ask): TaskMem's output folder (onto the open
    /// stream), its demo file, EgoRAG captions or a world stream folder, told from the content.
    ImportMemory(Option<PathBuf>),
    /// Switch "Memorize while playing" on or off.
    SetMemorizing(bool),
    /// Memorize a second lane with a Phase Two adapter (safetensors with its .json sidecar;
    /// `None`: ask with a dialog), beside the general lane.
    MemorizeWithAdapter(Option<PathBuf>),
    /// Show the Training window.
    ShowTraining,
    /// Start a Phase One run with the Training window's settings.
    StartTraining,
    /// Memorize with the model in this folder (`None`: the shipped one).
    UsePolicyModel(Option<PathBuf>),
    /// Show the Evaluate window.
    ShowEvaluation,
    /// Run an evaluation with the Evaluate window's settings.
    StartEvaluation,
    /// Show an evaluation's results folder.
    LoadEvaluation(PathBuf),
    /// Show the Phase Two window.
    ShowPhase2,
    /// Tune an adapter with the Phase Two window's settings.
    StartPhase2,
    /// Open the Evaluate window on a suite with this adapter's lane.
    EvaluateAdapter(PathBuf),
    /// Memorize a lane (named after the model) with the remote model in the settings.
    MemorizeRemote,
    /// Build a demo project afresh and open it.
    OpenDemo(crate::demo::Demo),
    /// Play or pause (unlike `TogglePlay`, the same either way it stood).
    SetPlaying(bool),
    /// A task of the open stream becomes a trigger switching to `adapter`'s lane, and that
    /// lane is memorized with the adapter from now on.
    TriggerTask {
        task_id: String,
        adapter: PathBuf,
    },
    /// Select `lane`'s entry covering `at_ms` (the inspector compares it with the other lanes).
    InspectAt {
        lane: String,
        at_ms: i64,
    },
    /// Answer a task of the open stream from the General lane's memory written before it
    /// arrived.
    AnswerTask(String),
    /// Evaluate the demo suite's held-out streams: the General lane against this adapter's.
    DemoChart(PathBuf),
    /// Enter or leave presentation mode (full screen, larger type, the demo script).
    TogglePresentation,
    /// The presentation's next step now.
    PresentationNext,
    /// Pause or resume the presentation's own stepping.
    PresentationPause,
    /// Show the welcome window.
    ShowWelcome,
    /// Clear the memory row selection (Esc).
    Deselect,
    /// Shows or hides a memory lane on the timeline (View > Lanes).
    SetLaneShown {
        lane: String,
        shown: bool,
    },
    /// Moves a memory lane one place up (`earlier`) or down on the timeline.
    MoveLane {
        lane: String,
        earlier: bool,
    },
    /// Copy the open demo project to this new folder as a project of the user's, and open it.
    SaveDemoAs(PathBuf),
    /// Stop a background job of the registry (the status bar's cancel button).
    CancelJob(u64),
}

/// The "Save the demo as a new project" window: a typed folder, as a system file dialog may
/// not exist.
#[derive(Clone, Debug)]
struct SaveDemo {
    path: String,
}

impl SaveDemo {
    /// Proposes a folder beside the demo, named after it, that does not exist yet.
    fn new(demo_dir: &Path) -> Self {
        let parent = demo_dir.parent().unwrap_or(demo_dir);
        let path = (1..1000)
            .map(|n| parent.join(format!("my-project-{n}")))
            .find(|p| !p.exists())
            .unwrap_or_else(|| parent.join("my-project"));
        Self {
            path: path.display().to_string(),
        }
    }
}

/// The colours of the UI.
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Dark,
    Light,
    /// As the system says.
    System,
}

impl Theme {
    fn preference(self) -> egui::ThemePreference {
        match self {
            Self::Dark => egui::ThemePreference::Dark,
            Self::Light => egui::ThemePreference::Light,
            Self::System => egui::ThemePreference::System,
        }
    }
}

/// Which side the memory and task panel sits on.
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelSide {
    Left,
    #[default]
    Right,
}

/// What persists between runs (window layout persists through eframe itself).
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct Settings {
    pub recent_files: Vec<PathBuf>,
    /// Written into the tasks this person authors.
    pub author: String,
    /// The built-in policy's model folder for "Memorize while playing" (`None`: the shipped
    /// one in assets/policy).
    pub policy_model: Option<PathBuf>,
    /// Tokens per description when memorizing, tuning and evaluating (`None`: the policy's
    /// default, [`crate::policy::DEFAULT_BUDGET_TOKENS`]).
    pub policy_budget_tokens: Option<usize>,
    /// A model behind an OpenAI-compatible endpoint for a remote lane: the endpoint up to
    /// `/v1` (empty: `$OPENAI_BASE_URL`), the served model's name, and the name of the
    /// variable holding the key (the key itself is never stored).
    pub remote_base_url: String,
    pub remote_model: String,
    pub remote_api_key_env: String,
    /// What the remote endpoint charges, for the cost shown beside its token counts.
    pub remote_prices: crate::remote::Prices,
    /// The project or video open when the app last closed: the next start opens it.
    pub last_opened: Option<PathBuf>,
    /// False until the welcome window was closed once; also "show it at every start".
    pub welcomed: bool,
    pub theme: Theme,
    /// The UI's zoom (1 = egui's own size).
    pub ui_scale: Option<f32>,
    /// The zoom in presentation mode.
    pub presentation_scale: Option<f32>,
    /// A presentation script of the user's (`None`: the shipped one).
    pub presentation_script: Option<PathBuf>,
    /// Where the memory and task panel sits, and whether it shows.
    pub panel_side: PanelSide,
    pub hide_side_panel: bool,
}

impl Settings {
    #[must_use]
    pub fn ui_scale(&self) -> f32 {
        self.ui_scale.unwrap_or(1.0).clamp(0.5, 3.0)
    }

    #[must_use]
    pub fn presentation_scale(&self) -> f32 {
        self.presentation_scale.unwrap_or(1.5).clamp(0.5, 3.0)
    }
}

const MAX_RECENT: usize = 10;

struct OpenJob {
    path: PathBuf,
    job: Job<(), Opened, anyhow::Error>,
    /// Re-reading a growing file while following live: keep the playback state, stay quiet
    /// about half-written fragments.
    reload: bool,
}

/// A question file being read for the project in `project_dir`.
struct ImportJob {
    path: PathBuf,
    project_dir: PathBuf,
    /// Offer the open stream when none of the file's streams is in the project (a file
    /// chosen in the app; a path given with the command imports as it is).
    offer: bool,
    job: Job<(), crate::tasks::import::ImportedTasks, String>,
}

/// Two grid rows: an endpoint's prices per million prompt and completion tokens.
pub(crate) fn prices_ui(ui: &mut egui::Ui, prices: &mut crate::remote::Prices) {
    for (label, value) in [
        ("$ per 1M prompt tokens", &mut prices.input_per_mtok_usd),
        (
            "$ per 1M completion tokens",
            &mut prices.output_per_mtok_usd,
        ),
    ] {
        ui.label(label);
        ui.add(
            egui::DragValue::new(value)
                .range(0.0..=1000.0)
                .speed(0.01)
                .max_decimals(3),
        )
        .on_hover_text(
            "What the endpoint charges, for the cost shown beside the token counts (0 for a server of your own)",
        );
        ui.end_row();
    }
}

/// Why the memorizing items are disabled without a project.
const NEEDS_PROJECT: &str = "Memorizing writes into a project: open one, or make one from this video with Tasks > New project from this video";

/// How often a followed live file is checked for growth.
const LIVE_CHECK_SECS: f64 = 1.0;

pub struct TaskMemApp {
    pub settings: Settings,
    player: Option<Player>,
    opening: Option<OpenJob>,
    pub toasts: Toasts,
    ruler: TimeRuler,
    transport: TransportBar,
    pending: Vec<AppCommand>,
    last_time_s: Option<f64>,
    title: String,
    show_shortcuts: bool,
    open_options: OpenOptions,
    /// Streams of the suite last opened, for the Suite menu.
    suite_streams: Vec<PathBuf>,
    /// The open project: its memory lanes, browser and inspector.
    project: Option<ProjectView>,
    /// Checking that a stream's video is the one its memory was made from.
    verifying: Option<Job<(), Option<String>, String>>,
    /// Task authoring: the tasks lane, the form and the library.
    tasks: TaskPanel,
    /// A question file being read on its own thread.
    importing: Option<ImportJob>,
    /// A project being made from the open video (the folder, and whether it worked).
    creating: Option<(PathBuf, Job<(), (), String>)>,
    /// Memory being added to the project (its folder, and what to say when it is there).
    importing_memory: Option<(PathBuf, Job<(), String, String>)>,
    /// Every background job, for the status bar's job list (each job's result goes to the
    /// field above that asked for it).
    pub jobs: Jobs,
    /// Whether the jobs' waker asks this app's context for repaints yet.
    jobs_wake: bool,
    /// "Memorize while playing".
    memorize: MemorizeControl,
    /// The Training window and its run.
    pub training: training::TrainingPanel,
    /// The Evaluate window and its run.
    pub evaluation: evaluation::EvaluationPanel,
    /// The Phase Two window and its run.
    pub phase2: phase2_panel::Phase2Panel,
    /// Presentation mode and its script.
    pub presentation: presentation::Presentation,
    pub show_welcome: bool,
    /// The zoom last set, so it is set again only on change.
    applied_scale: Option<f32>,
    /// Where demo projects are built (`demo::data_dir()`; tests point it elsewhere).
    pub data_dir: PathBuf,
    startup: Startup,
    /// Each panel's rect as laid out in the last frame, by name (tests check none drifts).
    panel_rects: Vec<(&'static str, egui::Rect)>,
    /// The presentation caption's rect in the last frame: windows keep clear of it.
    caption_rect: Option<egui::Rect>,
    side_panel_id: Option<egui::Id>,
    /// The "Save the demo as a new project" window, while open.
    save_demo: Option<SaveDemo>,
    /// Typed paths where the system file dialog is missing or fails; the stream choice of
    /// imported questions.
    pub paths: path_window::PathWindows,
}

/// The memory and task panel's width: what it starts at, and the least it may be.
const SIDE_PANEL_DEFAULT: f32 = 440.0;
const SIDE_PANEL_MIN: f32 = 280.0;
/// The least room the side panel leaves the video.
const MIN_STAGE_WIDTH: f32 = 400.0;
/// The height the side panel's tabs are laid out at when the window gives them less (they
/// scroll then).
const SIDE_BODY_MIN_HEIGHT: f32 = 440.0;

/// The widest the side panel may be in a window `available` wide: the video keeps
/// [`MIN_STAGE_WIDTH`], and the panel never goes below its own minimum while the window has
/// room for it.
fn side_panel_max(available: f32) -> f32 {
    (available - MIN_STAGE_WIDTH)
        .max(SIDE_PANEL_MIN)
        .min(available)
        .max(0.0)
}

/// What the app does once, early in its life.
#[derive(Debug, Default)]
struct Startup {
    /// Once the demo opened at the first start is on show: memorize and play.
    autoplay_demo: bool,
    /// See [`EXIT_AT_FIRST_FRAME`].
    exit_at_first_frame: bool,
}

impl TaskMemApp {
    /// A new app with the settings eframe kept; opens `video` if given.
    #[must_use]
    pub fn new(cc: &eframe::CreationContext<'_>, video: Option<PathBuf>) -> Self {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        Self::with_settings(settings, video)
    }

    /// A new app with `settings`. With a `video`, it opens that; at the first start (the
    /// welcome window never closed) it opens the demo, memorizing and playing, under the
    /// welcome window; later starts open what was open last.
    #[must_use]
    pub fn with_settings(settings: Settings, video: Option<PathBuf>) -> Self {
        let mut app = Self {
            settings,
            player: None,
            opening: None,
            toasts: Toasts::default(),
            ruler: TimeRuler::default(),
            transport: TransportBar::default(),
            pending: Vec::new(),
            last_time_s: None,
            title: String::new(),
            show_shortcuts: false,
            open_options: OpenOptions::default(),
            suite_streams: Vec::new(),
            project: None,
            verifying: None,
            tasks: TaskPanel::default(),
            importing: None,
            creating: None,
            importing_memory: None,
            jobs: Jobs::default(),
            jobs_wake: false,
            memorize: MemorizeControl::default(),
            training: training::TrainingPanel::default(),
            evaluation: evaluation::EvaluationPanel::default(),
            phase2: phase2_panel::Phase2Panel::default(),
            presentation: presentation::Presentation::default(),
            show_welcome: false,
            applied_scale: None,
            data_dir: crate::demo::data_dir(),
            startup: Startup {
                autoplay_demo: false,
                exit_at_first_frame: std::env::var_os(EXIT_AT_FIRST_FRAME).is_some(),
            },
            panel_rects: Vec::new(),
            caption_rect: None,
            side_panel_id: None,
            save_demo: None,
            paths: path_window::PathWindows::default(),
        };
        if app.settings.author.is_empty() {
            app.settings.author = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "annotator".to_owned());
        }
        let last = app.settings.last_opened.clone().filter(|p| p.exists());
        if let Some(video) = video {
            app.pending.push(AppCommand::Open(video));
        } else if !app.settings.welcomed {
            app.show_welcome = true;
            app.startup.autoplay_demo = true;
            app.pending
                .push(AppCommand::OpenDemo(crate::demo::Demo::Stream));
        } else if let Some(last) = last {
            app.pending.push(AppCommand::Open(last));
        } else {
            app.show_welcome = true;
        }
        app
    }

    #[must_use]
    pub fn player(&self) -> Option<&Player> {
        self.player.as_ref()
    }

    /// The time span the ruler shows, in nanoseconds.
    #[must_use]
    pub fn timeline_view_ns(&self) -> (f64, f64) {
        self.ruler.visible_ns()
    }

    /// Connects a writer on another thread (an ingest, or a test's simulated writer) to the
    /// open project: entries it sends appear live in the lanes and the browser.
    pub fn attach_live_writer(
        &mut self,
        entries: crossbeam_channel::Receiver<crate::memory::MemoryEntry>,
    ) {
        if let Some(view) = &mut self.project {
            view.attach_live(entries);
        }
    }

    /// The task panel (selection, active evidence edge, library rows).
    #[must_use]
    pub fn task_panel(&self) -> &TaskPanel {
        &self.tasks
    }

    /// The open project, if any.
    #[must_use]
    pub fn project(&self) -> Option<&ProjectView> {
        self.project.as_ref()
    }

    /// The open project, for changes a panel would make (tests, scripted demos).
    pub fn project_mut(&mut self) -> Option<&mut ProjectView> {
        self.project.as_mut()
    }

    /// Whether "Memorize while playing" is on (any lane).
    #[must_use]
    pub fn is_memorizing(&self) -> bool {
        self.memorize.is_on()
    }

    #[must_use]
    pub fn is_opening(&self) -> bool {
        self.opening.is_some()
    }

    /// Each panel's rect in the last frame, by name: "menu", "status", "transport" (with a
    /// video), "memory" (the side panel, when shown) and "central".
    #[must_use]
    pub fn panel_rects(&self) -> &[(&'static str, egui::Rect)] {
        &self.panel_rects
    }

    /// The id under which egui keeps (and eframe saves) the side panel's width, once shown.
    #[must_use]
    pub fn side_panel_id(&self) -> Option<egui::Id> {
        self.side_panel_id
    }

    /// Queues a command as if a panel had emitted it (menus, tests, drag-and-drop).
    pub fn submit(&mut self, command: AppCommand) {
        self.pending.push(command);
    }

    fn start_open(&mut self, path: PathBuf) {
        self.start_open_job(path, false);
    }

    fn start_open_job(&mut self, path: PathBuf, reload: bool) {
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

    fn poll_open(&mut self, ctx: &egui::Context) {
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

    fn undo_redo(&mut self, undo: bool) {
        let Some(view) = &mut self.project else {
            return;
        };
        let result = if undo { view.undo() } else { view.redo() };
        if let Err(err) = result {
            self.toasts.error(err.to_string());
        }
    }

    fn record_label(&mut self, event: LabelEvent) {
        let Some(view) = &mut self.project else {
            return;
        };
        if let Err(err) = view.record(event) {
            self.toasts.error(err.to_string());
        }
    }

    /// Shows a project stream: its video when it is on disk, otherwise an empty stage.
    fn jump_to_memory(&mut self, stream: &str, ids: &[u64]) {
        let found = self.project.as_ref().and_then(|view| {
            ids.iter().copied().find(|id| {
                view.memory_entries()
                    .iter()
                    .any(|e| e.id == *id && e.stream == stream)
            })
        });
        let Some(id) = found else {
            self.toasts.warning(format!(
                "The entries this answer used ({}) are not in the open project: a suite run \
                 memorizes its own copy of the streams. Runs of the project's own lanes \
                 (Evaluate > this project) can be followed to their memory.",
                ids.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        };
        if self.project.as_ref().is_some_and(|v| v.stream() != stream) {
            self.switch_stream(stream);
        }
        self.pending.push(AppCommand::SelectEntry(id));
    }

    fn switch_stream(&mut self, stream: &str) {
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

    /// Hashes a stream's video on its own thread (a long video takes seconds) while it opens;
    /// a mismatch becomes a warning, the video still plays.
    fn start_verify(&mut self, video: PathBuf, expected_sha256: String) {
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

    fn poll_verify(&mut self) {
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
    fn check_live_growth(&mut self, ctx: &egui::Context, now_s: f64) {
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

    fn finish_reload(&mut self, result: anyhow::Result<Opened>, ctx: &egui::Context) {
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

    fn remember_recent(&mut self, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.settings.recent_files.retain(|p| p != &path);
        self.settings.recent_files.insert(0, path.clone());
        self.settings.recent_files.truncate(MAX_RECENT);
        self.settings.last_opened = Some(path);
    }

    /// The one place commands change the app: each group of commands has its own function,
    /// and a command passes down the chain until one takes it.
    fn apply(&mut self, command: AppCommand, ctx: &egui::Context) {
        let Some(command) = self.apply_files(command) else {
            return;
        };
        let Some(command) = self.apply_windows(command, ctx) else {
            return;
        };
        let Some(command) = self.apply_memory(command) else {
            return;
        };
        match command {
            AppCommand::NewTask { .. }
            | AppCommand::SelectTask(_)
            | AppCommand::PutTask(_)
            | AppCommand::RenameTask { .. }
            | AppCommand::DuplicateTask(_)
            | AppCommand::DeleteTasks(_)
            | AppCommand::RetypeTasks(..)
            | AppCommand::SetEvidence { .. }
            | AppCommand::NudgeEdge { .. }
            | AppCommand::SelectEdge(_)
            | AppCommand::JumpTask { .. } => self.apply_task(command),
            playback_command => self.apply_playback(&playback_command, ctx),
        }
    }

    /// Opening, making, importing and exporting; any other command is handed back.
    fn apply_files(&mut self, command: AppCommand) -> Option<AppCommand> {
        match command {
            AppCommand::OpenDialog => {
                let start = self.settings.last_opened.as_deref().and_then(Path::parent);
                if let Some(path) =
                    self.paths
                        .ask(path_window::PathPurpose::Open, start, &mut self.toasts)
                {
                    self.start_open(path);
                }
            }
            AppCommand::Open(path) => self.start_open(path),
            AppCommand::CloseVideo => {
                self.memorize.stop();
                self.player = None;
            }
            AppCommand::ClearRecent => self.settings.recent_files.clear(),
            AppCommand::OpenDemo(demo) => match crate::demo::build(demo, &self.data_dir) {
                Ok(opened) => {
                    if let Some((kept, changes)) = &opened.kept {
                        self.toasts.info(format!(
                            "{} holds your work ({}), so it is kept as it is; the demo was built fresh in {}. File > Save the demo as a new project keeps a demo under a name of your own.",
                            kept.display(),
                            changes.join("; "),
                            opened.dir.display()
                        ));
                    }
                    self.start_open(opened.dir);
                }
                Err(e) => self.toasts.error(format!("cannot build the demo: {e}")),
            },
            AppCommand::SaveDemoAs(target) => self.save_demo_as(&target),
            AppCommand::NewProjectFromVideo(folder) => self.new_project_from_video(folder),
            AppCommand::ImportTasks(path) => {
                // A file chosen here is offered to the open stream; one given with the
                // command imports as it is.
                let offer = path.is_none();
                self.start_import_tasks(path, offer);
            }
            AppCommand::ExportTasks(path) => self.export_tasks(path),
            AppCommand::ExportMemory(path) => self.export_memory(path),
            AppCommand::ImportMemory(path) => self.import_memory(path),
            other => return Some(other),
        }
        None
    }

    /// The tool windows, presentation and layout commands; any other command is handed back.
    fn apply_windows(&mut self, command: AppCommand, ctx: &egui::Context) -> Option<AppCommand> {
        match command {
            AppCommand::ShowTraining => self.training.open = true,
            AppCommand::StartTraining => {
                if let Err(e) = self.training.start(&self.jobs) {
                    self.toasts.error(e.to_string());
                }
            }
            AppCommand::ShowEvaluation => {
                // A project's own lanes are the natural first choice once one is open.
                if self.project.is_some() && !self.evaluation.open {
                    self.evaluation.source = evaluation::EvalSource::Project;
                }
                self.evaluation.open = true;
            }
            AppCommand::StartEvaluation => {
                let context = evaluation::EvalContext {
                    project_dir: self.project.as_ref().map(|p| p.dir().to_path_buf()),
                    model_dir: self.settings.policy_model.clone(),
                    budget_tokens: self.settings.policy_budget_tokens,
                };
                if let Err(e) = self.evaluation.start(&self.jobs, &context) {
                    self.toasts.error(e);
                }
            }
            AppCommand::LoadEvaluation(dir) => {
                if let Err(e) = self.evaluation.load_results(dir) {
                    self.toasts.error(e);
                }
            }
            AppCommand::EvaluateAdapter(path) => {
                let line = path.display().to_string();
                if !self.evaluation.adapters.lines().any(|l| l.trim() == line) {
                    if !self.evaluation.adapters.trim().is_empty() {
                        self.evaluation.adapters.push('\n');
                    }
                    self.evaluation.adapters.push_str(&line);
                }
                self.evaluation.source = evaluation::EvalSource::Suite;
                self.evaluation.open = true;
            }
            AppCommand::DemoChart(adapter) => {
                self.evaluation.suite = crate::demo::shipped("datasets/world-mme")
                    .display()
                    .to_string();
                "test".clone_into(&mut self.evaluation.split);
                self.evaluation.adapters = adapter.display().to_string();
                self.evaluation.reference = false;
                self.evaluation.remote = false;
                self.evaluation.source = evaluation::EvalSource::Suite;
                self.evaluation.out = self.data_dir.join("demo-eval").display().to_string();
                self.evaluation.open = true;
                if !self.evaluation.is_running() {
                    self.pending.push(AppCommand::StartEvaluation);
                }
            }
            AppCommand::ShowPhase2 => {
                if self.project.is_some() && !self.phase2.open {
                    self.phase2.source = phase2_panel::TaskSource::Project;
                }
                self.phase2.open = true;
            }
            AppCommand::StartPhase2 => {
                let context = phase2_panel::Phase2Context {
                    project_dir: self.project.as_ref().map(|p| p.dir().to_path_buf()),
                    model_dir: self.settings.policy_model.clone(),
                    budget_tokens: self.settings.policy_budget_tokens,
                    checked: self.tasks.checked_ids(),
                };
                if let Err(e) = self.phase2.start(&self.jobs, &context) {
                    self.toasts.error(e);
                }
            }
            AppCommand::TogglePresentation => self.toggle_presentation(ctx),
            AppCommand::PresentationNext => self.presentation.next(),
            AppCommand::PresentationPause => self.presentation.toggle_pause(),
            AppCommand::ShowWelcome => self.show_welcome = true,
            AppCommand::ToggleShortcuts => self.show_shortcuts = !self.show_shortcuts,
            AppCommand::ResetLayout => self.reset_layout(ctx),
            AppCommand::FitTimeline => self.ruler.fit(),
            AppCommand::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            AppCommand::CancelJob(id) => self.jobs.cancel(id),
            other => return Some(other),
        }
        None
    }

    /// The memory, label and lane commands; any other command is handed back.
    fn apply_memory(&mut self, command: AppCommand) -> Option<AppCommand> {
        match command {
            AppCommand::JumpToMemory { stream, ids } => self.jump_to_memory(&stream, &ids),
            AppCommand::SelectEntry(id) => {
                let seek = self.project.as_mut().and_then(|p| p.select(id));
                if let (Some(t), Some(player)) = (seek, &mut self.player) {
                    player.playback.seek_ns(t);
                }
            }
            AppCommand::SelectRelative(delta) => {
                if let Some(id) = self.project.as_mut().and_then(|p| p.select_relative(delta)) {
                    self.pending.push(AppCommand::SelectEntry(id));
                }
            }
            AppCommand::SelectNextUnlabeled => {
                match self.project.as_ref().map(ProjectView::next_unlabeled) {
                    Some(Some(id)) => self.pending.push(AppCommand::SelectEntry(id)),
                    Some(None) => self.toasts.info("Every listed entry has a label"),
                    None => {}
                }
            }
            AppCommand::Deselect => {
                if let Some(view) = &mut self.project {
                    view.deselect();
                }
            }
            AppCommand::LabelSelected(verdict) => {
                if let Some(entry) = self.project.as_ref().and_then(|p| p.selected()) {
                    let id = entry.id;
                    let current = self.project.as_ref().and_then(|p| p.verdict(id));
                    self.record_label(LabelEvent::Verdict {
                        entry: id,
                        verdict: (current != Some(verdict)).then_some(verdict),
                    });
                }
            }
            AppCommand::Label { entry, verdict } => {
                self.record_label(LabelEvent::Verdict { entry, verdict });
            }
            AppCommand::EditText { entry, text } => {
                self.record_label(LabelEvent::Edit { entry, text });
            }
            AppCommand::Undo => self.undo_redo(true),
            AppCommand::Redo => self.undo_redo(false),
            AppCommand::SwitchStream(stream) => self.switch_stream(&stream),
            AppCommand::SetLaneShown { lane, shown } => {
                if let Some(Err(e)) = self
                    .project
                    .as_mut()
                    .map(|v| v.set_lane_shown(&lane, shown))
                {
                    self.toasts
                        .error(format!("Could not save the lane's visibility: {e}"));
                }
            }
            AppCommand::MoveLane { lane, earlier } => {
                if let Some(Err(e)) = self.project.as_mut().map(|v| v.move_lane(&lane, earlier)) {
                    self.toasts
                        .error(format!("Could not save the lane order: {e}"));
                }
            }
            AppCommand::InspectAt { lane, at_ms } => self.inspect_at(&lane, at_ms),
            AppCommand::AnswerTask(task_id) => self.answer_task(&task_id),
            AppCommand::TriggerTask { task_id, adapter } => self.trigger_task(&task_id, adapter),
            AppCommand::SetMemorizing(on) => {
                if on {
                    self.start_memorizing(None);
                } else {
                    self.memorize.stop();
                }
            }
            AppCommand::MemorizeWithAdapter(path) => {
                let path = path.or_else(|| {
                    self.paths
                        .ask(path_window::PathPurpose::Adapter, None, &mut self.toasts)
                });
                if let Some(path) = path {
                    self.start_memorizing(Some(path));
                }
            }
            AppCommand::MemorizeRemote => self.start_memorizing_remote(),
            AppCommand::UsePolicyModel(dir) => {
                let was_on = self.memorize.is_on();
                self.toasts.info(match &dir {
                    Some(dir) => format!("Memorizing with the model in {}", dir.display()),
                    None => "Memorizing with the shipped model".to_owned(),
                });
                self.settings.policy_model = dir;
                if was_on {
                    self.start_memorizing(None);
                }
            }
            other => return Some(other),
        }
        None
    }

    /// The transport's commands, on the open video.
    fn apply_playback(&mut self, command: &AppCommand, ctx: &egui::Context) {
        let Some(player) = &mut self.player else {
            return;
        };
        let p = &mut player.playback;
        match *command {
            AppCommand::TogglePlay => p.toggle_play(),
            AppCommand::SetPlaying(play) if p.is_playing() != play => p.toggle_play(),
            AppCommand::Seek(t) => p.seek_ns(t),
            AppCommand::Scrub(t) => {
                player.scrubbing = true;
                p.seek_ns(t);
            }
            AppCommand::ScrubEnd => player.scrubbing = false,
            AppCommand::Skip(dt) => p.skip_ns(dt),
            AppCommand::StepFrames(n) => p.step_frames(n),
            AppCommand::Home => p.home(),
            AppCommand::End => p.end(),
            AppCommand::Faster => p.faster(),
            AppCommand::Slower => p.slower(),
            AppCommand::SetSpeed(s) => p.set_speed(s),
            AppCommand::SetLoop(range) => {
                p.set_loop_range_ns(range);
                p.set_looping(p.loop_range_ns().is_some());
            }
            AppCommand::ToggleLoop => {
                let looping = p.is_looping();
                p.set_looping(!looping);
            }
            AppCommand::SetFollowLive(on) => p.set_follow_live(on),
            _ => {}
        }
        ctx.request_repaint();
    }

    /// Copies the open demo to `target` and opens the copy (an ordinary project from then on).
    fn save_demo_as(&mut self, target: &Path) {
        let Some(view) = &self.project else {
            self.toasts
                .error("Open a demo first: there is nothing to save");
            return;
        };
        let target = expand_home(target);
        if !target.is_absolute() {
            self.toasts.error(format!(
                "{}: give the whole path of the new folder (it may start with ~/)",
                target.display()
            ));
            return;
        }
        let demo_dir = view.dir().to_path_buf();
        // Live lanes write into the open folder: stopped, so the copy is whole.
        self.memorize.stop();
        match crate::demo::save_copy(&demo_dir, &target) {
            Ok(copy) => {
                self.save_demo = None;
                self.toasts.info(format!(
                    "The demo is saved as {}: a project of your own, opened now (the demo stays in {})",
                    copy.display(),
                    demo_dir.display()
                ));
                self.start_open(copy);
            }
            Err(e) => self.toasts.error(format!("cannot save the demo: {e}")),
        }
    }

    /// The "Save the demo as a new project" window.
    fn save_demo_window(&mut self, ctx: &egui::Context) {
        let Some(save) = &mut self.save_demo else {
            return;
        };
        let mut open = true;
        let mut command = None;
        let mut cancel = false;
        egui::Window::new("Save the demo as a new project")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label("A new folder for the copy (a full path; ~/ is your home folder):");
                let field = ui.add(
                    egui::TextEdit::singleline(&mut save.path)
                        .desired_width(420.0)
                        .hint_text("/path/to/new-project"),
                );
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.weak("Everything in the demo comes along: tasks, verdicts, adapters, runs and lanes. The copy is a project of your own that no demo build replaces.");
                ui.horizontal(|ui| {
                    if ui
                        .button("Save")
                        .on_hover_text("Copy the demo there and open the copy")
                        .clicked()
                        || entered
                    {
                        command = Some(AppCommand::SaveDemoAs(PathBuf::from(save.path.trim())));
                    }
                    if ui.button("Cancel").clicked() {
                        cancel = true;
                    }
                });
            });
        if !open || cancel {
            self.save_demo = None;
        }
        self.pending.extend(command);
    }

    /// The path window (where the system file dialog is missing or failed) and what it asks.
    fn path_window(&mut self, ctx: &egui::Context) {
        use path_window::PathAction;
        for action in self.paths.ui(ctx, &mut self.toasts) {
            match action {
                PathAction::Command(command) => {
                    let missing = match &command {
                        AppCommand::Open(path)
                        | AppCommand::MemorizeWithAdapter(Some(path))
                        | AppCommand::ImportMemory(Some(path)) => (!path.exists()).then_some(path),
                        _ => None,
                    };
                    if let Some(path) = missing {
                        // The window stays open to correct the path.
                        self.toasts
                            .error(format!("{}: no such file or folder", path.display()));
                        continue;
                    }
                    // An export closes the window once written; the others hand over now
                    // and say what went wrong in a toast.
                    if !matches!(
                        command,
                        AppCommand::ExportTasks(_)
                            | AppCommand::ExportMemory(_)
                            | AppCommand::ImportMemory(_)
                    ) {
                        self.paths.window = None;
                    }
                    self.pending.push(command);
                }
                PathAction::Import(path) => self.start_import_tasks(Some(path), true),
                PathAction::PresentationScript(path) => self.use_presentation_script(path),
                PathAction::Attach(offer) => {
                    let stream = offer.attach.then_some(offer.stream.as_str());
                    self.add_imported_tasks(&offer.path, offer.imported, stream);
                }
            }
        }
    }

    /// Presentation mode runs `path` from now on; a missing file keeps the path window open.
    fn use_presentation_script(&mut self, path: PathBuf) {
        if !path.is_file() {
            self.toasts
                .error(format!("{}: no such file", path.display()));
            return;
        }
        self.paths.window = None;
        self.toasts.info(format!(
            "Presentation mode runs {} from now on",
            path.display()
        ));
        self.settings.presentation_script = Some(path);
    }

    /// Starts "Memorize while playing" on the open project's stream and video: the general
    /// lane, or with `adapter` a lane named after it.
    fn start_memorizing(&mut self, adapter: Option<PathBuf>) {
        self.start_lane(adapter, None);
    }

    /// The lane a live adapter lane gets: the adapter file's name; an adapter named like the
    /// general lane must not write into it.
    fn adapter_lane(adapter: &Path) -> String {
        match adapter
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
        {
            Some(stem) if stem == memorize::LIVE_LANE => format!("adapter-{}", memorize::LIVE_LANE),
            Some(stem) => stem,
            None => "adapter".to_owned(),
        }
    }

    /// A question arrives as a trigger: the task switches to the adapter's lane from its ask
    /// time, and that lane is memorized with the adapter from now on.
    fn trigger_task(&mut self, task_id: &str, adapter: PathBuf) {
        let Some(view) = &self.project else {
            self.toasts.error(NEEDS_PROJECT);
            return;
        };
        let Some(task) = view.tasks().get(view.stream(), task_id) else {
            self.toasts.error(format!(
                "no task {task_id} in stream {} of {}",
                view.stream(),
                view.dir().display()
            ));
            return;
        };
        let mut task = task.clone();
        task.trigger = true;
        task.switch_to = Some(Self::adapter_lane(&adapter));
        self.pending.push(AppCommand::PutTask(Box::new(task)));
        self.pending
            .push(AppCommand::SelectTask(Some(task_id.to_owned())));
        if !self
            .memorize
            .lanes()
            .contains(&Self::adapter_lane(&adapter).as_str())
        {
            self.start_memorizing(Some(adapter));
        }
    }

    fn reset_layout(&mut self, ctx: &egui::Context) {
        let defaults = Settings::default();
        self.settings.panel_side = defaults.panel_side;
        self.settings.hide_side_panel = defaults.hide_side_panel;
        self.settings.ui_scale = defaults.ui_scale;
        if let Some(id) = self.side_panel_id {
            // egui keeps (and eframe saves) the dragged width under the panel's id: without it
            // the panel comes back at its default width.
            ctx.data_mut(|d| d.remove::<egui::PanelState>(id));
        }
        self.ruler.fit();
    }

    /// Selects `lane`'s entry covering `at_ms`, on the Memory tab.
    fn inspect_at(&mut self, lane: &str, at_ms: i64) {
        let Some(view) = &self.project else {
            return;
        };
        let found = view
            .lane_entries(lane)
            .iter()
            .find(|e| e.start_ms <= at_ms && at_ms < e.end_ms)
            .map(|e| e.id);
        match found {
            Some(id) => {
                self.tasks.tab = SideTab::Memory;
                self.settings.hide_side_panel = false;
                self.pending.push(AppCommand::SelectEntry(id));
                // The inspector is what the step talks about: brought into the panel's view.
                if let Some(view) = &mut self.project {
                    view.reveal_inspector();
                }
            }
            None => self.toasts.warning(format!(
                "lane {lane} holds no entry at {} yet",
                format_hms_ms(at_ms * NS_PER_MS)
            )),
        }
    }

    /// Answers a task from the General lane's memory written before it arrived, with the
    /// built-in answerer; the line goes to the presentation's caption and a toast.
    fn answer_task(&mut self, task_id: &str) {
        use crate::eval::answer::{Answerer as _, BuiltinAnswerer, Question};
        let Some(view) = &self.project else {
            return;
        };
        let Some(task) = view.tasks().get(view.stream(), task_id) else {
            self.toasts
                .error(format!("no task {task_id} in stream {}", view.stream()));
            return;
        };
        let lane = view
            .lanes()
            .iter()
            .find(|l| l.general)
            .map_or(memorize::LIVE_LANE, |l| l.id.as_str());
        let memory: Vec<&crate::memory::MemoryEntry> = view
            .lane_entries(lane)
            .iter()
            .filter(|e| e.available_ms <= task.ask_ms)
            .collect();
        let told = match BuiltinAnswerer.answer(&Question::of_task(task), &memory) {
            Ok(reply) => {
                let verdict = if reply.abstained {
                    "the memory does not say, so it abstains"
                } else if reply.answer.eq_ignore_ascii_case(&task.answer) {
                    "right"
                } else {
                    "wrong"
                };
                format!(
                    "Answer from {} entries of lane {lane}: {} ({verdict}; the truth is {})",
                    memory.len(),
                    reply.answer,
                    task.answer
                )
            }
            Err(e) => format!("cannot answer: {e}"),
        };
        if self.presentation.is_active() {
            self.presentation.set_answer(told);
        } else {
            self.toasts.info(told);
        }
    }

    /// Presentation mode: full screen, the presentation zoom, and the script from its start.
    fn toggle_presentation(&mut self, ctx: &egui::Context) {
        if self.presentation.is_active() {
            self.presentation.stop();
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(false));
            return;
        }
        let path = self
            .settings
            .presentation_script
            .clone()
            .unwrap_or_else(|| crate::demo::shipped(crate::demo::DEMO_SCRIPT));
        match crate::demo::Script::load(&path) {
            Ok(script) => {
                self.show_welcome = false;
                self.settings.welcomed = true;
                // The first scene is the video and its lanes: tool windows left open would
                // cover it (the script opens the ones it shows).
                self.evaluation.open = false;
                self.phase2.open = false;
                self.training.open = false;
                self.show_shortcuts = false;
                self.presentation.start(script);
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(true));
            }
            Err(e) => self.toasts.error(e.to_string()),
        }
    }

    /// The zoom and theme the settings and presentation mode ask for, set on change only.
    fn apply_look(&mut self, ctx: &egui::Context) {
        let scale = if self.presentation.is_active() {
            self.settings.presentation_scale()
        } else {
            self.settings.ui_scale()
        };
        if self.applied_scale != Some(scale) {
            if (ctx.zoom_factor() - scale).abs() > 1e-3 {
                ctx.set_zoom_factor(scale);
            }
            self.applied_scale = Some(scale);
        }
        let theme = self.settings.theme.preference();
        if ctx.options(|o| o.theme_preference) != theme {
            ctx.set_theme(theme);
        }
    }

    /// Steps the presentation; the demo counts as ready once its first frame shows.
    fn tick_presentation(&mut self, now_s: f64) {
        let ready = self.opening.is_none()
            && self.project.is_some()
            && self
                .player
                .as_ref()
                .is_none_or(|p| p.decoder.is_none() || p.shown.is_some());
        let stage = presentation::Stage {
            now_s,
            playhead_ms: self.playhead_ms(),
            ready,
            busy: self.evaluation.is_running(),
        };
        let commands = self.presentation.tick(stage);
        self.pending.extend(commands);
        if self.startup.autoplay_demo
            && ready
            && self.player.as_ref().is_some_and(|p| p.decoder.is_some())
        {
            self.startup.autoplay_demo = false;
            self.pending.push(AppCommand::SetMemorizing(true));
            self.pending.push(AppCommand::SetPlaying(true));
        }
    }

    /// A lane memorized by the remote model in the settings, named after the model.
    fn start_memorizing_remote(&mut self) {
        let model = self.settings.remote_model.trim().to_owned();
        if model.is_empty() {
            self.toasts
                .error("Name the remote model first (Policy menu, Remote model)");
            return;
        }
        let mut remote = crate::remote::RemoteSettings::from_env(&model);
        if !self.settings.remote_base_url.trim().is_empty() {
            self.settings
                .remote_base_url
                .trim()
                .clone_into(&mut remote.base_url);
        }
        if !self.settings.remote_api_key_env.trim().is_empty() {
            self.settings
                .remote_api_key_env
                .trim()
                .clone_into(&mut remote.api_key_env);
        }
        // TaskMem's rate: one frame per second of the clip.
        self.start_lane(None, Some((remote, 10)));
    }

    fn start_lane(
        &mut self,
        adapter: Option<PathBuf>,
        remote: Option<(crate::remote::RemoteSettings, usize)>,
    ) {
        let (Some(view), Some(player)) = (&mut self.project, &self.player) else {
            self.toasts.error(NEEDS_PROJECT);
            return;
        };
        if player.decoder.is_none() {
            self.toasts.error(format!(
                "Stream {} has no video on this machine: nothing to memorize",
                view.stream()
            ));
            return;
        }
        let lane = match (adapter.as_deref(), &remote) {
            (_, Some((r, _))) if r.model == memorize::LIVE_LANE => {
                format!("remote-{}", memorize::LIVE_LANE)
            }
            (_, Some((r, _))) => r.model.clone(),
            (Some(adapter), None) => Self::adapter_lane(adapter),
            (None, None) => memorize::LIVE_LANE.to_owned(),
        };
        let general = adapter.is_none() && remote.is_none() && !view.has_general_lane();
        if let Err(e) = view.ensure_lane(&lane, general, adapter.as_deref()) {
            self.toasts.error(e.to_string());
            return;
        }
        // The app builds a remote lane's client: the lane's thread memorizes through it and the
        // status line shows its counters.
        let remote = remote.map(|(settings, frames)| {
            Arc::new(crate::remote::policy::RemoteLane {
                client: crate::remote::client::ChatClient::new(settings),
                frames,
            })
        });
        let settings = crate::policy::live::LiveSettings {
            video: player.path.clone(),
            project_dir: view.dir().to_path_buf(),
            stream: view.stream().to_owned(),
            lane: lane.clone(),
            clip_ms: view.clip_ms(),
            model_dir: self.settings.policy_model.clone(),
            adapter,
            budget_tokens: self.settings.policy_budget_tokens,
            remote: remote
                .clone()
                .map(|r| r as Arc<dyn crate::policy::live::ServedPolicy>),
            next_id: std::sync::Arc::default(),
        };
        self.memorize.reserve_ids_from(view.next_entry_id());
        let held = view.lane_clip_starts(&lane);
        let counters = remote.map(|r| Arc::clone(&r.client.counters));
        if let Err(e) = self.memorize.start(settings, held, counters) {
            self.toasts
                .error(format!("cannot start the memorizing thread: {e}"));
        }
    }

    /// Takes what the live memorizer wrote and reported.
    fn poll_memorize(&mut self, ctx: &egui::Context) {
        if !self.memorize.is_on() && !self.memorize.busy() {
            return;
        }
        let polled = self.memorize.poll();
        for error in polled.errors {
            self.toasts.error(error);
        }
        if let Some(view) = &mut self.project
            && !polled.written.is_empty()
        {
            view.add_entries(polled.written);
        }
        if self.memorize.busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// Records task changes as one undo step; errors become toasts.
    fn record_tasks(&mut self, events: Vec<TaskEvent>, coalesce: Option<String>) -> bool {
        let Some(view) = &mut self.project else {
            return false;
        };
        match view.record_tasks(events, coalesce) {
            Ok(()) => true,
            Err(err) => {
                self.toasts.error(err.to_string());
                false
            }
        }
    }

    fn put(task: Task) -> TaskEvent {
        TaskEvent::Put {
            task: Box::new(task),
        }
    }

    /// The playhead in whole ms (0 with nothing open): where new tasks are asked.
    fn playhead_ms(&self) -> i64 {
        self.player
            .as_ref()
            .map_or(0, |p| p.playback.position_ns() / crate::video::NS_PER_MS)
    }

    /// The task commands: every change goes through the project's undoable log.
    fn apply_task(&mut self, command: AppCommand) {
        let position_ms = self.playhead_ms();
        if let AppCommand::SelectTask(id) = command {
            self.tasks.select(id);
            return;
        }
        if let AppCommand::SelectEdge(edge) = command {
            self.tasks.edge = edge;
            return;
        }
        let Some(view) = &self.project else {
            self.toasts.warning(
                "Tasks are saved in a project: use Tasks > New project from this video first",
            );
            return;
        };
        let stream = view.stream().to_owned();
        let library = view.tasks();
        let stored = |key: &TaskKey| library.get(&key.stream, &key.id).cloned();
        let selected = self
            .tasks
            .selected()
            .and_then(|id| library.get(&stream, id))
            .cloned();
        match command {
            AppCommand::NewTask { ask_ms } => {
                let id = library.fresh_id(&stream, "task");
                let task = Task::authored(id.clone(), &stream, ask_ms, &self.settings.author);
                if self.record_tasks(vec![Self::put(task)], None) {
                    self.tasks.select(Some(id));
                    self.tasks.open_form();
                }
            }
            AppCommand::PutTask(task) => {
                let key = TaskKey::of(&task);
                let Some(before) = stored(&key) else { return };
                let fields = before.differing_fields(&task).join(",");
                let coalesce = format!("{}/{}:{fields}", key.stream, key.id);
                self.record_tasks(vec![Self::put(*task)], Some(coalesce));
            }
            AppCommand::RenameTask { key, new_id } => {
                let now = crate::tasks::now_unix_ms();
                match task_edit::rename(library, &key, &new_id, now) {
                    Ok(events) => {
                        let was_selected = self.tasks.selected() == Some(key.id.as_str());
                        if self.record_tasks(events, None) && was_selected {
                            self.tasks.select(Some(new_id));
                        }
                    }
                    Err(e) => self.toasts.error(e.to_string()),
                }
            }
            AppCommand::DuplicateTask(key) => {
                let now = crate::tasks::now_unix_ms();
                let Some(task) = task_edit::duplicate(library, &key, &self.settings.author, now)
                else {
                    return;
                };
                let id = task.id.clone();
                if self.record_tasks(vec![Self::put(task)], None) {
                    self.tasks.select(Some(id));
                }
            }
            AppCommand::DeleteTasks(keys) => {
                let events = task_edit::delete(library, keys);
                let count = events.len();
                if self.record_tasks(events, None) && count > 1 {
                    self.toasts.info(format!(
                        "Deleted {count} tasks ({} brings them back)",
                        Command::Undo.key_text(cfg!(target_os = "macos"))
                    ));
                }
            }
            AppCommand::RetypeTasks(keys, task_type) => {
                let now = crate::tasks::now_unix_ms();
                let events = task_edit::retype(library, &keys, &task_type, now);
                let count = events.len();
                if self.record_tasks(events, None) {
                    self.toasts
                        .info(format!("Retyped {count} tasks to {task_type}"));
                }
            }
            AppCommand::SetEvidence { key, index, span } => {
                let Some(mut task) = stored(&key) else { return };
                task_edit::set_evidence(&mut task, index, span, crate::tasks::now_unix_ms());
                self.record_tasks(vec![Self::put(task)], None);
            }
            AppCommand::NudgeEdge { frames, seconds } => self.nudge_edge(selected, frames, seconds),
            AppCommand::JumpTask { forward } => {
                let selected_id = selected.as_ref().map(|t| t.id.as_str());
                let next =
                    task_edit::neighbour(library, &stream, selected_id, position_ms, forward);
                if let Some(task) = next {
                    let (id, ask_ms) = (task.id.clone(), task.ask_ms);
                    self.tasks.select(Some(id));
                    if let Some(player) = &mut self.player {
                        player.playback.seek_ns(ask_ms * crate::video::NS_PER_MS);
                    }
                }
            }
            _ => {}
        }
    }

    /// Moves the selected task's active evidence edge by frames and seconds.
    fn nudge_edge(&mut self, selected: Option<Task>, frames: i64, seconds: i64) {
        let (Some(mut task), Some(player)) = (selected, &self.player) else {
            return;
        };
        let Some(span) = task.evidence.get_mut(self.tasks.span_index) else {
            return;
        };
        let duration_ms = player.playback.duration_ns() / crate::video::NS_PER_MS;
        let edge_ms = match self.tasks.edge {
            Edge::Start => span.start_ms,
            Edge::End => span.end_ms,
        };
        let to_ms = player.playback.frame_step_ms(edge_ms, frames) + seconds * 1000;
        self.tasks.edge = task_edit::move_edge(span, self.tasks.edge, to_ms, duration_ms);
        task.edited_unix_ms = crate::tasks::now_unix_ms();
        let coalesce = format!(
            "{}/{}:nudge {} {:?}",
            task.stream, task.id, self.tasks.span_index, self.tasks.edge
        );
        self.record_tasks(vec![Self::put(task)], Some(coalesce));
    }

    /// Reads a question file on the "task-import" thread; [`Self::poll_import_tasks`] adds it.
    fn start_import_tasks(&mut self, path: Option<PathBuf>, offer: bool) {
        let Some(view) = &self.project else {
            self.toasts
                .warning("Open or create a project first: imported tasks are saved in it");
            return;
        };
        let Some(path) = path.or_else(|| {
            self.paths.ask(
                path_window::PathPurpose::ImportQuestions,
                Some(view.dir()),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        let durations: std::collections::HashMap<String, i64> = view
            .streams()
            .iter()
            .map(|s| (s.id.clone(), s.duration_ms))
            .collect();
        let job_path = path.clone();
        let spawned = self.jobs.spawn("task-import", move |r| {
            r.progress(0, 0, format!("reading {}", file_name(&job_path)));
            read_question_file(&job_path, &durations)
        });
        let project_dir = view.dir().to_path_buf();
        match spawned {
            Ok(job) => {
                self.importing = Some(ImportJob {
                    path,
                    project_dir,
                    offer,
                    job,
                });
            }
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    fn poll_import_tasks(&mut self) {
        let Some(job) = &self.importing else {
            return;
        };
        let (_, Some(outcome)) = job.job.poll() else {
            return;
        };
        let (path, project_dir, offer) = (job.path.clone(), job.project_dir.clone(), job.offer);
        self.importing = None;
        let result = match outcome {
            Outcome::Done(imported) => Ok(imported),
            Outcome::Cancelled => return,
            Outcome::Failed(err) => Err(err),
        };
        if self.project.as_ref().is_none_or(|p| p.dir() != project_dir) {
            self.toasts.warning(format!(
                "{}: not imported, the project it was for is no longer open",
                file_name(&path)
            ));
            return;
        }
        let imported = match result {
            Ok(imported) => imported,
            Err(err) => {
                // The path window (if that is where the file came from) stays open to fix it.
                self.toasts.error(err);
                return;
            }
        };
        let Some(view) = &self.project else { return };
        let open_stream = view.stream().to_owned();
        let known = |s: &str| view.streams().iter().any(|k| k.id == s);
        if offer && self.player.is_some() && imported.offers_stream(&open_stream, known) {
            self.paths.offer(path, imported, open_stream);
            return;
        }
        self.add_imported_tasks(&path, imported, None);
    }

    /// Adds questions read from `path` to the project's tasks, on `attach` (the open stream)
    /// or on their own streams; they show at once, in the library and on the timeline.
    fn add_imported_tasks(
        &mut self,
        path: &Path,
        mut imported: crate::tasks::import::ImportedTasks,
        attach: Option<&str>,
    ) {
        let Some(view) = &self.project else { return };
        if let Some(stream) = attach {
            imported.attach_to(stream);
            // Asked at the end of the stream they now belong to, not at 00:00:00.
            let durations: std::collections::HashMap<&str, i64> = view
                .streams()
                .iter()
                .map(|s| (s.id.as_str(), s.duration_ms))
                .collect();
            imported.ask_at_end(|id| durations.get(id).copied());
        }
        let streams = imported.streams();
        match view.tasks().plan_import(imported.tasks) {
            Ok((events, unchanged)) => {
                let count = events.len();
                let open_stream = view.stream().to_owned();
                if self.record_tasks(events, None) {
                    let onto = match attach {
                        Some(stream) => format!("onto the open stream \"{stream}\""),
                        None => format!("over {} streams", streams.len()),
                    };
                    self.toasts.info(format!(
                        "Imported {count} tasks {onto} from {} ({unchanged} already there)",
                        file_name(path)
                    ));
                    self.paths.close(path_window::PathPurpose::ImportQuestions);
                    self.tasks.tab = SideTab::Library;
                    if !streams.contains(&open_stream) {
                        // None is on the open stream: the library lists every stream, so
                        // they are there to see at once.
                        self.tasks.show_all_streams();
                    }
                }
            }
            Err(err) => self.toasts.error(format!("{}: {err}", path.display())),
        }
    }

    /// Writes the project's tasks in the format the file name asks for.
    fn export_tasks(&mut self, path: Option<PathBuf>) {
        use crate::tasks::export::{ExportFormat, write};
        let Some(view) = &self.project else { return };
        let Some(path) = path.or_else(|| {
            // Beside the project folder: inside it, the export would read as a project file.
            let start = view.dir().parent().map(|p| p.join("tasks-export.jsonl"));
            self.paths.ask(
                path_window::PathPurpose::ExportTasks,
                start.as_deref(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        let log = view.dir().join(crate::project::TASKS_FILE);
        let same = |a: &Path, b: &Path| {
            a.canonicalize()
                .ok()
                .zip(b.canonicalize().ok())
                .is_some_and(|(a, b)| a == b)
        };
        if same(&path, &log) || path.file_name().is_some_and(|n| n == "project.json") {
            self.toasts.error(format!(
                "{}: that is the project's own file; choose another name",
                path.display()
            ));
            return;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match ext.as_str() {
            "jsonl" => ExportFormat::Jsonl,
            "parquet" => ExportFormat::Parquet,
            "csv" => ExportFormat::Csv,
            "txt" => ExportFormat::Lines,
            _ => {
                self.toasts.error(format!(
                    "{}: choose .jsonl, .parquet, .csv or .txt to say the format",
                    path.display()
                ));
                return;
            }
        };
        let tasks = view.tasks().tasks();
        match write(tasks, format, &path, None) {
            Ok(()) => {
                self.toasts.info(format!(
                    "Exported {} tasks to {}",
                    tasks.len(),
                    path.display()
                ));
                self.paths.close(path_window::PathPurpose::ExportTasks);
            }
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    /// Writes the project's memory entries, every stream and lane with their verdicts, in the
    /// format the file name asks for.
    fn export_memory(&mut self, path: Option<PathBuf>) {
        use crate::memory::export;
        let Some(view) = &self.project else { return };
        let Some(path) = path.or_else(|| {
            let start = view.dir().parent().map(|p| p.join("memory-export.jsonl"));
            self.paths.ask(
                path_window::PathPurpose::ExportMemory,
                start.as_deref(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        if let Err(e) = crate::fsutil::check_export_target(view.dir(), &path) {
            self.toasts.error(e.to_string());
            return;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let (entries, labels) = (view.memory_entries(), view.labels());
        let written = match ext.as_str() {
            "parquet" => export::write_parquet(entries, labels, &path).map_err(|e| e.to_string()),
            "jsonl" | "txt" => {
                let text = if ext == "txt" {
                    export::to_qa_text(entries)
                } else {
                    export::to_jsonl_labeled(entries, labels)
                };
                crate::fsutil::write_atomic(&path, text.as_bytes())
                    .map_err(|e| format!("{}: cannot write: {e}", path.display()))
            }
            _ => Err(format!(
                "{}: choose .jsonl, .parquet or .txt (the QA text) to say the format",
                path.display()
            )),
        };
        match written {
            Ok(()) => {
                self.toasts.info(format!(
                    "Exported {} memory entries to {}",
                    entries.len(),
                    path.display()
                ));
                self.paths.close(path_window::PathPurpose::ExportMemory);
            }
            Err(err) => self.toasts.error(err),
        }
    }

    /// Adds memory read from `path` to the open project on the "memory-import" thread; the
    /// project is opened again with it when it is there ([`Self::poll_import_memory`]).
    fn import_memory(&mut self, path: Option<PathBuf>) {
        let Some(view) = &self.project else {
            self.toasts
                .warning("Open or create a project first: imported memory is saved in it");
            return;
        };
        let Some(path) = path.or_else(|| {
            self.paths.ask(
                path_window::PathPurpose::ImportMemory,
                view.dir().parent(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        if self.importing_memory.is_some() {
            self.toasts
                .warning("Memory is being imported already; wait for it to finish");
            return;
        }
        let (dir, stream) = (view.dir().to_path_buf(), view.stream().to_owned());
        // Live lanes write into the project: stopped, so the import is not interleaved.
        self.memorize.stop();
        let job_dir = dir.clone();
        let spawned = self.jobs.spawn("memory-import", move |r| {
            r.progress(0, 0, format!("importing {}", file_name(&path)));
            (|| -> anyhow::Result<String> {
                    let imported = crate::memory::import::import_any(&path, &stream)?;
                    let (streams, lanes) = (imported.streams.len(), imported.lanes.len());
                    let mut project = Project::open(&job_dir)?;
                    let count = project.add_imported_counted(imported)?;
                    Ok(format!(
                        "Imported {} memory entries ({streams} streams, {lanes} lanes) from {}; {} already there",
                        count.added,
                        file_name(&path),
                        count.already
                    ))
                })()
                .map_err(|e| format!("cannot import memory: {e:#}"))
        });
        match spawned {
            Ok(job) => self.importing_memory = Some((dir, job)),
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    /// Opens the project again once imported memory is in it, so every lane shows it.
    fn poll_import_memory(&mut self) {
        let Some((dir, job)) = &self.importing_memory else {
            return;
        };
        let (_, Some(outcome)) = job.poll() else {
            return;
        };
        let dir = dir.clone();
        self.importing_memory = None;
        match outcome {
            // An import is all or nothing: a cancelled one may still have landed whole, so
            // the project is read again either way.
            Outcome::Cancelled => self.start_open(dir),
            Outcome::Done(message) => {
                self.toasts.info(message);
                self.paths.close(path_window::PathPurpose::ImportMemory);
                self.start_open(dir);
            }
            // The path window, where the path came from, stays open to correct it.
            Outcome::Failed(err) => self.toasts.error(err),
        }
    }

    /// A project for the open video: the video as its one stream (by path and hash), its
    /// world questions as tasks.
    fn new_project_from_video(&mut self, folder: Option<PathBuf>) {
        let Some(player) = &self.player else {
            self.toasts.warning("Open a video first");
            return;
        };
        let Some(folder) = folder.or_else(|| {
            self.paths
                .ask(path_window::PathPurpose::NewProject, None, &mut self.toasts)
        }) else {
            return;
        };
        let video = player.path.clone();
        let stream_id = video
            .parent()
            .filter(|_| video.file_name().is_some_and(|n| n == "video.mp4"))
            .and_then(Path::file_name)
            .or_else(|| video.file_stem())
            .map_or_else(|| "stream".to_owned(), |n| n.to_string_lossy().into_owned());
        let duration_ms = player.playback.duration_ns() / crate::video::NS_PER_MS;
        let tasks: Vec<Task> = player
            .questions
            .iter()
            .cloned()
            .map(|mut t| {
                t.stream.clone_from(&stream_id);
                t
            })
            .collect();
        // Hashing an hour of video takes seconds: the project is made on its own thread, and
        // opened (through the usual open thread) when it is there.
        let job_folder = folder.clone();
        let spawned = self.jobs.spawn("project-create", move |r| {
            r.progress(0, 0, format!("making {}", job_folder.display()));
            (|| -> anyhow::Result<()> {
                let mut project = Project::create(&job_folder, &stream_id)?;
                let video_abs = video.canonicalize().unwrap_or_else(|_| video.clone());
                project.add_imported(crate::memory::import::Imported {
                    streams: vec![crate::memory::import::StreamInfo {
                        id: stream_id.clone(),
                        title: stream_id.clone(),
                        duration_ms,
                        video: Some(video_abs.display().to_string()),
                        video_sha256: crate::world::sha256_file(&video_abs).ok(),
                        questions: Vec::new(),
                        phases: Vec::new(),
                    }],
                    tasks,
                    ..Default::default()
                })?;
                Ok(())
            })()
            .map_err(|err| {
                format!(
                    "{}: cannot create the project: {err:#}",
                    job_folder.display()
                )
            })
        });
        match spawned {
            Ok(job) => self.creating = Some((folder, job)),
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    fn poll_create_project(&mut self) {
        let Some((folder, job)) = &self.creating else {
            return;
        };
        let (_, Some(outcome)) = job.poll() else {
            return;
        };
        let folder = folder.clone();
        self.creating = None;
        match outcome {
            // Made (a cancel came too late to matter: the folder is a whole project).
            Outcome::Done(()) => self.start_open(folder),
            Outcome::Cancelled => {}
            Outcome::Failed(err) => self.toasts.error(err),
        }
    }

    fn welcome_ui(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.25);
            ui.heading("TaskMem Studio");
            ui.label("Watch a video stream, see what a memorization policy writes, author tasks.");
            ui.add_space(12.0);
            if self.opening.is_some() {
                ui.spinner();
                ui.label("Opening…");
            } else if ui
                .button(format!(
                    "{}  ({})",
                    Command::Open.text(),
                    Command::Open.shortcut_text(ui.ctx())
                ))
                .on_hover_text(Command::Open.tooltip())
                .clicked()
            {
                self.pending.push(AppCommand::OpenDialog);
            }
            ui.weak("or drop an MP4 file on this window");
            if !self.show_welcome
                && ui
                    .link("The demos and where to start")
                    .on_hover_text("Show the welcome window (Help > Welcome)")
                    .clicked()
            {
                self.pending.push(AppCommand::ShowWelcome);
            }
            ui.add_space(8.0);
            self.recent_ui(ui);
        });
    }

    /// The recent files as links; true when one was clicked (it is opening).
    fn recent_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let mut clicked = false;
        if !self.settings.recent_files.is_empty() {
            ui.add_space(8.0);
            ui.strong("Recent");
            for path in self.settings.recent_files.iter().take(6) {
                if ui
                    .link(file_name(path))
                    .on_hover_text(format!("Open {} again", path.display()))
                    .clicked()
                {
                    self.pending.push(AppCommand::Open(path.clone()));
                    clicked = true;
                }
            }
        }
        clicked
    }

    /// The welcome window: the demos, opening a video, importing a benchmark's questions,
    /// presenting, and the recent projects.
    fn welcome_window(&mut self, ctx: &egui::Context) {
        if !self.show_welcome || self.presentation.is_active() {
            return;
        }
        let mut open = true;
        egui::Window::new("Welcome to TaskMem Studio")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.label(
                    "An agent watches a video stream; a memorization policy writes a short \
                     description of each 10 s clip into memory; questions arrive and are \
                     answered from memory alone. Phase Two tunes a tiny adapter so the policy \
                     memorizes what recent questions need.",
                );
                ui.add_space(8.0);
                let wide = egui::vec2(ui.available_width(), 28.0);
                // Each button's explanation is a small line under it, not a tooltip: a tooltip
                // opens below the pointer, over the next button in this column (issue 31).
                let hint = |ui: &mut egui::Ui, text: String| {
                    ui.label(egui::RichText::new(text).small().weak());
                    ui.add_space(4.0);
                };
                let clicked = ui
                    .add_sized(wide, egui::Button::new("Open the demo: a world stream, memorized live"))
                    .clicked();
                hint(ui, "A stream of the synthetic world with its questions; the built-in policy writes its memory as it plays (rebuilt each time)".to_owned());
                if clicked {
                    self.startup.autoplay_demo = true;
                    self.pending.push(AppCommand::OpenDemo(crate::demo::Demo::Stream));
                    self.show_welcome = false;
                }
                let clicked = ui
                    .add_sized(wide, egui::Button::new("Open the memory-only demo: TaskMem's own memories"))
                    .clicked();
                hint(ui, "The memories on the TaskMem project page (General and task lanes), with no video".to_owned());
                if clicked {
                    self.pending.push(AppCommand::OpenDemo(crate::demo::Demo::Memories));
                    self.show_welcome = false;
                }
                let clicked = ui
                    .add_sized(wide, egui::Button::new("Open a video or project…"))
                    .clicked();
                hint(ui, format!(
                    "{} ({}; or drop it on the window)",
                    Command::Open.tooltip(),
                    Command::Open.shortcut_text(ctx)
                ));
                if clicked {
                    self.pending.push(AppCommand::OpenDialog);
                    self.show_welcome = false;
                }
                let has_project = self.project.is_some();
                let clicked = ui
                    .add_enabled_ui(has_project, |ui| {
                        ui.add_sized(wide, egui::Button::new("Import a benchmark's questions…"))
                    })
                    .inner
                    .clicked();
                hint(ui, if has_project {
                    "Video-MME, EgoLifeQA, EgoTempo, M3-Bench or a question per line, into the open project as tasks"
                } else {
                    "Questions become tasks of a project: open one (or the demo) first"
                }.to_owned());
                if clicked {
                    self.pending.push(AppCommand::ImportTasks(None));
                    self.show_welcome = false;
                }
                let clicked = ui
                    .add_sized(
                        wide,
                        egui::Button::new(format!(
                            "Present the demo  ({})",
                            Command::Presentation.shortcut_text(ctx)
                        )),
                    )
                    .clicked();
                hint(ui, format!(
                    "Full screen: the demo script tells TaskMem's story step by step ({} next, {} pause, {} leave)",
                    Command::PresentationNext.shortcut_text(ctx),
                    Command::PresentationPause.shortcut_text(ctx),
                    Command::LeavePresentation.shortcut_text(ctx)
                ));
                if clicked {
                    self.pending.push(AppCommand::TogglePresentation);
                }
                if self.recent_ui(ui) {
                    self.show_welcome = false;
                }
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    if ui
                        .button("Close")
                        .on_hover_text(Command::CloseWelcome.hint(ctx))
                        .clicked()
                    {
                        self.show_welcome = false;
                    }
                    ui.weak(format!(
                        "{} lists the keys; {} presents; {} closes this window.",
                        Command::Shortcuts.shortcut_text(ctx),
                        Command::Presentation.shortcut_text(ctx),
                        Command::CloseWelcome.shortcut_text(ctx)
                    ));
                });
            });
        if !open {
            self.show_welcome = false;
        }
        if !self.show_welcome {
            self.settings.welcomed = true;
        }
    }

    /// The transport, the ruler and the lanes under the video (with a video open).
    fn transport_panel_ui(&mut self, ui: &mut egui::Ui) {
        if let Some(player) = &self.player {
            let mut commands = Vec::new();
            let transport = egui::Panel::bottom("transport").show(ui, |ui| {
                ui.add_space(4.0);
                commands.extend(self.transport.transport_ui(ui, &player.playback));
                let input = RulerInput {
                    duration_ns: player.playback.duration_ns(),
                    position_ns: player.playback.position_ns(),
                    keyframes_ns: &player.keyframes_ns,
                    loop_range_ns: player.playback.loop_range_ns(),
                    // Following live keeps the newest in view, as playing keeps the playhead.
                    playing: player.playback.is_playing() || player.playback.follows_live(),
                };
                commands.extend(self.ruler.ruler_ui(ui, &input));
                if let Some(view) = &self.project {
                    // A stream that still grows has no end yet.
                    let end_ms = (!player.playback.follows_live())
                        .then(|| player.playback.last_frame_ns() / NS_PER_MS);
                    commands.extend(view.lanes_ui(
                        ui,
                        &self.ruler,
                        player.playback.position_ns(),
                        end_ms,
                    ));
                }
                let empty = crate::tasks::TaskLibrary::default();
                let task_view = task_view(self.project.as_ref(), &empty, player);
                let tasks = if self.project.is_some() {
                    task_view.library.stream_slice(task_view.stream)
                } else {
                    &player.questions
                };
                commands.extend(self.tasks.lane_ui(ui, &self.ruler, tasks, &task_view));
                ui.add_space(4.0);
            });
            self.panel_rects
                .push(("transport", transport.response.rect));
            self.pending.extend(commands);
        }
    }

    /// The memory and task panel beside the video (with a project open).
    fn side_panel_ui(&mut self, ui: &mut egui::Ui) {
        if self.project.is_some() && !self.settings.hide_side_panel {
            let mut commands = Vec::new();
            let panel = match self.settings.panel_side {
                PanelSide::Right => egui::Panel::right("memory"),
                PanelSide::Left => egui::Panel::left("memory"),
            };
            // Bounded both ways, so that neither a drag, nor content asking for more room,
            // nor a width saved by an older build (egui clamps the stored size to this range
            // when it reads it) can squeeze the video out or the panel to nothing.
            let max = side_panel_max(ui.available_width());
            let panel = panel
                .resizable(true)
                .default_size(SIDE_PANEL_DEFAULT.min(max))
                .size_range(SIDE_PANEL_MIN.min(max)..=max);
            // The id egui keeps the panel's width under (and eframe saves), for tests.
            self.side_panel_id = Some(ui.scope_id().with("memory"));
            let side = panel.show(ui, |ui| {
                ui.horizontal(|ui| {
                    for (tab, name) in [
                        (SideTab::Memory, "Memory"),
                        (SideTab::Task, "Task"),
                        (SideTab::Library, "Task library"),
                    ] {
                        ui.selectable_value(&mut self.tasks.tab, tab, name)
                            .on_hover_text(match tab {
                                SideTab::Memory => {
                                    "The memory browser and the inspector of the selected entry"
                                }
                                SideTab::Task => "The selected task's form",
                                SideTab::Library => "Every task, with filters and bulk edits",
                            });
                    }
                });
                ui.separator();
                let empty = crate::tasks::TaskLibrary::default();
                let mut body =
                    |ui: &mut egui::Ui| match (self.tasks.tab, &mut self.project, &self.player) {
                        (SideTab::Memory, Some(view), player) => {
                            let decoder = player.as_ref().and_then(|p| p.decoder.as_ref());
                            commands.extend(view.browser_ui(ui, decoder));
                        }
                        (SideTab::Task, Some(view), Some(player)) => {
                            let task_view = task_view(Some(view), &empty, player);
                            commands.extend(self.tasks.form_ui(ui, &task_view));
                        }
                        (SideTab::Library, Some(view), Some(player)) => {
                            let task_view = task_view(Some(view), &empty, player);
                            commands.extend(self.tasks.library_ui(ui, &task_view));
                        }
                        _ => {}
                    };
                // A short window (1024x640, a large UI scale, presentation mode) gives the
                // tabs less height than their rows, inspector and forms need: they are laid
                // out at that height and the panel scrolls, instead of running over the
                // timeline below it.
                if ui.available_height() >= SIDE_BODY_MIN_HEIGHT {
                    body(ui);
                } else {
                    egui::ScrollArea::vertical()
                        .id_salt("side panel body")
                        .auto_shrink([false, false])
                        .min_scrolled_height(0.0)
                        .show(ui, |ui| {
                            let size = egui::vec2(ui.available_width(), SIDE_BODY_MIN_HEIGHT);
                            ui.allocate_ui(size, |ui| {
                                ui.set_min_height(SIDE_BODY_MIN_HEIGHT);
                                body(ui);
                            });
                        });
                }
            });
            self.panel_rects.push(("memory", side.response.rect));
            self.pending.extend(commands);
        }
    }

    fn status_ui(&self, ui: &mut egui::Ui) -> Vec<AppCommand> {
        ui.horizontal(|ui| {
            let commands = ui::jobs::jobs_ui(ui, &self.jobs.running());
            self.player_status_ui(ui);
            commands
        })
        .inner
    }

    fn player_status_ui(&self, ui: &mut egui::Ui) {
        let Some(player) = &self.player else {
            ui.weak("No video");
            return;
        };
        // Each part cut to the room left: the bar stays one line inside the window.
        ui.add(egui::Label::new(file_name(&player.path)).truncate())
            .on_hover_text(player.path.display().to_string());
        ui.separator();
        if let Some(line) = self.memorize.status(self.settings.remote_prices) {
            if self.memorize.busy() {
                ui.spinner();
            }
            ui.add(egui::Label::new(line).truncate());
            ui.separator();
        }
        let (Some(index), Some(decoder)) = (player.index(), &player.decoder) else {
            ui.weak("no video: memory on an empty stage");
            return;
        };
        // Parts past the window's edge are left out rather than squeezed to "…".
        let weak = |ui: &mut egui::Ui, text: String| {
            if ui.available_width() > 48.0 {
                ui.add(egui::Label::new(egui::RichText::new(text).weak()).truncate());
            }
        };
        weak(
            ui,
            format!(
                "{} {} · {}x{} · {:.3} fps{} · {} frames · {} keyframes",
                index.codec.name(),
                index.codec.profile().unwrap_or_default(),
                index.width,
                index.height,
                index.avg_fps(),
                if index.is_vfr() { " (VFR)" } else { "" },
                index.frame_count(),
                index.keyframe_count()
            ),
        );
        if ui.available_width() > 48.0 {
            ui.separator();
        }
        let (built, total) = decoder.preview_progress();
        if built < total {
            weak(ui, format!("building previews {built}/{total}"));
        }
        let (frames, bytes) = decoder.cached_frames();
        weak(ui, format!("cache {frames} frames · {} MB", bytes >> 20));
    }

    fn shortcuts_window(&mut self, ctx: &egui::Context) {
        let mut open = self.show_shortcuts;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .resizable(false)
            .show(ctx, command::shortcut_sheet_ui);
        self.show_shortcuts = open;
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let title = match &self.player {
            Some(player) => format!("{} — TaskMem Studio", file_name(&player.path)),
            None => "TaskMem Studio".to_owned(),
        };
        // Only on change: a viewport command every frame would force endless repaints.
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }
}

/// Reads a question file whose format is recognised from it; questions without ask times are
/// asked at the end of their stream when the project knows its length.
fn read_question_file(
    path: &Path,
    durations: &std::collections::HashMap<String, i64>,
) -> Result<crate::tasks::import::ImportedTasks, String> {
    use crate::tasks::import::{ImportOptions, detect_format, import_bytes};
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let format = detect_format(path, &bytes).ok_or_else(|| {
        format!(
            "{}: not a question file this app knows (Video-MME, EgoLifeQA, EgoTempo, M3-Bench, one question per line, or an export of ours)",
            path.display()
        )
    })?;
    let mut imported =
        import_bytes(path, &bytes, format, &ImportOptions::default()).map_err(|e| e.to_string())?;
    imported.ask_at_end(|id| durations.get(id).copied());
    Ok(imported)
}

/// What the task panel reads: the project's library (or none) around the player's clock.
fn task_view<'a>(
    project: Option<&'a ProjectView>,
    empty: &'a crate::tasks::TaskLibrary,
    player: &'a Player,
) -> TaskView<'a> {
    TaskView {
        library: project.map_or(empty, ProjectView::tasks),
        generation: project.map_or(0, ProjectView::tasks_generation),
        stream: project.map_or("", ProjectView::stream),
        lanes: project.map_or(&[], ProjectView::lanes),
        position_ns: player.playback.position_ns(),
        duration_ns: player.playback.duration_ns(),
        frame_times_ns: player.playback.frame_times_ns(),
        editable: project.is_some(),
    }
}

/// `~/...` as the home folder's; any other path as it is.
fn expand_home(path: &Path) -> PathBuf {
    match (
        path.strip_prefix("~"),
        std::env::var_os("HOME").filter(|h| !h.is_empty()),
    ) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl TaskMemApp {
    /// A frame's work before anything is drawn: commands, finished jobs, playback and live
    /// memory.
    fn tick(&mut self, ctx: &egui::Context) {
        if !self.jobs_wake {
            let repaint = ctx.clone();
            self.jobs.set_waker(move || repaint.request_repaint());
            self.jobs_wake = true;
        }
        self.apply_look(ctx);
        self.shortcuts(ctx);
        self.tick_presentation(ctx.input(|i| i.time));
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            self.pending.push(AppCommand::Open(path));
        }
        for command in std::mem::take(&mut self.pending) {
            self.apply(command, ctx);
        }
        self.poll_open(ctx);
        self.poll_verify();
        self.poll_import_tasks();
        self.poll_create_project();
        self.poll_import_memory();

        let now_s = ctx.input(|i| i.time);
        self.check_live_growth(ctx, now_s);
        if let Some(view) = &mut self.project
            && view.is_live()
        {
            if let (Some(end_ms), Some(player)) = (view.drain_live(256), &mut self.player) {
                player.extend_stage(end_ms);
            }
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        let wall_dt_ns = self
            .last_time_s
            .map_or(0, |last| ((now_s - last).clamp(0.0, 0.25) * 1e9) as i64);
        self.last_time_s = Some(now_s);
        if let Some(player) = &mut self.player {
            let before_ms = player.playback.position_ns() / NS_PER_MS;
            for error in player.tick(ctx, wall_dt_ns) {
                self.toasts.error(error);
            }
            // Only what playing moved counts: commands (seeks) were applied before `before_ms`.
            self.memorize.played(memorize::Played {
                before_ms,
                after_ms: player.playback.position_ns() / NS_PER_MS,
                duration_ms: player.playback.duration_ns() / NS_PER_MS,
                last_frame_ms: player.playback.last_frame_ns() / NS_PER_MS,
                growing: player.playback.follows_live(),
            });
        }
        self.poll_memorize(ctx);
        self.update_title(ctx);
        if self.startup.exit_at_first_frame
            && self
                .player
                .as_ref()
                .is_some_and(|p| matches!(p.shown, Some(player::Shown::Exact(_))))
        {
            self.startup.exit_at_first_frame = false;
            println!("first-frame");
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// The menu, status bar, side panel, transport, video and the app's own windows.
    fn panels_ui(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        self.panel_rects.clear();
        let menu = egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        self.panel_rects.push(("menu", menu.response.rect));
        let status = egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        self.pending.extend(status.inner);
        self.panel_rects.push(("status", status.response.rect));
        // Presenting, the side panel runs the window's full height: at the presentation's
        // scale the caption and the timeline would leave it a strip, and the inspect step
        // talks about what it shows.
        if self.presentation.is_active() {
            self.side_panel_ui(ui);
            self.caption_rect = self.presentation.caption_panel(ui);
            self.transport_panel_ui(ui);
        } else {
            self.caption_rect = self.presentation.caption_panel(ui);
            self.transport_panel_ui(ui);
            self.side_panel_ui(ui);
        }
        let central = egui::CentralPanel::default().show(ui, |ui| match &self.player {
            Some(player) => ui::video_view::video_ui(ui, player),
            None => self.welcome_ui(ui),
        });
        self.panel_rects.push(("central", central.response.rect));
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            let screen = ctx.content_rect();
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(170));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop to open",
                egui::FontId::proportional(28.0),
                egui::Color32::WHITE,
            );
        }
        self.shortcuts_window(ctx);
        self.welcome_window(ctx);
        self.save_demo_window(ctx);
        self.path_window(ctx);
    }

    /// The Training, Evaluate and Phase Two windows, and their runs' results.
    fn tool_windows(&mut self, ctx: &egui::Context) {
        if self.presentation.is_active() {
            // Steps that wait on time need frames even when nothing moves.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if let Some(error) = self.training.poll() {
            self.toasts.error(error);
        }
        if self.training.is_running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        let training_commands = self.training.window_ui(ctx);
        self.pending.extend(training_commands);
        if let Some(error) = self.evaluation.poll() {
            self.toasts.error(error);
        }
        if self.evaluation.is_running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        let has_project = self.project.is_some();
        if self.evaluation.open {
            let running = self.evaluation.is_running();
            let compare = &mut self.evaluation.compare;
            if running {
                // The run's folder appears when it ends: listed afresh then.
                compare.forget_runs();
            }
            compare.set_project(self.project.as_ref().map(project_view::ProjectView::dir));
        }
        let budget_tokens = self
            .settings
            .policy_budget_tokens
            .unwrap_or(crate::policy::DEFAULT_BUDGET_TOKENS);
        let mut bounds = ctx.content_rect();
        if let Some(caption) = self.caption_rect {
            bounds.max.y = bounds.max.y.min(caption.min.y);
        }
        let evaluation_commands =
            self.evaluation
                .window_ui(ctx, bounds, has_project, budget_tokens);
        self.pending.extend(evaluation_commands);
        if let Some(error) = self.phase2.poll() {
            self.toasts.error(error);
        }
        if self.phase2.is_running() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        let can_memorize = has_project && self.player.is_some();
        let phase2_commands = if self.phase2.open {
            let checked = self.tasks.checked_ids();
            let view = phase2_panel::Phase2View {
                project_dir: self.project.as_ref().map(ProjectView::dir),
                project_tasks: self.project.as_ref().map(|p| p.tasks().tasks()),
                checked: &checked,
                can_memorize,
            };
            self.phase2.window_ui(ctx, &view)
        } else {
            Vec::new()
        };
        self.pending.extend(phase2_commands);
    }
}

impl eframe::App for TaskMemApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.tick(&ctx);
        self.panels_ui(ui, &ctx);
        self.tool_windows(&ctx);
        self.toasts.show(&ctx);
        if !self.pending.is_empty() {
            ctx.request_repaint();
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
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
fn open_stream(path: &Path, options: &OpenOptions) -> anyhow::Result<Opened> {
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
fn suite_streams(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path.join("suite.json")) else {
        return Vec::new();
    };
    serde_json::from_str::<crate::world::suite::SuiteManifest>(&text)
        .map(|m| m.streams.iter().map(|s| path.join(&s.folder)).collect())
        .unwrap_or_default()
}

/// Set in the environment, the app prints `first-frame` once the first exact video frame shows
/// and closes (`taskmem bench launch` times it).
pub const EXIT_AT_FIRST_FRAME: &str = "TASKMEM_EXIT_AT_FIRST_FRAME";

/// The window's options. `data_dir` is `$TASKMEM_DATA_DIR` where set: the settings live there
/// with the demos, so a set data folder keeps the app off `$HOME` entirely (tests, kiosks, a
/// second profile); unset, eframe's own folder for the app id is used as before.
fn native_options(data_dir: Option<&Path>) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("TaskMem Studio")
            .with_app_id("taskmem-studio")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        // eframe's own file name, so the folder looks as it would under $HOME.
        persistence_path: data_dir.map(|d| d.join("app.ron")),
        ..Default::default()
    }
}

/// Opens the window.
pub fn run_native(video: Option<PathBuf>) -> anyhow::Result<()> {
    let data_dir = std::env::var_os("TASKMEM_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let options = native_options(data_dir.as_deref());
    eframe::run_native(
        "taskmem-studio",
        options,
        Box::new(move |cc| Ok(Box::new(TaskMemApp::new(cc, video)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

#[cfg(test)]
mod tests {
    use super::native_options;
    use std::path::Path;

    #[test]
    fn settings_live_in_the_data_dir_when_one_is_set() {
        let data = Path::new("/tmp/taskmem-data");
        let path = native_options(Some(data)).persistence_path;
        assert_eq!(path.as_deref(), Some(data.join("app.ron").as_path()));
        // Unset, eframe's default folder for the app id.
        assert_eq!(native_options(None).persistence_path, None);
    }
}
