//! A suite stream's sampled frames as the encoder meets them at work (decoded from the
//! stream's H.264 video), each with what it shows (from the stream's own simulation, replayed
//! to the frame's time): the check that perception holds on coded frames of unseen streams,
//! not only on fresh renders.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::PerceptionError;
use super::labels::FrameLabels;
use super::model::{Config, frame_input};
use crate::video::{Frame, OpenOptions, VideoSource, parallel_decode_all};
use crate::world::render::Scene;
use crate::world::sim::Simulation;
use crate::world::truth::{CLIP_MS, sample_times_ms};

/// Every sampled frame of every `clip_stride`-th clip of the stream in `dir` (manifest.json
/// and video.mp4): the encoder's input and the frame's labels.
///
/// # Errors
/// When the manifest or the video cannot be read.
pub fn stream_frames(
    dir: &Path,
    cfg: &Config,
    clip_stride: usize,
) -> Result<Vec<(Vec<f32>, FrameLabels)>, PerceptionError> {
    let manifest_path = dir.join("manifest.json");
    let bad = |problem: String| PerceptionError::Input {
        path: manifest_path.clone(),
        problem,
    };
    let bytes = std::fs::read(&manifest_path).map_err(|source| PerceptionError::Io {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest: crate::world::Manifest =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let sim = Simulation::run(&manifest.params);
    let mut times = Vec::new();
    let mut start_ms = 0;
    let mut clip = 0;
    while start_ms < manifest.duration_ms {
        let end_ms = (start_ms + CLIP_MS).min(manifest.duration_ms);
        if clip % clip_stride.max(1) == 0 {
            times.extend(sample_times_ms(start_ms, end_ms));
        }
        start_ms = end_ms;
        clip += 1;
    }
    let mut replay = sim.replay();
    let labels: Vec<FrameLabels> = times
        .iter()
        .map(|&t| {
            replay.advance_to(t);
            FrameLabels::of(&Scene::of(replay.state(), &replay.cues(t), t))
        })
        .collect();
    let frames = decode_at(&dir.join("video.mp4"), &times)?;
    Ok(frames
        .into_iter()
        .zip(labels)
        .filter_map(|(frame, labels)| Some((frame_input(&frame?, cfg), labels)))
        .collect())
}

/// The frames shown at each of `times_ms`, full size (`None` where none was decoded).
fn decode_at(video: &Path, times_ms: &[i64]) -> Result<Vec<Option<Frame>>, PerceptionError> {
    let err = |source: crate::video::VideoError| PerceptionError::Input {
        path: video.to_path_buf(),
        problem: source.to_string(),
    };
    let options = OpenOptions::default();
    let source = VideoSource::open(video, &options).map_err(err)?;
    let index = Arc::clone(source.index());
    let wanted: Vec<usize> = times_ms
        .iter()
        .map(|&t| index.frame_at(t * crate::video::NS_PER_MS))
        .collect();
    let set: std::collections::HashSet<usize> = wanted.iter().copied().collect();
    let found: Mutex<HashMap<usize, Frame>> = Mutex::new(HashMap::new());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    parallel_decode_all(&index, threads, &options, &|frame_index, picture| {
        if set.contains(&frame_index) {
            let pts = index.frames[frame_index].pts_ns;
            if let Ok(mut found) = found.lock() {
                found.insert(frame_index, picture.to_frame(frame_index, pts));
            }
        }
    })
    .map_err(err)?;
    let found = found.into_inner().unwrap_or_default();
    Ok(wanted.iter().map(|i| found.get(i).cloned()).collect())
}
