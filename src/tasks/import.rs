//! Benchmark question files into tasks (filled in by the importers).
