//! The video core against ffmpeg's reading of the same files: frame counts and times from
//! ffprobe, pictures from ffmpeg's decode (as 8x8 block means, stored beside each fixture),
//! seeks through the decoder thread, and every kind of bad input.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskmem::playback::Playback;
use taskmem::video::worker::{DecoderConfig, DecoderHandle};
use taskmem::video::{
    FfmpegPolicy, Frame, OpenOptions, Picture, VideoError, VideoSource, demux_file, ffmpeg_path,
};

const H264_FIXTURES: [&str; 8] = [
    "baseline",
    "main",
    "high_bframes",
    "odd_size",
    "vfr",
    "audio_first",
    "fragmented",
    "avc3",
];

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

struct Reference {
    codec: String,
    width: u32,
    height: u32,
    frames_pts_ms: Vec<f64>,
    keyframes_pts_ms: Vec<f64>,
    has_b_frames: bool,
    block: usize,
    yuv_block_means: Vec<Vec<f64>>,
}

fn reference(name: &str) -> Reference {
    let text = std::fs::read_to_string(asset(&format!("{name}.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    Reference {
        codec: v["codec"].as_str().unwrap().to_owned(),
        width: v["width"].as_u64().unwrap() as u32,
        height: v["height"].as_u64().unwrap() as u32,
        frames_pts_ms: floats(&v["frames_pts_ms"]),
        keyframes_pts_ms: floats(&v["keyframes_pts_ms"]),
        has_b_frames: v["has_b_frames"].as_bool().unwrap(),
        block: v["block"].as_u64().unwrap() as usize,
        yuv_block_means: v["yuv_block_means"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect(),
    }
}

/// Block means of the Y, U and V planes, in the reference's layout.
fn block_means(picture: &Picture<'_>, block: usize) -> Vec<f64> {
    let (w, h) = picture.dimensions();
    let (planes, strides) = picture.planes();
    let sizes = [
        (w, h),
        (w.div_ceil(2), h.div_ceil(2)),
        (w.div_ceil(2), h.div_ceil(2)),
    ];
    let mut out = Vec::new();
    for ((plane, stride), (pw, ph)) in planes.iter().zip(strides).zip(sizes) {
        for by in (0..ph).step_by(block) {
            for bx in (0..pw).step_by(block) {
                let (mut sum, mut n) = (0u64, 0u64);
                for y in by..(by + block).min(ph) {
                    for x in bx..(bx + block).min(pw) {
                        sum += u64::from(plane[y * stride + x]);
                        n += 1;
                    }
                }
                out.push(sum as f64 / n as f64);
            }
        }
    }
    out
}

fn psnr(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "block layout differs");
    let mse = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn decode_all_block_means(source: &mut VideoSource, block: usize) -> Vec<Option<Vec<f64>>> {
    let count = source.index().frame_count();
    let mut means = vec![None; count];
    for gop in 0..source.index().gops.len() {
        source
            .decode_gop(gop, &mut |frame, picture| {
                means[frame] = Some(block_means(picture, block));
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    means
}

fn check_against_reference(name: &str, options: &OpenOptions) {
    let reference = reference(name);
    let mut source = VideoSource::open(&asset(&format!("{name}.mp4")), options).unwrap();
    let index = Arc::clone(source.index());
    assert_eq!(index.codec.name(), reference.codec, "{name}: codec");
    assert_eq!(
        (index.width, index.height),
        (reference.width, reference.height),
        "{name}: size"
    );
    assert_eq!(
        index.frame_count(),
        reference.frames_pts_ms.len(),
        "{name}: frame count"
    );
    for (i, (frame, want_ms)) in index
        .frames
        .iter()
        .zip(&reference.frames_pts_ms)
        .enumerate()
    {
        let got_ms = frame.pts_ns as f64 / 1e6;
        assert!(
            (got_ms - want_ms).abs() < 0.01,
            "{name}: frame {i} at {got_ms} ms, ffprobe says {want_ms} ms"
        );
    }
    let keyframes: Vec<f64> = index
        .frames
        .iter()
        .filter(|f| f.is_keyframe)
        .map(|f| f.pts_ns as f64 / 1e6)
        .collect();
    assert_eq!(
        keyframes.len(),
        reference.keyframes_pts_ms.len(),
        "{name}: keyframes"
    );
    assert_eq!(
        index.has_b_frames(),
        reference.has_b_frames,
        "{name}: B-frames"
    );

    let decoded = decode_all_block_means(&mut source, reference.block);
    for (i, (got, want)) in decoded.iter().zip(&reference.yuv_block_means).enumerate() {
        let got = got
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: frame {i} was never decoded"));
        let db = psnr(got, want);
        assert!(
            db >= 60.0,
            "{name}: frame {i} differs from ffmpeg's decode (PSNR {db:.1} dB)"
        );
    }
}

#[test]
fn h264_fixtures_match_ffprobe_times_and_ffmpeg_pictures() {
    for name in H264_FIXTURES {
        check_against_reference(name, &OpenOptions::default());
    }
}

#[test]
fn variable_frame_rate_keeps_real_times() {
    let index = demux_file(&asset("vfr.mp4")).unwrap();
    assert!(index.is_vfr());
    let steps: Vec<i64> = index
        .frames
        .windows(2)
        .map(|w| (w[1].pts_ns - w[0].pts_ns) / 1_000_000)
        .collect();
    assert!(
        steps.contains(&40) && steps.contains(&100) && steps.contains(&20),
        "{steps:?}"
    );
    let constant = demux_file(&asset("baseline.mp4")).unwrap();
    assert!(!constant.is_vfr());
}

#[test]
fn containers_and_sample_entries_are_reported() {
    let fragmented = demux_file(&asset("fragmented.mp4")).unwrap();
    assert_eq!(fragmented.container(), "mp4 (fragmented)");
    let avc3 = demux_file(&asset("avc3.mp4")).unwrap();
    assert!(
        matches!(&avc3.codec, taskmem::video::Codec::H264 { sample_entry, .. } if sample_entry == "avc3")
    );
    let audio_first = demux_file(&asset("audio_first.mp4")).unwrap();
    assert_eq!(audio_first.track_id, 2, "the video is the second track");
    assert_eq!(
        demux_file(&asset("high_bframes.mp4"))
            .unwrap()
            .codec
            .profile()
            .as_deref(),
        Some("High")
    );
    assert_eq!(
        demux_file(&asset("baseline.mp4"))
            .unwrap()
            .codec
            .profile()
            .as_deref(),
        Some("Constrained Baseline")
    );
}

#[test]
fn hevc_decodes_through_ffmpeg_when_it_is_installed() {
    if ffmpeg_path().is_none() {
        eprintln!("ffmpeg is not on PATH: the HEVC fallback is checked only where it is");
        return;
    }
    check_against_reference("hevc", &OpenOptions::default());
}

#[test]
fn hevc_without_ffmpeg_says_installing_it_would_help() {
    let options = OpenOptions {
        ffmpeg: FfmpegPolicy::Disabled,
    };
    let Err(err) = VideoSource::open(&asset("hevc.mp4"), &options) else {
        panic!("HEVC must not open without ffmpeg");
    };
    let message = err.to_string();
    assert!(
        matches!(err, VideoError::UnsupportedCodec { .. }),
        "{message}"
    );
    assert!(
        message.contains("hevc") && message.contains("ffmpeg") && message.contains("hevc.mp4"),
        "{message}"
    );
}

/// Sequential decode of every frame, the ground truth for seeks.
fn all_frames(name: &str) -> Vec<Frame> {
    let mut source = VideoSource::open(&asset(name), &OpenOptions::default()).unwrap();
    let index = Arc::clone(source.index());
    let mut frames = Vec::new();
    for gop in 0..index.gops.len() {
        source
            .decode_gop(gop, &mut |i, p| {
                frames.push(p.to_frame(i, index.frames[i].pts_ns));
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    frames
}

fn wait_frame(handle: &DecoderHandle, index: usize) -> Frame {
    let start = Instant::now();
    loop {
        if let Some(frame) = handle.frame(index) {
            return frame;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "frame {index} never arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn random_seeks_show_the_frame_at_or_before_the_time_in_both_directions() {
    for name in ["high_bframes.mp4", "vfr.mp4", "fragmented.mp4"] {
        let truth = all_frames(name);
        let source = VideoSource::open(&asset(name), &OpenOptions::default()).unwrap();
        let index = Arc::clone(source.index());
        let times: Arc<[i64]> = index.frames.iter().map(|f| f.pts_ns).collect();
        let mut playback = Playback::new(times, index.duration_ns());
        // A small cache forces real re-decodes from keyframes.
        let config = DecoderConfig {
            cache_budget_bytes: truth[0].byte_len() * 4,
            build_previews: true,
        };
        let mut handle = DecoderHandle::spawn(source, &config, Arc::new(|| {})).unwrap();
        let mut seed = 7u64;
        for step in 0..40 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let t = ((seed >> 33) as i64) % index.duration_ns();
            playback.seek_ns(t);
            let shown = playback.current_frame();
            let frame_times: Vec<i64> = index.frames.iter().map(|f| f.pts_ns).collect();
            assert!(
                frame_times[shown] <= playback.position_ns(),
                "{name} step {step}"
            );
            if let Some(&next) = frame_times.get(shown + 1) {
                assert!(next > playback.position_ns(), "{name} step {step}");
            }
            handle.want(shown, shown);
            let frame = wait_frame(&handle, shown);
            assert_eq!(frame.index, shown);
            assert_eq!(frame.pts_ns, truth[shown].pts_ns);
            assert!(
                frame.rgba == truth[shown].rgba,
                "{name}: seek to frame {shown} shows another picture"
            );
        }
        // Previews for scrubbing exist for every keyframe once built.
        let start = Instant::now();
        while handle.preview_progress().0 < handle.preview_progress().1 {
            assert!(start.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(2));
        }
        let preview = handle.preview(index.frame_count() - 1).unwrap();
        assert!(preview.width <= 160 && preview.height <= 90);
    }
}

fn open_err(path: &Path) -> String {
    match VideoSource::open(path, &OpenOptions::default()) {
        Ok(_) => panic!("{} should not open", path.display()),
        Err(err) => err.to_string(),
    }
}

#[test]
fn bad_input_is_a_clear_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let empty = open_err(&write("empty.mp4", b""));
    assert!(
        empty.contains("empty.mp4") && empty.contains("empty"),
        "{empty}"
    );

    let mut seed = 99u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 56) as u8
        })
        .collect();
    let random = open_err(&write("random.mp4", &noise));
    assert!(
        random.contains("random.mp4") && random.contains("not an MP4"),
        "{random}"
    );

    let png = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64]].concat();
    let png_err = open_err(&write("picture.mp4", &png));
    assert!(png_err.contains("PNG"), "{png_err}");

    let missing = open_err(&dir.path().join("nope.mp4"));
    assert!(missing.contains("nope.mp4"), "{missing}");

    let no_video = open_err(&asset("no_video.mp4"));
    assert!(
        no_video.contains("no video track") && no_video.contains("audio"),
        "{no_video}"
    );

    for name in ["high_bframes.mp4", "fragmented.mp4", "baseline.mp4"] {
        let bytes = std::fs::read(asset(name)).unwrap();
        for cut in [
            8,
            100,
            bytes.len() / 10,
            bytes.len() / 2,
            bytes.len() * 9 / 10,
            bytes.len() - 1,
        ] {
            let path = write(&format!("cut_{cut}_{name}"), &bytes[..cut]);
            // Either the index is gone (an error) or what is left still decodes.
            if let Ok(mut source) = VideoSource::open(&path, &OpenOptions::default()) {
                for gop in 0..source.index().gops.len() {
                    let _ = source.decode_gop(gop, &mut |_, _| ControlFlow::Continue(()));
                }
            } else {
                let message = open_err(&path);
                assert!(message.contains(&format!("cut_{cut}_{name}")), "{message}");
            }
        }
    }
    // A progressive file cut inside its media data must say "truncated".
    let bytes = std::fs::read(asset("baseline.mp4")).unwrap();
    let index = demux_file(&asset("baseline.mp4")).unwrap();
    let last = index.samples.last().unwrap();
    if last.offset as usize > bytes.len() / 2 {
        let cut = write("cut_media.mp4", &bytes[..last.offset as usize]);
        let message = open_err(&cut);
        assert!(message.contains("truncated"), "{message}");
    }
}

#[test]
fn corrupt_media_data_decodes_or_errors_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["main.mp4", "high_bframes.mp4"] {
        let mut bytes = std::fs::read(asset(name)).unwrap();
        let index = demux_file(&asset(name)).unwrap();
        let mut seed = 3u64;
        for sample in &index.samples {
            for _ in 0..4 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let at = sample.offset as usize
                    + 4
                    + (seed >> 33) as usize % (sample.size as usize).saturating_sub(4).max(1);
                if at < bytes.len() {
                    bytes[at] ^= 0x5A;
                }
            }
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let mut source = VideoSource::open(&path, &OpenOptions::default()).unwrap();
        for gop in 0..source.index().gops.len() {
            if let Err(err) = source.decode_gop(gop, &mut |_, _| ControlFlow::Continue(())) {
                assert!(err.to_string().contains(name), "{err}");
            }
        }
    }
}

#[test]
fn exact_decode_that_skips_non_reference_pictures_matches_a_full_decode() {
    for name in [
        "high_bframes.mp4",
        "main.mp4",
        "odd_size.mp4",
        "fragmented.mp4",
    ] {
        let truth = all_frames(name);
        let mut source = VideoSource::open(&asset(name), &OpenOptions::default()).unwrap();
        for (i, expected) in truth.iter().enumerate() {
            let frame = source.decode_frame(i).unwrap();
            assert_eq!(frame.pts_ns, expected.pts_ns, "{name} frame {i}");
            assert!(
                frame.rgba == expected.rgba,
                "{name}: frame {i} differs when decoded on its own"
            );
        }
    }
}
