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
    /// Tokens per description (`None`: the model's budget).
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

    /// Writes at most `budget_tokens` tokens per clip (never more than the model's budget).
    #[must_use]
    pub fn with_budget(mut self, budget_tokens: Option<usize>) -> Self {
        self.budget_tokens = budget_tokens;
        self
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
                budget_tokens: self.budget_tokens,
            },
        )?;
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
