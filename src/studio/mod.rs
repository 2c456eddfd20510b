//! The studio's core without a window: what the app does, apart from how it is drawn. Nothing
//! here imports egui, so the CLI, the presentation script and plain tests can drive it.
//!
//! - [`jobs`]: the one registry of background jobs (named threads, progress, cancel, a typed
//!   outcome).
//! - [`task_edit`]: what each task command does to the task library (the events to record),
//!   and the task keys and span edges the app's views pass around.

pub mod jobs;
pub mod task_edit;
