//! Where commands change the app: [`TaskMemApp::apply`] passes each command down a chain of
//! functions, one per group of commands, until one takes it.

use std::path::Path;

use super::command::Command;
use super::project_view::ProjectView;
use super::{AppCommand, TaskMemApp, evaluation, path_window, phase2_panel};
use crate::memory::labels::LabelEvent;
use crate::studio::task_edit::{self, Edge, TaskKey};
use crate::tasks::{Task, TaskEvent};

impl TaskMemApp {
    /// The one place commands change the app: each group of commands has its own function,
    /// and a command passes down the chain until one takes it.
    pub(super) fn apply(&mut self, command: AppCommand, ctx: &egui::Context) {
        let Some(command) = self.apply_files(command) else {
            return;
        };
        let Some(command) = self.apply_windows(command, ctx) else {
            return;
        };
        let Some(command) = self.apply_memory(command) else {
            return;
        };
        match command {
            AppCommand::NewTask { .. }
            | AppCommand::SelectTask(_)
            | AppCommand::PutTask(_)
            | AppCommand::RenameTask { .. }
            | AppCommand::DuplicateTask(_)
            | AppCommand::DeleteTasks(_)
            | AppCommand::RetypeTasks(..)
            | AppCommand::SetEvidence { .. }
            | AppCommand::NudgeEdge { .. }
            | AppCommand::SelectEdge(_)
            | AppCommand::JumpTask { .. } => self.apply_task(command),
            playback_command => self.apply_playback(&playback_command, ctx),
        }
    }

    /// Opening, making, importing and exporting; any other command is handed back.
    pub(super) fn apply_files(&mut self, command: AppCommand) -> Option<AppCommand> {
        match command {
            AppCommand::OpenDialog => {
                let start = self.settings.last_opened.as_deref().and_then(Path::parent);
                if let Some(path) =
                    self.paths
                        .ask(path_window::PathPurpose::Open, start, &mut self.toasts)
                {
                    self.start_open(path);
                }
            }
            AppCommand::Open(path) => self.start_open(path),
            AppCommand::CloseVideo => {
                self.memorize.stop();
                self.player = None;
            }
            AppCommand::ClearRecent => self.settings.recent_files.clear(),
            AppCommand::OpenDemo(demo) => match crate::demo::build(demo, &self.data_dir) {
                Ok(opened) => {
                    if let Some((kept, changes)) = &opened.kept {
                        self.toasts.info(format!(
                            "{} holds your work ({}), so it is kept as it is; the demo was built fresh in {}. File > Save the demo as a new project keeps a demo under a name of your own.",
                            kept.display(),
                            changes.join("; "),
                            opened.dir.display()
                        ));
                    }
                    self.start_open(opened.dir);
                }
                Err(e) => self.toasts.error(format!("cannot build the demo: {e}")),
            },
            AppCommand::SaveDemoAs(target) => self.save_demo_as(&target),
            AppCommand::NewProjectFromVideo(folder) => self.new_project_from_video(folder),
            AppCommand::ImportTasks(path) => {
                // A file chosen here is offered to the open stream; one given with the
                // command imports as it is.
                let offer = path.is_none();
                self.start_import_tasks(path, offer);
            }
            AppCommand::ExportTasks(path) => self.export_tasks(path),
            AppCommand::ExportMemory(path) => self.export_memory(path),
            AppCommand::ImportMemory(path) => self.import_memory(path),
            AppCommand::AddImportedTasks {
                path,
                tasks,
                attach,
            } => self.add_imported_tasks(&path, *tasks, attach.as_deref()),
            other => return Some(other),
        }
        None
    }

    /// The tool windows, presentation and layout commands; any other command is handed back.
    pub(super) fn apply_windows(
        &mut self,
        command: AppCommand,
        ctx: &egui::Context,
    ) -> Option<AppCommand> {
        match command {
            AppCommand::ShowTraining => self.training.open = true,
            AppCommand::StartTraining => {
                if let Err(e) = self.training.start(&self.jobs) {
                    self.toasts.error(e.to_string());
                }
            }
            AppCommand::ShowEvaluation => {
                // A project's own lanes are the natural first choice once one is open.
                if self.project.is_some() && !self.evaluation.open {
                    self.evaluation.source = evaluation::EvalSource::Project;
                }
                self.evaluation.open = true;
            }
            AppCommand::StartEvaluation => {
                let context = evaluation::EvalContext {
                    project_dir: self.project.as_ref().map(|p| p.dir().to_path_buf()),
                    model_dir: self.settings.policy_model.clone(),
                    budget_tokens: self.settings.policy_budget_tokens,
                };
                if let Err(e) = self.evaluation.start(&self.jobs, &context) {
                    self.toasts.error(e);
                }
            }
            AppCommand::LoadEvaluation(dir) => {
                if let Err(e) = self.evaluation.load_results(dir) {
                    self.toasts.error(e);
                }
            }
            AppCommand::EvaluateAdapter(path) => {
                let line = path.display().to_string();
                if !self.evaluation.adapters.lines().any(|l| l.trim() == line) {
                    if !self.evaluation.adapters.trim().is_empty() {
                        self.evaluation.adapters.push('\n');
                    }
                    self.evaluation.adapters.push_str(&line);
                }
                self.evaluation.source = evaluation::EvalSource::Suite;
                self.evaluation.open = true;
            }
            AppCommand::DemoChart(adapter) => {
                self.evaluation.suite = crate::demo::shipped("datasets/world-mme")
                    .display()
                    .to_string();
                "test".clone_into(&mut self.evaluation.split);
                self.evaluation.adapters = adapter.display().to_string();
                self.evaluation.reference = false;
                self.evaluation.remote = false;
                self.evaluation.source = evaluation::EvalSource::Suite;
                self.evaluation.out = self.data_dir.join("demo-eval").display().to_string();
                self.evaluation.open = true;
                if !self.evaluation.is_running() {
                    self.pending.push(AppCommand::StartEvaluation);
                }
            }
            AppCommand::ShowPhase2 => {
                if self.project.is_some() && !self.phase2.open {
                    self.phase2.source = phase2_panel::TaskSource::Project;
                }
                self.phase2.open = true;
            }
            AppCommand::StartPhase2 => {
                let context = phase2_panel::Phase2Context {
                    project_dir: self.project.as_ref().map(|p| p.dir().to_path_buf()),
                    model_dir: self.settings.policy_model.clone(),
                    budget_tokens: self.settings.policy_budget_tokens,
                    checked: self.tasks.checked_ids(),
                };
                if let Err(e) = self.phase2.start(&self.jobs, &context) {
                    self.toasts.error(e);
                }
            }
            AppCommand::TogglePresentation => self.toggle_presentation(ctx),
            AppCommand::UsePresentationScript(path) => self.use_presentation_script(path),
            AppCommand::PresentationNext => self.presentation.next(),
            AppCommand::PresentationPause => self.presentation.toggle_pause(),
            AppCommand::ShowWelcome => self.show_welcome = true,
            AppCommand::ToggleShortcuts => self.show_shortcuts = !self.show_shortcuts,
            AppCommand::ResetLayout => self.reset_layout(ctx),
            AppCommand::FitTimeline => self.ruler.fit(),
            AppCommand::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            AppCommand::CancelJob(id) => self.jobs.cancel(id),
            other => return Some(other),
        }
        None
    }

    /// The memory, label and lane commands; any other command is handed back.
    pub(super) fn apply_memory(&mut self, command: AppCommand) -> Option<AppCommand> {
        match command {
            AppCommand::JumpToMemory { stream, ids } => self.jump_to_memory(&stream, &ids),
            AppCommand::SelectEntry(id) => {
                let seek = self.project.as_mut().and_then(|p| p.select(id));
                if let (Some(t), Some(player)) = (seek, &mut self.player) {
                    player.playback.seek_ns(t);
                }
            }
            AppCommand::SelectRelative(delta) => {
                if let Some(id) = self.project.as_mut().and_then(|p| p.select_relative(delta)) {
                    self.pending.push(AppCommand::SelectEntry(id));
                }
            }
            AppCommand::SelectNextUnlabeled => {
                match self.project.as_ref().map(ProjectView::next_unlabeled) {
                    Some(Some(id)) => self.pending.push(AppCommand::SelectEntry(id)),
                    Some(None) => self.toasts.info("Every listed entry has a label"),
                    None => {}
                }
            }
            AppCommand::Deselect => {
                if let Some(view) = &mut self.project {
                    view.deselect();
                }
            }
            AppCommand::LabelSelected(verdict) => {
                if let Some(entry) = self.project.as_ref().and_then(|p| p.selected()) {
                    let id = entry.id;
                    let current = self.project.as_ref().and_then(|p| p.verdict(id));
                    self.record_label(LabelEvent::Verdict {
                        entry: id,
                        verdict: (current != Some(verdict)).then_some(verdict),
                    });
                }
            }
            AppCommand::Label { entry, verdict } => {
                self.record_label(LabelEvent::Verdict { entry, verdict });
            }
            AppCommand::EditText { entry, text } => {
                self.record_label(LabelEvent::Edit { entry, text });
            }
            AppCommand::Undo => self.undo_redo(true),
            AppCommand::Redo => self.undo_redo(false),
            AppCommand::SwitchStream(stream) => self.switch_stream(&stream),
            AppCommand::SetLaneShown { lane, shown } => {
                if let Some(Err(e)) = self
                    .project
                    .as_mut()
                    .map(|v| v.set_lane_shown(&lane, shown))
                {
                    self.toasts
                        .error(format!("Could not save the lane's visibility: {e}"));
                }
            }
            AppCommand::MoveLane { lane, earlier } => {
                if let Some(Err(e)) = self.project.as_mut().map(|v| v.move_lane(&lane, earlier)) {
                    self.toasts
                        .error(format!("Could not save the lane order: {e}"));
                }
            }
            AppCommand::InspectAt { lane, at_ms } => self.inspect_at(&lane, at_ms),
            AppCommand::AnswerTask(task_id) => self.answer_task(&task_id),
            AppCommand::TriggerTask { task_id, adapter } => self.trigger_task(&task_id, adapter),
            AppCommand::SetMemorizing(on) => {
                if on {
                    self.start_memorizing(None);
                } else {
                    self.memorize.stop();
                }
            }
            AppCommand::MemorizeWithAdapter(path) => {
                let path = path.or_else(|| {
                    self.paths
                        .ask(path_window::PathPurpose::Adapter, None, &mut self.toasts)
                });
                if let Some(path) = path {
                    self.start_memorizing(Some(path));
                }
            }
            AppCommand::MemorizeRemote => self.start_memorizing_remote(),
            AppCommand::UsePolicyModel(dir) => {
                let was_on = self.memorize.is_on();
                self.toasts.info(match &dir {
                    Some(dir) => format!("Memorizing with the model in {}", dir.display()),
                    None => "Memorizing with the shipped model".to_owned(),
                });
                self.settings.policy_model = dir;
                if was_on {
                    self.start_memorizing(None);
                }
            }
            other => return Some(other),
        }
        None
    }

    /// The transport's commands, on the open video.
    pub(super) fn apply_playback(&mut self, command: &AppCommand, ctx: &egui::Context) {
        let Some(player) = &mut self.player else {
            return;
        };
        let p = &mut player.playback;
        match *command {
            AppCommand::TogglePlay => p.toggle_play(),
            AppCommand::SetPlaying(play) if p.is_playing() != play => p.toggle_play(),
            AppCommand::Seek(t) => p.seek_ns(t),
            AppCommand::Scrub(t) => {
                player.scrubbing = true;
                p.seek_ns(t);
            }
            AppCommand::ScrubEnd => player.scrubbing = false,
            AppCommand::Skip(dt) => p.skip_ns(dt),
            AppCommand::StepFrames(n) => p.step_frames(n),
            AppCommand::Home => p.home(),
            AppCommand::End => p.end(),
            AppCommand::Faster => p.faster(),
            AppCommand::Slower => p.slower(),
            AppCommand::SetSpeed(s) => p.set_speed(s),
            AppCommand::SetLoop(range) => {
                p.set_loop_range_ns(range);
                p.set_looping(p.loop_range_ns().is_some());
            }
            AppCommand::ToggleLoop => {
                let looping = p.is_looping();
                p.set_looping(!looping);
            }
            AppCommand::SetFollowLive(on) => p.set_follow_live(on),
            _ => {}
        }
        ctx.request_repaint();
    }

    /// The task commands: every change goes through the project's undoable log.
    pub(super) fn apply_task(&mut self, command: AppCommand) {
        let position_ms = self.playhead_ms();
        if let AppCommand::SelectTask(id) = command {
            self.tasks.select(id);
            return;
        }
        if let AppCommand::SelectEdge(edge) = command {
            self.tasks.edge = edge;
            return;
        }
        let Some(view) = &self.project else {
            self.toasts.warning(
                "Tasks are saved in a project: use Tasks > New project from this video first",
            );
            return;
        };
        let stream = view.stream().to_owned();
        let library = view.tasks();
        let stored = |key: &TaskKey| library.get(&key.stream, &key.id).cloned();
        let selected = self
            .tasks
            .selected()
            .and_then(|id| library.get(&stream, id))
            .cloned();
        match command {
            AppCommand::NewTask { ask_ms } => {
                let id = library.fresh_id(&stream, "task");
                let task = Task::authored(id.clone(), &stream, ask_ms, &self.settings.author);
                if self.record_tasks(vec![Self::put(task)], None) {
                    self.tasks.select(Some(id));
                    self.tasks.open_form();
                }
            }
            AppCommand::PutTask(task) => {
                let key = TaskKey::of(&task);
                let Some(before) = stored(&key) else { return };
                let fields = before.differing_fields(&task).join(",");
                let coalesce = format!("{}/{}:{fields}", key.stream, key.id);
                self.record_tasks(vec![Self::put(*task)], Some(coalesce));
            }
            AppCommand::RenameTask { key, new_id } => {
                let now = crate::tasks::now_unix_ms();
                match task_edit::rename(library, &key, &new_id, now) {
                    Ok(events) => {
                        let was_selected = self.tasks.selected() == Some(key.id.as_str());
                        if self.record_tasks(events, None) && was_selected {
                            self.tasks.select(Some(new_id));
                        }
                    }
                    Err(e) => self.toasts.error(e.to_string()),
                }
            }
            AppCommand::DuplicateTask(key) => {
                let now = crate::tasks::now_unix_ms();
                let Some(task) = task_edit::duplicate(library, &key, &self.settings.author, now)
                else {
                    return;
                };
                let id = task.id.clone();
                if self.record_tasks(vec![Self::put(task)], None) {
                    self.tasks.select(Some(id));
                }
            }
            AppCommand::DeleteTasks(keys) => {
                let events = task_edit::delete(library, keys);
                let count = events.len();
                if self.record_tasks(events, None) && count > 1 {
                    self.toasts.info(format!(
                        "Deleted {count} tasks ({} brings them back)",
                        Command::Undo.key_text(cfg!(target_os = "macos"))
                    ));
                }
            }
            AppCommand::RetypeTasks(keys, task_type) => {
                let now = crate::tasks::now_unix_ms();
                let events = task_edit::retype(library, &keys, &task_type, now);
                let count = events.len();
                if self.record_tasks(events, None) {
                    self.toasts
                        .info(format!("Retyped {count} tasks to {task_type}"));
                }
            }
            AppCommand::SetEvidence { key, index, span } => {
                let Some(mut task) = stored(&key) else { return };
                task_edit::set_evidence(&mut task, index, span, crate::tasks::now_unix_ms());
                self.record_tasks(vec![Self::put(task)], None);
            }
            AppCommand::NudgeEdge { frames, seconds } => self.nudge_edge(selected, frames, seconds),
            AppCommand::JumpTask { forward } => {
                let selected_id = selected.as_ref().map(|t| t.id.as_str());
                let next =
                    task_edit::neighbour(library, &stream, selected_id, position_ms, forward);
                if let Some(task) = next {
                    let (id, ask_ms) = (task.id.clone(), task.ask_ms);
                    self.tasks.select(Some(id));
                    if let Some(player) = &mut self.player {
                        player.playback.seek_ns(ask_ms * crate::video::NS_PER_MS);
                    }
                }
            }
            _ => {}
        }
    }

    /// Moves the selected task's active evidence edge by frames and seconds.
    pub(super) fn nudge_edge(&mut self, selected: Option<Task>, frames: i64, seconds: i64) {
        let (Some(mut task), Some(player)) = (selected, &self.player) else {
            return;
        };
        let Some(span) = task.evidence.get_mut(self.tasks.span_index) else {
            return;
        };
        let duration_ms = player.playback.duration_ns() / crate::video::NS_PER_MS;
        let edge_ms = match self.tasks.edge {
            Edge::Start => span.start_ms,
            Edge::End => span.end_ms,
        };
        let to_ms = player.playback.frame_step_ms(edge_ms, frames) + seconds * 1000;
        self.tasks.edge = task_edit::move_edge(span, self.tasks.edge, to_ms, duration_ms);
        task.edited_unix_ms = crate::tasks::now_unix_ms();
        let coalesce = format!(
            "{}/{}:nudge {} {:?}",
            task.stream, task.id, self.tasks.span_index, self.tasks.edge
        );
        self.record_tasks(vec![Self::put(task)], Some(coalesce));
    }

    /// Records task changes as one undo step; errors become toasts.
    pub(super) fn record_tasks(
        &mut self,
        events: Vec<TaskEvent>,
        coalesce: Option<String>,
    ) -> bool {
        let Some(view) = &mut self.project else {
            return false;
        };
        match view.record_tasks(events, coalesce) {
            Ok(()) => true,
            Err(err) => {
                self.toasts.error(err.to_string());
                false
            }
        }
    }

    pub(super) fn put(task: Task) -> TaskEvent {
        TaskEvent::Put {
            task: Box::new(task),
        }
    }

    /// The playhead in whole ms (0 with nothing open): where new tasks are asked.
    pub(super) fn playhead_ms(&self) -> i64 {
        self.player
            .as_ref()
            .map_or(0, |p| p.playback.position_ns() / crate::video::NS_PER_MS)
    }

    pub(super) fn undo_redo(&mut self, undo: bool) {
        let Some(view) = &mut self.project else {
            return;
        };
        let result = if undo { view.undo() } else { view.redo() };
        if let Err(err) = result {
            self.toasts.error(err.to_string());
        }
    }

    pub(super) fn record_label(&mut self, event: LabelEvent) {
        let Some(view) = &mut self.project else {
            return;
        };
        if let Err(err) = view.record(event) {
            self.toasts.error(err.to_string());
        }
    }

    /// Shows a project stream: its video when it is on disk, otherwise an empty stage.
    pub(super) fn jump_to_memory(&mut self, stream: &str, ids: &[u64]) {
        let found = self.project.as_ref().and_then(|view| {
            ids.iter().copied().find(|id| {
                view.memory_entries()
                    .iter()
                    .any(|e| e.id == *id && e.stream == stream)
            })
        });
        let Some(id) = found else {
            self.toasts.warning(format!(
                "The entries this answer used ({}) are not in the open project: a suite run \
                 memorizes its own copy of the streams. Runs of the project's own lanes \
                 (Evaluate > this project) can be followed to their memory.",
                ids.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        };
        if self.project.as_ref().is_some_and(|v| v.stream() != stream) {
            self.switch_stream(stream);
        }
        self.pending.push(AppCommand::SelectEntry(id));
    }
}
