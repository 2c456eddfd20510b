//! `TaskMem` Studio: a desktop workbench for task-focused memorization of multimodal agents.
//!
//! The loop: a video is demuxed and decoded into frames ([`video`]); playback is a plain state
//! machine ([`playback`]); a memorization policy ([`policy`]) turns each 10 s clip into a
//! memory entry; tasks arriving in the stream are answered from memory alone ([`eval`]). The GUI
//! ([`app`]) and the CLI ([`cli`]) are thin clients of the same library.
//!
//! Architecture:
//! - [`video`]: MP4 demux, H.264 decode (openh264; ffmpeg subprocess for other codecs), the
//!   decoder and preview threads with their bounded caches, H.264 MP4 writing. No egui.
//! - [`memory`]: memory entries and lanes, look-up by time and text, import of TaskMem's
//!   outputs, its demo file and EgoRAG captions, export to JSONL, TaskMem and QA text. No egui.
//! - [`project`]: the project folder: atomic manifest, append-only checksummed memory, labels
//!   and task logs. No egui.
//! - [`tasks`]: tasks (questions), the task library, benchmark importers and exporters. No egui.
//! - [`playback`]: play/pause/seek/step/speed/loop/follow-live. No egui.
//! - [`world`]: the synthetic streaming world (simulation, renderer, ground truth, questions)
//!   that writes real MP4 streams. No egui.
//! - [`policy`]: the memorization-policy trait, the built-in candle policy, its training
//!   (warm-up, Phase One GRPO), ingest and live memorizing. No egui.
//! - [`train`]: Phase Two: reward model from recent tasks, preference pairs, DPO on the
//!   steering adapter. No egui.
//! - [`eval`]: streaming evaluation: answerers, replay at ask times, Acc/Cov/Prec with
//!   intervals, result tables and plotters charts. No egui.
//! - [`remote`]: the OpenAI-compatible backend: a chat client (a gate for requests in flight,
//!   retries with backoff, request/token/cost counters), the remote policy, answerer and judge,
//!   and a local mock server for tests and benches. No egui.
//! - [`fsutil`]: atomic file writes (temp file, sync, rename), shared by every writer.
//! - [`pathcomplete`]: completion of typed file paths, for the app's path fields. No egui.
//! - [`alloc`]: glibc allocator tuning for long batches and training runs (the crate's only
//!   `unsafe` code).
//! - [`timefmt`]: time parsing and `HH:MM:SS.mmm` formatting.
//! - [`demo`]: the bundled demo projects (built from a shipped world stream, and TaskMem's
//!   project-page memories) and the presentation script's parser. No egui.
//! - [`cli`]: the headless subcommands (`probe`, `frames`, `bench`, `world`, `import`, `export`,
//!   `ingest`, `train`, `eval`, `chart`).
//! - [`studio`]: the app's core without a window: the one registry of background jobs. No
//!   egui.
//! - [`app`]: the egui application; panels emit `AppCommand`s applied in one place per frame.

pub mod alloc;
pub mod app;
pub mod cli;
pub mod demo;
pub mod eval;
pub mod fsutil;
pub mod fuzzing;
pub mod memory;
pub mod pathcomplete;
pub mod playback;
pub mod policy;
pub mod project;
pub mod remote;
pub mod studio;
pub mod tasks;
pub mod timefmt;
pub mod train;
pub mod video;
pub mod world;
