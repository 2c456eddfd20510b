//! Memory lanes at work: memorizing while playing (the General lane, an adapter's lane, a
//! remote model's), the trigger tasks that switch lanes, the inspector's look across lanes,
//! and answering a task from the memory written before it arrived.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::task_panel::SideTab;
use super::{AppCommand, NEEDS_PROJECT, TaskMemApp, memorize};
use crate::timefmt::format_hms_ms;
use crate::video::NS_PER_MS;

impl TaskMemApp {
    /// Starts "Memorize while playing" on the open project's stream and video: the general
    /// lane, or with `adapter` a lane named after it.
    pub(super) fn start_memorizing(&mut self, adapter: Option<PathBuf>) {
        self.start_lane(adapter, None);
    }

    /// The lane a live adapter lane gets: the adapter file's name; an adapter named like the
    /// general lane must not write into it.
    pub(super) fn adapter_lane(adapter: &Path) -> String {
        match adapter
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
        {
            Some(stem) if stem == memorize::LIVE_LANE => format!("adapter-{}", memorize::LIVE_LANE),
            Some(stem) => stem,
            None => "adapter".to_owned(),
        }
    }

    /// A question arrives as a trigger: the task switches to the adapter's lane from its ask
    /// time, and that lane is memorized with the adapter from now on.
    pub(super) fn trigger_task(&mut self, task_id: &str, adapter: PathBuf) {
        let Some(view) = &self.project else {
            self.toasts.error(NEEDS_PROJECT);
            return;
        };
        let Some(task) = view.tasks().get(view.stream(), task_id) else {
            self.toasts.error(format!(
                "no task {task_id} in stream {} of {}",
                view.stream(),
                view.dir().display()
            ));
            return;
        };
        let mut task = task.clone();
        task.trigger = true;
        task.switch_to = Some(Self::adapter_lane(&adapter));
        self.pending.push(AppCommand::PutTask(Box::new(task)));
        self.pending
            .push(AppCommand::SelectTask(Some(task_id.to_owned())));
        if !self
            .memorize
            .lanes()
            .contains(&Self::adapter_lane(&adapter).as_str())
        {
            self.start_memorizing(Some(adapter));
        }
    }

    /// Selects `lane`'s entry covering `at_ms`, on the Memory tab.
    pub(super) fn inspect_at(&mut self, lane: &str, at_ms: i64) {
        let Some(view) = &self.project else {
            return;
        };
        let found = view
            .lane_entries(lane)
            .iter()
            .find(|e| e.start_ms <= at_ms && at_ms < e.end_ms)
            .map(|e| e.id);
        match found {
            Some(id) => {
                self.tasks.tab = SideTab::Memory;
                self.settings.hide_side_panel = false;
                self.pending.push(AppCommand::SelectEntry(id));
                // The inspector is what the step talks about: brought into the panel's view.
                if let Some(view) = &mut self.project {
                    view.reveal_inspector();
                }
            }
            None => self.toasts.warning(format!(
                "lane {lane} holds no entry at {} yet",
                format_hms_ms(at_ms * NS_PER_MS)
            )),
        }
    }

    /// Answers a task from the General lane's memory written before it arrived, with the
    /// built-in answerer; the line goes to the presentation's caption and a toast.
    pub(super) fn answer_task(&mut self, task_id: &str) {
        use crate::eval::answer::{Answerer as _, BuiltinAnswerer, Question};
        let Some(view) = &self.project else {
            return;
        };
        let Some(task) = view.tasks().get(view.stream(), task_id) else {
            self.toasts
                .error(format!("no task {task_id} in stream {}", view.stream()));
            return;
        };
        let lane = view
            .lanes()
            .iter()
            .find(|l| l.general)
            .map_or(memorize::LIVE_LANE, |l| l.id.as_str());
        let memory: Vec<&crate::memory::MemoryEntry> = view
            .lane_entries(lane)
            .iter()
            .filter(|e| e.available_ms <= task.ask_ms)
            .collect();
        let told = match BuiltinAnswerer.answer(&Question::of_task(task), &memory) {
            Ok(reply) => {
                let verdict = if reply.abstained {
                    "the memory does not say, so it abstains"
                } else if reply.answer.eq_ignore_ascii_case(&task.answer) {
                    "right"
                } else {
                    "wrong"
                };
                format!(
                    "Answer from {} entries of lane {lane}: {} ({verdict}; the truth is {})",
                    memory.len(),
                    reply.answer,
                    task.answer
                )
            }
            Err(e) => format!("cannot answer: {e}"),
        };
        if self.presentation.is_active() {
            self.presentation.set_answer(told);
        } else {
            self.toasts.info(told);
        }
    }

    /// A lane memorized by the remote model in the settings, named after the model.
    pub(super) fn start_memorizing_remote(&mut self) {
        let model = self.settings.remote_model.trim().to_owned();
        if model.is_empty() {
            self.toasts
                .error("Name the remote model first (Policy menu, Remote model)");
            return;
        }
        let mut remote = crate::remote::RemoteSettings::from_env(&model);
        if !self.settings.remote_base_url.trim().is_empty() {
            self.settings
                .remote_base_url
                .trim()
                .clone_into(&mut remote.base_url);
        }
        if !self.settings.remote_api_key_env.trim().is_empty() {
            self.settings
                .remote_api_key_env
                .trim()
                .clone_into(&mut remote.api_key_env);
        }
        // TaskMem's rate: one frame per second of the clip.
        self.start_lane(None, Some((remote, 10)));
    }

    pub(super) fn start_lane(
        &mut self,
        adapter: Option<PathBuf>,
        remote: Option<(crate::remote::RemoteSettings, usize)>,
    ) {
        let (Some(view), Some(player)) = (&mut self.project, &self.player) else {
            self.toasts.error(NEEDS_PROJECT);
            return;
        };
        if player.decoder.is_none() {
            self.toasts.error(format!(
                "Stream {} has no video on this machine: nothing to memorize",
                view.stream()
            ));
            return;
        }
        let lane = match (adapter.as_deref(), &remote) {
            (_, Some((r, _))) if r.model == memorize::LIVE_LANE => {
                format!("remote-{}", memorize::LIVE_LANE)
            }
            (_, Some((r, _))) => r.model.clone(),
            (Some(adapter), None) => Self::adapter_lane(adapter),
            (None, None) => memorize::LIVE_LANE.to_owned(),
        };
        let general = adapter.is_none() && remote.is_none() && !view.has_general_lane();
        if let Err(e) = view.ensure_lane(&lane, general, adapter.as_deref()) {
            self.toasts.error(e.to_string());
            return;
        }
        // The app builds a remote lane's client: the lane's thread memorizes through it and the
        // status line shows its counters.
        let remote = remote.map(|(settings, frames)| {
            Arc::new(crate::remote::policy::RemoteLane {
                client: crate::remote::client::ChatClient::new(settings),
                frames,
            })
        });
        let settings = crate::policy::live::LiveSettings {
            video: player.path.clone(),
            project_dir: view.dir().to_path_buf(),
            stream: view.stream().to_owned(),
            lane: lane.clone(),
            clip_ms: view.clip_ms(),
            model_dir: self.settings.policy_model.clone(),
            adapter,
            budget_tokens: self.settings.policy_budget_tokens,
            remote: remote
                .clone()
                .map(|r| r as Arc<dyn crate::policy::live::ServedPolicy>),
            next_id: std::sync::Arc::default(),
        };
        self.memorize.reserve_ids_from(view.next_entry_id());
        let held = view.lane_clip_starts(&lane);
        let counters = remote.map(|r| Arc::clone(&r.client.counters));
        if let Err(e) = self.memorize.start(settings, held, counters) {
            self.toasts
                .error(format!("cannot start the memorizing thread: {e}"));
        }
    }

    /// Takes what the live memorizer wrote and reported.
    pub(super) fn poll_memorize(&mut self, ctx: &egui::Context) {
        if !self.memorize.is_on() && !self.memorize.busy() {
            return;
        }
        let polled = self.memorize.poll();
        for error in polled.errors {
            self.toasts.error(error);
        }
        if let Some(view) = &mut self.project
            && !polled.written.is_empty()
        {
            view.add_entries(polled.written);
        }
        if self.memorize.busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }
}
