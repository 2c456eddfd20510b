//! The quality of a memorization policy on held-out world streams, judged against ground truth:
//! precision of stated facts, true facts per description, repetition rate and format failures.
//! Each stream is memorized clip by clip as at inference: the context is the policy's own
//! preceding description, never the reference.

use candle_core::{Device, Tensor};
use serde::Serialize;

use super::builtin::{Generated, MemorizerModel, Sampling};
use super::data::ClipExample;
use super::lang::Vocab;
use super::reward::{KindUtility, RewardWeights, is_true, score};
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
    let mut quality = Quality::default();
    let mut repeated = 0.0;
    let mut stated = 0;
    let mut previous: Option<(String, Vec<u32>)> = None;
    for example in examples {
        let context = own_context(previous.as_ref(), example);
        let patches = clip_tensor(model, example)?;
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

/// The description the policy wrote for the clip before, when `example` follows it in the same
/// stream; a new stream starts without context.
fn own_context(previous: Option<&(String, Vec<u32>)>, example: &ClipExample) -> Vec<u32> {
    match previous {
        Some((stream, tokens)) if *stream == example.stream && example.clip > 0 => tokens.clone(),
        _ => Vec::new(),
    }
}

/// A clip's model input as the `[1, N, patch_dim]` tensor the model reads.
fn clip_tensor(model: &MemorizerModel, example: &ClipExample) -> candle_core::Result<Tensor> {
    let cfg = model.config();
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    Tensor::from_vec(
        example.patches.clone(),
        (1, n, cfg.patch_dim()),
        &Device::Cpu,
    )
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Phase One's rewards for a group of samples of one clip: the weighted terms of
/// [`score`], with richness (true facts at their kind's `utility`) divided by the group's
/// best.
#[must_use]
pub fn world_rewards(
    example: &ClipExample,
    group: &[Generated],
    vocab: &Vocab,
    weights: &RewardWeights,
    utility: &KindUtility,
    budget_tokens: usize,
) -> Vec<f64> {
    let previous = (!example.context.is_empty()).then(|| vocab.decode(&example.context));
    let scored: Vec<_> = group
        .iter()
        .map(|g| {
            let text = vocab.decode(&g.tokens);
            let terms = score(
                &text,
                previous.as_deref(),
                &example.truth,
                vocab,
                budget_tokens,
            );
            (terms, utility.richness(&text, &example.truth))
        })
        .collect();
    let best = scored.iter().map(|s| s.1).fold(0.0, f64::max);
    scored
        .iter()
        .map(|(t, rich)| t.total(weights, ratio(*rich, best)))
        .collect()
}

/// One fact kind in [`ModelReport`]: greedy statements, and what sampling states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KindReport {
    /// Distinct claims of this kind in the greedy descriptions.
    pub stated: usize,
    /// Their precision, in percent (0 when none was stated).
    pub precision: f64,
    /// The share of sampled descriptions that state this kind at least once, in percent.
    pub sampled_share: f64,
    /// The precision of the sampled descriptions' claims of this kind, in percent.
    pub sampled_precision: f64,
}

/// `taskmem train judge`'s report of one model: greedy quality (percentages in percent),
/// recall against what fits the budget, and per kind what greedy and sampled descriptions
/// state. Phase Two can only steer toward kinds that sampling states, and truly.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelReport {
    pub descriptions: usize,
    pub precision: f64,
    pub true_facts_per_description: f64,
    /// True distinct claims over the clip's visible facts that fit the budget (each clip's
    /// count capped at what its budget holds), in percent.
    pub recall: f64,
    pub repetition: f64,
    pub format_failures: usize,
    pub samples_per_clip: usize,
    pub kinds: std::collections::BTreeMap<String, KindReport>,
}

/// How many of `facts` fit in `budget` tokens at most (the shortest first).
#[must_use]
pub fn facts_that_fit(facts: &[String], budget: usize, vocab: &Vocab) -> usize {
    let mut lengths: Vec<usize> = facts.iter().map(|f| vocab.encode(f).len()).collect();
    lengths.sort_unstable();
    let mut used = 0;
    lengths
        .into_iter()
        .take_while(|&n| {
            used += n;
            used <= budget
        })
        .count()
}

/// Judges `model` on `examples` (in stream order) greedily, each clip after its own preceding
/// description, and draws `samples` descriptions per clip at temperature 1 after that same
/// context. Every description is written under `budget_tokens`; `on_written` sees each
/// greedy one.
///
/// # Errors
/// On a tensor error.
pub fn judge(
    model: &MemorizerModel,
    examples: &[ClipExample],
    vocab: &Vocab,
    (budget_tokens, samples_per_clip): (usize, usize),
    on_written: &mut dyn FnMut(&ClipExample, &str),
) -> candle_core::Result<ModelReport> {
    use super::builtin::DecodeOptions;
    let options = DecodeOptions {
        steering: None,
        budget_tokens: Some(budget_tokens),
    };
    let mut report = ModelReport {
        samples_per_clip,
        ..ModelReport::default()
    };
    // Per kind: greedy (stated, true), sampled (descriptions stating it, claims, true claims).
    let mut greedy = [(0usize, 0usize); 7];
    let mut sampled = [(0usize, 0usize, 0usize); 7];
    let (mut true_capped, mut fit, mut true_all, mut drawn) = (0usize, 0usize, 0usize, 0usize);
    let (mut repeated, mut said) = (0.0, 0usize);
    let mut previous: Option<(String, Vec<u32>)> = None;
    let mut rng = crate::world::rng::Rng::new(7);
    for example in examples {
        let context = own_context(previous.as_ref(), example);
        let patches = clip_tensor(model, example)?;
        let vision = model.encode(&patches)?;
        let written = model.generate_from_vision(&vision, &context, Sampling::Greedy, options)?;
        let text = vocab.decode(&written.tokens);
        on_written(example, &text);
        let before = (!context.is_empty()).then(|| vocab.decode(&context));
        let terms = score(
            &text,
            before.as_deref(),
            &example.truth,
            vocab,
            budget_tokens,
        );
        report.descriptions += 1;
        report.format_failures += usize::from(terms.format < 0.0);
        repeated += terms.repetition * terms.claims as f64;
        said += terms.claims;
        let mut true_here = 0;
        for claim in distinct(&statements(&text).claims) {
            let right = is_true(claim, &example.truth);
            greedy[claim.kind()].0 += 1;
            greedy[claim.kind()].1 += usize::from(right);
            true_here += usize::from(right);
        }
        let fits = facts_that_fit(&example.truth.facts, budget_tokens, vocab);
        true_all += true_here;
        true_capped += true_here.min(fits);
        fit += fits;
        for _ in 0..samples_per_clip {
            let sampling = Sampling::Temperature {
                temperature: 1.0,
                seed: rng.next_u64(),
            };
            let sample = model.generate_from_vision(&vision, &context, sampling, options)?;
            let claims = statements(&vocab.decode(&sample.tokens)).claims;
            let mut kinds = [false; 7];
            for claim in distinct(&claims) {
                kinds[claim.kind()] = true;
                sampled[claim.kind()].1 += 1;
                sampled[claim.kind()].2 += usize::from(is_true(claim, &example.truth));
            }
            for (slot, stated) in sampled.iter_mut().zip(kinds) {
                slot.0 += usize::from(stated);
            }
            drawn += 1;
        }
        previous = Some((example.stream.clone(), written.tokens));
    }
    let percent = |a: usize, b: usize| 100.0 * ratio(a as f64, b as f64);
    let stated: usize = greedy.iter().map(|g| g.0).sum();
    report.precision = percent(true_all, stated);
    report.true_facts_per_description = ratio(true_all as f64, report.descriptions as f64);
    report.recall = percent(true_capped, fit);
    report.repetition = 100.0 * ratio(repeated, said as f64);
    for (kind, name) in crate::world::grammar::CLAIM_KINDS.iter().enumerate() {
        report.kinds.insert(
            (*name).to_owned(),
            KindReport {
                stated: greedy[kind].0,
                precision: percent(greedy[kind].1, greedy[kind].0),
                sampled_share: percent(sampled[kind].0, drawn),
                sampled_precision: percent(sampled[kind].2, sampled[kind].1),
            },
        );
    }
    Ok(report)
}

#[cfg(test)]
mod judge_tests {
    use super::*;

    #[test]
    fn the_facts_that_fit_a_budget_are_counted_shortest_first() {
        let vocab = Vocab::world();
        let facts: Vec<String> = [
            "I am in the kitchen.",                     // 6 tokens
            "<face_4> wears a brown outfit.",           // 6
            "The pink ball is on the kitchen counter.", // 9
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(facts_that_fit(&facts, 5, &vocab), 0);
        assert_eq!(facts_that_fit(&facts, 12, &vocab), 2);
        assert_eq!(facts_that_fit(&facts, 20, &vocab), 2);
        assert_eq!(facts_that_fit(&facts, 21, &vocab), 3);
        assert_eq!(facts_that_fit(&[], 24, &vocab), 0);
    }
}
