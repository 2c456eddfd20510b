//! Presentation mode: full screen, larger type, and a script of steps (`demo::Script`) run one
//! after another, each with a caption. Each step becomes `AppCommand`s applied where every
//! other command is; a step goes on to the next by itself once it is done (the demo opened,
//! the playhead reached its time, or its hold time passed), unless the presenter paused the
//! script. N or Page Down steps now, P pauses and resumes, Esc leaves.

use crate::demo::{Demo, Script, Step, StepAction};
use crate::video::NS_PER_MS;

use super::AppCommand;
use super::command::Command;

/// What a step waits on, read from the app each frame.
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// `egui`'s clock, in seconds.
    pub now_s: f64,
    pub playhead_ms: i64,
    /// A project is open with its first frame shown (or no video to show).
    pub ready: bool,
    /// A run a step started (the chart's evaluation) is still going.
    pub busy: bool,
}

#[derive(Debug, Default)]
pub struct Presentation {
    script: Option<Script>,
    active: bool,
    /// The step on show.
    index: usize,
    /// The step on show still has to be run.
    pending: bool,
    /// When the step on show started, on egui's clock.
    started_s: f64,
    paused: bool,
    /// What the last `answer` step found, shown under its caption.
    answer: Option<String>,
}

impl Presentation {
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.active
    }

    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The step on show, 0-based, and the number of steps.
    #[must_use]
    pub fn position(&self) -> Option<(usize, usize)> {
        let script = self.script.as_ref().filter(|_| self.active)?;
        Some((self.index, script.steps.len()))
    }

    fn step(&self) -> Option<&Step> {
        self.script.as_ref()?.steps.get(self.index)
    }

    /// Starts `script` from its first step.
    pub fn start(&mut self, script: Script) {
        self.script = Some(script);
        self.active = true;
        self.index = 0;
        self.pending = true;
        self.paused = false;
        self.answer = None;
    }

    pub fn stop(&mut self) {
        self.active = false;
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
    }

    /// Goes on to the next step now (the last one stays on show).
    pub fn next(&mut self) {
        let Some(script) = &self.script else { return };
        if self.active && self.index + 1 < script.steps.len() {
            self.index += 1;
            self.pending = true;
        }
    }

    pub fn set_answer(&mut self, line: String) {
        self.answer = Some(line);
    }

    /// Runs the step on show when it is new, and goes on when it is done.
    pub fn tick(&mut self, stage: Stage) -> Vec<AppCommand> {
        if !self.active {
            return Vec::new();
        }
        if self.pending {
            self.pending = false;
            self.started_s = stage.now_s;
            return self.step().map(commands).unwrap_or_default();
        }
        let Some(step) = self.step() else {
            return Vec::new();
        };
        let held = (stage.now_s - self.started_s) * 1000.0 >= step.hold_ms as f64;
        let done = match step.action {
            StepAction::WaitUntil { at_ms } => stage.playhead_ms >= at_ms,
            StepAction::OpenDemo => stage.ready && held,
            // The chart is the evaluation's: its step lasts until the run has drawn it.
            StepAction::Chart { .. } => held && !stage.busy,
            _ => held,
        };
        if done && !self.paused {
            self.next();
        }
        Vec::new()
    }

    /// The caption bar: the step's caption, large, with where it is and the keys. It takes its
    /// own room under the timeline, so it never hides the lanes it talks about. Returns its
    /// rect, which windows keep clear of.
    pub fn caption_panel(&self, ui: &mut egui::Ui) -> Option<egui::Rect> {
        let (Some(step), Some((index, count))) = (self.step(), self.position()) else {
            return None;
        };
        egui::Panel::bottom("presentation-caption")
            .frame(
                egui::Frame::side_top_panel(ui.style())
                    .fill(ui.visuals().extreme_bg_color)
                    .inner_margin(egui::Margin::symmetric(16, 10)),
            )
            .show(ui, |ui| {
                ui.label(egui::RichText::new(&step.caption).size(22.0).strong());
                if let (StepAction::Answer { .. }, Some(answer)) = (&step.action, &self.answer) {
                    ui.label(egui::RichText::new(answer).size(18.0));
                }
                let is_mac = ui.ctx().os().is_mac();
                ui.weak(format!(
                    "Step {} of {count}{} · {}: next · {}: {} · {}: leave",
                    index + 1,
                    if self.paused { " (paused)" } else { "" },
                    Command::PresentationNext.all_shortcuts_text(is_mac),
                    Command::PresentationPause.key_text(is_mac),
                    if self.paused { "resume" } else { "pause" },
                    Command::LeavePresentation.key_text(is_mac),
                ));
            })
            .response
            .rect
            .into()
    }
}

/// What a step does, as commands.
fn commands(step: &Step) -> Vec<AppCommand> {
    match &step.action {
        StepAction::OpenDemo => vec![AppCommand::OpenDemo(Demo::Stream)],
        StepAction::Seek { at_ms } => vec![AppCommand::Seek(at_ms.saturating_mul(NS_PER_MS))],
        StepAction::Speed(speed) => vec![AppCommand::SetSpeed(*speed)],
        StepAction::Play => vec![AppCommand::SetPlaying(true)],
        StepAction::Pause => vec![AppCommand::SetPlaying(false)],
        StepAction::MemorizeGeneral => vec![AppCommand::SetMemorizing(true)],
        StepAction::WaitUntil { .. } => Vec::new(),
        StepAction::Trigger { task_id, adapter } => vec![AppCommand::TriggerTask {
            task_id: task_id.clone(),
            adapter: adapter.clone(),
        }],
        StepAction::Inspect { lane, at_ms } => vec![AppCommand::InspectAt {
            lane: lane.clone(),
            at_ms: *at_ms,
        }],
        StepAction::Answer { task_id } => vec![AppCommand::AnswerTask(task_id.clone())],
        StepAction::Chart { adapter } => vec![AppCommand::DemoChart(adapter.clone())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(now_s: f64, playhead_ms: i64) -> Stage {
        Stage {
            now_s,
            playhead_ms,
            ready: true,
            busy: false,
        }
    }

    /// Issue 31: the chart step held 10 s while its evaluation took 27-31 s, so the script
    /// ended on an empty window. It now lasts until the run is done, however long.
    #[test]
    fn the_chart_step_lasts_until_its_evaluation_is_done() {
        let script = Script::parse(
            std::path::Path::new("s.txt"),
            "chart a.safetensors hold 2s | chart\nplay | after\n",
        )
        .unwrap();
        let mut p = Presentation::default();
        p.start(script);
        assert!(matches!(
            p.tick(stage(0.0, 0)).as_slice(),
            [AppCommand::DemoChart(_)]
        ));
        let running = |now_s| Stage {
            busy: true,
            ..stage(now_s, 0)
        };
        for now_s in [1.0, 2.5, 10.0, 30.0] {
            p.tick(running(now_s));
            assert_eq!(p.position(), Some((0, 2)), "still running at {now_s} s");
        }
        p.tick(stage(31.0, 0));
        assert_eq!(p.position(), Some((1, 2)), "done: on to the next step");
    }

    #[test]
    fn steps_run_once_hold_wait_for_the_playhead_and_pause() {
        let script = Script::parse(
            std::path::Path::new("s.txt"),
            "seek 10s hold 1s | a\nwait-until 20s | b\nplay | c\n",
        )
        .unwrap();
        let mut p = Presentation::default();
        p.start(script);
        assert_eq!(
            p.tick(stage(0.0, 0)),
            vec![AppCommand::Seek(10_000 * NS_PER_MS)]
        );
        assert!(p.tick(stage(0.5, 0)).is_empty());
        assert_eq!(p.position(), Some((0, 3)));
        // Held long enough: on to the wait, which does nothing until the playhead gets there.
        assert!(p.tick(stage(1.1, 0)).is_empty());
        assert_eq!(p.position(), Some((1, 3)));
        assert!(p.tick(stage(1.2, 10_000)).is_empty());
        assert!(p.tick(stage(60.0, 19_999)).is_empty());
        assert_eq!(p.position(), Some((1, 3)));
        // Paused, the reached time does not step on; resumed, it does.
        p.toggle_pause();
        p.tick(stage(61.0, 20_000));
        assert_eq!(p.position(), Some((1, 3)));
        p.toggle_pause();
        p.tick(stage(61.1, 20_000));
        assert_eq!(
            p.tick(stage(61.2, 20_000)),
            vec![AppCommand::SetPlaying(true)]
        );
        // The last step stays; N does nothing more; leaving ends it.
        p.next();
        assert_eq!(p.position(), Some((2, 3)));
        p.stop();
        assert_eq!(p.position(), None);
        assert!(p.tick(stage(99.0, 0)).is_empty());
    }
}
