//! Streaming replay: memorize a suite's streams clip by clip (or take the lanes a project
//! already holds), then answer every task at its ask time from the entries available by then:
//! never from the video, never from the ground truth.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::EvalError;
use super::answer::{Answerer, Question, open_answer_matches};
use super::metrics::{ADAPTER_NOT_IN_PROJECT, LaneInfo, ResultRow, Summary, summarize};
use crate::memory::MemoryEntry;
use crate::policy::adapter::Adapter;
use crate::policy::ingest::{ClipSampler, Memorizer, clip_spans};
use crate::policy::{BuiltinPolicy, MemorizationPolicy as _};
use crate::tasks::Task;

/// The General lane's id when a suite is memorized for evaluation.
pub const GENERAL_LANE: &str = "builtin";

/// What `run_suite` evaluates.
#[derive(Clone, Debug)]
pub struct SuiteSettings {
    pub suite: PathBuf,
    pub split: String,
    /// The built-in policy's model folder (default: the shipped model).
    pub model_dir: Option<PathBuf>,
    /// Each adapter gets a lane beside the General one.
    pub adapters: Vec<PathBuf>,
    pub budget_tokens: Option<usize>,
    pub clip_ms: i64,
    /// Also answer from the world's reference descriptions ([`REFERENCE_LANE`]): the ground
    /// truth's own 1-2 sentences per clip, an upper bound for a policy that imitates them.
    pub reference: bool,
}

/// The suite evaluated when none is named: the shipped world-mme, found with the app's data
/// ([`suite_folder`]).
pub const DEFAULT_SUITE: &str = "datasets/world-mme";

/// The suite folder a run reads for `given`: `given` itself when it exists (or is absolute),
/// else the shipped suite at that relative path or of that name (`datasets/world-mme` or
/// `world-mme`), found where the demo finds its datasets (`demo::shipped`: beside the
/// crate's sources or the executable), so that the default works from any current folder.
/// A path that is none of these is returned as given, and its error names it.
#[must_use]
pub fn suite_folder(given: &Path) -> PathBuf {
    if given.is_absolute() || given.exists() || given.as_os_str().is_empty() {
        return given.to_path_buf();
    }
    let relative = given.to_string_lossy();
    [
        crate::demo::shipped(&relative),
        crate::demo::shipped(&format!("datasets/{relative}")),
    ]
    .into_iter()
    .find(|p| p.join("suite.json").is_file())
    .unwrap_or_else(|| given.to_path_buf())
}

/// The lane of the world's reference descriptions (read from truth.jsonl, never a policy's).
pub const REFERENCE_LANE: &str = "reference";

/// Progress of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalEvent {
    /// Clips memorized over all streams and lanes so far, of `total`.
    Memorized {
        stream: String,
        done: usize,
        total: usize,
    },
    Answering {
        questions: usize,
    },
    /// The split's streams checked against their manifests, and those missing generated
    /// (`world::suite::ensure_splits`).
    Preparing(crate::world::suite::SuiteEvent),
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct EvalRun {
    pub rows: Vec<ResultRow>,
    pub summary: Summary,
    /// The memory the answers were read from.
    pub memory: Vec<MemoryEntry>,
}

impl EvalRun {
    /// The run's rows summed up: (source, split), the answerer and the policy's name, and
    /// (tasks, rows, lanes); with the notes that say why a result is empty, if it is.
    fn new(
        (source, split): (String, String),
        (answerer, policy): (&dyn Answerer, String),
        started: Instant,
        (tasks, rows, lanes): (&[Task], Vec<ResultRow>, &[LaneInfo]),
        memory: Vec<MemoryEntry>,
    ) -> Self {
        let lane_ids: Vec<String> = lanes.iter().map(|l| l.lane.clone()).collect();
        let notes = super::explain::notes(
            tasks,
            &memory,
            &lane_ids,
            &rows,
            answerer.reads_only_world_language(),
        );
        let summary = Summary {
            source,
            split,
            answerer: answerer.name(),
            policy,
            questions: tasks.len(),
            seconds: started.elapsed().as_secs_f64(),
            lanes: summarize(&rows, lanes),
            notes,
        };
        Self {
            rows,
            summary,
            memory,
        }
    }
}

/// Whether a reply is right: the letter for multiple choice, the same words for open answers.
#[must_use]
pub fn is_correct(task: &Task, answer: &str, abstained: bool) -> bool {
    if abstained {
        return false;
    }
    if task.is_multiple_choice() {
        answer.trim().eq_ignore_ascii_case(task.answer.trim())
    } else {
        open_answer_matches(answer, &task.answer)
    }
}

/// Answers every task from each lane's memory available at its ask time.
///
/// # Errors
/// When the answerer fails.
pub fn answer_tasks(
    tasks: &[Task],
    memory: &[MemoryEntry],
    lanes: &[String],
    answerer: &dyn Answerer,
) -> Result<Vec<ResultRow>, EvalError> {
    let mut rows = Vec::with_capacity(tasks.len() * lanes.len());
    for lane in lanes {
        let mut mine: Vec<&MemoryEntry> = memory.iter().filter(|e| &e.lane == lane).collect();
        mine.sort_by_key(|e| (e.start_ms, e.id));
        for task in tasks {
            // The protocol: only what was written (and finished) before the question arrived.
            let available: Vec<&MemoryEntry> = mine
                .iter()
                .filter(|e| e.stream == task.stream && e.available_ms <= task.ask_ms)
                .copied()
                .collect();
            let reply = answerer.answer(&Question::of_task(task), &available)?;
            rows.push(ResultRow {
                stream: task.stream.clone(),
                task_id: task.id.clone(),
                task_type: task.task_type.clone(),
                ask_ms: task.ask_ms,
                lane: lane.clone(),
                correct: is_correct(task, &reply.answer, reply.abstained),
                answer: reply.answer,
                expected: task.answer.clone(),
                abstained: reply.abstained,
                entries_available: available.len(),
                entries_used: reply
                    .used
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
    }
    Ok(rows)
}

/// A suite's stream of one split: its folder, tasks and video.
struct SuiteStream {
    name: String,
    dir: PathBuf,
    video: PathBuf,
    tasks: Vec<Task>,
}

/// Makes the split's streams whole (generating the videos the repository does not hold),
/// after checking that the suite has the split.
fn ensure_split(
    suite: &Path,
    split: &str,
    on_event: &mut dyn FnMut(EvalEvent) -> ControlFlow<()>,
) -> Result<(), EvalError> {
    use crate::world::suite::{EnsureError, ensure_splits};
    let manifest =
        crate::policy::phase1::read_suite(suite).map_err(|e| EvalError::Input(e.to_string()))?;
    if !manifest.streams.iter().any(|s| s.split == split) {
        return Err(no_split(suite, split));
    }
    ensure_splits(suite, &[split], &mut |event| {
        on_event(EvalEvent::Preparing(event.clone()))
    })
    .map(|_| ())
    .map_err(|e| match e {
        EnsureError::Cancelled => EvalError::Cancelled,
        other => EvalError::Input(other.to_string()),
    })
}

fn no_split(suite: &Path, split: &str) -> EvalError {
    EvalError::Input(format!(
        "{}: no streams in split '{split}'",
        suite.display()
    ))
}

fn suite_streams(suite: &Path, split: &str) -> Result<Vec<SuiteStream>, EvalError> {
    let manifest =
        crate::policy::phase1::read_suite(suite).map_err(|e| EvalError::Input(e.to_string()))?;
    let mut out = Vec::new();
    for plan in manifest.streams.iter().filter(|s| s.split == split) {
        let dir = suite.join(&plan.folder);
        let questions = crate::world::questions::load_tasks(&dir.join("tasks.jsonl"))
            .map_err(|e| EvalError::Input(e.to_string()))?;
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let tasks = questions
            .iter()
            .map(|q| {
                let mut task = Task::from(q);
                task.stream.clone_from(&name);
                task
            })
            .collect();
        out.push(SuiteStream {
            name,
            video: dir.join("video.mp4"),
            dir,
            tasks,
        });
    }
    if out.is_empty() {
        return Err(no_split(suite, split));
    }
    Ok(out)
}

fn load_policy(settings: &SuiteSettings) -> Result<BuiltinPolicy, EvalError> {
    Ok(BuiltinPolicy::load(settings.model_dir.as_deref())
        .map_err(|e| EvalError::Input(format!("{e:#}")))?
        .with_budget(settings.budget_tokens))
}

/// Memorizes every stream of the split with the General lane and one lane per adapter (the
/// frames of each clip decoded once for all lanes), then answers every task.
///
/// # Errors
/// Bad input (suite, video, model, adapter), a policy failure, or a stop from `on_event`.
pub fn run_suite(
    settings: &SuiteSettings,
    answerer: &dyn Answerer,
    on_event: &mut dyn FnMut(EvalEvent) -> ControlFlow<()>,
) -> Result<EvalRun, EvalError> {
    let started = Instant::now();
    let suite = suite_folder(&settings.suite);
    ensure_split(&suite, &settings.split, on_event)?;
    let streams = suite_streams(&suite, &settings.split)?;
    let policy_name = {
        let policy = load_policy(settings)?;
        // The budget is part of what the memory is: a figure names it.
        format!(
            "{} at {} tokens per clip",
            policy.name(),
            policy.effective_budget()
        )
    };
    let mut lanes = vec![LaneInfo {
        lane: GENERAL_LANE.to_owned(),
        ..LaneInfo::default()
    }];
    let mut adapters = Vec::new();
    for path in &settings.adapters {
        let adapter = Adapter::load(path).map_err(|e| EvalError::Input(e.to_string()))?;
        if lanes.iter().any(|l| l.lane == adapter.name)
            || (settings.reference && adapter.name == REFERENCE_LANE)
        {
            return Err(EvalError::Input(format!(
                "{}: a second adapter named '{}'",
                path.display(),
                adapter.name
            )));
        }
        lanes.push(LaneInfo {
            lane: adapter.name.clone(),
            adapter: Some(path.display().to_string()),
            task_type: adapter.meta.task_type.clone(),
            tasks_seen: (!adapter.meta.task_ids.is_empty()).then_some(adapter.meta.task_ids.len()),
            tuned_on: adapter.meta.task_ids.clone(),
            unverified_adapter: None,
        });
        adapters.push(adapter);
    }
    if settings.reference {
        lanes.push(LaneInfo {
            lane: REFERENCE_LANE.to_owned(),
            ..LaneInfo::default()
        });
    }
    let mut samplers = Vec::new();
    for s in &streams {
        samplers.push(ClipSampler::open(&s.video).map_err(|e| EvalError::Input(e.to_string()))?);
    }
    let policy_lanes = lanes.len() - usize::from(settings.reference);
    let total: usize = samplers
        .iter()
        .map(|s| clip_spans(s.duration_ms(), settings.clip_ms).len() * policy_lanes)
        .sum();
    let mut memory: Vec<MemoryEntry> = Vec::new();
    let mut done = 0;
    for (stream, mut sampler) in streams.iter().zip(samplers) {
        if settings.reference {
            memory.extend(reference_entries(stream, memory.len() as u64 + 1)?);
        }
        let mut memorizers = Vec::new();
        for (info, adapter) in lanes
            .iter()
            .zip(std::iter::once(None).chain(adapters.iter().map(Some)))
        {
            let policy = load_policy(settings)?;
            if let Some(a) = adapter {
                a.check(policy.model().config())
                    .map_err(|e| EvalError::Input(e.to_string()))?;
            }
            memorizers.push(
                Memorizer::new(Box::new(policy), &stream.name, &info.lane)
                    .with_adapter(adapter.cloned()),
            );
        }
        let count = memorizers.first().map_or(1, Memorizer::frames_per_clip);
        for (start_ms, end_ms) in clip_spans(sampler.duration_ms(), settings.clip_ms) {
            let frames = sampler
                .frames(start_ms, end_ms, count)
                .map_err(|e| EvalError::Input(e.to_string()))?;
            for m in &mut memorizers {
                let mut entry = m
                    .memorize(&frames, start_ms, end_ms)
                    .map_err(|e| EvalError::Policy(format!("{}: {e}", stream.video.display())))?;
                entry.id = memory.len() as u64 + 1;
                memory.push(entry);
                done += 1;
            }
            let event = EvalEvent::Memorized {
                stream: stream.name.clone(),
                done,
                total,
            };
            if on_event(event).is_break() {
                return Err(EvalError::Cancelled);
            }
        }
    }
    let tasks: Vec<Task> = streams.into_iter().flat_map(|s| s.tasks).collect();
    if on_event(EvalEvent::Answering {
        questions: tasks.len(),
    })
    .is_break()
    {
        return Err(EvalError::Cancelled);
    }
    let lane_ids: Vec<String> = lanes.iter().map(|l| l.lane.clone()).collect();
    let rows = answer_tasks(&tasks, &memory, &lane_ids, answerer)?;
    Ok(EvalRun::new(
        (suite.display().to_string(), settings.split.clone()),
        (answerer, policy_name),
        started,
        (&tasks, rows, &lanes),
        memory,
    ))
}

/// The reference descriptions of a stream as entries, available at each clip's end.
fn reference_entries(stream: &SuiteStream, first_id: u64) -> Result<Vec<MemoryEntry>, EvalError> {
    let truth = crate::policy::data::read_truth(&stream.dir.join("truth.jsonl"))
        .map_err(|e| EvalError::Input(e.to_string()))?;
    Ok(truth
        .into_iter()
        .enumerate()
        .map(|(i, c)| MemoryEntry {
            budget_tokens: None,
            id: first_id + i as u64,
            stream: stream.name.clone(),
            lane: REFERENCE_LANE.to_owned(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            text: c.reference,
            available_ms: c.end_ms,
            policy: Some("world reference".to_owned()),
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        })
        .collect())
}

/// Answers a project's tasks from the lanes it already holds (all of them, or `only`).
///
/// # Errors
/// When the answerer fails or a lane asked for is not in the project.
pub fn run_project(
    project: &crate::project::Project,
    only: Option<&[String]>,
    answerer: &dyn Answerer,
) -> Result<EvalRun, EvalError> {
    let started = Instant::now();
    let mut lanes: Vec<LaneInfo> = project
        .manifest
        .lanes
        .iter()
        .filter(|l| only.is_none_or(|o| o.contains(&l.id)))
        .map(|l| LaneInfo {
            lane: l.id.clone(),
            task_type: l.task_hint.clone(),
            ..LaneInfo::default()
        })
        .collect();
    // Lanes written by ingest before the manifest listed them still count.
    for e in project.memory.entries() {
        if !lanes.iter().any(|l| l.lane == e.lane) && only.is_none_or(|o| o.contains(&e.lane)) {
            lanes.push(LaneInfo {
                lane: e.lane.clone(),
                ..LaneInfo::default()
            });
        }
    }
    // A lane memorized with an adapter: its sidecar says what it was tuned on. The file is
    // the one the lane records, else the one of its name in the project's `adapters/` folder
    // (where Phase Two writes); without either, the check cannot be made, and is said so.
    for info in &mut lanes {
        let recorded = project
            .manifest
            .lanes
            .iter()
            .find(|l| l.id == info.lane)
            .and_then(|l| l.adapter.clone());
        let named = project
            .memory
            .entries()
            .iter()
            .find(|e| e.lane == info.lane)
            .and_then(|e| e.adapter.clone());
        // Paths from project files stay inside the project, or are refused unread.
        let path = match crate::policy::adapter::project_adapter_path(
            &project.dir,
            &info.lane,
            recorded.as_deref(),
            named.as_deref(),
        ) {
            None => continue,
            Some(Err(e)) => {
                info.unverified_adapter = Some(e.to_string());
                continue;
            }
            Some(Ok(path)) => path,
        };
        // An imported lane names its adapter without bringing the file: say that, not the
        // operating system's "(os error 2)".
        if let Some(missing) = [path.clone(), path.with_extension("json")]
            .into_iter()
            .find(|p| !p.exists())
        {
            let shown = missing.strip_prefix(&project.dir).unwrap_or(&missing);
            info.unverified_adapter = Some(format!(
                "its adapter file {} {ADAPTER_NOT_IN_PROJECT}",
                shown.display()
            ));
            continue;
        }
        match Adapter::load(&path) {
            Ok(adapter) => {
                info.adapter = Some(path.display().to_string());
                info.tasks_seen =
                    (!adapter.meta.task_ids.is_empty()).then_some(adapter.meta.task_ids.len());
                info.task_type = info.task_type.take().or(adapter.meta.task_type);
                info.tuned_on = adapter.meta.task_ids;
            }
            Err(e) => info.unverified_adapter = Some(e.to_string()),
        }
    }
    if let Some(wanted) = only
        && let Some(missing) = wanted.iter().find(|w| !lanes.iter().any(|l| &l.lane == *w))
    {
        return Err(EvalError::Input(format!(
            "{}: no lane '{missing}'",
            project.dir.display()
        )));
    }
    let tasks: Vec<Task> = project.tasks.tasks().to_vec();
    let lane_ids: Vec<String> = lanes.iter().map(|l| l.lane.clone()).collect();
    let memory = project.memory.entries().to_vec();
    let rows = answer_tasks(&tasks, &memory, &lane_ids, answerer)?;
    Ok(EvalRun::new(
        (project.dir.display().to_string(), "project".to_owned()),
        (answerer, "lanes".to_owned()),
        started,
        (&tasks, rows, &lanes),
        memory,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::answer::BuiltinAnswerer;

    fn entry(start_ms: i64, available_ms: i64, text: &str) -> MemoryEntry {
        MemoryEntry {
            budget_tokens: None,
            id: start_ms as u64,
            stream: "s".into(),
            lane: GENERAL_LANE.into(),
            start_ms,
            end_ms: start_ms + 10_000,
            text: text.into(),
            available_ms,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        }
    }

    fn counting_task(ask_ms: i64) -> Task {
        let mut t = Task::authored("q1".into(), "s", ask_ms, "test");
        t.text = "How many apples were on the kitchen table at 00:00:10?".into();
        t.options = vec!["2".into(), "3".into(), "4".into(), "5".into()];
        t.answer = "B".into();
        t.task_type = "Counting Problem".into();
        t
    }

    #[test]
    fn an_entry_available_after_the_ask_time_is_never_used() {
        let memory = vec![entry(0, 25_000, "There are 3 apples on the kitchen table.")];
        let lanes = vec![GENERAL_LANE.to_owned()];
        let early = answer_tasks(&[counting_task(20_000)], &memory, &lanes, &BuiltinAnswerer)
            .expect("answers");
        assert_eq!(early[0].answer, "E");
        assert!(early[0].abstained && !early[0].correct);
        assert_eq!(early[0].entries_available, 0);
        let late = answer_tasks(&[counting_task(25_000)], &memory, &lanes, &BuiltinAnswerer)
            .expect("answers");
        assert_eq!(late[0].answer, "B");
        assert!(late[0].correct && late[0].entries_used == "0");
    }

    #[test]
    fn a_shipped_suite_is_found_by_its_relative_path_or_name_from_any_folder() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_SUITE);
        // The tests run in the crate's folder, which has no `world-mme` of its own.
        assert_eq!(suite_folder(Path::new("world-mme")), shipped);
        // A path that exists from the current folder is taken as it is.
        assert_eq!(
            suite_folder(Path::new(DEFAULT_SUITE)),
            Path::new(DEFAULT_SUITE)
        );
        assert_eq!(suite_folder(Path::new("nope")), Path::new("nope"));
        assert_eq!(
            suite_folder(Path::new("/no/such/suite")),
            Path::new("/no/such/suite")
        );
    }

    #[test]
    fn an_empty_memory_gives_no_coverage_and_all_e() {
        let tasks: Vec<Task> = (0..6).map(|i| counting_task(10_000 * (i + 1))).collect();
        let rows = answer_tasks(&tasks, &[], &[GENERAL_LANE.to_owned()], &BuiltinAnswerer)
            .expect("answers");
        assert!(rows.iter().all(|r| r.answer == "E" && r.abstained));
        let s = summarize(
            &rows,
            &[LaneInfo {
                lane: GENERAL_LANE.into(),
                ..LaneInfo::default()
            }],
        );
        assert_eq!((s[0].overall.cov, s[0].overall.acc), (0.0, 0.0));
    }
}
