//! Real models behind an `OpenAI`-compatible chat-completions endpoint (vLLM or `SGLang`
//! serving `Qwen3-VL`, or `OpenAI` itself): the client with timeouts, retries with backoff on 429 and 5xx,
//! and request/token counters ([`client`]); the remote answerer ([`answerer`]) and the remote
//! memorization policy ([`policy`]). The API key is read from an environment variable whose
//! *name* is the setting; the key itself is never stored, printed or logged, and what a server
//! sends back is scrubbed of it ([`scrub_key`]) before it reaches an error, a log or a file.
//!
//! What a server sends is bounded: at most [`MAX_REPLY_BYTES`] of a reply are read, at most
//! [`MAX_STORED_REPLY_BYTES`] of one are kept as a raw reply, and at most [`MAX_TEXT_BYTES`] of
//! a description or answer are kept and passed on as the next request's context.

pub mod answerer;
pub mod client;
pub mod judge;
pub mod mock;
pub mod policy;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::policy::urgency::{Urgency, request_urgency};

/// Workers (streams in hand) a remote batch runs for `concurrency` requests on the wire: twice
/// as many. The spare ones decode and encode their next clip while the others wait for
/// replies, so that a freed place on the wire always finds a clip ready; and since a stream's
/// clips go one after another, the last streams of a batch must start early enough to finish
/// with the rest (see `batch_urgency` in `policy::ingest` for the order the gate keeps). With
/// a few spares only, the last streams started ran their clips one by one for seconds at the
/// end of a batch while the server idled.
#[must_use]
pub fn batch_workers(concurrency: usize) -> usize {
    let concurrency = concurrency.max(1);
    concurrency * 2
}

/// The environment variable that holds the API key unless a setting names another (the
/// `OpenAI` SDKs' own).
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

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
        Self::from_vars(model, |name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] reading the environment through `var`, so that a test need not
    /// change the process's environment.
    #[must_use]
    pub fn from_vars(model: &str, var: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            base_url: var("OPENAI_BASE_URL")
                .filter(|url| !url.trim().is_empty())
                .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
            model: model.to_owned(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            timeout_s: 120,
            retries: 3,
            backoff_ms: 500,
        }
    }
}

/// The most of one reply body read into memory. An honest chat completion asked for a few
/// hundred tokens is a few KiB; 4 MiB leaves room for a verbose server while keeping a hostile
/// one (a 50 MB body) to 4 MiB per request on the wire, a few tens of MiB at any sensible
/// concurrency. A longer reply fails without being read further.
pub const MAX_REPLY_BYTES: u64 = 4 << 20;

/// The most of a raw reply kept (a memory entry's `raw_response`, an answer's raw text): enough
/// to see why a reply did not parse, small enough that a hostile reply does not swell the
/// project or the results.
pub const MAX_STORED_REPLY_BYTES: usize = 64 << 10;

/// The most of a description or open answer kept from a reply, and of the preceding
/// description sent as the next request's context. TaskMem asks for one or two sentences within
/// 256 tokens (about 1 KiB); 4 KiB keeps every honest one whole while a 5 MB "description" is
/// neither stored whole nor sent back with every later clip.
pub const MAX_TEXT_BYTES: usize = 4 << 10;

/// Keys shorter than this are not scrubbed by value: a test server's one-letter "key" would
/// match ordinary words in every reply. A `Bearer` token is scrubbed whatever its length.
const MIN_SCRUBBED_KEY_BYTES: usize = 4;

/// What stands for a scrubbed key.
const REDACTED: &str = "[redacted]";

/// `text` with `key`'s value replaced by `[redacted]` and every `Bearer <token>` by
/// `Bearer [redacted]`, so that a server echoing the request's headers (in a 401 body, say)
/// never puts the key in an error, a log or a stored reply. The value goes first: a key with a
/// character a token cannot hold would otherwise leave its tail behind.
#[must_use]
pub fn scrub_key(text: &str, key: Option<&str>) -> String {
    match key.filter(|k| k.len() >= MIN_SCRUBBED_KEY_BYTES) {
        Some(key) if text.contains(key) => scrub_bearer(&text.replace(key, REDACTED)),
        _ => scrub_bearer(text),
    }
}

/// `text` with the token after every "Bearer " (any case, then spaces) replaced.
fn scrub_bearer(text: &str) -> String {
    // RFC 6750's b64token: letters, digits and -._~+/ then any '='.
    let token_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at + 6 <= bytes.len() {
        if !bytes[at..at + 6].eq_ignore_ascii_case(b"bearer") {
            at += 1;
            continue;
        }
        let mut token = at + 6;
        while token < bytes.len() && (bytes[token] == b' ' || bytes[token] == b'\t') {
            token += 1;
        }
        let mut end = token;
        while end < bytes.len() && token_byte(bytes[end]) {
            end += 1;
        }
        if token > at + 6 && end > token {
            // Every byte here is ASCII, so these are char boundaries.
            out.push_str(&text[copied..token]);
            out.push_str(REDACTED);
            copied = end;
            at = end;
        } else {
            at += 6;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The longest start of `text` of at most `max_bytes` that ends on a char boundary.
#[must_use]
pub fn text_start(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A raw reply as kept: whole up to [`MAX_STORED_REPLY_BYTES`], else its start and a note of
/// its length.
#[must_use]
pub fn stored_reply(raw: String) -> String {
    if raw.len() <= MAX_STORED_REPLY_BYTES {
        return raw;
    }
    format!(
        "{} [cut: {} bytes in all]",
        text_start(&raw, MAX_STORED_REPLY_BYTES),
        raw.len()
    )
}

/// A description or answer as kept and passed on: whole up to [`MAX_TEXT_BYTES`], else its
/// start and an ellipsis.
#[must_use]
pub fn kept_text(text: &str) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text.to_owned();
    }
    format!("{}…", text_start(text, MAX_TEXT_BYTES))
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
    /// The status came but not the whole body: the connection closed early or the timeout
    /// passed. Retried like a dropped connection.
    #[error("{url}: {detail}")]
    Incomplete { url: String, detail: String },
    #[error("{url}: the reply is larger than {limit_bytes} bytes, the most read from an endpoint")]
    TooLarge { url: String, limit_bytes: u64 },
    #[error("{url}: {detail}")]
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
    /// (ticket, urgency) of each waiter; the most urgent now, then the oldest ticket, goes.
    waiting: Vec<(u64, Option<Urgency>)>,
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
    /// [`crate::policy::urgency::set_request_urgency`]); `None` once `cancel` is set.
    pub fn enter<'a>(&'a self, cancel: &AtomicBool) -> Option<Permit<'a>> {
        let urgency = request_urgency();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let me = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push((me, urgency));
        loop {
            let first = state
                .waiting
                .iter()
                .map(|(ticket, urgency)| (urgency.as_ref().map_or(0, Urgency::now), *ticket))
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, ticket)| ticket);
            if cancel.load(Ordering::Relaxed) || (state.used < self.limit && first == Some(me)) {
                state.waiting.retain(|w| w.0 != me);
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
    use crate::policy::urgency::{set_request_priority, set_request_urgency};

    #[test]
    fn the_defaults_are_the_openai_sdks_and_the_key_is_named_never_read() {
        let plain = RemoteSettings::from_vars("m", |_| None);
        assert_eq!(plain.base_url, "https://api.openai.com/v1");
        assert_eq!(plain.api_key_env, "OPENAI_API_KEY");
        assert_eq!(plain.model, "m");
        let served = RemoteSettings::from_vars("m", |name| {
            (name == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:8000/v1".to_owned())
        });
        assert_eq!(served.base_url, "http://127.0.0.1:8000/v1");
        // The settings hold the key's name only: a key in the environment is not copied in.
        let with_key = RemoteSettings::from_vars("m", |name| {
            (name == "OPENAI_API_KEY").then(|| "sk-secret".to_owned())
        });
        assert!(!format!("{with_key:?}").contains("sk-secret"));
        let blank = RemoteSettings::from_vars("m", |_| Some("  ".to_owned()));
        assert_eq!(blank.base_url, "https://api.openai.com/v1");
    }

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
    fn a_waiter_whose_urgency_rises_while_it_waits_goes_first() {
        use std::sync::atomic::AtomicU64;
        let gate = Gate::new(1);
        let cancel = AtomicBool::new(false);
        let held = gate.enter(&cancel);
        let rising = std::sync::Arc::new(AtomicU64::new(0));
        let order = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for name in ["steady", "rising"] {
                let (gate, cancel, order, rising) = (&gate, &cancel, &order, &rising);
                s.spawn(move || {
                    if name == "rising" {
                        let rising = std::sync::Arc::clone(rising);
                        set_request_urgency(Urgency::new(move || rising.load(Ordering::Relaxed)));
                    } else {
                        set_request_priority(1);
                    }
                    let permit = gate.enter(cancel);
                    order.lock().unwrap().push(name);
                    drop(permit);
                });
                std::thread::sleep(Duration::from_millis(30));
            }
            // Both wait; the later one was less urgent when it came and is more urgent now.
            rising.store(2, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(30));
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), vec!["rising", "steady"]);
    }

    #[test]
    fn the_key_and_every_bearer_token_are_scrubbed() {
        let key = Some("sk-live-123!x");
        let echoed =
            "{\"error\": \"bad key\", \"headers\": {\"authorization\": \"Bearer sk-live-123!x\"}}";
        let scrubbed = scrub_key(echoed, key);
        assert!(!scrubbed.contains("sk-live"), "{scrubbed}");
        assert!(scrubbed.contains("\"Bearer [redacted]\""), "{scrubbed}");
        // Another token, any case and spacing, and the bare value.
        assert_eq!(
            scrub_key("authorization: bearer  abc.DEF-ghi== then", None),
            "authorization: bearer  [redacted] then"
        );
        assert_eq!(scrub_key("key=sk-live-123!x;", key), "key=[redacted];");
        // Scrubbing twice changes nothing more; ordinary text is left alone.
        assert_eq!(scrub_key(&scrubbed, key), scrubbed);
        // Any word after "bearer" goes, as a header echoed in another case would: safe over
        // faithful for a word that rarely appears in a description.
        assert_eq!(
            scrub_key("the bearer of news", None),
            "the bearer [redacted] news"
        );
        assert_eq!(scrub_key("no bearers here", None), "no bearers here");
        assert_eq!(scrub_key("Bearer", None), "Bearer");
        // A one-letter "key" is not scrubbed by value: it would eat every 'x'.
        assert_eq!(scrub_key("six", Some("x")), "six");
    }

    #[test]
    fn stored_replies_and_kept_text_are_capped_on_char_boundaries() {
        let short = "I eat an apple.".to_owned();
        assert_eq!(stored_reply(short.clone()), short);
        assert_eq!(kept_text(&short), short);
        // Two-byte characters, so that a cut at the cap falls inside one.
        let long = "é".repeat(MAX_STORED_REPLY_BYTES);
        let stored = stored_reply(long.clone());
        assert!(
            stored.len() < MAX_STORED_REPLY_BYTES + 64,
            "{}",
            stored.len()
        );
        assert!(stored.ends_with(&format!("[cut: {} bytes in all]", long.len())));
        let kept = kept_text(&long);
        assert!(kept.len() <= MAX_TEXT_BYTES + "…".len());
        assert!(kept.ends_with('…'));
        assert_eq!(text_start("aé", 2), "a");
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
