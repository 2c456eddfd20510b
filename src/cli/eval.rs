//! `taskmem eval` (answer a suite's or a project's tasks from memory alone and write results,
//! summary and charts) and `taskmem chart` (redraw a results folder's chart).

use std::io::IsTerminal as _;
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::eval::EvalError;
use crate::eval::answer::BuiltinAnswerer;
use crate::eval::chart::{ChartData, draw};
use crate::eval::metrics::{MIN_N_FOR_INTERVAL, N_TOO_SMALL, interval_text};
use crate::eval::replay::{DEFAULT_SUITE, EvalEvent, SuiteSettings, run_project, run_suite};
use crate::eval::results::{CHART_SIZE, read_summary, write};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A suite folder (datasets/world-...) or a shipped suite's name (world-mme): its
    /// streams are memorized, then answered. Default, without --project: the shipped
    /// world-mme, wherever the command is run from.
    #[arg(long, conflicts_with = "project")]
    pub suite: Option<PathBuf>,
    /// The suite split to evaluate: test (the reported figures), validation (for choosing
    /// settings) or train.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// A project folder: its tasks are answered from the lanes it already holds.
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// With --project: only these lanes (default: every lane).
    #[arg(long)]
    pub lane: Vec<String>,
    /// A Phase Two adapter: its lane is memorized and answered beside the General one.
    #[arg(long)]
    pub adapter: Vec<PathBuf>,
    /// The built-in policy's model folder (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Tokens per description (default: the model's budget).
    #[arg(long)]
    pub budget_tokens: Option<usize>,
    /// Clip length.
    #[arg(long, default_value = "10s")]
    pub clip: String,
    /// With --suite: also answer from the world's reference descriptions (lane "reference",
    /// read from the ground truth: an upper bound, not a policy).
    #[arg(long)]
    pub reference: bool,
    /// Who answers: the built-in answerer for the world's language, or an LLM behind an
    /// OpenAI-compatible endpoint (--answerer-model, --base-url).
    #[arg(long, value_enum, default_value = "builtin")]
    pub answerer: AnswererKind,
    /// The served model that answers with --answerer remote.
    #[arg(long)]
    pub answerer_model: Option<String>,
    #[command(flatten)]
    pub remote: super::ingest::RemoteArgs,
    /// The results folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AnswererKind {
    Builtin,
    Remote,
}

/// `taskmem compare A B`: two evaluation runs side by side.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run A: a results folder (with results.parquet), e.g. a project's eval/run-….
    pub a: PathBuf,
    /// Run B.
    pub b: PathBuf,
    /// Print the comparison as one JSON object (`{"types": {TYPE: {n, acc_a, acc_b, fixed,
    /// broken, different}}, "questions": [...]}`, accuracies in percent).
    #[arg(long)]
    pub json: bool,
    /// List every question, unchanged ones too (default: those whose answer changed).
    #[arg(long)]
    pub all: bool,
}

/// Prints what changed between two runs: per type, then question by question.
///
/// # Errors
/// Either folder unreadable or not a results folder (exit code 2, naming the file).
pub fn compare(args: &CompareArgs) -> Result<(), CliError> {
    use crate::eval::compare::{Change, compare_dirs};
    let c = compare_dirs(&args.a, &args.b).map_err(cli_error)?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&c).map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
        println!("{text}");
        return Ok(());
    }
    println!("A: {}\nB: {}", args.a.display(), args.b.display());
    println!(
        "{:<28} {:>5} {:>7} {:>7} {:>6} {:>6} {:>6}",
        "task type", "n", "acc A", "acc B", "fixed", "broken", "other"
    );
    for (name, t) in &c.types {
        println!(
            "{name:<28} {:>5} {:>6.1}% {:>6.1}% {:>6} {:>6} {:>6}",
            t.n, t.acc_a, t.acc_b, t.fixed, t.broken, t.different
        );
    }
    let shown: Vec<_> = c
        .questions
        .iter()
        .filter(|q| args.all || q.change != Change::Same)
        .collect();
    println!(
        "\n{} of {} questions listed",
        shown.len(),
        c.questions.len()
    );
    for q in shown {
        let said = |a: &Option<crate::eval::compare::Answer>| {
            a.as_ref().map_or("-".to_owned(), |a| {
                let used: Vec<String> = a.entries_used.iter().map(u64::to_string).collect();
                format!("{} [{}]", a.answer, used.join(" "))
            })
        };
        println!(
            "{:<18} {} {:<10} {:<12} at {:>8} ms  expected {}  A {}  B {}",
            q.change.name(),
            q.stream,
            q.task_id,
            q.lane,
            q.ask_ms,
            q.expected,
            said(&q.a),
            said(&q.b)
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ChartArgs {
    /// A results folder written by `taskmem eval` (or its summary.json).
    pub results: PathBuf,
    /// The chart file: .png or .svg.
    #[arg(long)]
    pub out: PathBuf,
    /// Width x height in pixels.
    #[arg(long, default_value = "1400x900")]
    pub size: String,
}

fn cli_error(e: EvalError) -> CliError {
    match e {
        // A remote answerer that fails (refused, cut off, garbled, too slow after its retries)
        // is the endpoint the user named, not a fault of this program: exit 2, as ingest and
        // the Phase Two judge do.
        EvalError::Input(_)
        | EvalError::Write { .. }
        | EvalError::Chart { .. }
        | EvalError::Answer(_) => CliError::BadInput(e.to_string()),
        _ => CliError::Other(anyhow::Error::new(e)),
    }
}

/// Runs `taskmem eval`.
///
/// # Errors
/// Bad input (exit 2) or a failure while memorizing or answering.
pub fn run(args: &EvalArgs) -> Result<(), CliError> {
    let mut counters = None;
    let answerer: Box<dyn crate::eval::answer::Answerer> = match args.answerer {
        AnswererKind::Builtin => Box::new(BuiltinAnswerer),
        AnswererKind::Remote => {
            let name = args.answerer_model.as_deref().ok_or_else(|| {
                CliError::BadInput("--answerer remote needs --answerer-model NAME".to_owned())
            })?;
            let client = crate::remote::client::ChatClient::new(args.remote.settings(name));
            counters = Some((name.to_owned(), std::sync::Arc::clone(&client.counters)));
            Box::new(crate::remote::answerer::RemoteAnswerer { client })
        }
    };
    let answerer = answerer.as_ref();
    let run = if let Some(dir) = &args.project {
        if !args.adapter.is_empty() {
            return Err(CliError::BadInput(
                "--adapter needs --suite: a project is answered from the lanes it holds (memorize a lane with `taskmem ingest --adapter`)".to_owned(),
            ));
        }
        let project = crate::project::Project::open(dir)?;
        let only = (!args.lane.is_empty()).then_some(args.lane.as_slice());
        run_project(&project, only, answerer).map_err(cli_error)?
    } else {
        let clip_ms = super::ingest::clip_length_ms(&args.clip)?;
        let suite = args
            .suite
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SUITE));
        let settings = SuiteSettings {
            suite,
            split: args.split.clone(),
            model_dir: args.model.clone(),
            adapters: args.adapter.clone(),
            budget_tokens: args.budget_tokens,
            clip_ms,
            reference: args.reference,
        };
        let mut bar = super::ingest::Bar {
            terminal: std::io::stderr().is_terminal(),
            last_tenth: 0,
        };
        let mut prepare_bar = super::SuiteBar::new();
        run_suite(&settings, answerer, &mut |event| {
            match event {
                EvalEvent::Memorized {
                    stream,
                    done,
                    total,
                } => bar.show(done, total, &stream),
                EvalEvent::Answering { questions } => {
                    eprintln!("answering {questions} questions from memory");
                }
                EvalEvent::Preparing(event) => prepare_bar.show(&event),
            }
            ControlFlow::Continue(())
        })
        .map_err(cli_error)?
    };
    let written = write(&args.out, &run.rows, &run.summary).map_err(cli_error)?;
    print_table(&run.summary);
    // Why a result is empty or near-empty, right under the figures it explains.
    for note in &run.summary.notes {
        println!("note: {note}");
    }
    for warning in crate::eval::metrics::not_held_out(&run.summary) {
        eprintln!("warning: {warning}");
    }
    if let Some((name, counters)) = counters {
        println!("remote {name}: {}", counters.summary(args.remote.prices()));
    }
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(summary: &crate::eval::metrics::Summary) {
    println!(
        "{} ({}), {} questions, {:.1} s",
        summary.source, summary.split, summary.questions, summary.seconds
    );
    println!(
        "{:<24} {:<24} {:>5} {:>20} {:>7} {:>7}",
        "lane", "task type", "n", "Acc % [95% CI]", "Cov %", "Prec %"
    );
    let mut too_small = false;
    for lane in &summary.lanes {
        let rows = std::iter::once(("All", &lane.overall))
            .chain(lane.by_type.iter().map(|(t, m)| (t.as_str(), m)));
        for (name, m) in rows {
            too_small |= m.acc_interval().is_none();
            println!(
                "{:<24} {:<24} {:>5} {:>5.1} {:>14} {:>7.1} {:>7.1}",
                lane.lane,
                name,
                m.questions,
                m.acc * 100.0,
                interval_text(m.acc_interval()),
                m.cov * 100.0,
                m.prec * 100.0
            );
        }
    }
    if too_small {
        println!("{N_TOO_SMALL}: fewer than {MIN_N_FOR_INTERVAL} questions, no 95% interval");
    }
}

/// A `--size WIDTHxHEIGHT` in pixels, between 200x150 and 8000x8000.
///
/// # Errors
/// When it is not two numbers in that range.
pub fn parse_size(size: &str) -> Result<(u32, u32), CliError> {
    size.split_once('x')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .filter(|&(w, h)| (200..=8000).contains(&w) && (150..=8000).contains(&h))
        .ok_or_else(|| {
            CliError::BadInput(format!(
                "--size {size}: give WIDTHxHEIGHT between 200x150 and 8000x8000"
            ))
        })
}

/// Runs `taskmem chart`.
///
/// # Errors
/// A results folder that cannot be read, a bad size, or a chart that cannot be written.
pub fn chart(args: &ChartArgs) -> Result<(), CliError> {
    let (w, h) = parse_size(&args.size).map_err(|_| {
        CliError::BadInput(format!(
            "--size {}: give WIDTHxHEIGHT between 200x150 and 8000x8000 (default {}x{})",
            args.size, CHART_SIZE.0, CHART_SIZE.1
        ))
    })?;
    let summary = read_summary(&args.results).map_err(cli_error)?;
    draw(&ChartData::of(&summary), &args.out, w, h).map_err(cli_error)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
