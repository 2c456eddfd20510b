//! Tasks out to JSONL, Parquet, CSV and TaskMem's one-question-per-line file.
