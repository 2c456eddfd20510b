//! Codecs other than H.264 (HEVC, VP9, AV1) decoded by an `ffmpeg` subprocess, when one is on
//! PATH. Frame times still come from our own demux; ffmpeg only supplies the pixels.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::VideoError;
use super::demux::VideoIndex;
use super::frame::Picture;

/// Whether the ffmpeg fallback may be used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FfmpegPolicy {
    /// Use `ffmpeg` from PATH when the built-in decoder cannot read the codec.
    #[default]
    Auto,
    /// Never use ffmpeg (as on a machine without it).
    Disabled,
    /// Use this executable.
    At(PathBuf),
}

impl FfmpegPolicy {
    #[must_use]
    pub fn resolve(&self) -> Option<PathBuf> {
        match self {
            Self::Auto => ffmpeg_path(),
            Self::Disabled => None,
            Self::At(path) => Some(path.clone()),
        }
    }
}

/// The `ffmpeg` executable on PATH, if any.
#[must_use]
pub fn ffmpeg_path() -> Option<PathBuf> {
    find_on_path("ffmpeg")
}

pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Decodes one GOP through ffmpeg, seeking to just before its first frame.
pub(crate) fn decode_gop(
    ffmpeg: &Path,
    index: &VideoIndex,
    gop: usize,
    on_frame: &mut dyn FnMut(usize, &Picture<'_>) -> ControlFlow<()>,
) -> Result<(), VideoError> {
    let Some(frames) = index.gops.get(gop).map(|g| &g.frames) else {
        return Ok(());
    };
    let Some(&first) = frames.first() else {
        return Ok(());
    };
    let first_frame = index.frames[first];
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-v", "error", "-nostdin"]);
    if first > 0 {
        // Half a frame early so that rounding never skips the GOP's first frame; ffmpeg's
        // accurate seek drops everything before it.
        let start_s = (first_frame.pts_ns - first_frame.duration_ns / 2).max(0) as f64 / 1e9;
        cmd.args(["-ss", &format!("{start_s:.6}")]);
    }
    cmd.arg("-i")
        .arg(&index.path)
        .args(["-map", "0:v:0", "-frames:v", &frames.len().to_string()])
        .args([
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "pipe:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let ffmpeg_error = |detail: String| VideoError::Ffmpeg {
        path: index.path.clone(),
        detail,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| ffmpeg_error(format!("cannot start {}: {e}", ffmpeg.display())))?;
    let (w, h) = (index.width as usize, index.height as usize);
    let frame_len = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
    let mut buf = vec![0u8; frame_len];
    let mut rank = 0;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| ffmpeg_error("no stdout".into()))?;
    while rank < frames.len() {
        match stdout.read_exact(&mut buf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(ffmpeg_error(e.to_string())),
        }
        let flow = on_frame(
            frames[rank],
            &Picture::Packed {
                width: w,
                height: h,
                data: &buf,
            },
        );
        rank += 1;
        if flow.is_break() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
    }
    drop(stdout);
    let output = child
        .wait_with_output()
        .map_err(|e| ffmpeg_error(e.to_string()))?;
    if rank == 0 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ffmpeg_error(format!(
            "no frames decoded ({})",
            stderr.lines().last().unwrap_or("no message")
        )));
    }
    Ok(())
}
