//! The errors a user-supplied video can produce; each names the file and the problem.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: is a directory, not a video file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: the file is empty (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: not an MP4 file ({detail})", path.display())]
    NotMp4 { path: PathBuf, detail: String },
    #[error("{}: malformed MP4: {detail}", path.display())]
    Malformed { path: PathBuf, detail: String },
    #[error("{}: the file is truncated: {detail}", path.display())]
    Truncated { path: PathBuf, detail: String },
    #[error("{}: the MP4 has no video track (tracks found: {tracks})", path.display())]
    NoVideoTrack { path: PathBuf, tracks: String },
    #[error(
        "{}: the video codec {codec} is not supported by the built-in H.264 decoder; installing ffmpeg (on PATH) would let TaskMem Studio decode it",
        path.display()
    )]
    UnsupportedCodec { path: PathBuf, codec: String },
    #[error("{}: decoding failed near {time_ms} ms: {detail}", path.display())]
    Decode {
        path: PathBuf,
        time_ms: i64,
        detail: String,
    },
    #[error("{}: ffmpeg failed: {detail}", path.display())]
    Ffmpeg { path: PathBuf, detail: String },
}

impl VideoError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
