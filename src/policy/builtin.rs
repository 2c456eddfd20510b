//! The built-in memorization policy's model, in candle: a vision encoder over patches of
//! frames sampled from a clip, and a small transformer decoder that reads the preceding clip's
//! description (as context) and writes this clip's description in the world's language,
//! attending to the frames through cross-attention. Written as `Config` + `new(cfg, vb)` +
//! `forward`, like candle's own models; decoding is greedy or sampled with a seed.

use candle_core::{D, DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use serde::{Deserialize, Serialize};

use super::lang::{BOS, EOS, PAD};
use crate::video::Frame;

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

/// A clip's frames as the model's input: `frames_per_clip x patches_per_frame` rows of
/// `patch_dim` values in [-1, 1], each row grouped by [`Config::block`]. Frames are
/// box-filtered down to the model's size.
#[must_use]
pub fn clip_patches(frames: &[Frame], cfg: &Config) -> Vec<f32> {
    let (w, h, p) = (cfg.frame_width, cfg.frame_height, cfg.patch);
    let mut out =
        Vec::with_capacity(cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim());
    for i in 0..cfg.frames_per_clip {
        // Evenly spread; a short clip repeats its last frame.
        let Some(frame) = (!frames.is_empty())
            .then(|| &frames[(i * frames.len() / cfg.frames_per_clip).min(frames.len() - 1)])
        else {
            out.resize(out.len() + cfg.patches_per_frame() * cfg.patch_dim(), 0.0);
            continue;
        };
        let small = box_downscale(frame, w, h);
        let s = cfg.block();
        for py in 0..h / p {
            for px in 0..w / p {
                // Block by block (the stem's sub-patches), row by row within each.
                for by in 0..p / s {
                    for bx in 0..p / s {
                        for y in 0..s {
                            let row = py * p + by * s + y;
                            let at = (row * w + px * p + bx * s) * 3;
                            out.extend_from_slice(&small[at..at + s * 3]);
                        }
                    }
                }
            }
        }
    }
    out
}

/// RGB in [-1, 1] at `w x h`, each pixel the mean of the source pixels it covers.
pub(crate) fn box_downscale(frame: &Frame, w: usize, h: usize) -> Vec<f32> {
    let (sw, sh) = (frame.width as usize, frame.height as usize);
    let mut out = vec![0.0f32; w * h * 3];
    if sw == 0 || sh == 0 {
        return out;
    }
    for y in 0..h {
        let (y0, y1) = (y * sh / h, ((y + 1) * sh / h).max(y * sh / h + 1).min(sh));
        for x in 0..w {
            let (x0, x1) = (x * sw / w, ((x + 1) * sw / w).max(x * sw / w + 1).min(sw));
            let mut sum = [0u32; 3];
            for sy in y0..y1 {
                for sx in x0..x1 {
                    let at = (sy * sw + sx) * 4;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u32::from(frame.rgba[at + c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as f32;
            for c in 0..3 {
                out[(y * w + x) * 3 + c] = sum[c] as f32 / n / 127.5 - 1.0;
            }
        }
    }
    out
}

/// What the patch embedding reads per patch: the stem's features of each block, or the pixels.
fn patch_features(cfg: &Config) -> usize {
    if cfg.block() == cfg.patch {
        cfg.patch_dim()
    } else {
        (cfg.patch / cfg.block()).pow(2) * cfg.stem_channels
    }
}

/// Layer norm that trains: candle's fused `LayerNorm::forward` passes no gradient back, so
/// the forward pass goes through `ops::layer_norm_slow` with the same weights.
pub(crate) struct Norm(LayerNorm);

impl Norm {
    pub(crate) fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        layer_norm(d, 1e-5, vb).map(Self)
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let bias = match self.0.bias() {
            Some(b) => b.clone(),
            None => self.0.weight().zeros_like()?,
        };
        candle_nn::ops::layer_norm_slow(x, self.0.weight(), &bias, 1e-5)
    }
}

pub(crate) struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
}

impl Attention {
    pub(crate) fn new(d: usize, heads: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            q: linear(d, d, vb.pp("q"))?,
            k: linear(d, d, vb.pp("k"))?,
            v: linear(d, d, vb.pp("v"))?,
            o: linear(d, d, vb.pp("o"))?,
            heads,
        })
    }

    /// `x` attends to `kv` ([B, T, D] and [B, S, D]); `mask` ([T, S]) is added to the scores.
    pub(crate) fn forward(&self, x: &Tensor, kv: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (keys, values) = self.keys_values(kv)?;
        self.attend(x, &keys, &values, mask)
    }

    /// `[B, L, D]` as `[B, heads, L, head_dim]`.
    fn split_heads(&self, y: &Tensor) -> Result<Tensor> {
        let (batch, len, width) = y.dims3()?;
        y.reshape((batch, len, self.heads, width / self.heads))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// The keys and values `kv` ([B, S, D]) offers, split into heads: what a cache keeps.
    fn keys_values(&self, kv: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.split_heads(&self.k.forward(kv)?)?,
            self.split_heads(&self.v.forward(kv)?)?,
        ))
    }

    /// `x` ([B, T, D]) attends to keys and values already split into heads.
    fn attend(
        &self,
        x: &Tensor,
        keys: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (batch, len_q, width) = x.dims3()?;
        let head_dim = width / self.heads;
        let queries = self.split_heads(&self.q.forward(x)?)?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mut scores = (queries.matmul(&keys.t()?.contiguous()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        // ops::softmax (not softmax_last_dim): the fused kernel passes no gradient back.
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let out = weights
            .matmul(values)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch, len_q, width))?;
        self.o.forward(&out)
    }
}

/// What one decoder layer keeps between generated tokens: its self-attention's keys and values
/// so far, and its cross-attention's keys and values of the clip's vision tokens (computed once
/// per clip).
struct LayerCache {
    past: Option<(Tensor, Tensor)>,
    vision: (Tensor, Tensor),
}

pub(crate) struct Mlp {
    up: Linear,
    down: Linear,
}

impl Mlp {
    pub(crate) fn new(d: usize, ff: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            up: linear(d, ff, vb.pp("up"))?,
            down: linear(ff, d, vb.pp("down"))?,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.down.forward(&self.up.forward(x)?.gelu()?)
    }
}

struct EncoderLayer {
    ln1: Norm,
    attn: Attention,
    ln2: Norm,
    mlp: Mlp,
}

impl EncoderLayer {
    fn new(cfg: &Config, vb: &VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            ln1: Norm::new(d, vb.pp("ln1"))?,
            attn: Attention::new(d, cfg.n_heads, &vb.pp("attn"))?,
            ln2: Norm::new(d, vb.pp("ln2"))?,
            mlp: Mlp::new(d, cfg.d_ff, &vb.pp("mlp"))?,
        })
    }

    /// `x` is `[B, tokens, D]`; with `frame_tokens`, each run of that many tokens (one frame)
    /// attends only to itself.
    fn forward(&self, x: &Tensor, frame_tokens: Option<usize>) -> Result<Tensor> {
        let h = self.ln1.forward(x)?;
        let attended = match frame_tokens {
            Some(per_frame) => {
                let (batch, tokens, dim) = h.dims3()?;
                let frames = h.reshape((batch * tokens / per_frame, per_frame, dim))?;
                self.attn
                    .forward(&frames, &frames, None)?
                    .reshape((batch, tokens, dim))?
            }
            None => self.attn.forward(&h, &h, None)?,
        };
        let x = (x + attended)?;
        let h = self.ln2.forward(&x)?;
        x + self.mlp.forward(&h)?
    }
}

struct DecoderLayer {
    ln1: Norm,
    self_attn: Attention,
    ln2: Norm,
    cross_attn: Attention,
    ln3: Norm,
    mlp: Mlp,
}

impl DecoderLayer {
    fn new(cfg: &Config, vb: &VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            ln1: Norm::new(d, vb.pp("ln1"))?,
            self_attn: Attention::new(d, cfg.n_heads, &vb.pp("self_attn"))?,
            ln2: Norm::new(d, vb.pp("ln2"))?,
            cross_attn: Attention::new(d, cfg.n_heads, &vb.pp("cross_attn"))?,
            ln3: Norm::new(d, vb.pp("ln3"))?,
            mlp: Mlp::new(d, cfg.d_ff, &vb.pp("mlp"))?,
        })
    }

    fn forward(&self, x: &Tensor, vision: &Tensor, causal: &Tensor) -> Result<Tensor> {
        let h = self.ln1.forward(x)?;
        let x = (x + self.self_attn.forward(&h, &h, Some(causal))?)?;
        self.cross_and_mlp(&x, &self.cross_attn.keys_values(vision)?)
    }

    /// The layer after its self-attention: cross-attention to the vision keys and values,
    /// then the MLP.
    fn cross_and_mlp(&self, x: &Tensor, vision: &(Tensor, Tensor)) -> Result<Tensor> {
        let h = self.ln2.forward(x)?;
        let x = (x + self.cross_attn.attend(&h, &vision.0, &vision.1, None)?)?;
        let h = self.ln3.forward(&x)?;
        x + self.mlp.forward(&h)?
    }

    /// The same as `forward` for new positions `x` after those in `cache`, which it extends.
    /// `mask` is the causal mask among the new positions (none for a single one).
    fn forward_cached(
        &self,
        x: &Tensor,
        cache: &mut LayerCache,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let h = self.ln1.forward(x)?;
        let (keys, values) = self.self_attn.keys_values(&h)?;
        let (keys, values) = match cache.past.take() {
            Some((k, v)) => (
                Tensor::cat(&[&k, &keys], 2)?,
                Tensor::cat(&[&v, &values], 2)?,
            ),
            None => (keys, values),
        };
        let x = (x + self.self_attn.attend(&h, &keys, &values, mask)?)?;
        cache.past = Some((keys, values));
        self.cross_and_mlp(&x, &cache.vision)
    }
}

/// A steering vector (`[d_model]`) added to the decoder's hidden states after decoder layer
/// `layer`, times `scale`: Phase Two's adapter. Every base weight stays as it is.
#[derive(Clone, Debug)]
pub struct Steering {
    pub layer: usize,
    pub scale: f64,
    pub vector: Tensor,
}

impl Steering {
    /// The hidden states `x` ([B, T, D]) after decoder layer `index`, steered when it is the
    /// adapter's layer.
    fn after_layer(&self, index: usize, x: Tensor) -> Result<Tensor> {
        if index == self.layer {
            x.broadcast_add(&(&self.vector * self.scale)?)
        } else {
            Ok(x)
        }
    }
}

/// How a description is decoded beyond the sampling: an adapter, and a token budget (at most
/// the config's, which the position table is sized for).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions<'a> {
    pub steering: Option<&'a Steering>,
    /// `None`: [`super::DEFAULT_BUDGET_TOKENS`]. Either way at most the config's
    /// `max_output_tokens`.
    pub budget_tokens: Option<usize>,
}

/// The policy's network.
pub struct MemorizerModel {
    cfg: Config,
    stem: Option<Linear>,
    patch_embed: Linear,
    patch_pos: Embedding,
    frame_pos: Embedding,
    encoder: Vec<EncoderLayer>,
    enc_norm: Norm,
    tok_embed: Embedding,
    pos_embed: Embedding,
    /// 0 for the preceding description, 1 for the one being written.
    segment_embed: Embedding,
    decoder: Vec<DecoderLayer>,
    dec_norm: Norm,
    lm_head: Linear,
    /// Training-only probe of the vision tokens: which room, who is seen, in which outfit.
    /// Absent from models saved before it existed, which still load and memorize.
    aux_head: Option<Linear>,
}

/// Labels of [`MemorizerModel::aux_logits`]: 4 rooms, 4 faces seen, 4 x 10 face outfits,
/// 10 outfit colors seen on anyone.
pub const AUX_LABELS: usize = 58;

/// Where the auxiliary head's weights are named in `model.safetensors`.
pub const AUX_HEAD: &str = "aux_head";

/// One decoded description.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Without BOS and EOS.
    pub tokens: Vec<u32>,
    /// The log-probability of each chosen token (and of EOS when it ended the text).
    pub logprobs: Vec<f32>,
}

/// How to pick each token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    Greedy,
    /// Sample from the softmax at this temperature, with a seeded generator.
    Temperature {
        temperature: f64,
        seed: u64,
    },
}

impl MemorizerModel {
    /// # Errors
    /// When the weights in `vb` do not have the shapes `cfg` asks for.
    // candle's convention: a model takes its VarBuilder by value.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let encoder = (0..cfg.enc_layers)
            .map(|i| EncoderLayer::new(cfg, &vb.pp(format!("encoder.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let decoder = (0..cfg.dec_layers)
            .map(|i| DecoderLayer::new(cfg, &vb.pp(format!("decoder.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            stem: if cfg.block() == cfg.patch {
                None
            } else {
                Some(linear(
                    cfg.block() * cfg.block() * 3,
                    cfg.stem_channels,
                    vb.pp("patch_stem"),
                )?)
            },
            patch_embed: linear(patch_features(cfg), d, vb.pp("patch_embed"))?,
            patch_pos: embedding(cfg.patches_per_frame(), d, vb.pp("patch_pos"))?,
            frame_pos: embedding(cfg.frames_per_clip, d, vb.pp("frame_pos"))?,
            encoder,
            enc_norm: Norm::new(d, vb.pp("enc_norm"))?,
            tok_embed: embedding(cfg.vocab_size, d, vb.pp("tok_embed"))?,
            pos_embed: embedding(cfg.max_positions(), d, vb.pp("pos_embed"))?,
            segment_embed: embedding(2, d, vb.pp("segment_embed"))?,
            decoder,
            dec_norm: Norm::new(d, vb.pp("dec_norm"))?,
            lm_head: linear(d, cfg.vocab_size, vb.pp("lm_head"))?,
            // Optional: a saved model without the head has nothing to read for it.
            aux_head: linear(d, AUX_LABELS, vb.pp(AUX_HEAD)).ok(),
            cfg: cfg.clone(),
        })
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Vision tokens of a batch of clips: `patches` is `[B, frames x patches, patch_dim]`.
    ///
    /// # Errors
    /// On a shape that does not match the config.
    pub fn encode(&self, patches: &Tensor) -> Result<Tensor> {
        let (b, n, _) = patches.dims3()?;
        let per_frame = self.cfg.patches_per_frame();
        let device = patches.device();
        let patch_ids: Vec<u32> = (0..n).map(|i| (i % per_frame) as u32).collect();
        let frame_ids: Vec<u32> = (0..n).map(|i| (i / per_frame) as u32).collect();
        let pos = (self
            .patch_pos
            .forward(&Tensor::from_vec(patch_ids, n, device)?)?
            + self
                .frame_pos
                .forward(&Tensor::from_vec(frame_ids, n, device)?)?)?;
        let features = match &self.stem {
            Some(stem) => {
                let blocks = self.cfg.patch_dim() / (self.cfg.block() * self.cfg.block() * 3);
                // As one 2-D matrix product: candle runs a 4-D input as one small product per
                // patch, thousands per batch. ReLU, not GELU: over the stem's two million
                // activations per training batch GELU made a step 40% slower.
                let per_block = stem
                    .forward(&patches.reshape((b * n * blocks, self.cfg.block().pow(2) * 3))?)?
                    .relu()?;
                per_block.reshape((b, n, blocks * self.cfg.stem_channels))?
            }
            None => patches.clone(),
        };
        let mut x = self
            .patch_embed
            .forward(&features)?
            .broadcast_add(&pos.unsqueeze(0)?)?;
        for (index, layer) in self.encoder.iter().enumerate() {
            let local = (index < self.cfg.frame_local_layers).then_some(per_frame);
            x = layer.forward(&x, local)?;
        }
        self.enc_norm.forward(&x)
    }

    /// Next-token logits [B, T, vocab] for token ids [B, T] (u32) and their segments [B, T]
    /// (0 context, 1 output), given the clips' vision tokens.
    ///
    /// # Errors
    /// On shapes that do not match, or a sequence longer than the config allows.
    pub fn decode(&self, vision: &Tensor, tokens: &Tensor, segments: &Tensor) -> Result<Tensor> {
        self.decode_steered(vision, tokens, segments, None)
    }

    /// [`Self::decode`] with an optional steering adapter.
    ///
    /// # Errors
    /// As [`Self::decode`], and on a steering vector of the wrong width.
    pub fn decode_steered(
        &self,
        vision: &Tensor,
        tokens: &Tensor,
        segments: &Tensor,
        steering: Option<&Steering>,
    ) -> Result<Tensor> {
        let (_, t) = tokens.dims2()?;
        let device = tokens.device();
        let positions = Tensor::arange(0u32, t as u32, device)?;
        let x = (self.tok_embed.forward(tokens)? + self.segment_embed.forward(segments)?)?;
        let mut x = x.broadcast_add(&self.pos_embed.forward(&positions)?.unsqueeze(0)?)?;
        let causal = causal_mask(t, device)?;
        for (index, layer) in self.decoder.iter().enumerate() {
            x = layer.forward(&x, vision, &causal)?;
            if let Some(steering) = steering {
                x = steering.after_layer(index, x)?;
            }
        }
        self.lm_head.forward(&self.dec_norm.forward(&x)?)
    }

    /// Logits of the auxiliary labels [B, `AUX_LABELS`] from vision tokens [B, N, D]: each
    /// label from the strongest evidence of any patch.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn aux_logits(&self, vision: &Tensor) -> Result<Tensor> {
        let head = self
            .aux_head
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("this model has no auxiliary head".into()))?;
        head.forward(&vision.max(1)?)
    }

    /// Encode and decode in one go (training).
    ///
    /// # Errors
    /// As [`Self::encode`] and [`Self::decode`].
    pub fn forward(&self, patches: &Tensor, tokens: &Tensor, segments: &Tensor) -> Result<Tensor> {
        let vision = self.encode(patches)?;
        self.decode(&vision, tokens, segments)
    }

    /// The decoder's input for a description: the context (its last `max_context_tokens`),
    /// then BOS, then `output`; with the segment of each position.
    #[must_use]
    pub fn sequence(&self, context: &[u32], output: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let context = &context[context.len().saturating_sub(self.cfg.max_context_tokens)..];
        let mut tokens = context.to_vec();
        let mut segments = vec![0u32; context.len()];
        tokens.push(BOS);
        segments.push(1);
        tokens.extend_from_slice(output);
        segments.resize(tokens.len(), 1);
        (tokens, segments)
    }

    /// Writes a description for one clip (`patches` is `[1, N, patch_dim]`) after `context`, up to
    /// the token budget. Each step reads only the token just written: the decoder keeps its
    /// keys and values, and the clip's vision keys and values are computed once.
    ///
    /// # Errors
    /// On a tensor error (shapes, device).
    pub fn generate(
        &self,
        patches: &Tensor,
        context: &[u32],
        sampling: Sampling,
    ) -> Result<Generated> {
        self.generate_with(patches, context, sampling, DecodeOptions::default())
    }

    /// [`Self::generate`] with an optional steering adapter and a token budget below the
    /// config's.
    ///
    /// # Errors
    /// As [`Self::generate`], and on a steering vector of the wrong width.
    pub fn generate_with(
        &self,
        patches: &Tensor,
        context: &[u32],
        sampling: Sampling,
        options: DecodeOptions<'_>,
    ) -> Result<Generated> {
        self.generate_from_vision(&self.encode(patches)?, context, sampling, options)
    }

    /// The same description written the plain way, re-reading the whole sequence at every
    /// step: the reference the cached decoder is tested and benchmarked against.
    ///
    /// # Errors
    /// On a tensor error (shapes, device).
    pub fn generate_without_cache(
        &self,
        patches: &Tensor,
        context: &[u32],
        sampling: Sampling,
    ) -> Result<Generated> {
        self.generate_vision(
            &self.encode(patches)?,
            context,
            sampling,
            None,
            self.cfg.max_output_tokens,
            false,
        )
    }

    /// [`Self::generate_with`] from a clip's vision tokens already encoded (`[1, N, D]`), so
    /// that several samples of one clip encode it once.
    ///
    /// # Errors
    /// As [`Self::generate_with`].
    pub fn generate_from_vision(
        &self,
        vision: &Tensor,
        context: &[u32],
        sampling: Sampling,
        options: DecodeOptions<'_>,
    ) -> Result<Generated> {
        let budget = options
            .budget_tokens
            .unwrap_or(super::DEFAULT_BUDGET_TOKENS)
            .min(self.cfg.max_output_tokens);
        self.generate_vision(vision, context, sampling, options.steering, budget, true)
    }

    fn generate_vision(
        &self,
        vision: &Tensor,
        context: &[u32],
        sampling: Sampling,
        steering: Option<&Steering>,
        budget_tokens: usize,
        use_cache: bool,
    ) -> Result<Generated> {
        let device = vision.device();
        let mut rng = match sampling {
            Sampling::Temperature { seed, .. } => crate::world::rng::Rng::new(seed),
            Sampling::Greedy => crate::world::rng::Rng::new(0),
        };
        let mut out = Generated {
            tokens: Vec::new(),
            logprobs: Vec::new(),
        };
        let mut caches = if use_cache {
            Some(
                self.decoder
                    .iter()
                    .map(|layer| {
                        Ok(LayerCache {
                            past: None,
                            vision: layer.cross_attn.keys_values(vision)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        } else {
            None
        };
        // The first step reads the context and BOS; each later one only the token just written.
        let (mut tokens, mut segments) = self.sequence(context, &[]);
        let mut position = 0usize;
        for _ in 0..=budget_tokens {
            let logits = if let Some(caches) = &mut caches {
                self.decode_cached(&tokens, &segments, position, caches, steering)?
            } else {
                let (all, all_segments) = self.sequence(context, &out.tokens);
                let t = all.len();
                let all = Tensor::from_vec(all, (1, t), device)?;
                let all_segments = Tensor::from_vec(all_segments, (1, t), device)?;
                self.decode_steered(vision, &all, &all_segments, steering)?
                    .i((0, t - 1))?
                    .to_dtype(DType::F32)?
            };
            position += tokens.len();
            let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?.to_vec1::<f32>()?;
            // PAD and BOS are never written.
            let allowed = |i: usize| i != PAD as usize && i != BOS as usize;
            let next = match sampling {
                Sampling::Greedy => (0..logp.len())
                    .filter(|&i| allowed(i))
                    .max_by(|&a, &b| logp[a].total_cmp(&logp[b]))
                    .unwrap_or(EOS as usize),
                Sampling::Temperature { temperature, .. } => {
                    let t = temperature.max(1e-3);
                    // Relative to the best allowed token, so a low temperature never
                    // underflows every weight to zero.
                    let best = (0..logp.len())
                        .filter(|&i| allowed(i))
                        .map(|i| f64::from(logp[i]))
                        .fold(f64::NEG_INFINITY, f64::max);
                    let weights: Vec<f64> = logp
                        .iter()
                        .enumerate()
                        .map(|(i, &l)| {
                            if allowed(i) {
                                ((f64::from(l) - best) / t).exp()
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    let total: f64 = weights.iter().sum();
                    let mut draw = rng.unit() * total;
                    let mut pick = EOS as usize;
                    for (i, w) in weights.iter().enumerate() {
                        if *w > 0.0 {
                            pick = i;
                            if draw < *w {
                                break;
                            }
                            draw -= w;
                        }
                    }
                    pick
                }
            };
            out.logprobs.push(logp[next]);
            if next == EOS as usize || out.tokens.len() == budget_tokens {
                if next != EOS as usize {
                    out.logprobs.pop();
                }
                break;
            }
            out.tokens.push(next as u32);
            tokens = vec![next as u32];
            segments = vec![1];
        }
        Ok(out)
    }

    /// The last position's next-token logits ([vocab], f32) for `tokens` placed at `position`
    /// onwards, after what `caches` hold (one clip, batch 1).
    fn decode_cached(
        &self,
        tokens: &[u32],
        segments: &[u32],
        position: usize,
        caches: &mut [LayerCache],
        steering: Option<&Steering>,
    ) -> Result<Tensor> {
        let device = self.tok_embed.embeddings().device();
        let t = tokens.len();
        let ids = Tensor::from_vec(tokens.to_vec(), (1, t), device)?;
        let segs = Tensor::from_vec(segments.to_vec(), (1, t), device)?;
        let positions = Tensor::arange(position as u32, (position + t) as u32, device)?;
        let x = (self.tok_embed.forward(&ids)? + self.segment_embed.forward(&segs)?)?;
        let mut x = x.broadcast_add(&self.pos_embed.forward(&positions)?.unsqueeze(0)?)?;
        let mask = (t > 1).then(|| causal_mask(t, device)).transpose()?;
        for (index, (layer, cache)) in self.decoder.iter().zip(caches.iter_mut()).enumerate() {
            x = layer.forward_cached(&x, cache, mask.as_ref())?;
            if let Some(steering) = steering {
                x = steering.after_layer(index, x)?;
            }
        }
        let last = self.dec_norm.forward(&x.i((.., t - 1..t, ..))?)?;
        self.lm_head.forward(&last)?.i((0, 0))?.to_dtype(DType::F32)
    }

    /// Teacher-forced log-probability of each token of `outputs` (one per clip, without
    /// BOS/EOS; EOS is scored after each) after their contexts: `[B, T]`, with `[B, T]`
    /// weights that are 1 where a position scores an output token and 0 elsewhere.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn token_logprobs(
        &self,
        patches: &Tensor,
        contexts: &[Vec<u32>],
        outputs: &[Vec<u32>],
    ) -> Result<(Tensor, Tensor)> {
        self.token_logprobs_steered(patches, contexts, outputs, None)
    }

    /// [`Self::token_logprobs`] with an optional steering adapter (Phase Two's DPO trains
    /// its vector through this).
    ///
    /// # Errors
    /// On a tensor error, or a steering vector of the wrong width.
    pub fn token_logprobs_steered(
        &self,
        patches: &Tensor,
        contexts: &[Vec<u32>],
        outputs: &[Vec<u32>],
        steering: Option<&Steering>,
    ) -> Result<(Tensor, Tensor)> {
        let vision = self.encode(patches)?;
        self.logprobs_from_vision(&vision, contexts, outputs, steering)
    }

    /// [`Self::token_logprobs_steered`] from vision tokens already encoded: the steering
    /// vector acts in the decoder only, so DPO encodes each clip once, not at every step.
    ///
    /// # Errors
    /// On a tensor error, or a steering vector of the wrong width.
    pub fn logprobs_from_vision(
        &self,
        vision: &Tensor,
        contexts: &[Vec<u32>],
        outputs: &[Vec<u32>],
        steering: Option<&Steering>,
    ) -> Result<(Tensor, Tensor)> {
        let device = vision.device();
        let mut rows = Vec::new();
        for (context, output) in contexts.iter().zip(outputs) {
            let output = &output[..output.len().min(self.cfg.max_output_tokens)];
            let mut full = output.to_vec();
            full.push(EOS);
            let (tokens, segments) = self.sequence(context, &full);
            rows.push((tokens, segments, full.len()));
        }
        let t = rows.iter().map(|r| r.0.len()).max().unwrap_or(1);
        let b = rows.len();
        let (mut inputs, mut segs, mut labels, mut weights) = (
            Vec::with_capacity(b * t),
            Vec::with_capacity(b * t),
            Vec::with_capacity(b * t),
            Vec::with_capacity(b * t),
        );
        for (tokens, segments, predicted) in &rows {
            let n = tokens.len();
            // Input position i predicts token i + 1; only the output (and EOS) is scored.
            for i in 0..t {
                let input = if i < n - 1 { tokens[i] } else { PAD };
                inputs.push(input);
                segs.push(if i < n - 1 { segments[i] } else { 1 });
                let label = if i + 1 < n { tokens[i + 1] } else { PAD };
                labels.push(label);
                let scored = i + 1 < n && i + 1 >= n - predicted;
                weights.push(if scored { 1.0f32 } else { 0.0 });
            }
        }
        let inputs = Tensor::from_vec(inputs, (b, t), device)?;
        let segs = Tensor::from_vec(segs, (b, t), device)?;
        let labels = Tensor::from_vec(labels, (b * t, 1), device)?;
        let weights = Tensor::from_vec(weights, (b, t), device)?;
        let logits = self.decode_steered(vision, &inputs, &segs, steering)?;
        let logp =
            candle_nn::ops::log_softmax(&logits.reshape((b * t, self.cfg.vocab_size))?, D::Minus1)?;
        let picked = logp.gather(&labels, 1)?.reshape((b, t))?;
        Ok(((picked * &weights)?, weights))
    }

    /// Teacher-forced mean negative log-likelihood of `targets` (one per clip, without BOS/EOS)
    /// after their contexts; the supervised warm-up's loss.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn nll(
        &self,
        patches: &Tensor,
        contexts: &[Vec<u32>],
        targets: &[Vec<u32>],
    ) -> Result<Tensor> {
        let (logp, weights) = self.token_logprobs(patches, contexts, targets)?;
        (logp.sum_all()?.neg()? / weights.sum_all()?)?.to_dtype(DType::F32)
    }

    /// [`Self::nll`] and the auxiliary labels' mean binary cross-entropy against `aux`
    /// [B, `AUX_LABELS`] (0 or 1), from one pass of the encoder.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn nll_and_aux(
        &self,
        patches: &Tensor,
        contexts: &[Vec<u32>],
        targets: &[Vec<u32>],
        aux: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let vision = self.encode(patches)?;
        let (logp, weights) = self.logprobs_from_vision(&vision, contexts, targets, None)?;
        let nll = (logp.sum_all()?.neg()? / weights.sum_all()?)?;
        let x = self.aux_logits(&vision)?;
        // Stable BCE with logits: max(x, 0) - x y + ln(1 + e^-|x|).
        let bce = ((x.relu()? - (&x * aux)?)? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        Ok((nll, bce.mean_all()?))
    }
}

/// Fills the weight matrices and embeddings of `varmap` from N(0, 0.02) drawn with a seeded
/// generator, and the biases with zeros (norms keep their ones): candle cannot seed its CPU
/// initialisation, and the shipped weights must come out the same from the same command.
///
/// # Errors
/// When a weight cannot be written.
pub fn seed_weights(varmap: &candle_nn::VarMap, seed: u64) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("the weights' lock is poisoned".to_owned()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = crate::world::rng::Rng::new(seed);
    for name in names {
        let var = &data[name];
        let count = var.elem_count();
        let values: Vec<f32> = if var.rank() == 2 {
            (0..count)
                .map(|_| {
                    // Box-Muller.
                    let u1 = rng.unit().max(1e-12);
                    let u2 = rng.unit();
                    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * 0.02) as f32
                })
                .collect()
        } else if name.rsplit('.').next() == Some("bias") {
            vec![0.0; count]
        } else {
            continue;
        };
        var.set(&Tensor::from_vec(
            values,
            var.shape().clone(),
            var.device(),
        )?)?;
    }
    Ok(())
}

/// 0 on and below the diagonal, a large negative number above it: [t, t].
fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j <= i { 0.0 } else { -1e9 }))
        .collect();
    Tensor::from_vec(values, (t, t), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};

    fn model(cfg: &Config) -> (VarMap, MemorizerModel) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MemorizerModel::new(cfg, vb).unwrap();
        seed_weights(&varmap, 42).unwrap();
        (varmap, model)
    }

    fn patches(cfg: &Config, value: f32) -> Tensor {
        let n = cfg.frames_per_clip * cfg.patches_per_frame();
        Tensor::full(value, (1, n, cfg.patch_dim()), &Device::Cpu).unwrap()
    }

    #[test]
    fn shapes_and_greedy_decoding_within_the_budget() {
        let cfg = Config::tiny(40);
        let (_, m) = model(&cfg);
        let (tokens, segments) = m.sequence(&[5, 6, 7], &[8, 9]);
        assert_eq!(tokens, vec![5, 6, 7, BOS, 8, 9]);
        assert_eq!(segments, vec![0, 0, 0, 1, 1, 1]);
        let t = tokens.len();
        let logits = m
            .forward(
                &patches(&cfg, 0.1),
                &Tensor::from_vec(tokens, (1, t), &Device::Cpu).unwrap(),
                &Tensor::from_vec(segments, (1, t), &Device::Cpu).unwrap(),
            )
            .unwrap();
        assert_eq!(logits.dims(), &[1, t, 40]);
        let a = m
            .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
            .unwrap();
        let b = m
            .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
            .unwrap();
        assert_eq!(a, b, "greedy decoding is deterministic");
        let (_, again) = model(&cfg);
        assert_eq!(
            again
                .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
                .unwrap(),
            a,
            "the same seed makes the same model"
        );
        assert!(a.tokens.len() <= cfg.max_output_tokens);
        assert!(a.tokens.iter().all(|&t| t != PAD && t != BOS && t != EOS));
        let s1 = Sampling::Temperature {
            temperature: 1.0,
            seed: 7,
        };
        assert_eq!(
            m.generate(&patches(&cfg, 0.1), &[5], s1).unwrap(),
            m.generate(&patches(&cfg, 0.1), &[5], s1).unwrap(),
            "a seed fixes the sample"
        );
    }

    #[test]
    fn the_warm_up_loss_falls_and_the_model_learns_to_read_its_frames() {
        let cfg = Config::tiny(30);
        let (varmap, m) = model(&cfg);
        // Two clips that differ only in their pixels must get different descriptions.
        let dark = patches(&cfg, -0.8);
        let bright = patches(&cfg, 0.8);
        let batch = Tensor::cat(&[&dark, &bright], 0).unwrap();
        let contexts = vec![vec![4, 5], vec![4, 5]];
        let targets = vec![vec![10, 11, 12], vec![20, 21]];
        let mut opt = AdamW::new(
            varmap.all_vars(),
            ParamsAdamW {
                lr: 1e-2,
                ..ParamsAdamW::default()
            },
        )
        .unwrap();
        let first = m
            .nll(&batch, &contexts, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let mut last = first;
        for _ in 0..60 {
            let loss = m.nll(&batch, &contexts, &targets).unwrap();
            opt.backward_step(&loss).unwrap();
            last = loss.to_scalar::<f32>().unwrap();
        }
        assert!(last < first * 0.2, "loss {first} -> {last}");
        assert_eq!(
            m.generate(&dark, &contexts[0], Sampling::Greedy)
                .unwrap()
                .tokens,
            targets[0]
        );
        assert_eq!(
            m.generate(&bright, &contexts[1], Sampling::Greedy)
                .unwrap()
                .tokens,
            targets[1]
        );
    }

    #[test]
    fn cached_decoding_scores_each_token_as_the_full_forward_pass_does() {
        let cfg = Config::tiny(40);
        let (_, m) = model(&cfg);
        let clip = patches(&cfg, 0.3);
        let context = vec![5, 6, 7];
        let sample = Sampling::Temperature {
            temperature: 1.5,
            seed: 3,
        };
        let written = m.generate(&clip, &context, sample).unwrap();
        assert!(!written.tokens.is_empty());
        let plain = m.generate_without_cache(&clip, &context, sample).unwrap();
        assert_eq!(written.tokens, plain.tokens, "the cache changes no token");
        let (logp, weights) = m
            .token_logprobs(&clip, &[context], std::slice::from_ref(&written.tokens))
            .unwrap();
        let logp = logp.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let weights = weights.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let scored: Vec<f32> = logp
            .iter()
            .zip(&weights)
            .filter(|&(_, w)| *w > 0.0)
            .map(|(l, _)| *l)
            .collect();
        // The full pass also scores EOS after the budget; the generator stops without it.
        assert!(scored.len() >= written.logprobs.len());
        for (cached, full) in written.logprobs.iter().zip(&scored) {
            assert!((cached - full).abs() < 1e-4, "{cached} vs {full}");
        }
    }

    #[test]
    fn frames_become_patches_in_range() {
        let cfg = Config::tiny(10);
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            width: 32,
            height: 16,
            rgba: vec![255u8; 32 * 16 * 4].into(),
        };
        let p = clip_patches(&[frame], &cfg);
        assert_eq!(
            p.len(),
            cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim()
        );
        assert!(p.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    #[allow(clippy::many_single_char_names, clippy::similar_names)]
    fn a_patch_is_laid_out_block_by_block_so_the_stem_reads_each_sub_patch_whole() {
        // One frame at the model's size, white but for one black pixel.
        let cfg = Config::tiny(10);
        let (w, h) = (cfg.frame_width, cfg.frame_height);
        let (x, y) = (7, 2);
        let mut rgba = vec![255u8; w * h * 4];
        rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].fill(0);
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            width: w as u32,
            height: h as u32,
            rgba: rgba.into(),
        };
        let p = clip_patches(&[frame], &cfg);
        // The one frame fills every frame slot; the first slot is enough.
        let first_frame = cfg.patches_per_frame() * cfg.patch_dim();
        let black: Vec<usize> = (0..first_frame).filter(|&i| p[i] < 0.0).collect();
        // Patch (1, 0) of a 4-px grid; within it block (1, 1) of 2-px blocks; row 0, column 1.
        let (patch, block, s) = (cfg.patch, cfg.block(), cfg.block());
        let patch_index = (y / patch) * (w / patch) + x / patch;
        let block_index = ((y % patch) / s) * (patch / s) + (x % patch) / s;
        let within = (y % s) * s + x % s;
        let at = patch_index * cfg.patch_dim() + block_index * block * block * 3 + within * 3;
        assert_eq!(black, vec![at, at + 1, at + 2]);
    }

    #[test]
    fn frame_local_layers_keep_each_frame_to_itself_and_global_ones_mix_them() {
        let mut cfg = Config::tiny(10);
        cfg.frame_local_layers = cfg.enc_layers;
        let per_frame = cfg.patches_per_frame();
        let changed_second_frame = |cfg: &Config| {
            let (_, m) = model(cfg);
            let a = patches(cfg, 0.2);
            let mut values = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let second = per_frame * cfg.patch_dim();
            values[second..].iter_mut().for_each(|v| *v = -0.7);
            let b = Tensor::from_vec(values, a.shape(), &Device::Cpu).unwrap();
            let first_frame = |x: &Tensor| {
                m.encode(x)
                    .unwrap()
                    .i((0, 0..per_frame))
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            first_frame(&a)
                .iter()
                .zip(first_frame(&b))
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(changed_second_frame(&cfg) < 1e-6);
        cfg.frame_local_layers = 0;
        assert!(changed_second_frame(&cfg) > 1e-4);
    }

    #[test]
    fn a_config_written_before_the_stem_reads_as_a_plain_patch_embedding() {
        let mut old = serde_json::to_value(Config::tiny(10)).unwrap();
        for field in ["sub_patch", "stem_channels", "frame_local_layers"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let cfg: Config = serde_json::from_value(old).unwrap();
        assert_eq!((cfg.block(), cfg.frame_local_layers), (cfg.patch, 0));
        let (varmap, m) = model(&cfg);
        assert!(
            !varmap
                .data()
                .lock()
                .unwrap()
                .contains_key("patch_stem.weight")
        );
        let vision = m.encode(&patches(&cfg, 0.1)).unwrap();
        assert_eq!(
            vision.dims3().unwrap(),
            (
                1,
                cfg.frames_per_clip * cfg.patches_per_frame(),
                cfg.d_model
            )
        );
    }
}
