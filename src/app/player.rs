//! An open stream in the app: its decoder threads (none on an empty stage, when a project's
//! video is missing), the playback state machine and the texture of the picture on screen.
//! Everything here is cheap per frame; decoding happens elsewhere.

use std::path::PathBuf;
use std::sync::Arc;

use crate::playback::Playback;
use crate::tasks::Task;
use crate::video::worker::{DecodeEvent, DecoderConfig, DecoderHandle};
use crate::video::{Frame, NS_PER_MS, VideoIndex, VideoSource};

/// Clock step of an empty stage (no video): ten "frames" a second.
const EMPTY_STAGE_STEP_MS: i64 = 100;

/// The most clock steps an empty stage holds: a stream claimed to last years (a hostile
/// caption's end time) gets coarser steps, not gigabytes of them.
const EMPTY_STAGE_MAX_STEPS: i64 = 100_000;

/// The clock of an empty stage over `duration_ms`: ten steps a second, or fewer when that
/// would be more than [`EMPTY_STAGE_MAX_STEPS`].
fn empty_stage_times(duration_ms: i64) -> Arc<[i64]> {
    let duration_ms = duration_ms.max(0);
    let step_ms = EMPTY_STAGE_STEP_MS.max(duration_ms / EMPTY_STAGE_MAX_STEPS + 1);
    (0..=duration_ms / step_ms)
        .map(|i| i * step_ms * NS_PER_MS)
        .collect()
}

/// Which picture is on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The exact frame for the playhead.
    Exact(usize),
    /// A low-resolution preview of the playhead's GOP while the exact frame decodes.
    Preview(usize),
    /// An older frame, kept until something better arrives.
    Stale(usize),
}

pub struct Player {
    pub path: PathBuf,
    /// `None` on an empty stage: memory shown on a timeline with no picture.
    pub decoder: Option<DecoderHandle>,
    pub playback: Playback,
    pub keyframes_ns: Vec<i64>,
    texture: Option<egui::TextureHandle>,
    texture_source: Option<(usize, bool)>,
    pub shown: Option<Shown>,
    /// While the user drags on the scrub track.
    pub scrubbing: bool,
    /// `ui.input(|i| i.time)` of the last check for growth of a followed live file.
    pub last_live_check_s: f64,
    /// Questions of a world stream, by ask time.
    pub questions: Vec<Task>,
}

impl Player {
    pub fn new(
        source: VideoSource,
        mut questions: Vec<Task>,
        ctx: &egui::Context,
    ) -> std::io::Result<Self> {
        questions.sort_by(|a, b| (a.ask_ms, &a.id).cmp(&(b.ask_ms, &b.id)));
        let index = Arc::clone(source.index());
        let path = index.path.clone();
        let repaint = ctx.clone();
        let decoder = DecoderHandle::spawn(
            source,
            &DecoderConfig::default(),
            Arc::new(move || repaint.request_repaint()),
        )?;
        let times: Arc<[i64]> = index.frames.iter().map(|f| f.pts_ns).collect();
        let keyframes_ns = index
            .frames
            .iter()
            .filter(|f| f.is_keyframe)
            .map(|f| f.pts_ns)
            .collect();
        Ok(Self {
            path,
            decoder: Some(decoder),
            playback: Playback::new(times, index.duration_ns()),
            keyframes_ns,
            texture: None,
            texture_source: None,
            shown: None,
            scrubbing: false,
            last_live_check_s: f64::NEG_INFINITY,
            questions,
        })
    }

    /// A stream whose video is missing: a clock over `duration_ms` (ten steps a second) and
    /// no picture, so that its memory can still be browsed on the timeline.
    #[must_use]
    pub fn empty_stage(path: PathBuf, duration_ms: i64) -> Self {
        let times = empty_stage_times(duration_ms);
        Self {
            path,
            decoder: None,
            playback: Playback::new(times, duration_ms * NS_PER_MS),
            keyframes_ns: Vec::new(),
            texture: None,
            texture_source: None,
            shown: None,
            scrubbing: false,
            last_live_check_s: f64::NEG_INFINITY,
            questions: Vec::new(),
        }
    }

    /// Lengthens an empty stage (memory arriving past its end); a video keeps its own length.
    pub fn extend_stage(&mut self, duration_ms: i64) {
        if self.decoder.is_some() || duration_ms * NS_PER_MS <= self.playback.duration_ns() {
            return;
        }
        self.playback
            .extend(empty_stage_times(duration_ms), duration_ms * NS_PER_MS);
    }

    /// The video's index, unless this is an empty stage.
    #[must_use]
    pub fn index(&self) -> Option<&Arc<VideoIndex>> {
        self.decoder.as_ref().map(DecoderHandle::index)
    }

    /// Advances playback, asks the decoder for what comes next and picks the picture to show.
    /// Returns errors the decoder reported.
    pub fn tick(&mut self, ctx: &egui::Context, wall_dt_ns: i64) -> Vec<String> {
        if self.playback.advance(wall_dt_ns) || self.playback.is_playing() {
            ctx.request_repaint();
        }
        let current = self.playback.current_frame();
        let Some(decoder) = &mut self.decoder else {
            return Vec::new();
        };
        let index = Arc::clone(decoder.index());
        let last = if self.playback.is_playing() && !self.scrubbing {
            // Half a second of stream ahead (scaled by speed), within what the cache can hold.
            let ahead_ns = (500.0 * self.playback.speed()) as i64 * NS_PER_MS;
            let frame_bytes = index.width as usize * index.height as usize * 4;
            let max_frames =
                (DecoderConfig::default().cache_budget_bytes / frame_bytes.max(1) / 3).max(2);
            let by_time = index.frame_at(index.frames[current].pts_ns + ahead_ns);
            by_time.min(current + max_frames)
        } else {
            current
        };
        if !decoder.want(current, last) {
            // The decoder's queue is full; ask again shortly rather than wait for input.
            ctx.request_repaint_after(std::time::Duration::from_millis(10));
        }

        let picked = if let Some(frame) = decoder.frame(current) {
            Some((Shown::Exact(current), frame))
        } else if let Some(preview) = decoder.preview(current) {
            // Showing the previous exact frame beats a blurry preview while playing smoothly.
            match self.shown {
                Some(Shown::Exact(prev) | Shown::Stale(prev))
                    if self.playback.is_playing() && current.abs_diff(prev) <= 3 =>
                {
                    None
                }
                _ => Some((Shown::Preview(current), preview)),
            }
        } else {
            None
        };
        let errors = decoder.drain_events();
        match picked {
            Some((shown, frame)) => self.set_picture(ctx, shown, &frame),
            None => {
                if let Some(Shown::Exact(prev)) = self.shown {
                    self.shown = Some(Shown::Stale(prev));
                }
            }
        }
        errors
            .into_iter()
            .map(|event| match event {
                DecodeEvent::Error(err) => err.to_string(),
            })
            .collect()
    }

    fn set_picture(&mut self, ctx: &egui::Context, shown: Shown, frame: &Frame) {
        let key = (frame.index, matches!(shown, Shown::Exact(_)));
        self.shown = Some(shown);
        if self.texture_source == Some(key) {
            return;
        }
        let image = egui::ColorImage::from_rgba_unmultiplied(
            [frame.width as usize, frame.height as usize],
            &frame.rgba,
        );
        match &mut self.texture {
            Some(texture) => texture.set(image, egui::TextureOptions::LINEAR),
            None => {
                self.texture =
                    Some(ctx.load_texture("video-frame", image, egui::TextureOptions::LINEAR));
            }
        }
        self.texture_source = Some(key);
    }

    #[must_use]
    pub fn texture(&self) -> Option<&egui::TextureHandle> {
        self.texture.as_ref()
    }

    /// Display aspect ratio (width / height) of the video.
    #[must_use]
    pub fn aspect(&self) -> f32 {
        self.index().map_or(16.0 / 9.0, |index| {
            index.width as f32 / index.height.max(1) as f32
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_stage_of_a_year_holds_a_bounded_clock() {
        // Ten steps a second for an ordinary stream.
        let times = empty_stage_times(10_000);
        assert_eq!(times.len(), 101);
        assert_eq!(times[1], EMPTY_STAGE_STEP_MS * NS_PER_MS);
        // A caption claiming to end a year in: coarser steps, not 300 million of them.
        let year_ms = 366 * 24 * 3_600_000;
        let times = empty_stage_times(year_ms);
        assert!(times.len() <= 100_001, "{}", times.len());
        assert!(times.last().is_some_and(|&t| t <= year_ms * NS_PER_MS));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(empty_stage_times(-5).len(), 1);
    }
}
