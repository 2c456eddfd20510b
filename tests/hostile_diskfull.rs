//! A full disk during every writing command (issue 30 floor: "disk full during every writing
//! command: the project is unchanged").
//!
//! Each command runs on a real filesystem that is full: a small tmpfs mounted in a private
//! mount namespace (`unshare -Urm`, or `unshare -m` when root; no root needed with user
//! namespaces), filled by a filler file to leave a few free bytes (0, 4 KiB, 16 KiB, 64 KiB,
//! 256 KiB; ingest at every 4 KiB to 16 KiB, one import at every 4 KiB to 96 KiB, the slow
//! training commands at fewer), so that the command fails at different points. A run with room
//! (no filler) first gives each command's whole output. Then, for each run that fails:
//! - the exit code is 2 and stderr names the problem (and never "panicked");
//! - the project is byte for byte as it was (no new, removed or changed file or folder, no
//!   temp or `.pending` file), apart from the outputs a command writes into `exports/`;
//! - outputs (an export, a results folder, frames, an adapter) are absent or whole.
//!
//! A run that fits exits 0, leaves no temp file and a project that opens. Every command must
//! fail for at least one of the sizes, so a command that stopped writing would be noticed.
//! The app's label and task edits (no CLI command makes them) run the same way, through this
//! test binary re-run inside the namespace; and the checks are shown to fail on shell scripts
//! standing in for careless commands. One shell script per test runs the whole sequence inside
//! one namespace. Without either kind of namespace the test says why on stderr and checks
//! nothing.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use taskmem::tasks::{Task, export};

/// Free bytes left on the full filesystem, one run each.
const FREE: [u64; 5] = [0, 4 << 10, 16 << 10, 64 << 10, 256 << 10];
/// For the slow commands (training): fewer sizes, the ones that stop them.
const SLOW_FREE: [u64; 3] = [0, 4 << 10, 16 << 10];
/// For ingest, whose entries are written one at a time: sizes that stop it part way.
const FREE_INGEST: [u64; 6] = [0, 4 << 10, 8 << 10, 12 << 10, 16 << 10, 64 << 10];
/// The tmpfs: room for a project, its outputs and the filler.
const TMPFS_SIZE: &str = "96m";

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn run_ok(args: &[&str]) {
    let out = common::taskmem(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}

/// What a command writes besides its project: a file or folder (relative to the mount) that
/// must be absent or whole when the command fails.
#[derive(Clone)]
struct Output {
    rel: PathBuf,
    /// Whole means byte for byte as with room; otherwise the same files (a results folder
    /// records how long it took).
    exact: bool,
}

struct Case {
    name: String,
    /// The prepared project copied in as `<mount>/p` first (`None`: the command starts
    /// without a project, and one it would create is an output).
    base: Option<PathBuf>,
    args: Vec<String>,
    outputs: Vec<Output>,
    /// Sizes for this command alone (a slow one runs at fewer).
    free: Option<Vec<u64>>,
    /// What runs instead of `taskmem` (this test binary, for the library's own writes), with
    /// environment variables for it.
    program: Option<(PathBuf, Vec<(String, String)>)>,
}

impl Case {
    fn new(name: &str, base: Option<&Path>, args: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            base: base.map(Path::to_path_buf),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            outputs: Vec::new(),
            free: None,
            program: None,
        }
    }

    fn free(mut self, free: &[u64]) -> Self {
        self.free = Some(free.to_vec());
        self
    }

    fn output(mut self, rel: &str, exact: bool) -> Self {
        self.outputs.push(Output {
            rel: PathBuf::from(rel),
            exact,
        });
        self
    }
}

/// Every file and folder below `dir`: relative path -> bytes (`None` for a folder).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).unwrap() {
            let path = item.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                stack.push(path);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn quote(arg: &str) -> String {
    assert!(!arg.contains('\''), "{arg}");
    format!("'{arg}'")
}

/// The script that runs every case with room, then at every size in [`FREE`], each in a fresh
/// copy of its project; results go to `results/<case>/<run>/`.
fn script(mount: &Path, results: &Path, cases: &[Case], free: &[u64]) -> String {
    let mnt = quote(&s(mount));
    let bin = quote(env!("CARGO_BIN_EXE_taskmem"));
    let mut text = format!(
        "set -u\nmount -t tmpfs -o size={TMPFS_SIZE} tmpfs {mnt} || exit 97\ncd {mnt} || exit 98\n"
    );
    for (c, case) in cases.iter().enumerate() {
        let free = case.free.as_deref().unwrap_or(free);
        let runs = std::iter::once(None).chain(free.iter().copied().map(Some));
        for (r, free) in runs.enumerate() {
            let res = quote(&s(&results.join(c.to_string()).join(r.to_string())));
            writeln!(text, "mkdir -p {res}").unwrap();
            writeln!(text, "find {mnt} -mindepth 1 -delete").unwrap();
            if let Some(base) = &case.base {
                writeln!(text, "cp -a {} {mnt}/p", quote(&s(base))).unwrap();
            }
            if let Some(free) = free {
                // Whole pages: tmpfs counts them.
                writeln!(
                    text,
                    "fill=$(( $(stat -f -c %a {mnt}) * $(stat -f -c %S {mnt}) - {free} ))\n\
                     if [ $fill -gt 0 ]; then fallocate -l $fill {mnt}/.filler || head -c $fill /dev/zero > {mnt}/.filler; fi"
                )
                .unwrap();
            }
            writeln!(text, "stat -f -c %a {mnt} > {res}/free_blocks").unwrap();
            let args: Vec<String> = case.args.iter().map(|a| quote(a)).collect();
            let (program, env) = match &case.program {
                Some((program, env)) => (
                    quote(&s(program)),
                    env.iter().fold(String::new(), |mut text, (k, v)| {
                        let _ = write!(text, "{k}={} ", quote(v));
                        text
                    }),
                ),
                None => (bin.clone(), String::new()),
            };
            writeln!(
                text,
                "start=$(date +%s%N); {env}RUST_LOG=warn {program} {} > {res}/stdout 2> {res}/stderr; echo $? > {res}/rc; echo $(( ($(date +%s%N) - start) / 1000000 )) > {res}/ms",
                args.join(" ")
            )
            .unwrap();
            writeln!(
                text,
                "rm -f {mnt}/.filler\nmkdir {res}/after && cp -a {mnt}/. {res}/after/"
            )
            .unwrap();
        }
    }
    text.push_str("exit 0\n");
    text
}

/// Runs `script` in a private mount namespace; `false` (with the reason on stderr) when no
/// namespace can be made here.
fn run_in_namespace(dir: &Path, script: &str) -> bool {
    let path = dir.join("run.sh");
    std::fs::write(&path, script).unwrap();
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut tries = vec![vec!["-Urm"]];
    if root_user {
        tries.push(vec!["-m"]);
    }
    let mut why = String::new();
    for flags in tries {
        match Command::new("unshare")
            .args(&flags)
            .arg("sh")
            .arg(&path)
            .output()
        {
            Ok(out) if out.status.success() => return true,
            Ok(out) => {
                let _ = write!(
                    why,
                    "unshare {}: exit {:?}: {}; ",
                    flags.join(" "),
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                // 97: no tmpfs could be mounted; 1: no namespace could be made. Anything else
                // is the script failing on its own: a failure, not a skip.
                assert!(matches!(out.status.code(), Some(1 | 97)), "{why}");
            }
            Err(e) => {
                let _ = write!(why, "unshare: {e}; ");
            }
        }
    }
    eprintln!(
        "skipped: no private mount namespace for a small full filesystem here ({why}); run as root or with user namespaces enabled"
    );
    false
}

/// Temp and side files a command must never leave behind.
fn leftovers(tree: &BTreeMap<PathBuf, Option<Vec<u8>>>) -> Vec<&PathBuf> {
    tree.keys()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            [".tmp", ".pending", ".partial"]
                .iter()
                .any(|x| name.ends_with(x))
        })
        .collect()
}

fn under<'a>(
    tree: &'a BTreeMap<PathBuf, Option<Vec<u8>>>,
    prefix: &'a Path,
) -> impl Iterator<Item = (&'a PathBuf, &'a Option<Vec<u8>>)> + 'a {
    tree.iter().filter(move |(p, _)| p.starts_with(prefix))
}

/// Whether `rel` in `after` is absent, or whole as in `reference`.
fn absent_or_whole(
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    reference: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    out: &Output,
) -> Result<(), String> {
    let got: BTreeMap<_, _> = under(after, &out.rel).collect();
    if got.is_empty() {
        return Ok(());
    }
    let want: BTreeMap<_, _> = under(reference, &out.rel).collect();
    let same = if out.exact {
        got == want
    } else {
        got.keys().eq(want.keys())
            && got
                .iter()
                .all(|(_, b)| b.as_ref().is_none_or(|b| !b.is_empty()))
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{} is there but not whole: {:?} (with room: {:?})",
            out.rel.display(),
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        ))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Checks every run of every case; returns the problems found (empty: all held).
fn check(dir: &Path, results: &Path, cases: &[Case], free: &[u64]) -> Vec<String> {
    let mut problems = Vec::new();
    for (c, case) in cases.iter().enumerate() {
        let free = case.free.as_deref().unwrap_or(free);
        let res = |r: usize| results.join(c.to_string()).join(r.to_string());
        let before = case.base.as_deref().map(snapshot).unwrap_or_default();
        let reference = snapshot(&res(0).join("after"));
        let rc0 = read(&res(0).join("rc"));
        if rc0.trim() != "0" {
            problems.push(format!(
                "{}: fails with room (exit {}): {}",
                case.name,
                rc0.trim(),
                read(&res(0).join("stderr"))
            ));
            continue;
        }
        let mut failed = 0;
        for (i, free) in free.iter().enumerate() {
            let r = res(i + 1);
            let rc = read(&r.join("rc")).trim().to_owned();
            let err = read(&r.join("stderr"));
            let after = snapshot(&r.join("after"));
            let what = format!(
                "{} with {free} bytes free ({} blocks): exit {rc}",
                case.name,
                read(&r.join("free_blocks")).trim()
            );
            let mut fail = |why: String| problems.push(format!("{what}: {why}\n  stderr: {err}"));
            if err.contains("panicked") {
                fail("panicked".to_owned());
            }
            for leftover in leftovers(&after) {
                fail(format!("left {} behind", leftover.display()));
            }
            // Nothing besides the project and the declared outputs.
            for path in after.keys() {
                let known = path.starts_with("p")
                    || case.outputs.iter().any(|o| {
                        path.starts_with(&o.rel)
                            || o.rel.starts_with(path)
                                && after.get(path).is_some_and(Option::is_none)
                    });
                if !known {
                    fail(format!("wrote {} beside the project", path.display()));
                }
            }
            match rc.as_str() {
                "0" => {
                    for out in &case.outputs {
                        let got: BTreeMap<_, _> = under(&after, &out.rel).collect();
                        let want: BTreeMap<_, _> = under(&reference, &out.rel).collect();
                        let whole = if out.exact {
                            got == want
                        } else {
                            got.keys().eq(want.keys())
                        };
                        if !whole {
                            fail(format!("exit 0 but {} is not whole", out.rel.display()));
                        }
                    }
                    let project = r.join("after/p");
                    if project.join("project.json").exists()
                        && let Err(e) = taskmem::project::Project::open(&project)
                    {
                        fail(format!("exit 0 but the project does not open: {e}"));
                    }
                }
                "2" => {
                    failed += 1;
                    if !err.contains("No space left on device") {
                        fail("the message does not say the disk is full".to_owned());
                    }
                    if !err.contains(&s(&dir.join("mnt"))) {
                        fail("the message names no file".to_owned());
                    }
                    let project: BTreeMap<PathBuf, Option<Vec<u8>>> = under(&after, Path::new("p"))
                        .filter(|(p, _)| !case.outputs.iter().any(|o| p.starts_with(&o.rel)))
                        .map(|(p, b)| (p.strip_prefix("p").unwrap().to_path_buf(), b.clone()))
                        .filter(|(p, _)| !p.as_os_str().is_empty())
                        .collect();
                    let was: BTreeMap<PathBuf, Option<Vec<u8>>> = before
                        .iter()
                        .filter(|(p, _)| {
                            !case
                                .outputs
                                .iter()
                                .any(|o| Path::new("p").join(p).starts_with(&o.rel))
                        })
                        .map(|(p, b)| (p.clone(), b.clone()))
                        .collect();
                    if case.base.is_none() {
                        if after.contains_key(Path::new("p")) {
                            fail("left a new project folder behind".to_owned());
                        }
                    } else if project != was {
                        let changed: std::collections::BTreeSet<_> = project
                            .keys()
                            .chain(was.keys())
                            .filter(|p| project.get(*p) != was.get(*p))
                            .collect();
                        fail(format!("the project changed: {changed:?}"));
                    }
                    for out in &case.outputs {
                        if let Err(e) = absent_or_whole(&after, &reference, out) {
                            fail(e);
                        }
                    }
                }
                _ => fail("exit code is neither 0 nor 2".to_owned()),
            }
        }
        eprintln!(
            "{} ({} ms with room):",
            case.name,
            read(&res(0).join("ms")).trim()
        );
        for (i, free) in free.iter().enumerate() {
            let err = read(&res(i + 1).join("stderr"));
            eprintln!(
                "  {free:>7} bytes free: exit {} {}",
                read(&res(i + 1).join("rc")).trim(),
                err.lines().last().unwrap_or_default()
            );
        }
        if failed == 0 {
            problems.push(format!(
                "{}: never failed, not even with 0 bytes free: the disk-full path was not exercised",
                case.name
            ));
        }
    }
    problems
}

/// Runs `cases` (built by `make` from the mount and the inputs folder) on full disks; the
/// problems found, or `None` when no namespace could be made here.
fn run_cases(
    name: &str,
    free: &[u64],
    make: impl FnOnce(&Path, &Path) -> Vec<Case>,
) -> Option<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mount = dir.join("mnt");
    let inputs = dir.join("in");
    let results = dir.join("results");
    std::fs::create_dir_all(&mount).unwrap();
    std::fs::create_dir_all(&inputs).unwrap();
    let cases = make(&mount, &inputs);
    let started = std::time::Instant::now();
    if !run_in_namespace(dir, &script(&mount, &results, &cases, free)) {
        return None;
    }
    eprintln!(
        "{name}: {} commands, up to {} runs each, in {:.1} s",
        cases.len(),
        free.len() + 1,
        started.elapsed().as_secs_f64()
    );
    Some(check(dir, &results, &cases, free))
}

/// Runs `cases` on full disks and fails on any problem found.
fn disk_full(name: &str, free: &[u64], make: impl FnOnce(&Path, &Path) -> Vec<Case>) {
    if let Some(problems) = run_cases(name, free, make) {
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// The checks themselves can fail: commands that misbehave only when the disk is full (shell
/// scripts standing in for a careless writer) are each caught, naming the command.
#[test]
fn the_checks_catch_what_a_careless_command_leaves_behind() {
    let mut names = Vec::new();
    let Some(problems) = run_cases("careless commands", &[0, 4 << 10], |mount, inputs| {
        let base = inputs.join("base");
        std::fs::create_dir_all(base.join("memory")).unwrap();
        std::fs::write(
            base.join("project.json"),
            b"{\"schema_version\": 1, \"name\": \"p\"}",
        )
        .unwrap();
        let mnt = s(mount);
        let full = format!("{mnt}/.filler");
        let fail = format!("echo \"error: {mnt}/p/x: No space left on device\" >&2; exit 2");
        let careless = [
            (
                "appends to the manifest",
                format!("printf x >> {mnt}/p/project.json; {fail}"),
            ),
            (
                "leaves a temp file",
                format!(": > {mnt}/p/project.json.tmp; {fail}"),
            ),
            ("leaves a folder", format!("mkdir {mnt}/p/adapters; {fail}")),
            (
                "writes beside the project",
                format!(": > {mnt}/stray; {fail}"),
            ),
            (
                "exits 1",
                "echo \"error: No space left on device\" >&2; exit 1".to_owned(),
            ),
            (
                "panics",
                format!("echo \"thread main panicked\" >&2; {fail}"),
            ),
            (
                "says nothing of the disk",
                format!("echo \"error: {mnt}/p/x: failed\" >&2; exit 2"),
            ),
            (
                "half an output",
                format!("mkdir -p {mnt}/out; echo half > {mnt}/out/a; {fail}"),
            ),
            ("never fails", "exit 0".to_owned()),
        ];
        careless
            .into_iter()
            .map(|(name, bad)| {
                names.push(name.to_owned());
                // With room (no filler) each writes its output whole and exits 0.
                let script = format!(
                    "if [ -f {full} ]; then {bad}; fi; mkdir -p {mnt}/out; echo whole > {mnt}/out/a; echo whole > {mnt}/out/b"
                );
                let mut case = Case::new(name, Some(&base), &["-c", &script]).output("out", true);
                case.program = Some((PathBuf::from("/bin/sh"), Vec::new()));
                case
            })
            .collect()
    }) else {
        return;
    };
    eprintln!("caught:\n{}", problems.join("\n"));
    for name in &names {
        assert!(
            problems.iter().any(|p| p.starts_with(name.as_str())),
            "{name} was not caught: {problems:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/// Tasks of `stream`, with text that does not compress away.
fn tasks(stream: &str, count: usize) -> Vec<Task> {
    (0..count)
        .map(|i| {
            let mut t = Task::authored(format!("t{i}"), stream, 1_000 * i as i64, "ann");
            t.text = format!(
                "What happens in {stream} before question {i}? ({:016x})",
                (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            );
            t.options = vec!["Red.".into(), "Blue.".into(), "Green.".into()];
            t.answer = "B".into();
            t.task_type = "Attribute Perception".into();
            t
        })
        .collect()
}

/// The project every case starts from: a world stream with its video, reference lane and
/// tasks, the demo's memory, more tasks, and an `exports/` folder.
fn base_project(inputs: &Path) -> PathBuf {
    let project = inputs.join("base");
    let world = root("datasets/world-tempo/test/world-tempo-test-00");
    run_ok(&["import", "world", &s(&world), "--project", &s(&project)]);
    run_ok(&[
        "import",
        "demo",
        &s(&common::asset("taskmem_demo_memories.json")),
        "--project",
        &s(&project),
    ]);
    let file = inputs.join("base_tasks.jsonl");
    std::fs::write(&file, export::to_jsonl(&tasks("world-tempo-test-00", 40))).unwrap();
    run_ok(&[
        "import",
        "tasks",
        &s(&file),
        "--format",
        "jsonl",
        "--project",
        &s(&project),
    ]);
    std::fs::create_dir_all(project.join("exports")).unwrap();
    project
}

// ---------------------------------------------------------------------------------------------
// The commands.

#[test]
fn disk_full_during_imports_leaves_the_project_as_it_was() {
    disk_full("imports", &FREE, |mount, inputs| {
        let base = base_project(inputs);
        let p = s(&mount.join("p"));
        let demo = s(&common::asset("taskmem_demo_memories.json"));
        let egorag = inputs.join("captions.jsonl");
        common::write_captions(&egorag, 300);
        let output = inputs.join("taskmem_output");
        std::fs::create_dir_all(&output).unwrap();
        let mut episodic = serde_json::Map::new();
        for k in 0..120 {
            episodic.insert(
                k.to_string(),
                format!("clip {k}: a person sorts red and blue cups on the shelf").into(),
            );
        }
        std::fs::write(
            output.join("episodic_general.json"),
            serde_json::Value::Object(episodic).to_string(),
        )
        .unwrap();
        let many = tasks("other", 300);
        let jsonl = inputs.join("tasks.jsonl");
        std::fs::write(&jsonl, export::to_jsonl(&many)).unwrap();
        let csv = inputs.join("tasks.csv");
        std::fs::write(&csv, export::to_csv(&many)).unwrap();
        let parquet = inputs.join("tasks.parquet");
        std::fs::write(&parquet, export::to_parquet(&many).unwrap()).unwrap();
        let lines = inputs.join("other.txt");
        std::fs::write(&lines, export::to_lines(&many, None)).unwrap();
        let world = s(&root("datasets/world-mme/test/world-mme-test-00"));
        let base = Some(base.as_path());
        let tasks_case = |name: &str, file: &Path, format: &str| {
            Case::new(
                name,
                base,
                &[
                    "import",
                    "tasks",
                    &s(file),
                    "--format",
                    format,
                    "--project",
                    &p,
                ],
            )
        };
        vec![
            Case::new(
                "import demo",
                base,
                &["import", "demo", &demo, "--project", &p],
            ),
            Case::new(
                "import demo (new project)",
                None,
                &["import", "demo", &demo, "--project", &p],
            )
            .output("p", false),
            Case::new(
                "import world",
                base,
                &["import", "world", &world, "--project", &p],
            ),
            // Every page from none to 96 KiB: each point where an import can stop (its lane's
            // side file, the task log's, the manifest's commit and the rewrite after it).
            Case::new(
                "import world (every 4 KiB)",
                base,
                &["import", "world", &world, "--project", &p],
            )
            .free(&(0..=24).map(|k| k << 12).collect::<Vec<u64>>()),
            Case::new(
                "import egorag",
                base,
                &["import", "egorag", &s(&egorag), "--project", &p],
            ),
            Case::new(
                "import taskmem-output",
                base,
                &[
                    "import",
                    "taskmem-output",
                    &s(&output),
                    "--project",
                    &p,
                    "--stream",
                    "world-tempo-test-00",
                ],
            ),
            tasks_case("import tasks jsonl", &jsonl, "jsonl"),
            tasks_case("import tasks csv", &csv, "csv"),
            tasks_case("import tasks parquet", &parquet, "parquet"),
            tasks_case("import tasks lines", &lines, "lines"),
            tasks_case(
                "import tasks videomme",
                &common::asset("tasks/videomme_flat_sample.json"),
                "videomme",
            ),
            tasks_case(
                "import tasks egotempo",
                &common::asset("tasks/egotempo_openQA.json"),
                "egotempo",
            ),
            tasks_case(
                "import tasks m3bench",
                &common::asset("tasks/m3bench_robot.json"),
                "m3bench",
            ),
        ]
    });
}

#[test]
fn disk_full_during_ingest_leaves_the_project_as_it_was() {
    disk_full("ingest", &FREE_INGEST, |mount, inputs| {
        let base = base_project(inputs);
        let base = Some(base.as_path());
        // A tiny model: the same writes as the shipped one, in a fraction of the time.
        let model = common::tiny_model(inputs, "model");
        let model = s(&model);
        let p = s(&mount.join("p"));
        let video = |name: &str| s(&root(&format!("datasets/{name}/video.mp4")));
        let tempo = video("world-tempo/test/world-tempo-test-00");
        vec![
            Case::new(
                "ingest (a new lane of a known stream)",
                base,
                &[
                    "ingest",
                    &tempo,
                    "--project",
                    &p,
                    "--model",
                    &model,
                    "--lane",
                    "fresh",
                ],
            ),
            Case::new(
                "ingest (a new stream)",
                base,
                &[
                    "ingest",
                    &video("world-mme/test/world-mme-test-00"),
                    "--project",
                    &p,
                    "--model",
                    &model,
                ],
            ),
            Case::new(
                "ingest (a new project)",
                None,
                &["ingest", &tempo, "--project", &p, "--model", &model],
            )
            .output("p", false),
            Case::new(
                "ingest (a batch)",
                base,
                &[
                    "ingest",
                    &video("world-tempo/test/world-tempo-test-01"),
                    &video("world-tempo/test/world-tempo-test-02"),
                    "--project",
                    &p,
                    "--model",
                    &model,
                    "--lane",
                    "batch",
                    "--concurrency",
                    "2",
                ],
            ),
        ]
    });
}

#[test]
fn disk_full_during_exports_leaves_no_half_written_file() {
    disk_full("exports", &FREE, |mount, inputs| {
        let base = base_project(inputs);
        let base = Some(base.as_path());
        let p = s(&mount.join("p"));
        // `export WHAT --project p --format FORMAT --out p/exports/NAME [EXTRA...]`.
        let export = |what: &str, format: &str, name: &str, extra: &[&str]| {
            let out = format!("{p}/exports/{name}");
            let mut args = vec![
                "export",
                what,
                "--project",
                &p,
                "--format",
                format,
                "--out",
                &out,
            ];
            args.extend_from_slice(extra);
            Case::new(&format!("export {what} {format}"), base, &args)
                .output(&format!("p/exports/{name}"), true)
        };
        let memory =
            |format: &str, name: &str, extra: &[&str]| export("memory", format, name, extra);
        let tasks = |format: &str, name: &str| export("tasks", format, name, &[]);
        vec![
            memory("jsonl", "memory.jsonl", &[]),
            memory("parquet", "memory.parquet", &[]),
            memory("qa-text", "memory.txt", &[]),
            memory(
                "taskmem",
                "episodic_reference.json",
                &["--stream", "world-tempo-test-00", "--lane", "reference"],
            ),
            tasks("jsonl", "tasks.jsonl"),
            tasks("parquet", "tasks.parquet"),
            tasks("csv", "tasks.csv"),
            tasks("lines", "tasks.txt"),
        ]
    });
}

#[test]
fn disk_full_during_eval_and_pictures_leaves_no_half_written_output() {
    disk_full(
        "eval, world generate, frames, screenshot, chart",
        &FREE,
        |mount, inputs| {
            let base = base_project(inputs);
            let results = inputs.join("results");
            run_ok(&["eval", "--project", &s(&base), "--out", &s(&results)]);
            let base = Some(base.as_path());
            let p = s(&mount.join("p"));
            let m = |rel: &str| s(&mount.join(rel));
            let tempo = s(&root(
                "datasets/world-tempo/test/world-tempo-test-00/video.mp4",
            ));
            vec![
                Case::new(
                    "eval --project",
                    base,
                    &["eval", "--project", &p, "--out", &m("eval")],
                )
                .output("eval", false),
                Case::new(
                    "eval into the project's exports",
                    base,
                    &[
                        "eval",
                        "--project",
                        &p,
                        "--out",
                        &format!("{p}/exports/eval"),
                    ],
                )
                .output("p/exports/eval", false),
                Case::new(
                    "world generate (a stream folder)",
                    None,
                    &[
                        "world",
                        "generate",
                        "--minutes",
                        "0.5",
                        "--out",
                        &m("world/stream"),
                    ],
                )
                .output("world", true),
                Case::new(
                    "frames",
                    None,
                    &[
                        "frames",
                        &tempo,
                        "--at",
                        "1s,30s,61s,95s",
                        "--out",
                        &m("frames"),
                    ],
                )
                .output("frames", true),
                Case::new(
                    "screenshot",
                    base,
                    &[
                        "screenshot",
                        "--project",
                        &p,
                        "--out",
                        &m("shots/timeline.png"),
                    ],
                )
                .output("shots", false)
                // The picture is larger than every size but the last: fewer runs.
                .free(&[0, 16 << 10, 256 << 10]),
                Case::new(
                    "chart",
                    None,
                    &["chart", &s(&results), "--out", &m("chart.png")],
                )
                .output("chart.png", true),
            ]
        },
    );
}

#[test]
fn disk_full_during_training_leaves_no_half_written_model_or_adapter() {
    disk_full(
        "train phase2, export pairs, train phase1",
        &SLOW_FREE,
        |mount, inputs| {
            let base = base_project(inputs);
            let base = Some(base.as_path());
            let p = s(&mount.join("p"));
            let m = |rel: &str| s(&mount.join(rel));
            // Small suites: the shipped ones generate hours of video on demand.
            let mme = s(&common::suites::mme_small());
            let tempo = common::suites::tempo_small(inputs);
            let warmup = s(&root("assets/policy/warmup"));
            let adapter = format!("{p}/adapters/attr.safetensors");
            vec![
                Case::new(
                    "train phase2 (an adapter into the project)",
                    base,
                    &[
                        "train",
                        "phase2",
                        "--suite",
                        &mme,
                        "--type",
                        "Attribute Perception",
                        "--max-clips",
                        "3",
                        "--samples",
                        "2",
                        "--steps",
                        "1",
                        "--model",
                        &warmup,
                        "--out",
                        &adapter,
                    ],
                )
                .output("p/adapters", false)
                .free(&SLOW_FREE),
                Case::new(
                    "export pairs",
                    base,
                    &[
                        "export",
                        "pairs",
                        "--suite",
                        &mme,
                        "--type",
                        "Attribute Perception",
                        "--max-clips",
                        "3",
                        "--samples",
                        "2",
                        "--model",
                        &warmup,
                        "--out",
                        &format!("{p}/exports/pairs.parquet"),
                    ],
                )
                .output("p/exports/pairs.parquet", true)
                .free(&SLOW_FREE),
                Case::new(
                    "train phase1 (a model folder)",
                    None,
                    &[
                        "train",
                        "phase1",
                        "--suite",
                        &s(&tempo),
                        "--out",
                        &m("model"),
                        "--size",
                        "tiny",
                        "--warmup-steps",
                        "2",
                        "--steps",
                        "1",
                        "--extra-streams",
                        "0",
                    ],
                )
                .output("model", false)
                .free(&SLOW_FREE),
            ]
        },
    );
}

/// The edit the test binary makes when re-run inside the namespace (`kind:project`).
const EDIT_VAR: &str = "TASKMEM_DISKFULL_EDIT";

/// Makes one of the app's edits to the project (no CLI command makes them): exit 0 when it
/// was written, 2 with the error on stderr when not, as the CLI would.
fn make_edit(spec: &str) -> ! {
    use taskmem::memory::labels::LabelEvent;
    use taskmem::project::{MemoryAppender, Project};
    use taskmem::tasks::TaskEvent;
    let (kind, dir) = spec.split_once(':').unwrap();
    let dir = Path::new(dir);
    let mut project = Project::open(dir).unwrap();
    // Longer than a page, so a full disk stops the write part way.
    let long = "a red cup on the shelf; ".repeat(400);
    let entry = project.memory.entries()[0].clone();
    let result = match kind {
        "label" => project.record_label(&LabelEvent::Edit {
            entry: entry.id,
            text: Some(long),
        }),
        "task" => {
            let mut task = tasks("world-tempo-test-00", 1).remove(0);
            task.text = long;
            project.record_tasks(&[TaskEvent::Put {
                task: Box::new(task),
            }])
        }
        "compact" => project.compact_tasks(),
        "append" => {
            let mut entry = entry;
            "live".clone_into(&mut entry.lane);
            entry.text = long;
            MemoryAppender::open(dir).and_then(|mut appender| appender.append(&entry))
        }
        other => panic!("unknown edit {other}"),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2)
        }
    }
}

#[test]
fn disk_full_during_label_and_task_edits_leaves_the_project_as_it_was() {
    if let Ok(spec) = std::env::var(EDIT_VAR) {
        make_edit(&spec);
    }
    disk_full("label and task edits", &FREE, |mount, inputs| {
        let base = base_project(inputs);
        // A few labels already, as a labelled project has.
        {
            use taskmem::memory::labels::LabelEvent;
            let mut project = taskmem::project::Project::open(&base).unwrap();
            let ids: Vec<u64> = project
                .memory
                .entries()
                .iter()
                .take(3)
                .map(|e| e.id)
                .collect();
            for id in ids {
                project
                    .record_label(&LabelEvent::Edit {
                        entry: id,
                        text: Some(format!("edited {id}")),
                    })
                    .unwrap();
            }
        }
        let exe = std::env::current_exe().unwrap();
        let p = s(&mount.join("p"));
        ["label", "task", "compact", "append"]
            .iter()
            .map(|kind| {
                let mut case = Case::new(
                    &format!("{kind} (the app's edit)"),
                    Some(&base),
                    &[
                        "--exact",
                        "disk_full_during_label_and_task_edits_leaves_the_project_as_it_was",
                        "--nocapture",
                        "--test-threads=1",
                    ],
                );
                case.program = Some((
                    exe.clone(),
                    vec![(EDIT_VAR.to_owned(), format!("{kind}:{p}"))],
                ));
                case
            })
            .collect()
    });
}
