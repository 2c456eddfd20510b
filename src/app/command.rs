//! The one table of the studio's user commands (after Rerun's `re_ui::UICommand`).
//!
//! Each [`Command`] has its text, tooltip, keyboard shortcuts, the scope its keys work in, and
//! when it is enabled. The menus ([`Command::menu_button_ui`]), the shortcut handler
//! ([`take_shortcuts`]), the shortcut sheet ([`shortcut_sheet_ui`]) and other hints
//! ([`Command::shortcut_text`]) are all drawn from it, so a key binding is written once and the
//! menu, the key and the sheet cannot disagree. A command carries no data: what it acts on (the
//! playhead, the selected task) is read from [`CommandState`] when it becomes an
//! [`AppCommand`] ([`Command::to_app`]).

use egui::{Key, KeyboardShortcut, Modifiers};

use super::{AppCommand, NEEDS_PROJECT};
use crate::memory::Verdict;
use crate::studio::task_edit::{Edge, TaskKey};

/// Why a label command is greyed.
const SELECT_ROW: &str = "Select a memory row first";
use crate::video::NS_PER_SEC;

/// Every command a user can give from a menu or a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    Open,
    ClearRecent,
    SaveDemoAs,
    CloseVideo,
    Quit,
    Undo,
    Redo,
    NewTask,
    PreviousTask,
    NextTask,
    DuplicateTask,
    TaskLibrary,
    ImportTasks,
    ExportTasks,
    ExportMemory,
    ImportMemory,
    NewProject,
    EdgeFrameEarlier,
    EdgeFrameLater,
    EdgeSecondEarlier,
    EdgeSecondLater,
    StartEdge,
    EndEdge,
    PlayPause,
    NextFrame,
    PreviousFrame,
    Back,
    Forward,
    BackTen,
    ForwardTen,
    GoToStart,
    GoToEnd,
    Faster,
    Slower,
    Loop,
    ClearLoop,
    PreviousRow,
    NextRow,
    Deselect,
    LabelCorrect,
    LabelHallucinated,
    LabelIrrelevant,
    LabelMissingDetail,
    NextUnlabeled,
    Memorize,
    MemorizeWithAdapter,
    MemorizeRemote,
    Training,
    Phase2,
    UseShippedModel,
    Evaluate,
    FitTimeline,
    ResetLayout,
    Presentation,
    PresentationScript,
    PresentationNext,
    PresentationPause,
    LeavePresentation,
    Shortcuts,
    Welcome,
    CloseWelcome,
}

/// Where a command's keys are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Also while typing in a text field (keys text never needs: Ctrl+letter, F keys).
    Global,
    /// Whenever no text field has the keyboard.
    View,
    /// As [`Scope::View`], outside presentation mode and the welcome window only.
    Studio,
    /// As [`Scope::View`], while the welcome window is open (outside presentation mode): the
    /// window is in front, so a key like Esc is its own before the view behind it.
    Welcome,
    /// As [`Scope::View`], in presentation mode only.
    Presenting,
}

impl Scope {
    /// Whether keys of this scope are taken in state `s`.
    #[must_use]
    pub fn active(self, s: &CommandState) -> bool {
        match self {
            Self::Global => true,
            Self::View => !s.typing,
            Self::Studio => !s.typing && !s.presenting && !s.welcome,
            Self::Welcome => !s.typing && !s.presenting && s.welcome,
            Self::Presenting => !s.typing && s.presenting,
        }
    }

    /// Whether both scopes can be active at once (so the same key in both would clash).
    #[must_use]
    pub fn overlaps(self, other: Self) -> bool {
        !matches!(
            (self, other),
            (Self::Studio | Self::Welcome, Self::Presenting)
                | (Self::Presenting, Self::Studio | Self::Welcome)
                | (Self::Studio, Self::Welcome)
                | (Self::Welcome, Self::Studio)
        )
    }
}

/// What the table's rules read: a snapshot of the app taken when keys or menus are handled.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // Independent facts the rules combine.
pub struct CommandState {
    /// A text field has the keyboard.
    pub typing: bool,
    pub presenting: bool,
    /// A video (or a project's empty stage) is open.
    pub has_video: bool,
    pub has_project: bool,
    /// The selected task of the open project's stream.
    pub selected_task: Option<TaskKey>,
    /// A memory row is selected.
    pub row_selected: bool,
    /// The open project is a demo.
    pub demo_open: bool,
    /// The settings name a remote model.
    pub remote_model_named: bool,
    pub memorizing: bool,
    /// The welcome window is open.
    pub welcome: bool,
    /// The playhead now: a new task is asked at the time its key was pressed.
    pub playhead_ms: i64,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
struct Entry {
    text: &'static str,
    tooltip: &'static str,
    /// Shown on hover while the command is disabled, where there is something to say.
    disabled: Option<&'static str>,
    /// The first is the one menus show.
    keys: &'static [KeyboardShortcut],
    /// A mouse gesture doing the same, shown where a key would be.
    gesture: Option<&'static str>,
    scope: Scope,
}

const fn item(text: &'static str, tooltip: &'static str) -> Entry {
    Entry {
        text,
        tooltip,
        disabled: None,
        keys: &[],
        gesture: None,
        scope: Scope::View,
    }
}

impl Entry {
    const fn keys(mut self, keys: &'static [KeyboardShortcut]) -> Self {
        self.keys = keys;
        self
    }

    const fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    const fn disabled(mut self, why: &'static str) -> Self {
        self.disabled = Some(why);
        self
    }

    const fn gesture(mut self, gesture: &'static str) -> Self {
        self.gesture = Some(gesture);
        self
    }
}

const fn key(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::NONE, key)
}

const fn ctrl(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::COMMAND, key)
}

const fn ctrl_shift(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), key)
}

const fn shift(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::SHIFT, key)
}

const fn alt(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::ALT, key)
}

const fn alt_shift(key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(Modifiers::ALT.plus(Modifiers::SHIFT), key)
}

/// Why the playback items are disabled.
const NEEDS_VIDEO: &str = "Open a video first";

/// Mouse gestures on the timeline: direct manipulation, not commands, listed on the sheet.
const GESTURES: [(&str, &str); 6] = [
    ("Wheel on the ruler", "Zoom at the mouse"),
    ("Drag the ruler", "Pan"),
    ("Click / drag the scrub bar", "Seek / scrub"),
    ("Shift+drag the scrub bar", "Select a range to loop"),
    (
        "Drag on the tasks lane",
        "Set the selected task's evidence span",
    ),
    ("Shift+drag on the tasks lane", "Add an evidence span"),
];

impl Command {
    /// Every command, in the order of the shortcut sheet.
    pub const ALL: [Self; 61] = [
        Self::Open,
        Self::ClearRecent,
        Self::SaveDemoAs,
        Self::CloseVideo,
        Self::Quit,
        Self::PlayPause,
        Self::Back,
        Self::Forward,
        Self::BackTen,
        Self::ForwardTen,
        Self::PreviousFrame,
        Self::NextFrame,
        Self::GoToStart,
        Self::GoToEnd,
        Self::Slower,
        Self::Faster,
        Self::Loop,
        Self::ClearLoop,
        Self::FitTimeline,
        Self::ResetLayout,
        Self::PreviousRow,
        Self::NextRow,
        Self::Deselect,
        Self::LabelCorrect,
        Self::LabelHallucinated,
        Self::LabelIrrelevant,
        Self::LabelMissingDetail,
        Self::NextUnlabeled,
        Self::NewTask,
        Self::PreviousTask,
        Self::NextTask,
        Self::DuplicateTask,
        Self::StartEdge,
        Self::EndEdge,
        Self::EdgeFrameEarlier,
        Self::EdgeFrameLater,
        Self::EdgeSecondEarlier,
        Self::EdgeSecondLater,
        Self::TaskLibrary,
        Self::ImportTasks,
        Self::ExportTasks,
        Self::ExportMemory,
        Self::ImportMemory,
        Self::NewProject,
        Self::Undo,
        Self::Redo,
        Self::Memorize,
        Self::MemorizeWithAdapter,
        Self::MemorizeRemote,
        Self::Training,
        Self::Phase2,
        Self::UseShippedModel,
        Self::Evaluate,
        Self::Shortcuts,
        Self::Welcome,
        Self::CloseWelcome,
        Self::Presentation,
        Self::PresentationScript,
        Self::PresentationNext,
        Self::PresentationPause,
        Self::LeavePresentation,
    ];

    /// The command's row of the table.
    #[allow(clippy::too_many_lines)] // The table itself: one arm per command, side by side.
    const fn entry(self) -> Entry {
        use Key as K;
        match self {
            Self::Open => item(
                "Open video…",
                "An MP4, a world stream or suite folder, or a project folder",
            )
            .keys(const { &[ctrl(K::O)] })
            .scope(Scope::Global),
            Self::ClearRecent => item("Clear recent files", "Forget this list (the files stay)"),
            Self::SaveDemoAs => item(
                "Save the demo as a new project…",
                "Copy the open demo, with everything you did in it, to a folder of your own: an ordinary project that no demo build replaces",
            )
            .disabled("Open a demo first (the welcome window has them)"),
            Self::CloseVideo => item("Close video", "Close the video; memorizing stops"),
            Self::Quit => item("Quit", "Everything is saved as it is made"),
            Self::Undo => item("Undo", "Undo the last label, text edit or task change")
                .keys(const { &[ctrl(K::Z)] })
                .disabled("Open a project first"),
            Self::Redo => item("Redo", "Redo what was undone")
                .keys(const { &[ctrl_shift(K::Z), ctrl(K::Y)] })
                .disabled("Open a project first"),
            Self::NewTask => item(
                "New task at playhead",
                "A new task asked at the playhead as it was when asked, even while the video plays on; tasks are saved in a project",
            )
            .keys(const { &[ctrl(K::E)] })
            .scope(Scope::Global)
            .disabled(NEEDS_VIDEO),
            Self::PreviousTask => item(
                "Previous task",
                "Select the task asked before the playhead and go there",
            )
            .keys(const { &[ctrl(K::ArrowLeft)] })
            .disabled("Open a project's video first"),
            Self::NextTask => item(
                "Next task",
                "Select the task asked after the playhead and go there",
            )
            .keys(const { &[ctrl(K::ArrowRight)] })
            .disabled("Open a project's video first"),
            Self::DuplicateTask => item(
                "Duplicate the selected task",
                "A copy of the selected task under a new id",
            )
            .keys(const { &[ctrl(K::D)] })
            .disabled("Select a task first"),
            Self::TaskLibrary => item(
                "Task library",
                "Every task of the project as a table, with filters and bulk edits",
            )
            .disabled("Open a project first"),
            Self::ImportTasks => item(
                "Import questions…",
                "Video-MME, EgoLifeQA, EgoTempo, M3-Bench, one question per line, or our exports",
            ),
            Self::ExportTasks => item(
                "Export tasks…",
                "JSONL, Parquet, CSV, or TaskMem's one-question-per-line .txt",
            ),
            Self::ImportMemory => item(
                "Import memory…",
                "TaskMem's output folder, its demo file, EgoRAG captions or a world stream folder, into the open project",
            ),
            Self::ExportMemory => item(
                "Export memory…",
                "Every memory entry of the project with its verdict: JSONL, Parquet, or the QA text (.txt)",
            ),
            Self::NewProject => item(
                "New project from this video…",
                "Tasks and memory are saved in a project folder",
            ),
            Self::EdgeFrameEarlier => item(
                "Edge one frame earlier",
                "Move the selected task's active evidence edge back one frame",
            )
            .keys(const { &[alt(K::ArrowLeft)] }),
            Self::EdgeFrameLater => item(
                "Edge one frame later",
                "Move the selected task's active evidence edge on one frame",
            )
            .keys(const { &[alt(K::ArrowRight)] }),
            Self::EdgeSecondEarlier => item(
                "Edge one second earlier",
                "Move the selected task's active evidence edge back one second",
            )
            .keys(const { &[alt_shift(K::ArrowLeft)] }),
            Self::EdgeSecondLater => item(
                "Edge one second later",
                "Move the selected task's active evidence edge on one second",
            )
            .keys(const { &[alt_shift(K::ArrowRight)] }),
            Self::StartEdge => item(
                "Nudge the span's start edge",
                "The edge keys move the start of the selected task's evidence span",
            )
            .keys(const { &[alt(K::ArrowUp)] }),
            Self::EndEdge => item(
                "Nudge the span's end edge",
                "The edge keys move the end of the selected task's evidence span",
            )
            .keys(const { &[alt(K::ArrowDown)] }),
            Self::PlayPause => item("Play / pause", "Play or pause the video").keys(const { &[key(K::Space)] })
                .disabled(NEEDS_VIDEO),
            Self::NextFrame => item("Next frame", "Step one frame on").keys(const { &[key(K::Period)] })
                .disabled(NEEDS_VIDEO),
            Self::PreviousFrame => {
                item("Previous frame", "Step one frame back").keys(const { &[key(K::Comma)] })
                .disabled(NEEDS_VIDEO)
            }
            Self::Back => item("Back 1 s", "One second back").keys(const { &[key(K::ArrowLeft)] }),
            Self::Forward => item("Forward 1 s", "One second on").keys(const { &[key(K::ArrowRight)] }),
            Self::BackTen => item("Back 10 s", "Ten seconds back").keys(const { &[shift(K::ArrowLeft)] }),
            Self::ForwardTen => {
                item("Forward 10 s", "Ten seconds on").keys(const { &[shift(K::ArrowRight)] })
            }
            Self::GoToStart => item("Go to start", "The first frame").keys(const { &[key(K::Home)] }),
            Self::GoToEnd => item("Go to end", "The last frame").keys(const { &[key(K::End)] }),
            Self::Faster => item("Faster", "Play faster (up to 16x)").keys(const { &[key(K::CloseBracket)] })
                .disabled(NEEDS_VIDEO),
            Self::Slower => {
                item("Slower", "Play slower (down to 0.25x)").keys(const { &[key(K::OpenBracket)] })
                .disabled(NEEDS_VIDEO)
            }
            Self::Loop => item(
                "Loop selection",
                "Loop the range selected on the scrub bar, or stop looping",
            )
            .keys(const { &[key(K::L)] })
            .disabled(NEEDS_VIDEO),
            Self::ClearLoop => {
                item("Clear selection", "Forget the range selected to loop").disabled(NEEDS_VIDEO)
            }
            Self::PreviousRow => item(
                "Previous memory row",
                "Select the memory row above and go to its clip",
            )
            .keys(const { &[key(K::ArrowUp)] }),
            Self::NextRow => item(
                "Next memory row",
                "Select the memory row below and go to its clip",
            )
            .keys(const { &[key(K::ArrowDown)] }),
            Self::Deselect => item("Clear the row selection", "Select no memory row")
                .keys(const { &[key(K::Escape)] })
                .scope(Scope::Studio),
            Self::LabelCorrect => item(
                "Label: correct",
                "The selected entry describes the clip correctly (again: clear the label)",
            )
            .keys(const { &[key(K::Num1)] })
            .scope(Scope::Studio)
            .disabled(SELECT_ROW),
            Self::LabelHallucinated => item(
                "Label: hallucinated",
                "The selected entry states things the clip does not show (again: clear)",
            )
            .keys(const { &[key(K::Num2)] })
            .scope(Scope::Studio)
            .disabled(SELECT_ROW),
            Self::LabelIrrelevant => item(
                "Label: irrelevant",
                "The selected entry is about things the tasks do not need (again: clear)",
            )
            .keys(const { &[key(K::Num3)] })
            .scope(Scope::Studio)
            .disabled(SELECT_ROW),
            Self::LabelMissingDetail => item(
                "Label: missing detail",
                "The selected entry leaves out a detail that matters (again: clear)",
            )
            .keys(const { &[key(K::Num4)] })
            .scope(Scope::Studio)
            .disabled(SELECT_ROW),
            Self::NextUnlabeled => item(
                "Next entry without a label",
                "Select the next listed memory row that has no label yet, and go to its clip",
            )
            .keys(const { &[key(K::U)] })
            .scope(Scope::Studio)
            .disabled("Open a project first"),
            Self::Memorize => item(
                "Memorize while playing",
                "The built-in policy writes each clip's memory to the lane 'builtin' as the video plays through the clip's end",
            )
            .disabled(NEEDS_PROJECT),
            Self::MemorizeWithAdapter => item(
                "Memorize with an adapter too…",
                "A second lane, named after the adapter file, memorized with that Phase Two adapter beside the general lane",
            )
            .disabled(NEEDS_PROJECT),
            Self::MemorizeRemote => item(
                "Memorize with the remote model too",
                "A lane named after the model, memorized as the video plays (frames at 1 per second)",
            )
            .disabled("Open a project's video and name the model"),
            Self::Training => item(
                "Train the built-in policy…",
                "The Training window: a Phase One run of the built-in policy, with its curves and report",
            ),
            Self::Phase2 => item(
                "Phase Two: tune an adapter…",
                "Tune a steering adapter from the recent tasks of a type, then memorize a lane with it",
            ),
            Self::UseShippedModel => item(
                "Use the shipped model",
                "Memorize with the model in assets/policy again",
            ),
            Self::Evaluate => item(
                "Evaluate from memory…",
                "Answer every task at its ask time from the memory written before it: Acc, Cov and Prec per lane and task type, with charts",
            ),
            Self::ResetLayout => item(
                "Reset layout",
                "The memory and task panel back to its default width, on the right and shown; UI scale 1; the whole video on the timeline",
            ),
            Self::FitTimeline => item("Fit timeline", "Show the whole video on the timeline")
                .gesture("Double-click the ruler"),
            Self::Presentation => item(
                "Presentation mode",
                "Full screen, larger type, and the demo script step by step",
            )
            .keys(const { &[key(K::F11)] })
            .scope(Scope::Global),
            Self::PresentationScript => item(
                "Presentation script…",
                "A script of your own for presentation mode",
            ),
            Self::PresentationNext => item("Presentation: next step", "The script's next step now")
                .keys(const { &[key(K::N), key(K::PageDown)] })
                .scope(Scope::Presenting),
            Self::PresentationPause => item(
                "Presentation: pause / resume",
                "Pause or resume the script's own stepping",
            )
            .keys(const { &[key(K::P)] })
            .scope(Scope::Presenting),
            Self::LeavePresentation => item("Presentation: leave", "Leave presentation mode")
                .keys(const { &[key(K::Escape)] })
                .scope(Scope::Presenting),
            Self::Shortcuts => {
                item("Keyboard shortcuts", "Every key and mouse gesture").keys(const { &[key(K::Questionmark)] })
            }
            Self::Welcome => item(
                "Welcome",
                "The demos, recent projects, and where to start",
            ),
            Self::CloseWelcome => item(
                "Close the welcome window",
                "Close the welcome window (Help > Welcome brings it back)",
            )
            .keys(const { &[key(K::Escape)] })
            .scope(Scope::Welcome),
        }
    }

    #[must_use]
    pub const fn text(self) -> &'static str {
        self.entry().text
    }

    #[must_use]
    pub const fn tooltip(self) -> &'static str {
        self.entry().tooltip
    }

    /// The command's keys; the first is the one menus show.
    #[must_use]
    pub const fn shortcuts(self) -> &'static [KeyboardShortcut] {
        self.entry().keys
    }

    #[must_use]
    pub const fn scope(self) -> Scope {
        self.entry().scope
    }

    /// Whether the command can be given now: its menu item is greyed and its keys are left to
    /// the widgets otherwise.
    #[must_use]
    pub fn enabled(self, s: &CommandState) -> bool {
        let has_task = s.has_project && s.selected_task.is_some();
        match self {
            Self::SaveDemoAs => s.demo_open,
            Self::Undo
            | Self::Redo
            | Self::TaskLibrary
            | Self::ImportTasks
            | Self::ExportTasks
            | Self::ExportMemory
            | Self::ImportMemory
            | Self::PreviousRow
            | Self::NextRow
            | Self::NextUnlabeled => s.has_project,
            Self::LabelCorrect
            | Self::LabelHallucinated
            | Self::LabelIrrelevant
            | Self::LabelMissingDetail => s.has_project && s.row_selected,
            Self::PreviousTask | Self::NextTask | Self::Memorize | Self::MemorizeWithAdapter => {
                s.has_project && s.has_video
            }
            Self::MemorizeRemote => s.has_project && s.has_video && s.remote_model_named,
            Self::DuplicateTask
            | Self::EdgeFrameEarlier
            | Self::EdgeFrameLater
            | Self::EdgeSecondEarlier
            | Self::EdgeSecondLater
            | Self::StartEdge
            | Self::EndEdge => has_task,
            Self::NewProject => s.has_video && !s.has_project,
            // A new task with a video but no project says tasks need a project.
            Self::NewTask
            | Self::CloseVideo
            | Self::PlayPause
            | Self::NextFrame
            | Self::PreviousFrame
            | Self::Back
            | Self::Forward
            | Self::BackTen
            | Self::ForwardTen
            | Self::GoToStart
            | Self::GoToEnd
            | Self::Faster
            | Self::Slower
            | Self::Loop
            | Self::ClearLoop => s.has_video,
            Self::Deselect => s.row_selected,
            _ => true,
        }
    }

    /// What the command asks of the app, or `None` for the few the app does in its view layer
    /// (a window to open, a tab to show, a file dialog).
    #[must_use]
    pub fn to_app(self, s: &CommandState) -> Option<AppCommand> {
        use AppCommand as A;
        let nudge = |frames, seconds| A::NudgeEdge { frames, seconds };
        Some(match self {
            Self::SaveDemoAs
            | Self::TaskLibrary
            | Self::PresentationScript
            | Self::CloseWelcome => return None,
            Self::Open => A::OpenDialog,
            Self::ClearRecent => A::ClearRecent,
            Self::CloseVideo => A::CloseVideo,
            Self::Quit => A::Quit,
            Self::Undo => A::Undo,
            Self::Redo => A::Redo,
            Self::NewTask => A::NewTask {
                ask_ms: s.playhead_ms,
            },
            Self::PreviousTask => A::JumpTask { forward: false },
            Self::NextTask => A::JumpTask { forward: true },
            Self::DuplicateTask => A::DuplicateTask(s.selected_task.clone()?),
            Self::ImportTasks => A::ImportTasks(None),
            Self::ExportTasks => A::ExportTasks(None),
            Self::ExportMemory => A::ExportMemory(None),
            Self::ImportMemory => A::ImportMemory(None),
            Self::NewProject => A::NewProjectFromVideo(None),
            Self::EdgeFrameEarlier => nudge(-1, 0),
            Self::EdgeFrameLater => nudge(1, 0),
            Self::EdgeSecondEarlier => nudge(0, -1),
            Self::EdgeSecondLater => nudge(0, 1),
            Self::StartEdge => A::SelectEdge(Edge::Start),
            Self::EndEdge => A::SelectEdge(Edge::End),
            Self::PlayPause => A::TogglePlay,
            Self::NextFrame => A::StepFrames(1),
            Self::PreviousFrame => A::StepFrames(-1),
            Self::Back => A::Skip(-NS_PER_SEC),
            Self::Forward => A::Skip(NS_PER_SEC),
            Self::BackTen => A::Skip(-10 * NS_PER_SEC),
            Self::ForwardTen => A::Skip(10 * NS_PER_SEC),
            Self::GoToStart => A::Home,
            Self::GoToEnd => A::End,
            Self::Faster => A::Faster,
            Self::Slower => A::Slower,
            Self::Loop => A::ToggleLoop,
            Self::ClearLoop => A::SetLoop(None),
            Self::PreviousRow => A::SelectRelative(-1),
            Self::NextRow => A::SelectRelative(1),
            Self::Deselect => A::Deselect,
            Self::LabelCorrect => A::LabelSelected(Verdict::Correct),
            Self::LabelHallucinated => A::LabelSelected(Verdict::Hallucinated),
            Self::LabelIrrelevant => A::LabelSelected(Verdict::Irrelevant),
            Self::LabelMissingDetail => A::LabelSelected(Verdict::MissingDetail),
            Self::NextUnlabeled => A::SelectNextUnlabeled,
            Self::Memorize => A::SetMemorizing(!s.memorizing),
            Self::MemorizeWithAdapter => A::MemorizeWithAdapter(None),
            Self::MemorizeRemote => A::MemorizeRemote,
            Self::Training => A::ShowTraining,
            Self::Phase2 => A::ShowPhase2,
            Self::UseShippedModel => A::UsePolicyModel(None),
            Self::Evaluate => A::ShowEvaluation,
            Self::FitTimeline => A::FitTimeline,
            Self::ResetLayout => A::ResetLayout,
            Self::Presentation | Self::LeavePresentation => A::TogglePresentation,
            Self::PresentationNext => A::PresentationNext,
            Self::PresentationPause => A::PresentationPause,
            Self::Shortcuts => A::ToggleShortcuts,
            Self::Welcome => A::ShowWelcome,
        })
    }

    /// The first key as menus and hints show it ("Ctrl+O"), else the mouse gesture, else "".
    #[must_use]
    pub fn shortcut_text(self, ctx: &egui::Context) -> String {
        self.key_text(ctx.os().is_mac())
    }

    /// As [`Self::shortcut_text`], where no egui context is at hand.
    #[must_use]
    pub fn key_text(self, is_mac: bool) -> String {
        let entry = self.entry();
        match entry.keys.first() {
            Some(first) => format_shortcut(first, is_mac),
            None => entry.gesture.unwrap_or_default().to_owned(),
        }
    }

    /// The text with its keys, for a button that does the same: "Back 10 s (Shift+Left)".
    #[must_use]
    pub fn hint(self, ctx: &egui::Context) -> String {
        format!(
            "{} ({})",
            self.text(),
            self.all_shortcuts_text(ctx.os().is_mac())
        )
    }

    /// Every key, as the sheet lists them ("N / Page Down"), else the gesture, else "".
    #[must_use]
    pub fn all_shortcuts_text(self, is_mac: bool) -> String {
        let entry = self.entry();
        if entry.keys.is_empty() {
            return entry.gesture.unwrap_or_default().to_owned();
        }
        let keys: Vec<String> = entry
            .keys
            .iter()
            .map(|k| format_shortcut(k, is_mac))
            .collect();
        keys.join(" / ")
    }

    /// The command as a menu button: its text, its key, its tooltip, greyed when disabled; a
    /// click adds it to `clicked`. The response is returned for more hover text.
    pub fn menu_button_ui(
        self,
        ui: &mut egui::Ui,
        s: &CommandState,
        clicked: &mut Vec<Self>,
    ) -> egui::Response {
        let mut button = egui::Button::new(self.text());
        let shortcut = self.shortcut_text(ui.ctx());
        // A shortcut text, even empty, makes room for itself: only items with a key get one.
        if !shortcut.is_empty() {
            button = button.shortcut_text(shortcut);
        }
        let response = ui.add_enabled(self.enabled(s), button);
        self.hover_and_click(response, clicked)
    }

    /// The command as a menu checkbox showing `checked` (a click asks for the other state).
    pub fn menu_checkbox_ui(
        self,
        ui: &mut egui::Ui,
        s: &CommandState,
        checked: bool,
        clicked: &mut Vec<Self>,
    ) -> egui::Response {
        let mut checked = checked;
        let response = ui.add_enabled(
            self.enabled(s),
            egui::Checkbox::new(&mut checked, self.text()),
        );
        self.hover_and_click(response, clicked)
    }

    fn hover_and_click(self, response: egui::Response, clicked: &mut Vec<Self>) -> egui::Response {
        let mut response = response.on_hover_text(self.tooltip());
        if let Some(why) = self.entry().disabled {
            response = response.on_disabled_hover_text(why);
        }
        if response.clicked() {
            clicked.push(self);
        }
        response
    }
}

/// Draws each command as a menu button, in order.
pub fn menu_buttons_ui(
    ui: &mut egui::Ui,
    s: &CommandState,
    commands: &[Command],
    clicked: &mut Vec<Command>,
) {
    for command in commands {
        command.menu_button_ui(ui, s, clicked);
    }
}

/// A key as the studio writes it: "Ctrl+Shift+Z", "Alt+Left", "Page Down", "?".
#[must_use]
pub fn format_shortcut(shortcut: &KeyboardShortcut, is_mac: bool) -> String {
    let modifiers = egui::ModifierNames::NAMES.format(&shortcut.modifiers, is_mac);
    let key = match shortcut.logical_key {
        Key::Escape => "Esc",
        Key::PageDown => "Page Down",
        Key::PageUp => "Page Up",
        // Arrows by name (egui's symbols need a font that has them); "+" after "Ctrl+" reads
        // badly.
        k @ (Key::ArrowLeft
        | Key::ArrowRight
        | Key::ArrowUp
        | Key::ArrowDown
        | Key::Plus
        | Key::Minus) => k.name(),
        k => k.symbol_or_name(),
    };
    if modifiers.is_empty() {
        key.to_owned()
    } else {
        format!("{modifiers}+{key}")
    }
}

/// egui's own zoom keys (it takes them itself), as the View menu and the sheet mention them.
#[must_use]
pub fn zoom_keys_text(is_mac: bool) -> String {
    use egui::gui_zoom::kb_shortcuts::{ZOOM_IN, ZOOM_OUT, ZOOM_RESET};
    [ZOOM_IN, ZOOM_OUT, ZOOM_RESET]
        .iter()
        .map(|k| format_shortcut(k, is_mac))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The commands whose keys were pressed, in the order pressed keys are matched, each key
/// consumed so that no widget sees it too. Only enabled commands in an active scope take their
/// keys; a disabled one leaves its key to the next match (Alt+Left without a selected task seeks
/// as Left does) and to the widgets.
#[must_use]
pub fn take_shortcuts(ctx: &egui::Context, s: &CommandState) -> Vec<Command> {
    let mut taken = Vec::new();
    ctx.input_mut(|input| {
        for (shortcut, command) in bindings() {
            if !command.scope().active(s) || !command.enabled(s) {
                continue;
            }
            let presses = input.count_and_consume_key(shortcut.modifiers, shortcut.logical_key);
            taken.extend(std::iter::repeat_n(command, presses));
        }
    });
    taken
}

/// Every (key, command) pair, the most specific first: egui matches a key pressed with extra
/// Shift or Alt to a binding without them, so Alt+Shift+Left must be tried before Alt+Left, and
/// that before Left.
fn bindings() -> Vec<(KeyboardShortcut, Command)> {
    let mut pairs: Vec<(KeyboardShortcut, Command)> = Command::ALL
        .iter()
        .flat_map(|&c| c.shortcuts().iter().map(move |&k| (k, c)))
        .collect();
    pairs.sort_by_key(|(k, _)| {
        let m = k.modifiers;
        std::cmp::Reverse(u8::from(m.alt) + u8::from(m.shift) + u8::from(m.command || m.ctrl))
    });
    pairs
}

/// The shortcut sheet: every command that has a key or a gesture, in two columns (playback,
/// the timeline's mouse gestures and memory rows; then tasks, editing, presentation and egui's
/// zoom keys) so that the window, sized to its content, fits the screen without scrolling.
pub fn shortcut_sheet_ui(ui: &mut egui::Ui) {
    let is_mac = ui.ctx().os().is_mac();
    let split = Command::ALL
        .iter()
        .position(|&c| c == Command::NewTask)
        .unwrap_or(Command::ALL.len());
    let (first, second) = Command::ALL.split_at(split);
    ui.horizontal_top(|ui| {
        sheet_column_ui(ui, "shortcuts-1", first, is_mac, |ui| {
            for (gesture, what) in GESTURES {
                sheet_row_ui(ui, gesture, what, None);
            }
        });
        ui.separator();
        sheet_column_ui(ui, "shortcuts-2", second, is_mac, |ui| {
            let zoom = zoom_keys_text(is_mac);
            sheet_row_ui(ui, &zoom, "Zoom in / out / reset", None);
        });
    });
}

/// One column of the sheet: `commands` with keys, then `more` rows.
fn sheet_column_ui(
    ui: &mut egui::Ui,
    id: &str,
    commands: &[Command],
    is_mac: bool,
    more: impl FnOnce(&mut egui::Ui),
) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for command in commands {
            let keys = command.all_shortcuts_text(is_mac);
            if !keys.is_empty() {
                sheet_row_ui(ui, &keys, command.text(), Some(command.tooltip()));
            }
        }
        more(ui);
    });
}

fn sheet_row_ui(ui: &mut egui::Ui, keys: &str, what: &str, tooltip: Option<&str>) {
    ui.monospace(keys);
    let label = ui.label(what);
    if let Some(tooltip) = tooltip {
        label.on_hover_text(tooltip);
    }
    ui.end_row();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_listed_once_with_text_and_tooltip() {
        let mut seen = std::collections::HashSet::new();
        for command in Command::ALL {
            assert!(seen.insert(command), "{command:?} listed twice");
            assert!(!command.text().trim().is_empty(), "{command:?} has no text");
            assert!(
                !command.tooltip().trim().is_empty(),
                "{command:?} has no tooltip"
            );
        }
    }

    #[test]
    fn no_two_commands_share_a_shortcut_in_overlapping_scopes() {
        let pairs = bindings();
        for (i, (key_a, a)) in pairs.iter().enumerate() {
            for (key_b, b) in &pairs[i + 1..] {
                assert!(
                    key_a != key_b || !a.scope().overlaps(b.scope()),
                    "{a:?} and {b:?} both take {}",
                    format_shortcut(key_a, false)
                );
            }
        }
    }

    #[test]
    fn keys_a_text_field_needs_are_never_taken_while_typing() {
        for command in Command::ALL {
            for shortcut in command.shortcuts() {
                // A function key types nothing, though egui counts every key without a
                // modifier as one text may need.
                let name = shortcut.logical_key.name();
                let function_key = name.len() > 1
                    && name.starts_with('F')
                    && name[1..].chars().all(|c| c.is_ascii_digit());
                assert!(
                    command.scope() != Scope::Global
                        || function_key
                        || !shortcut.conflicts_with_text_editing(),
                    "{command:?} takes {} even while typing",
                    format_shortcut(shortcut, false)
                );
            }
        }
    }

    #[test]
    fn shortcuts_are_written_as_before() {
        let text = |c: Command| c.all_shortcuts_text(false);
        assert_eq!(text(Command::Open), "Ctrl+O");
        assert_eq!(text(Command::Redo), "Ctrl+Shift+Z / Ctrl+Y");
        assert_eq!(text(Command::EdgeSecondEarlier), "Alt+Shift+Left");
        assert_eq!(text(Command::PresentationNext), "N / Page Down");
        assert_eq!(text(Command::LeavePresentation), "Esc");
        assert_eq!(text(Command::Slower), "[");
        assert_eq!(text(Command::NextFrame), ".");
        assert_eq!(text(Command::Shortcuts), "?");
        assert_eq!(text(Command::Presentation), "F11");
        assert_eq!(text(Command::FitTimeline), "Double-click the ruler");
        assert_eq!(zoom_keys_text(false), "Ctrl+Plus / Ctrl+Minus / Ctrl+0");
        assert_eq!(
            text(Command::Open).replace("Ctrl", "Cmd"),
            Command::Open.all_shortcuts_text(true)
        );
    }

    /// The commands one frame with these key presses gives, in state `s`.
    fn pressed(s: &CommandState, keys: &[(Modifiers, Key)]) -> Vec<Command> {
        let events = keys
            .iter()
            .map(|&(modifiers, key)| egui::Event::Key {
                key,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers,
            })
            .collect();
        let ctx = egui::Context::default();
        let mut taken = Vec::new();
        ctx.run_ui(
            egui::RawInput {
                events,
                ..Default::default()
            },
            |ui| taken = take_shortcuts(ui.ctx(), s),
        )
        .drop_without_applying_deltas();
        taken
    }

    fn with_task() -> CommandState {
        CommandState {
            has_video: true,
            has_project: true,
            selected_task: Some(TaskKey {
                stream: "s".to_owned(),
                id: "t".to_owned(),
            }),
            ..CommandState::default()
        }
    }

    #[test]
    fn the_most_specific_key_wins_and_a_disabled_one_falls_through() {
        let alt_left = [(Modifiers::ALT, Key::ArrowLeft)];
        assert_eq!(
            pressed(&with_task(), &alt_left),
            [Command::EdgeFrameEarlier]
        );
        let video = CommandState {
            has_video: true,
            ..CommandState::default()
        };
        assert_eq!(pressed(&video, &alt_left), [Command::Back]);
        let alt_shift_left = [(Modifiers::ALT | Modifiers::SHIFT, Key::ArrowLeft)];
        assert_eq!(
            pressed(&with_task(), &alt_shift_left),
            [Command::EdgeSecondEarlier]
        );
        assert_eq!(pressed(&video, &alt_shift_left), [Command::BackTen]);
        let redo = [(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z)];
        assert_eq!(pressed(&with_task(), &redo), [Command::Redo]);
        assert_eq!(
            pressed(&video, &[(Modifiers::NONE, Key::Space)]),
            [Command::PlayPause]
        );
        assert!(pressed(&CommandState::default(), &[(Modifiers::NONE, Key::Space)]).is_empty());
    }

    #[test]
    fn scopes_decide_who_takes_a_key() {
        let esc = [(Modifiers::NONE, Key::Escape)];
        let selected = CommandState {
            row_selected: true,
            ..with_task()
        };
        assert_eq!(pressed(&selected, &esc), [Command::Deselect]);
        // The welcome window is in front of the selected row: Esc closes the window first.
        let welcome = CommandState {
            welcome: true,
            ..selected.clone()
        };
        assert_eq!(pressed(&welcome, &esc), [Command::CloseWelcome]);
        let presenting = CommandState {
            presenting: true,
            ..selected.clone()
        };
        assert_eq!(pressed(&presenting, &esc), [Command::LeavePresentation]);
        let typing = CommandState {
            typing: true,
            ..with_task()
        };
        let keys = [
            (Modifiers::NONE, Key::Space),
            (Modifiers::COMMAND, Key::Z),
            (Modifiers::COMMAND, Key::E),
        ];
        assert_eq!(pressed(&typing, &keys), [Command::NewTask]);
        assert_eq!(
            pressed(
                &presenting,
                &[(Modifiers::NONE, Key::N), (Modifiers::NONE, Key::N)]
            ),
            [Command::PresentationNext, Command::PresentationNext]
        );
    }

    #[test]
    fn commands_carry_what_they_act_on() {
        let s = CommandState {
            playhead_ms: 1234,
            memorizing: true,
            ..with_task()
        };
        assert_eq!(
            Command::NewTask.to_app(&s),
            Some(AppCommand::NewTask { ask_ms: 1234 })
        );
        assert_eq!(
            Command::DuplicateTask.to_app(&s),
            Some(AppCommand::DuplicateTask(TaskKey {
                stream: "s".to_owned(),
                id: "t".to_owned(),
            }))
        );
        assert_eq!(
            Command::Memorize.to_app(&s),
            Some(AppCommand::SetMemorizing(false))
        );
        assert_eq!(Command::TaskLibrary.to_app(&s), None);
    }
}
