//! A long job on its own named thread: events over a bounded channel, a result at the end, and
//! a cancel flag the job reads between steps. The Training, Evaluate and Phase Two windows
//! each hold one; the UI only ever polls, never waits.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, TryRecvError};

enum Message<E, T> {
    Event(E),
    Done(Result<T, String>),
}

pub struct Job<E, T> {
    name: String,
    messages: Receiver<Message<E, T>>,
    cancel: Arc<AtomicBool>,
}

impl<E: Send + 'static, T: Send + 'static> Job<E, T> {
    /// Runs `work` on a thread named `name`. `work` reports through the function it is given,
    /// which answers `Break` once the job was cancelled (or its window is gone).
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn spawn(
        name: &str,
        work: impl FnOnce(&mut dyn FnMut(E) -> ControlFlow<()>) -> Result<T, String> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded(512);
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let result = work(&mut |event| {
                    if tx.send(Message::Event(event)).is_err() || stop.load(Ordering::Relaxed) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                let _ = tx.send(Message::Done(result));
            })?;
        Ok(Self {
            name: name.to_owned(),
            messages: rx,
            cancel,
        })
    }

    /// Asks the job to stop at its next step.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether [`Self::cancel`] was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The events sent since the last poll, and the result once the job has ended (a thread
    /// that ended without one panicked).
    #[must_use]
    pub fn poll(&self) -> (Vec<E>, Option<Result<T, String>>) {
        let mut events = Vec::new();
        loop {
            match self.messages.try_recv() {
                Ok(Message::Event(e)) => events.push(e),
                Ok(Message::Done(result)) => return (events, Some(result)),
                Err(TryRecvError::Empty) => return (events, None),
                Err(TryRecvError::Disconnected) => {
                    return (
                        events,
                        Some(Err(format!(
                            "the {} thread stopped unexpectedly",
                            self.name
                        ))),
                    );
                }
            }
        }
    }
}
