//! Panels and widgets. Each takes what it shows by reference and returns `AppCommand`s; none
//! mutates app state directly.

pub mod jobs;
pub mod ruler;
pub mod transport;
pub mod video_view;
pub mod word_diff;
