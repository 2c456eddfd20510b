//! Training and evaluation examples from the synthetic world's streams: each clip's sampled
//! frames as model input, the preceding clip's reference description as context, its own
//! reference as the warm-up target, and its ground truth for the rewards (read only when
//! training or judging, never by the policy at inference).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::builtin::Config;
use super::frontend::Frontend;
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
    #[error("the perception encoder failed: {0}")]
    Model(String),
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
    /// The facts of the clip before (empty for the first): policy v2's warm-up draws its
    /// context from them, as a stand-in for what the policy wrote there.
    pub previous_facts: Vec<String>,
}

/// Policy v2's warm-up target: whole facts of the clip while they fit `budget` tokens, kind
/// by kind in a random order of kinds (and a random order within a kind), so that the model
/// learns many ways to fill a budget and sampling and steering have a spread of choices.
#[must_use]
pub fn fact_target(
    facts: &[String],
    budget: usize,
    vocab: &Vocab,
    rng: &mut crate::world::rng::Rng,
) -> Vec<u32> {
    use crate::world::facts::{FactKind, classify};
    let coarse = |fact: &str| match classify(fact) {
        FactKind::Event { .. } => 5,
        FactKind::Room => 0,
        FactKind::Outfit => 1,
        FactKind::ObjectPlace => 2,
        FactKind::Text => 3,
        FactKind::Count => 4,
        FactKind::Other => 6,
    };
    let mut kind_rank = [0usize; 7];
    let mut kinds: Vec<usize> = (0..7).collect();
    shuffle(&mut kinds, rng);
    for (rank, kind) in kinds.into_iter().enumerate() {
        kind_rank[kind] = rank;
    }
    let mut order: Vec<(usize, u64, usize)> = facts
        .iter()
        .enumerate()
        .map(|(i, f)| (kind_rank[coarse(f)], rng.next_u64(), i))
        .collect();
    order.sort_unstable();
    let mut out: Vec<u32> = Vec::new();
    for (_, _, i) in order {
        let tokens = vocab.encode(&facts[i]);
        if out.len() + tokens.len() <= budget {
            out.extend(tokens);
        }
    }
    out
}

fn shuffle<T>(items: &mut [T], rng: &mut crate::world::rng::Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
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
    frontend: &Frontend,
) -> Result<Vec<Vec<Frame>>, DataError> {
    let keep = kept_size(frontend);
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
                .downscaled(keep.0, keep.1);
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

/// The size frames are kept at between decoding and the model's input: patches are cut from
/// 256x144, while the perception encoder reads the world's full 320x180.
fn kept_size(frontend: &Frontend) -> (u32, u32) {
    match frontend {
        Frontend::Pixels => (KEPT_WIDTH, KEPT_HEIGHT),
        Frontend::Perception(_) => (
            crate::world::render::WIDTH as u32,
            crate::world::render::HEIGHT as u32,
        ),
    }
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
    frontend: &Frontend,
) -> Result<Vec<ClipExample>, DataError> {
    let truth = read_truth(&dir.join("truth.jsonl"))?;
    let spans: Vec<(i64, i64)> = truth.iter().map(|c| (c.start_ms, c.end_ms)).collect();
    let frames = clip_frames(
        &dir.join("video.mp4"),
        &spans,
        cfg.frames_per_clip,
        threads,
        frontend,
    )?;
    let stream = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    examples_in_order(&stream, truth.into_iter().zip(frames), cfg, vocab, frontend)
}

/// A stream's clips (in order, with their frames) as examples, each with the preceding clip's
/// reference as its context.
fn examples_in_order(
    stream: &str,
    clips: impl Iterator<Item = (ClipTruth, Vec<Frame>)>,
    cfg: &Config,
    vocab: &Vocab,
    frontend: &Frontend,
) -> Result<Vec<ClipExample>, DataError> {
    let mut previous: Vec<u32> = Vec::new();
    let mut previous_facts: Vec<String> = Vec::new();
    clips
        .map(|(clip, frames)| {
            let target = vocab.encode(&clip.reference);
            let previous_facts = std::mem::replace(&mut previous_facts, clip.facts.clone());
            Ok(ClipExample {
                stream: stream.to_owned(),
                clip: clip.clip,
                start_ms: clip.start_ms,
                end_ms: clip.end_ms,
                patches: frontend
                    .clip_input(&frames, cfg)
                    .map_err(|e| DataError::Model(e.to_string()))?,
                context: std::mem::replace(&mut previous, target.clone()),
                target,
                seen_target: seen_target(&clip, vocab),
                truth: clip,
                previous_facts,
            })
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
    frontend: &Frontend,
) -> Result<Vec<ClipExample>, DataError> {
    use crate::world::{FRAME_MS, render::Renderer};
    let keep = kept_size(frontend);
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
                .downscaled(keep.0, keep.1)
            })
            .collect();
        (clip, frames)
    });
    examples_in_order(&name, clips, cfg, vocab, frontend)
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
    fn fact_targets_are_whole_facts_within_the_budget_in_varying_kind_orders() {
        use crate::world::facts::classify;
        use crate::world::sim::{Simulation, WorldParams};
        let vocab = Vocab::world();
        let sim = Simulation::run(&WorldParams::new(5, 300_000));
        let mut rng = crate::world::rng::Rng::new(1);
        let mut first_kinds = std::collections::HashSet::new();
        for clip in crate::world::truth::clips(&sim) {
            for budget in [12, 24] {
                let target = fact_target(&clip.facts, budget, &vocab, &mut rng);
                assert!(target.len() <= budget);
                let text = vocab.decode(&target);
                // Every sentence written is one of the clip's facts, whole.
                let mut rest = text.as_str();
                while !rest.is_empty() {
                    let fact = clip
                        .facts
                        .iter()
                        .find(|f| rest.starts_with(f.as_str()))
                        .unwrap_or_else(|| panic!("not a whole fact: {rest}"));
                    if rest.len() == text.len() {
                        first_kinds.insert(
                            format!("{:?}", classify(fact))
                                .chars()
                                .take(5)
                                .collect::<String>(),
                        );
                    }
                    rest = rest[fact.len()..].trim_start();
                }
            }
        }
        assert!(
            first_kinds.len() >= 4,
            "the first kind varies: {first_kinds:?}"
        );
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
