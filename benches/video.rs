//! Criterion benches for the video hot paths: demux, one GOP decoded to RGBA, and a seek to
//! the last frame of a GOP (the worst case of an exact seek). `taskmem bench` compares the
//! same paths against ffmpeg in one run.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use taskmem::video::{OpenOptions, VideoSource, demux_file};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

fn video(c: &mut Criterion) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/world-mme/test/world-mme-test-00/video.mp4");
    c.bench_function("demux a 10-minute stream (6000 frames)", |b| {
        b.iter(|| black_box(demux_file(&demo).map(|i| i.frame_count())));
    });
    let Ok(mut source) = VideoSource::open(&fixture("high_bframes.mp4"), &OpenOptions::default())
    else {
        return;
    };
    c.bench_function("decode one 640x360 GOP to RGBA", |b| {
        b.iter(|| {
            let mut n = 0;
            let _ = source.decode_gop(1, &mut |_, picture| {
                black_box(picture.to_rgba());
                n += 1;
                ControlFlow::Continue(())
            });
            n
        });
    });
    let last_of_gop = source.index().gops[1].frames.last().copied().unwrap_or(0);
    c.bench_function("exact seek to the last frame of a GOP", |b| {
        b.iter(|| black_box(source.decode_frame(last_of_gop).map(|f| f.index)));
    });
}

criterion_group!(benches, video);
criterion_main!(benches);
