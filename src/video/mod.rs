//! Reading video: MP4 demux, H.264 decoding with openh264 (other codecs through an `ffmpeg`
//! subprocess when one is on PATH), the decoder thread with its frame and preview caches; and
//! writing it ([`encode`]: RGB frames to an H.264 MP4).
//!
//! Time here is `i64` nanoseconds taken from the container's timestamps; a frame's index is its
//! position in presentation order, never `time x fps`.

mod boxes;
pub mod cache;
mod demux;
pub mod encode;
mod error;
mod ffmpeg;
mod frame;
mod h264;
mod source;
mod timeline;
pub mod worker;

pub use demux::{Codec, FrameInfo, Gop, SampleInfo, VideoIndex, demux_file};
pub use encode::{EncodeError, EncodeSummary, EncoderSettings, Mp4Writer};
pub use error::VideoError;
pub use ffmpeg::{FfmpegPolicy, ffmpeg_path};
pub use frame::{Frame, Picture};
pub use source::{OpenOptions, VideoSource, parallel_decode_all};

/// Nanoseconds in one millisecond, for the conversions at the edges.
pub const NS_PER_MS: i64 = 1_000_000;
/// Nanoseconds in one second.
pub const NS_PER_SEC: i64 = 1_000_000_000;
