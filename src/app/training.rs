//! The Training window: runs Phase One (warm-up, then GRPO) on a `train` thread with a
//! progress bar, live loss and reward curves, the held-out report side by side, and cancel.
//! The run itself is `policy::phase1`, the same as `taskmem train phase1`.

use std::path::PathBuf;

use egui::{Color32, Sense, Stroke, pos2, vec2};

use crate::app::AppCommand;
use crate::policy::phase1::{ModelSize, Phase1Event, Phase1Settings, Phase1Summary};
use crate::policy::report::Quality;
use crate::studio::jobs::{Job, Jobs, Outcome, Reporter, SpawnError};

/// The `train` thread: Phase One's events, then its summary; and where it writes.
struct TrainingJob {
    job: Job<Phase1Event, Box<Phase1Summary>, String>,
    out: PathBuf,
}

/// Passes a run's event on, keeping the job's progress line (in the registry) current.
fn report(r: &mut Reporter<Phase1Event>, event: Phase1Event) -> std::ops::ControlFlow<()> {
    match &event {
        Phase1Event::Stage(text) => r.progress(0, 0, text.clone()),
        Phase1Event::WarmupStep { step, steps, .. } => r.progress(*step, *steps, "warm-up"),
        Phase1Event::GrpoStep { step, steps, .. } => r.progress(*step, *steps, "Phase One"),
        Phase1Event::Judged { .. } => {}
    }
    r.emit(event)
}

/// The window's state: the settings being edited, and the run's progress and results.
pub struct TrainingPanel {
    pub open: bool,
    suite: String,
    out: String,
    warmup_steps: usize,
    steps: usize,
    extra_streams: usize,
    tiny: bool,
    seed: u64,
    job: Option<TrainingJob>,
    stage: String,
    /// (step, loss) of the warm-up; (step, mean reward) of Phase One.
    warmup_curve: Vec<(usize, f32)>,
    reward_curve: Vec<(usize, f32)>,
    warmup_steps_total: usize,
    grpo_steps_total: usize,
    judged: Vec<(String, Quality)>,
    /// The folder of the last run that finished.
    finished: Option<PathBuf>,
    error: Option<String>,
}

impl Default for TrainingPanel {
    fn default() -> Self {
        Self {
            open: false,
            suite: "datasets/world-mme".to_owned(),
            out: std::env::temp_dir()
                .join("taskmem-phase1")
                .display()
                .to_string(),
            warmup_steps: 700,
            steps: 180,
            extra_streams: 64,
            tiny: false,
            seed: 1,
            job: None,
            stage: String::new(),
            warmup_curve: Vec::new(),
            reward_curve: Vec::new(),
            warmup_steps_total: 0,
            grpo_steps_total: 0,
            judged: Vec::new(),
            finished: None,
            error: None,
        }
    }
}

impl TrainingPanel {
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The settings a run would start with.
    #[must_use]
    pub fn settings(&self) -> Phase1Settings {
        Phase1Settings {
            // A relative default (datasets/world-mme) is the app's own, wherever it started.
            suite: crate::eval::replay::suite_folder(std::path::Path::new(self.suite.trim())),
            out: PathBuf::from(&self.out),
            seed: self.seed,
            warmup_steps: self.warmup_steps,
            steps: self.steps,
            extra_streams: self.extra_streams,
            size: if self.tiny {
                ModelSize::Tiny
            } else {
                ModelSize::Small
            },
            perception: None,
            budget_tokens: crate::eval::budget::DEFAULT_BUDGET_TOKENS,
            from: None,
            richness: crate::policy::phase1::Richness::Uniform,
        }
    }

    /// Sets what the form shows (tests, and a person's last choice).
    pub fn configure(&mut self, settings: &Phase1Settings) {
        self.suite = settings.suite.display().to_string();
        self.out = settings.out.display().to_string();
        self.seed = settings.seed;
        self.warmup_steps = settings.warmup_steps;
        self.steps = settings.steps;
        self.extra_streams = settings.extra_streams;
        self.tiny = settings.size == ModelSize::Tiny;
    }

    /// Starts a run on a `train` job.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(&mut self, jobs: &Jobs) -> Result<(), SpawnError> {
        let settings = self.settings();
        let job = jobs.spawn("train", move |r| {
            crate::policy::phase1::run(&settings, &mut |event| report(r, event))
                .map(Box::new)
                .map_err(|e| e.to_string())
        })?;
        self.job = Some(TrainingJob {
            job,
            out: PathBuf::from(&self.out),
        });
        "starting".clone_into(&mut self.stage);
        self.warmup_curve.clear();
        self.reward_curve.clear();
        self.judged.clear();
        self.finished = None;
        self.error = None;
        Ok(())
    }

    /// Asks the run to stop at its next step.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.job.cancel();
        }
    }

    /// Takes the thread's messages; returns an error message when the run failed.
    pub fn poll(&mut self) -> Option<String> {
        let (events, done) = self.job.as_ref()?.job.poll();
        for event in events {
            match event {
                Phase1Event::Stage(text) => self.stage = text,
                Phase1Event::WarmupStep { step, steps, loss } => {
                    self.warmup_steps_total = steps;
                    self.warmup_curve.push((step, loss));
                }
                Phase1Event::GrpoStep {
                    step,
                    steps,
                    mean_reward,
                    ..
                } => {
                    self.grpo_steps_total = steps;
                    self.reward_curve.push((step, mean_reward as f32));
                }
                Phase1Event::Judged { model, quality } => {
                    self.judged.push((model, quality));
                }
            }
        }
        let outcome = done?;
        let out = self.job.take().map(|j| j.out);
        match outcome {
            Outcome::Done(_) => {
                "finished".clone_into(&mut self.stage);
                self.finished = out;
                None
            }
            Outcome::Cancelled => {
                "stopped".clone_into(&mut self.stage);
                None
            }
            Outcome::Failed(message) => {
                self.stage.clone_from(&message);
                self.error = Some(message.clone());
                Some(message)
            }
        }
    }

    /// Progress over both phases, in [0, 1].
    #[must_use]
    pub fn fraction(&self) -> f32 {
        let total = (self.warmup_steps_total + self.grpo_steps_total).max(1);
        let done = self.warmup_curve.last().map_or(0, |p| p.0)
            + self.reward_curve.last().map_or(0, |p| p.0);
        done as f32 / total as f32
    }

    pub fn window_ui(&mut self, ctx: &egui::Context) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let mut open = self.open;
        egui::Window::new("Train the built-in policy")
            .open(&mut open)
            .default_width(560.0)
            .show(ctx, |ui| self.contents_ui(ui, &mut commands));
        self.open = open;
        commands
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<AppCommand>) {
        let running = self.is_running();
        ui.add_enabled_ui(!running, |ui| {
            egui::Grid::new("train-settings")
                .num_columns(2)
                .show(ui, |ui| {
                    ui.label("Suite folder");
                    ui.add(egui::TextEdit::singleline(&mut self.suite).desired_width(320.0))
                        .on_hover_text("Folder (with suite.json) whose streams train the model");
                    ui.end_row();
                    ui.label("Output folder");
                    ui.add(egui::TextEdit::singleline(&mut self.out).desired_width(320.0))
                        .on_hover_text("Where the weights, config, log and summary are written");
                    ui.end_row();
                    ui.label("Warm-up steps");
                    ui.add(egui::DragValue::new(&mut self.warmup_steps).range(1..=100_000))
                        .on_hover_text("Steps of the supervised warm-up before Phase One");
                    ui.end_row();
                    ui.label("Phase One steps");
                    ui.add(egui::DragValue::new(&mut self.steps).range(1..=100_000))
                        .on_hover_text("Steps of Phase One GRPO, starting from the warm-up model");
                    ui.end_row();
                    ui.label("Simulated streams");
                    ui.add(egui::DragValue::new(&mut self.extra_streams).range(0..=1_000))
                        .on_hover_text("Simulated training streams added beside the suite's own");
                    ui.end_row();
                    ui.label("Seed");
                    ui.add(egui::DragValue::new(&mut self.seed))
                        .on_hover_text("Seed of the run: the same seed gives the same model");
                    ui.end_row();
                    ui.label("Size");
                    ui.checkbox(&mut self.tiny, "tiny (a quick look)")
                        .on_hover_text("A tiny model, not the shipped size: fast but weaker");
                    ui.end_row();
                });
        });
        ui.horizontal(|ui| {
            if running {
                if ui
                    .button("Cancel training")
                    .on_hover_text("Stop the run; nothing more is written to the output folder")
                    .clicked()
                {
                    self.cancel();
                }
            } else if ui
                .button("Start training")
                .on_hover_text("Run the warm-up, then Phase One, with these settings")
                .clicked()
            {
                commands.push(AppCommand::StartTraining);
            }
            ui.label(&self.stage);
        });
        if running || !self.warmup_curve.is_empty() {
            ui.add(
                egui::ProgressBar::new(self.fraction())
                    .show_percentage()
                    .desired_width(540.0),
            );
        }
        ui.horizontal(|ui| {
            curve_ui(
                ui,
                "Warm-up loss",
                &self.warmup_curve,
                self.warmup_steps_total,
                Color32::from_rgb(110, 170, 255),
            );
            curve_ui(
                ui,
                "Phase One reward",
                &self.reward_curve,
                self.grpo_steps_total,
                Color32::from_rgb(255, 170, 90),
            );
        });
        if !self.judged.is_empty() {
            ui.separator();
            ui.strong("Held-out test streams");
            egui::Grid::new("train-report")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for head in [
                        "model",
                        "precision",
                        "true facts / description",
                        "repetition",
                        "format failures",
                    ] {
                        ui.strong(head);
                    }
                    ui.end_row();
                    for (model, q) in &self.judged {
                        ui.label(model);
                        ui.label(format!("{:.1}%", q.precision * 100.0));
                        ui.label(format!("{:.2}", q.true_facts_per_description));
                        ui.label(format!("{:.1}%", q.repetition_rate * 100.0));
                        ui.label(q.format_failures.to_string());
                        ui.end_row();
                    }
                });
        }
        if let Some(dir) = &self.finished {
            ui.horizontal(|ui| {
                ui.label(format!("Saved in {}", dir.display()));
                if ui
                    .button("Memorize with this model")
                    .on_hover_text("Write memory with the model this run trained from now on")
                    .clicked()
                {
                    commands.push(AppCommand::UsePolicyModel(Some(dir.clone())));
                }
            });
        }
    }
}

/// A small line chart of `points` over `0..=steps`, drawn only when visible.
pub(crate) fn curve_ui(
    ui: &mut egui::Ui,
    title: &str,
    points: &[(usize, f32)],
    steps: usize,
    color: Color32,
) {
    let (rect, response) = ui.allocate_exact_size(vec2(265.0, 120.0), Sense::hover());
    let last = points.last().map(|p| p.1);
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            match last {
                Some(v) => format!("{title} curve ({} points, last {v:.3})", points.len()),
                None => format!("{title} curve (no points yet)"),
            },
        )
    });
    if !ui.is_rect_visible(rect) {
        return;
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let text = ui.visuals().text_color();
    painter.text(
        rect.left_top() + vec2(6.0, 4.0),
        egui::Align2::LEFT_TOP,
        match last {
            Some(v) => format!("{title}: {v:.3}"),
            None => title.to_owned(),
        },
        egui::FontId::proportional(12.0),
        text,
    );
    if points.len() < 2 {
        return;
    }
    let (lo, hi) = points
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let span = (hi - lo).max(1e-6);
    let plot = rect.shrink2(vec2(6.0, 8.0)).with_min_y(rect.top() + 22.0);
    let x_from_step = |step: usize| {
        plot.left() + plot.width() * step as f32 / steps.max(points.len()).max(1) as f32
    };
    let y_from_value = |v: f32| plot.bottom() - plot.height() * (v - lo) / span;
    // At most one vertex per pixel column: long runs stay cheap to draw.
    let mut line = Vec::with_capacity(plot.width() as usize + 1);
    let mut last_x = f32::NEG_INFINITY;
    for &(step, value) in points {
        let x = x_from_step(step);
        if x - last_x >= 1.0 {
            line.push(pos2(x, y_from_value(value)));
            last_x = x;
        }
    }
    painter.add(egui::Shape::line(line, Stroke::new(1.5, color)));
    // The range on the title row, clear of the curve.
    painter.text(
        rect.right_top() + vec2(-6.0, 5.0),
        egui::Align2::RIGHT_TOP,
        format!("{lo:.2} – {hi:.2}"),
        egui::FontId::proportional(10.0),
        ui.visuals().weak_text_color(),
    );
}
