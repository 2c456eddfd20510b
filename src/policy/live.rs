//! Memorizing live while a stream plays: one named thread (`memorize`) that memorizes a clip
//! when asked (the app asks as the playhead passes the clip's end), appends the entry to the
//! project's lane file and sends it back. The app never waits on it; dropping the handle ends
//! the thread after the clip in hand. A lane memorized by a model behind an endpoint gets that
//! policy from its caller ([`ServedPolicy`]), so this module holds no network code. No egui.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::adapter::Adapter;
use super::ingest::{ClipSampler, Memorizer};
use super::{BuiltinPolicy, MemorizationPolicy};
use crate::memory::MemoryEntry;
use crate::project::MemoryAppender;

/// Clips waiting beyond this are refused (the player outruns the policy): the app keeps them
/// and asks again as the queue makes room.
const QUEUE: usize = 8;

/// A policy served by a model behind an endpoint, which the caller builds
/// (`remote::policy::RemoteLane`) and keeps a hold of, for its counters.
pub trait ServedPolicy: Send + Sync + std::fmt::Debug {
    /// The policy the lane's thread memorizes with.
    fn policy(&self) -> Box<dyn MemorizationPolicy>;

    /// Stops the request on the wire at once: its reply is discarded and its clip reported as
    /// failed.
    fn cancel_in_flight(&self);
}

/// What the live thread needs.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub video: PathBuf,
    pub project_dir: PathBuf,
    pub stream: String,
    pub lane: String,
    pub clip_ms: i64,
    /// The built-in model's folder (`None`: the shipped one).
    pub model_dir: Option<PathBuf>,
    /// A Phase Two adapter to memorize with.
    pub adapter: Option<PathBuf>,
    /// Tokens per description (`None`: the model's budget).
    pub budget_tokens: Option<usize>,
    /// Memorize with a model behind an OpenAI-compatible endpoint instead of the built-in
    /// one.
    pub remote: Option<Arc<dyn ServedPolicy>>,
    /// Where the ids of the entries it writes come from (shared by every live lane, so that
    /// two lanes never write the same id).
    pub next_id: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// What the live thread reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveEvent {
    /// The policy is loaded and the video open.
    Ready { policy: String },
    /// Work on the clip starting at `start_ms` began.
    Started { start_ms: i64, end_ms: i64 },
    /// An entry was written to the project and is on its way to the lane.
    Written(Box<MemoryEntry>),
    /// Something failed; the message names the file. The thread goes on with the next clip
    /// unless the policy or the video could not be opened at all.
    Failed(String),
}

/// The handle of a running live memorizer.
#[derive(Debug)]
pub struct LiveMemorizer {
    requests: Sender<(i64, i64)>,
    events: Receiver<LiveEvent>,
    pub settings: LiveSettings,
}

impl LiveMemorizer {
    /// Starts the `memorize` thread.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(settings: LiveSettings) -> std::io::Result<Self> {
        let (requests, jobs) = crossbeam_channel::bounded::<(i64, i64)>(QUEUE);
        let (report, events) = crossbeam_channel::bounded::<LiveEvent>(QUEUE * 4);
        let job = settings.clone();
        std::thread::Builder::new()
            .name("memorize".to_owned())
            .spawn(move || run(&job, &jobs, &report))?;
        Ok(Self {
            requests,
            events,
            settings,
        })
    }

    /// Whether the lane is memorized by a served policy rather than the built-in one.
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.settings.remote.is_some()
    }

    /// Stops a remote lane's request on the wire at once (its reply is discarded and the clip
    /// reported as failed); the built-in policy finishes its clip in hand.
    pub fn cancel_in_flight(&self) {
        if let Some(served) = &self.settings.remote {
            served.cancel_in_flight();
        }
    }

    /// Asks for the clip `[start_ms, end_ms)`; false when the queue is full or the thread gone.
    #[must_use]
    pub fn request(&self, start_ms: i64, end_ms: i64) -> bool {
        match self.requests.try_send((start_ms, end_ms)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Clips asked for and not yet written.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.requests.len()
    }

    /// Asks for nothing more: the thread finishes the clips already asked for, reports them on
    /// the returned receiver, then ends (the receiver disconnects).
    #[must_use]
    pub fn finish(self) -> Receiver<LiveEvent> {
        self.events
    }

    /// What the thread reported since the last call, and whether it still runs (it ends on
    /// its own only when the policy or the video could not be opened, or when it panicked).
    #[must_use]
    pub fn drain(&self) -> (Vec<LiveEvent>, bool) {
        let mut events = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(event) => events.push(event),
                Err(crossbeam_channel::TryRecvError::Empty) => return (events, true),
                Err(crossbeam_channel::TryRecvError::Disconnected) => return (events, false),
            }
        }
    }
}

fn run(settings: &LiveSettings, jobs: &Receiver<(i64, i64)>, report: &Sender<LiveEvent>) {
    let fail = |message: String| {
        let _ = report.send(LiveEvent::Failed(message));
    };
    let mut sampler = match ClipSampler::open(&settings.video) {
        Ok(sampler) => sampler,
        Err(e) => return fail(e.to_string()),
    };
    let mut appender = match MemoryAppender::open(&settings.project_dir) {
        Ok(appender) => appender,
        Err(e) => return fail(e.to_string()),
    };
    let mut memorizer = if let Some(served) = &settings.remote {
        Memorizer::new(served.policy(), &settings.stream, &settings.lane)
    } else {
        let policy = match BuiltinPolicy::load(settings.model_dir.as_deref()) {
            Ok(policy) => policy.with_budget(settings.budget_tokens),
            Err(e) => return fail(format!("{e:#}")),
        };
        let adapter = match &settings.adapter {
            Some(path) => match Adapter::load(path).and_then(|a| {
                a.check(policy.model().config())?;
                Ok(a)
            }) {
                Ok(adapter) => Some(adapter),
                Err(e) => return fail(e.to_string()),
            },
            None => None,
        };
        Memorizer::new(Box::new(policy), &settings.stream, &settings.lane).with_adapter(adapter)
    };
    if report
        .send(LiveEvent::Ready {
            policy: memorizer.policy_name(),
        })
        .is_err()
    {
        return;
    }
    // Ends when the app drops its handle (the sender).
    for (start_ms, end_ms) in jobs {
        let _ = report.send(LiveEvent::Started { start_ms, end_ms });
        let outcome = sampler
            .frames_within(
                start_ms,
                end_ms,
                memorizer.frames_per_clip(),
                memorizer.frame_max_size(),
            )
            .map_err(|e| e.to_string())
            .and_then(|frames| {
                memorizer.memorize(&frames, start_ms, end_ms).map_err(|e| {
                    format!("{}: clip at {start_ms} ms: {e}", sampler.path().display())
                })
            })
            .and_then(|mut entry| {
                entry.id = settings
                    .next_id
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                appender
                    .append(&entry)
                    .map(|()| entry)
                    .map_err(|e| e.to_string())
            });
        let event = match outcome {
            Ok(entry) => LiveEvent::Written(Box::new(entry)),
            Err(message) => LiveEvent::Failed(message),
        };
        if report.send(event).is_err() {
            return;
        }
    }
}
