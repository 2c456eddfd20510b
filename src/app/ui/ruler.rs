//! The time ruler: ticks and labels that zoom at the mouse (wheel), pan on drag and fit on
//! double-click; below it the scrub track with keyframes (drawn as per-pixel aggregates), the
//! loop selection and the playhead. Click or drag the track to scrub; Shift+drag selects a loop.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, pos2, vec2};

use crate::app::AppCommand;
use crate::timefmt::format_hms_ms;

const RULER_HEIGHT: f32 = 22.0;
const TRACK_HEIGHT: f32 = 26.0;
/// Finest zoom: a tenth of a millisecond per pixel.
const MIN_NS_PER_PX: f64 = 1e5;

/// What the ruler shows; borrowed from the player each frame.
pub struct RulerInput<'a> {
    pub duration_ns: i64,
    pub position_ns: i64,
    pub keyframes_ns: &'a [i64],
    pub loop_range_ns: Option<(i64, i64)>,
    pub playing: bool,
}

pub struct TimeRuler {
    view_start_ns: f64,
    ns_per_px: f64,
    /// Fit on the next frame (new video, double-click).
    fit_pending: bool,
    loop_drag_start_ns: Option<i64>,
    /// Width at the last frame, for [`Self::visible_ns`].
    last_width_px: f32,
}

impl Default for TimeRuler {
    fn default() -> Self {
        Self {
            view_start_ns: 0.0,
            ns_per_px: 1e7,
            fit_pending: true,
            loop_drag_start_ns: None,
            last_width_px: 1.0,
        }
    }
}

impl TimeRuler {
    pub fn fit(&mut self) {
        self.fit_pending = true;
    }

    /// The span shown at the last frame, in nanoseconds.
    #[must_use]
    pub fn visible_ns(&self) -> (f64, f64) {
        self.visible_range_ns(self.last_width_px)
    }

    /// Visible span in nanoseconds at the given width.
    #[must_use]
    pub fn visible_range_ns(&self, width_px: f32) -> (f64, f64) {
        (
            self.view_start_ns,
            self.view_start_ns + self.ns_per_px * f64::from(width_px),
        )
    }

    pub(crate) fn x_from_time(&self, rect: Rect, time_ns: f64) -> f32 {
        rect.left() + ((time_ns - self.view_start_ns) / self.ns_per_px) as f32
    }

    pub(crate) fn time_from_x(&self, rect: Rect, x: f32) -> f64 {
        self.view_start_ns + f64::from(x - rect.left()) * self.ns_per_px
    }

    fn clamp_view(&mut self, duration_ns: f64, width_px: f32) {
        let max_ns_per_px = (duration_ns.max(1e9) * 1.05) / f64::from(width_px.max(1.0));
        self.ns_per_px = self.ns_per_px.clamp(MIN_NS_PER_PX, max_ns_per_px);
        let span = self.ns_per_px * f64::from(width_px);
        let margin = span * 0.05;
        self.view_start_ns = self
            .view_start_ns
            .clamp(-margin, (duration_ns - span + margin).max(-margin));
    }

    pub fn ruler_ui(&mut self, ui: &mut egui::Ui, input: &RulerInput<'_>) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let width = ui.available_width();
        self.last_width_px = width;
        let duration = input.duration_ns as f64;
        let (ruler_rect, ruler) =
            ui.allocate_exact_size(vec2(width, RULER_HEIGHT), Sense::click_and_drag());
        let (track_rect, track) =
            ui.allocate_exact_size(vec2(width, TRACK_HEIGHT), Sense::click_and_drag());
        if self.fit_pending {
            self.ns_per_px = duration.max(1e9) / f64::from(width.max(1.0));
            self.view_start_ns = 0.0;
            self.fit_pending = false;
        }

        // Zoom at the mouse, over either band.
        let hover = ruler.hover_pos().or_else(|| track.hover_pos());
        if let Some(mouse) = hover {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
            let factor = f64::from(zoom) * (f64::from(scroll.y) * 0.004).exp();
            if (factor - 1.0).abs() > 1e-6 {
                let anchor_ns = self.time_from_x(ruler_rect, mouse.x);
                self.ns_per_px /= factor;
                self.clamp_view(duration, width);
                self.view_start_ns =
                    anchor_ns - f64::from(mouse.x - ruler_rect.left()) * self.ns_per_px;
            }
            if scroll.x.abs() > 0.0 {
                self.view_start_ns -= f64::from(scroll.x) * self.ns_per_px;
            }
        }
        if ruler.dragged() {
            self.view_start_ns -= f64::from(ruler.drag_delta().x) * self.ns_per_px;
        }
        if ruler.double_clicked() || track.double_clicked() {
            self.fit();
        } else if ruler.clicked()
            && let Some(pos) = ruler.interact_pointer_pos()
        {
            commands.push(AppCommand::Seek(
                self.time_from_x(ruler_rect, pos.x).round() as i64,
            ));
        }
        self.clamp_view(duration, width);

        // Scrub track: click or drag to seek; Shift+drag to select a loop.
        let shift = ui.input(|i| i.modifiers.shift);
        if let Some(pos) = track.interact_pointer_pos() {
            let t = self
                .time_from_x(track_rect, pos.x)
                .clamp(0.0, duration)
                .round() as i64;
            if track.drag_started() && shift {
                // The drag is recognised only after some movement; the selection starts where
                // the button went down.
                let origin_x = ui
                    .input(|i| i.pointer.press_origin())
                    .map_or(pos.x, |p| p.x);
                let start = self.time_from_x(track_rect, origin_x).clamp(0.0, duration);
                self.loop_drag_start_ns = Some(start.round() as i64);
            }
            if let Some(start) = self.loop_drag_start_ns {
                if track.dragged() || track.drag_stopped() {
                    commands.push(AppCommand::SetLoop(Some((start, t))));
                }
            } else if track.is_pointer_button_down_on() || track.clicked() {
                commands.push(AppCommand::Scrub(t));
            }
        }
        if track.drag_stopped() || track.clicked() {
            self.loop_drag_start_ns = None;
            commands.push(AppCommand::ScrubEnd);
        }

        // Keep the playhead in view while playing.
        let (start, end) = self.visible_range_ns(width);
        let pos = input.position_ns as f64;
        if input.playing && (pos < start || pos > end) && !ruler.dragged() {
            self.view_start_ns = pos - (end - start) * 0.1;
            self.clamp_view(duration, width);
        }

        if ui.is_rect_visible(ruler_rect.union(track_rect)) {
            self.paint(ui, ruler_rect, track_rect, input);
        }
        let label = format!(
            "Time ruler {} to {}",
            format_hms_ms(self.view_start_ns.max(0.0) as i64),
            format_hms_ms(self.visible_range_ns(width).1.min(duration) as i64)
        );
        ruler.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ScrollBar, true, &label));
        let track_label = format!("Scrub bar at {}", format_hms_ms(input.position_ns));
        track.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, &track_label));
        commands
    }

    fn paint(&self, ui: &egui::Ui, ruler_rect: Rect, track_rect: Rect, input: &RulerInput<'_>) {
        let visuals = ui.visuals();
        let painter = ui.painter_at(ruler_rect.union(track_rect));
        painter.rect_filled(ruler_rect, 0.0, visuals.extreme_bg_color);
        painter.rect_filled(track_rect, 0.0, visuals.faint_bg_color);
        let tick_color = visuals.weak_text_color();
        let duration = input.duration_ns as f64;

        // The video's extent.
        let video_rect = Rect::from_x_y_ranges(
            self.x_from_time(track_rect, 0.0)..=self.x_from_time(track_rect, duration),
            track_rect.y_range(),
        );
        painter.rect_filled(
            video_rect.intersect(track_rect),
            0.0,
            visuals.widgets.inactive.bg_fill,
        );

        // Ticks: the finest "nice" step that leaves room for a label.
        let step_ns = nice_step_ns(self.ns_per_px * 90.0);
        let (start, end) = (
            self.view_start_ns,
            self.visible_range_ns(ruler_rect.width()).1,
        );
        let first = (start.max(0.0) / step_ns).floor() as i64;
        let last = (end.min(duration) / step_ns).ceil() as i64;
        for k in first..=last {
            let t = k as f64 * step_ns;
            let x = self.x_from_time(ruler_rect, t);
            painter.line_segment(
                [
                    pos2(x, ruler_rect.bottom() - 8.0),
                    pos2(x, ruler_rect.bottom()),
                ],
                Stroke::new(1.0, tick_color),
            );
            // Minor ticks at fifths.
            for minor in 1..5 {
                let mx = self.x_from_time(ruler_rect, t + step_ns * f64::from(minor) / 5.0);
                painter.line_segment(
                    [
                        pos2(mx, ruler_rect.bottom() - 3.0),
                        pos2(mx, ruler_rect.bottom()),
                    ],
                    Stroke::new(1.0, tick_color.gamma_multiply(0.5)),
                );
            }
            let text = tick_label(t as i64, step_ns);
            painter.text(
                pos2(x + 3.0, ruler_rect.top() + 2.0),
                Align2::LEFT_TOP,
                text,
                FontId::monospace(10.0),
                tick_color,
            );
        }

        // Keyframes, one mark per pixel column that holds any.
        let columns = track_rect.width().max(1.0) as usize;
        let mut has_key = vec![false; columns + 1];
        let from = input.keyframes_ns.partition_point(|&k| (k as f64) < start);
        for &k in &input.keyframes_ns[from..] {
            if k as f64 > end {
                break;
            }
            let col = (self.x_from_time(track_rect, k as f64) - track_rect.left()) as usize;
            if let Some(c) = has_key.get_mut(col) {
                *c = true;
            }
        }
        let key_color = Color32::from_rgb(120, 160, 220).gamma_multiply(0.7);
        for (col, _) in has_key.iter().enumerate().filter(|(_, k)| **k) {
            let x = track_rect.left() + col as f32 + 0.5;
            painter.line_segment(
                [
                    pos2(x, track_rect.bottom() - 7.0),
                    pos2(x, track_rect.bottom()),
                ],
                Stroke::new(1.0, key_color),
            );
        }

        if let Some((a, b)) = input.loop_range_ns {
            let loop_rect = Rect::from_x_y_ranges(
                self.x_from_time(track_rect, a as f64)..=self.x_from_time(track_rect, b as f64),
                track_rect.y_range(),
            );
            painter.rect(
                loop_rect,
                2.0,
                Color32::from_rgba_unmultiplied(240, 190, 60, 40),
                Stroke::new(1.0, Color32::from_rgb(240, 190, 60)),
                StrokeKind::Inside,
            );
        }

        let x = self.x_from_time(track_rect, input.position_ns as f64);
        let playhead = Color32::from_rgb(235, 80, 70);
        painter.line_segment(
            [pos2(x, ruler_rect.top()), pos2(x, track_rect.bottom())],
            Stroke::new(2.0, playhead),
        );
        painter.add(egui::Shape::convex_polygon(
            vec![
                pos2(x - 5.0, ruler_rect.top()),
                pos2(x + 5.0, ruler_rect.top()),
                Pos2::new(x, ruler_rect.top() + 7.0),
            ],
            playhead,
            Stroke::NONE,
        ));
    }
}

/// The smallest of 1-2-5 (and 15 s / 30 s / 15 min / 30 min) steps at least `min_ns` long.
fn nice_step_ns(min_ns: f64) -> f64 {
    const STEPS_MS: [f64; 25] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 10e3,
        15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1_800e3, 3_600e3,
    ];
    STEPS_MS
        .iter()
        .map(|ms| ms * 1e6)
        .find(|&s| s >= min_ns)
        .unwrap_or_else(|| (min_ns / 3.6e12).ceil() * 3.6e12)
}

fn tick_label(time_ns: i64, step_ns: f64) -> String {
    let full = format_hms_ms(time_ns);
    let trimmed = full.strip_prefix("00:").unwrap_or(&full);
    if step_ns >= 1e9 {
        trimmed.trim_end_matches(".000").to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_steps_are_round_numbers() {
        assert!((nice_step_ns(0.9e9) - 1e9).abs() < 1.0);
        assert!((nice_step_ns(11e9) - 15e9).abs() < 1.0);
        assert!((nice_step_ns(7e12) - 7.2e12).abs() < 1.0);
        assert_eq!(tick_label(75_000_000_000, 5e9), "01:15");
        assert_eq!(tick_label(1_250_000_000, 5e8), "00:01.250");
    }

    #[test]
    fn x_and_time_are_inverse() {
        let ruler = TimeRuler {
            view_start_ns: 2e9,
            ns_per_px: 1e7,
            fit_pending: false,
            loop_drag_start_ns: None,
            last_width_px: 500.0,
        };
        let rect = Rect::from_min_size(pos2(10.0, 0.0), vec2(500.0, 20.0));
        let x = ruler.x_from_time(rect, 3e9);
        assert!((x - 110.0).abs() < 1e-3);
        assert!((ruler.time_from_x(rect, x) - 3e9).abs() < 1.0);
    }
}
