//! Memory made elsewhere: TaskMem's outputs (the folder-level `episodic_<tag>.json` and the
//! per-clip `<clip_id>/<file_id>_<clip_id>_<tag>.json`), the TaskMem project page's demo file,
//! and EgoRAG caption records. Each becomes lanes, entries and streams of a project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Lane, MemoryEntry};
use crate::tasks::Phase;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid JSON: {detail}", path.display())]
    Json { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Format { path: PathBuf, detail: String },
}

/// A question arriving in a stream (from the demo file; the task library of a later issue
/// holds authored ones).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamQuestion {
    pub at_ms: i64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// Whether its arrival switches the active lane.
    #[serde(default)]
    pub trigger: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_to: Option<String>,
}

/// A video stream of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub id: String,
    pub title: String,
    pub duration_ms: i64,
    /// Where the video was (a path or URL); a project works without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    /// SHA-256 of the video file, when it was a local file at import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<StreamQuestion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
}

/// What an importer produced; entry ids start at 0 and are renumbered when added to a project.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    pub streams: Vec<StreamInfo>,
    pub lanes: Vec<Lane>,
    pub entries: Vec<MemoryEntry>,
    /// Tasks that came with the memory (a world stream's questions, the demo's questions).
    pub tasks: Vec<crate::tasks::Task>,
}

/// A stream's questions as tasks (ids `<stream>-q<N>`), for importers and for projects of
/// schema 1 that kept questions only in the manifest.
#[must_use]
pub fn tasks_from_questions(stream: &StreamInfo, source: &str) -> Vec<crate::tasks::Task> {
    stream
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut task = crate::tasks::Task::authored(
                format!("{}-q{}", stream.id, i + 1),
                &stream.id,
                q.at_ms,
                "",
            );
            task.text.clone_from(&q.text);
            task.task_type = q.task_type.clone().unwrap_or_default();
            task.trigger = q.trigger;
            task.switch_to.clone_from(&q.switch_to);
            task.source = crate::tasks::TaskSource::Imported(source.to_owned());
            task.created_unix_ms = 0;
            task.edited_unix_ms = 0;
            task
        })
        .collect()
}

fn read_json(path: &Path) -> Result<Value, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ImportError::Json {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

fn format_error(path: &Path, detail: impl Into<String>) -> ImportError {
    ImportError::Format {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// The latest time an imported entry may have: a year, as for tasks
/// ([`crate::tasks::MAX_STREAM_MS`]). A time past it is a broken file (a clip id near
/// `i64::MAX`, a date read as seconds), and would make every view sized by the stream allocate
/// without bound.
pub const MAX_TIME_MS: i64 = 366 * 24 * 3_600_000;

/// Seconds (a JSON number) as milliseconds: `None` when not a number; an error when not
/// finite, negative or past [`MAX_TIME_MS`].
fn seconds_ms(v: &Value, path: &Path, what: &str) -> Result<Option<i64>, ImportError> {
    let Some(s) = v.as_f64() else {
        return Ok(None);
    };
    float_seconds_ms(s, path, what).map(Some)
}

fn float_seconds_ms(s: f64, path: &Path, what: &str) -> Result<i64, ImportError> {
    let ms = s * 1000.0;
    if !ms.is_finite() || ms < 0.0 || ms > MAX_TIME_MS as f64 {
        return Err(format_error(
            path,
            format!("{what}: {s} s is not a time between 0 and a year"),
        ));
    }
    Ok(ms.round() as i64)
}

/// Refuses a clip that ends before it starts, or starts or ends outside `[0, MAX_TIME_MS]`.
fn check_span(path: &Path, what: &str, start_ms: i64, end_ms: i64) -> Result<(), ImportError> {
    if start_ms < 0 || end_ms > MAX_TIME_MS {
        return Err(format_error(
            path,
            format!("{what}: {start_ms}..{end_ms} ms is outside 0 and a year"),
        ));
    }
    if end_ms < start_ms {
        return Err(format_error(
            path,
            format!("{what}: it ends ({end_ms} ms) before it starts ({start_ms} ms)"),
        ));
    }
    Ok(())
}

/// Clip `k` of `interval_ms` clips, delayed by `delay_ms`: (start, end, available), with
/// checked arithmetic (a clip id near `i64::MAX` must not wrap to a negative time).
fn clip_span(
    path: &Path,
    clip: i64,
    interval_ms: i64,
    delay_ms: i64,
) -> Result<(i64, i64, i64), ImportError> {
    let span = clip
        .checked_mul(interval_ms)
        .and_then(|start| Some((start, start.checked_add(interval_ms)?)))
        .and_then(|(start, end)| Some((start, end, end.checked_add(delay_ms)?)))
        .filter(|&(start, _, available)| clip >= 0 && start >= 0 && available <= MAX_TIME_MS);
    span.ok_or_else(|| {
        format_error(
            path,
            format!(
                "clip id {clip}: its time ({clip} x {interval_ms} ms) is not between 0 and a year"
            ),
        )
    })
}

/// A lane id from a title: "General Memory" is `general`, others a slug of the title.
#[must_use]
pub fn lane_id(title: &str) -> String {
    if title.to_lowercase().starts_with("general") {
        return "general".to_owned();
    }
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The lane of `title` from the file `path`, refused when its id would be empty (a title
/// without letters or digits: its entries would go to a file no lane reads).
fn checked_lane(path: &Path, title: &str, task_hint: Option<String>) -> Result<Lane, ImportError> {
    let lane = lane(title, task_hint);
    match super::lane_id_problem(&lane.id) {
        Some(detail) => Err(format_error(path, format!("lane \"{title}\": {detail}"))),
        None => Ok(lane),
    }
}

fn lane(title: &str, task_hint: Option<String>) -> Lane {
    let id = lane_id(title);
    Lane {
        hidden: false,
        general: id == "general",
        id,
        title: title.to_owned(),
        task_hint,
        adapter: None,
    }
}

/// Memory from whatever `path` is, told from its content (the app's Import memory, which
/// asks no questions): a world stream folder (`truth.jsonl` beside its video), TaskMem's output
/// folder (`episodic_<tag>.json` files; its entries go on `stream` in 10 s clips available at
/// their end), EgoRAG captions (records with `start_time` and `end_time`), or TaskMem's demo
/// file (any other JSON).
pub fn import_any(path: &Path, stream: &str) -> Result<Imported, ImportError> {
    if path.is_dir() {
        if path.join("truth.jsonl").is_file() {
            return world_stream(path);
        }
        let episodic = std::fs::read_dir(path)
            .map_err(|source| ImportError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(Result::ok)
            .any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("episodic_") && name.ends_with(".json")
            });
        if episodic {
            return taskmem_output(path, stream, 10_000, 0);
        }
        return Err(ImportError::Format {
            path: path.to_path_buf(),
            detail: "neither a world stream folder (truth.jsonl) nor TaskMem's output folder (episodic_<tag>.json files)".to_owned(),
        });
    }
    let mut head = Vec::new();
    {
        use std::io::Read;
        std::fs::File::open(path)
            .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
            .map_err(|source| ImportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    }
    let head = String::from_utf8_lossy(&head);
    if head.contains("\"start_time\"") && head.contains("\"end_time\"") {
        egorag_captions(path, "EgoRAG captions")
    } else {
        demo_file(path)
    }
}

/// TaskMem's output folder: every `episodic_<tag>.json` becomes a lane named by its tag, and
/// the per-clip files add each entry's raw response. Clip id `k` is `[k*interval, (k+1)*interval)`.
pub fn taskmem_output(
    dir: &Path,
    stream: &str,
    interval_ms: i64,
    delay_ms: i64,
) -> Result<Imported, ImportError> {
    let listing = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut by_tag: BTreeMap<String, BTreeMap<i64, (String, Option<String>)>> = BTreeMap::new();
    let mut clip_dirs = Vec::new();
    for item in listing {
        let item = item.map_err(|source| ImportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        if path.is_dir() && name.parse::<i64>().is_ok() {
            clip_dirs.push(path);
        } else if let Some(tag) = name
            .strip_prefix("episodic_")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let Value::Object(map) = read_json(&path)? else {
                return Err(format_error(
                    &path,
                    "expected an object mapping clip id to description",
                ));
            };
            let clips = by_tag.entry(tag.to_owned()).or_default();
            for (clip, text) in map {
                let k: i64 = clip.trim().parse().map_err(|_| {
                    format_error(&path, format!("clip id '{clip}' is not a number"))
                })?;
                let Value::String(text) = text else {
                    return Err(format_error(
                        &path,
                        format!("clip {clip}: the description is not a string"),
                    ));
                };
                clips.insert(k, (text, None));
            }
        }
    }
    // Per-clip files: <clip_id>/<file_id>_<clip_id>_<tag>.json with {"episodic": {...}}.
    clip_dirs.sort();
    for clip_dir in clip_dirs {
        let clip: i64 = clip_dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        let Ok(files) = std::fs::read_dir(&clip_dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files.filter_map(Result::ok).map(|f| f.path()).collect();
        files.sort();
        for path in files {
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let marker = format!("_{clip}_");
            let Some(tag) = stem.rfind(&marker).map(|at| &stem[at + marker.len()..]) else {
                continue;
            };
            let value = read_json(&path)?;
            let episodic = &value["episodic"];
            let Some(output) = episodic["output"].as_str() else {
                return Err(format_error(&path, "missing episodic.output"));
            };
            let response = episodic["response"].as_str().map(str::to_owned);
            let slot = by_tag
                .entry(tag.to_owned())
                .or_default()
                .entry(clip)
                .or_insert((output.to_owned(), None));
            slot.1 = response;
        }
    }
    if by_tag.is_empty() {
        return Err(format_error(
            dir,
            "no episodic_<tag>.json and no per-clip <clip_id>/ folders",
        ));
    }
    let mut imported = Imported::default();
    let mut end_ms = 0;
    for (tag, clips) in by_tag {
        let file = dir.join(format!("episodic_{tag}.json"));
        let lane = checked_lane(&file, &tag, None)?;
        for (clip, (text, response)) in clips {
            let (start_ms, clip_end_ms, available_ms) =
                clip_span(&file, clip, interval_ms, delay_ms)?;
            end_ms = end_ms.max(clip_end_ms);
            imported.entries.push(MemoryEntry {
                budget_tokens: None,
                id: imported.entries.len() as u64,
                stream: stream.to_owned(),
                lane: lane.id.clone(),
                start_ms,
                end_ms: clip_end_ms,
                text,
                available_ms,
                policy: Some(format!("taskmem:{tag}")),
                adapter: None,
                raw_response: response,
                score: None,
                highlights: Vec::new(),
            });
        }
        imported.lanes.push(lane);
    }
    imported.streams.push(StreamInfo {
        id: stream.to_owned(),
        title: stream.to_owned(),
        duration_ms: end_ms,
        video: None,
        video_sha256: None,
        questions: Vec::new(),
        phases: Vec::new(),
    });
    Ok(imported)
}

/// The TaskMem project page's demo file: one stream per demo, lanes from its tracks,
/// questions with their triggers, and the active lane from its phases.
pub fn demo_file(path: &Path) -> Result<Imported, ImportError> {
    let Value::Array(demos) = read_json(path)? else {
        return Err(format_error(path, "expected a list of demos"));
    };
    let mut imported = Imported::default();
    for (d, demo) in demos.iter().enumerate() {
        let id = demo["id"]
            .as_str()
            .ok_or_else(|| format_error(path, format!("demo {d} has no id")))?
            .to_owned();
        let clip_times: Vec<(i64, i64)> = demo["clipTimes"]
            .as_array()
            .ok_or_else(|| format_error(path, format!("demo {id}: no clipTimes")))?
            .iter()
            .enumerate()
            .map(|(k, pair)| {
                let what = format!("demo {id}: clip time {}", k + 1);
                let start_ms = seconds_ms(&pair[0], path, &what)?.unwrap_or(0);
                let end_ms = seconds_ms(&pair[1], path, &what)?.unwrap_or(0);
                check_span(path, &what, start_ms, end_ms)?;
                Ok((start_ms, end_ms))
            })
            .collect::<Result<_, ImportError>>()?;
        let delay_ms = seconds_ms(
            &demo["memoryDelaySeconds"],
            path,
            &format!("demo {id}: memoryDelaySeconds"),
        )?
        .unwrap_or(0);
        let tracks = demo["tracks"]
            .as_array()
            .ok_or_else(|| format_error(path, format!("demo {id}: no tracks")))?;
        let mut track_lanes = BTreeMap::new();
        for track in tracks {
            let title = track["title"].as_str().unwrap_or("Untitled");
            let lane = checked_lane(path, title, track["taskHint"].as_str().map(str::to_owned))?;
            track_lanes.insert(
                track["id"].as_str().unwrap_or_default().to_owned(),
                lane.id.clone(),
            );
            let clips = track["clips"].as_array().cloned().unwrap_or_default();
            if clips.len() != clip_times.len() {
                return Err(format_error(
                    path,
                    format!(
                        "demo {id}, track {title}: {} clips for {} clip times",
                        clips.len(),
                        clip_times.len()
                    ),
                ));
            }
            let highlights = track["diffHighlights"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (k, (text, &(start_ms, end_ms))) in clips.iter().zip(&clip_times).enumerate() {
                imported.entries.push(MemoryEntry {
                    budget_tokens: None,
                    id: imported.entries.len() as u64,
                    stream: id.clone(),
                    lane: lane.id.clone(),
                    start_ms,
                    end_ms,
                    text: text.as_str().unwrap_or_default().to_owned(),
                    available_ms: end_ms.saturating_add(delay_ms),
                    policy: Some("taskmem-demo".to_owned()),
                    adapter: (!lane.general).then(|| lane.id.clone()),
                    raw_response: None,
                    score: None,
                    highlights: highlights
                        .get(k)
                        .and_then(Value::as_array)
                        .map(|h| {
                            h.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
            if !imported.lanes.iter().any(|l| l.id == lane.id) {
                imported.lanes.push(lane);
            }
        }
        let questions = demo["questions"]
            .as_array()
            .map(|qs| {
                qs.iter()
                    .enumerate()
                    .map(|(n, q)| {
                        let what = format!("demo {id}: question {}", n + 1);
                        Ok(StreamQuestion {
                            at_ms: seconds_ms(&q["at"], path, &what)?.unwrap_or(0),
                            text: q["textEn"]
                                .as_str()
                                .or(q["text"].as_str())
                                .unwrap_or_default()
                                .to_owned(),
                            task_type: q["direction"].as_str().map(str::to_owned),
                            trigger: q["trigger"].as_bool().unwrap_or(false),
                            switch_to: q["switchTo"].as_str().map(lane_id),
                        })
                    })
                    .collect::<Result<Vec<_>, ImportError>>()
            })
            .transpose()?
            .unwrap_or_default();
        let phases = demo["phases"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .enumerate()
                    .map(|(n, p)| {
                        let what = format!("demo {id}: phase {}", n + 1);
                        Ok(Phase {
                            at_ms: seconds_ms(&p["at"], path, &what)?.unwrap_or(0),
                            lane: track_lanes
                                .get(p["trackId"].as_str().unwrap_or_default())
                                .cloned()
                                .unwrap_or_default(),
                        })
                    })
                    .collect::<Result<Vec<_>, ImportError>>()
            })
            .transpose()?
            .unwrap_or_default();
        imported.streams.push(StreamInfo {
            id: id.clone(),
            title: demo["title"].as_str().unwrap_or(&id).to_owned(),
            duration_ms: seconds_ms(&demo["duration"], path, &format!("demo {id}: duration"))?
                .unwrap_or_else(|| clip_times.last().map_or(0, |c| c.1)),
            video: demo["url"]
                .as_str()
                .or(demo["source"].as_str())
                .map(str::to_owned),
            video_sha256: None,
            questions,
            phases,
        });
    }
    imported.tasks = imported
        .streams
        .iter()
        .flat_map(|s| tasks_from_questions(s, "taskmem-demo"))
        .collect();
    Ok(imported)
}

/// EgoRAG-style times: seconds as a number, or `HHMMSSff` (hundredths) as a string, or
/// seconds as a string. `Ok(None)`: missing or unreadable; an error: a time that is not one
/// (minutes or seconds past 59, not finite, negative, past [`MAX_TIME_MS`]).
fn egorag_time_ms(value: &Value, path: &Path, what: &str) -> Result<Option<i64>, ImportError> {
    if let Some(seconds) = value.as_f64() {
        return float_seconds_ms(seconds, path, what).map(Some);
    }
    let Some(s) = value.as_str().map(str::trim) else {
        return Ok(None);
    };
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        let field = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap_or_default();
        let (hours, min, sec, hundredths) = (field(0..2), field(2..4), field(4..6), field(6..8));
        if min >= 60 || sec >= 60 {
            return Err(format_error(
                path,
                format!("{what}: \"{s}\" is not a time HHMMSSff (minutes and seconds below 60)"),
            ));
        }
        return Ok(Some(
            ((hours * 60 + min) * 60 + sec) * 1000 + hundredths * 10,
        ));
    }
    match s.parse::<f64>() {
        Ok(x) => float_seconds_ms(x, path, what).map(Some),
        Err(_) => Ok(None),
    }
}

/// An EgoRAG `video_path`: a relative one is relative to the captions file's folder, and is
/// kept as an absolute path so that it never reads as a path inside the project.
fn egorag_video(path: &Path, video: &str) -> String {
    let given = Path::new(video);
    if given.is_absolute() || video.contains("://") {
        return video.to_owned();
    }
    let base = path.parent().unwrap_or_else(|| Path::new(""));
    let joined = base.join(given);
    joined
        .canonicalize()
        .or_else(|_| std::path::absolute(&joined))
        .map_or_else(|_| video.to_owned(), |p| p.display().to_string())
}

/// EgoRAG caption records `{start_time, end_time, text, date, video_path}` (a JSON list, or one
/// record per line), as one lane; each `date` becomes a stream.
pub fn egorag_captions(path: &Path, lane_title: &str) -> Result<Imported, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let records: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        // A one-record file: one record per line, with one line.
        Ok(record @ Value::Object(_)) => vec![record],
        Ok(_) => return Err(format_error(path, "expected a list of caption records")),
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| format_error(path, format!("line {}: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?,
    };
    let lane = checked_lane(path, lane_title, None)?;
    let mut imported = Imported::default();
    let mut streams: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let what = format!("record {}", i + 1);
        let (Some(start_ms), Some(end_ms)) = (
            egorag_time_ms(&r["start_time"], path, &format!("{what}: start_time"))?,
            egorag_time_ms(&r["end_time"], path, &format!("{what}: end_time"))?,
        ) else {
            return Err(format_error(
                path,
                format!("{what}: start_time/end_time missing or unreadable"),
            ));
        };
        check_span(path, &what, start_ms, end_ms)?;
        let stream = r["date"].as_str().unwrap_or("stream").to_owned();
        let slot = streams
            .entry(stream.clone())
            .or_insert((0, r["video_path"].as_str().map(|v| egorag_video(path, v))));
        slot.0 = slot.0.max(end_ms);
        imported.entries.push(MemoryEntry {
            budget_tokens: None,
            id: i as u64,
            stream,
            lane: lane.id.clone(),
            start_ms,
            end_ms,
            text: r["text"].as_str().unwrap_or_default().to_owned(),
            available_ms: end_ms,
            policy: Some("egorag".to_owned()),
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        });
    }
    imported.lanes.push(lane);
    imported.streams = streams
        .into_iter()
        .map(|(id, (duration_ms, video))| StreamInfo {
            title: id.clone(),
            id,
            duration_ms,
            video,
            video_sha256: None,
            questions: Vec::new(),
            phases: Vec::new(),
        })
        .collect();
    Ok(imported)
}

/// A stream of the synthetic world (a folder with video.mp4, truth.jsonl, tasks.jsonl): its
/// reference descriptions as a lane, its questions at their ask times, and its video by path
/// (and content hash), so the project shows memory over real video.
pub fn world_stream(dir: &Path) -> Result<Imported, ImportError> {
    use crate::world::truth::ClipTruth;
    let truth_path = dir.join("truth.jsonl");
    let text = std::fs::read_to_string(&truth_path).map_err(|source| ImportError::Io {
        path: truth_path.clone(),
        source,
    })?;
    let clips: Vec<ClipTruth> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| format_error(&truth_path, format!("line {}: {e}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    for (i, c) in clips.iter().enumerate() {
        check_span(
            &truth_path,
            &format!("line {}", i + 1),
            c.start_ms,
            c.end_ms,
        )?;
    }
    let tasks_path = dir.join("tasks.jsonl");
    let tasks = if tasks_path.is_file() {
        crate::world::questions::load_tasks(&tasks_path)
            .map_err(|e| format_error(&tasks_path, e.to_string()))?
    } else {
        Vec::new()
    };
    let id = dir
        .file_name()
        .map_or_else(|| "world".to_owned(), |n| n.to_string_lossy().into_owned());
    let video_path = dir.join("video.mp4");
    let video = video_path
        .canonicalize()
        .ok()
        .map(|p| p.display().to_string());
    let video_sha256 = crate::world::sha256_file(&video_path).ok();
    let lane = lane(
        "Reference",
        Some("ground-truth reference descriptions".to_owned()),
    );
    let entries = clips
        .iter()
        .enumerate()
        .map(|(i, c)| MemoryEntry {
            budget_tokens: None,
            id: i as u64,
            stream: id.clone(),
            lane: lane.id.clone(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            text: c.reference.clone(),
            available_ms: c.end_ms,
            policy: Some("world-truth".to_owned()),
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        })
        .collect();
    let world_tasks = tasks
        .iter()
        .map(|q| crate::tasks::Task {
            stream: id.clone(),
            ..crate::tasks::Task::from(q)
        })
        .collect();
    Ok(Imported {
        streams: vec![StreamInfo {
            title: id.clone(),
            id,
            duration_ms: clips.last().map_or(0, |c| c.end_ms),
            video,
            video_sha256,
            questions: tasks
                .iter()
                .map(|q| StreamQuestion {
                    at_ms: q.ask_ms,
                    text: q.text.clone(),
                    task_type: Some(q.task_type.clone()),
                    trigger: false,
                    switch_to: None,
                })
                .collect(),
            phases: Vec::new(),
        }],
        lanes: vec![lane],
        entries,
        tasks: world_tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_ids_are_stable_slugs() {
        assert_eq!(lane_id("General Memory"), "general");
        assert_eq!(lane_id("Action Reasoning"), "action-reasoning");
        assert_eq!(lane_id("Object  Reasoning!"), "object-reasoning");
    }

    #[test]
    fn egorag_times_read_both_forms() {
        let p = Path::new("c.json");
        let t = |v: Value| egorag_time_ms(&v, p, "t");
        assert_eq!(t(Value::from(12.5)).unwrap(), Some(12_500));
        assert_eq!(
            t(Value::from("11210217")).unwrap(),
            Some(((11 * 60 + 21) * 60 + 2) * 1000 + 170)
        );
        assert_eq!(t(Value::from("soon")).unwrap(), None);
        assert!(t(Value::from("99999999")).is_err());
        assert!(t(Value::from(-1.0)).is_err());
        assert!(t(Value::from(1e9)).is_err());
        assert!(t(Value::from("1e400")).is_err());
    }
}
