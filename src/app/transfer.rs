//! Moving work in and out of a project: importing question files (`task-import`) and memory
//! (`memory-import`), exporting tasks and memory, and making a project from the open video
//! (`project-create`).

use std::path::{Path, PathBuf};

use super::task_panel::SideTab;
use super::{AppCommand, TaskMemApp, file_name, path_window};
use crate::project::Project;
use crate::studio::jobs::{Job, Outcome, take_finished};
use crate::tasks::Task;

/// A question file being read for the project in `project_dir`.
pub(super) struct ImportJob {
    pub(super) path: PathBuf,
    pub(super) project_dir: PathBuf,
    /// Offer the open stream when none of the file's streams is in the project (a file
    /// chosen in the app; a path given with the command imports as it is).
    pub(super) offer: bool,
    pub(super) job: Job<(), crate::tasks::import::ImportedTasks, String>,
}

/// Reads a question file whose format is recognised from it; questions without ask times are
/// asked at the end of their stream when the project knows its length.
pub(super) fn read_question_file(
    path: &Path,
    durations: &std::collections::HashMap<String, i64>,
) -> Result<crate::tasks::import::ImportedTasks, String> {
    use crate::tasks::import::{ImportOptions, detect_format, import_bytes};
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let format = detect_format(path, &bytes).ok_or_else(|| {
        format!(
            "{}: not a question file this app knows (Video-MME, EgoLifeQA, EgoTempo, M3-Bench, one question per line, or an export of ours)",
            path.display()
        )
    })?;
    let mut imported =
        import_bytes(path, &bytes, format, &ImportOptions::default()).map_err(|e| e.to_string())?;
    imported.ask_at_end(|id| durations.get(id).copied());
    Ok(imported)
}

impl TaskMemApp {
    /// Reads a question file on the "task-import" thread; [`Self::poll_import_tasks`] adds it.
    pub(super) fn start_import_tasks(&mut self, path: Option<PathBuf>, offer: bool) {
        let Some(view) = &self.project else {
            self.toasts
                .warning("Open or create a project first: imported tasks are saved in it");
            return;
        };
        let Some(path) = path.or_else(|| {
            self.paths.ask(
                path_window::PathPurpose::ImportQuestions,
                Some(view.dir()),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        let durations: std::collections::HashMap<String, i64> = view
            .streams()
            .iter()
            .map(|s| (s.id.clone(), s.duration_ms))
            .collect();
        let job_path = path.clone();
        let spawned = self.jobs.spawn("task-import", move |r| {
            r.progress(0, 0, format!("reading {}", file_name(&job_path)));
            read_question_file(&job_path, &durations)
        });
        let project_dir = view.dir().to_path_buf();
        match spawned {
            Ok(job) => {
                self.importing = Some(ImportJob {
                    path,
                    project_dir,
                    offer,
                    job,
                });
            }
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    pub(super) fn poll_import_tasks(&mut self) {
        let Some(job) = &self.importing else {
            return;
        };
        let (_, Some(outcome)) = job.job.poll() else {
            return;
        };
        let (path, project_dir, offer) = (job.path.clone(), job.project_dir.clone(), job.offer);
        self.importing = None;
        let result = match outcome {
            Outcome::Done(imported) => Ok(imported),
            Outcome::Cancelled => return,
            Outcome::Failed(err) => Err(err),
        };
        if self.project.as_ref().is_none_or(|p| p.dir() != project_dir) {
            self.toasts.warning(format!(
                "{}: not imported, the project it was for is no longer open",
                file_name(&path)
            ));
            return;
        }
        let imported = match result {
            Ok(imported) => imported,
            Err(err) => {
                // The path window (if that is where the file came from) stays open to fix it.
                self.toasts.error(err);
                return;
            }
        };
        let Some(view) = &self.project else { return };
        let open_stream = view.stream().to_owned();
        let known = |s: &str| view.streams().iter().any(|k| k.id == s);
        if offer && self.player.is_some() && imported.offers_stream(&open_stream, known) {
            self.paths.offer(path, imported, open_stream);
            return;
        }
        self.pending.push(AppCommand::AddImportedTasks {
            path,
            tasks: Box::new(imported),
            attach: None,
        });
    }

    /// Adds questions read from `path` to the project's tasks, on `attach` (the open stream)
    /// or on their own streams; they show at once, in the library and on the timeline.
    pub(super) fn add_imported_tasks(
        &mut self,
        path: &Path,
        mut imported: crate::tasks::import::ImportedTasks,
        attach: Option<&str>,
    ) {
        let Some(view) = &self.project else { return };
        if let Some(stream) = attach {
            imported.attach_to(stream);
            // Asked at the end of the stream they now belong to, not at 00:00:00.
            let durations: std::collections::HashMap<&str, i64> = view
                .streams()
                .iter()
                .map(|s| (s.id.as_str(), s.duration_ms))
                .collect();
            imported.ask_at_end(|id| durations.get(id).copied());
        }
        let streams = imported.streams();
        match view.tasks().plan_import(imported.tasks) {
            Ok((events, unchanged)) => {
                let count = events.len();
                let open_stream = view.stream().to_owned();
                if self.record_tasks(events, None) {
                    let onto = match attach {
                        Some(stream) => format!("onto the open stream \"{stream}\""),
                        None => format!("over {} streams", streams.len()),
                    };
                    self.toasts.info(format!(
                        "Imported {count} tasks {onto} from {} ({unchanged} already there)",
                        file_name(path)
                    ));
                    self.paths.close(path_window::PathPurpose::ImportQuestions);
                    self.tasks.tab = SideTab::Library;
                    if !streams.contains(&open_stream) {
                        // None is on the open stream: the library lists every stream, so
                        // they are there to see at once.
                        self.tasks.show_all_streams();
                    }
                }
            }
            Err(err) => self.toasts.error(format!("{}: {err}", path.display())),
        }
    }

    /// Writes the project's tasks in the format the file name asks for.
    pub(super) fn export_tasks(&mut self, path: Option<PathBuf>) {
        use crate::tasks::export::{ExportFormat, write};
        let Some(view) = &self.project else { return };
        let Some(path) = path.or_else(|| {
            // Beside the project folder: inside it, the export would read as a project file.
            let start = view.dir().parent().map(|p| p.join("tasks-export.jsonl"));
            self.paths.ask(
                path_window::PathPurpose::ExportTasks,
                start.as_deref(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        let log = view.dir().join(crate::project::TASKS_FILE);
        let same = |a: &Path, b: &Path| {
            a.canonicalize()
                .ok()
                .zip(b.canonicalize().ok())
                .is_some_and(|(a, b)| a == b)
        };
        if same(&path, &log) || path.file_name().is_some_and(|n| n == "project.json") {
            self.toasts.error(format!(
                "{}: that is the project's own file; choose another name",
                path.display()
            ));
            return;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match ext.as_str() {
            "jsonl" => ExportFormat::Jsonl,
            "parquet" => ExportFormat::Parquet,
            "csv" => ExportFormat::Csv,
            "txt" => ExportFormat::Lines,
            _ => {
                self.toasts.error(format!(
                    "{}: choose .jsonl, .parquet, .csv or .txt to say the format",
                    path.display()
                ));
                return;
            }
        };
        let tasks = view.tasks().tasks();
        match write(tasks, format, &path, None) {
            Ok(()) => {
                self.toasts.info(format!(
                    "Exported {} tasks to {}",
                    tasks.len(),
                    path.display()
                ));
                self.paths.close(path_window::PathPurpose::ExportTasks);
            }
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    /// Writes the project's memory entries, every stream and lane with their verdicts, in the
    /// format the file name asks for.
    pub(super) fn export_memory(&mut self, path: Option<PathBuf>) {
        use crate::memory::export;
        let Some(view) = &self.project else { return };
        let Some(path) = path.or_else(|| {
            let start = view.dir().parent().map(|p| p.join("memory-export.jsonl"));
            self.paths.ask(
                path_window::PathPurpose::ExportMemory,
                start.as_deref(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        if let Err(e) = crate::fsutil::check_export_target(view.dir(), &path) {
            self.toasts.error(e.to_string());
            return;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let (entries, labels) = (view.memory_entries(), view.labels());
        let written = match ext.as_str() {
            "parquet" => export::write_parquet(entries, labels, &path).map_err(|e| e.to_string()),
            "jsonl" | "txt" => {
                let text = if ext == "txt" {
                    export::to_qa_text(entries)
                } else {
                    export::to_jsonl_labeled(entries, labels)
                };
                crate::fsutil::write_atomic(&path, text.as_bytes())
                    .map_err(|e| format!("{}: cannot write: {e}", path.display()))
            }
            _ => Err(format!(
                "{}: choose .jsonl, .parquet or .txt (the QA text) to say the format",
                path.display()
            )),
        };
        match written {
            Ok(()) => {
                self.toasts.info(format!(
                    "Exported {} memory entries to {}",
                    entries.len(),
                    path.display()
                ));
                self.paths.close(path_window::PathPurpose::ExportMemory);
            }
            Err(err) => self.toasts.error(err),
        }
    }

    /// Adds memory read from `path` to the open project on the "memory-import" thread; the
    /// project is opened again with it when it is there ([`Self::poll_import_memory`]).
    pub(super) fn import_memory(&mut self, path: Option<PathBuf>) {
        let Some(view) = &self.project else {
            self.toasts
                .warning("Open or create a project first: imported memory is saved in it");
            return;
        };
        let Some(path) = path.or_else(|| {
            self.paths.ask(
                path_window::PathPurpose::ImportMemory,
                view.dir().parent(),
                &mut self.toasts,
            )
        }) else {
            return;
        };
        if self.importing_memory.is_some() {
            self.toasts
                .warning("Memory is being imported already; wait for it to finish");
            return;
        }
        let (dir, stream) = (view.dir().to_path_buf(), view.stream().to_owned());
        // Live lanes write into the project: stopped, so the import is not interleaved.
        self.memorize.stop();
        let job_dir = dir.clone();
        let spawned = self.jobs.spawn("memory-import", move |r| {
            r.progress(0, 0, format!("importing {}", file_name(&path)));
            (|| -> anyhow::Result<String> {
                    let imported = crate::memory::import::import_any(&path, &stream)?;
                    let (streams, lanes) = (imported.streams.len(), imported.lanes.len());
                    let mut project = Project::open(&job_dir)?;
                    let count = project.add_imported_counted(imported)?;
                    Ok(format!(
                        "Imported {} memory entries ({streams} streams, {lanes} lanes) from {}; {} already there",
                        count.added,
                        file_name(&path),
                        count.already
                    ))
                })()
                .map_err(|e| format!("cannot import memory: {e:#}"))
        });
        match spawned {
            Ok(job) => self.importing_memory = Some((dir, job)),
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    /// Opens the project again once imported memory is in it, so every lane shows it.
    pub(super) fn poll_import_memory(&mut self) {
        let Some((dir, outcome)) = take_finished(&mut self.importing_memory) else {
            return;
        };
        match outcome {
            // An import is all or nothing: a cancelled one may still have landed whole, so
            // the project is read again either way.
            Outcome::Cancelled => self.start_open(dir),
            Outcome::Done(message) => {
                self.toasts.info(message);
                self.paths.close(path_window::PathPurpose::ImportMemory);
                self.start_open(dir);
            }
            // The path window, where the path came from, stays open to correct it.
            Outcome::Failed(err) => self.toasts.error(err),
        }
    }

    /// A project for the open video: the video as its one stream (by path and hash), its
    /// world questions as tasks.
    pub(super) fn new_project_from_video(&mut self, folder: Option<PathBuf>) {
        let Some(player) = &self.player else {
            self.toasts.warning("Open a video first");
            return;
        };
        let Some(folder) = folder.or_else(|| {
            self.paths
                .ask(path_window::PathPurpose::NewProject, None, &mut self.toasts)
        }) else {
            return;
        };
        let video = player.path.clone();
        let stream_id = video
            .parent()
            .filter(|_| video.file_name().is_some_and(|n| n == "video.mp4"))
            .and_then(Path::file_name)
            .or_else(|| video.file_stem())
            .map_or_else(|| "stream".to_owned(), |n| n.to_string_lossy().into_owned());
        let duration_ms = player.playback.duration_ns() / crate::video::NS_PER_MS;
        let tasks: Vec<Task> = player
            .questions
            .iter()
            .cloned()
            .map(|mut t| {
                t.stream.clone_from(&stream_id);
                t
            })
            .collect();
        // Hashing an hour of video takes seconds: the project is made on its own thread, and
        // opened (through the usual open thread) when it is there.
        let job_folder = folder.clone();
        let spawned = self.jobs.spawn("project-create", move |r| {
            r.progress(0, 0, format!("making {}", job_folder.display()));
            (|| -> anyhow::Result<()> {
                let mut project = Project::create(&job_folder, &stream_id)?;
                let video_abs = video.canonicalize().unwrap_or_else(|_| video.clone());
                project.add_imported(crate::memory::import::Imported {
                    streams: vec![crate::memory::import::StreamInfo {
                        id: stream_id.clone(),
                        title: stream_id.clone(),
                        duration_ms,
                        video: Some(video_abs.display().to_string()),
                        video_sha256: crate::world::sha256_file(&video_abs).ok(),
                        questions: Vec::new(),
                        phases: Vec::new(),
                    }],
                    tasks,
                    ..Default::default()
                })?;
                Ok(())
            })()
            .map_err(|err| {
                format!(
                    "{}: cannot create the project: {err:#}",
                    job_folder.display()
                )
            })
        });
        match spawned {
            Ok(job) => self.creating = Some((folder, job)),
            Err(err) => self.toasts.error(err.to_string()),
        }
    }

    pub(super) fn poll_create_project(&mut self) {
        let Some((folder, outcome)) = take_finished(&mut self.creating) else {
            return;
        };
        match outcome {
            // Made (a cancel came too late to matter: the folder is a whole project).
            Outcome::Done(()) => self.start_open(folder),
            Outcome::Cancelled => {}
            Outcome::Failed(err) => self.toasts.error(err),
        }
    }
}
