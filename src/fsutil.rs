//! Writing files so that a reader (or a crash) never sees half of one, and reading JSON Lines.

use std::io::Write;
use std::path::Path;

/// Writes next to the target, syncs, then renames over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Why a JSON Lines file could not be read: I/O, or the 1-based line that does not parse.
#[derive(Debug)]
pub enum JsonlError {
    Io(std::io::Error),
    Line { line: usize, detail: String },
}

/// Reads one value per non-empty line.
///
/// # Errors
/// The file cannot be read, or a line is not a `T`.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, JsonlError> {
    let text = std::fs::read_to_string(path).map_err(JsonlError::Io)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| JsonlError::Line {
                line: i + 1,
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Writes a table as Parquet through a temp file and a rename.
///
/// # Errors
/// The file cannot be written; the message says why.
pub fn write_parquet_atomic(
    path: &Path,
    df: &mut polars::prelude::DataFrame,
) -> Result<(), String> {
    use polars::prelude::ParquetWriter;
    let tmp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    ParquetWriter::new(file)
        .finish(df)
        .map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}
