//! The headless side of the binary: `probe`, `frames` and `bench`, built on the same library
//! as the GUI. Errors in what the user supplied exit with code 2 and one line naming the file.

mod bench;
mod eval;
mod ingest;
mod perception;
mod phase2;
mod train;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::timefmt::parse_time_ns;
use crate::video::{NS_PER_MS, OpenOptions, VideoError, VideoIndex, VideoSource, demux_file};

#[derive(Parser, Debug)]
#[command(
    name = "taskmem",
    version,
    about = "TaskMem Studio: task-focused memorization workbench"
)]
pub struct Cli {
    /// A video to open in the GUI (no subcommand).
    pub video: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print what a video file holds, as one JSON object.
    Probe { video: PathBuf },
    /// Write frames as PNG files named by their presentation time in ms.
    Frames {
        video: PathBuf,
        /// Comma-separated times, e.g. `1.5s,12s`.
        #[arg(
            long,
            value_delimiter = ',',
            conflicts_with = "every",
            required_unless_present = "every"
        )]
        at: Vec<String>,
        /// One frame every this long, e.g. `10s`.
        #[arg(long)]
        every: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure speed and memory against references measured in the same run.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// Import memory made elsewhere into a project folder (created if missing).
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Export from a project.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// The synthetic streaming world.
    World {
        #[command(subcommand)]
        what: WorldCommand,
    },
    /// Memorize a whole video with a policy into a lane of a project (created if missing).
    Ingest(ingest::IngestArgs),
    /// Answer tasks from memory alone at their ask times; write results, summary and charts.
    Eval(eval::EvalArgs),
    /// Redraw an evaluation's chart as PNG or SVG.
    Chart(eval::ChartArgs),
    /// Two evaluation runs side by side: per task type, and each question whose answer
    /// changed, with the memory entries each answer used.
    Compare(eval::CompareArgs),
    /// Render a view of the app on a project offscreen (no window or display needed) to a PNG.
    Screenshot {
        #[arg(long)]
        project: PathBuf,
        #[arg(long, value_enum, default_value = "timeline")]
        view: crate::app::screenshot::View,
        /// Width x height in pixels.
        #[arg(long, default_value = "1600x900")]
        size: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Train the built-in memorization policy.
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Supervised warm-up then Phase One GRPO on a suite's train streams, judged on its test
    /// streams.
    Phase1(train::Phase1Args),
    /// A model's held-out quality on a suite's test streams, claim by claim.
    Judge(train::JudgeArgs),
    /// Pretrains the perception encoder on scenes made on the fly; checkpoints, `--resume`,
    /// and a held-out report per attribute.
    Perception(perception::PerceptionArgs),
    /// A perception encoder on a suite split's decoded frames, attribute by attribute.
    PerceptionCheck(perception::PerceptionCheckArgs),
    /// Phase Two: a steering adapter tuned with DPO on pairs judged against the recent
    /// tasks of a type.
    Phase2(Box<phase2::Phase2Args>),
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// TaskMem's output folder: `episodic_<tag>.json` files and per-clip `<clip_id>/` folders.
    TaskmemOutput {
        dir: PathBuf,
        #[arg(long)]
        project: PathBuf,
        /// Stream id (default: the folder's name).
        #[arg(long)]
        stream: Option<String>,
        /// Clip length: clip id k is [k x interval, (k+1) x interval).
        #[arg(long, default_value = "10s")]
        interval: String,
        /// Processing delay: an entry becomes available this long after its clip ends.
        #[arg(long, default_value = "0s")]
        delay: String,
    },
    /// The TaskMem project page's demo file (`taskmem_demo_memories.json`).
    Demo {
        file: PathBuf,
        #[arg(long)]
        project: PathBuf,
    },
    /// A synthetic-world stream folder: its reference descriptions as a lane over its video,
    /// its questions at their ask times.
    World {
        dir: PathBuf,
        #[arg(long)]
        project: PathBuf,
    },
    /// EgoRAG caption records (`{start_time, end_time, text, date, video_path}`).
    Egorag {
        file: PathBuf,
        #[arg(long)]
        project: PathBuf,
        #[arg(long, default_value = "EgoRAG captions")]
        lane: String,
    },
    /// Benchmark questions as tasks, one task set per video: Video-MME (flat or nested JSON,
    /// or its parquet), EgoLifeQA, EgoTempo, M3-Bench, a question-per-line file, or our own
    /// jsonl/parquet/csv export. The format is recognised from the file unless `--format`
    /// says it.
    Tasks {
        file: PathBuf,
        /// The file's format (default: recognised from its name and content).
        #[arg(long, value_enum)]
        format: Option<TaskFileFormat>,
        #[arg(long)]
        project: PathBuf,
        /// Only this video's tasks; the stream of a lines file (default: the file's stem);
        /// for EgoLifeQA an identity, or the stream when the file has one wearer.
        #[arg(long)]
        video: Option<String>,
        /// EgoLifeQA: stream time from one DAY to the next.
        #[arg(long, default_value = "24h")]
        day_offset: String,
        /// Put every question on this stream of the project (asked at its end when the file
        /// has no ask times); each keeps the stream it came with among its extra fields.
        #[arg(long, value_name = "STREAM")]
        onto: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskFileFormat {
    #[value(name = "videomme")]
    VideoMme,
    #[value(name = "egolife")]
    EgoLife,
    #[value(name = "egotempo")]
    EgoTempo,
    #[value(name = "m3bench")]
    M3Bench,
    Lines,
    Jsonl,
    Parquet,
    Csv,
}

impl From<TaskFileFormat> for crate::tasks::import::TaskFormat {
    fn from(format: TaskFileFormat) -> Self {
        match format {
            TaskFileFormat::VideoMme => Self::VideoMme,
            TaskFileFormat::EgoLife => Self::EgoLife,
            TaskFileFormat::EgoTempo => Self::EgoTempo,
            TaskFileFormat::M3Bench => Self::M3Bench,
            TaskFileFormat::Lines => Self::Lines,
            TaskFileFormat::Jsonl => Self::Jsonl,
            TaskFileFormat::Parquet => Self::Parquet,
            TaskFileFormat::Csv => Self::Csv,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskExportFormat {
    Jsonl,
    Parquet,
    Csv,
    /// TaskMem's question file, one question per line.
    Lines,
}

impl From<TaskExportFormat> for crate::tasks::export::ExportFormat {
    fn from(format: TaskExportFormat) -> Self {
        match format {
            TaskExportFormat::Jsonl => Self::Jsonl,
            TaskExportFormat::Parquet => Self::Parquet,
            TaskExportFormat::Csv => Self::Csv,
            TaskExportFormat::Lines => Self::Lines,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryFormat {
    Jsonl,
    Parquet,
    Taskmem,
    QaText,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Memory entries as JSONL, Parquet, TaskMem's episodic_<tag>.json, or the QA text.
    Memory {
        #[arg(long)]
        project: PathBuf,
        #[arg(long, value_enum)]
        format: MemoryFormat,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        stream: Option<String>,
        #[arg(long)]
        lane: Option<String>,
    },
    /// Tasks as JSONL, Parquet, CSV, or TaskMem's question file (one question per line).
    Tasks {
        #[arg(long)]
        project: PathBuf,
        #[arg(long, value_enum)]
        format: TaskExportFormat,
        #[arg(long)]
        out: PathBuf,
        /// Only tasks of this type.
        #[arg(long = "type")]
        task_type: Option<String>,
        /// Only this video's (stream's) tasks.
        #[arg(long)]
        video: Option<String>,
    },
    /// Phase Two's preference pairs (prompt, chosen, rejected and clip references) as Parquet.
    Pairs(Box<phase2::PairsArgs>),
}

#[derive(Subcommand, Debug)]
pub enum WorldCommand {
    /// Write video.mp4, truth.jsonl, tasks.jsonl and manifest.json for one stream.
    Generate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Length of the stream in minutes (fractions allowed).
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        /// world-mme, world-life or world-tempo.
        #[arg(long, default_value = "world-mme")]
        suite: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Regenerate shipped suites (world-mme, world-life, world-tempo, or all) into a folder,
    /// one sub-folder per suite (train, validation and test streams, suite.json, .gitignore),
    /// and print the question counts as a markdown table.
    Suite {
        /// A suite name, or `all`.
        name: String,
        #[arg(long, default_value = "datasets")]
        out: PathBuf,
    },
    /// Check a suite's streams against their committed manifests (SHA-256 of each file) and
    /// generate the missing ones (the videos the repository does not hold), byte for byte.
    /// Refuses when this build's generator makes other bytes than the manifests name.
    Ensure {
        /// A suite folder (with suite.json), a folder of suites, or a shipped suite's name
        /// (default: every shipped suite).
        dir: Option<PathBuf>,
        /// Only these splits (train, validation, test; comma-separated; default: all).
        #[arg(long, value_delimiter = ',')]
        split: Vec<String>,
    },
}

/// Failure of a headless command: bad input (exit 2) or anything else (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    World(#[from] crate::world::WorldError),
    #[error(transparent)]
    Import(#[from] crate::memory::import::ImportError),
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    TaskImport(#[from] crate::tasks::import::TaskImportError),
    #[error(transparent)]
    TaskExport(#[from] crate::tasks::export::TaskExportError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        use crate::world::WorldError;
        match self {
            // What the user supplied (a file, a folder to write, a suite name): theirs to fix.
            Self::Video(VideoError::Io { source, .. })
                if !matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                1
            }
            Self::Video(_)
            | Self::BadInput(_)
            | Self::Import(_)
            | Self::Project(_)
            | Self::TaskImport(_)
            | Self::TaskExport(_)
            | Self::World(
                WorldError::Io { .. }
                | WorldError::UnknownSuite(_)
                // A video that cannot be written (a full disk) names its file, as Io does.
                | WorldError::Encode(crate::video::EncodeError::Io { .. }),
            ) => 2,
            Self::World(_) | Self::Other(_) => 1,
        }
    }
}

/// Runs a subcommand, printing its output to stdout.
pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Probe { video } => {
            let probe = probe(&video)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&probe).map_err(anyhow::Error::from)?
            );
            Ok(())
        }
        Command::Frames {
            video,
            at,
            every,
            out,
        } => {
            let written = write_frames(&video, &at, every.as_deref(), &out)?;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Bench { what } => bench::run(what),
        Command::World {
            what:
                WorldCommand::Generate {
                    seed,
                    minutes,
                    suite,
                    out,
                },
        } => {
            if !(minutes.is_finite() && minutes > 0.0 && minutes <= 24.0 * 60.0) {
                return Err(CliError::BadInput(format!(
                    "--minutes must be between 0 and 1440, got {minutes}"
                )));
            }
            let spec = crate::world::SuiteSpec::named(&suite)
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            let duration_ms = (minutes * 60_000.0).round() as i64;
            let manifest =
                crate::world::generate(&spec, seed, duration_ms, &out, &mut |done, total| {
                    eprint!("\rrendering {done}/{total} frames");
                })?;
            eprintln!();
            println!(
                "{}",
                serde_json::to_string_pretty(&manifest).map_err(anyhow::Error::from)?
            );
            Ok(())
        }
        Command::World {
            what: WorldCommand::Suite { name, out },
        } => regenerate_suites(&name, &out),
        Command::World {
            what: WorldCommand::Ensure { dir, split },
        } => ensure_suites(dir.as_deref(), &split),
        Command::Train {
            what: TrainCommand::Phase1(args),
        } => train::phase1(&args),
        Command::Train {
            what: TrainCommand::Judge(args),
        } => train::judge(&args),
        Command::Train {
            what: TrainCommand::Perception(args),
        } => perception::perception(&args),
        Command::Train {
            what: TrainCommand::PerceptionCheck(args),
        } => perception::perception_check(&args),
        Command::Train {
            what: TrainCommand::Phase2(args),
        } => phase2::phase2(&args),
        Command::Export {
            what: ExportCommand::Pairs(args),
        } => phase2::export_pairs(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Chart(args) => eval::chart(&args),
        Command::Compare(args) => eval::compare(&args),
        Command::Screenshot {
            project,
            view,
            size,
            out,
        } => {
            let size = eval::parse_size(&size)?;
            crate::app::screenshot::screenshot(&project, view, size, &out).map_err(
                |e| match e {
                    crate::app::screenshot::ScreenshotError::Render(_) => {
                        CliError::Other(anyhow::Error::new(e))
                    }
                    other => CliError::BadInput(other.to_string()),
                },
            )?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Import { what } => import(what),
        Command::Export {
            what:
                ExportCommand::Memory {
                    project,
                    format,
                    out,
                    stream,
                    lane,
                },
        } => export_memory(&project, format, &out, stream.as_deref(), lane.as_deref()),
        Command::Export {
            what:
                ExportCommand::Tasks {
                    project,
                    format,
                    out,
                    task_type,
                    video,
                },
        } => export_tasks(
            &project,
            format.into(),
            &out,
            task_type.as_deref(),
            video.as_deref(),
        ),
    }
}

fn regenerate_suites(name: &str, out: &Path) -> Result<(), CliError> {
    use crate::world::suite::{SUITES, generate_suite, markdown_table};
    let names: Vec<&str> = if name == "all" {
        SUITES.to_vec()
    } else if SUITES.contains(&name) {
        vec![name]
    } else {
        return Err(CliError::BadInput(format!(
            "unknown suite '{name}' (known: {}, all)",
            SUITES.join(", ")
        )));
    };
    let mut manifests = Vec::new();
    for suite in names {
        let started = std::time::Instant::now();
        let mut bar = SuiteBar::new();
        let manifest = generate_suite(suite, &out.join(suite), &mut |event| {
            bar.show(event);
            ControlFlow::Continue(())
        })
        .map_err(ensure_error)?;
        eprintln!(
            "{suite}: {} streams, {:.0} minutes of video in {:.1} s",
            manifest.streams.len(),
            manifest.minutes,
            started.elapsed().as_secs_f64()
        );
        manifests.push(manifest);
    }
    print!("{}", markdown_table(&manifests));
    Ok(())
}

/// A suite error in the CLI's terms: the folder's content is the user's to fix (exit 2).
fn ensure_error(e: crate::world::suite::EnsureError) -> CliError {
    match e {
        crate::world::suite::EnsureError::World(e) => CliError::World(e),
        other => CliError::BadInput(other.to_string()),
    }
}

/// `taskmem world ensure`: every suite under `dir` (default: the shipped datasets) made whole.
fn ensure_suites(dir: Option<&Path>, splits: &[String]) -> Result<(), CliError> {
    use crate::world::suite::{SPLITS, ensure_splits, suite_dirs};
    for split in splits {
        if !SPLITS.contains(&split.as_str()) {
            return Err(CliError::BadInput(format!(
                "--split {split}: not a split (known: {})",
                SPLITS.join(", ")
            )));
        }
    }
    let dir = dir.map_or_else(
        || crate::demo::shipped("datasets"),
        crate::eval::replay::suite_folder,
    );
    let suites = suite_dirs(&dir);
    if suites.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: no suite.json there or in its sub-folders",
            dir.display()
        )));
    }
    let splits: Vec<&str> = splits.iter().map(String::as_str).collect();
    for suite in suites {
        let started = std::time::Instant::now();
        let mut bar = SuiteBar::new();
        let ensured = ensure_splits(&suite, &splits, &mut |event| {
            bar.show(event);
            ControlFlow::Continue(())
        })
        .map_err(ensure_error)?;
        println!(
            "{}: {} streams whole, {} generated, in {:.1} s",
            suite.display(),
            ensured.present,
            ensured.generated.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The progress bar of suite generation and checking: streams checked, then frames made.
pub(crate) struct SuiteBar {
    bar: ingest::Bar,
    checking: bool,
    last: (usize, usize),
}

impl SuiteBar {
    pub(crate) fn new() -> Self {
        use std::io::IsTerminal as _;
        Self {
            bar: ingest::Bar {
                terminal: std::io::stderr().is_terminal(),
                last_tenth: 0,
            },
            checking: true,
            last: (0, 0),
        }
    }

    pub(crate) fn show(&mut self, event: &crate::world::suite::SuiteEvent) {
        use crate::world::suite::SuiteEvent;
        let checking = matches!(event, SuiteEvent::Checked { .. });
        if checking != self.checking {
            self.checking = checking;
            self.bar.last_tenth = 0;
        }
        let (done, total) = event.fraction();
        if (done, total) == self.last {
            return;
        }
        self.last = (done, total);
        match event {
            // A whole suite is checked in well under a second: no bar for nothing to do.
            SuiteEvent::Checked { .. } if !self.bar.terminal => {}
            SuiteEvent::Checked { .. } => self.bar.show_in(done, total, "streams checked", ""),
            SuiteEvent::Generating { stream, .. } => {
                self.bar.show_in(done, total, "frames generated", stream);
            }
        }
    }
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Probe {
    pub path: String,
    pub container: String,
    pub codec: String,
    pub profile: Option<String>,
    pub width: u32,
    pub height: u32,
    pub duration_ms: i64,
    pub frame_count: usize,
    pub avg_fps: f64,
    pub keyframe_count: usize,
    pub has_b_frames: bool,
    pub vfr: bool,
}

impl Probe {
    #[must_use]
    pub fn of(index: &VideoIndex) -> Self {
        Self {
            path: index.path.display().to_string(),
            container: index.container().to_owned(),
            codec: index.codec.name().to_owned(),
            profile: index.codec.profile(),
            width: index.width,
            height: index.height,
            duration_ms: (index.duration_ns() + NS_PER_MS / 2) / NS_PER_MS,
            frame_count: index.frame_count(),
            avg_fps: (index.avg_fps() * 1000.0).round() / 1000.0,
            keyframe_count: index.keyframe_count(),
            has_b_frames: index.has_b_frames(),
            vfr: index.is_vfr(),
        }
    }
}

pub fn probe(video: &Path) -> Result<Probe, CliError> {
    Ok(Probe::of(&demux_file(video)?))
}

/// Decodes the frames shown at the given times (or at every `every`) and writes them as PNG.
pub fn write_frames(
    video: &Path,
    at: &[String],
    every: Option<&str>,
    out: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    let mut source = VideoSource::open(video, &OpenOptions::default())?;
    let index = Arc::clone(source.index());
    let times_ns: Vec<i64> = if let Some(every) = every {
        let step = parse_time_ns(every).map_err(|e| CliError::BadInput(format!("--every: {e}")))?;
        if step <= 0 {
            return Err(CliError::BadInput(
                "--every must be longer than 0".to_owned(),
            ));
        }
        let count = (index.duration_ns() + step - 1) / step;
        (0..count).map(|i| i * step).collect()
    } else {
        at.iter()
            .map(|t| parse_time_ns(t).map_err(|e| CliError::BadInput(format!("--at: {e}"))))
            .collect::<Result<_, _>>()?
    };
    for &t in &times_ns {
        if t > index.duration_ns() {
            return Err(CliError::BadInput(format!(
                "{}: time {} is past the end of the video ({} ms)",
                video.display(),
                t / NS_PER_MS,
                index.duration_ns() / NS_PER_MS
            )));
        }
    }
    let mut wanted: Vec<usize> = times_ns.iter().map(|&t| index.frame_at(t)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut written = Vec::new();
    // What this run made, taken away again when it fails: frames written as far as the
    // failure would be a folder that looks whole but is not.
    let mut made = Made::default();
    let result = decode_frames(&mut source, &index, &wanted, out, &mut written, &mut made);
    if result.is_err() {
        for path in &made.files {
            let _ = std::fs::remove_file(path);
        }
        if let Some(top) = &made.top {
            crate::fsutil::remove_created(top, out);
        }
    }
    result.map(|()| written)
}

/// What `frames` made: the output folder (once made, and the outermost folder it created),
/// and the files that were not there before.
#[derive(Default)]
struct Made {
    folder: bool,
    top: Option<PathBuf>,
    files: Vec<PathBuf>,
}

/// Decodes the `wanted` frames and writes each as a PNG in `out`, made when the first frame
/// is ready: `written` gets every frame, `made` what was not there before.
fn decode_frames(
    source: &mut VideoSource,
    index: &VideoIndex,
    wanted: &[usize],
    out: &Path,
    written: &mut Vec<PathBuf>,
    made: &mut Made,
) -> Result<(), CliError> {
    let mut gops: Vec<usize> = wanted.iter().map(|&f| index.frames[f].gop).collect();
    gops.dedup();
    for gop in gops {
        let mut result = Ok(());
        source.decode_gop(gop, &mut |frame, picture| {
            if wanted.binary_search(&frame).is_ok() {
                let pts_ns = index.frames[frame].pts_ns;
                let path = out.join(format!("{:09}.png", (pts_ns + NS_PER_MS / 2) / NS_PER_MS));
                let decoded = picture.to_frame(frame, pts_ns);
                // The folder is made only once there is a picture to put in it, so a video
                // that fails to open or decode leaves nothing behind.
                let folder = if made.folder {
                    Ok(())
                } else {
                    crate::fsutil::create_dir_all_new(out)
                        .map(|top| {
                            made.folder = true;
                            made.top = top;
                        })
                        .map_err(|e| {
                            CliError::BadInput(format!(
                                "{}: cannot create the folder: {e}",
                                out.display()
                            ))
                        })
                };
                let new_file = !path.exists();
                match folder
                    .and_then(|()| write_png(&path, decoded.width, decoded.height, &decoded.rgba))
                {
                    Ok(()) => {
                        if new_file {
                            made.files.push(path.clone());
                        }
                        written.push(path);
                    }
                    Err(e) => {
                        result = Err(e);
                        return ControlFlow::Break(());
                    }
                }
            }
            let last_wanted_here = wanted
                .iter()
                .rev()
                .find(|&&f| index.frames[f].gop == gop)
                .copied();
            if Some(frame) >= last_wanted_here {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        result?;
    }
    Ok(())
}

/// Writes a PNG next to its final name, then renames, so a reader never sees half a file.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("png.tmp");
    let result = image::save_buffer_with_format(
        &tmp,
        rgba,
        width,
        height,
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|e| e.to_string())
    .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        // A full disk stops the PNG part way: its temp file goes too.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| CliError::BadInput(format!("{}: cannot write PNG: {e}", path.display())))
}

fn import(what: ImportCommand) -> Result<(), CliError> {
    use crate::memory::import;
    let (project_dir, imported) = match what {
        ImportCommand::TaskmemOutput {
            dir,
            project,
            stream,
            interval,
            delay,
        } => {
            let ms = |text: &str, what: &str| {
                parse_time_ns(text)
                    .map(|ns| ns / NS_PER_MS)
                    .map_err(|e| CliError::BadInput(format!("--{what}: {e}")))
            };
            let interval_ms = ms(&interval, "interval")?;
            if interval_ms <= 0 {
                return Err(CliError::BadInput(
                    "--interval must be longer than 0".to_owned(),
                ));
            }
            let stream = stream.unwrap_or_else(|| {
                dir.file_name()
                    .map_or_else(|| "stream".to_owned(), |n| n.to_string_lossy().into_owned())
            });
            let imported =
                import::taskmem_output(&dir, &stream, interval_ms, ms(&delay, "delay")?)?;
            (project, imported)
        }
        ImportCommand::Demo { file, project } => (project, import::demo_file(&file)?),
        ImportCommand::World { dir, project } => (project, import::world_stream(&dir)?),
        ImportCommand::Egorag {
            file,
            project,
            lane,
        } => (project, import::egorag_captions(&file, &lane)?),
        ImportCommand::Tasks {
            file,
            format,
            project,
            video,
            day_offset,
            onto,
        } => {
            return import_tasks(
                &file,
                format.map(Into::into),
                &project,
                (video.as_deref(), onto.as_deref()),
                &day_offset,
            );
        }
    };
    let (streams, lanes) = (imported.streams.len(), imported.lanes.len());
    let existed = project_dir.join("project.json").exists();
    let mut project = crate::project::Project::open_or_create(&project_dir)?;
    // All or nothing, and entries the project already holds (a rerun) are not added again.
    let count = match project.add_imported_counted(imported) {
        Ok(count) => count,
        Err(e) => {
            if !existed {
                // A project this run made holds nothing: it goes too.
                ingest::discard_if_empty(&project_dir);
            }
            return Err(e.into());
        }
    };
    let already = if count.already > 0 {
        format!("; {} already there and skipped", count.already)
    } else {
        String::new()
    };
    println!(
        "imported {} memory entries, {streams} streams, {lanes} lanes into {} ({} entries in all{already})",
        count.added,
        project_dir.display(),
        project.memory.len()
    );
    Ok(())
}

fn export_memory(
    project_dir: &Path,
    format: MemoryFormat,
    out: &Path,
    stream: Option<&str>,
    lane: Option<&str>,
) -> Result<(), CliError> {
    use crate::memory::export;
    // Never over the project's own files (project.json, a lane file, the task log...).
    crate::fsutil::check_export_target(project_dir, out)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let project = crate::project::Project::open(project_dir)?;
    let entries: Vec<_> = project
        .memory
        .entries()
        .iter()
        .filter(|e| stream.is_none_or(|s| e.stream == s) && lane.is_none_or(|l| e.lane == l))
        .cloned()
        .collect();
    if format == MemoryFormat::Parquet {
        export::write_parquet(&entries, &project.labels, out)
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        println!("exported {} entries to {}", entries.len(), out.display());
        return Ok(());
    }
    let text = match format {
        MemoryFormat::Jsonl | MemoryFormat::Parquet => {
            export::to_jsonl_labeled(&entries, &project.labels)
        }
        MemoryFormat::QaText => export::to_qa_text(&entries),
        MemoryFormat::Taskmem => {
            let pairs: std::collections::BTreeSet<(&str, &str)> = entries
                .iter()
                .map(|e| (e.stream.as_str(), e.lane.as_str()))
                .collect();
            if pairs.len() > 1 {
                return Err(CliError::BadInput(format!(
                    "{}: TaskMem's episodic file holds one lane of one stream; choose --stream and --lane ({} pairs found)",
                    project_dir.display(),
                    pairs.len()
                )));
            }
            export::to_taskmem_episodic(&entries, project.manifest.settings.clip_ms)
        }
    };
    crate::fsutil::write_atomic(out, text.as_bytes())
        .map_err(|e| CliError::BadInput(format!("{}: cannot write: {e}", out.display())))?;
    println!("exported {} entries to {}", entries.len(), out.display());
    Ok(())
}

/// The first five names, then "..." when there are more.
fn first_few(names: &[String]) -> String {
    let mut text = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        text.push_str(", ...");
    }
    text
}

/// A question file's tasks, in the format `--format` names or (without it) the one
/// recognised from the file.
fn read_task_file(
    file: &Path,
    format: Option<crate::tasks::import::TaskFormat>,
    options: &crate::tasks::import::ImportOptions,
) -> Result<crate::tasks::import::ImportedTasks, CliError> {
    use crate::tasks::import::{FORMAT_NAMES, TaskImportError, detect_format, import_bytes};
    let bytes = std::fs::read(file).map_err(|source| TaskImportError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let format = match format.or_else(|| detect_format(file, &bytes)) {
        Some(detected) if format.is_none() => {
            println!(
                "{}: read as {} (recognised from the file; --format says otherwise)",
                file.display(),
                detected.source_name()
            );
            detected
        }
        Some(format) => format,
        None => {
            return Err(CliError::BadInput(format!(
                "{}: cannot tell which question format this is; give --format with one of: {FORMAT_NAMES}",
                file.display()
            )));
        }
    };
    Ok(import_bytes(file, &bytes, format, options)?)
}

/// `taskmem import tasks`: the file's tasks into the project's task library. A task whose
/// (stream, id) the project already has is skipped when it is the same (re-importing a file
/// changes nothing) and refused, before anything is written, when it differs.
fn import_tasks(
    file: &Path,
    format: Option<crate::tasks::import::TaskFormat>,
    project_dir: &Path,
    (video, onto): (Option<&str>, Option<&str>),
    day_offset: &str,
) -> Result<(), CliError> {
    use crate::tasks::TaskEvent;
    use crate::tasks::import::ImportOptions;
    let day_offset_ms = parse_time_ns(day_offset)
        .map(|ns| ns / NS_PER_MS)
        .map_err(|e| CliError::BadInput(format!("--day-offset: {e}")))?;
    if day_offset_ms <= 0 {
        return Err(CliError::BadInput(
            "--day-offset must be longer than 0".to_owned(),
        ));
    }
    let options = ImportOptions {
        video: video.map(str::to_owned),
        day_offset_ms,
    };
    let mut imported = read_task_file(file, format, &options)?;
    let existed = project_dir.join("project.json").exists();
    let mut project = crate::project::Project::open_or_create(project_dir)?;
    let project_streams: Vec<String> = project
        .manifest
        .streams
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let mut hint = None;
    if let Some(onto) = onto {
        if !project_streams.iter().any(|s| s == onto) {
            if !existed {
                // A project this run made holds nothing: it goes too.
                ingest::discard_if_empty(project_dir);
            }
            return Err(CliError::BadInput(format!(
                "{}: --onto {onto}: {} has no such stream{}",
                file.display(),
                project_dir.display(),
                if project_streams.is_empty() {
                    String::new()
                } else {
                    format!(" (it has: {})", first_few(&project_streams))
                }
            )));
        }
        imported.attach_to(onto);
    } else if !project_streams.is_empty()
        && !imported.tasks.is_empty()
        && imported
            .streams()
            .iter()
            .all(|s| !project_streams.contains(s))
    {
        // What the app offers in its import window, said here: made-up streams at
        // 00:00:00 are rarely what was meant.
        hint = Some(format!(
            "none of these streams is in the project; --onto STREAM puts the questions on one of its streams ({})",
            first_few(&project_streams)
        ));
    }
    let asked_at_end = imported.asked_at_end;
    let unknown = {
        // A table, not a search of the streams per task (100,000 questions, 30,000 videos).
        let durations: std::collections::HashMap<&str, i64> = project
            .manifest
            .streams
            .iter()
            .rev()
            .map(|s| (s.id.as_str(), s.duration_ms))
            .collect();
        imported.ask_at_end(|id| durations.get(id).copied())
    };
    let streams = imported.streams();
    let (events, unchanged) = project.tasks.plan_import(imported.tasks).map_err(|e| {
        CliError::BadInput(format!(
            "{}: {e} ({})",
            file.display(),
            project_dir.display()
        ))
    })?;
    let warnings = events
        .iter()
        .filter_map(|e| match e {
            TaskEvent::Put { task } => task.validate().ok().filter(|w| !w.is_empty()),
            TaskEvent::Delete { .. } => None,
        })
        .count();
    // All or nothing: the log with the new lines replaces the old one in one rename.
    // A log that cannot be written (a full disk) is exit 2 like any other refusal: the message
    // names the file and says that nothing was imported.
    if let Err(e) = crate::tasks::log::commit(project_dir, &project.tasks, &events) {
        if !existed {
            // A project this run made holds nothing: it goes too.
            ingest::discard_if_empty(project_dir);
        }
        return Err(match e {
            crate::tasks::log::TaskLogError::Read { .. } => CliError::Other(anyhow::Error::new(e)),
            refused => CliError::BadInput(refused.to_string()),
        });
    }
    project.tasks.apply_all(&events);
    let named = if streams.len() <= 3 {
        format!(" ({})", streams.join(", "))
    } else {
        String::new()
    };
    println!(
        "imported {} tasks over {} streams{named} into {} ({unchanged} already there and unchanged; {} tasks in all)",
        events.len(),
        streams.len(),
        project_dir.display(),
        project.tasks.len()
    );
    if asked_at_end {
        let known = streams.len() - unknown.len();
        println!(
            "this format has no ask times: each question is asked at the end of its video ({known} streams with a known duration)"
        );
        if !unknown.is_empty() {
            println!(
                "{} streams are not in the project, so their tasks are asked at 0 until edited: {}",
                unknown.len(),
                first_few(&unknown)
            );
        }
    }
    if warnings > 0 {
        println!(
            "{warnings} tasks have evidence after their ask time or no answer (kept; see the task library)"
        );
    }
    if let Some(hint) = hint {
        println!("{hint}");
    }
    Ok(())
}

/// `taskmem export tasks`.
fn export_tasks(
    project_dir: &Path,
    format: crate::tasks::export::ExportFormat,
    out: &Path,
    task_type: Option<&str>,
    video: Option<&str>,
) -> Result<(), CliError> {
    crate::tasks::export::refuse_project_file(out, project_dir)?;
    let project = crate::project::Project::open(project_dir)?;
    let library = &project.tasks;
    let listed = |values: Vec<String>| {
        let mut text = values
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if values.len() > 8 {
            text.push_str(", ...");
        }
        if values.is_empty() {
            "none".to_owned()
        } else {
            text
        }
    };
    if let Some(video) = video
        && library.stream(video).next().is_none()
    {
        return Err(CliError::BadInput(format!(
            "{}: no tasks in stream {video} (streams with tasks: {})",
            project_dir.display(),
            listed(library.streams())
        )));
    }
    if let Some(t) = task_type
        && !library.tasks().iter().any(|task| task.task_type == t)
    {
        return Err(CliError::BadInput(format!(
            "{}: no tasks of type \"{t}\" (types: {})",
            project_dir.display(),
            listed(library.distinct(|task| task.task_type.clone()))
        )));
    }
    let tasks: Vec<crate::tasks::Task> = library
        .tasks()
        .iter()
        .filter(|t| {
            video.is_none_or(|v| t.stream == v) && task_type.is_none_or(|ty| t.task_type == ty)
        })
        .cloned()
        .collect();
    crate::tasks::export::write(&tasks, format, out, task_type)?;
    let streams = tasks
        .iter()
        .map(|t| t.stream.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "exported {} tasks over {streams} streams to {}",
        tasks.len(),
        out.display()
    );
    Ok(())
}
