//! The synthetic streaming world: a seeded simulation of a camera wearer walking through
//! rooms while people handle objects ([`sim`]), drawn into frames ([`render`]) and encoded as a
//! real H.264 MP4, with the ground truth of every 10 s clip ([`truth`]) and questions in the
//! styles of Video-MME, `EgoTempo` and `EgoLife` ([`questions`]).
//!
//! The same seed and [`GENERATOR_VERSION`] give byte-identical files.

pub mod facts;
pub mod grammar;
pub mod model;
pub mod questions;
pub mod render;
pub mod rng;
pub mod sim;
pub mod suite;
pub mod truth;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::fsutil::write_atomic;

use crate::video::{EncodeError, EncoderSettings, Mp4Writer};
use questions::WorldQuestion;
use sim::{Simulation, WorldParams};
use truth::ClipTruth;

/// Bumped whenever the generator's output changes for a given seed.
pub const GENERATOR_VERSION: &str = "3";
/// Frames per second of the world's videos.
pub const FPS: u32 = 10;
pub const FRAME_MS: i64 = 1_000 / FPS as i64;

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("unknown suite '{0}' (known: world-mme, world-life, world-tempo)")]
    UnknownSuite(String),
    #[error("the bundled font could not be read")]
    Font,
}

/// A suite's stream settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteSpec {
    pub name: String,
    /// Questions per minute of stream.
    pub questions_per_minute: f64,
    pub people: u8,
    pub event_gap_ms: (i64, i64),
    pub room_stay_ms: (i64, i64),
}

impl SuiteSpec {
    pub fn named(name: &str) -> Result<Self, WorldError> {
        let spec = |q, people, gap, stay| Self {
            name: name.to_owned(),
            questions_per_minute: q,
            people,
            event_gap_ms: gap,
            room_stay_ms: stay,
        };
        match name {
            // The rates take every draft of the rarest kinds (the round-robin in
            // `questions::generate`) and about as many of each other kind.
            // Short streams, Video-MME-style multiple choice.
            "world-mme" | "default" => Ok(spec(7.0, 4, (1_500, 3_500), (25_000, 70_000))),
            // Long, calmer streams over a "day": where did I leave it, who used it first.
            "world-life" => Ok(spec(8.0, 5, (3_000, 8_000), (60_000, 180_000))),
            // Temporally dense: many events per clip, open answers.
            "world-tempo" => Ok(spec(10.0, 3, (800, 2_000), (20_000, 50_000))),
            other => Err(WorldError::UnknownSuite(other.to_owned())),
        }
    }

    #[must_use]
    pub fn params(&self, seed: u64, duration_ms: i64) -> WorldParams {
        WorldParams {
            seed,
            duration_ms,
            people: self.people,
            objects: 18,
            event_gap_ms: self.event_gap_ms,
            room_stay_ms: self.room_stay_ms,
        }
    }
}

/// manifest.json of a generated stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub generator: String,
    pub version: String,
    pub seed: u64,
    pub suite: String,
    pub duration_ms: i64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub params: WorldParams,
    pub clips: usize,
    pub questions: usize,
    /// File name to SHA-256 (hex).
    pub files: std::collections::BTreeMap<String, String>,
}

/// Everything generated for one stream, in memory.
pub struct Stream {
    pub sim: Simulation,
    pub clips: Vec<ClipTruth>,
    pub questions: Vec<WorldQuestion>,
}

/// Simulates a stream and derives its truth and questions (no video).
#[must_use]
pub fn simulate(spec: &SuiteSpec, seed: u64, duration_ms: i64, source: &str) -> Stream {
    let sim = Simulation::run(&spec.params(seed, duration_ms));
    let clips = truth::clips(&sim);
    let questions = questions::generate(&sim, &clips, spec.questions_per_minute, source);
    Stream {
        sim,
        clips,
        questions,
    }
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), WorldError> {
    let io = |source| WorldError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut text = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut text, row).map_err(|e| io(std::io::Error::other(e)))?;
        text.push(b'\n');
    }
    write_atomic(path, &text).map_err(io)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

/// Generates a stream into `out`: video.mp4, truth.jsonl, tasks.jsonl, manifest.json.
/// `progress(done, total)` is called now and then with frames rendered.
pub fn generate(
    spec: &SuiteSpec,
    seed: u64,
    duration_ms: i64,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Manifest, WorldError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WorldError::Io { path, source }
    };
    // Written into a stage beside `out` and moved in whole: a full disk part way leaves no
    // stream folder with a video but no truth, or a truth without its manifest.
    let staged = crate::fsutil::StagedDir::new(out).map_err(io(out))?;
    let dir = staged.path();
    let source = format!("{}-{seed}", spec.name);
    let stream = simulate(spec, seed, duration_ms, &source);
    let (width, height) = (render::WIDTH as u32, render::HEIGHT as u32);
    let renderer = render::Renderer::new().ok_or(WorldError::Font)?;
    let video_path = dir.join("video.mp4");
    let mut writer = Mp4Writer::create(
        &video_path,
        EncoderSettings {
            width,
            height,
            fps: FPS,
            keyframe_interval_frames: 2 * FPS,
            bitrate_bps: 600_000,
        },
    )?;
    let frames = (duration_ms / FRAME_MS) as usize;
    let mut replay = stream.sim.replay();
    for frame in 0..frames {
        let t_ms = frame as i64 * FRAME_MS;
        replay.advance_to(t_ms);
        let canvas = renderer.render(replay.state(), &replay.cues(t_ms), t_ms);
        writer.push_rgb(&canvas.rgb)?;
        if frame % 100 == 0 {
            progress(frame, frames);
        }
    }
    writer.finish()?;
    progress(frames, frames);
    write_jsonl(&dir.join("truth.jsonl"), &stream.clips)?;
    write_jsonl(&dir.join("tasks.jsonl"), &stream.questions)?;
    let mut files = std::collections::BTreeMap::new();
    for name in ["video.mp4", "truth.jsonl", "tasks.jsonl"] {
        let path = dir.join(name);
        files.insert(name.to_owned(), sha256_file(&path).map_err(io(&path))?);
    }
    let manifest = Manifest {
        generator: "taskmem-world".to_owned(),
        version: GENERATOR_VERSION.to_owned(),
        seed,
        suite: spec.name.clone(),
        duration_ms,
        width,
        height,
        fps: FPS,
        params: stream.sim.params.clone(),
        clips: stream.clips.len(),
        questions: stream.questions.len(),
        files,
    };
    let path = dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| WorldError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path, &text).map_err(io(&path))?;
    staged.commit().map_err(io(out))?;
    Ok(manifest)
}
