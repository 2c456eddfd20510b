//! MP4 demux: the video track's samples in decode order, its frames in presentation order (from
//! the container's composition timestamps) and its GOPs. Progressive and fragmented files,
//! `avc1` and `avc3` sample entries.
//!
//! `re_mp4` parses the boxes; a small top-level walk of our own runs first so that a file that
//! is not an MP4, or is cut short, gets a precise message, and so that `avc3` entries (which
//! `re_mp4` does not know, though they are laid out exactly like `avc1`) can be read as `avc1`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::VideoError;

/// Top-level box types that may open an ISO-BMFF file.
const TOP_LEVEL_BOXES: [&[u8; 4]; 12] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"moof", b"sidx", b"pdin",
    b"meta", b"uuid",
];

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
    let file_len = file.metadata().map_err(|e| VideoError::io(path, e))?.len();
    if file_len == 0 {
        return Err(VideoError::Empty {
            path: path.to_path_buf(),
        });
    }
    let layout = scan_top_level(&mut file, file_len, path)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| VideoError::io(path, e))?;
    let reader = PatchedReader {
        inner: std::io::BufReader::new(file),
        pos: 0,
        patches: layout.avc3_entries.clone(),
    };
    // re_mp4 is careful, but a hostile file must never take the app down: a panic inside the
    // parser becomes a "malformed" error.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        re_mp4::Mp4::read(reader, file_len)
    }));
    let mp4 = match parsed {
        Ok(Ok(mp4)) => mp4,
        Ok(Err(err)) => {
            return Err(VideoError::Malformed {
                path: path.to_path_buf(),
                detail: err.to_string(),
            });
        }
        Err(_) => {
            return Err(VideoError::Malformed {
                path: path.to_path_buf(),
                detail: "the box structure could not be parsed".to_owned(),
            });
        }
    };
    build_index(path, file_len, &layout, &mp4)
}

struct Layout {
    fragmented: bool,
    /// File offsets of `avc3` fourccs inside `stsd`, to be read as `avc1`.
    avc3_entries: Vec<u64>,
}

fn read_exact_at(
    file: &mut File,
    offset: u64,
    buf: &mut [u8],
    path: &Path,
) -> Result<(), VideoError> {
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| VideoError::io(path, e))
}

/// A box header: (type, payload start, box end).
fn read_box_header(
    file: &mut File,
    offset: u64,
    limit: u64,
    path: &Path,
) -> Result<([u8; 4], u64, u64), VideoError> {
    let mut head = [0u8; 8];
    read_exact_at(file, offset, &mut head, path)?;
    let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (payload, end) = match size32 {
        0 => (offset + 8, limit),
        1 => {
            let mut large = [0u8; 8];
            read_exact_at(file, offset + 8, &mut large, path)?;
            (
                offset + 16,
                offset.saturating_add(u64::from_be_bytes(large)),
            )
        }
        n => (offset + 8, offset + u64::from(n)),
    };
    if end < payload {
        return Err(VideoError::Malformed {
            path: path.to_path_buf(),
            detail: format!(
                "box '{}' at byte {offset} has an impossible size",
                String::from_utf8_lossy(&kind)
            ),
        });
    }
    Ok((kind, payload, end))
}

fn scan_top_level(file: &mut File, file_len: u64, path: &Path) -> Result<Layout, VideoError> {
    if file_len < 8 {
        return Err(VideoError::NotMp4 {
            path: path.to_path_buf(),
            detail: format!("only {file_len} bytes long"),
        });
    }
    let mut layout = Layout {
        fragmented: false,
        avc3_entries: Vec::new(),
    };
    let mut offset = 0;
    let mut saw_moov = false;
    while offset + 8 <= file_len {
        let (kind, payload, end) = read_box_header(file, offset, file_len, path)?;
        if offset == 0 && !TOP_LEVEL_BOXES.contains(&&kind) {
            return Err(VideoError::NotMp4 {
                path: path.to_path_buf(),
                detail: describe_signature(file, path),
            });
        }
        if end > file_len {
            return Err(VideoError::Truncated {
                path: path.to_path_buf(),
                detail: format!(
                    "box '{}' at byte {offset} needs {} bytes but the file ends at byte {file_len}",
                    String::from_utf8_lossy(&kind),
                    end - offset
                ),
            });
        }
        match &kind {
            b"moov" => {
                saw_moov = true;
                find_avc3(file, payload, end, path, 0, &mut layout.avc3_entries)?;
            }
            b"moof" => layout.fragmented = true,
            _ => {}
        }
        if end == offset {
            break;
        }
        offset = end;
    }
    if !saw_moov {
        return Err(VideoError::Truncated {
            path: path.to_path_buf(),
            detail: "no 'moov' box (the index that recording software writes last is missing)"
                .to_owned(),
        });
    }
    Ok(layout)
}

fn describe_signature(file: &mut File, path: &Path) -> String {
    let mut magic = [0u8; 8];
    if read_exact_at(file, 0, &mut magic, path).is_err() {
        return "unreadable header".to_owned();
    }
    let known: [(&[u8], &str); 7] = [
        (b"\x89PNG", "it is a PNG image"),
        (b"\xff\xd8\xff", "it is a JPEG image"),
        (b"GIF8", "it is a GIF image"),
        (b"\x1a\x45\xdf\xa3", "it is a Matroska/WebM file"),
        (b"RIFF", "it is a RIFF (AVI/WAV) file"),
        (b"OggS", "it is an Ogg file"),
        (
            b"\x00\x00\x00\x01",
            "it looks like a raw H.264/H.265 stream, not an MP4 container",
        ),
    ];
    for (sig, what) in known {
        if magic.starts_with(sig) {
            return what.to_owned();
        }
    }
    "its first bytes are not an MP4 box".to_owned()
}

/// Walks moov/trak/mdia/minf/stbl/stsd for `avc3` sample entries.
fn find_avc3(
    file: &mut File,
    start: u64,
    end: u64,
    path: &Path,
    depth: u8,
    found: &mut Vec<u64>,
) -> Result<(), VideoError> {
    let mut offset = start;
    while offset + 8 <= end && depth < 8 {
        let (kind, payload, box_end) = read_box_header(file, offset, end, path)?;
        let box_end = box_end.min(end);
        match &kind {
            b"trak" | b"mdia" | b"minf" | b"stbl" => {
                find_avc3(file, payload, box_end, path, depth + 1, found)?;
            }
            b"stsd" => {
                // Full box header (4) and entry count (4), then the sample entries.
                let mut entry = payload + 8;
                while entry + 8 <= box_end {
                    let (entry_kind, _, entry_end) = read_box_header(file, entry, box_end, path)?;
                    if &entry_kind == b"avc3" {
                        found.push(entry + 4);
                    }
                    if entry_end <= entry {
                        break;
                    }
                    entry = entry_end;
                }
            }
            _ => {}
        }
        if box_end <= offset {
            break;
        }
        offset = box_end;
    }
    Ok(())
}

/// A reader that presents `avc3` sample-entry fourccs as `avc1`.
struct PatchedReader<R> {
    inner: R,
    pos: u64,
    patches: Vec<u64>,
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
        self.pos = self.inner.seek(pos)?;
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
    let mut samples = Vec::with_capacity(track.samples.len());
    for (i, s) in track.samples.iter().enumerate() {
        let end = s.offset.saturating_add(s.size);
        if end > file_len {
            return Err(VideoError::Truncated {
                path: path.to_path_buf(),
                detail: format!(
                    "video sample {i} ends at byte {end} but the file has only {file_len} bytes"
                ),
            });
        }
        samples.push(SampleInfo {
            offset: s.offset,
            size: u32::try_from(s.size)
                .map_err(|_| malformed(format!("video sample {i} is larger than 4 GiB")))?,
            decode_ticks: s.decode_timestamp,
            pts_ticks: s.composition_timestamp,
            duration_ticks: s.duration,
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
