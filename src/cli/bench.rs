//! `taskmem bench`: decode speed against ffmpeg, seek latency, and memory while playing, each
//! printed with a ratio against a reference measured in the same run.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::CliError;
use crate::timefmt::parse_time_ns;
use crate::video::worker::{DecoderConfig, DecoderHandle};
use crate::video::{
    NS_PER_MS, OpenOptions, VideoIndex, VideoSource, ffmpeg_path, parallel_decode_all,
};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Frames per second of the built-in decoder (one core, all cores) against ffmpeg -threads 1.
    Decode {
        video: PathBuf,
        /// Worker threads for the all-cores run (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Latency of random seeks: preview, exact frame, cached frame (p50/p95).
    Seek {
        video: PathBuf,
        #[arg(long, default_value_t = 60)]
        seeks: usize,
    },
    /// Time to generate a synthetic-world stream (and, with --suites, every shipped suite),
    /// against the floors (20 s for 10 minutes; 5 minutes for all suites).
    World {
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        #[arg(long)]
        suites: bool,
    },
    /// A project of many memory entries: time to open it and to search it, against the
    /// floors (2 s to open 100,000 entries; 50 ms per search).
    Store {
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
    },
    /// Tasks: importing synthetic Video-MME questions (against `serde_json` parsing the same
    /// bytes; floor 1 s for 10,000) and filtering the task library per keystroke (floor: one
    /// 16 ms frame).
    Tasks {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// The built-in policy: one clip memorized on one core (floor 100 ms) against the same
    /// decoder without its cache, and a whole world stream ingested on every core (floor 20x
    /// real time).
    Policy {
        /// A world stream's video (default: the bundled world-tempo test stream 00).
        #[arg(long)]
        video: Option<PathBuf>,
        /// A model folder (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Run only the one-core clip measurement (the bench starts itself this way, with
        /// `RAYON_NUM_THREADS=1`).
        #[arg(long, hide = true)]
        one_core_part: bool,
    },
    /// Streaming evaluation of every shipped suite's test streams with the built-in policy
    /// and two adapters (seeded steering vectors), against the floor (5 minutes).
    Eval {
        /// A model folder (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Phase Two: time to tune an adapter from the last 50 tasks (floor 60 s), and per task
    /// type, memory-only accuracy on the test streams with a type's adapter against the
    /// Phase One policy, averaged over seeds (floor +5 points).
    Phase2 {
        #[arg(long, default_value = "datasets/world-mme")]
        suite: PathBuf,
        /// Task types to tune adapters for (comma-separated; default: three of them).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "Attribute Perception,Temporal Perception,Action Recognition"
        )]
        types: Vec<String>,
        /// The policy tuned and measured (default: the shipped Phase One model); e.g. the
        /// shipped warm-up, whose samples state events, to see the loop where pairs exist.
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = 3)]
        seeds: u64,
    },
    /// The remote policy against a local server that answers in 200 ms: requests in flight,
    /// clips per second against concurrency x 4, and the memory a batch of queued clips costs.
    Remote {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Streams in the batch (copies of the bundled world-tempo test streams, 12 clips each).
        #[arg(long, default_value_t = 100)]
        streams: usize,
        #[arg(long, default_value_t = 200)]
        delay_ms: u64,
    },
    /// From launching the app (a first start: the demo project) to its first video frame,
    /// against the 1.5 s floor and against starting the binary alone. Needs a display (Xvfb).
    Launch {
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The headroom oracle: a split's questions answered from memories of true facts only
    /// (perfect perception) under a per-clip budget of 16, 24, 32 and 48 tokens, with a
    /// generic fact order (events first) and with the fact kinds of the question's task type
    /// first; prints the answerable share per task type for both.
    Budget {
        /// A suite folder (with suite.json) or a shipped suite's name (world-mme).
        #[arg(long, default_value = crate::eval::replay::DEFAULT_SUITE)]
        suite: PathBuf,
        /// A split that suite.json lists (train, validation, test).
        #[arg(long, default_value = "test")]
        split: String,
        /// Print one JSON object: suite, split, and per budget the shares (percent) per type
        /// and overall.
        #[arg(long)]
        json: bool,
    },
    /// Peak resident memory while playing through the file and seeking around it.
    Memory {
        video: PathBuf,
        /// Stream time played from each of several places in the file.
        #[arg(long, default_value = "20s")]
        play: String,
    },
}

pub fn run(command: BenchCommand) -> Result<(), CliError> {
    match command {
        BenchCommand::Decode { video, threads } => bench_decode(&video, threads),
        BenchCommand::Seek { video, seeks } => bench_seek(&video, seeks),
        BenchCommand::World { minutes, suites } => bench_world(minutes, suites),
        BenchCommand::Store { entries } => bench_store(entries),
        BenchCommand::Tasks { count } => bench_tasks(count),
        BenchCommand::Policy {
            video,
            model,
            one_core_part,
        } => bench_policy(video, model.as_deref(), one_core_part),
        BenchCommand::Eval { model } => bench_eval(model.as_deref()),
        BenchCommand::Remote {
            concurrency,
            streams,
            delay_ms,
        } => bench_remote(concurrency, streams, delay_ms),
        BenchCommand::Phase2 {
            suite,
            types,
            model,
            seeds,
        } => bench_phase2(&suite, &types, model.as_deref(), seeds),
        BenchCommand::Launch { runs } => bench_launch(runs),
        BenchCommand::Budget { suite, split, json } => bench_budget(&suite, &split, json),
        BenchCommand::Memory { video, play } => {
            let play_ns =
                parse_time_ns(&play).map_err(|e| CliError::BadInput(format!("--play: {e}")))?;
            bench_memory(&video, play_ns)
        }
    }
}

fn fps(frames: usize, elapsed: Duration) -> f64 {
    frames as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn bench_decode(video: &Path, threads: Option<usize>) -> Result<(), CliError> {
    let options = OpenOptions::default();
    let mut source = VideoSource::open(video, &options)?;
    let index = Arc::clone(source.index());
    let all_cores = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    println!(
        "video={} {}x{} frames={} gops={}",
        video.display(),
        index.width,
        index.height,
        index.frame_count(),
        index.keyframe_count()
    );

    // One core: every GOP in turn on this thread, each picture converted to RGB as ffmpeg does.
    let start = Instant::now();
    let mut frames = 0usize;
    let mut checksum = 0u64;
    for gop in 0..index.gops.len() {
        source.decode_gop(gop, &mut |_, picture| {
            let rgba = picture.to_rgba();
            checksum = checksum.wrapping_add(u64::from(rgba[rgba.len() / 2]));
            frames += 1;
            ControlFlow::Continue(())
        })?;
    }
    let one_core = fps(frames, start.elapsed());
    println!("ours_one_core_fps={one_core:.1} (frames={frames}, checksum={checksum})");

    let start = Instant::now();
    let decoded = parallel_decode_all(&index, all_cores, &options, &|_, picture| {
        std::hint::black_box(picture.to_rgba());
    })?;
    let all = fps(decoded, start.elapsed());
    println!("ours_all_cores_fps={all:.1} (threads={all_cores})");

    match ffmpeg_path() {
        Some(ffmpeg) => {
            let reference = ffmpeg_decode_fps(&ffmpeg, &index)?;
            println!("ffmpeg_threads1_fps={reference:.1}");
            println!("ratio_one_core={:.2}", one_core / reference);
            println!("ratio_all_cores={:.2}", all / reference);
        }
        None => {
            println!("ffmpeg not on PATH: no reference measured (install ffmpeg for the ratios)");
        }
    }
    Ok(())
}

/// Runs ffmpeg on one thread: `input_args` before `-i VIDEO`, `output_args` after it, the
/// first video stream decoded to RGB and thrown away. True if it succeeded.
fn run_ffmpeg_rgb(
    ffmpeg: &Path,
    video: &Path,
    input_args: &[&str],
    output_args: &[&str],
) -> std::io::Result<bool> {
    let status = Command::new(ffmpeg)
        .args(["-v", "error", "-nostdin", "-threads", "1"])
        .args(input_args)
        .arg("-i")
        .arg(video)
        .args(["-map", "0:v:0", "-threads", "1", "-filter_threads", "1"])
        .args(output_args)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"])
        .stdin(Stdio::null())
        .status()?;
    Ok(status.success())
}

/// ffmpeg decoding the same file to RGB on one thread; frames per second of wall time.
fn ffmpeg_decode_fps(ffmpeg: &Path, index: &VideoIndex) -> Result<f64, CliError> {
    let start = Instant::now();
    let ok = run_ffmpeg_rgb(ffmpeg, &index.path, &[], &["-fps_mode", "passthrough"])
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", ffmpeg.display()))?;
    if !ok {
        return Err(anyhow::anyhow!("ffmpeg failed on {}", index.path.display()).into());
    }
    Ok(fps(index.frame_count(), start.elapsed()))
}

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let rank = ((values.len() - 1) as f64 * p).round() as usize;
    values[rank]
}

fn wait_for<T>(timeout: Duration, mut poll: impl FnMut() -> Option<T>) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if poll().is_some() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    None
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn bench_seek(video: &Path, seeks: usize) -> Result<(), CliError> {
    let source = VideoSource::open(video, &OpenOptions::default())?;
    let index = Arc::clone(source.index());
    let mut handle = DecoderHandle::spawn(source, &DecoderConfig::default(), Arc::new(|| {}))
        .map_err(anyhow::Error::from)?;
    let start = Instant::now();
    while handle.preview_progress().0 < handle.preview_progress().1 {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "previews_built={} in {:.0} ms",
        handle.preview_progress().0,
        ms(start.elapsed())
    );
    let mut rng = Lcg(0x5EED);
    let (mut preview, mut exact, mut cached) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = Vec::new();
    let timeout = Duration::from_secs(10);
    for i in 0..seeks {
        let frame = rng.below(index.frame_count());
        handle.want(frame, frame);
        if let Some(d) = wait_for(timeout, || handle.preview(frame)) {
            preview.push(d);
        }
        // The exact latency counts from the request, like the preview's.
        let t0 = Instant::now();
        if wait_for(timeout, || handle.frame(frame)).is_some() {
            exact.push(t0.elapsed());
        }
        seen.push(frame);
        if i % 3 == 2 {
            let again = seen[seen.len() - 1 - rng.below(seen.len().min(3))];
            let t0 = Instant::now();
            handle.want(again, again);
            if wait_for(timeout, || handle.frame(again)).is_some() {
                cached.push(t0.elapsed());
            }
        }
    }
    let p95_exact = percentile(&mut exact, 0.95);
    println!(
        "preview_ms p50={:.2} p95={:.2} (floor 30)",
        ms(percentile(&mut preview, 0.5)),
        ms(percentile(&mut preview, 0.95))
    );
    println!(
        "exact_ms p50={:.1} p95={:.1} (floor 300)",
        ms(percentile(&mut exact, 0.5)),
        ms(p95_exact)
    );
    println!(
        "cached_ms p50={:.2} p95={:.2} (floor 20)",
        ms(percentile(&mut cached, 0.5)),
        ms(percentile(&mut cached, 0.95))
    );
    if let Some(ffmpeg) = ffmpeg_path() {
        // Reference: ffmpeg extracting the same kind of frame, accurate seek, one thread.
        let mut reference = Vec::new();
        for _ in 0..seeks.min(20) {
            let frame = rng.below(index.frame_count());
            let t_s = index.frames[frame].pts_ns as f64 / 1e9;
            let t0 = Instant::now();
            let start = format!("{t_s:.6}");
            let ok = run_ffmpeg_rgb(&ffmpeg, &index.path, &["-ss", &start], &["-frames:v", "1"])
                .unwrap_or(false);
            if ok {
                reference.push(t0.elapsed());
            }
        }
        let p95_ref = percentile(&mut reference, 0.95);
        println!("ffmpeg_seek_ms p95={:.1}", ms(p95_ref));
        println!(
            "ratio_exact_seek_p95_vs_ffmpeg={:.2}",
            ms(p95_ref) / ms(p95_exact).max(1e-6)
        );
    }
    Ok(())
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench_memory(video: &Path, play_ns: i64) -> Result<(), CliError> {
    const BUDGET_MB: f64 = 600.0;
    let source = VideoSource::open(video, &OpenOptions::default())?;
    let index = Arc::clone(source.index());
    let before = peak_rss_mb().unwrap_or(0.0);
    let mut handle = DecoderHandle::spawn(source, &DecoderConfig::default(), Arc::new(|| {}))
        .map_err(anyhow::Error::from)?;
    let start = Instant::now();
    let places = 6;
    let mut played = 0usize;
    for place in 0..places {
        let start_ns = index.duration_ns() * place / places;
        let first = index.frame_at(start_ns);
        let last = index.frame_at(start_ns + play_ns);
        // Play as fast as frames arrive, asking for half a second ahead as the app does.
        for frame in first..=last {
            let ahead = index.frame_at(index.frames[frame].pts_ns + 500 * NS_PER_MS);
            handle.want(frame, ahead);
            if wait_for(Duration::from_secs(10), || handle.frame(frame)).is_some() {
                played += 1;
            }
        }
    }
    // The preview cache is part of the steady state: let it finish.
    while handle.preview_progress().0 < handle.preview_progress().1 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (cached, cached_bytes) = handle.cached_frames();
    let peak = peak_rss_mb().unwrap_or(0.0);
    println!(
        "played_frames={played} in {:.1} s, previews={}/{}, cached_frames={cached} ({:.0} MB)",
        start.elapsed().as_secs_f64(),
        handle.preview_progress().0,
        handle.preview_progress().1,
        cached_bytes as f64 / 1e6
    );
    println!("rss_before_open_mb={before:.0}");
    println!("peak_rss_mb={peak:.0} (floor {BUDGET_MB:.0})");
    println!("ratio_peak_rss_vs_floor={:.2}", peak / BUDGET_MB);
    Ok(())
}

fn bench_world(minutes: f64, suites: bool) -> Result<(), CliError> {
    const FLOOR_10_MIN_S: f64 = 20.0;
    const FLOOR_SUITES_S: f64 = 300.0;
    let scratch = std::env::temp_dir().join(format!("taskmem-bench-world-{}", std::process::id()));
    let spec = crate::world::SuiteSpec::named("world-mme").map_err(|e| anyhow::anyhow!(e))?;
    let duration_ms = (minutes * 60_000.0).round() as i64;
    let start = Instant::now();
    let manifest = crate::world::generate(
        &spec,
        1,
        duration_ms,
        &scratch.join("stream"),
        &mut |_, _| {},
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let seconds = start.elapsed().as_secs_f64();
    let floor = FLOOR_10_MIN_S * minutes / 10.0;
    println!(
        "generate_stream minutes={minutes} frames={} seconds={seconds:.2} (floor {floor:.0} s)",
        manifest.duration_ms / crate::world::FRAME_MS
    );
    println!("ratio_stream_vs_floor={:.2}", seconds / floor);
    if suites {
        let start = Instant::now();
        for name in crate::world::suite::SUITES {
            crate::world::suite::generate_suite(name, &scratch.join(name), &mut |_| {
                std::ops::ControlFlow::Continue(())
            })
            .map_err(|e| anyhow::anyhow!(e))?;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!("regenerate_all_suites seconds={seconds:.1} (floor {FLOOR_SUITES_S:.0} s)");
        println!("ratio_suites_vs_floor={:.2}", seconds / FLOOR_SUITES_S);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn bench_store(count: usize) -> Result<(), CliError> {
    let scratch = std::env::temp_dir().join(format!("taskmem-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    crate::project::synthetic_project(&scratch, count)?;
    // Reference: reading the same bytes without parsing them, in the same run.
    let start = Instant::now();
    let mut bytes = 0;
    for entry in std::fs::read_dir(scratch.join("memory")).map_err(anyhow::Error::from)? {
        bytes += std::fs::read(entry.map_err(anyhow::Error::from)?.path())
            .map_err(anyhow::Error::from)?
            .len();
    }
    let read_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let project = crate::project::Project::open(&scratch)?;
    let open_s = start.elapsed().as_secs_f64();
    println!(
        "open entries={} bytes={bytes} seconds={open_s:.3} (floor 2 s; reading the files alone {read_s:.3} s)",
        project.memory.len()
    );
    println!(
        "ratio_open_vs_floor={:.2}",
        open_s / 2.0 * (100_000.0 / count.max(1) as f64)
    );
    let mut worst = Duration::ZERO;
    for query in ["red key", "garden bench phone", "<face_3>", "zebra"] {
        let start = Instant::now();
        let hits = project.memory.search(query).len();
        let took = start.elapsed();
        worst = worst.max(took);
        println!("search '{query}': {hits} hits in {:.1} ms", ms(took));
    }
    println!("ratio_search_vs_floor={:.2}", ms(worst) / 50.0);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// `count` Video-MME records in the flat (Hugging Face) schema, three questions per video,
/// as JSON text.
fn synthetic_videomme(count: usize) -> String {
    const WORDS: [&str; 24] = [
        "red",
        "socks",
        "fireplace",
        "tree",
        "apples",
        "candles",
        "berries",
        "kitchen",
        "man",
        "woman",
        "holding",
        "blue",
        "cup",
        "table",
        "window",
        "dog",
        "runs",
        "across",
        "street",
        "sign",
        "reads",
        "car",
        "green",
        "door",
    ];
    let types = &crate::tasks::KNOWN_TYPES[..12];
    let mut rng = Lcg(0x7A5C);
    let mut words = |n: usize| {
        (0..n)
            .map(|_| WORDS[rng.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let records: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let video = format!("{:03}", i / 3 + 1);
            let options: Vec<String> = ["A", "B", "C", "D"]
                .iter()
                .map(|l| format!("{l}. {}.", words(5)))
                .collect();
            let duration = ["short", "medium", "long"][i % 3];
            let answer = ["A", "B", "C", "D"][i % 4];
            serde_json::json!({
                "video_id": video,
                "duration": duration,
                "domain": "Knowledge",
                "sub_category": "Humanity & History",
                "url": format!("https://www.youtube.com/watch?v=v{i:010}"),
                "videoID": format!("v{i:010}"),
                "question_id": format!("{video}-{}", i % 3 + 1),
                "task_type": types[i % types.len()],
                "question": format!("When the {} appears, how many {}?", words(8), words(4)),
                "options": options,
                "answer": answer,
            })
        })
        .collect();
    serde_json::Value::Array(records).to_string()
}

/// The best of `runs` timings of `f`.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    match best {
        Some(b) => b,
        None => (Duration::ZERO, f()),
    }
}

fn bench_policy(
    video: Option<PathBuf>,
    model: Option<&Path>,
    one_core_part: bool,
) -> Result<(), CliError> {
    use crate::policy::BuiltinPolicy;
    use crate::policy::builtin::Sampling;
    use crate::policy::ingest::{ClipSampler, Memorizer, clip_spans, ingest};
    const FLOOR_CLIP_MS: f64 = 100.0;
    const FLOOR_REALTIME: f64 = 20.0;
    let video = video.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("datasets/world-tempo/test/world-tempo-test-00/video.mp4")
    });
    let load = || BuiltinPolicy::load(model).map_err(|e| CliError::BadInput(format!("{e:#}")));
    if !one_core_part {
        // Ingest on every core: decoding on its own thread, the policy on this one.
        let mut memorizer = Memorizer::new(Box::new(load()?), "bench", "bench");
        let start = Instant::now();
        let sampler = ClipSampler::open(&video)?;
        let duration_ms = sampler.duration_ms();
        let written = ingest(sampler, &mut memorizer, 10_000, &mut |_, _, _| {
            ControlFlow::Continue(())
        })
        .map_err(|e| CliError::BadInput(e.to_string()))?;
        let seconds = start.elapsed().as_secs_f64();
        let realtime = duration_ms as f64 / 1000.0 / seconds.max(1e-9);
        println!(
            "ingest {} clips={written} stream_seconds={:.0} seconds={seconds:.2} realtime={realtime:.1}x (floor {FLOOR_REALTIME:.0}x)",
            video.display(),
            duration_ms as f64 / 1000.0
        );
        println!(
            "ratio_ingest_realtime_vs_floor={:.2}",
            realtime / FLOOR_REALTIME
        );
        // The clip measurement runs in a child limited to one core: candle reads the thread
        // count from the environment.
        let exe = std::env::current_exe().map_err(anyhow::Error::from)?;
        let mut child = Command::new(exe);
        child
            .args(["bench", "policy", "--one-core-part", "--video"])
            .arg(&video)
            .env("RAYON_NUM_THREADS", "1");
        if let Some(model) = model {
            child.arg("--model").arg(model);
        }
        let status = child.status().map_err(anyhow::Error::from)?;
        if !status.success() {
            return Err(CliError::Other(anyhow::anyhow!(
                "the one-core run failed: {status}"
            )));
        }
        return Ok(());
    }
    let policy = load()?;
    let cfg = policy.model().config().clone();
    let mut sampler = ClipSampler::open(&video)?;
    let spans = clip_spans(sampler.duration_ms(), 10_000);
    // Frames decoded beforehand (decoding is excluded); the model's input, the perception
    // encoder's pass included for a v2 model, is timed with the clip.
    let mut clips = Vec::with_capacity(spans.len());
    for &(start_ms, end_ms) in &spans {
        clips.push(sampler.frames(start_ms, end_ms, cfg.frames_per_clip)?);
    }
    let time_all = |cached: bool| -> Result<(Vec<f64>, usize), CliError> {
        let mut times = Vec::with_capacity(clips.len());
        let mut tokens = 0;
        let mut context: Vec<u32> = Vec::new();
        for frames in &clips {
            let start = Instant::now();
            let patches = policy
                .frontend()
                .clip_tensor(frames, &cfg)
                .map_err(anyhow::Error::from)?;
            let written = if cached {
                policy
                    .model()
                    .generate(&patches, &context, Sampling::Greedy)
            } else {
                policy
                    .model()
                    .generate_without_cache(&patches, &context, Sampling::Greedy)
            }
            .map_err(anyhow::Error::from)?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            tokens += written.tokens.len();
            context = written.tokens;
        }
        times.sort_by(f64::total_cmp);
        Ok((times, tokens))
    };
    let (cached, tokens) = time_all(true)?;
    let (plain, _) = time_all(false)?;
    let median = |t: &[f64]| t.get(t.len() / 2).copied().unwrap_or(0.0);
    let worst = |t: &[f64]| t.last().copied().unwrap_or(0.0);
    println!(
        "memorize one clip on 1 core: p50={:.1} ms max={:.1} ms over {} clips ({:.1} tokens/clip; floor {FLOOR_CLIP_MS:.0} ms); without the KV cache p50={:.1} ms",
        median(&cached),
        worst(&cached),
        cached.len(),
        tokens as f64 / cached.len().max(1) as f64,
        median(&plain)
    );
    println!("ratio_clip_vs_floor={:.2}", worst(&cached) / FLOOR_CLIP_MS);
    println!(
        "ratio_clip_vs_no_cache={:.2}",
        median(&cached) / median(&plain).max(1e-9)
    );
    Ok(())
}

/// How `import tasks` scales at 3 x `count` questions over `count`: quadratic steps (a list
/// searched per question) show as 9, linear ones as about 3. Two ratios: the steps before
/// writing (read and check the file, ask each question at its video's end, plan against the
/// library, and again against a library that holds them all), and the whole import as the
/// command runs it, the tasks then recorded into a new project (its log written and synced).
fn import_scaling(scratch: &Path, count: usize) -> Result<(f64, f64), CliError> {
    use crate::tasks::TaskLibrary;
    use crate::tasks::import::{ImportOptions, TaskFormat, import_file};
    let mut before_writing = [0.0f64; 2];
    let mut end_to_end = [0.0f64; 2];
    for (k, n) in [count, 3 * count].into_iter().enumerate() {
        let file = scratch.join(format!("scaling-{n}.json"));
        std::fs::write(&file, synthetic_videomme(n)).map_err(anyhow::Error::from)?;
        let (took, planned) = best_of(3, || -> Result<usize, CliError> {
            let mut imported = import_file(&file, TaskFormat::VideoMme, &ImportOptions::default())?;
            // No video is in the project: every stream is listed as unknown.
            imported.ask_at_end(|_| None);
            let tasks = imported.tasks;
            let (events, _) = TaskLibrary::default()
                .plan_import(tasks.clone())
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            let full = TaskLibrary::new(tasks.clone());
            let (_, unchanged) = full
                .plan_import(tasks)
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            Ok(events.len() + unchanged)
        });
        planned?;
        before_writing[k] = took.as_secs_f64();
        let project_dir = scratch.join(format!("scaling-project-{n}"));
        let (took, recorded) = best_of(3, || -> Result<usize, CliError> {
            // A new project each time: the log is written whole, as a first import writes it.
            let _ = std::fs::remove_dir_all(&project_dir);
            let mut imported = import_file(&file, TaskFormat::VideoMme, &ImportOptions::default())?;
            imported.ask_at_end(|_| None);
            let mut project = crate::project::Project::create(&project_dir, "scaling")?;
            let (events, _) = project
                .tasks
                .plan_import(imported.tasks)
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            project.record_tasks(&events)?;
            Ok(events.len())
        });
        recorded?;
        end_to_end[k] = took.as_secs_f64();
        let _ = std::fs::remove_dir_all(&project_dir);
    }
    let ratio = |s: [f64; 2]| s[1] / s[0].max(1e-9);
    Ok((ratio(before_writing), ratio(end_to_end)))
}

fn bench_tasks(count: usize) -> Result<(), CliError> {
    use crate::tasks::import::{ImportOptions, TaskFormat, import_file};
    use crate::tasks::{TaskEvent, TaskFilter, TaskLibrary};
    const FLOOR_IMPORT_S: f64 = 1.0;
    const FLOOR_FRAME_MS: f64 = 16.0;
    let scratch = std::env::temp_dir().join(format!("taskmem-bench-tasks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(anyhow::Error::from)?;
    let file = scratch.join("videomme.json");
    std::fs::write(&file, synthetic_videomme(count)).map_err(anyhow::Error::from)?;
    let bytes = std::fs::metadata(&file).map_err(anyhow::Error::from)?.len();

    // Reference: reading the same bytes and parsing them into serde_json values, nothing more.
    let (reference, parsed) = best_of(3, || -> Result<usize, CliError> {
        let data = std::fs::read(&file).map_err(anyhow::Error::from)?;
        let value: serde_json::Value =
            serde_json::from_slice(&data).map_err(anyhow::Error::from)?;
        Ok(value.as_array().map_or(0, Vec::len))
    });
    parsed?;
    let (import, imported) = best_of(3, || {
        import_file(&file, TaskFormat::VideoMme, &ImportOptions::default())
    });
    let imported = imported?;
    let import_s = import.as_secs_f64();
    println!(
        "import videomme questions={} videos={} bytes={bytes} seconds={import_s:.3} (floor {:.1} s; serde_json alone {:.3} s)",
        imported.tasks.len(),
        imported.streams().len(),
        FLOOR_IMPORT_S * count as f64 / 10_000.0,
        reference.as_secs_f64()
    );
    println!(
        "ratio_import_vs_serde_json={:.2}",
        import_s / reference.as_secs_f64().max(1e-9)
    );
    println!(
        "ratio_import_vs_floor={:.2}",
        import_s / FLOOR_IMPORT_S * (10_000.0 / count.max(1) as f64)
    );

    let (ratio, ratio_recorded) = import_scaling(&scratch, count)?;
    println!(
        "ratio_import_3x_vs_1x={ratio:.2} (3 x the questions, read, checked and planned; linear is about 3)"
    );
    println!(
        "ratio_import_recorded_3x_vs_1x={ratio_recorded:.2} (the same, then recorded into a new project; linear is about 3)"
    );

    // What `taskmem import tasks` adds: the library, and the log written into a project.
    let (library_time, library) = best_of(3, || TaskLibrary::new(imported.tasks.clone()));
    let project_dir = scratch.join("project");
    let start = Instant::now();
    let mut project = crate::project::Project::create(&project_dir, "bench")?;
    let events: Vec<TaskEvent> = imported
        .tasks
        .iter()
        .map(|t| TaskEvent::Put {
            task: Box::new(t.clone()),
        })
        .collect();
    project.record_tasks(&events)?;
    let record_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let reopened = crate::project::Project::open(&project_dir)?;
    let reopen_s = start.elapsed().as_secs_f64();
    println!(
        "library of {} tasks built in {:.3} s; recorded into a new project in {record_s:.3} s; project reopened in {reopen_s:.3} s ({} tasks)",
        library.len(),
        library_time.as_secs_f64(),
        reopened.tasks.len()
    );
    println!(
        "import_end_to_end seconds={:.3} (read and check, then record into the project)",
        import_s + record_s
    );

    // Typing a filter, one keystroke at a time; each keystroke filters the whole library.
    let query = "how many red socks";
    let mut worst = Duration::ZERO;
    let mut worst_reference = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut hits = 0;
    let texts: Vec<&str> = library.tasks().iter().map(|t| t.text.as_str()).collect();
    for end in 1..=query.len() {
        let typed = &query[..end];
        let filter = TaskFilter {
            text: typed.to_owned(),
            ..TaskFilter::default()
        };
        let (took, found) = best_of(3, || library.filtered(&filter).len());
        hits = found;
        worst = worst.max(took);
        total += took;
        // Reference: lower-casing every text and searching it, the plain way.
        let (took_reference, _) = best_of(3, || {
            let needle = typed.to_lowercase();
            texts
                .iter()
                .filter(|t| t.to_lowercase().contains(&needle))
                .count()
        });
        worst_reference = worst_reference.max(took_reference);
    }
    println!(
        "filter tasks={} keystrokes={} worst_ms={:.2} mean_ms={:.2} final_hits={hits} (floor {FLOOR_FRAME_MS:.0} ms; lower-case-and-search reference worst {:.2} ms)",
        library.len(),
        query.len(),
        ms(worst),
        ms(total) / query.len() as f64,
        ms(worst_reference)
    );
    println!(
        "ratio_filter_vs_reference={:.2}",
        ms(worst) / ms(worst_reference).max(1e-6)
    );
    println!("ratio_filter_vs_floor={:.2}", ms(worst) / FLOOR_FRAME_MS);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Two adapters with seeded steering vectors, written into `dir`.
fn bench_adapters(dir: &std::path::Path, d_model: usize) -> Result<Vec<PathBuf>, CliError> {
    use crate::policy::adapter::{Adapter, AdapterMeta};
    let mut out = Vec::new();
    for (i, name) in ["bench-a", "bench-b"].iter().enumerate() {
        let mut state = 0x9E37_79B9_u64.wrapping_mul(i as u64 + 1);
        let values: Vec<f32> = (0..d_model)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
            })
            .collect();
        let meta = AdapterMeta {
            layer: 0,
            scale: 1.0,
            task_type: None,
            task_ids: Vec::new(),
            metrics: serde_json::Value::Null,
        };
        let adapter = Adapter::from_values(name, meta, values).map_err(anyhow::Error::from)?;
        let path = dir.join(format!("{name}.safetensors"));
        adapter
            .save(&path)
            .map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
        out.push(path);
    }
    Ok(out)
}

fn bench_eval(model: Option<&Path>) -> Result<(), CliError> {
    use crate::eval::answer::BuiltinAnswerer;
    use crate::eval::replay::{SuiteSettings, run_suite};
    const FLOOR_S: f64 = 300.0;
    let policy = crate::policy::BuiltinPolicy::load(model)
        .map_err(|e| CliError::BadInput(format!("{e:#}")))?;
    let d_model = policy.model().config().d_model;
    let dir = std::env::temp_dir().join(format!("taskmem-bench-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let adapters = bench_adapters(&dir, d_model)?;
    let started = Instant::now();
    let mut questions = 0;
    let mut clips = 0;
    for suite in crate::world::suite::SUITES {
        let settings = SuiteSettings {
            suite: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("datasets")
                .join(suite),
            split: "test".to_owned(),
            model_dir: model.map(Path::to_path_buf),
            adapters: adapters.clone(),
            budget_tokens: None,
            clip_ms: 10_000,
            reference: false,
        };
        let suite_started = Instant::now();
        let run = run_suite(&settings, &BuiltinAnswerer, &mut |_| {
            std::ops::ControlFlow::Continue(())
        })
        .map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
        questions += run.summary.questions;
        clips += run.memory.len();
        println!(
            "eval_{suite} seconds={:.1} questions={} clips_memorized={} lanes={}",
            suite_started.elapsed().as_secs_f64(),
            run.summary.questions,
            run.memory.len(),
            run.summary.lanes.len()
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "eval_all_suites seconds={seconds:.1} questions={questions} clips_memorized={clips} (floor {FLOOR_S:.0} s)"
    );
    println!("ratio_eval_vs_floor={:.3}", seconds / FLOOR_S);
    Ok(())
}

/// The headroom oracle ([`crate::eval::budget`]) on one split of a suite.
fn bench_budget(suite: &Path, split: &str, json: bool) -> Result<(), CliError> {
    use crate::eval::budget::run;
    let folder = crate::eval::replay::suite_folder(suite);
    let report = run(&folder, split).map_err(|e| CliError::BadInput(e.to_string()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?
        );
        return Ok(());
    }
    let questions = report
        .budgets
        .first()
        .map_or(0, |b| b.types.values().map(|t| t.n).sum::<usize>());
    println!(
        "budget suite={} split={} questions={questions} folder={}",
        report.suite,
        report.split,
        folder.display()
    );
    println!(
        "answerable share from memories of true facts only (perfect perception): generic = \
         events first, then the rest; focused = the task type's fact kinds first. Whole facts \
         while they fit the per-clip budget; one that does not fit is skipped."
    );
    let width = report
        .budgets
        .first()
        .and_then(|b| b.types.keys().map(String::len).max())
        .unwrap_or(0)
        .max("overall".len());
    for row in &report.budgets {
        println!();
        let default = if row.budget_tokens == crate::eval::budget::DEFAULT_BUDGET_TOKENS {
            ", the default budget"
        } else {
            ""
        };
        println!(
            "{:<width$}  {:>4}  {:>8}  {:>8}  {:>6}   ({} tokens per clip{default})",
            "task type", "n", "generic", "focused", "gain", row.budget_tokens
        );
        for (t, s) in &row.types {
            println!(
                "{t:<width$}  {:>4}  {:>7.1}%  {:>7.1}%  {:>+6.1}",
                s.n,
                s.generic,
                s.focused,
                s.focused - s.generic
            );
        }
        println!(
            "{:<width$}  {questions:>4}  {:>7.1}%  {:>7.1}%  {:>+6.1}",
            "overall",
            row.overall.generic,
            row.overall.focused,
            row.overall.focused - row.overall.generic
        );
    }
    if !report.unfocused_types.is_empty() {
        println!();
        println!(
            "no focus order for: {} (their focused share is the generic one)",
            report.unfocused_types.join(", ")
        );
    }
    if !report.beyond_truth.is_empty() {
        println!();
        println!(
            "not answerable even from every fact of their evidence clips ({}): {}",
            report.beyond_truth.len(),
            report.beyond_truth.join(" ")
        );
    }
    print_budget_floors(&report);
    Ok(())
}

/// Issue 26's floors, read at the default budget.
fn print_budget_floors(report: &crate::eval::budget::BudgetReport) {
    use crate::eval::budget::{
        DEFAULT_BUDGET_TOKENS, FLOOR_GAIN_POINTS, FLOOR_GENERIC_PERCENT, FLOOR_TYPES,
    };
    let Some(row) = report
        .budgets
        .iter()
        .find(|b| b.budget_tokens == DEFAULT_BUDGET_TOKENS)
    else {
        return;
    };
    let gaining = row
        .types
        .values()
        .filter(|s| s.focused - s.generic >= FLOOR_GAIN_POINTS)
        .count();
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!();
    println!(
        "at {DEFAULT_BUDGET_TOKENS} tokens: the focused order gains {FLOOR_GAIN_POINTS:.0}+ points on {gaining} types (floor {FLOOR_TYPES}: {}); the generic order answers {:.1}% overall (floor {FLOOR_GENERIC_PERCENT:.0}%: {})",
        verdict(gaining >= FLOOR_TYPES),
        row.overall.generic,
        verdict(row.overall.generic >= FLOOR_GENERIC_PERCENT)
    );
}

fn bench_phase2(
    suite: &Path,
    types: &[String],
    model_dir: Option<&Path>,
    seeds: u64,
) -> Result<(), CliError> {
    use crate::eval::answer::BuiltinAnswerer;
    use crate::eval::replay::{SuiteSettings, run_suite};
    use crate::train::phase2::{Phase2Settings, Phase2Source, run};
    use crate::train::reward::BuiltinJudge;
    const FLOOR_TUNE_S: f64 = 60.0;
    const FLOOR_GAIN_POINTS: f64 = 5.0;
    let fail = |e: &dyn std::fmt::Display| CliError::BadInput(e.to_string());
    let dir = std::env::temp_dir().join(format!("taskmem-bench-phase2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;

    // Tuning time from the last 50 tasks (every type) of the suite's training streams.
    let mut settings = Phase2Settings::new(
        Phase2Source::Suite(suite.to_path_buf()),
        "",
        dir.join("recent50.safetensors"),
    );
    settings.recent = 50;
    settings.model_dir = model_dir.map(Path::to_path_buf);
    let mut started = Instant::now();
    let mut model = model_dir.map_or_else(|| "shipped".to_owned(), |d| d.display().to_string());
    let summary = match run(&settings, &BuiltinJudge, &mut |_| ControlFlow::Continue(())) {
        Err(e @ crate::train::phase2::Phase2Error::NoPairs { .. }) if model_dir.is_none() => {
            // Nothing to tune on: time the same run on the shipped warm-up model, whose
            // samples state events and so give pairs (same architecture and size).
            println!("tune_from_last_50 shipped model: {e}");
            settings.model_dir = Some(crate::policy::shipped_model_dir().join("warmup"));
            "warm-up".clone_into(&mut model);
            started = Instant::now();
            run(&settings, &BuiltinJudge, &mut |_| ControlFlow::Continue(()))
                .map_err(|e| fail(&e))?
        }
        other => other.map_err(|e| fail(&e))?,
    };
    let tune_s = started.elapsed().as_secs_f64();
    println!(
        "tune_from_last_50 model={model} seconds={tune_s:.1} tasks={} pairs={} of {} judged, clips={} (floor {FLOOR_TUNE_S:.0} s)",
        summary.task_ids.len(),
        summary.counts.kept,
        summary.counts.judged,
        summary.counts.clips
    );
    println!("ratio_tune_vs_floor={:.3}", tune_s / FLOOR_TUNE_S);

    // Accuracy gains per type, averaged over seeds, of the policy asked for (the shipped Phase
    // One model by default, which is what the floor is measured against, even when the timing
    // above fell back to the warm-up).
    println!(
        "phase2 gains model={}",
        model_dir.map_or_else(|| "shipped".to_owned(), |d| d.display().to_string())
    );
    for (t, task_type) in types.iter().enumerate() {
        let mut gains = Vec::new();
        for seed in 1..=seeds {
            let out = dir.join(format!("t{t}-s{seed}.safetensors"));
            let mut s = Phase2Settings::new(
                Phase2Source::Suite(suite.to_path_buf()),
                task_type,
                out.clone(),
            );
            s.pairs.seed = seed;
            s.dpo.seed = seed;
            s.model_dir = model_dir.map(Path::to_path_buf);
            if let Err(e) = run(&s, &BuiltinJudge, &mut |_| ControlFlow::Continue(())) {
                println!("phase2 type=\"{task_type}\" seed={seed}: {e}");
                continue;
            }
            let eval = run_suite(
                &SuiteSettings {
                    suite: suite.to_path_buf(),
                    split: "test".to_owned(),
                    model_dir: model_dir.map(Path::to_path_buf),
                    adapters: vec![out],
                    budget_tokens: None,
                    clip_ms: 10_000,
                    reference: false,
                },
                &BuiltinAnswerer,
                &mut |_| ControlFlow::Continue(()),
            )
            .map_err(|e| fail(&e))?;
            let acc = |lane: usize| {
                eval.summary.lanes[lane]
                    .by_type
                    .get(task_type)
                    .map_or(0.0, |m| m.acc * 100.0)
            };
            let (before, after) = (acc(0), acc(1));
            println!(
                "phase2 type=\"{task_type}\" seed={seed} acc_general={before:.1} acc_adapter={after:.1} gain_points={:.1}",
                after - before
            );
            gains.push(after - before);
        }
        if !gains.is_empty() {
            let mean = gains.iter().sum::<f64>() / gains.len() as f64;
            println!(
                "phase2 type=\"{task_type}\" mean_gain_points={mean:.1} over {} seeds (floor +{FLOOR_GAIN_POINTS:.0})",
                gains.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Launches this binary as a person would (no arguments, a first start) and waits for the line
/// it prints when its first exact frame shows; the reference is the same binary printing its
/// version, which is what starting the process costs.
fn bench_launch(runs: usize) -> Result<(), CliError> {
    use std::io::BufRead as _;
    const FLOOR_MS: f64 = 1500.0;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(CliError::BadInput(
            "bench launch opens the window: run it with a display (e.g. xvfb-run -a taskmem bench launch)".to_owned(),
        ));
    }
    let exe = std::env::current_exe().map_err(anyhow::Error::from)?;
    let data = tempfile_dir()?;
    let mut launch_ms = Vec::new();
    let mut version_ms = Vec::new();
    for run in 0..runs.max(1) {
        let started = Instant::now();
        let status = std::process::Command::new(&exe)
            .arg("--version")
            .output()
            .map_err(anyhow::Error::from)?;
        if !status.status.success() {
            return Err(CliError::Other(anyhow::anyhow!("taskmem --version failed")));
        }
        version_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        // A settings folder of its own: every run is a first start on the demo.
        let config = data.join(format!("config-{run}"));
        let started = Instant::now();
        let mut child = std::process::Command::new(&exe)
            .env(crate::app::EXIT_AT_FIRST_FRAME, "1")
            .env("TASKMEM_DATA_DIR", data.join("data"))
            .env("XDG_CONFIG_HOME", &config)
            .env("XDG_DATA_HOME", &config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(anyhow::Error::from)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut shown = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.map_err(anyhow::Error::from)?;
            if line.starts_with("first-frame") {
                shown = Some(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        launch_ms.push(shown.ok_or_else(|| {
            anyhow::anyhow!("the app ended without showing a frame (is the display usable?)")
        })?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let launch = median(&mut launch_ms);
    let version = median(&mut version_ms);
    println!(
        "launch_to_first_frame_ms p50={launch:.0} max={:.0} over {} runs (floor {FLOOR_MS:.0})",
        launch_ms.last().copied().unwrap_or(0.0),
        launch_ms.len()
    );
    println!("process_start_ms p50={version:.0} (taskmem --version)");
    println!("ratio_launch_vs_floor={:.3}", launch / FLOOR_MS);
    println!(
        "ratio_launch_vs_process_start={:.1}",
        launch / version.max(1e-3)
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// A fresh folder under the temp dir for one bench run.
fn tempfile_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("taskmem-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    Ok(dir)
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn bench_remote(concurrency: usize, streams: usize, delay_ms: u64) -> Result<(), CliError> {
    use crate::policy::ingest::{StreamJob, ingest_many};
    use crate::remote::client::ChatClient;
    use crate::remote::mock::MockServer;
    use crate::remote::policy::RemotePolicy;
    use std::sync::atomic::{AtomicBool, Ordering};
    const FLOOR_IN_FLIGHT: f64 = 0.9;
    const FLOOR_MB: f64 = 50.0;
    let server = MockServer::start(
        "{\"description\": \"In the kitchen, I pick up the red cup.\"}",
        Duration::from_millis(delay_ms),
    )
    .map_err(anyhow::Error::from)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test");
    // The streams whose videos the repository holds (the rest are generated on demand).
    let videos: Vec<PathBuf> = (0..3)
        .map(|i| root.join(format!("world-tempo-test-0{i}/video.mp4")))
        .collect();
    let jobs: Vec<StreamJob> = (0..streams.max(1))
        .map(|i| StreamJob::new(videos[i % videos.len()].clone(), format!("s{i:04}")))
        .collect();
    let mut settings = crate::remote::RemoteSettings::from_env("bench");
    settings.base_url.clone_from(&server.url);
    "TASKMEM_BENCH_NO_KEY".clone_into(&mut settings.api_key_env);
    // As `taskmem ingest --policy remote` runs a batch: a gate keeps `concurrency` requests
    // on the wire (the stream with most clips left first), and spare workers prepare
    // clips for it.
    let gate = crate::remote::Gate::new(concurrency);
    let client = ChatClient::new(settings).with_gate(std::sync::Arc::clone(&gate));
    let workers = crate::remote::batch_workers(concurrency);
    let make = || -> Result<Box<dyn crate::policy::MemorizationPolicy>, String> {
        Ok(Box::new(RemotePolicy {
            client: client.clone(),
            frames: 10,
            max_side: 448,
        }))
    };
    // Runs a batch, sampling the server's gauge and this process's memory every 5 ms:
    // (samples at full concurrency, samples, peak RSS, clips, seconds).
    let batch = |jobs: &[StreamJob]| {
        let done_flag = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let gauge = scope.spawn(|| {
                let (mut full, mut samples, mut peak) = (0usize, 0usize, 0u64);
                let mut gate_full = 0usize;
                while !done_flag.load(Ordering::Relaxed) {
                    let now = server.in_flight.load(Ordering::SeqCst);
                    if now > 0 || samples > 0 {
                        samples += 1;
                        full += usize::from(now >= concurrency);
                        gate_full += usize::from(gate.in_use() >= concurrency);
                    }
                    peak = peak.max(rss_bytes());
                    std::thread::sleep(Duration::from_millis(5));
                }
                (full, samples, peak, gate_full)
            });
            let started = Instant::now();
            let result = ingest_many(
                jobs,
                "bench",
                &make,
                None,
                workers,
                10_000,
                &mut |_, _, _| ControlFlow::Continue(()),
            );
            let seconds = started.elapsed().as_secs_f64();
            done_flag.store(true, Ordering::Relaxed);
            let (at_full, sampled, peak, gate_full) = gauge.join().unwrap_or((0, 1, 0, 0));
            (at_full, sampled, peak, result, seconds, gate_full)
        })
    };
    // As many streams as workers (nothing queued), then the whole batch: the difference in
    // peak memory is what the queue costs.
    let start_rss = rss_bytes();
    let (_, _, small_peak, small, _, _) = batch(&jobs[..workers.min(jobs.len())]);
    let small_clips = small.map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
    let (full, samples, peak_rss, clips, seconds, gate_full) = batch(&jobs);
    let before_rss = small_peak;
    let clips = clips.map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
    let rate = clips as f64 / seconds.max(1e-9);
    let floor_rate = concurrency as f64 * 4.0;
    let in_flight = full as f64 / samples.max(1) as f64;
    let queued = clips.saturating_sub(small_clips);
    let extra_mb = peak_rss.saturating_sub(before_rss) as f64 / 1e6;
    println!(
        "remote_batch clips={clips} streams={} concurrency={concurrency} server_delay_ms={delay_ms} seconds={seconds:.1} clips_per_s={rate:.1} (floor {floor_rate:.0})",
        jobs.len()
    );
    println!("ratio_clips_per_s_vs_floor={:.3}", rate / floor_rate);
    println!("in_flight_at_concurrency={in_flight:.3} of the time (floor {FLOOR_IN_FLIGHT})");
    println!(
        "client_side_at_concurrency={:.3} of the time (requests let out by the gate and not yet answered)",
        gate_full as f64 / samples.max(1) as f64
    );
    println!(
        "memory_for_queue_mb={extra_mb:.1}: peak with {queued} clips queued behind the ones in flight, less the peak with none queued (floor {FLOOR_MB:.0} MB for 1,000)"
    );
    println!(
        "peak_rss_mb: {:.1} before, {:.1} with {workers} streams in hand and none queued, {:.1} with {} streams",
        start_rss as f64 / 1e6,
        before_rss as f64 / 1e6,
        peak_rss as f64 / 1e6,
        jobs.len()
    );
    println!(
        "requests_answered={}",
        server.answered.load(Ordering::SeqCst)
    );
    Ok(())
}
