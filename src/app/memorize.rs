//! "Memorize while playing": watches the playhead and asks the live memorizer (a `memorize`
//! thread, see `policy::live`) for each clip the video plays through, then hands what it
//! wrote to the lanes. Seeking or pausing never asks for a clip; a clip the lane already holds
//! is never asked for twice.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::memory::MemoryEntry;
use crate::policy::ingest::clip_spans;
use crate::policy::live::{LiveEvent, LiveMemorizer, LiveSettings};
use crate::timefmt::format_hms_ms;
use crate::video::NS_PER_MS;

/// The lane live memory goes to (the same lane `taskmem ingest` writes by default).
pub const LIVE_LANE: &str = "builtin";

/// What the memorizer did since the last frame, for the app to apply.
#[derive(Debug, Default)]
pub struct Polled {
    pub written: Vec<MemoryEntry>,
    pub errors: Vec<String>,
}

#[derive(Debug, Default)]
pub struct MemorizeControl {
    job: Option<LiveMemorizer>,
    /// Starts of the clips asked for, or already in the lane, in the job's stream.
    asked: BTreeSet<i64>,
    working_on: Option<(i64, i64)>,
    policy: Option<String>,
    written: usize,
    /// How long the last clip took (clip end to available).
    last_processing_ms: Option<i64>,
}

impl MemorizeControl {
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.job.is_some()
    }

    /// The stream being memorized.
    #[must_use]
    pub fn stream(&self) -> Option<&str> {
        self.job.as_ref().map(|j| j.settings.stream.as_str())
    }

    /// Entries written since memorizing was switched on.
    #[must_use]
    pub fn written(&self) -> usize {
        self.written
    }

    /// Starts memorizing; clips starting at `held` are already in the lane.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(&mut self, settings: LiveSettings, held: Vec<i64>) -> std::io::Result<()> {
        self.stop();
        self.job = Some(LiveMemorizer::start(settings)?);
        self.asked = held.into_iter().collect();
        Ok(())
    }

    /// Stops after the clip in hand (its entry is still written to the project).
    pub fn stop(&mut self) {
        *self = Self::default();
    }

    /// The playhead moved from `before_ms` to `after_ms` by playing (not by a seek): asks for
    /// every clip whose end it passed. The last clip ends at the last frame shown.
    pub fn played(&mut self, before_ms: i64, after_ms: i64, duration_ms: i64, last_frame_ms: i64) {
        let Some(job) = &self.job else { return };
        if after_ms <= before_ms {
            return;
        }
        let clip_ms = job.settings.clip_ms;
        for (start_ms, end_ms) in clip_spans(duration_ms, clip_ms) {
            let end_seen_ms = end_ms.min(last_frame_ms);
            if before_ms < end_seen_ms
                && end_seen_ms <= after_ms
                && !self.asked.contains(&start_ms)
                && job.request(start_ms, end_ms)
            {
                self.asked.insert(start_ms);
            }
        }
    }

    /// Takes what the thread reported. A failure to load the policy or open the video ends
    /// the job.
    pub fn poll(&mut self) -> Polled {
        let mut polled = Polled::default();
        let Some(job) = &self.job else {
            return polled;
        };
        let mut fatal = false;
        for event in job.drain() {
            match event {
                LiveEvent::Ready { policy } => self.policy = Some(policy),
                LiveEvent::Started { start_ms, end_ms } => {
                    self.working_on = Some((start_ms, end_ms))
                }
                LiveEvent::Written(entry) => {
                    self.working_on = None;
                    self.written += 1;
                    self.last_processing_ms = Some(entry.available_ms - entry.end_ms);
                    polled.written.push(*entry);
                }
                LiveEvent::Failed(message) => {
                    self.working_on = None;
                    fatal |= self.policy.is_none();
                    polled.errors.push(message);
                }
            }
        }
        if fatal {
            self.stop();
        }
        polled
    }

    /// Whether the thread has work in hand or queued (the app repaints to show it).
    #[must_use]
    pub fn busy(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| self.working_on.is_some() || j.queued() > 0 || self.policy.is_none())
    }

    /// One line for the status bar.
    #[must_use]
    pub fn status(&self) -> Option<String> {
        let job = self.job.as_ref()?;
        let policy = self.policy.as_deref().unwrap_or("loading the policy");
        let mut line = format!("memorizing with {policy} into lane {}", job.settings.lane);
        if let Some((start_ms, end_ms)) = self.working_on {
            let _ = write!(
                line,
                " · clip {}–{}",
                format_hms_ms(start_ms * NS_PER_MS),
                format_hms_ms(end_ms * NS_PER_MS)
            );
        }
        let _ = write!(line, " · {} written", self.written);
        if let Some(ms) = self.last_processing_ms {
            let _ = write!(line, " · last took {ms} ms");
        }
        Some(line)
    }
}
