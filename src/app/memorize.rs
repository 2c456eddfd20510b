//! "Memorize while playing": watches the playhead and asks the live memorizers (one
//! `memorize` thread per lane, see `policy::live`) for each clip the video plays through, then
//! hands what they wrote to the lanes. The general lane and adapter lanes run side by side.
//! Seeking or pausing never asks for a clip; a clip a lane already holds is never asked for
//! twice.

use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::memory::MemoryEntry;
use crate::policy::ingest::clip_spans;
use crate::policy::live::{LiveEvent, LiveMemorizer, LiveSettings};
use crate::timefmt::format_hms_ms;
use crate::video::NS_PER_MS;

/// The lane the general policy's live memory goes to (the same lane `taskmem ingest` writes by
/// default).
pub const LIVE_LANE: &str = "builtin";

/// What the memorizers did since the last frame, for the app to apply.
#[derive(Debug, Default)]
pub struct Polled {
    pub written: Vec<MemoryEntry>,
    pub errors: Vec<String>,
}

/// How the playhead moved in one frame.
#[derive(Clone, Copy, Debug)]
pub struct Played {
    pub before_ms: i64,
    pub after_ms: i64,
    pub duration_ms: i64,
    pub last_frame_ms: i64,
    /// The video is followed live and may still grow.
    pub growing: bool,
}

/// One lane being memorized.
#[derive(Debug)]
struct LaneJob {
    job: LiveMemorizer,
    /// A remote lane's requests and tokens so far (its client's, which the app built).
    counters: Option<Arc<crate::remote::Counters>>,
    /// Starts of the clips asked for (or waiting to be), or already in the lane.
    asked: BTreeSet<i64>,
    /// Clips played through that the thread's queue had no room for yet, oldest first.
    backlog: VecDeque<(i64, i64)>,
    working_on: Option<(i64, i64)>,
    policy: Option<String>,
    written: usize,
    /// How long the last clip took (clip end to available).
    last_processing_ms: Option<i64>,
    /// Loading the policy, adapter or video failed: the job is over.
    dead: bool,
}

#[derive(Debug, Default)]
pub struct MemorizeControl {
    jobs: Vec<LaneJob>,
    /// Lanes switched off whose threads are still writing the clips asked for before.
    finishing: Vec<crossbeam_channel::Receiver<LiveEvent>>,
    /// Entry ids for every live lane.
    next_id: Arc<AtomicU64>,
}

impl MemorizeControl {
    #[must_use]
    pub fn is_on(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Entries written from now on get ids from `first_id` up (the project's next id), unless
    /// live lanes already went past it.
    pub fn reserve_ids_from(&self, first_id: u64) {
        self.next_id.fetch_max(first_id, Ordering::Relaxed);
    }

    /// The lanes being memorized.
    #[must_use]
    pub fn lanes(&self) -> Vec<&str> {
        self.jobs
            .iter()
            .map(|j| j.job.settings.lane.as_str())
            .collect()
    }

    /// Entries written since memorizing was switched on, over every lane.
    #[must_use]
    pub fn written(&self) -> usize {
        self.jobs.iter().map(|j| j.written).sum()
    }

    /// Starts memorizing a lane (replacing a job on the same lane); clips starting at `held`
    /// are already in it. A remote lane's `counters` are shown in the status line.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(
        &mut self,
        mut settings: LiveSettings,
        held: Vec<i64>,
        counters: Option<Arc<crate::remote::Counters>>,
    ) -> std::io::Result<()> {
        if let Some(i) = self
            .jobs
            .iter()
            .position(|j| j.job.settings.lane == settings.lane)
        {
            let lane = self.jobs.remove(i);
            self.finishing.push(lane.job.finish());
        }
        settings.next_id = Arc::clone(&self.next_id);
        self.jobs.push(LaneJob {
            job: LiveMemorizer::start(settings)?,
            counters,
            asked: held.into_iter().collect(),
            backlog: VecDeque::new(),
            working_on: None,
            policy: None,
            written: 0,
            last_processing_ms: None,
            dead: false,
        });
        Ok(())
    }

    /// Stops every lane: the built-in policy's clips already asked for are still written and
    /// shown; a remote lane's request on the wire is dropped at once with the clips behind it
    /// (a stalled server would otherwise hold them for its whole timeout).
    pub fn stop(&mut self) {
        for lane in self.jobs.drain(..) {
            if lane.job.is_remote() {
                lane.job.cancel_in_flight();
            } else {
                self.finishing.push(lane.job.finish());
            }
        }
    }

    /// Stops every lane and forgets what is still being written (the project it belongs to is
    /// being closed; the entries are on disk all the same).
    pub fn abandon(&mut self) {
        self.jobs.clear();
        self.finishing.clear();
    }

    /// The playhead moved from `before_ms` to `after_ms` by playing (not by a seek): asks for
    /// every clip whose end it passed. The last clip ends at the last frame shown, unless the
    /// video is still `growing` (followed live): then only whole clips count.
    pub fn played(&mut self, moved: Played) {
        let Played {
            before_ms,
            after_ms,
            duration_ms,
            last_frame_ms,
            growing,
        } = moved;
        if after_ms > before_ms {
            for lane in &mut self.jobs {
                let clip_ms = lane.job.settings.clip_ms;
                for (start_ms, end_ms) in clip_spans(duration_ms, clip_ms) {
                    if growing && end_ms - start_ms < clip_ms {
                        continue;
                    }
                    let end_seen_ms = end_ms.min(last_frame_ms);
                    if before_ms < end_seen_ms
                        && end_seen_ms <= after_ms
                        && lane.asked.insert(start_ms)
                    {
                        lane.backlog.push_back((start_ms, end_ms));
                    }
                }
            }
        }
        self.send_backlog();
    }

    /// Hands waiting clips to the threads as their queues make room.
    fn send_backlog(&mut self) {
        for lane in &mut self.jobs {
            while let Some(&(start_ms, end_ms)) = lane.backlog.front() {
                if !lane.job.request(start_ms, end_ms) {
                    break;
                }
                lane.backlog.pop_front();
            }
        }
    }

    /// Takes what the threads reported. A lane whose policy, adapter or video could not be
    /// opened stops.
    pub fn poll(&mut self) -> Polled {
        self.send_backlog();
        let mut polled = Polled::default();
        for lane in &mut self.jobs {
            let (events, alive) = lane.job.drain();
            for event in events {
                match event {
                    LiveEvent::Ready { policy } => lane.policy = Some(policy),
                    LiveEvent::Started { start_ms, end_ms } => {
                        lane.working_on = Some((start_ms, end_ms));
                    }
                    LiveEvent::Written(entry) => {
                        lane.working_on = None;
                        lane.written += 1;
                        lane.last_processing_ms = Some(entry.available_ms - entry.end_ms);
                        polled.written.push(*entry);
                    }
                    LiveEvent::Failed(message) => {
                        lane.working_on = None;
                        lane.dead |= lane.policy.is_none();
                        polled.errors.push(message);
                    }
                }
            }
            if !alive && !lane.dead {
                // It ended without saying why: it panicked.
                lane.dead = true;
                polled.errors.push(format!(
                    "the memorizing thread of lane {} stopped unexpectedly",
                    lane.job.settings.lane
                ));
            }
        }
        self.jobs.retain(|j| !j.dead);
        self.finishing.retain(|events| {
            loop {
                match events.try_recv() {
                    Ok(LiveEvent::Written(entry)) => polled.written.push(*entry),
                    Ok(LiveEvent::Failed(message)) => polled.errors.push(message),
                    Ok(_) => {}
                    Err(crossbeam_channel::TryRecvError::Empty) => break true,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => break false,
                }
            }
        });
        polled
    }

    /// Whether a thread has work in hand or queued (the app repaints to show it).
    #[must_use]
    pub fn busy(&self) -> bool {
        !self.finishing.is_empty()
            || self.jobs.iter().any(|j| {
                j.working_on.is_some()
                    || j.job.queued() > 0
                    || !j.backlog.is_empty()
                    || j.policy.is_none()
            })
    }

    /// One line for the status bar (a remote lane's requests, tokens and their cost at
    /// `prices` included).
    #[must_use]
    pub fn status(&self, prices: crate::remote::Prices) -> Option<String> {
        let mut line = String::new();
        for lane in &self.jobs {
            if !line.is_empty() {
                line.push_str(" | ");
            }
            let policy = lane.policy.as_deref().unwrap_or("loading the policy");
            let _ = write!(
                line,
                "memorizing with {policy} into lane {}",
                lane.job.settings.lane
            );
            if let Some((start_ms, end_ms)) = lane.working_on {
                let _ = write!(
                    line,
                    " · clip {}–{}",
                    format_hms_ms(start_ms * NS_PER_MS),
                    format_hms_ms(end_ms * NS_PER_MS)
                );
            }
            let _ = write!(line, " · {} written", lane.written);
            if let Some(ms) = lane.last_processing_ms {
                let _ = write!(line, " · last took {ms} ms");
            }
            if let Some(counters) = &lane.counters {
                let _ = write!(line, " · {}", counters.summary(prices));
            }
        }
        (!line.is_empty()).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::builtin::Config;
    use crate::policy::lang::Vocab;
    use crate::policy::train::Trainable;

    #[test]
    fn clips_beyond_the_threads_queue_wait_and_are_all_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        Trainable::fresh(&Config::tiny(Vocab::world().len()), 1)
            .unwrap()
            .save(&model)
            .unwrap();
        let video = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("datasets/world-tempo/test/world-tempo-test-00/video.mp4");
        let mut control = MemorizeControl::default();
        control
            .start(
                LiveSettings {
                    video,
                    project_dir: dir.path().join("p"),
                    stream: "s".to_owned(),
                    lane: LIVE_LANE.to_owned(),
                    clip_ms: 10_000,
                    model_dir: Some(model),
                    adapter: None,
                    budget_tokens: Some(4),
                    remote: None,
                    next_id: Arc::default(),
                },
                Vec::new(),
                None,
            )
            .unwrap();
        // One frame that played through all twelve clip ends (more than the queue holds).
        let through_all = Played {
            before_ms: 0,
            after_ms: 120_000,
            duration_ms: 120_000,
            last_frame_ms: 119_900,
            growing: false,
        };
        control.played(through_all);
        let mut starts = Vec::new();
        let begun = std::time::Instant::now();
        while starts.len() < 12 {
            assert!(
                begun.elapsed().as_secs() < 60,
                "only {} written",
                starts.len()
            );
            let polled = control.poll();
            assert!(polled.errors.is_empty(), "{:?}", polled.errors);
            starts.extend(polled.written.iter().map(|e| e.start_ms));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(starts, (0..12).map(|k| k * 10_000).collect::<Vec<_>>());
        // The same frame again asks for nothing more.
        control.played(through_all);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(control.poll().written.is_empty());
        assert!(!control.busy());
    }
}
