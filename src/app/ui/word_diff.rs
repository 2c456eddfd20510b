//! The word-diff label, written once: a description with the words another one lacks on a
//! highlight. The inspector compares lanes with it, and the Phase Two window an adapter's
//! description with the policy's own; both mark the same words (`studio::text`).

use egui::{Color32, FontId, Ui};

use crate::studio::text::marked_words;

/// The inspector's highlight: the words a lane has and the compared one lacks.
#[must_use]
pub fn lane_diff_mark() -> Color32 {
    Color32::from_rgba_unmultiplied(240, 190, 60, 70)
}

/// `text` as a wrapped label, the words `other` lacks on `mark` and in strong ink.
pub fn word_diff_label(ui: &mut Ui, text: &str, other: &str, mark: Color32) -> egui::Response {
    let mut job = egui::text::LayoutJob::default();
    let plain = egui::TextFormat {
        font_id: FontId::proportional(13.0),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    for (piece, marked) in marked_words(text, other) {
        let mut format = plain.clone();
        if marked && !other.is_empty() {
            format.background = mark;
            format.color = ui.visuals().strong_text_color();
        }
        job.append(&piece, 0.0, format);
    }
    job.wrap.max_width = ui.available_width();
    ui.label(job)
}
