//! Memory and projects: TaskMem's formats in and out, the demo file's counts, crash-safe
//! appends, and the first schema version opening forever.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use taskmem::memory::export::{to_jsonl, to_taskmem_episodic};
use taskmem::memory::import::{ImportError, demo_file, egorag_captions, taskmem_output};
use taskmem::memory::{MemoryEntry, MemoryStore};
use taskmem::project::Project;

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

#[test]
fn the_demo_file_imports_with_its_demos_lanes_clips_and_questions() {
    let imported = demo_file(&asset("taskmem_demo_memories.json")).unwrap();
    assert_eq!(imported.streams.len(), 5);
    assert_eq!(imported.entries.len(), 87);
    let ids: Vec<&str> = imported.streams.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["video5_obj", "video5_act", "video1", "video2", "video3"]
    );
    // Clips per demo x tracks per demo: 12x2 + 12x2 + 6x3 + 3x3 + 4x3.
    let count = |stream: &str| {
        imported
            .entries
            .iter()
            .filter(|e| e.stream == stream)
            .count()
    };
    assert_eq!(
        [
            count("video5_obj"),
            count("video5_act"),
            count("video1"),
            count("video2"),
            count("video3")
        ],
        [24, 24, 18, 9, 12]
    );
    assert!(
        imported
            .lanes
            .iter()
            .any(|l| l.id == "general" && l.general)
    );
    assert_eq!(imported.lanes.len(), 8);
    let obj = &imported.streams[0];
    assert_eq!(obj.duration_ms, 120_000);
    assert_eq!(obj.questions.len(), 3);
    let trigger = obj.questions.iter().find(|q| q.trigger).unwrap();
    assert_eq!(
        (trigger.at_ms, trigger.switch_to.as_deref()),
        (28_000, Some("object-reasoning"))
    );
    assert_eq!(
        obj.phases
            .iter()
            .map(|p| (p.at_ms, p.lane.as_str()))
            .collect::<Vec<_>>(),
        [(0, "general"), (28_000, "object-reasoning")]
    );
    // The processing delay shows: available 6 s after the clip ends.
    let first = imported
        .entries
        .iter()
        .find(|e| e.stream == "video5_obj")
        .unwrap();
    assert_eq!(first.available_ms, 16_000);
    let with_highlights = imported
        .entries
        .iter()
        .filter(|e| !e.highlights.is_empty())
        .count();
    assert_eq!(with_highlights, 12 + 12 + 12 + 6 + 8);
}

#[test]
fn jsonl_and_taskmem_round_trips_keep_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(&dir.path().join("p"), "p").unwrap();
    project
        .add_imported(demo_file(&asset("taskmem_demo_memories.json")).unwrap())
        .unwrap();
    let reopened = Project::open(&dir.path().join("p")).unwrap();
    assert_eq!(reopened.memory.entries(), project.memory.entries());
    assert_eq!(reopened.manifest, project.manifest);

    // JSONL out and back.
    let jsonl = to_jsonl(reopened.memory.entries());
    let back: Vec<MemoryEntry> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(MemoryStore::new(back).entries(), reopened.memory.entries());

    // TaskMem's episodic file out, imported again as TaskMem output.
    let lane = reopened.memory.lane("video1", "counting-problem");
    assert_eq!(lane.len(), 6);
    let out = dir.path().join("taskmem_out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("episodic_counting-problem.json"),
        to_taskmem_episodic(lane, 10_000),
    )
    .unwrap();
    let again = taskmem_output(&out, "video1", 10_000, 0).unwrap();
    assert_eq!(again.entries.len(), 6);
    for (a, b) in again.entries.iter().zip(lane) {
        assert_eq!(
            (a.start_ms, a.end_ms, &a.text, &a.lane),
            (b.start_ms, b.end_ms, &b.text, &b.lane)
        );
    }
}

#[test]
fn taskmem_per_clip_files_add_the_raw_response() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("episodic_general.json"),
        r#"{"0": "A kitchen.", "2": "<face_1> opens a box."}"#,
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("2")).unwrap();
    std::fs::write(
        dir.path().join("2/vid7_2_general.json"),
        r#"{"episodic": {"input": ["..."], "output": "<face_1> opens a box.", "response": "<think>box</think>{\"description\": \"<face_1> opens a box.\"}"}}"#,
    )
    .unwrap();
    let imported = taskmem_output(dir.path(), "vid7", 10_000, 5_000).unwrap();
    assert_eq!(imported.entries.len(), 2);
    let second = &imported.entries[1];
    assert_eq!(
        (second.start_ms, second.end_ms, second.available_ms),
        (20_000, 30_000, 35_000)
    );
    assert!(
        second
            .raw_response
            .as_deref()
            .unwrap()
            .starts_with("<think>")
    );
    assert!(imported.entries[0].raw_response.is_none());
}

#[test]
fn a_writer_killed_mid_append_leaves_a_project_that_opens_with_every_complete_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut project = Project::create(&path, "p").unwrap();
    project
        .add_imported(demo_file(&asset("taskmem_demo_memories.json")).unwrap())
        .unwrap();
    // The crash: half a line at the end of a lane file.
    let lane_file = path.join("memory/general.jsonl");
    let text = std::fs::read(&lane_file).unwrap();
    let last_line = text[..text.len() - 1]
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap()
        .to_vec();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&lane_file)
        .unwrap();
    file.write_all(&last_line[..last_line.len() / 2]).unwrap();
    drop(file);
    let reopened = Project::open(&path).unwrap();
    assert_eq!(reopened.memory.len(), 87);
    assert_eq!(reopened.skipped_lines, 1);
    // A later append still lands on a line of its own.
    let mut reopened = reopened;
    let mut extra = reopened.memory.lane("video1", "general")[0].clone();
    extra.id = 1_000;
    extra.text = "appended after the crash".to_owned();
    reopened.append(&[extra]).unwrap();
    let again = Project::open(&path).unwrap();
    assert_eq!(
        again.memory.len(),
        88,
        "the torn line does not swallow the next"
    );
    assert_eq!(again.skipped_lines, 1);

    // The same for the task log: a torn last line costs that change only.
    let tasks_file = path.join(taskmem::project::TASKS_FILE);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&tasks_file)
        .unwrap();
    file.write_all(b"0badc0de {\"op\":\"put\",\"task\":{\"id\":")
        .unwrap();
    drop(file);
    let mut again = Project::open(&path).unwrap();
    assert_eq!(again.tasks.len(), 7);
    let mut task = again.tasks.tasks()[0].clone();
    task.id = "after-crash".to_owned();
    again
        .record_tasks(&[taskmem::tasks::TaskEvent::Put {
            task: Box::new(task),
        }])
        .unwrap();
    let reopened = Project::open(&path).unwrap();
    assert_eq!(reopened.tasks.len(), 8);
    assert_eq!(reopened.skipped_lines, 2);
}

#[test]
fn the_first_schema_version_opens() {
    let project = Project::open(&asset("project_v1")).unwrap();
    assert_eq!(project.manifest.schema_version, 1);
    assert_eq!(project.memory.len(), 87);
    assert_eq!(project.manifest.streams.len(), 5);
    assert_eq!(project.skipped_lines, 0);
}

#[test]
fn malformed_input_names_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("episodic_x.json"), "{\"zero\": \"text\"}").unwrap();
    let err = taskmem_output(dir.path(), "s", 10_000, 0).unwrap_err();
    assert!(matches!(err, ImportError::Format { .. }), "{err}");
    assert!(
        err.to_string().contains("episodic_x.json") && err.to_string().contains("zero"),
        "{err}"
    );
    std::fs::write(dir.path().join("episodic_x.json"), "{not json").unwrap();
    let err = taskmem_output(dir.path(), "s", 10_000, 0).unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    assert!(taskmem_output(empty.path(), "s", 10_000, 0).is_err());
    let not_demo = dir.path().join("demo.json");
    std::fs::write(&not_demo, "{}").unwrap();
    assert!(
        demo_file(&not_demo)
            .unwrap_err()
            .to_string()
            .contains("demo.json")
    );
    assert!(Project::open(dir.path()).is_err());
    let captions = dir.path().join("captions.json");
    std::fs::write(&captions, r#"[{"start_time": "11210217", "end_time": "11210517", "text": "I cut the cake.", "date": "DAY1", "video_path": "a.mp4"}]"#).unwrap();
    let imported = egorag_captions(&captions, "EgoRAG captions").unwrap();
    assert_eq!(
        imported.entries[0].end_ms - imported.entries[0].start_ms,
        3_000
    );
    assert_eq!(imported.streams[0].id, "DAY1");
}

/// How many of the demo's diffHighlights phrases (what the task-focused memory adds, per the
/// TaskMem project page) the inspector's word diff marks against the general lane.
#[test]
fn the_lane_diff_marks_the_demo_highlight_phrases() {
    use taskmem::studio::text::marked_words;
    let imported = demo_file(&asset("taskmem_demo_memories.json")).unwrap();
    let store = MemoryStore::new(imported.entries);
    let (mut phrases, mut any_marked, mut all_marked) = (0, 0, 0);
    for e in store.entries().iter().filter(|e| !e.highlights.is_empty()) {
        let general = store
            .lane(&e.stream, "general")
            .iter()
            .find(|g| g.start_ms == e.start_ms)
            .unwrap();
        let marks = marked_words(&e.text, &general.text);
        let marked: std::collections::BTreeSet<String> = marks
            .iter()
            .filter(|(_, m)| *m)
            .map(|(w, _)| w.to_lowercase())
            .collect();
        for phrase in &e.highlights {
            let words: Vec<String> = phrase
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 3)
                .map(str::to_lowercase)
                .collect();
            phrases += 1;
            if words.iter().any(|w| marked.contains(w)) {
                any_marked += 1;
            }
            if !words.is_empty() && words.iter().all(|w| marked.contains(w)) {
                all_marked += 1;
            }
        }
    }
    eprintln!(
        "diffHighlights: {phrases} phrases; {any_marked} with a marked word; {all_marked} with every content word marked"
    );
    assert!(phrases > 100);
    assert!(any_marked * 10 >= phrases * 8, "{any_marked} of {phrases}");
}

#[test]
fn parquet_round_trip_keeps_every_field_and_carries_the_labels() {
    use taskmem::memory::export::{read_parquet, write_parquet};
    use taskmem::memory::labels::{LabelEvent, Labels};
    let imported = demo_file(&asset("taskmem_demo_memories.json")).unwrap();
    let mut entries = imported.entries;
    entries[3].raw_response = Some("<think>x</think>{\"description\": \"y\"}".to_owned());
    entries[4].score = Some(0.75);
    let mut labels = Labels::default();
    labels.apply(&LabelEvent::Verdict {
        entry: entries[0].id,
        verdict: Some(taskmem::memory::Verdict::Correct),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.parquet");
    write_parquet(&entries, &labels, &path).unwrap();
    let back = read_parquet(&path).unwrap();
    assert_eq!(back, entries);
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, b"PAR1 not really").unwrap();
    let err = read_parquet(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.parquet"), "{err}");
}

#[test]
fn a_world_stream_imports_with_its_video_by_path_and_hash() {
    let stream =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00");
    let imported = taskmem::memory::import::world_stream(&stream).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stream.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        imported.entries.len() as u64,
        manifest["clips"].as_u64().unwrap()
    );
    let info = &imported.streams[0];
    assert_eq!(
        info.questions.len() as u64,
        manifest["questions"].as_u64().unwrap()
    );
    assert_eq!(
        info.video_sha256.as_deref(),
        manifest["files"]["video.mp4"].as_str()
    );
    assert!(Path::new(info.video.as_deref().unwrap()).is_file());
    assert_eq!(info.duration_ms, manifest["duration_ms"].as_i64().unwrap());
}

#[test]
fn a_long_task_edit_history_compacts_to_one_line_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut project = Project::create(&path, "p").unwrap();
    let mut task = taskmem::tasks::Task::authored("t1".into(), "s", 1_000, "me");
    // Typing a question: one logged change per keystroke.
    for c in "How many apples are on the kitchen table?".chars() {
        task.text.push(c);
        project
            .record_tasks(&[taskmem::tasks::TaskEvent::Put {
                task: Box::new(task.clone()),
            }])
            .unwrap();
    }
    let reopened = Project::open(&path).unwrap();
    assert_eq!(reopened.task_log_lines, 41);
    assert!(
        !reopened.task_log_is_long(),
        "41 lines for 1 task is not yet long"
    );
    for _ in 0..300 {
        project
            .record_tasks(&[taskmem::tasks::TaskEvent::Put {
                task: Box::new(task.clone()),
            }])
            .unwrap();
    }
    let reopened = Project::open(&path).unwrap();
    assert!(reopened.task_log_is_long());
    reopened.compact_tasks().unwrap();
    let compacted = Project::open(&path).unwrap();
    assert_eq!(compacted.task_log_lines, 1);
    assert_eq!(compacted.tasks, reopened.tasks);
}

/// The app's Import memory asks nothing: each kind is told from the path's content and read as
/// its own importer reads it.
#[test]
fn import_any_tells_each_kind_of_memory_from_its_content() {
    use taskmem::memory::import::{import_any, world_stream};
    let demo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/assets/taskmem_demo_memories.json");
    assert_eq!(import_any(&demo, "s").unwrap(), demo_file(&demo).unwrap());
    let world =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00");
    assert_eq!(
        import_any(&world, "s").unwrap().lanes,
        world_stream(&world).unwrap().lanes
    );

    let dir = tempfile::tempdir().unwrap();
    let captions = dir.path().join("captions.json");
    std::fs::write(
        &captions,
        r#"[{"start_time": 0, "end_time": 10, "text": "someone walks in", "date": "DAY1"}]"#,
    )
    .unwrap();
    assert_eq!(
        import_any(&captions, "s").unwrap(),
        egorag_captions(&captions, "EgoRAG captions").unwrap()
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("episodic_general.json"), r#"{"0": "A kitchen."}"#).unwrap();
    let imported = import_any(&out, "open-stream").unwrap();
    assert_eq!(
        imported,
        taskmem_output(&out, "open-stream", 10_000, 0).unwrap()
    );
    assert_eq!(imported.entries[0].stream, "open-stream");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = import_any(&empty, "s").unwrap_err().to_string();
    assert!(
        err.contains("empty") && err.contains("neither a world stream"),
        "{err}"
    );
}
