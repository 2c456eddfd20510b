//! `taskmem train perception`: pretrains the built-in policy's perception encoder on scenes
//! made on the fly, with a progress bar, checkpoints every few minutes, `--resume` after a
//! kill, and the held-out report per attribute at the end. Prints the achieved training
//! throughput beside a large matmul measured in the same run.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::CliError;
use super::ingest::Bar;
use crate::policy::perception::PerceptionError;
use crate::policy::perception::model::Config;
use crate::policy::perception::train::{Event, Settings, pretrain};

#[derive(Args, Debug)]
pub struct PerceptionArgs {
    /// The run's folder: checkpoints, then model.safetensors, config.json and report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// A wall-clock limit; the learning rate decays over it (or over --steps if nearer).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// The schedule's length in steps.
    #[arg(long, default_value_t = 8_000)]
    pub steps: usize,
    /// Carry on from the folder's checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Fresh held-out scenes the report is measured on.
    #[arg(long, default_value_t = 1_000)]
    pub heldout: usize,
    /// `small` (the shipped size) or `tiny` (for a quick look).
    #[arg(long, default_value = "small")]
    pub size: String,
    /// Seconds between checkpoints.
    #[arg(long, default_value_t = 180)]
    pub checkpoint_every: u64,
}

/// GFLOP/s of a 1024x1024 by 1024x1024 f32 matmul on this machine, now.
pub(crate) fn reference_matmul_gflops() -> Result<f64, candle_core::Error> {
    use candle_core::{Device, Tensor};
    let n = 1024;
    let a = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
    let _ = a.matmul(&b)?;
    let started = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        let _ = a.matmul(&b)?;
    }
    Ok(2.0 * (n * n * n) as f64 * f64::from(runs) / started.elapsed().as_secs_f64() / 1e9)
}

fn settings(args: &PerceptionArgs) -> Result<Settings, CliError> {
    let config = match args.size.as_str() {
        "small" => Config::small(),
        "tiny" => Config::tiny(),
        other => {
            return Err(CliError::BadInput(format!(
                "--size: unknown size '{other}' (known: small, tiny)"
            )));
        }
    };
    if args.batch == 0
        || args.steps == 0
        || args.minutes.is_some_and(|m| m <= 0.0 || !m.is_finite())
    {
        return Err(CliError::BadInput(
            "--batch, --steps and --minutes must be positive".to_owned(),
        ));
    }
    Ok(Settings {
        config,
        batch: args.batch,
        learning_rate: args.learning_rate,
        steps: args.steps,
        minutes: args.minutes,
        seed: args.seed,
        checkpoint_every_s: args.checkpoint_every,
        heldout_frames: args.heldout,
        ..Settings::default()
    })
}

/// Runs the pretraining and prints the report.
///
/// # Errors
/// Bad arguments, an `--out` that holds a checkpoint without `--resume` (or one that does not
/// fit), or a failure while training or writing.
pub fn perception(args: &PerceptionArgs) -> Result<(), CliError> {
    use std::io::IsTerminal as _;
    let settings = settings(args)?;
    let reference = reference_matmul_gflops().map_err(|e| CliError::Other(e.into()))?;
    let mut bar = Bar {
        terminal: std::io::stderr().is_terminal(),
        last_tenth: 0,
    };
    let mut achieved = Vec::new();
    let mut last_line = Instant::now();
    let outcome = pretrain(&args.out, &settings, args.resume, &mut |event| {
        match event {
            Event::Step {
                step,
                progress,
                loss,
                frames_per_s,
                gflop_per_s,
            } => {
                achieved.push(*gflop_per_s);
                let text = format!("step {step}  loss {loss:.3}  {frames_per_s:.0} frames/s  {gflop_per_s:.1} GFLOP/s");
                bar.show_in((progress * 1000.0) as usize, 1000, "‰", &text);
                if !bar.terminal && last_line.elapsed().as_secs() >= 60 {
                    last_line = Instant::now();
                    eprintln!("{text}");
                }
            }
            Event::Checkpoint { step, path } => {
                if bar.terminal {
                    eprintln!();
                }
                eprintln!("checkpoint at step {step}: {}", path.display());
            }
            Event::Evaluating => eprintln!("measuring on {} held-out scenes", settings.heldout_frames),
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| match e {
        PerceptionError::Model(_) => CliError::Other(e.into()),
        other => CliError::BadInput(other.to_string()),
    })?;
    if let Some(from) = outcome.resumed_from {
        println!("resumed from step {from}");
    }
    if let Some(report) = &outcome.report {
        print!("{}", report.table());
    }
    let mut sorted = achieved.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{} steps; training throughput {median:.1} GFLOP/s (median step) against {reference:.1} GFLOP/s for a 1024^3 f32 matmul in the same run ({:.0}%)",
        outcome.steps,
        100.0 * median / reference.max(1e-9)
    );
    println!("weights, config and report in {}", args.out.display());
    Ok(())
}

/// `taskmem train perception-check`: an encoder on a suite split's decoded frames.
#[derive(Args, Debug)]
pub struct PerceptionCheckArgs {
    /// An encoder folder (model.safetensors and config.json), e.g. assets/policy/perception.
    #[arg(long)]
    pub model: PathBuf,
    /// A suite folder (with suite.json), e.g. datasets/world-mme.
    #[arg(long)]
    pub suite: PathBuf,
    /// `validation` for decisions, `test` for reported figures.
    #[arg(long, default_value = "validation")]
    pub split: String,
    /// Read every Nth clip's frames (1: all of them).
    #[arg(long, default_value_t = 2)]
    pub clip_stride: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Measures an encoder on the sampled frames of a suite split's streams (generated first
/// when they are not on disk).
///
/// # Errors
/// A model, suite or split that cannot be read.
pub fn perception_check(args: &PerceptionCheckArgs) -> Result<(), CliError> {
    use crate::policy::perception::{frames::stream_frames, report::evaluate, train::load};
    let bad = |e: &dyn std::fmt::Display| CliError::BadInput(e.to_string());
    let model = load(&args.model).map_err(|e| bad(&e))?;
    let suite = crate::world::suite::read_manifest(&args.suite).map_err(|e| bad(&e))?;
    let streams: Vec<PathBuf> = suite
        .streams
        .iter()
        .filter(|s| s.split == args.split)
        .map(|s| args.suite.join(&s.folder))
        .collect();
    if streams.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: no streams in split '{}'",
            args.suite.display(),
            args.split
        )));
    }
    let mut bar = super::SuiteBar::new();
    crate::world::suite::ensure_splits(&args.suite, &[args.split.as_str()], &mut |event| {
        bar.show(event);
        ControlFlow::Continue(())
    })
    .map_err(|e| bad(&e))?;
    let mut frames = Vec::new();
    for dir in &streams {
        frames.extend(stream_frames(dir, model.config(), args.clip_stride).map_err(|e| bad(&e))?);
    }
    let source = format!(
        "{} {} split, {} streams, decoded H.264",
        suite.suite,
        args.split,
        streams.len()
    );
    let report = evaluate(&model, &frames, &source).map_err(|e| CliError::Other(e.into()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| CliError::Other(e.into()))?
        );
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
