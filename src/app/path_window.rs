//! Every open, import and export can be given a typed path. The system file dialog (the XDG
//! portal, else zenity) is tried where there is one. A machine with neither, or a dialog that
//! fails, gets a toast and the path window: a text field with completion of the folder's
//! entries (Tab accepts the highlighted one, the arrows move, a click picks) and a Browse
//! button that tries the dialog again.
//!
//! rfd cannot say why it returned nothing: a cancel and a missing backend look alike. So the
//! dialog is not tried where no backend can exist, and one that "returns" faster than a person
//! can cancel is taken as a failure.
//!
//! The window also holds the second step of importing questions: when none of the file's
//! streams is in the project, it offers to attach them to the open stream.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::AppCommand;
use super::toasts::Toasts;
use crate::pathcomplete::{self, Want};
use crate::tasks::import::ImportedTasks;

/// A dialog that closes sooner than this without a choice did not open: no person cancels
/// that fast.
const FAILED_WITHIN: Duration = Duration::from_millis(300);

/// The question files the importers read.
const QUESTION_EXTS: &[&str] = &["json", "jsonl", "parquet", "csv", "txt"];
/// The formats Export tasks writes, by extension.
const EXPORT_EXTS: &[&str] = &["jsonl", "parquet", "csv", "txt"];

/// Whether the system file dialog may be tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SystemDialogs {
    /// Where a backend (the portal's session bus, or zenity) can be found.
    #[default]
    Auto,
    /// Never: always the path window (tests, and machines whose dialog hangs).
    Never,
}

impl SystemDialogs {
    fn available(self) -> bool {
        match self {
            Self::Never => false,
            Self::Auto => backend_present(),
        }
    }
}

/// Whether rfd has anything to show a dialog with. On Linux that is the desktop portal over
/// the session bus, or zenity; elsewhere the system's own dialog.
fn backend_present() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
    };
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").is_ok_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists());
    bus || on_path("zenity")
}

/// What a path is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathPurpose {
    /// A video, a world stream or suite folder, or a project folder.
    Open,
    ImportQuestions,
    ExportTasks,
    /// The project's memory entries.
    ExportMemory,
    /// Memory for the open project.
    ImportMemory,
    /// The folder of a new project made from the open video.
    NewProject,
    /// A Phase Two adapter to memorize with.
    Adapter,
    /// A script of one's own for presentation mode.
    PresentationScript,
}

impl PathPurpose {
    fn title(self) -> &'static str {
        match self {
            Self::Open => "Open a video or project",
            Self::ImportQuestions => "Import questions",
            Self::ExportTasks => "Export tasks",
            Self::ExportMemory => "Export memory",
            Self::ImportMemory => "Import memory",
            Self::NewProject => "New project from this video",
            Self::Adapter => "Memorize with an adapter",
            Self::PresentationScript => "Presentation script",
        }
    }

    fn prompt(self) -> &'static str {
        match self {
            Self::Open => "An MP4 file, a world stream or suite folder, or a project folder:",
            Self::ImportQuestions => {
                "A question file (Video-MME, EgoLifeQA, EgoTempo, M3-Bench, one question per line, or an export of ours; the format is recognised from the file):"
            }
            Self::ExportTasks => {
                "The file to write; its extension says the format (.jsonl, .parquet, .csv, or .txt for one question per line):"
            }
            Self::ExportMemory => {
                "The file to write; its extension says the format (.jsonl, .parquet, or .txt for the QA text):"
            }
            Self::ImportMemory => {
                "TaskMem's output folder (its lanes go on the open stream), its demo file, EgoRAG captions (.json), or a world stream folder; what it is is told from the content:"
            }
            Self::NewProject => "A folder for the new project (it may not exist yet):",
            Self::Adapter => "A Phase Two adapter (.safetensors):",
            Self::PresentationScript => {
                "A script for presentation mode (.txt, written like the demo's script):"
            }
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::ImportQuestions | Self::ImportMemory => "Import",
            Self::ExportTasks | Self::ExportMemory => "Export",
            Self::NewProject => "Create",
            Self::Adapter => "Memorize",
            Self::PresentationScript => "Use",
        }
    }

    fn want(self) -> Want<'static> {
        match self {
            Self::Open => Want::Files(&["mp4", "m4v", "mov"]),
            Self::ImportQuestions => Want::Files(QUESTION_EXTS),
            Self::ExportTasks => Want::Files(EXPORT_EXTS),
            Self::ExportMemory => Want::Files(&["jsonl", "parquet", "txt"]),
            Self::ImportMemory => Want::Files(&["json"]),
            Self::NewProject => Want::Folders,
            Self::Adapter => Want::Files(&["safetensors"]),
            Self::PresentationScript => Want::Files(&["txt"]),
        }
    }

    /// The system dialog for this purpose; blocks until it closes.
    fn dialog(self, start: Option<&Path>) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new();
        if let Some(start) = start {
            dialog = dialog.set_directory(start);
        }
        match self {
            Self::Open => dialog
                .add_filter("Video", &["mp4", "m4v", "mov"])
                .add_filter("All files", &["*"])
                .pick_file(),
            Self::ImportQuestions => dialog
                .add_filter("Question files", QUESTION_EXTS)
                .pick_file(),
            Self::ExportTasks => dialog
                .add_filter("JSON Lines", &["jsonl"])
                .add_filter("Parquet", &["parquet"])
                .add_filter("CSV", &["csv"])
                .add_filter("One question per line", &["txt"])
                .set_file_name("tasks-export.jsonl")
                .save_file(),
            Self::ExportMemory => dialog
                .add_filter("JSON Lines", &["jsonl"])
                .add_filter("Parquet", &["parquet"])
                .add_filter("QA text", &["txt"])
                .set_file_name("memory-export.jsonl")
                .save_file(),
            // A folder (TaskMem's output, a world stream) is typed in the path window.
            Self::ImportMemory => dialog.add_filter("Memory", &["json"]).pick_file(),
            Self::NewProject => dialog.pick_folder(),
            Self::Adapter => dialog.add_filter("Adapter", &["safetensors"]).pick_file(),
            Self::PresentationScript => dialog.add_filter("Script", &["txt"]).pick_file(),
        }
    }

    /// What the window asks the app to do with a path given for this purpose.
    fn action_for(self, path: PathBuf) -> PathAction {
        PathAction::Command(match self {
            Self::Open => AppCommand::Open(path),
            // Through the import window's own step, to keep the offer of the open stream.
            Self::ImportQuestions => return PathAction::Import(path),
            Self::ExportTasks => AppCommand::ExportTasks(Some(path)),
            Self::ExportMemory => AppCommand::ExportMemory(Some(path)),
            Self::ImportMemory => AppCommand::ImportMemory(Some(path)),
            Self::NewProject => AppCommand::NewProjectFromVideo(Some(path)),
            Self::Adapter => AppCommand::MemorizeWithAdapter(Some(path)),
            Self::PresentationScript => return PathAction::PresentationScript(path),
        })
    }
}

/// Questions read and waiting for the choice of their stream.
pub struct AttachOffer {
    pub path: PathBuf,
    pub imported: ImportedTasks,
    /// The open stream they may go to.
    pub stream: String,
    /// Their own streams, for the message.
    streams: Vec<String>,
    /// The choice: attach them to [`Self::stream`] (the default), or keep their streams.
    pub attach: bool,
}

/// The path window, while open.
pub struct PathWindow {
    pub purpose: PathPurpose,
    pub text: String,
    /// Folder a relative path is read from.
    base: PathBuf,
    /// Questions read from the typed file, waiting for the stream choice.
    pub offer: Option<AttachOffer>,
}

/// What the window asks the app to do.
pub enum PathAction {
    Command(AppCommand),
    /// Read this question file, offering the open stream when it fits.
    Import(PathBuf),
    /// Use this script in presentation mode.
    PresentationScript(PathBuf),
    /// The choice made for questions read earlier: attach them to the offer's stream or not.
    Attach(AttachOffer),
}

/// The path window and how paths are asked for.
#[derive(Default)]
pub struct PathWindows {
    pub dialogs: SystemDialogs,
    pub window: Option<PathWindow>,
}

impl PathWindows {
    /// Asks for a path: the system dialog where there is one (its choice is returned), else,
    /// or when it fails, the path window opens (with a toast) and `None` comes back until
    /// the window acts. `start` is where the dialog starts and what the field holds.
    pub fn ask(
        &mut self,
        purpose: PathPurpose,
        start: Option<&Path>,
        toasts: &mut Toasts,
    ) -> Option<PathBuf> {
        if self.dialogs.available() {
            let started = Instant::now();
            // rfd blocks while the native dialog is open; no frame is due meanwhile.
            let folder = start.and_then(|s| if s.is_dir() { Some(s) } else { s.parent() });
            if let Some(path) = purpose.dialog(folder.filter(|f| f.is_dir())) {
                return Some(path);
            }
            if started.elapsed() >= FAILED_WITHIN {
                // A person closed it: nothing to do.
                return None;
            }
            toasts.error(format!(
                "{}: the system file dialog did not open; type the path instead (Tab completes)",
                purpose.title()
            ));
        } else {
            // Every time: the same toast twice in a row shows once, so asking again is no
            // flood, and a person who missed the first still learns why there is no dialog.
            toasts.warning(
                "There is no system file dialog here (no desktop portal, no zenity): type paths in the window instead (Tab completes)",
            );
        }
        self.open(purpose, start);
        None
    }

    /// Opens the path window for `purpose`, the field holding `start` (a folder gets a
    /// trailing `/` so completion lists what is in it).
    pub fn open(&mut self, purpose: PathPurpose, start: Option<&Path>) {
        let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let text = start.map_or_else(String::new, |p| {
            let mut text = p.display().to_string();
            if p.is_dir() && !text.ends_with('/') {
                text.push('/');
            }
            text
        });
        self.window = Some(PathWindow {
            purpose,
            text,
            base,
            offer: None,
        });
    }

    /// Shows the questions read from `path` with the choice of their stream.
    pub fn offer(&mut self, path: PathBuf, imported: ImportedTasks, stream: String) {
        let streams = imported.streams();
        let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let text = path.display().to_string();
        self.window = Some(PathWindow {
            purpose: PathPurpose::ImportQuestions,
            text,
            base,
            offer: Some(AttachOffer {
                path,
                imported,
                stream,
                streams,
                attach: true,
            }),
        });
    }

    /// Closes the window (its work is done).
    pub fn close(&mut self, purpose: PathPurpose) {
        if self.window.as_ref().is_some_and(|w| w.purpose == purpose) {
            self.window = None;
        }
    }

    /// Whether the window for `purpose` is open.
    #[must_use]
    pub fn is_open(&self, purpose: PathPurpose) -> bool {
        self.window.as_ref().is_some_and(|w| w.purpose == purpose)
    }

    /// Draws the window; what it asks for.
    pub fn ui(&mut self, ctx: &egui::Context, toasts: &mut Toasts) -> Vec<PathAction> {
        let mut actions = Vec::new();
        let Some(window) = &mut self.window else {
            return actions;
        };
        let mut open = true;
        let mut close = false;
        // The stream choice was made: the offer goes to the app.
        let mut made = false;
        let purpose = window.purpose;
        let dialogs = self.dialogs;
        egui::Window::new(purpose.title())
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(520.0)
            .show(ctx, |ui| {
                if let Some(offer) = &mut window.offer {
                    match offer_ui(ui, offer) {
                        Some(true) => made = true,
                        Some(false) => close = true,
                        None => {}
                    }
                    return;
                }
                let (submit, cancel) = field_ui(ui, window, dialogs, toasts);
                close = cancel;
                if let Some(path) = submit {
                    actions.push(purpose.action_for(path));
                }
            });
        if made && let Some(offer) = self.window.take().and_then(|w| w.offer) {
            actions.push(PathAction::Attach(offer));
        }
        if !open || close {
            self.window = None;
        }
        actions
    }
}

/// The path field, its completion and buttons; the path to act on when one is given, and
/// whether Cancel was pressed.
fn field_ui(
    ui: &mut egui::Ui,
    window: &mut PathWindow,
    dialogs: SystemDialogs,
    toasts: &mut Toasts,
) -> (Option<PathBuf>, bool) {
    let purpose = window.purpose;
    ui.label(purpose.prompt());
    let mut submit = false;
    let mut browse = false;
    let mut cancel = false;
    let label = ui.label("Path");
    let want = purpose.want();
    let base = window.base.clone();
    let mut listing_problem = None;
    let output = egui::CompletionPopup::new(ui.make_persistent_id("path-field"))
        .word_boundary(|c| c == '/' || c == std::path::MAIN_SEPARATOR)
        // Enter acts on the path as typed; Tab (or a click) takes the highlighted entry.
        .accept_keys([egui::Key::Tab])
        .align(egui::RectAlign::BOTTOM_START)
        .show(
            ui,
            egui::TextEdit::singleline(&mut window.text)
                .hint_text("/path/to/file  (~/ is your home folder; Tab completes)")
                .desired_width(f32::INFINITY),
            |query| {
                let completion = pathcomplete::complete(query.text, want, &base);
                listing_problem = completion.problem;
                completion
                    .candidates
                    .into_iter()
                    // The name typed in full is no suggestion (Enter then acts on it).
                    .filter(|c| c.is_dir || c.name != query.word)
                    .map(|c| {
                        let shown = if c.is_dir {
                            format!("🗀 {}", c.name)
                        } else {
                            c.name.clone()
                        };
                        egui::Suggestion::new(c.name).content(shown)
                    })
                    .collect()
            },
        );
    let response = output.text_edit.response.response.labelled_by(label.id);
    if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        submit = true;
    }
    let resolved = pathcomplete::resolve(&window.text, &window.base);
    let creates = matches!(
        purpose,
        PathPurpose::ExportTasks | PathPurpose::ExportMemory | PathPurpose::NewProject
    );
    match &resolved {
        Some(path) if path.exists() => {
            ui.weak(path.display().to_string());
        }
        Some(path) if creates => {
            ui.weak(format!("{} (new)", path.display()));
        }
        Some(path) => {
            let why = listing_problem.unwrap_or_else(|| "no such file or folder".to_owned());
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{}: {why}", path.display()),
            );
        }
        None => {
            ui.weak(" ");
        }
    }
    if !dialogs.available() {
        ui.weak("No system file dialog is available here (no desktop portal, no zenity).");
    }
    ui.horizontal(|ui| {
        if ui
            .add_enabled(resolved.is_some(), egui::Button::new(purpose.action()))
            .on_hover_text("Use the path typed above (Enter does the same)")
            .clicked()
        {
            submit = true;
        }
        if ui
            .add_enabled(dialogs.available(), egui::Button::new("Browse…"))
            .on_hover_text("Choose with the system file dialog")
            .on_disabled_hover_text("No system file dialog here: type the path")
            .clicked()
        {
            browse = true;
        }
        if ui.button("Cancel").clicked() {
            cancel = true;
        }
    });
    if browse {
        let start = resolved.as_deref().map(|p| {
            if p.is_dir() {
                p
            } else {
                p.parent().unwrap_or(p)
            }
        });
        let started = Instant::now();
        match purpose.dialog(start) {
            Some(path) => return (Some(path), false),
            None if started.elapsed() < FAILED_WITHIN => toasts.error(
                "The system file dialog did not open; type the path instead (Tab completes)",
            ),
            None => {}
        }
    }
    if submit {
        if resolved.is_none() {
            toasts.warning(format!("{}: type a path first", purpose.title()));
        }
        return (resolved, false);
    }
    (None, cancel)
}

/// The choice for questions whose streams the project does not have: `Some(true)` to import
/// them as [`AttachOffer::attach`] says, `Some(false)` to import nothing.
fn offer_ui(ui: &mut egui::Ui, offer: &mut AttachOffer) -> Option<bool> {
    let count = offer.imported.tasks.len();
    let name = offer.path.file_name().map_or_else(
        || offer.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut listed = offer
        .streams
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if offer.streams.len() > 5 {
        listed.push_str(", …");
    }
    ui.label(format!(
        "{name}: {count} questions for {} video{} this project does not have ({listed}).",
        offer.streams.len(),
        if offer.streams.len() == 1 { "" } else { "s" },
    ));
    let when = if offer.imported.asked_at_end {
        " (asked at its end)"
    } else {
        ""
    };
    ui.radio_value(
        &mut offer.attach,
        true,
        format!("Attach them to the open stream \"{}\"{when}", offer.stream),
    );
    ui.radio_value(&mut offer.attach, false, "Keep their own stream names")
        .on_hover_text(if offer.imported.asked_at_end {
            "They stay on streams without a video, asked at 00:00:00 until edited"
        } else {
            "They stay on streams without a video until one is added"
        });
    let mut choice = None;
    ui.horizontal(|ui| {
        if ui.button("Import").clicked() {
            choice = Some(true);
        }
        if ui
            .button("Cancel")
            .on_hover_text("Import nothing")
            .clicked()
        {
            choice = Some(false);
        }
    });
    choice
}
