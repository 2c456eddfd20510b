//! A video opened for decoding: its index, a file handle and a backend (openh264, or ffmpeg for
//! other codecs). One `VideoSource` per thread; they share the index.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::VideoError;
use super::demux::{Codec, VideoIndex, demux_file};
use super::ffmpeg::{self, FfmpegPolicy};
use super::frame::{Frame, Picture};
use super::h264::H264Decoder;

#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    pub ffmpeg: FfmpegPolicy,
}

enum Backend {
    H264(Box<H264Decoder>),
    Ffmpeg(PathBuf),
}

pub struct VideoSource {
    index: Arc<VideoIndex>,
    file: File,
    backend: Backend,
    options: OpenOptions,
}

impl VideoSource {
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Self, VideoError> {
        let index = Arc::new(demux_file(path)?);
        Self::from_index(index, options)
    }

    /// Another decoder over an index already read (for a second thread).
    pub fn from_index(index: Arc<VideoIndex>, options: &OpenOptions) -> Result<Self, VideoError> {
        let file = File::open(&index.path).map_err(|e| VideoError::io(&index.path, e))?;
        let backend = match &index.codec {
            Codec::H264 { .. } => Backend::H264(Box::new(H264Decoder::new(&index)?)),
            Codec::Other { name, .. } => match options.ffmpeg.resolve() {
                Some(ffmpeg) => Backend::Ffmpeg(ffmpeg),
                None => {
                    return Err(VideoError::UnsupportedCodec {
                        path: index.path.clone(),
                        codec: name.clone(),
                    });
                }
            },
        };
        Ok(Self {
            index,
            file,
            backend,
            options: options.clone(),
        })
    }

    #[must_use]
    pub fn index(&self) -> &Arc<VideoIndex> {
        &self.index
    }

    #[must_use]
    pub fn options(&self) -> &OpenOptions {
        &self.options
    }

    /// Decodes GOP `gop`; `on_frame(frame_index, picture)` sees its frames in presentation
    /// order and may stop early by returning `Break`.
    pub fn decode_gop(
        &mut self,
        gop: usize,
        on_frame: &mut dyn FnMut(usize, &Picture<'_>) -> ControlFlow<()>,
    ) -> Result<(), VideoError> {
        self.decode_gop_from(gop, None, on_frame)
    }

    /// Like [`Self::decode_gop`], but frames before `first_needed` may be left out where
    /// nothing depends on them (non-reference pictures): the fast path to a seek target.
    pub fn decode_gop_from(
        &mut self,
        gop: usize,
        first_needed: Option<usize>,
        on_frame: &mut dyn FnMut(usize, &Picture<'_>) -> ControlFlow<()>,
    ) -> Result<(), VideoError> {
        let index = Arc::clone(&self.index);
        match &mut self.backend {
            Backend::H264(decoder) => {
                decoder.decode_gop(&index, &mut self.file, gop, first_needed, on_frame)
            }
            Backend::Ffmpeg(path) => ffmpeg::decode_gop(path, &index, gop, on_frame),
        }
    }

    /// Decodes one frame exactly (from its GOP's keyframe).
    pub fn decode_frame(&mut self, frame_index: usize) -> Result<Frame, VideoError> {
        let Some(info) = self.index.frames.get(frame_index).copied() else {
            return Err(VideoError::Decode {
                path: self.index.path.clone(),
                time_ms: 0,
                detail: format!("frame {frame_index} is past the last frame"),
            });
        };
        let mut found = None;
        self.decode_gop_from(info.gop, Some(frame_index), &mut |index, picture| {
            if index == frame_index {
                found = Some(picture.to_frame(index, info.pts_ns));
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        found.ok_or_else(|| VideoError::Decode {
            path: self.index.path.clone(),
            time_ms: info.pts_ns / super::NS_PER_MS,
            detail: "the decoder produced fewer pictures than the container lists".to_owned(),
        })
    }
}

/// Decodes every frame of the video, GOPs spread over `threads` threads (GOPs decode
/// independently). `on_frame` runs on the decoding threads. Returns the number of pictures.
pub fn parallel_decode_all(
    index: &Arc<VideoIndex>,
    threads: usize,
    options: &OpenOptions,
    on_frame: &(dyn Fn(usize, &Picture<'_>) + Sync),
) -> Result<usize, VideoError> {
    let next_gop = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|i| {
                let (next_gop, decoded) = (&next_gop, &decoded);
                std::thread::Builder::new()
                    .name(format!("decode-all-{i}"))
                    .spawn_scoped(scope, move || -> Result<(), VideoError> {
                        let mut source = VideoSource::from_index(Arc::clone(index), options)?;
                        loop {
                            let gop = next_gop.fetch_add(1, Ordering::Relaxed);
                            if gop >= index.gops.len() {
                                return Ok(());
                            }
                            source.decode_gop(gop, &mut |frame, picture| {
                                on_frame(frame, picture);
                                decoded.fetch_add(1, Ordering::Relaxed);
                                ControlFlow::Continue(())
                            })?;
                        }
                    })
                    .map_err(|e| VideoError::Decode {
                        path: index.path.clone(),
                        time_ms: 0,
                        detail: format!("cannot start a decoding thread: {e}"),
                    })
            })
            .collect();
        for worker in workers {
            worker?.join().map_err(|_| VideoError::Decode {
                path: index.path.clone(),
                time_ms: 0,
                detail: "a decoding thread stopped unexpectedly".to_owned(),
            })??;
        }
        Ok(decoded.load(Ordering::Relaxed))
    })
}
