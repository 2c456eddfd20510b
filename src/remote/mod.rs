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

use std::sync::atomic::{AtomicU64, Ordering};

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
}
