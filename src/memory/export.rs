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
            budget_tokens: None,
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

/// Errors of the Parquet table (the file named, and what polars said).
#[derive(Debug, thiserror::Error)]
#[error("{}: {detail}", path.display())]
pub struct ParquetError {
    pub path: std::path::PathBuf,
    pub detail: String,
}

/// The memory as a Parquet table (one row per entry, labels as columns), written to a temp
/// file and renamed.
pub fn write_parquet(
    entries: &[MemoryEntry],
    labels: &super::labels::Labels,
    path: &std::path::Path,
) -> Result<(), ParquetError> {
    use polars::prelude::*;
    let fail = |detail: String| ParquetError {
        path: path.to_path_buf(),
        detail,
    };
    let strings = |f: &dyn Fn(&MemoryEntry) -> &str| entries.iter().map(f).collect::<Vec<&str>>();
    let optional = |f: &dyn Fn(&MemoryEntry) -> Option<&str>| {
        entries.iter().map(f).collect::<Vec<Option<&str>>>()
    };
    let verdicts: Vec<Option<&str>> = entries
        .iter()
        .map(|e| labels.verdict(e.id).map(super::Verdict::name))
        .collect();
    let edits: Vec<Option<&str>> = entries.iter().map(|e| labels.edited(e.id)).collect();
    // The demo's highlight phrases, as a JSON list per row (empty: null).
    let highlights: Vec<Option<String>> = entries
        .iter()
        .map(|e| {
            (!e.highlights.is_empty())
                .then(|| serde_json::Value::from(e.highlights.clone()).to_string())
        })
        .collect();
    let mut df = df!(
        "id" => entries.iter().map(|e| e.id).collect::<Vec<u64>>(),
        "stream" => strings(&|e| &e.stream),
        "lane" => strings(&|e| &e.lane),
        "start_ms" => entries.iter().map(|e| e.start_ms).collect::<Vec<i64>>(),
        "end_ms" => entries.iter().map(|e| e.end_ms).collect::<Vec<i64>>(),
        "text" => strings(&|e| &e.text),
        "available_ms" => entries.iter().map(|e| e.available_ms).collect::<Vec<i64>>(),
        "policy" => optional(&|e| e.policy.as_deref()),
        "adapter" => optional(&|e| e.adapter.as_deref()),
        "raw_response" => optional(&|e| e.raw_response.as_deref()),
        "score" => entries.iter().map(|e| e.score).collect::<Vec<Option<f64>>>(),
        "verdict" => verdicts,
        "edited_text" => edits,
        "highlights" => highlights,
    )
    .map_err(|e| fail(e.to_string()))?;
    crate::fsutil::write_parquet_atomic(path, &mut df).map_err(fail)
}

/// Reads a table written by [`write_parquet`] back into entries (labels are not entries and
/// are left out).
pub fn read_parquet(path: &std::path::Path) -> Result<Vec<MemoryEntry>, ParquetError> {
    use polars::prelude::*;
    let fail = |detail: String| ParquetError {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| fail(e.to_string()))?;
    let column = |name: &str| {
        df.column(name)
            .map(|c| c.as_materialized_series().clone())
            .map_err(|e| fail(e.to_string()))
    };
    let strs = |name: &str| -> Result<Vec<Option<String>>, ParquetError> {
        let s = column(name)?;
        let ca = s.str().map_err(|e| fail(e.to_string()))?;
        Ok((0..ca.len())
            .map(|i| ca.get(i).map(str::to_owned))
            .collect())
    };
    let ints = |name: &str| -> Result<Vec<Option<i64>>, ParquetError> {
        let s = column(name)?;
        let ca = s.i64().map_err(|e| fail(e.to_string()))?;
        Ok((0..ca.len()).map(|i| ca.get(i)).collect())
    };
    let id_column = column("id")?;
    let id_ca = id_column.u64().map_err(|e| fail(e.to_string()))?;
    let ids: Vec<Option<u64>> = (0..id_ca.len()).map(|i| id_ca.get(i)).collect();
    let score_column = column("score")?;
    let score_ca = score_column.f64().map_err(|e| fail(e.to_string()))?;
    let scores: Vec<Option<f64>> = (0..score_ca.len()).map(|i| score_ca.get(i)).collect();
    let (stream, lane, text) = (strs("stream")?, strs("lane")?, strs("text")?);
    let (policy, adapter, raw) = (strs("policy")?, strs("adapter")?, strs("raw_response")?);
    let (start, end, available) = (ints("start_ms")?, ints("end_ms")?, ints("available_ms")?);
    let highlights = strs("highlights")?;
    Ok((0..df.height())
        .map(|i| MemoryEntry {
            budget_tokens: None,
            id: ids[i].unwrap_or_default(),
            stream: stream[i].clone().unwrap_or_default(),
            lane: lane[i].clone().unwrap_or_default(),
            start_ms: start[i].unwrap_or_default(),
            end_ms: end[i].unwrap_or_default(),
            text: text[i].clone().unwrap_or_default(),
            available_ms: available[i].unwrap_or_default(),
            policy: policy[i].clone(),
            adapter: adapter[i].clone(),
            raw_response: raw[i].clone(),
            score: scores[i],
            highlights: highlights[i]
                .as_deref()
                .and_then(|h| serde_json::from_str(h).ok())
                .unwrap_or_default(),
        })
        .collect())
}
