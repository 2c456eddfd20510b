//! The built-in model's shape: saved as JSON beside its weights, read back before them.

use serde::{Deserialize, Serialize};

/// The model's shape. Saved as JSON beside the safetensors weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub enc_layers: usize,
    pub dec_layers: usize,
    pub d_ff: usize,
    /// Frames are scaled to this size before cutting patches.
    pub frame_width: usize,
    pub frame_height: usize,
    pub patch: usize,
    /// The side of the sub-patches a patch's stem reads first (a shared linear layer and a `ReLU`
    /// over each, then one linear layer over the patch's sub-patch features), so that a large
    /// patch still sees objects a few pixels wide. 0 (or a side that does not divide `patch`,
    /// or no `stem_channels`): no stem, one linear layer over the patch's pixels, as in the
    /// models trained before the stem.
    #[serde(default)]
    pub sub_patch: usize,
    /// Features per sub-patch in the stem.
    #[serde(default)]
    pub stem_channels: usize,
    /// The first encoder layers attend only within a frame (what is where), the rest across
    /// all frames (what changed); 0 in the models trained before.
    #[serde(default)]
    pub frame_local_layers: usize,
    /// Frames sampled per clip (evenly spread over it).
    pub frames_per_clip: usize,
    /// Tokens of the preceding description the decoder reads.
    pub max_context_tokens: usize,
    /// The token budget of a description.
    pub max_output_tokens: usize,
    /// Policy v2: the model reads the perception encoder's tokens of each sampled frame
    /// instead of pixel patches (`None`: pixel patches, as the models before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perception: Option<PerceptionInput>,
}

/// What a v2 model reads per frame: the perception encoder's query tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerceptionInput {
    pub tokens_per_frame: usize,
    pub width: usize,
}

impl Config {
    /// The size the shipped model uses.
    #[must_use]
    pub fn small(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 128,
            n_heads: 4,
            enc_layers: 2,
            dec_layers: 2,
            d_ff: 256,
            // The world's 320x180 frames at 0.8x: an object 8-12 px wide keeps 6-10 px, which
            // the stem's 4-px sub-patches resolve (at 128x64 it was 3-5 px, under a third
            // of a 16-px patch, and the model could not tell a red apple from a red cup).
            frame_width: 256,
            frame_height: 128,
            patch: 32,
            sub_patch: 4,
            stem_channels: 24,
            // Attention within a frame costs a tenth of attention across ten: a training step
            // over the 320 vision tokens of a clip was mostly attention's element-wise work.
            frame_local_layers: 1,
            frames_per_clip: 10,
            max_context_tokens: 48,
            max_output_tokens: 48,
            perception: None,
        }
    }

    /// A very small one, for tests.
    #[must_use]
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            d_model: 32,
            n_heads: 2,
            enc_layers: 1,
            dec_layers: 1,
            d_ff: 64,
            frame_width: 16,
            frame_height: 8,
            patch: 4,
            sub_patch: 2,
            stem_channels: 4,
            frame_local_layers: 1,
            frames_per_clip: 2,
            max_context_tokens: 8,
            max_output_tokens: 12,
            perception: None,
        }
    }

    /// This shape as policy v2: a decoder over the perception encoder's tokens (one
    /// cross-frame encoder layer over them, no pixel stem), writing at most
    /// `max_output_tokens` (the budget's ceiling).
    #[must_use]
    pub fn with_perception(self, perception: PerceptionInput) -> Self {
        Self {
            enc_layers: 1,
            // A third layer: stating a thing's color, kind and place in turn means finding the
            // cell again from the words already written.
            dec_layers: self.dec_layers.max(3),
            sub_patch: 0,
            stem_channels: 0,
            frame_local_layers: 0,
            frame_width: crate::world::render::WIDTH,
            frame_height: crate::world::render::HEIGHT,
            patch: 20,
            frames_per_clip: crate::world::truth::SAMPLES_PER_CLIP,
            max_context_tokens: self.max_context_tokens.min(32),
            perception: Some(perception),
            ..self
        }
    }

    /// Vision tokens per frame: patches, or the perception encoder's tokens.
    #[must_use]
    pub fn patches_per_frame(&self) -> usize {
        match self.perception {
            Some(p) => p.tokens_per_frame,
            None => (self.frame_width / self.patch) * (self.frame_height / self.patch),
        }
    }

    /// Values per vision token: a patch's pixels, or a perception token's width.
    #[must_use]
    pub fn patch_dim(&self) -> usize {
        match self.perception {
            Some(p) => p.width,
            None => self.patch * self.patch * 3,
        }
    }

    /// The side of the pixel blocks a patch's values are grouped by: the stem's sub-patch, or
    /// the whole patch when there is no stem.
    #[must_use]
    pub fn block(&self) -> usize {
        if self.perception.is_some()
            || self.sub_patch == 0
            || self.stem_channels == 0
            || !self.patch.is_multiple_of(self.sub_patch)
        {
            self.patch
        } else {
            self.sub_patch
        }
    }

    /// Positions the decoder's sequence can have: context, BOS, output, EOS.
    #[must_use]
    pub fn max_positions(&self) -> usize {
        self.max_context_tokens + self.max_output_tokens + 2
    }
}
