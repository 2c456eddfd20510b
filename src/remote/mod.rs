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

/// Workers a remote batch runs per request it may have on the wire: while one waits for its
/// reply another decodes and encodes its next clip, so the wire never idles on the client.
pub const WORKERS_PER_REQUEST: usize = 2;

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
    used: Mutex<usize>,
    freed: Condvar,
}

/// A place on the wire, given back when dropped.
#[derive(Debug)]
pub struct Permit<'a>(&'a Gate);

impl Gate {
    #[must_use]
    pub fn new(limit: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            limit: limit.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Waits for a place; `None` once `cancel` is set.
    pub fn enter<'a>(&'a self, cancel: &AtomicBool) -> Option<Permit<'a>> {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            if *used < self.limit {
                *used += 1;
                return Some(Permit(self));
            }
            // Woken by a permit given back, or every 25 ms to see a cancel.
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(25))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Requests on the wire now.
    #[must_use]
    pub fn in_use(&self) -> usize {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut used = self.0.used.lock().unwrap_or_else(PoisonError::into_inner);
        *used = used.saturating_sub(1);
        self.0.freed.notify_one();
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
