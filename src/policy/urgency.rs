//! How urgent a memorizing thread's next request is, for whatever serves its policy through a
//! shared channel: `remote::Gate` lets the most urgent waiter through first. The urgency is set
//! per thread by the caller that knows the order it wants (a batch in [`super::ingest`]) and
//! read by the server's client on the same thread, so the policy trait in between carries
//! nothing. It lives here, beside the batches that set it, so that memorizing needs no network
//! code; the remote client depends on it, not the other way round.

/// How urgent a request is, asked each time a gate (`remote::Gate`) picks the next waiter: the
/// answer may change while the request waits (a batch ranks its streams one way while streams
/// wait to be opened and the other way once all are open).
#[derive(Clone)]
pub struct Urgency(std::sync::Arc<dyn Fn() -> u64 + Send + Sync>);

impl Urgency {
    #[must_use]
    pub fn new(rank: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(rank))
    }

    /// The urgency at this moment (higher goes first).
    #[must_use]
    pub fn now(&self) -> u64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Urgency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Urgency({})", self.now())
    }
}

thread_local! {
    /// How urgent this thread's next request is (see [`set_request_urgency`]).
    static URGENCY: std::cell::RefCell<Option<Urgency>> = const { std::cell::RefCell::new(None) };
}

/// Sets how urgent this thread's requests are: a gate (`remote::Gate`) lets the most urgent
/// waiter through first, and the oldest of equally urgent ones. See
/// [`super::ingest::ingest_many`] for how a batch ranks its streams.
pub fn set_request_urgency(urgency: Urgency) {
    URGENCY.with(|u| *u.borrow_mut() = Some(urgency));
}

/// [`set_request_urgency`] with an urgency that never changes.
pub fn set_request_priority(priority: u64) {
    set_request_urgency(Urgency::new(move || priority));
}

/// This thread's request urgency, if set.
#[must_use]
pub fn request_urgency() -> Option<Urgency> {
    URGENCY.with(|u| u.borrow().clone())
}
