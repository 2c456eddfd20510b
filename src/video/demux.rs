//! MP4 demux: the video track's samples in decode order, its frames in presentation order (from
//! the container's composition timestamps) and its GOPs. Progressive and fragmented files,
//! `avc1` and `avc3` sample entries.
//!
//! `re_mp4` parses the boxes; a walk of our own over the whole box tree runs first
//! ([`boxes::check_tree`]) so that a file that is not an MP4, is cut short or has a box size
//! that would make `re_mp4` loop gets a precise message, and so that `avc3` entries (which
//! `re_mp4` does not know, though they are laid out exactly like `avc1`) can be read as `avc1`.
//! Sample times are our own ([`timeline`]): ffmpeg's timeline, not `re_mp4`'s.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::VideoError;
use super::boxes::{self, Layout};
use super::timeline;

/// One coded sample of the video track, in decode order.
#[derive(Clone, Copy, Debug)]
pub struct SampleInfo {
    pub offset: u64,
    pub size: u32,
    pub decode_ticks: i64,
    pub pts_ticks: i64,
    pub duration_ticks: u64,
    pub is_sync: bool,
}

/// One displayed frame, in presentation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub pts_ns: i64,
    pub duration_ns: i64,
    /// Index into [`VideoIndex::samples`] (decode order).
    pub sample: usize,
    pub gop: usize,
    pub is_keyframe: bool,
}

/// A keyframe and the samples that depend on it: the unit that decodes on its own.
#[derive(Clone, Debug)]
pub struct Gop {
    /// Decode-order sample range.
    pub samples: std::ops::Range<usize>,
    /// Presentation-order frame indices of this GOP, ascending.
    pub frames: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Codec {
    H264 {
        /// `avc1` or `avc3`.
        sample_entry: String,
        profile_idc: u8,
        constraint_flags: u8,
        level_idc: u8,
        nal_length_size: usize,
        sps: Vec<Vec<u8>>,
        pps: Vec<Vec<u8>>,
    },
    /// Any other video codec, named as ffprobe names it (`hevc`, `vp9`, `av1`, `vp8`).
    Other { name: String, codec_string: String },
}

impl Codec {
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::H264 { .. } => "h264",
            Self::Other { name, .. } => name,
        }
    }

    /// The profile as ffprobe spells it, where known.
    #[must_use]
    pub fn profile(&self) -> Option<String> {
        let Self::H264 {
            profile_idc,
            constraint_flags,
            ..
        } = self
        else {
            return None;
        };
        let constrained = constraint_flags & 0x40 != 0;
        let name = match profile_idc {
            66 if constrained => "Constrained Baseline",
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => "High 10",
            122 => "High 4:2:2",
            244 => "High 4:4:4 Predictive",
            other => return Some(format!("profile_idc {other}")),
        };
        Some(name.to_owned())
    }
}

/// Everything known about a video file without decoding it.
#[derive(Clone, Debug)]
pub struct VideoIndex {
    pub path: PathBuf,
    pub file_len: u64,
    pub fragmented: bool,
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    pub track_id: u32,
    pub timescale: u64,
    pub samples: Vec<SampleInfo>,
    pub frames: Vec<FrameInfo>,
    pub gops: Vec<Gop>,
}

impl VideoIndex {
    #[must_use]
    pub fn container(&self) -> &'static str {
        if self.fragmented {
            "mp4 (fragmented)"
        } else {
            "mp4"
        }
    }

    /// End of the last frame.
    #[must_use]
    pub fn duration_ns(&self) -> i64 {
        self.frames
            .iter()
            .map(|f| f.pts_ns + f.duration_ns)
            .max()
            .unwrap_or(0)
    }

    #[must_use]
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    #[must_use]
    pub fn keyframe_count(&self) -> usize {
        self.gops.len()
    }

    #[must_use]
    pub fn avg_fps(&self) -> f64 {
        let duration_ns = self.duration_ns();
        if duration_ns <= 0 {
            return 0.0;
        }
        self.frames.len() as f64 / (duration_ns as f64 / 1e9)
    }

    /// True when decode order differs from presentation order.
    #[must_use]
    pub fn has_b_frames(&self) -> bool {
        self.frames.iter().enumerate().any(|(i, f)| f.sample != i)
    }

    /// True when frame durations vary by more than rounding.
    #[must_use]
    pub fn is_vfr(&self) -> bool {
        if self.frames.len() < 3 {
            return false;
        }
        let mut steps: Vec<i64> = self
            .frames
            .windows(2)
            .map(|w| w[1].pts_ns - w[0].pts_ns)
            .collect();
        steps.sort_unstable();
        let median = steps[steps.len() / 2];
        let spread = steps[steps.len() - 1] - steps[0];
        // Timescales of 1 kHz turn 29.97 fps into alternating 33/34 ms steps: not VFR.
        let tick_ns = (1e9 / self.timescale.max(1) as f64) as i64;
        spread > (2 * tick_ns).max(median / 50)
    }

    /// The frame shown at `time_ns`: the last one whose time is <= `time_ns` (the first frame
    /// before the video starts).
    #[must_use]
    pub fn frame_at(&self, time_ns: i64) -> usize {
        self.frames
            .partition_point(|f| f.pts_ns <= time_ns)
            .saturating_sub(1)
    }

    /// Nanoseconds from a sample's timescale units.
    #[must_use]
    pub fn ns_from_ticks(&self, ticks: i64) -> i64 {
        ns_from_ticks(ticks, self.timescale)
    }
}

fn ns_from_ticks(ticks: i64, timescale: u64) -> i64 {
    let ns = i128::from(ticks) * 1_000_000_000 / i128::from(timescale.max(1));
    i64::try_from(ns).unwrap_or(i64::MAX)
}

/// Reads the index of the first video track of an MP4 file.
pub fn demux_file(path: &Path) -> Result<VideoIndex, VideoError> {
    let mut file = File::open(path).map_err(|e| VideoError::io(path, e))?;
    let metadata = file.metadata().map_err(|e| VideoError::io(path, e))?;
    if metadata.is_dir() {
        return Err(VideoError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let file_len = metadata.len();
    if file_len == 0 {
        return Err(VideoError::Empty {
            path: path.to_path_buf(),
        });
    }
    let layout = boxes::check_tree(&mut file, file_len, path)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| VideoError::io(path, e))?;
    let reader = PatchedReader {
        inner: std::io::BufReader::new(file),
        pos: 0,
        patches: layout.avc3_entries.clone(),
        seeks_back_left: SEEKS_BACK_PER_BOX
            .saturating_mul(layout.box_count)
            .saturating_add(SEEKS_BACK_SPARE),
    };
    // re_mp4 indexes its sample tables without checking them against each other: a hostile
    // file must never take the app down, so a panic inside the parser becomes a "malformed"
    // error, with no panic report on stderr before it.
    let parsed = quiet_catch_unwind(move || re_mp4::Mp4::read(reader, file_len));
    let mp4 = match parsed {
        Ok(Ok(mp4)) => mp4,
        Ok(Err(err)) => {
            return Err(VideoError::Malformed {
                path: path.to_path_buf(),
                detail: boxes::printable(&err.to_string()),
            });
        }
        Err(_) => {
            return Err(VideoError::Malformed {
                path: path.to_path_buf(),
                detail: "its sample tables (stts, stsc, stsz, stco, stss, ctts) or durations \
                         contradict each other"
                    .to_owned(),
            });
        }
    };
    build_index(path, file_len, &layout, &mp4)
}

thread_local! {
    /// Whether this thread is inside [`quiet_catch_unwind`].
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind`, without the "thread 'main' panicked" report for a panic inside `f` (the
/// error that follows names the file). Panics anywhere else are reported as before: the hook
/// installed here hands them to the one it replaced.
fn quiet_catch_unwind<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(std::cell::Cell::get) {
                report(info);
            }
        }));
    });
    let was_quiet = QUIET_PANICS.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(was_quiet));
    result
}

/// How often a correct parse may seek backwards per box (re-reading a raw box, stepping back
/// after reading past a short box), and a spare allowance. `re_mp4` seeks back in every loop
/// it can be trapped in, so this budget turns any such loop left unchecked by
/// [`boxes::check_tree`] into an error within a few thousand steps instead of a hang.
const SEEKS_BACK_PER_BOX: u64 = 8;
const SEEKS_BACK_SPARE: u64 = 4096;

/// A reader that presents `avc3` sample-entry fourccs as `avc1`, and fails once it has been
/// asked to seek backwards more often than a correct parse needs.
struct PatchedReader<R> {
    inner: R,
    pos: u64,
    patches: Vec<u64>,
    seeks_back_left: u64,
}

impl<R: Read> Read for PatchedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read_end = self.pos + n as u64;
        for &at in &self.patches {
            // The fourcc is "avc3"; only its last byte differs from "avc1".
            let last = at + 3;
            if last >= self.pos && last < read_end {
                buf[(last - self.pos) as usize] = b'1';
            }
        }
        self.pos = read_end;
        Ok(n)
    }
}

impl<R: Seek> Seek for PatchedReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let before = self.pos;
        self.pos = self.inner.seek(pos)?;
        if self.pos <= before && !matches!(pos, SeekFrom::Current(0)) {
            if self.seeks_back_left == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the box structure loops back on itself",
                ));
            }
            self.seeks_back_left -= 1;
        }
        Ok(self.pos)
    }
}

fn build_index(
    path: &Path,
    file_len: u64,
    layout: &Layout,
    mp4: &re_mp4::Mp4,
) -> Result<VideoIndex, VideoError> {
    let malformed = |detail: String| VideoError::Malformed {
        path: path.to_path_buf(),
        detail,
    };
    let video = mp4
        .tracks()
        .values()
        .find(|t| t.kind == Some(re_mp4::TrackKind::Video));
    let Some(track) = video else {
        let kinds: Vec<String> = mp4
            .tracks()
            .values()
            .map(|t| match t.kind {
                Some(re_mp4::TrackKind::Audio) => "audio".to_owned(),
                Some(re_mp4::TrackKind::Subtitle) => "subtitle".to_owned(),
                Some(re_mp4::TrackKind::Video) => "video".to_owned(),
                None => "unknown".to_owned(),
            })
            .collect();
        return Err(VideoError::NoVideoTrack {
            path: path.to_path_buf(),
            tracks: if kinds.is_empty() {
                "none".to_owned()
            } else {
                kinds.join(", ")
            },
        });
    };
    if track.timescale == 0 {
        return Err(malformed("the video track's timescale is 0".to_owned()));
    }
    let stsd = &track.trak(mp4).mdia.minf.stbl.stsd;
    let (codec, width, height) = match &stsd.contents {
        re_mp4::StsdBoxContent::Avc1(avc1) => {
            let config = &avc1.avcc.contents;
            let first_sps = config
                .sequence_parameter_sets
                .first()
                .map(|n| n.bytes.as_slice());
            (
                Codec::H264 {
                    sample_entry: if layout.avc3_entries.is_empty() {
                        "avc1".to_owned()
                    } else {
                        "avc3".to_owned()
                    },
                    profile_idc: config.avc_profile_indication,
                    constraint_flags: first_sps
                        .and_then(|s| s.get(2).copied())
                        .unwrap_or(config.profile_compatibility),
                    level_idc: config.avc_level_indication,
                    nal_length_size: usize::from(config.length_size_minus_one & 3) + 1,
                    sps: config
                        .sequence_parameter_sets
                        .iter()
                        .map(|n| n.bytes.clone())
                        .collect(),
                    pps: config
                        .picture_parameter_sets
                        .iter()
                        .map(|n| n.bytes.clone())
                        .collect(),
                },
                u32::from(avc1.width),
                u32::from(avc1.height),
            )
        }
        other => {
            let name = match other {
                re_mp4::StsdBoxContent::Hev1(_) | re_mp4::StsdBoxContent::Hvc1(_) => "hevc",
                re_mp4::StsdBoxContent::Vp09(_) => "vp9",
                re_mp4::StsdBoxContent::Vp08(_) => "vp8",
                re_mp4::StsdBoxContent::Av01(_) => "av1",
                _ => "unknown",
            };
            (
                Codec::Other {
                    name: name.to_owned(),
                    codec_string: other.codec_string().unwrap_or_else(|| name.to_owned()),
                },
                u32::from(track.width),
                u32::from(track.height),
            )
        }
    };
    if track.samples.is_empty() {
        return Err(malformed("the video track has no samples".to_owned()));
    }
    let times =
        timeline::sample_times(mp4, track.trak(mp4), track.samples.len()).ok_or_else(|| {
            malformed("the video track's time tables list fewer samples than it has".to_owned())
        })?;
    let mut samples = Vec::with_capacity(track.samples.len());
    for (i, (s, time)) in track.samples.iter().zip(&times).enumerate() {
        let end = s.offset.saturating_add(s.size);
        if end > file_len {
            return Err(VideoError::Truncated {
                path: path.to_path_buf(),
                detail: format!(
                    "video sample {i} ends at byte {end} but the file has only {file_len} bytes"
                ),
            });
        }
        check_sample_time(time, track.timescale, i).map_err(malformed)?;
        samples.push(SampleInfo {
            offset: s.offset,
            size: u32::try_from(s.size)
                .map_err(|_| malformed(format!("video sample {i} is larger than 4 GiB")))?,
            decode_ticks: time.decode_ticks,
            pts_ticks: time.pts_ticks,
            duration_ticks: time.duration_ticks,
            is_sync: s.is_sync,
        });
    }
    let (frames, gops) = order_frames(&samples, track.timescale);
    Ok(VideoIndex {
        path: path.to_path_buf(),
        file_len,
        fragmented: layout.fragmented,
        codec,
        width,
        height,
        track_id: track.track_id,
        timescale: track.timescale,
        samples,
        frames,
        gops,
    })
}

/// The longest time a sample may sit at (or last until): far beyond any real recording, and
/// far inside `i64` nanoseconds, so that time arithmetic downstream cannot overflow.
const MAX_MEDIA_NS: i64 = 10_000 * 3600 * super::NS_PER_SEC;

/// A damaged `tfdt`, `stts`, `ctts` or `elst` can put a sample centuries away.
fn check_sample_time(
    time: &timeline::SampleTime,
    timescale: u64,
    sample: usize,
) -> Result<(), String> {
    let duration_ticks = i64::try_from(time.duration_ticks).unwrap_or(i64::MAX);
    let pts_ns = ns_from_ticks(time.pts_ticks, timescale);
    let dts_ns = ns_from_ticks(time.decode_ticks, timescale);
    let end_ns = pts_ns.saturating_add(ns_from_ticks(duration_ticks, timescale));
    if pts_ns.saturating_abs() > MAX_MEDIA_NS
        || dts_ns.saturating_abs() > MAX_MEDIA_NS
        || end_ns > MAX_MEDIA_NS
    {
        return Err(format!(
            "video sample {sample} is timed at {} s (lasting {} ticks of 1/{timescale} s), past any real video",
            pts_ns / super::NS_PER_SEC,
            time.duration_ticks
        ));
    }
    Ok(())
}

/// Presentation order from composition timestamps, and GOPs from sync samples.
fn order_frames(samples: &[SampleInfo], timescale: u64) -> (Vec<FrameInfo>, Vec<Gop>) {
    let mut gop_of_sample = Vec::with_capacity(samples.len());
    let mut gops: Vec<Gop> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.is_sync || gops.is_empty() {
            gops.push(Gop {
                samples: i..i + 1,
                frames: Vec::new(),
            });
        } else if let Some(g) = gops.last_mut() {
            g.samples.end = i + 1;
        }
        gop_of_sample.push(gops.len() - 1);
    }
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_by_key(|&i| (samples[i].pts_ticks, samples[i].decode_ticks));
    let frames: Vec<FrameInfo> = order
        .iter()
        .enumerate()
        .map(|(frame_index, &sample)| {
            let s = &samples[sample];
            let pts_ns = ns_from_ticks(s.pts_ticks, timescale);
            let next_pts_ns = order.get(frame_index + 1).map_or(
                pts_ns + ns_from_ticks(s.duration_ticks as i64, timescale),
                |&n| ns_from_ticks(samples[n].pts_ticks, timescale),
            );
            FrameInfo {
                pts_ns,
                duration_ns: (next_pts_ns - pts_ns).max(0),
                sample,
                gop: gop_of_sample[sample],
                is_keyframe: s.is_sync,
            }
        })
        .collect();
    for (i, f) in frames.iter().enumerate() {
        gops[f.gop].frames.push(i);
    }
    (frames, gops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dts: i64, pts: i64, sync: bool) -> SampleInfo {
        SampleInfo {
            offset: 0,
            size: 1,
            decode_ticks: dts,
            pts_ticks: pts,
            duration_ticks: 10,
            is_sync: sync,
        }
    }

    #[test]
    fn b_frames_are_ordered_by_composition_time() {
        // I P B B | I P B: decode order vs display order.
        let samples = [
            sample(0, 0, true),
            sample(10, 30, false),
            sample(20, 10, false),
            sample(30, 20, false),
            sample(40, 40, true),
            sample(50, 60, false),
            sample(60, 50, false),
        ];
        let (frames, gops) = order_frames(&samples, 1000);
        let order: Vec<usize> = frames.iter().map(|f| f.sample).collect();
        assert_eq!(order, [0, 2, 3, 1, 4, 6, 5]);
        assert_eq!(gops.len(), 2);
        assert_eq!(gops[0].frames, [0, 1, 2, 3]);
        assert_eq!(gops[1].frames, [4, 5, 6]);
        assert_eq!(frames[1].pts_ns, 10_000_000);
        assert_eq!(frames[6].duration_ns, 10_000_000);
    }
}
