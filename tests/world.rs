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
    let renderer = Renderer::new().unwrap();
    let mut replay = stream.sim.replay();
    let mut expected = Vec::new();
    for i in 0..300 {
        let t = i * FRAME_MS;
        replay.advance_to(t);
        expected.push(renderer.render(replay.state(), &replay.cues(t), t).rgb);
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
    // World v3 draws more edges (badges, glyphs, fixed-width sign text) than v2 did; H.264 at
    // the same rate keeps them at about 35 dB.
    assert!(worst >= 34.0, "worst frame PSNR {worst:.1} dB");
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

/// Issue 26's proof that truth is what the sampled frames show: every fact of several streams
/// (all three suites) is drawn, by the instances it names, with enough pixels, in at least one
/// of the sampled frames its truth line records; and every event is shown in some clip.
#[test]
fn every_fact_is_drawn_in_a_sampled_frame() {
    use taskmem::world::render::{Canvas, HEIGHT, Instance, Scene, WIDTH};
    use taskmem::world::truth::{event_sentences, seen_clips};
    let renderer = Renderer::new().unwrap();
    let mut facts_checked = 0;
    for (suite, seed) in [("world-mme", 21), ("world-life", 22), ("world-tempo", 23)] {
        let spec = SuiteSpec::named(suite).unwrap();
        let stream = simulate(&spec, seed, 300_000, "proof");
        let sim = &stream.sim;
        let sentences = event_sentences(sim);
        let clips = seen_clips(sim);
        let mut replay = sim.replay();
        let mut events_seen = 0;
        for (truth, instances) in &clips {
            assert_eq!(
                truth.facts.len(),
                truth.fact_ms.len(),
                "clip {}",
                truth.clip
            );
            assert_eq!(truth.facts.len(), instances.len(), "clip {}", truth.clip);
            let mut drawn = vec![false; truth.facts.len()];
            for &t in &truth.samples_ms {
                replay.advance_to(t);
                let scene = Scene::of(replay.state(), &replay.cues(t), t);
                let mut canvas = Canvas::with_ids(WIDTH, HEIGHT);
                renderer.draw(&mut canvas, &scene, t);
                for (i, fact) in truth.facts.iter().enumerate() {
                    if !truth.fact_ms[i].contains(&t) {
                        continue;
                    }
                    let shown = instances[i].iter().all(|inst| {
                        let need = match inst {
                            Instance::Object(id)
                                if sim.initial.objects[*id].kind.name() == "apple" =>
                            {
                                25
                            }
                            // A person is a body of about 28x40 px; a plate, a sign, a cue
                            // bubble or an object at least 16 px.
                            Instance::Person(_) => 400,
                            _ => 60,
                        };
                        canvas.pixels_of(*inst) >= need
                    });
                    assert!(
                        shown,
                        "{suite} clip {}: '{fact}' not drawn at {t} ms by {:?}",
                        truth.clip, instances[i]
                    );
                    // The instance is the thing the sentence names.
                    for inst in &instances[i] {
                        match inst {
                            Instance::Person(face) => {
                                assert!(fact.contains(&format!("<face_{face}>")), "{fact}");
                            }
                            Instance::Object(id) if !fact.starts_with("There ") => {
                                let o = &sim.initial.objects[*id];
                                let name = format!("{} {}", o.color.name(), o.kind.name());
                                assert!(fact.to_lowercase().contains(&name), "{fact} vs {name}");
                            }
                            Instance::Cue(index) => assert_eq!(fact, &sentences[*index]),
                            _ => {}
                        }
                    }
                    if fact.starts_with("There ") {
                        let n: usize = fact.split(' ').nth(2).unwrap().parse().unwrap();
                        assert_eq!(n, instances[i].len(), "{fact}");
                    }
                    drawn[i] = true;
                }
            }
            for (i, fact) in truth.facts.iter().enumerate() {
                assert!(
                    drawn[i],
                    "{suite} clip {}: '{fact}' has no sampled frame",
                    truth.clip
                );
                facts_checked += 1;
            }
            events_seen += truth.events.len();
        }
        // The simulation keeps cues apart and walks off only once they are shown: every event
        // is seen, in exactly one clip.
        assert_eq!(events_seen, sim.events.len(), "{suite}: events never shown");
    }
    assert!(facts_checked > 1_000, "{facts_checked} facts checked");
}

/// Issue 26: outfits use a palette that stays distinct after H.264 and after halving the
/// frame. Each person's shirt, read off the decoded video at the sampled frames (full size,
/// and 2x2-averaged to half size), is nearest to their own outfit color of the ten.
#[test]
fn outfit_colors_survive_h264_and_downscaling() {
    use taskmem::world::model::Color;
    use taskmem::world::render::{Scene, WIDTH};
    let spec = SuiteSpec::named("world-mme").unwrap();
    let dir = tempfile::tempdir().unwrap();
    generate(&spec, 31, 180_000, dir.path(), &mut |_, _| {}).unwrap();
    let mut source =
        VideoSource::open(&dir.path().join("video.mp4"), &OpenOptions::default()).unwrap();
    let stream = simulate(&spec, 31, 180_000, "outfits");
    // Every sampled frame (0.5 s, 1.5 s, ... into each clip), decoded.
    let wanted = |i: usize| (i as i64 * FRAME_MS) % 1_000 == 500;
    let mut decoded = std::collections::BTreeMap::new();
    for gop in 0..source.index().gops.len() {
        source
            .decode_gop(gop, &mut |i, picture| {
                if wanted(i) {
                    decoded.insert(i, picture.to_rgba());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    let nearest = |rgb: [f64; 3]| {
        Color::ALL
            .iter()
            .min_by(|a, b| {
                let d = |c: &Color| {
                    c.rgb()
                        .iter()
                        .zip(rgb)
                        .map(|(&p, q)| (f64::from(p) - q).powi(2))
                        .sum::<f64>()
                };
                d(a).total_cmp(&d(b))
            })
            .copied()
            .unwrap()
    };
    // The mean of a block of the decoded picture, at full size.
    let block = |rgba: &[u8], x0: usize, y0: usize, side: usize| {
        let mut sum = [0.0; 3];
        for y in y0..y0 + side {
            for x in x0..x0 + side {
                for (c, s) in sum.iter_mut().enumerate() {
                    *s += f64::from(rgba[(y * WIDTH + x) * 4 + c]);
                }
            }
        }
        sum.map(|s| s / (side * side) as f64)
    };
    let mut replay = stream.sim.replay();
    let mut checked = 0;
    for (&i, rgba) in &decoded {
        let t = i as i64 * FRAME_MS;
        replay.advance_to(t);
        let scene = Scene::of(replay.state(), &replay.cues(t), t);
        for p in &scene.people {
            // The shirt below the face badge.
            let x = usize::from(p.slot) * 80 + 28;
            let full = block(rgba, x, 92, 4);
            // Half size: one pixel of the 2x2-averaged frame.
            let half = block(rgba, x + 2, 94, 2);
            assert_eq!(
                nearest(full),
                p.outfit,
                "face {} at {t} ms: {full:?}",
                p.face
            );
            assert_eq!(
                nearest(half),
                p.outfit,
                "face {} at {t} ms, half size",
                p.face
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked} shirts checked");
}
