//! Hostile and unusual video input: damaged box sizes never hang the demuxer, errors name the
//! file and print box names as text, a folder is not a video, `frames` writes nothing when it
//! fails, and every frame time agrees with ffprobe's for the same file.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{asset, s};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use taskmem::video::{VideoIndex, demux_file};

fn mp4_assets() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(asset(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

/// `taskmem probe VIDEO`, which must fail with exit 2: what it said on stderr.
fn probe_error(video: &Path) -> String {
    let output = common::taskmem(&["probe", s(video)]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    common::stderr(&output)
}

/// `taskmem frames VIDEO --at AT --out OUT`.
fn frames_at(video: &Path, at: &str, out: &Path) -> Output {
    common::taskmem(&["frames", s(video), "--at", at, "--out", s(out)])
}

/// Boxes whose payload is child boxes, and where those children start (bytes after the
/// header): the places a demuxer walks.
fn children_start(kind: &[u8]) -> Option<u64> {
    match kind {
        b"moov" | b"trak" | b"edts" | b"mdia" | b"minf" | b"dinf" | b"stbl" | b"mvex" | b"moof"
        | b"traf" | b"udta" | b"ilst" => Some(0),
        b"meta" => Some(4),
        b"dref" | b"stsd" => Some(8),
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" => Some(78),
        _ => None,
    }
}

/// (offset, fourcc, size) of every box reachable through the containers above.
fn box_headers(bytes: &[u8]) -> Vec<(usize, String, u32)> {
    fn walk(bytes: &[u8], start: usize, end: usize, out: &mut Vec<(usize, String, u32)>) {
        let mut offset = start;
        while offset + 8 <= end {
            let size = u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap());
            let kind = &bytes[offset + 4..offset + 8];
            out.push((offset, String::from_utf8_lossy(kind).into_owned(), size));
            let box_end = match size {
                0 => end,
                1 => {
                    let large =
                        u64::from_be_bytes(bytes[offset + 8..offset + 16].try_into().unwrap());
                    offset + usize::try_from(large).unwrap()
                }
                n => offset + n as usize,
            };
            if let Some(skip) = children_start(kind) {
                let header = if size == 1 { 16 } else { 8 };
                walk(
                    bytes,
                    offset + header + skip as usize,
                    box_end.min(end),
                    out,
                );
            }
            offset = box_end;
        }
    }
    let mut out = Vec::new();
    walk(bytes, 0, bytes.len(), &mut out);
    out
}

/// Demuxes `path` on its own thread; `None` if it has not returned after 10 s (a hang guard,
/// not a timing assertion: a correct parse takes milliseconds).
fn demux_or_hang(path: &Path) -> Option<Result<VideoIndex, String>> {
    let (send, receive) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let result = demux_file(&owned).map_err(|e| e.to_string());
        let _ = send.send(result);
    });
    receive.recv_timeout(Duration::from_secs(10)).ok()
}

fn assert_clean_error(message: &str, file_name: &str) {
    assert!(
        message.contains(file_name),
        "does not name the file: {message}"
    );
    assert!(
        !message.chars().any(char::is_control),
        "control characters in: {message:?}"
    );
}

#[test]
fn every_box_size_changed_returns_an_answer_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    for original in mp4_assets() {
        let bytes = std::fs::read(&original).unwrap();
        let name = original.file_name().unwrap().to_string_lossy().into_owned();
        let headers = box_headers(&bytes);
        assert!(headers.len() > 10, "{name}: {headers:?}");
        let mutant = dir.path().join(format!("mutant_{name}"));
        let mutant_name = mutant.file_name().unwrap().to_string_lossy().into_owned();
        for (offset, kind, size) in headers {
            for new_size in [
                size.wrapping_add(1),
                size.wrapping_add(46),
                size.wrapping_sub(1),
                0,
                4,
                0xFFFF_FFFF,
            ] {
                let mut changed = bytes.clone();
                changed[offset..offset + 4].copy_from_slice(&new_size.to_be_bytes());
                std::fs::write(&mutant, &changed).unwrap();
                let Some(result) = demux_or_hang(&mutant) else {
                    panic!(
                        "{name}: '{kind}' at byte {offset}, size {size} -> {new_size}: no answer after 10 s"
                    );
                };
                if let Err(message) = result {
                    assert_clean_error(&message, &mutant_name);
                }
                tried += 1;
            }
        }
    }
    assert!(tried > 500, "{tried}");
}

/// Found by the mp4 fuzzer: an `hdlr` inside `udta/meta` with a 64-bit size of 16 PB made
/// `re_mp4` allocate that much and abort, because the tree check did not walk `meta`.
#[test]
fn a_metadata_box_sized_past_its_parent_is_an_error_not_an_abort() {
    let crash =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/mp4/crash-meta-hdlr-64bit-size");
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("meta.mp4");
    std::fs::copy(&crash, &video).unwrap();
    let Some(result) = demux_or_hang(&video) else {
        panic!("no answer after 10 s");
    };
    let message = result.expect_err("a box past its parent is refused");
    assert_clean_error(&message, "meta.mp4");
    assert!(
        message.contains("'hdlr'") && message.contains("'meta'"),
        "{message}"
    );
}

/// The reported case: `hdlr` 45 -> 91 bytes made probe, frames and ingest loop forever.
#[test]
fn a_grown_hdlr_size_is_a_quick_error_naming_the_file_and_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(asset("fragmented.mp4")).unwrap();
    let (offset, _, size) = box_headers(&bytes)
        .into_iter()
        .find(|(_, kind, _)| kind == "hdlr")
        .unwrap();
    let mut changed = bytes.clone();
    changed[offset..offset + 4].copy_from_slice(&(size + 46).to_be_bytes());
    let path = dir.path().join("grown_hdlr.mp4");
    std::fs::write(&path, &changed).unwrap();

    let message = demux_or_hang(&path)
        .expect("the demuxer must answer")
        .expect_err("a broken box tree is an error");
    assert_clean_error(&message, "grown_hdlr.mp4");
    assert!(message.contains("'hdlr'"), "{message}");
    assert!(message.contains(&format!("{}", size + 46)), "{message}");

    let out = dir.path().join("frames_out");
    let stderr = probe_error(&path);
    assert!(
        stderr.contains("grown_hdlr.mp4") && stderr.contains("hdlr"),
        "{stderr}"
    );

    let output = frames_at(&path, "0.5s", &out);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        !out.exists(),
        "frames made its folder for a video it could not read"
    );
}

/// Box names come from the file: a damaged one must not print raw bytes (a newline, an
/// escape sequence) into the message.
#[test]
fn box_names_in_errors_are_printable() {
    let dir = tempfile::tempdir().unwrap();
    let ftyp = [
        &24u32.to_be_bytes()[..],
        b"ftypisom",
        &[0u8; 4],
        b"isomavc1",
    ]
    .concat();
    // A moov whose only child has a name of control bytes and size 0 (re_mp4 would loop).
    let moov = [
        &16u32.to_be_bytes()[..],
        b"moov",
        &0u32.to_be_bytes(),
        b"\n\x1b[2",
    ]
    .concat();
    let inner = dir.path().join("inner.mp4");
    std::fs::write(&inner, [&ftyp[..], &moov].concat()).unwrap();
    // A top-level box with such a name that runs past the end of the file.
    let outer = dir.path().join("outer.mp4");
    std::fs::write(
        &outer,
        [&ftyp[..], &1000u32.to_be_bytes(), b"\n\n\r\x07", &[0u8; 16]].concat(),
    )
    .unwrap();
    for (path, escaped) in [(&inner, "\\x0a\\x1b[2"), (&outer, "\\x0a\\x0a\\x0d\\x07")] {
        let message = demux_or_hang(path).unwrap().unwrap_err();
        let name = path.file_name().unwrap().to_string_lossy();
        assert_clean_error(&message, &name);
        assert!(message.contains(escaped), "{message}");

        let stderr = probe_error(path);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

/// Tables that contradict each other made `re_mp4` panic: the panic was caught, but its
/// "thread 'main' panicked" report and backtrace came out before the error.
#[test]
fn contradicting_sample_tables_are_one_line_errors_without_a_panic_report() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(asset("baseline.mp4")).unwrap();
    for table in ["stsc", "stts"] {
        let (offset, _, _) = box_headers(&bytes)
            .into_iter()
            .find(|(_, kind, _)| kind == table)
            .unwrap();
        // The entry count (after the 8-byte header and 4 bytes of version and flags) says 0.
        let mut changed = bytes.clone();
        changed[offset + 12..offset + 16].copy_from_slice(&0u32.to_be_bytes());
        let path = dir.path().join(format!("empty_{table}.mp4"));
        std::fs::write(&path, &changed).unwrap();
        let stderr = probe_error(&path);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("empty_{table}.mp4")), "{stderr}");
    }
}

/// A `tfdt` (a fragment's decode time) damaged to thousands of years overflowed the frame
/// time arithmetic: exit 101 with "attempt to add with overflow".
#[test]
fn a_fragment_timed_centuries_away_is_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(asset("fragmented.mp4")).unwrap();
    let headers = box_headers(&bytes);
    let tfdts: Vec<usize> = headers
        .iter()
        .filter(|(_, kind, _)| kind == "tfdt")
        .map(|&(offset, _, _)| offset)
        .collect();
    assert!(tfdts.len() > 1);
    for value in [0x7FFF_FFFFu32, 0xFFFF_FFFF] {
        let mut changed = bytes.clone();
        // The high word of a version-1 tfdt, or all of a version-0 one.
        let at = tfdts[1] + 12;
        changed[at..at + 4].copy_from_slice(&value.to_be_bytes());
        let path = dir.path().join(format!("far_tfdt_{value:x}.mp4"));
        std::fs::write(&path, &changed).unwrap();
        let stderr = probe_error(&path);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("far_tfdt_"), "{stderr}");
    }
}

#[test]
fn probe_on_a_directory_is_bad_input_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("videos.mp4");
    std::fs::create_dir(&folder).unwrap();
    let stderr = probe_error(&folder);
    assert!(
        stderr.contains("videos.mp4") && stderr.contains("is a directory"),
        "{stderr}"
    );
}

/// A video that opens but whose first picture cannot be decoded: `frames` fails, and leaves
/// no output folder behind.
#[test]
fn frames_that_fail_to_decode_leave_no_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let index = demux_file(&asset("baseline.mp4")).unwrap();
    let first = index.samples[0];
    let mut bytes = std::fs::read(asset("baseline.mp4")).unwrap();
    let at = usize::try_from(first.offset).unwrap();
    // A NAL length far past the end of the sample.
    bytes[at..at + 4].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    let path = dir.path().join("bad_first_picture.mp4");
    std::fs::write(&path, &bytes).unwrap();
    let out = dir.path().join("out");
    let output = frames_at(&path, "0s", &out);
    assert_ne!(output.status.code(), Some(0), "{output:?}");
    let stderr = common::stderr(&output);
    assert!(stderr.contains("bad_first_picture.mp4"), "{stderr}");
    assert!(!out.exists(), "frames made its folder but wrote nothing");
}

/// ffprobe's `best_effort_timestamp_time` and `pkt_pos` (the byte offset of the sample) of
/// every video frame, in presentation order (see tests/assets/README.md for how the lists were
/// made).
fn ffprobe_frames(name: &str) -> Vec<(f64, u64)> {
    std::fs::read_to_string(asset(&format!("{name}.ffprobe_times.txt")))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (time, pos) = l.trim().split_once(',').unwrap();
            (time.parse().unwrap(), pos.parse().unwrap())
        })
        .collect()
}

/// Every frame of every asset has ffprobe's time (within 1 ms) and is the same sample of the
/// file: so the frame shown at a time is the one ffmpeg shows at that time.
#[test]
fn every_frame_time_of_every_asset_matches_ffprobe() {
    let mut compared = 0;
    for path in mp4_assets() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "no_video" {
            continue;
        }
        let expected = ffprobe_frames(&name);
        let index = demux_file(&path).unwrap();
        assert_eq!(index.frames.len(), expected.len(), "{name}: frame count");
        for (i, (frame, &(seconds, pos))) in index.frames.iter().zip(&expected).enumerate() {
            let ours_ms = frame.pts_ns as f64 / 1e6;
            let theirs_ms = seconds * 1000.0;
            assert!(
                (ours_ms - theirs_ms).abs() < 1.0,
                "{name}: frame {i} at {ours_ms} ms, ffprobe says {theirs_ms} ms"
            );
            assert_eq!(
                index.samples[frame.sample].offset, pos,
                "{name}: frame {i} at {ours_ms} ms is another sample than ffprobe's"
            );
            compared += 1;
        }
    }
    assert!(compared > 500, "{compared}");
}

/// The reported case: in a fragmented file with B-frames (24 fps, ffmpeg `frag_keyframe`)
/// `frames --at T` gave the frame ffmpeg places 83 ms later. Here the first fragment lives in
/// the `moov` and the rest in `moof`s, as ffmpeg writes without `empty_moov`.
#[test]
fn frames_at_a_time_in_a_fragmented_file_is_ffmpegs_frame_at_that_time() {
    let path = asset("frag_moov_first.mp4");
    let expected = ffprobe_frames("frag_moov_first");
    let index = demux_file(&path).unwrap();
    assert!(index.fragmented);
    for (time_ns, want_ms) in [(625_000_000, 625), (3_625_000_000, 3625)] {
        let (_, pos) = expected
            .iter()
            .copied()
            .find(|&(t, _)| (t * 1000.0 - f64::from(want_ms)).abs() < 0.5)
            .unwrap();
        let frame = index.frames[index.frame_at(time_ns)];
        assert_eq!(frame.pts_ns / 1_000_000, i64::from(want_ms), "{frame:?}");
        assert_eq!(index.samples[frame.sample].offset, pos, "{frame:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = frames_at(&path, "0.625s", &out);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(out.join("000000625.png").exists(), "{output:?}");
}
