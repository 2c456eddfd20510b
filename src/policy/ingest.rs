//! Memorizing a stream clip by clip with a policy: each clip's sampled frames decoded, the
//! policy run on them with the description it wrote for the clip before, and an entry made
//! that becomes available at the clip's end plus the measured processing time. Used headless
//! by `taskmem ingest` and live by the app's "Memorize while playing". No egui.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::data::{KEPT_HEIGHT, KEPT_WIDTH, sample_times_ns};
use super::{ClipInput, MemorizationPolicy, PolicyError};
use crate::memory::MemoryEntry;

use crate::video::{Frame, NS_PER_MS, OpenOptions, VideoError, VideoSource};

/// A clip tail shorter than this is not memorized: too little to describe.
const MIN_CLIP_MS: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("{path}: clip at {start_ms} ms: {source}")]
    Policy {
        path: String,
        start_ms: i64,
        #[source]
        source: PolicyError,
    },
    #[error("cannot start the decoding thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot start the policy: {0}")]
    Start(String),
}

/// The clips of a stream `duration_ms` long: `[k x clip_ms, (k+1) x clip_ms)`, the last one
/// cut at the end; a tail shorter than a second is left out.
#[must_use]
pub fn clip_spans(duration_ms: i64, clip_ms: i64) -> Vec<(i64, i64)> {
    let clip_ms = clip_ms.max(1);
    let clips = duration_ms.max(0).div_euclid(clip_ms) + 1;
    (0..clips)
        .map(|k| (k * clip_ms, ((k + 1) * clip_ms).min(duration_ms)))
        .filter(|&(start_ms, end_ms)| end_ms - start_ms >= MIN_CLIP_MS.min(clip_ms))
        .collect()
}

/// Decodes the frames a policy samples from one clip, touching only the GOPs they are in.
pub struct ClipSampler {
    source: VideoSource,
}

impl ClipSampler {
    /// # Errors
    /// When the video cannot be opened.
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        Ok(Self {
            source: VideoSource::open(path, &OpenOptions::default())?,
        })
    }

    #[must_use]
    pub fn duration_ms(&self) -> i64 {
        self.source.index().duration_ns() / NS_PER_MS
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.source.index().path
    }

    /// The frames shown at `count` times spread over `[start_ms, end_ms)`, kept as small as
    /// the built-in policy reads them. A frame shown at two of the times comes twice.
    ///
    /// # Errors
    /// When a GOP cannot be decoded.
    pub fn frames(
        &mut self,
        start_ms: i64,
        end_ms: i64,
        count: usize,
    ) -> Result<Vec<Frame>, VideoError> {
        self.frames_within(start_ms, end_ms, count, (KEPT_WIDTH, KEPT_HEIGHT))
    }

    /// [`Self::frames`], each scaled down (never up) to fit `max_size` (width, height).
    ///
    /// # Errors
    /// When a GOP cannot be decoded.
    pub fn frames_within(
        &mut self,
        start_ms: i64,
        end_ms: i64,
        count: usize,
        max_size: (u32, u32),
    ) -> Result<Vec<Frame>, VideoError> {
        if end_ms * NS_PER_MS > self.source.index().duration_ns() {
            // The file may have grown since it was opened (a stream recorded live).
            let path = self.source.index().path.clone();
            if let Ok(fresh) = VideoSource::open(&path, &OpenOptions::default()) {
                self.source = fresh;
            }
        }
        let index = Arc::clone(self.source.index());
        if index.frames.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<usize> = sample_times_ns(start_ms, end_ms, count)
            .into_iter()
            .map(|t| index.frame_at(t))
            .collect();
        let gops: BTreeSet<usize> = wanted.iter().map(|&f| index.frames[f].gop).collect();
        let mut found: HashMap<usize, Frame> = HashMap::new();
        for gop in gops {
            let in_gop = || {
                wanted
                    .iter()
                    .copied()
                    .filter(|&f| index.frames[f].gop == gop)
            };
            let (Some(first), Some(last)) = (in_gop().min(), in_gop().max()) else {
                continue;
            };
            self.source
                .decode_gop_from(gop, Some(first), &mut |frame_index, picture| {
                    if wanted.contains(&frame_index) {
                        let pts_ns = index.frames[frame_index].pts_ns;
                        found.insert(
                            frame_index,
                            picture
                                .to_frame(frame_index, pts_ns)
                                .downscaled(max_size.0, max_size.1),
                        );
                    }
                    if frame_index >= last {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })?;
        }
        Ok(wanted
            .iter()
            .filter_map(|f| found.get(f).cloned())
            .collect())
    }
}

/// Runs a policy over a stream's clips, keeping what it wrote last as the next clip's context.
pub struct Memorizer {
    policy: Box<dyn MemorizationPolicy>,
    adapter: Option<super::adapter::Adapter>,
    pub stream: String,
    pub lane: String,
    /// The end of the clip last memorized and its description.
    previous: Option<(i64, String)>,
}

impl Memorizer {
    #[must_use]
    pub fn new(policy: Box<dyn MemorizationPolicy>, stream: &str, lane: &str) -> Self {
        Self {
            policy,
            adapter: None,
            stream: stream.to_owned(),
            lane: lane.to_owned(),
            previous: None,
        }
    }

    /// Memorizes with a Phase Two adapter from now on.
    #[must_use]
    pub fn with_adapter(mut self, adapter: Option<super::adapter::Adapter>) -> Self {
        self.adapter = adapter;
        self
    }

    #[must_use]
    pub fn frames_per_clip(&self) -> usize {
        self.policy.frames_per_clip()
    }

    /// See [`MemorizationPolicy::frame_max_size`].
    #[must_use]
    pub fn frame_max_size(&self) -> (u32, u32) {
        self.policy.frame_max_size()
    }

    #[must_use]
    pub fn policy_name(&self) -> String {
        self.policy.name()
    }

    /// The adapter's name, as the entries record it.
    #[must_use]
    pub fn adapter_name(&self) -> Option<String> {
        self.adapter.as_ref().map(|a| a.name.clone())
    }

    /// Continues a stream whose clips up to `end_ms` are memorized already (a resumed ingest):
    /// `text`, the last of them, is the next clip's preceding description.
    pub fn resume_after(&mut self, end_ms: i64, text: &str) {
        self.previous = Some((end_ms, text.to_owned()));
    }

    /// Memorizes another stream from now on (the preceding description is forgotten).
    pub fn start_stream(&mut self, stream: &str) {
        stream.clone_into(&mut self.stream);
        self.previous = None;
    }

    /// Memorizes one clip. The preceding description is passed on only when this clip follows
    /// the one memorized last (after a seek it does not). The entry's id is 0: the project
    /// numbers it.
    ///
    /// # Errors
    /// When the policy fails.
    pub fn memorize(
        &mut self,
        frames: &[Frame],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<MemoryEntry, PolicyError> {
        let previous = self
            .previous
            .as_ref()
            .filter(|(end, _)| *end == start_ms)
            .map(|(_, text)| text.as_str());
        let started = Instant::now();
        let written = self.policy.memorize(&ClipInput {
            frames,
            start_ms,
            end_ms,
            previous,
            adapter: self.adapter.as_ref(),
        })?;
        // The last guard before an entry is made, whatever the policy.
        super::check_finite(&written)?;
        let processing_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mean_logprob = (!written.token_logprobs.is_empty()).then(|| {
            written
                .token_logprobs
                .iter()
                .map(|&l| f64::from(l))
                .sum::<f64>()
                / written.token_logprobs.len() as f64
        });
        self.previous = Some((end_ms, written.text.clone()));
        Ok(MemoryEntry {
            budget_tokens: self.policy.budget_tokens(),
            id: 0,
            stream: self.stream.clone(),
            lane: self.lane.clone(),
            start_ms,
            end_ms,
            text: written.text,
            available_ms: end_ms.saturating_add(processing_ms),
            policy: Some(self.policy.name()),
            adapter: self.adapter.as_ref().map(|a| a.name.clone()),
            raw_response: Some(written.raw),
            score: mean_logprob,
            highlights: Vec::new(),
        })
    }
}

/// Memorizes every clip of the sampler's video in order: a `ingest-decode` thread decodes the next clips'
/// frames while the policy writes. `on_entry(entry, done, total)` sees each entry as soon as it
/// is written and may stop the run. Returns the number of entries written.
///
/// # Errors
/// When the video cannot be decoded or the policy fails.
pub fn ingest(
    sampler: ClipSampler,
    memorizer: &mut Memorizer,
    clip_ms: i64,
    on_entry: &mut dyn FnMut(MemoryEntry, usize, usize) -> ControlFlow<()>,
) -> Result<usize, IngestError> {
    ingest_from(sampler, memorizer, clip_ms, 0, on_entry)
}

/// [`ingest`] from clip `skip` on (a resumed run: the clips before are memorized already, and
/// count as done in the progress); returns the number of entries written in this run.
///
/// # Errors
/// When the video cannot be decoded or the policy fails.
pub fn ingest_from(
    mut sampler: ClipSampler,
    memorizer: &mut Memorizer,
    clip_ms: i64,
    skip: usize,
    on_entry: &mut dyn FnMut(MemoryEntry, usize, usize) -> ControlFlow<()>,
) -> Result<usize, IngestError> {
    let video = sampler.path().to_path_buf();
    let mut spans = clip_spans(sampler.duration_ms(), clip_ms);
    let total = spans.len();
    spans.drain(..skip.min(total));
    let count = memorizer.frames_per_clip();
    let max_size = memorizer.frame_max_size();
    let (tx, rx) = crossbeam_channel::bounded::<DecodedClip>(2);
    std::thread::scope(|scope| {
        let decode_spans = spans.clone();
        std::thread::Builder::new()
            .name("ingest-decode".to_owned())
            .spawn_scoped(scope, move || {
                for (start_ms, end_ms) in decode_spans {
                    let frames = sampler.frames_within(start_ms, end_ms, count, max_size);
                    let failed = frames.is_err();
                    // The receiver is gone when the run stopped early.
                    if tx.send(frames.map(|f| (start_ms, end_ms, f))).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(IngestError::Thread)?;
        // The receiver is dropped on return, which ends the decoding thread early too.
        write_all(rx, &video, memorizer, (skip.min(total), total), on_entry)
    })
}

/// How urgent a stream's next request is at a remote gate, for the stream taken `opened`-th
/// of a batch, with `clips_left` clips to go (this one included); asked again each
/// time the gate picks. While streams still wait to be opened, the stream opened first goes
/// first: half the streams in hand run at the server's pace while the others wait with their
/// next clip decoded, so streams end, and new ones open, a few at a time, and a freed place
/// always has a clip ready. (Taking requests oldest first instead moves every stream in hand at
/// the same pace: they end together, in waves, and a batch whose streams are not a multiple of
/// the workers ends with a few streams running alone while the server idles.) Once every stream
/// is open, the stream with most clips left first, so that they all end together: a stream's
/// clips go one by one, and one left with many clips would otherwise run alone at the end.
fn batch_urgency(
    opened: usize,
    clips_left: u64,
    all_open: &Arc<std::sync::atomic::AtomicBool>,
) -> super::urgency::Urgency {
    let all_open = Arc::clone(all_open);
    let earlier_first = u64::MAX - u64::try_from(opened).unwrap_or(u64::MAX);
    super::urgency::Urgency::new(move || {
        if all_open.load(std::sync::atomic::Ordering::Relaxed) {
            1 + clips_left
        } else {
            earlier_first
        }
    })
}

type DecodedClip = Result<(i64, i64, Vec<Frame>), VideoError>;

/// One stream of a batch: its video, the stream id its entries get, and where a killed run
/// of it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamJob {
    pub video: PathBuf,
    pub stream: String,
    /// Clips memorized already by a killed run (the first `skip` of the video's clips).
    pub skip: usize,
    /// The end and description of the last of them: the next clip's preceding description,
    /// so that a resumed stream reads as an uninterrupted one.
    pub resume: Option<(i64, String)>,
}

impl StreamJob {
    /// A stream memorized from its first clip.
    #[must_use]
    pub fn new(video: PathBuf, stream: String) -> Self {
        Self {
            video,
            stream,
            skip: 0,
            resume: None,
        }
    }
}

/// Makes a worker's policy (each worker has its own).
pub type MakePolicy<'a> = dyn Fn() -> Result<Box<dyn MemorizationPolicy>, String> + Sync + 'a;

/// Memorizes many streams with `concurrency` workers (`ingest-N` threads), each taking the
/// next stream and memorizing it clip by clip (a stream's clips stay in order: each reads the
/// one before). Only the clips in hand are in memory, however many streams wait.
/// `on_entry(entry, done, total)` runs on the calling thread and may stop the batch. A job's
/// `skip` first clips are not memorized again (a resumed batch); returns the number of entries
/// written in this run.
///
/// # Errors
/// The first video or policy failure (the others stop after their clip in hand).
pub fn ingest_many(
    jobs: &[StreamJob],
    lane: &str,
    make_policy: &MakePolicy<'_>,
    adapter: Option<&super::adapter::Adapter>,
    concurrency: usize,
    clip_ms: i64,
    on_entry: &mut dyn FnMut(MemoryEntry, usize, usize) -> ControlFlow<()>,
) -> Result<usize, IngestError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // Clips a killed run memorized count as done in the progress, as in a single resume.
    let mut total = 0;
    let mut skipped = 0;
    for job in jobs {
        let clips = clip_spans(ClipSampler::open(&job.video)?.duration_ms(), clip_ms).len();
        total += clips;
        skipped += job.skip.min(clips);
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Set once the last stream is taken (see `batch_urgency`).
    let all_open = Arc::new(AtomicBool::new(false));
    let workers = concurrency.clamp(1, jobs.len().max(1));
    let (tx, rx) = crossbeam_channel::bounded::<Result<MemoryEntry, IngestError>>(workers * 2);
    std::thread::scope(|scope| {
        for i in 0..workers {
            let tx = tx.clone();
            let (next, stop, all_open) = (&next, &stop, &all_open);
            std::thread::Builder::new()
                .name(format!("ingest-{i}"))
                .spawn_scoped(scope, move || {
                    let policy = match make_policy() {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = tx.send(Err(IngestError::Start(e)));
                            return;
                        }
                    };
                    let mut memorizer =
                        Memorizer::new(policy, "", lane).with_adapter(adapter.cloned());
                    let count = memorizer.frames_per_clip();
                    let max_size = memorizer.frame_max_size();
                    loop {
                        let opened = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(opened) else {
                            break;
                        };
                        if opened + 1 >= jobs.len() {
                            all_open.store(true, Ordering::Relaxed);
                        }
                        memorizer.start_stream(&job.stream);
                        if let Some((end_ms, text)) = &job.resume {
                            memorizer.resume_after(*end_ms, text);
                        }
                        let result = ClipSampler::open(&job.video).map_err(IngestError::from);
                        let mut sampler = match result {
                            Ok(s) => s,
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return;
                            }
                        };
                        let mut spans = clip_spans(sampler.duration_ms(), clip_ms);
                        spans.drain(..job.skip.min(spans.len()));
                        let spans_count = spans.len();
                        // The next clip is decoded while this one is with the policy (a
                        // remote request is mostly waiting).
                        let (clips_tx, clips_rx) = crossbeam_channel::bounded::<DecodedClip>(1);
                        let stopped = std::thread::scope(|inner| {
                            // Owned here: dropped on return, which ends a decoder blocked on
                            // a full channel before the scope joins it.
                            let clips_rx = clips_rx;
                            let decoder = std::thread::Builder::new()
                                .name(format!("ingest-{i}-decode"))
                                .spawn_scoped(inner, move || {
                                    for (start_ms, end_ms) in spans {
                                        let frames = sampler
                                            .frames_within(start_ms, end_ms, count, max_size);
                                        let failed = frames.is_err();
                                        let clip = frames.map(|f| (start_ms, end_ms, f));
                                        if clips_tx.send(clip).is_err() || failed {
                                            return;
                                        }
                                    }
                                    // Off the hot path: the stream's last request is
                                    // still on the wire.
                                    drop(sampler);
                                    crate::alloc::release_freed_memory();
                                });
                            if let Err(e) = decoder {
                                let _ = tx.send(Err(IngestError::Thread(e)));
                                return true;
                            }
                            let mut left = spans_count as u64;
                            for clip in &clips_rx {
                                if stop.load(Ordering::Relaxed) {
                                    return true;
                                }
                                super::urgency::set_request_urgency(batch_urgency(
                                    opened, left, all_open,
                                ));
                                left = left.saturating_sub(1);
                                let entry = clip.map_err(IngestError::from).and_then(
                                    |(start_ms, end_ms, frames)| {
                                        memorizer.memorize(&frames, start_ms, end_ms).map_err(
                                            |source| IngestError::Policy {
                                                path: job.video.display().to_string(),
                                                start_ms,
                                                source,
                                            },
                                        )
                                    },
                                );
                                let failed = entry.is_err();
                                if tx.send(entry).is_err() || failed {
                                    return true;
                                }
                            }
                            false
                        });
                        if stopped {
                            return;
                        }
                    }
                })
                .map_err(IngestError::Thread)?;
        }
        drop(tx);
        let mut done = skipped;
        for entry in &rx {
            match entry {
                Ok(entry) => {
                    done += 1;
                    if on_entry(entry, done, total).is_break() {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                Err(e) => {
                    // One error for the batch: the other workers stop at their next clip.
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(done - skipped)
    })
}

fn write_all(
    rx: crossbeam_channel::Receiver<DecodedClip>,
    video: &Path,
    memorizer: &mut Memorizer,
    (skipped, total): (usize, usize),
    on_entry: &mut dyn FnMut(MemoryEntry, usize, usize) -> ControlFlow<()>,
) -> Result<usize, IngestError> {
    let mut done = skipped;
    for clip in rx {
        let (start_ms, end_ms, frames) = clip?;
        let entry = memorizer
            .memorize(&frames, start_ms, end_ms)
            .map_err(|source| IngestError::Policy {
                path: video.display().to_string(),
                start_ms,
                source,
            })?;
        done += 1;
        if on_entry(entry, done, total).is_break() {
            break;
        }
    }
    Ok(done - skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_at_the_size_the_policy_reads_and_never_larger_than_the_video() {
        let video = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("datasets/world-tempo/test/world-tempo-test-00/video.mp4");
        let mut sampler = ClipSampler::open(&video).expect("the shipped stream opens");
        let size = |frames: &[Frame]| (frames[0].width, frames[0].height);
        // The built-in policy's small frames; a remote model's 448 px (the video is 320x180,
        // so it gets the frames as they are); and a smaller limit keeps the aspect ratio.
        let small = sampler.frames(0, 10_000, 3).expect("decodes");
        assert_eq!((small.len(), size(&small)), (3, (KEPT_WIDTH, KEPT_HEIGHT)));
        let remote = sampler
            .frames_within(0, 10_000, 3, (448, 448))
            .expect("decodes");
        assert_eq!(size(&remote), (320, 180));
        let limited = sampler
            .frames_within(0, 10_000, 3, (160, 160))
            .expect("decodes");
        assert_eq!(size(&limited), (160, 90));
    }

    #[test]
    fn a_batch_runs_its_earliest_streams_first_then_evens_out_the_clips_left() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let all_open = Arc::new(AtomicBool::new(false));
        // Stream 3 with 2 clips to go, stream 40 with 12: while streams wait to be
        // opened, the earlier stream goes first (so streams end a few at a time)...
        let early = batch_urgency(3, 2, &all_open);
        let late = batch_urgency(40, 12, &all_open);
        assert!(early.now() > late.now());
        // ...and once every stream is open, the one with most clips left (so all end together).
        all_open.store(true, Ordering::Relaxed);
        assert!(late.now() > early.now());
    }

    #[test]
    fn clips_cover_the_stream_and_a_short_tail_is_left_out() {
        assert_eq!(
            clip_spans(25_000, 10_000),
            vec![(0, 10_000), (10_000, 20_000), (20_000, 25_000)]
        );
        assert_eq!(
            clip_spans(20_500, 10_000),
            vec![(0, 10_000), (10_000, 20_000)]
        );
        assert!(clip_spans(0, 10_000).is_empty());
    }
}
