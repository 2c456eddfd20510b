//! A blocking chat-completions client: one request at a time per call, retried with doubling
//! backoff on 429, 5xx, dropped connections and bodies cut off or late, with a timeout, counting
//! requests and tokens. At most [`MAX_REPLY_BYTES`] of a reply are read, and the key is scrubbed
//! from whatever the server sends back (see [`super::scrub_key`]).
//! Each exchange runs on its own `remote-request` thread while the caller watches a cancel
//! flag, so a cancel (or a stalled server) never holds the caller: the reply of a request
//! abandoned this way is discarded when it comes. An optional [`Gate`] shared by many clients
//! caps the requests on the wire.

use std::fmt::Write as _;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};

use super::{Counters, Gate, MAX_REPLY_BYTES, RemoteError, RemoteSettings};

/// How often a caller waiting on a reply looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// Connections kept alive per client (and its clones): more than any sensible concurrency.
const IDLE_CONNECTIONS: usize = 64;

/// How long a resolved host name is reused.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// ureq's resolver, remembering each answer for [`RESOLVED_FOR`]. ureq resolves the host
/// before every request, even one that goes out on a kept-alive connection, and with a
/// timeout set it does so on a new thread: on a busy machine that delayed each request by a
/// millisecond or more while the server waited.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    /// `scheme://authority` to when it was resolved and to what.
    known: std::sync::Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority()
                .map_or("", ureq::http::uri::Authority::as_str)
        );
        let lock = || {
            self.known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((at, addrs)) = lock().get(&key)
            && at.elapsed() < RESOLVED_FOR
        {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        lock().insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// One endpoint and model.
#[derive(Clone)]
pub struct ChatClient {
    settings: RemoteSettings,
    agent: ureq::Agent,
    key: Option<String>,
    pub counters: Arc<Counters>,
    gate: Option<Arc<Gate>>,
    cancel: Arc<AtomicBool>,
}

impl std::fmt::Debug for ChatClient {
    // The key stays out of every debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("base_url", &self.settings.base_url)
            .field("model", &self.settings.model)
            .field("api_key_env", &self.settings.api_key_env)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    #[must_use]
    pub fn new(settings: RemoteSettings) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(settings.timeout_s.max(1))))
            .http_status_as_error(false)
            // A batch keeps up to its concurrency of connections alive: each new one costs
            // the server an accept and a handshake between two requests.
            .max_idle_connections(IDLE_CONNECTIONS)
            .max_idle_connections_per_host(IDLE_CONNECTIONS)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            CachingResolver::default(),
        );
        let key = std::env::var(&settings.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        Self {
            settings,
            agent,
            key,
            counters: Arc::new(Counters::default()),
            gate: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Sends `key` (or none) instead of the value of the settings' variable: for a caller that
    /// holds the key already, and for tests, which cannot set a variable safely while other
    /// threads run.
    #[must_use]
    pub fn with_key(mut self, key: Option<String>) -> Self {
        self.key = key.filter(|k| !k.is_empty());
        self
    }

    /// Sends through `gate`: at most its limit of requests on the wire over every client
    /// sharing it.
    #[must_use]
    pub fn with_gate(mut self, gate: Arc<Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The flag that stops this client and its clones: requests waiting or on the wire end at
    /// once with [`RemoteError::Cancelled`], and nothing more is sent.
    #[must_use]
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Sleeps `duration` unless cancelled first; false when cancelled.
    fn pause(&self, duration: Duration) -> bool {
        let until = std::time::Instant::now() + duration;
        while !self.cancelled() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(CANCEL_POLL));
        }
        false
    }

    /// One exchange on a `remote-request` thread: what came back (see [`Exchange`]). The
    /// thread itself waits at the gate and gives its place back the moment the reply is read,
    /// so that the next request goes out without waiting for this caller to wake. The caller
    /// returns at once on a cancel.
    fn exchange(&self, url: &str, body: &Arc<Vec<u8>>) -> Result<Exchange, RemoteError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (agent, to, body, key) = (
            self.agent.clone(),
            url.to_owned(),
            Arc::clone(body),
            self.key.clone(),
        );
        let (gate, cancel, counters) = (
            self.gate.clone(),
            Arc::clone(&self.cancel),
            Arc::clone(&self.counters),
        );
        // The gate orders waiters by the caller's urgency, which is thread-local.
        let urgency = crate::policy::urgency::request_urgency();
        std::thread::Builder::new()
            .name("remote-request".to_owned())
            .spawn(move || {
                if let Some(urgency) = urgency {
                    crate::policy::urgency::set_request_urgency(urgency);
                }
                let permit = match &gate {
                    Some(gate) => match gate.enter(&cancel) {
                        Some(permit) => Some(permit),
                        None => return,
                    },
                    None => None,
                };
                counters.requests.fetch_add(1, Ordering::Relaxed);
                let mut request = agent.post(&to).header("Content-Type", "application/json");
                if let Some(key) = &key {
                    request = request.header("Authorization", &format!("Bearer {key}"));
                }
                let outcome = match request.send(&body[..]) {
                    Ok(mut response) => read_reply(&mut response),
                    Err(ureq::Error::Timeout(_)) => Exchange::NoReplyInTime,
                    Err(e) => Exchange::Unreachable(e.to_string()),
                };
                drop(permit);
                // The caller may have gone (cancelled): the reply is dropped.
                let _ = tx.send(outcome);
            })
            .map_err(|e| RemoteError::Unreachable {
                url: url.to_owned(),
                detail: format!("cannot start a request thread: {e}"),
            })?;
        loop {
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(outcome) => return Ok(outcome),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if self.cancelled() {
                        return Err(RemoteError::Cancelled);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    if self.cancelled() {
                        return Err(RemoteError::Cancelled);
                    }
                    return Ok(Exchange::Unreachable(
                        "the request thread stopped".to_owned(),
                    ));
                }
            }
        }
    }

    #[must_use]
    pub fn settings(&self) -> &RemoteSettings {
        &self.settings
    }

    fn url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        )
    }

    /// Sends `messages` (in the chat-completions format) and returns the first choice's text.
    ///
    /// # Errors
    /// When the endpoint cannot be reached, keeps failing, or answers something else.
    pub fn chat(&self, messages: &[Value], max_tokens: u32) -> Result<String, RemoteError> {
        let url = self.url();
        let body = json!({
            "model": self.settings.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
        });
        let body = Arc::new(
            serde_json::to_vec(&body).map_err(|e| RemoteError::Malformed {
                url: url.clone(),
                detail: format!("cannot write the request: {e}"),
            })?,
        );
        let mut attempt = 0;
        loop {
            if self.cancelled() {
                return Err(RemoteError::Cancelled);
            }
            let retryable = match self.exchange(&url, &body)? {
                Exchange::Reply { status: 200, body } => return self.parse(&url, &body),
                outcome => match self.failure(&url, &outcome) {
                    Ok(retryable) => retryable,
                    Err(last) => {
                        self.counters.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(last);
                    }
                },
            };
            self.counters.failures.fetch_add(1, Ordering::Relaxed);
            if attempt >= self.settings.retries {
                return Err(retryable);
            }
            let backoff = Duration::from_millis(
                self.settings
                    .backoff_ms
                    .saturating_mul(1 << attempt.min(10)),
            );
            if !self.pause(backoff) {
                return Err(RemoteError::Cancelled);
            }
            attempt += 1;
        }
    }

    /// The error for an exchange that did not bring a 200 and its whole body: `Ok` when it is
    /// worth retrying (a 429, a 5xx, a dropped connection, a body cut off or late), `Err` when
    /// not. Whatever the server sent is scrubbed of the key first.
    fn failure(&self, url: &str, outcome: &Exchange) -> Result<RemoteError, RemoteError> {
        let url = url.to_owned();
        match outcome {
            Exchange::Reply { status, body } => {
                // Scrubbed whole before the cut, so that no piece of the key is left at it.
                let text = self.scrub(&String::from_utf8_lossy(body));
                let error = RemoteError::Status {
                    url,
                    status: *status,
                    body: text.chars().take(300).collect(),
                };
                if *status == 429 || *status >= 500 {
                    Ok(error)
                } else {
                    Err(error)
                }
            }
            Exchange::Unreachable(detail) => Ok(RemoteError::Unreachable {
                url,
                detail: self.scrub(detail),
            }),
            Exchange::NoReplyInTime => Ok(RemoteError::Unreachable {
                url,
                detail: format!("no reply within the {} s timeout", self.timeout_s()),
            }),
            Exchange::CutOff {
                read,
                expected,
                why,
            } => {
                let mut detail = format!("the reply was cut off after {read} bytes");
                if let Some(expected) = expected {
                    let _ = write!(detail, " of {expected}");
                }
                if let Some(why) = why {
                    let _ = write!(detail, " ({})", self.scrub(why));
                }
                Ok(RemoteError::Incomplete { url, detail })
            }
            Exchange::BodyTimeout { read } => Ok(RemoteError::Incomplete {
                url,
                detail: format!(
                    "the body did not arrive within the timeout ({} s; {read} bytes came)",
                    self.timeout_s()
                ),
            }),
            Exchange::TooLarge => Err(RemoteError::TooLarge {
                url,
                limit_bytes: MAX_REPLY_BYTES,
            }),
        }
    }

    fn timeout_s(&self) -> u64 {
        self.settings.timeout_s.max(1)
    }

    /// `text` without the key (see [`super::scrub_key`]).
    fn scrub(&self, text: &str) -> String {
        super::scrub_key(text, self.key.as_deref())
    }

    fn parse(&self, url: &str, body: &[u8]) -> Result<String, RemoteError> {
        let malformed = |detail: String| RemoteError::Malformed {
            url: url.to_owned(),
            detail,
        };
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            // The start of what came, scrubbed whole first and quoted, so that a control
            // character or a newline cannot break the message.
            let text = self.scrub(&String::from_utf8_lossy(body));
            let start: String = text.chars().take(NOT_JSON_SHOWN_CHARS).collect();
            malformed(format!("the reply is not JSON: {start:?}"))
        })?;
        if let Some(usage) = value.get("usage") {
            let count = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.counters
                .prompt_tokens
                .fetch_add(count("prompt_tokens"), Ordering::Relaxed);
            self.counters
                .completion_tokens
                .fetch_add(count("completion_tokens"), Ordering::Relaxed);
        }
        value
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(|content| self.scrub(content))
            .ok_or_else(|| {
                malformed(
                    "the reply is not a chat completion: no choices[0].message.content".to_owned(),
                )
            })
    }
}

/// How many characters of a reply that is not JSON its error shows.
const NOT_JSON_SHOWN_CHARS: usize = 80;

/// What one exchange brought back.
enum Exchange {
    /// A status and the whole body.
    Reply { status: u16, body: Vec<u8> },
    /// No status: the connection failed or dropped first.
    Unreachable(String),
    /// No status within the timeout.
    NoReplyInTime,
    /// The status came, then the connection closed (or broke) after `read` bytes of the body,
    /// short of the `expected` Content-Length when one was given.
    CutOff {
        read: u64,
        expected: Option<u64>,
        why: Option<String>,
    },
    /// The status came, then the timeout passed after `read` bytes of the body.
    BodyTimeout { read: u64 },
    /// The body is longer than [`MAX_REPLY_BYTES`]; no more of it was read.
    TooLarge,
}

/// Reads a reply's body, at most [`MAX_REPLY_BYTES`] of it: a longer one is given up as soon
/// as it says so (its Content-Length) or passes the cap, never read into memory whole.
fn read_reply(response: &mut ureq::http::Response<ureq::Body>) -> Exchange {
    let status = response.status().as_u16();
    let expected = response.body().content_length();
    read_capped(
        response.body_mut().as_reader(),
        status,
        expected,
        MAX_REPLY_BYTES,
    )
}

/// [`read_reply`] on any reader, `cap` bytes at most.
fn read_capped(reader: impl Read, status: u16, expected: Option<u64>, cap: u64) -> Exchange {
    if expected.is_some_and(|length| length > cap) {
        return Exchange::TooLarge;
    }
    let capacity = expected.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    // One byte past the cap tells a body at the cap from a longer one.
    match reader.take(cap.saturating_add(1)).read_to_end(&mut body) {
        Ok(_) if body.len() as u64 > cap => Exchange::TooLarge,
        Ok(_) => Exchange::Reply { status, body },
        // `read_to_end` keeps what it read before the error.
        Err(e) => {
            let read = body.len() as u64;
            match ureq::Error::from(e) {
                ureq::Error::Timeout(_) => Exchange::BodyTimeout { read },
                ureq::Error::Io(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    Exchange::CutOff {
                        read,
                        expected,
                        why: None,
                    }
                }
                ureq::Error::BodyStalled => Exchange::CutOff {
                    read,
                    expected,
                    why: None,
                },
                other => Exchange::CutOff {
                    read,
                    expected,
                    why: Some(other.to_string()),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of `total` bytes of 'x' that counts what it hands out, then ends with `end`
    /// (or cleanly).
    struct Source {
        left: u64,
        handed: Arc<std::sync::atomic::AtomicU64>,
        end: Option<std::io::ErrorKind>,
    }

    impl Read for Source {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return match self.end {
                    Some(kind) => Err(std::io::Error::new(kind, "gone")),
                    None => Ok(0),
                };
            }
            let n = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            self.handed.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
    }

    fn source(
        total: u64,
        end: Option<std::io::ErrorKind>,
    ) -> (Source, Arc<std::sync::atomic::AtomicU64>) {
        let handed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let source = Source {
            left: total,
            handed: Arc::clone(&handed),
            end,
        };
        (source, handed)
    }

    #[test]
    fn a_50_mb_body_is_read_no_further_than_the_cap() {
        let total = 50 << 20;
        // Without a Content-Length (chunked or close-delimited): read up to the cap and a byte.
        let (reader, handed) = source(total, None);
        assert!(matches!(
            read_capped(reader, 200, None, MAX_REPLY_BYTES),
            Exchange::TooLarge
        ));
        assert_eq!(handed.load(Ordering::Relaxed), MAX_REPLY_BYTES + 1);
        // With one: not read at all.
        let (reader, handed) = source(total, None);
        assert!(matches!(
            read_capped(reader, 200, Some(total), MAX_REPLY_BYTES),
            Exchange::TooLarge
        ));
        assert_eq!(handed.load(Ordering::Relaxed), 0);
        // A body exactly at the cap is whole.
        let (reader, _) = source(1000, None);
        assert!(matches!(
            read_capped(reader, 200, None, 1000),
            Exchange::Reply { status: 200, body } if body.len() == 1000
        ));
    }

    #[test]
    fn a_body_cut_off_says_how_much_came_of_how_much() {
        let (reader, _) = source(40, Some(std::io::ErrorKind::UnexpectedEof));
        assert!(matches!(
            read_capped(reader, 200, Some(100), MAX_REPLY_BYTES),
            Exchange::CutOff {
                read: 40,
                expected: Some(100),
                why: None
            }
        ));
        let timed_out = std::io::Error::other(ureq::Error::Timeout(ureq::Timeout::Global));
        let reader = std::io::Read::chain(&b"{\"cho"[..], FailWith(Some(timed_out)));
        assert!(matches!(
            read_capped(reader, 200, Some(100), MAX_REPLY_BYTES),
            Exchange::BodyTimeout { read: 5 }
        ));
    }

    /// A reader that fails once with its error.
    struct FailWith(Option<std::io::Error>);

    impl Read for FailWith {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(self
                .0
                .take()
                .unwrap_or_else(|| std::io::Error::other("again")))
        }
    }
}
