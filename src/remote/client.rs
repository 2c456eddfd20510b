//! A blocking chat-completions client: one request at a time per call, retried with doubling
//! backoff on 429, 5xx and dropped connections, with a timeout, counting requests and tokens.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Counters, RemoteError, RemoteSettings};

/// One endpoint and model.
#[derive(Clone)]
pub struct ChatClient {
    settings: RemoteSettings,
    agent: ureq::Agent,
    key: Option<String>,
    pub counters: Arc<Counters>,
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
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(settings.timeout_s.max(1))))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let key = std::env::var(&settings.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        Self {
            settings,
            agent,
            key,
            counters: Arc::new(Counters::default()),
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
        let mut attempt = 0;
        loop {
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json");
            if let Some(key) = &self.key {
                request = request.header("Authorization", &format!("Bearer {key}"));
            }
            let retryable = match request.send_json(&body) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let text = response.body_mut().read_to_string().unwrap_or_default();
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
                Err(e) => RemoteError::Unreachable {
                    url: url.clone(),
                    detail: e.to_string(),
                },
            };
            self.counters.failures.fetch_add(1, Ordering::Relaxed);
            if attempt >= self.settings.retries {
                return Err(retryable);
            }
            std::thread::sleep(Duration::from_millis(
                self.settings
                    .backoff_ms
                    .saturating_mul(1 << attempt.min(10)),
            ));
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
