//! The before-and-after charts, drawn with plotters to PNG or SVG for papers: accuracy per
//! task type for each lane (General first, then each adapter) with 95% intervals, and, when
//! adapters were tuned on different numbers of tasks, accuracy against the tasks seen.
//! The app draws the same data with `egui_plot`; both read [`ChartData`].

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::EvalError;
use super::metrics::{Metrics, Summary};

const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Hack-Regular.ttf");
const FONT: &str = "sans-serif";

/// Lane colors, shared with the app's chart: General in grey-blue, adapters in warm hues.
pub const LANE_COLORS: [(u8, u8, u8); 6] = [
    (96, 125, 160),
    (230, 126, 34),
    (46, 160, 90),
    (192, 57, 43),
    (142, 68, 173),
    (22, 160, 170),
];

/// A lane's color.
#[must_use]
pub fn lane_color(index: usize) -> (u8, u8, u8) {
    LANE_COLORS[index % LANE_COLORS.len()]
}

/// What both charts show: one row per category ("All" first, then task types), one bar per
/// lane, and the lines against tasks seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData {
    pub title: String,
    pub lanes: Vec<String>,
    /// Category name, then per lane its metrics there (None when the lane saw no such task).
    pub categories: Vec<(String, Vec<Option<Metrics>>)>,
    /// Per task type: (tasks seen, accuracy %) points, General at 0 tasks.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
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
            lanes,
            categories,
            lines: per_type,
        }
    }
}

fn rgb((red, green, blue): (u8, u8, u8)) -> RGBColor {
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

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn paint<DB: DrawingBackend>(data: &ChartData, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (_, h) = root.dim_in_pixel();
    let root = root.titled(&data.title, (FONT, 22).into_font().color(&BLACK))?;
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
        .x_desc("accuracy (%), memory only, 95% bootstrap interval")
        .y_desc("task type")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (l, lane) in data.lanes.iter().enumerate() {
        let color = rgb(lane_color(l));
        let mut rects = Vec::new();
        let mut whiskers = Vec::new();
        let mut values = Vec::new();
        for (row, (_, per_lane)) in data.categories.iter().enumerate() {
            let Some(Some(m)) = per_lane.get(l) else {
                continue;
            };
            // The first lane on top within its group.
            let y0 = row_base(row) + 1 + 2 * (lanes - 1 - l) as i32;
            rects.push(Rectangle::new(
                [(0.0, y0), (m.acc * 100.0, y0 + 2)],
                color.filled(),
            ));
            let y = y0 + 1;
            let whisker = BLACK.mix(0.75).stroke_width(1);
            whiskers.push(PathElement::new(
                vec![(m.acc_ci.low * 100.0, y), (m.acc_ci.high * 100.0, y)],
                whisker,
            ));
            for x in [m.acc_ci.low, m.acc_ci.high] {
                whiskers.push(PathElement::new(
                    vec![(x * 100.0, y0), (x * 100.0, y0 + 2)],
                    whisker,
                ));
            }
            values.push(Text::new(
                format!("{:.0}%", m.acc * 100.0),
                (m.acc.max(m.acc_ci.high) * 100.0 + 0.8, y0 + 2),
                (FONT, 12).into_font().color(&BLACK.mix(0.8)),
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
        let color = rgb(lane_color(i + 1));
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
