//! What each task command does to the task library, as plain functions: the task-log events
//! to record, worked out without a window. The app records the events (one undo step each
//! call) and moves its selection; these functions decide what changes and what is refused, so
//! plain tests can hold them to it.

use crate::tasks::{Span, Task, TaskError, TaskEvent, TaskLibrary, TaskSource};

/// A task's place in the library: its stream and its id there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    pub stream: String,
    pub id: String,
}

impl TaskKey {
    #[must_use]
    pub fn of(task: &Task) -> Self {
        Self {
            stream: task.stream.clone(),
            id: task.id.clone(),
        }
    }
}

/// Which end of an evidence span the keyboard nudges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

impl Edge {
    /// The span's other end.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Start => Self::End,
            Self::End => Self::Start,
        }
    }
}

/// A task edit that cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TaskEditError {
    #[error("a task id cannot be empty")]
    EmptyId,
    #[error("{0}")]
    Task(String),
}

fn put(task: Task) -> TaskEvent {
    TaskEvent::Put {
        task: Box::new(task),
    }
}

/// Renames `key` to `new_id`: the task under its new id first, then the old id's delete, so a
/// write cut short never loses the task.
///
/// # Errors
/// An empty id, or one the stream already has.
pub fn rename(
    library: &TaskLibrary,
    key: &TaskKey,
    new_id: &str,
    now_unix_ms: i64,
) -> Result<Vec<TaskEvent>, TaskEditError> {
    let Some(task) = library.get(&key.stream, &key.id) else {
        return Ok(Vec::new());
    };
    if new_id.is_empty() {
        return Err(TaskEditError::EmptyId);
    }
    if library.get(&key.stream, new_id).is_some() {
        return Err(TaskEditError::Task(
            TaskError::DuplicateId {
                id: new_id.to_owned(),
                stream: key.stream.clone(),
            }
            .to_string(),
        ));
    }
    let mut task = task.clone();
    new_id.clone_into(&mut task.id);
    task.edited_unix_ms = now_unix_ms;
    let delete = TaskEvent::Delete {
        stream: key.stream.clone(),
        id: key.id.clone(),
    };
    Ok(vec![put(task), delete])
}

/// A copy of `key` under a fresh id, authored by `author` now.
#[must_use]
pub fn duplicate(
    library: &TaskLibrary,
    key: &TaskKey,
    author: &str,
    now_unix_ms: i64,
) -> Option<Task> {
    let mut task = library.get(&key.stream, &key.id)?.clone();
    task.id = library.fresh_id(&key.stream, &format!("{}-copy", key.id));
    task.source = TaskSource::Authored;
    author.clone_into(&mut task.author);
    task.created_unix_ms = now_unix_ms;
    task.edited_unix_ms = now_unix_ms;
    Some(task)
}

/// The deletes of those of `keys` the library holds.
#[must_use]
pub fn delete(library: &TaskLibrary, keys: Vec<TaskKey>) -> Vec<TaskEvent> {
    keys.into_iter()
        .filter(|k| library.get(&k.stream, &k.id).is_some())
        .map(|k| TaskEvent::Delete {
            stream: k.stream,
            id: k.id,
        })
        .collect()
}

/// `keys`' tasks of another type, given `task_type`.
#[must_use]
pub fn retype(
    library: &TaskLibrary,
    keys: &[TaskKey],
    task_type: &str,
    now_unix_ms: i64,
) -> Vec<TaskEvent> {
    keys.iter()
        .filter_map(|k| library.get(&k.stream, &k.id))
        .filter(|t| t.task_type != task_type)
        .map(|t| {
            let mut t = t.clone();
            task_type.clone_into(&mut t.task_type);
            t.edited_unix_ms = now_unix_ms;
            put(t)
        })
        .collect()
}

/// Replaces evidence span `index` of `task`, or adds `span` when there is no such span.
pub fn set_evidence(task: &mut Task, index: Option<usize>, span: Span, now_unix_ms: i64) {
    match index.filter(|&i| i < task.evidence.len()) {
        Some(i) => task.evidence[i] = span,
        None => task.evidence.push(span),
    }
    task.edited_unix_ms = now_unix_ms;
}

/// Moves `edge` of `span` to `to_ms` (kept within the video); an edge pushed past the other
/// swaps roles, as in any span editor. Returns the edge that is active afterwards.
pub fn move_edge(span: &mut Span, edge: Edge, to_ms: i64, duration_ms: i64) -> Edge {
    let edge_ms = match edge {
        Edge::Start => &mut span.start_ms,
        Edge::End => &mut span.end_ms,
    };
    *edge_ms = to_ms.clamp(0, duration_ms.max(0));
    if span.start_ms > span.end_ms {
        *span = Span::new(span.start_ms, span.end_ms);
        return edge.other();
    }
    edge
}

/// The task asked before or after: from the selected task by its place in the stream's set
/// (tasks may share an ask time), from the playhead when none is selected.
#[must_use]
pub fn neighbour<'a>(
    library: &'a TaskLibrary,
    stream: &str,
    selected_id: Option<&str>,
    position_ms: i64,
    forward: bool,
) -> Option<&'a Task> {
    let slice = library.stream_slice(stream);
    let by_place = selected_id
        .and_then(|id| slice.iter().position(|t| t.id == id))
        .map(|at| {
            if forward {
                slice.get(at + 1)
            } else {
                at.checked_sub(1).and_then(|i| slice.get(i))
            }
        });
    match by_place {
        Some(next) => next,
        None => library.neighbour(stream, position_ms, forward),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(tasks: &[(&str, i64)]) -> TaskLibrary {
        let mut library = TaskLibrary::default();
        for (id, ask_ms) in tasks {
            let mut task = Task::authored((*id).to_owned(), "s", *ask_ms, "ann");
            task.text = format!("question {id}");
            library.apply(&put(task));
        }
        library
    }

    fn key(id: &str) -> TaskKey {
        TaskKey {
            stream: "s".into(),
            id: id.into(),
        }
    }

    #[test]
    fn a_rename_puts_the_new_id_before_deleting_the_old_and_refuses_a_taken_or_empty_id() {
        let lib = library(&[("a", 0), ("b", 1000)]);
        let events = rename(&lib, &key("a"), "c", 5).unwrap();
        assert!(
            matches!(&events[0], TaskEvent::Put { task } if task.id == "c" && task.edited_unix_ms == 5)
        );
        assert!(matches!(&events[1], TaskEvent::Delete { id, .. } if id == "a"));
        assert_eq!(
            rename(&lib, &key("a"), "b", 5).unwrap_err().to_string(),
            "a task with id b already exists in stream s"
        );
        assert_eq!(rename(&lib, &key("a"), "", 5), Err(TaskEditError::EmptyId));
        assert!(rename(&lib, &key("gone"), "x", 5).unwrap().is_empty());
    }

    #[test]
    fn a_duplicate_is_the_authors_own_under_a_fresh_id() {
        let lib = library(&[("a", 0)]);
        let copy = duplicate(&lib, &key("a"), "me", 7).unwrap();
        assert!(copy.id.starts_with("a-copy"), "{}", copy.id);
        assert!(lib.get("s", &copy.id).is_none(), "a fresh id");
        assert_eq!(copy.author, "me");
        assert_eq!(copy.text, "question a");
        assert_eq!((copy.created_unix_ms, copy.edited_unix_ms), (7, 7));
    }

    #[test]
    fn delete_and_retype_touch_only_tasks_that_change() {
        let mut lib = library(&[("a", 0), ("b", 1000)]);
        assert_eq!(delete(&lib, vec![key("a"), key("gone")]).len(), 1);
        let events = retype(&lib, &[key("a"), key("b")], "Counting", 9);
        assert_eq!(events.len(), 2);
        lib.apply_all(&events);
        assert!(retype(&lib, &[key("a"), key("b")], "Counting", 10).is_empty());
    }

    #[test]
    fn an_edge_pushed_past_the_other_swaps_roles_and_stays_in_the_video() {
        let mut span = Span::new(1000, 3000);
        assert_eq!(move_edge(&mut span, Edge::Start, 4000, 10_000), Edge::End);
        assert_eq!(span, Span::new(3000, 4000));
        assert_eq!(move_edge(&mut span, Edge::End, 99_000, 10_000), Edge::End);
        assert_eq!(span.end_ms, 10_000);
        assert_eq!(move_edge(&mut span, Edge::Start, -5, 10_000), Edge::Start);
        assert_eq!(span.start_ms, 0);
    }

    #[test]
    fn the_next_task_follows_the_selection_even_at_a_shared_ask_time() {
        let lib = library(&[("a", 1000), ("b", 1000), ("c", 5000)]);
        let next = |sel: Option<&str>, at: i64, fwd: bool| {
            neighbour(&lib, "s", sel, at, fwd).map(|t| t.id.clone())
        };
        assert_eq!(next(Some("a"), 0, true).as_deref(), Some("b"));
        assert_eq!(next(Some("b"), 0, false).as_deref(), Some("a"));
        assert_eq!(next(Some("c"), 0, true), None);
        assert_eq!(next(None, 2000, true).as_deref(), Some("c"));
    }
}
