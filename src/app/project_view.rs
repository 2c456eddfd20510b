//! An open project in the app: memory lanes under the time ruler, the memory browser (search,
//! lane filter, virtualized rows, arrow keys walk them) and the inspector (the entry, its raw
//! response, and the same clip in every other lane with the words only one lane has marked).

use std::path::{Path, PathBuf};

use egui::{Color32, FontId, Rect, Sense, Stroke, pos2, vec2};

use crate::app::AppCommand;
use crate::app::ui::ruler::TimeRuler;
use crate::app::ui::word_diff::{lane_diff_mark, word_diff_label};
use crate::memory::import::StreamInfo;
use crate::memory::labels::LabelEvent;
use crate::memory::{Lane, MemoryEntry, Verdict};
use crate::project::{Project, ProjectError};
use crate::studio::session::{ProjectSession, Undone};
use crate::studio::text::search_pieces;
use crate::tasks::{TaskEvent, TaskLibrary};
use crate::timefmt::format_hms_ms;
use crate::video::NS_PER_MS;
use crate::video::worker::DecoderHandle;

/// Which entries the browser lists by their label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelFilter {
    Any,
    Unlabeled,
    Is(Verdict),
}

/// How the browser orders its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowSort {
    Time,
    Lane,
    Verdict,
}

const LANE_HEIGHT: f32 = 18.0;
/// A memory lane: its name's strip above its clips' boxes.
const MEMORY_LANE_HEIGHT: f32 = LANE_HEIGHT + NAME_HEIGHT;
/// The strip a memory lane's name is written in, above the boxes rather than over the first.
const NAME_HEIGHT: f32 = 11.0;
const ROW_HEIGHT: f32 = 20.0;

pub struct ProjectView {
    /// The project with its undo history and live channel: everything else here is the view.
    session: ProjectSession,
    stream: String,
    selected: Option<u64>,
    /// Scroll the side panel to the inspector at its next frame (the presentation's inspect
    /// step).
    reveal_inspector: bool,
    search: String,
    /// The listed rows' ids while a search is typed: marked on the timeline.
    search_hits: std::collections::HashSet<u64>,
    lane_filter: Option<String>,
    /// `Some(None)`: only unlabeled entries; `Some(Some(v))`: only those with verdict `v`.
    label_filter: LabelFilter,
    /// Time-range filter as typed ("1:30", "90s"); empty means open-ended.
    from_text: String,
    to_text: String,
    sort: RowSort,

    /// Indices into the store's entries shown in the browser, for the current stream.
    rows: Vec<usize>,
    /// The inspector's text editor, while an edit is in progress.
    editing: Option<(u64, String)>,
    /// Thumbnails of the selected entry's clip (start, middle, end), once the previews exist.
    thumbnails: Option<(u64, Vec<egui::TextureHandle>)>,
}

/// A memory lane's rect split into its name's strip and, below it, its clips' boxes: the name
/// written over the boxes covered the first clip (issue 31).
fn lane_parts(rect: Rect) -> (Rect, Rect) {
    let split = (rect.top() + NAME_HEIGHT).min(rect.bottom());
    (
        Rect::from_x_y_ranges(rect.x_range(), rect.top()..=split),
        Rect::from_x_y_ranges(rect.x_range(), split..=rect.bottom()),
    )
}

/// Whether an entry is drawn as available with the playhead at `playhead_ms`. The playhead
/// stops at the last frame (`end_ms`), before the last clip ends and so before its memory is
/// written (issue 31: the last clip was never drawn as available): at the end of a finished
/// stream everything is written. `None` while the stream still grows (following live).
fn drawn_available(available_ms: i64, playhead_ms: i64, end_ms: Option<i64>) -> bool {
    available_ms <= playhead_ms || end_ms.is_some_and(|end| playhead_ms >= end)
}

/// The outline of the selected entry (a lane box, a task marker): the theme's strongest text
/// colour, which stands out from its backgrounds in the light theme as in the dark one (a white
/// outline vanished on the light theme's near-white lanes, issue 31).
pub(crate) fn selection_outline(visuals: &egui::Visuals) -> Stroke {
    Stroke::new(2.0, visuals.strong_text_color())
}

/// A color per lane: the general lane calm, each other lane the color of its name that the
/// evaluation charts give it too (`eval::chart::lane_colors`: stable across runs, never
/// shared by two lanes of the project).
fn lane_color(lanes: &[Lane], lane: &str) -> Color32 {
    let Some(i) = lanes.iter().position(|l| l.id == lane) else {
        return Color32::GRAY;
    };
    let keys: Vec<(&str, bool)> = lanes.iter().map(|l| (l.id.as_str(), l.general)).collect();
    match crate::eval::chart::lane_colors(&keys).get(i) {
        // The timeline's General lane is a lighter grey-blue than the chart's, for the dark
        // background it is drawn on.
        Some(&c) if c == crate::eval::chart::GENERAL_COLOR && lanes[i].general => {
            Color32::from_rgb(140, 160, 210)
        }
        Some(&(r, g, b)) => Color32::from_rgb(r, g, b),
        None => Color32::GRAY,
    }
}

impl ProjectView {
    #[must_use]
    pub fn new(project: Project) -> Self {
        let stream = project
            .manifest
            .streams
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let mut view = Self {
            session: ProjectSession::new(project),
            stream,
            selected: None,
            reveal_inspector: false,
            search: String::new(),
            search_hits: std::collections::HashSet::new(),
            lane_filter: None,
            label_filter: LabelFilter::Any,
            from_text: String::new(),
            to_text: String::new(),
            sort: RowSort::Time,
            rows: Vec::new(),
            editing: None,
            thumbnails: None,
        };
        view.refresh_rows();
        view
    }

    #[must_use]
    pub fn name(&self) -> &str {
        self.session.name()
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        self.session.dir()
    }

    #[must_use]
    pub fn streams(&self) -> &[StreamInfo] {
        self.session.streams()
    }

    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.session.memory_entries().len()
    }

    #[must_use]
    pub fn selected(&self) -> Option<&MemoryEntry> {
        let id = self.selected?;
        self.session.memory_entries().iter().find(|e| e.id == id)
    }

    /// Listens to a writer on another thread: what it sends appears in the lanes and rows.
    pub fn attach_live(&mut self, entries: crossbeam_channel::Receiver<MemoryEntry>) {
        self.session.attach_live(entries);
    }

    #[must_use]
    pub fn is_live(&self) -> bool {
        self.session.is_live()
    }

    /// Takes what the live writer sent since the last frame (at most `max`, so a burst never
    /// stalls a frame); returns the latest clip end among this stream's new entries.
    pub fn drain_live(&mut self, max: usize) -> Option<i64> {
        let entries = self.session.drain_live(max);
        self.shown_new(&entries)
    }

    /// Lists new entries; returns the latest clip end among this stream's.
    fn shown_new(&mut self, entries: &[MemoryEntry]) -> Option<i64> {
        if entries.is_empty() {
            return None;
        }
        self.refresh_rows();
        self.latest_here(entries)
    }

    /// The latest clip end among this stream's `entries`.
    fn latest_here(&self, entries: &[MemoryEntry]) -> Option<i64> {
        entries
            .iter()
            .filter(|e| e.stream == self.stream)
            .map(|e| e.end_ms)
            .max()
    }

    /// Shows entries another thread already wrote to the project's files; returns the latest
    /// clip end among this stream's.
    pub fn add_entries(&mut self, entries: Vec<MemoryEntry>) -> Option<i64> {
        let latest = self.latest_here(&entries);
        let any = !entries.is_empty();
        self.session.add_entries(entries);
        if any {
            self.refresh_rows();
        }
        latest
    }

    /// Adds a lane to the project (saved at once) unless it has one with that id
    /// ([`ProjectSession::ensure_lane`]).
    ///
    /// # Errors
    /// When project.json cannot be written.
    pub fn ensure_lane(
        &mut self,
        id: &str,
        general: bool,
        adapter: Option<&Path>,
    ) -> Result<(), ProjectError> {
        self.session.ensure_lane(id, general, adapter)
    }

    /// Whether the project has a general (no adapter) lane.
    #[must_use]
    pub fn has_general_lane(&self) -> bool {
        self.session.lanes().iter().any(|l| l.general)
    }

    /// The id the next entry written for this project gets.
    #[must_use]
    pub fn next_entry_id(&self) -> u64 {
        self.session.next_entry_id()
    }

    /// Every memory entry of the project, each stream and lane.
    #[must_use]
    pub fn memory_entries(&self) -> &[MemoryEntry] {
        self.session.memory_entries()
    }

    /// The entries a lane holds for the stream on show, in time order.
    #[must_use]
    pub fn lane_entries(&self, lane: &str) -> &[MemoryEntry] {
        self.session.lane_entries(&self.stream, lane)
    }

    /// Start times of the clips a lane of this stream already holds.
    #[must_use]
    pub fn lane_clip_starts(&self, lane: &str) -> Vec<i64> {
        self.lane_entries(lane).iter().map(|e| e.start_ms).collect()
    }

    /// The project's clip length.
    #[must_use]
    pub fn clip_ms(&self) -> i64 {
        self.session.clip_ms()
    }

    /// The project's labels (verdicts and edits).
    #[must_use]
    pub fn labels(&self) -> &crate::memory::labels::Labels {
        self.session.labels()
    }

    /// Records a label change, undoable.
    ///
    /// # Errors
    /// When the labels log cannot be written.
    pub fn record(&mut self, event: LabelEvent) -> Result<(), ProjectError> {
        self.session.record_label(event)?;
        self.refresh_rows();
        Ok(())
    }

    /// The project's tasks.
    #[must_use]
    pub fn tasks(&self) -> &TaskLibrary {
        self.session.tasks()
    }

    /// Changes whenever the tasks do.
    #[must_use]
    pub fn tasks_generation(&self) -> u64 {
        self.session.tasks_generation()
    }

    #[must_use]
    pub fn lanes(&self) -> &[Lane] {
        self.session.lanes()
    }

    /// Records task changes as one undoable step ([`ProjectSession::record_tasks`]).
    ///
    /// # Errors
    /// When the task log cannot be written.
    pub fn record_tasks(
        &mut self,
        events: Vec<TaskEvent>,
        coalesce: Option<String>,
    ) -> Result<(), ProjectError> {
        self.session.record_tasks(events, coalesce)
    }

    /// Undoes the last change (a label or tasks); false when there is none.
    ///
    /// # Errors
    /// When the log cannot be written.
    pub fn undo(&mut self) -> Result<bool, ProjectError> {
        let undone = self.session.undo()?;
        Ok(self.after_history(undone))
    }

    /// Refreshes what an undo or redo changed; whether there was one.
    fn after_history(&mut self, change: Undone) -> bool {
        if change == Undone::Labels {
            self.refresh_rows();
        }
        change != Undone::Nothing
    }

    /// Redoes the last undone change; false when there is none.
    ///
    /// # Errors
    /// When the log cannot be written.
    pub fn redo(&mut self) -> Result<bool, ProjectError> {
        let redone = self.session.redo()?;
        Ok(self.after_history(redone))
    }

    /// Rows now listed in the browser.
    #[must_use]
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Makes `id` the current stream; returns its info.
    pub fn select_stream(&mut self, id: &str) -> Option<StreamInfo> {
        let info = self.streams().iter().find(|s| s.id == id)?.clone();
        self.stream.clone_from(&info.id);
        self.selected = None;
        self.refresh_rows();
        Some(info)
    }

    /// The stream's video, when it is a file on this machine (absolute or project-relative).
    #[must_use]
    pub fn local_video(&self, info: &StreamInfo) -> Option<PathBuf> {
        self.session.local_video(info)
    }

    #[must_use]
    pub fn owns_video(&self, path: &Path) -> bool {
        self.session.owns_video(path)
    }

    fn refresh_rows(&mut self) {
        let hits = self.session.project().memory.search(&self.search);
        let entries = self.session.project().memory.entries();
        let labels = &self.session.project().labels;
        let bound = |text: &str| {
            crate::timefmt::parse_time_ns(text)
                .ok()
                .map(|ns| ns / NS_PER_MS)
        };
        let (from_ms, to_ms) = (bound(&self.from_text), bound(&self.to_text));
        self.rows = hits
            .into_iter()
            .filter(|&i| {
                let e = &entries[i];
                e.stream == self.stream
                    && self.lane_filter.as_ref().is_none_or(|l| &e.lane == l)
                    && match self.label_filter {
                        LabelFilter::Any => true,
                        LabelFilter::Unlabeled => labels.verdict(e.id).is_none(),
                        LabelFilter::Is(v) => labels.verdict(e.id) == Some(v),
                    }
                    && from_ms.is_none_or(|from| e.end_ms > from)
                    && to_ms.is_none_or(|to| e.start_ms < to)
            })
            .collect();
        self.search_hits = if self.search.trim().is_empty() {
            std::collections::HashSet::new()
        } else {
            self.rows.iter().map(|&i| entries[i].id).collect()
        };
        let verdict_rank = |i: usize| labels.verdict(entries[i].id).map_or(0, |v| v as u8 + 1);
        match self.sort {
            // Time order, lanes side by side.
            RowSort::Time => self
                .rows
                .sort_by_key(|&i| (entries[i].start_ms, entries[i].lane.clone())),
            RowSort::Lane => self
                .rows
                .sort_by_key(|&i| (entries[i].lane.clone(), entries[i].start_ms)),
            RowSort::Verdict => self
                .rows
                .sort_by_key(|&i| (std::cmp::Reverse(verdict_rank(i)), entries[i].start_ms)),
        }
    }

    /// The ids of the rows now listed, in order.
    #[must_use]
    pub fn row_ids(&self) -> Vec<u64> {
        let entries = self.session.project().memory.entries();
        self.rows.iter().map(|&i| entries[i].id).collect()
    }

    /// Sets the browser's label filter and order (the same as its combo boxes).
    pub fn set_filters(&mut self, label: LabelFilter, sort: RowSort) {
        self.label_filter = label;
        self.sort = sort;
        self.refresh_rows();
    }

    /// Selects an entry; returns where to seek.
    pub fn select(&mut self, id: u64) -> Option<i64> {
        let entry = self
            .session
            .project()
            .memory
            .entries()
            .iter()
            .find(|e| e.id == id)?;
        self.selected = Some(id);
        Some(entry.start_ms * NS_PER_MS)
    }

    /// Brings the inspector into the side panel's view at the next frame.
    pub fn reveal_inspector(&mut self) {
        self.reveal_inspector = true;
    }

    /// Clears the selection (Esc): the inspector and thumbnails go with it.
    pub fn deselect(&mut self) {
        self.selected = None;
    }

    /// Shows or hides a lane on the timeline; saved in project.json.
    ///
    /// # Errors
    /// When project.json cannot be written (the change is then undone).
    pub fn set_lane_shown(&mut self, lane: &str, shown: bool) -> Result<(), ProjectError> {
        self.session.set_lane_shown(lane, shown)
    }

    /// Moves a lane one place up (`earlier`) or down on the timeline; saved in project.json.
    ///
    /// # Errors
    /// When project.json cannot be written (the order is then put back).
    pub fn move_lane(&mut self, lane: &str, earlier: bool) -> Result<(), ProjectError> {
        self.session.move_lane(lane, earlier)
    }

    /// Every lane in timeline order with its colour and whether it is shown: View > Lanes.
    #[must_use]
    pub fn lane_legend(&self) -> Vec<(String, String, Color32, bool)> {
        let lanes = &self.session.project().manifest.lanes;
        lanes
            .iter()
            .map(|l| {
                (
                    l.id.clone(),
                    l.title.clone(),
                    lane_color(lanes, &l.id),
                    !l.hidden,
                )
            })
            .collect()
    }

    /// The label an entry has, if any.
    #[must_use]
    pub fn verdict(&self, id: u64) -> Option<Verdict> {
        self.session.verdict(id)
    }

    /// The next listed row without a label after the selected one (from the top when none is
    /// selected), wrapping round; `None` when every listed row has one.
    #[must_use]
    pub fn next_unlabeled(&self) -> Option<u64> {
        let entries = self.session.project().memory.entries();
        let ids: Vec<u64> = self.rows.iter().map(|&i| entries[i].id).collect();
        let start = self
            .selected
            .and_then(|id| ids.iter().position(|&r| r == id))
            .map_or(0, |at| at + 1);
        (0..ids.len())
            .map(|k| ids[(start + k) % ids.len()])
            .find(|&id| self.session.project().labels.verdict(id).is_none())
    }

    /// Review progress of the shown stream (within the lane filter): entries with a label, and
    /// entries in all.
    #[must_use]
    pub fn review_progress(&self) -> (usize, usize) {
        let labels = &self.session.project().labels;
        let shown = self.session.project().memory.entries().iter().filter(|e| {
            e.stream == self.stream && self.lane_filter.as_ref().is_none_or(|l| &e.lane == l)
        });
        shown.fold((0, 0), |(reviewed, all), e| {
            (
                reviewed + usize::from(labels.verdict(e.id).is_some()),
                all + 1,
            )
        })
    }

    /// Moves the selection `delta` rows; returns its id.
    pub fn select_relative(&mut self, delta: i64) -> Option<u64> {
        let entries = self.session.project().memory.entries();
        let current = self
            .selected
            .and_then(|id| self.rows.iter().position(|&i| entries[i].id == id));
        let next = match current {
            Some(at) => (at as i64 + delta).clamp(0, self.rows.len() as i64 - 1) as usize,
            None if !self.rows.is_empty() => 0,
            None => return None,
        };
        Some(entries[*self.rows.get(next)?].id)
    }

    /// Which lane is active when in the shown stream.
    #[must_use]
    pub fn active_phases(&self) -> Vec<crate::tasks::Phase> {
        self.session.active_phases(&self.stream)
    }

    pub fn lanes_ui(
        &self,
        ui: &mut egui::Ui,
        ruler: &TimeRuler,
        position_ns: i64,
        end_ms: Option<i64>,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        let width = ui.available_width();
        let (view_start, view_end) = ruler.visible_range_ns(width);
        let lanes = &self.session.project().manifest.lanes;
        let playhead_ms = position_ns / NS_PER_MS;
        for lane in lanes.iter().filter(|l| !l.hidden) {
            let entries = self.session.project().memory.lane(&self.stream, &lane.id);
            if entries.is_empty() {
                continue;
            }
            let (rect, response) =
                ui.allocate_exact_size(vec2(width, MEMORY_LANE_HEIGHT), Sense::click());
            let (name_rect, boxes) = lane_parts(rect);
            let visible = self.session.project().memory.in_range(
                &self.stream,
                &lane.id,
                (view_start / 1e6) as i64,
                (view_end / 1e6) as i64 + 1,
            );
            let hovered = response.hover_pos().and_then(|p| {
                let t_ms = (ruler.time_from_x(rect, p.x) / 1e6) as i64;
                visible
                    .iter()
                    .find(|e| e.start_ms <= t_ms && t_ms < e.end_ms)
            });
            if ui.is_rect_visible(rect) {
                let painter = ui.painter_at(rect);
                painter.rect_filled(rect, 0.0, ui.visuals().faint_bg_color);
                let color = lane_color(lanes, &lane.id);
                let mut last_px = f32::NEG_INFINITY;
                for e in visible {
                    let x0 = ruler.x_from_time(rect, (e.start_ms * NS_PER_MS) as f64);
                    let x1 = ruler
                        .x_from_time(rect, (e.end_ms * NS_PER_MS) as f64)
                        .max(x0 + 1.0);
                    if self.search_hits.contains(&e.id) {
                        // Before the one-shape-per-pixel skip: a hit is never hidden.
                        search_mark(&painter, x0, x1, boxes);
                    }
                    // Dense lanes: at most one shape per pixel column.
                    if x1 <= last_px + 0.5 {
                        continue;
                    }
                    last_px = x1;
                    let span = Rect::from_x_y_ranges(
                        x0 + 0.5..=x1 - 0.5,
                        boxes.top() + 2.0..=boxes.bottom() - 2.0,
                    );
                    if drawn_available(e.available_ms, playhead_ms, end_ms) {
                        painter.rect_filled(span, 2.0, color.gamma_multiply(0.75));
                        // Where it became available: the processing delay made visible.
                        let xa = ruler.x_from_time(rect, (e.available_ms * NS_PER_MS) as f64);
                        painter.line_segment(
                            [pos2(xa, boxes.top() + 2.0), pos2(xa, boxes.bottom() - 2.0)],
                            Stroke::new(1.0, color),
                        );
                    } else {
                        painter.rect_stroke(
                            span,
                            2.0,
                            Stroke::new(1.0, color.gamma_multiply(0.5)),
                            egui::StrokeKind::Inside,
                        );
                    }
                    if span.width() >= SPAN_TEXT_MIN_PX {
                        let shown = self.session.shown_text(e);
                        let ink = if drawn_available(e.available_ms, playhead_ms, end_ms) {
                            Color32::from_gray(15)
                        } else {
                            ui.visuals().weak_text_color()
                        };
                        span_text(&painter, span, shown, ink);
                    }
                    if Some(e.id) == self.selected {
                        painter.rect_stroke(
                            span,
                            2.0,
                            selection_outline(ui.visuals()),
                            egui::StrokeKind::Inside,
                        );
                    }
                }
                painter.text(
                    name_rect.left_center() + vec2(4.0, 0.0),
                    egui::Align2::LEFT_CENTER,
                    &lane.title,
                    FontId::proportional(NAME_HEIGHT - 1.0),
                    ui.visuals().strong_text_color(),
                );
            }
            let title = lane.title.clone();
            let count = entries.len();
            let hits = entries
                .iter()
                .filter(|e| self.search_hits.contains(&e.id))
                .count();
            response.widget_info(|| {
                let hits = if hits > 0 {
                    format!(", {hits} search hits")
                } else {
                    String::new()
                };
                egui::WidgetInfo::labeled(
                    egui::Role::Button,
                    true,
                    format!("Memory lane {title} ({count} entries{hits})"),
                )
            });
            if let Some(e) = hovered {
                if response.clicked() {
                    commands.push(AppCommand::SelectEntry(e.id));
                }
                response.on_hover_text_at_pointer(format!(
                    "{}  {}–{}  (available at {})\n{}",
                    lane.title,
                    format_hms_ms(e.start_ms * NS_PER_MS),
                    format_hms_ms(e.end_ms * NS_PER_MS),
                    format_hms_ms(e.available_ms * NS_PER_MS),
                    e.text
                ));
            }
        }
        self.active_lane_ui(ui, ruler, width);
        commands
    }

    /// The strip under the lanes that shows which lane is active when (the questions that
    /// switch it are in the tasks lane).
    fn active_lane_ui(&self, ui: &mut egui::Ui, ruler: &TimeRuler, width: f32) {
        let lanes = &self.session.project().manifest.lanes;
        let stream = self.streams().iter().find(|s| s.id == self.stream);
        // The stream's own phases (TaskMem's demo), else the ones its trigger tasks make.
        let phases = self.active_phases();
        if let Some(stream) = stream.filter(|_| !phases.is_empty()) {
            let (rect, response) = ui.allocate_exact_size(vec2(width, LANE_HEIGHT), Sense::hover());
            if ui.is_rect_visible(rect) {
                let painter = ui.painter_at(rect);
                for (i, phase) in phases.iter().enumerate() {
                    let end_ms = stream
                        .phases
                        .get(i + 1)
                        .map_or(stream.duration_ms, |p| p.at_ms);
                    let x0 = ruler.x_from_time(rect, (phase.at_ms * NS_PER_MS) as f64);
                    let x1 = ruler.x_from_time(rect, (end_ms * NS_PER_MS) as f64);
                    let band =
                        Rect::from_x_y_ranges(x0..=x1, rect.top() + 5.0..=rect.bottom() - 5.0);
                    painter.rect_filled(
                        band,
                        2.0,
                        lane_color(lanes, &phase.lane).gamma_multiply(0.6),
                    );
                }
            }
            let hovered = response.hover_pos().and_then(|p| {
                let t_ms = (ruler.time_from_x(rect, p.x) / 1e6) as i64;
                phases.iter().rev().find(|phase| phase.at_ms <= t_ms)
            });
            response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, "Active lane"));
            if let Some(phase) = hovered {
                let title = lanes
                    .iter()
                    .find(|l| l.id == phase.lane)
                    .map_or(phase.lane.as_str(), |l| l.title.as_str());
                response.on_hover_text_at_pointer(format!(
                    "Active lane from {}: {title}",
                    format_hms_ms(phase.at_ms * NS_PER_MS)
                ));
            }
        }
    }

    /// The memory browser and, below it, the inspector (with clip thumbnails from the
    /// decoder's preview cache when the stream has its video).
    pub fn browser_ui(
        &mut self,
        ui: &mut egui::Ui,
        decoder: Option<&DecoderHandle>,
    ) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        ui.horizontal(|ui| {
            ui.strong(self.name().to_owned());
            let current = self.stream.clone();
            egui::ComboBox::from_id_salt("stream")
                .selected_text(&current)
                .show_ui(ui, |ui| {
                    for s in &self.session.project().manifest.streams {
                        if ui
                            .selectable_label(s.id == current, &s.title)
                            .on_hover_text("Switch to this stream and list its memory entries")
                            .clicked()
                        {
                            commands.push(AppCommand::SwitchStream(s.id.clone()));
                        }
                    }
                })
                .response
                .on_hover_text("Stream");
        });
        if self.filters_ui(ui) {
            self.refresh_rows();
        }
        let (reviewed, all) = self.review_progress();
        ui.horizontal(|ui| {
            ui.weak(format!("{} entries", self.rows.len()));
            if all > 0 {
                ui.separator();
                ui.add(
                    egui::ProgressBar::new(reviewed as f32 / all as f32)
                        .desired_width(80.0)
                        .desired_height(8.0),
                );
                ui.weak(format!("{reviewed} of {all} reviewed"))
                    .on_hover_text("Entries of this stream (and lane filter) with a label; keys 1-4 label the selected row, U goes to the next one without a label");
            }
        });
        if self.rows.is_empty() {
            // What to do next, rather than an empty list.
            if self.session.project().memory.is_empty() {
                ui.label(
                    "No memory yet. Policy > Memorize while playing writes each clip's memory as \
                     the video plays; `taskmem ingest` writes a whole video headless.",
                );
            } else {
                ui.label("No entry matches the search and filters.");
            }
        }
        self.memory_rows_ui(ui, &mut commands);
        ui.separator();
        let inspector_top = ui.cursor().top();
        if let Some(decoder) = decoder {
            self.thumbnails_ui(ui, decoder);
        }
        commands.extend(self.inspector_ui(ui));
        if std::mem::take(&mut self.reveal_inspector) {
            // Asked for once the inspector's own scroll area has ended, so that the side
            // panel's scroll (the enclosing one) is the one that moves.
            let top = egui::Rect::from_x_y_ranges(
                ui.max_rect().x_range(),
                inspector_top..=inspector_top + 1.0,
            );
            ui.scroll_to_rect(top, Some(egui::Align::TOP));
        }
        commands
    }

    /// The browser's search, lane, label, time and sort controls; whether any changed.
    fn filters_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let mut changed = false;
        // The filter rows wrap: at the panel's least width (a small window, a large UI scale)
        // a row wider than the panel would widen it past the window.
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Search");
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("words or a phrase")
                        .desired_width(170.0),
                )
                .labelled_by(label.id)
                .on_hover_text("Show only entries containing this phrase or all of these words")
                .changed();
            let label = self
                .lane_filter
                .clone()
                .unwrap_or_else(|| "all lanes".to_owned());
            egui::ComboBox::from_id_salt("lane filter")
                .selected_text(label)
                .show_ui(ui, |ui| {
                    changed |= ui
                        .selectable_value(&mut self.lane_filter, None, "all lanes")
                        .on_hover_text("Show the entries of every lane")
                        .changed();
                    for lane in &self.session.project().manifest.lanes {
                        changed |= ui
                            .selectable_value(
                                &mut self.lane_filter,
                                Some(lane.id.clone()),
                                &lane.title,
                            )
                            .on_hover_text("Show only the entries of this lane")
                            .changed();
                    }
                })
                .response
                .on_hover_text("Lane filter");
        });
        ui.horizontal_wrapped(|ui| {
            let label_text = match self.label_filter {
                LabelFilter::Any => "any label".to_owned(),
                LabelFilter::Unlabeled => "unlabeled".to_owned(),
                LabelFilter::Is(v) => v.name().to_owned(),
            };
            egui::ComboBox::from_id_salt("label filter")
                .selected_text(label_text)
                .show_ui(ui, |ui| {
                    changed |= ui
                        .selectable_value(&mut self.label_filter, LabelFilter::Any, "any label")
                        .on_hover_text("Show entries whether or not they are labeled")
                        .changed();
                    changed |= ui
                        .selectable_value(
                            &mut self.label_filter,
                            LabelFilter::Unlabeled,
                            "unlabeled",
                        )
                        .on_hover_text("Show only entries that have no label yet")
                        .changed();
                    for v in Verdict::ALL {
                        changed |= ui
                            .selectable_value(&mut self.label_filter, LabelFilter::Is(v), v.name())
                            .on_hover_text(format!("Show only entries labeled {}", v.name()))
                            .changed();
                    }
                })
                .response
                .on_hover_text("Label filter");
            let from = ui.label("from");
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut self.from_text)
                        .hint_text("0:00")
                        .desired_width(48.0),
                )
                .labelled_by(from.id)
                .on_hover_text("Only entries ending after this time, e.g. 1:30 (empty: no limit)")
                .changed();
            let to = ui.label("to");
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut self.to_text)
                        .hint_text("end")
                        .desired_width(48.0),
                )
                .labelled_by(to.id)
                .on_hover_text("Only entries starting before this time, e.g. 2m (empty: no limit)")
                .changed();
            let sort_text = match self.sort {
                RowSort::Time => "by time",
                RowSort::Lane => "by lane",
                RowSort::Verdict => "by label",
            };
            egui::ComboBox::from_id_salt("sort")
                .selected_text(sort_text)
                .show_ui(ui, |ui| {
                    changed |= ui
                        .selectable_value(&mut self.sort, RowSort::Time, "by time")
                        .on_hover_text("Order the entries by clip start time")
                        .changed();
                    changed |= ui
                        .selectable_value(&mut self.sort, RowSort::Lane, "by lane")
                        .on_hover_text("Group the entries by lane, each lane in time order")
                        .changed();
                    changed |= ui
                        .selectable_value(&mut self.sort, RowSort::Verdict, "by label")
                        .on_hover_text("Group labeled entries by label, unlabeled ones last")
                        .changed();
                })
                .response
                .on_hover_text("Sort");
        });
        changed
    }

    /// The listed memory entries, only those in view laid out.
    fn memory_rows_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<AppCommand>) {
        let entries = self.session.project().memory.entries();
        let lanes = &self.session.project().manifest.lanes;
        let browser_height = (ui.available_height() * 0.55).max(120.0);
        egui::ScrollArea::vertical()
            .id_salt("memory rows")
            .max_height(browser_height)
            .auto_shrink([false, false])
            .show_rows(ui, ROW_HEIGHT, self.rows.len(), |ui, range| {
                for &i in &self.rows[range] {
                    let e = &entries[i];
                    let selected = Some(e.id) == self.selected;
                    // Plain words: every glyph must exist in the bundled fonts.
                    let badge = self
                        .session
                        .project()
                        .labels
                        .verdict(e.id)
                        .map(|v| format!("[{}] ", v.name()))
                        .unwrap_or_default();
                    let shown = self.session.shown_text(e);
                    let text = format!(
                        "{}  {badge}{shown}",
                        &format_hms_ms(e.start_ms * NS_PER_MS)[..8]
                    );
                    let color = if selected {
                        ui.visuals().strong_text_color()
                    } else {
                        ui.visuals().text_color()
                    };
                    let mut button = egui::Button::selectable(
                        selected,
                        (
                            row_text(&text, &self.search, color),
                            // Left-aligned like a table row, however short the text.
                            egui::Atom::grow(),
                        ),
                    )
                    .truncate()
                    .fill(
                        lane_color(lanes, &e.lane).gamma_multiply(if selected {
                            0.5
                        } else {
                            0.15
                        }),
                    );
                    if selected {
                        // The theme's own selection stroke is faint on a light row.
                        button = button.stroke(selection_outline(ui.visuals()));
                    }
                    let response = ui
                        .add_sized([ui.available_width(), ROW_HEIGHT - 2.0], button)
                        .on_hover_text("Select this entry and seek to its clip");
                    if selected {
                        response.scroll_to_me(None);
                    }
                    if response.clicked() {
                        commands.push(AppCommand::SelectEntry(e.id));
                    }
                }
            });
    }

    /// Three pictures of the selected clip, from the preview cache (no decoding here).
    fn thumbnails_ui(&mut self, ui: &mut egui::Ui, decoder: &DecoderHandle) {
        let Some(entry) = self.selected() else { return };
        let id = entry.id;
        let (start, end) = (entry.start_ms * NS_PER_MS, entry.end_ms * NS_PER_MS);
        if self
            .thumbnails
            .as_ref()
            .is_none_or(|(for_id, _)| *for_id != id)
        {
            let index = decoder.index();
            let times = [
                start,
                i64::midpoint(start, end),
                (end - NS_PER_MS).max(start),
            ];
            let previews: Option<Vec<_>> = times
                .iter()
                .map(|&t| decoder.preview(index.frame_at(t)))
                .collect();
            self.thumbnails = previews.map(|frames| {
                let textures = frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let image = egui::ColorImage::from_rgba_unmultiplied(
                            [f.width as usize, f.height as usize],
                            &f.rgba,
                        );
                        ui.ctx().load_texture(
                            format!("clip-thumbnail-{i}"),
                            image,
                            egui::TextureOptions::LINEAR,
                        )
                    })
                    .collect();
                (id, textures)
            });
        }
        if let Some((_, textures)) = &self.thumbnails {
            ui.horizontal(|ui| {
                // Three pictures and the two gaps between them fill the width exactly: any
                // more and the resizable side panel widens to fit them, which widens the
                // pictures the next frame, and the panel grows by itself until the video is
                // gone (issue 31). Floored, so rounding never adds the pixel either.
                let gaps = 2.0 * ui.spacing().item_spacing.x;
                let w = ((ui.available_width() - gaps) / 3.0).floor().max(1.0);
                for t in textures {
                    let size = t.size_vec2();
                    ui.image((t.id(), vec2(w, w * size.y / size.x.max(1.0))));
                }
            });
        } else {
            ui.weak("thumbnails appear once the previews are built");
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
    }

    fn inspector_ui(&mut self, ui: &mut egui::Ui) -> Vec<AppCommand> {
        let mut commands = Vec::new();
        if let Some(entry) = self.selected() {
            let (id, original) = (entry.id, entry.text.clone());
            let current = self.session.project().labels.verdict(id);
            let edited = self.session.project().labels.edited(id).map(str::to_owned);
            ui.horizontal_wrapped(|ui| {
                for verdict in Verdict::ALL {
                    let on = current == Some(verdict);
                    let meaning = match verdict {
                        Verdict::Correct => "The entry describes the clip correctly",
                        Verdict::Hallucinated => "The entry states things the clip does not show",
                        Verdict::Irrelevant => "The entry is about things the tasks do not need",
                        Verdict::MissingDetail => "The entry leaves out a detail that matters",
                    };
                    if ui
                        .selectable_label(on, verdict.name())
                        .on_hover_text(format!("{meaning}; click again to clear the label"))
                        .clicked()
                    {
                        commands.push(AppCommand::Label {
                            entry: id,
                            verdict: (!on).then_some(verdict),
                        });
                    }
                }
                if self.editing.is_none()
                    && ui
                        .button("Edit text")
                        .on_hover_text("Correct the text of this memory entry")
                        .clicked()
                {
                    self.editing = Some((id, edited.clone().unwrap_or_else(|| original.clone())));
                }
                if edited.is_some()
                    && ui
                        .button("Revert to original")
                        .on_hover_text("Drop the edit and go back to the text the model wrote")
                        .clicked()
                {
                    commands.push(AppCommand::EditText {
                        entry: id,
                        text: None,
                    });
                }
            });
            if let Some((editing_id, text)) = &mut self.editing {
                if *editing_id == id {
                    ui.add(
                        egui::TextEdit::multiline(text)
                            .desired_rows(4)
                            .desired_width(f32::INFINITY),
                    )
                    .on_hover_text("The corrected text of this entry; Save edit keeps it");
                    ui.horizontal(|ui| {
                        if ui
                            .button("Save edit")
                            .on_hover_text("Keep this text in place of the original (Undo reverts)")
                            .clicked()
                        {
                            commands.push(AppCommand::EditText {
                                entry: id,
                                text: Some(text.clone()),
                            });
                        }
                        if ui
                            .button("Cancel")
                            .on_hover_text("Discard these changes and keep the text as it was")
                            .clicked()
                        {
                            commands.push(AppCommand::EditText {
                                entry: id,
                                text: edited.clone(),
                            });
                        }
                    });
                }
                let done = commands
                    .iter()
                    .any(|c| matches!(c, AppCommand::EditText { .. }));
                if done || *editing_id != id {
                    self.editing = None;
                }
            }
        }
        self.entry_view_ui(ui);
        commands
    }

    fn entry_view_ui(&self, ui: &mut egui::Ui) {
        let Some(entry) = self.selected() else {
            ui.weak("Select a memory entry to inspect it (click a row or a lane, or use Up/Down).");
            return;
        };
        let lanes = &self.session.project().manifest.lanes;
        let title = |id: &str| {
            lanes
                .iter()
                .find(|l| l.id == id)
                .map_or(id.to_owned(), |l| l.title.clone())
        };
        egui::ScrollArea::vertical()
            .id_salt("inspector")
            .show(ui, |ui| {
                ui.strong(format!(
                    "{} · {}–{}",
                    title(&entry.lane),
                    format_hms_ms(entry.start_ms * NS_PER_MS),
                    format_hms_ms(entry.end_ms * NS_PER_MS)
                ));
                ui.weak(format!(
                    "available at {} · policy {} · adapter {}{}",
                    format_hms_ms(entry.available_ms * NS_PER_MS),
                    entry.policy.as_deref().unwrap_or("—"),
                    entry.adapter.as_deref().unwrap_or("none"),
                    entry
                        .budget_tokens
                        .map_or_else(String::new, |b| format!(" · budget {b} tokens"))
                ));
                // The same clip in every other lane, words only one side has marked.
                let others: Vec<&MemoryEntry> = lanes
                    .iter()
                    .filter(|l| l.id != entry.lane)
                    .filter_map(|l| {
                        self.session
                            .lane_entries(&self.stream, &l.id)
                            .iter()
                            .find(|e| e.start_ms == entry.start_ms)
                    })
                    .collect();
                let reference = others.first().map_or("", |o| o.text.as_str());
                match self.session.project().labels.edited(entry.id) {
                    Some(edited) => {
                        ui.label(
                            egui::RichText::new("edited by an annotator")
                                .italics()
                                .weak(),
                        );
                        word_diff_label(ui, edited, reference, lane_diff_mark());
                        ui.collapsing("Original text", |ui| {
                            word_diff_label(ui, &entry.text, reference, lane_diff_mark());
                        });
                    }
                    None => {
                        word_diff_label(ui, &entry.text, reference, lane_diff_mark());
                    }
                }
                for other in &others {
                    ui.add_space(6.0);
                    ui.label(
                        egui::RichText::new(title(&other.lane))
                            .color(lane_color(lanes, &other.lane))
                            .strong(),
                    );
                    word_diff_label(ui, &other.text, &entry.text, lane_diff_mark());
                }
                if let Some(raw) = &entry.raw_response {
                    ui.add_space(6.0);
                    ui.collapsing("Raw response", |ui| {
                        ui.monospace(raw);
                    });
                }
            });
    }
}

/// A lane box this wide or wider (zoomed in) shows the start of its entry's text.
const SPAN_TEXT_MIN_PX: f32 = 40.0;

/// An entry's text inside its lane box, on one line, cut at the box's right edge.
fn span_text(painter: &egui::Painter, span: Rect, text: &str, ink: Color32) {
    let mut job = egui::text::LayoutJob::simple_singleline(
        text.to_owned(),
        FontId::proportional((span.height() - 4.0).clamp(8.0, 12.0)),
        ink,
    );
    job.wrap = egui::text::TextWrapping::truncate_at_width(span.width() - 6.0);
    let galley = painter.layout_job(job);
    let at = pos2(span.left() + 3.0, span.center().y - galley.size().y / 2.0);
    painter.with_clip_rect(span).galley(at, galley, ink);
}

/// Search hits' background, in rows and on the timeline.
const SEARCH_HIT: Color32 = Color32::from_rgba_premultiplied(150, 120, 20, 110);

/// A row's text, its search hits on a highlight.
fn row_text(text: &str, search: &str, color: Color32) -> egui::WidgetText {
    if search.trim().is_empty() {
        return egui::RichText::new(text).color(color).into();
    }
    let mut job = egui::text::LayoutJob::default();
    for (piece, hit) in search_pieces(text, search) {
        let mut format = egui::TextFormat {
            font_id: FontId::proportional(13.0),
            color,
            ..Default::default()
        };
        if hit {
            format.background = SEARCH_HIT;
        }
        job.append(&piece, 0.0, format);
    }
    job.into()
}

/// A search hit on a lane: a bar over the entry's box, a tick where it starts.
fn search_mark(painter: &egui::Painter, x0: f32, x1: f32, boxes: Rect) {
    let color = Color32::from_rgb(240, 190, 60);
    painter.rect_filled(
        Rect::from_x_y_ranges(x0..=x1.max(x0 + 2.0), boxes.top()..=boxes.top() + 3.0),
        0.0,
        color,
    );
    painter.line_segment(
        [pos2(x0, boxes.top()), pos2(x0, boxes.bottom())],
        Stroke::new(1.0, color),
    );
}

#[cfg(test)]
mod outline_tests {
    use super::{MEMORY_LANE_HEIGHT, drawn_available, lane_parts, selection_outline};

    #[test]
    fn a_lane_name_sits_above_its_boxes() {
        let rect =
            egui::Rect::from_min_size(egui::pos2(0.0, 40.0), egui::vec2(600.0, MEMORY_LANE_HEIGHT));
        let (name, boxes) = lane_parts(rect);
        assert!(name.max.y <= boxes.min.y, "{name:?} above {boxes:?}");
        assert!(name.height() >= 10.0 && boxes.height() >= 16.0);
        assert!((boxes.max.y - rect.max.y).abs() < 1e-3);
        assert!(
            (boxes.width() - rect.width()).abs() < 1e-3,
            "the boxes keep the ruler's x"
        );
    }

    #[test]
    fn the_last_clip_is_available_at_the_last_frame() {
        // A 100 s stream at 25 fps: the last frame at 99.96 s, the last clip 90-100 s written
        // at its end plus a 2 s delay.
        let (last_frame, available) = (99_960, 102_000);
        assert!(!drawn_available(available, 95_000, Some(last_frame)));
        assert!(drawn_available(available, last_frame, Some(last_frame)));
        assert!(drawn_available(80_000, 95_000, Some(last_frame)));
        // Following live, the last frame moves on: the clip being written is not yet there.
        assert!(!drawn_available(available, last_frame, None));
    }

    /// How far apart two colours' grey levels are, 0-255.
    fn contrast(a: egui::Color32, b: egui::Color32) -> i32 {
        let grey = |c: egui::Color32| {
            (i32::from(c.r()) * 3 + i32::from(c.g()) * 6 + i32::from(c.b())) / 10
        };
        (grey(a) - grey(b)).abs()
    }

    #[test]
    fn the_selected_outline_stands_out_in_both_themes() {
        for visuals in [egui::Visuals::light(), egui::Visuals::dark()] {
            let outline = selection_outline(&visuals).color;
            // The lanes' faint tint is nearly transparent: what shows is the panel's fill.
            for background in [visuals.panel_fill, visuals.window_fill] {
                assert!(
                    contrast(outline, background) > 128,
                    "outline {outline:?} on {background:?} (dark mode: {})",
                    visuals.dark_mode
                );
            }
        }
    }
}
