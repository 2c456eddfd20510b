//! Background work, one way for all of it: every job runs on its own named thread, sends
//! events over a bounded channel, keeps a progress line the status bar reads, stops at its next
//! step when cancelled, and ends with a typed [`Outcome`]. One [`Jobs`] registry lists what
//! runs, so a person sees every job in one place and can stop any of them; a job that cannot
//! start is an error the caller must handle, never a silent no-op.
//!
//! The shape follows Rerun's `re_viewer/src/background_tasks.rs`: the registry owns only what
//! every job shares (name, progress, cancel), while each job's typed result goes back to the
//! part of the app that asked for it.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

/// How a job ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T, E> {
    /// It finished with this result.
    Done(T),
    /// It was cancelled, and stopped (an error a job ends with after a cancel is the stop).
    Cancelled,
    /// It failed.
    Failed(E),
}

/// A job's thread ended without a result (it panicked): the failure every error type of a
/// job can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {name} job stopped unexpectedly")]
pub struct JobLost {
    pub name: String,
}

impl From<JobLost> for String {
    fn from(lost: JobLost) -> Self {
        lost.to_string()
    }
}

/// Starting a job failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the {name} job: {source}")]
pub struct SpawnError {
    pub name: String,
    #[source]
    pub source: std::io::Error,
}

/// How far a job has come. `total` 0: no measure yet (a spinner, not a bar).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub text: String,
}

impl Progress {
    /// Done over total in [0, 1], or `None` while there is no measure.
    #[must_use]
    pub fn fraction(&self) -> Option<f32> {
        (self.total > 0).then(|| (self.done.min(self.total) as f32) / self.total as f32)
    }
}

/// One running job as the registry lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatus {
    pub id: u64,
    pub name: String,
    pub progress: Progress,
    /// Cancel was asked; the job stops at its next step.
    pub cancelling: bool,
}

type Hook = Arc<dyn Fn() + Send + Sync>;

/// What the registry and a job's thread share.
struct Shared {
    id: u64,
    name: String,
    progress: Mutex<Progress>,
    cancel: AtomicBool,
    finished: AtomicBool,
    /// Also run on cancel: a remote client's request on the wire is dropped at once.
    on_cancel: Mutex<Option<Hook>>,
}

impl Shared {
    fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        let hook = self
            .on_cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook();
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn status(&self) -> JobStatus {
        JobStatus {
            id: self.id,
            name: self.name.clone(),
            progress: self
                .progress
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            cancelling: self.is_cancelled(),
        }
    }
}

#[derive(Default)]
struct Registry {
    running: Vec<Arc<Shared>>,
    /// Called when a job has news (the app asks for a repaint; no egui here).
    waker: Option<Hook>,
}

/// The registry of running jobs. Cheap to clone: every clone is the same registry.
#[derive(Clone, Default)]
pub struct Jobs {
    registry: Arc<Mutex<Registry>>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.running()).finish()
    }
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `wake` runs whenever a job reports or ends (the UI repaints then, and not otherwise).
    pub fn set_waker(&self, wake: impl Fn() + Send + Sync + 'static) {
        self.lock().waker = Some(Arc::new(wake));
    }

    /// The jobs still running, oldest first.
    #[must_use]
    pub fn running(&self) -> Vec<JobStatus> {
        let mut registry = self.lock();
        registry
            .running
            .retain(|s| !s.finished.load(Ordering::Acquire));
        registry.running.iter().map(|s| s.status()).collect()
    }

    /// Asks job `id` to stop at its next step (no-op once it ended).
    pub fn cancel(&self, id: u64) {
        let shared = self.lock().running.iter().find(|s| s.id == id).cloned();
        if let Some(shared) = shared {
            shared.cancel();
        }
    }

    /// Runs `work` on a thread named `name`, listed here until it ends. `work` reports
    /// through the [`Reporter`] it is given; an error it returns after a cancel is the stop
    /// ([`Outcome::Cancelled`]).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn spawn<E, T, Err>(
        &self,
        name: &str,
        work: impl FnOnce(&mut Reporter<E>) -> Result<T, Err> + Send + 'static,
    ) -> Result<Job<E, T, Err>, SpawnError>
    where
        E: Send + 'static,
        T: Send + 'static,
        Err: From<JobLost> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            name: name.to_owned(),
            progress: Mutex::new(Progress::default()),
            cancel: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            on_cancel: Mutex::new(None),
        });
        let (events_tx, events) = crossbeam_channel::bounded(512);
        let (end_tx, end) = crossbeam_channel::bounded(1);
        let waker = self.lock().waker.clone();
        let mut reporter = Reporter {
            events: events_tx,
            shared: Arc::clone(&shared),
            waker,
        };
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let result = work(&mut reporter);
                let outcome = match result {
                    Ok(value) => Outcome::Done(value),
                    Err(_) if reporter.is_cancelled() => Outcome::Cancelled,
                    Err(err) => Outcome::Failed(err),
                };
                let _ = end_tx.send(outcome);
                reporter.shared.finished.store(true, Ordering::Release);
                reporter.wake();
            })
            .map_err(|source| SpawnError {
                name: name.to_owned(),
                source,
            })?;
        self.lock().running.push(Arc::clone(&shared));
        Ok(Job {
            events,
            end,
            shared,
        })
    }
}

/// What a job's work reports through.
pub struct Reporter<E> {
    events: Sender<E>,
    shared: Arc<Shared>,
    waker: Option<Hook>,
}

impl<E> Reporter<E> {
    fn wake(&self) {
        if let Some(wake) = &self.waker {
            wake();
        }
    }

    /// Sends an event to the job's owner; `Break` once the job was cancelled or its owner is
    /// gone, so the work stops at this step.
    pub fn emit(&mut self, event: E) -> ControlFlow<()> {
        let sent = self.events.send(event).is_ok();
        self.wake();
        if sent && !self.is_cancelled() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    /// Sets the progress line the registry shows.
    pub fn progress(&mut self, done: usize, total: usize, text: impl Into<String>) {
        *self
            .shared
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Progress {
            done,
            total,
            text: text.into(),
        };
        self.wake();
    }

    /// Whether the job was asked to stop.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.shared.is_cancelled()
    }
}

/// A running job, held by whoever asked for it: its events and, at the end, its outcome.
/// Dropping it cancels the job.
pub struct Job<E, T, Err> {
    events: Receiver<E>,
    end: Receiver<Outcome<T, Err>>,
    shared: Arc<Shared>,
}

impl<E, T, Err: From<JobLost>> Job<E, T, Err> {
    /// Asks the job to stop at its next step.
    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// Also runs `hook` on cancel (from here or from the registry).
    pub fn on_cancel(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self
            .shared
            .on_cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
    }

    /// The job's progress line.
    #[must_use]
    pub fn progress(&self) -> Progress {
        self.shared.status().progress
    }

    /// The events sent since the last poll, and the outcome once the job has ended (a thread
    /// that ended without one panicked: [`JobLost`]).
    #[must_use]
    pub fn poll(&self) -> (Vec<E>, Option<Outcome<T, Err>>) {
        // The end first: every event was sent before it, so once it is there the drain below
        // has them all.
        let end = match self.end.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Outcome::Failed(
                JobLost {
                    name: self.shared.name.clone(),
                }
                .into(),
            )),
        };
        (self.events.try_iter().collect(), end)
    }
}

/// Polls a one-shot job kept in `slot` beside what its owner needs afterwards; once it has
/// ended, empties the slot and gives back both with the outcome (a one-shot job's events, if
/// any, are dropped).
pub fn take_finished<K, E, T, Err: From<JobLost>>(
    slot: &mut Option<(K, Job<E, T, Err>)>,
) -> Option<(K, Outcome<T, Err>)> {
    let outcome = slot.as_ref()?.1.poll().1?;
    slot.take().map(|(kept, _)| (kept, outcome))
}

impl<E, T, Err> Drop for Job<E, T, Err> {
    fn drop(&mut self) {
        // Nobody is left to take the result.
        self.shared.cancel.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait<E, T, Err: From<JobLost>>(job: &Job<E, T, Err>) -> (Vec<E>, Outcome<T, Err>) {
        let start = Instant::now();
        let mut all = Vec::new();
        loop {
            let (events, end) = job.poll();
            all.extend(events);
            if let Some(outcome) = end {
                return (all, outcome);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the job never ended"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_job_sends_its_events_then_its_result_and_leaves_the_registry() {
        let jobs = Jobs::default();
        let job = jobs
            .spawn::<usize, &str, String>("count", |r| {
                for i in 0..100 {
                    r.progress(i, 100, "counting");
                    let _ = r.emit(i);
                }
                Ok("counted")
            })
            .unwrap();
        let (events, outcome) = wait(&job);
        assert_eq!(events, (0..100).collect::<Vec<_>>());
        assert_eq!(outcome, Outcome::Done("counted"));
        assert_eq!(job.progress().text, "counting");
        assert!(jobs.running().is_empty(), "{:?}", jobs.running());
    }

    #[test]
    fn the_registry_lists_a_running_job_and_its_cancel_stops_it() {
        let jobs = Jobs::default();
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
        let job = jobs
            .spawn::<(), (), String>("train", move |r| {
                r.progress(3, 10, "warm-up");
                let _ = go_tx.send(());
                while !r.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err("stopped at step 3".to_owned())
            })
            .unwrap();
        let hooked = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&hooked);
        job.on_cancel(move || seen.store(true, Ordering::Relaxed));
        go_rx.recv().unwrap();
        let running = jobs.running();
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].name, "train");
        assert_eq!(running[0].progress.fraction(), Some(0.3));
        jobs.cancel(running[0].id);
        assert!(hooked.load(Ordering::Relaxed), "the cancel hook ran");
        // The error the work ends with after a cancel is the stop, not a failure.
        assert_eq!(wait(&job).1, Outcome::Cancelled);
    }

    #[test]
    fn an_error_without_a_cancel_is_a_failure_and_a_panic_is_a_lost_job() {
        let jobs = Jobs::default();
        let failing = jobs
            .spawn::<(), (), String>("import", |_| Err("tasks.csv: line 3: no question".into()))
            .unwrap();
        assert_eq!(
            wait(&failing).1,
            Outcome::Failed("tasks.csv: line 3: no question".to_owned())
        );
        let panicking = jobs
            .spawn::<(), (), String>("open", |_| panic!("a bug"))
            .unwrap();
        assert_eq!(
            wait(&panicking).1,
            Outcome::Failed("the open job stopped unexpectedly".to_owned())
        );
    }

    #[test]
    fn the_waker_runs_when_a_job_reports_and_when_it_ends() {
        let jobs = Jobs::default();
        let wakes = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&wakes);
        jobs.set_waker(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let job = jobs
            .spawn::<(), (), String>("verify", |r| {
                r.progress(1, 2, "hashing");
                Ok(())
            })
            .unwrap();
        let _ = wait(&job);
        assert!(wakes.load(Ordering::Relaxed) >= 2);
    }

    #[test]
    fn dropping_a_job_cancels_it() {
        let jobs = Jobs::default();
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<bool>(1);
        let job = jobs
            .spawn::<(), (), String>("eval", move |r| {
                let _ = go_tx.send(());
                let start = Instant::now();
                while !r.is_cancelled() && start.elapsed() < Duration::from_secs(20) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let _ = done_tx.send(r.is_cancelled());
                Ok(())
            })
            .unwrap();
        go_rx.recv().unwrap();
        drop(job);
        assert!(done_rx.recv().unwrap(), "the work saw the cancel");
    }
}
