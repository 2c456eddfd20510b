//! Why a result is empty or near-empty, in plain words: no questions, questions without a
//! reference answer, a lane with no memory of the streams asked about or none finished before
//! the questions, and memory the built-in answerer cannot read (it reads only the synthetic
//! world's language, `world::grammar`). A run without these notes reads as a verdict on the
//! memory; with them, a 0% that says nothing about the memory is said to say nothing.
//!
//! The notes are stored in summary.json; `taskmem eval` prints them and the Evaluate window
//! shows them above its charts.

use std::collections::BTreeSet;

use super::metrics::ResultRow;
use crate::memory::MemoryEntry;
use crate::tasks::Task;
use crate::world::grammar::{Claim, is_world_sentence, statements};

/// A lane is taken for unreadable when fewer than this share of its entries state at least
/// one sentence of the world's language. A policy that writes the world's language badly
/// still states some; prose written elsewhere states none.
const READABLE_SHARE: f64 = 0.5;

/// How many names a note lists before "and N more".
const NAMES_LISTED: usize = 4;

/// An example entry is cut to this many characters.
const EXAMPLE_CHARS: usize = 70;

/// Whether a description states at least one sentence of the world's language, the only
/// language the built-in answerer reads.
#[must_use]
pub fn reads_as_world_language(text: &str) -> bool {
    statements(text).claims.iter().any(|claim| match claim {
        Claim::Fact(sentence) => is_world_sentence(sentence),
        Claim::Reads { .. } | Claim::Stay { .. } | Claim::LookAround { .. } => true,
    })
}

fn quoted_list(names: &[&str]) -> String {
    let mut out: Vec<String> = names
        .iter()
        .take(NAMES_LISTED)
        .map(|n| format!("'{n}'"))
        .collect();
    if names.len() > NAMES_LISTED {
        out.push(format!("{} more", names.len() - NAMES_LISTED));
    }
    match out.len() {
        0 => String::new(),
        1 => out.remove(0),
        _ => {
            let last = out.pop().unwrap_or_default();
            format!("{} and {last}", out.join(", "))
        }
    }
}

fn lanes_word(count: usize) -> &'static str {
    if count == 1 { "lane" } else { "lanes" }
}

fn example(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= EXAMPLE_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(EXAMPLE_CHARS).collect();
    format!("{}…", cut.trim_end())
}

/// The notes for a run: `tasks` asked, of each of `lanes`, answered from `memory` into
/// `rows`. `world_only`: the answerer reads only the world's language (the built-in one).
#[must_use]
pub fn notes(
    tasks: &[Task],
    memory: &[MemoryEntry],
    lanes: &[String],
    rows: &[ResultRow],
    world_only: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if tasks.is_empty() {
        out.push(
            "No questions: there was nothing to ask, so every figure is empty. Add tasks to \
             the project, or pick a split that has questions."
                .to_owned(),
        );
        return out;
    }
    let without_answer = tasks.iter().filter(|t| t.answer.trim().is_empty()).count();
    if without_answer == tasks.len() {
        out.push(format!(
            "None of the {} questions has a reference answer (they were imported or written \
             without one), so none can count as correct: Acc and Prec are 0 by construction. \
             Cov still says how many were answered.",
            tasks.len()
        ));
    } else if without_answer > 0 {
        out.push(format!(
            "{without_answer} of the {} questions have no reference answer, so they count as \
             wrong whatever is answered.",
            tasks.len()
        ));
    }
    let streams: BTreeSet<&str> = tasks.iter().map(|t| t.stream.as_str()).collect();
    let mut no_memory = Vec::new();
    let mut too_late = Vec::new();
    let mut unreadable: Vec<(&str, usize, usize, &str)> = Vec::new();
    for lane in lanes {
        let mine: Vec<&MemoryEntry> = memory
            .iter()
            .filter(|e| &e.lane == lane && streams.contains(e.stream.as_str()))
            .collect();
        if mine.is_empty() {
            no_memory.push(lane.as_str());
            continue;
        }
        let lane_rows = rows.iter().filter(|r| &r.lane == lane);
        if lane_rows.clone().count() > 0 && lane_rows.clone().all(|r| r.entries_available == 0) {
            too_late.push(lane.as_str());
            continue;
        }
        if world_only {
            let readable = mine
                .iter()
                .filter(|e| reads_as_world_language(&e.text))
                .count();
            if (readable as f64) < READABLE_SHARE * mine.len() as f64 {
                let sample = mine
                    .iter()
                    .find(|e| !reads_as_world_language(&e.text))
                    .map_or("", |e| e.text.as_str());
                unreadable.push((lane.as_str(), readable, mine.len(), sample));
            }
        }
    }
    if !unreadable.is_empty() {
        let names: Vec<&str> = unreadable.iter().map(|u| u.0).collect();
        let readable: usize = unreadable.iter().map(|u| u.1).sum();
        let total: usize = unreadable.iter().map(|u| u.2).sum();
        let share = match readable {
            0 => format!("none of their {total} entries is"),
            1 => format!("only 1 of their {total} entries is"),
            _ => format!("only {readable} of their {total} entries are"),
        };
        out.push(format!(
            "The built-in answerer reads only the synthetic world's language (sentences such \
             as \"I pick up the red cup from the kitchen table.\"), and {share} in it on {} {} \
             (for example \"{}\"). It answers E (insufficient information) where it cannot \
             read, so these figures say nothing about this memory. To score it, answer with \
             an LLM: `taskmem eval --answerer remote --answerer-model NAME`, or \"an LLM\" in \
             the Evaluate window.",
            lanes_word(names.len()),
            quoted_list(&names),
            example(unreadable[0].3)
        ));
    }
    if !no_memory.is_empty() {
        let asked: Vec<&str> = streams.iter().copied().collect();
        out.push(format!(
            "{} {} {} no memory of the {} asked about ({}), so {} every question with E.",
            capitalized(lanes_word(no_memory.len())),
            quoted_list(&no_memory),
            if no_memory.len() == 1 {
                "holds"
            } else {
                "hold"
            },
            if asked.len() == 1 {
                "stream"
            } else {
                "streams"
            },
            quoted_list(&asked),
            if no_memory.len() == 1 {
                "it answers"
            } else {
                "they answer"
            },
        ));
    }
    if !too_late.is_empty() {
        out.push(format!(
            "{} {}: no entry was finished before any question was asked (a question sees only \
             the memory written before its ask time), so every answer is E.",
            capitalized(lanes_word(too_late.len())),
            quoted_list(&too_late),
        ));
    }
    out
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::answer::BuiltinAnswerer;
    use crate::eval::replay::answer_tasks;

    fn task(answer: &str) -> Task {
        let mut t = Task::authored("q1".into(), "s", 20_000, "test");
        t.text = "How many apples were on the kitchen table at 00:00:10?".into();
        t.options = vec!["2".into(), "3".into(), "4".into(), "5".into()];
        t.answer = answer.into();
        t.task_type = "Counting Problem".into();
        t
    }

    fn notes_for(tasks: &[Task], memory: &[MemoryEntry], lanes: &[&str]) -> Vec<String> {
        let lanes: Vec<String> = lanes.iter().map(|&l| l.to_owned()).collect();
        let rows = answer_tasks(tasks, memory, &lanes, &BuiltinAnswerer).unwrap();
        notes(tasks, memory, &lanes, &rows, true)
    }

    #[test]
    fn the_shipped_memory_only_demo_is_said_to_be_unreadable_by_the_built_in_answerer() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::demo::DEMO_MEMORIES);
        let imported = crate::memory::import::demo_file(&path).unwrap();
        let memory = imported.entries;
        assert!(!memory.is_empty());
        // Prose: one entry of 87 happens to open with "In the kitchen," (a room claim).
        let readable = memory
            .iter()
            .filter(|e| reads_as_world_language(&e.text))
            .count();
        assert!(
            readable * 20 < memory.len(),
            "{readable} of {}",
            memory.len()
        );
        let mut lanes: Vec<String> = memory.iter().map(|e| e.lane.clone()).collect();
        lanes.sort();
        lanes.dedup();
        let tasks: Vec<Task> = imported.tasks;
        let rows = answer_tasks(&tasks, &memory, &lanes, &BuiltinAnswerer).unwrap();
        assert!(rows.iter().all(|r| !r.correct), "0% everywhere");
        let notes = notes(&tasks, &memory, &lanes, &rows, true);
        let all = notes.join("\n");
        assert!(
            all.contains("reads only the synthetic world's language")
                && all.contains("of their")
                && all.contains("--answerer remote"),
            "{all}"
        );
        assert!(all.contains("has a reference answer"), "{all}");
        // An LLM reads any language: the language note is the built-in answerer's only.
        let llm = super::notes(&tasks, &memory, &lanes, &rows, false).join("\n");
        assert!(!llm.contains("world's language"), "{llm}");
    }

    #[test]
    fn the_world_language_and_a_policy_that_writes_it_badly_are_readable() {
        assert!(reads_as_world_language(
            "In the kitchen, I pick up the red cup from the kitchen table."
        ));
        assert!(reads_as_world_language(
            "There are 3 apples on the kitchen table. I put the office."
        ));
        assert!(!reads_as_world_language(
            "<face_1> holds a camera and asks <face_2> about the shop."
        ));
        let world = [
            MemoryEntry::for_test(1, "builtin", "There are 3 apples on the kitchen table."),
            MemoryEntry::for_test(2, "builtin", "Garbled words."),
        ];
        assert!(
            notes_for(&[task("B")], &world, &["builtin"]).is_empty(),
            "a readable lane that answers needs no note"
        );
    }

    #[test]
    fn empty_lanes_late_memory_and_missing_questions_are_each_said() {
        assert!(notes_for(&[], &[], &["builtin"])[0].starts_with("No questions"));
        // A lane with nothing on the stream asked about, one whose entries come too late.
        let mut late = MemoryEntry::for_test(1, "late", "There are 3 apples on the kitchen table.");
        late.available_ms = 90_000;
        let notes = notes_for(&[task("B")], &[late], &["empty", "late"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("Lane 'empty' holds no memory of the stream asked about ('s')"),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("Lane 'late': no entry was finished"),
            "{notes:?}"
        );
        let some = notes_for(
            &[task("B"), task("")],
            &[MemoryEntry::for_test(
                1,
                "builtin",
                "There are 3 apples on the kitchen table.",
            )],
            &["builtin"],
        );
        assert_eq!(
            some,
            vec![
                "1 of the 2 questions have no reference answer, so they count as wrong \
                 whatever is answered."
                    .to_owned()
            ]
        );
    }
}
