//! The remote answerer: memory rendered as TaskMem renders it ("HH:MM:SS-HH:MM:SS" then the
//! description, one block per entry), then the question, its options and E for "insufficient
//! information"; the letter is read by lmms-eval's rule. A reply with no letter is asked once
//! more, then counted wrong with its raw text kept (capped at
//! [`super::MAX_STORED_REPLY_BYTES`]).

use std::fmt::Write as _;

use serde_json::json;

use super::client::ChatClient;
use crate::eval::answer::{
    ABSTAIN_LETTER, ABSTAIN_TEXT, AnswerError, Answerer, Question, Reply, extract_letter,
    memory_blocks,
};
use crate::memory::MemoryEntry;

pub struct RemoteAnswerer {
    pub client: ChatClient,
}

/// The prompt for one question.
#[must_use]
pub fn prompt(question: &Question, memory: &[&MemoryEntry]) -> String {
    let blocks = if memory.is_empty() {
        "(nothing memorized yet)".to_owned()
    } else {
        memory_blocks(memory)
    };
    let mut out = format!(
        "You watched a video and remember it only through these memory notes, one per clip:\n\n{blocks}\n\nQuestion: {}\n",
        question.text
    );
    if question.options.is_empty() {
        let _ = write!(
            out,
            "Answer in a few words from the notes alone, or reply \"{ABSTAIN_TEXT}\" when they do not say."
        );
    } else {
        for (i, option) in question.options.iter().enumerate() {
            let _ = writeln!(out, "{}. {option}", crate::tasks::option_letter(i));
        }
        let _ = write!(
            out,
            "{ABSTAIN_LETTER}. {ABSTAIN_TEXT}\nAnswer with the letter of the best option only; answer {ABSTAIN_LETTER} when the notes do not say."
        );
    }
    out
}

impl Answerer for RemoteAnswerer {
    fn name(&self) -> String {
        format!("remote:{}", self.client.settings().model)
    }

    fn answer(&self, question: &Question, memory: &[&MemoryEntry]) -> Result<Reply, AnswerError> {
        let messages = [json!({"role": "user", "content": prompt(question, memory)})];
        let ask = || {
            self.client
                .chat(&messages, 64)
                .map_err(|e| AnswerError::Failed {
                    name: self.name(),
                    message: e.to_string(),
                })
        };
        // The client has already scrubbed the key from `raw`; what is kept is capped.
        let mut raw = ask()?;
        if question.options.is_empty() {
            let text = super::kept_text(raw.trim());
            let abstained = text.to_lowercase().contains(&ABSTAIN_TEXT.to_lowercase());
            return Ok(Reply {
                answer: if abstained {
                    ABSTAIN_TEXT.to_owned()
                } else {
                    text
                },
                abstained,
                used: Vec::new(),
                raw: Some(super::stored_reply(raw)),
            });
        }
        let mut letter = extract_letter(&raw);
        if letter.is_none() {
            // The format-failure path: asked once more, then kept as an unparsable answer.
            raw = ask()?;
            letter = extract_letter(&raw);
        }
        Ok(match letter {
            Some(l) => Reply {
                answer: l.to_string(),
                abstained: l == ABSTAIN_LETTER,
                used: Vec::new(),
                raw: Some(super::stored_reply(raw)),
            },
            None => Reply {
                answer: String::new(),
                abstained: false,
                used: Vec::new(),
                raw: Some(super::stored_reply(raw)),
            },
        })
    }
}
