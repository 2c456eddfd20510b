//! The decoder thread and the preview thread. The UI sends what it wants to see over a bounded
//! channel and reads results from the shared caches; it never decodes and never waits.
//!
//! The decoder thread decodes from the keyframe before the wanted frame, checks for newer
//! commands between pictures (so scrubbing abandons stale work at once) and keeps a bounded
//! frame cache. The preview thread decodes every keyframe once at low resolution so that a
//! picture can be shown the moment the playhead lands anywhere.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};

use super::VideoError;
use super::cache::{FrameCache, PreviewCache};
use super::demux::VideoIndex;
use super::frame::Frame;
use super::source::VideoSource;

/// Frames decoded on the way to a seek target that are kept (for stepping back).
const KEEP_BEFORE_TARGET: usize = 8;

/// Preview pictures fit in this box.
pub const PREVIEW_MAX_SIZE: (u32, u32) = (160, 90);
/// Longer files get a preview every k-th GOP so the preview cache stays bounded.
pub const MAX_PREVIEWS: usize = 1024;

#[derive(Clone, Debug)]
pub struct DecoderConfig {
    pub cache_budget_bytes: usize,
    pub build_previews: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            cache_budget_bytes: 128 << 20,
            build_previews: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeCommand {
    /// Have frames `first..=last` (presentation order) in the cache, `first` as soon as
    /// possible. Replaces any earlier request.
    Want {
        first: usize,
        last: usize,
    },
    Stop,
}

#[derive(Debug)]
pub enum DecodeEvent {
    Error(VideoError),
}

type Notify = Arc<dyn Fn() + Send + Sync>;

/// The UI's side of the decoder: cheap to query every frame.
pub struct DecoderHandle {
    index: Arc<VideoIndex>,
    commands: Sender<DecodeCommand>,
    events: Receiver<DecodeEvent>,
    cache: Arc<Mutex<FrameCache>>,
    previews: Arc<Mutex<PreviewCache>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    last_sent: Option<DecodeCommand>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on another thread must not take the UI down with it; the data stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DecoderHandle {
    /// Starts the decoder (and preview) threads for an opened source.
    pub fn spawn(
        source: VideoSource,
        config: &DecoderConfig,
        notify: Notify,
    ) -> std::io::Result<Self> {
        let index = Arc::clone(source.index());
        let (command_tx, command_rx) = bounded(16);
        let (event_tx, event_rx) = bounded(64);
        let cache = Arc::new(Mutex::new(FrameCache::new(config.cache_budget_bytes)));
        let previews = Arc::new(Mutex::new(PreviewCache::new(index.gops.len())));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if config.build_previews {
            let preview_source = VideoSource::from_index(Arc::clone(&index), source.options());
            let (previews, stop, notify, events) = (
                Arc::clone(&previews),
                Arc::clone(&stop),
                Arc::clone(&notify),
                event_tx.clone(),
            );
            threads.push(
                std::thread::Builder::new()
                    .name("video-previews".to_owned())
                    .spawn(move || match preview_source {
                        Ok(source) => build_previews(source, &previews, &stop, &*notify),
                        Err(err) => {
                            let _ = events.try_send(DecodeEvent::Error(err));
                        }
                    })?,
            );
        }
        let worker = Worker {
            source,
            commands: command_rx,
            events: event_tx,
            cache: Arc::clone(&cache),
            stop: Arc::clone(&stop),
            notify,
        };
        threads.push(
            std::thread::Builder::new()
                .name("video-decoder".to_owned())
                .spawn(move || worker.run())?,
        );
        Ok(Self {
            index,
            commands: command_tx,
            events: event_rx,
            cache,
            previews,
            stop,
            threads,
            last_sent: None,
        })
    }

    #[must_use]
    pub fn index(&self) -> &Arc<VideoIndex> {
        &self.index
    }

    /// Asks for frames `first..=last`; repeated identical requests are not re-sent. Returns
    /// false when the request could not be queued (the caller asks again a moment later).
    pub fn want(&mut self, first: usize, last: usize) -> bool {
        let last_frame = self.index.frames.len().saturating_sub(1);
        let command = DecodeCommand::Want {
            first: first.min(last_frame),
            last: last.clamp(first, last_frame.max(first)).min(last_frame),
        };
        if self.last_sent == Some(command) {
            return true;
        }
        match self.commands.try_send(command) {
            Ok(()) => {
                self.last_sent = Some(command);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// The exact frame, if decoded.
    #[must_use]
    pub fn frame(&self, index: usize) -> Option<Frame> {
        lock(&self.cache).get(index)
    }

    /// The low-resolution picture of the frame's GOP (or an earlier one).
    #[must_use]
    pub fn preview(&self, index: usize) -> Option<Frame> {
        let gop = self.index.frames.get(index)?.gop;
        lock(&self.previews).at_or_before(gop).cloned()
    }

    /// Previews built so far, and how many there will be.
    #[must_use]
    pub fn preview_progress(&self) -> (usize, usize) {
        let built = lock(&self.previews).built();
        (built, preview_gops(self.index.gops.len()).count())
    }

    #[must_use]
    pub fn cached_frames(&self) -> (usize, usize) {
        let cache = lock(&self.cache);
        (cache.len(), cache.used_bytes())
    }

    /// Errors reported by the threads since the last call.
    #[must_use]
    pub fn drain_events(&self) -> Vec<DecodeEvent> {
        self.events.try_iter().collect()
    }
}

impl Drop for DecoderHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.commands.try_send(DecodeCommand::Stop);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The GOPs that get a preview.
fn preview_gops(gop_count: usize) -> impl Iterator<Item = usize> {
    let step = gop_count.div_ceil(MAX_PREVIEWS).max(1);
    (0..gop_count).step_by(step)
}

fn build_previews(
    mut source: VideoSource,
    previews: &Mutex<PreviewCache>,
    stop: &AtomicBool,
    notify: &(dyn Fn() + Send + Sync),
) {
    let gop_count = source.index().gops.len();
    let index = Arc::clone(source.index());
    for (n, gop) in preview_gops(gop_count).enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut preview = None;
        let result = source.decode_gop(gop, &mut |frame, picture| {
            let full = picture.to_frame(frame, index.frames[frame].pts_ns);
            preview = Some(full.downscaled(PREVIEW_MAX_SIZE.0, PREVIEW_MAX_SIZE.1));
            ControlFlow::Break(())
        });
        if let (Ok(()), Some(preview)) = (result, preview) {
            lock(previews).insert(gop, preview);
        }
        // Repaint now and then, not per preview, while building.
        if n % 16 == 0 {
            notify();
        }
    }
    notify();
}

struct Worker {
    source: VideoSource,
    commands: Receiver<DecodeCommand>,
    events: Sender<DecodeEvent>,
    cache: Arc<Mutex<FrameCache>>,
    stop: Arc<AtomicBool>,
    notify: Notify,
}

impl Worker {
    fn run(mut self) {
        let mut goal: Option<(usize, usize)> = None;
        loop {
            let next = if goal.is_some() {
                match self.commands.try_recv() {
                    Ok(cmd) => Some(cmd),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match self.commands.recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => return,
                }
            };
            match next {
                Some(DecodeCommand::Stop) => return,
                Some(DecodeCommand::Want { first, last }) => goal = Some((first, last)),
                None => {}
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let Some((first, last)) = goal else { continue };
            let missing = {
                let cache = lock(&self.cache);
                (first..=last).find(|&f| !cache.contains(f))
            };
            let Some(missing) = missing else {
                goal = None;
                continue;
            };
            match self.decode_towards(missing, last) {
                Ok((Some(DecodeCommand::Stop), _)) => return,
                Ok((Some(DecodeCommand::Want { first, last }), _)) => goal = Some((first, last)),
                Ok((None, range)) => {
                    goal = Some(range);
                    if range.0 <= missing && !lock(&self.cache).contains(missing) {
                        // The decoder gave fewer pictures than the container lists; asking
                        // again would loop forever.
                        let _ = self.events.try_send(DecodeEvent::Error(VideoError::Decode {
                            path: self.source.index().path.clone(),
                            time_ms: self.source.index().frames[missing].pts_ns / super::NS_PER_MS,
                            detail: format!("frame {missing} could not be decoded"),
                        }));
                        (self.notify)();
                        goal = None;
                    }
                }
                Err(err) => {
                    let _ = self.events.try_send(DecodeEvent::Error(err));
                    (self.notify)();
                    goal = None;
                }
            }
        }
    }

    /// Decodes the GOP of `target`, caching `target..=last`; returns early with a newer
    /// command if one arrives.
    fn decode_towards(
        &mut self,
        target: usize,
        last: usize,
    ) -> Result<(Option<DecodeCommand>, (usize, usize)), VideoError> {
        let index = Arc::clone(self.source.index());
        let gop = index.frames[target].gop;
        let (mut target, mut last) = (target, last);
        let mut interrupted = None;
        let (cache, commands, notify, stop) =
            (&self.cache, &self.commands, &self.notify, &self.stop);
        let first_needed = target.saturating_sub(KEEP_BEFORE_TARGET);
        self.source
            .decode_gop_from(gop, Some(first_needed), &mut |frame, picture| {
                if stop.load(Ordering::Relaxed) {
                    interrupted = Some(DecodeCommand::Stop);
                    return ControlFlow::Break(());
                }
                let wanted = (target..=last).contains(&frame);
                // A few frames just before the target are kept for stepping back; converting the
                // rest of the GOP to RGBA would only slow the seek down.
                let near = frame + KEEP_BEFORE_TARGET >= target && frame < target;
                if (wanted || near) && !lock(cache).contains(frame) {
                    let decoded = picture.to_frame(frame, index.frames[frame].pts_ns);
                    if wanted {
                        lock(cache).insert(decoded);
                        notify();
                    } else {
                        lock(cache).insert_if_room(decoded);
                    }
                }
                while let Ok(cmd) = commands.try_recv() {
                    match cmd {
                        // Playback moves the wanted range along every frame: when this GOP's
                        // decode can still serve it, carry on instead of starting over.
                        DecodeCommand::Want {
                            first,
                            last: new_last,
                        } if index.frames[first].gop == gop
                            && (first > frame
                                || (first..=frame).all(|f| lock(cache).contains(f))) =>
                        {
                            (target, last) = (first, new_last);
                        }
                        other => {
                            interrupted = Some(other);
                            return ControlFlow::Break(());
                        }
                    }
                }
                if frame >= last {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })?;
        // The range may have moved on while decoding.
        Ok((interrupted, (target, last)))
    }
}
