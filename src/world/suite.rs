//! The shipped benchmark suites: a fixed list of streams per suite (train, validation and
//! test), each generated from a seed derived from the suite, so `taskmem world suite` rebuilds
//! them byte for byte.
//!
//! A suite is too large to commit whole: the repository holds its suite.json, every stream's
//! manifest.json (seed, generator version, SHA-256 of each file), truth.jsonl and tasks.jsonl,
//! and the videos of a few streams ([`StreamPlan::committed`]). [`ensure`] checks each stream
//! folder against its manifest and regenerates what is missing or differs, refusing when this
//! build's generator does not make the committed bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use super::{
    GENERATOR_VERSION, Manifest, SuiteSpec, WorldError, generate, sha256_file, write_atomic,
};

/// The splits of a suite, in suite order: models train on `train`, recipes (steps, budgets,
/// adapters' settings) are chosen on `validation`, and `test` only gives the reported figures.
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// One stream of a suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPlan {
    /// `train/<name>-train-00` style relative folder.
    pub folder: String,
    pub split: String,
    pub seed: u64,
    pub duration_ms: i64,
    /// Whether the stream's video is in the repository; the others are made by [`ensure`]
    /// (their truth, tasks and manifest are always there).
    #[serde(default)]
    pub committed: bool,
}

/// The streams of a suite.
struct Layout {
    /// Streams per split, in [`SPLITS`] order.
    streams: [usize; 3],
    minutes: i64,
    first_seed: u64,
    /// Streams per split whose videos are committed (the first ones): what the tests, the
    /// demo and the benches open by path.
    committed: [usize; 3],
}

/// Seed offsets per split, in [`SPLITS`] order; test keeps the seeds it always had.
const SEED_OFFSETS: [u64; 3] = [0, 1_000, 500];

fn layout(name: &str) -> Option<Layout> {
    // Sized for the floors (world-mme: at least 60 training, 60 validation and 100 test
    // questions of each type) by the rarest types' drafts per minute (Object Reasoning and
    // Object Recognition, about 0.45 a minute), with world-life and world-tempo grown in
    // proportion; about 19 hours of video, generated in under 5 minutes on two cores.
    match name {
        "world-mme" => Some(Layout {
            streams: [16, 16, 26],
            minutes: 10,
            first_seed: 1_000,
            committed: [0, 0, 1],
        }),
        "world-life" => Some(Layout {
            streams: [3, 3, 4],
            minutes: 30,
            first_seed: 3_000,
            committed: [0, 0, 0],
        }),
        "world-tempo" => Some(Layout {
            streams: [15, 15, 22],
            minutes: 5,
            first_seed: 5_000,
            committed: [1, 0, 3],
        }),
        _ => None,
    }
}

/// The suites shipped in datasets/.
pub const SUITES: [&str; 3] = ["world-mme", "world-life", "world-tempo"];

/// The streams of a shipped suite, train then validation then test.
///
/// # Errors
/// An unknown suite name.
pub fn plan(name: &str) -> Result<Vec<StreamPlan>, WorldError> {
    let layout = layout(name).ok_or_else(|| WorldError::UnknownSuite(name.to_owned()))?;
    let mut streams = Vec::new();
    for (k, split) in SPLITS.iter().enumerate() {
        for i in 0..layout.streams[k] {
            streams.push(StreamPlan {
                folder: format!("{split}/{name}-{split}-{i:02}"),
                split: (*split).to_owned(),
                seed: layout.first_seed + SEED_OFFSETS[k] + i as u64,
                duration_ms: layout.minutes * 60_000,
                committed: i < layout.committed[k],
            });
        }
    }
    Ok(streams)
}

/// suite.json: what a suite holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteManifest {
    pub suite: String,
    /// The generator version that made the streams.
    #[serde(default)]
    pub version: String,
    pub spec: SuiteSpec,
    pub streams: Vec<StreamPlan>,
    /// Questions per task type, over all streams.
    pub questions_per_type: BTreeMap<String, usize>,
    /// Questions per split, then per task type.
    #[serde(default)]
    pub questions_per_split: BTreeMap<String, BTreeMap<String, usize>>,
    pub questions: usize,
    pub minutes: f64,
    /// Bytes of every stream's files once generated.
    pub bytes: u64,
    /// Bytes of what the repository holds (all but the videos it does not commit).
    #[serde(default)]
    pub committed_bytes: u64,
}

impl SuiteManifest {
    /// The splits this suite has streams in, in [`SPLITS`] order (then any others).
    #[must_use]
    pub fn splits(&self) -> Vec<&str> {
        let mut out: Vec<&str> = SPLITS
            .iter()
            .copied()
            .filter(|s| self.streams.iter().any(|p| p.split == *s))
            .collect();
        for p in &self.streams {
            if !out.contains(&p.split.as_str()) {
                out.push(&p.split);
            }
        }
        out
    }
}

/// The files a generated stream folder holds besides manifest.json.
const STREAM_FILES: [&str; 3] = ["video.mp4", "truth.jsonl", "tasks.jsonl"];

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WorldError {
    let path = path.to_path_buf();
    move |source| WorldError::Io {
        path: path.clone(),
        source,
    }
}

/// Threads for generating streams: one per core.
fn workers(jobs: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(jobs)
        .max(1)
}

/// Progress of [`generate_suite`] and [`ensure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuiteEvent {
    /// Stream folders checked against their manifests so far.
    Checked { done: usize, total: usize },
    /// Frames generated so far over the streams being generated; `stream` is the one that
    /// moved.
    Generating {
        stream: String,
        done_frames: usize,
        total_frames: usize,
    },
}

impl SuiteEvent {
    /// A one-line description with a percentage, for status lines.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Checked { done, total } => {
                format!("checking the suite's streams against their manifests: {done}/{total}")
            }
            Self::Generating {
                done_frames,
                total_frames,
                ..
            } => format!(
                "generating the suite's missing streams: {}%",
                done_frames * 100 / (*total_frames).max(1)
            ),
        }
    }

    /// (done, total) of this event's phase.
    #[must_use]
    pub fn fraction(&self) -> (usize, usize) {
        match self {
            Self::Checked { done, total } => (*done, *total),
            Self::Generating {
                done_frames,
                total_frames,
                ..
            } => (*done_frames, *total_frames),
        }
    }
}

/// A progress callback for stage lines (a CLI's stderr, a window's status): forwards the end
/// of the check and every 5% of generation as [`SuiteEvent::describe`]'s text.
pub fn stage_lines<'a>(
    mut stage: impl FnMut(String) -> ControlFlow<()> + 'a,
) -> impl FnMut(&SuiteEvent) -> ControlFlow<()> + 'a {
    let mut last = None;
    move |event| {
        let key = match event {
            SuiteEvent::Checked { done, total } if done < total => {
                return ControlFlow::Continue(());
            }
            SuiteEvent::Checked { .. } => (0, 0),
            SuiteEvent::Generating {
                done_frames,
                total_frames,
                ..
            } => (1, done_frames * 20 / (*total_frames).max(1)),
        };
        if last == Some(key) {
            return ControlFlow::Continue(());
        }
        last = Some(key);
        stage(event.describe())
    }
}

/// Why [`ensure`] could not make a suite whole.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    #[error(transparent)]
    World(#[from] WorldError),
    #[error("{}: {detail}", path.display())]
    Suite { path: PathBuf, detail: String },
    #[error(
        "{}: made by generator version {committed}, this build's generator is version {ours}: \
         its files cannot be regenerated byte for byte (run `taskmem world suite` to make the \
         suite anew with this version, or use the build that made it)",
        path.display()
    )]
    Version {
        path: PathBuf,
        committed: String,
        ours: String,
    },
    #[error(
        "{}: regenerated {file} does not match the committed manifest (SHA-256 {ours}, \
         manifest {committed}): this build's generator (version {version}) makes other bytes \
         than the one that made the suite; run `taskmem world suite` to make it anew",
        path.display()
    )]
    Mismatch {
        path: PathBuf,
        file: String,
        ours: String,
        committed: String,
        version: String,
    },
    #[error("stopped")]
    Cancelled,
}

/// What [`ensure`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ensured {
    /// Stream folders that were already whole.
    pub present: usize,
    /// Stream folders (relative) regenerated.
    pub generated: Vec<String>,
}

/// Generates one stream, reporting frames made (done, total).
type MakeStream<'a, T> =
    dyn Fn(&StreamPlan, &mut dyn FnMut(usize, usize)) -> Result<T, EnsureError> + Sync + 'a;

/// Generates `streams` of a suite into `out` on every core, sending progress to `progress`
/// from this thread. `make(plan, dir)` generates one stream into `dir` and returns its
/// manifest. Streams in flight finish when `progress` breaks.
fn generate_parallel<T: Send>(
    streams: &[StreamPlan],
    make: &MakeStream<'_, T>,
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Vec<T>, EnsureError> {
    let total_frames: usize = streams
        .iter()
        .map(|s| (s.duration_ms / super::FRAME_MS) as usize)
        .sum();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, usize, Option<Result<T, EnsureError>>)>();
    let mut results: Vec<Option<Result<T, EnsureError>>> = streams.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers(streams.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= streams.len() || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut last = 0;
                    let result = make(&streams[i], &mut |done, _| {
                        let _ = tx.send((i, done - last.min(done), None));
                        last = done;
                    });
                    let failed = result.is_err();
                    let _ = tx.send((i, 0, Some(result)));
                    if failed {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
        drop(tx);
        let mut done_frames = 0;
        for (i, frames, result) in rx {
            done_frames += frames;
            if let Some(result) = result {
                results[i] = Some(result);
            }
            let event = SuiteEvent::Generating {
                stream: streams[i].folder.clone(),
                done_frames: done_frames.min(total_frames),
                total_frames,
            };
            if !stop.load(Ordering::SeqCst) && progress(&event).is_break() {
                stop.store(true, Ordering::SeqCst);
                results.push(Some(Err(EnsureError::Cancelled)));
            }
        }
    });
    // The first failure in suite order (a stop comes last).
    let mut out = Vec::with_capacity(streams.len());
    let mut cancelled = false;
    for result in results {
        match result {
            Some(Ok(t)) => out.push(t),
            Some(Err(EnsureError::Cancelled)) | None => cancelled = true,
            Some(Err(e)) => return Err(e),
        }
    }
    if cancelled {
        return Err(EnsureError::Cancelled);
    }
    Ok(out)
}

/// Generates every stream of a suite under `out` (on every core), then suite.json and a
/// .gitignore naming the videos the repository does not hold.
///
/// # Errors
/// An unknown suite, a stream that cannot be written, or a stop from `progress`.
pub fn generate_suite(
    name: &str,
    out: &Path,
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<SuiteManifest, EnsureError> {
    let spec = SuiteSpec::named(name)?;
    let streams = plan(name)?;
    let manifests = generate_parallel(
        &streams,
        &|stream, frames| {
            Ok(generate(
                &spec,
                stream.seed,
                stream.duration_ms,
                &out.join(&stream.folder),
                frames,
            )?)
        },
        progress,
    )?;
    let manifest = summarize(name, &spec, &streams, &manifests, out)?;
    let path = out.join("suite.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| WorldError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path, &text).map_err(io_err(&path))?;
    let path = out.join(".gitignore");
    write_atomic(&path, gitignore(&streams).as_bytes()).map_err(io_err(&path))?;
    Ok(manifest)
}

/// suite.json's figures, read back from the generated files.
fn summarize(
    name: &str,
    spec: &SuiteSpec,
    streams: &[StreamPlan],
    manifests: &[Manifest],
    out: &Path,
) -> Result<SuiteManifest, EnsureError> {
    let mut per_type = BTreeMap::new();
    let mut per_split: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut questions, mut bytes, mut committed_bytes) = (0, 0, 0);
    for (stream, manifest) in streams.iter().zip(manifests) {
        let dir = out.join(&stream.folder);
        let tasks_path = dir.join("tasks.jsonl");
        let tasks = super::questions::load_tasks(&tasks_path).map_err(|e| WorldError::Io {
            path: tasks_path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        for q in &tasks {
            *per_type.entry(q.task_type.clone()).or_insert(0) += 1;
            *per_split
                .entry(stream.split.clone())
                .or_default()
                .entry(q.task_type.clone())
                .or_insert(0) += 1;
        }
        questions += manifest.questions;
        for file in STREAM_FILES.iter().chain(&["manifest.json"]) {
            let len = std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
            bytes += len;
            if stream.committed || *file != "video.mp4" {
                committed_bytes += len;
            }
        }
    }
    Ok(SuiteManifest {
        suite: name.to_owned(),
        version: GENERATOR_VERSION.to_owned(),
        spec: spec.clone(),
        minutes: streams
            .iter()
            .map(|s| s.duration_ms as f64 / 60_000.0)
            .sum(),
        streams: streams.to_vec(),
        questions_per_type: per_type,
        questions_per_split: per_split,
        questions,
        bytes,
        committed_bytes,
    })
}

/// The suite folder's .gitignore: the videos of the streams the repository does not hold, and
/// what [`ensure`] leaves while it works.
#[must_use]
pub fn gitignore(streams: &[StreamPlan]) -> String {
    let mut text = String::from(
        "# Generated on demand from the committed manifests: `taskmem world ensure`.\n\
         /.ensure/\n/.ensure.lock\n",
    );
    for s in streams.iter().filter(|s| !s.committed) {
        let _ = writeln!(text, "/{}/video.mp4", s.folder);
    }
    text
}

/// Reads a suite folder's suite.json.
///
/// # Errors
/// When it cannot be read or is not a suite.
pub fn read_manifest(suite: &Path) -> Result<SuiteManifest, EnsureError> {
    let path = suite.join("suite.json");
    let text = std::fs::read_to_string(&path).map_err(|e| EnsureError::Suite {
        path: path.clone(),
        detail: format!("cannot read: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| EnsureError::Suite {
        path,
        detail: format!("not a suite: {e}"),
    })
}

/// A stream folder's state against its manifest.
enum Check {
    Whole,
    /// Needs generating from this committed manifest.
    Regenerate(Box<Manifest>),
}

fn check_stream(dir: &Path) -> Result<Check, EnsureError> {
    let path = dir.join("manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A folder made by hand (no manifest): taken as it is when its files are there.
            if STREAM_FILES.iter().all(|f| dir.join(f).is_file()) {
                return Ok(Check::Whole);
            }
            return Err(EnsureError::Suite {
                path,
                detail: "missing, and so are the stream's files: nothing to regenerate them from"
                    .to_owned(),
            });
        }
        Err(e) => {
            return Err(EnsureError::Suite {
                path,
                detail: format!("cannot read: {e}"),
            });
        }
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| EnsureError::Suite {
        path: path.clone(),
        detail: format!("not a stream manifest: {e}"),
    })?;
    for (file, hash) in &manifest.files {
        match sha256_file(&dir.join(file)) {
            Ok(ours) if ours == *hash => {}
            Ok(_) => return Ok(Check::Regenerate(Box::new(manifest))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Check::Regenerate(Box::new(manifest)));
            }
            Err(source) => {
                return Err(WorldError::Io {
                    path: dir.join(file),
                    source,
                }
                .into());
            }
        }
    }
    Ok(Check::Whole)
}

/// Makes every stream of the suite in `suite` whole: see [`ensure_splits`].
///
/// # Errors
/// See [`ensure_splits`].
pub fn ensure(
    suite: &Path,
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Ensured, EnsureError> {
    ensure_splits(suite, &[], progress)
}

/// Makes the streams of `splits` (every split when empty) of the suite in `suite` whole:
/// each stream folder is checked against its manifest.json (the SHA-256 of each file), and
/// those with a file missing or different are generated again from the manifest's seed with
/// the suite's spec, on every core, into a stage, then moved in. One process at a time
/// generates (a lock file in the suite folder); a suite that is already whole is only read.
///
/// # Errors
/// suite.json or a manifest that cannot be read, a manifest from another generator version, a
/// regenerated file whose SHA-256 is not the manifest's, a folder that cannot be written, or a
/// stop from `progress` (streams in flight finish first).
pub fn ensure_splits(
    suite: &Path,
    splits: &[&str],
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Ensured, EnsureError> {
    ensure_where(
        suite,
        &|s| splits.is_empty() || splits.contains(&s.split.as_str()),
        progress,
    )
}

/// Makes one stream folder of a suite whole, when `stream` is one (a folder two levels under
/// a suite folder that lists it); `Ok(None)` when it is not a suite's stream.
///
/// # Errors
/// See [`ensure_splits`].
pub fn ensure_stream(
    stream: &Path,
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Option<Ensured>, EnsureError> {
    let Some(suite) = stream.parent().and_then(Path::parent) else {
        return Ok(None);
    };
    let Ok(folder) = stream.strip_prefix(suite) else {
        return Ok(None);
    };
    let folder = folder.to_string_lossy().replace('\\', "/");
    if !suite.join("suite.json").is_file()
        || !read_manifest(suite)?
            .streams
            .iter()
            .any(|s| s.folder == folder)
    {
        return Ok(None);
    }
    ensure_where(suite, &|s| s.folder == folder, progress).map(Some)
}

fn ensure_where(
    suite: &Path,
    wanted: &dyn Fn(&StreamPlan) -> bool,
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Ensured, EnsureError> {
    let manifest = read_manifest(suite)?;
    let streams: Vec<StreamPlan> = manifest
        .streams
        .iter()
        .filter(|s| wanted(s))
        .cloned()
        .collect();
    let mut stale = check_all(suite, &streams, progress)?;
    if stale.is_empty() {
        return Ok(Ensured {
            present: streams.len(),
            generated: Vec::new(),
        });
    }
    // One generator at a time; a second process waits, then finds the streams made.
    let lock_path = suite.join(".ensure.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    lock.lock().map_err(io_err(&lock_path))?;
    let rechecked: Vec<StreamPlan> = stale.iter().map(|(p, _)| p.clone()).collect();
    stale = check_all(suite, &rechecked, progress)?;
    let scratch = suite.join(".ensure");
    let result = regenerate(suite, &manifest.spec, &scratch, &stale, progress);
    let _ = std::fs::remove_dir_all(&scratch);
    drop(lock);
    result?;
    Ok(Ensured {
        present: streams.len() - stale.len(),
        generated: stale.into_iter().map(|(p, _)| p.folder).collect(),
    })
}

/// The streams of `streams` that need generating, with their committed manifests.
fn check_all(
    suite: &Path,
    streams: &[StreamPlan],
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<Vec<(StreamPlan, Manifest)>, EnsureError> {
    let total = streams.len();
    if progress(&SuiteEvent::Checked { done: 0, total }).is_break() {
        return Err(EnsureError::Cancelled);
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut checks: Vec<Option<Result<Check, EnsureError>>> =
        streams.iter().map(|_| None).collect();
    let mut cancelled = false;
    std::thread::scope(|scope| {
        for _ in 0..workers(total) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(stream) = streams.get(i) else { break };
                    if tx
                        .send((i, check_stream(&suite.join(&stream.folder))))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (n, (i, check)) in rx.into_iter().enumerate() {
            checks[i] = Some(check);
            let done = n + 1;
            if progress(&SuiteEvent::Checked { done, total }).is_break() {
                cancelled = true;
                next.store(total, Ordering::SeqCst);
                break;
            }
        }
    });
    if cancelled {
        return Err(EnsureError::Cancelled);
    }
    let mut stale = Vec::new();
    for (stream, check) in streams.iter().zip(checks) {
        match check {
            Some(Ok(Check::Whole)) => {}
            Some(Ok(Check::Regenerate(m))) => stale.push((stream.clone(), *m)),
            Some(Err(e)) => return Err(e),
            None => return Err(EnsureError::Cancelled),
        }
    }
    Ok(stale)
}

/// Generates each stale stream into the stage, compares it with its committed manifest, and
/// moves its files into the stream folder.
fn regenerate(
    suite: &Path,
    spec: &SuiteSpec,
    scratch: &Path,
    stale: &[(StreamPlan, Manifest)],
    progress: &mut dyn FnMut(&SuiteEvent) -> ControlFlow<()>,
) -> Result<(), EnsureError> {
    for (stream, committed) in stale {
        if committed.version != GENERATOR_VERSION {
            return Err(EnsureError::Version {
                path: suite.join(&stream.folder).join("manifest.json"),
                committed: committed.version.clone(),
                ours: GENERATOR_VERSION.to_owned(),
            });
        }
    }
    let _ = std::fs::remove_dir_all(scratch);
    let plans: Vec<StreamPlan> = stale.iter().map(|(p, _)| p.clone()).collect();
    generate_parallel(
        &plans,
        &|stream, frames| {
            let Some((_, committed)) = stale.iter().find(|(p, _)| p.folder == stream.folder) else {
                return Ok(());
            };
            let name = stream.folder.replace('/', "-");
            let tmp = scratch.join(&name);
            let fresh = generate(spec, committed.seed, committed.duration_ms, &tmp, frames)?;
            let dir = suite.join(&stream.folder);
            for (file, hash) in &committed.files {
                let ours = fresh.files.get(file).cloned().unwrap_or_default();
                if ours != *hash {
                    return Err(EnsureError::Mismatch {
                        path: dir.join(file),
                        file: file.clone(),
                        ours,
                        committed: hash.clone(),
                        version: GENERATOR_VERSION.to_owned(),
                    });
                }
            }
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            for file in committed.files.keys() {
                let to = dir.join(file);
                std::fs::rename(tmp.join(file), &to).map_err(io_err(&to))?;
            }
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        },
        progress,
    )?;
    Ok(())
}

/// The suite folders under `dir`: `dir` itself when it holds suite.json, else its
/// sub-folders that do (sorted).
#[must_use]
pub fn suite_dirs(dir: &Path) -> Vec<PathBuf> {
    if dir.join("suite.json").is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("suite.json").is_file())
        .collect();
    out.sort();
    out
}

/// A markdown table of the suites' sizes and question counts per type and split (train /
/// validation / test), for datasets/README.md.
#[must_use]
pub fn markdown_table(suites: &[SuiteManifest]) -> String {
    let row = |label: String, cells: Vec<String>| format!("| {label} | {} |", cells.join(" | "));
    let per_suite = |f: &dyn Fn(&SuiteManifest) -> String| suites.iter().map(f).collect::<Vec<_>>();
    let per_split = |f: &dyn Fn(&str) -> usize| {
        SPLITS
            .iter()
            .map(|split| f(split).to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let mut types: Vec<&String> = suites
        .iter()
        .flat_map(|s| s.questions_per_type.keys())
        .collect();
    types.sort();
    types.dedup();
    let mut lines = vec![
        row(
            "task type (train / validation / test)".to_owned(),
            per_suite(&|s| s.suite.clone()),
        ),
        row("---".to_owned(), per_suite(&|_| "---:".to_owned())),
    ];
    for t in types {
        lines.push(row(
            t.clone(),
            per_suite(&|s| {
                per_split(&|split| {
                    s.questions_per_split
                        .get(split)
                        .and_then(|m| m.get(t))
                        .copied()
                        .unwrap_or(0)
                })
            }),
        ));
    }
    lines.push(row(
        "**all questions**".to_owned(),
        per_suite(&|s| {
            format!(
                "**{}**",
                per_split(&|split| {
                    s.questions_per_split
                        .get(split)
                        .map_or(0, |m| m.values().sum())
                })
            )
        }),
    ));
    lines.push(row(
        "streams".to_owned(),
        per_suite(&|s| per_split(&|split| s.streams.iter().filter(|p| p.split == split).count())),
    ));
    lines.push(row(
        "minutes of video".to_owned(),
        per_suite(&|s| format!("{:.0}", s.minutes)),
    ));
    lines.push(row(
        "videos committed".to_owned(),
        per_suite(&|s| {
            per_split(&|split| {
                s.streams
                    .iter()
                    .filter(|p| p.split == split && p.committed)
                    .count()
            })
        }),
    ));
    lines.push(row(
        "size generated (MB)".to_owned(),
        per_suite(&|s| format!("{:.1}", s.bytes as f64 / 1e6)),
    ));
    lines.push(row(
        "size committed (MB)".to_owned(),
        per_suite(&|s| format!("{:.1}", s.committed_bytes as f64 / 1e6)),
    ));
    lines.join("\n") + "\n"
}
