//! Annotators' labels: a verdict per entry and edited text (the original is kept), stored as
//! an append-only log of events so that undo is just another event and a crash loses at most
//! the last one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Verdict;

/// One change to the labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LabelEvent {
    /// Sets (or with `None` clears) an entry's verdict.
    Verdict {
        entry: u64,
        verdict: Option<Verdict>,
    },
    /// Replaces an entry's text (or with `None` goes back to the original).
    Edit { entry: u64, text: Option<String> },
}

/// The labels now, folded from the events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    verdicts: BTreeMap<u64, Verdict>,
    edits: BTreeMap<u64, String>,
}

impl Labels {
    pub fn apply(&mut self, event: &LabelEvent) {
        match event {
            LabelEvent::Verdict {
                entry,
                verdict: Some(v),
            } => {
                self.verdicts.insert(*entry, *v);
            }
            LabelEvent::Verdict {
                entry,
                verdict: None,
            } => {
                self.verdicts.remove(entry);
            }
            LabelEvent::Edit {
                entry,
                text: Some(t),
            } => {
                self.edits.insert(*entry, t.clone());
            }
            LabelEvent::Edit { entry, text: None } => {
                self.edits.remove(entry);
            }
        }
    }

    /// The event that undoes `event`, given the labels before it.
    #[must_use]
    pub fn inverse(&self, event: &LabelEvent) -> LabelEvent {
        match event {
            LabelEvent::Verdict { entry, .. } => LabelEvent::Verdict {
                entry: *entry,
                verdict: self.verdicts.get(entry).copied(),
            },
            LabelEvent::Edit { entry, .. } => LabelEvent::Edit {
                entry: *entry,
                text: self.edits.get(entry).cloned(),
            },
        }
    }

    #[must_use]
    pub fn verdict(&self, entry: u64) -> Option<Verdict> {
        self.verdicts.get(&entry).copied()
    }

    #[must_use]
    pub fn edited(&self, entry: u64) -> Option<&str> {
        self.edits.get(&entry).map(String::as_str)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty() && self.edits.is_empty()
    }
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::Correct,
        Verdict::Hallucinated,
        Verdict::Irrelevant,
        Verdict::MissingDetail,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::Hallucinated => "hallucinated",
            Self::Irrelevant => "irrelevant",
            Self::MissingDetail => "missing detail",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_events_restore_the_previous_labels() {
        let mut labels = Labels::default();
        let set = LabelEvent::Verdict {
            entry: 3,
            verdict: Some(Verdict::Hallucinated),
        };
        let undo = labels.inverse(&set);
        labels.apply(&set);
        assert_eq!(labels.verdict(3), Some(Verdict::Hallucinated));
        labels.apply(&undo);
        assert_eq!(labels.verdict(3), None);
        let edit = LabelEvent::Edit {
            entry: 3,
            text: Some("fixed".into()),
        };
        let undo = labels.inverse(&edit);
        labels.apply(&edit);
        assert_eq!(labels.edited(3), Some("fixed"));
        labels.apply(&undo);
        assert!(labels.is_empty());
    }
}
