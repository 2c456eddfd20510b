//! The form for an LLM behind an `OpenAI`-compatible endpoint (vLLM, `SGLang`, `OpenAI`): base
//! URL, model, the name of the key's environment variable and the prices. The Evaluate
//! window's remote answerer and the Phase Two window's remote judge both fill one in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::remote::client::ChatClient;
use crate::remote::{Counters, DEFAULT_API_KEY_ENV, Prices, RemoteSettings};

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointForm {
    /// Up to `/v1` (empty: `$OPENAI_BASE_URL`, else the `OpenAI` API).
    pub base_url: String,
    /// The model name the endpoint serves.
    pub model: String,
    /// The environment variable that holds the key (never the key; empty: no key is sent).
    pub api_key_env: String,
    /// What the endpoint charges, for the cost shown.
    pub prices: Prices,
}

impl Default for EndpointForm {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            model: String::new(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            prices: Prices::default(),
        }
    }
}

/// A client made from the form, with what the window keeps of it while it runs.
pub struct EndpointClient {
    pub client: ChatClient,
    pub counters: Arc<Counters>,
    /// Stops the client's request on the wire at once.
    pub cancel: Arc<AtomicBool>,
}

/// Drops the request on the wire of a run being cancelled.
pub fn cancel_client(flag: Option<&Arc<AtomicBool>>) {
    if let Some(flag) = flag {
        flag.store(true, Ordering::Relaxed);
    }
}

impl EndpointForm {
    /// A client for the form's endpoint. `role` says what the model does ("answers",
    /// "judges") for the error when no model is named.
    ///
    /// # Errors
    /// When no model is named.
    pub fn client(&self, role: &str) -> Result<EndpointClient, String> {
        let model = self.model.trim();
        if model.is_empty() {
            return Err(format!(
                "name the model that {role} (as the endpoint serves it)"
            ));
        }
        let mut remote = RemoteSettings::from_env(model);
        if !self.base_url.trim().is_empty() {
            self.base_url.trim().clone_into(&mut remote.base_url);
        }
        // Empty: no key is sent (a server of your own needs none).
        self.api_key_env.trim().clone_into(&mut remote.api_key_env);
        let client = ChatClient::new(remote);
        Ok(EndpointClient {
            counters: Arc::clone(&client.counters),
            cancel: client.cancel_flag(),
            client,
        })
    }

    /// The form as grid rows (base URL, model, key variable, prices).
    pub fn grid_ui(&mut self, ui: &mut egui::Ui, id_salt: &str) {
        egui::Grid::new(id_salt).num_columns(2).show(ui, |ui| {
            ui.label("Base URL");
            ui.add(
                egui::TextEdit::singleline(&mut self.base_url)
                    .desired_width(360.0)
                    .hint_text("default: $OPENAI_BASE_URL, else api.openai.com/v1"),
            )
            .on_hover_text("The OpenAI-compatible endpoint up to /v1 (vLLM, SGLang, OpenAI)");
            ui.end_row();
            ui.label("Model");
            ui.add(egui::TextEdit::singleline(&mut self.model).desired_width(360.0))
                .on_hover_text("The model name the endpoint serves");
            ui.end_row();
            ui.label("API key variable");
            ui.add(egui::TextEdit::singleline(&mut self.api_key_env).desired_width(200.0))
                .on_hover_text(
                    "The name of the environment variable holding the key (empty: no key is sent); the key is never stored",
                );
            ui.end_row();
            super::prices_ui(ui, &mut self.prices);
        });
    }
}
