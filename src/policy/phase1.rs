//! A whole Phase One run, as `taskmem train phase1` and the app's Training window start it:
//! examples from a suite's train streams (plus simulated ones), the supervised warm-up, Phase
//! One GRPO from the warm-up model, both judged on the suite's test streams; writes the
//! weights, config, a training log (Parquet) and a summary. Reports progress as events and
//! stops when asked. No egui.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::builtin::{Config, Generated, PerceptionInput};
use super::data::{ClipExample, simulated_examples, stream_examples};
use super::frontend::Frontend;
use super::lang::Vocab;
use super::report::{Quality, evaluate, world_rewards};
use super::reward::{KindUtility, RewardWeights};
use super::train::{GrpoSettings, Trainable, WarmupSettings, grpo, warm_up};
use crate::world::SuiteSpec;
use crate::world::suite::SuiteManifest;

/// Simulated streams' seeds start far above any suite's, so no test stream is ever drawn.
const FIRST_SIMULATED_SEED: u64 = 1_000_000;
const SIMULATED_DURATION_MS: i64 = 180_000;

#[derive(Debug, thiserror::Error)]
pub enum Phase1Error {
    /// What the user gave: a suite that cannot be read, too few streams, a size unknown.
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Model {
        what: &'static str,
        #[source]
        source: candle_core::Error,
    },
    #[error("{}: cannot write: {detail}", path.display())]
    Write { path: PathBuf, detail: String },
    #[error("stopped")]
    Cancelled,
}

/// The model sizes a run can train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ModelSize {
    /// The shipped size.
    Small,
    /// For a quick look (and tests).
    Tiny,
}

impl ModelSize {
    /// # Errors
    /// On a name other than small or tiny.
    pub fn named(name: &str) -> Result<Self, Phase1Error> {
        match name {
            "small" => Ok(Self::Small),
            "tiny" => Ok(Self::Tiny),
            other => Err(Phase1Error::Input(format!(
                "--size {other}: choose small or tiny"
            ))),
        }
    }

    #[must_use]
    pub fn config(self, vocab_size: usize) -> Config {
        match self {
            Self::Small => Config::small(vocab_size),
            Self::Tiny => Config::tiny(vocab_size),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Phase1Settings {
    /// A suite folder (with suite.json).
    pub suite: PathBuf,
    pub out: PathBuf,
    pub seed: u64,
    pub warmup_steps: usize,
    pub steps: usize,
    /// Training streams simulated beside the suite's own.
    pub extra_streams: usize,
    pub size: ModelSize,
    /// Policy v2: the perception encoder the model reads through (a folder that
    /// `taskmem train perception` wrote); `None` trains a pixel model as before.
    pub perception: Option<PathBuf>,
    /// Tokens per description: v2's warm-up targets and Phase One's length term.
    pub budget_tokens: usize,
    /// A model folder to start from instead of fresh weights (its size and encoder must be
    /// the run's): Phase One from a warm-up made before, with `warmup_steps` 0.
    pub from: Option<PathBuf>,
    /// What a true fact is worth to Phase One's richness term.
    pub richness: Richness,
}

/// How Phase One's richness term counts true facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Richness {
    /// Every distinct true fact counts one.
    #[default]
    Uniform,
    /// Each fact counts by its kind's worth to the suite's training questions
    /// ([`KindUtility::from_questions`]).
    Questions,
    /// Events count one, every other kind [`UTILITY_FLOOR`]: the headroom oracle's generic
    /// order (`eval::budget`), which puts events first because most task types are answered
    /// from what someone did, and a room or an outfit repeats from clip to clip.
    Events,
}

impl Richness {
    /// `uniform` or `questions`.
    ///
    /// # Errors
    /// Any other name.
    pub fn named(name: &str) -> Result<Self, Phase1Error> {
        match name {
            "uniform" => Ok(Self::Uniform),
            "questions" => Ok(Self::Questions),
            "events" => Ok(Self::Events),
            other => Err(Phase1Error::Input(format!(
                "--richness {other}: choose uniform, questions or events"
            ))),
        }
    }
}

/// The lowest worth [`Richness::Questions`] gives a kind: a true fact no training question
/// asks for still beats a false one.
const UTILITY_FLOOR: f64 = 0.1;

/// What a run reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase1Event {
    /// A stage began (reading streams, warm-up, judging, ...).
    Stage(String),
    WarmupStep {
        step: usize,
        steps: usize,
        loss: f32,
    },
    GrpoStep {
        step: usize,
        steps: usize,
        mean_reward: f64,
        loss: f32,
    },
    /// The held-out quality of a model ("warm-up" or "phase one").
    Judged { model: String, quality: Quality },
}

#[derive(Clone, Debug, Serialize)]
pub struct Phase1Summary {
    pub suite: String,
    pub seed: u64,
    pub config: Config,
    pub train_clips: usize,
    pub test_clips: usize,
    /// The split `test_clips` and the qualities come from: test for the pixel model, validation
    /// for v2 while its recipe is chosen.
    pub held_out_split: String,
    pub extra_streams: usize,
    pub warmup_steps: usize,
    pub grpo_steps: usize,
    pub warmup_seconds: f64,
    pub grpo_seconds: f64,
    pub warmup: Quality,
    pub phase1: Quality,
    /// The model the run started from (`None`: fresh weights).
    pub from: Option<String>,
    pub richness: Richness,
    /// Each claim kind's worth to the richness term, in [`crate::world::grammar::CLAIM_KINDS`]
    /// order.
    pub kind_utility: KindUtility,
}

fn model_err(what: &'static str) -> impl Fn(candle_core::Error) -> Phase1Error {
    move |source| Phase1Error::Model { what, source }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Reads a suite's manifest.
///
/// # Errors
/// When suite.json is missing or is not a suite.
pub fn read_suite(suite: &Path) -> Result<SuiteManifest, Phase1Error> {
    let path = suite.join("suite.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Phase1Error::Input(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Phase1Error::Input(format!("{}: not a suite: {e}", path.display())))
}

/// Makes the suite's streams of `splits` whole (`world::suite::ensure_splits`), reporting
/// progress as stage lines.
///
/// # Errors
/// A suite that cannot be made whole, or a stop from `stage`.
pub fn ensure_suite(
    suite: &Path,
    splits: &[&str],
    stage: &mut dyn FnMut(String) -> ControlFlow<()>,
) -> Result<(), Phase1Error> {
    use crate::world::suite::{EnsureError, ensure_splits, stage_lines};
    ensure_splits(suite, splits, &mut stage_lines(stage))
        .map(|_| ())
        .map_err(|e| match e {
            EnsureError::Cancelled => Phase1Error::Cancelled,
            other => Phase1Error::Input(other.to_string()),
        })
}

/// Every clip of a suite's streams of one split, as examples.
///
/// # Errors
/// When a stream's video or truth cannot be read.
pub fn examples_of(
    suite: &Path,
    manifest: &SuiteManifest,
    split: &str,
    cfg: &Config,
    vocab: &Vocab,
    frontend: &Frontend,
) -> Result<Vec<ClipExample>, Phase1Error> {
    let mut out = Vec::new();
    for stream in manifest.streams.iter().filter(|s| s.split == split) {
        let dir = suite.join(&stream.folder);
        out.extend(
            stream_examples(&dir, cfg, vocab, threads(), frontend)
                .map_err(|e| Phase1Error::Input(e.to_string()))?,
        );
    }
    Ok(out)
}

/// Each kind's worth from the suite's `split` questions against the facts of `examples` (that
/// split's clips).
///
/// # Errors
/// A stream's tasks.jsonl that cannot be read.
fn kind_utility(
    suite: &Path,
    manifest: &SuiteManifest,
    split: &str,
    examples: &[ClipExample],
) -> Result<KindUtility, Phase1Error> {
    #[derive(serde::Deserialize)]
    struct Asked {
        #[serde(default)]
        support: Vec<String>,
    }
    let mut support = Vec::new();
    for stream in manifest.streams.iter().filter(|s| s.split == split) {
        let path = suite.join(&stream.folder).join("tasks.jsonl");
        let asked: Vec<Asked> = crate::fsutil::read_jsonl(&path).map_err(|e| {
            let problem = match e {
                crate::fsutil::JsonlError::Io(e) => format!("cannot read: {e}"),
                crate::fsutil::JsonlError::Line { line, detail } => {
                    format!("line {line}: {detail}")
                }
            };
            Phase1Error::Input(format!("{}: {problem}", path.display()))
        })?;
        support.extend(asked.into_iter().flat_map(|a| a.support));
    }
    let held = examples
        .iter()
        .flat_map(|e| e.truth.facts.iter().map(String::as_str));
    Ok(KindUtility::from_questions(
        held,
        support.iter().map(String::as_str),
        UTILITY_FLOOR,
    ))
}

/// `count` streams simulated from the suite's spec, on every core.
fn simulated_streams(
    spec: &SuiteSpec,
    seed: u64,
    count: usize,
    cfg: &Config,
    vocab: &Vocab,
    frontend: &Frontend,
) -> Result<Vec<ClipExample>, Phase1Error> {
    let seeds: Vec<u64> = (0..count as u64)
        // Wrapping keeps any seed usable; the floor keeps clear of every suite's seeds.
        .map(|i| {
            FIRST_SIMULATED_SEED
                .wrapping_add(seed.wrapping_mul(10_000))
                .wrapping_add(i)
                .max(FIRST_SIMULATED_SEED)
        })
        .collect();
    let chunk = seeds.len().div_ceil(threads()).max(1);
    let results: Vec<Result<Vec<ClipExample>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for &seed in chunk {
                        out.extend(
                            simulated_examples(
                                spec,
                                seed,
                                SIMULATED_DURATION_MS,
                                cfg,
                                vocab,
                                frontend,
                            )
                            .map_err(|e| e.to_string())?,
                        );
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a simulation thread panicked".to_owned()))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r.map_err(Phase1Error::Input)?);
    }
    Ok(out)
}

/// Runs warm-up and Phase One and writes everything into `settings.out`. `on_event` sees each
/// step and may stop the run (then nothing more is written and the result is `Cancelled`).
///
/// # Errors
/// Bad input, a tensor error, a file that cannot be written, or a stop.
#[allow(clippy::too_many_lines)] // One run, stage after stage, reads best in one place.
pub fn run(
    settings: &Phase1Settings,
    on_event: &mut dyn FnMut(Phase1Event) -> ControlFlow<()>,
) -> Result<Phase1Summary, Phase1Error> {
    // Each training step frees and allocates the same large tensors; keeping freed memory
    // took a step of the shipped model's warm-up from 2.24 s to 1.55 s.
    let _kept = crate::alloc::keep_freed_memory();
    let vocab = Vocab::world();
    let (cfg, frontend) = model_and_frontend(settings, &vocab)?;
    let stage = |on_event: &mut dyn FnMut(Phase1Event) -> ControlFlow<()>, text: &str| {
        if on_event(Phase1Event::Stage(text.to_owned())).is_break() {
            Err(Phase1Error::Cancelled)
        } else {
            Ok(())
        }
    };
    stage(on_event, "reading the suite's streams")?;
    let manifest = read_suite(&settings.suite)?;
    // v2's recipe is still being chosen: its runs judge on validation, never on test.
    let held_out = if settings.perception.is_some() {
        "validation"
    } else {
        "test"
    };
    ensure_suite(&settings.suite, &["train", held_out], &mut |text| {
        on_event(Phase1Event::Stage(text))
    })?;
    let mut train = examples_of(&settings.suite, &manifest, "train", &cfg, &vocab, &frontend)?;
    let test = examples_of(
        &settings.suite,
        &manifest,
        held_out,
        &cfg,
        &vocab,
        &frontend,
    )?;
    if train.is_empty() || test.is_empty() {
        return Err(Phase1Error::Input(format!(
            "{}: the suite needs train and {held_out} streams ({} and {} clips found)",
            settings.suite.display(),
            train.len(),
            test.len()
        )));
    }
    let utility = match settings.richness {
        Richness::Uniform => KindUtility::default(),
        Richness::Questions => kind_utility(&settings.suite, &manifest, "train", &train)?,
        Richness::Events => KindUtility::events_first(UTILITY_FLOOR),
    };
    stage(
        on_event,
        &format!(
            "simulating {} more training streams",
            settings.extra_streams
        ),
    )?;
    train.extend(simulated_streams(
        &manifest.spec,
        settings.seed,
        settings.extra_streams,
        &cfg,
        &vocab,
        &frontend,
    )?);
    stage(
        on_event,
        &format!(
            "{} train clips, {} {held_out} clips; warm-up",
            train.len(),
            test.len()
        ),
    )?;
    let trainable = start_model(settings, &cfg)?;
    let mut log: Vec<(&str, usize, f32, f64)> = Vec::new();
    let mut cancelled = false;

    let started = Instant::now();
    let base_warmup = WarmupSettings {
        steps: settings.warmup_steps,
        seed: settings.seed,
        ..WarmupSettings::default()
    };
    let warmup = if settings.perception.is_some() {
        // v2: the encoder already looks; the targets are what it saw, within the budget.
        WarmupSettings {
            fact_budget: Some(settings.budget_tokens),
            seen_share: 0.0,
            aux_weight: 0.0,
            cosine_schedule: true,
            batch: 32,
            ..base_warmup
        }
    } else {
        base_warmup
    };
    let losses = warm_up(&trainable, &train, &warmup, &mut |p| {
        let flow = on_event(Phase1Event::WarmupStep {
            step: p.step,
            steps: p.steps,
            loss: p.loss,
        });
        cancelled |= flow.is_break();
        flow
    })
    .map_err(model_err("warm-up"))?;
    if cancelled {
        return Err(Phase1Error::Cancelled);
    }
    let warmup_seconds = started.elapsed().as_secs_f64();
    log.extend(
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| ("warmup", i + 1, l, f64::NAN)),
    );
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: anyhow::Error| Phase1Error::Write {
            path: path.clone(),
            detail: format!("{e:#}"),
        }
    };
    // Everything goes into a stage beside `out`, moved in at the end: a run that fails part
    // way (a full disk) leaves no half-written model folder.
    let staged = crate::fsutil::StagedDir::new(&settings.out).map_err(|e| Phase1Error::Write {
        path: settings.out.clone(),
        detail: e.to_string(),
    })?;
    let out = staged.path().to_path_buf();
    let warmup_dir = out.join("warmup");
    trainable
        .save(&warmup_dir)
        .map_err(write_err(&warmup_dir))?;
    copy_perception(settings, &warmup_dir)?;
    stage(
        on_event,
        &format!("judging the warm-up model on the {held_out} streams"),
    )?;
    let warmup_quality = evaluate(&trainable.model, &test, &vocab).map_err(model_err("judging"))?;
    let _ = on_event(Phase1Event::Judged {
        model: "warm-up".to_owned(),
        quality: warmup_quality,
    });

    stage(on_event, "Phase One")?;
    let started = Instant::now();
    let reference = trainable
        .frozen_copy()
        .map_err(model_err("the reference model"))?;
    let base_grpo = GrpoSettings {
        steps: settings.steps,
        seed: settings.seed,
        ..GrpoSettings::default()
    };
    let grpo_settings = if settings.perception.is_some() {
        // v2: groups of eight, each rollout after the policy's own preceding description.
        GrpoSettings {
            group: 8,
            own_context: true,
            budget_tokens: Some(settings.budget_tokens),
            ..base_grpo
        }
    } else {
        // The pixel recipe as shipped: rollouts up to the model's ceiling.
        GrpoSettings {
            budget_tokens: Some(cfg.max_output_tokens),
            ..base_grpo
        }
    };
    let weights = RewardWeights::default();
    let budget = if settings.perception.is_some() {
        settings.budget_tokens
    } else {
        cfg.max_output_tokens
    };
    let rewards =
        |e: &ClipExample, g: &[Generated]| world_rewards(e, g, &vocab, &weights, &utility, budget);
    let stats = grpo(
        &trainable,
        &reference,
        &train,
        &grpo_settings,
        &rewards,
        &mut |s| {
            let flow = on_event(Phase1Event::GrpoStep {
                step: s.step,
                steps: grpo_settings.steps,
                mean_reward: s.mean_reward,
                loss: s.loss,
            });
            cancelled |= flow.is_break();
            flow
        },
    )
    .map_err(model_err("Phase One"))?;
    if cancelled {
        return Err(Phase1Error::Cancelled);
    }
    let grpo_seconds = started.elapsed().as_secs_f64();
    log.extend(
        stats
            .iter()
            .map(|s| ("phase1", s.step, s.loss, s.mean_reward)),
    );
    trainable.save(&out).map_err(write_err(&settings.out))?;
    copy_perception(settings, &out)?;
    stage(
        on_event,
        &format!("judging the Phase One model on the {held_out} streams"),
    )?;
    let phase1_quality = evaluate(&trainable.model, &test, &vocab).map_err(model_err("judging"))?;
    let _ = on_event(Phase1Event::Judged {
        model: "phase one".to_owned(),
        quality: phase1_quality,
    });

    write_log(&out.join("training_log.parquet"), &log)?;
    let summary = Phase1Summary {
        suite: settings.suite.display().to_string(),
        seed: settings.seed,
        config: cfg,
        train_clips: train.len(),
        test_clips: test.len(),
        held_out_split: held_out.to_owned(),
        extra_streams: settings.extra_streams,
        warmup_steps: losses.len(),
        grpo_steps: stats.len(),
        warmup_seconds,
        grpo_seconds,
        warmup: warmup_quality,
        phase1: phase1_quality,
        from: settings.from.as_ref().map(|p| p.display().to_string()),
        richness: settings.richness,
        kind_utility: utility,
    };
    let summary_path = out.join("summary.json");
    let summary_json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    crate::fsutil::write_atomic(&summary_path, &summary_json).map_err(|e| Phase1Error::Write {
        path: settings.out.join("summary.json"),
        detail: e.to_string(),
    })?;
    staged.commit().map_err(|e| Phase1Error::Write {
        path: settings.out.clone(),
        detail: e.to_string(),
    })?;
    Ok(summary)
}

/// Fresh weights, or (`from`) a model made before, which must have the run's shape.
fn start_model(settings: &Phase1Settings, cfg: &Config) -> Result<Trainable, Phase1Error> {
    let Some(dir) = &settings.from else {
        return Trainable::fresh(cfg, settings.seed).map_err(model_err("building the model"));
    };
    let loaded = Trainable::load(dir).map_err(|e| Phase1Error::Input(format!("--from: {e:#}")))?;
    if loaded.model.config() != cfg {
        return Err(Phase1Error::Input(format!(
            "--from {}: its config.json is not the shape this run trains (size and encoder)",
            dir.display()
        )));
    }
    Ok(loaded)
}

/// The model's shape and how it reads frames: pixel patches, or (v2) the given encoder.
fn model_and_frontend(
    settings: &Phase1Settings,
    vocab: &Vocab,
) -> Result<(Config, Frontend), Phase1Error> {
    let base = settings.size.config(vocab.len());
    let Some(dir) = &settings.perception else {
        return Ok((base, Frontend::Pixels));
    };
    let encoder = crate::policy::perception::train::load(dir)
        .map_err(|e| Phase1Error::Input(e.to_string()))?;
    let input = PerceptionInput {
        tokens_per_frame: crate::policy::perception::labels::QUERIES,
        width: encoder.config().d_model,
    };
    Ok((
        base.with_perception(input),
        Frontend::Perception(std::sync::Arc::new(encoder)),
    ))
}

/// A v2 model folder carries its encoder (`perception/`), so that it loads whole anywhere.
fn copy_perception(settings: &Phase1Settings, model_dir: &Path) -> Result<(), Phase1Error> {
    let Some(from) = &settings.perception else {
        return Ok(());
    };
    let to = model_dir.join(crate::policy::frontend::PERCEPTION_DIR);
    let fail = |e: std::io::Error| Phase1Error::Write {
        path: to.clone(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(&to).map_err(fail)?;
    for file in ["model.safetensors", "config.json", "report.json"] {
        if from.join(file).exists() {
            std::fs::copy(from.join(file), to.join(file)).map_err(fail)?;
        }
    }
    Ok(())
}

fn write_log(path: &Path, rows: &[(&str, usize, f32, f64)]) -> Result<(), Phase1Error> {
    use polars::prelude::*;
    let fail = |detail: String| Phase1Error::Write {
        path: path.to_path_buf(),
        detail,
    };
    let mut df = df!(
        "phase" => rows.iter().map(|r| r.0).collect::<Vec<&str>>(),
        "step" => rows.iter().map(|r| r.1 as u64).collect::<Vec<u64>>(),
        "loss" => rows.iter().map(|r| r.2).collect::<Vec<f32>>(),
        "mean_reward" => rows.iter().map(|r| (!r.3.is_nan()).then_some(r.3)).collect::<Vec<Option<f64>>>(),
    )
    .map_err(|e| fail(e.to_string()))?;
    crate::fsutil::write_parquet_atomic(path, &mut df).map_err(fail)
}
