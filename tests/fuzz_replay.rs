//! The fuzz corpus on the stable toolchain: every seed of `fuzz/seeds.txt`, every file under
//! `fuzz/corpus/<target>/` (crashes the fuzzers found are added there as they are fixed), and a
//! fixed number of deterministic mutations of each small seed, fed to the same entry points the
//! cargo-fuzz targets call (`taskmem::fuzzing`). A panic, or an input that does not return
//! within the hang guard, fails the test and names the input, which is saved under the target
//! folder's tmp directory so that it can be added to the corpus.
//!
//! An input that makes a reader abort the process (an allocation of gigabytes) ends this test
//! without a message; the input that caused it is then `fuzz_replay_current.bin` in that folder.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use taskmem::fuzzing::{Target, run};

/// Far above any reader's normal time on these inputs (milliseconds), far below "forever".
const HANG_GUARD: Duration = Duration::from_secs(20);
/// Seeds larger than this are replayed but not mutated, to keep the test short.
const MUTATE_MAX_BYTES: usize = 64 * 1024;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn target_named(name: &str) -> Target {
    Target::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("fuzz/seeds.txt: unknown target {name}"))
}

/// (target, seed file) pairs from the seed list and the corpus folders.
fn seeds() -> Vec<(Target, PathBuf)> {
    let list = std::fs::read_to_string(repo().join("fuzz/seeds.txt")).expect("fuzz/seeds.txt");
    let mut seeds: Vec<(Target, PathBuf)> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, path) = l.split_once(' ').expect("`target path`");
            (target_named(name), repo().join(path.trim()))
        })
        .collect();
    for target in Target::ALL {
        let dir = repo().join("fuzz/corpus").join(target.name());
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = listing.map(|e| e.expect("corpus entry").path()).collect();
        files.sort();
        seeds.extend(files.into_iter().map(|p| (target, p)));
    }
    seeds
}

/// A small deterministic generator (xorshift64*): the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).expect("fits")
    }
}

/// Offsets of the size fields of MP4 boxes, walking into the usual containers.
fn box_offsets(data: &[u8], start: usize, end: usize, out: &mut Vec<usize>) {
    const CONTAINERS: [&[u8; 4]; 11] = [
        b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof", b"traf",
        b"udta",
    ];
    let mut at = start;
    while at + 8 <= end {
        out.push(at);
        let size = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = &data[at + 4..at + 8];
        if size < 8 || at + size > end {
            break;
        }
        if CONTAINERS.iter().any(|c| c.as_slice() == kind) {
            box_offsets(data, at + 8, at + size, out);
        }
        at += size;
    }
}

const INTERESTING: [u32; 9] = [
    0,
    1,
    7,
    8,
    0x7f,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

fn mutate(seed: &[u8], boxes: &[usize], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    if data.is_empty() {
        return vec![0; rng.below(16)];
    }
    match rng.below(6) {
        // A box size (MP4) or any 32-bit field nudged or set to an edge value.
        0 | 1 => {
            let at = if boxes.is_empty() {
                rng.below(data.len().saturating_sub(3))
            } else {
                boxes[rng.below(boxes.len())]
            };
            if at + 4 <= data.len() {
                let old = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"));
                let new = if rng.below(2) == 0 {
                    INTERESTING[rng.below(INTERESTING.len())]
                } else {
                    old.wrapping_add(u32::try_from(rng.below(96)).expect("small"))
                        .wrapping_sub(48)
                };
                data[at..at + 4].copy_from_slice(&new.to_be_bytes());
            }
        }
        // A few random bytes.
        2 => {
            for _ in 0..=rng.below(4) {
                let at = rng.below(data.len());
                data[at] = u8::try_from(rng.below(256)).expect("byte");
            }
        }
        // Cut short.
        3 => data.truncate(rng.below(data.len())),
        // A stretch repeated (longer lists, nested brackets, doubled records).
        4 => {
            let from = rng.below(data.len());
            let len = rng.below((data.len() - from).min(4096)) + 1;
            let chunk = data[from..from + len].to_vec();
            let at = rng.below(data.len());
            data.splice(at..at, chunk);
        }
        // Digits made huge or negative (times, ids, counts, config sizes).
        _ => {
            let digits: Vec<usize> = (0..data.len())
                .filter(|&i| data[i].is_ascii_digit())
                .collect();
            if !digits.is_empty() {
                let at = digits[rng.below(digits.len())];
                let with: &[u8] = [
                    b"9223372036854775807".as_slice(),
                    b"-1",
                    b"1e308",
                    b"NaN",
                    b"0",
                    b"99999999",
                    b"1000000000",
                ][rng.below(7)];
                data.splice(at..=at, with.iter().copied());
            }
        }
    }
    data
}

fn mutations_for(target: Target) -> usize {
    match target {
        Target::Mp4 | Target::Tasks | Target::Script => 200,
        Target::Project | Target::Memory => 120,
        Target::H264 => 40,
        // A model config loads the shipped weights each time.
        Target::Model => 60,
    }
}

/// Runs every input on one worker thread; an input that outlives the guard is a hang.
fn replay(target: Target, seed: &Path, inputs: Vec<Vec<u8>>) -> Result<(), String> {
    let (done_tx, done_rx) = mpsc::sync_channel::<Result<(), usize>>(1);
    let shared = std::sync::Arc::new(inputs);
    let worker_inputs = shared.clone();
    let current = tmp().join("fuzz_replay_current.bin");
    std::thread::Builder::new()
        .name(format!("replay-{}", target.name()))
        .spawn(move || {
            for (i, input) in worker_inputs.iter().enumerate() {
                let _ = std::fs::write(&current, input);
                let outcome = std::panic::catch_unwind(|| run(target, input));
                if done_tx.send(outcome.map_err(|_| i)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn the replay worker");
    for i in 0..shared.len() {
        let failure = match done_rx.recv_timeout(HANG_GUARD) {
            Ok(Ok(())) => continue,
            Ok(Err(_)) => "panicked",
            Err(_) => "did not return within the hang guard",
        };
        let saved = tmp().join(format!(
            "fuzz-{}-{}-{i}.bin",
            target.name(),
            seed.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        std::fs::write(&saved, &shared[i]).expect("save the failing input");
        return Err(format!(
            "{}: {} input {i} (0 = the seed itself) {failure}; saved as {}",
            target.name(),
            seed.display(),
            saved.display()
        ));
    }
    Ok(())
}

#[test]
fn every_reader_returns_on_the_corpus_and_its_mutations() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (target, seed_path) in seeds() {
        let seed = std::fs::read(&seed_path)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", seed_path.display()));
        let mut inputs = vec![seed.clone()];
        if seed.len() <= MUTATE_MAX_BYTES {
            let mut boxes = Vec::new();
            if matches!(target, Target::Mp4 | Target::H264) {
                box_offsets(&seed, 0, seed.len(), &mut boxes);
            }
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.len() as u64);
            inputs.extend((0..mutations_for(target)).map(|_| mutate(&seed, &boxes, &mut rng)));
        }
        ran += inputs.len();
        if let Err(failure) = replay(target, &seed_path, inputs) {
            failures.push(failure);
        }
    }
    assert!(
        ran > 1000,
        "only {ran} inputs replayed: is fuzz/seeds.txt empty?"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
