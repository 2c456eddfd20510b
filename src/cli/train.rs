//! `taskmem train phase1`: the built-in policy's warm-up and Phase One GRPO on a suite's
//! training streams, judged on its test streams; writes the weights, config, a training log
//! (Parquet) and a summary with the warm-up and Phase One models side by side.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::policy::builtin::Config;
use crate::policy::data::{ClipExample, simulated_examples, stream_examples};
use crate::policy::lang::Vocab;
use crate::policy::report::{Quality, evaluate, world_rewards};
use crate::policy::reward::RewardWeights;
use crate::policy::train::{GrpoSettings, Trainable, WarmupSettings, grpo, warm_up};
use crate::world::SuiteSpec;

#[derive(Args, Debug)]
pub struct Phase1Args {
    /// A suite folder (with suite.json), e.g. datasets/world-tempo.
    #[arg(long)]
    pub suite: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 400)]
    pub warmup_steps: usize,
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Training streams simulated beside the suite's own, from its spec with seeds of their
    /// own (the suite ships few; the warm-up and Phase One need more to generalize).
    #[arg(long, default_value_t = 48)]
    pub extra_streams: usize,
    /// `small` (the shipped size) or `tiny` (for a quick look).
    #[arg(long, default_value = "small")]
    pub size: String,
}

#[derive(Serialize)]
struct Summary {
    suite: String,
    seed: u64,
    config: Config,
    train_clips: usize,
    test_clips: usize,
    warmup_steps: usize,
    grpo_steps: usize,
    warmup_seconds: f64,
    grpo_seconds: f64,
    warmup: Quality,
    phase1: Quality,
}

fn fail(what: &str) -> impl Fn(candle_core::Error) -> CliError + '_ {
    move |e| CliError::BadInput(format!("{what}: {e}"))
}

fn examples_of(
    suite: &Path,
    split: &str,
    cfg: &Config,
    vocab: &Vocab,
) -> Result<(SuiteSpec, Vec<ClipExample>), CliError> {
    let manifest_path = suite.join("suite.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        CliError::BadInput(format!("{}: cannot read: {e}", manifest_path.display()))
    })?;
    let manifest: crate::world::suite::SuiteManifest =
        serde_json::from_str(&text).map_err(|e| {
            CliError::BadInput(format!("{}: not a suite: {e}", manifest_path.display()))
        })?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut out = Vec::new();
    for stream in manifest.streams.iter().filter(|s| s.split == split) {
        let dir = suite.join(&stream.folder);
        out.extend(
            stream_examples(&dir, cfg, vocab, threads)
                .map_err(|e| CliError::BadInput(e.to_string()))?,
        );
    }
    Ok((manifest.spec, out))
}

/// `--extra-streams` streams simulated from the suite's spec, on every core. Their seeds start
/// far above any suite's, so no test stream is ever drawn.
fn simulated_train_streams(
    spec: &SuiteSpec,
    args: &Phase1Args,
    cfg: &Config,
    vocab: &Vocab,
) -> Result<Vec<ClipExample>, CliError> {
    const FIRST_SEED: u64 = 1_000_000;
    const DURATION_MS: i64 = 180_000;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let seeds: Vec<u64> = (0..args.extra_streams as u64)
        .map(|i| FIRST_SEED + args.seed * 10_000 + i)
        .collect();
    let chunks: Vec<Vec<u64>> = seeds
        .chunks(seeds.len().div_ceil(threads).max(1))
        .map(<[u64]>::to_vec)
        .collect();
    let results: Vec<Result<Vec<ClipExample>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for &seed in chunk {
                        out.extend(
                            simulated_examples(spec, seed, DURATION_MS, cfg, vocab)
                                .map_err(|e| e.to_string())?,
                        );
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a simulation thread panicked".to_owned()))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r.map_err(CliError::BadInput)?);
    }
    Ok(out)
}

fn quality_line(name: &str, q: &Quality) -> String {
    format!(
        "{name:<10} {:>9.1}% {:>16.2} {:>11.1}% {:>15}",
        q.precision * 100.0,
        q.true_facts_per_description,
        q.repetition_rate * 100.0,
        q.format_failures
    )
}

/// Runs the whole training and writes its outputs.
///
/// # Errors
/// Bad input (no suite, unreadable streams) or a failure while training or writing.
pub fn phase1(args: &Phase1Args) -> Result<(), CliError> {
    let vocab = Vocab::world();
    let cfg = match args.size.as_str() {
        "small" => Config::small(vocab.len()),
        "tiny" => Config::tiny(vocab.len()),
        other => {
            return Err(CliError::BadInput(format!(
                "--size {other}: choose small or tiny"
            )));
        }
    };
    let (spec, mut train) = examples_of(&args.suite, "train", &cfg, &vocab)?;
    let (_, test) = examples_of(&args.suite, "test", &cfg, &vocab)?;
    train.extend(simulated_train_streams(&spec, args, &cfg, &vocab)?);
    if train.is_empty() || test.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: the suite needs train and test streams ({} and {} clips found)",
            args.suite.display(),
            train.len(),
            test.len()
        )));
    }
    eprintln!(
        "{} train clips, {} test clips; model {}x{} ({} decoder layers)",
        train.len(),
        test.len(),
        cfg.d_model,
        cfg.n_heads,
        cfg.dec_layers
    );
    let trainable = Trainable::fresh(&cfg, args.seed).map_err(fail("building the model"))?;
    let mut log: Vec<(&str, usize, f32, f64)> = Vec::new();

    let started = Instant::now();
    let warmup = WarmupSettings {
        steps: args.warmup_steps,
        seed: args.seed,
        ..WarmupSettings::default()
    };
    let losses = warm_up(&trainable, &train, &warmup, &mut |p| {
        if p.step % 20 == 0 || p.step == p.steps {
            eprintln!("warm-up {}/{}  loss {:.3}", p.step, p.steps, p.loss);
        }
        ControlFlow::Continue(())
    })
    .map_err(fail("warm-up"))?;
    let warmup_seconds = started.elapsed().as_secs_f64();
    log.extend(
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| ("warmup", i + 1, l, f64::NAN)),
    );
    trainable
        .save(&args.out.join("warmup"))
        .map_err(|e| CliError::BadInput(format!("{}: {e:#}", args.out.display())))?;
    let warmup_quality = evaluate(&trainable.model, &test, &vocab).map_err(fail("evaluating"))?;

    let started = Instant::now();
    let reference = trainable
        .frozen_copy()
        .map_err(fail("the reference model"))?;
    let settings = GrpoSettings {
        steps: args.steps,
        seed: args.seed,
        ..GrpoSettings::default()
    };
    let weights = RewardWeights::default();
    let budget = cfg.max_output_tokens;
    let rewards = |e: &ClipExample, g: &[crate::policy::builtin::Generated]| {
        world_rewards(e, g, &vocab, &weights, budget)
    };
    let stats = grpo(
        &trainable,
        &reference,
        &train,
        &settings,
        &rewards,
        &mut |s| {
            if s.step % 10 == 0 || s.step == settings.steps {
                eprintln!(
                    "phase one {}/{}  reward {:.3}  loss {:.3}",
                    s.step, settings.steps, s.mean_reward, s.loss
                );
            }
            ControlFlow::Continue(())
        },
    )
    .map_err(fail("phase one"))?;
    let grpo_seconds = started.elapsed().as_secs_f64();
    log.extend(
        stats
            .iter()
            .map(|s| ("phase1", s.step, s.loss, s.mean_reward)),
    );
    trainable
        .save(&args.out)
        .map_err(|e| CliError::BadInput(format!("{}: {e:#}", args.out.display())))?;
    let phase1_quality = evaluate(&trainable.model, &test, &vocab).map_err(fail("evaluating"))?;

    write_log(&args.out.join("training_log.parquet"), &log)?;
    let summary = Summary {
        suite: args.suite.display().to_string(),
        seed: args.seed,
        config: cfg,
        train_clips: train.len(),
        test_clips: test.len(),
        warmup_steps: losses.len(),
        grpo_steps: stats.len(),
        warmup_seconds,
        grpo_seconds,
        warmup: warmup_quality,
        phase1: phase1_quality,
    };
    let summary_path = args.out.join("summary.json");
    let summary_json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    crate::fsutil::write_atomic(&summary_path, &summary_json)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", summary_path.display())))?;
    println!(
        "held-out quality ({} clips)\nmodel      precision  true facts/desc  repetition  format failures",
        test.len()
    );
    println!("{}", quality_line("warm-up", &warmup_quality));
    println!("{}", quality_line("phase one", &phase1_quality));
    println!(
        "warm-up {warmup_seconds:.0} s, phase one {grpo_seconds:.0} s; weights, config, log and summary in {}",
        args.out.display()
    );
    Ok(())
}

fn write_log(path: &Path, rows: &[(&str, usize, f32, f64)]) -> Result<(), CliError> {
    use polars::prelude::*;
    let fail = |e: String| CliError::BadInput(format!("{}: {e}", path.display()));
    let mut df = df!(
        "phase" => rows.iter().map(|r| r.0).collect::<Vec<&str>>(),
        "step" => rows.iter().map(|r| r.1 as u64).collect::<Vec<u64>>(),
        "loss" => rows.iter().map(|r| r.2).collect::<Vec<f32>>(),
        "mean_reward" => rows.iter().map(|r| (!r.3.is_nan()).then_some(r.3)).collect::<Vec<Option<f64>>>(),
    )
    .map_err(|e| fail(e.to_string()))?;
    crate::fsutil::write_parquet_atomic(path, &mut df).map_err(fail)
}
