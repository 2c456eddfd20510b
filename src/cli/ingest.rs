//! `taskmem ingest VIDEO --project P`: memorizes a whole stream headless with a policy, one
//! entry per clip appended to a lane of the project as it is written, with a progress bar.

use std::io::{IsTerminal, Write as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::CliError;
use crate::memory::Lane;
use crate::memory::import::{Imported, StreamInfo};
use crate::policy::adapter::Adapter;
use crate::policy::ingest::{Memorizer, ingest_from};
use crate::policy::{BuiltinPolicy, MemorizationPolicy};
use crate::project::Project;
use crate::remote::client::ChatClient;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyKind {
    /// The built-in candle model (assets/policy, or --model).
    Builtin,
    /// An OpenAI-compatible endpoint (--base-url, --model NAME).
    Remote,
}

/// Where an OpenAI-compatible endpoint is, for `--policy remote` and `--answerer remote`.
#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// The endpoint up to `/v1` (default: `$OPENAI_BASE_URL`, else the `OpenAI` API).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The environment variable that holds the API key (the key itself is never written).
    #[arg(long, default_value = crate::remote::DEFAULT_API_KEY_ENV)]
    pub api_key_env: String,
    /// Seconds before a request is given up.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Retries after a 429, a 5xx or a dropped connection, with doubling backoff.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Frames sent per second of video (remote policy).
    #[arg(long, default_value_t = 1.0)]
    pub fps: f64,
    /// What the endpoint charges per million prompt tokens, in dollars (for the cost shown).
    #[arg(long, default_value_t = 0.0)]
    pub price_input: f64,
    /// What the endpoint charges per million completion tokens, in dollars.
    #[arg(long, default_value_t = 0.0)]
    pub price_output: f64,
}

impl RemoteArgs {
    /// The settings for `model`.
    #[must_use]
    pub fn settings(&self, model: &str) -> crate::remote::RemoteSettings {
        let mut s = crate::remote::RemoteSettings::from_env(model);
        if let Some(url) = &self.base_url {
            s.base_url.clone_from(url);
        }
        s.api_key_env.clone_from(&self.api_key_env);
        s.timeout_s = self.timeout;
        s.retries = self.retries;
        s
    }

    /// The prices given, for the cost line.
    #[must_use]
    pub fn prices(&self) -> crate::remote::Prices {
        crate::remote::Prices {
            input_per_mtok_usd: self.price_input.max(0.0),
            output_per_mtok_usd: self.price_output.max(0.0),
        }
    }
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// One video, or many: a batch memorized by --concurrency workers, one stream each at a
    /// time (a stream's clips stay in order, each reading the one before).
    #[arg(required = true, num_args = 1..)]
    pub videos: Vec<PathBuf>,
    /// Streams memorized at once in a batch (requests in flight, for --policy remote).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The project folder (created if missing).
    #[arg(long)]
    pub project: PathBuf,
    #[arg(long, value_enum, default_value = "builtin")]
    pub policy: PolicyKind,
    /// The built-in policy: a folder with model.safetensors and config.json (default: the
    /// shipped model). The remote policy: the served model's name.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// A Phase Two adapter (safetensors with a .json sidecar beside it).
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// The lane the entries go to (default: builtin, or the adapter's name).
    #[arg(long)]
    pub lane: Option<String>,
    /// The stream id (default: the stream already showing this video, else the file's stem).
    #[arg(long)]
    pub stream: Option<String>,
    /// Tokens per description (default: the model's budget, 48 for the shipped model).
    #[arg(long)]
    pub budget_tokens: Option<usize>,
    /// Clip length.
    #[arg(long, default_value = "10s")]
    pub clip: String,
}

fn canonical(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok()
}

/// The id of the project's stream for `video`: one already showing it, else a new one.
fn stream_for(project: &Project, video: &Path, wanted: Option<&str>) -> (String, bool) {
    if let Some(id) = wanted {
        let known = project.manifest.streams.iter().any(|s| s.id == id);
        return (id.to_owned(), !known);
    }
    let target = canonical(video);
    if let Some(s) = project.manifest.streams.iter().find(|s| {
        s.video
            .as_deref()
            .and_then(|v| canonical(Path::new(v)))
            .is_some_and(|v| Some(v) == target)
    }) {
        return (s.id.clone(), false);
    }
    let stem = video
        .file_stem()
        .map_or_else(|| "stream".to_owned(), |s| s.to_string_lossy().into_owned());
    // A folder of world streams names every video video.mp4: use the folder then.
    let id = if stem == "video" {
        video
            .parent()
            .and_then(Path::file_name)
            .map_or(stem, |n| n.to_string_lossy().into_owned())
    } else {
        stem
    };
    (id, true)
}

pub(super) struct Bar {
    pub(super) terminal: bool,
    pub(super) last_tenth: usize,
}

impl Bar {
    pub(super) fn show(&mut self, done: usize, total: usize, text: &str) {
        self.show_in(done, total, "clips", text);
    }

    /// The bar with `done` and `total` counted in `unit` (clips, frames, streams).
    pub(super) fn show_in(&mut self, done: usize, total: usize, unit: &str, text: &str) {
        let total = total.max(1);
        let done = done.min(total);
        let width = 30;
        let filled = done * width / total;
        let line = format!(
            "[{}{}] {done}/{total} {unit}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let mut err = std::io::stderr();
        if self.terminal {
            let short: String = text.chars().take(60).collect();
            let _ = write!(err, "\r\x1b[2K{line}  {short}");
            if done == total {
                let _ = writeln!(err);
            }
        } else if done * 10 / total > self.last_tenth || done == total {
            // Logs get a line per tenth, not a redrawn bar.
            self.last_tenth = done * 10 / total;
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

/// The `--clip` length in milliseconds.
///
/// # Errors
/// When it does not parse or is not longer than zero.
pub(super) fn clip_length_ms(clip: &str) -> Result<i64, CliError> {
    let clip_ms = crate::timefmt::parse_time_ns(clip)
        .map_err(|e| CliError::BadInput(format!("--clip: {e}")))?
        / crate::video::NS_PER_MS;
    if clip_ms <= 0 {
        return Err(CliError::BadInput(format!(
            "--clip {clip}: must be longer than zero"
        )));
    }
    Ok(clip_ms)
}

/// A policy, its adapter, and the lane it writes by default.
type ChosenPolicy = (Box<dyn MemorizationPolicy>, Option<Adapter>, String);

/// The remote model's name for `--policy remote`.
fn remote_model(args: &IngestArgs) -> Result<String, CliError> {
    args.model
        .as_ref()
        .map(|m| m.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::BadInput("--policy remote needs --model NAME".to_owned()))
}

/// For `--policy remote`, the one client every worker shares (its counters count the whole
/// run): at most `--concurrency` requests on the wire at once.
fn remote_client(args: &IngestArgs) -> Result<Option<ChatClient>, CliError> {
    if args.policy != PolicyKind::Remote {
        return Ok(None);
    }
    let name = remote_model(args)?;
    Ok(Some(
        ChatClient::new(args.remote.settings(&name))
            .with_gate(crate::remote::Gate::new(args.concurrency)),
    ))
}

/// The policy `args` ask for, its adapter, and the lane it writes by default; a remote policy
/// sends through `client` (from [`remote_client`]).
///
/// # Errors
/// A model or adapter that does not load, or a remote policy without a model name.
fn policy_of(
    args: &IngestArgs,
    clip_ms: i64,
    client: Option<&ChatClient>,
) -> Result<ChosenPolicy, CliError> {
    Ok(match args.policy {
        PolicyKind::Builtin => {
            let policy = BuiltinPolicy::load(args.model.as_deref())
                .map_err(|e| CliError::BadInput(format!("{e:#}")))?
                .with_budget(args.budget_tokens);
            let adapter = match &args.adapter {
                Some(path) => {
                    let adapter =
                        Adapter::load(path).map_err(|e| CliError::BadInput(e.to_string()))?;
                    adapter
                        .check(policy.model().config())
                        .map_err(|e| CliError::BadInput(e.to_string()))?;
                    Some(adapter)
                }
                None => None,
            };
            let lane = adapter
                .as_ref()
                .map_or_else(|| "builtin".to_owned(), |a| a.name.clone());
            (Box::new(policy), adapter, lane)
        }
        PolicyKind::Remote => {
            if args.adapter.is_some() {
                return Err(CliError::BadInput(
                        "--adapter steers the built-in policy; a remote lane is a served model name (--model NAME, as vLLM serves adapters)".to_owned(),
                    ));
            }
            let name = remote_model(args)?;
            let frames = (args.remote.fps * clip_ms as f64 / 1000.0).round().max(1.0) as usize;
            let client = match client {
                Some(client) => client.clone(),
                None => ChatClient::new(args.remote.settings(&name)),
            };
            let policy = crate::remote::policy::RemotePolicy {
                client,
                frames,
                max_side: 448,
            };
            (Box::new(policy), None, name)
        }
    })
}

/// Shows progress and appends one entry to the project, keeping the first write error.
/// Appended one by one: an interrupted ingest keeps every clip it finished.
fn append_entry(
    project: &mut Project,
    bar: &mut Bar,
    write_error: &mut Option<crate::project::ProjectError>,
    mut entry: crate::memory::MemoryEntry,
    done: usize,
    total: usize,
) -> ControlFlow<()> {
    bar.show(done, total, &entry.text);
    entry.id = project.memory.next_id();
    match project.append(&[entry]) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            *write_error = Some(e);
            ControlFlow::Break(())
        }
    }
}

/// Puts the project back as it was before this run after an entry could not be written (a
/// full disk): a failed ingest leaves the project unchanged, where a killed one is resumed.
fn undo_run(
    project: &mut Project,
    checkpoint: &crate::project::Checkpoint,
    error: &crate::project::ProjectError,
) -> CliError {
    match project.roll_back(checkpoint) {
        Ok(()) => CliError::BadInput(format!(
            "{error}; nothing was kept: the project is as it was before this ingest"
        )),
        Err(undo) => CliError::BadInput(format!(
            "{error}; the entries written before it could not be taken back: {undo}"
        )),
    }
}

/// Refuses a lane name that cannot name its file (see [`crate::project::check_lane_id`]).
fn check_lane(lane: &str) -> Result<(), CliError> {
    crate::project::check_lane_id(lane).map_err(|e| match e {
        crate::project::ProjectError::BadLane { lane, detail } => {
            CliError::BadInput(format!("--lane \"{lane}\": {detail}"))
        }
        other => other.into(),
    })
}

/// Who writes this run's entries: the policy's name and the adapter's, as entries record them.
type Writer<'a> = (&'a str, Option<&'a str>);

/// How many clips of `stream` the lane holds already from a killed run of this same ingest:
/// its entries must be this video's first clips (same `--clip`), written by the same policy
/// and adapter (`writer`). Refused otherwise. Every clip may be there (a stream finished
/// before the kill): the caller decides what that means.
fn clips_done(
    args: &IngestArgs,
    project: &Project,
    (stream, lane): (&str, &str),
    spans: &[(i64, i64)],
    (policy, adapter): Writer<'_>,
) -> Result<usize, CliError> {
    let held = project.memory.lane(stream, lane);
    if held.is_empty() {
        return Ok(0);
    }
    let refuse = |why: String| refuse_resume(args, (stream, lane), held.len(), &why);
    if let Some(other) = held
        .iter()
        .find(|e| e.policy.as_deref() != Some(policy) || e.adapter.as_deref() != adapter)
    {
        let who = |p: Option<&str>, a: Option<&str>| {
            format!(
                "{}{}",
                p.unwrap_or("another policy"),
                a.map(|a| format!(" with adapter {a}")).unwrap_or_default()
            )
        };
        return Err(refuse(format!(
            "written by {} (this run: {}), so this run cannot resume it",
            who(other.policy.as_deref(), other.adapter.as_deref()),
            who(Some(policy), adapter)
        )));
    }
    let prefix = held.len() <= spans.len()
        && held
            .iter()
            .zip(spans)
            .all(|(e, &(start_ms, end_ms))| e.start_ms == start_ms && e.end_ms == end_ms);
    if !prefix {
        return Err(refuse(format!(
            "that are not this video's first clips of --clip {}, so this run cannot resume it",
            args.clip
        )));
    }
    Ok(held.len())
}

/// The refusal to resume a lane that holds `held` entries of `stream`, saying `why`.
fn refuse_resume(
    args: &IngestArgs,
    (stream, lane): (&str, &str),
    held: usize,
    why: &str,
) -> CliError {
    CliError::BadInput(format!(
        "{}: lane '{lane}' already holds {held} entries of stream '{stream}' {why}; choose another --lane",
        args.project.display(),
    ))
}

/// The policy's and adapter's names as this run's entries record them (see [`clips_done`]).
fn writer_names(
    policy: &dyn MemorizationPolicy,
    adapter: Option<&Adapter>,
) -> (String, Option<String>) {
    (policy.name(), adapter.map(|a| a.name.clone()))
}

/// `taskmem ingest V1 V2 ...`: a batch, `--concurrency` streams at once.
fn run_batch(args: &IngestArgs, clip_ms: i64) -> Result<(), CliError> {
    use crate::policy::ingest::{StreamJob, ingest_many};
    if args.stream.is_some() {
        return Err(CliError::BadInput(
            "--stream names one stream; in a batch each video gets its own".to_owned(),
        ));
    }
    let client = remote_client(args)?;
    let (policy, adapter, default_lane) = policy_of(args, clip_ms, client.as_ref())?;
    let (policy_name, adapter_name) = writer_names(policy.as_ref(), adapter.as_ref());
    // Each worker makes its own policy: this one only named the writer.
    drop(policy);
    let lane = args.lane.clone().unwrap_or(default_lane);
    check_lane(&lane)?;
    let mut project = Project::open_or_create(&args.project)?;
    let mut jobs: Vec<StreamJob> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut streams = Vec::new();
    let mut duration_ms = 0;
    // A killed batch is resumed: streams it finished are skipped, the ones it began go on
    // after their last complete entry, the others start.
    let (mut finished, mut resumed) = (Vec::new(), Vec::new());
    for video in &args.videos {
        let sampler = crate::policy::ingest::ClipSampler::open(video)?;
        let (stream, new_stream) = stream_for(&project, video, None);
        if !seen.insert(stream.clone()) {
            return Err(CliError::BadInput(format!(
                "{}: a second video for stream '{stream}' in one batch",
                video.display()
            )));
        }
        let spans = crate::policy::ingest::clip_spans(sampler.duration_ms(), clip_ms);
        let writer = (policy_name.as_str(), adapter_name.as_deref());
        let skip = clips_done(args, &project, (&stream, &lane), &spans, writer)?;
        if skip > 0 && skip == spans.len() {
            finished.push(stream);
            continue;
        }
        let resume = project
            .memory
            .lane(&stream, &lane)
            .last()
            .map(|e| (e.end_ms, e.text.clone()));
        if skip > 0 {
            resumed.push(format!("'{stream}' after clip {skip} of {}", spans.len()));
        }
        // The stream time this run memorizes, for the real-time figure.
        duration_ms += sampler.duration_ms() - resume.as_ref().map_or(0, |(end_ms, _)| *end_ms);
        if new_stream {
            streams.push(StreamInfo {
                id: stream.clone(),
                title: stream.clone(),
                duration_ms: sampler.duration_ms(),
                video: canonical(video).map(|p| p.display().to_string()),
                video_sha256: crate::world::sha256_file(video).ok(),
                questions: Vec::new(),
                phases: Vec::new(),
            });
        }
        jobs.push(StreamJob {
            video: video.clone(),
            stream,
            skip,
            resume,
        });
    }
    if jobs.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: lane '{lane}' already holds every clip of the {} streams (nothing left to resume); choose another --lane",
            args.project.display(),
            finished.len()
        )));
    }
    if !finished.is_empty() || !resumed.is_empty() {
        eprintln!(
            "resuming lane '{lane}': {} of {} streams done already{}{}",
            finished.len(),
            args.videos.len(),
            if resumed.is_empty() { "" } else { "; " },
            resumed.join(", ")
        );
    }
    let general = adapter.is_none() && !project.manifest.lanes.iter().any(|l| l.general);
    let checkpoint = project.checkpoint(&[&lane]);
    project.add_imported(Imported {
        streams,
        lanes: vec![Lane {
            hidden: false,
            id: lane.clone(),
            title: lane.clone(),
            general,
            task_hint: adapter.as_ref().and_then(|a| a.meta.task_type.clone()),
            adapter: adapter.as_ref().map(|a| a.path.display().to_string()),
        }],
        entries: Vec::new(),
        tasks: Vec::new(),
    })?;
    let mut bar = Bar {
        terminal: std::io::stderr().is_terminal(),
        last_tenth: 0,
    };
    let started = Instant::now();
    let mut write_error = None;
    let make = || {
        policy_of(args, clip_ms, client.as_ref())
            .map(|(p, _, _)| p)
            .map_err(|e| e.to_string())
    };
    // A remote batch prepares more clips than it sends (the gate keeps --concurrency on the
    // wire), so the server is never waiting on a worker that is encoding its next clip.
    let workers = if client.is_some() {
        crate::remote::batch_workers(args.concurrency)
    } else {
        args.concurrency
    };
    let written = ingest_many(
        &jobs,
        &lane,
        &make,
        adapter.as_ref(),
        workers,
        clip_ms,
        &mut |entry, done, total| {
            append_entry(&mut project, &mut bar, &mut write_error, entry, done, total)
        },
    );
    if let Some(e) = write_error {
        return Err(undo_run(&mut project, &checkpoint, &e));
    }
    let written = written.map_err(|e| CliError::BadInput(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "memorized {written} clips of {} streams into lane '{lane}' of {} in {seconds:.1} s ({:.0}x real time, {} at once)",
        jobs.len(),
        args.project.display(),
        duration_ms as f64 / 1000.0 / seconds.max(1e-9),
        args.concurrency.clamp(1, jobs.len())
    );
    print_remote_counters(client.as_ref(), args);
    Ok(())
}

/// The remote run's requests, tokens and cost, after the summary line.
fn print_remote_counters(client: Option<&ChatClient>, args: &IngestArgs) {
    if let Some(client) = client {
        println!(
            "remote {}: {}",
            client.settings().model,
            client.counters.summary(args.remote.prices())
        );
    }
}

/// Runs `taskmem ingest`.
///
/// # Errors
/// Bad input (a video that does not open, a model that does not load, a lane that already has
/// this stream's memory) or a failure while memorizing or writing.
pub fn run(args: &IngestArgs) -> Result<(), CliError> {
    if let Some(lane) = &args.lane {
        // Before the video or the model is loaded: the lane is the first thing that can fail.
        check_lane(lane)?;
    }
    let clip_ms = clip_length_ms(&args.clip)?;
    let existed = args.project.join("project.json").exists();
    let result = if args.videos.len() > 1 {
        run_batch(args, clip_ms)
    } else {
        run_one(args, clip_ms)
    };
    if result.is_err() && !existed {
        discard_if_empty(&args.project);
    }
    result
}

/// Removes a project this run created when it failed before writing any entry, so that a
/// failed ingest leaves no folder behind. Only what a new project holds is removed, and
/// folders only when empty.
pub(super) fn discard_if_empty(dir: &Path) {
    let Ok(project) = Project::open(dir) else {
        return;
    };
    if !project.memory.is_empty() || !project.tasks.is_empty() {
        return;
    }
    // Best effort, each step: what cannot be removed stays, as a valid (empty) project.
    let memory = dir.join("memory");
    if memory.exists() && std::fs::remove_dir(&memory).is_err() {
        return;
    }
    if std::fs::remove_file(dir.join("project.json")).is_ok() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// `taskmem ingest VIDEO`: one stream, resumed when a killed run left part of it.
fn run_one(args: &IngestArgs, clip_ms: i64) -> Result<(), CliError> {
    let video = args.videos[0].as_path();
    // Opened once: its index gives the duration, then it decodes the clips.
    let sampler = crate::policy::ingest::ClipSampler::open(video)?;
    let duration_ms = sampler.duration_ms();
    let client = remote_client(args)?;
    let (policy, adapter, default_lane) = policy_of(args, clip_ms, client.as_ref())?;
    let lane = args.lane.clone().unwrap_or(default_lane);
    check_lane(&lane)?;
    let mut project = Project::open_or_create(&args.project)?;
    let (stream, new_stream) = stream_for(&project, video, args.stream.as_deref());
    let lane_adapter = adapter
        .as_ref()
        .map(|a| (a.path.clone(), a.meta.task_type.clone()));
    let mut memorizer = Memorizer::new(policy, &stream, &lane).with_adapter(adapter);
    // A killed run of the same ingest is resumed after its last complete entry.
    let spans = crate::policy::ingest::clip_spans(duration_ms, clip_ms);
    let (policy_name, adapter_name) = (memorizer.policy_name(), memorizer.adapter_name());
    let writer = (policy_name.as_str(), adapter_name.as_deref());
    let skip = clips_done(args, &project, (&stream, &lane), &spans, writer)?;
    if skip > 0 && skip == spans.len() {
        return Err(refuse_resume(
            args,
            (&stream, &lane),
            skip,
            "(every clip: nothing left to resume)",
        ));
    }
    if let Some(last) = project.memory.lane(&stream, &lane).last() {
        memorizer.resume_after(last.end_ms, &last.text);
        eprintln!(
            "resuming lane '{lane}' of stream '{stream}' after clip {skip} of {}",
            spans.len()
        );
    }
    let mut streams = Vec::new();
    if new_stream {
        streams.push(StreamInfo {
            id: stream.clone(),
            title: stream.clone(),
            duration_ms,
            video: canonical(video).map(|p| p.display().to_string()),
            video_sha256: crate::world::sha256_file(video).ok(),
            questions: Vec::new(),
            phases: Vec::new(),
        });
    }
    // An adapter's lane is task-focused; the first plain lane is the general one.
    let general = lane_adapter.is_none() && !project.manifest.lanes.iter().any(|l| l.general);
    let checkpoint = project.checkpoint(&[&lane]);
    project.add_imported(Imported {
        streams,
        lanes: vec![Lane {
            hidden: false,
            id: lane.clone(),
            title: lane.clone(),
            general,
            task_hint: lane_adapter.as_ref().and_then(|(_, t)| t.clone()),
            adapter: lane_adapter.map(|(p, _)| p.display().to_string()),
        }],
        entries: Vec::new(),
        tasks: Vec::new(),
    })?;

    let mut bar = Bar {
        terminal: std::io::stderr().is_terminal(),
        last_tenth: 0,
    };
    let started = Instant::now();
    let mut write_error = None;
    let written = ingest_from(
        sampler,
        &mut memorizer,
        clip_ms,
        skip,
        &mut |entry, done, total| {
            append_entry(&mut project, &mut bar, &mut write_error, entry, done, total)
        },
    );
    if let Some(e) = write_error {
        return Err(undo_run(&mut project, &checkpoint, &e));
    }
    let written = written.map_err(|e| CliError::BadInput(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "memorized {written} clips of '{stream}' into lane '{}' of {} in {seconds:.1} s ({:.0}x real time)",
        lane,
        args.project.display(),
        duration_ms as f64 / 1000.0 / seconds.max(1e-9)
    );
    print_remote_counters(client.as_ref(), args);
    Ok(())
}
