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
use crate::policy::ingest::{Memorizer, ingest};
use crate::policy::{BuiltinPolicy, MemorizationPolicy};
use crate::project::Project;

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
    #[arg(long, default_value = "OPENAI_API_KEY")]
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
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    pub video: PathBuf,
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
        let total = total.max(1);
        let width = 30;
        let filled = done * width / total;
        let line = format!(
            "[{}{}] {done}/{total} clips",
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

/// Runs `taskmem ingest`.
///
/// # Errors
/// Bad input (a video that does not open, a model that does not load, a lane that already has
/// this stream's memory) or a failure while memorizing or writing.
pub fn run(args: &IngestArgs) -> Result<(), CliError> {
    let clip_ms = clip_length_ms(&args.clip)?;
    // Opened once: its index gives the duration, then it decodes the clips.
    let sampler = crate::policy::ingest::ClipSampler::open(&args.video)?;
    let duration_ms = sampler.duration_ms();
    let (policy, adapter, default_lane): (Box<dyn MemorizationPolicy>, Option<Adapter>, String) =
        match args.policy {
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
                let name = args
                    .model
                    .as_ref()
                    .map(|m| m.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        CliError::BadInput("--policy remote needs --model NAME".to_owned())
                    })?;
                let frames = (args.remote.fps * clip_ms as f64 / 1000.0).round().max(1.0) as usize;
                let policy = crate::remote::policy::RemotePolicy {
                    client: crate::remote::client::ChatClient::new(args.remote.settings(&name)),
                    frames,
                    max_side: 448,
                };
                (Box::new(policy), None, name)
            }
        };
    let lane = args.lane.clone().unwrap_or(default_lane);
    let mut project = Project::open_or_create(&args.project)?;
    let (stream, new_stream) = stream_for(&project, &args.video, args.stream.as_deref());
    let already = project.memory.lane(&stream, &lane).len();
    if already > 0 {
        return Err(CliError::BadInput(format!(
            "{}: lane '{}' already holds {already} entries of stream '{stream}'; choose another --lane",
            args.project.display(),
            lane
        )));
    }
    let mut streams = Vec::new();
    if new_stream {
        streams.push(StreamInfo {
            id: stream.clone(),
            title: stream.clone(),
            duration_ms,
            video: canonical(&args.video).map(|p| p.display().to_string()),
            video_sha256: crate::world::sha256_file(&args.video).ok(),
            questions: Vec::new(),
            phases: Vec::new(),
        });
    }
    // An adapter's lane is task-focused; the first plain lane is the general one.
    let general = adapter.is_none() && !project.manifest.lanes.iter().any(|l| l.general);
    project.add_imported(Imported {
        streams,
        lanes: vec![Lane {
            id: lane.clone(),
            title: lane.clone(),
            general,
            task_hint: adapter.as_ref().and_then(|a| a.meta.task_type.clone()),
        }],
        entries: Vec::new(),
        tasks: Vec::new(),
    })?;

    let mut memorizer = Memorizer::new(policy, &stream, &lane).with_adapter(adapter);
    let mut bar = Bar {
        terminal: std::io::stderr().is_terminal(),
        last_tenth: 0,
    };
    let started = Instant::now();
    let mut write_error = None;
    let written = ingest(
        sampler,
        &mut memorizer,
        clip_ms,
        &mut |mut entry, done, total| {
            bar.show(done, total, &entry.text);
            entry.id = project.memory.next_id();
            // Appended one by one: an interrupted ingest keeps every clip it finished.
            match project.append(&[entry]) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    )
    .map_err(|e| CliError::BadInput(e.to_string()))?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "memorized {written} clips of '{stream}' into lane '{}' of {} in {seconds:.1} s ({:.0}x real time)",
        lane,
        args.project.display(),
        duration_ms as f64 / 1000.0 / seconds.max(1e-9)
    );
    Ok(())
}
