//! Job rows, written once: a window's progress bar and a remote model's cost line, and the
//! status bar's list of running background jobs: each with its progress (a bar where the
//! job measures it, a spinner where it cannot) and a button that cancels it. One row for every
//! job of the registry, so a long import or a tuning run started from a closed window is
//! still in sight and can be stopped.

use egui::{ProgressBar, Ui};

use crate::app::AppCommand;
use crate::studio::jobs::JobStatus;

/// Width of one job's progress bar.
const BAR_WIDTH_PX: f32 = 72.0;

/// What a person calls each job.
fn title(name: &str) -> &str {
    match name {
        "video-open" => "Opening",
        "video-reload" => "Reading new frames",
        "video-verify" => "Checking the video",
        "task-import" => "Importing tasks",
        "memory-import" => "Importing memory",
        "project-create" => "Making the project",
        "train" => "Training",
        "eval" => "Evaluating",
        "phase2" => "Phase Two",
        other => other,
    }
}

/// A window's own progress bar for its run: `done` of `total` steps (empty until measured).
pub fn progress_row(ui: &mut Ui, (done, total): (usize, usize)) {
    let fraction = if total == 0 {
        0.0
    } else {
        done.min(total) as f32 / total as f32
    };
    ui.add(ProgressBar::new(fraction).show_percentage());
}

/// The cost line of a remote model at work: requests, tokens and what they cost.
pub fn cost_line(
    ui: &mut Ui,
    role: &str,
    counters: &crate::remote::Counters,
    prices: crate::remote::Prices,
) {
    ui.weak(format!("{role}: {}", counters.summary(prices)))
        .on_hover_text("Cost = these token counts times the endpoint's prices");
}

/// Draws the running jobs in a row; returns the cancels asked for.
pub fn jobs_ui(ui: &mut Ui, jobs: &[JobStatus]) -> Vec<AppCommand> {
    let mut commands = Vec::new();
    for job in jobs {
        let line = if job.progress.text.is_empty() {
            title(&job.name).to_owned()
        } else {
            format!("{}: {}", title(&job.name), job.progress.text)
        };
        match job.progress.fraction() {
            Some(fraction) => {
                ui.add(
                    ProgressBar::new(fraction)
                        .desired_width(BAR_WIDTH_PX)
                        .show_percentage(),
                );
            }
            None => {
                ui.spinner();
            }
        }
        ui.add(egui::Label::new(line).truncate());
        let cancel = ui
            .add_enabled(!job.cancelling, egui::Button::new("Stop").small())
            .on_hover_text(format!(
                "Stop {}: it ends at its next step",
                title(&job.name).to_lowercase()
            ))
            .on_disabled_hover_text("Stopping at its next step");
        if cancel.clicked() {
            commands.push(AppCommand::CancelJob(job.id));
        }
        ui.separator();
    }
    commands
}
