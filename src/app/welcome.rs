//! The welcome window (what to open, the recent files, the demos) and the first start, and
//! the window that saves a demo as a project of the user's own.

use std::path::{Path, PathBuf};

use super::command::Command;
use super::{AppCommand, TaskMemApp, expand_home, file_name};

/// The "Save the demo as a new project" window: a typed folder, as a system file dialog may
/// not exist.
#[derive(Clone, Debug)]
pub(super) struct SaveDemo {
    pub(super) path: String,
}

impl SaveDemo {
    /// Proposes a folder beside the demo, named after it, that does not exist yet.
    pub(super) fn new(demo_dir: &Path) -> Self {
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

impl TaskMemApp {
    pub(super) fn welcome_ui(&mut self, ui: &mut egui::Ui) {
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
    pub(super) fn recent_ui(&mut self, ui: &mut egui::Ui) -> bool {
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
    pub(super) fn welcome_window(&mut self, ctx: &egui::Context) {
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

    /// The "Save the demo as a new project" window.
    pub(super) fn save_demo_window(&mut self, ctx: &egui::Context) {
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

    /// Copies the open demo to `target` and opens the copy (an ordinary project from then on).
    pub(super) fn save_demo_as(&mut self, target: &Path) {
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
}
