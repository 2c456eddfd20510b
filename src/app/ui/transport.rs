//! The transport bar: buttons for every playback action, the time as `HH:MM:SS.mmm` with the
//! frame number, speed, loop, follow-live, and a "go to time" field.

use crate::app::AppCommand;
use crate::app::command::{Command, CommandState};
use crate::playback::{Playback, SPEEDS};
use crate::timefmt::{format_hms_ms, parse_time_ns};

#[derive(Default)]
pub struct TransportBar {
    goto_text: String,
    goto_error: Option<String>,
}

impl TransportBar {
    pub fn transport_ui(&mut self, ui: &mut egui::Ui, playback: &Playback) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        // Wrapped, so that a narrow window (1024x640 at UI scale 2) puts the rest of the
        // controls on a second row instead of widening the panel past the window.
        ui.horizontal_wrapped(|ui| {
            // Hints and commands come from the command table (these read no state).
            let mut button = |ui: &mut egui::Ui, text: &str, command: Command| {
                let hint = command.hint(ui.ctx());
                if ui.button(text).on_hover_text(hint).clicked() {
                    commands.extend(command.to_app(&CommandState::default()));
                }
            };
            button(ui, "⏮", Command::GoToStart);
            button(ui, "⏪", Command::BackTen);
            button(ui, "◀", Command::Back);
            button(ui, "⏴|", Command::PreviousFrame);
            let play_label = if playback.is_playing() {
                "⏸ Pause"
            } else {
                "⏵ Play"
            };
            button(ui, play_label, Command::PlayPause);
            button(ui, "|⏵", Command::NextFrame);
            button(ui, "▶", Command::Forward);
            button(ui, "⏩", Command::ForwardTen);
            button(ui, "⏭", Command::GoToEnd);
            ui.separator();

            let time = format!(
                "{} / {}",
                format_hms_ms(playback.position_ns()),
                format_hms_ms(playback.duration_ns())
            );
            ui.label(egui::RichText::new(time).monospace().strong())
                .on_hover_text("Current time / duration");
            let frame = format!(
                "frame {} / {}",
                playback.current_frame(),
                playback.frame_count().saturating_sub(1)
            );
            ui.label(egui::RichText::new(frame).monospace())
                .on_hover_text("Frame index in presentation order");
            ui.separator();

            let mut speed = playback.speed();
            egui::ComboBox::from_id_salt("speed")
                .selected_text(format!("{speed}x"))
                .width(64.0)
                .show_ui(ui, |ui| {
                    for s in SPEEDS {
                        ui.selectable_value(&mut speed, s, format!("{s}x"));
                    }
                })
                .response
                .on_hover_text(format!(
                    "Playback speed ({} and {})",
                    Command::Slower.shortcut_text(ui.ctx()),
                    Command::Faster.shortcut_text(ui.ctx())
                ));
            if (speed - playback.speed()).abs() > 1e-9 {
                commands.push(AppCommand::SetSpeed(speed));
            }
            let mut looping = playback.is_looping();
            let loop_enabled = playback.loop_range_ns().is_some();
            let loop_response = ui
                .add_enabled(loop_enabled, egui::Checkbox::new(&mut looping, "Loop"))
                .on_hover_text(format!(
                    "Loop the selection ({}); Shift+drag on the scrub bar to select",
                    Command::Loop.shortcut_text(ui.ctx())
                ))
                .on_disabled_hover_text("Shift+drag on the scrub bar to select a range to loop");
            if loop_response.changed() {
                commands.push(AppCommand::ToggleLoop);
            }
            let mut follow = playback.follows_live();
            if ui
                .checkbox(&mut follow, "Follow live")
                .on_hover_text("Stay at the newest frame of a growing stream")
                .changed()
            {
                commands.push(AppCommand::SetFollowLive(follow));
            }
            ui.separator();

            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut self.goto_text)
                        .hint_text("Go to time")
                        .desired_width(110.0),
                )
                .on_hover_text("Type a time (1:02.5, 90s, 1m30s) and press Enter");
            if response.changed() {
                self.goto_error = None;
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                match parse_time_ns(&self.goto_text) {
                    Ok(t) => {
                        commands.push(AppCommand::Seek(t));
                        self.goto_text.clear();
                    }
                    Err(err) => self.goto_error = Some(err.to_string()),
                }
            }
            if let Some(err) = &self.goto_error {
                ui.colored_label(ui.visuals().error_fg_color, "⚠")
                    .on_hover_text(err);
            }
        });
        commands
    }
}
