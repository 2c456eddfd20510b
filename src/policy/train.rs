//! Training the built-in policy. So far the supervised warm-up: teacher-forced next-token
//! loss on the world's reference descriptions of training streams, with `AdamW`, seeded batches,
//! progress reports and cancellation. Phase One's GRPO builds on the warm-up model.

use std::ops::ControlFlow;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};

use super::builtin::{Config, MemorizerModel, seed_weights};
use super::data::ClipExample;
use crate::world::rng::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct WarmupSettings {
    pub steps: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for WarmupSettings {
    fn default() -> Self {
        Self {
            steps: 400,
            batch: 16,
            learning_rate: 2e-3,
            seed: 1,
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
        let weights = dir.join("model.safetensors");
        let partial = dir.join("model.safetensors.partial");
        self.varmap.save(&partial)?;
        std::fs::rename(&partial, &weights)?;
        let config = serde_json::to_vec_pretty(self.model.config())?;
        crate::fsutil::write_atomic(&dir.join("config.json"), &config)?;
        Ok(())
    }

    /// Reads what [`Self::save`] wrote.
    ///
    /// # Errors
    /// When the files are missing or do not fit each other.
    pub fn load(dir: &std::path::Path) -> anyhow::Result<Self> {
        let config_path = dir.join("config.json");
        let cfg: Config = serde_json::from_slice(
            &std::fs::read(&config_path)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", config_path.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: not a model config: {e}", config_path.display()))?;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MemorizerModel::new(&cfg, vb)?;
        let weights = dir.join("model.safetensors");
        varmap
            .load(&weights)
            .map_err(|e| anyhow::anyhow!("{}: {e}", weights.display()))?;
        Ok(Self { varmap, model })
    }
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
    let mut opt = AdamW::new(
        trainable.varmap.all_vars(),
        ParamsAdamW {
            lr: settings.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Rng::new(settings.seed);
    let mut losses = Vec::with_capacity(settings.steps);
    if examples.is_empty() {
        return Ok(losses);
    }
    let cfg = trainable.model.config().clone();
    for step in 0..settings.steps {
        let picked: Vec<&ClipExample> = (0..settings.batch.max(1))
            .map(|_| &examples[rng.below(examples.len())])
            .collect();
        let batch = batch(&picked, &cfg)?;
        let loss = trainable
            .model
            .nll(&batch.patches, &batch.contexts, &batch.targets)?;
        opt.backward_step(&loss)?;
        let value = loss.to_scalar::<f32>()?;
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
