//! The menu bar and the keyboard, both drawn from the command table ([`super::command`]), and
//! the glue between that table and the app: [`TaskMemApp::command_state`] is what the table's
//! rules read, [`TaskMemApp::run_command`] does what a command asks. Settings edited in place
//! (remote model, budget, theme, scales, panel) and the lists of files (recent, suite streams)
//! stay widgets here: they are values and paths, not commands with keys.

use std::path::PathBuf;

use super::command::{Command, CommandState, menu_buttons_ui, take_shortcuts, zoom_keys_text};
use super::task_panel::SideTab;
use super::{AppCommand, PanelSide, SaveDemo, TaskMemApp, Theme, prices_ui};
use crate::studio::task_edit::TaskKey;

impl TaskMemApp {
    /// What the command table's rules read now.
    pub(super) fn command_state(&self, ctx: &egui::Context) -> CommandState {
        let selected_task = self
            .project
            .as_ref()
            .zip(self.tasks.selected())
            .map(|(p, id)| TaskKey {
                stream: p.stream().to_owned(),
                id: id.to_owned(),
            });
        CommandState {
            typing: ctx.text_edit_focused(),
            presenting: self.presentation.is_active(),
            has_video: self.player.is_some(),
            has_project: self.project.is_some(),
            selected_task,
            row_selected: self
                .project
                .as_ref()
                .is_some_and(|p| p.selected().is_some()),
            // A file check: made only where the File menu is drawn (see `file_menu_ui`).
            demo_open: false,
            remote_model_named: !self.settings.remote_model.trim().is_empty(),
            memorizing: self.memorize.is_on(),
            welcome: self.show_welcome,
            playhead_ms: self.playhead_ms(),
        }
    }

    /// Global shortcuts, taken before any widget sees the keys (see [`take_shortcuts`]).
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let state = self.command_state(ctx);
        for command in take_shortcuts(ctx, &state) {
            self.run_command(command, &state);
        }
    }

    /// Does what `command` asks: most become an [`super::AppCommand`] for `apply`; a window, a
    /// tab and a file dialog are the view's own.
    pub(super) fn run_command(&mut self, command: Command, state: &CommandState) {
        if let Some(app_command) = command.to_app(state) {
            self.pending.push(app_command);
            return;
        }
        match command {
            Command::SaveDemoAs => {
                if let Some(dir) = self.demo_dir() {
                    self.save_demo = Some(SaveDemo::new(&dir));
                }
            }
            Command::TaskLibrary => self.tasks.tab = SideTab::Library,
            Command::CloseWelcome => {
                self.show_welcome = false;
                // As its Close button: the next start opens the last project, not this window
                // (the window, no longer drawn, would not record it).
                self.settings.welcomed = true;
            }
            Command::PresentationScript => {
                let now = self.settings.presentation_script.clone();
                if let Some(path) = self.paths.ask(
                    super::path_window::PathPurpose::PresentationScript,
                    now.as_deref(),
                    &mut self.toasts,
                ) {
                    self.settings.presentation_script = Some(path);
                }
            }
            _ => {}
        }
    }

    /// The open project's folder when it is a demo.
    fn demo_dir(&self) -> Option<PathBuf> {
        self.project
            .as_ref()
            .map(|p| p.dir().to_path_buf())
            .filter(|d| crate::demo::is_demo(d))
    }

    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui) {
        let state = self.command_state(ui.ctx());
        let mut clicked = Vec::new();
        let out = &mut clicked;
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu_ui(ui, &state, out));
            if !self.suite_streams.is_empty() {
                ui.menu_button("Suite", |ui| self.suite_menu_ui(ui));
            }
            ui.menu_button("Edit", |ui| {
                menu_buttons_ui(ui, &state, &[Command::Undo, Command::Redo], out);
                ui.separator();
                menu_buttons_ui(
                    ui,
                    &state,
                    &[
                        Command::LabelCorrect,
                        Command::LabelHallucinated,
                        Command::LabelIrrelevant,
                        Command::LabelMissingDetail,
                        Command::NextUnlabeled,
                    ],
                    out,
                );
            });
            ui.menu_button("Tasks", |ui| tasks_menu_ui(ui, &state, out));
            ui.menu_button("Playback", |ui| {
                use Command as C;
                let items = [
                    C::PlayPause,
                    C::NextFrame,
                    C::PreviousFrame,
                    C::Faster,
                    C::Slower,
                    C::Loop,
                    C::ClearLoop,
                ];
                menu_buttons_ui(ui, &state, &items, out);
            });
            ui.menu_button("Policy", |ui| self.policy_menu_ui(ui, &state, out));
            ui.menu_button("Evaluate", |ui| {
                menu_buttons_ui(ui, &state, &[Command::Evaluate], out);
            });
            ui.menu_button("View", |ui| self.view_menu_ui(ui, &state, out));
            ui.menu_button("Help", |ui| {
                menu_buttons_ui(ui, &state, &[Command::Shortcuts, Command::Welcome], out);
            });
        });
        for command in clicked {
            self.run_command(command, &state);
        }
    }

    fn file_menu_ui(&mut self, ui: &mut egui::Ui, state: &CommandState, out: &mut Vec<Command>) {
        let state = CommandState {
            demo_open: self.demo_dir().is_some(),
            ..state.clone()
        };
        Command::Open.menu_button_ui(ui, &state, out);
        ui.menu_button("Open recent", |ui| {
            if self.settings.recent_files.is_empty() {
                ui.weak("No recent files");
            }
            for path in &self.settings.recent_files {
                if ui
                    .button(path.display().to_string())
                    .on_hover_text("Open it again")
                    .clicked()
                {
                    self.pending.push(AppCommand::Open(path.clone()));
                }
            }
            ui.separator();
            Command::ClearRecent.menu_button_ui(ui, &state, out);
        });
        menu_buttons_ui(
            ui,
            &state,
            &[
                Command::SaveDemoAs,
                Command::ImportMemory,
                Command::ExportMemory,
                Command::CloseVideo,
            ],
            out,
        );
        ui.separator();
        Command::Quit.menu_button_ui(ui, &state, out);
    }

    fn suite_menu_ui(&mut self, ui: &mut egui::Ui) {
        let current = self.player.as_ref().map(|p| p.path.clone());
        for stream in &self.suite_streams {
            let name = stream
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let selected = current.as_ref().is_some_and(|c| c.starts_with(stream));
            if ui
                .selectable_label(selected, name)
                .on_hover_text("Open this stream of the suite")
                .clicked()
            {
                self.pending.push(AppCommand::Open(stream.clone()));
            }
        }
    }

    fn policy_menu_ui(&mut self, ui: &mut egui::Ui, state: &CommandState, out: &mut Vec<Command>) {
        Command::Memorize.menu_checkbox_ui(ui, state, state.memorizing, out);
        Command::MemorizeWithAdapter.menu_button_ui(ui, state, out);
        ui.menu_button("Remote model", |ui| {
            self.remote_model_ui(ui);
            // The rule reads the model name as typed this frame.
            let state = CommandState {
                remote_model_named: !self.settings.remote_model.trim().is_empty(),
                ..state.clone()
            };
            Command::MemorizeRemote.menu_button_ui(ui, &state, out);
        });
        menu_buttons_ui(ui, state, &[Command::Training, Command::Phase2], out);
        ui.separator();
        ui.horizontal(|ui| {
            let default = crate::policy::DEFAULT_BUDGET_TOKENS;
            ui.label("Token budget per clip");
            let mut budget = self.settings.policy_budget_tokens.unwrap_or(default);
            ui.add(
                egui::DragValue::new(&mut budget)
                    .range(4..=48)
                    .suffix(" tokens"),
            )
            .on_hover_text(format!(
                "Tokens each description may use (default {default}, from the world's headroom oracle; at most the model's 48). Memorizing, Phase Two and evaluation write under it from their next start, and each entry records it"
            ));
            if budget != default && ui.small_button("Default").clicked() {
                budget = default;
            }
            self.settings.policy_budget_tokens = (budget != default).then_some(budget);
        });
        match &self.settings.policy_model {
            Some(dir) => {
                ui.weak(format!("Model: {}", dir.display()));
                Command::UseShippedModel.menu_button_ui(ui, state, out);
            }
            None => {
                ui.weak("Model: shipped (assets/policy)");
            }
        }
    }

    /// The remote model's settings: endpoint, model, key variable and prices.
    fn remote_model_ui(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("remote-model")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Base URL");
                ui.add(
                    egui::TextEdit::singleline(&mut self.settings.remote_base_url)
                        .hint_text("$OPENAI_BASE_URL")
                        .desired_width(260.0),
                )
                .on_hover_text("The OpenAI-compatible endpoint up to /v1 (vLLM, SGLang)");
                ui.end_row();
                ui.label("Model");
                ui.add(
                    egui::TextEdit::singleline(&mut self.settings.remote_model)
                        .desired_width(260.0),
                )
                .on_hover_text("The served model's name; vLLM serves each adapter under its own");
                ui.end_row();
                ui.label("API key variable");
                ui.add(
                    egui::TextEdit::singleline(&mut self.settings.remote_api_key_env)
                        .hint_text(crate::remote::DEFAULT_API_KEY_ENV)
                        .desired_width(260.0),
                )
                .on_hover_text(
                    "The name of the environment variable holding the key; the key is never stored",
                );
                ui.end_row();
                prices_ui(ui, &mut self.settings.remote_prices);
            });
    }

    fn view_menu_ui(&mut self, ui: &mut egui::Ui, state: &CommandState, out: &mut Vec<Command>) {
        menu_buttons_ui(
            ui,
            state,
            &[
                Command::FitTimeline,
                Command::ResetLayout,
                Command::Presentation,
            ],
            out,
        );
        Command::PresentationScript
            .menu_button_ui(ui, state, out)
            .on_hover_text(format!(
                "Now: {}",
                self.settings.presentation_script.as_ref().map_or_else(
                    || crate::demo::DEMO_SCRIPT.to_owned(),
                    |p| p.display().to_string()
                )
            ));
        ui.separator();
        self.lanes_menu_ui(ui);
        self.look_ui(ui);
        ui.separator();
        let mut shown = !self.settings.hide_side_panel;
        ui.checkbox(&mut shown, "Memory and task panel")
            .on_hover_text("The memory browser, inspector, task form and library");
        self.settings.hide_side_panel = !shown;
        ui.horizontal(|ui| {
            ui.label("Panel side");
            ui.selectable_value(&mut self.settings.panel_side, PanelSide::Left, "Left")
                .on_hover_text("The memory and task panel on the left of the video");
            ui.selectable_value(&mut self.settings.panel_side, PanelSide::Right, "Right")
                .on_hover_text("The memory and task panel on the right of the video");
        });
    }

    /// The open project's memory lanes: the colour legend, each shown or hidden, moved up or
    /// down (saved with the project).
    fn lanes_menu_ui(&mut self, ui: &mut egui::Ui) {
        let Some(view) = &self.project else { return };
        let legend = view.lane_legend();
        if legend.is_empty() {
            return;
        }
        // Ticking several lanes in a row: the submenu stays open until a click outside it.
        let config = egui::containers::menu::MenuConfig::new()
            .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
        egui::containers::menu::SubMenuButton::new("Lanes").config(config).ui(ui, |ui| {
            let last = legend.len() - 1;
            for (i, (id, title, color, shown)) in legend.into_iter().enumerate() {
                ui.horizontal(|ui| {
                    let (swatch, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
                    ui.painter().rect_filled(swatch, 2.0, color);
                    let mut on = shown;
                    if ui
                        .checkbox(&mut on, &title)
                        .on_hover_text("Show this lane on the timeline (hidden lanes are still browsed, exported and evaluated)")
                        .changed()
                    {
                        self.pending.push(AppCommand::SetLaneShown { lane: id.clone(), shown: on });
                    }
                    if ui
                        .add_enabled(i > 0, egui::Button::new("Up").small())
                        .on_hover_text(format!("Move {title} up the timeline"))
                        .clicked()
                    {
                        self.pending.push(AppCommand::MoveLane { lane: id.clone(), earlier: true });
                    }
                    if ui
                        .add_enabled(i < last, egui::Button::new("Down").small())
                        .on_hover_text(format!("Move {title} down the timeline"))
                        .clicked()
                    {
                        self.pending.push(AppCommand::MoveLane { lane: id, earlier: false });
                    }
                });
            }
        });
        ui.separator();
    }

    /// Theme and the two zooms.
    fn look_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Theme");
            for (theme, name) in [
                (Theme::Dark, "Dark"),
                (Theme::Light, "Light"),
                (Theme::System, "System"),
            ] {
                ui.selectable_value(&mut self.settings.theme, theme, name)
                    .on_hover_text(format!("{name} colours"));
            }
        });
        let zoom_keys = zoom_keys_text(ui.ctx().os().is_mac());
        ui.horizontal(|ui| {
            ui.label("UI scale");
            let mut scale = self.settings.ui_scale();
            if ui
                .add(egui::Slider::new(&mut scale, 0.5..=2.5).step_by(0.05))
                .on_hover_text(format!("The size of everything ({zoom_keys} zoom too)"))
                .changed()
            {
                self.settings.ui_scale = Some(scale);
            }
        });
        ui.horizontal(|ui| {
            ui.label("Presentation scale");
            let mut scale = self.settings.presentation_scale();
            if ui
                .add(egui::Slider::new(&mut scale, 0.75..=3.0).step_by(0.05))
                .on_hover_text("The size of everything in presentation mode")
                .changed()
            {
                self.settings.presentation_scale = Some(scale);
            }
        });
    }
}

fn tasks_menu_ui(ui: &mut egui::Ui, state: &CommandState, out: &mut Vec<Command>) {
    use Command as C;
    let items = [C::NewTask, C::PreviousTask, C::NextTask, C::TaskLibrary];
    menu_buttons_ui(ui, state, &items, out);
    ui.separator();
    menu_buttons_ui(ui, state, &[C::ImportTasks, C::ExportTasks], out);
    ui.separator();
    C::NewProject.menu_button_ui(ui, state, out);
}
