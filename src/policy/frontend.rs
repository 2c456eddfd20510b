//! How a clip's sampled frames become the built-in model's vision input: pixel patches (the
//! models before policy v2) or the perception encoder's tokens (v2), one place for every path
//! that feeds the model (training examples, live memorizing, ingest, Phase Two pairs).

use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::builtin::{Config, clip_patches};
use super::perception::PerceptionError;
use super::perception::model::{PerceptionModel, frame_input, input_tensor};
use crate::video::Frame;

/// The folder beside a v2 model's weights that holds its perception encoder.
pub const PERCEPTION_DIR: &str = "perception";

#[derive(Clone)]
pub enum Frontend {
    Pixels,
    Perception(Arc<PerceptionModel>),
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pixels => f.write_str("Pixels"),
            Self::Perception(_) => f.write_str("Perception"),
        }
    }
}

impl Frontend {
    /// The frontend a model saved in `dir` with `cfg` reads through: its `perception/` encoder
    /// when the config asks for one.
    ///
    /// # Errors
    /// When the encoder is missing or does not fit the config.
    pub fn for_model(dir: &Path, cfg: &Config) -> Result<Self, PerceptionError> {
        let Some(wanted) = cfg.perception else {
            return Ok(Self::Pixels);
        };
        let encoder_dir = dir.join(PERCEPTION_DIR);
        let encoder = super::perception::train::load(&encoder_dir)?;
        let (tokens, width) = (super::perception::labels::QUERIES, encoder.config().d_model);
        if (tokens, width) != (wanted.tokens_per_frame, wanted.width) {
            return Err(PerceptionError::Checkpoint {
                path: encoder_dir.join("config.json"),
                problem: format!(
                    "the encoder gives {tokens} tokens of {width} values a frame, the model wants {} of {}",
                    wanted.tokens_per_frame, wanted.width
                ),
            });
        }
        Ok(Self::Perception(Arc::new(encoder)))
    }

    /// A clip's model input: `frames_per_clip x patches_per_frame x patch_dim` values, from
    /// frames spread evenly over the clip (a short clip repeats its last frame; none gives
    /// zeros).
    ///
    /// # Errors
    /// When the encoder fails.
    pub fn clip_input(&self, frames: &[Frame], cfg: &Config) -> candle_core::Result<Vec<f32>> {
        let encoder = match self {
            Self::Pixels => return Ok(clip_patches(frames, cfg)),
            Self::Perception(encoder) => encoder,
        };
        let per_frame = cfg.patches_per_frame() * cfg.patch_dim();
        if frames.is_empty() {
            return Ok(vec![0.0; cfg.frames_per_clip * per_frame]);
        }
        let inputs: Vec<Vec<f32>> = (0..cfg.frames_per_clip)
            .map(|i| {
                let at = (i * frames.len() / cfg.frames_per_clip).min(frames.len() - 1);
                frame_input(&frames[at], encoder.config())
            })
            .collect();
        let tokens = encoder.forward(&input_tensor(&inputs, encoder.config())?)?;
        tokens.flatten_all()?.to_vec1::<f32>()
    }

    /// [`Self::clip_input`] as a `[1, tokens, patch_dim]` tensor.
    ///
    /// # Errors
    /// When the encoder fails.
    pub fn clip_tensor(&self, frames: &[Frame], cfg: &Config) -> candle_core::Result<Tensor> {
        Tensor::from_vec(
            self.clip_input(frames, cfg)?,
            (
                1,
                cfg.frames_per_clip * cfg.patches_per_frame(),
                cfg.patch_dim(),
            ),
            &Device::Cpu,
        )
    }
}
