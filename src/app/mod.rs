//! The egui application. Views emit [`AppCommand`]s; [`TaskMemApp::apply`] is the one place
//! they change state. Background work runs as jobs of the one registry
//! ([`crate::studio::jobs`]); decoding runs on the video threads.
//!
//! Where things are:
//! - `mod.rs`: [`AppCommand`], [`Settings`] and [`TaskMemApp`] itself (its state, constructor
//!   and what tests may read);
//! - `frame.rs`: one frame (the work before drawing, the panels in order, the tool windows);
//! - `apply.rs`: the commands' effects, one function per group;
//! - `opening.rs` (videos, projects, hash checks, following live), `transfer.rs` (imports,
//!   exports, a new project), `lanes.rs` (memorizing lanes, triggers, answers), `look.rs`
//!   (theme, scale, layout reset, presentation mode);
//! - views: `menu.rs` (menus and keys from the command table, `command.rs`), `status.rs`,
//!   `welcome.rs`, `project_view.rs` (memory lanes, browser, inspector), `task_panel.rs`
//!   (tasks lane, form, library), the windows `training.rs`, `evaluation.rs`,
//!   `phase2_panel.rs`, `path_window.rs`, and the shared widgets under `ui/`.

mod apply;
pub mod command;
pub mod compare_view;
pub mod endpoint;
pub mod evaluation;
mod frame;
mod lanes;
mod look;
pub mod memorize;
mod menu;
mod opening;
pub mod path_window;
pub mod phase2_panel;
pub mod player;
pub mod presentation;
pub mod project_view;
pub mod screenshot;
mod status;
pub mod task_panel;
pub mod toasts;
pub mod training;
mod transfer;
pub mod ui;
mod welcome;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::memory::Verdict;
use crate::studio::jobs::{Job, Jobs};
use crate::studio::task_edit::{Edge, TaskKey};
use crate::tasks::{Span, Task};
use crate::video::OpenOptions;
use memorize::MemorizeControl;
use opening::OpenJob;
pub use opening::Opened;
use player::Player;
use project_view::ProjectView;
use task_panel::{TaskPanel, TaskView};
use toasts::Toasts;
use transfer::ImportJob;
use ui::ruler::TimeRuler;
use ui::transport::TransportBar;
use welcome::SaveDemo;

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
    /// Questions read from `path` join the project's tasks: on `attach` (the open stream) or
    /// on their own streams.
    AddImportedTasks {
        path: PathBuf,
        tasks: Box<crate::tasks::import::ImportedTasks>,
        attach: Option<String>,
    },
    /// Run presentation mode with the script in this file.
    UsePresentationScript(PathBuf),
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
