//! The before-and-after charts, drawn with plotters to PNG or SVG for papers: accuracy per
//! task type for each lane (General first, then each adapter) with 95% intervals, and, when
//! adapters were tuned on different numbers of tasks, accuracy against the tasks seen.
//! The app draws the same data with `egui_plot`; both read [`ChartData`], and draw a zero as
//! a mark and a missing value as "no questions" ([`BarMark`]), with each lane in the color of
//! its name ([`lane_colors`], which the app's timeline uses too).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::EvalError;
use super::metrics::{MIN_N_FOR_INTERVAL, Metrics, N_TOO_SMALL, Summary};

const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Hack-Regular.ttf");
const FONT: &str = "sans-serif";

/// A color as red, green, blue.
pub type Rgb = (u8, u8, u8);

/// The General lane's color: a calm grey-blue that no other lane gets.
pub const GENERAL_COLOR: Rgb = (96, 125, 160);

/// The other lanes' colors (readable on white paper and on the app's dark and light themes,
/// and none of them blue, so that none is taken for the General lane);
/// each lane's is picked by a hash of its name, see [`lane_colors`].
pub const LANE_PALETTE: [Rgb; 10] = [
    (230, 126, 34),
    (46, 160, 90),
    (214, 69, 65),
    (155, 89, 182),
    (22, 160, 170),
    (212, 172, 13),
    (227, 119, 194),
    (160, 110, 80),
    (175, 50, 110),
    (140, 180, 40),
];

/// Whether a lane is the General one, by the names the General lane goes by: the built-in
/// policy's lane of a suite run (`builtin`) and an imported project's `general`.
#[must_use]
pub fn is_general_lane(name: &str) -> bool {
    name == super::replay::GENERAL_LANE || name.eq_ignore_ascii_case("general")
}

/// FNV-1a: a hash fixed by its definition, so a lane's color is the same in every build and
/// run (std's hasher makes no such promise).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `k`-th color past the palette, for charts with more lanes than it has: hues a golden
/// angle apart, which do not repeat.
fn extra_color(k: usize) -> Rgb {
    // HSV to RGB at saturation 0.6 and value 0.78.
    let sector = (k as f64 * 137.508 + 20.0).rem_euclid(360.0) / 60.0;
    let (saturation, value) = (0.6, 0.78);
    let chroma = value * saturation;
    let second = chroma * (1.0 - (sector.rem_euclid(2.0) - 1.0).abs());
    let (red, green, blue) = match sector as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let byte = |f: f64| ((f + value - chroma) * 255.0).round() as u8;
    (byte(red), byte(green), byte(blue))
}

/// Colors for lanes shown together, given as (name, is the General lane), in their order.
///
/// A color belongs to the lane's name, not its place: the General lane gets
/// [`GENERAL_COLOR`] (only the first one, should two claim it), every other lane the palette
/// color its name hashes to. Two lanes shown together never share a color: on a collision
/// the lane whose name sorts first keeps the hashed color and the other takes the next free
/// one, so the result does not depend on the order the lanes come in, and a lane changes
/// color only when a lane that collides with it is shown beside it. Past the palette's ten
/// colors, further lanes get colors of their own ([`extra_color`]).
#[must_use]
pub fn lane_colors(lanes: &[(&str, bool)]) -> Vec<Rgb> {
    let mut out = vec![GENERAL_COLOR; lanes.len()];
    let general = lanes.iter().position(|&(_, g)| g);
    let mut others: Vec<usize> = (0..lanes.len()).filter(|&i| Some(i) != general).collect();
    others.sort_by(|&a, &b| lanes[a].0.cmp(lanes[b].0).then(a.cmp(&b)));
    let n = LANE_PALETTE.len();
    let mut taken = [false; LANE_PALETTE.len()];
    let mut extra = 0;
    let mut previous: Option<(&str, Rgb)> = None;
    for i in others {
        let name = lanes[i].0;
        // The same name twice is the same lane: the same color.
        if let Some((same, color)) = previous.filter(|(p, _)| *p == name) {
            out[i] = color;
            previous = Some((same, color));
            continue;
        }
        let start = (name_hash(name) % n as u64) as usize;
        let color = if let Some(slot) = (0..n).map(|k| (start + k) % n).find(|&s| !taken[s]) {
            taken[slot] = true;
            LANE_PALETTE[slot]
        } else {
            extra += 1;
            extra_color(extra)
        };
        out[i] = color;
        previous = Some((name, color));
    }
    out
}

/// Colors for lanes shown together, by name alone: the General lane is told by
/// [`is_general_lane`].
#[must_use]
pub fn lane_colors_by_name<S: AsRef<str>>(names: &[S]) -> Vec<Rgb> {
    let keys: Vec<(&str, bool)> = names
        .iter()
        .map(|n| (n.as_ref(), is_general_lane(n.as_ref())))
        .collect();
    lane_colors(&keys)
}

/// How one lane's value in one category is drawn, so that a zero is never taken for a value
/// that is not there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BarMark {
    /// A bar this long (accuracy in percent, above 0).
    Bar(f64),
    /// Asked, none right: a thin mark at 0 in the lane's color and "0%".
    Zero,
    /// Nothing asked of this lane here: no bar, a grey "no questions".
    Missing,
}

/// The width of the mark drawn for a zero, in percent of the accuracy axis: a few pixels at
/// any chart size, where a zero-length bar would be none.
pub const ZERO_MARK_PERCENT: f64 = 0.7;

/// What [`BarMark::Missing`] reads as.
pub const NO_QUESTIONS: &str = "no questions";

impl BarMark {
    #[must_use]
    pub fn of(metrics: Option<&Metrics>) -> Self {
        match metrics {
            Some(m) if m.questions > 0 && m.acc > 0.0 => Self::Bar(m.acc * 100.0),
            Some(m) if m.questions > 0 => Self::Zero,
            _ => Self::Missing,
        }
    }
}

/// What both charts show: one row per category ("All" first, then task types), one bar per
/// lane, and the lines against tasks seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData {
    pub title: String,
    pub lanes: Vec<String>,
    /// Each lane's color ([`lane_colors`]): the same lane name, the same color.
    pub colors: Vec<Rgb>,
    /// Category name, then per lane its metrics there (None when the lane saw no such task).
    pub categories: Vec<(String, Vec<Option<Metrics>>)>,
    /// Per task type: (tasks seen, accuracy %) points, General at 0 tasks.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
    /// Each line's color, by its task type's name as for lanes.
    pub line_colors: Vec<Rgb>,
    /// Why the result is empty or near-empty (`Summary::notes`), printed under the chart so
    /// that the image says it too.
    pub notes: Vec<String>,
}

impl ChartData {
    #[must_use]
    pub fn of(summary: &Summary) -> Self {
        let lanes: Vec<String> = summary.lanes.iter().map(|l| l.lane.clone()).collect();
        let mut types: Vec<String> = summary
            .lanes
            .iter()
            .flat_map(|l| l.by_type.keys().cloned())
            .collect();
        types.sort();
        types.dedup();
        let mut categories = vec![(
            "All".to_owned(),
            summary.lanes.iter().map(|l| Some(l.overall)).collect(),
        )];
        for t in &types {
            categories.push((
                t.clone(),
                summary
                    .lanes
                    .iter()
                    .map(|l| l.by_type.get(t).copied())
                    .collect(),
            ));
        }
        // Accuracy against tasks seen: for each type an adapter was tuned on, General at 0
        // and each adapter of that type at its count.
        let mut per_type: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        let general = summary.lanes.first();
        for lane in summary.lanes.iter().skip(1) {
            let (Some(task_type), Some(seen)) = (&lane.task_type, lane.tasks_seen) else {
                continue;
            };
            let Some(m) = lane.by_type.get(task_type) else {
                continue;
            };
            let at = per_type
                .iter()
                .position(|(t, _)| t == task_type)
                .unwrap_or_else(|| {
                    let start = general
                        .and_then(|g| g.by_type.get(task_type))
                        .map(|g| vec![(0.0, g.acc * 100.0)])
                        .unwrap_or_default();
                    per_type.push((task_type.clone(), start));
                    per_type.len() - 1
                });
            per_type[at].1.push((seen as f64, m.acc * 100.0));
        }
        for (_, points) in &mut per_type {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        per_type.retain(|(_, p)| p.len() >= 2);
        let type_names: Vec<(&str, bool)> =
            per_type.iter().map(|(t, _)| (t.as_str(), false)).collect();
        let line_colors = lane_colors(&type_names);
        Self {
            title: format!(
                "Memory-only accuracy by task type: {} ({}, {} questions)",
                Path::new(&summary.source).file_name().map_or_else(
                    || summary.source.clone(),
                    |n| n.to_string_lossy().into_owned()
                ),
                summary.split,
                summary.questions
            ),
            colors: lane_colors_by_name(&lanes),
            lanes,
            categories,
            lines: per_type,
            line_colors,
            notes: summary.notes.clone(),
        }
    }
}

fn rgb((red, green, blue): Rgb) -> RGBColor {
    RGBColor(red, green, blue)
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font always parses; a failure would show as missing text, not a panic.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// Draws the chart into `path` (`.png` or `.svg`) at `width` x `height` pixels.
///
/// # Errors
/// An unknown extension, or a file that cannot be written.
pub fn draw(data: &ChartData, path: &Path, width: u32, height: u32) -> Result<(), EvalError> {
    register_font();
    let fail = |message: String| EvalError::Chart {
        path: path.display().to_string(),
        message,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    // Drawn in memory, then written beside the target and renamed in: never half a chart.
    let bytes = match ext.as_deref() {
        Some("png") => {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                paint(data, &root).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            let image = image::RgbImage::from_raw(width, height, rgb)
                .ok_or_else(|| fail("the image buffer has the wrong size".to_owned()))?;
            let mut png = std::io::Cursor::new(Vec::new());
            image
                .write_to(&mut png, image::ImageFormat::Png)
                .map_err(|e| fail(e.to_string()))?;
            png.into_inner()
        }
        Some("svg") => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                paint(data, &root).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            svg.into_bytes()
        }
        _ => return Err(fail("the chart is written as .png or .svg".to_owned())),
    };
    crate::fsutil::write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
}

/// The text beside a bar: its accuracy, and "n too small" where it has no interval.
#[must_use]
pub fn value_label(m: &Metrics) -> String {
    if m.acc_interval().is_some() {
        format!("{:.0}%", m.acc * 100.0)
    } else {
        format!("{:.0}% ({N_TOO_SMALL})", m.acc * 100.0)
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The notes' font size, and the width of one of its characters (the bundled font is
/// monospaced: 0.6 em), in pixels.
const NOTE_FONT_PX: u32 = 13;
const NOTE_CHAR_PX: u32 = 8;
/// At most this many lines of notes under a chart; summary.json has them all.
const NOTE_LINES: usize = 6;

/// The notes cut into lines of at most `chars` characters, at spaces, "Note: " first.
fn note_lines(notes: &[String], chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for note in notes {
        let mut line = String::from("Note:");
        for word in note.split_whitespace() {
            if line.chars().count() + 1 + word.chars().count() > chars && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            } else if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    if lines.len() > NOTE_LINES {
        lines.truncate(NOTE_LINES);
        if let Some(last) = lines.last_mut() {
            last.push_str(" … (all notes: summary.json)");
        }
    }
    lines
}

fn paint<DB: DrawingBackend>(data: &ChartData, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let root = root.titled(&data.title, (FONT, 22).into_font().color(&BLACK))?;
    let notes = note_lines(
        &data.notes,
        (w.saturating_sub(24) / NOTE_CHAR_PX).max(20) as usize,
    );
    let root = if notes.is_empty() {
        root
    } else {
        let (_, h) = root.dim_in_pixel();
        let footer_px = notes.len() as u32 * (NOTE_FONT_PX + 5) + 10;
        let (chart, footer) = root.split_vertically(h.saturating_sub(footer_px));
        let font = (FONT, NOTE_FONT_PX)
            .into_font()
            .color(&RGBColor(150, 60, 20));
        for (i, line) in notes.iter().enumerate() {
            footer.draw(&Text::new(
                line.clone(),
                (12, 4 + i as i32 * (NOTE_FONT_PX as i32 + 5)),
                font.clone(),
            ))?;
        }
        chart
    };
    let (_, h) = root.dim_in_pixel();
    if data.lines.is_empty() {
        bars(data, &root)?;
    } else {
        let (top, bottom) = root.split_vertically(h * 62 / 100);
        bars(data, &top)?;
        lines(data, &bottom)?;
    }
    Ok(())
}

/// Half-bar units: each category is `2 * lanes + 2` units tall, each bar 2.
fn slots(lanes: usize) -> i32 {
    2 * lanes as i32 + 2
}

fn bars<DB: DrawingBackend>(data: &ChartData, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let lanes = data.lanes.len().max(1);
    let rows = data.categories.len() as i32;
    let unit = slots(lanes);
    let top = rows * unit;
    // Row 0 at the top: "All" first.
    let row_base = |row: usize| top - (row as i32 + 1) * unit;
    let label_at = |v: &i32| -> String {
        let v = *v;
        let row = (top - v - 1).div_euclid(unit);
        let base = top - (row + 1) * unit;
        if v - base == lanes as i32 + 1 && (0..rows).contains(&row) {
            let (name, per_lane) = &data.categories[row as usize];
            let asked = per_lane
                .iter()
                .flatten()
                .map(|m| m.questions)
                .max()
                .unwrap_or(0);
            format!("{name} (n={asked})")
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        // Room right of 100% for the value labels and the legend.
        .build_cartesian_2d(0f64..120f64, 0..top)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(1)
        .set_tick_mark_size(LabelAreaPosition::Left, 0)
        .y_labels(top as usize + 1)
        .y_label_formatter(&label_at)
        .x_labels(13)
        .x_label_formatter(&|v| {
            if *v <= 100.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .x_desc(format!(
            "accuracy (%), memory only, 95% bootstrap interval (none below n={MIN_N_FOR_INTERVAL})"
        ))
        .y_desc("task type")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (l, lane) in data.lanes.iter().enumerate() {
        let color = rgb(data.colors.get(l).copied().unwrap_or(GENERAL_COLOR));
        let mut rects = Vec::new();
        let mut whiskers = Vec::new();
        let mut values = Vec::new();
        let value_font = (FONT, 12).into_font().color(&BLACK.mix(0.8));
        for (row, (_, per_lane)) in data.categories.iter().enumerate() {
            let m = per_lane.get(l).copied().flatten();
            // The first lane on top within its group.
            let y0 = row_base(row) + 1 + 2 * (lanes - 1 - l) as i32;
            let m = match (BarMark::of(m.as_ref()), m) {
                (BarMark::Bar(percent), Some(m)) => {
                    rects.push(Rectangle::new(
                        [(0.0, y0), (percent, y0 + 2)],
                        color.filled(),
                    ));
                    m
                }
                (BarMark::Zero, Some(m)) => {
                    // A zero-length bar draws nothing: a mark at 0 shows that there is a value.
                    rects.push(Rectangle::new(
                        [(0.0, y0), (ZERO_MARK_PERCENT, y0 + 2)],
                        color.filled(),
                    ));
                    m
                }
                _ => {
                    values.push(Text::new(
                        NO_QUESTIONS.to_owned(),
                        (0.8, y0 + 2),
                        (FONT, 12).into_font().color(&BLACK.mix(0.45)),
                    ));
                    continue;
                }
            };
            let y = y0 + 1;
            let whisker = BLACK.mix(0.75).stroke_width(1);
            let interval = m.acc_interval();
            if let Some(ci) = interval {
                whiskers.push(PathElement::new(
                    vec![(ci.low * 100.0, y), (ci.high * 100.0, y)],
                    whisker,
                ));
                for x in [ci.low, ci.high] {
                    whiskers.push(PathElement::new(
                        vec![(x * 100.0, y0), (x * 100.0, y0 + 2)],
                        whisker,
                    ));
                }
            }
            let right = (m.acc * 100.0)
                .max(ZERO_MARK_PERCENT)
                .max(interval.map_or(0.0, |ci| ci.high * 100.0));
            values.push(Text::new(
                value_label(&m),
                (right + 0.8, y0 + 2),
                value_font.clone(),
            ));
        }
        chart
            .draw_series(rects)?
            .label(lane.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
        chart.draw_series(whiskers)?;
        chart.draw_series(values)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

fn lines<DB: DrawingBackend>(data: &ChartData, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let max_seen = data
        .lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(10.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .caption(
            "Accuracy against tasks seen (Phase Two refreshes)",
            (FONT, 17),
        )
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_seen * 1.08, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_desc("tasks seen by the adapter (0 = General lane)")
        .y_desc("accuracy (%)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (i, (task_type, points)) in data.lines.iter().enumerate() {
        let color = rgb(data.line_colors.get(i).copied().unwrap_or(GENERAL_COLOR));
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(task_type.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::{Interval, LaneSummary};

    fn metrics(questions: usize, correct: usize) -> Metrics {
        Metrics {
            questions,
            answered: questions,
            correct,
            acc: correct as f64 / questions.max(1) as f64,
            cov: 1.0,
            prec: correct as f64 / questions.max(1) as f64,
            acc_ci: (questions >= 5).then_some(Interval {
                low: 0.0,
                high: 0.5,
            }),
            ..Metrics::default()
        }
    }

    #[test]
    fn a_lane_keeps_its_color_whatever_its_place_and_no_two_lanes_share_one() {
        let names = [
            "general",
            "object-reasoning",
            "action-reasoning",
            "counting-problem",
            "attribute-perception",
            "spatial-reasoning",
            "action-recognition",
            "temporal-perception",
        ];
        let colors = lane_colors_by_name(&names);
        assert_eq!(colors[0], GENERAL_COLOR);
        let mut distinct = colors.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{colors:?}");
        // Another order, another run: each lane the same color.
        let mut reversed = names;
        reversed.reverse();
        let again = lane_colors_by_name(&reversed);
        for (i, name) in reversed.iter().enumerate() {
            let at = names.iter().position(|n| n == name).unwrap();
            assert_eq!(again[i], colors[at], "{name}");
        }
        // Fixed by the name (FNV-1a), not by the build: this lane is always this color.
        assert_eq!(
            lane_colors_by_name(&["object-reasoning"])[0],
            LANE_PALETTE[(name_hash("object-reasoning") % 10) as usize]
        );
        // More lanes than the palette holds: still all different.
        let many: Vec<String> = (0..40).map(|i| format!("lane-{i}")).collect();
        let mut colors = lane_colors_by_name(&many);
        colors.sort_unstable();
        colors.dedup();
        assert_eq!(colors.len(), 40);
        // Two lanes that both claim to be General: only one gets its color.
        let both = lane_colors(&[("builtin", true), ("general", true)]);
        assert_ne!(both[0], both[1]);
    }

    #[test]
    fn a_lane_that_collides_gives_way_by_name_not_by_order() {
        // Two names hashing to the same slot: the one sorting first keeps it.
        let slot = |n: &str| name_hash(n) % 10;
        let a = "lane-0".to_owned();
        let b = (1..1000)
            .map(|i| format!("lane-{i}"))
            .find(|n| slot(n) == slot(&a))
            .unwrap();
        let ab = lane_colors_by_name(&[a.as_str(), b.as_str()]);
        let ba = lane_colors_by_name(&[b.as_str(), a.as_str()]);
        assert_eq!(ab[0], LANE_PALETTE[slot(&a) as usize]);
        assert_ne!(ab[0], ab[1]);
        assert_eq!((ab[0], ab[1]), (ba[1], ba[0]));
        // Alone, the second keeps its own hashed color.
        assert_eq!(
            lane_colors_by_name(&[b.as_str()])[0],
            LANE_PALETTE[slot(&b) as usize]
        );
    }

    #[test]
    fn the_notes_are_printed_under_the_chart() {
        let note = "Lane 'x' holds no memory of the stream asked about ('s'), so it answers \
                    every question with E.";
        let lines = note_lines(&vec![note.to_owned(); 2], 40);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        assert_eq!(lines.iter().filter(|l| l.starts_with("Note: ")).count(), 2);
        assert_eq!(note_lines(&vec![note.to_owned(); 9], 200).len(), NOTE_LINES);
        let summary = Summary {
            source: "p".into(),
            split: "project".into(),
            answerer: "builtin".into(),
            policy: "lanes".into(),
            questions: 0,
            seconds: 0.0,
            lanes: Vec::new(),
            notes: vec![note.to_owned()],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        draw(&ChartData::of(&summary), &path, 1400, 900).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(
            svg.contains("Note: Lane &apos;x&apos; holds") || svg.contains("Note: Lane 'x' holds"),
            "{svg}"
        );
    }

    #[test]
    fn zero_is_a_mark_and_a_missing_value_is_said_to_be_missing() {
        assert_eq!(BarMark::of(Some(&metrics(4, 2))), BarMark::Bar(50.0));
        assert_eq!(BarMark::of(Some(&metrics(4, 0))), BarMark::Zero);
        assert_eq!(BarMark::of(Some(&metrics(0, 0))), BarMark::Missing);
        assert_eq!(BarMark::of(None), BarMark::Missing);

        // Drawn: the zero is a filled mark of the lane's color; the missing value draws no
        // rectangle, only "no questions".
        let lane = |name: &str, by_type: Vec<(&str, Metrics)>| LaneSummary {
            lane: name.into(),
            adapter: None,
            task_type: None,
            tasks_seen: None,
            tuned_on_evaluated: 0,
            unverified_adapter: None,
            overall: metrics(6, 0),
            by_type: by_type
                .into_iter()
                .map(|(t, m)| (t.to_owned(), m))
                .collect(),
        };
        let summary = Summary {
            source: "suite".into(),
            split: "test".into(),
            answerer: "builtin".into(),
            policy: "p".into(),
            questions: 6,
            seconds: 0.0,
            lanes: vec![
                lane("general", vec![("Counting Problem", metrics(6, 3))]),
                lane("count", vec![("OCR Problems", metrics(6, 0))]),
            ],
            notes: Vec::new(),
        };
        let data = ChartData::of(&summary);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        draw(&data, &path, 1400, 900).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let hex = |(r, g, b): Rgb| format!("#{r:02X}{g:02X}{b:02X}");
        let filled = |color: Rgb| {
            svg.lines()
                .filter(|l| l.contains("<rect") && l.contains(&format!("fill=\"{}\"", hex(color))))
                .filter_map(|l| {
                    let w = l.split("width=\"").nth(1)?.split('"').next()?;
                    w.parse::<f64>().ok()
                })
                .filter(|&w| w >= 3.0)
                .count()
        };
        // "count": zero overall, zero for OCR (its legend swatch is a third rectangle).
        assert_eq!(filled(data.colors[1]), 3, "{svg}");
        // General: zero overall and half on Counting, plus its swatch.
        assert_eq!(filled(data.colors[0]), 3);
        // Each lane misses one task type.
        assert_eq!(svg.matches(NO_QUESTIONS).count(), 2);
        // Three zeros (each lane overall, "count" on OCR), each labelled.
        assert_eq!(svg.lines().filter(|l| l.trim() == "0%").count(), 3);
    }
}
