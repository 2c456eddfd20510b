//! Writing video: RGB frames encoded to H.264 with openh264 and stored as a progressive MP4
//! (`ftyp`, `mdat`, then `moov`) that our own demuxer, browsers and ffmpeg all read.
//!
//! Every pushed frame becomes exactly one sample at `frame_index / fps` seconds: constant frame
//! rate, no frame skipping, no B-frames (so no `ctts`), an IDR picture every
//! `keyframe_interval_frames` frames. The media data streams to `<name>.partial` next to the
//! target while encoding and the file is renamed into place only once its index is written, so
//! an interrupted run never leaves a half-written file under the final name.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, QpRange, RateControlMode,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use openh264::{OpenH264API, Timestamp};

/// Each frame lasts this many ticks of the track clock, whose timescale is `fps` times this:
/// frame times are then exact in ticks (and exact milliseconds for every fps dividing 1000).
const TICKS_PER_FRAME: u32 = 1000;

/// Suffix of the file that holds a recording until [`Mp4Writer::finish`] renames it.
const PARTIAL_SUFFIX: &str = ".partial";

/// Placeholder written after `ftyp`: an 8-byte `free` box and an 8-byte `mdat` header whose size
/// is patched in `finish`. If the media data outgrows 32-bit sizes, the 16 bytes become one
/// `mdat` header with a 64-bit size instead; either way the payload starts 16 bytes in.
const MDAT_PLACEHOLDER: [u8; 16] = [
    0, 0, 0, 8, b'f', b'r', b'e', b'e', // free box, no payload
    0, 0, 0, 0, b'm', b'd', b'a', b't', // size 0 = "to the end of the file" until patched
];

/// Bytes from the start of the placeholder to the first sample.
const MDAT_PAYLOAD_OFFSET: u64 = MDAT_PLACEHOLDER.len() as u64;

/// The write buffer: samples are a few kilobytes, the OS gets them in larger pieces.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// H.264 NAL unit types this writer looks at.
const NAL_SLICE: u8 = 1;
const NAL_IDR_SLICE: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// openh264 clamps its minimum QP to 12 anyway; 36 as the maximum keeps flat screen content
/// and text legible where the bitrate target alone would let the quantiser climb to 42.
const MIN_QP: u8 = 12;
const MAX_QP: u8 = 36;

/// What to encode: picture size, frame rate, GOP length and bitrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderSettings {
    /// Picture width in pixels; must be even (4:2:0 chroma).
    pub width: u32,
    /// Picture height in pixels; must be even (4:2:0 chroma).
    pub height: u32,
    /// Frames per second; every frame lasts exactly `1 / fps` seconds.
    pub fps: u32,
    /// An IDR picture (a keyframe) starts every this many frames, the first frame included.
    pub keyframe_interval_frames: u32,
    /// The rate-control target in bits per second.
    pub bitrate_bps: u32,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            width: 320,
            height: 180,
            fps: 10,
            keyframe_interval_frames: 20,
            bitrate_bps: 400_000,
        }
    }
}

impl EncoderSettings {
    /// Checks the settings; returns (width, height) as the 16-bit sizes the sample entry holds,
    /// and the track timescale in ticks per second.
    fn validate(&self) -> Result<(u16, u16, u32), EncodeError> {
        let (width, height) = (self.width, self.height);
        let even = |pixels: u32| pixels > 0 && pixels.is_multiple_of(2);
        if !even(width) || !even(height) {
            return Err(EncodeError::Settings(format!(
                "the picture must be a non-zero, even number of pixels each way (4:2:0 chroma), \
                 not {width} x {height}"
            )));
        }
        let (Ok(width16), Ok(height16)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(EncodeError::Settings(format!(
                "{width} x {height} pixels is too large for MP4"
            )));
        };
        // Zero exactly when fps is zero.
        let Some(timescale) = self
            .fps
            .checked_mul(TICKS_PER_FRAME)
            .filter(|&timescale| timescale > 0)
        else {
            return Err(EncodeError::Settings(format!(
                "{} fps is not a usable frame rate",
                self.fps
            )));
        };
        if self.keyframe_interval_frames == 0 {
            return Err(EncodeError::Settings(
                "the keyframe interval must be at least 1 frame".to_owned(),
            ));
        }
        // openh264 takes the bitrate as a C int.
        if self.bitrate_bps == 0 || i32::try_from(self.bitrate_bps).is_err() {
            return Err(EncodeError::Settings(format!(
                "{} bit/s is not a usable bitrate",
                self.bitrate_bps
            )));
        }
        Ok((width16, height16, timescale))
    }

    fn encoder_config(&self) -> EncoderConfig {
        EncoderConfig::new()
            .bitrate(BitRate::from_bps(self.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.fps as f32))
            // No rate control: a constant quantizer within the QP range keeps synthetic scenes
            // sharp, and with frame skipping off every input frame becomes a picture, which the
            // one-sample-per-frame timing depends on. (The rate-controlled modes also print a
            // warning on every encoder start when skipping is off.)
            .rate_control_mode(RateControlMode::Bufferbased)
            .skip_frames(false)
            .qp(QpRange::new(MIN_QP, MAX_QP))
            .intra_frame_period(IntraFramePeriod::from_num_frames(
                self.keyframe_interval_frames,
            ))
            // Scene-change detection would insert IDR pictures of its own; keyframes must fall
            // exactly on the interval so that GOPs are predictable.
            .scene_change_detect(false)
            // Background detection skips blocks it judges static, trading fidelity for bits.
            .background_detection(false)
            // One slice per picture leaves extra threads nothing to do; one thread also keeps
            // the output byte-for-byte reproducible.
            .num_threads(1)
    }
}

/// What [`Mp4Writer::finish`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeSummary {
    pub frames: usize,
    /// Size of the finished file.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{}: cannot write the video: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("H.264 encoding failed: {0}")]
    Encoder(String),
    #[error("a frame must be {expected} bytes of RGB (width x height x 3), not {got} bytes")]
    BadFrame { expected: usize, got: usize },
    #[error("invalid video settings: {0}")]
    Settings(String),
    #[error("{}: no frames were pushed, so there is no video to write", path.display())]
    NoFrames { path: PathBuf },
}

fn io_error(path: &Path, source: std::io::Error) -> EncodeError {
    EncodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn stopped_error(path: &Path) -> EncodeError {
    io_error(
        path,
        std::io::Error::other("the recording stopped after an earlier error"),
    )
}

/// Encodes RGB frames to H.264 and writes them as a progressive MP4 file.
///
/// Frames stream to `<path>.partial`; [`Self::finish`] writes the index and renames the file
/// to `path`. Dropping the writer without finishing removes the partial file.
pub struct Mp4Writer {
    settings: EncoderSettings,
    width: u16,
    height: u16,
    /// Ticks per second of the movie and track clocks.
    timescale: u32,
    final_path: PathBuf,
    partial_path: PathBuf,
    /// `None` once `finish` has taken it, or after an error left the file or the encoder in a
    /// state that later frames must not build on.
    out: Option<BufWriter<File>>,
    encoder: Encoder,
    /// Reused for every frame: the RGB input converted to I420.
    yuv: YUVBuffer,
    /// File offset of [`MDAT_PLACEHOLDER`].
    mdat_header_offset: u64,
    mdat_payload_bytes: u64,
    sample_sizes: Vec<u32>,
    /// 1-based numbers of the samples that hold an IDR picture.
    sync_samples: Vec<u32>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// The encoder's Annex B output for the current frame.
    annexb: Vec<u8>,
    /// The current frame as an MP4 sample: 4-byte length-prefixed slice NAL units.
    sample: Vec<u8>,
    /// Set once the file carries its final name; until then dropping removes the partial file.
    committed: bool,
}

impl Mp4Writer {
    /// Starts a recording that [`Self::finish`] will save at `path`. Nothing exists under
    /// `path` until then.
    pub fn create(path: &Path, settings: EncoderSettings) -> Result<Self, EncodeError> {
        let (width, height, timescale) = settings.validate()?;
        let partial_path = partial_path_for(path)?;
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), settings.encoder_config())
                .map_err(|e| EncodeError::Encoder(format!("cannot start the encoder: {e}")))?;
        let file = File::create(&partial_path).map_err(|e| io_error(&partial_path, e))?;
        let mut header = BoxWriter::default();
        write_ftyp(&mut header);
        let mdat_header_offset = header.buf.len() as u64;
        header.put_bytes(&MDAT_PLACEHOLDER);
        let mut writer = Self {
            settings,
            width,
            height,
            timescale,
            final_path: path.to_path_buf(),
            partial_path,
            out: Some(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file)),
            encoder,
            yuv: YUVBuffer::new(settings.width as usize, settings.height as usize),
            mdat_header_offset,
            mdat_payload_bytes: 0,
            sample_sizes: Vec::new(),
            sync_samples: Vec::new(),
            sps: None,
            pps: None,
            annexb: Vec::new(),
            sample: Vec::new(),
            committed: false,
        };
        // From here on an error drops `writer`, which removes the partial file.
        let header_bytes = header
            .finish()
            .ok_or_else(|| EncodeError::Encoder("the file header is malformed".to_owned()))?;
        writer.write_out(&header_bytes)?;
        Ok(writer)
    }

    #[must_use]
    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// Frames pushed so far.
    #[must_use]
    pub fn frame_count(&self) -> usize {
        self.sample_sizes.len()
    }

    /// Encodes one frame: `rgb` is `width * height * 3` bytes, row-major, no padding.
    ///
    /// A frame of the wrong size is refused and the recording goes on; any other error ends
    /// it, since the encoder's references or the file's offsets may no longer match what the
    /// index would say.
    pub fn push_rgb(&mut self, rgb: &[u8]) -> Result<(), EncodeError> {
        let expected = self.settings.width as usize * self.settings.height as usize * 3;
        if rgb.len() != expected {
            return Err(EncodeError::BadFrame {
                expected,
                got: rgb.len(),
            });
        }
        if self.out.is_none() {
            return Err(stopped_error(&self.partial_path));
        }
        let result = self.encode_and_write(rgb);
        if result.is_err() {
            self.out = None;
        }
        result
    }

    fn encode_and_write(&mut self, rgb: &[u8]) -> Result<(), EncodeError> {
        let (width_px, height_px) = (self.settings.width as usize, self.settings.height as usize);
        let frame_index = self.sample_sizes.len();
        let sample_number = u32::try_from(frame_index + 1).map_err(|_| {
            EncodeError::Encoder("an MP4 track holds at most 2^32 - 1 frames".to_owned())
        })?;
        self.yuv
            .read_rgb8(RgbSliceU8::new(rgb, (width_px, height_px)));
        // openh264's intra period already lands on these frames; forcing them as well makes
        // the GOP layout independent of how the encoder counts.
        let keyframe_interval = self.settings.keyframe_interval_frames as usize;
        if frame_index > 0 && frame_index.is_multiple_of(keyframe_interval) {
            self.encoder.force_intra_frame();
        }
        let time_ms = frame_index as u64 * 1000 / u64::from(self.settings.fps);
        self.annexb.clear();
        let bitstream = self
            .encoder
            .encode_at(&self.yuv, Timestamp::from_millis(time_ms))
            .map_err(|e| EncodeError::Encoder(format!("frame {frame_index}: {e}")))?;
        bitstream.write_vec(&mut self.annexb);

        let unit = repack_access_unit(&self.annexb, &mut self.sample)?;
        if unit.slices == 0 {
            return Err(EncodeError::Encoder(format!(
                "the encoder produced no picture for frame {frame_index}"
            )));
        }
        if frame_index == 0 && !unit.has_idr {
            return Err(EncodeError::Encoder(
                "the first frame was not encoded as an IDR picture".to_owned(),
            ));
        }
        if let Some(seq_params) = unit.sps {
            remember_parameter_set(&mut self.sps, seq_params, "SPS")?;
        }
        if let Some(pic_params) = unit.pps {
            remember_parameter_set(&mut self.pps, pic_params, "PPS")?;
        }
        let has_idr = unit.has_idr;
        let sample_bytes = u32::try_from(self.sample.len()).map_err(|_| {
            EncodeError::Encoder(format!("frame {frame_index} encoded to more than 4 GiB"))
        })?;

        let sample = std::mem::take(&mut self.sample);
        let written = self.write_out(&sample);
        self.sample = sample;
        written?;
        self.mdat_payload_bytes += u64::from(sample_bytes);
        self.sample_sizes.push(sample_bytes);
        if has_idr {
            self.sync_samples.push(sample_number);
        }
        Ok(())
    }

    /// Writes the index, flushes the file to disk and renames it to its final name.
    pub fn finish(mut self) -> Result<EncodeSummary, EncodeError> {
        let bytes = self.write_index()?;
        std::fs::rename(&self.partial_path, &self.final_path)
            .map_err(|e| io_error(&self.final_path, e))?;
        self.committed = true;
        Ok(EncodeSummary {
            frames: self.sample_sizes.len(),
            bytes,
        })
    }

    fn write_out(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let Some(out) = self.out.as_mut() else {
            return Err(stopped_error(&self.partial_path));
        };
        out.write_all(bytes)
            .map_err(|e| io_error(&self.partial_path, e))
    }

    /// Patches the `mdat` size, appends `moov` and syncs; returns the file's length.
    fn write_index(&mut self) -> Result<u64, EncodeError> {
        if self.sample_sizes.is_empty() {
            return Err(EncodeError::NoFrames {
                path: self.final_path.clone(),
            });
        }
        let (Some(seq_params), Some(pic_params)) = (self.sps.as_deref(), self.pps.as_deref())
        else {
            return Err(EncodeError::Encoder(
                "the encoder never produced its parameter sets (SPS and PPS)".to_owned(),
            ));
        };
        let chunk_offset = self.mdat_header_offset + MDAT_PAYLOAD_OFFSET;
        let moov = build_moov(&TrackTables {
            timescale: self.timescale,
            width: self.width,
            height: self.height,
            sample_sizes: &self.sample_sizes,
            sync_samples: &self.sync_samples,
            chunk_offset,
            sps: seq_params,
            pps: pic_params,
        })?;
        let Some(mut out) = self.out.take() else {
            return Err(stopped_error(&self.partial_path));
        };
        let path = &self.partial_path;
        let (header_at, mdat_header) =
            final_mdat_header(self.mdat_header_offset, self.mdat_payload_bytes);
        let mdat_end = chunk_offset + self.mdat_payload_bytes;
        patch_and_append(&mut out, header_at, &mdat_header, mdat_end, &moov)
            .map_err(|e| io_error(path, e))?;
        let file = out
            .into_inner()
            .map_err(|e| io_error(path, e.into_error()))?;
        // The rename must not become visible before the data it names is on disk.
        file.sync_all().map_err(|e| io_error(path, e))?;
        Ok(mdat_end + moov.len() as u64)
    }
}

/// The final `mdat` header for the placeholder at `placeholder_offset`, and where it goes.
fn final_mdat_header(placeholder_offset: u64, payload_bytes: u64) -> (u64, Vec<u8>) {
    let mut header = Vec::with_capacity(MDAT_PLACEHOLDER.len());
    if let Ok(size) = u32::try_from(8 + payload_bytes) {
        // The `free` box stays; the `mdat` header after it gets its 32-bit size.
        header.extend_from_slice(&size.to_be_bytes());
        header.extend_from_slice(b"mdat");
        (placeholder_offset + 8, header)
    } else {
        // Size 1 announces a 64-bit size after the type; the header takes all 16 bytes.
        header.extend_from_slice(&1u32.to_be_bytes());
        header.extend_from_slice(b"mdat");
        header.extend_from_slice(&(16 + payload_bytes).to_be_bytes());
        (placeholder_offset, header)
    }
}

fn patch_and_append(
    out: &mut BufWriter<File>,
    header_at: u64,
    mdat_header: &[u8],
    mdat_end: u64,
    moov: &[u8],
) -> std::io::Result<()> {
    out.seek(SeekFrom::Start(header_at))?;
    out.write_all(mdat_header)?;
    out.seek(SeekFrom::Start(mdat_end))?;
    out.write_all(moov)
}

impl Drop for Mp4Writer {
    fn drop(&mut self) {
        if !self.committed {
            // An abandoned or failed recording leaves nothing behind: the final name never
            // existed, and the partial file would only be clutter.
            drop(self.out.take());
            let _ = std::fs::remove_file(&self.partial_path);
        }
    }
}

fn partial_path_for(path: &Path) -> Result<PathBuf, EncodeError> {
    let Some(name) = path.file_name() else {
        return Err(io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path does not end in a file name",
            ),
        ));
    };
    let mut partial_name = name.to_os_string();
    partial_name.push(PARTIAL_SUFFIX);
    Ok(path.with_file_name(partial_name))
}

/// Keeps the first SPS or PPS seen; an `avc1` sample entry holds one set for the whole track,
/// so a different one later would make the file undecodable.
fn remember_parameter_set(
    slot: &mut Option<Vec<u8>>,
    found: &[u8],
    what: &str,
) -> Result<(), EncodeError> {
    if let Some(known) = slot.as_deref() {
        if known == found {
            return Ok(());
        }
        return Err(EncodeError::Encoder(format!(
            "the encoder changed its {what} mid-stream, which an avc1 track cannot hold"
        )));
    }
    *slot = Some(found.to_vec());
    Ok(())
}

/// One encoded frame, split into what goes into the sample and what goes into `avcC`.
struct AccessUnit<'a> {
    sps: Option<&'a [u8]>,
    pps: Option<&'a [u8]>,
    slices: usize,
    has_idr: bool,
}

/// Rewrites an Annex B access unit as an MP4 sample in `sample` (4-byte big-endian lengths,
/// slice NAL units only). Parameter sets go to `avcC`; access unit delimiters, SEI and
/// anything else openh264 might add are dropped.
fn repack_access_unit<'a>(
    annexb: &'a [u8],
    sample: &mut Vec<u8>,
) -> Result<AccessUnit<'a>, EncodeError> {
    sample.clear();
    let mut unit = AccessUnit {
        sps: None,
        pps: None,
        slices: 0,
        has_idr: false,
    };
    for nal in annexb_nal_units(annexb) {
        let Some(&header) = nal.first() else {
            continue;
        };
        match header & 0x1F {
            NAL_SPS if unit.sps.is_none() => unit.sps = Some(nal),
            NAL_PPS if unit.pps.is_none() => unit.pps = Some(nal),
            nal_type @ (NAL_SLICE | NAL_IDR_SLICE) => {
                let len = u32::try_from(nal.len()).map_err(|_| {
                    EncodeError::Encoder("a NAL unit is larger than 4 GiB".to_owned())
                })?;
                sample.extend_from_slice(&len.to_be_bytes());
                sample.extend_from_slice(nal);
                unit.slices += 1;
                unit.has_idr |= nal_type == NAL_IDR_SLICE;
            }
            _ => {}
        }
    }
    Ok(unit)
}

/// The NAL units of an Annex B stream, start codes (`00 00 01` or `00 00 00 01`) removed.
/// Emulation prevention guarantees `00 00 01` never occurs inside a NAL unit.
fn annexb_nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest: &[u8] = match find_start_code(stream) {
        Some(at) => &stream[at + 3..],
        None => &[],
    };
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let current = rest;
        let (nal, next): (&[u8], &[u8]) = match find_start_code(current) {
            Some(at) => (&current[..at], &current[at + 3..]),
            None => (current, &[]),
        };
        rest = next;
        // A NAL unit never ends in a zero byte (its stop bit is set), so trailing zeros are the
        // first byte of a 4-byte start code or trailing padding.
        let len = nal.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
        Some(&nal[..len])
    })
}

fn find_start_code(data: &[u8]) -> Option<usize> {
    data.windows(3).position(|w| matches!(w, [0, 0, 1]))
}

/// A byte buffer of MP4 boxes: big-endian fields, and box sizes patched in when a box ends.
#[derive(Default)]
struct BoxWriter {
    buf: Vec<u8>,
    /// Start offsets of the boxes begun and not yet ended.
    open: Vec<usize>,
    /// Set when a box could not be closed: ended without a beginning, or larger than a 32-bit
    /// size can say.
    malformed: bool,
}

impl BoxWriter {
    fn put_u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    fn put_u16(&mut self, value: u16) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn put_u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn put_u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    fn put_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn put_zeros(&mut self, count: usize) {
        self.buf.resize(self.buf.len() + count, 0);
    }

    /// A time or duration: 64 bits in version 1 boxes, 32 in version 0.
    fn put_time(&mut self, version: u8, value: u64) {
        if version == 1 {
            self.put_u64(value);
        } else {
            self.put_u32(u32::try_from(value).unwrap_or(u32::MAX));
        }
    }

    /// The identity transformation of `mvhd` and `tkhd` (16.16 and 2.30 fixed point).
    fn put_unity_matrix(&mut self) {
        for value in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.put_u32(value);
        }
    }

    fn begin(&mut self, kind: [u8; 4]) {
        self.open.push(self.buf.len());
        self.put_u32(0);
        self.put_bytes(&kind);
    }

    /// A box with the version and flags header of ISO/IEC 14496-12 "full boxes".
    fn begin_full(&mut self, kind: [u8; 4], version: u8, flags: u32) {
        self.begin(kind);
        self.put_u32((u32::from(version) << 24) | (flags & 0x00FF_FFFF));
    }

    fn end(&mut self) {
        let Some(start) = self.open.pop() else {
            self.malformed = true;
            return;
        };
        match u32::try_from(self.buf.len() - start) {
            Ok(size) => self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes()),
            Err(_) => self.malformed = true,
        }
    }

    /// The bytes, or `None` when a box was left open or could not be closed.
    fn finish(self) -> Option<Vec<u8>> {
        (self.open.is_empty() && !self.malformed).then_some(self.buf)
    }
}

fn write_ftyp(w: &mut BoxWriter) {
    w.begin(*b"ftyp");
    w.put_bytes(b"isom");
    w.put_u32(0x200);
    for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
        w.put_bytes(brand);
    }
    w.end();
}

/// Everything `moov` describes about the one video track.
struct TrackTables<'a> {
    /// Ticks per second.
    timescale: u32,
    width: u16,
    height: u16,
    sample_sizes: &'a [u32],
    /// 1-based sample numbers.
    sync_samples: &'a [u32],
    /// File offset of the first sample; all samples sit back to back in one chunk.
    chunk_offset: u64,
    sps: &'a [u8],
    pps: &'a [u8],
}

fn build_moov(track: &TrackTables<'_>) -> Result<Vec<u8>, EncodeError> {
    let too_many = || EncodeError::Encoder("too many frames for one MP4 index".to_owned());
    let frames = u32::try_from(track.sample_sizes.len()).map_err(|_| too_many())?;
    let duration_ticks = u64::from(frames) * u64::from(TICKS_PER_FRAME);
    // Version 1 boxes hold 64-bit times; only a recording of days needs them.
    let version = u8::from(u32::try_from(duration_ticks).is_err());
    let mut w = BoxWriter::default();
    w.begin(*b"moov");
    write_mvhd(&mut w, version, track.timescale, duration_ticks);
    w.begin(*b"trak");
    write_tkhd(&mut w, version, duration_ticks, track);
    w.begin(*b"mdia");
    w.begin_full(*b"mdhd", version, 0);
    w.put_time(version, 0); // creation time
    w.put_time(version, 0); // modification time
    w.put_u32(track.timescale);
    w.put_time(version, duration_ticks);
    w.put_u16(0x55C4); // language "und", packed ISO-639-2/T
    w.put_u16(0); // pre_defined
    w.end();
    w.begin_full(*b"hdlr", 0, 0);
    w.put_u32(0); // pre_defined
    w.put_bytes(b"vide");
    w.put_zeros(12); // reserved
    w.put_bytes(b"VideoHandler\0");
    w.end();
    w.begin(*b"minf");
    w.begin_full(*b"vmhd", 0, 1);
    w.put_zeros(8); // graphicsmode and opcolor
    w.end();
    w.begin(*b"dinf");
    w.begin_full(*b"dref", 0, 0);
    w.put_u32(1); // entry count
    w.begin_full(*b"url ", 0, 1); // flag 1: the media data is in this file
    w.end();
    w.end();
    w.end();
    write_stbl(&mut w, frames, track)?;
    w.end(); // minf
    w.end(); // mdia
    w.end(); // trak
    w.end(); // moov
    w.finish().ok_or_else(too_many)
}

fn write_mvhd(w: &mut BoxWriter, version: u8, timescale: u32, duration_ticks: u64) {
    w.begin_full(*b"mvhd", version, 0);
    w.put_time(version, 0); // creation time
    w.put_time(version, 0); // modification time
    w.put_u32(timescale);
    w.put_time(version, duration_ticks);
    w.put_u32(0x0001_0000); // rate 1.0
    w.put_u16(0x0100); // volume 1.0
    w.put_zeros(2 + 8); // reserved
    w.put_unity_matrix();
    w.put_zeros(24); // pre_defined
    w.put_u32(2); // next track ID
    w.end();
}

fn write_tkhd(w: &mut BoxWriter, version: u8, duration_ticks: u64, track: &TrackTables<'_>) {
    // Flags: enabled, in movie.
    w.begin_full(*b"tkhd", version, 3);
    w.put_time(version, 0); // creation time
    w.put_time(version, 0); // modification time
    w.put_u32(1); // track ID
    w.put_u32(0); // reserved
    // In the movie timescale, which is the track's.
    w.put_time(version, duration_ticks);
    w.put_zeros(8); // reserved
    w.put_u16(0); // layer
    w.put_u16(0); // alternate group
    w.put_u16(0); // volume: none for video
    w.put_u16(0); // reserved
    w.put_unity_matrix();
    // 16.16 fixed point.
    w.put_u32(u32::from(track.width) << 16);
    w.put_u32(u32::from(track.height) << 16);
    w.end();
}

fn write_stbl(w: &mut BoxWriter, frames: u32, track: &TrackTables<'_>) -> Result<(), EncodeError> {
    w.begin(*b"stbl");
    w.begin_full(*b"stsd", 0, 0);
    w.put_u32(1); // entry count
    write_avc1(w, track)?;
    w.end();
    // Constant frame rate: one run of identical durations.
    w.begin_full(*b"stts", 0, 0);
    w.put_u32(1);
    w.put_u32(frames);
    w.put_u32(TICKS_PER_FRAME);
    w.end();
    w.begin_full(*b"stss", 0, 0);
    w.put_u32(u32::try_from(track.sync_samples.len()).unwrap_or(u32::MAX));
    for &number in track.sync_samples {
        w.put_u32(number);
    }
    w.end();
    w.begin_full(*b"stsz", 0, 0);
    w.put_u32(0); // sizes vary, listed below
    w.put_u32(frames);
    for &size in track.sample_sizes {
        w.put_u32(size);
    }
    w.end();
    // All samples in one chunk.
    w.begin_full(*b"stsc", 0, 0);
    w.put_u32(1); // entry count
    w.put_u32(1); // first chunk
    w.put_u32(frames); // samples per chunk
    w.put_u32(1); // sample description index
    w.end();
    if let Ok(offset) = u32::try_from(track.chunk_offset) {
        w.begin_full(*b"stco", 0, 0);
        w.put_u32(1);
        w.put_u32(offset);
    } else {
        w.begin_full(*b"co64", 0, 0);
        w.put_u32(1);
        w.put_u64(track.chunk_offset);
    }
    w.end();
    w.end(); // stbl
    Ok(())
}

fn write_avc1(w: &mut BoxWriter, track: &TrackTables<'_>) -> Result<(), EncodeError> {
    let (Ok(seq_params_len), Ok(pic_params_len)) = (
        u16::try_from(track.sps.len()),
        u16::try_from(track.pps.len()),
    ) else {
        return Err(EncodeError::Encoder(
            "a parameter set is larger than 64 KiB".to_owned(),
        ));
    };
    // SPS bytes 1..4: profile_idc, the constraint flags, level_idc.
    let &[_, profile_idc, constraint_flags, level_idc, ..] = track.sps else {
        return Err(EncodeError::Encoder(
            "the SPS is too short to hold a profile and level".to_owned(),
        ));
    };
    w.begin(*b"avc1");
    w.put_zeros(6); // reserved
    w.put_u16(1); // data reference index
    w.put_u16(0); // pre_defined
    w.put_u16(0); // reserved
    w.put_zeros(12); // pre_defined
    w.put_u16(track.width);
    w.put_u16(track.height);
    w.put_u32(0x0048_0000); // 72 dpi horizontally
    w.put_u32(0x0048_0000); // and vertically
    w.put_u32(0); // reserved
    w.put_u16(1); // frame count per sample
    // Compressor name: a length byte, the name, zero padding to 32 bytes.
    let name = b"openh264";
    w.put_u8(name.len() as u8);
    w.put_bytes(name);
    w.put_zeros(31 - name.len());
    w.put_u16(0x0018); // depth: colour, no alpha
    w.put_u16(0xFFFF); // pre_defined = -1
    w.begin(*b"avcC");
    w.put_u8(1); // configuration version
    w.put_u8(profile_idc);
    w.put_u8(constraint_flags);
    w.put_u8(level_idc);
    w.put_u8(0xFF); // reserved bits, NAL length size 4 (minus one = 3)
    w.put_u8(0xE1); // reserved bits, one SPS
    w.put_u16(seq_params_len);
    w.put_bytes(track.sps);
    w.put_u8(1); // one PPS
    w.put_u16(pic_params_len);
    w.put_bytes(track.pps);
    if matches!(profile_idc, 100 | 110 | 122 | 144) {
        // High profiles also state chroma format and bit depths: 4:2:0 and 8 bits, which is
        // all openh264 encodes, and no SPS extensions.
        w.put_u8(0xFD);
        w.put_u8(0xF8);
        w.put_u8(0xF8);
        w.put_u8(0);
    }
    w.end(); // avcC
    w.end(); // avc1
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;
    use std::sync::Arc;

    use crate::video::{Codec, NS_PER_MS, OpenOptions, VideoSource};

    const WIDTH: u32 = 160;
    const HEIGHT: u32 = 90;

    /// Two coloured rectangles moving over a gradient. Positions and sizes are even, so 4:2:0
    /// chroma subsampling loses nothing at the rectangles' edges.
    fn test_frame(index: usize) -> Vec<u8> {
        let (width, height) = (WIDTH as usize, HEIGHT as usize);
        let mut rgb = vec![0u8; width * height * 3];
        for row in 0..height {
            for col in 0..width {
                let px = &mut rgb[(row * width + col) * 3..][..3];
                px[0] = (col * 255 / width) as u8;
                px[1] = (row * 255 / height) as u8;
                px[2] = 96;
            }
        }
        // (left, top, width, height, colour)
        let rects = [
            (4 + 6 * index, 10, 24, 20, [230u8, 40, 40]),
            (130 - 6 * index, 56 - 2 * index, 20, 24, [40u8, 220, 60]),
        ];
        for (left, top, rect_width, rect_height, colour) in rects {
            for row in top..top + rect_height {
                for col in left..left + rect_width {
                    rgb[(row * width + col) * 3..][..3].copy_from_slice(&colour);
                }
            }
        }
        rgb
    }

    /// Peak signal-to-noise ratio of decoded RGBA against the RGB that was encoded.
    fn psnr_db(reference_rgb: &[u8], decoded_rgba: &[u8]) -> f64 {
        assert_eq!(reference_rgb.len() / 3, decoded_rgba.len() / 4);
        let mut squared_error = 0.0f64;
        let mut samples = 0usize;
        for (source_px, decoded_px) in reference_rgb
            .chunks_exact(3)
            .zip(decoded_rgba.chunks_exact(4))
        {
            for (&expected, &got) in source_px.iter().zip(&decoded_px[..3]) {
                let diff = f64::from(expected) - f64::from(got);
                squared_error += diff * diff;
                samples += 1;
            }
        }
        let mse = squared_error / samples as f64;
        if mse < 1e-12 {
            return f64::INFINITY;
        }
        10.0 * (255.0 * 255.0 / mse).log10()
    }

    #[test]
    fn written_video_reads_back_with_exact_times_keyframes_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("moving.mp4");
        let settings = EncoderSettings {
            width: WIDTH,
            height: HEIGHT,
            fps: 10,
            keyframe_interval_frames: 10,
            bitrate_bps: 400_000,
        };
        let frames: Vec<Vec<u8>> = (0..20).map(test_frame).collect();
        let mut writer = Mp4Writer::create(&path, settings).unwrap();
        for frame in &frames {
            writer.push_rgb(frame).unwrap();
        }
        assert_eq!(writer.frame_count(), 20);
        assert!(
            !path.exists(),
            "nothing may exist under the final name before finish"
        );
        let partial = partial_path_for(&path).unwrap();
        assert!(partial.exists());
        let summary = writer.finish().unwrap();
        assert_eq!(summary.frames, 20);
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
        assert!(!partial.exists());

        let mut source = VideoSource::open(&path, &OpenOptions::default()).unwrap();
        let index = Arc::clone(source.index());
        assert_eq!(index.frame_count(), 20);
        assert_eq!((index.width, index.height), (WIDTH, HEIGHT));
        assert!(!index.fragmented);
        assert!(!index.has_b_frames());
        let Codec::H264 {
            nal_length_size,
            sps,
            pps,
            ..
        } = &index.codec
        else {
            panic!("expected H.264, got {:?}", index.codec);
        };
        assert_eq!(*nal_length_size, 4);
        assert_eq!((sps.len(), pps.len()), (1, 1));
        for (i, frame) in index.frames.iter().enumerate() {
            assert_eq!(frame.pts_ns, i as i64 * 100 * NS_PER_MS, "frame {i}");
            assert_eq!(frame.duration_ns, 100 * NS_PER_MS, "frame {i}");
            assert_eq!(frame.sample, i, "frame {i}");
        }
        let keyframe_times_ns: Vec<i64> = index
            .frames
            .iter()
            .filter(|f| f.is_keyframe)
            .map(|f| f.pts_ns)
            .collect();
        assert_eq!(keyframe_times_ns, [0, 1000 * NS_PER_MS]);
        assert_eq!(index.gops.len(), 2);

        let mut psnr_by_frame: Vec<Option<f64>> = vec![None; frames.len()];
        for gop in 0..index.gops.len() {
            source
                .decode_gop(gop, &mut |frame, picture| {
                    assert_eq!(picture.dimensions(), (WIDTH as usize, HEIGHT as usize));
                    psnr_by_frame[frame] = Some(psnr_db(&frames[frame], &picture.to_rgba()));
                    ControlFlow::Continue(())
                })
                .unwrap();
        }
        for (i, psnr) in psnr_by_frame.into_iter().enumerate() {
            let psnr = psnr.unwrap_or_else(|| panic!("frame {i} was not decoded"));
            assert!(psnr >= 30.0, "frame {i}: PSNR {psnr:.1} dB");
        }
    }

    #[test]
    fn a_frame_of_the_wrong_size_is_rejected_and_an_abandoned_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abandoned.mp4");
        let settings = EncoderSettings {
            width: 64,
            height: 48,
            ..EncoderSettings::default()
        };
        let mut writer = Mp4Writer::create(&path, settings).unwrap();
        let err = writer.push_rgb(&[0u8; 10]).unwrap_err();
        assert!(
            matches!(
                err,
                EncodeError::BadFrame {
                    expected: 9216,
                    got: 10
                }
            ),
            "{err}"
        );
        writer.push_rgb(&[128u8; 64 * 48 * 3]).unwrap();
        let partial = partial_path_for(&path).unwrap();
        assert!(partial.exists());
        assert!(!path.exists());
        drop(writer);
        assert!(
            !partial.exists(),
            "dropping an unfinished writer removes its partial file"
        );
        assert!(!path.exists());
    }

    #[test]
    fn finishing_without_frames_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.mp4");
        let writer = Mp4Writer::create(&path, EncoderSettings::default()).unwrap();
        let err = writer.finish().unwrap_err();
        assert!(matches!(err, EncodeError::NoFrames { .. }), "{err}");
        assert!(!path.exists());
        assert!(!partial_path_for(&path).unwrap().exists());
    }

    #[test]
    fn unusable_settings_are_rejected_before_any_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.mp4");
        for settings in [
            EncoderSettings {
                width: 161,
                ..EncoderSettings::default()
            },
            EncoderSettings {
                fps: 0,
                ..EncoderSettings::default()
            },
            EncoderSettings {
                keyframe_interval_frames: 0,
                ..EncoderSettings::default()
            },
        ] {
            let Err(err) = Mp4Writer::create(&path, settings) else {
                panic!("{settings:?} was accepted");
            };
            assert!(matches!(err, EncodeError::Settings(_)), "{err}");
        }
        assert!(!path.exists());
        assert!(!partial_path_for(&path).unwrap().exists());
    }

    #[test]
    fn annexb_access_units_become_length_prefixed_slices() {
        let annexb = [
            0, 0, 0, 1, 0x09, 0xF0, // access unit delimiter: dropped
            0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x1E, 0xAA, // SPS
            0, 0, 1, 0x68, 0xCE, // PPS, 3-byte start code
            0, 0, 0, 1, 0x06, 0x05, // SEI: dropped
            0, 0, 0, 1, 0x65, 0x88, 0x84, // IDR slice
            0, 0, 0, 1, 0x65, 0x00, 0x03, 0x01, // a second slice of the same picture
        ];
        let mut sample = Vec::new();
        let unit = repack_access_unit(&annexb, &mut sample).unwrap();
        assert_eq!(unit.sps, Some(&[0x67, 0x42, 0xC0, 0x1E, 0xAA][..]));
        assert_eq!(unit.pps, Some(&[0x68, 0xCE][..]));
        assert_eq!(unit.slices, 2);
        assert!(unit.has_idr);
        assert_eq!(
            sample,
            [
                0, 0, 0, 3, 0x65, 0x88, 0x84, 0, 0, 0, 4, 0x65, 0x00, 0x03, 0x01
            ]
        );

        let p_frame = [0, 0, 0, 1, 0x41, 0x9A, 0x10];
        let unit = repack_access_unit(&p_frame, &mut sample).unwrap();
        assert_eq!((unit.slices, unit.has_idr), (1, false));
        assert_eq!(sample, [0, 0, 0, 3, 0x41, 0x9A, 0x10]);
    }

    #[test]
    fn box_sizes_are_patched_when_boxes_end() {
        let mut w = BoxWriter::default();
        w.begin(*b"moov");
        w.begin_full(*b"mvhd", 0, 3);
        w.put_u16(7);
        w.end();
        w.end();
        let bytes = w.finish().unwrap();
        assert_eq!(
            bytes,
            [
                0, 0, 0, 22, b'm', b'o', b'o', b'v', 0, 0, 0, 14, b'm', b'v', b'h', b'd', 0, 0, 0,
                3, 0, 7
            ]
        );
        let mut unclosed = BoxWriter::default();
        unclosed.begin(*b"moov");
        assert!(unclosed.finish().is_none());
    }
}
