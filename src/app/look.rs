//! How the app looks: theme and scale, the layout reset, and presentation mode (full screen,
//! larger type, the demo script stepping on its own).

use std::path::PathBuf;

use super::{AppCommand, Settings, TaskMemApp, presentation};

impl TaskMemApp {
    pub(super) fn reset_layout(&mut self, ctx: &egui::Context) {
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

    /// The zoom and theme the settings and presentation mode ask for, set on change only.
    pub(super) fn apply_look(&mut self, ctx: &egui::Context) {
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

    /// Presentation mode: full screen, the presentation zoom, and the script from its start.
    pub(super) fn toggle_presentation(&mut self, ctx: &egui::Context) {
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

    /// Steps the presentation; the demo counts as ready once its first frame shows.
    pub(super) fn tick_presentation(&mut self, now_s: f64) {
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

    /// Presentation mode runs `path` from now on; a missing file keeps the path window open.
    pub(super) fn use_presentation_script(&mut self, path: PathBuf) {
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
}
