//! `taskmem train phase2` (tune a steering adapter from the recent tasks of a type) and
//! `taskmem export pairs` (the preference pairs it would tune on, for TRL or verl).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::CliError;
use super::ingest::RemoteArgs;
use crate::remote::Counters;
use crate::remote::client::ChatClient;
use crate::remote::judge::RemoteJudge;
use crate::timefmt::format_clock_ms;
use crate::train::pairs::{Judgement, SampleFate};
use crate::train::phase2::{
    Phase2Error, Phase2Event, Phase2Settings, Phase2Source, pairs_only, run,
};
use crate::train::reward::{BuiltinJudge, Judge};

/// Where the tasks and clips come from, and which tasks.
#[derive(Args, Debug, Clone)]
pub struct TaskSetArgs {
    /// A project: its tasks and the videos of its streams.
    #[arg(long, conflicts_with = "suite", required_unless_present = "suite")]
    pub project: Option<PathBuf>,
    /// A suite: its train streams only (tasks and clips); its test streams stay unseen.
    #[arg(long)]
    pub suite: Option<PathBuf>,
    /// The task type the adapter is for, e.g. "Counting Problem" ("" for every type). For
    /// `train phase2`, several separated by commas tune one adapter each.
    #[arg(long = "type")]
    pub task_type: String,
    /// The last this many tasks of the type (TaskMem refreshes after 10, 30 and 50). For
    /// `train phase2`, several (10,30,50) tune one adapter each.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    pub recent: Vec<usize>,
    /// The Phase One model folder (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// At most this many training clips, evenly spread (default: all).
    #[arg(long)]
    pub max_clips: Option<usize>,
    /// Sampled descriptions per clip, judged against the policy's own.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Tokens per description, for the policy's own and the sampled ones (default: the
    /// policy's budget, 24).
    #[arg(long)]
    pub budget_tokens: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Who judges each pair: the built-in judge (what the built-in answerer would need), or an
    /// LLM behind an OpenAI-compatible endpoint (--judge-model, --base-url).
    #[arg(long, value_enum, default_value = "builtin")]
    pub judge: JudgeKind,
    /// The model that judges, as the endpoint serves it (with --judge remote).
    #[arg(long)]
    pub judge_model: Option<String>,
    /// Judgements on the wire at once (with --judge remote): a clip's samples side by side, so
    /// at most --samples.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JudgeKind {
    Builtin,
    Remote,
}

/// The judge the arguments ask for, and the remote one's request counters.
type ChosenJudge = (Box<dyn Judge>, Option<Arc<Counters>>);

fn judge(tasks: &TaskSetArgs) -> Result<ChosenJudge, CliError> {
    match tasks.judge {
        JudgeKind::Builtin if tasks.judge_model.is_some() || tasks.remote.base_url.is_some() => {
            Err(CliError::BadInput(
                "--judge-model and --base-url are for --judge remote; the built-in judge needs neither"
                    .to_owned(),
            ))
        }
        JudgeKind::Builtin => Ok((Box::new(BuiltinJudge), None)),
        JudgeKind::Remote => {
            let model = tasks.judge_model.as_deref().ok_or_else(|| {
                CliError::BadInput("--judge remote needs --judge-model NAME".to_owned())
            })?;
            let client = ChatClient::new(tasks.remote.settings(model));
            let counters = Arc::clone(&client.counters);
            Ok((
                Box::new(RemoteJudge {
                    client,
                    concurrency: tasks.concurrency.max(1),
                }),
                Some(counters),
            ))
        }
    }
}

/// The remote judge's requests, tokens and cost, after a run.
fn print_judge_cost(tasks: &TaskSetArgs, counters: Option<&Counters>) {
    if let Some(counters) = counters {
        eprintln!("judge: {}", counters.summary(tasks.remote.prices()));
    }
}

#[derive(Args, Debug)]
pub struct Phase2Args {
    #[command(flatten)]
    pub tasks: TaskSetArgs,
    /// The adapter file to write (.safetensors; the .json sidecar goes beside it).
    #[arg(long)]
    pub out: PathBuf,
    /// DPO's beta.
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    #[arg(long, default_value_t = 80)]
    pub steps: usize,
    /// The decoder layer (0-based) the steering vector is added after.
    #[arg(long, default_value_t = 0)]
    pub layer: usize,
    #[arg(long, default_value_t = 1.5)]
    pub scale: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PairsFormat {
    /// prompt / chosen / rejected columns (TRL's `DPOTrainer`, verl) plus clip references.
    Trl,
}

#[derive(Args, Debug)]
pub struct PairsArgs {
    #[command(flatten)]
    pub tasks: TaskSetArgs,
    #[arg(long, value_enum, default_value = "trl")]
    pub format: PairsFormat,
    /// The Parquet file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// The types asked for (`--type A,B`; `""` is every type).
fn types(tasks: &TaskSetArgs) -> Vec<&str> {
    tasks.task_type.split(',').map(str::trim).collect()
}

fn settings(tasks: &TaskSetArgs, task_type: &str, recent: usize, out: PathBuf) -> Phase2Settings {
    let source = match (&tasks.project, &tasks.suite) {
        (Some(p), _) => Phase2Source::Project(p.clone()),
        (None, Some(s)) => Phase2Source::Suite(s.clone()),
        (None, None) => Phase2Source::Project(PathBuf::new()),
    };
    let mut settings = Phase2Settings::new(source, task_type, out);
    settings.recent = recent;
    settings.model_dir.clone_from(&tasks.model);
    settings.max_clips = tasks.max_clips;
    settings.pairs.samples_per_clip = tasks.samples;
    settings.pairs.budget_tokens = tasks.budget_tokens;
    settings.pairs.seed = tasks.seed;
    settings.dpo.seed = tasks.seed;
    settings
}

fn cli_error(e: Phase2Error, example: Option<&Judgement>) -> CliError {
    match e {
        Phase2Error::NoPairs { .. } => CliError::BadInput(match example {
            // One tie shows what the samples differ in, which is why the judge could not choose.
            Some(j) => format!("{e}\n  {}", tie_example(j)),
            None => e.to_string(),
        }),
        // A judge that cannot be reached or whose replies do not parse: a setting to fix (the
        // endpoint, the model), named in the message with the reply, as a bad path would be.
        Phase2Error::Input(_) | Phase2Error::Write { .. } | Phase2Error::Judge(_) => {
            CliError::BadInput(e.to_string())
        }
        other => CliError::Other(anyhow::Error::new(other)),
    }
}

/// One tie, said as an example of why no pair was kept.
fn tie_example(j: &Judgement) -> String {
    format!(
        "for example, {} {}: the policy's own \"{}\" and a sample \"{}\" both scored {:.2} on {} sampled tasks",
        j.stream,
        format_clock_ms(j.start_ms),
        j.greedy,
        j.sample,
        j.scores[0].0,
        j.tasks.len()
    )
}

/// Prints progress, keeping the first judged tie to explain a run without pairs.
#[derive(Default)]
struct Reporter {
    first_tie: Option<Judgement>,
}

impl Reporter {
    fn event(&mut self, event: Phase2Event) -> ControlFlow<()> {
        match event {
            Phase2Event::Stage(text) => eprintln!("{text}"),
            Phase2Event::ClipsRead { done, total } => eprintln!("read {done}/{total} clips"),
            Phase2Event::Pairs {
                done,
                total,
                judged,
            } => {
                if self.first_tie.is_none() {
                    self.first_tie = judged.into_iter().find(|j| j.fate == SampleFate::Tie);
                }
                if done % 20 == 0 || done == total {
                    eprintln!("judged {done}/{total} clips");
                }
            }
            Phase2Event::Dpo(s) => {
                if s.step % 20 == 0 || s.step == s.steps {
                    eprintln!(
                        "dpo {}/{}  loss {:.4}  margin {:.4}  accuracy {:.2}",
                        s.step, s.steps, s.loss, s.margin, s.accuracy
                    );
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Runs `taskmem train phase2`.
///
/// # Errors
/// Bad input (exit 2) or a failure while tuning.
pub fn phase2(args: &Phase2Args) -> Result<(), CliError> {
    let types = types(&args.tasks);
    let recents = &args.tasks.recent;
    if recents.is_empty() {
        return Err(CliError::BadInput(
            "--recent needs a task count, e.g. 50 or 10,30,50".to_owned(),
        ));
    }
    if types.len() * recents.len() > 1 {
        return phase2_batch(args, &types, recents);
    }
    if args.out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(CliError::BadInput(format!(
            "--out {}: an adapter is a .safetensors file",
            args.out.display()
        )));
    }
    let (judge, counters) = judge(&args.tasks)?;
    let result = phase2_one(args, types[0], recents[0], args.out.clone(), judge.as_ref());
    print_judge_cost(&args.tasks, counters.as_deref());
    print_summary(&result?);
    Ok(())
}

/// One adapter per type and task count (`--type A,B --recent 10,30,50`), each in `--out`, a
/// folder, under its default name. A run without pairs is said and the others go on; any
/// such run makes the exit code 2.
fn phase2_batch(args: &Phase2Args, types: &[&str], recents: &[usize]) -> Result<(), CliError> {
    if args.out.extension().is_some_and(|e| e == "safetensors") {
        return Err(CliError::BadInput(format!(
            "--out {}: with several types or task counts, --out is a folder (one adapter each)",
            args.out.display()
        )));
    }
    let (judge, counters) = judge(&args.tasks)?;
    let mut failed = Vec::new();
    let total = types.len() * recents.len();
    for task_type in types {
        for &recent in recents {
            let out = args
                .out
                .join(crate::train::phase2::adapter_file_name(task_type, recent));
            match phase2_one(args, task_type, recent, out.clone(), judge.as_ref()) {
                Ok(summary) => print_summary(&summary),
                Err(e) => {
                    eprintln!("error: {}: {e}", out.display());
                    failed.push(out.display().to_string());
                }
            }
        }
    }
    print_judge_cost(&args.tasks, counters.as_deref());
    println!(
        "wrote {} of {total} adapters to {}",
        total - failed.len(),
        args.out.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::BadInput(format!(
            "{} of {total} adapters were not written (see above): {}",
            failed.len(),
            failed.join(", ")
        )))
    }
}

/// One Phase Two run to `out`.
fn phase2_one(
    args: &Phase2Args,
    task_type: &str,
    recent: usize,
    out: PathBuf,
    judge: &dyn Judge,
) -> Result<crate::train::phase2::Phase2Summary, CliError> {
    let mut settings = settings(&args.tasks, task_type, recent, out);
    settings.dpo.beta = args.beta;
    settings.dpo.steps = args.steps;
    settings.dpo.layer = args.layer;
    settings.dpo.scale = args.scale;
    let mut reporter = Reporter::default();
    run(&settings, judge, &mut |e| reporter.event(e))
        .map_err(|e| cli_error(e, reporter.first_tie.as_ref()))
}

fn print_summary(summary: &crate::train::phase2::Phase2Summary) {
    println!(
        "adapter '{}' for {} tuned on {} tasks: {} pairs kept of {} judged by {} ({} ties, {} flips) from {} clips in {:.1} s",
        summary.name,
        if summary.task_type.is_empty() {
            "all types"
        } else {
            &summary.task_type
        },
        summary.task_ids.len(),
        summary.counts.kept,
        summary.counts.judged,
        summary.judge,
        summary.counts.ties,
        summary.counts.flips,
        summary.counts.clips,
        summary.seconds
    );
    if let Some(last) = summary.last {
        println!(
            "last DPO step: loss {:.4}, reward margin {:.4}, accuracy {:.2}",
            last.loss, last.margin, last.accuracy
        );
    }
    println!("wrote {}", summary.adapter.display());
    println!(
        "the adapter changes {} of the {} training clips' descriptions{}",
        summary.changes.len(),
        summary.compared,
        if summary.changes.is_empty() {
            ""
        } else {
            ", e.g."
        }
    );
    for c in summary.changes.iter().take(3) {
        println!(
            "  {} {}: \"{}\" -> \"{}\"",
            c.stream,
            format_clock_ms(c.start_ms),
            c.before,
            c.after
        );
    }
}

/// Runs `taskmem export pairs`.
///
/// # Errors
/// Bad input (exit 2) or a failure while sampling.
pub fn export_pairs(args: &PairsArgs) -> Result<(), CliError> {
    let (task_type, recent) = match (types(&args.tasks).as_slice(), args.tasks.recent.as_slice()) {
        ([task_type], [recent]) => (*task_type, *recent),
        _ => {
            return Err(CliError::BadInput(
                "export pairs takes one --type and one --recent (the pairs of one reward model)"
                    .to_owned(),
            ));
        }
    };
    let settings = settings(&args.tasks, task_type, recent, args.out.clone());
    let (judge, counters) = judge(&args.tasks)?;
    let mut reporter = Reporter::default();
    let result = pairs_only(&settings, judge.as_ref(), &mut |e| reporter.event(e));
    print_judge_cost(&args.tasks, counters.as_deref());
    let (pairs, counts) = result.map_err(|e| cli_error(e, None))?;
    if pairs.is_empty()
        && let Some(tie) = &reporter.first_tie
    {
        eprintln!("warning: no pair was kept; {}", tie_example(tie));
    }
    match args.format {
        PairsFormat::Trl => crate::train::pairs::write_trl_parquet(&args.out, &pairs)
            .map_err(|e| CliError::BadInput(format!("{}: {e}", args.out.display())))?,
    }
    println!(
        "wrote {} pairs ({} ties and {} flips dropped) to {}",
        pairs.len(),
        counts.ties,
        counts.flips,
        args.out.display()
    );
    Ok(())
}
