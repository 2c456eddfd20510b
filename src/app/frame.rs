//! One frame of the app: the work before drawing (commands, finished jobs, playback, live
//! memory), then the panels in their order, then the tool windows.

use std::path::PathBuf;

use super::project_view::ProjectView;
use super::task_panel::SideTab;
use super::ui::ruler::RulerInput;
use super::{
    AppCommand, PanelSide, TaskMemApp, command, memorize, path_window, phase2_panel, player,
    project_view, task_view, ui,
};
use crate::video::NS_PER_MS;

/// The memory and task panel's width: what it starts at, and the least it may be.
pub(super) const SIDE_PANEL_DEFAULT: f32 = 440.0;

pub(super) const SIDE_PANEL_MIN: f32 = 280.0;

/// The least room the side panel leaves the video.
pub(super) const MIN_STAGE_WIDTH: f32 = 400.0;

/// The height the side panel's tabs are laid out at when the window gives them less (they
/// scroll then).
pub(super) const SIDE_BODY_MIN_HEIGHT: f32 = 440.0;

/// The widest the side panel may be in a window `available` wide: the video keeps
/// [`MIN_STAGE_WIDTH`], and the panel never goes below its own minimum while the window has
/// room for it.
pub(super) fn side_panel_max(available: f32) -> f32 {
    (available - MIN_STAGE_WIDTH)
        .max(SIDE_PANEL_MIN)
        .min(available)
        .max(0.0)
}

impl TaskMemApp {
    /// A frame's work before anything is drawn: commands, finished jobs, playback and live
    /// memory.
    pub(super) fn tick(&mut self, ctx: &egui::Context) {
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
    pub(super) fn panels_ui(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
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
    pub(super) fn tool_windows(&mut self, ctx: &egui::Context) {
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

    /// The transport, the ruler and the lanes under the video (with a video open).
    pub(super) fn transport_panel_ui(&mut self, ui: &mut egui::Ui) {
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
    pub(super) fn side_panel_ui(&mut self, ui: &mut egui::Ui) {
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

    pub(super) fn shortcuts_window(&mut self, ctx: &egui::Context) {
        let mut open = self.show_shortcuts;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .resizable(false)
            .show(ctx, command::shortcut_sheet_ui);
        self.show_shortcuts = open;
    }

    /// The path window (where the system file dialog is missing or failed) and what it asks.
    pub(super) fn path_window(&mut self, ctx: &egui::Context) {
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
                PathAction::PresentationScript(path) => {
                    self.pending.push(AppCommand::UsePresentationScript(path));
                }
                PathAction::Attach(offer) => self.pending.push(AppCommand::AddImportedTasks {
                    path: offer.path,
                    tasks: Box::new(offer.imported),
                    attach: offer.attach.then_some(offer.stream),
                }),
            }
        }
    }
}
