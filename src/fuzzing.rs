//! Entry points for fuzzing: one function per kind of untrusted input the app reads.
//!
//! The cargo-fuzz targets in `fuzz/` call these on the nightly toolchain, and the stable test
//! `tests/fuzz_replay.rs` calls the same functions on the committed corpus and on deterministic
//! mutations of it, so a crash found by a fuzzer stays a regression test in `cargo test`. Every
//! function must return (an `Err` is a fine outcome) for any bytes: a panic, a hang or an
//! unbounded allocation is the bug being looked for.
//!
//! Most readers take a path, so the bytes are written to a scratch folder first; the folder is
//! one per thread, so the targets can run side by side.

use std::path::{Path, PathBuf};

use crate::tasks::import::{ImportOptions, TaskFormat};
use crate::video::{FfmpegPolicy, OpenOptions, VideoSource, demux_file};

/// The kinds of input a target feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An MP4 file: the demuxer's index of its first video track.
    Mp4,
    /// An MP4 file, demuxed and its first frames decoded (the H.264 path up to the decoder).
    H264,
    /// A question file, read as every task format.
    Tasks,
    /// A memory file: `TaskMem`'s demo file and `EgoRAG` captions.
    Memory,
    /// A project folder's files: the manifest, a memory lane, the task and label logs.
    Project,
    /// A steering adapter (safetensors) and a model's config.json.
    Model,
    /// A presentation script.
    Script,
}

impl Target {
    /// Every target, in the order `fuzz/` lists them.
    pub const ALL: [Self; 7] = [
        Self::Mp4,
        Self::H264,
        Self::Tasks,
        Self::Memory,
        Self::Project,
        Self::Model,
        Self::Script,
    ];

    /// The name of its cargo-fuzz target and of its corpus folder.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::H264 => "h264",
            Self::Tasks => "tasks",
            Self::Memory => "memory",
            Self::Project => "project",
            Self::Model => "model",
            Self::Script => "script",
        }
    }
}

/// Feeds `data` to the reader `target` exercises. Errors are expected and ignored.
pub fn run(target: Target, data: &[u8]) {
    match target {
        Target::Mp4 => mp4(data, false),
        Target::H264 => mp4(data, true),
        Target::Tasks => tasks(data),
        Target::Memory => memory(data),
        Target::Project => project(data),
        Target::Model => model(data),
        Target::Script => script(data),
    }
}

/// A scratch folder for this thread, emptied for each input.
fn scratch() -> Option<PathBuf> {
    thread_local! {
        static DIR: PathBuf = std::env::temp_dir().join(format!(
            "taskmem-fuzz-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
    }
    let dir = DIR.with(Clone::clone);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn write(dir: &Path, name: &str, data: &[u8]) -> Option<PathBuf> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).ok()?;
    }
    std::fs::write(&path, data).ok()?;
    Some(path)
}

fn mp4(data: &[u8], decode: bool) {
    let Some(path) = scratch().and_then(|dir| write(&dir, "fuzz.mp4", data)) else {
        return;
    };
    let Ok(index) = demux_file(&path) else {
        return;
    };
    let _ = (index.duration_ns(), index.avg_fps(), index.is_vfr());
    if !decode {
        return;
    }
    let options = OpenOptions {
        ffmpeg: FfmpegPolicy::Disabled,
    };
    let frames = index.frame_count().min(4);
    if let Ok(mut source) = VideoSource::from_index(std::sync::Arc::new(index), &options) {
        for frame in 0..frames {
            let _ = source.decode_frame(frame);
        }
    }
}

fn tasks(data: &[u8]) {
    const FORMATS: [(TaskFormat, &str); 8] = [
        (TaskFormat::VideoMme, "fuzz.json"),
        (TaskFormat::EgoLife, "fuzz.json"),
        (TaskFormat::EgoTempo, "fuzz.json"),
        (TaskFormat::M3Bench, "fuzz.json"),
        (TaskFormat::Lines, "fuzz.txt"),
        (TaskFormat::Jsonl, "fuzz.jsonl"),
        (TaskFormat::Parquet, "fuzz.parquet"),
        (TaskFormat::Csv, "fuzz.csv"),
    ];
    let options = ImportOptions::default();
    let _ = crate::tasks::import::detect_format(Path::new("fuzz.json"), data);
    for (format, name) in FORMATS {
        let _ = crate::tasks::import::import_bytes(Path::new(name), data, format, &options);
    }
}

fn memory(data: &[u8]) {
    let Some(dir) = scratch() else { return };
    if let Some(path) = write(&dir, "memories.json", data) {
        let _ = crate::memory::import::demo_file(&path);
        let _ = crate::memory::import::egorag_captions(&path, "fuzz");
    }
    if write(&dir, "out/episodic_fuzz.json", data).is_some() {
        let _ = crate::memory::import::taskmem_output(&dir.join("out"), "fuzz", 10_000, 0);
    }
}

/// The input is split at `\0` bytes into the manifest, one memory lane, the task log and the
/// label log, so one input can reach the reader of each and their combinations.
fn project(data: &[u8]) {
    let Some(dir) = scratch() else { return };
    let mut parts = data.split(|&b| b == 0);
    let names = [
        "project.json",
        "memory/general.jsonl",
        "task_log.jsonl",
        "labels.jsonl",
    ];
    for name in names {
        let part = parts.next().unwrap_or_default();
        if write(&dir, name, part).is_none() {
            return;
        }
    }
    let _ = crate::project::Project::open(&dir);
}

/// The first byte chooses the reader: even is an adapter's safetensors, odd a model folder's
/// config.json beside the shipped model's weights.
fn model(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(dir) = scratch() else { return };
    if first % 2 == 0 {
        if let Some(path) = write(&dir, "fuzz.safetensors", rest) {
            let _ = crate::policy::adapter::Adapter::load(&path);
        }
        return;
    }
    let weights = crate::policy::shipped_model_dir().join("model.safetensors");
    if write(&dir, "config.json", rest).is_some() && link(&weights, &dir.join("model.safetensors"))
    {
        let _ = crate::policy::train::Trainable::load(&dir);
    }
}

fn script(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::demo::Script::parse(Path::new("fuzz.script"), &text);
}

/// A link where the system has them: copying the 3.7 MB weights would dominate each run.
fn link(from: &Path, to: &Path) -> bool {
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(from, to).is_ok();
    #[cfg(not(unix))]
    let linked = std::fs::copy(from, to).is_ok();
    linked
}
