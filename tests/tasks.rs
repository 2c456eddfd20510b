//! Task import and export: every real question file in tests/assets/tasks imports with the
//! right counts and times, round trips through every export format, malformed variants give
//! errors naming the record, and the CLI does the same with exit code 2.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{export_tasks, import_tasks, s, stderr, stdout};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskmem::tasks::export::{self, ExportFormat};
use taskmem::tasks::import::{
    ImportOptions, ImportedTasks, TaskFormat, TaskImportError, import_bytes, import_file,
};
use taskmem::tasks::{Span, Task, TaskSource};

/// A question file copied from ../shared/data (see tests/assets/tasks/README.md).
fn asset(name: &str) -> PathBuf {
    common::asset("tasks").join(name)
}

fn import(name: &str, format: TaskFormat) -> ImportedTasks {
    import_file(&asset(name), format, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn streams(tasks: &[Task]) -> BTreeSet<&str> {
    tasks.iter().map(|t| t.stream.as_str()).collect()
}

fn assert_valid(tasks: &[Task]) {
    for t in tasks {
        t.validate()
            .unwrap_or_else(|e| panic!("{} / {}: {e}", t.stream, t.id));
    }
}

/// Imports `bytes` as if it were a file named `name`; the error text.
fn error_of(name: &str, bytes: &[u8], format: TaskFormat) -> String {
    import_bytes(Path::new(name), bytes, format, &ImportOptions::default()).map_or_else(
        |e| e.to_string(),
        |t| format!("imported {} tasks", t.tasks.len()),
    )
}

#[test]
fn videomme_flat_json_is_eleven_questions_over_six_videos_asked_at_the_end() {
    let imported = import("videomme_flat_sample.json", TaskFormat::VideoMme);
    assert!(imported.asked_at_end);
    assert_eq!(imported.tasks.len(), 11);
    assert_eq!(streams(&imported.tasks).len(), 6);
    assert_valid(&imported.tasks);
    let t = &imported.tasks[0];
    assert_eq!((t.stream.as_str(), t.id.as_str()), ("001", "001-1"));
    assert_eq!(t.task_type, "Counting Problem");
    assert_eq!(
        t.options,
        [
            "Apples.",
            "Candles.",
            "Berries.",
            "The three kinds are of the same number."
        ]
    );
    assert_eq!(t.answer, "C");
    assert_eq!(t.ask_ms, 0);
    assert!(t.evidence.is_empty());
    assert_eq!(t.source, TaskSource::Imported("videomme".into()));
    assert_eq!(t.extra["domain"], "Knowledge");
    assert_eq!(t.extra["sub_category"], "Humanity & History");
    assert_eq!(t.extra["duration"], "short");
    assert_eq!(t.extra["videoID"], "fFjv93ACGo8");
    assert_eq!(
        t.extra["url"],
        "https://www.youtube.com/watch?v=fFjv93ACGo8"
    );
    assert_eq!(t.extra.len(), 5, "{:?}", t.extra);
}

#[test]
fn videomme_nested_template_with_trailing_commas_is_nine_over_three_videos() {
    let imported = import("videomme_nested_output_template.json", TaskFormat::VideoMme);
    assert!(imported.asked_at_end);
    assert_eq!(imported.tasks.len(), 9);
    assert_eq!(
        streams(&imported.tasks),
        BTreeSet::from(["001", "002", "003"])
    );
    assert_valid(&imported.tasks);
    let t = imported.tasks.iter().find(|t| t.id == "002-1").unwrap();
    assert_eq!(t.stream, "002");
    assert_eq!(t.answer, "C");
    assert_eq!(t.options[2], "Jade.");
    // The video's fields and the model's response are kept.
    assert_eq!(t.extra["response"], "Answer: C. Jade.");
    assert_eq!(t.extra["domain"], "Knowledge");
    assert_eq!(t.extra["duration"], "short");
    // The same questions as the flat file's, question for question.
    let flat = import("videomme_flat_sample.json", TaskFormat::VideoMme);
    let flat_t = flat.tasks.iter().find(|t| t.id == "002-1").unwrap();
    assert_eq!((&flat_t.text, &flat_t.options), (&t.text, &t.options));
}

/// The flat sample as the Hugging Face parquet has it: the same columns, options a list.
fn videomme_parquet_bytes() -> Vec<u8> {
    use polars::prelude::*;
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(asset("videomme_flat_sample.json")).unwrap())
            .unwrap();
    let column = |key: &str| -> Column {
        let values: Vec<String> = records
            .iter()
            .map(|r| r[key].as_str().unwrap().to_owned())
            .collect();
        Column::new(key.into(), values)
    };
    let options: Vec<Series> = records
        .iter()
        .map(|r| {
            let list: Vec<&str> = r["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            Series::new("".into(), list)
        })
        .collect();
    let mut columns: Vec<Column> = [
        "video_id",
        "duration",
        "domain",
        "sub_category",
        "url",
        "videoID",
        "question_id",
        "task_type",
        "question",
    ]
    .iter()
    .map(|k| column(k))
    .collect();
    columns.push(Series::new("options".into(), options).into_column());
    columns.push(column("answer"));
    let mut df = DataFrame::new(records.len(), columns).unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df).unwrap();
    bytes
}

fn without_times(tasks: &[Task]) -> Vec<Task> {
    tasks
        .iter()
        .map(|t| Task {
            created_unix_ms: 0,
            edited_unix_ms: 0,
            ..t.clone()
        })
        .collect()
}

#[test]
fn videomme_parquet_reads_like_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test-00000-of-00001.parquet");
    std::fs::write(&path, videomme_parquet_bytes()).unwrap();
    let from_parquet = import_file(&path, TaskFormat::VideoMme, &ImportOptions::default()).unwrap();
    let from_json = import("videomme_flat_sample.json", TaskFormat::VideoMme);
    assert!(from_parquet.asked_at_end);
    assert_eq!(
        without_times(&from_parquet.tasks),
        without_times(&from_json.tasks)
    );
    // A Video-MME table given as our own parquet says which format to use.
    let err = import_file(&path, TaskFormat::Parquet, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("use the videomme format"), "{err}");
    // A damaged parquet is an error, not a panic.
    let mut bytes = videomme_parquet_bytes();
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    let err = error_of("cut.parquet", &bytes, TaskFormat::VideoMme);
    assert!(err.starts_with("cut.parquet: "), "{err}");
}

/// 11:21:02.17 and 11:15:24.08 on the first day.
const EGOLIFE_ASK_MS: i64 = ((11 * 60 + 21) * 60 + 2) * 1000 + 170;
const EGOLIFE_TARGET_MS: i64 = ((11 * 60 + 15) * 60 + 24) * 1000 + 80;

#[test]
fn egolife_times_map_through_the_day_offset() {
    let imported = import("egolifeqa_sample.json", TaskFormat::EgoLife);
    assert!(!imported.asked_at_end);
    assert_eq!(imported.tasks.len(), 1);
    assert_valid(&imported.tasks);
    let t = &imported.tasks[0];
    assert_eq!((t.stream.as_str(), t.id.as_str()), ("A1_JAKE", "1"));
    assert_eq!(t.ask_ms, EGOLIFE_ASK_MS);
    assert_eq!(
        t.evidence,
        [Span::new(EGOLIFE_TARGET_MS, EGOLIFE_TARGET_MS + 10_000)]
    );
    assert_eq!(t.options, ["Tasha", "Alice", "Shure", "Lucia"]);
    assert_eq!(t.answer, "B");
    assert_eq!(t.task_type, "EntityLog");
    // Its trigger is a text cue, not a policy switch.
    assert!(!t.trigger);
    assert_eq!(
        t.extra["trigger_cue"],
        "The table was filled with various tools and parts"
    );
    assert_eq!(t.extra["keywords"], "use screwdriver");
    assert_eq!(t.extra["need_audio"], "false");
    assert_eq!(t.extra["need_name"], "true");
    assert_eq!(t.extra["last_time"], "false");
    assert_eq!(t.extra["identity"], "A1_JAKE");
    assert_eq!(
        t.extra["reason"],
        "Saw Alice tightening screws with a screwdriver"
    );
    assert_eq!(t.extra["question_chinese"], "谁最先使用过螺丝刀？");

    // DAY3 with a 1 h day offset: two offsets in.
    let text = std::fs::read_to_string(asset("egolifeqa_sample.json"))
        .unwrap()
        .replace("\"DAY1\"", "\"DAY3\"");
    let options = ImportOptions {
        day_offset_ms: 3_600_000,
        ..ImportOptions::default()
    };
    let day3 = import_bytes(
        Path::new("day3.json"),
        text.as_bytes(),
        TaskFormat::EgoLife,
        &options,
    )
    .unwrap();
    assert_eq!(day3.tasks[0].ask_ms, 2 * 3_600_000 + EGOLIFE_ASK_MS);
    assert_eq!(
        day3.tasks[0].evidence[0].start_ms,
        2 * 3_600_000 + EGOLIFE_TARGET_MS
    );

    // --video: keeps a wearer, or names the stream of a one-wearer file.
    let keep = ImportOptions {
        video: Some("A1_JAKE".into()),
        ..ImportOptions::default()
    };
    let kept = import_file(&asset("egolifeqa_sample.json"), TaskFormat::EgoLife, &keep).unwrap();
    assert_eq!(kept.tasks[0].stream, "A1_JAKE");
    let rename = ImportOptions {
        video: Some("jake-day1".into()),
        ..ImportOptions::default()
    };
    let renamed = import_file(
        &asset("egolifeqa_sample.json"),
        TaskFormat::EgoLife,
        &rename,
    )
    .unwrap();
    assert_eq!(renamed.tasks[0].stream, "jake-day1");
}

#[test]
fn egotempo_is_500_questions_over_367_clips_asked_at_each_clip_end() {
    let imported = import("egotempo_openQA.json", TaskFormat::EgoTempo);
    assert!(!imported.asked_at_end);
    assert_eq!(imported.tasks.len(), 500);
    assert_eq!(streams(&imported.tasks).len(), 367);
    assert_valid(&imported.tasks);
    assert!(imported.tasks.iter().all(|t| t.options.is_empty()));
    let types: BTreeSet<&str> = imported
        .tasks
        .iter()
        .map(|t| t.task_type.as_str())
        .collect();
    assert_eq!(types.len(), 10);
    // A clip with a round start: 60 s long.
    let clip = "0d270946-95c5-4e71-ae49-b9e802548147_120.0_180.0";
    let t = imported.tasks.iter().find(|t| t.stream == clip).unwrap();
    assert_eq!(t.id, clip, "a question id equal to its clip id");
    assert_eq!(t.ask_ms, 60_000);
    assert_eq!(t.answer, "A spoon.");
    assert_eq!(t.task_type, "action-specific object");
    assert_eq!(t.extra["clip_uid"], "0d270946-95c5-4e71-ae49-b9e802548147");
    assert_eq!(t.extra["clip_start_s"], "120.0");
    assert_eq!(t.extra["clip_end_s"], "180.0");
    // Negative starts: the video starts at 0, so the clip is its end long.
    let negative: Vec<&Task> = imported
        .tasks
        .iter()
        .filter(|t| t.extra["clip_start_s"].starts_with('-'))
        .collect();
    assert_eq!(negative.len(), 18);
    let negative_clips: BTreeSet<&str> = negative.iter().map(|t| t.stream.as_str()).collect();
    assert_eq!(negative_clips.len(), 12);
    let clip = "12cc8ad3-5cee-457f-8657-1db8ed812558_-0.10553267045454545_34.46792267045454";
    let t = imported.tasks.iter().find(|t| t.stream == clip).unwrap();
    assert_eq!(t.ask_ms, 34_468);
    assert_eq!(
        imported.tasks.iter().filter(|t| t.id == t.stream).count(),
        2
    );
}

#[test]
fn m3bench_robot_is_1276_questions_over_100_videos_at_their_timestamps() {
    let imported = import("m3bench_robot.json", TaskFormat::M3Bench);
    assert!(!imported.asked_at_end);
    assert_eq!(imported.tasks.len(), 1_276);
    assert_eq!(streams(&imported.tasks).len(), 100);
    assert_valid(&imported.tasks);
    let t = imported
        .tasks
        .iter()
        .find(|t| t.id == "living_room_06_Q02")
        .unwrap();
    assert_eq!(t.stream, "living_room_06");
    assert_eq!(t.ask_ms, (16 * 60 + 10) * 1000);
    assert_eq!(t.answer, "Marketing staff.");
    assert_eq!(t.task_type, "Person Understanding, Cross-Modal Reasoning");
    assert_eq!(t.extra["before_clip"], "31");
    assert_eq!(t.extra["timestamp"], "16:10");
    assert!(t.extra["reasoning"].starts_with("Lily"));
    assert_eq!(
        t.extra["video_path"],
        "data/videos/robot/living_room_06.mp4"
    );
    // One-digit minutes ("7:33") are real M3-Bench timestamps.
    let short: Vec<&Task> = imported
        .tasks
        .iter()
        .filter(|t| t.extra["timestamp"] == "7:33")
        .collect();
    assert!(!short.is_empty());
    assert!(short.iter().all(|t| t.ask_ms == 453_000));
    // --video keeps one video; an unknown one is named with some known ones.
    let one = ImportOptions {
        video: Some("living_room_06".into()),
        ..ImportOptions::default()
    };
    let kept = import_file(&asset("m3bench_robot.json"), TaskFormat::M3Bench, &one).unwrap();
    assert_eq!(streams(&kept.tasks), BTreeSet::from(["living_room_06"]));
    let missing = ImportOptions {
        video: Some("attic_99".into()),
        ..ImportOptions::default()
    };
    let err = import_file(&asset("m3bench_robot.json"), TaskFormat::M3Bench, &missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no video attic_99"), "{err}");
    assert!(err.contains("it has 100:"), "{err}");
    assert!(err.contains(", ..."), "{err}");
}

#[test]
fn a_lines_file_is_one_question_per_line_asked_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kitchen.txt");
    std::fs::write(
        &path,
        "Where did I put the keys?\r\n\n  How many cups?  \n\n",
    )
    .unwrap();
    let imported = import_file(&path, TaskFormat::Lines, &ImportOptions::default()).unwrap();
    assert!(imported.asked_at_end);
    let ids: Vec<(&str, &str, &str)> = imported
        .tasks
        .iter()
        .map(|t| (t.stream.as_str(), t.id.as_str(), t.text.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("kitchen", "q-1", "Where did I put the keys?"),
            ("kitchen", "q-2", "How many cups?")
        ]
    );
    let named = ImportOptions {
        video: Some("day1".into()),
        ..ImportOptions::default()
    };
    let imported = import_file(&path, TaskFormat::Lines, &named).unwrap();
    assert_eq!(imported.tasks[1].stream, "day1");
}

#[test]
fn ask_at_end_places_tasks_at_the_known_durations() {
    let mut imported = import("videomme_flat_sample.json", TaskFormat::VideoMme);
    let unknown = imported.ask_at_end(|s| (s == "001").then_some(95_000));
    assert_eq!(unknown, ["002", "003", "007", "008", "012"]);
    for t in &imported.tasks {
        assert_eq!(t.ask_ms, if t.stream == "001" { 95_000 } else { 0 });
    }
    // Formats with ask times are left alone.
    let mut timed = import("m3bench_robot.json", TaskFormat::M3Bench);
    let before = timed.tasks.clone();
    assert!(timed.ask_at_end(|_| Some(1)).is_empty());
    assert_eq!(timed.tasks, before);
}

/// Every real file's tasks, plus a few with what CSV must quote and JSON must escape.
fn all_tasks() -> Vec<Task> {
    let mut tasks = Vec::new();
    for (name, format) in [
        ("videomme_flat_sample.json", TaskFormat::VideoMme),
        ("videomme_nested_output_template.json", TaskFormat::VideoMme),
        ("egolifeqa_sample.json", TaskFormat::EgoLife),
        ("egotempo_openQA.json", TaskFormat::EgoTempo),
        ("m3bench_robot.json", TaskFormat::M3Bench),
    ] {
        let mut imported = import(name, format).tasks;
        // The nested template repeats the flat sample's ids in the same videos.
        if name.contains("nested") {
            for t in &mut imported {
                t.stream = format!("nested-{}", t.stream);
            }
        }
        tasks.extend(imported);
    }
    let mut odd = Task::authored(
        "odd, \"quoted\"".into(),
        "stream with, comma",
        12_345,
        "ann",
    );
    odd.text = "Two\nlines, a \"quote\" and a trailing space ".into();
    odd.options = vec![" leading".into(), "a,b".into(), String::new()];
    odd.answer = "c".into();
    odd.task_type = "Spatial Reasoning".into();
    odd.evidence = vec![Span::new(1_000, 2_000), Span::new(5_000, 15_000)];
    odd.trigger = true;
    odd.switch_to = Some("objects".into());
    odd.extra.insert("note".into(), "line\r\nbreak".into());
    tasks.push(odd);
    let mut world = Task::authored("w-1".into(), "world-mme-test-00", 0, "");
    world.text = "Which colour?".into();
    world.source = TaskSource::World;
    tasks.push(world);
    tasks
}

#[test]
fn jsonl_parquet_and_csv_round_trip_every_task() {
    let tasks = all_tasks();
    assert_valid(&tasks);
    let dir = tempfile::tempdir().unwrap();
    for (format, read_as, name) in [
        (ExportFormat::Jsonl, TaskFormat::Jsonl, "tasks.jsonl"),
        (ExportFormat::Parquet, TaskFormat::Parquet, "tasks.parquet"),
        (ExportFormat::Csv, TaskFormat::Csv, "tasks.csv"),
    ] {
        let path = dir.path().join(name);
        export::write(&tasks, format, &path, None).unwrap();
        let back = import_file(&path, read_as, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!back.asked_at_end);
        assert_eq!(back.tasks.len(), tasks.len(), "{name}");
        for (a, b) in tasks.iter().zip(&back.tasks) {
            assert_eq!(a, b, "{name}");
        }
        // No temp file left beside it.
        let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.extension().is_none_or(|e| e != "tmp")),
            "{names:?}"
        );
        // --video on our own files keeps one stream.
        let one = ImportOptions {
            video: Some("living_room_06".into()),
            ..ImportOptions::default()
        };
        let kept = import_file(&path, read_as, &one).unwrap();
        assert_eq!(
            kept.tasks.len(),
            tasks
                .iter()
                .filter(|t| t.stream == "living_room_06")
                .count()
        );
    }
    // An empty library writes files that read back empty.
    for (format, read_as, name) in [
        (ExportFormat::Jsonl, TaskFormat::Jsonl, "empty.jsonl"),
        (ExportFormat::Parquet, TaskFormat::Parquet, "empty.parquet"),
        (ExportFormat::Csv, TaskFormat::Csv, "empty.csv"),
    ] {
        let path = dir.path().join(name);
        export::write(&[], format, &path, None).unwrap();
        let back = import_file(&path, read_as, &ImportOptions::default()).unwrap();
        assert!(back.tasks.is_empty(), "{name}");
    }
}

#[test]
fn the_lines_file_round_trips_the_texts_per_stream() {
    let tasks = all_tasks();
    let dir = tempfile::tempdir().unwrap();
    for stream in ["living_room_06", "001", "A1_JAKE", "stream with, comma"] {
        let mine: Vec<Task> = tasks
            .iter()
            .filter(|t| t.stream == stream)
            .cloned()
            .collect();
        let path = dir.path().join("questions.txt");
        export::write(&mine, ExportFormat::Lines, &path, None).unwrap();
        let options = ImportOptions {
            video: Some(stream.to_owned()),
            ..ImportOptions::default()
        };
        let back = import_file(&path, TaskFormat::Lines, &options).unwrap();
        let texts: Vec<String> = mine.iter().map(|t| export::flatten_line(&t.text)).collect();
        let back_texts: Vec<String> = back.tasks.iter().map(|t| t.text.clone()).collect();
        assert_eq!(back_texts, texts, "{stream}");
        assert!(back.tasks.iter().all(|t| t.stream == stream));
    }
    // The real files' questions are single lines already: they come back unchanged.
    let real: Vec<Task> = import("m3bench_robot.json", TaskFormat::M3Bench).tasks;
    let text = export::to_lines(&real, None);
    let back = import_bytes(
        Path::new("robot.txt"),
        text.as_bytes(),
        TaskFormat::Lines,
        &ImportOptions::default(),
    )
    .unwrap();
    let original: Vec<&str> = real.iter().map(|t| t.text.trim()).collect();
    let again: Vec<&str> = back.tasks.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(again, original);
    // One type only.
    let counting = export::to_lines(&real, Some("Person Understanding"));
    assert_eq!(
        counting.lines().count(),
        real.iter()
            .filter(|t| t.task_type == "Person Understanding")
            .count()
    );
}

fn flat_records() -> Vec<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(asset("videomme_flat_sample.json")).unwrap()).unwrap()
}

fn json_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap()
}

/// The error text of the flat sample's records, changed by `change`, imported as `data.json`.
fn flat_error(change: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
    let mut records = flat_records();
    change(&mut records);
    error_of("data.json", &json_bytes(&records), TaskFormat::VideoMme)
}

#[test]
fn malformed_files_name_the_file_and_the_record() {
    // A missing field.
    let err = flat_error(|records| {
        records[1].as_object_mut().unwrap().remove("answer");
    });
    assert_eq!(
        err,
        "data.json: record 2 (question_id 001-2): missing field \"answer\""
    );
    // A wrong type.
    let err = flat_error(|records| records[4]["options"] = serde_json::json!("A. one, B. two"));
    assert_eq!(
        err,
        "data.json: record 5 (question_id 002-2): field \"options\" is a string, want a list of strings"
    );
    // An answer that is not among the options.
    let err = flat_error(|records| records[0]["answer"] = serde_json::json!("E"));
    assert!(
        err.starts_with("data.json: record 1 (question_id 001-1): task 001-1: the answer \"E\""),
        "{err}"
    );
    // Two different questions under one id in one video.
    let err = flat_error(|records| records[2]["question_id"] = serde_json::json!("001-1"));
    assert_eq!(
        err,
        "data.json: record 3 (question_id 001-1) has the id 001-1 of record 1 (question_id 001-1) in video 001, with different content"
    );
    // ... while an exact repeat is dropped.
    let err = flat_error(|records| records.push(records[0].clone()));
    assert_eq!(err, "imported 11 tasks");
    // A nested record missing its questions' field.
    let text = std::fs::read_to_string(asset("videomme_nested_output_template.json"))
        .unwrap()
        .replacen(
            "\"question\": \"What is the genre",
            "\"questio\": \"What is the genre",
            1,
        );
    let err = error_of("nested.json", text.as_bytes(), TaskFormat::VideoMme);
    assert_eq!(
        err,
        "nested.json: video 001, question 2 (question_id 001-2): missing field \"question\""
    );

    // A bad time: M3-Bench's MM:SS.
    let text = std::fs::read_to_string(asset("m3bench_robot.json"))
        .unwrap()
        .replacen("\"timestamp\": \"16:10\"", "\"timestamp\": \"7:xx\"", 1);
    let err = error_of("x.json", text.as_bytes(), TaskFormat::M3Bench);
    assert_eq!(
        err,
        "x.json: video living_room_06, question 2 (question_id living_room_06_Q02): bad timestamp \"7:xx\" (want MM:SS)"
    );
    // ... and EgoLifeQA's HHMMSSff and DAYn.
    let sample = std::fs::read_to_string(asset("egolifeqa_sample.json")).unwrap();
    let err = error_of(
        "life.json",
        sample.replace("11210217", "11216017").as_bytes(),
        TaskFormat::EgoLife,
    );
    assert_eq!(
        err,
        "life.json: record 1 (ID 1): query_time: bad time \"11216017\" (want HHMMSSff)"
    );
    let err = error_of(
        "life.json",
        sample.replacen("\"DAY1\"", "\"Monday\"", 1).as_bytes(),
        TaskFormat::EgoLife,
    );
    assert_eq!(
        err,
        "life.json: record 1 (ID 1): query_time: bad date \"Monday\" (want DAYn, n from 1)"
    );
    let err = error_of(
        "life.json",
        sample
            .replace("\"choice_b\": \"Alice\"", "\"choice_b\": 2")
            .as_bytes(),
        TaskFormat::EgoLife,
    );
    assert_eq!(
        err,
        "life.json: record 1 (ID 1): field \"choice_b\" is a number, want a string"
    );
    let err = error_of(
        "life.json",
        sample
            .replace(
                "\"target_time\": {\"date\": \"DAY1\", \"time\": \"11152408\"}",
                "\"target_time\": {\"date\": \"DAY1\"}",
            )
            .as_bytes(),
        TaskFormat::EgoLife,
    );
    assert_eq!(
        err,
        "life.json: record 1 (ID 1): missing field \"target_time.time\""
    );
    // EgoTempo: a clip id that is not uid_start_end.
    let text = std::fs::read_to_string(asset("egotempo_openQA.json"))
        .unwrap()
        .replacen(
            "\"clip_id\": \"0d270946-95c5-4e71-ae49-b9e802548147_120.0_180.0\"",
            "\"clip_id\": \"0d270946_soon_180.0\"",
            1,
        );
    let err = error_of("tempo.json", text.as_bytes(), TaskFormat::EgoTempo);
    assert_eq!(
        err,
        "tempo.json: record 1 (question_id 0d270946-95c5-4e71-ae49-b9e802548147_120.0_180.0): bad clip_id \"0d270946_soon_180.0\" (want {uid}_{start_s}_{end_s})"
    );

    // Invalid UTF-8 inside the second question's text.
    let mut bytes = std::fs::read(asset("videomme_flat_sample.json")).unwrap();
    let at = bytes.windows(7).position(|w| w == b"What is").unwrap();
    bytes[at + 2] = 0xFF;
    let err = error_of("f.json", &bytes, TaskFormat::VideoMme);
    assert_eq!(
        err,
        format!(
            "f.json: not UTF-8 at byte {} (line 1, in task 001-2 of video 001)",
            at + 2
        )
    );
    // ... and in a lines file: the line.
    let err = error_of("q.txt", b"first\nsec\xC3ond\n", TaskFormat::Lines);
    assert_eq!(
        err,
        "q.txt: not UTF-8 at byte 9 (line 2, in task q-2 of video q)"
    );

    // Not JSON at all, and JSON of the wrong shape.
    let err = error_of("data.json", b"[{\"video_id\": ", TaskFormat::VideoMme);
    assert!(err.starts_with("data.json: not valid JSON: "), "{err}");
    let err = error_of("data.json", b"{\"a\": 1}", TaskFormat::VideoMme);
    assert_eq!(
        err,
        "data.json: is an object, want a list of Video-MME records"
    );
    let err = error_of("robot.json", b"[]", TaskFormat::M3Bench);
    assert!(err.starts_with("robot.json: is a list"), "{err}");

    // Our own formats: a line, a row.
    let jsonl = "{\"id\":\"a\",\"stream\":\"s\",\"text\":\"q\",\"ask_ms\":1}\n{\"id\":\"b\",\"stream\":\"s\",\"text\":\"q\"}\n";
    let err = error_of("t.jsonl", jsonl.as_bytes(), TaskFormat::Jsonl);
    assert!(
        err.starts_with("t.jsonl: line 2 (id b): missing field `ask_ms`"),
        "{err}"
    );
    let csv = "id,stream,text,ask_ms\r\na,s,q,1\r\nb,s,q,soon\r\n";
    let err = error_of("t.csv", csv.as_bytes(), TaskFormat::Csv);
    assert_eq!(
        err,
        "t.csv: row 2 (id b): field \"ask_ms\" is not a whole number: \"soon\""
    );
    let err = error_of(
        "t.csv",
        b"id,stream,text,ask_ms\na,s,\"open\n",
        TaskFormat::Csv,
    );
    assert_eq!(err, "t.csv: row 1: a quoted field is never closed");
}

#[test]
fn no_input_makes_an_importer_panic() {
    let formats = [
        TaskFormat::VideoMme,
        TaskFormat::EgoLife,
        TaskFormat::EgoTempo,
        TaskFormat::M3Bench,
        TaskFormat::Lines,
        TaskFormat::Jsonl,
        TaskFormat::Csv,
        TaskFormat::Parquet,
    ];
    let tasks = all_tasks();
    let mut files: Vec<Vec<u8>> = [
        "videomme_flat_sample.json",
        "videomme_nested_output_template.json",
        "egolifeqa_sample.json",
        "egotempo_openQA.json",
    ]
    .iter()
    .map(|n| std::fs::read(asset(n)).unwrap())
    .collect();
    files.push(export::to_csv(&tasks).into_bytes());
    files.push(export::to_jsonl(&tasks[..50]).into_bytes());
    files.push(export::to_parquet(&tasks[..50]).unwrap());
    files.push(b"\xff\xfe\x00".to_vec());
    files.push(Vec::new());
    for bytes in &files {
        let mut cuts: Vec<usize> = (0..12).map(|i| bytes.len() * i / 12).collect();
        cuts.push(bytes.len());
        for cut in cuts {
            let mut variant = bytes[..cut].to_vec();
            if cut % 2 == 1 && !variant.is_empty() {
                let middle = variant.len() / 2;
                variant[middle] ^= 0x5A;
            }
            for format in formats {
                // Either result is fine; returning at all is the test.
                let _ = import_bytes(
                    Path::new("fuzz"),
                    &variant,
                    format,
                    &ImportOptions::default(),
                );
            }
        }
    }
}

#[test]
fn error_kinds_are_distinguishable() {
    let err = import_file(
        Path::new("/no/such/questions.json"),
        TaskFormat::VideoMme,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TaskImportError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/no/such/questions.json: cannot read")
    );
}

// ---------------------------------------------------------------------------------------------
// The CLI

#[test]
fn cli_imports_tasks_reimports_without_change_and_refuses_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    // A project that knows one of the videos' durations.
    {
        let mut p = taskmem::project::Project::create(&project, "p").unwrap();
        p.manifest
            .streams
            .push(taskmem::memory::import::StreamInfo {
                id: "001".into(),
                title: "001".into(),
                duration_ms: 95_000,
                video: None,
                video_sha256: None,
                questions: Vec::new(),
                phases: Vec::new(),
            });
        p.save_manifest().unwrap();
    }
    let flat = asset("videomme_flat_sample.json");
    let out = import_tasks(&flat, "videomme", &project, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("imported 11 tasks over 6 streams"), "{text}");
    assert!(
        text.contains("asked at the end of its video (1 streams with a known duration)"),
        "{text}"
    );
    assert!(text.contains("5 streams are not in the project"), "{text}");
    let p = taskmem::project::Project::open(&project).unwrap();
    assert_eq!(p.tasks.len(), 11);
    assert_eq!(p.tasks.get("001", "001-1").unwrap().ask_ms, 95_000);
    assert_eq!(p.tasks.get("002", "002-1").unwrap().ask_ms, 0);

    // The same file again changes nothing.
    let out = import_tasks(&flat, "videomme", &project, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 0 tasks over 6 streams"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("11 already there and unchanged; 11 tasks in all"));

    // The nested template has the same ids with other benchmark fields: refused whole.
    let nested = asset("videomme_nested_output_template.json");
    let out = import_tasks(&nested, "videomme", &project, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("task 001-1 of stream 001 is already in"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(
        taskmem::project::Project::open(&project)
            .unwrap()
            .tasks
            .len(),
        11
    );

    // Other formats into a new project (created by the import), --video and --day-offset.
    let other = dir.path().join("other");
    let robot = asset("m3bench_robot.json");
    let out = import_tasks(&robot, "m3bench", &other, &["--video", "living_room_06"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("over 1 streams (living_room_06) into"),
        "{}",
        stdout(&out)
    );
    let life = asset("egolifeqa_sample.json");
    let out = import_tasks(&life, "egolife", &other, &["--day-offset", "12h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tempo = asset("egotempo_openQA.json");
    let out = import_tasks(&tempo, "egotempo", &other, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 500 tasks over 367 streams"),
        "{}",
        stdout(&out)
    );
    let p = taskmem::project::Project::open(&other).unwrap();
    assert_eq!(p.tasks.get("A1_JAKE", "1").unwrap().ask_ms, EGOLIFE_ASK_MS);
    assert_eq!(p.skipped_lines, 0);
}

#[test]
fn cli_exports_every_format_and_the_exports_import_again() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    for (file, format) in [
        ("m3bench_robot.json", "m3bench"),
        ("videomme_flat_sample.json", "videomme"),
        ("egolifeqa_sample.json", "egolife"),
    ] {
        let out = import_tasks(&asset(file), format, &project, &[]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
    }
    let original = taskmem::project::Project::open(&project).unwrap().tasks;
    assert_eq!(original.len(), 1_276 + 11 + 1);
    for format in ["jsonl", "parquet", "csv"] {
        let out_file = dir.path().join(format!("tasks.{format}"));
        let out = export_tasks(&project, format, &out_file, &[]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("exported 1288 tasks over 107 streams"),
            "{}",
            stdout(&out)
        );
        let again = dir.path().join(format!("again-{format}"));
        let out = import_tasks(&out_file, format, &again, &[]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let back = taskmem::project::Project::open(&again).unwrap().tasks;
        assert_eq!(back, original, "{format}");
    }
    // One type of one video as a lines file.
    let lines = dir.path().join("questions.txt");
    let out = export_tasks(
        &project,
        "lines",
        &lines,
        &[
            "--type",
            "Person Understanding",
            "--video",
            "living_room_06",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let expected: Vec<&str> = original
        .stream("living_room_06")
        .filter(|t| t.task_type == "Person Understanding")
        .map(|t| t.text.as_str())
        .collect();
    assert!(!expected.is_empty());
    let written = std::fs::read_to_string(&lines).unwrap();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);
    let out = import_tasks(
        &lines,
        "lines",
        &dir.path().join("l"),
        &["--video", "living_room_06"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("imported {} tasks over 1 streams", expected.len())));

    // Unknown stream or type: exit 2 naming what there is.
    for (only, said) in [
        (
            ["--video", "attic"],
            "no tasks in stream attic (streams with tasks: ",
        ),
        (["--type", "Juggling"], "no tasks of type \"Juggling\""),
    ] {
        let out = export_tasks(&project, "csv", &dir.path().join("x.csv"), &only);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
    }
}

#[test]
fn cli_bad_files_exit_2_with_one_line_naming_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    let mut records = flat_records();
    records[1].as_object_mut().unwrap().remove("answer");
    let missing = dir.path().join("missing.json");
    std::fs::write(&missing, json_bytes(&records)).unwrap();
    let mut bytes = std::fs::read(asset("videomme_flat_sample.json")).unwrap();
    bytes[200] = 0xC3;
    let not_utf8 = dir.path().join("latin1.json");
    std::fs::write(&not_utf8, &bytes).unwrap();
    let text = std::fs::read_to_string(asset("m3bench_robot.json"))
        .unwrap()
        .replacen("\"timestamp\": \"00:43\"", "\"timestamp\": \"0:4:3\"", 1);
    let bad_time = dir.path().join("robot.json");
    std::fs::write(&bad_time, text).unwrap();
    for (file, format, expect) in [
        (
            &missing,
            "videomme",
            "record 2 (question_id 001-2): missing field \"answer\"",
        ),
        (&not_utf8, "videomme", "not UTF-8 at byte 200"),
        (
            &bad_time,
            "m3bench",
            "(question_id living_room_06_Q01): bad timestamp \"0:4:3\"",
        ),
        (
            &asset("egolifeqa_sample.json"),
            "m3bench",
            "is a list, want {video_name",
        ),
    ] {
        let out = import_tasks(file, format, &project, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(s(file)), "{err}");
        assert!(err.contains(expect), "{err}");
    }
    // Nothing half-imported.
    assert!(!project.join(taskmem::project::TASKS_FILE).exists());
    let out = import_tasks(&missing, "videomme", &project, &["--day-offset", "never"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--day-offset"), "{}", stderr(&out));
}
