//! The remote memorization policy: a clip's frames, sampled at a set rate, resized and sent as
//! JPEG image parts with the preceding description as context and TaskMem's rules for the
//! reply (`{"description": "..."}`, one or two sentences, people as `<face_N>`, no repetition of
//! the preceding part). The preceding description sent and what is kept of a reply are capped
//! (see [`super::MAX_TEXT_BYTES`], [`super::MAX_STORED_REPLY_BYTES`]). vLLM serves a Phase Two
//! adapter under its own model name, so a lane maps to a model name; the built-in adapter input
//! is not used here.

use base64::Engine as _;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::client::ChatClient;
use crate::policy::live::ServedPolicy;
use crate::policy::{ClipInput, MemorizationPolicy, PolicyError, Written};
use crate::video::Frame;

pub struct RemotePolicy {
    pub client: ChatClient,
    /// Frames per 10 s clip (TaskMem samples at a set rate: 1 per second by default).
    pub frames: usize,
    /// The longer side of each image sent, in pixels.
    pub max_side: u32,
}

/// A lane memorized live by a remote model: one client, shared by the lane's thread (through
/// the policy it makes) and by whoever shows the lane (its counters).
#[derive(Clone, Debug)]
pub struct RemoteLane {
    pub client: ChatClient,
    /// Frames sent per clip.
    pub frames: usize,
}

impl ServedPolicy for RemoteLane {
    fn policy(&self) -> Box<dyn MemorizationPolicy> {
        Box::new(RemotePolicy {
            client: self.client.clone(),
            frames: self.frames,
            max_side: 448,
        })
    }

    fn cancel_in_flight(&self) {
        self.client
            .cancel_flag()
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The instruction for one clip, in our own words after TaskMem's rules.
#[must_use]
pub fn instruction(previous: Option<&str>, frames: usize) -> String {
    let mut out = format!(
        "These {frames} images are frames, in order, of one 10-second clip of a first-person video. \
         Write what an assistant should remember of this clip, in one or two sentences. \
         Call people <face_N> when they carry such an id. "
    );
    if let Some(p) = previous.filter(|p| !p.trim().is_empty()) {
        // A hostile or runaway earlier reply is not sent again whole with every later clip.
        let p = super::kept_text(p);
        let _ = write!(
            out,
            "The preceding clip was remembered as: \"{p}\". Do not repeat what it says; add what is new. "
        );
    }
    out.push_str("Reply with JSON only: {\"description\": \"...\"}");
    out
}

/// The description in a reply: a `<think>` part is skipped, then the first JSON object with a
/// non-empty `description`.
#[must_use]
pub fn parse_description(reply: &str) -> Option<String> {
    let text = match reply.rfind("</think>") {
        Some(end) => &reply[end + "</think>".len()..],
        None => reply,
    };
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let value: Value = serde_json::from_str(text.get(start..=end)?).ok()?;
    let description = value.get("description")?.as_str()?.trim();
    (!description.is_empty()).then(|| description.to_owned())
}

fn jpeg_data_url(frame: &Frame, max_side: u32) -> Result<String, String> {
    // Frames come decoded at most `max_side` (see `frame_max_size`); a larger one (a caller
    // that decoded its own) is scaled down here.
    let small;
    let frame = if frame.width.max(frame.height) > max_side {
        small = frame.downscaled(max_side, max_side);
        &small
    } else {
        frame
    };
    // RGBA to RGB in one pass, straight into the encoder: no image copies on the way.
    let rgb: Vec<u8> = frame
        .rgba
        .chunks_exact(4)
        .flat_map(|px| [px[0], px[1], px[2]])
        .collect();
    if rgb.len() != frame.width as usize * frame.height as usize * 3 {
        return Err("a frame's pixels do not match its size".to_owned());
    }
    let (Ok(width), Ok(height)) = (u16::try_from(frame.width), u16::try_from(frame.height)) else {
        return Err(format!(
            "a {}x{} frame is too large for JPEG",
            frame.width, frame.height
        ));
    };
    let mut jpeg = Vec::with_capacity(rgb.len() / 8);
    jpeg_encoder::Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    let mut url = String::with_capacity(32 + jpeg.len() * 4 / 3);
    url.push_str("data:image/jpeg;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(&jpeg, &mut url);
    Ok(url)
}

/// The quality images are sent at (the `image` crate's default, which the earlier code used).
const JPEG_QUALITY: u8 = 75;

impl MemorizationPolicy for RemotePolicy {
    fn name(&self) -> String {
        format!("remote:{}", self.client.settings().model)
    }

    fn frames_per_clip(&self) -> usize {
        self.frames.max(1)
    }

    fn frame_max_size(&self) -> (u32, u32) {
        (self.max_side.max(1), self.max_side.max(1))
    }

    fn memorize(&mut self, clip: &ClipInput<'_>) -> Result<Written, PolicyError> {
        let mut content = vec![json!({
            "type": "text",
            "text": instruction(clip.previous, clip.frames.len()),
        })];
        for frame in clip.frames {
            let url = jpeg_data_url(frame, self.max_side).map_err(PolicyError::Remote)?;
            content.push(json!({"type": "image_url", "image_url": {"url": url}}));
        }
        let messages = [json!({"role": "user", "content": content})];
        let ask = || {
            self.client
                .chat(&messages, 256)
                .map_err(|e| PolicyError::Remote(e.to_string()))
        };
        let mut raw = ask()?;
        let mut parsed = parse_description(&raw);
        if parsed.is_none() {
            // The format-failure path: asked once more, then written empty with the raw reply.
            raw = ask()?;
            parsed = parse_description(&raw);
        }
        // The client has already scrubbed the key from `raw`; what is kept is capped.
        Ok(Written {
            text: parsed.as_deref().map(super::kept_text).unwrap_or_default(),
            raw: super::stored_reply(raw),
            token_logprobs: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_sent_as_jpeg_at_most_max_side_long() {
        // A red left half and a blue right half, 320x180.
        let (width, height) = (320_u32, 180_u32);
        let rgba: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                if i % width < width / 2 {
                    [200, 30, 30, 255]
                } else {
                    [30, 30, 200, 255]
                }
            })
            .collect();
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            width,
            height,
            rgba: rgba.into(),
        };
        let decode = |url: String| {
            let b64 = url
                .strip_prefix("data:image/jpeg;base64,")
                .expect("a JPEG data URL")
                .to_owned();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
                .expect("a JPEG that decodes")
                .to_rgb8()
        };
        let full = decode(jpeg_data_url(&frame, 448).expect("encodes"));
        assert_eq!(full.dimensions(), (320, 180));
        let left = full.get_pixel(40, 90).0;
        let right = full.get_pixel(280, 90).0;
        assert!(left[0] > 150 && left[2] < 80, "{left:?}");
        assert!(right[2] > 150 && right[0] < 80, "{right:?}");
        let small = decode(jpeg_data_url(&frame, 160).expect("encodes"));
        assert_eq!(small.dimensions(), (160, 90));
    }

    #[test]
    fn descriptions_are_read_after_a_think_part_and_bad_replies_are_none() {
        assert_eq!(
            parse_description(
                "<think>the {kitchen}</think>\n{\"description\": \"I eat an apple.\"}"
            ),
            Some("I eat an apple.".to_owned())
        );
        assert_eq!(
            parse_description("```json\n{\"description\":\"x\"}\n```"),
            Some("x".to_owned())
        );
        assert_eq!(parse_description("I eat an apple."), None);
        assert_eq!(parse_description("{\"description\": \"\"}"), None);
        assert_eq!(parse_description("{\"text\": \"x\"}"), None);
        let with = instruction(Some("I walk."), 10);
        assert!(
            with.contains("10 images")
                && with.contains("\"I walk.\"")
                && with.contains("{\"description\"")
        );
        assert!(!instruction(None, 3).contains("preceding"));
    }

    #[test]
    fn a_huge_preceding_description_is_sent_capped() {
        let huge = "a".repeat(5 << 20);
        let text = instruction(Some(&huge), 10);
        assert!(
            text.len() < super::super::MAX_TEXT_BYTES + 1024,
            "{}",
            text.len()
        );
        assert!(text.contains(&format!(
            "\"{}…\"",
            "a".repeat(super::super::MAX_TEXT_BYTES)
        )));
    }
}
