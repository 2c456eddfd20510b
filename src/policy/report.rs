//! The quality of a memorization policy on held-out world streams, judged against ground truth:
//! precision of stated facts, true facts per description, repetition rate and format failures.
//! Each stream is memorized clip by clip as at inference: the context is the policy's own
//! preceding description, never the reference.

use candle_core::{Device, Tensor};
use serde::Serialize;

use super::builtin::{Generated, MemorizerModel, Sampling};
use super::data::ClipExample;
use super::lang::Vocab;
use super::reward::{RewardWeights, is_true, score};
use crate::world::grammar::{distinct, statements};

/// What a policy's memories are worth on a set of clips.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Quality {
    pub descriptions: usize,
    /// Facts stated, each description's repeats counted once.
    pub claims: usize,
    pub true_claims: usize,
    /// True claims / claims.
    pub precision: f64,
    pub true_facts_per_description: f64,
    /// Share of the sentences' claims that say again what the preceding description or an
    /// earlier sentence said.
    pub repetition_rate: f64,
    /// Descriptions that do not parse as the world's sentences.
    pub format_failures: usize,
    /// Claims and true claims of each of `grammar::CLAIM_KINDS`.
    pub by_kind: [(usize, usize); 7],
}

/// Memorizes every stream of `examples` (in order) greedily and judges the result.
///
/// # Errors
/// On a tensor error.
pub fn evaluate(
    model: &MemorizerModel,
    examples: &[ClipExample],
    vocab: &Vocab,
) -> candle_core::Result<Quality> {
    evaluate_showing(model, examples, vocab, &mut |_, _| {})
}

/// [`evaluate`], showing each description written to `on_written` with its clip.
///
/// # Errors
/// On a tensor error.
pub fn evaluate_showing(
    model: &MemorizerModel,
    examples: &[ClipExample],
    vocab: &Vocab,
    on_written: &mut dyn FnMut(&ClipExample, &str),
) -> candle_core::Result<Quality> {
    let cfg = model.config();
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    let mut quality = Quality::default();
    let mut repeated = 0.0;
    let mut stated = 0;
    let mut previous: Option<(String, Vec<u32>)> = None;
    for example in examples {
        // A new stream starts without context.
        let context = match &previous {
            Some((stream, tokens)) if *stream == example.stream && example.clip > 0 => {
                tokens.clone()
            }
            _ => Vec::new(),
        };
        let patches = Tensor::from_vec(
            example.patches.clone(),
            (1, n, cfg.patch_dim()),
            &Device::Cpu,
        )?;
        let written = model.generate(&patches, &context, Sampling::Greedy)?;
        let text = vocab.decode(&written.tokens);
        let before = (!context.is_empty()).then(|| vocab.decode(&context));
        on_written(example, &text);
        for claim in distinct(&statements(&text).claims) {
            let slot = &mut quality.by_kind[claim.kind()];
            slot.0 += 1;
            slot.1 += usize::from(is_true(claim, &example.truth));
        }
        let terms = score(
            &text,
            before.as_deref(),
            &example.truth,
            vocab,
            cfg.max_output_tokens,
        );
        quality.descriptions += 1;
        quality.claims += terms.distinct_claims;
        quality.true_claims += terms.distinct_true_claims;
        stated += terms.claims;
        repeated += terms.repetition * terms.claims as f64;
        if terms.format < 0.0 {
            quality.format_failures += 1;
        }
        previous = Some((example.stream.clone(), written.tokens));
    }
    quality.precision = ratio(quality.true_claims as f64, quality.claims as f64);
    quality.true_facts_per_description =
        ratio(quality.true_claims as f64, quality.descriptions as f64);
    quality.repetition_rate = ratio(repeated, stated as f64);
    Ok(quality)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Phase One's rewards for a group of samples of one clip: the weighted terms of
/// [`score`], with richness divided by the group's best.
#[must_use]
pub fn world_rewards(
    example: &ClipExample,
    group: &[Generated],
    vocab: &Vocab,
    weights: &RewardWeights,
    budget_tokens: usize,
) -> Vec<f64> {
    let previous = (!example.context.is_empty()).then(|| vocab.decode(&example.context));
    let terms: Vec<_> = group
        .iter()
        .map(|g| {
            score(
                &vocab.decode(&g.tokens),
                previous.as_deref(),
                &example.truth,
                vocab,
                budget_tokens,
            )
        })
        .collect();
    let best = terms.iter().map(|t| t.richness).fold(0.0, f64::max);
    terms
        .iter()
        .map(|t| t.total(weights, ratio(t.richness, best)))
        .collect()
}
