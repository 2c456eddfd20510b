//! The studio's core without a window: what the app does, apart from how it is drawn. Nothing
//! here imports egui, so the CLI, the presentation script and plain tests can drive it.
//!
//! - [`jobs`]: the one registry of background jobs (named threads, progress, cancel, a typed
//!   outcome).
//! - [`session`]: an open project with one undo history for labels and tasks and the channel
//!   a live lane's entries arrive on.
//! - [`task_edit`]: what each task command does to the task library (the events to record),
//!   and the task keys and span edges the app's views pass around.
//! - [`text`]: the words one description has and another lacks, and search hits, for every
//!   view that marks them.

pub mod jobs;
pub mod session;
pub mod task_edit;
pub mod text;
