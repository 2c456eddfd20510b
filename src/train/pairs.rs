//! Preference pairs for Phase Two: for each training clip the Phase One policy writes its own
//! description (greedy, as it memorizes) and a few sampled ones; each sample is judged against
//! the greedy one in both orders on a sample of the recent tasks; pairs whose winner flips and
//! ties are dropped. Pairs export in the prompt / chosen / rejected layout TRL's DPO trainer
//! and verl read, with clip references, so the same data can train a large model elsewhere.

use std::ops::ControlFlow;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::reward::{
    BothOrders, Judge, JudgeError, PairOutcome, TaskRewardModel, judge_both_orders,
};
use crate::policy::builtin::{DecodeOptions, MemorizerModel, Sampling};
use crate::policy::lang::Vocab;
use crate::timefmt::format_clock_ms;
use crate::world::rng::Rng;

/// A training clip as the policy sees it.
#[derive(Clone, Debug)]
pub struct Phase2Clip {
    pub stream: String,
    /// The video file, for the clip references of exported pairs.
    pub video: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub patches: Vec<f32>,
    /// The policy's own description of the preceding clip (its context at inference).
    pub context: String,
    /// The policy's own (greedy) description of this clip: what it memorizes now.
    pub greedy: String,
}

/// One judged pair.
#[derive(Clone, Debug, PartialEq)]
pub struct PreferencePair {
    pub stream: String,
    pub video: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub context: String,
    pub chosen: String,
    pub rejected: String,
    pub chosen_score: f64,
    pub rejected_score: f64,
    /// The sampled tasks the judge read.
    pub task_ids: Vec<String>,
}

/// How a sampled description fared against the policy's own description of its clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFate {
    /// Preferred in both orders: the pair is kept with the sample as chosen.
    Chosen,
    /// The policy's own won in both orders: kept with the sample as rejected.
    Rejected,
    /// Equally helpful in both orders: dropped.
    Tie,
    /// The verdict changed with the order the two were read in (a position bias): dropped.
    Flipped,
}

impl SampleFate {
    /// Whether the pair went on to DPO.
    #[must_use]
    pub fn kept(self) -> bool {
        matches!(self, Self::Chosen | Self::Rejected)
    }
}

/// One sampled description judged against the policy's own, kept or dropped: what the Phase
/// Two panel lists, so that a run without pairs shows why.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub stream: String,
    pub start_ms: i64,
    /// The policy's own (greedy) description.
    pub greedy: String,
    pub sample: String,
    pub fate: SampleFate,
    /// (sample, policy's own) scores with the sample read first, then with the policy's own
    /// read first; they differ only for a judge with a position bias.
    pub scores: [(f64, f64); 2],
    /// The sampled tasks the judge read: (id, question).
    pub tasks: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PairSettings {
    /// Sampled descriptions per clip, beside the greedy one.
    pub samples_per_clip: usize,
    pub temperature: f64,
    pub seed: u64,
    /// Tokens per sampled description: the policy's budget (`None`: the default).
    pub budget_tokens: Option<usize>,
}

impl Default for PairSettings {
    fn default() -> Self {
        Self {
            samples_per_clip: 4,
            temperature: 1.0,
            seed: 1,
            budget_tokens: None,
        }
    }
}

/// What pair making saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairCounts {
    pub clips: usize,
    pub judged: usize,
    pub kept: usize,
    pub ties: usize,
    pub flips: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    #[error("the policy failed: {0}")]
    Model(#[from] candle_core::Error),
    #[error(transparent)]
    Judge(#[from] JudgeError),
    #[error("stopped")]
    Cancelled,
}

/// A clip's patches as the `[1, N, patch]` tensor the model reads.
pub(crate) fn patches_tensor(
    model: &MemorizerModel,
    patches: &[f32],
) -> candle_core::Result<Tensor> {
    let cfg = model.config();
    Tensor::from_vec(
        patches.to_vec(),
        (
            1,
            cfg.frames_per_clip * cfg.patches_per_frame(),
            cfg.patch_dim(),
        ),
        &Device::Cpu,
    )
}

/// A stream's clips, each with the policy's greedy description of the clip before it as
/// context. `frames(start_ms, end_ms)` decodes a clip; its frames are dropped once patched.
///
/// # Errors
/// When decoding or the policy fails.
pub fn clips_of_stream(
    policy: &crate::policy::BuiltinPolicy,
    vocab: &Vocab,
    stream: &str,
    video: Option<&str>,
    spans: &[(i64, i64)],
    frames: &mut dyn FnMut(i64, i64) -> Result<Vec<crate::video::Frame>, String>,
) -> Result<Vec<Phase2Clip>, String> {
    let (model, frontend) = (policy.model(), policy.frontend());
    let budget = DecodeOptions {
        steering: None,
        budget_tokens: Some(policy.effective_budget()),
    };
    let mut out: Vec<Phase2Clip> = Vec::with_capacity(spans.len());
    for &(start_ms, end_ms) in spans {
        let patches = frontend
            .clip_input(&frames(start_ms, end_ms)?, model.config())
            .map_err(|e| e.to_string())?;
        let context = out
            .last()
            .filter(|c| c.end_ms == start_ms)
            .map(|c| c.greedy.clone())
            .unwrap_or_default();
        let greedy = model
            .generate_with(
                &patches_tensor(model, &patches).map_err(|e| e.to_string())?,
                &vocab.encode(&context),
                Sampling::Greedy,
                budget,
            )
            .map_err(|e| e.to_string())?;
        out.push(Phase2Clip {
            stream: stream.to_owned(),
            video: video.map(str::to_owned),
            start_ms,
            end_ms,
            patches,
            context,
            greedy: vocab.decode(&greedy.tokens),
        });
    }
    Ok(out)
}

/// Sees each judged clip (done, total, its judgements, kept or dropped) and may stop the run.
pub type OnClip<'a> = dyn FnMut(usize, usize, &[Judgement]) -> ControlFlow<()> + 'a;

/// Samples, judges and keeps pairs. `on_clip(done, total, judgements)` sees each clip's
/// judged samples and may stop the run.
///
/// # Errors
/// When the policy or the judge fails, or on a stop.
pub fn make_pairs(
    model: &MemorizerModel,
    vocab: &Vocab,
    clips: &[Phase2Clip],
    reward: &TaskRewardModel,
    judge: &dyn Judge,
    settings: &PairSettings,
    on_clip: &mut OnClip<'_>,
) -> Result<(Vec<PreferencePair>, PairCounts), PairsError> {
    let mut rng = Rng::new(settings.seed);
    let mut pairs = Vec::new();
    let mut counts = PairCounts::default();
    for (i, clip) in clips.iter().enumerate() {
        // Encoded once for all of the clip's samples.
        let vision = model.encode(&patches_tensor(model, &clip.patches)?)?;
        let context = vocab.encode(&clip.context);
        let greedy = clip.greedy.clone();
        let mut samples: Vec<String> = Vec::new();
        for _ in 0..settings.samples_per_clip {
            let drawn = model.generate_from_vision(
                &vision,
                &context,
                Sampling::Temperature {
                    temperature: settings.temperature,
                    seed: rng.next_u64(),
                },
                DecodeOptions {
                    steering: None,
                    budget_tokens: settings.budget_tokens,
                },
            )?;
            let text = vocab.decode(&drawn.tokens);
            if text != greedy && !samples.contains(&text) {
                samples.push(text);
            }
        }
        let tasks = reward.sample(&mut rng);
        let task_ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
        let task_texts: Vec<(String, String)> = tasks
            .iter()
            .map(|t| (t.id.clone(), t.text.clone()))
            .collect();
        let verdicts = judge_samples(judge, &samples, &greedy, &tasks)?;
        let mut judged = Vec::with_capacity(samples.len());
        for (sample, both) in samples.into_iter().zip(verdicts) {
            counts.judged += 1;
            let fate = match both.outcome() {
                PairOutcome::AWins { .. } => SampleFate::Chosen,
                PairOutcome::BWins { .. } => SampleFate::Rejected,
                PairOutcome::Tie => SampleFate::Tie,
                PairOutcome::Flipped => SampleFate::Flipped,
            };
            let scores = both.scores();
            let [(sample_score, greedy_score), _] = scores;
            match fate {
                SampleFate::Tie => counts.ties += 1,
                SampleFate::Flipped => counts.flips += 1,
                SampleFate::Chosen | SampleFate::Rejected => {
                    let ((chosen, chosen_score), (rejected, rejected_score)) =
                        if fate == SampleFate::Chosen {
                            ((&sample, sample_score), (&greedy, greedy_score))
                        } else {
                            ((&greedy, greedy_score), (&sample, sample_score))
                        };
                    pairs.push(PreferencePair {
                        stream: clip.stream.clone(),
                        video: clip.video.clone(),
                        start_ms: clip.start_ms,
                        end_ms: clip.end_ms,
                        context: clip.context.clone(),
                        chosen: chosen.clone(),
                        rejected: rejected.clone(),
                        chosen_score,
                        rejected_score,
                        task_ids: task_ids.clone(),
                    });
                }
            }
            judged.push(Judgement {
                stream: clip.stream.clone(),
                start_ms: clip.start_ms,
                greedy: greedy.clone(),
                sample,
                fate,
                scores,
                tasks: task_texts.clone(),
            });
        }
        counts.clips += 1;
        if on_clip(i + 1, clips.len(), &judged).is_break() {
            return Err(PairsError::Cancelled);
        }
    }
    counts.kept = pairs.len();
    Ok((pairs, counts))
}

/// Each sample judged against the policy's own in both orders, in the samples' order; up to
/// the judge's concurrency at once (one after another for the built-in judge).
fn judge_samples(
    judge: &dyn Judge,
    samples: &[String],
    greedy: &str,
    tasks: &[crate::eval::answer::Question],
) -> Result<Vec<BothOrders>, JudgeError> {
    let width = judge.concurrency().max(1);
    if width == 1 || samples.len() < 2 {
        return samples
            .iter()
            .map(|sample| judge_both_orders(judge, sample, greedy, tasks))
            .collect();
    }
    let mut out = Vec::with_capacity(samples.len());
    for batch in samples.chunks(width) {
        let failed = |message: String| JudgeError {
            name: judge.name(),
            message,
        };
        let results: Vec<Result<BothOrders, JudgeError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|sample| {
                    std::thread::Builder::new()
                        .name("phase2-judge".to_owned())
                        .spawn_scoped(scope, move || {
                            judge_both_orders(judge, sample, greedy, tasks)
                        })
                })
                .collect();
            handles
                .into_iter()
                .map(|spawned| match spawned {
                    Ok(handle) => handle
                        .join()
                        .unwrap_or_else(|_| Err(failed("a judging thread panicked".to_owned()))),
                    Err(e) => Err(failed(format!("cannot start a judging thread: {e}"))),
                })
                .collect()
        });
        for result in results {
            out.push(result?);
        }
    }
    Ok(out)
}

/// The text prompt of a pair, as a model trained on the exported file is asked (the clip's
/// frames are referenced by the `video`, `start_ms` and `end_ms` columns).
#[must_use]
pub fn prompt(pair: &PreferencePair) -> String {
    let mut out = format!(
        "Describe the clip {}-{} of this video in one or two sentences for long-term memory, \
         naming people as <face_N>.",
        format_clock_ms(pair.start_ms),
        format_clock_ms(pair.end_ms)
    );
    if !pair.context.is_empty() {
        out.push_str(" Do not repeat the preceding description: ");
        out.push_str(&pair.context);
    }
    out
}

/// Writes pairs as Parquet for TRL's `DPOTrainer` (and verl): `prompt`, `chosen`, `rejected`,
/// then the clip references and the judge's scores.
///
/// # Errors
/// When the file cannot be written.
pub fn write_trl_parquet(path: &Path, pairs: &[PreferencePair]) -> Result<(), String> {
    use polars::prelude::*;
    let text = |f: &dyn Fn(&PreferencePair) -> String| pairs.iter().map(f).collect::<Vec<String>>();
    let mut frame = DataFrame::new(
        pairs.len(),
        vec![
            Column::new("prompt".into(), text(&prompt)),
            Column::new("chosen".into(), text(&|p| p.chosen.clone())),
            Column::new("rejected".into(), text(&|p| p.rejected.clone())),
            Column::new("stream".into(), text(&|p| p.stream.clone())),
            Column::new(
                "video".into(),
                pairs
                    .iter()
                    .map(|p| p.video.clone())
                    .collect::<Vec<Option<String>>>(),
            ),
            Column::new(
                "start_ms".into(),
                pairs.iter().map(|p| p.start_ms).collect::<Vec<i64>>(),
            ),
            Column::new(
                "end_ms".into(),
                pairs.iter().map(|p| p.end_ms).collect::<Vec<i64>>(),
            ),
            Column::new(
                "chosen_score".into(),
                pairs.iter().map(|p| p.chosen_score).collect::<Vec<f64>>(),
            ),
            Column::new(
                "rejected_score".into(),
                pairs.iter().map(|p| p.rejected_score).collect::<Vec<f64>>(),
            ),
            Column::new("task_ids".into(), text(&|p| p.task_ids.join(" "))),
        ],
    )
    .map_err(|e| e.to_string())?;
    crate::fsutil::write_parquet_atomic(path, &mut frame)
}
