//! The built-in policy's perception: a per-frame encoder pretrained once on scenes made on the
//! fly, read out through fixed queries (room, person slots, my hands, object cells, places'
//! apples, sign cells). [`labels`] says what a frame shows, [`model`] is the encoder,
//! [`train`] pretrains it with checkpoints and resumption, [`report`] measures it on held-out
//! frames. No egui.

pub mod frames;
pub mod labels;
pub mod model;
pub mod report;
pub mod train;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PerceptionError {
    #[error("the model failed: {0}")]
    Model(#[from] candle_core::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {problem}", path.display())]
    Checkpoint { path: PathBuf, problem: String },
    /// A suite stream's manifest or video that cannot be read.
    #[error("{}: {problem}", path.display())]
    Input { path: PathBuf, problem: String },
    #[error(
        "{} already holds a training run's checkpoint: pass --resume to carry it on, or choose another --out",
        .0.display()
    )]
    HasCheckpoint(PathBuf),
    #[error("the bundled font could not be read")]
    Font,
}
