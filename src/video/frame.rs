//! Decoded pictures: a borrowed YUV 4:2:0 view straight out of a decoder, and an owned RGBA
//! [`Frame`] that caches and the UI hold.

use std::sync::Arc;

/// A decoded frame in RGBA, tagged with its presentation index and time.
#[derive(Clone, Debug)]
pub struct Frame {
    pub index: usize,
    pub pts_ns: i64,
    pub width: u32,
    pub height: u32,
    pub rgba: Arc<[u8]>,
}

impl Frame {
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.rgba.len()
    }

    /// A copy scaled to fit in `max_width` x `max_height` (box filter), keeping the aspect.
    #[must_use]
    pub fn downscaled(&self, max_width: u32, max_height: u32) -> Frame {
        let scale = (f64::from(max_width) / f64::from(self.width))
            .min(f64::from(max_height) / f64::from(self.height))
            .min(1.0);
        let out_w = ((f64::from(self.width) * scale).round() as u32).max(1);
        let out_h = ((f64::from(self.height) * scale).round() as u32).max(1);
        let (src_w, src_h) = (self.width as usize, self.height as usize);
        let mut out = vec![0u8; out_w as usize * out_h as usize * 4];
        for oy in 0..out_h as usize {
            let y0 = oy * src_h / out_h as usize;
            let y1 = ((oy + 1) * src_h / out_h as usize).max(y0 + 1);
            for ox in 0..out_w as usize {
                let x0 = ox * src_w / out_w as usize;
                let x1 = ((ox + 1) * src_w / out_w as usize).max(x0 + 1);
                let mut acc = [0u32; 4];
                for y in y0..y1 {
                    let row = &self.rgba[(y * src_w + x0) * 4..(y * src_w + x1) * 4];
                    for px in row.chunks_exact(4) {
                        for c in 0..4 {
                            acc[c] += u32::from(px[c]);
                        }
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                let o = (oy * out_w as usize + ox) * 4;
                for c in 0..4 {
                    out[o + c] = (acc[c] / n) as u8;
                }
            }
        }
        Frame {
            index: self.index,
            pts_ns: self.pts_ns,
            width: out_w,
            height: out_h,
            rgba: out.into(),
        }
    }
}

/// A borrowed YUV 4:2:0 picture, as a decoder hands it out.
pub enum Picture<'a> {
    OpenH264(&'a openh264::decoder::DecodedYUV<'a>),
    /// Tightly packed I420 (from ffmpeg): Y, then U, then V.
    Packed {
        width: usize,
        height: usize,
        data: &'a [u8],
    },
}

impl Picture<'_> {
    #[must_use]
    pub fn dimensions(&self) -> (usize, usize) {
        use openh264::formats::YUVSource;
        match self {
            Self::OpenH264(yuv) => yuv.dimensions(),
            Self::Packed { width, height, .. } => (*width, *height),
        }
    }

    /// The three planes and their strides.
    #[must_use]
    pub fn planes(&self) -> ([&[u8]; 3], [usize; 3]) {
        use openh264::formats::YUVSource;
        match self {
            Self::OpenH264(yuv) => {
                let (ys, us, vs) = yuv.strides();
                ([yuv.y(), yuv.u(), yuv.v()], [ys, us, vs])
            }
            Self::Packed {
                width,
                height,
                data,
            } => {
                let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
                let y_len = width * height;
                let c_len = cw * ch;
                (
                    [
                        &data[..y_len],
                        &data[y_len..y_len + c_len],
                        &data[y_len + c_len..y_len + 2 * c_len],
                    ],
                    [*width, cw, cw],
                )
            }
        }
    }

    /// Converts to RGBA (BT.601, limited range, as ffmpeg's default).
    #[must_use]
    pub fn to_rgba(&self) -> Vec<u8> {
        let (w, h) = self.dimensions();
        let mut out = vec![0u8; w * h * 4];
        match self {
            Self::OpenH264(yuv) => yuv.write_rgba8(&mut out),
            Self::Packed { .. } => {
                let (planes, strides) = self.planes();
                for row in 0..h {
                    for col in 0..w {
                        let luma = f32::from(planes[0][row * strides[0] + col]) - 16.0;
                        let cb = f32::from(planes[1][(row / 2) * strides[1] + col / 2]) - 128.0;
                        let cr = f32::from(planes[2][(row / 2) * strides[2] + col / 2]) - 128.0;
                        let px = &mut out[(row * w + col) * 4..][..4];
                        px[0] = (1.164 * luma + 1.596 * cr).clamp(0.0, 255.0) as u8;
                        px[1] = (1.164 * luma - 0.392 * cb - 0.813 * cr).clamp(0.0, 255.0) as u8;
                        px[2] = (1.164 * luma + 2.017 * cb).clamp(0.0, 255.0) as u8;
                        px[3] = 255;
                    }
                }
            }
        }
        out
    }

    /// Owned RGBA frame with the given index and time.
    #[must_use]
    pub fn to_frame(&self, index: usize, pts_ns: i64) -> Frame {
        let (w, h) = self.dimensions();
        Frame {
            index,
            pts_ns,
            width: w as u32,
            height: h as u32,
            rgba: self.to_rgba().into(),
        }
    }
}
