//! The Phase Two window: choose the task set (a type and the recent N, or the tasks ticked in
//! the library), tune a steering adapter on a `phase2` thread (progress, DPO loss and
//! reward-margin curves, cancel), inspect every judged sample (the kept pairs chosen beside
//! rejected, and the ties and flips that were dropped, the words that differ highlighted, the
//! judge's scores and the tasks it read), see which training clips the new adapter describes
//! differently, then memorize a lane with the adapter or evaluate it. The run is `train::phase2`, as for `taskmem train phase2`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use egui::Color32;

use crate::app::AppCommand;
use crate::app::endpoint::{EndpointForm, cancel_client};
use crate::app::training::curve_ui;
use crate::app::ui::word_diff::word_diff_label;
use crate::policy::adapter::{Adapter, adapters_in};
use crate::remote::Counters;
use crate::remote::judge::RemoteJudge;
use crate::studio::jobs::{Job, Jobs, Outcome, Reporter};
use crate::tasks::Task;
use crate::timefmt::format_clock_ms;
use crate::train::pairs::{Judgement, SampleFate};
use crate::train::phase2::{
    Change, Phase2Event, Phase2Settings, Phase2Source, Phase2Summary, adapter_file_name,
    no_tasks_message, source_tasks, task_set,
};
use crate::train::reward::{BuiltinJudge, Judge};

/// What the Phase Two window sees of the app: the open project's folder and tasks, the ids
/// ticked in the task library, and whether a lane can be memorized now.
pub struct Phase2View<'a> {
    pub project_dir: Option<&'a Path>,
    pub project_tasks: Option<&'a [Task]>,
    pub checked: &'a [String],
    pub can_memorize: bool,
}

/// "Memorize a lane with …" and "Evaluate with …" for the adapter at `path`.
fn adapter_buttons(
    ui: &mut egui::Ui,
    path: &Path,
    what: &str,
    can_memorize: bool,
    commands: &mut Vec<AppCommand>,
) {
    if ui
        .add_enabled(
            can_memorize,
            egui::Button::new(format!("Memorize a lane with {what}")),
        )
        .on_hover_text("A new memory lane named after the adapter, filled as the video plays")
        .on_disabled_hover_text("Open a project's video to memorize a lane")
        .clicked()
    {
        commands.push(AppCommand::MemorizeWithAdapter(Some(path.to_path_buf())));
    }
    if ui
        .button(format!("Evaluate with {what}"))
        .on_hover_text("Opens the Evaluate window with this adapter's lane beside the General one")
        .clicked()
    {
        commands.push(AppCommand::EvaluateAdapter(path.to_path_buf()));
    }
}

/// One adapter file of the project, as the list shows it.
#[derive(Clone, Debug)]
struct AdapterRow {
    path: PathBuf,
    name: String,
    /// What the sidecar says, or why the file could not be read.
    about: Result<String, String>,
}

impl AdapterRow {
    fn of(read: Result<Adapter, crate::policy::adapter::AdapterError>) -> Self {
        match read {
            Ok(a) => {
                let metric = |k: &str| a.meta.metrics.get(k).and_then(serde_json::Value::as_u64);
                let mut parts = vec![
                    a.meta
                        .task_type
                        .clone()
                        .unwrap_or_else(|| "every type".to_owned()),
                    format!("tuned on {} tasks", a.meta.task_ids.len()),
                ];
                if let Some(pairs) = metric("pairs") {
                    parts.push(format!("{pairs} pairs"));
                }
                if let (Some(changed), Some(clips)) = (metric("clips_changed"), metric("clips")) {
                    parts.push(format!("changes {changed} of {clips} clips"));
                }
                if let Some(judge) = a.meta.metrics.get("judge").and_then(|j| j.as_str()) {
                    parts.push(format!("judged by {judge}"));
                }
                let about = format!(
                    "{} (layer {}, scale {})",
                    parts.join(", "),
                    a.meta.layer,
                    a.meta.scale
                );
                Self {
                    path: a.path.clone(),
                    name: a.name,
                    about: Ok(about),
                }
            }
            Err(e) => {
                let path = match &e {
                    crate::policy::adapter::AdapterError::Read { path, .. }
                    | crate::policy::adapter::AdapterError::Format { path, .. }
                    | crate::policy::adapter::AdapterError::Write { path, .. }
                    | crate::policy::adapter::AdapterError::Mismatch { path, .. } => path.clone(),
                };
                Self {
                    name: path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    path,
                    about: Err(e.to_string()),
                }
            }
        }
    }
}

/// Why a run on the ticked tasks cannot start yet.
const TICK_FIRST: &str = "tick tasks in the task library first, or tune on the recent N";

/// Judgements kept for display per kind (a run can judge thousands).
const SHOWN_PER_KIND: usize = 200;

/// What the window's list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// The judged samples of the kind in `showing`.
    Judged,
    /// The training clips the finished run's adapter describes differently.
    Changes,
}

/// Which judged samples the list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JudgedKind {
    /// Kept for DPO: one description won in both orders.
    Kept,
    Ties,
    Flips,
}

impl JudgedKind {
    const ALL: [Self; 3] = [Self::Kept, Self::Ties, Self::Flips];

    fn of(fate: SampleFate) -> Self {
        match fate {
            SampleFate::Chosen | SampleFate::Rejected => Self::Kept,
            SampleFate::Tie => Self::Ties,
            SampleFate::Flipped => Self::Flips,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Self::Kept => "kept pairs",
            Self::Ties => "ties",
            Self::Flips => "flips",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Self::Kept => {
                "One description helped more with the sampled tasks, read in either order: DPO learns from these"
            }
            Self::Ties => {
                "Equally helpful: the sample tells the tasks nothing the policy's own description does not. Dropped"
            }
            Self::Flips => {
                "The verdict changed with the order the two were read in: a position bias. Dropped"
            }
        }
    }
}

/// The judged samples of a run, by kind: the first [`SHOWN_PER_KIND`] of each and the count.
#[derive(Clone, Debug, Default)]
struct JudgedList {
    shown: [Vec<Judgement>; 3],
    counts: [usize; 3],
}

impl JudgedList {
    fn push(&mut self, judgement: Judgement) {
        let i = JudgedKind::of(judgement.fate).index();
        self.counts[i] += 1;
        if self.shown[i].len() < SHOWN_PER_KIND {
            self.shown[i].push(judgement);
        }
    }
}

type Phase2Job = Job<Phase2Event, Box<Phase2Summary>, String>;

/// Passes a run's event on, keeping the job's progress line (in the registry) current.
fn report(r: &mut Reporter<Phase2Event>, event: Phase2Event) -> std::ops::ControlFlow<()> {
    match &event {
        Phase2Event::Stage(text) => r.progress(0, 0, text.clone()),
        Phase2Event::ClipsRead { done, total } => r.progress(*done, *total, "reading clips"),
        Phase2Event::Pairs { done, total, .. } => r.progress(*done, *total, "judging pairs"),
        Phase2Event::Dpo(s) => r.progress(s.step, s.steps, "DPO"),
    }
    r.emit(event)
}

/// Where tasks and clips come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSource {
    Project,
    Suite,
}

/// What a run needs from the app.
#[derive(Clone, Debug, Default)]
pub struct Phase2Context {
    pub project_dir: Option<PathBuf>,
    pub model_dir: Option<PathBuf>,
    /// The Policy menu's token budget (`None`: the policy's default).
    pub budget_tokens: Option<usize>,
    /// Tasks ticked in the task library.
    pub checked: Vec<String>,
}

pub struct Phase2Panel {
    pub open: bool,
    pub source: TaskSource,
    pub suite: String,
    /// Empty: every type.
    pub task_type: String,
    pub recent: usize,
    /// Tune on the tasks ticked in the library instead of the recent N.
    pub use_checked: bool,
    pub samples: usize,
    pub steps: usize,
    pub beta: f64,
    /// The decoder layer (0-based) the steering vector is added after.
    pub layer: usize,
    /// The steering vector's scale.
    pub scale: f64,
    /// At most this many training clips (0: all).
    pub max_clips: usize,
    /// The adapter file (empty: the project's `adapters/` folder, or a temp folder).
    pub out: String,
    /// Judge with an LLM behind an `OpenAI`-compatible endpoint instead of the built-in judge.
    pub remote_judge: bool,
    /// The endpoint and model that judge, with `remote_judge`.
    pub judge_endpoint: EndpointForm,
    /// Judgements on the wire at once with a remote judge.
    pub judge_concurrency: usize,
    /// The remote judge's requests and tokens, while and after it runs.
    judge_counters: Option<Arc<Counters>>,
    /// Stops the remote judge's requests on the wire when the run is cancelled.
    client_cancel: Option<Arc<AtomicBool>>,
    /// A suite's training tasks, read again only when the suite folder changes: (folder, the
    /// tasks or why they cannot be read).
    suite_tasks: Option<(String, Result<Vec<Task>, String>)>,
    /// The project's adapters, read again when the project changes, a run ends or Refresh is
    /// pressed: (its `adapters/` folder, one row per file).
    adapters: Option<(PathBuf, Vec<AdapterRow>)>,
    job: Option<Phase2Job>,
    stage: String,
    progress: (usize, usize),
    loss: Vec<(usize, f32)>,
    margin: Vec<(usize, f32)>,
    steps_total: usize,
    judged: JudgedList,
    /// The kind the judged list shows.
    pub showing: JudgedKind,
    /// Whether the list shows judged samples or what the finished run's adapter changes.
    pub listing: Listing,
    finished: Option<Phase2Summary>,
}

impl Default for Phase2Panel {
    fn default() -> Self {
        Self {
            open: false,
            source: TaskSource::Suite,
            suite: "datasets/world-mme".to_owned(),
            task_type: "Attribute Perception".to_owned(),
            recent: 50,
            use_checked: false,
            samples: 4,
            steps: 80,
            beta: 0.1,
            layer: crate::train::dpo::DpoSettings::default().layer,
            scale: crate::train::dpo::DpoSettings::default().scale,
            max_clips: 0,
            out: String::new(),
            remote_judge: false,
            judge_endpoint: EndpointForm::default(),
            judge_concurrency: 4,
            judge_counters: None,
            client_cancel: None,
            suite_tasks: None,
            adapters: None,
            job: None,
            stage: String::new(),
            progress: (0, 0),
            loss: Vec::new(),
            margin: Vec::new(),
            steps_total: 0,
            judged: JudgedList::default(),
            showing: JudgedKind::Kept,
            listing: Listing::Judged,
            finished: None,
        }
    }
}

impl Phase2Panel {
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The last finished run.
    #[must_use]
    pub fn finished(&self) -> Option<&Phase2Summary> {
        self.finished.as_ref()
    }

    /// The samples of a kind judged so far (at most the first 200) and how many there were.
    #[must_use]
    pub fn judged(&self, kind: JudgedKind) -> (&[Judgement], usize) {
        let i = kind.index();
        (&self.judged.shown[i], self.judged.counts[i])
    }

    fn out_path(&self, project_dir: Option<&PathBuf>) -> PathBuf {
        if !self.out.trim().is_empty() {
            return PathBuf::from(self.out.trim());
        }
        let name = adapter_file_name(&self.task_type, self.recent);
        match (self.source, project_dir) {
            (TaskSource::Project, Some(dir)) => dir.join("adapters").join(name),
            _ => std::env::temp_dir().join("taskmem-adapters").join(name),
        }
    }

    /// The settings a run would start with.
    ///
    /// # Errors
    /// A project run without a project.
    pub fn settings(&self, context: &Phase2Context) -> Result<Phase2Settings, String> {
        let source =
            match self.source {
                TaskSource::Project => Phase2Source::Project(context.project_dir.clone().ok_or(
                    "open a project first: its tasks and videos are what Phase Two tunes on",
                )?),
                // A relative default (datasets/world-mme) is the app's own, wherever it started.
                TaskSource::Suite => Phase2Source::Suite(crate::eval::replay::suite_folder(
                    std::path::Path::new(self.suite.trim()),
                )),
            };
        let mut settings = Phase2Settings::new(
            source,
            self.task_type.trim(),
            self.out_path(context.project_dir.as_ref()),
        );
        settings.recent = self.recent.max(1);
        settings.model_dir.clone_from(&context.model_dir);
        settings.max_clips = (self.max_clips > 0).then_some(self.max_clips);
        settings.pairs.samples_per_clip = self.samples.max(1);
        settings.pairs.budget_tokens = context.budget_tokens;
        settings.dpo.steps = self.steps;
        settings.dpo.beta = self.beta;
        settings.dpo.layer = self.layer;
        settings.dpo.scale = self.scale;
        if self.use_checked {
            if context.checked.is_empty() {
                return Err(TICK_FIRST.to_owned());
            }
            settings.task_ids = Some(context.checked.clone());
        }
        Ok(settings)
    }

    /// Starts a run on a `phase2` thread.
    ///
    /// # Errors
    /// Bad settings, or a thread that cannot start.
    pub fn start(&mut self, jobs: &Jobs, context: &Phase2Context) -> Result<(), String> {
        let settings = self.settings(context)?;
        let judge: Box<dyn Judge> = if self.remote_judge {
            let made = self.judge_endpoint.client("judges")?;
            self.judge_counters = Some(made.counters);
            self.client_cancel = Some(made.cancel);
            Box::new(RemoteJudge {
                client: made.client,
                concurrency: self.judge_concurrency.max(1),
            })
        } else {
            self.judge_counters = None;
            self.client_cancel = None;
            Box::new(BuiltinJudge)
        };
        let job = jobs
            .spawn("phase2", move |r| {
                crate::train::phase2::run(&settings, judge.as_ref(), &mut |e| report(r, e))
                    .map(Box::new)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())?;
        let client_cancel = self.client_cancel.clone();
        job.on_cancel(move || cancel_client(client_cancel.as_ref()));
        self.job = Some(job);
        "starting".clone_into(&mut self.stage);
        self.progress = (0, 0);
        self.loss.clear();
        self.margin.clear();
        self.judged = JudgedList::default();
        self.showing = JudgedKind::Kept;
        self.listing = Listing::Judged;
        self.finished = None;
        Ok(())
    }

    /// Stops the run at its next step; a remote judge's requests on the wire are dropped at
    /// once.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Takes the thread's messages; returns an error message when the run failed.
    pub fn poll(&mut self) -> Option<String> {
        let job = self.job.as_ref()?;
        let (events, done) = job.poll();
        for event in events {
            self.take(event);
        }
        let outcome = done?;
        self.job = None;
        match outcome {
            Outcome::Done(summary) => {
                self.stage = format!("Saved {}", summary.adapter.display());
                self.adapters = None;
                // What the new adapter does to memory is the run's answer.
                self.listing = Listing::Changes;
                self.finished = Some(*summary);
                None
            }
            // A cancelled run ends with the stop, or with a remote judge's request the stop
            // dropped: either way the user's doing, not a failure.
            Outcome::Cancelled => {
                "stopped".clone_into(&mut self.stage);
                None
            }
            Outcome::Failed(message) => {
                self.failed(&message);
                Some(message)
            }
        }
    }

    /// A run that failed without an adapter.
    fn failed(&mut self, message: &str) {
        message.clone_into(&mut self.stage);
        // Without pairs, what the judge dropped is what explains the run.
        if self.judged.counts[JudgedKind::Kept.index()] == 0
            && let Some(kind) = [JudgedKind::Ties, JudgedKind::Flips]
                .into_iter()
                .find(|k| self.judged.counts[k.index()] > 0)
        {
            self.showing = kind;
        }
    }

    fn take(&mut self, event: Phase2Event) {
        match event {
            Phase2Event::Stage(text) => self.stage = text,
            Phase2Event::ClipsRead { done, total } => {
                self.stage = format!("reading clips {done}/{total}");
                self.progress = (done, total * 2);
            }
            Phase2Event::Pairs {
                done,
                total,
                judged,
            } => {
                self.stage = format!("judging clips {done}/{total}");
                self.progress = (total + done, total * 2);
                for judgement in judged {
                    self.judged.push(judgement);
                }
            }
            Phase2Event::Dpo(s) => {
                self.stage = format!("DPO step {}/{}", s.step, s.steps);
                self.steps_total = s.steps;
                self.progress = (s.step, s.steps);
                self.loss.push((s.step, s.loss));
                self.margin.push((s.step, s.margin));
            }
        }
    }

    /// The window, over what the app has open (see [`Phase2View`]).
    pub fn window_ui(&mut self, ctx: &egui::Context, view: &Phase2View<'_>) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let mut open = self.open;
        egui::Window::new("Phase Two: tune an adapter")
            .open(&mut open)
            .default_width(900.0)
            .default_height(620.0)
            .show(ctx, |ui| {
                self.contents_ui(ui, view, &mut commands);
            });
        self.open = open;
        commands
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &Phase2View<'_>,
        commands: &mut Vec<AppCommand>,
    ) {
        let running = self.is_running();
        let mut has_tasks = false;
        ui.add_enabled_ui(!running, |ui| {
            self.form_ui(ui, view.project_tasks.is_some());
            self.judge_ui(ui);
            has_tasks = self.task_set_ui(ui, view.project_tasks, view.checked);
        });
        ui.horizontal(|ui| {
            if running {
                if ui.button("Cancel tuning").on_hover_text("Stops at the next step; no adapter is written").clicked() {
                    self.cancel();
                }
            } else if ui
                .add_enabled(has_tasks, egui::Button::new("Start tuning"))
                .on_hover_text("Sample descriptions of the training clips, judge them against the tasks, tune the steering vector with DPO")
                .on_disabled_hover_text("No task defines the reward yet: choose a type that has tasks, or tick tasks in the library")
                .clicked()
            {
                commands.push(AppCommand::StartPhase2);
            }
            ui.label(&self.stage);
        });
        if let Some(counters) = &self.judge_counters {
            crate::app::ui::jobs::cost_line(
                ui,
                "Remote judge",
                counters,
                self.judge_endpoint.prices,
            );
        }
        if running {
            crate::app::ui::jobs::progress_row(ui, self.progress);
        }
        ui.horizontal(|ui| {
            curve_ui(
                ui,
                "DPO loss",
                &self.loss,
                self.steps_total,
                Color32::from_rgb(110, 170, 255),
            );
            curve_ui(
                ui,
                "Reward margin",
                &self.margin,
                self.steps_total,
                Color32::from_rgb(255, 170, 90),
            );
        });
        if let Some(summary) = &self.finished {
            let path = summary.adapter.clone();
            ui.horizontal(|ui| {
                ui.label(format!(
                    "Adapter '{}': {} tasks, {} pairs kept of {} judged by {} ({} ties, {} flips), {:.1} s",
                    summary.name,
                    summary.task_ids.len(),
                    summary.counts.kept,
                    summary.counts.judged,
                    summary.judge,
                    summary.counts.ties,
                    summary.counts.flips,
                    summary.seconds
                ));
            });
            ui.horizontal(|ui| {
                adapter_buttons(ui, &path, "this adapter", view.can_memorize, commands);
            });
        }
        if let Some(dir) = view.project_dir {
            self.adapters_ui(ui, dir, view.can_memorize, commands);
        }
        ui.separator();
        self.judged_ui(ui);
    }

    /// The adapters in the project's `adapters/` folder, each with what its sidecar says and
    /// the same buttons as a new one.
    fn adapters_ui(
        &mut self,
        ui: &mut egui::Ui,
        project_dir: &Path,
        can_memorize: bool,
        commands: &mut Vec<AppCommand>,
    ) {
        let folder = project_dir.join("adapters");
        if self.adapters.as_ref().is_none_or(|(f, _)| *f != folder) {
            let rows = adapters_in(&folder)
                .into_iter()
                .map(AdapterRow::of)
                .collect();
            self.adapters = Some((folder.clone(), rows));
        }
        let Some((_, rows)) = &self.adapters else {
            return;
        };
        let mut refresh = false;
        egui::CollapsingHeader::new(format!("Adapters in this project ({})", rows.len()))
            .id_salt("phase2-adapters")
            .show(ui, |ui| {
                if ui
                    .button("Refresh")
                    .on_hover_text(format!("Read {} again", folder.display()))
                    .clicked()
                {
                    refresh = true;
                }
                if rows.is_empty() {
                    ui.weak("None yet: a run on this project's tasks saves its adapter here.");
                }
                egui::Grid::new("phase2-adapters-grid")
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        for row in rows {
                            ui.monospace(&row.name)
                                .on_hover_text(row.path.display().to_string());
                            match &row.about {
                                Ok(about) => {
                                    ui.label(about);
                                    ui.horizontal(|ui| {
                                        adapter_buttons(
                                            ui,
                                            &row.path,
                                            &row.name,
                                            can_memorize,
                                            commands,
                                        );
                                    });
                                }
                                Err(e) => {
                                    ui.colored_label(ui.visuals().error_fg_color, e);
                                    ui.label("");
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
        if refresh {
            self.adapters = None;
        }
    }

    fn judged_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Judged samples");
            for kind in JudgedKind::ALL {
                let count = self.judged.counts[kind.index()];
                if ui
                    .selectable_label(
                        self.listing == Listing::Judged && self.showing == kind,
                        format!("{} {count}", kind.name()),
                    )
                    .on_hover_text(kind.help())
                    .clicked()
                {
                    self.showing = kind;
                    self.listing = Listing::Judged;
                }
            }
            if let Some(summary) = &self.finished {
                ui.separator();
                if ui
                    .selectable_label(
                        self.listing == Listing::Changes,
                        format!(
                            "changed by the adapter {} of {}",
                            summary.changes.len(),
                            summary.compared
                        ),
                    )
                    .on_hover_text("The training clips the policy describes differently with the new adapter, each after the description it wrote for the clip before: what the adapter does to memory")
                    .clicked()
                {
                    self.listing = Listing::Changes;
                }
            }
        });
        if self.listing == Listing::Changes
            && let Some(summary) = &self.finished
        {
            if summary.changes.is_empty() {
                ui.weak("The adapter changes no training clip's description: its lane would read as the General lane.");
            } else {
                changes_table_ui(ui, &summary.changes);
            }
            return;
        }
        let (shown, count) = self.judged(self.showing);
        if shown.is_empty() {
            ui.weak(if self.judged.counts.iter().sum::<usize>() == 0 {
                "Samples appear here as the clips are judged: each sampled description beside the policy's own, with the judge's scores."
            } else {
                "None of this kind."
            });
            return;
        }
        if count > shown.len() {
            ui.weak(format!("The first {} of {count}.", shown.len()));
        }
        judged_table_ui(ui, shown);
    }

    /// The tasks the source offers (the open project's, or the suite's training tasks, read
    /// once per suite folder).
    fn source_tasks<'a>(
        &'a mut self,
        project_tasks: Option<&'a [Task]>,
    ) -> Result<&'a [Task], String> {
        match self.source {
            TaskSource::Project => {
                project_tasks.ok_or_else(|| "open a project to tune on its tasks".to_owned())
            }
            TaskSource::Suite => {
                let folder = self.suite.trim().to_owned();
                if self.suite_tasks.as_ref().is_none_or(|(f, _)| *f != folder) {
                    let read = source_tasks(&Phase2Source::Suite(
                        crate::eval::replay::suite_folder(std::path::Path::new(&folder)),
                    ))
                    .map_err(|e| e.to_string());
                    self.suite_tasks = Some((folder, read));
                }
                match &self.suite_tasks {
                    Some((_, Ok(tasks))) => Ok(tasks),
                    Some((_, Err(e))) => Err(e.clone()),
                    None => Ok(&[]),
                }
            }
        }
    }

    /// The tasks that define the reward, before a run: how many and which. False when there
    /// are none.
    fn task_set_ui(
        &mut self,
        ui: &mut egui::Ui,
        project_tasks: Option<&[Task]>,
        checked: &[String],
    ) -> bool {
        let (task_type, recent, use_checked) =
            (self.task_type.clone(), self.recent.max(1), self.use_checked);
        let set = match self.source_tasks(project_tasks) {
            Err(e) => Err(e),
            Ok(tasks) => {
                let set = task_set(tasks, &task_type, recent, use_checked.then_some(checked));
                if set.tasks.is_empty() {
                    let in_source = tasks.iter().filter(|t| checked.contains(&t.id)).count();
                    Err(if !use_checked {
                        no_tasks_message(tasks, &task_type)
                    } else if checked.is_empty() {
                        TICK_FIRST.to_owned()
                    } else if in_source == 0 {
                        format!(
                            "none of the {} ticked tasks is among {}",
                            checked.len(),
                            match self.source {
                                TaskSource::Project => "this project's tasks",
                                TaskSource::Suite => "the suite's training tasks",
                            }
                        )
                    } else {
                        format!(
                            "none of the {} ticked tasks is of type '{task_type}'",
                            checked.len()
                        )
                    })
                } else {
                    Ok(set)
                }
            }
        };
        let set = match set {
            Ok(set) => set,
            Err(message) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Reward model: {message}"),
                );
                return false;
            }
        };
        let n = set.tasks.len();
        let of_type = if task_type.is_empty() {
            "of every type".to_owned()
        } else {
            format!("of {task_type}")
        };
        let tasks = if n == 1 { "task" } else { "tasks" };
        let header = if use_checked {
            format!("Reward model: the {n} ticked {tasks} {of_type}")
        } else if n == 1 && recent > 1 {
            format!("Reward model: the only task {of_type} ({recent} asked for)")
        } else if n < recent {
            format!("Reward model: all {n} {tasks} {of_type} there are ({recent} asked for)")
        } else {
            format!("Reward model: the last {n} tasks {of_type}")
        };
        egui::CollapsingHeader::new(header)
            .id_salt("phase2-task-set")
            .show(ui, |ui| {
                let per = crate::train::reward::TASKS_PER_JUDGEMENT;
                ui.weak(if n <= per {
                    "Each clip's samples are judged on all of them.".to_owned()
                } else {
                    format!(
                        "Each clip's samples are judged on {per} of them, drawn at random per clip."
                    )
                });
                egui::ScrollArea::vertical()
                    .id_salt("phase2-task-set-list")
                    .max_height(160.0)
                    .show(ui, |ui| {
                        egui::Grid::new("phase2-task-set-grid")
                            .num_columns(4)
                            .striped(true)
                            .show(ui, |ui| {
                                for t in &set.tasks {
                                    ui.monospace(&t.id);
                                    ui.label(&t.stream);
                                    ui.monospace(format_clock_ms(t.ask_ms));
                                    ui.label(&t.text).on_hover_text(&t.task_type);
                                    ui.end_row();
                                }
                            });
                    });
            });
        true
    }

    fn judge_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Judge:");
            ui.radio_value(&mut self.remote_judge, false, "built-in")
                .on_hover_text("Scores what the built-in answerer would need for each sampled task's question; deterministic");
            ui.radio_value(
                &mut self.remote_judge,
                true,
                "an LLM (OpenAI-compatible endpoint)",
            )
            .on_hover_text("vLLM, SGLang or OpenAI reads both descriptions and the sampled questions and says which helps more, in both orders");
            if self.remote_judge {
                ui.label("at once");
                ui.add(egui::DragValue::new(&mut self.judge_concurrency).range(1..=32))
                    .on_hover_text("Judgements on the wire at once: a clip's samples are judged side by side");
            }
        });
        if self.remote_judge {
            self.judge_endpoint.grid_ui(ui, "phase2-judge");
        }
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, has_project: bool) {
        ui.horizontal(|ui| {
            ui.label("Tasks and clips:");
            ui.add_enabled_ui(has_project, |ui| {
                ui.radio_value(&mut self.source, TaskSource::Project, "this project")
                    .on_hover_text("The project's tasks and the videos of its streams")
                    .on_disabled_hover_text("Open a project to tune on its tasks");
            });
            ui.radio_value(
                &mut self.source,
                TaskSource::Suite,
                "a suite's training streams",
            )
            .on_hover_text(
                "Only the train split: the test streams' questions stay unseen for evaluation",
            );
        });
        egui::Grid::new("phase2-form").num_columns(4).show(ui, |ui| {
            if self.source == TaskSource::Suite {
                ui.label("Suite folder");
                ui.add(egui::TextEdit::singleline(&mut self.suite).desired_width(260.0))
                    .on_hover_text("The suite whose training streams give the tasks and clips");
                ui.end_row();
            }
            ui.label("Task type");
            egui::ComboBox::from_id_salt("phase2-type")
                .selected_text(if self.task_type.is_empty() { "every type" } else { self.task_type.as_str() })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.task_type, String::new(), "every type")
                        .on_hover_text("Tune on the recent tasks of every type");
                    for t in crate::world::questions::VIDEO_MME_TYPES
                        .iter()
                        .chain(&["EntityLog", "action-specific object"])
                    {
                        ui.selectable_value(&mut self.task_type, (*t).to_owned(), *t)
                            .on_hover_text(format!("Tune on the recent tasks of type {t}"));
                    }
                })
                .response
                .on_hover_text("The reward model is defined by the recent tasks of this type");
            ui.label("Recent tasks");
            ui.horizontal(|ui| {
                for n in [10, 30, 50] {
                    ui.radio_value(&mut self.recent, n, n.to_string())
                        .on_hover_text(format!("The last {n} tasks of the type (TaskMem refreshes after 10, 30 and 50)"));
                }
            });
            ui.end_row();
            ui.label("Task set");
            ui.checkbox(&mut self.use_checked, "the tasks ticked in the library")
                .on_hover_text("Instead of the recent N: exactly the tasks ticked in the task library");
            ui.label("Samples per clip");
            ui.add(egui::DragValue::new(&mut self.samples).range(1..=16))
                .on_hover_text("Sampled descriptions judged against the policy's own, per training clip");
            ui.end_row();
            ui.label("DPO steps");
            ui.add(egui::DragValue::new(&mut self.steps).range(1..=2_000))
                .on_hover_text("How many DPO steps tune the steering vector on the judged pairs");
            ui.label("Beta");
            ui.add(egui::DragValue::new(&mut self.beta).range(0.01..=2.0).speed(0.01))
                .on_hover_text("DPO's temperature on the log-ratio to the Phase One policy");
            ui.end_row();
            ui.label("Steering layer");
            ui.add(egui::DragValue::new(&mut self.layer).range(0..=16))
                .on_hover_text("The decoder layer (0 = the first) after which the vector is added to the hidden states; the shipped model has 2");
            ui.label("Scale");
            ui.add(egui::DragValue::new(&mut self.scale).range(0.1..=10.0).speed(0.05))
                .on_hover_text("The vector is multiplied by this before it is added (TaskMem's released adapter: 1.5)");
            ui.end_row();
            ui.label("Training clips");
            ui.add(
                egui::DragValue::new(&mut self.max_clips)
                    .range(0..=10_000)
                    .custom_formatter(|n, _| {
                        if n < 0.5 {
                            "all".to_owned()
                        } else {
                            format!("{n:.0}")
                        }
                    })
                    .custom_parser(|text| {
                        if text.trim().eq_ignore_ascii_case("all") {
                            Some(0.0)
                        } else {
                            text.trim().parse().ok()
                        }
                    }),
            )
            .on_hover_text("At most this many clips, evenly spread (0 or \"all\": every clip)");
            ui.label("Adapter file");
            ui.add(
                egui::TextEdit::singleline(&mut self.out)
                    .desired_width(260.0)
                    .hint_text("default: adapters/<type>-<N>.safetensors"),
            )
            .on_hover_text("Where the adapter is saved; leave empty for the default path");
            ui.end_row();
        });
    }
}

const WON: Color32 = Color32::from_rgb(60, 180, 90);
const LOST: Color32 = Color32::from_rgb(200, 70, 60);
const EVEN: Color32 = Color32::from_rgb(200, 170, 60);

/// What a judgement's scores read like, and its hover text: the tasks the judge read.
fn verdict_text(j: &Judgement) -> (String, String) {
    let [(sample_a, own_a), (sample_b, own_b)] = j.scores;
    let text = match j.fate {
        SampleFate::Chosen => format!("sample {sample_a:.2} > own {own_a:.2}"),
        SampleFate::Rejected => format!("own {own_a:.2} > sample {sample_a:.2}"),
        SampleFate::Tie => format!("tie at {sample_a:.2}"),
        SampleFate::Flipped => format!(
            "flip: sample {sample_a:.2} / own {own_a:.2} read sample first, {sample_b:.2} / {own_b:.2} read own first"
        ),
    };
    let tasks: Vec<String> = j
        .tasks
        .iter()
        .map(|(id, text)| format!("{id}: {text}"))
        .collect();
    (
        text,
        format!(
            "Mean helpfulness for {}:\n{}",
            match j.tasks.len() {
                1 => "the one sampled task".to_owned(),
                n => format!("the {n} sampled tasks"),
            },
            tasks.join("\n")
        ),
    )
}

/// Each changed clip's description without and with the adapter, the differing words marked.
fn changes_table_ui(ui: &mut egui::Ui, changes: &[Change]) {
    egui::ScrollArea::vertical()
        .id_salt("phase2-changes")
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("phase2-changes-grid")
                .striped(true)
                .num_columns(3)
                .show(ui, |ui| {
                    ui.strong("clip");
                    ui.strong("the policy's own description");
                    ui.strong("with the adapter");
                    ui.end_row();
                    for c in changes {
                        compared_cells_ui(
                            ui,
                            (&c.stream, c.start_ms),
                            (&c.before, &c.after),
                            (LOST, WON),
                            360.0,
                        );
                        ui.end_row();
                    }
                });
        });
}

/// A clip's cell, then two descriptions of it side by side, each with the words the other
/// lacks marked in its color.
fn compared_cells_ui(
    ui: &mut egui::Ui,
    (stream, start_ms): (&str, i64),
    (left, right): (&str, &str),
    (left_color, right_color): (Color32, Color32),
    max_width: f32,
) {
    ui.label(format!(
        "{stream} {}",
        crate::timefmt::format_clock_ms(start_ms)
    ));
    ui.vertical(|ui| {
        ui.set_max_width(max_width);
        word_diff_label(ui, left, right, left_color.gamma_multiply(0.35));
    });
    ui.vertical(|ui| {
        ui.set_max_width(max_width);
        word_diff_label(ui, right, left, right_color.gamma_multiply(0.35));
    });
}

fn judged_table_ui(ui: &mut egui::Ui, judged: &[Judgement]) {
    egui::ScrollArea::vertical()
        .id_salt("phase2-judged")
        .max_height(320.0)
        .show(ui, |ui| {
            egui::Grid::new("phase2-judged-grid")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    ui.strong("clip");
                    ui.strong("the policy's own description");
                    ui.strong("sampled description");
                    ui.strong("judge");
                    ui.end_row();
                    for j in judged {
                        let (own_color, sample_color) = match j.fate {
                            SampleFate::Chosen => (LOST, WON),
                            SampleFate::Rejected => (WON, LOST),
                            SampleFate::Tie | SampleFate::Flipped => (EVEN, EVEN),
                        };
                        compared_cells_ui(
                            ui,
                            (&j.stream, j.start_ms),
                            (&j.greedy, &j.sample),
                            (own_color, sample_color),
                            300.0,
                        );
                        let (text, tasks) = verdict_text(j);
                        ui.label(text).on_hover_text(tasks);
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    fn judgement(sample: &str, fate: SampleFate, sample_score: f64, own_score: f64) -> Judgement {
        Judgement {
            stream: "world-mme-train-00".into(),
            start_ms: 20_000,
            greedy: "I am in the kitchen. <face_4> stay in the kitchen.".into(),
            sample: sample.into(),
            fate,
            scores: [(sample_score, own_score); 2],
            tasks: vec![(
                "q1".into(),
                "What color was the key that <face_2> picked up around 00:00:22?".into(),
            )],
        }
    }

    #[test]
    fn a_run_without_pairs_shows_its_ties_and_each_kind_lists_its_samples() {
        let mut panel = Phase2Panel::default();
        panel.take(Phase2Event::Pairs {
            done: 1,
            total: 1,
            judged: vec![
                judgement(
                    "I am in the garden. <face_2> stay in the garden.",
                    SampleFate::Tie,
                    0.0,
                    0.0,
                ),
                judgement("I am in the kitchen.", SampleFate::Tie, 0.0, 0.0),
            ],
        });
        panel.failed("no preference pairs: every sampled description tied");
        assert_eq!(panel.showing, JudgedKind::Ties, "the ties explain the run");

        let mut h = egui_kittest::Harness::new_ui_state(
            |ui, panel: &mut Phase2Panel| panel.judged_ui(ui),
            panel,
        );
        h.run();
        h.get_by_label("ties 2");
        h.get_by_label("kept pairs 0");
        assert_eq!(h.query_all_by_label("tie at 0.00").count(), 2);
        h.get_by_label("I am in the garden. <face_2> stay in the garden.");

        // A kept pair: the sample won, and the list says by how much.
        h.state_mut().take(Phase2Event::Pairs {
            done: 1,
            total: 1,
            judged: vec![judgement(
                "<face_2> picks up the white key from the garden floor.",
                SampleFate::Chosen,
                0.4,
                0.0,
            )],
        });
        h.run();
        h.get_by_label("kept pairs 1").click();
        h.run();
        assert_eq!(h.state().showing, JudgedKind::Kept);
        h.get_by_label("sample 0.40 > own 0.00");
        assert_eq!(h.query_all_by_label("tie at 0.00").count(), 0);
        h.get_by_label("flips 0").click();
        h.run();
        h.get_by_label("None of this kind.");
    }
}
