//! Training and evaluation examples from the synthetic world's streams: each clip's sampled
//! frames as model input, the preceding clip's reference description as context, its own
//! reference as the warm-up target, and its ground truth for the rewards (read only when
//! training or judging, never by the policy at inference).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::builtin::{Config, clip_patches};
use super::lang::Vocab;
use crate::video::{Frame, OpenOptions, VideoSource, parallel_decode_all};
use crate::world::truth::ClipTruth;

/// Frames are kept at this size between decoding and cutting patches.
pub(crate) const KEPT_WIDTH: u32 = 256;
pub(crate) const KEPT_HEIGHT: u32 = 144;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source}", path.display())]
    Video {
        path: PathBuf,
        #[source]
        source: crate::video::VideoError,
    },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the world's font could not be read")]
    Font,
    #[error("{}: line {line}: not a clip's truth: {detail}", path.display())]
    Truth {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// One clip as the policy sees it, with what training needs beside it.
#[derive(Clone, Debug)]
pub struct ClipExample {
    pub stream: String,
    pub clip: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    /// `frames_per_clip x patches_per_frame x patch_dim` values.
    pub patches: Vec<f32>,
    /// The preceding clip's reference, tokenized (empty for the first clip).
    pub context: Vec<u32>,
    pub target: Vec<u32>,
    /// The clip's room and who stays there, people in face order, tokenized: the warm-up's
    /// second kind of target ([`seen_target`]).
    pub seen_target: Vec<u32>,
    pub truth: ClipTruth,
}

/// The room the clip starts in, then who was seen there in face order (`I am in the kitchen.
/// <face_1> and <face_3> stay in the kitchen.`): facts that every frame showing a person makes
/// plain (people are the largest things drawn, their face number on them), written the same
/// way every time so that they can be learnt. A clip with nobody in it gets the room alone.
#[must_use]
pub fn seen_target(truth: &ClipTruth, vocab: &Vocab) -> Vec<u32> {
    let Some(room) = truth.rooms.first() else {
        return Vec::new();
    };
    let mut faces: Vec<u8> = truth.people.iter().map(|p| p.face).collect();
    faces.sort_unstable();
    faces.dedup();
    let mut text = format!("I am in the {}.", room.name());
    if !faces.is_empty() {
        let who: Vec<String> = faces.iter().map(|f| format!("<face_{f}>")).collect();
        text = format!("{text} {} stay in the {}.", who.join(" and "), room.name());
    }
    vocab.encode(&text)
}

/// The auxiliary labels of a clip (see [`super::builtin::AUX_LABELS`]): rooms seen, faces
/// seen, and each seen face's outfit color.
#[must_use]
pub fn aux_labels(truth: &ClipTruth) -> Vec<f32> {
    use crate::world::model::{Color, Room};
    let mut labels = vec![0.0f32; super::builtin::AUX_LABELS];
    for room in &truth.rooms {
        if let Some(i) = Room::ALL.iter().position(|r| r == room) {
            labels[i] = 1.0;
        }
    }
    for p in &truth.people {
        let face = usize::from(p.face.saturating_sub(1)).min(3);
        labels[4 + face] = 1.0;
        if let Some(c) = Color::ALL.iter().position(|c| *c == p.outfit) {
            labels[8 + face * 10 + c] = 1.0;
            labels[48 + c] = 1.0;
        }
    }
    labels
}

/// The frame times sampled from the clip `[start_ms, end_ms)`: evenly spread, mid-interval.
#[must_use]
pub fn sample_times_ns(start_ms: i64, end_ms: i64, count: usize) -> Vec<i64> {
    let span_ns = (end_ms - start_ms).max(1) * crate::video::NS_PER_MS;
    (0..count as i64)
        .map(|i| start_ms * crate::video::NS_PER_MS + (2 * i + 1) * span_ns / (2 * count as i64))
        .collect()
}

/// Each clip's sampled frames from a video, decoded on `threads` threads.
///
/// # Errors
/// When the video cannot be opened or decoded.
pub fn clip_frames(
    video: &Path,
    clips: &[(i64, i64)],
    frames_per_clip: usize,
    threads: usize,
) -> Result<Vec<Vec<Frame>>, DataError> {
    let err = |source| DataError::Video {
        path: video.to_path_buf(),
        source,
    };
    let options = OpenOptions::default();
    let source = VideoSource::open(video, &options).map_err(err)?;
    let index = Arc::clone(source.index());
    let mut wanted: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
    for (c, &(start_ms, end_ms)) in clips.iter().enumerate() {
        for (slot, t) in sample_times_ns(start_ms, end_ms, frames_per_clip)
            .into_iter()
            .enumerate()
        {
            wanted.entry(index.frame_at(t)).or_default().push((c, slot));
        }
    }
    let found: Mutex<HashMap<usize, Frame>> = Mutex::new(HashMap::new());
    parallel_decode_all(&index, threads, &options, &|frame_index, picture| {
        if wanted.contains_key(&frame_index) {
            let pts = index.frames[frame_index].pts_ns;
            let frame = picture
                .to_frame(frame_index, pts)
                .downscaled(KEPT_WIDTH, KEPT_HEIGHT);
            if let Ok(mut found) = found.lock() {
                found.insert(frame_index, frame);
            }
        }
    })
    .map_err(err)?;
    let found = found.into_inner().unwrap_or_default();
    let mut out: Vec<Vec<Option<Frame>>> = vec![vec![None; frames_per_clip]; clips.len()];
    for (frame_index, places) in &wanted {
        for &(c, slot) in places {
            out[c][slot] = found.get(frame_index).cloned();
        }
    }
    Ok(out
        .into_iter()
        .map(|frames| frames.into_iter().flatten().collect())
        .collect())
}

/// Reads a stream's truth.jsonl.
///
/// # Errors
/// When the file cannot be read or a line is not a clip's truth.
pub fn read_truth(path: &Path) -> Result<Vec<ClipTruth>, DataError> {
    crate::fsutil::read_jsonl(path).map_err(|e| match e {
        crate::fsutil::JsonlError::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        crate::fsutil::JsonlError::Line { line, detail } => DataError::Truth {
            path: path.to_path_buf(),
            line,
            detail,
        },
    })
}

/// Every clip of a world stream folder (video.mp4 beside truth.jsonl) as an example.
///
/// # Errors
/// When the video or the truth cannot be read.
pub fn stream_examples(
    dir: &Path,
    cfg: &Config,
    vocab: &Vocab,
    threads: usize,
) -> Result<Vec<ClipExample>, DataError> {
    let truth = read_truth(&dir.join("truth.jsonl"))?;
    let spans: Vec<(i64, i64)> = truth.iter().map(|c| (c.start_ms, c.end_ms)).collect();
    let frames = clip_frames(&dir.join("video.mp4"), &spans, cfg.frames_per_clip, threads)?;
    let stream = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(examples_in_order(
        &stream,
        truth.into_iter().zip(frames),
        cfg,
        vocab,
    ))
}

/// A stream's clips (in order, with their frames) as examples, each with the preceding clip's
/// reference as its context.
fn examples_in_order(
    stream: &str,
    clips: impl Iterator<Item = (ClipTruth, Vec<Frame>)>,
    cfg: &Config,
    vocab: &Vocab,
) -> Vec<ClipExample> {
    let mut previous: Vec<u32> = Vec::new();
    clips
        .map(|(clip, frames)| {
            let target = vocab.encode(&clip.reference);
            ClipExample {
                stream: stream.to_owned(),
                clip: clip.clip,
                start_ms: clip.start_ms,
                end_ms: clip.end_ms,
                patches: clip_patches(&frames, cfg),
                context: std::mem::replace(&mut previous, target.clone()),
                target,
                seen_target: seen_target(&clip, vocab),
                truth: clip,
            }
        })
        .collect()
}

/// Every clip of a stream simulated from `spec` with `seed`, as examples, its frames rendered
/// straight from the world at the video's size and kept as decoded frames are (no codec in
/// between). Training draws extra streams this way: the suite ships few, and the generator
/// makes any number with seeds of their own.
///
/// # Errors
/// When the world's font cannot be read.
pub fn simulated_examples(
    spec: &crate::world::SuiteSpec,
    seed: u64,
    duration_ms: i64,
    cfg: &Config,
    vocab: &Vocab,
) -> Result<Vec<ClipExample>, DataError> {
    use crate::world::{FRAME_MS, render::Renderer};
    let name = format!("{}-sim-{seed}", spec.name);
    let stream = crate::world::simulate(spec, seed, duration_ms, &name);
    let renderer = Renderer::new().ok_or(DataError::Font)?;
    let mut replay = stream.sim.replay();
    let clips = stream.clips.into_iter().map(|clip| {
        let frames: Vec<Frame> = sample_times_ns(clip.start_ms, clip.end_ms, cfg.frames_per_clip)
            .into_iter()
            .enumerate()
            .map(|(index, t_ns)| {
                // The video frame shown at that time.
                let t_ms = t_ns / crate::video::NS_PER_MS / FRAME_MS * FRAME_MS;
                replay.advance_to(t_ms);
                let canvas = renderer.render(replay.state(), &replay.cues(t_ms), t_ms);
                let rgba: Vec<u8> = canvas
                    .rgb
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect();
                Frame {
                    index,
                    pts_ns: t_ms * crate::video::NS_PER_MS,
                    width: 320,
                    height: 180,
                    rgba: rgba.into(),
                }
                .downscaled(KEPT_WIDTH, KEPT_HEIGHT)
            })
            .collect();
        (clip, frames)
    });
    Ok(examples_in_order(&name, clips, cfg, vocab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seen_target_is_the_room_then_who_was_seen_in_face_order_all_true() {
        use crate::policy::reward::is_true;
        use crate::world::grammar::statements;
        use crate::world::sim::{Simulation, WorldParams};
        let vocab = Vocab::world();
        let sim = Simulation::run(&WorldParams::new(7, 300_000));
        let mut most_people = 0;
        for clip in crate::world::truth::clips(&sim) {
            let text = vocab.decode(&seen_target(&clip, &vocab));
            let parsed = statements(&text);
            assert_eq!(parsed.malformed, 0, "{text}");
            let expected = if clip.people.is_empty() { 1 } else { 2 };
            assert_eq!(parsed.claims.len(), expected, "{text}");
            assert!(text.starts_with("I am in the "), "{text}");
            assert!(parsed.claims.iter().all(|c| is_true(c, &clip)), "{text}");
            let mut sorted: Vec<u8> = clip.people.iter().map(|p| p.face).collect();
            sorted.sort_unstable();
            sorted.dedup();
            let written: Vec<u8> = text
                .split("<face_")
                .skip(1)
                .filter_map(|rest| rest.split('>').next()?.parse().ok())
                .collect();
            assert_eq!(written, sorted, "{text}");
            most_people = most_people.max(clip.people.len());
        }
        assert!(most_people >= 2, "some clip shows two people or more");
    }

    #[test]
    fn samples_are_spread_over_the_clip() {
        let t = sample_times_ns(10_000, 20_000, 4);
        assert_eq!(
            t,
            vec![
                11_250_000_000,
                13_750_000_000,
                16_250_000_000,
                18_750_000_000
            ]
        );
    }
}
