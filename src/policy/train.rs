//! Training the built-in policy. So far the supervised warm-up: teacher-forced next-token
//! loss on the world's reference descriptions of training streams, with `AdamW`, seeded batches,
//! progress reports and cancellation. Phase One's GRPO builds on the warm-up model.

use std::ops::ControlFlow;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};

use super::builtin::{Config, DecodeOptions, MemorizerModel, seed_weights};
use super::data::{ClipExample, fact_target};
use crate::world::rng::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct WarmupSettings {
    pub steps: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// The share of targets that are the clip's [`ClipExample::seen_target`] instead of its
    /// reference description: the references tell events, which the model rarely gets right,
    /// and name who is there only when nothing happens.
    pub seen_share: f64,
    /// How much the auxiliary head's loss (which rooms and faces the frames show, and in which
    /// colors) counts beside the next-token loss: it makes the encoder look.
    pub aux_weight: f64,
    /// The share of examples shown without the preceding description, so that the room and
    /// the people are read from the frames rather than copied from the context.
    pub context_drop: f64,
    /// Policy v2: targets are random budget-sized subsets of the clip's facts
    /// ([`super::data::fact_target`]) and contexts the same of the clip before; `None` keeps
    /// the references and seen targets above.
    pub fact_budget: Option<usize>,
    /// A learning rate that rises over the first 5% of the steps and falls along a cosine to
    /// 5% of `learning_rate` at the end; off: constant, as the models trained before.
    pub cosine_schedule: bool,
}

impl Default for WarmupSettings {
    fn default() -> Self {
        Self {
            steps: 400,
            batch: 16,
            learning_rate: 2e-3,
            seed: 1,
            seen_share: 0.5,
            aux_weight: 10.0,
            context_drop: 0.3,
            fact_budget: None,
            cosine_schedule: false,
        }
    }
}

/// Where a training run is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub step: usize,
    pub steps: usize,
    pub loss: f32,
}

/// A model with its weights (the `VarMap` the optimizer updates and `save` writes).
pub struct Trainable {
    pub varmap: VarMap,
    pub model: MemorizerModel,
}

impl Trainable {
    /// A fresh model with weights drawn from `seed`.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn fresh(cfg: &Config, seed: u64) -> candle_core::Result<Self> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MemorizerModel::new(cfg, vb)?;
        seed_weights(&varmap, seed)?;
        Ok(Self { varmap, model })
    }

    /// Writes `model.safetensors` and `config.json` into `dir`.
    ///
    /// # Errors
    /// When the folder or a file cannot be written.
    pub fn save(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        // Both written beside their places first, then renamed: a failure leaves the old pair.
        let weights = dir.join("model.safetensors");
        let partial = dir.join("model.safetensors.partial");
        let config = serde_json::to_vec_pretty(self.model.config())?;
        let saved = self
            .varmap
            .save(&partial)
            .map_err(anyhow::Error::from)
            .and_then(|()| {
                Ok(crate::fsutil::write_atomic(
                    &dir.join("config.json"),
                    &config,
                )?)
            })
            .and_then(|()| Ok(std::fs::rename(&partial, &weights)?));
        if saved.is_err() {
            // A full disk stops the weights part way: the partial file goes too.
            let _ = std::fs::remove_file(&partial);
        }
        saved
    }

    /// Reads what [`Self::save`] wrote.
    ///
    /// # Errors
    /// When the files are missing or do not fit each other.
    pub fn load(dir: &std::path::Path) -> anyhow::Result<Self> {
        // Checked before the model is built: its sizes come from the file.
        let (cfg, saved) = super::model_check::read_model(dir)?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MemorizerModel::new(&cfg, vb)?;
        let weights = dir.join("model.safetensors");
        let data = varmap
            .data()
            .lock()
            .map_err(|_| anyhow::anyhow!("the weights' lock is poisoned"))?;
        for (name, var) in data.iter() {
            match saved.get(name) {
                Some(t) if t.shape() == var.shape() => var
                    .set(t)
                    .map_err(|e| anyhow::anyhow!("{}: {name}: {e}", weights.display()))?,
                // The auxiliary head serves training only: a model saved without it, or with
                // fewer labels, loads and starts the head afresh.
                _ if name
                    .strip_prefix(super::builtin::AUX_HEAD)
                    .is_some_and(|rest| rest.starts_with('.')) => {}
                Some(t) => anyhow::bail!(
                    "{}: {name} has shape {:?}, the config wants {:?}",
                    weights.display(),
                    t.dims(),
                    var.dims()
                ),
                None => anyhow::bail!("{}: {name} is missing", weights.display()),
            }
        }
        drop(data);
        Ok(Self { varmap, model })
    }

    /// A frozen copy of the model (its own weights, outside the optimizer): the reference that
    /// Phase One's KL term keeps the policy near. A merely detached tensor would share storage
    /// with the policy's weights and drift with every step.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn frozen_copy(&self) -> candle_core::Result<MemorizerModel> {
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the weights' lock is poisoned".to_owned()))?;
        let tensors = data
            .iter()
            .map(|(name, var)| Ok((name.clone(), var.as_detached_tensor().copy()?)))
            .collect::<candle_core::Result<std::collections::HashMap<_, _>>>()?;
        drop(data);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        MemorizerModel::new(self.model.config(), vb)
    }
}

/// `AdamW` over every weight, without weight decay.
fn optimizer(trainable: &Trainable, learning_rate: f64) -> candle_core::Result<AdamW> {
    AdamW::new(
        trainable.varmap.all_vars(),
        ParamsAdamW {
            lr: learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )
}

/// A batch of examples as the model's input tensor and token lists.
struct Batch {
    patches: Tensor,
    contexts: Vec<Vec<u32>>,
    targets: Vec<Vec<u32>>,
}

fn batch(examples: &[&ClipExample], cfg: &Config) -> candle_core::Result<Batch> {
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    let mut data = Vec::with_capacity(examples.len() * n * cfg.patch_dim());
    for e in examples {
        data.extend_from_slice(&e.patches);
    }
    let patches = Tensor::from_vec(data, (examples.len(), n, cfg.patch_dim()), &Device::Cpu)?;
    Ok(Batch {
        patches,
        contexts: examples.iter().map(|e| e.context.clone()).collect(),
        targets: examples.iter().map(|e| e.target.clone()).collect(),
    })
}

/// The learning rate at `step` of `steps` under the cosine schedule: a linear rise over the
/// first 5% of the steps (Adam's moments are still empty), then a cosine down to 5% of `peak`,
/// so that the last steps settle instead of hopping around the minimum.
#[must_use]
pub fn scheduled_rate(peak: f64, step: usize, steps: usize) -> f64 {
    let steps = steps.max(1) as f64;
    let at = step as f64 + 1.0;
    let rise = (steps * 0.05).max(1.0);
    if at <= rise {
        return peak * at / rise;
    }
    let progress = ((at - rise) / (steps - rise).max(1.0)).min(1.0);
    let floor = 0.05 * peak;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The supervised warm-up: returns the loss of every step. `on_progress` may stop the run.
///
/// # Errors
/// On a tensor error.
pub fn warm_up(
    trainable: &Trainable,
    examples: &[ClipExample],
    settings: &WarmupSettings,
    on_progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> candle_core::Result<Vec<f32>> {
    let mut opt = optimizer(trainable, settings.learning_rate)?;
    let mut rng = Rng::new(settings.seed);
    let mut losses = Vec::with_capacity(settings.steps);
    if examples.is_empty() {
        return Ok(losses);
    }
    let cfg = trainable.model.config().clone();
    let vocab = super::lang::Vocab::world();
    for step in 0..settings.steps {
        if settings.cosine_schedule {
            opt.set_learning_rate(scheduled_rate(settings.learning_rate, step, settings.steps));
        }
        let picked: Vec<&ClipExample> = (0..settings.batch.max(1))
            .map(|_| &examples[rng.below(examples.len())])
            .collect();
        let mut batch = batch(&picked, &cfg)?;
        for ((target, context), example) in batch
            .targets
            .iter_mut()
            .zip(batch.contexts.iter_mut())
            .zip(&picked)
        {
            if let Some(budget) = settings.fact_budget {
                *target = fact_target(&example.truth.facts, budget, &vocab, &mut rng);
                *context = fact_target(&example.previous_facts, budget, &vocab, &mut rng);
            } else if rng.chance(settings.seen_share) {
                target.clone_from(&example.seen_target);
            }
        }
        for c in &mut batch.contexts {
            if rng.chance(settings.context_drop) {
                c.clear();
            }
        }
        let aux: Vec<f32> = picked
            .iter()
            .flat_map(|e| super::data::aux_labels(&e.truth))
            .collect();
        let aux = Tensor::from_vec(
            aux,
            (picked.len(), super::builtin::AUX_LABELS),
            &Device::Cpu,
        )?;
        let (nll, aux_loss) =
            trainable
                .model
                .nll_and_aux(&batch.patches, &batch.contexts, &batch.targets, &aux)?;
        let loss = (&nll + (aux_loss.clone() * settings.aux_weight)?)?;
        opt.backward_step(&loss)?;
        let value = nll.to_scalar::<f32>()?;
        losses.push(value);
        let progress = Progress {
            step: step + 1,
            steps: settings.steps,
            loss: value,
        };
        if on_progress(progress).is_break() {
            break;
        }
    }
    Ok(losses)
}

/// Phase One's settings: GRPO with groups of sampled descriptions per clip.
#[derive(Clone, Debug, PartialEq)]
pub struct GrpoSettings {
    pub steps: usize,
    pub clips_per_step: usize,
    /// Samples per clip (at least 4).
    pub group: usize,
    pub temperature: f64,
    /// Weight of the KL term to the reference (warm-up) model.
    pub kl_coef: f64,
    pub learning_rate: f64,
    pub seed: u64,
    /// Condition each rollout on what the policy itself wrote for the clip before (greedy, at
    /// that step), as at inference, instead of the clip's stored context; repetition is then
    /// measured against that output too.
    pub own_context: bool,
    /// Tokens per rollout (`None`: [`super::DEFAULT_BUDGET_TOKENS`]).
    pub budget_tokens: Option<usize>,
}

impl Default for GrpoSettings {
    fn default() -> Self {
        Self {
            steps: 100,
            clips_per_step: 4,
            group: 4,
            temperature: 1.0,
            kl_coef: 0.05,
            learning_rate: 5e-4,
            seed: 1,
            own_context: false,
            budget_tokens: None,
        }
    }
}

/// What one GRPO step saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrpoStats {
    pub step: usize,
    pub mean_reward: f64,
    pub loss: f32,
}

/// Group-normalized advantages: each reward minus its group's mean, over the group's standard
/// deviation (zero for a group whose rewards are all equal).
#[must_use]
pub fn advantages(rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len().max(1) as f64;
    let mean = rewards.iter().sum::<f64>() / n;
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    rewards
        .iter()
        .map(|r| if std < 1e-9 { 0.0 } else { (r - mean) / std })
        .collect()
}

/// GRPO: for each step, `clips_per_step` clips, `group` sampled descriptions each, scored by
/// `rewards` (one call per clip with its group, so that terms such as richness can be
/// normalized within the group); the loss is the advantage-weighted log-likelihood of each
/// sample (length-normalized) plus `kl_coef` times the per-token KL estimate to `reference`.
///
/// # Errors
/// On a tensor error.
pub fn grpo(
    trainable: &Trainable,
    reference: &MemorizerModel,
    examples: &[ClipExample],
    settings: &GrpoSettings,
    rewards: &dyn Fn(&ClipExample, &[super::builtin::Generated]) -> Vec<f64>,
    on_progress: &mut dyn FnMut(GrpoStats) -> ControlFlow<()>,
) -> candle_core::Result<Vec<GrpoStats>> {
    use super::builtin::Sampling;
    let mut opt = optimizer(trainable, settings.learning_rate)?;
    let cfg = trainable.model.config().clone();
    let mut rng = Rng::new(settings.seed);
    let mut stats = Vec::new();
    if examples.is_empty() {
        return Ok(stats);
    }
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    let clip_tensor = |e: &ClipExample| {
        Tensor::from_vec(e.patches.clone(), (1, n, cfg.patch_dim()), &Device::Cpu)
    };
    for step in 0..settings.steps {
        let mut rows: Vec<(ClipExample, Vec<u32>, f64)> = Vec::new();
        let mut reward_sum = 0.0;
        for _ in 0..settings.clips_per_step.max(1) {
            let index = rng.below(examples.len());
            let mut example = examples[index].clone();
            if settings.own_context {
                example.context = own_previous(
                    trainable,
                    examples,
                    index,
                    settings.budget_tokens,
                    &clip_tensor,
                )?;
            }
            // The group's samples read one encoding of the clip.
            let vision = trainable.model.encode(&clip_tensor(&example)?)?;
            let samples = (0..settings.group.max(2))
                .map(|_| {
                    trainable.model.generate_from_vision(
                        &vision,
                        &example.context,
                        Sampling::Temperature {
                            temperature: settings.temperature,
                            seed: rng.next_u64(),
                        },
                        DecodeOptions {
                            steering: None,
                            budget_tokens: settings.budget_tokens,
                        },
                    )
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            let group_rewards = rewards(&example, &samples);
            reward_sum += group_rewards.iter().sum::<f64>();
            for (sample, advantage) in samples.into_iter().zip(advantages(&group_rewards)) {
                rows.push((example.clone(), sample.tokens, advantage));
            }
        }
        let picked: Vec<&ClipExample> = rows.iter().map(|r| &r.0).collect();
        let batch = batch(&picked, &cfg)?;
        let outputs: Vec<Vec<u32>> = rows.iter().map(|r| r.1.clone()).collect();
        let (logp, weights) =
            trainable
                .model
                .token_logprobs(&batch.patches, &batch.contexts, &outputs)?;
        let (ref_logp, _) = reference.token_logprobs(&batch.patches, &batch.contexts, &outputs)?;
        let lengths = weights.sum(1)?;
        let seq_logp = (logp.sum(1)? / &lengths)?;
        let adv: Vec<f32> = rows.iter().map(|r| r.2 as f32).collect();
        let adv = Tensor::from_vec(adv, rows.len(), &Device::Cpu)?;
        let policy_loss = (seq_logp * adv)?.mean_all()?.neg()?;
        // KL(policy || reference) on the sampled tokens by the k3 estimator, exp(r) - r - 1
        // with r = log(reference / policy): never negative, and its gradient pulls the
        // policy back (k1's, the log-ratio itself, averages to zero). Padding has r = 0.
        let ratio = (ref_logp.detach() - &logp)?;
        let k3 = ((ratio.exp()? - &ratio)? - 1.0)?;
        let kl = (k3.sum(1)? / &lengths)?.mean_all()?;
        let loss = (policy_loss + (kl * settings.kl_coef)?)?;
        opt.backward_step(&loss)?;
        let stat = GrpoStats {
            step: step + 1,
            mean_reward: reward_sum / rows.len().max(1) as f64,
            loss: loss.to_scalar::<f32>()?,
        };
        stats.push(stat);
        if on_progress(stat).is_break() {
            break;
        }
    }
    Ok(stats)
}

/// What the policy writes now (greedy, with no context) for the clip before `examples[index]`
/// in the same stream; empty for a stream's first clip.
fn own_previous(
    trainable: &Trainable,
    examples: &[ClipExample],
    index: usize,
    budget_tokens: Option<usize>,
    clip_tensor: &dyn Fn(&ClipExample) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Vec<u32>> {
    let this = &examples[index];
    let Some(previous) = index
        .checked_sub(1)
        .map(|i| &examples[i])
        .filter(|p| p.stream == this.stream && p.clip + 1 == this.clip)
    else {
        return Ok(Vec::new());
    };
    let written = trainable.model.generate_with(
        &clip_tensor(previous)?,
        &[],
        super::builtin::Sampling::Greedy,
        DecodeOptions {
            steering: None,
            budget_tokens,
        },
    )?;
    Ok(written.tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::builtin::Config;

    #[test]
    fn the_cosine_schedule_rises_peaks_and_settles_at_a_twentieth() {
        let rates: Vec<f64> = (0..1000).map(|s| scheduled_rate(1e-3, s, 1000)).collect();
        assert!(rates[0] < 1e-4, "starts low: {}", rates[0]);
        assert!(
            (rates[49] - 1e-3).abs() < 1e-9,
            "peaks after 5%: {}",
            rates[49]
        );
        assert!(
            rates[50..].windows(2).all(|w| w[1] <= w[0]),
            "then only falls"
        );
        assert!(
            (rates[999] - 5e-5).abs() < 1e-9,
            "ends at 5%: {}",
            rates[999]
        );
    }

    /// A clip with the given input and context and an empty truth.
    fn toy_example(stream: &str, clip: usize, patches: Vec<f32>, context: Vec<u32>) -> ClipExample {
        ClipExample {
            stream: stream.into(),
            clip,
            start_ms: 0,
            end_ms: 10_000,
            patches,
            context,
            target: vec![],
            seen_target: vec![],
            truth: crate::world::truth::ClipTruth {
                clip,
                start_ms: 0,
                end_ms: 10_000,
                rooms: vec![],
                people: vec![],
                objects: vec![],
                texts: vec![],
                counts: vec![],
                events: vec![],
                event_indexes: vec![],
                facts: vec![],
                fact_ms: vec![],
                samples_ms: vec![],
                reference: String::new(),
            },
            previous_facts: vec![],
        }
    }

    #[test]
    fn a_rollout_follows_what_the_policy_itself_wrote_for_the_clip_before() {
        let cfg = Config::tiny(16);
        let trainable = Trainable::fresh(&cfg, 4).unwrap();
        let per_clip = cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim();
        let example = |stream: &str, clip: usize, value: f32| {
            toy_example(stream, clip, vec![value; per_clip], vec![9, 9, 9])
        };
        let examples = vec![
            example("a", 0, 0.5),
            example("a", 1, -0.5),
            example("b", 0, 0.1),
        ];
        let tensor = |e: &ClipExample| {
            Tensor::from_vec(
                e.patches.clone(),
                (
                    1,
                    cfg.frames_per_clip * cfg.patches_per_frame(),
                    cfg.patch_dim(),
                ),
                &Device::Cpu,
            )
        };
        let greedy = trainable
            .model
            .generate(
                &tensor(&examples[0]).unwrap(),
                &[],
                super::super::builtin::Sampling::Greedy,
            )
            .unwrap()
            .tokens;
        assert_eq!(
            own_previous(&trainable, &examples, 1, None, &tensor).unwrap(),
            greedy
        );
        // A stream's first clip has nothing before it, whatever sits before it in the list.
        assert!(
            own_previous(&trainable, &examples, 2, None, &tensor)
                .unwrap()
                .is_empty()
        );
        assert!(
            own_previous(&trainable, &examples, 0, None, &tensor)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn advantages_are_normalized_within_the_group() {
        let a = advantages(&[1.0, 2.0, 3.0, 4.0]);
        assert!((a.iter().sum::<f64>()).abs() < 1e-9);
        assert!(a[3] > a[0]);
        assert_eq!(advantages(&[2.0, 2.0, 2.0, 2.0]), vec![0.0; 4]);
    }

    #[test]
    fn grpo_raises_the_reward_and_the_reference_stays_frozen() {
        let cfg = Config::tiny(16);
        let trainable = Trainable::fresh(&cfg, 3).unwrap();
        let reference = trainable.frozen_copy().unwrap();
        let per_clip = cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim();
        let example = toy_example("s", 0, vec![0.3; per_clip], vec![5]);
        // A toy reward: how many of the written tokens are token 7.
        let reward = |_: &ClipExample, group: &[crate::policy::builtin::Generated]| {
            group
                .iter()
                .map(|g| g.tokens.iter().filter(|&&t| t == 7).count() as f64)
                .collect()
        };
        let settings = GrpoSettings {
            budget_tokens: None,
            steps: 40,
            clips_per_step: 2,
            group: 6,
            temperature: 1.0,
            kl_coef: 0.01,
            learning_rate: 1e-2,
            seed: 4,
            own_context: false,
        };
        let patches = Tensor::from_vec(
            example.patches.clone(),
            (
                1,
                cfg.frames_per_clip * cfg.patches_per_frame(),
                cfg.patch_dim(),
            ),
            &Device::Cpu,
        )
        .unwrap();
        let before = reference
            .generate(&patches, &[5], crate::policy::builtin::Sampling::Greedy)
            .unwrap();
        let stats = grpo(
            &trainable,
            &reference,
            std::slice::from_ref(&example),
            &settings,
            &reward,
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
        let early: f64 = stats[..5].iter().map(|s| s.mean_reward).sum::<f64>() / 5.0;
        let late: f64 = stats[35..].iter().map(|s| s.mean_reward).sum::<f64>() / 5.0;
        assert!(late > early + 1.0, "reward {early:.2} -> {late:.2}");
        let after = reference
            .generate(&patches, &[5], crate::policy::builtin::Sampling::Greedy)
            .unwrap();
        assert_eq!(before, after, "the reference did not move");
    }

    #[test]
    fn a_model_saved_with_another_auxiliary_head_loads_and_a_wrong_weight_does_not() {
        let cfg = Config::tiny(16);
        let dir = tempfile::tempdir().unwrap();
        let trainable = Trainable::fresh(&cfg, 5).unwrap();
        trainable.save(dir.path()).unwrap();
        let weights = dir.path().join("model.safetensors");
        let mut saved = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
        // An older model: a head with fewer labels.
        saved.insert(
            "aux_head.weight".into(),
            Tensor::zeros((3, cfg.d_model), DType::F32, &Device::Cpu).unwrap(),
        );
        saved.remove("aux_head.bias");
        candle_core::safetensors::save(&saved, &weights).unwrap();
        let loaded = Trainable::load(dir.path()).unwrap();
        let patches = Tensor::full(
            0.3f32,
            (
                1,
                cfg.frames_per_clip * cfg.patches_per_frame(),
                cfg.patch_dim(),
            ),
            &Device::Cpu,
        )
        .unwrap();
        let greedy = crate::policy::builtin::Sampling::Greedy;
        assert_eq!(
            loaded.model.generate(&patches, &[5], greedy).unwrap(),
            trainable.model.generate(&patches, &[5], greedy).unwrap(),
            "the policy's own weights were all read"
        );

        let name = saved
            .keys()
            .find(|k| k.starts_with("lm_head"))
            .cloned()
            .unwrap();
        saved.insert(
            name.clone(),
            Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap(),
        );
        candle_core::safetensors::save(&saved, &weights).unwrap();
        let err = Trainable::load(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("model.safetensors") && err.contains(&name),
            "{err}"
        );
    }
}
