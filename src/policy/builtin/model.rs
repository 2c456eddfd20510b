//! The network: a vision encoder over a clip's patch (or perception) tokens, and a decoder
//! that reads the preceding description and cross-attends to the clip. `Config` +
//! `new(cfg, vb)` + `forward`, as candle's models are; decoding lives in `generation`.

use candle_core::{D, DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};

use super::Config;
use crate::policy::lang::{BOS, EOS, PAD};

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
pub(super) struct LayerCache {
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
}

impl MemorizerModel {
    /// One empty cache per decoder layer, holding the keys and values of `vision` (`[1, N, D]`)
    /// for its cross-attention.
    pub(super) fn caches(&self, vision: &Tensor) -> Result<Vec<LayerCache>> {
        self.decoder
            .iter()
            .map(|layer| {
                Ok(LayerCache {
                    past: None,
                    vision: layer.cross_attn.keys_values(vision)?,
                })
            })
            .collect()
    }

    /// The last position's next-token logits ([vocab], f32) for `tokens` placed at `position`
    /// onwards, after what `caches` hold (one clip, batch 1).
    pub(super) fn decode_cached(
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
