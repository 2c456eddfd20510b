//! Task authoring: the tasks lane under the memory lanes (markers at ask times, the selected
//! task's evidence spans, drag to set a span), the task form (text, options, answer, type,
//! trigger, evidence with edge nudging) and the task library (filters, counts per type, bulk
//! retype and delete, the "recent tasks" view Phase Two reads). The panel keeps only view
//! state; every change to a task is an [`AppCommand`] applied (and made undoable) in one place.

use std::collections::BTreeSet;

use egui::{Color32, Rect, Sense, Stroke, StrokeKind, pos2, vec2};

use crate::app::AppCommand;
use crate::app::command::Command;
use crate::app::ui::ruler::TimeRuler;
use crate::memory::Lane;
use crate::studio::task_edit::{Edge, TaskKey};
use crate::tasks::{
    KNOWN_TYPES, MAX_OPTIONS, Span, Task, TaskColumn, TaskFilter, TaskLibrary, option_letter,
};
use crate::timefmt::{format_hms_ms, parse_time_ns};
use crate::video::NS_PER_MS;

/// Room the task id field leaves for its row's Duplicate and Delete buttons.
const ID_ROW_BUTTONS_WIDTH: f32 = 150.0;

const TASK_LANE_HEIGHT: f32 = 20.0;
const LIBRARY_ROW_HEIGHT: f32 = 20.0;
const CHECK_COL: f32 = 24.0;
/// The library's column widths: a column's header edge drags it wider or narrower (the
/// question column takes what is left).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnWidths {
    pub stream: f32,
    pub asked: f32,
    pub task_type: f32,
    pub evidence: f32,
    pub answer: f32,
    pub source: f32,
}

impl Default for ColumnWidths {
    fn default() -> Self {
        Self {
            stream: 72.0,
            asked: 62.0,
            task_type: 100.0,
            evidence: 24.0,
            answer: 48.0,
            source: 64.0,
        }
    }
}

impl ColumnWidths {
    /// The narrowest and widest a dragged column may be.
    const RANGE: std::ops::RangeInclusive<f32> = 20.0..=400.0;

    fn of(&mut self, column: TaskColumn) -> Option<&mut f32> {
        match column {
            TaskColumn::Stream => Some(&mut self.stream),
            TaskColumn::Asked => Some(&mut self.asked),
            TaskColumn::Type => Some(&mut self.task_type),
            TaskColumn::Evidence => Some(&mut self.evidence),
            TaskColumn::Answer => Some(&mut self.answer),
            TaskColumn::Source => Some(&mut self.source),
            TaskColumn::Question => None,
        }
    }

    /// Widens (or narrows) `column` by `dx` points, within [`Self::RANGE`].
    pub fn resize(&mut self, column: TaskColumn, dx: f32) {
        if let Some(width) = self.of(column) {
            *width = (*width + dx).clamp(*Self::RANGE.start(), *Self::RANGE.end());
        }
    }
}
/// The memory's clip length: dragged evidence edges snap to its boundaries.
const CLIP_MS: i64 = 10_000;
/// How near (in pixels) a dragged edge must come to a clip boundary to snap to it.
const SNAP_PX: f32 = 6.0;
/// A new evidence span made from the form (not by dragging) covers one clip.
const DEFAULT_SPAN_MS: i64 = 10_000;

/// What the right-hand column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    Memory,
    Task,
    Library,
}

/// Which tasks the library lists by their evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EvidenceFilter {
    Any,
    With,
    Without,
}

pub struct TaskPanel {
    pub tab: SideTab,
    /// The selected task's id in the current stream.
    selected: Option<String>,
    /// The form's copy of the selected task, and the stored version it was made from.
    draft: Option<Task>,
    synced: Option<Task>,
    /// The id field as typed (committed on Enter or when it loses focus).
    id_text: String,
    ask_text: String,
    focus_text: bool,
    /// The evidence span (by index) and edge the keyboard nudges.
    pub span_index: usize,
    pub edge: Edge,
    /// Where a drag on the tasks lane started, stream ms.
    drag_origin_ms: Option<i64>,
    // Library.
    filter: TaskFilter,
    evidence_filter: EvidenceFilter,
    all_streams: bool,
    recent_only: bool,
    checked: BTreeSet<TaskKey>,
    retype_to: String,
    rows: Vec<usize>,
    /// The column the library is ordered by (`None`: the library's own order) and whether
    /// descending; a click on a column's header sets it, a second click turns it round.
    sort: Option<(TaskColumn, bool)>,
    pub columns: ColumnWidths,
    /// What `rows` was computed for: the filter, the view, the order and the library's
    /// generation.
    rows_for: Option<RowsKey>,
    /// Distinct types, sources and authors for the filter combos, per library generation.
    distinct: Option<(u64, [Vec<String>; 3])>,
}

impl Default for TaskPanel {
    fn default() -> Self {
        Self {
            tab: SideTab::Memory,
            selected: None,
            draft: None,
            synced: None,
            id_text: String::new(),
            ask_text: String::new(),
            focus_text: false,
            span_index: 0,
            edge: Edge::Start,
            drag_origin_ms: None,
            filter: TaskFilter::default(),
            evidence_filter: EvidenceFilter::Any,
            all_streams: false,
            recent_only: false,
            checked: BTreeSet::new(),
            retype_to: String::new(),
            rows: Vec::new(),
            sort: None,
            columns: ColumnWidths::default(),
            rows_for: None,
            distinct: None,
        }
    }
}

type RowsKey = (
    TaskFilter,
    EvidenceFilter,
    bool,
    bool,
    String,
    i64,
    u64,
    Option<(TaskColumn, bool)>,
);

/// What the panel reads each frame.
pub struct TaskView<'a> {
    pub library: &'a TaskLibrary,
    /// Bumped on every change to the library, so cached rows know when to refresh.
    pub generation: u64,
    pub stream: &'a str,
    pub lanes: &'a [Lane],
    pub position_ns: i64,
    pub duration_ns: i64,
    /// The video's frame start times: dragged evidence edges snap to them.
    pub frame_times_ns: &'a [i64],
    /// Tasks can be changed (a project is open).
    pub editable: bool,
}

/// One table cell: fixed width, text cut with an ellipsis.
fn cell(ui: &mut egui::Ui, width: f32, text: impl Into<egui::WidgetText>) {
    ui.allocate_ui_with_layout(
        vec2(width, LIBRARY_ROW_HEIGHT - 2.0),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.add(egui::Label::new(text).truncate());
        },
    );
}

/// A column header: its name as a flat button that orders the library by it, with a
/// triangle when it does (up: ascending), and (but for the question column, which takes what
/// is left) a right edge that drags the column wider. Returns whether it was clicked and how
/// far its edge was dragged.
fn header_cell(
    ui: &mut egui::Ui,
    width: f32,
    name: &str,
    sort: Option<(TaskColumn, bool)>,
    column: TaskColumn,
) -> (bool, f32) {
    let direction = sort.filter(|(c, _)| *c == column).map(|(_, d)| d);
    let order = match direction {
        None => "click to order by it",
        Some(false) => "ascending; click for descending",
        Some(true) => "descending; click for the library's own order",
    };
    let cell = ui.allocate_ui_with_layout(
        vec2(width, LIBRARY_ROW_HEIGHT - 2.0),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.set_max_width(width);
            let response = ui
                .add(egui::Button::new(egui::RichText::new(name).weak()).frame(false))
                .on_hover_text(format!("Order by {name}: {order}"));
            if let Some(descending) = direction {
                let r = response.rect;
                let c = pos2(r.right() + 6.0, r.center().y);
                let (tip, base) = if descending { (3.0, -3.0) } else { (-3.0, 3.0) };
                ui.painter().add(egui::Shape::convex_polygon(
                    vec![
                        pos2(c.x, c.y + tip),
                        pos2(c.x - 4.0, c.y + base),
                        pos2(c.x + 4.0, c.y + base),
                    ],
                    ui.visuals().strong_text_color(),
                    Stroke::NONE,
                ));
            }
            response.clicked()
        },
    );
    let clicked = cell.inner;
    if column == TaskColumn::Question {
        return (clicked, 0.0);
    }
    let edge = cell.response.rect.right();
    let handle = Rect::from_x_y_ranges(edge - 3.0..=edge + 3.0, cell.response.rect.y_range());
    let drag = ui
        .interact(
            handle,
            ui.scope_id().with(("column edge", name)),
            Sense::drag(),
        )
        .on_hover_cursor(egui::CursorIcon::ResizeHorizontal)
        .on_hover_text(format!("Drag to widen or narrow the {name} column"));
    (clicked, drag.drag_delta().x)
}

fn hms(ms: i64) -> String {
    format_hms_ms(ms * NS_PER_MS)
}

fn marker(painter: &egui::Painter, x: f32, rect: Rect, color: Color32, outline: Option<Stroke>) {
    painter.add(egui::Shape::convex_polygon(
        vec![
            pos2(x - 5.0, rect.top() + 2.0),
            pos2(x + 5.0, rect.top() + 2.0),
            pos2(x, rect.bottom() - 3.0),
        ],
        color,
        outline.unwrap_or(Stroke::NONE),
    ));
}

fn task_color(task: &Task) -> Color32 {
    if task.trigger {
        Color32::from_rgb(240, 90, 80)
    } else {
        match task.source {
            crate::tasks::TaskSource::Authored => Color32::from_rgb(240, 200, 90),
            crate::tasks::TaskSource::World => Color32::from_rgb(150, 170, 240),
            crate::tasks::TaskSource::Imported(_) => Color32::from_rgb(120, 200, 140),
        }
    }
}

/// The tooltip of a task: what, when, the answer and what it switches to.
fn task_summary(task: &Task) -> String {
    let mut text = format!(
        "{} · {} · asked at {}\n{}",
        if task.task_type.is_empty() {
            "untyped"
        } else {
            &task.task_type
        },
        task.source.label(),
        hms(task.ask_ms),
        if task.text.is_empty() {
            "(no text yet)"
        } else {
            &task.text
        }
    );
    for option in task.lettered_options() {
        text.push_str("\n  ");
        text.push_str(&option);
    }
    if !task.answer.is_empty() {
        text.push_str("\nAnswer: ");
        text.push_str(&task.answer);
    }
    if task.trigger {
        text.push_str("\nTrigger: switches to ");
        text.push_str(task.switch_to.as_deref().unwrap_or("(no lane)"));
    }
    text
}

impl TaskPanel {
    #[must_use]
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Selects a task of the current stream (`None` clears); the form follows.
    pub fn select(&mut self, id: Option<String>) {
        if self.selected != id {
            self.span_index = 0;
            self.edge = Edge::Start;
        }
        self.selected = id;
        self.draft = None;
        self.synced = None;
    }

    /// The library lists every stream's tasks (imported ones on other streams show at once).
    pub fn show_all_streams(&mut self) {
        self.all_streams = true;
    }

    /// Forgets everything tied to the open project (another project was opened).
    pub fn reset(&mut self) {
        *self = Self {
            tab: self.tab,
            ..Self::default()
        };
    }

    /// The ids of the tasks ticked in the library (Phase Two can tune on exactly these).
    #[must_use]
    pub fn checked_ids(&self) -> Vec<String> {
        self.checked.iter().map(|k| k.id.clone()).collect()
    }

    /// Clears the bulk selection (another stream is shown).
    pub fn clear_checked(&mut self) {
        self.checked.clear();
    }

    /// Shows the form with the text field focused (a task was just created).
    pub fn open_form(&mut self) {
        self.tab = SideTab::Task;
        self.focus_text = true;
    }

    /// The lane of task markers under the memory lanes: hover shows a task, click selects it
    /// and seeks to its ask time, drag sets the selected task's evidence span (Shift+drag adds
    /// one).
    pub fn lane_ui(
        &mut self,
        ui: &mut egui::Ui,
        ruler: &TimeRuler,
        tasks: &[Task],
        view: &TaskView<'_>,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let width = ui.available_width();
        let (rect, response) =
            ui.allocate_exact_size(vec2(width, TASK_LANE_HEIGHT), Sense::click_and_drag());
        let duration_ms = view.duration_ns / NS_PER_MS;
        let ms_at =
            |x: f32| ((ruler.time_from_x(rect, x) / 1e6).round() as i64).clamp(0, duration_ms);
        let x_of = |ms: i64| ruler.x_from_time(rect, (ms * NS_PER_MS) as f64);
        let nearest = response
            .hover_pos()
            .or_else(|| response.interact_pointer_pos())
            .and_then(|pos| {
                tasks
                    .iter()
                    .map(|t| (t, (x_of(t.ask_ms) - pos.x).abs()))
                    .filter(|(_, dx)| *dx <= 6.0)
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(t, _)| t)
            });
        let selected = self
            .selected
            .as_deref()
            .and_then(|id| tasks.iter().find(|t| t.id == id));
        // An undo may have taken spans away.
        if let Some(task) = selected {
            self.span_index = self.span_index.min(task.evidence.len().saturating_sub(1));
        }

        // Dragging sets evidence of the selected task. Edges land on frames, and on a clip
        // boundary within a few pixels of one.
        let snapped = |x: f32| {
            let tolerance_ms = (ms_at(x + SNAP_PX) - ms_at(x)).abs();
            crate::playback::snap_edge_ms(ms_at(x), view.frame_times_ns, CLIP_MS, tolerance_ms)
        };
        if response.drag_started()
            && let Some(origin) = ui.input(|i| i.pointer.press_origin())
        {
            self.drag_origin_ms = Some(snapped(origin.x));
        }
        let drag_span = match (self.drag_origin_ms, response.interact_pointer_pos()) {
            (Some(origin), Some(pos)) if response.dragged() || response.drag_stopped() => {
                Some(Span::new(origin, snapped(pos.x)))
            }
            _ => None,
        };
        if response.drag_stopped() {
            self.drag_origin_ms = None;
            if let (Some(span), Some(task)) = (drag_span, selected)
                && view.editable
                && span.end_ms > span.start_ms
            {
                let add = ui.input(|i| i.modifiers.shift) || task.evidence.is_empty();
                commands.push(AppCommand::SetEvidence {
                    key: TaskKey::of(task),
                    index: (!add)
                        .then_some(self.span_index.min(task.evidence.len().saturating_sub(1))),
                    span,
                });
                self.span_index = if add {
                    task.evidence.len()
                } else {
                    self.span_index
                };
            }
        }

        if ui.is_rect_visible(rect) {
            self.paint_lane(ui, ruler, rect, tasks, selected, drag_span);
        }
        let count = tasks.len();
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Button,
                true,
                format!("Tasks lane ({count} tasks)"),
            )
        });
        if response.clicked() {
            match nearest {
                Some(t) => {
                    commands.push(AppCommand::SelectTask(Some(t.id.clone())));
                    commands.push(AppCommand::Seek(t.ask_ms * NS_PER_MS));
                }
                None => {
                    if let Some(pos) = response.interact_pointer_pos() {
                        commands.push(AppCommand::Seek(ms_at(pos.x) * NS_PER_MS));
                    }
                }
            }
        }
        if let Some(t) = nearest {
            response.on_hover_text_at_pointer(task_summary(t));
        } else if selected.is_some() && view.editable && drag_span.is_none() {
            response.on_hover_text_at_pointer(
                "Drag to set the selected task's evidence span (Shift+drag adds one)",
            );
        }
        commands
    }

    /// Paints the tasks lane: the selected task's evidence (its active edge marked), the
    /// span being dragged, and one marker per pixel column that holds any task.
    fn paint_lane(
        &self,
        ui: &egui::Ui,
        ruler: &TimeRuler,
        rect: Rect,
        tasks: &[Task],
        selected: Option<&Task>,
        drag_span: Option<Span>,
    ) {
        let x_of = |ms: i64| ruler.x_from_time(rect, (ms * NS_PER_MS) as f64);
        let width = rect.width();
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
        let evidence_fill = Color32::from_rgba_unmultiplied(120, 220, 150, 50);
        if let Some(task) = selected {
            for (i, span) in task.evidence.iter().enumerate() {
                let band =
                    Rect::from_x_y_ranges(x_of(span.start_ms)..=x_of(span.end_ms), rect.y_range());
                let active = i == self.span_index;
                painter.rect(
                    band,
                    2.0,
                    evidence_fill,
                    Stroke::new(1.0, Color32::from_rgb(120, 220, 150)),
                    StrokeKind::Inside,
                );
                if active {
                    let x = match self.edge {
                        Edge::Start => band.left(),
                        Edge::End => band.right(),
                    };
                    painter.line_segment(
                        [pos2(x, rect.top()), pos2(x, rect.bottom())],
                        Stroke::new(3.0, Color32::from_rgb(120, 220, 150)),
                    );
                }
            }
        }
        if let Some(span) = drag_span {
            painter.rect_filled(
                Rect::from_x_y_ranges(x_of(span.start_ms)..=x_of(span.end_ms), rect.y_range()),
                2.0,
                Color32::from_rgba_unmultiplied(240, 200, 90, 70),
            );
        }
        // One marker per pixel column that holds any task (dense sets stay cheap).
        let (start, end) = ruler.visible_range_ns(width);
        let from = tasks.partition_point(|t| ((t.ask_ms * NS_PER_MS) as f64) < start);
        let mut last_col = -1i64;
        for t in &tasks[from..] {
            if (t.ask_ms * NS_PER_MS) as f64 > end {
                break;
            }
            let x = x_of(t.ask_ms);
            let col = (x - rect.left()) as i64;
            if col == last_col && selected.is_none_or(|s| s.id != t.id) {
                continue;
            }
            last_col = col;
            marker(
                &painter,
                x,
                rect,
                task_color(t),
                selected
                    .is_some_and(|s| s.id == t.id)
                    .then(|| super::project_view::selection_outline(ui.visuals())),
            );
        }
        let hint = if tasks.is_empty() {
            format!(
                "Tasks: press {} to ask one at the playhead",
                Command::NewTask.shortcut_text(ui.ctx())
            )
        } else {
            "Tasks".to_owned()
        };
        painter.text(
            rect.left_center() + vec2(6.0, 0.0),
            egui::Align2::LEFT_CENTER,
            hint,
            egui::FontId::proportional(10.0),
            ui.visuals().weak_text_color(),
        );
    }

    /// The form for the selected task.
    pub fn form_ui(&mut self, ui: &mut egui::Ui, view: &TaskView<'_>) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let stored = self
            .selected
            .as_deref()
            .and_then(|id| view.library.get(view.stream, id))
            .cloned();
        let Some(stored) = stored else {
            self.selected = None;
            return Self::no_task_ui(ui, view);
        };
        // Another change (undo, a drag, a nudge) replaced the stored task: the form follows.
        if self.synced.as_ref() != Some(&stored) {
            self.draft = Some(stored.clone());
            self.synced = Some(stored.clone());
            self.id_text.clone_from(&stored.id);
            self.ask_text = hms(stored.ask_ms);
        }
        let Some(mut draft) = self.draft.take() else {
            return commands;
        };
        let key = TaskKey::of(&stored);

        self.header_ui(ui, view, &stored, &key, &mut commands);

        ui.add_enabled_ui(view.editable, |ui| {
            self.ask_row_ui(ui, view, &mut draft, &key, &mut commands);
            self.question_ui(ui, &mut draft, &key);
            type_and_trigger_ui(ui, view, &mut draft, &key);
            self.evidence_ui(ui, view, &mut draft, &mut commands);
        });

        ui.separator();
        match draft.validate() {
            Ok(warnings) => {
                for w in warnings {
                    ui.colored_label(Color32::from_rgb(230, 180, 80), w.to_string());
                }
            }
            Err(e) => {
                ui.colored_label(Color32::from_rgb(240, 110, 100), e.to_string());
            }
        }
        ui.weak(format!(
            "Changes save as you type; {} undoes them.",
            Command::Undo.shortcut_text(ui.ctx())
        ));

        // Every change saves at once (the log appends one line); typing in one field is one
        // undo step.
        let mut compare = draft.clone();
        compare.edited_unix_ms = stored.edited_unix_ms;
        if compare != stored && view.editable {
            draft.edited_unix_ms = crate::tasks::now_unix_ms();
            commands.push(AppCommand::PutTask(Box::new(draft.clone())));
            self.synced = Some(draft.clone());
        }
        self.draft = Some(draft);
        commands
    }

    /// The form with no task selected: how to make one.
    fn no_task_ui(ui: &mut egui::Ui, view: &TaskView<'_>) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        ui.add_space(8.0);
        ui.label("No task selected.");
        if view.editable {
            ui.weak(format!(
                "Press {} (or the button) to ask a new task at the playhead; click a marker on the tasks lane to edit one.",
                Command::NewTask.shortcut_text(ui.ctx())
            ));
            if ui
                .button("New task at playhead")
                .on_hover_text("Create a new task asked at the current playhead position")
                .clicked()
            {
                commands.push(AppCommand::NewTask {
                    ask_ms: view.position_ns / NS_PER_MS,
                });
            }
        } else {
            ui.weak("Tasks are saved in a project: Tasks > New project from this video.");
        }
        commands
    }

    /// The task's id (renamed when the field is left), Duplicate and Delete, and where it
    /// came from.
    fn header_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &TaskView<'_>,
        stored: &Task,
        key: &TaskKey,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            ui.strong("Task");
            let id_label = ui.label("id");
            let id_edit = ui.add_enabled(
                view.editable,
                egui::TextEdit::singleline(&mut self.id_text)
                    .id_salt(("task id", key))
                    // As wide as the row allows beside the two buttons: ids like
                    // "world-mme-1500-q0002" are read whole.
                    .desired_width((ui.available_width() - ID_ROW_BUTTONS_WIDTH).max(140.0)),
            );
            let id_edit = id_edit
                .labelled_by(id_label.id)
                .on_hover_text("The task's id in this stream; renamed when the field loses focus");
            if id_edit.lost_focus() && self.id_text.trim() != stored.id {
                commands.push(AppCommand::RenameTask {
                    key: key.clone(),
                    new_id: self.id_text.trim().to_owned(),
                });
            }
            if ui
                .add_enabled(view.editable, egui::Button::new("Duplicate"))
                .on_hover_text(format!(
                    "{} ({})",
                    Command::DuplicateTask.tooltip(),
                    Command::DuplicateTask.shortcut_text(ui.ctx())
                ))
                .clicked()
            {
                commands.push(AppCommand::DuplicateTask(key.clone()));
            }
            if ui
                .add_enabled(view.editable, egui::Button::new("Delete"))
                .on_hover_text("Delete this task (Undo brings it back)")
                .on_disabled_hover_text("Tasks can only be edited in a project")
                .clicked()
            {
                commands.push(AppCommand::DeleteTasks(vec![key.clone()]));
            }
        });
        ui.weak(format!(
            "{} · by {} · created {}",
            stored.source.label(),
            if stored.author.is_empty() {
                "unknown"
            } else {
                &stored.author
            },
            if stored.created_unix_ms > 0 {
                "in the app"
            } else {
                "on import"
            }
        ));
    }

    /// When the task is asked: typed, set to the playhead, or sought to.
    fn ask_row_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &TaskView<'_>,
        draft: &mut Task,
        key: &TaskKey,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            let ask_label = ui.label("Asked at");
            let ask = ui
                .add(
                    egui::TextEdit::singleline(&mut self.ask_text)
                        .id_salt(("task ask", key))
                        .desired_width(96.0),
                )
                .labelled_by(ask_label.id)
                .on_hover_text("When the task is asked in the stream, e.g. 1:30 or 90s");
            // Saved as soon as it reads as a time, so that nothing typed is lost when the
            // selection moves on; an unreadable entry goes back when the field is left.
            if ask.changed()
                && let Ok(ns) = parse_time_ns(&self.ask_text)
            {
                draft.ask_ms = (ns / NS_PER_MS).max(0);
            }
            if ask.lost_focus() && parse_time_ns(&self.ask_text).is_err() {
                self.ask_text = hms(draft.ask_ms);
            }
            if ui
                .button("Set to playhead")
                .on_hover_text("Set the ask time to the current playhead position")
                .clicked()
            {
                draft.ask_ms = view.position_ns / NS_PER_MS;
                self.ask_text = hms(draft.ask_ms);
            }
            if ui
                .button("Go")
                .on_hover_text("Seek to the ask time")
                .clicked()
            {
                commands.push(AppCommand::Seek(draft.ask_ms * NS_PER_MS));
            }
        });
    }

    /// The question, its options and its answer.
    fn question_ui(&mut self, ui: &mut egui::Ui, draft: &mut Task, key: &TaskKey) {
        let q_label = ui.label("Question");
        let text = ui
            .add(
                egui::TextEdit::multiline(&mut draft.text)
                    .id_salt(("task question", key))
                    .desired_rows(3)
                    .desired_width(f32::INFINITY)
                    .hint_text("What did the person put in the drawer?"),
            )
            .labelled_by(q_label.id)
            .on_hover_text("The question put to the model at the ask time");
        if std::mem::take(&mut self.focus_text) {
            text.request_focus();
        }

        ui.horizontal(|ui| {
            ui.label("Options");
            if draft.options.is_empty() {
                ui.weak("none: an open question");
            }
        });
        let mut remove = None;
        for (i, option) in draft.options.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                let letter = ui.label(format!("{}.", option_letter(i)));
                ui.add(
                    egui::TextEdit::singleline(option)
                        .id_salt(("task option", i, key))
                        .desired_width(ui.available_width() - 70.0),
                )
                .labelled_by(letter.id)
                .on_hover_text("The text of this answer option");
                if ui
                    .small_button("remove")
                    .on_hover_text("Remove this option from the question")
                    .clicked()
                {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            draft.options.remove(i);
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    draft.options.len() < MAX_OPTIONS,
                    egui::Button::new("Add option"),
                )
                .on_hover_text("Add an answer option, making this a multiple-choice question")
                .on_disabled_hover_text("This task already has the most options allowed")
                .clicked()
            {
                if draft.options.is_empty() {
                    draft.options.push(String::new());
                }
                draft.options.push(String::new());
            }
            if !draft.options.is_empty()
                && ui
                    .button("Make it open")
                    .on_hover_text("Remove the options and the answer: an open question")
                    .clicked()
            {
                draft.options.clear();
                draft.answer.clear();
            }
        });

        ui.horizontal(|ui| {
            let answer_label = ui.label("Answer");
            if draft.options.is_empty() {
                ui.add(
                    egui::TextEdit::singleline(&mut draft.answer)
                        .id_salt(("task answer", key))
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(answer_label.id)
                .on_hover_text("The expected answer to this open question");
            } else {
                for i in 0..draft.options.len() {
                    let letter = option_letter(i).to_string();
                    if ui
                        .selectable_label(draft.answer == letter, &letter)
                        .on_hover_text(format!("Make option {letter} the correct answer"))
                        .clicked()
                    {
                        draft.answer = letter;
                    }
                }
            }
        });
    }

    /// The evidence spans: added at the playhead, picked for nudging, removed.
    fn evidence_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &TaskView<'_>,
        draft: &mut Task,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong("Evidence");
            if ui
                .button("Add span at playhead")
                .on_hover_text("Add an evidence span that starts at the playhead")
                .clicked()
            {
                let start = view.position_ns / NS_PER_MS;
                draft.evidence.push(Span::new(
                    start,
                    (start + DEFAULT_SPAN_MS).min(view.duration_ns / NS_PER_MS),
                ));
                self.span_index = draft.evidence.len() - 1;
            }
        });
        if draft.evidence.is_empty() {
            ui.weak("Drag on the tasks lane to mark where the answer can be seen.");
        }
        let mut remove = None;
        for (i, span) in draft.evidence.iter().enumerate() {
            ui.horizontal(|ui| {
                let active = i == self.span_index;
                for (edge, at_ms, what) in [
                    (Edge::Start, span.start_ms, "Start"),
                    (Edge::End, span.end_ms, "End"),
                ] {
                    if edge == Edge::End {
                        ui.label("to");
                    }
                    let on = active && self.edge == edge;
                    let text = format!("{}{}", if on { "> " } else { "" }, hms(at_ms));
                    if ui
                        .selectable_label(on, text)
                        .on_hover_text(format!(
                            "{what} of the span; click to nudge it: Alt+Left/Right a frame, \
                             Alt+Shift a second"
                        ))
                        .clicked()
                    {
                        self.span_index = i;
                        self.edge = edge;
                    }
                }
                ui.weak(format!(
                    "{:.1} s",
                    (span.end_ms - span.start_ms) as f64 / 1000.0
                ));
                if ui
                    .small_button("-1f")
                    .on_hover_text("Active edge back one frame")
                    .clicked()
                {
                    self.span_index = i;
                    commands.push(AppCommand::NudgeEdge {
                        frames: -1,
                        seconds: 0,
                    });
                }
                if ui
                    .small_button("+1f")
                    .on_hover_text("Active edge forward one frame")
                    .clicked()
                {
                    self.span_index = i;
                    commands.push(AppCommand::NudgeEdge {
                        frames: 1,
                        seconds: 0,
                    });
                }
                if ui
                    .small_button("remove")
                    .on_hover_text("Remove this evidence span")
                    .clicked()
                {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            draft.evidence.remove(i);
            self.span_index = self.span_index.min(draft.evidence.len().saturating_sub(1));
        }
    }

    fn refresh_rows(&mut self, view: &TaskView<'_>) {
        let key = (
            self.filter.clone(),
            self.evidence_filter,
            self.all_streams,
            self.recent_only,
            view.stream.to_owned(),
            if self.recent_only {
                view.position_ns / NS_PER_MS
            } else {
                0
            },
            view.generation,
            self.sort,
        );
        if self.rows_for.as_ref() == Some(&key) {
            return;
        }
        let mut filter = self.filter.clone();
        filter.has_evidence = match self.evidence_filter {
            EvidenceFilter::Any => None,
            EvidenceFilter::With => Some(true),
            EvidenceFilter::Without => Some(false),
        };
        filter.stream = (!self.all_streams || self.recent_only).then(|| view.stream.to_owned());
        let mut rows = view.library.filtered(&filter);
        if self.recent_only {
            let now_ms = view.position_ns / NS_PER_MS;
            let tasks = view.library.tasks();
            rows.retain(|&i| tasks[i].ask_ms <= now_ms);
            rows.reverse();
        }
        if let Some((column, descending)) = self.sort {
            crate::tasks::sort_rows(&mut rows, view.library.tasks(), column, descending);
        }
        self.rows = rows;
        self.rows_for = Some(key);
    }

    /// The rows the library lists now (indices into the library), for tests.
    #[must_use]
    pub fn library_rows(&self) -> &[usize] {
        &self.rows
    }

    /// The task library: filters, counts per type, bulk retype and delete, and the recent view.
    pub fn library_ui(&mut self, ui: &mut egui::Ui, view: &TaskView<'_>) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let library = view.library;
        self.library_filters_ui(ui, view);
        self.refresh_rows(view);
        ui.horizontal(|ui| {
            ui.strong(format!("{} of {} tasks", self.rows.len(), library.len()));
        });
        egui::CollapsingHeader::new("Counts per type")
            .default_open(false)
            .show(ui, |ui| {
                egui::Grid::new("type counts").striped(true).show(ui, |ui| {
                    for (task_type, count) in library.counts_by_type(&self.rows) {
                        ui.label(if task_type.is_empty() {
                            "(untyped)".to_owned()
                        } else {
                            task_type
                        });
                        ui.monospace(count.to_string());
                        ui.end_row();
                    }
                });
            });
        self.bulk_ui(ui, view, &mut commands);
        ui.separator();
        let wide = self.library_header_ui(ui);
        self.library_rows_ui(ui, view, wide, &mut commands);
        commands
    }

    /// Search, stream scope and the type, source, author and evidence filters.
    fn library_filters_ui(&mut self, ui: &mut egui::Ui, view: &TaskView<'_>) {
        let library = view.library;
        ui.horizontal(|ui| {
            let search = ui.label("Search");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter.text)
                    .hint_text("text, id or answer")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(search.id)
            .on_hover_text("Show only tasks whose text, id or answer contains this");
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.all_streams, "all streams")
                .on_hover_text("List the tasks of every stream in the project, not only this one");
            ui.checkbox(&mut self.recent_only, "recent (Phase Two)")
                .on_hover_text("Tasks of this stream asked before the playhead, newest first: what Phase Two learns from");
        });
        if self
            .distinct
            .as_ref()
            .is_none_or(|(g, _)| *g != view.generation)
        {
            self.distinct = Some((
                view.generation,
                [
                    library.distinct(|t| t.task_type.clone()),
                    library.distinct(|t| t.source.label()),
                    library.distinct(|t| t.author.clone()),
                ],
            ));
        }
        let distinct = self
            .distinct
            .as_ref()
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        ui.horizontal_wrapped(|ui| {
            let combo = |ui: &mut egui::Ui,
                         salt: &str,
                         value: &mut Option<String>,
                         options: Vec<String>,
                         any: &str| {
                egui::ComboBox::from_id_salt(salt)
                    .selected_text(value.clone().unwrap_or_else(|| any.to_owned()))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(value, None, any)
                            .on_hover_text(format!("Do not filter by {salt}"));
                        for o in options {
                            let label = if o.is_empty() {
                                "(none)".to_owned()
                            } else {
                                o.clone()
                            };
                            ui.selectable_value(value, Some(o), label)
                                .on_hover_text(format!("Show only tasks with this {salt}"));
                        }
                    })
                    .response
                    .on_hover_text(format!("Filter: {salt}"));
            };
            combo(
                ui,
                "type",
                &mut self.filter.task_type,
                distinct[0].clone(),
                "any type",
            );
            combo(
                ui,
                "source",
                &mut self.filter.source,
                distinct[1].clone(),
                "any source",
            );
            combo(
                ui,
                "author",
                &mut self.filter.author,
                distinct[2].clone(),
                "any author",
            );
            let evidence_text = match self.evidence_filter {
                EvidenceFilter::Any => "with or without evidence",
                EvidenceFilter::With => "with evidence",
                EvidenceFilter::Without => "without evidence",
            };
            egui::ComboBox::from_id_salt("evidence filter")
                .selected_text(evidence_text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut self.evidence_filter,
                        EvidenceFilter::Any,
                        "with or without evidence",
                    )
                    .on_hover_text("Show tasks whether or not they have evidence spans");
                    ui.selectable_value(
                        &mut self.evidence_filter,
                        EvidenceFilter::With,
                        "with evidence",
                    )
                    .on_hover_text("Show only tasks that have at least one evidence span");
                    ui.selectable_value(
                        &mut self.evidence_filter,
                        EvidenceFilter::Without,
                        "without evidence",
                    )
                    .on_hover_text("Show only tasks that have no evidence span");
                });
        });
    }

    /// Check all shown, retype and delete the checked tasks.
    fn bulk_ui(&mut self, ui: &mut egui::Ui, view: &TaskView<'_>, commands: &mut Vec<AppCommand>) {
        let tasks = view.library.tasks();
        ui.add_enabled_ui(view.editable, |ui| {
            ui.horizontal_wrapped(|ui| {
                // Cheap every frame: keys are built only when the box is toggled.
                let all_checked = !self.rows.is_empty()
                    && self.checked.len() >= self.rows.len()
                    && self
                        .rows
                        .iter()
                        .all(|&i| self.checked.contains(&TaskKey::of(&tasks[i])));
                let mut check_all = all_checked;
                if ui
                    .checkbox(&mut check_all, "select all shown")
                    .on_hover_text("Check or uncheck every task the filters show")
                    .changed()
                {
                    let shown = self.rows.iter().map(|&i| TaskKey::of(&tasks[i]));
                    if check_all {
                        self.checked.extend(shown);
                    } else {
                        for k in shown {
                            self.checked.remove(&k);
                        }
                    }
                }
                let count = self.checked.len();
                ui.weak(format!("{count} selected"));
                let retype = ui.label("retype to");
                egui::ComboBox::from_id_salt("retype to")
                    .selected_text(if self.retype_to.is_empty() {
                        "choose"
                    } else {
                        self.retype_to.as_str()
                    })
                    .show_ui(ui, |ui| {
                        for t in KNOWN_TYPES {
                            ui.selectable_value(&mut self.retype_to, t.to_owned(), t)
                                .on_hover_text(format!("Retype sets the checked tasks to {t}"));
                        }
                    })
                    .response
                    .labelled_by(retype.id)
                    .on_hover_text("The type that Retype sets on the checked tasks");
                if ui
                    .add_enabled(
                        count > 0 && !self.retype_to.is_empty(),
                        egui::Button::new("Retype"),
                    )
                    .on_hover_text("Set the chosen type on every checked task")
                    .on_disabled_hover_text("Needs a project, checked tasks and a chosen type")
                    .clicked()
                {
                    commands.push(AppCommand::RetypeTasks(
                        self.checked.iter().cloned().collect(),
                        self.retype_to.clone(),
                    ));
                }
                if ui
                    .add_enabled(count > 0, egui::Button::new(format!("Delete {count}")))
                    .on_hover_text("Delete every checked task")
                    .on_disabled_hover_text("Needs an open project and at least one checked task")
                    .clicked()
                {
                    commands.push(AppCommand::DeleteTasks(
                        std::mem::take(&mut self.checked).into_iter().collect(),
                    ));
                }
            });
        });
    }

    /// The column headers: click to sort, drag an edge to resize. Returns whether the
    /// table is wide enough for the answer and source columns.
    fn library_header_ui(&mut self, ui: &mut egui::Ui) -> bool {
        // A narrow panel drops the answer and source columns rather than grow.
        let wide = ui.available_width() >= 600.0;
        let w = self.columns;
        ui.horizontal(|ui| {
            ui.add_space(CHECK_COL);
            let sort = self.sort;
            let mut clicked = None;
            let mut resized = None;
            let mut header = |ui: &mut egui::Ui, width: f32, column: TaskColumn, name: &str| {
                let (click, dx) = header_cell(ui, width, name, sort, column);
                if click {
                    clicked = Some(column);
                }
                if dx != 0.0 {
                    resized = Some((column, dx));
                }
            };
            if self.all_streams {
                header(ui, w.stream, TaskColumn::Stream, "stream");
            }
            header(ui, w.asked, TaskColumn::Asked, "asked");
            let width = question_width(ui, w, self.all_streams, wide);
            header(ui, width, TaskColumn::Question, "question");
            header(ui, w.task_type, TaskColumn::Type, "type");
            header(ui, w.evidence, TaskColumn::Evidence, "ev.");
            if wide {
                header(ui, w.answer, TaskColumn::Answer, "answer");
                header(ui, w.source, TaskColumn::Source, "source");
            }
            if let Some(column) = clicked {
                self.sort = match self.sort {
                    Some((c, false)) if c == column => Some((column, true)),
                    Some((c, true)) if c == column => None,
                    _ => Some((column, false)),
                };
            }
            if let Some((column, dx)) = resized {
                self.columns.resize(column, dx);
            }
        });
        wide
    }

    /// The library's rows, only those in view laid out.
    fn library_rows_ui(
        &mut self,
        ui: &mut egui::Ui,
        view: &TaskView<'_>,
        wide: bool,
        commands: &mut Vec<AppCommand>,
    ) {
        let (tasks, w) = (view.library.tasks(), self.columns);
        let selected = self.selected.clone();
        let all_streams = self.all_streams;
        egui::ScrollArea::vertical()
            .id_salt("task rows")
            .auto_shrink([false, false])
            .show_rows(ui, LIBRARY_ROW_HEIGHT, self.rows.len(), |ui, range| {
                for &i in &self.rows[range] {
                    let t = &tasks[i];
                    let key = TaskKey::of(t);
                    ui.horizontal(|ui| {
                        let mut on = self.checked.contains(&key);
                        if ui
                            .checkbox(&mut on, "")
                            .on_hover_text("Select for bulk changes")
                            .changed()
                        {
                            if on {
                                self.checked.insert(key.clone());
                            } else {
                                self.checked.remove(&key);
                            }
                        }
                        let is_selected =
                            t.stream == view.stream && selected.as_deref() == Some(t.id.as_str());
                        if self.all_streams {
                            cell(ui, w.stream, t.stream.clone());
                        }
                        cell(
                            ui,
                            w.asked,
                            egui::RichText::new(&hms(t.ask_ms)[..8]).monospace(),
                        );
                        let question = if t.validate().is_err() {
                            egui::RichText::new(format!("[invalid] {}", t.text))
                                .color(Color32::from_rgb(240, 110, 100))
                        } else {
                            egui::RichText::new(&t.text)
                        };
                        let width = question_width(ui, w, all_streams, wide);
                        let row = ui
                            .allocate_ui_with_layout(
                                vec2(width, LIBRARY_ROW_HEIGHT - 2.0),
                                egui::Layout::left_to_right(egui::Align::Center),
                                |ui| {
                                    ui.set_min_width(width);
                                    ui.set_max_width(width);
                                    ui.add(
                                        egui::Button::selectable(is_selected, question).truncate(),
                                    )
                                },
                            )
                            .inner;
                        cell(
                            ui,
                            w.task_type,
                            if t.task_type.is_empty() {
                                "untyped"
                            } else {
                                t.task_type.as_str()
                            },
                        );
                        cell(ui, w.evidence, t.evidence.len().to_string());
                        if wide {
                            cell(ui, w.answer, t.answer.clone());
                            cell(ui, w.source, t.source.label());
                        }
                        let row = row.on_hover_text(task_summary(t));
                        if row.clicked() {
                            if t.stream != view.stream {
                                commands.push(AppCommand::SwitchStream(t.stream.clone()));
                            }
                            commands.push(AppCommand::SelectTask(Some(t.id.clone())));
                            commands.push(AppCommand::Seek(t.ask_ms * NS_PER_MS));
                        }
                        if row.double_clicked() {
                            self.tab = SideTab::Task;
                        }
                    });
                }
            });
    }
}

/// The task's type (picked or typed) and whether it is a trigger, and for which lane.
fn type_and_trigger_ui(ui: &mut egui::Ui, view: &TaskView<'_>, draft: &mut Task, key: &TaskKey) {
    let lanes = view.lanes;
    ui.horizontal(|ui| {
        let type_label = ui.label("Type");
        egui::ComboBox::from_id_salt("task type")
            .selected_text(if draft.task_type.is_empty() {
                "choose"
            } else {
                draft.task_type.as_str()
            })
            .width(180.0)
            .show_ui(ui, |ui| {
                let mut offered: Vec<String> =
                    KNOWN_TYPES.iter().map(|t| (*t).to_owned()).collect();
                for t in view.library.distinct(|t| t.task_type.clone()) {
                    if !t.is_empty() && !offered.contains(&t) {
                        offered.push(t);
                    }
                }
                for t in offered {
                    let on = draft.task_type == t;
                    if ui
                        .selectable_label(on, &t)
                        .on_hover_text(format!("Set this task's type to {t}"))
                        .clicked()
                    {
                        draft.task_type = t;
                    }
                }
            });
        ui.add(
            egui::TextEdit::singleline(&mut draft.task_type)
                .id_salt(("task type", key))
                .hint_text("or type one")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(type_label.id)
        .on_hover_text("The task's type: pick one from the list or type a new one");
    });

    ui.horizontal(|ui| {
        let toggled = ui
            .checkbox(&mut draft.trigger, "Trigger: switches the policy to")
            .on_hover_text("On arrival, switch the memorization policy to the chosen lane")
            .changed();
        let current = draft.switch_to.clone().unwrap_or_default();
        let title = lanes
            .iter()
            .find(|l| l.id == current)
            .map_or("choose a lane", |l| l.title.as_str());
        ui.add_enabled_ui(draft.trigger, |ui| {
            egui::ComboBox::from_id_salt("switch to")
                .selected_text(title)
                .show_ui(ui, |ui| {
                    for lane in lanes {
                        if ui
                            .selectable_label(current == lane.id, &lane.title)
                            .on_hover_text("The lane this trigger switches the policy to")
                            .clicked()
                        {
                            draft.switch_to = Some(lane.id.clone());
                        }
                    }
                });
        });
        // Only a change of the box clears the lane: looking at a task never edits it.
        if toggled && !draft.trigger {
            draft.switch_to = None;
        }
    });
}

/// What the question column gets of a library row: the rest after the fixed columns.
fn question_width(ui: &egui::Ui, w: ColumnWidths, all_streams: bool, wide: bool) -> f32 {
    let fixed = w.task_type
        + w.evidence
        + if wide { w.answer + w.source } else { 0.0 }
        + if all_streams { w.stream } else { 0.0 }
        + if wide { 5.0 } else { 3.0 } * ui.spacing().item_spacing.x;
    (ui.available_width() - fixed).max(60.0)
}
