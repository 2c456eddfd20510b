//! Frame preprocessing: a clip's sampled frames as the pixel model's patch rows (the perception
//! encoder reads frames through `policy::frontend` instead).

use super::Config;
use crate::video::Frame;

/// A clip's frames as the model's input: `frames_per_clip x patches_per_frame` rows of
/// `patch_dim` values in [-1, 1], each row grouped by [`Config::block`]. Frames are
/// box-filtered down to the model's size.
#[must_use]
pub fn clip_patches(frames: &[Frame], cfg: &Config) -> Vec<f32> {
    let (w, h, p) = (cfg.frame_width, cfg.frame_height, cfg.patch);
    let mut out =
        Vec::with_capacity(cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim());
    for i in 0..cfg.frames_per_clip {
        // Evenly spread; a short clip repeats its last frame.
        let Some(frame) = (!frames.is_empty())
            .then(|| &frames[(i * frames.len() / cfg.frames_per_clip).min(frames.len() - 1)])
        else {
            out.resize(out.len() + cfg.patches_per_frame() * cfg.patch_dim(), 0.0);
            continue;
        };
        let small = box_downscale(frame, w, h);
        let s = cfg.block();
        for py in 0..h / p {
            for px in 0..w / p {
                // Block by block (the stem's sub-patches), row by row within each.
                for by in 0..p / s {
                    for bx in 0..p / s {
                        for y in 0..s {
                            let row = py * p + by * s + y;
                            let at = (row * w + px * p + bx * s) * 3;
                            out.extend_from_slice(&small[at..at + s * 3]);
                        }
                    }
                }
            }
        }
    }
    out
}

/// RGB in [-1, 1] at `w x h`, each pixel the mean of the source pixels it covers.
pub(crate) fn box_downscale(frame: &Frame, w: usize, h: usize) -> Vec<f32> {
    let (sw, sh) = (frame.width as usize, frame.height as usize);
    let mut out = vec![0.0f32; w * h * 3];
    if sw == 0 || sh == 0 {
        return out;
    }
    for y in 0..h {
        let (y0, y1) = (y * sh / h, ((y + 1) * sh / h).max(y * sh / h + 1).min(sh));
        for x in 0..w {
            let (x0, x1) = (x * sw / w, ((x + 1) * sw / w).max(x * sw / w + 1).min(sw));
            let mut sum = [0u32; 3];
            for sy in y0..y1 {
                for sx in x0..x1 {
                    let at = (sy * sw + sx) * 4;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u32::from(frame.rgba[at + c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as f32;
            for c in 0..3 {
                out[(y * w + x) * 3 + c] = sum[c] as f32 / n / 127.5 - 1.0;
            }
        }
    }
    out
}
