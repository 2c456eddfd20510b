//! The Evaluation window: answers tasks from memory alone at their ask times (this project's
//! lanes, or a suite memorized with the built-in policy, its adapters and the reference lane)
//! on an `eval` thread with progress and cancel; then charts accuracy per task type and lane
//! with 95% intervals (`egui_plot`), accuracy against tasks seen, and a table beside them. The
//! run and the files it writes are `eval::replay` and `eval::results`, as for `taskmem eval`.

use std::path::PathBuf;

use egui::Color32;
use egui_plot::{Bar, BarChart, GridMark, Legend, Line, Plot, PlotPoint, PlotPoints, Points, Text};

use crate::app::AppCommand;
use crate::eval::answer::BuiltinAnswerer;
use crate::eval::chart::{BarMark, ChartData, GENERAL_COLOR, NO_QUESTIONS, Rgb, ZERO_MARK_PERCENT};
use crate::eval::metrics::{Metrics, Summary, interval_text};
use crate::eval::replay::{EvalEvent, SuiteSettings, run_project, run_suite};
use crate::studio::jobs::{Job, Jobs, Outcome};

/// Room kept between the Evaluate window and the app's edges.
const WINDOW_MARGIN_PX: f32 = 16.0;

/// Progress of the `eval` thread: clips done, of total, and what it is doing.
type Progress = (usize, usize, String);
type EvalJob = Job<Progress, (Box<Summary>, PathBuf), String>;

/// Where the questions and the memory come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalSource {
    /// The open project's tasks, answered from the lanes it holds.
    Project,
    /// A suite's streams, memorized now.
    Suite,
}

/// What a run needs from the app: the open project and the policy settings.
#[derive(Clone, Debug, Default)]
pub struct EvalContext {
    pub project_dir: Option<PathBuf>,
    pub model_dir: Option<PathBuf>,
    pub budget_tokens: Option<usize>,
}

/// The window's state: the form, the run's progress and the results shown.
pub struct EvaluationPanel {
    pub open: bool,
    pub source: EvalSource,
    pub suite: String,
    pub split: String,
    /// Adapter files, one per line.
    pub adapters: String,
    pub reference: bool,
    /// Where results go (empty: the project's `eval/` folder, or a temp folder).
    pub out: String,
    /// A results folder to open.
    pub load: String,
    /// Answer with an LLM behind an OpenAI-compatible endpoint instead of the built-in
    /// answerer.
    pub remote: bool,
    /// The endpoint and model that answer, with `remote`.
    pub endpoint: super::endpoint::EndpointForm,
    /// The remote answerer's requests and tokens, while and after it runs.
    counters: Option<std::sync::Arc<crate::remote::Counters>>,
    /// Stops the remote answerer's request on the wire when the run is cancelled.
    client_cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    job: Option<EvalJob>,
    progress: (usize, usize),
    status: String,
    shown: Option<(Summary, ChartData, PathBuf)>,
    /// Two runs side by side.
    pub compare: super::compare_view::CompareRuns,
}

impl Default for EvaluationPanel {
    fn default() -> Self {
        Self {
            open: false,
            source: EvalSource::Suite,
            suite: "datasets/world-mme".to_owned(),
            split: "test".to_owned(),
            adapters: String::new(),
            reference: true,
            out: String::new(),
            load: String::new(),
            remote: false,
            endpoint: super::endpoint::EndpointForm::default(),
            counters: None,
            client_cancel: None,
            job: None,
            progress: (0, 0),
            status: String::new(),
            shown: None,
            compare: super::compare_view::CompareRuns::default(),
        }
    }
}

impl EvaluationPanel {
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The line beside the Run button: progress, where results went, or why a run ended.
    #[must_use]
    pub fn status(&self) -> &str {
        &self.status
    }

    /// The summary on show, if any.
    #[must_use]
    pub fn summary(&self) -> Option<&Summary> {
        self.shown.as_ref().map(|(s, _, _)| s)
    }

    fn out_dir(&self, project_dir: Option<&PathBuf>) -> PathBuf {
        if !self.out.trim().is_empty() {
            return PathBuf::from(self.out.trim());
        }
        let stamp = crate::tasks::now_unix_ms();
        match (self.source, project_dir) {
            (EvalSource::Project, Some(dir)) => dir.join("eval").join(format!("run-{stamp}")),
            _ => std::env::temp_dir()
                .join("taskmem-eval")
                .join(format!("run-{stamp}")),
        }
    }

    /// Starts a run on an `eval` thread.
    ///
    /// # Errors
    /// A project run without a project, or a thread that cannot start.
    pub fn start(&mut self, jobs: &Jobs, context: &EvalContext) -> Result<(), String> {
        let out = self.out_dir(context.project_dir.as_ref());
        let project = match self.source {
            EvalSource::Project => Some(
                context
                    .project_dir
                    .clone()
                    .ok_or("open a project first: its tasks and lanes are what is evaluated")?,
            ),
            EvalSource::Suite => None,
        };
        let settings = SuiteSettings {
            suite: PathBuf::from(self.suite.trim()),
            split: self.split.trim().to_owned(),
            model_dir: context.model_dir.clone(),
            adapters: self
                .adapters
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(PathBuf::from)
                .collect(),
            budget_tokens: context.budget_tokens,
            clip_ms: 10_000,
            reference: self.reference,
        };
        let answerer: Box<dyn crate::eval::answer::Answerer> = if self.remote {
            let made = self.endpoint.client("answers")?;
            self.counters = Some(made.counters);
            self.client_cancel = Some(made.cancel);
            Box::new(crate::remote::answerer::RemoteAnswerer {
                client: made.client,
            })
        } else {
            self.counters = None;
            self.client_cancel = None;
            Box::new(BuiltinAnswerer)
        };
        let job = jobs
            .spawn("eval", move |r| {
                let emit = &mut |(done, total, text): Progress| {
                    r.progress(done, total, text.clone());
                    r.emit((done, total, text))
                };
                let answerer = answerer.as_ref();
                let stopped = |flow: std::ops::ControlFlow<()>| {
                    if flow.is_break() {
                        Err("stopped".to_owned())
                    } else {
                        Ok(())
                    }
                };
                let run = match project {
                    Some(dir) => stopped(emit((
                        0,
                        1,
                        "answering from the project's lanes".to_owned(),
                    )))
                    .and_then(|()| crate::project::Project::open(&dir).map_err(|e| e.to_string()))
                    .and_then(|p| run_project(&p, None, answerer).map_err(|e| e.to_string())),
                    None => run_suite(&settings, answerer, &mut |event| {
                        emit(match event {
                            EvalEvent::Memorized {
                                stream,
                                done,
                                total,
                            } => (done, total, format!("memorizing {stream}")),
                            EvalEvent::Answering { questions } => {
                                (1, 1, format!("answering {questions} questions"))
                            }
                            EvalEvent::Preparing(event) => {
                                let (done, total) = event.fraction();
                                (done, total, event.describe())
                            }
                        })
                    })
                    .map_err(|e| e.to_string()),
                };
                run.and_then(|run| {
                    // A Cancel after the last question still writes nothing.
                    stopped(emit((1, 1, "writing results".to_owned())))?;
                    crate::eval::results::write(&out, &run.rows, &run.summary)
                        .map_err(|e| e.to_string())?;
                    Ok((Box::new(run.summary), out))
                })
            })
            .map_err(|e| e.to_string())?;
        let client_cancel = self.client_cancel.clone();
        job.on_cancel(move || super::endpoint::cancel_client(client_cancel.as_ref()));
        self.job = Some(job);
        self.progress = (0, 0);
        "starting".clone_into(&mut self.status);
        Ok(())
    }

    /// Asks the run to stop after the clip in hand; a remote answerer's request on the wire
    /// is dropped at once.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Takes the thread's messages; returns an error message when the run failed.
    pub fn poll(&mut self) -> Option<String> {
        let job = self.job.as_ref()?;
        let (events, done) = job.poll();
        if let Some((done, total, text)) = events.into_iter().last() {
            self.progress = (done, total);
            self.status = text;
        }
        let outcome = done?;
        self.job = None;
        match outcome {
            Outcome::Done((summary, dir)) => {
                self.status = format!("Saved in {}", dir.display());
                self.show(*summary, dir);
                None
            }
            Outcome::Cancelled => {
                "stopped".clone_into(&mut self.status);
                None
            }
            Outcome::Failed(message) => {
                self.status.clone_from(&message);
                Some(message)
            }
        }
    }

    fn show(&mut self, summary: Summary, dir: PathBuf) {
        let data = ChartData::of(&summary);
        self.shown = Some((summary, data, dir));
    }

    /// Shows a results folder written earlier.
    ///
    /// # Errors
    /// When it holds no readable summary (the message names the file).
    pub fn load_results(&mut self, dir: PathBuf) -> Result<(), String> {
        let summary = crate::eval::results::read_summary(&dir).map_err(|e| e.to_string())?;
        self.status = format!("Showing {}", dir.display());
        self.show(summary, dir);
        Ok(())
    }

    /// The Evaluate window's id: where egui keeps its rect.
    #[must_use]
    pub fn window_id() -> egui::Id {
        egui::Id::unique("evaluate-window")
    }

    /// `budget_tokens`: the Policy menu's budget, shown with the suite form (a suite is
    /// memorized under it).
    /// `bounds`: where the window may go (the screen less the presentation caption).
    pub fn window_ui(
        &mut self,
        ctx: &egui::Context,
        bounds: egui::Rect,
        has_project: bool,
        budget_tokens: usize,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let mut open = self.open;
        // Never taller or wider than the app's window (its 800 px default included): what
        // does not fit scrolls, down to the last chart.
        let screen = bounds;
        let max = egui::vec2(
            (screen.width() - 2.0 * WINDOW_MARGIN_PX).max(320.0),
            (screen.height() - 2.0 * WINDOW_MARGIN_PX).max(240.0),
        );
        egui::Window::new("Evaluate")
            .id(Self::window_id())
            .open(&mut open)
            .default_width(980.0_f32.min(max.x))
            .default_height(640.0_f32.min(max.y))
            .max_size(max)
            .constrain_to(bounds)
            .vscroll(true)
            .show(ctx, |ui| {
                self.contents_ui(ui, has_project, budget_tokens, &mut commands);
            });
        self.open = open;
        commands
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        has_project: bool,
        budget_tokens: usize,
        commands: &mut Vec<AppCommand>,
    ) {
        let running = self.is_running();
        ui.add_enabled_ui(!running, |ui| {
            self.form_ui(ui, has_project, budget_tokens, commands);
        });
        ui.horizontal(|ui| {
            if running {
                if ui
                    .button("Cancel evaluation")
                    .on_hover_text("Stops after the clip being memorized (a request to the endpoint is dropped at once); nothing is written")
                    .clicked()
                {
                    self.cancel();
                }
            } else if ui
                .button("Run evaluation")
                .on_hover_text(
                    "Answers every task at its ask time from the memory written before it; \
                     results, summary and charts are saved in the output folder",
                )
                .clicked()
            {
                commands.push(AppCommand::StartEvaluation);
            }
            ui.label(&self.status);
        });
        if let Some(counters) = &self.counters {
            crate::app::ui::jobs::cost_line(ui, "Remote answerer", counters, self.endpoint.prices);
        }
        if running {
            crate::app::ui::jobs::progress_row(ui, self.progress);
        }
        egui::CollapsingHeader::new("Compare runs")
            .id_salt("compare runs")
            .show(ui, |ui| self.compare.ui(ui, commands));
        ui.separator();
        match &self.shown {
            Some((summary, data, _)) => results_ui(ui, summary, data),
            None => {
                ui.weak(
                    "No results yet. Run an evaluation, or load a results folder written by \
                     `taskmem eval`.",
                );
            }
        }
    }

    fn form_ui(
        &mut self,
        ui: &mut egui::Ui,
        has_project: bool,
        budget_tokens: usize,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            ui.label("Questions and memory:");
            ui.add_enabled_ui(has_project, |ui| {
                ui.radio_value(
                    &mut self.source,
                    EvalSource::Project,
                    "this project's lanes",
                )
                .on_hover_text("The project's tasks, answered from every lane it holds")
                .on_disabled_hover_text("Open a project to evaluate its lanes");
            });
            ui.radio_value(
                &mut self.source,
                EvalSource::Suite,
                "a suite, memorized now",
            )
            .on_hover_text(
                "Each stream of the split is memorized by the built-in policy (General lane) \
                     and by each adapter, then its questions are answered",
            );
        });
        if self.source == EvalSource::Suite {
            egui::Grid::new("eval-suite").num_columns(2).show(ui, |ui| {
                ui.label("Suite folder");
                ui.add(egui::TextEdit::singleline(&mut self.suite).desired_width(360.0))
                    .on_hover_text(
                        "A folder with suite.json, or a shipped suite's name (world-mme); \
                         datasets/... is found in the app's own data, whatever the current \
                         folder",
                    );
                ui.end_row();
                ui.label("Split");
                ui.add(egui::TextEdit::singleline(&mut self.split).desired_width(80.0))
                    .on_hover_text(
                        "test: streams never trained on, for reported figures; validation: for \
                         choosing settings; train: what adapters are tuned on",
                    );
                ui.end_row();
                ui.label("Adapters");
                ui.add(
                    egui::TextEdit::multiline(&mut self.adapters)
                        .desired_rows(2)
                        .desired_width(360.0)
                        .hint_text("one .safetensors path per line"),
                )
                .on_hover_text("Each adapter gets its own lane, answered beside the General one");
                ui.end_row();
                ui.label("Token budget");
                ui.label(format!("{budget_tokens} tokens per clip"))
                    .on_hover_text("Every lane is memorized under the Policy menu's budget; the results name it");
                ui.end_row();
                ui.label("Reference lane");
                ui.checkbox(
                    &mut self.reference,
                    "also answer from the world's reference descriptions",
                )
                .on_hover_text(
                    "Read from the ground truth, not written by a policy: an upper bound for a \
                         policy that imitates the references",
                );
                ui.end_row();
            });
        }
        ui.horizontal(|ui| {
            ui.label("Answerer:");
            ui.radio_value(&mut self.remote, false, "built-in")
                .on_hover_text("Reads the world's language; deterministic; E when the memory does not single out one option");
            ui.radio_value(&mut self.remote, true, "an LLM (OpenAI-compatible endpoint)")
                .on_hover_text("vLLM, SGLang or OpenAI; the letter is read by lmms-eval's rule");
        });
        if self.remote {
            self.endpoint.grid_ui(ui, "eval-remote");
        }
        ui.horizontal(|ui| {
            ui.label("Output folder");
            ui.add(
                egui::TextEdit::singleline(&mut self.out)
                    .desired_width(360.0)
                    .hint_text("default: the project's eval/ folder, or a temp folder"),
            )
            .on_hover_text("results.parquet, results.csv, summary.json, chart.png and chart.svg");
        });
        ui.horizontal(|ui| {
            ui.label("Results folder");
            ui.add(
                egui::TextEdit::singleline(&mut self.load)
                    .desired_width(360.0)
                    .hint_text("a folder written by taskmem eval"),
            );
            if ui
                .button("Load results")
                .on_hover_text("Shows the charts and table of an earlier evaluation")
                .clicked()
            {
                commands.push(AppCommand::LoadEvaluation(PathBuf::from(self.load.trim())));
            }
        });
    }
}

/// A color of `colors` (one per lane or line, see `eval::chart::lane_colors`).
fn color(colors: &[Rgb], index: usize) -> Color32 {
    let (r, g, b) = colors.get(index).copied().unwrap_or(GENERAL_COLOR);
    Color32::from_rgb(r, g, b)
}

fn percent_with_interval(m: &Metrics) -> String {
    format!("{:.1} {}", m.acc * 100.0, interval_text(m.acc_interval()))
}

fn results_ui(ui: &mut egui::Ui, summary: &Summary, data: &ChartData) {
    ui.label(format!(
        "{} ({}): {} questions, answered by {}, memory by {}, {:.1} s",
        summary.source,
        summary.split,
        summary.questions,
        summary.answerer,
        summary.policy,
        summary.seconds
    ));
    // Why the figures below are empty or near-empty, before anyone reads them as a verdict.
    for note in &summary.notes {
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!("ℹ {note}")).color(ui.visuals().warn_fg_color),
            )
            .wrap(),
        );
    }
    for warning in crate::eval::metrics::not_held_out(summary) {
        ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {warning}"));
    }
    ui.columns(2, |columns| {
        columns[0].strong("Accuracy by task type (%, 95% interval)");
        bars_ui(&mut columns[0], data);
        if !data.lines.is_empty() {
            columns[0].strong("Accuracy against tasks seen");
            lines_ui(&mut columns[0], data);
        }
        table_ui(&mut columns[1], summary, &data.colors);
    });
}

/// Horizontal grouped bars: row 0 ("All") on top, one bar per lane, whiskers for the interval.
fn bars_ui(ui: &mut egui::Ui, data: &ChartData) {
    let lanes = data.lanes.len().max(1);
    let width = 0.8 / lanes as f64;
    let names: Vec<String> = data.categories.iter().map(|(n, _)| n.clone()).collect();
    let rows = names.len();
    let row_of = move |y: f64| -> Option<usize> {
        let r = (-y).round();
        ((r - (-y)).abs() < 1e-6 && r >= 0.0 && (r as usize) < rows).then_some(r as usize)
    };
    let label_names = names.clone();
    let whisker = ui.visuals().text_color();
    let weak = ui.visuals().weak_text_color();
    Plot::new("eval-bars")
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .height((rows as f32 * 34.0).clamp(160.0, 420.0))
        .include_x(0.0)
        // Room right of 100% for the legend, so that it never hides a bar.
        .include_x(145.0)
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .y_axis_min_width(150.0)
        .x_axis_label("accuracy (%)")
        .x_axis_formatter(|mark, _| {
            if mark.value <= 100.0 {
                format!("{:.0}", mark.value)
            } else {
                String::new()
            }
        })
        .y_grid_spacer(move |_| {
            (0..rows)
                .map(|r| GridMark {
                    value: -(r as f64),
                    step_size: 1.0,
                })
                .collect()
        })
        .y_axis_formatter(move |mark, _| {
            row_of(mark.value)
                .and_then(|r| label_names.get(r).cloned())
                .unwrap_or_default()
        })
        .show(ui, |plot| {
            for (l, lane) in data.lanes.iter().enumerate() {
                let mut bars = Vec::new();
                for (row, (name, per_lane)) in data.categories.iter().enumerate() {
                    let m = per_lane.get(l).copied().flatten();
                    // The first lane on top within its row.
                    let y = -(row as f64) + 0.4 - width * (l as f64 + 0.5);
                    let m = match (BarMark::of(m.as_ref()), m) {
                        (BarMark::Bar(percent), Some(m)) => {
                            bars.push(
                                Bar::new(y, percent)
                                    .width(width * 0.9)
                                    .fill(color(&data.colors, l).gamma_multiply(0.85))
                                    .name(format!("{name}: {}", percent_with_interval(&m))),
                            );
                            m
                        }
                        (BarMark::Zero, Some(m)) => {
                            // A zero-length bar draws nothing: a thin one at 0 shows the value.
                            bars.push(
                                Bar::new(y, ZERO_MARK_PERCENT)
                                    .width(width * 0.9)
                                    .fill(color(&data.colors, l))
                                    .name(format!("{name}: {}", percent_with_interval(&m))),
                            );
                            plot.text(
                                Text::new("", PlotPoint::new(ZERO_MARK_PERCENT + 1.0, y), "0%")
                                    .color(color(&data.colors, l))
                                    .anchor(egui::Align2::LEFT_CENTER),
                            );
                            m
                        }
                        _ => {
                            plot.text(
                                Text::new("", PlotPoint::new(1.0, y), NO_QUESTIONS)
                                    .color(weak)
                                    .anchor(egui::Align2::LEFT_CENTER),
                            );
                            continue;
                        }
                    };
                    // Below n=5 there is no interval to draw: the bar's name says so.
                    if let Some(ci) = m.acc_interval() {
                        plot.line(
                            Line::new(
                                "",
                                PlotPoints::from(vec![[ci.low * 100.0, y], [ci.high * 100.0, y]]),
                            )
                            .color(whisker)
                            .width(1.0),
                        );
                    }
                }
                plot.add(
                    BarChart::new(lane.as_str(), bars)
                        .horizontal()
                        .color(color(&data.colors, l)),
                );
            }
        });
}

fn lines_ui(ui: &mut egui::Ui, data: &ChartData) {
    Plot::new("eval-lines")
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .height(180.0)
        .include_y(0.0)
        .include_y(100.0)
        .include_x(0.0)
        .allow_scroll(false)
        .x_axis_label("tasks seen (0 = General lane)")
        .y_axis_label("accuracy (%)")
        .show(ui, |plot| {
            for (i, (task_type, points)) in data.lines.iter().enumerate() {
                let pts: Vec<[f64; 2]> = points.iter().map(|&(x, y)| [x, y]).collect();
                plot.line(
                    Line::new(task_type.as_str(), PlotPoints::from(pts.clone()))
                        .color(color(&data.line_colors, i))
                        .width(2.0),
                );
                plot.add(
                    Points::new("", PlotPoints::from(pts))
                        .color(color(&data.line_colors, i))
                        .radius(3.5),
                );
            }
        });
}

fn table_ui(ui: &mut egui::Ui, summary: &Summary, colors: &[Rgb]) {
    egui::ScrollArea::vertical()
        .id_salt("eval-table")
        .max_height(560.0)
        .show(ui, |ui| {
            egui::Grid::new("eval-metrics")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for head in ["lane", "task type", "n", "Acc % [95%]", "Cov %", "Prec %"] {
                        ui.strong(head);
                    }
                    ui.end_row();
                    for (l, lane) in summary.lanes.iter().enumerate() {
                        let rows = std::iter::once(("All", &lane.overall))
                            .chain(lane.by_type.iter().map(|(t, m)| (t.as_str(), m)));
                        for (name, m) in rows {
                            ui.colored_label(color(colors, l), &lane.lane)
                                .on_hover_text(
                                    lane.adapter
                                        .as_deref()
                                        .unwrap_or("no adapter: the lane as written"),
                                );
                            ui.label(name);
                            ui.label(m.questions.to_string());
                            ui.label(percent_with_interval(m));
                            ui.label(format!("{:.1}", m.cov * 100.0));
                            ui.label(format!("{:.1}", m.prec * 100.0));
                            ui.end_row();
                        }
                    }
                });
        });
}
