//! The synthetic world end to end: determinism of the files, frames that decode back through
//! the video core close to what was rendered, and the truth/question invariants.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;

use taskmem::video::{OpenOptions, VideoSource};
use taskmem::world::render::Renderer;
use taskmem::world::{FRAME_MS, SuiteSpec, generate, simulate};

#[test]
fn the_same_seed_gives_byte_identical_files() {
    let spec = SuiteSpec::named("world-mme").unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ma = generate(&spec, 7, 40_000, a.path(), &mut |_, _| {}).unwrap();
    let mb = generate(&spec, 7, 40_000, b.path(), &mut |_, _| {}).unwrap();
    assert_eq!(ma.files, mb.files);
    for name in ["video.mp4", "truth.jsonl", "tasks.jsonl", "manifest.json"] {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name} differs"
        );
    }
    let other = tempfile::tempdir().unwrap();
    let mc = generate(&spec, 8, 40_000, other.path(), &mut |_, _| {}).unwrap();
    assert_ne!(ma.files["video.mp4"], mc.files["video.mp4"]);
}

fn psnr_rgb(a: &[u8], rgba: &[u8]) -> f64 {
    let mut se = 0.0;
    for (px, q) in a.chunks_exact(3).zip(rgba.chunks_exact(4)) {
        for c in 0..3 {
            se += (f64::from(px[c]) - f64::from(q[c])).powi(2);
        }
    }
    let mse = se / (a.len() as f64);
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

#[test]
fn rendered_frames_decode_back_through_the_video_core() {
    let spec = SuiteSpec::named("world-tempo").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = generate(&spec, 3, 30_000, dir.path(), &mut |_, _| {}).unwrap();
    let mut source =
        VideoSource::open(&dir.path().join("video.mp4"), &OpenOptions::default()).unwrap();
    let index = source.index().clone();
    assert_eq!(index.frame_count(), 300);
    assert_eq!(
        (index.width, index.height),
        (manifest.width, manifest.height)
    );
    for (i, f) in index.frames.iter().enumerate() {
        assert_eq!(f.pts_ns, i as i64 * FRAME_MS * 1_000_000, "frame {i} time");
    }
    // Render the same stream again and compare every frame with its decoded picture.
    let stream = simulate(&spec, 3, 30_000, "check");
    let renderer = Renderer::new(320, 180).unwrap();
    let mut replay = stream.sim.replay();
    let mut expected = Vec::new();
    for i in 0..300 {
        let t = i * FRAME_MS;
        expected.push(renderer.render(replay.advance_to(t), t).rgb);
    }
    let mut worst = f64::INFINITY;
    let mut total = 0.0;
    for gop in 0..index.gops.len() {
        source
            .decode_gop(gop, &mut |i, picture| {
                let db = psnr_rgb(&expected[i], &picture.to_rgba());
                worst = worst.min(db);
                total += db;
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    eprintln!("PSNR: worst {worst:.1} dB, mean {:.1} dB", total / 300.0);
    assert!(worst >= 35.0, "worst frame PSNR {worst:.1} dB");
}

#[test]
fn clips_average_at_least_six_facts() {
    for suite in ["world-mme", "world-life", "world-tempo"] {
        let spec = SuiteSpec::named(suite).unwrap();
        let stream = simulate(&spec, 12, 600_000, "t");
        let mean = stream.clips.iter().map(|c| c.facts.len()).sum::<usize>() as f64
            / stream.clips.len() as f64;
        assert!(mean >= 6.0, "{suite}: {mean:.1} facts per clip");
        assert!(!stream.questions.is_empty(), "{suite}: no questions");
    }
}
