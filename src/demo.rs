//! The bundled demos and the presentation script: the demo project built from a shipped world
//! stream (its video, questions and reference descriptions; the policy's lanes are written live
//! when it plays), the memory-only demo of the TaskMem project page's memories, and the plain-text
//! script a presenter edits (`assets/demo/presentation.txt`). No egui: the app's presentation
//! mode runs the parsed steps.

use std::path::{Path, PathBuf};

use crate::memory::import;
use crate::project::Project;

/// The world stream the demo project is built from.
pub const DEMO_STREAM: &str = "datasets/world-mme/test/world-mme-test-00";
/// The TaskMem project page's memories (the memory-only demo).
pub const DEMO_MEMORIES: &str = "assets/demo/taskmem_demo_memories.json";
/// The presentation script shipped with the app.
pub const DEMO_SCRIPT: &str = "assets/demo/presentation.txt";
/// A file in a demo project saying it was built here and may be rebuilt (never a user's own).
const MARKER: &str = ".taskmem-demo";

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
    #[error(
        "{path}: a folder that is not a demo project is in the way (it has no {MARKER} file); move it"
    )]
    NotADemo { path: PathBuf },
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

/// Builds the demo project afresh in `parent` and returns its folder. A demo is rebuilt every
/// time it is opened, so that memorizing live always has clips to write; it is built in a
/// temporary folder and renamed into place, so an interrupted build leaves no half project.
///
/// # Errors
/// When the shipped files cannot be read or the folder cannot be written, or a folder that is
/// not a demo project is where the demo goes.
pub fn build(demo: Demo, parent: &Path) -> Result<PathBuf, DemoError> {
    let source = match demo {
        Demo::Stream => shipped(DEMO_STREAM),
        Demo::Memories => shipped(DEMO_MEMORIES),
    };
    build_from(demo, &source, parent)
}

/// [`build`] from `source` (a world stream folder, or a TaskMem demo file).
fn build_from(demo: Demo, source: &Path, parent: &Path) -> Result<PathBuf, DemoError> {
    let dir = parent.join(demo.folder_name());
    if dir.exists() && !dir.join(MARKER).is_file() {
        return Err(DemoError::NotADemo { path: dir });
    }
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
        std::fs::remove_dir_all(&building).map_err(io(&building))?;
    }
    let written = write_demo(demo, imported, &building);
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    written?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::rename(&building, &dir).map_err(io(&dir))?;
    Ok(dir)
}

/// The demo project in `building`, with its marker.
fn write_demo(demo: Demo, imported: import::Imported, building: &Path) -> Result<(), DemoError> {
    let mut project = Project::create(
        building,
        match demo {
            Demo::Stream => "TaskMem demo: a world stream",
            Demo::Memories => "TaskMem demo: the project page's memories",
        },
    )?;
    project.add_imported(imported)?;
    let marker = building.join(MARKER);
    std::fs::write(
        &marker,
        "Built by TaskMem Studio; rebuilt each time the demo opens.\n",
    )
    .map_err(io(&marker))
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
        let dir = build(Demo::Stream, parent.path()).unwrap();
        let project = Project::open(&dir).unwrap();
        assert_eq!(project.manifest.streams.len(), 1);
        assert!(project.tasks.len() >= 5);
        assert!(project.manifest.lanes.iter().any(|l| l.id == "reference"));
        // Rebuilt: whatever was written into it is gone.
        std::fs::write(dir.join("memory/builtin.jsonl"), "x").unwrap();
        let again = build(Demo::Stream, parent.path()).unwrap();
        assert_eq!(again, dir);
        assert!(!dir.join("memory/builtin.jsonl").exists());
        let memories = build(Demo::Memories, parent.path()).unwrap();
        let project = Project::open(&memories).unwrap();
        assert!(project.memory.len() > 10);
        // A user's folder of the same name is never deleted.
        let foreign = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(foreign.path().join("demo")).unwrap();
        let err = build(Demo::Stream, foreign.path()).unwrap_err().to_string();
        assert!(err.contains("is not a demo project"), "{err}");
        assert!(foreign.path().join("demo").is_dir());
    }
}
