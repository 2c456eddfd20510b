//! Small suites for the tests that run a whole split (`taskmem eval --suite`, `train phase1`,
//! `train phase2`, `export pairs`): the shipped suites generate most of their videos on demand
//! (hours of video, `world::suite::ensure`), so these tests run on a suite folder written here
//! instead, whose every stream is already whole and is only checked, never generated.
//!
//! - [`committed`]: a subset of a shipped suite's streams whose videos the repository holds,
//!   copied with their manifests;
//! - [`generated`]: short streams generated here at fixed seeds with a shipped suite's spec,
//!   named as the shipped streams are (`train/world-mme-train-00`);
//! - [`shared_generated`]: the same, generated once per test process.
//!
//! Each writes a suite.json that lists its streams with their questions counted from the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use taskmem::world::suite::{StreamPlan, SuiteManifest};
use taskmem::world::{GENERATOR_VERSION, SuiteSpec, generate};

/// The shipped datasets/, or `$TASKMEM_TEST_DATASETS` (a regeneration checked before it is
/// copied in) where it holds the suite.
pub fn datasets(suite: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("TASKMEM_TEST_DATASETS").map(PathBuf::from)
        && dir.join(suite).join("suite.json").is_file()
    {
        return dir.join(suite);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(suite)
}

/// A suite folder `dir/<suite>` with the streams `folders` (`test/world-tempo-test-00`) of the
/// shipped suite `suite`, each copied whole (its video included, which must be there: one the
/// repository holds), listed in suite.json with the split the shipped suite gives it.
pub fn committed(dir: &Path, suite: &str, folders: &[&str]) -> PathBuf {
    let from = datasets(suite);
    let shipped = taskmem::world::suite::read_manifest(&from).unwrap();
    let out = dir.join(suite);
    let mut streams = Vec::new();
    for folder in folders {
        let plan = shipped
            .streams
            .iter()
            .find(|s| s.folder == *folder)
            .unwrap_or_else(|| panic!("{suite}/suite.json lists no stream {folder}"))
            .clone();
        let src = from.join(folder);
        assert!(
            src.join("video.mp4").is_file(),
            "{}: no video (not one the repository holds)",
            src.display()
        );
        let to = out.join(folder);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        streams.push(plan);
    }
    write_suite_json(&out, suite, &shipped.version, shipped.spec, streams);
    out
}

/// A suite folder `dir/<suite>` of streams generated here with the shipped suite's spec: per
/// `(split, minutes)`, a stream `<split>/<suite>-<split>-NN` at a fixed seed of its own.
pub fn generated(dir: &Path, suite: &str, streams: &[(&str, f64)]) -> PathBuf {
    let spec = SuiteSpec::named(suite).unwrap();
    let out = dir.join(suite);
    let mut per_split: BTreeMap<&str, usize> = BTreeMap::new();
    let plans: Vec<StreamPlan> = streams
        .iter()
        .enumerate()
        .map(|(i, (split, minutes))| {
            let n = per_split.entry(split).or_insert(0);
            let folder = format!("{split}/{suite}-{split}-{n:02}");
            *n += 1;
            StreamPlan {
                folder,
                split: (*split).to_owned(),
                seed: 90_000 + i as u64,
                duration_ms: (minutes * 60_000.0).round() as i64,
                committed: false,
            }
        })
        .collect();
    std::thread::scope(|scope| {
        for plan in &plans {
            let (spec, out) = (&spec, &out);
            scope.spawn(move || {
                generate(
                    spec,
                    plan.seed,
                    plan.duration_ms,
                    &out.join(&plan.folder),
                    &mut |_, _| {},
                )
                .unwrap();
            });
        }
    });
    write_suite_json(&out, suite, GENERATOR_VERSION, spec, plans);
    out
}

/// [`generated`], once per test process: under the target's temporary folder, in a folder
/// named by the test binary and `label`, made anew by the first test that asks for it.
pub fn shared_generated(label: &str, suite: &str, streams: &[(&str, f64)]) -> PathBuf {
    static MADE: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let mut made = MADE
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = made.get(label) {
        return path.clone();
    }
    let binary = std::env::current_exe().unwrap();
    let binary = binary.file_stem().unwrap().to_string_lossy();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("suites")
        .join(format!("{binary}-{label}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = generated(&dir, suite, streams);
    made.insert(label.to_owned(), path.clone());
    path
}

/// The small world-mme suite of the Phase Two tests (`train phase2`, `export pairs`, the
/// judges): two training streams of 4 minutes and a test stream of 2, generated once per test
/// process.
pub fn mme_small() -> PathBuf {
    shared_generated(
        "mme",
        "world-mme",
        &[("train", 4.0), ("train", 4.0), ("test", 2.0)],
    )
}

/// The streams of world-tempo whose videos the repository holds: one training stream and
/// three test streams.
pub const TEMPO_COMMITTED: [&str; 4] = [
    "train/world-tempo-train-00",
    "test/world-tempo-test-00",
    "test/world-tempo-test-01",
    "test/world-tempo-test-02",
];

/// World-tempo with only [`TEMPO_COMMITTED`], copied into `dir`: what `taskmem eval` and
/// `train phase1` run on without generating anything.
pub fn tempo_small(dir: &Path) -> PathBuf {
    committed(dir, "world-tempo", &TEMPO_COMMITTED)
}

/// [`tempo_small`] with its last test stream listed as the validation split: what a v2
/// `train phase1` (which judges on validation) runs on without generating anything.
pub fn tempo_small_with_validation(dir: &Path) -> PathBuf {
    let suite = tempo_small(dir);
    let path = suite.join("suite.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for stream in json["streams"].as_array_mut().unwrap() {
        if stream["folder"] == "test/world-tempo-test-02" {
            stream["split"] = "validation".into();
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    suite
}

/// Writes `out/suite.json` listing `streams`, with the questions their tasks.jsonl hold.
fn write_suite_json(
    out: &Path,
    suite: &str,
    version: &str,
    spec: SuiteSpec,
    streams: Vec<StreamPlan>,
) {
    let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_split: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut questions = 0;
    for stream in &streams {
        for q in split_questions(out, stream) {
            *per_type.entry(q.clone()).or_insert(0) += 1;
            *per_split
                .entry(stream.split.clone())
                .or_default()
                .entry(q)
                .or_insert(0) += 1;
            questions += 1;
        }
    }
    let manifest = SuiteManifest {
        suite: suite.to_owned(),
        version: version.to_owned(),
        spec,
        minutes: streams
            .iter()
            .map(|s| s.duration_ms as f64 / 60_000.0)
            .sum(),
        streams,
        questions_per_type: per_type,
        questions_per_split: per_split,
        questions,
        bytes: 0,
        committed_bytes: 0,
    };
    std::fs::write(
        out.join("suite.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// The task types of a stream's questions, one per question.
fn split_questions(suite: &Path, stream: &StreamPlan) -> Vec<String> {
    taskmem::world::questions::load_tasks(&suite.join(&stream.folder).join("tasks.jsonl"))
        .unwrap()
        .into_iter()
        .map(|q| q.task_type)
        .collect()
}

/// The questions of `split` in the suite at `suite`, in suite order.
pub fn questions(suite: &Path, split: &str) -> Vec<taskmem::world::questions::WorldQuestion> {
    let manifest = taskmem::world::suite::read_manifest(suite).unwrap();
    let mut out = Vec::new();
    for stream in manifest.streams.iter().filter(|s| s.split == split) {
        out.extend(
            taskmem::world::questions::load_tasks(&suite.join(&stream.folder).join("tasks.jsonl"))
                .unwrap(),
        );
    }
    out
}

/// The clips (truth.jsonl lines) of `split` in the suite at `suite`.
pub fn clips(suite: &Path, split: &str) -> usize {
    let manifest = taskmem::world::suite::read_manifest(suite).unwrap();
    manifest
        .streams
        .iter()
        .filter(|s| s.split == split)
        .map(|s| {
            std::fs::read_to_string(suite.join(&s.folder).join("truth.jsonl"))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        })
        .sum()
}
