//! `taskmem train phase1`: the built-in policy's warm-up and Phase One GRPO on a suite's
//! training streams, judged on its test streams (see `policy::phase1`); prints progress and
//! the warm-up and Phase One models side by side.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use clap::Args;

use super::CliError;
use crate::policy::phase1::{ModelSize, Phase1Error, Phase1Event, Phase1Settings, Richness, run};
use crate::policy::report::Quality;

#[derive(Args, Debug)]
pub struct Phase1Args {
    /// A suite folder (with suite.json), e.g. datasets/world-tempo.
    #[arg(long)]
    pub suite: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 700)]
    pub warmup_steps: usize,
    #[arg(long, default_value_t = 180)]
    pub steps: usize,
    /// Training streams simulated beside the suite's own, from its spec with seeds of their
    /// own (the suite ships few; the warm-up and Phase One need more to generalize).
    #[arg(long, default_value_t = 64)]
    pub extra_streams: usize,
    /// `small` (the shipped size) or `tiny` (for a quick look).
    #[arg(long, default_value = "small")]
    pub size: String,
    /// Policy v2: a perception encoder folder (`taskmem train perception --out`) the model
    /// reads through, trained on budget-sized subsets of each clip's facts.
    #[arg(long)]
    pub perception: Option<PathBuf>,
    /// Tokens per description (v2's targets, Phase One's length term).
    #[arg(long, default_value_t = crate::eval::budget::DEFAULT_BUDGET_TOKENS)]
    pub budget: usize,
    /// Start from this model folder instead of fresh weights (with --warmup-steps 0: Phase One
    /// from a warm-up made before). Its encoder is used when --perception is not given.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// What a true fact is worth to Phase One's richness term: `uniform` (each counts one) or
    /// `questions` (by how often the suite's training questions ask for its kind) or
    /// `events` (events one, the rest 0.1: the headroom oracle's generic order).
    #[arg(long, default_value = "uniform")]
    pub richness: String,
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

/// `taskmem train judge`: a model's held-out quality, claim by claim, beside its warm-up model.
#[derive(Args, Debug)]
pub struct JudgeArgs {
    /// A model folder (model.safetensors and config.json); its `warmup/` model, when there is
    /// one, is judged beside it.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub suite: PathBuf,
    /// Print this many descriptions with each claim marked true (+) or false (-).
    #[arg(long, default_value_t = 6)]
    pub show: usize,
    /// `validation` for recipe decisions, `test` for the figures reported.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Tokens per description (default: the policy's budget).
    #[arg(long, default_value_t = crate::policy::DEFAULT_BUDGET_TOKENS)]
    pub budget: usize,
    /// Descriptions sampled per clip at temperature 1, for what sampling states per kind.
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// One JSON object on stdout instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// The models a judge run compares: the warm-up model beside the given one when it has one.
fn judged_models(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let warmup = dir.join("warmup");
    if warmup.join("config.json").is_file() {
        vec![("warm-up", warmup), ("phase one", dir.to_path_buf())]
    } else {
        vec![("model", dir.to_path_buf())]
    }
}

/// Judges a model (and its warm-up model) on a suite's split.
///
/// # Errors
/// Bad input (a model or suite that cannot be read) or a tensor error.
pub fn judge(args: &JudgeArgs) -> Result<(), CliError> {
    use crate::policy::lang::Vocab;
    let vocab = Vocab::world();
    let manifest = crate::policy::phase1::read_suite(&args.suite)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    crate::policy::phase1::ensure_suite(&args.suite, &[args.split.as_str()], &mut |text| {
        eprintln!("{text}");
        ControlFlow::Continue(())
    })
    .map_err(|e| CliError::BadInput(e.to_string()))?;
    let mut reports = std::collections::BTreeMap::new();
    let mut order = Vec::new();
    for (name, dir) in judged_models(&args.model) {
        let trainable = crate::policy::train::Trainable::load(&dir)
            .map_err(|e| CliError::BadInput(format!("{e:#}")))?;
        let frontend = crate::policy::frontend::Frontend::for_model(&dir, trainable.model.config())
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        let examples = crate::policy::phase1::examples_of(
            &args.suite,
            &manifest,
            &args.split,
            trainable.model.config(),
            &vocab,
            &frontend,
        )
        .map_err(|e| CliError::BadInput(e.to_string()))?;
        if !args.json {
            eprintln!(
                "judging {name} ({}) on {} clips",
                dir.display(),
                examples.len()
            );
        }
        let mut shown = 0;
        let show = if args.json { 0 } else { args.show };
        let report = crate::policy::report::judge(
            &trainable.model,
            &examples,
            &vocab,
            (args.budget, args.samples),
            &mut |example, text| {
                if shown < show {
                    shown += 1;
                    print_marked(name, example, text);
                }
            },
        )
        .map_err(|e| CliError::Other(e.into()))?;
        order.push(name);
        reports.insert(name.to_owned(), report);
    }
    if args.json {
        let json = serde_json::json!({
            "suite": args.suite.display().to_string(),
            "split": args.split,
            "budget_tokens": args.budget,
            "models": reports,
        });
        println!("{json}");
    } else {
        print_reports(&order, &reports, args);
    }
    Ok(())
}

fn print_marked(model: &str, example: &crate::policy::data::ClipExample, text: &str) {
    use crate::policy::reward::is_true;
    use crate::world::grammar::statements;
    println!("[{model}] {} clip {}: {text}", example.stream, example.clip);
    for claim in statements(text).claims {
        let mark = if is_true(&claim, &example.truth) {
            '+'
        } else {
            '-'
        };
        println!("  {mark} {claim:?}");
    }
}

fn print_reports(
    order: &[&str],
    reports: &std::collections::BTreeMap<String, crate::policy::report::ModelReport>,
    args: &JudgeArgs,
) {
    println!(
        "{} {} split, {} tokens per clip, {} samples per clip at temperature 1",
        args.suite.display(),
        args.split,
        args.budget,
        args.samples
    );
    println!("model      precision  true facts/desc  recall  repetition  format failures");
    for name in order {
        let r = &reports[*name];
        println!(
            "{name:<10} {:>8.1}%  {:>15.2}  {:>5.1}%  {:>9.1}%  {:>8}/{}",
            r.precision,
            r.true_facts_per_description,
            r.recall,
            r.repetition,
            r.format_failures,
            r.descriptions
        );
    }
    println!("per kind: greedy stated (precision) | sampled share (precision)");
    for kind in crate::world::grammar::CLAIM_KINDS {
        let cells: Vec<String> = order
            .iter()
            .map(|name| {
                let k = &reports[*name].kinds[kind];
                format!(
                    "{:>5} ({:>5.1}%) | {:>5.1}% ({:>5.1}%)",
                    k.stated, k.precision, k.sampled_share, k.sampled_precision
                )
            })
            .collect();
        println!("  {kind:<8} {}", cells.join("   "));
    }
}

/// Runs the whole training and writes its outputs.
///
/// # Errors
/// Bad input (no suite, unreadable streams) or a failure while training or writing.
pub fn phase1(args: &Phase1Args) -> Result<(), CliError> {
    let settings = Phase1Settings {
        suite: args.suite.clone(),
        out: args.out.clone(),
        seed: args.seed,
        warmup_steps: args.warmup_steps,
        steps: args.steps,
        extra_streams: args.extra_streams,
        size: ModelSize::named(&args.size).map_err(|e| CliError::BadInput(e.to_string()))?,
        perception: args.perception.clone().or_else(|| {
            let inside = args
                .from
                .as_ref()?
                .join(crate::policy::frontend::PERCEPTION_DIR);
            inside.join("config.json").is_file().then_some(inside)
        }),
        budget_tokens: args.budget,
        from: args.from.clone(),
        richness: Richness::named(&args.richness).map_err(|e| CliError::BadInput(e.to_string()))?,
    };
    let summary = run(&settings, &mut |event| {
        match event {
            Phase1Event::Stage(text) => eprintln!("{text}"),
            Phase1Event::WarmupStep { step, steps, loss } => {
                if step % 20 == 0 || step == steps {
                    eprintln!("warm-up {step}/{steps}  loss {loss:.3}");
                }
            }
            Phase1Event::GrpoStep {
                step,
                steps,
                mean_reward,
                loss,
            } => {
                if step % 10 == 0 || step == steps {
                    eprintln!("phase one {step}/{steps}  reward {mean_reward:.3}  loss {loss:.3}");
                }
            }
            Phase1Event::Judged { .. } => {}
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| match e {
        Phase1Error::Input(_) | Phase1Error::Write { .. } => CliError::BadInput(e.to_string()),
        other => CliError::Other(anyhow::Error::from(other)),
    })?;
    println!(
        "held-out quality ({} {} clips)\nmodel      precision  true facts/desc  repetition  format failures",
        summary.test_clips, summary.held_out_split
    );
    println!("{}", quality_line("warm-up", &summary.warmup));
    println!("{}", quality_line("phase one", &summary.phase1));
    println!("true / stated claims by kind: warm-up -> phase one");
    for (kind, name) in crate::world::grammar::CLAIM_KINDS.iter().enumerate() {
        let (w, p) = (summary.warmup.by_kind[kind], summary.phase1.by_kind[kind]);
        println!("  {name:<8} {:>5}/{:<5} -> {:>5}/{:<5}", w.1, w.0, p.1, p.0);
    }
    if args.richness != "uniform" {
        let worth: Vec<String> = crate::world::grammar::CLAIM_KINDS
            .iter()
            .zip(summary.kind_utility.0)
            .map(|(kind, w)| format!("{kind} {w:.2}"))
            .collect();
        println!("richness worth per kind: {}", worth.join(", "));
    }
    println!(
        "warm-up {:.0} s, phase one {:.0} s; weights, config, log and summary in {}",
        summary.warmup_seconds,
        summary.grpo_seconds,
        args.out.display()
    );
    Ok(())
}
