//! DPO on TaskMem's steering adapter: one learnable vector of the decoder's width, added
//! (times a scale) to the hidden states after one decoder layer; every base weight frozen.
//! The reference is the same Phase One model without the vector, so its log-probabilities
//! are computed once per pair.

use std::ops::ControlFlow;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::policy::builtin::{MemorizerModel, Steering};
use crate::world::rng::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct DpoSettings {
    /// DPO's temperature on the log-ratio.
    pub beta: f64,
    pub steps: usize,
    /// Pairs per step.
    pub batch: usize,
    pub learning_rate: f64,
    /// The decoder layer (0-based) after which the vector is added.
    pub layer: usize,
    pub scale: f64,
    pub seed: u64,
}

impl Default for DpoSettings {
    fn default() -> Self {
        Self {
            beta: 0.1,
            steps: 80,
            batch: 8,
            learning_rate: 0.02,
            layer: 0,
            // TaskMem's released adapter.
            scale: 1.5,
            seed: 1,
        }
    }
}

/// A pair as the model reads it.
#[derive(Clone, Debug)]
pub struct TokenPair {
    /// `frames_per_clip x patches_per_frame x patch_dim` values.
    pub patches: Vec<f32>,
    pub context: Vec<u32>,
    pub chosen: Vec<u32>,
    pub rejected: Vec<u32>,
}

/// One DPO step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpoStats {
    pub step: usize,
    pub steps: usize,
    pub loss: f32,
    /// Mean of beta x (chosen log-ratio - rejected log-ratio): the implicit reward margin.
    pub margin: f32,
    /// Share of the batch whose chosen description is preferred by the implicit reward.
    pub accuracy: f32,
}

/// The DPO loss and the per-pair margins from summed log-probabilities (`[B]` each).
///
/// # Errors
/// On a tensor error.
pub fn dpo_loss(
    policy_chosen: &Tensor,
    policy_rejected: &Tensor,
    reference_chosen: &Tensor,
    reference_rejected: &Tensor,
    beta: f64,
) -> candle_core::Result<(Tensor, Tensor)> {
    let chosen = (policy_chosen - reference_chosen)?;
    let rejected = (policy_rejected - reference_rejected)?;
    let margins = ((chosen - rejected)? * beta)?;
    // -log sigmoid(m) = softplus(-m) = log(1 + exp(-m)), written stably.
    let neg = margins.neg()?;
    let softplus = (neg.relu()? + (neg.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    Ok((softplus.mean_all()?, margins))
}

fn batch_tensors(
    pairs: &[&TokenPair],
    patch_count: usize,
    patch_dim: usize,
) -> candle_core::Result<Tensor> {
    let mut data = Vec::with_capacity(pairs.len() * patch_count * patch_dim);
    for p in pairs {
        data.extend_from_slice(&p.patches);
    }
    Tensor::from_vec(data, (pairs.len(), patch_count, patch_dim), &Device::Cpu)
}

/// Summed log-probability of each output, `[B]`.
fn sequence_logps(
    model: &MemorizerModel,
    vision: &Tensor,
    contexts: &[Vec<u32>],
    outputs: &[Vec<u32>],
    steering: Option<&Steering>,
) -> candle_core::Result<Tensor> {
    let (logp, _) = model.logprobs_from_vision(vision, contexts, outputs, steering)?;
    logp.sum(1)
}

/// Trains a steering vector with DPO against the frozen `model`. Returns the vector's values
/// and each step's figures; `on_step` may stop the run (the vector so far is returned).
///
/// # Errors
/// On a tensor error.
pub fn train_steering(
    model: &MemorizerModel,
    pairs: &[TokenPair],
    settings: &DpoSettings,
    on_step: &mut dyn FnMut(DpoStats) -> ControlFlow<()>,
) -> candle_core::Result<(Vec<f32>, Vec<DpoStats>)> {
    let cfg = model.config().clone();
    let vector = Var::zeros(cfg.d_model, DType::F32, &Device::Cpu)?;
    let mut stats = Vec::new();
    if pairs.is_empty() {
        return Ok((vector.as_tensor().to_vec1()?, stats));
    }
    let patch_count = cfg.frames_per_clip * cfg.patches_per_frame();
    // Each pair's vision tokens and the reference's log-probabilities, once per pair: the
    // vector acts in the decoder only, so the encoder's output never changes (encoding the
    // clips at every step was most of a step's time).
    let mut vision = Vec::with_capacity(pairs.len());
    let mut reference = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(16) {
        let refs: Vec<&TokenPair> = chunk.iter().collect();
        let encoded = model.encode(&batch_tensors(&refs, patch_count, cfg.patch_dim())?)?;
        let contexts: Vec<Vec<u32>> = chunk.iter().map(|p| p.context.clone()).collect();
        let chosen: Vec<Vec<u32>> = chunk.iter().map(|p| p.chosen.clone()).collect();
        let rejected: Vec<Vec<u32>> = chunk.iter().map(|p| p.rejected.clone()).collect();
        let c = sequence_logps(model, &encoded, &contexts, &chosen, None)?.to_vec1::<f32>()?;
        let r = sequence_logps(model, &encoded, &contexts, &rejected, None)?.to_vec1::<f32>()?;
        reference.extend(c.into_iter().zip(r));
        for i in 0..chunk.len() {
            vision.push(encoded.narrow(0, i, 1)?);
        }
    }
    let mut opt = AdamW::new(
        vec![vector.clone()],
        ParamsAdamW {
            lr: settings.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Rng::new(settings.seed);
    for step in 0..settings.steps {
        let picked: Vec<usize> = (0..settings.batch.max(1).min(pairs.len()))
            .map(|_| rng.below(pairs.len()))
            .collect();
        let batch: Vec<&TokenPair> = picked.iter().map(|&i| &pairs[i]).collect();
        let picked_vision: Vec<&Tensor> = picked.iter().map(|&i| &vision[i]).collect();
        let batch_vision = Tensor::cat(&picked_vision, 0)?;
        let contexts: Vec<Vec<u32>> = batch.iter().map(|p| p.context.clone()).collect();
        let chosen: Vec<Vec<u32>> = batch.iter().map(|p| p.chosen.clone()).collect();
        let rejected: Vec<Vec<u32>> = batch.iter().map(|p| p.rejected.clone()).collect();
        let steering = Steering {
            layer: settings.layer,
            scale: settings.scale,
            vector: vector.as_tensor().clone(),
        };
        // Chosen and rejected in one pass through the decoder.
        let both_vision = Tensor::cat(&[&batch_vision, &batch_vision], 0)?;
        let both_contexts: Vec<Vec<u32>> = contexts.iter().chain(&contexts).cloned().collect();
        let both_outputs: Vec<Vec<u32>> = chosen.into_iter().chain(rejected).collect();
        let logps = sequence_logps(
            model,
            &both_vision,
            &both_contexts,
            &both_outputs,
            Some(&steering),
        )?;
        let n = batch.len();
        let policy_chosen = logps.narrow(0, 0, n)?;
        let policy_rejected = logps.narrow(0, n, n)?;
        let ref_chosen: Vec<f32> = picked.iter().map(|&i| reference[i].0).collect();
        let ref_rejected: Vec<f32> = picked.iter().map(|&i| reference[i].1).collect();
        let (loss, margins) = dpo_loss(
            &policy_chosen,
            &policy_rejected,
            &Tensor::from_vec(ref_chosen, n, &Device::Cpu)?,
            &Tensor::from_vec(ref_rejected, n, &Device::Cpu)?,
            settings.beta,
        )?;
        // Only the vector is stepped: the base weights get gradients but no updates.
        opt.backward_step(&loss)?;
        let margins = margins.to_vec1::<f32>()?;
        let stat = DpoStats {
            step: step + 1,
            steps: settings.steps,
            loss: loss.to_scalar::<f32>()?,
            margin: margins.iter().sum::<f32>() / n as f32,
            accuracy: margins.iter().filter(|m| **m > 0.0).count() as f32 / n as f32,
        };
        stats.push(stat);
        if on_step(stat).is_break() {
            break;
        }
    }
    Ok((vector.as_tensor().to_vec1()?, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::builtin::Config;
    use crate::policy::lang::Vocab;
    use crate::policy::train::Trainable;

    #[test]
    fn the_loss_is_log_two_at_the_reference_and_falls_as_the_margin_grows() {
        let zero = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let (loss, margins) = dpo_loss(&zero, &zero, &zero, &zero, 0.1).unwrap();
        assert!((loss.to_scalar::<f32>().unwrap() - std::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(margins.to_vec1::<f32>().unwrap(), vec![0.0; 3]);
        let up = Tensor::new(&[5.0f32, 5.0, 5.0], &Device::Cpu).unwrap();
        let (better, _) = dpo_loss(&up, &zero, &zero, &zero, 0.1).unwrap();
        assert!(better.to_scalar::<f32>().unwrap() < std::f32::consts::LN_2);
    }

    #[test]
    fn dpo_on_made_up_pairs_moves_the_log_ratio_toward_the_chosen_and_leaves_the_base_alone() {
        let vocab = Vocab::world();
        let cfg = Config::tiny(vocab.len());
        let trainable = Trainable::fresh(&cfg, 3).unwrap();
        let patch_len = cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim();
        let chosen = vocab.encode("There are 3 apples on the kitchen table.");
        let rejected = vocab.encode("I look around the kitchen.");
        let pairs: Vec<TokenPair> = (0..4)
            .map(|i| TokenPair {
                patches: (0..patch_len).map(|k| ((k + i) % 7) as f32 / 7.0).collect(),
                context: Vec::new(),
                chosen: chosen.clone(),
                rejected: rejected.clone(),
            })
            .collect();
        let weights = |t: &Trainable| -> Vec<f32> {
            t.varmap
                .all_vars()
                .iter()
                .flat_map(|v| {
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect()
        };
        let before = weights(&trainable);
        let settings = DpoSettings {
            steps: 25,
            batch: 4,
            learning_rate: 0.05,
            ..DpoSettings::default()
        };
        let (vector, stats) = train_steering(&trainable.model, &pairs, &settings, &mut |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(vector.len(), cfg.d_model);
        assert!(stats[0].margin.abs() < 1e-4, "starts at the reference");
        let last = stats.last().unwrap();
        assert!(last.margin > 0.05, "the chosen log-ratio rises: {stats:?}");
        assert!(last.loss < stats[0].loss);

        assert_eq!(before, weights(&trainable), "every base weight frozen");
    }
}
