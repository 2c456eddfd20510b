//! The status bar (running jobs, the open file, memorizing, the stream's format and caches)
//! and the window title.

use super::{AppCommand, TaskMemApp, file_name, ui};

impl TaskMemApp {
    pub(super) fn status_ui(&self, ui: &mut egui::Ui) -> Vec<AppCommand> {
        ui.horizontal(|ui| {
            let commands = ui::jobs::jobs_ui(ui, &self.jobs.running());
            self.player_status_ui(ui);
            commands
        })
        .inner
    }

    pub(super) fn player_status_ui(&self, ui: &mut egui::Ui) {
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

    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
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
