//! Memory: what a memorization policy wrote, one entry per clip per lane, and look-ups by time
//! and by text. Import of memory made elsewhere is in [`import`], export in [`export`].

pub mod export;
pub mod import;
pub mod labels;

use serde::{Deserialize, Serialize};

/// An annotator's verdict on an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Correct,
    Hallucinated,
    Irrelevant,
    MissingDetail,
}

/// One memory write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    /// Unique within a project.
    pub id: u64,
    /// The stream (video) it belongs to.
    pub stream: String,
    pub lane: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// When the entry became available in the stream (clip end plus processing delay).
    pub available_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// The raw reply, often with a `<think>` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Phrases this lane adds over the general one (from TaskMem's demo data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<String>,
    /// The token budget the policy wrote it under (`None`: not a token-budgeted policy, or
    /// written before entries recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<usize>,
}

/// The longest lane id: its file name must fit the file system's 255 bytes.
pub const MAX_LANE_BYTES: usize = 200;

/// Why a lane id cannot name its file `memory/<lane>.jsonl`, if it cannot: it has no letter or
/// digit (`""`, `".."`, `"!!!"` would all write a file that opening never reads as that lane),
/// or it is too long for a file name.
#[must_use]
pub fn lane_id_problem(lane: &str) -> Option<&'static str> {
    if !lane.chars().any(char::is_alphanumeric) {
        Some("a lane name needs at least one letter or digit")
    } else if lane.len() > MAX_LANE_BYTES {
        Some("a lane name may be at most 200 bytes long")
    } else {
        None
    }
}

/// One memory track: the general policy, or a task-focused adapter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub id: String,
    pub title: String,
    /// True for the general (no adapter) lane, drawn first.
    pub general: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_hint: Option<String>,
    /// The adapter file the lane is memorized with, if any: its sidecar says which tasks it
    /// was tuned on, which an evaluation checks against the questions it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Hidden from the timeline by the user (View > Lanes). Its entries stay: the browser,
    /// exports and evaluations still read them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// Entries of a project, indexed for time and text look-ups.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Vec<MemoryEntry>,
    /// Lower-cased text per entry, for search without allocating per query.
    folded: Vec<String>,
}

impl MemoryStore {
    #[must_use]
    pub fn new(mut entries: Vec<MemoryEntry>) -> Self {
        entries.sort_by(|a, b| {
            (&a.stream, &a.lane, a.start_ms, a.id).cmp(&(&b.stream, &b.lane, b.start_ms, b.id))
        });
        let folded = entries.iter().map(|e| e.text.to_lowercase()).collect();
        Self { entries, folded }
    }

    #[must_use]
    pub fn entries(&self) -> &[MemoryEntry] {
        &self.entries
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn push(&mut self, entry: MemoryEntry) {
        let key = (&entry.stream, &entry.lane, entry.start_ms, entry.id);
        let at = self
            .entries
            .partition_point(|e| (&e.stream, &e.lane, e.start_ms, e.id) <= key);
        self.folded.insert(at, entry.text.to_lowercase());
        self.entries.insert(at, entry);
    }

    /// The entries of one lane of one stream, by clip start.
    #[must_use]
    pub fn lane(&self, stream: &str, lane: &str) -> &[MemoryEntry] {
        let from = self
            .entries
            .partition_point(|e| (e.stream.as_str(), e.lane.as_str()) < (stream, lane));
        let to = self
            .entries
            .partition_point(|e| (e.stream.as_str(), e.lane.as_str()) <= (stream, lane));
        &self.entries[from..to]
    }

    /// Entries of a lane whose clip overlaps `[start_ms, end_ms)`.
    #[must_use]
    pub fn in_range(&self, stream: &str, lane: &str, start_ms: i64, end_ms: i64) -> &[MemoryEntry] {
        let lane = self.lane(stream, lane);
        // Clips do not overlap within a lane, so clip ends are sorted like starts.
        let from = lane.partition_point(|e| e.end_ms <= start_ms);
        let to = lane.partition_point(|e| e.start_ms < end_ms);
        &lane[from..to.max(from)]
    }

    /// Indices of entries whose text contains `query` (case-insensitive) or, for several
    /// words, contains every word.
    #[must_use]
    pub fn search(&self, query: &str) -> Vec<usize> {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return (0..self.entries.len()).collect();
        }
        let words: Vec<&str> = query.split_whitespace().collect();
        self.folded
            .iter()
            .enumerate()
            .filter(|(_, text)| text.contains(&query) || words.iter().all(|w| text.contains(w)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The next free id.
    #[must_use]
    pub fn next_id(&self) -> u64 {
        // Saturating: an id of u64::MAX read from a damaged file must not overflow.
        self.entries
            .iter()
            .map(|e| e.id.saturating_add(1))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
impl MemoryEntry {
    /// A plain entry for the library's tests: stream `s`, 0 s to 10 s, available at 10 s, no
    /// policy, adapter, reply, score or highlights.
    pub(crate) fn for_test(id: u64, lane: &str, text: &str) -> Self {
        Self {
            id,
            stream: "s".into(),
            lane: lane.into(),
            start_ms: 0,
            end_ms: 10_000,
            text: text.into(),
            available_ms: 10_000,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
            budget_tokens: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, lane: &str, start_s: i64, text: &str) -> MemoryEntry {
        MemoryEntry {
            budget_tokens: None,
            id,
            stream: "s".into(),
            lane: lane.into(),
            start_ms: start_s * 1000,
            end_ms: (start_s + 10) * 1000,
            text: text.into(),
            available_ms: (start_s + 16) * 1000,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        }
    }

    #[test]
    fn look_up_by_time_range_and_text() {
        let store = MemoryStore::new(vec![
            entry(2, "general", 20, "<face_1> opens the Red box."),
            entry(0, "general", 0, "A kitchen with a table."),
            entry(1, "general", 10, "<face_2> eats an apple in the kitchen."),
            entry(3, "task", 0, "The red box is on the shelf."),
        ]);
        let lane = store.lane("s", "general");
        assert_eq!(lane.iter().map(|e| e.id).collect::<Vec<_>>(), [0, 1, 2]);
        let hits = store.in_range("s", "general", 12_000, 21_000);
        assert_eq!(hits.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2]);
        assert!(store.in_range("s", "general", 40_000, 50_000).is_empty());
        let found: Vec<u64> = store
            .search("red box")
            .iter()
            .map(|&i| store.entries()[i].id)
            .collect();
        assert_eq!(found, [2, 3]);
        let tokens: Vec<u64> = store
            .search("kitchen apple")
            .iter()
            .map(|&i| store.entries()[i].id)
            .collect();
        assert_eq!(tokens, [1]);
        assert_eq!(store.next_id(), 4);
    }
}
