//! Memory out: JSONL (one entry per line), TaskMem's `episodic_<tag>.json`, and the
//! question-answering rendering, one block per entry: `HH:MM:SS-HH:MM:SS\n<description>`.

use std::collections::BTreeMap;

use super::MemoryEntry;

/// One JSON object per line.
#[must_use]
pub fn to_jsonl(entries: &[MemoryEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        if let Ok(line) = serde_json::to_string(e) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// JSONL with each entry's labels: `verdict` and `edited_text` where an annotator set them.
#[must_use]
pub fn to_jsonl_labeled(entries: &[MemoryEntry], labels: &super::labels::Labels) -> String {
    let mut out = String::new();
    for e in entries {
        let Ok(mut value) = serde_json::to_value(e) else {
            continue;
        };
        if let Some(object) = value.as_object_mut() {
            if let Some(verdict) = labels.verdict(e.id) {
                object.insert("verdict".to_owned(), serde_json::json!(verdict));
            }
            if let Some(text) = labels.edited(e.id) {
                object.insert("edited_text".to_owned(), serde_json::json!(text));
            }
        }
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}

/// TaskMem's folder-level file: `{clip_id: description}`, clip id = start / interval.
#[must_use]
pub fn to_taskmem_episodic(entries: &[MemoryEntry], interval_ms: i64) -> String {
    let map: BTreeMap<i64, &str> = entries
        .iter()
        .map(|e| (e.start_ms / interval_ms.max(1), e.text.as_str()))
        .collect();
    // TaskMem keys are strings; keep numeric order.
    let body: Vec<String> = map
        .iter()
        .map(|(clip, text)| format!("  \"{clip}\": {}", serde_json::Value::from(*text)))
        .collect();
    format!("{{\n{}\n}}\n", body.join(",\n"))
}

fn hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The memory as the answerer reads it.
#[must_use]
pub fn to_qa_text(entries: &[MemoryEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("{}-{}\n{}", hms(e.start_ms), hms(e.end_ms), e.text))
        .collect::<Vec<_>>()
        .join("\n\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(start_s: i64, text: &str) -> MemoryEntry {
        MemoryEntry {
            id: start_s as u64,
            stream: "s".into(),
            lane: "general".into(),
            start_ms: start_s * 1000,
            end_ms: (start_s + 10) * 1000,
            text: text.into(),
            available_ms: 0,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        }
    }

    #[test]
    fn qa_blocks_and_taskmem_ids() {
        let entries = [entry(0, "A kitchen."), entry(3_600, "<face_1> waves.")];
        assert_eq!(
            to_qa_text(&entries),
            "00:00:00-00:00:10\nA kitchen.\n\n01:00:00-01:00:10\n<face_1> waves.\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&to_taskmem_episodic(&entries, 10_000)).unwrap();
        assert_eq!(json["360"], "<face_1> waves.");
        assert_eq!(json["0"], "A kitchen.");
    }
}
