//! Short messages in the corner: errors stay until dismissed or for a while, info fades sooner.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    /// Something worth knowing that did not stop anything (task validation, a changed video).
    Warning,
    Error,
}

#[derive(Clone, Debug)]
pub struct Toast {
    pub kind: ToastKind,
    pub text: String,
    /// `ui.input(|i| i.time)` when it appeared; set on first show.
    shown_at: Option<f64>,
}

#[derive(Default)]
pub struct Toasts {
    toasts: Vec<Toast>,
}

impl Toasts {
    pub fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::warn!("{text}");
        self.push(ToastKind::Error, text);
    }

    pub fn warning(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::info!("{text}");
        self.push(ToastKind::Warning, text);
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.push(ToastKind::Info, text.into());
    }

    fn push(&mut self, kind: ToastKind, text: String) {
        // The same message twice in a row (a decode error per frame, say) is shown once.
        if self.toasts.last().is_some_and(|t| t.text == text) {
            return;
        }
        self.toasts.push(Toast {
            kind,
            text,
            shown_at: None,
        });
        if self.toasts.len() > 5 {
            self.toasts.remove(0);
        }
    }

    /// Forgets every message.
    pub fn clear(&mut self) {
        self.toasts.clear();
    }

    #[must_use]
    pub fn messages(&self) -> Vec<&str> {
        self.toasts.iter().map(|t| t.text.as_str()).collect()
    }

    fn lifetime(kind: ToastKind) -> f64 {
        match kind {
            ToastKind::Info => 4.0,
            ToastKind::Warning => 8.0,
            ToastKind::Error => 12.0,
        }
    }

    pub fn show(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        for toast in &mut self.toasts {
            toast.shown_at.get_or_insert(now);
        }
        self.toasts
            .retain(|t| now - t.shown_at.unwrap_or(now) < Self::lifetime(t.kind));
        if self.toasts.is_empty() {
            return;
        }
        let mut dismiss = None;
        egui::Area::new(egui::Id::unique("toasts"))
            .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-12.0, 36.0))
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                ui.set_max_width(440.0);
                for (i, toast) in self.toasts.iter().enumerate() {
                    let (fill, icon) = match toast.kind {
                        ToastKind::Error => (egui::Color32::from_rgb(110, 32, 32), "⚠"),
                        ToastKind::Warning => (egui::Color32::from_rgb(112, 82, 18), "⚠"),
                        ToastKind::Info => (egui::Color32::from_rgb(36, 52, 78), "ℹ"),
                    };
                    egui::Frame::popup(ui.style())
                        .fill(fill)
                        .inner_margin(8)
                        .show(ui, |ui| {
                            ui.horizontal(|ui| {
                                ui.label(egui::RichText::new(icon).color(egui::Color32::WHITE));
                                ui.label(
                                    egui::RichText::new(&toast.text).color(egui::Color32::WHITE),
                                );
                                if ui.small_button("✖").on_hover_text("Dismiss").clicked() {
                                    dismiss = Some(i);
                                }
                            });
                        });
                }
            });
        if let Some(i) = dismiss {
            self.toasts.remove(i);
        }
        let next_expiry = self
            .toasts
            .iter()
            .map(|t| Self::lifetime(t.kind) - (now - t.shown_at.unwrap_or(now)))
            .fold(f64::INFINITY, f64::min);
        if next_expiry.is_finite() {
            ctx.request_repaint_after(Duration::from_secs_f64(next_expiry.max(0.05)));
        }
    }
}
