//! Memorization policies: what turns a clip into a memory entry, behind one trait
//! ([`MemorizationPolicy`]). So far: the built-in policy's candle model ([`builtin`]), the
//! world's language it writes ([`lang`]), Phase One's reward terms against the world's ground
//! truth ([`reward`]), training ([`train`]) and the held-out report ([`report`]). No egui.

pub mod adapter;
pub mod builtin;
pub mod data;
pub mod frontend;
pub mod ingest;
pub mod lang;
pub mod live;
pub mod model_check;
pub mod perception;
pub mod phase1;
pub mod report;
pub mod reward;
pub mod train;
pub mod urgency;

use crate::video::Frame;

/// One clip as a policy receives it: its frames, its span, the description written for the
/// clip before it, and optionally a Phase Two adapter. Nothing else: no ground truth ever
/// reaches a policy.
pub struct ClipInput<'a> {
    pub frames: &'a [Frame],
    pub start_ms: i64,
    pub end_ms: i64,
    pub previous: Option<&'a str>,
    pub adapter: Option<&'a adapter::Adapter>,
}

/// What a policy wrote for a clip.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The description that becomes the memory entry's text.
    pub text: String,
    /// The policy's raw output (for the built-in policy, its tokens as text).
    pub raw: String,
    /// The log-probability of each written token (and of the end of the text).
    pub token_logprobs: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the model failed: {0}")]
    Model(#[from] candle_core::Error),
    #[error(transparent)]
    Adapter(#[from] adapter::AdapterError),
    /// A remote endpoint failed (the message names its URL).
    #[error("{0}")]
    Remote(String),
    /// The policy's scores came out NaN or infinite (damaged weights or adapter): what it
    /// wrote from them is noise, never a memory.
    #[error("the policy's scores are not numbers (NaN or infinite): {0}")]
    NonFinite(String),
}

/// Refuses what a policy wrote from scores that are not finite numbers.
///
/// # Errors
/// [`PolicyError::NonFinite`] when any token's log-probability is NaN or infinite.
pub fn check_finite(written: &Written) -> Result<(), PolicyError> {
    let bad = written
        .token_logprobs
        .iter()
        .filter(|l| !l.is_finite())
        .count();
    if bad == 0 {
        Ok(())
    } else {
        Err(PolicyError::NonFinite(format!(
            "{bad} of {} tokens; nothing written",
            written.token_logprobs.len()
        )))
    }
}

/// Tokens per description unless a setting says otherwise. Taken from the world v3 headroom
/// oracle (`taskmem bench budget`, [`crate::eval::budget`]): at 24 tokens a clip's facts no
/// longer fit, so what is written decides which questions can be answered.
pub const DEFAULT_BUDGET_TOKENS: usize = 24;

/// A memorization policy: every backend (built-in, remote, replay) turns a clip into a
/// description through this. Adapters (Phase Two) come in with that issue.
pub trait MemorizationPolicy: Send {
    /// Written into each entry's `policy` field.
    fn name(&self) -> String;

    /// Frames the policy wants from each clip (spread evenly over it).
    fn frames_per_clip(&self) -> usize;

    /// The largest frame (width, height) the policy reads: frames are scaled down to fit as
    /// they are decoded, so that a clip in hand costs no more than that. The built-in policy
    /// reads the world's small frames; a remote model reads what its images are sent at.
    fn frame_max_size(&self) -> (u32, u32) {
        (data::KEPT_WIDTH, data::KEPT_HEIGHT)
    }

    /// The token budget each description is written under, recorded in every entry (`None`:
    /// the policy counts no tokens, as a remote model or a replay).
    fn budget_tokens(&self) -> Option<usize> {
        None
    }

    /// Writes the memory of one clip.
    ///
    /// # Errors
    /// When the backend fails on this clip.
    fn memorize(&mut self, clip: &ClipInput<'_>) -> Result<Written, PolicyError>;
}

/// The built-in candle policy, decoding greedily.
pub struct BuiltinPolicy {
    trainable: train::Trainable,
    /// Pixel patches, or (policy v2) the perception encoder saved beside the weights.
    frontend: frontend::Frontend,
    /// Tokens per description (`None`: [`DEFAULT_BUDGET_TOKENS`]).
    budget_tokens: Option<usize>,
    vocab: lang::Vocab,
    name: String,
}

/// Where the shipped model lives: weights and config made by `taskmem train phase1` (README).
#[must_use]
pub fn shipped_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/policy")
}

impl BuiltinPolicy {
    /// The shipped model, or the one in `dir`.
    ///
    /// # Errors
    /// When the weights or the config are missing or do not fit each other (the message names
    /// the file).
    pub fn load(dir: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let dir = dir.map_or_else(shipped_model_dir, std::path::Path::to_path_buf);
        let name = if dir == shipped_model_dir() {
            "builtin".to_owned()
        } else {
            format!(
                "builtin:{}",
                dir.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )
        };
        let trainable = train::Trainable::load(&dir)?;
        // Context tokens are the world's: each needs a row of the embedding.
        let (vocab_size, world) = (
            trainable.model.config().vocab_size,
            lang::Vocab::world().len(),
        );
        if vocab_size < world {
            anyhow::bail!(
                "{}: vocab_size: {vocab_size} is fewer than the world's {world} tokens",
                dir.join("config.json").display()
            );
        }
        let frontend = frontend::Frontend::for_model(&dir, trainable.model.config())?;
        Ok(Self::new(trainable, &name).with_frontend(frontend))
    }

    #[must_use]
    pub fn new(trainable: train::Trainable, name: &str) -> Self {
        Self {
            trainable,
            frontend: frontend::Frontend::Pixels,
            budget_tokens: None,
            vocab: lang::Vocab::world(),
            name: name.to_owned(),
        }
    }
}

impl BuiltinPolicy {
    /// Reads frames through `frontend` (a v2 model's perception encoder).
    #[must_use]
    pub fn with_frontend(mut self, frontend: frontend::Frontend) -> Self {
        self.frontend = frontend;
        self
    }

    /// How this policy's model reads frames.
    #[must_use]
    pub fn frontend(&self) -> &frontend::Frontend {
        &self.frontend
    }

    /// Writes at most `budget_tokens` tokens per clip (`None`: [`DEFAULT_BUDGET_TOKENS`];
    /// never more than the model's ceiling).
    #[must_use]
    pub fn with_budget(mut self, budget_tokens: Option<usize>) -> Self {
        self.budget_tokens = budget_tokens;
        self
    }

    /// The budget this policy writes under: the setting, else the default, within the
    /// model's ceiling.
    #[must_use]
    pub fn effective_budget(&self) -> usize {
        self.budget_tokens
            .unwrap_or(DEFAULT_BUDGET_TOKENS)
            .clamp(1, self.trainable.model.config().max_output_tokens)
    }

    /// The network, for benches and reports.
    #[must_use]
    pub fn model(&self) -> &builtin::MemorizerModel {
        &self.trainable.model
    }

    /// A copy of the network whose weights are plain tensors: what Phase Two tunes a steering
    /// vector against, so that backpropagation stops at the vector.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn frozen_model(&self) -> candle_core::Result<builtin::MemorizerModel> {
        self.trainable.frozen_copy()
    }
}

impl MemorizationPolicy for BuiltinPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn frames_per_clip(&self) -> usize {
        self.trainable.model.config().frames_per_clip
    }

    fn budget_tokens(&self) -> Option<usize> {
        Some(self.effective_budget())
    }

    fn memorize(&mut self, clip: &ClipInput<'_>) -> Result<Written, PolicyError> {
        let cfg = self.trainable.model.config();
        let patches = self.frontend.clip_tensor(clip.frames, cfg)?;
        let context = clip
            .previous
            .map(|p| self.vocab.encode(p))
            .unwrap_or_default();
        if let Some(adapter) = clip.adapter {
            adapter.check(cfg)?;
        }
        let generated = self.trainable.model.generate_with(
            &patches,
            &context,
            builtin::Sampling::Greedy,
            builtin::DecodeOptions {
                steering: clip.adapter.map(|a| &a.steering),
                budget_tokens: Some(self.effective_budget()),
            },
        )?;
        let generated = whole_sentences(generated, self.effective_budget(), &self.vocab);
        let text = self.vocab.decode(&generated.tokens);
        let raw = generated
            .tokens
            .iter()
            .map(|&t| self.vocab.token(t))
            .collect::<Vec<_>>()
            .join(" ");
        let written = Written {
            text,
            raw,
            token_logprobs: generated.logprobs,
        };
        check_finite(&written)?;
        Ok(written)
    }
}

/// A description cut off by its `budget`, back to its last whole sentence: a half sentence is
/// never a fact, and it would be read back as the next clip's context. A description that
/// ended by itself, or has no whole sentence, is kept as written.
fn whole_sentences(
    mut generated: builtin::Generated,
    budget: usize,
    vocab: &lang::Vocab,
) -> builtin::Generated {
    let stop = vocab.id(".");
    if generated.tokens.len() < budget || generated.tokens.last() == Some(&stop) {
        return generated;
    }
    if let Some(at) = generated.tokens.iter().rposition(|&t| t == stop) {
        generated.tokens.truncate(at + 1);
        generated.logprobs.truncate(at + 1);
    }
    generated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(vocab: &lang::Vocab, text: &str) -> builtin::Generated {
        let tokens = vocab.encode(text);
        builtin::Generated {
            logprobs: vec![-0.5; tokens.len()],
            tokens,
        }
    }

    #[test]
    fn a_description_cut_by_its_budget_keeps_only_whole_sentences() {
        let vocab = lang::Vocab::world();
        let cut = generated(&vocab, "I am in the kitchen. The red cup is on the");
        let budget = cut.tokens.len();
        let kept = whole_sentences(cut, budget, &vocab);
        assert_eq!(vocab.decode(&kept.tokens), "I am in the kitchen.");
        assert_eq!(kept.logprobs.len(), kept.tokens.len());

        let ended = generated(&vocab, "I am in the kitchen. The red cup");
        let kept = whole_sentences(ended.clone(), ended.tokens.len() + 1, &vocab);
        assert_eq!(
            kept.tokens, ended.tokens,
            "ended before the budget: kept as written"
        );
    }
}
