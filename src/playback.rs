//! The playback state machine: play, pause, seek, frame and second steps, speed, loop a
//! selection, follow-live. No UI here; the app feeds it wall-clock time and reads the position.
//!
//! Positions are nanoseconds of stream time. Frame steps use the real frame times (from the
//! container), so variable-frame-rate video steps exactly one picture at a time.

use std::sync::Arc;

/// Playback speeds offered by `[` and `]`.
pub const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

#[derive(Clone, Debug)]
pub struct Playback {
    frame_times_ns: Arc<[i64]>,
    duration_ns: i64,
    position_ns: i64,
    playing: bool,
    speed: f64,
    loop_range_ns: Option<(i64, i64)>,
    looping: bool,
    follow_live: bool,
}

impl Playback {
    /// `frame_times_ns` ascending (presentation order); `duration_ns` is the end of the last frame.
    #[must_use]
    pub fn new(frame_times_ns: Arc<[i64]>, duration_ns: i64) -> Self {
        Self {
            position_ns: frame_times_ns.first().copied().unwrap_or(0),
            frame_times_ns,
            duration_ns: duration_ns.max(0),
            playing: false,
            speed: 1.0,
            loop_range_ns: None,
            looping: false,
            follow_live: false,
        }
    }

    #[must_use]
    pub fn position_ns(&self) -> i64 {
        self.position_ns
    }

    #[must_use]
    pub fn duration_ns(&self) -> i64 {
        self.duration_ns
    }

    #[must_use]
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    #[must_use]
    pub fn speed(&self) -> f64 {
        self.speed
    }

    #[must_use]
    pub fn loop_range_ns(&self) -> Option<(i64, i64)> {
        self.loop_range_ns
    }

    #[must_use]
    pub fn is_looping(&self) -> bool {
        self.looping && self.loop_range_ns.is_some()
    }

    #[must_use]
    pub fn follows_live(&self) -> bool {
        self.follow_live
    }

    #[must_use]
    pub fn frame_count(&self) -> usize {
        self.frame_times_ns.len()
    }

    /// The frame shown now: the last whose time is <= the position.
    #[must_use]
    pub fn current_frame(&self) -> usize {
        self.frame_at(self.position_ns)
    }

    #[must_use]
    pub fn frame_at(&self, time_ns: i64) -> usize {
        self.frame_times_ns
            .partition_point(|&t| t <= time_ns)
            .saturating_sub(1)
    }

    /// Time of the last frame (where End lands, so that a picture is shown).
    #[must_use]
    pub fn last_frame_ns(&self) -> i64 {
        self.frame_times_ns.last().copied().unwrap_or(0)
    }

    /// Time of the first frame (not always 0: a stream may start later).
    #[must_use]
    pub fn first_frame_ns(&self) -> i64 {
        self.frame_times_ns.first().copied().unwrap_or(0)
    }

    pub fn play(&mut self) {
        if self.position_ns >= self.last_frame_ns() && !self.follow_live && !self.is_looping() {
            // Play at the end starts over, as every player does.
            self.position_ns = self.first_frame_ns();
        }
        self.playing = true;
    }

    pub fn pause(&mut self) {
        self.playing = false;
    }

    pub fn toggle_play(&mut self) {
        if self.playing {
            self.pause();
        } else {
            self.play();
        }
    }

    /// Seeks to a time, clamped to the video; leaves follow-live.
    pub fn seek_ns(&mut self, time_ns: i64) {
        self.follow_live = false;
        self.position_ns = time_ns.clamp(self.first_frame_ns(), self.last_frame_ns());
    }

    /// Moves by `delta_ns` (e.g. plus or minus 1 s or 10 s).
    pub fn skip_ns(&mut self, delta_ns: i64) {
        self.seek_ns(self.position_ns.saturating_add(delta_ns));
    }

    /// Steps `frames` pictures forward (or back when negative) and pauses.
    pub fn step_frames(&mut self, frames: i64) {
        self.playing = false;
        if self.frame_times_ns.is_empty() {
            return;
        }
        let current = self.current_frame() as i64;
        let last = self.frame_times_ns.len() as i64 - 1;
        let target = (current + frames).clamp(0, last) as usize;
        self.seek_ns(self.frame_times_ns[target]);
    }

    /// The frame boundary `frames` pictures from `time_ms` (forward: each step goes to the
    /// first frame starting after; back: the last one starting before), in whole ms. Evidence
    /// edges step by real frame times, never by time x fps.
    #[must_use]
    pub fn frame_step_ms(&self, time_ms: i64, frames: i64) -> i64 {
        const NS_PER_MS: i64 = 1_000_000;
        let ms = |ns: i64| (ns + NS_PER_MS / 2).div_euclid(NS_PER_MS);
        let times = &self.frame_times_ns;
        let end_ms = ms(self.duration_ns);
        let mut t = time_ms;
        for _ in 0..frames.unsigned_abs() {
            t = if frames > 0 {
                let i = times.partition_point(|&f| ms(f) <= t);
                times.get(i).map_or(end_ms, |&f| ms(f)).max(t)
            } else {
                let i = times.partition_point(|&f| ms(f) < t);
                if i > 0 { ms(times[i - 1]) } else { 0.min(t) }
            };
        }
        t
    }

    /// The frames' start times, ascending.
    #[must_use]
    pub fn frame_times_ns(&self) -> &[i64] {
        &self.frame_times_ns
    }

    pub fn home(&mut self) {
        self.seek_ns(self.first_frame_ns());
    }

    pub fn end(&mut self) {
        self.seek_ns(self.last_frame_ns());
    }

    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
    }

    /// Next speed up (`]`).
    pub fn faster(&mut self) {
        if let Some(&next) = SPEEDS.iter().find(|&&s| s > self.speed + 1e-9) {
            self.speed = next;
        }
    }

    /// Next speed down (`[`).
    pub fn slower(&mut self) {
        if let Some(&next) = SPEEDS.iter().rev().find(|&&s| s < self.speed - 1e-9) {
            self.speed = next;
        }
    }

    /// Sets (or clears) the selection that looping repeats.
    pub fn set_loop_range_ns(&mut self, range: Option<(i64, i64)>) {
        self.loop_range_ns = range
            .map(|(a, b)| (a.min(b).max(0), a.max(b).min(self.duration_ns)))
            .filter(|(a, b)| b > a);
    }

    pub fn set_looping(&mut self, looping: bool) {
        self.looping = looping;
    }

    pub fn set_follow_live(&mut self, follow: bool) {
        self.follow_live = follow;
        if follow {
            self.position_ns = self.last_frame_ns();
        }
    }

    /// A growing stream got more frames.
    pub fn extend(&mut self, frame_times_ns: Arc<[i64]>, duration_ns: i64) {
        self.frame_times_ns = frame_times_ns;
        self.duration_ns = duration_ns.max(0);
        if self.follow_live {
            self.position_ns = self.last_frame_ns();
        }
    }

    /// Advances by `wall_ns` of real time at the current speed. Returns true if the position
    /// changed.
    pub fn advance(&mut self, wall_ns: i64) -> bool {
        if !self.playing || wall_ns <= 0 {
            return false;
        }
        let before = self.position_ns;
        let step = (wall_ns as f64 * self.speed) as i64;
        let mut next = self.position_ns.saturating_add(step);
        if let (true, Some((start, end))) = (self.looping, self.loop_range_ns) {
            if next >= end || next < start {
                let span = (end - start).max(1);
                next = start + (next - start).rem_euclid(span);
            }
        } else if next >= self.last_frame_ns() {
            next = self.last_frame_ns();
            if !self.follow_live {
                // Stop at the last frame; a live stream keeps "playing" at its edge.
                self.playing = false;
            }
        }
        self.position_ns = next;
        self.position_ns != before
    }
}

/// Where a dragged evidence edge at `time_ms` lands: on a clip boundary (a multiple of
/// `clip_ms`) within `tolerance_ms`, else on the nearest frame start (whole ms), so that a span
/// covers whole frames, and whole clips when it is meant to.
#[must_use]
pub fn snap_edge_ms(time_ms: i64, frame_times_ns: &[i64], clip_ms: i64, tolerance_ms: i64) -> i64 {
    const NS_PER_MS: i64 = 1_000_000;
    if clip_ms > 0 {
        let boundary = (time_ms + clip_ms / 2).div_euclid(clip_ms) * clip_ms;
        if (boundary - time_ms).abs() <= tolerance_ms {
            return boundary;
        }
    }
    let ms = |ns: i64| (ns + NS_PER_MS / 2).div_euclid(NS_PER_MS);
    let i = frame_times_ns.partition_point(|&f| ms(f) < time_ms);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|k| frame_times_ns.get(k).map(|&f| ms(f)))
        .min_by_key(|&f| (f - time_ms).abs())
        .unwrap_or(time_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dragged_edge_snaps_to_a_clip_boundary_near_it_else_to_the_nearest_frame() {
        let frames: Vec<i64> = (0..300).map(|i| i * 33_333_333).collect();
        // Within the tolerance of 20 s: the boundary.
        assert_eq!(snap_edge_ms(19_950, &frames, 10_000, 100), 20_000);
        assert_eq!(snap_edge_ms(20_080, &frames, 10_000, 100), 20_000);
        // Elsewhere: the nearest frame start (frames at 0, 33, 67, 100, ...).
        assert_eq!(snap_edge_ms(5_010, &frames, 10_000, 100), 5_000);
        assert_eq!(snap_edge_ms(5_020, &frames, 10_000, 100), 5_033);
        assert_eq!(
            snap_edge_ms(60, &frames, 0, 100),
            67,
            "no clips: frames only"
        );
        assert_eq!(
            snap_edge_ms(1_234, &[], 0, 0),
            1_234,
            "no frames: as dragged"
        );
    }

    #[test]
    fn frame_steps_in_ms_follow_the_real_frame_times() {
        // 30 fps: 33.333 ms frames; rounding to ms must never get stuck.
        let times: Arc<[i64]> = (0..10).map(|i| i * 1_000_000_000 / 30).collect();
        let p = Playback::new(times, 10 * 1_000_000_000 / 30);
        assert_eq!(p.frame_step_ms(0, 1), 33);
        assert_eq!(p.frame_step_ms(33, 1), 67);
        assert_eq!(p.frame_step_ms(67, -1), 33);
        assert_eq!(p.frame_step_ms(50, -1), 33);
        assert_eq!(p.frame_step_ms(50, 2), 100);
        assert_eq!(p.frame_step_ms(300, 1), 333, "the last frame's end");
        assert_eq!(p.frame_step_ms(0, -1), 0);
    }

    const MS: i64 = 1_000_000;

    /// 10 s at 25 fps.
    fn cfr() -> Playback {
        let times: Vec<i64> = (0..250).map(|i| i * 40 * MS).collect();
        Playback::new(times.into(), 10_000 * MS)
    }

    #[test]
    fn play_advances_with_speed_and_pause_stops() {
        let mut p = cfr();
        p.play();
        p.advance(100 * MS);
        assert_eq!(p.position_ns(), 100 * MS);
        p.set_speed(2.0);
        p.advance(100 * MS);
        assert_eq!(p.position_ns(), 300 * MS);
        p.pause();
        assert!(!p.advance(100 * MS));
        assert_eq!(p.position_ns(), 300 * MS);
    }

    #[test]
    fn frame_steps_land_on_frame_times() {
        let mut p = cfr();
        p.seek_ns(1_010 * MS);
        assert_eq!(p.current_frame(), 25);
        p.step_frames(1);
        assert_eq!(p.position_ns(), 1_040 * MS);
        p.step_frames(-2);
        assert_eq!(p.position_ns(), 960 * MS);
        p.home();
        p.step_frames(-1);
        assert_eq!(p.position_ns(), 0);
    }

    #[test]
    fn a_stream_that_starts_late_never_seeks_before_its_first_frame() {
        let mut p = Playback::new(vec![80 * MS, 120 * MS].into(), 160 * MS);
        assert_eq!(p.position_ns(), 80 * MS);
        p.seek_ns(10 * MS);
        assert_eq!(p.position_ns(), 80 * MS);
        p.seek_ns(130 * MS);
        p.home();
        assert_eq!(p.position_ns(), 80 * MS);
    }

    #[test]
    fn variable_frame_rate_steps_follow_real_times() {
        let times: Arc<[i64]> = vec![0, 40 * MS, 80 * MS, 800 * MS, 900 * MS].into();
        let mut p = Playback::new(times, 1_000 * MS);
        p.seek_ns(80 * MS);
        p.step_frames(1);
        assert_eq!(p.position_ns(), 800 * MS);
        p.seek_ns(799 * MS);
        assert_eq!(p.current_frame(), 2);
    }

    #[test]
    fn skips_clamp_to_the_video_and_end_shows_the_last_frame() {
        let mut p = cfr();
        p.skip_ns(-1_000 * MS);
        assert_eq!(p.position_ns(), 0);
        p.skip_ns(10_000 * MS);
        assert_eq!(p.position_ns(), 9_960 * MS);
        p.home();
        p.end();
        assert_eq!(p.current_frame(), 249);
    }

    #[test]
    fn speed_steps_between_quarter_and_sixteen() {
        let mut p = cfr();
        for _ in 0..10 {
            p.faster();
        }
        assert!((p.speed() - 16.0).abs() < 1e-9);
        for _ in 0..10 {
            p.slower();
        }
        assert!((p.speed() - 0.25).abs() < 1e-9);
        p.set_speed(100.0);
        assert!((p.speed() - 16.0).abs() < 1e-9);
    }

    #[test]
    fn playback_stops_at_the_end_and_play_restarts() {
        let mut p = cfr();
        p.end();
        p.skip_ns(-100 * MS);
        p.play();
        p.advance(1_000 * MS);
        assert!(!p.is_playing());
        assert_eq!(p.position_ns(), 9_960 * MS);
        p.play();
        assert_eq!(p.position_ns(), 0);
    }

    #[test]
    fn loop_wraps_inside_the_selection() {
        let mut p = cfr();
        p.set_loop_range_ns(Some((3_000 * MS, 2_000 * MS)));
        assert_eq!(p.loop_range_ns(), Some((2_000 * MS, 3_000 * MS)));
        p.set_looping(true);
        p.seek_ns(2_900 * MS);
        p.play();
        p.advance(300 * MS);
        assert_eq!(p.position_ns(), 2_200 * MS);
        assert!(p.is_playing());
    }

    #[test]
    fn follow_live_tracks_a_growing_stream_until_seek() {
        let mut p = Playback::new(vec![0, 40 * MS].into(), 80 * MS);
        p.set_follow_live(true);
        p.play();
        let grown: Vec<i64> = (0..50).map(|i| i * 40 * MS).collect();
        p.extend(grown.into(), 2_000 * MS);
        assert_eq!(p.position_ns(), 1_960 * MS);
        p.advance(500 * MS);
        assert!(p.is_playing(), "live playback waits at the edge");
        p.seek_ns(0);
        assert!(!p.follows_live());
        let more: Vec<i64> = (0..60).map(|i| i * 40 * MS).collect();
        p.extend(more.into(), 2_400 * MS);
        assert_eq!(p.position_ns(), 0);
    }
}
