//! The Evaluate window's run comparison: two results folders (the project's runs to pick
//! from, or typed paths), per task type what each run scored and how many answers turned,
//! then each question whose answer changed, with a jump to the memory each answer used. The
//! comparing itself is `eval::compare`'s.

use std::path::{Path, PathBuf};

use egui::RichText;

use super::AppCommand;
use crate::eval::compare::{Answer, Change, Comparison, QuestionChange, compare_dirs};
use crate::timefmt::format_hms_ms;

const NS_PER_MS: i64 = 1_000_000;

/// The comparison's form and what it shows.
#[derive(Debug, Default)]
pub struct CompareRuns {
    pub a: String,
    pub b: String,
    /// Every question, not only those whose answer changed.
    pub show_all: bool,
    /// The project's results folders, newest first, listed when the project changes.
    runs: Vec<PathBuf>,
    listed_for: Option<PathBuf>,
    shown: Option<Comparison>,
    error: Option<String>,
}

impl CompareRuns {
    /// Lists `project`'s evaluation runs (`eval/*` with results) when it is another project.
    pub fn set_project(&mut self, project: Option<&Path>) {
        if self.listed_for.as_deref() == project {
            return;
        }
        self.listed_for = project.map(Path::to_path_buf);
        self.runs = project.map(project_runs).unwrap_or_default();
        let name = |p: &PathBuf| p.display().to_string();
        if let (Some(newest), Some(before)) = (self.runs.first(), self.runs.get(1)) {
            self.b = name(newest);
            self.a = name(before);
        }
    }

    /// Lists the project's runs again at the next [`Self::set_project`].
    pub fn forget_runs(&mut self) {
        self.listed_for = None;
    }

    /// The comparison shown, if any.
    #[must_use]
    pub fn shown(&self) -> Option<&Comparison> {
        self.shown.as_ref()
    }

    /// Reads both folders and compares them; the error, naming the file, when one is not a
    /// results folder.
    pub fn compare(&mut self) {
        match compare_dirs(Path::new(self.a.trim()), Path::new(self.b.trim())) {
            Ok(c) => {
                self.shown = Some(c);
                self.error = None;
            }
            Err(e) => {
                self.shown = None;
                self.error = Some(e.to_string());
            }
        }
    }

    /// The form, the per-type table and the changed questions.
    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<AppCommand>) {
        for (label, path) in [("Run A", &mut self.a), ("Run B", &mut self.b)] {
            ui.horizontal(|ui| {
                ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(path)
                        .desired_width(360.0)
                        .hint_text("a results folder"),
                );
                egui::ComboBox::from_id_salt(("compare run", label))
                    .selected_text("project runs")
                    .show_ui(ui, |ui| {
                        if self.runs.is_empty() {
                            ui.weak("no evaluation run in this project yet");
                        }
                        for run in &self.runs {
                            let name = run.file_name().map_or_else(
                                || run.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            );
                            if ui.selectable_label(false, name).clicked() {
                                *path = run.display().to_string();
                            }
                        }
                    })
                    .response
                    .on_hover_text("The evaluation runs saved in the project's eval/ folder");
            });
        }
        ui.horizontal(|ui| {
            if ui
                .button("Compare runs")
                .on_hover_text("Per task type and per question: which answers changed from A to B")
                .clicked()
            {
                self.compare();
            }
            ui.checkbox(&mut self.show_all, "unchanged questions too");
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if let Some(c) = &self.shown {
            types_ui(ui, c);
            questions_ui(ui, c, self.show_all, commands);
        }
    }
}

/// A project's results folders (`eval/*/results.parquet`), newest first.
fn project_runs(project: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(project.join("eval")) else {
        return Vec::new();
    };
    let mut runs: Vec<(std::time::SystemTime, PathBuf)> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("results.parquet").is_file())
        .map(|p| {
            let modified = std::fs::metadata(p.join("results.parquet"))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    runs.sort_by(|x, y| y.cmp(x));
    runs.into_iter().map(|(_, p)| p).collect()
}

fn types_ui(ui: &mut egui::Ui, c: &Comparison) {
    egui::Grid::new("compare types")
        .striped(true)
        .num_columns(7)
        .show(ui, |ui| {
            for head in [
                "task type",
                "n",
                "acc A",
                "acc B",
                "fixed",
                "broken",
                "other",
            ] {
                ui.strong(head);
            }
            ui.end_row();
            for (name, t) in &c.types {
                ui.label(name);
                ui.label(t.n.to_string());
                ui.label(format!("{:.1}%", t.acc_a));
                ui.label(format!("{:.1}%", t.acc_b));
                ui.label(t.fixed.to_string());
                ui.label(t.broken.to_string());
                ui.label(t.different.to_string());
                ui.end_row();
            }
        });
}

fn questions_ui(ui: &mut egui::Ui, c: &Comparison, show_all: bool, commands: &mut Vec<AppCommand>) {
    let rows: Vec<&QuestionChange> = c
        .questions
        .iter()
        .filter(|q| show_all || q.change != Change::Same)
        .collect();
    ui.weak(format!(
        "{} of {} questions {}",
        rows.len(),
        c.questions.len(),
        if show_all { "" } else { "changed" }
    ));
    egui::ScrollArea::vertical()
        .id_salt("compare questions")
        .max_height(260.0)
        .show_rows(ui, 22.0, rows.len(), |ui, range| {
            for q in &rows[range] {
                question_ui(ui, q, commands);
            }
        });
}

fn question_ui(ui: &mut egui::Ui, q: &QuestionChange, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        let color = match q.change {
            Change::Fixed => egui::Color32::from_rgb(60, 170, 90),
            Change::Broken => ui.visuals().error_fg_color,
            _ => ui.visuals().weak_text_color(),
        };
        ui.label(RichText::new(q.change.name()).color(color).strong());
        ui.label(format!(
            "{} · {} · {} · {} · expected {}",
            q.task_type,
            q.task_id,
            q.lane,
            &format_hms_ms(q.ask_ms * NS_PER_MS)[..8],
            q.expected
        ));
        for (run, answer) in [("A", &q.a), ("B", &q.b)] {
            answer_ui(ui, run, q, answer.as_ref(), commands);
        }
    });
}

fn answer_ui(
    ui: &mut egui::Ui,
    run: &str,
    q: &QuestionChange,
    answer: Option<&Answer>,
    commands: &mut Vec<AppCommand>,
) {
    let Some(a) = answer else {
        ui.weak(format!("{run}: not asked"));
        return;
    };
    let said = if a.abstained {
        "E (not enough in memory)".to_owned()
    } else {
        a.answer.clone()
    };
    ui.label(format!("{run}: {said}"));
    let jump = ui
        .add_enabled(
            !a.entries_used.is_empty(),
            egui::Button::new(format!("{run}'s memory")).small(),
        )
        .on_hover_text(format!(
            "Select the memory entries run {run}'s answer rested on ({}) on the timeline",
            a.entries_used
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .on_disabled_hover_text("This answer rested on no memory entry");
    if jump.clicked() {
        commands.push(AppCommand::JumpToMemory {
            stream: q.stream.clone(),
            ids: a.entries_used.clone(),
        });
    }
}
