//! The picture: the current frame fitted to the space with the video's aspect ratio, and a
//! badge while a low-resolution preview stands in for the exact frame.

use egui::{Align2, Color32, FontId, Rect, Sense, pos2, vec2};

use crate::app::player::{Player, Shown};

/// Fits a `aspect` (width / height) picture centered in `outer`.
#[must_use]
pub fn fit_rect(outer: Rect, aspect: f32) -> Rect {
    let aspect = if aspect.is_finite() && aspect > 0.0 {
        aspect
    } else {
        16.0 / 9.0
    };
    let (w, h) = if outer.width() / outer.height().max(1.0) > aspect {
        (outer.height() * aspect, outer.height())
    } else {
        (outer.width(), outer.width() / aspect)
    };
    Rect::from_center_size(outer.center(), vec2(w, h))
}

pub fn video_ui(ui: &mut egui::Ui, player: &Player) {
    let (outer, response) = ui.allocate_exact_size(ui.available_size(), Sense::hover());
    let rect = fit_rect(outer, player.aspect());
    if ui.is_rect_visible(outer) {
        let painter = ui.painter_at(outer);
        painter.rect_filled(outer, 0.0, Color32::from_gray(12));
        if let Some(texture) = player.texture() {
            let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
            painter.image(texture.id(), rect, uv, Color32::WHITE);
        } else if player.decoder.is_none() {
            painter.text(
                outer.center(),
                Align2::CENTER_CENTER,
                "No video for this stream: its memory is on the timeline below",
                FontId::proportional(16.0),
                Color32::GRAY,
            );
        } else {
            painter.text(
                outer.center(),
                Align2::CENTER_CENTER,
                "decoding…",
                FontId::proportional(16.0),
                Color32::GRAY,
            );
        }
        if matches!(player.shown, Some(Shown::Preview(_))) {
            painter.text(
                rect.left_top() + vec2(8.0, 8.0),
                Align2::LEFT_TOP,
                "preview",
                FontId::proportional(12.0),
                Color32::from_rgb(240, 200, 90),
            );
        }
    }
    let label = match player.shown {
        Some(Shown::Exact(i)) => format!("Video frame {i}"),
        Some(Shown::Preview(i)) => format!("Video preview for frame {i}"),
        Some(Shown::Stale(i)) => format!("Video frame {i} (waiting for the next)"),
        None if player.decoder.is_none() => "No video for this stream".to_owned(),
        None => "Video (decoding)".to_owned(),
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_space_letterboxes_at_the_sides() {
        let outer = Rect::from_min_size(pos2(0.0, 0.0), vec2(1000.0, 300.0));
        let r = fit_rect(outer, 16.0 / 9.0);
        assert!((r.height() - 300.0).abs() < 1e-3);
        assert!((r.width() - 533.333).abs() < 1e-2);
        assert!((r.center().x - 500.0).abs() < 1e-3);
    }
}
