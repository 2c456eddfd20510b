//! H.264 through openh264: AVCC samples to Annex B, and a GOP decoded from its keyframe with
//! its pictures handed out in presentation order.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig, Flush};

use super::demux::{Codec, VideoIndex};
use super::frame::Picture;
use super::{NS_PER_MS, VideoError};

const START_CODE: [u8; 4] = [0, 0, 0, 1];

pub(crate) struct H264Decoder {
    decoder: Decoder,
    annexb: Vec<u8>,
}

fn new_decoder() -> Result<Decoder, openh264::Error> {
    // No automatic flush: openh264 holds B-frame pictures back to emit them in presentation
    // order; flushing after every packet would hand them out in decode order.
    Decoder::with_api_config(
        OpenH264API::from_source(),
        DecoderConfig::new().flush_after_decode(Flush::NoFlush),
    )
}

impl H264Decoder {
    pub(crate) fn new(index: &VideoIndex) -> Result<Self, VideoError> {
        let decoder = new_decoder().map_err(|e| VideoError::Decode {
            path: index.path.clone(),
            time_ms: 0,
            detail: format!("cannot start the H.264 decoder: {e}"),
        })?;
        Ok(Self {
            decoder,
            annexb: Vec::new(),
        })
    }

    /// Decodes GOP `gop`, calling `on_frame(frame_index, picture)` for each picture in
    /// presentation order until it returns `Break`. Non-reference pictures shown before
    /// `skip_before` (a frame index) are not decoded at all: nothing depends on them, and a
    /// seek to the end of a GOP gets there much sooner.
    pub(crate) fn decode_gop(
        &mut self,
        index: &VideoIndex,
        file: &mut File,
        gop: usize,
        skip_before: Option<usize>,
        on_frame: &mut dyn FnMut(usize, &Picture<'_>) -> ControlFlow<()>,
    ) -> Result<(), VideoError> {
        let Codec::H264 {
            nal_length_size,
            sps,
            pps,
            ..
        } = &index.codec
        else {
            return Err(VideoError::UnsupportedCodec {
                path: index.path.clone(),
                codec: index.codec.name().to_owned(),
            });
        };
        let Some(gop_info) = index.gops.get(gop) else {
            return Ok(());
        };
        let range = gop_info.samples.clone();
        let time_ms =
            |sample: usize| index.ns_from_ticks(index.samples[sample].pts_ticks) / NS_PER_MS;
        let decode_error = |sample: usize, detail: String| VideoError::Decode {
            path: index.path.clone(),
            time_ms: time_ms(sample),
            detail,
        };
        // Which samples to feed, and so which frames come out, in presentation order.
        let mut samples = Vec::with_capacity(range.len());
        for sample_index in range.clone() {
            let info = index.samples[sample_index];
            let mut data = vec![0u8; info.size as usize];
            file.seek(SeekFrom::Start(info.offset))
                .and_then(|_| file.read_exact(&mut data))
                .map_err(|e| VideoError::io(&index.path, e))?;
            samples.push((sample_index, data));
        }
        let mut skipped = vec![false; range.len()];
        if let Some(before) = skip_before {
            for &frame in &gop_info.frames {
                let sample = index.frames[frame].sample;
                if frame < before
                    && sample != range.start
                    && is_non_reference(&samples[sample - range.start].1, *nal_length_size)
                {
                    skipped[sample - range.start] = true;
                }
            }
        }
        let output_frames: Vec<usize> = gop_info
            .frames
            .iter()
            .copied()
            .filter(|&f| !skipped[index.frames[f].sample - range.start])
            .collect();
        // Pictures a previous, interrupted GOP left in the reorder buffer must not leak into
        // this one, so every GOP starts on a fresh decoder.
        self.decoder = new_decoder().map_err(|e| decode_error(range.start, e.to_string()))?;
        let mut rank = 0usize;
        let mut last_error = None;
        let mut emit = |rank: &mut usize, picture: &Picture<'_>| {
            let flow = match output_frames.get(*rank) {
                Some(&frame) => on_frame(frame, picture),
                // More pictures than samples would be a decoder quirk; ignore the extras.
                None => ControlFlow::Break(()),
            };
            *rank += 1;
            flow
        };
        for (sample_index, data) in &samples {
            if skipped[sample_index - range.start] {
                continue;
            }
            self.annexb.clear();
            if *sample_index == range.start {
                for nal in sps.iter().chain(pps) {
                    self.annexb.extend_from_slice(&START_CODE);
                    self.annexb.extend_from_slice(nal);
                }
            }
            avcc_to_annexb(data, *nal_length_size, &mut self.annexb)
                .map_err(|detail| decode_error(*sample_index, detail))?;
            match self.decoder.decode(&self.annexb) {
                Ok(Some(yuv)) => {
                    if emit(&mut rank, &Picture::OpenH264(&yuv)).is_break() {
                        return Ok(());
                    }
                }
                Ok(None) => {}
                // A damaged picture is concealed by openh264; keep going and report only if
                // nothing at all comes out.
                Err(e) => last_error = Some(decode_error(*sample_index, e.to_string())),
            }
        }
        let remaining = self
            .decoder
            .flush_remaining()
            .map_err(|e| decode_error(range.end - 1, e.to_string()))?;
        for yuv in &remaining {
            if emit(&mut rank, &Picture::OpenH264(yuv)).is_break() {
                return Ok(());
            }
        }
        match (rank, last_error) {
            (0, Some(err)) => Err(err),
            (0, None) => Err(decode_error(
                range.start,
                "the GOP produced no picture".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

/// True when no picture of the sample is used as a reference (`nal_ref_idc` 0 on every slice).
fn is_non_reference(sample: &[u8], nal_length_size: usize) -> bool {
    let mut pos = 0usize;
    let mut saw_slice = false;
    while pos + nal_length_size < sample.len() {
        let len = sample[pos..pos + nal_length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        pos += nal_length_size;
        // A damaged sample is decoded, never skipped on a guess.
        let Some(&header) = sample.get(pos).filter(|_| len <= sample.len() - pos) else {
            return false;
        };
        let nal_type = header & 0x1F;
        if matches!(nal_type, 1 | 5) {
            saw_slice = true;
            if header & 0x60 != 0 || nal_type == 5 {
                return false;
            }
        }
        pos = pos.saturating_add(len);
    }
    saw_slice
}

/// Rewrites length-prefixed NAL units as start-code-prefixed ones. Works for `avc3` too, whose
/// parameter sets already travel inside the samples.
pub(crate) fn avcc_to_annexb(
    sample: &[u8],
    nal_length_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut pos = 0usize;
    while pos < sample.len() {
        if pos + nal_length_size > sample.len() {
            return Err(format!(
                "corrupt sample: a NAL length field is cut off at byte {pos} of {}",
                sample.len()
            ));
        }
        let len = sample[pos..pos + nal_length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        pos += nal_length_size;
        if len > sample.len() - pos {
            return Err(format!(
                "corrupt sample: a NAL unit of {len} bytes does not fit in the {} bytes left",
                sample.len() - pos
            ));
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&sample[pos..pos + len]);
        pos += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_nals_become_start_codes() {
        let sample = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x41];
        let mut out = Vec::new();
        avcc_to_annexb(&sample, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x41]);
    }

    #[test]
    fn only_slices_with_zero_ref_idc_are_non_reference() {
        // nal_ref_idc 0, type 1 (a non-reference B slice).
        assert!(is_non_reference(&[0, 0, 0, 2, 0x01, 0xAA], 4));
        // nal_ref_idc 2, type 1 (a reference slice).
        assert!(!is_non_reference(&[0, 0, 0, 2, 0x41, 0xAA], 4));
        // An SEI alone is no picture: not skippable.
        assert!(!is_non_reference(&[0, 0, 0, 1, 0x06], 4));
        assert!(!is_non_reference(&[0, 0, 0, 9, 0x01], 4));
    }

    #[test]
    fn an_overlong_nal_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        let err = avcc_to_annexb(&[0, 0, 0, 9, 1], 4, &mut out).unwrap_err();
        assert!(err.contains("does not fit"), "{err}");
        assert!(avcc_to_annexb(&[0, 0], 4, &mut out).is_err());
    }
}
