//! Generation: greedy or seeded sampling of a description within a token budget, with an
//! optional steering adapter, reusing the decoder's keys and values from step to step.

use candle_core::{D, DType, IndexOp, Result, Tensor};

use super::model::{MemorizerModel, Steering};
use crate::policy::lang::{BOS, EOS, PAD};

/// How a description is decoded beyond the sampling: an adapter, and a token budget (at most
/// the config's, which the position table is sized for).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions<'a> {
    pub steering: Option<&'a Steering>,
    /// `None`: [`crate::policy::DEFAULT_BUDGET_TOKENS`]. Either way at most the config's
    /// `max_output_tokens`.
    pub budget_tokens: Option<usize>,
}

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
            self.config().max_output_tokens,
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
            .unwrap_or(crate::policy::DEFAULT_BUDGET_TOKENS)
            .min(self.config().max_output_tokens);
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
            Some(self.caches(vision)?)
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
}
