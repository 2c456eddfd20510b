//! The bundled demos and the presentation script: the demo project built from a shipped world
//! stream (its video, questions and reference descriptions; the policy's lanes are written live
//! when it plays), the memory-only demo of the TaskMem project page's memories, and the plain-text
//! script a presenter edits (`assets/demo/presentation.txt`). No egui: the app's presentation
//! mode runs the parsed steps.
//!
//! A demo is rebuilt each time it opens, but people work in it (it is what opens by default),
//! so a rebuild never deletes their work: the builder records every file it wrote with its
//! size and checksum in the demo's marker, and a demo folder is rebuilt in place only while it
//! holds nothing but those files and the lanes the app memorizes live. Anything else (a task
//! authored or imported, a verdict, an adapter, an evaluation run, any file added or changed)
//! keeps the folder as it is, and the fresh demo is built beside it (`demo-2`, ...).
//! [`save_copy`] keeps a demo under a name of its own, as an ordinary project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::memory::import;
use crate::project::{Manifest, Project};

/// The world stream the demo project is built from.
pub const DEMO_STREAM: &str = "datasets/world-mme/test/world-mme-test-00";
/// The TaskMem project page's memories (the memory-only demo).
pub const DEMO_MEMORIES: &str = "assets/demo/taskmem_demo_memories.json";
/// The presentation script shipped with the app.
pub const DEMO_SCRIPT: &str = "assets/demo/presentation.txt";
/// A file in a demo project saying it was built here, and what the builder wrote (a
/// [`Built`]); a demo that still holds only that may be rebuilt.
const MARKER: &str = ".taskmem-demo";
/// The lane the app memorizes live with the built-in policy (as `app::memorize::LIVE_LANE`,
/// which this module cannot name: the app depends on it). Were they ever to differ, that lane
/// would count as user work: the demo is kept, never lost.
const LIVE_LANE: &str = "builtin";
/// How many `demo-N` folders are tried beside a demo that holds user work.
const MAX_BESIDE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error("{path}: line {line}: {message}")]
    Script {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: no room for a fresh demo beside the ones holding work ({MAX_BESIDE} tried)", path.display())]
    NoRoom { path: PathBuf },
    #[error("{}: work was saved in it while the demo was being built; it is kept as it is, open the demo again", path.display())]
    WorkedIn { path: PathBuf },
    #[error("{}: not a demo project (it has no {MARKER} file)", path.display())]
    NotADemo { path: PathBuf },
    #[error("{}: already exists and is not empty; choose a new folder", path.display())]
    TargetExists { path: PathBuf },
    #[error("{}: {what} cannot be copied (only plain files and folders are)", path.display())]
    NotCopied { path: PathBuf, what: &'static str },
    #[error("{}: the copy would be inside the demo itself; choose a folder outside it", path.display())]
    CopyInside { path: PathBuf },
}

/// The marker's content: what the builder wrote.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Built {
    note: String,
    /// Each file the builder wrote (relative, `/`-separated) and its sum.
    files: BTreeMap<String, Sum>,
    /// The lanes it built (later lanes that are not these were memorized live, or added).
    lanes: Vec<String>,
}

/// A file's size and CRC-32: enough to tell an edited file from the one the builder wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Sum {
    len: u64,
    crc32: u32,
}

impl Sum {
    fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            crc32: crate::fsutil::crc32(bytes),
        }
    }
}

/// What is in a demo's folder before a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No such folder: the demo is built there.
    Nothing,
    /// A demo holding only what the builder and live memorizing wrote: rebuilt in place.
    Untouched,
    /// A demo that holds more (each item names what, in plain words): kept as it is.
    Changed(Vec<String>),
    /// A folder that is not a demo: never touched.
    Foreign,
}

/// A demo built and where: `kept` is the demo folder left as it was, with what it holds,
/// when the fresh one had to go beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub dir: PathBuf,
    pub kept: Option<(PathBuf, Vec<String>)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A shipped file, found beside the crate's sources (a clone's `cargo run`) or beside the
/// executable (an installed copy with `assets/` and `datasets/` next to it).
#[must_use]
pub fn shipped(relative: &str) -> PathBuf {
    let in_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if in_crate.exists() {
        return in_crate;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(relative)))
        .filter(|p| p.exists())
        .unwrap_or(in_crate)
}

/// Where the app keeps what it makes for its user (the demo projects): `$TASKMEM_DATA_DIR`,
/// else `$XDG_DATA_HOME/taskmem-studio`, else `~/.local/share/taskmem-studio`, else a temp folder.
#[must_use]
pub fn data_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("TASKMEM_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_DATA_HOME") {
        return PathBuf::from(dir).join("taskmem-studio");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".local/share/taskmem-studio");
    }
    std::env::temp_dir().join("taskmem-studio")
}

/// Which demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    /// A world stream: video, questions, reference lane; the policy writes its lanes live.
    Stream,
    /// The TaskMem project page's memories, with no video.
    Memories,
}

impl Demo {
    #[must_use]
    pub fn folder_name(self) -> &'static str {
        match self {
            Self::Stream => "demo",
            Self::Memories => "demo-memories",
        }
    }
}

/// Builds the demo project afresh and returns its folder: in `parent`'s demo folder when
/// that holds no user work (see [`inspect`]), else beside it in the first `demo-N` that is free
/// or holds no user work either, so that memorizing live always has clips to write and
/// nobody's work is deleted. Each build goes to a temporary folder renamed into place, so an
/// interrupted build leaves no half project.
///
/// # Errors
/// When the shipped files cannot be read or the folder cannot be written.
pub fn build(demo: Demo, parent: &Path) -> Result<Opened, DemoError> {
    let source = match demo {
        Demo::Stream => shipped(DEMO_STREAM),
        Demo::Memories => shipped(DEMO_MEMORIES),
    };
    build_from(demo, &source, parent)
}

/// [`build`] from `source` (a world stream folder, or a TaskMem demo file).
fn build_from(demo: Demo, source: &Path, parent: &Path) -> Result<Opened, DemoError> {
    let home = parent.join(demo.folder_name());
    let kept = match inspect(&home) {
        Found::Nothing | Found::Untouched => None,
        Found::Changed(changes) => Some((home.clone(), changes)),
        Found::Foreign => Some((
            home.clone(),
            vec!["a folder that is not a demo project".to_owned()],
        )),
    };
    let dir = if kept.is_none() {
        home
    } else {
        (2..=MAX_BESIDE)
            .map(|n| parent.join(format!("{}-{n}", demo.folder_name())))
            .find(|dir| matches!(inspect(dir), Found::Nothing | Found::Untouched))
            .ok_or(DemoError::NoRoom { path: home })?
    };
    build_into(demo, source, parent, &dir)?;
    Ok(Opened { dir, kept })
}

/// Builds the demo into `dir`, which [`inspect`] found empty or untouched (the only case in
/// which the old folder is deleted: it holds nothing the builder would not write again).
fn build_into(demo: Demo, source: &Path, parent: &Path, dir: &Path) -> Result<(), DemoError> {
    // Read first: a source that does not read leaves nothing behind.
    let imported = match demo {
        Demo::Stream => import::world_stream(source)?,
        Demo::Memories => import::demo_file(source)?,
    };
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let building = parent.join(format!(
        ".{}-building-{}",
        demo.folder_name(),
        std::process::id()
    ));
    if building.exists() {
        // This process's own leftover from a build that failed half-way.
        std::fs::remove_dir_all(&building).map_err(io(&building))?;
    }
    let written = write_demo(demo, imported, &building);
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    written?;
    // Checked again just before: work done in it since (another window) is never lost.
    match inspect(dir) {
        Found::Nothing => {}
        Found::Untouched => std::fs::remove_dir_all(dir).map_err(io(dir))?,
        Found::Changed(_) | Found::Foreign => {
            let _ = std::fs::remove_dir_all(&building);
            return Err(DemoError::WorkedIn {
                path: dir.to_path_buf(),
            });
        }
    }
    std::fs::rename(&building, dir).map_err(io(dir))?;
    Ok(())
}

/// The demo project in `building`, with its marker listing every file written.
fn write_demo(demo: Demo, imported: import::Imported, building: &Path) -> Result<(), DemoError> {
    let mut project = Project::create(
        building,
        match demo {
            Demo::Stream => "TaskMem demo: a world stream",
            Demo::Memories => "TaskMem demo: the project page's memories",
        },
    )?;
    project.add_imported(imported)?;
    let mut files = BTreeMap::new();
    for (relative, path) in files_under(building)? {
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        files.insert(relative, Sum::of(&bytes));
    }
    let built = Built {
        note: "Built by TaskMem Studio and rebuilt each time the demo opens, unless it holds \
               more than these files (then a fresh demo is built beside it)."
            .to_owned(),
        files,
        lanes: project
            .manifest
            .lanes
            .iter()
            .map(|l| l.id.clone())
            .collect(),
    };
    let marker = building.join(MARKER);
    let text = serde_json::to_vec_pretty(&built).map_err(|e| DemoError::Io {
        path: marker.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&marker, text).map_err(io(&marker))
}

/// Whether `dir` is a demo project the app built (it has the marker).
#[must_use]
pub fn is_demo(dir: &Path) -> bool {
    dir.join(MARKER).is_file()
}

/// What is in `dir`, a demo's folder: nothing, a demo holding only what the builder and live
/// memorizing wrote, a demo holding more (user work), or a folder that is not a demo. Anything
/// that cannot be read counts as user work: a doubt keeps the folder.
#[must_use]
pub fn inspect(dir: &Path) -> Found {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Nothing,
        Ok(meta) if meta.is_dir() => {}
        _ => return Found::Foreign,
    }
    if !is_demo(dir) {
        return Found::Foreign;
    }
    let changes = match changes(dir) {
        Ok(changes) => changes,
        Err(e) => vec![format!("cannot be read through: {e}")],
    };
    if changes.is_empty() {
        Found::Untouched
    } else {
        Found::Changed(changes)
    }
}

/// What `dir` (a demo with its marker) holds beyond what was built, in plain words.
fn changes(dir: &Path) -> Result<Vec<String>, DemoError> {
    let marker = dir.join(MARKER);
    let text = std::fs::read(&marker).map_err(io(&marker))?;
    let Ok(built) = serde_json::from_slice::<Built>(&text) else {
        return Ok(vec![
            "built by an older TaskMem Studio, which did not record what it wrote".to_owned(),
        ]);
    };
    let live = live_lanes(dir, &built);
    let mut changes = Vec::new();
    let mut seen = 0;
    for (relative, path) in files_under(dir)? {
        if relative == MARKER {
            continue;
        }
        let built_sum = built.files.get(&relative);
        if built_sum.is_some() {
            seen += 1;
        }
        let live_file = relative
            .strip_prefix("memory/")
            .and_then(|name| name.strip_suffix(".jsonl"))
            .is_some_and(|lane| built_sum.is_none() && live.iter().any(|l| l == lane));
        if live_file {
            continue;
        }
        let Some(&sum) = built_sum else {
            changes.push(describe_added(&relative));
            continue;
        };
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if Sum::of(&bytes) == sum {
            continue;
        }
        if relative == "project.json" && manifest_as_built(&bytes, &built, &live) == Some(sum) {
            continue;
        }
        changes.push(describe_changed(&relative));
    }
    if seen < built.files.len() {
        changes.push(format!(
            "{} of the files it was built with removed",
            built.files.len() - seen
        ));
    }
    Ok(changes)
}

/// The lanes of `dir`'s project.json the app memorized live (not built, and written by the
/// built-in policy or with an adapter); their lines are regenerated by memorizing again.
fn live_lanes(dir: &Path, built: &Built) -> Vec<String> {
    let Ok(text) = std::fs::read(dir.join("project.json")) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&text) else {
        return Vec::new();
    };
    manifest
        .lanes
        .iter()
        .filter(|l| !built.lanes.contains(&l.id) && (l.id == LIVE_LANE || l.adapter.is_some()))
        .map(|l| l.id.clone())
        .collect()
}

/// project.json's sum with the live lanes taken out, written as the project writes it: what
/// it was when built, if nothing else changed in it.
fn manifest_as_built(bytes: &[u8], built: &Built, live: &[String]) -> Option<Sum> {
    let mut manifest: Manifest = serde_json::from_slice(bytes).ok()?;
    manifest.lanes.retain(|l| !live.contains(&l.id));
    if manifest.lanes.iter().map(|l| &l.id).ne(built.lanes.iter()) {
        return None;
    }
    serde_json::to_vec_pretty(&manifest)
        .ok()
        .map(|b| Sum::of(&b))
}

fn describe_added(relative: &str) -> String {
    let top = relative.split('/').next().unwrap_or(relative);
    match top {
        crate::project::TASKS_FILE => "tasks authored or imported".to_owned(),
        "labels.jsonl" => "verdicts and edits".to_owned(),
        "adapters" => format!("an adapter ({relative})"),
        "eval" => format!("an evaluation run ({relative})"),
        _ => format!("{relative} added"),
    }
}

fn describe_changed(relative: &str) -> String {
    match relative {
        crate::project::TASKS_FILE => "tasks authored, imported or changed".to_owned(),
        "labels.jsonl" => "verdicts and edits".to_owned(),
        _ => format!("{relative} changed"),
    }
}

/// Every plain file under `dir`, relative and `/`-separated, sorted. A link or anything else
/// that is not a file or folder is an error: neither counted as built nor followed.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>, DemoError> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let entry = entry.map_err(io(&folder))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((relative, path));
            } else {
                return Err(DemoError::NotCopied {
                    path,
                    what: if kind.is_symlink() {
                        "a link"
                    } else {
                        "a special file"
                    },
                });
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Copies the demo project in `demo_dir` to `target` (a new or empty folder) as an ordinary
/// project of the user's: without the demo marker, so no build ever replaces it. The copy is
/// made in a temporary folder beside `target` and renamed into place, so a failure leaves no
/// half project. Returns the copy's folder.
///
/// # Errors
/// When `demo_dir` is not a demo, `target` is a file or a folder that is not empty or inside
/// the demo, the demo holds a link, or a file cannot be read or written.
pub fn save_copy(demo_dir: &Path, target: &Path) -> Result<PathBuf, DemoError> {
    if !is_demo(demo_dir) {
        return Err(DemoError::NotADemo {
            path: demo_dir.to_path_buf(),
        });
    }
    let empty_dir = std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_none());
    if target.exists() && !empty_dir {
        return Err(DemoError::TargetExists {
            path: target.to_path_buf(),
        });
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let source = demo_dir.canonicalize().map_err(io(demo_dir))?;
    if parent
        .canonicalize()
        .map_err(io(&parent))?
        .starts_with(&source)
    {
        return Err(DemoError::CopyInside {
            path: target.to_path_buf(),
        });
    }
    let name = target
        .file_name()
        .map_or_else(|| "project".into(), |n| n.to_string_lossy().into_owned());
    let copying = parent.join(format!(".{name}-copying-{}", std::process::id()));
    if copying.exists() {
        // This process's own leftover from a copy that failed half-way.
        std::fs::remove_dir_all(&copying).map_err(io(&copying))?;
    }
    let copied = copy_files(&source, &copying);
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(&copying);
    }
    copied?;
    if empty_dir {
        // Empty, so nothing is lost; rename needs the name free on every platform.
        std::fs::remove_dir(target).map_err(io(target))?;
    }
    if let Err(e) = std::fs::rename(&copying, target) {
        let _ = std::fs::remove_dir_all(&copying);
        return Err(io(target)(e));
    }
    Ok(target.to_path_buf())
}

/// Every file of `from` but the demo marker, into the new folder `to`.
fn copy_files(from: &Path, to: &Path) -> Result<(), DemoError> {
    std::fs::create_dir(to).map_err(io(to))?;
    for (relative, path) in files_under(from)? {
        if relative == MARKER {
            continue;
        }
        let dest = to.join(&relative);
        if let Some(folder) = dest.parent() {
            std::fs::create_dir_all(folder).map_err(io(folder))?;
        }
        std::fs::copy(&path, &dest).map_err(io(&dest))?;
    }
    // Empty folders (memory/ of a project without lanes yet) are part of the layout too.
    std::fs::create_dir_all(to.join("memory")).map_err(io(to))
}

/// One thing a presentation does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepAction {
    /// Builds and opens the demo project; done once its first frame shows.
    OpenDemo,
    /// Moves the playhead.
    Seek {
        at_ms: i64,
    },
    /// Playback speed.
    Speed(f64),
    Play,
    Pause,
    /// The built-in policy writes the General lane as the video plays.
    MemorizeGeneral,
    /// Done once the playhead reaches `at_ms` (the video plays meanwhile).
    WaitUntil {
        at_ms: i64,
    },
    /// A question arrives as a trigger: the task becomes a trigger that switches to the lane
    /// of `adapter`, and that lane is memorized with the adapter from now on.
    Trigger {
        task_id: String,
        adapter: PathBuf,
    },
    /// Selects `lane`'s entry at `at_ms`: the inspector shows it beside the other lanes' entry
    /// for the clip, the words only one lane has lit up.
    Inspect {
        lane: String,
        at_ms: i64,
    },
    /// Answers the task from the memory written before its ask time.
    Answer {
        task_id: String,
    },
    /// Opens the Evaluate window on the demo's suite, General lane against `adapter`'s lane,
    /// and runs it: the before-and-after chart.
    Chart {
        adapter: PathBuf,
    },
}

/// A step: what it does, what the audience reads, and how long it holds before the next step
/// starts on its own (steps that wait for something go on when it happened).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub action: StepAction,
    pub caption: String,
    pub hold_ms: i64,
    /// 1-based line in the script, for messages.
    pub line: usize,
}

/// A parsed presentation script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub path: PathBuf,
    pub steps: Vec<Step>,
}

/// How long a step holds when the script does not say.
pub const DEFAULT_HOLD_MS: i64 = 4_000;

impl Script {
    /// Reads a script file.
    ///
    /// # Errors
    /// When it cannot be read, or a line does not parse (the message names the line).
    pub fn load(path: &Path) -> Result<Self, DemoError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Self::parse(path, &text)
    }

    /// Parses a script: one step per line, `command arguments | caption`, optionally
    /// `hold 6s` after the arguments; `#` starts a comment line; relative paths are read
    /// against the app's shipped files.
    ///
    /// # Errors
    /// The first line that does not parse, or a script with no steps.
    pub fn parse(path: &Path, text: &str) -> Result<Self, DemoError> {
        let mut steps = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fail = |message: String| DemoError::Script {
                path: path.to_path_buf(),
                line,
                message,
            };
            let (command, caption) = trimmed.split_once('|').unwrap_or((trimmed, ""));
            let mut words: Vec<&str> = command.split_whitespace().collect();
            let mut hold_ms = DEFAULT_HOLD_MS;
            if let Some(at) = words.iter().position(|w| *w == "hold") {
                let value = words
                    .get(at + 1)
                    .ok_or_else(|| fail("hold needs a duration, e.g. hold 6s".to_owned()))?;
                hold_ms = time_ms(value).map_err(&fail)?;
                words.truncate(at);
            }
            let action = parse_action(&words).map_err(fail)?;
            steps.push(Step {
                action,
                caption: caption.trim().to_owned(),
                hold_ms,
                line,
            });
        }
        if steps.is_empty() {
            return Err(DemoError::Script {
                path: path.to_path_buf(),
                line: 0,
                message: "no steps".to_owned(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            steps,
        })
    }
}

fn time_ms(text: &str) -> Result<i64, String> {
    crate::timefmt::parse_time_ns(text)
        .map(|ns| ns / crate::video::NS_PER_MS)
        .map_err(|e| e.to_string())
}

fn parse_action(words: &[&str]) -> Result<StepAction, String> {
    let arg = |k: usize, what: &str| {
        words
            .get(k)
            .copied()
            .ok_or_else(|| format!("{} needs {what}", words.first().copied().unwrap_or("")))
    };
    let path = |text: &str| {
        let p = PathBuf::from(text);
        if p.is_absolute() { p } else { shipped(text) }
    };
    let expected = |n: usize| {
        if words.len() == n {
            Ok(())
        } else {
            Err(format!(
                "{} takes {} argument{}, not {}",
                words[0],
                n - 1,
                if n == 2 { "" } else { "s" },
                words.len() - 1
            ))
        }
    };
    let Some(command) = words.first() else {
        return Err("a step needs a command before its caption".to_owned());
    };
    let action = match *command {
        "open-demo" => {
            expected(1)?;
            StepAction::OpenDemo
        }
        "seek" => {
            expected(2)?;
            StepAction::Seek {
                at_ms: time_ms(arg(1, "a time")?)?,
            }
        }
        "speed" => {
            expected(2)?;
            let speed: f64 = arg(1, "a factor")?
                .trim_end_matches('x')
                .parse()
                .map_err(|_| format!("speed {}: not a number", words[1]))?;
            if !(0.25..=16.0).contains(&speed) {
                return Err(format!("speed {speed}: between 0.25 and 16"));
            }
            StepAction::Speed(speed)
        }
        "play" => {
            expected(1)?;
            StepAction::Play
        }
        "pause" => {
            expected(1)?;
            StepAction::Pause
        }
        "memorize-general" => {
            expected(1)?;
            StepAction::MemorizeGeneral
        }
        "wait-until" => {
            expected(2)?;
            StepAction::WaitUntil {
                at_ms: time_ms(arg(1, "a time")?)?,
            }
        }
        "trigger" => {
            expected(3)?;
            StepAction::Trigger {
                task_id: arg(1, "a task id")?.to_owned(),
                adapter: path(arg(2, "an adapter file")?),
            }
        }
        "inspect" => {
            expected(3)?;
            StepAction::Inspect {
                lane: arg(1, "a lane")?.to_owned(),
                at_ms: time_ms(arg(2, "a time")?)?,
            }
        }
        "answer" => {
            expected(2)?;
            StepAction::Answer {
                task_id: arg(1, "a task id")?.to_owned(),
            }
        }
        "chart" => {
            expected(2)?;
            StepAction::Chart {
                adapter: path(arg(1, "an adapter file")?),
            }
        }
        other => {
            return Err(format!(
                "unknown command '{other}' (open-demo, seek, speed, play, pause, memorize-general, wait-until, trigger, inspect, answer, chart)"
            ));
        }
    };
    Ok(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_script_parses_and_names_shipped_files() {
        let script = Script::load(&shipped(DEMO_SCRIPT)).unwrap();
        assert!(script.steps.len() >= 8, "{:?}", script.steps);
        assert_eq!(script.steps[0].action, StepAction::OpenDemo);
        assert!(script.steps.iter().all(|s| !s.caption.is_empty()));
        for step in &script.steps {
            if let StepAction::Trigger { adapter, .. } | StepAction::Chart { adapter } =
                &step.action
            {
                assert!(adapter.is_file(), "{}", adapter.display());
                assert!(adapter.with_extension("json").is_file());
            }
        }
        assert!(matches!(
            script.steps.last().unwrap().action,
            StepAction::Chart { .. }
        ));
    }

    #[test]
    fn truncated_wrong_format_or_missing_sources_and_scripts_are_errors_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let memories = std::fs::read_to_string(shipped(DEMO_MEMORIES)).unwrap();
        let truncated = tmp.path().join("cut.json");
        std::fs::write(&truncated, &memories[..memories.len() / 2]).unwrap();
        let png = tmp.path().join("shot.json");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0").unwrap();
        let parent = tmp.path().join("data");
        for source in [&truncated, &png, &tmp.path().join("none.json")] {
            let err = build_from(Demo::Memories, source, &parent)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&source.display().to_string()), "{err}");
            // Nothing half-built is left.
            let left: Vec<_> = std::fs::read_dir(&parent)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "{left:?}");
        }
        let stream = tmp.path().join("stream");
        std::fs::create_dir_all(&stream).unwrap();
        std::fs::write(stream.join("truth.jsonl"), "{\"start_ms\": 0, \"end").unwrap();
        let err = build_from(Demo::Stream, &stream, &parent)
            .unwrap_err()
            .to_string();
        assert!(err.contains("truth.jsonl"), "{err}");
        for script in [&png, &tmp.path().join("none.txt")] {
            let err = Script::load(script).unwrap_err().to_string();
            assert!(err.starts_with(&script.display().to_string()), "{err}");
        }
    }

    #[test]
    fn steps_read_times_holds_and_captions_and_bad_lines_are_named() {
        let script = Script::parse(
            Path::new("s.txt"),
            "# a comment\n\nseek 00:01:05 | Here\nspeed 4x hold 2s | Faster\nwait-until 1m30s\n",
        )
        .unwrap();
        assert_eq!(script.steps.len(), 3);
        assert_eq!(script.steps[0].action, StepAction::Seek { at_ms: 65_000 });
        assert_eq!(script.steps[0].line, 3);
        assert_eq!(script.steps[1].action, StepAction::Speed(4.0));
        assert_eq!(script.steps[1].hold_ms, 2_000);
        assert_eq!(script.steps[1].caption, "Faster");
        assert_eq!(
            script.steps[2].action,
            StepAction::WaitUntil { at_ms: 90_000 }
        );
        for (text, wanted) in [
            ("fly away | no", "line 1: unknown command 'fly'"),
            ("seek | no time", "line 1: seek takes 1 argument, not 0"),
            ("seek soon", "line 1:"),
            ("speed 40", "between 0.25 and 16"),
            ("play now", "play takes 0 arguments, not 1"),
            ("\n| caption only", "line 2: a step needs a command"),
            ("# nothing", "no steps"),
            ("play hold", "hold needs a duration"),
        ] {
            let err = Script::parse(Path::new("s.txt"), text)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("s.txt: "), "{err}");
            assert!(err.contains(wanted), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_demo_project_is_rebuilt_in_place_and_a_foreign_folder_is_left_alone() {
        let parent = tempfile::tempdir().unwrap();
        let opened = build(Demo::Stream, parent.path()).unwrap();
        let dir = opened.dir.clone();
        assert_eq!(dir, parent.path().join("demo"));
        assert_eq!(opened.kept, None);
        assert_eq!(inspect(&dir), Found::Untouched);
        let project = Project::open(&dir).unwrap();
        assert_eq!(project.manifest.streams.len(), 1);
        assert!(project.tasks.len() >= 5);
        assert!(project.manifest.lanes.iter().any(|l| l.id == "reference"));
        // What memorizing live writes (its lane, and that lane in project.json) is the app's
        // own: the demo is rebuilt in place, without it.
        let mut project = project;
        project.manifest.lanes.push(crate::memory::Lane {
            hidden: false,
            id: LIVE_LANE.to_owned(),
            title: LIVE_LANE.to_owned(),
            general: true,
            task_hint: None,
            adapter: None,
        });
        project.manifest.lanes.sort_by_key(|l| !l.general);
        project.save_manifest().unwrap();
        std::fs::write(dir.join("memory/builtin.jsonl"), "x").unwrap();
        assert_eq!(inspect(&dir), Found::Untouched);
        let again = build(Demo::Stream, parent.path()).unwrap();
        assert_eq!(again.dir, dir);
        assert!(!dir.join("memory/builtin.jsonl").exists());
        let memories = build(Demo::Memories, parent.path()).unwrap();
        let project = Project::open(&memories.dir).unwrap();
        assert!(project.memory.len() > 10);
        // A user's folder of the same name is never touched: the demo goes beside it.
        let foreign = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(foreign.path().join("demo")).unwrap();
        std::fs::write(foreign.path().join("demo/notes.txt"), "mine").unwrap();
        let beside = build(Demo::Stream, foreign.path()).unwrap();
        assert_eq!(beside.dir, foreign.path().join("demo-2"));
        assert_eq!(beside.kept.unwrap().0, foreign.path().join("demo"));
        assert_eq!(
            std::fs::read_to_string(foreign.path().join("demo/notes.txt")).unwrap(),
            "mine"
        );
    }

    /// Issue 31: presentation mode rebuilt the demo and an annotator's tasks were gone.
    #[test]
    fn a_demo_holding_user_work_is_never_deleted_by_a_rebuild() {
        let parent = tempfile::tempdir().unwrap();
        let dir = build(Demo::Stream, parent.path()).unwrap().dir;
        let log = dir.join(crate::project::TASKS_FILE);
        let built_log = std::fs::read_to_string(&log).unwrap();
        // An authored task: one more line in the task log.
        let mut project = Project::open(&dir).unwrap();
        let mut task = project.tasks.tasks()[0].clone();
        "authored-1".clone_into(&mut task.id);
        "What did I put on the shelf?".clone_into(&mut task.text);
        project
            .record_tasks(&[crate::tasks::TaskEvent::Put {
                task: Box::new(task),
            }])
            .unwrap();
        let worked = std::fs::read_to_string(&log).unwrap();
        assert!(worked.len() > built_log.len());
        let Found::Changed(changes) = inspect(&dir) else {
            panic!("{:?}", inspect(&dir))
        };
        assert_eq!(changes, ["tasks authored, imported or changed"]);
        // Every rebuild path leaves it as it is and builds beside it; the fresh copy is reused
        // while it holds no work either.
        for _ in 0..2 {
            let opened = build(Demo::Stream, parent.path()).unwrap();
            assert_eq!(opened.dir, parent.path().join("demo-2"));
            assert_eq!(opened.kept.as_ref().unwrap().0, dir);
            assert_eq!(std::fs::read_to_string(&log).unwrap(), worked);
        }
        // A file changed, one added, one removed: each named, each keeps the folder.
        let fresh = parent.path().join("demo-2");
        std::fs::write(fresh.join("labels.jsonl"), "{}\n").unwrap();
        std::fs::create_dir_all(fresh.join("adapters")).unwrap();
        std::fs::write(fresh.join("adapters/mine.safetensors"), "w").unwrap();
        let Found::Changed(changes) = inspect(&fresh) else {
            panic!()
        };
        assert_eq!(
            changes,
            [
                "an adapter (adapters/mine.safetensors)",
                "verdicts and edits"
            ]
        );
        let third = build(Demo::Stream, parent.path()).unwrap();
        assert_eq!(third.dir, parent.path().join("demo-3"));
        assert!(fresh.join("adapters/mine.safetensors").is_file());
        let reference = third.dir.join("memory/reference.jsonl");
        let lines = std::fs::read_to_string(&reference).unwrap();
        std::fs::write(&reference, &lines[..lines.len() / 2]).unwrap();
        assert_eq!(
            inspect(&third.dir),
            Found::Changed(vec!["memory/reference.jsonl changed".to_owned()])
        );
        std::fs::remove_file(&reference).unwrap();
        assert_eq!(
            inspect(&third.dir),
            Found::Changed(vec!["1 of the files it was built with removed".to_owned()])
        );
        // A demo an older build made (its marker lists nothing) is kept too.
        let old = tempfile::tempdir().unwrap();
        let old_demo = old.path().join("demo");
        std::fs::create_dir_all(&old_demo).unwrap();
        std::fs::write(old_demo.join(MARKER), "Built by TaskMem Studio.\n").unwrap();
        assert!(matches!(inspect(&old_demo), Found::Changed(_)));
        assert_eq!(
            build(Demo::Memories, old.path()).unwrap().dir,
            old.path().join("demo-memories")
        );
        assert_eq!(
            build(Demo::Stream, old.path()).unwrap().dir,
            old.path().join("demo-2")
        );
        assert!(old_demo.join(MARKER).is_file());
    }

    #[test]
    fn the_demo_is_saved_as_an_ordinary_project_that_no_build_replaces() {
        let parent = tempfile::tempdir().unwrap();
        let dir = build(Demo::Stream, parent.path()).unwrap().dir;
        std::fs::write(dir.join("labels.jsonl"), "").unwrap();
        let target = parent.path().join("mine/shelf-study");
        let saved = save_copy(&dir, &target).unwrap();
        assert_eq!(saved, target);
        assert!(!is_demo(&saved));
        assert_eq!(inspect(&saved), Found::Foreign);
        let copy = Project::open(&saved).unwrap();
        let original = Project::open(&dir).unwrap();
        assert_eq!(copy.tasks.len(), original.tasks.len());
        assert_eq!(copy.memory.len(), original.memory.len());
        assert!(saved.join("labels.jsonl").is_file());
        // Never over something: a folder with files, the demo itself, a folder inside it.
        let err = save_copy(&dir, &target).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = save_copy(&dir, &dir.join("inner")).unwrap_err().to_string();
        assert!(err.contains("inside the demo"), "{err}");
        let err = save_copy(&saved, &parent.path().join("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a demo project"), "{err}");
        // An empty folder is fine; nothing half-made is left beside it.
        let empty = parent.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        save_copy(&dir, &empty).unwrap();
        assert!(empty.join("project.json").is_file());
        let left: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
