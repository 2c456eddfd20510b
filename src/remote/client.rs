//! A blocking chat-completions client: one request at a time per call, retried with doubling
//! backoff on 429, 5xx and dropped connections, with a timeout, counting requests and tokens.
//! Each exchange runs on its own `remote-request` thread while the caller watches a cancel
//! flag, so a cancel (or a stalled server) never holds the caller: the reply of a request
//! abandoned this way is discarded when it comes. An optional [`Gate`] shared by many clients
//! caps the requests on the wire.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};

use super::{Counters, Gate, RemoteError, RemoteSettings};

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

    /// One exchange on a `remote-request` thread: the status and body, or why the endpoint
    /// could not be reached. The thread itself waits at the gate and gives its place back the
    /// moment the reply is read, so that the next request goes out without waiting for this
    /// caller to wake. The caller returns at once on a cancel.
    fn exchange(
        &self,
        url: &str,
        body: &Arc<Vec<u8>>,
    ) -> Result<Result<(u16, String), String>, RemoteError> {
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
        let urgency = super::request_urgency();
        std::thread::Builder::new()
            .name("remote-request".to_owned())
            .spawn(move || {
                if let Some(urgency) = urgency {
                    super::set_request_urgency(urgency);
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
                    Ok(mut response) => Ok((
                        response.status().as_u16(),
                        response.body_mut().read_to_string().unwrap_or_default(),
                    )),
                    Err(e) => Err(e.to_string()),
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
                    return Ok(Err("the request thread stopped".to_owned()));
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
            let outcome = self.exchange(&url, &body)?;
            let retryable = match outcome {
                Ok((status, text)) => {
                    if status == 200 {
                        return self.parse(&url, &text);
                    }
                    let error = RemoteError::Status {
                        url: url.clone(),
                        status,
                        body: text.chars().take(300).collect(),
                    };
                    if status == 429 || status >= 500 {
                        error
                    } else {
                        self.counters.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(error);
                    }
                }
                Err(detail) => RemoteError::Unreachable {
                    url: url.clone(),
                    detail,
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

    fn parse(&self, url: &str, text: &str) -> Result<String, RemoteError> {
        let malformed = |detail: String| RemoteError::Malformed {
            url: url.to_owned(),
            detail,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
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
            .map(str::to_owned)
            .ok_or_else(|| malformed("no choices[0].message.content".to_owned()))
    }
}
