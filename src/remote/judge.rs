//! The remote judge: for Phase Two, which of two descriptions of a clip helps more with a
//! sample of recent questions; for open answers, correct or not plus a 0-5 score, as
//! EgoTempo's judge does. Replies are JSON; one that does not parse is asked once more, then
//! the judgement fails with the raw reply in the message.

use serde_json::{Value, json};

use super::client::ChatClient;
use crate::eval::answer::Question;
use crate::train::reward::{Judge, JudgeError, Preference, Verdict};

pub struct RemoteJudge {
    pub client: ChatClient,
    /// Judgements on the wire at once (Phase Two judges a clip's samples side by side).
    pub concurrency: usize,
}

/// The first JSON object in a reply (after any `<think>` part).
fn json_in(reply: &str) -> Option<Value> {
    let text = reply
        .rfind("</think>")
        .map_or(reply, |end| &reply[end + 8..]);
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

impl RemoteJudge {
    fn ask(&self, prompt: &str) -> Result<Value, JudgeError> {
        let failed = |message: String| JudgeError {
            name: format!("remote:{}", self.client.settings().model),
            message,
        };
        let messages = [json!({"role": "user", "content": prompt})];
        let mut raw = String::new();
        for _ in 0..2 {
            raw = self
                .client
                .chat(&messages, 128)
                .map_err(|e| failed(e.to_string()))?;
            if let Some(v) = json_in(&raw) {
                return Ok(v);
            }
        }
        // A runaway reply is not printed whole: its start says enough.
        let shown: String = raw.chars().take(300).collect();
        Err(failed(format!(
            "the reply from {} was not JSON twice; the last one: {shown}",
            self.client.settings().base_url
        )))
    }

    /// Judges an open answer against the reference: (correct, score 0-5).
    ///
    /// # Errors
    /// When the endpoint fails or the reply does not parse twice.
    pub fn judge_open_answer(
        &self,
        question: &str,
        reference: &str,
        answer: &str,
    ) -> Result<(bool, u8), JudgeError> {
        let v = self.ask(&format!(
            "Question: {question}\nReference answer: {reference}\nGiven answer: {answer}\n\
             Is the given answer correct? Reply with JSON only: {{\"correct\": true or false, \"score\": 0 to 5}}"
        ))?;
        let correct = v.get("correct").and_then(Value::as_bool).unwrap_or(false);
        let score = v
            .get("score")
            .and_then(Value::as_u64)
            .map_or(0, |s| s.min(5) as u8);
        Ok((correct, score))
    }
}

impl Judge for RemoteJudge {
    fn name(&self) -> String {
        format!("remote:{}", self.client.settings().model)
    }

    fn concurrency(&self) -> usize {
        self.concurrency.max(1)
    }

    fn judge(&self, first: &str, second: &str, tasks: &[Question]) -> Result<Verdict, JudgeError> {
        let questions: Vec<String> = tasks.iter().map(|t| format!("- {}", t.text)).collect();
        let v = self.ask(&format!(
            "Two memory notes describe the same 10-second clip of a video.\n\
             Note 1: {first}\nNote 2: {second}\n\
             Which note, on its own, would help more to answer questions like these later?\n{}\n\
             Reply with JSON only: {{\"better\": 1, 2 or 0 for a tie, \"score_1\": 0-10, \"score_2\": 0-10}}",
            questions.join("\n")
        ))?;
        let score = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let preference = match v.get("better").and_then(Value::as_u64) {
            Some(1) => Preference::First,
            Some(2) => Preference::Second,
            _ => Preference::Tie,
        };
        Ok(Verdict {
            preference,
            first_score: score("score_1"),
            second_score: score("score_2"),
        })
    }
}
