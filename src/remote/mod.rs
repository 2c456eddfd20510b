//! Real models behind an `OpenAI`-compatible chat-completions endpoint (vLLM or `SGLang`
//! serving `Qwen3-VL`, or `OpenAI` itself): the client with timeouts, retries with backoff on 429 and 5xx,
//! and request/token counters ([`client`]); the remote answerer ([`answerer`]) and the remote
//! memorization policy ([`policy`]). The API key is read from an environment variable whose
//! *name* is the setting; the key itself is never stored, printed or logged.

pub mod answerer;
pub mod client;
pub mod judge;
pub mod mock;
pub mod policy;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Workers a remote batch runs beyond its requests on the wire: while the others wait for
/// replies these decode and encode their next clip, so the wire never idles on the client.
pub const SPARE_WORKERS: usize = 2;

thread_local! {
    /// How urgent this thread's next request is (see [`set_request_priority`]).
    static PRIORITY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Sets how urgent this thread's requests are: a [`Gate`] lets the most urgent waiter through
/// first. A batch gives a stream's request the number of clips the stream has left, so that
/// the streams in hand finish together and the wire stays full to the end instead of draining
/// while the last-started streams run their clips one by one.
pub fn set_request_priority(priority: u64) {
    PRIORITY.with(|p| p.set(priority));
}

/// Where and how to reach the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSettings {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// The served model; with vLLM an adapter is served under its own name.
    pub model: String,
    /// The environment variable holding the API key (not the key).
    pub api_key_env: String,
    pub timeout_s: u64,
    /// Retries after a 429, a 5xx or a dropped connection, with doubling backoff.
    pub retries: u32,
    /// The first backoff, in milliseconds.
    pub backoff_ms: u64,
}

impl RemoteSettings {
    /// The defaults of the `OpenAI` SDKs: `OPENAI_BASE_URL` (else the `OpenAI` API) and the key
    /// in `OPENAI_API_KEY`.
    #[must_use]
    pub fn from_env(model: &str) -> Self {
        Self {
            base_url: std::env::var("OPENAI_BASE_URL")
                .unwrap_or_else(|_| "https://api.openai.com/v1".to_owned()),
            model: model.to_owned(),
            api_key_env: "OPENAI_API_KEY".to_owned(),
            timeout_s: 120,
            retries: 3,
            backoff_ms: 500,
        }
    }
}

/// Why a request failed; messages never contain the key.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{url}: cannot reach the endpoint: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: the reply is not a chat completion: {detail}")]
    Malformed { url: String, detail: String },
    #[error("stopped")]
    Cancelled,
}

/// Requests and tokens so far (shared by every user of one client).
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
}

impl Counters {
    /// (requests, failures, prompt tokens, completion tokens).
    #[must_use]
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            self.prompt_tokens.load(Ordering::Relaxed),
            self.completion_tokens.load(Ordering::Relaxed),
        )
    }

    /// What the tokens so far cost at `prices`, in dollars.
    #[must_use]
    pub fn cost_usd(&self, prices: Prices) -> f64 {
        let (_, _, prompt, completion) = self.snapshot();
        (prompt as f64 * prices.input_per_mtok_usd + completion as f64 * prices.output_per_mtok_usd)
            / 1e6
    }

    /// One line for a status bar or a log: requests, failures, tokens and their cost.
    #[must_use]
    pub fn summary(&self, prices: Prices) -> String {
        let (requests, failures, prompt, completion) = self.snapshot();
        format!(
            "{requests} requests ({failures} failed or retried), {prompt} prompt and {completion} completion tokens, ${:.4}",
            self.cost_usd(prices)
        )
    }
}

/// What an endpoint charges, in dollars per million tokens (0 for a server of your own).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Prices {
    pub input_per_mtok_usd: f64,
    pub output_per_mtok_usd: f64,
}

/// At most `limit` requests on the wire at once, over every client that shares the gate: a
/// batch can then prepare more clips (decode, JPEG-encode) than it sends, so the server always
/// has `limit` requests in hand.
#[derive(Debug)]
pub struct Gate {
    limit: usize,
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    used: usize,
    /// (priority, ticket) of each waiter; the highest priority, then the oldest ticket, goes.
    waiting: Vec<(u64, u64)>,
    next_ticket: u64,
}

/// A place on the wire, given back when dropped.
#[derive(Debug)]
pub struct Permit<'a>(&'a Gate);

impl Gate {
    #[must_use]
    pub fn new(limit: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            limit: limit.max(1),
            state: Mutex::new(GateState::default()),
            freed: Condvar::new(),
        })
    }

    /// Waits for a place, the most urgent waiter first (this thread's
    /// [`set_request_priority`]); `None` once `cancel` is set.
    pub fn enter<'a>(&'a self, cancel: &AtomicBool) -> Option<Permit<'a>> {
        let priority = PRIORITY.with(std::cell::Cell::get);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let me = (priority, ticket);
        state.waiting.push(me);
        loop {
            let first = state
                .waiting
                .iter()
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                .copied();
            if cancel.load(Ordering::Relaxed) || (state.used < self.limit && first == Some(me)) {
                state.waiting.retain(|w| *w != me);
                // The next waiter may be the one to go now.
                self.freed.notify_all();
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                state.used += 1;
                return Some(Permit(self));
            }
            // Woken by a permit given back, or every 25 ms to see a cancel.
            state = self
                .freed
                .wait_timeout(state, Duration::from_millis(25))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Requests on the wire now.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .used
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.used = state.used.saturating_sub(1);
        self.0.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_limit_requests_through_and_a_cancel_frees_a_waiter() {
        let gate = Gate::new(2);
        let cancel = AtomicBool::new(false);
        let a = gate.enter(&cancel);
        let b = gate.enter(&cancel);
        assert!(a.is_some() && b.is_some());
        assert_eq!(gate.in_use(), 2);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.enter(&cancel).is_some());
            std::thread::sleep(Duration::from_millis(60));
            cancel.store(true, Ordering::Relaxed);
            assert!(
                !waiter.join().unwrap_or(true),
                "a cancelled wait gets no place"
            );
        });
        drop(a);
        assert_eq!(gate.in_use(), 1);
        let cancel = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.enter(&cancel).map(|_| ()).is_some());
            std::thread::sleep(Duration::from_millis(30));
            drop(b);
            assert!(
                waiter.join().unwrap_or(false),
                "a place given back is taken"
            );
        });
    }

    #[test]
    fn the_most_urgent_waiter_goes_first() {
        let gate = Gate::new(1);
        let cancel = AtomicBool::new(false);
        let held = gate.enter(&cancel);
        let order = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for priority in [1_u64, 5, 3] {
                let (gate, cancel, order) = (&gate, &cancel, &order);
                s.spawn(move || {
                    set_request_priority(priority);
                    let permit = gate.enter(cancel);
                    order.lock().unwrap().push(priority);
                    drop(permit);
                });
                std::thread::sleep(Duration::from_millis(30));
            }
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), vec![5, 3, 1]);
    }

    #[test]
    fn cost_is_tokens_times_prices() {
        let counters = Counters::default();
        counters.prompt_tokens.store(2_000_000, Ordering::Relaxed);
        counters.completion_tokens.store(500_000, Ordering::Relaxed);
        let prices = Prices {
            input_per_mtok_usd: 0.5,
            output_per_mtok_usd: 2.0,
        };
        assert!((counters.cost_usd(prices) - 2.0).abs() < 1e-9);
        assert!(counters.summary(prices).ends_with("$2.0000"));
        assert!((counters.cost_usd(Prices::default())).abs() < 1e-12);
    }
}
