//! A whole Phase Two run, as `taskmem train phase2` and the Phase Two window start it: the
//! recent tasks of a type from a project or a suite's training streams, pairs from the Phase
//! One policy's descriptions of the training clips, DPO on the steering vector, and the
//! adapter written as safetensors with its JSON sidecar.
//!
//! Honesty: a suite run reads only its `train` streams, tasks and clips alike; the questions
//! of the `test` streams it is evaluated on are never seen.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::dpo::{DpoSettings, DpoStats, TokenPair, train_steering};
use super::pairs::{
    Judgement, PairCounts, PairSettings, PairsError, Phase2Clip, PreferencePair, clips_of_stream,
    make_pairs, patches_tensor,
};
use super::reward::{Judge, TaskRewardModel};
use crate::policy::BuiltinPolicy;
use crate::policy::adapter::{Adapter, AdapterMeta};
use crate::policy::builtin::{DecodeOptions, MemorizerModel, Sampling, Steering};
use crate::policy::ingest::{ClipSampler, clip_spans};
use crate::policy::lang::Vocab;
use crate::tasks::Task;

/// Where tasks and clips come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase2Source {
    /// A project's tasks and the videos of its streams.
    Project(PathBuf),
    /// A suite's `train` streams: their tasks and videos.
    Suite(PathBuf),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Phase2Settings {
    pub source: Phase2Source,
    /// Empty: tasks of every type.
    pub task_type: String,
    /// The last this many tasks of the type (TaskMem refreshes after 10, 30 and 50).
    pub recent: usize,
    /// Only these tasks (by id), when a person picked them in the task library.
    pub task_ids: Option<Vec<String>>,
    /// The adapter file (`.safetensors`; the sidecar is written beside it).
    pub out: PathBuf,
    /// The Phase One model (default: the shipped one).
    pub model_dir: Option<PathBuf>,
    /// At most this many training clips (evenly spread), to bound the time.
    pub max_clips: Option<usize>,
    pub pairs: PairSettings,
    pub dpo: DpoSettings,
}

impl Phase2Settings {
    #[must_use]
    pub fn new(source: Phase2Source, task_type: &str, out: PathBuf) -> Self {
        Self {
            source,
            task_type: task_type.to_owned(),
            recent: 50,
            task_ids: None,
            out,
            model_dir: None,
            max_clips: None,
            pairs: PairSettings::default(),
            dpo: DpoSettings::default(),
        }
    }
}

/// Progress of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase2Event {
    Stage(String),
    /// Clips read (decoded and described by the policy) so far.
    ClipsRead {
        done: usize,
        total: usize,
    },
    /// A clip judged, with each of its sampled descriptions' judgement (kept or dropped).
    Pairs {
        done: usize,
        total: usize,
        judged: Vec<Judgement>,
    },
    Dpo(DpoStats),
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase2Summary {
    pub adapter: PathBuf,
    pub name: String,
    pub task_type: String,
    pub task_ids: Vec<String>,
    pub counts: PairCounts,
    pub last: Option<DpoStats>,
    pub seconds: f64,
    /// The judge that chose the pairs (`builtin`, or `remote:MODEL`).
    pub judge: String,
    /// The training clips whose description the adapter changes: what it does to memory.
    pub changes: Vec<Change>,
    /// How many training clips were described with the adapter to find them.
    pub compared: usize,
}

/// A training clip the policy describes differently with the adapter, each description
/// following the one it wrote itself for the clip before (as a lane is memorized).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub stream: String,
    pub start_ms: i64,
    /// The Phase One policy's own description.
    pub before: String,
    /// The same policy's with the adapter.
    pub after: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Phase2Error {
    /// Something the user supplied is wrong; the message names the file.
    #[error("{0}")]
    Input(String),
    #[error("the policy failed: {0}")]
    Model(String),
    /// The judge could not judge (an endpoint that fails, a reply that does not parse twice).
    #[error("{0}")]
    Judge(String),
    #[error("{path}: cannot write the adapter: {message}")]
    Write { path: String, message: String },
    /// No sampled description won or lost in both orders: nothing for DPO to learn from.
    #[error(
        "no preference pairs for {}: {}",
        type_phrase(task_type),
        no_pairs_reason(counts)
    )]
    NoPairs {
        task_type: String,
        counts: PairCounts,
    },
    #[error("stopped")]
    Cancelled,
}

/// "'Counting Problem'", or "every type" for a run on all of them.
fn type_phrase(task_type: &str) -> String {
    if task_type.is_empty() {
        "every type".to_owned()
    } else {
        format!("'{task_type}'")
    }
}

fn no_pairs_reason(counts: &PairCounts) -> String {
    if counts.judged == 0 {
        format!(
            "every sampled description of the {} clips was the policy's own again, so none was judged (sample more per clip, or from more clips)",
            counts.clips
        )
    } else {
        format!(
            "none of the {} sampled descriptions was preferred to the policy's own, or it to them, in both orders ({} ties, {} flips)",
            counts.judged, counts.ties, counts.flips
        )
    }
}

impl From<PairsError> for Phase2Error {
    fn from(e: PairsError) -> Self {
        match e {
            PairsError::Cancelled => Self::Cancelled,
            PairsError::Judge(e) => Self::Judge(e.to_string()),
            PairsError::Model(e) => Self::Model(e.to_string()),
        }
    }
}

/// A stream to read clips from.
struct StreamSource {
    name: String,
    video: PathBuf,
}

/// The tasks and streams of a source. Suite tasks take their stream folder's name.
fn gather(source: &Phase2Source) -> Result<(Vec<Task>, Vec<StreamSource>), Phase2Error> {
    match source {
        Phase2Source::Suite(suite) => {
            let manifest = crate::policy::phase1::read_suite(suite)
                .map_err(|e| Phase2Error::Input(e.to_string()))?;
            let mut tasks = Vec::new();
            let mut streams = Vec::new();
            // Only the training split: the test streams' questions are what adapters are
            // evaluated on.
            for plan in manifest.streams.iter().filter(|s| s.split == "train") {
                let dir = suite.join(&plan.folder);
                let name = dir
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let questions = crate::world::questions::load_tasks(&dir.join("tasks.jsonl"))
                    .map_err(|e| Phase2Error::Input(e.to_string()))?;
                tasks.extend(questions.iter().map(|q| {
                    let mut t = Task::from(q);
                    t.stream.clone_from(&name);
                    t
                }));
                streams.push(StreamSource {
                    name,
                    video: dir.join("video.mp4"),
                });
            }
            Ok((tasks, streams))
        }
        Phase2Source::Project(dir) => {
            let project = crate::project::Project::open(dir)
                .map_err(|e| Phase2Error::Input(e.to_string()))?;
            let streams = project
                .manifest
                .streams
                .iter()
                .filter_map(|s| {
                    s.video.as_ref().map(|v| StreamSource {
                        name: s.id.clone(),
                        video: PathBuf::from(v),
                    })
                })
                .filter(|s| s.video.is_file())
                .collect();
            Ok((project.tasks.tasks().to_vec(), streams))
        }
    }
}

/// The tasks a source offers: a suite's training streams' (each named after its stream
/// folder) or a project's.
///
/// # Errors
/// A suite or project that cannot be read.
pub fn source_tasks(source: &Phase2Source) -> Result<Vec<Task>, Phase2Error> {
    gather(source).map(|(tasks, _)| tasks)
}

/// The tasks that define the reward: the ticked ones (`task_ids`, of the type when one is
/// chosen, so that the adapter's label stays true), else the last `recent` of the type
/// (`""`: every type).
#[must_use]
pub fn task_set(
    tasks: &[Task],
    task_type: &str,
    recent: usize,
    task_ids: Option<&[String]>,
) -> TaskRewardModel {
    let wanted = Some(task_type).filter(|t| !t.is_empty());
    match task_ids {
        Some(ids) => TaskRewardModel {
            task_type: wanted.map(str::to_owned),
            tasks: tasks
                .iter()
                .filter(|t| ids.contains(&t.id))
                .filter(|t| wanted.is_none_or(|w| t.task_type == w))
                .cloned()
                .collect(),
        },
        None => TaskRewardModel::recent(tasks, wanted, recent),
    }
}

/// Why a task set is empty: the type has no tasks among `tasks`, and which types there are.
#[must_use]
pub fn no_tasks_message(tasks: &[Task], task_type: &str) -> String {
    let mut types: Vec<&str> = tasks.iter().map(|t| t.task_type.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    if types.is_empty() {
        return "no tasks to tune on: there are none here".to_owned();
    }
    format!(
        "no tasks of type '{task_type}' to tune on (types there: {})",
        types.join(", ")
    )
}

/// `max` spans evenly spread over `spans` (all of them when there are fewer).
fn spread<T: Clone>(items: &[T], max: Option<usize>) -> Vec<T> {
    match max {
        Some(max) if max < items.len() => (0..max)
            .map(|i| items[i * items.len() / max].clone())
            .collect(),
        _ => items.to_vec(),
    }
}

/// The default file of an adapter tuned on the last `recent` tasks of `task_type` (`""`: every
/// type): `counting-problem-50.safetensors`, `all-types-10.safetensors`.
#[must_use]
pub fn adapter_file_name(task_type: &str, recent: usize) -> String {
    let slug: String = task_type
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-');
    format!(
        "{}-{recent}.safetensors",
        if slug.is_empty() { "all-types" } else { slug }
    )
}

/// The adapter's name: its file stem.
fn adapter_name(out: &Path) -> String {
    out.file_stem().map_or_else(
        || "adapter".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Everything before DPO: the reward model, the clips and the judged pairs.
struct Prepared {
    policy: BuiltinPolicy,
    reward: TaskRewardModel,
    clips: Vec<Phase2Clip>,
    pairs: Vec<PreferencePair>,
    counts: PairCounts,
}

fn stop(flow: ControlFlow<()>) -> Result<(), Phase2Error> {
    if flow.is_break() {
        Err(Phase2Error::Cancelled)
    } else {
        Ok(())
    }
}

#[allow(clippy::too_many_lines)] // Gathering, reading clips and judging, step after step.
fn prepare(
    settings: &Phase2Settings,
    judge: &dyn Judge,
    on_event: &mut dyn FnMut(Phase2Event) -> ControlFlow<()>,
) -> Result<Prepared, Phase2Error> {
    stop(on_event(Phase2Event::Stage(
        "reading tasks and clips".to_owned(),
    )))?;
    if let Phase2Source::Suite(suite) = &settings.source {
        // The training streams' videos the repository does not hold are made here.
        crate::policy::phase1::ensure_suite(suite, &["train"], &mut |text| {
            on_event(Phase2Event::Stage(text))
        })
        .map_err(|e| match e {
            crate::policy::phase1::Phase1Error::Cancelled => Phase2Error::Cancelled,
            other => Phase2Error::Input(other.to_string()),
        })?;
    }
    let (tasks, streams) = gather(&settings.source)?;
    let reward = task_set(
        &tasks,
        &settings.task_type,
        settings.recent,
        settings.task_ids.as_deref(),
    );
    if reward.tasks.is_empty() {
        return Err(Phase2Error::Input(no_tasks_message(
            &tasks,
            &settings.task_type,
        )));
    }
    if streams.is_empty() {
        return Err(Phase2Error::Input(
            "no stream with a video to take training clips from".to_owned(),
        ));
    }
    let policy = BuiltinPolicy::load(settings.model_dir.as_deref())
        .map_err(|e| Phase2Error::Input(format!("{e:#}")))?
        .with_budget(settings.pairs.budget_tokens);
    let model = policy.model();
    let cfg = model.config().clone();
    let dpo = &settings.dpo;
    if dpo.layer >= cfg.dec_layers || dpo.beta <= 0.0 || !dpo.beta.is_finite() || dpo.steps == 0 {
        return Err(Phase2Error::Input(format!(
            "DPO settings: the layer must be below {} (the model's decoder layers), beta above 0 and steps at least 1 (got layer {}, beta {}, steps {})",
            cfg.dec_layers, dpo.layer, dpo.beta, dpo.steps
        )));
    }
    let vocab = Vocab::world();
    // Every clip of every stream, then an even spread of them.
    let mut samplers = Vec::new();
    let mut spans = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let sampler = ClipSampler::open(&s.video).map_err(|e| Phase2Error::Input(e.to_string()))?;
        spans.extend(
            clip_spans(sampler.duration_ms(), 10_000)
                .into_iter()
                .map(|(a, b)| (i, a, b)),
        );
        samplers.push(sampler);
    }
    let picked = spread(&spans, settings.max_clips);
    let total = picked.len();
    let mut clips: Vec<Phase2Clip> = Vec::with_capacity(total);
    for (i, stream) in streams.iter().enumerate() {
        let mine: Vec<(i64, i64)> = picked
            .iter()
            .filter(|(s, _, _)| *s == i)
            .map(|&(_, a, b)| (a, b))
            .collect();
        let sampler = &mut samplers[i];
        let mut done = clips.len();
        let mut cancelled = false;
        let read = clips_of_stream(
            &policy,
            &vocab,
            &stream.name,
            Some(&stream.video.display().to_string()),
            &mine,
            &mut |a, b| {
                // One event per clip: a long stream stops at the next clip on Cancel.
                if on_event(Phase2Event::ClipsRead { done, total }).is_break() {
                    cancelled = true;
                    return Err("stopped".to_owned());
                }
                done += 1;
                sampler
                    .frames(a, b, cfg.frames_per_clip)
                    .map_err(|e| e.to_string())
            },
        );
        if cancelled {
            return Err(Phase2Error::Cancelled);
        }
        clips.extend(read.map_err(Phase2Error::Model)?);
    }
    stop(on_event(Phase2Event::Stage(format!(
        "judging {} sampled descriptions per clip on {} tasks",
        settings.pairs.samples_per_clip,
        reward.tasks.len()
    ))))?;
    let (pairs, counts) = make_pairs(
        model,
        &vocab,
        &clips,
        &reward,
        judge,
        &settings.pairs,
        &mut |done, total, judged| {
            on_event(Phase2Event::Pairs {
                done,
                total,
                judged: judged.to_vec(),
            })
        },
    )?;
    Ok(Prepared {
        policy,
        reward,
        clips,
        pairs,
        counts,
    })
}

/// Runs Phase Two with `judge` (the built-in [`super::reward::BuiltinJudge`] or a remote
/// LLM) and writes the adapter. `on_event` sees each step and may stop the run (then nothing
/// is written and the result is `Cancelled`).
///
/// # Errors
/// Bad input, a policy or judge failure, a file that cannot be written, or a stop.
pub fn run(
    settings: &Phase2Settings,
    judge: &dyn Judge,
    on_event: &mut dyn FnMut(Phase2Event) -> ControlFlow<()>,
) -> Result<Phase2Summary, Phase2Error> {
    let started = Instant::now();
    let Prepared {
        policy,
        reward,
        clips,
        pairs,
        counts,
    } = prepare(settings, judge, on_event)?;
    let model = policy
        .frozen_model()
        .map_err(|e| Phase2Error::Model(e.to_string()))?;
    let vocab = Vocab::world();
    if pairs.is_empty() {
        return Err(Phase2Error::NoPairs {
            task_type: settings.task_type.clone(),
            counts,
        });
    }
    stop(on_event(Phase2Event::Stage(format!(
        "DPO on {} pairs",
        pairs.len()
    ))))?;
    let by_clip: std::collections::HashMap<(String, i64), &Phase2Clip> = clips
        .iter()
        .map(|c| ((c.stream.clone(), c.start_ms), c))
        .collect();
    let token_pairs: Vec<TokenPair> = pairs
        .iter()
        .filter_map(|p| {
            by_clip
                .get(&(p.stream.clone(), p.start_ms))
                .map(|clip| TokenPair {
                    patches: clip.patches.clone(),
                    context: vocab.encode(&p.context),
                    chosen: vocab.encode(&p.chosen),
                    rejected: vocab.encode(&p.rejected),
                })
        })
        .collect();
    let mut cancelled = false;
    let (vector, stats) = train_steering(&model, &token_pairs, &settings.dpo, &mut |s| {
        let flow = on_event(Phase2Event::Dpo(s));
        cancelled |= flow.is_break();
        flow
    })
    .map_err(|e| Phase2Error::Model(e.to_string()))?;
    if cancelled {
        return Err(Phase2Error::Cancelled);
    }
    let last = stats.last().copied();
    let name = adapter_name(&settings.out);
    let steering = Steering {
        layer: settings.dpo.layer,
        scale: settings.dpo.scale,
        vector: candle_core::Tensor::from_vec(
            vector.clone(),
            vector.len(),
            &candle_core::Device::Cpu,
        )
        .map_err(|e| Phase2Error::Model(e.to_string()))?,
    };
    let changes = changes_made(
        (&model, settings.pairs.budget_tokens),
        &vocab,
        &clips,
        &steering,
        on_event,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let meta = AdapterMeta {
        layer: settings.dpo.layer,
        scale: settings.dpo.scale,
        task_type: Some(settings.task_type.clone()).filter(|t| !t.is_empty()),
        task_ids: reward.ids(),
        metrics: serde_json::json!({
            "judge": judge.name(),
            "pairs": counts.kept,
            "judged": counts.judged,
            "ties": counts.ties,
            "flips": counts.flips,
            "clips": counts.clips,
            "beta": settings.dpo.beta,
            "steps": stats.len(),
            "final_loss": last.map(|s| s.loss),
            "final_margin": last.map(|s| s.margin),
            "final_accuracy": last.map(|s| s.accuracy),
            "seconds": seconds,
            "seed": settings.dpo.seed,
            "clips_changed": changes.len(),
        }),
    };
    let adapter =
        Adapter::from_values(&name, meta, vector).map_err(|e| Phase2Error::Model(e.to_string()))?;
    let folder = settings.out.parent().filter(|d| !d.as_os_str().is_empty());
    let created = match folder {
        Some(dir) => crate::fsutil::create_dir_all_new(dir).map_err(|e| Phase2Error::Write {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?,
        None => None,
    };
    if let Err(e) = adapter.save(&settings.out) {
        // A folder made for the adapter goes with it (a project's `adapters/` included).
        if let (Some(top), Some(dir)) = (created, folder) {
            crate::fsutil::remove_created(&top, dir);
        }
        return Err(Phase2Error::Write {
            path: settings.out.display().to_string(),
            message: e.to_string(),
        });
    }
    Ok(Phase2Summary {
        adapter: settings.out.clone(),
        name,
        task_type: settings.task_type.clone(),
        task_ids: reward.ids(),
        counts,
        last,
        seconds,
        judge: judge.name(),
        changes,
        compared: clips.len(),
    })
}

/// The training clips the adapter changes: each described again with `steering`, after the
/// description the steered policy wrote for the clip before when the two follow each other.
fn changes_made(
    (model, budget_tokens): (&MemorizerModel, Option<usize>),
    vocab: &Vocab,
    clips: &[Phase2Clip],
    steering: &Steering,
    on_event: &mut dyn FnMut(Phase2Event) -> ControlFlow<()>,
) -> Result<Vec<Change>, Phase2Error> {
    let failed = |e: candle_core::Error| Phase2Error::Model(e.to_string());
    let mut changes = Vec::new();
    let mut previous: Option<(&Phase2Clip, String)> = None;
    for (i, clip) in clips.iter().enumerate() {
        stop(on_event(Phase2Event::Stage(format!(
            "describing the training clips with the adapter {}/{}",
            i + 1,
            clips.len()
        ))))?;
        let context = previous
            .as_ref()
            .filter(|(p, _)| p.stream == clip.stream && p.end_ms == clip.start_ms)
            .map(|(_, text)| text.clone())
            .unwrap_or_default();
        let patches = patches_tensor(model, &clip.patches).map_err(failed)?;
        let after = model
            .generate_with(
                &patches,
                &vocab.encode(&context),
                Sampling::Greedy,
                DecodeOptions {
                    steering: Some(steering),
                    budget_tokens,
                },
            )
            .map_err(failed)?;
        let after = vocab.decode(&after.tokens);
        if after != clip.greedy {
            changes.push(Change {
                stream: clip.stream.clone(),
                start_ms: clip.start_ms,
                before: clip.greedy.clone(),
                after: after.clone(),
            });
        }
        previous = Some((clip, after));
    }
    Ok(changes)
}

/// The preference pairs a run would tune on, without tuning (for `taskmem export pairs`).
///
/// # Errors
/// As [`run`].
pub fn pairs_only(
    settings: &Phase2Settings,
    judge: &dyn Judge,
    on_event: &mut dyn FnMut(Phase2Event) -> ControlFlow<()>,
) -> Result<(Vec<PreferencePair>, PairCounts), Phase2Error> {
    let prepared = prepare(settings, judge, on_event)?;
    Ok((prepared.pairs, prepared.counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adapters_default_file_names_its_type_and_task_count() {
        assert_eq!(
            adapter_file_name("Counting Problem", 50),
            "counting-problem-50.safetensors"
        );
        assert_eq!(adapter_file_name("", 10), "all-types-10.safetensors");
    }

    #[test]
    fn a_run_without_pairs_says_whether_its_samples_tied_or_were_never_different() {
        let none_judged = Phase2Error::NoPairs {
            task_type: String::new(),
            counts: PairCounts {
                clips: 4,
                ..PairCounts::default()
            },
        };
        assert_eq!(
            none_judged.to_string(),
            "no preference pairs for every type: every sampled description of the 4 clips was \
             the policy's own again, so none was judged (sample more per clip, or from more clips)"
        );
        let tied = Phase2Error::NoPairs {
            task_type: "OCR Problems".into(),
            counts: PairCounts {
                clips: 8,
                judged: 7,
                ties: 6,
                flips: 1,
                kept: 0,
            },
        };
        assert!(
            tied.to_string().starts_with(
                "no preference pairs for 'OCR Problems': none of the 7 sampled descriptions"
            ) && tied.to_string().ends_with("(6 ties, 1 flips)"),
            "{tied}"
        );
    }
}
