//! Questions generated from the ground truth, in the styles of the real benchmarks: Video-MME
//! multiple choice (A-D, its task types), `EgoTempo` open questions, `EgoLife` "where did I leave /
//! who used it first". Each has an ask time after its evidence, the evidence spans, and the
//! facts it follows from.

use serde::{Deserialize, Serialize};

use super::model::{Actor, Color, Kind, Room, Verb};
use super::rng::Rng;
use super::sim::{Event, Location, Object, Simulation, WorldState, apply};
use super::truth::{CLIP_MS, ClipTruth, event_sentence, place_phrase};
use crate::timefmt::format_hms_ms;

/// Video-MME's task types that the world can ask about.
pub const VIDEO_MME_TYPES: [&str; 9] = [
    "Counting Problem",
    "Attribute Perception",
    "Action Recognition",
    "Object Recognition",
    "Object Reasoning",
    "Spatial Reasoning",
    "Temporal Perception",
    "OCR Problems",
    "Information Synopsis",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// One line of tasks.jsonl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldQuestion {
    pub id: String,
    pub text: String,
    /// Empty for open questions; otherwise "A. ...", "B. ...".
    pub options: Vec<String>,
    /// A letter for multiple choice, free text for open questions.
    pub answer: String,
    pub task_type: String,
    /// `videomme`, `egotempo` or `egolife`.
    pub style: String,
    pub ask_ms: i64,
    pub evidence: Vec<Span>,
    /// The ground-truth sentences the answer follows from (all in clips before `ask_ms`).
    pub support: Vec<String>,
    pub source: String,
}

impl From<&WorldQuestion> for crate::tasks::Task {
    fn from(q: &WorldQuestion) -> Self {
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("style".to_owned(), q.style.clone());
        if !q.support.is_empty() {
            extra.insert("support".to_owned(), q.support.join(" | "));
        }
        Self {
            id: q.id.clone(),
            stream: q.source.clone(),
            text: q.text.clone(),
            options: q
                .options
                .iter()
                .map(|o| crate::tasks::strip_option_letter(o))
                .collect(),
            answer: q.answer.clone(),
            task_type: q.task_type.clone(),
            ask_ms: q.ask_ms,
            evidence: q
                .evidence
                .iter()
                .map(|s| crate::tasks::Span::new(s.start_ms, s.end_ms))
                .collect(),
            trigger: false,
            switch_to: None,
            author: String::new(),
            source: crate::tasks::TaskSource::World,
            extra,
            created_unix_ms: 0,
            edited_unix_ms: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TasksError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line}: not a task: {detail}", path.display())]
    Parse {
        path: std::path::PathBuf,
        line: usize,
        detail: String,
    },
}

/// Reads a stream's tasks.jsonl.
pub fn load_tasks(path: &std::path::Path) -> Result<Vec<WorldQuestion>, TasksError> {
    crate::fsutil::read_jsonl(path).map_err(|e| match e {
        crate::fsutil::JsonlError::Io(source) => TasksError::Io {
            path: path.to_path_buf(),
            source,
        },
        crate::fsutil::JsonlError::Line { line, detail } => TasksError::Parse {
            path: path.to_path_buf(),
            line,
            detail,
        },
    })
}

/// An event with what it reads as and the state just before it.
struct Seen {
    event: Event,
    sentence: String,
    before: WorldState,
    /// The clip whose sampled frames show its cue; `None` when none does (then no question
    /// is about it).
    span: Option<(i64, i64)>,
    /// The first sampled frame that shows its cue.
    shown_ms: i64,
}

struct Draft {
    text: String,
    correct: String,
    distractors: Vec<String>,
    task_type: &'static str,
    style: &'static str,
    evidence_ms: (i64, i64),
    support: Vec<String>,
}

/// `HH:MM:SS` of a stream time in milliseconds.
fn mmss(t_ms: i64) -> String {
    let s = format_hms_ms(t_ms.max(0) * crate::video::NS_PER_MS);
    s[..8].to_owned()
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Up to three distinct distractors from `pool`, never the answer.
fn distractors(rng: &mut Rng, correct: &str, pool: &[String]) -> Vec<String> {
    let mut pool: Vec<String> = pool
        .iter()
        .filter(|p| p.as_str() != correct)
        .cloned()
        .collect();
    pool.sort();
    pool.dedup();
    let mut out = Vec::new();
    while out.len() < 3 && !pool.is_empty() {
        out.push(pool.swap_remove(rng.below(pool.len())));
    }
    out
}

fn object_of(seen: &Seen) -> Option<&Object> {
    seen.event.object.and_then(|id| seen.before.objects.get(id))
}

fn face_of(actor: Actor) -> Option<u8> {
    match actor {
        Actor::Face(f) => Some(f),
        Actor::Me => None,
    }
}

/// Generates questions for a simulated stream; `per_minute` sets how many.
#[must_use]
#[allow(clippy::too_many_lines)] // One arm per question form of the world, side by side.
pub fn generate(
    sim: &Simulation,
    clips: &[ClipTruth],
    per_minute: f64,
    source: &str,
) -> Vec<WorldQuestion> {
    let mut rng = Rng::new(sim.params.seed ^ 0x51_7E57);
    let mut state = sim.initial.clone();
    let mut seen = Vec::with_capacity(sim.events.len());
    // Each shown event's clip and the first sampled frame that shows its cue: questions say
    // "around" that time, so that it falls in the clip whose memory holds the event.
    let clip_of: std::collections::HashMap<usize, ((i64, i64), i64)> = clips
        .iter()
        .flat_map(|c| {
            c.event_shown_ms()
                .map(move |(i, shown_ms)| (i, ((c.start_ms, c.end_ms), shown_ms)))
        })
        .collect();
    for (i, e) in sim.events.iter().enumerate() {
        seen.push(Seen {
            event: e.clone(),
            sentence: event_sentence(&state, e),
            before: state.clone(),
            shown_ms: clip_of.get(&i).map_or(e.t_ms, |(_, t)| *t),
            span: clip_of.get(&i).map(|(span, _)| *span),
        });
        apply(&mut state, e);
    }
    let faces: Vec<String> = sim
        .initial
        .people
        .iter()
        .map(|p| format!("<face_{}>", p.face))
        .collect();
    let mut drafts: Vec<Vec<Draft>> = (0..12).map(|_| Vec::new()).collect();
    for (i, s) in seen.iter().enumerate() {
        let e = &s.event;
        let Some(span) = s.span else { continue };
        let Some(object) = object_of(s) else {
            continue_without_object(i, &seen, &faces, &mut drafts, &mut rng);
            continue;
        };
        let when = mmss(s.shown_ms);
        match (e.verb, face_of(e.actor)) {
            (Verb::PicksUp, Some(face)) if object.kind != Kind::Apple => {
                let colors: Vec<String> =
                    Color::ALL.iter().map(|c| capitalized(c.name())).collect();
                drafts[0].push(Draft {
                    text: format!(
                        "What color was the {} that <face_{face}> picked up around {when}?",
                        object.kind.name()
                    ),
                    correct: capitalized(object.color.name()),
                    distractors: distractors(&mut rng, &capitalized(object.color.name()), &colors),
                    task_type: "Attribute Perception",
                    style: "videomme",
                    evidence_ms: span,
                    support: vec![s.sentence.clone()],
                });
            }
            (Verb::Gives, Some(_)) => {
                let to = e.recipient.map(Actor::object_name).unwrap_or_default();
                let pool: Vec<String> = s
                    .before
                    .objects
                    .iter()
                    .filter(|o| o.kind != Kind::Apple)
                    .map(|o| capitalized(&o.a()))
                    .collect();
                drafts[1].push(Draft {
                    text: format!(
                        "Which object did {} give to {to} around {when}?",
                        e.actor.name()
                    ),
                    correct: capitalized(&object.a()),
                    distractors: distractors(&mut rng, &capitalized(&object.a()), &pool),
                    task_type: "Object Recognition",
                    style: "videomme",
                    evidence_ms: span,
                    support: vec![s.sentence.clone()],
                });
            }
            (Verb::Opens | Verb::Closes | Verb::Eats | Verb::Drinks | Verb::Uses, Some(_)) => {
                let action = |v: Verb| match v {
                    Verb::Opens => "Opened it.",
                    Verb::Closes => "Closed it.",
                    Verb::Eats => "Ate it.",
                    Verb::Drinks => "Drank from it.",
                    Verb::Uses => "Used it.",
                    Verb::Gives => "Gave it to someone.",
                    _ => "Threw it away.",
                };
                let pool: Vec<String> = [
                    Verb::Opens,
                    Verb::Closes,
                    Verb::Eats,
                    Verb::Drinks,
                    Verb::Uses,
                    Verb::Gives,
                    Verb::WalksTo,
                ]
                .iter()
                .map(|v| action(*v).to_owned())
                .collect();
                let what = if object.kind == Kind::Apple {
                    object.a()
                } else {
                    object.the()
                };
                drafts[2].push(Draft {
                    text: format!("What did {} do with {what} around {when}?", e.actor.name()),
                    correct: action(e.verb).to_owned(),
                    distractors: distractors(&mut rng, action(e.verb), &pool),
                    task_type: "Action Recognition",
                    style: "videomme",
                    evidence_ms: span,
                    support: vec![s.sentence.clone()],
                });
                // EgoTempo: the object of a given action (open answer).
                if e.verb != Verb::Eats {
                    let face = face_of(e.actor).unwrap_or_default();
                    drafts[5].push(Draft {
                        text: format!(
                            "What did <face_{face}> {} around {when}?",
                            e.verb.first_person()
                        ),
                        correct: format!("{}.", capitalized(&object.the())),
                        distractors: Vec::new(),
                        task_type: "action-specific object",
                        style: "egotempo",
                        evidence_ms: span,
                        support: vec![s.sentence.clone()],
                    });
                }
            }
            (Verb::PutsDown, actor) => {
                let Some(place) = e.place else { continue };
                let pool: Vec<String> = Room::ALL
                    .iter()
                    .flat_map(|r| {
                        r.places()
                            .iter()
                            .map(move |p| format!("On the {} {}.", r.name(), p.name()))
                    })
                    .collect();
                let correct = format!("On the {} {}.", e.room.name(), place.name());
                // Left again within the longest ask delay: "where did I leave it" would have
                // two answers.
                let left_again = seen[i + 1..]
                    .iter()
                    .take_while(|n| n.event.t_ms - e.t_ms < 100_000)
                    .any(|n| {
                        n.event.object == e.object
                            && n.event.actor == Actor::Me
                            && n.event.verb == Verb::PutsDown
                    });
                // Apples look alike: "where did I leave the red apple" names none of them.
                let ambiguous = left_again || object.kind == Kind::Apple;
                if actor.is_none() && !ambiguous {
                    // EgoLife: where did I leave it? Asked once I have moved on.
                    drafts[3].push(Draft {
                        text: format!("Where did I leave {}?", object.the()),
                        correct: correct.clone(),
                        distractors: distractors(&mut rng, &correct, &pool),
                        task_type: "EntityLog",
                        style: "egolife",
                        evidence_ms: span,
                        support: vec![s.sentence.clone()],
                    });
                } else if actor.is_some() && object.kind != Kind::Apple {
                    drafts[4].push(Draft {
                        text: format!(
                            "Where did {} put {} around {when}?",
                            e.actor.name(),
                            object.the()
                        ),
                        correct: correct.clone(),
                        distractors: distractors(&mut rng, &correct, &pool),
                        task_type: "Spatial Reasoning",
                        style: "videomme",
                        evidence_ms: span,
                        support: vec![s.sentence.clone()],
                    });
                }
            }
            (Verb::Enters, Some(face)) => {
                // EgoTempo: what did they pick up after coming in? (open answer)
                if let Some(next) = seen[i + 1..]
                    .iter()
                    .take_while(|n| n.event.t_ms - e.t_ms < 30_000)
                    .find(|n| n.event.actor == e.actor && n.event.verb == Verb::PicksUp)
                    && let Some(next_span) = next.span
                    && let Some(picked) = object_of(next)
                {
                    drafts[5].push(Draft {
                        text: format!(
                            "What did <face_{face}> pick up after entering the {} around {when}?",
                            e.room.name()
                        ),
                        correct: format!("{}.", capitalized(&picked.the())),
                        distractors: Vec::new(),
                        task_type: "action-specific object",
                        style: "egotempo",
                        evidence_ms: (span.0, next_span.1),
                        support: vec![s.sentence.clone(), next.sentence.clone()],
                    });
                }
            }
            _ => {}
        }
        // Temporal: which of two things this person did first.
        if let Some(face) = face_of(e.actor)
            && let Some(later) = seen[i + 1..]
                .iter()
                .take_while(|n| n.event.t_ms - e.t_ms < 20_000)
                .find(|n| {
                    n.event.actor == e.actor
                        && n.event.verb != e.verb
                        && n.event.verb != Verb::Leaves
                })
            && let Some(later_span) = later.span
            && said_once(&seen, e, &s.sentence)
            && said_once(&seen, e, &later.sentence)
        {
            let first = s
                .sentence
                .trim_end_matches('.')
                .replace(&format!("<face_{face}> "), "");
            let second = later
                .sentence
                .trim_end_matches('.')
                .replace(&format!("<face_{face}> "), "");
            let correct = format!("{} first, then {}.", capitalized(&first), second);
            let pool = vec![
                format!("{} first, then {}.", capitalized(&second), first),
                format!("{} only.", capitalized(&first)),
                format!("{} only.", capitalized(&second)),
            ];
            drafts[6].push(Draft {
                text: format!("In what order did <face_{face}> do these things around {when}?"),
                correct: correct.clone(),
                distractors: distractors(&mut rng, &correct, &pool),
                task_type: "Temporal Perception",
                style: "videomme",
                evidence_ms: (span.0, later_span.1),
                support: vec![s.sentence.clone(), later.sentence.clone()],
            });
        }
    }
    clip_questions(clips, &mut drafts, &mut rng);
    first_user_questions(&seen, &faces, &mut drafts, &mut rng);

    // Round-robin over the kinds so every type is represented, up to the wanted count.
    let minutes = sim.params.duration_ms as f64 / 60_000.0;
    let wanted = (minutes * per_minute).round().max(1.0) as usize;
    for list in &mut drafts {
        // Spread picks over the stream rather than the start of it: any first k picks of a
        // kind lie evenly over the stream, so a stream's tasks of a type (and "the recent N"
        // of them) come from all of it.
        *list = spread_order(std::mem::take(list), &mut rng);
    }
    let mut out = Vec::new();
    let mut cursors = vec![0usize; drafts.len()];
    'outer: loop {
        let mut progressed = false;
        for (kind, list) in drafts.iter().enumerate() {
            while cursors[kind] < list.len() {
                let draft = &list[cursors[kind]];
                cursors[kind] += 1;
                if let Some(q) = finish(draft, sim.params.duration_ms, &mut rng, out.len(), source)
                {
                    out.push(q);
                    progressed = true;
                    break;
                }
            }
            if out.len() >= wanted {
                break 'outer;
            }
        }
        if !progressed {
            break;
        }
    }
    out.sort_by_key(|q| (q.ask_ms, q.id.clone()));
    out
}

/// `drafts` in the order they are picked: sorted by the end of their evidence, rotated by a
/// seeded offset, then taken in bit-reversed index order (0, n/2, n/4, 3n/4, ...), so that any
/// prefix of the picks is spread evenly over the stream.
fn spread_order(mut drafts: Vec<Draft>, rng: &mut Rng) -> Vec<Draft> {
    let n = drafts.len();
    if n < 2 {
        return drafts;
    }
    drafts.sort_by_key(|d| (d.evidence_ms.1, d.evidence_ms.0));
    drafts.rotate_left(rng.below(n));
    let bits = usize::BITS - (n - 1).leading_zeros();
    let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    (0..1usize << bits)
        .map(|i| i.reverse_bits() >> (usize::BITS - bits))
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Whether `sentence` is said of `e`'s actor only once within 45 s of it: an order asked of a
/// thing done twice has two answers.
fn said_once(seen: &[Seen], e: &Event, sentence: &str) -> bool {
    seen.iter()
        .filter(|n| {
            n.event.actor == e.actor
                && (n.event.t_ms - e.t_ms).abs() < 45_000
                && n.sentence == sentence
        })
        .count()
        == 1
}

fn continue_without_object(
    i: usize,
    seen: &[Seen],
    faces: &[String],
    drafts: &mut [Vec<Draft>],
    rng: &mut Rng,
) {
    let s = &seen[i];
    let e = &s.event;
    let Some(span) = s.span else { return };
    // Object reasoning: who was holding what when I left a room.
    if e.verb == Verb::WalksTo
        && let Some(from) = e.from_room
    {
        let holder = s.before.objects.iter().find_map(|o| match o.location {
            Location::Held(Actor::Face(f))
                if o.present
                    && o.kind != Kind::Apple
                    && s.before.person(f).and_then(|p| p.room) == Some(from) =>
            {
                Some((f, o))
            }
            _ => None,
        });
        // The event that put it in their hands, seen in this room: the evidence.
        let handed = holder.and_then(|(face, object)| {
            seen[..i].iter().rev().find(|p| {
                p.event.object == Some(object.id)
                    && p.event.room == from
                    && match p.event.verb {
                        Verb::PicksUp | Verb::Enters => p.event.actor == Actor::Face(face),
                        Verb::Gives => p.event.recipient == Some(Actor::Face(face)),
                        _ => false,
                    }
            })
        });
        if let (Some((face, object)), Some(handed_span)) = (holder, handed.and_then(|h| h.span)) {
            let correct = format!("<face_{face}>");
            drafts[7].push(Draft {
                text: format!(
                    "Who was holding {} when I left the {}?",
                    object.the(),
                    from.name()
                ),
                correct: correct.clone(),
                distractors: distractors(rng, &correct, faces),
                task_type: "Object Reasoning",
                style: "videomme",
                evidence_ms: (handed_span.0, span.1),
                support: vec![
                    handed.map(|h| h.sentence.clone()).unwrap_or_default(),
                    s.sentence.clone(),
                ],
            });
        }
    }
}

/// Questions about whole clips: counts, texts, rooms visited.
fn clip_questions(clips: &[ClipTruth], drafts: &mut [Vec<Draft>], rng: &mut Rng) {
    for c in clips {
        for count in &c.counts {
            if count.kind != Kind::Apple {
                continue;
            }
            let correct = count.count.to_string();
            let pool: Vec<String> = (0..=8).map(|n| n.to_string()).collect();
            // The sentence about this place: a clip may count apples on two.
            let place = format!(" on {}.", place_phrase(count.room, count.place));
            let fact = c
                .facts
                .iter()
                .find(|f| f.starts_with("There ") && f.contains(" apple") && f.ends_with(&place))
                .cloned()
                .unwrap_or_default();
            drafts[8].push(Draft {
                text: format!(
                    "How many apples were on the {} {} at {}?",
                    count.room.name(),
                    count.place.name(),
                    mmss(count.at_ms)
                ),
                correct: correct.clone(),
                distractors: distractors(rng, &correct, &pool),
                task_type: "Counting Problem",
                style: "videomme",
                evidence_ms: (c.start_ms, c.end_ms),
                support: vec![fact],
            });
        }
        for text in &c.texts {
            // A clip whose sign was rewritten shows two texts: "what did it read" has two
            // answers there.
            if c.texts.iter().filter(|t| t.room == text.room).count() > 1 {
                continue;
            }
            let correct = format!("\"{}\"", text.text);
            let pool: Vec<String> = clips
                .iter()
                .flat_map(|o| o.texts.iter().map(|t| format!("\"{}\"", t.text)))
                .collect();
            if pool.iter().filter(|p| **p != correct).count() < 3 {
                continue;
            }
            let fact = format!(
                "The {} in the {} reads \"{}\".",
                text.surface,
                text.room.name(),
                text.text
            );
            drafts[9].push(Draft {
                text: format!(
                    "What did the {} in the {} read around {}?",
                    text.surface,
                    text.room.name(),
                    mmss(c.start_ms + CLIP_MS / 2)
                ),
                correct: correct.clone(),
                distractors: distractors(rng, &correct, &pool),
                task_type: "OCR Problems",
                style: "videomme",
                evidence_ms: (c.start_ms, c.end_ms),
                support: vec![fact],
            });
        }
    }
    // Information synopsis: the rooms visited over a minute, in order.
    for window in clips.chunks(6) {
        let mut rooms: Vec<Room> = Vec::new();
        let mut support = Vec::new();
        for c in window {
            for r in &c.rooms {
                if rooms.last() != Some(r) {
                    rooms.push(*r);
                }
            }
            support.push(format!("I am in the {}.", c.rooms[0].name()));
            support.extend(
                c.facts
                    .iter()
                    .filter(|f| f.starts_with("I walk to "))
                    .cloned(),
            );
        }
        if rooms.len() < 2 {
            continue;
        }
        let (Some(first), Some(last)) = (window.first(), window.last()) else {
            continue;
        };
        let say = |rooms: &[Room]| {
            let names: Vec<&str> = rooms.iter().map(|r| r.name()).collect();
            format!("{}.", capitalized(&names.join(", then ")))
        };
        let correct = say(&rooms);
        let mut pool = Vec::new();
        let mut reversed = rooms.clone();
        reversed.reverse();
        pool.push(say(&reversed));
        for _ in 0..6 {
            let mut shuffled = rooms.clone();
            let n = shuffled.len();
            shuffled.swap(rng.below(n), rng.below(n));
            if let Some(extra) = Room::ALL.iter().find(|r| !rooms.contains(r))
                && rng.chance(0.5)
            {
                shuffled.push(*extra);
            }
            pool.push(say(&shuffled));
        }
        drafts[10].push(Draft {
            text: format!(
                "Which rooms did I go through between {} and {}, in order?",
                mmss(first.start_ms),
                mmss(last.end_ms)
            ),
            correct: correct.clone(),
            distractors: distractors(rng, &correct, &pool),
            task_type: "Information Synopsis",
            style: "videomme",
            evidence_ms: (first.start_ms, last.end_ms),
            support,
        });
    }
}

/// `EgoLife`: who used an object first.
fn first_user_questions(seen: &[Seen], faces: &[String], drafts: &mut [Vec<Draft>], rng: &mut Rng) {
    let mut firsts: Vec<(usize, &Seen)> = Vec::new();
    for s in seen {
        if s.event.verb == Verb::Uses
            && s.span.is_some()
            && let (Some(id), Some(_)) = (s.event.object, face_of(s.event.actor))
            && !firsts.iter().any(|(o, _)| *o == id)
        {
            firsts.push((id, s));
        }
    }
    for (_, s) in firsts {
        let Some(object) = object_of(s) else { continue };
        let correct = s.event.actor.name();
        drafts[11].push(Draft {
            text: format!("Who used {} first?", object.the()),
            correct: correct.clone(),
            distractors: distractors(rng, &correct, faces),
            task_type: "EntityLog",
            style: "egolife",
            evidence_ms: (0, s.span.map_or(CLIP_MS, |span| span.1)),
            support: vec![s.sentence.clone()],
        });
    }
}

/// Places the answer among the options and sets the ask time after the evidence.
fn finish(
    draft: &Draft,
    duration_ms: i64,
    rng: &mut Rng,
    n: usize,
    source: &str,
) -> Option<WorldQuestion> {
    // Asked 5 to 90 s after the evidence, and before the stream ends: evidence near the end
    // narrows the window rather than losing the question.
    let earliest = draft.evidence_ms.1 + 5_000;
    let latest = (draft.evidence_ms.1 + 90_000).min(duration_ms);
    if earliest > latest {
        return None;
    }
    let ask_ms = rng.range(earliest, latest);
    let (options, answer) = if draft.distractors.is_empty() {
        (Vec::new(), draft.correct.clone())
    } else {
        if draft.distractors.len() < 3 {
            return None;
        }
        let mut options = draft.distractors.clone();
        let at = rng.below(options.len() + 1);
        options.insert(at, draft.correct.clone());
        let letters = ['A', 'B', 'C', 'D'];
        (
            options
                .iter()
                .zip(letters)
                .map(|(o, l)| format!("{l}. {o}"))
                .collect(),
            letters[at].to_string(),
        )
    };
    Some(WorldQuestion {
        id: format!("{source}-q{n:04}"),
        text: draft.text.clone(),
        options,
        answer,
        task_type: draft.task_type.to_owned(),
        style: draft.style.to_owned(),
        ask_ms,
        evidence: vec![Span {
            start_ms: draft.evidence_ms.0,
            end_ms: draft.evidence_ms.1,
        }],
        support: draft.support.clone(),
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::sim::WorldParams;
    use crate::world::truth::clips;

    fn stream(seed: u64, minutes: i64) -> (Simulation, Vec<ClipTruth>, Vec<WorldQuestion>) {
        let sim = Simulation::run(&WorldParams::new(seed, minutes * 60_000));
        let truth = clips(&sim);
        let questions = generate(&sim, &truth, 3.0, "test");
        (sim, truth, questions)
    }

    #[test]
    fn every_answer_follows_from_facts_seen_before_the_ask_time() {
        for seed in [1, 2, 3] {
            let (_, truth, questions) = stream(seed, 10);
            assert!(questions.len() >= 20, "{} questions", questions.len());
            for q in &questions {
                let span = q.evidence[0];
                assert!(
                    span.end_ms <= q.ask_ms,
                    "{}: evidence after the ask time",
                    q.id
                );
                let before: Vec<&String> = truth
                    .iter()
                    .filter(|c| c.end_ms <= q.ask_ms)
                    .flat_map(|c| &c.facts)
                    .collect();
                for fact in &q.support {
                    assert!(
                        before.contains(&fact),
                        "{}: '{fact}' is not a fact before {} ms",
                        q.id,
                        q.ask_ms
                    );
                }
                // A count's fact is about the place asked of, not another in the clip.
                if let Some(place) = q
                    .text
                    .split_once(" were on the ")
                    .and_then(|(_, rest)| rest.split_once(" at "))
                    .map(|(place, _)| place)
                {
                    assert!(
                        q.support[0].ends_with(&format!(" on the {place}.")),
                        "{}: {:?} for {place}",
                        q.id,
                        q.support
                    );
                }
                // The answer itself is in those facts (verb forms aside).
                if !matches!(
                    q.task_type.as_str(),
                    "Action Recognition" | "Temporal Perception"
                ) {
                    let answer = answer_text(q).to_lowercase();
                    let support = q.support.join(" ").to_lowercase();
                    let words: Vec<&str> = answer
                        .split(|c: char| !(c.is_alphanumeric() || c == '<' || c == '>' || c == '_'))
                        .filter(|w| w.len() >= 2 && !["on", "the", "an", "then"].contains(w))
                        .collect();
                    assert!(
                        words.iter().all(|w| support.contains(w)),
                        "{}: answer '{answer}' not in its support {support}",
                        q.id
                    );
                }
            }
        }
    }

    fn answer_text(q: &WorldQuestion) -> String {
        match q.answer.chars().next() {
            Some(letter) if !q.options.is_empty() => q
                .options
                .iter()
                .find(|o| o.starts_with(letter))
                .map(|o| o[3..].to_owned())
                .unwrap_or_default(),
            _ => q.answer.clone(),
        }
    }

    #[test]
    fn times_in_questions_are_clock_times() {
        assert_eq!(mmss(93_500), "00:01:33");
        assert_eq!(mmss(3_725_000), "01:02:05");
    }

    #[test]
    fn distractors_never_equal_the_answer_and_options_are_lettered() {
        let (_, _, questions) = stream(4, 10);
        for q in questions.iter().filter(|q| !q.options.is_empty()) {
            assert_eq!(q.options.len(), 4, "{}", q.id);
            let letter = q.answer.chars().next().unwrap();
            let correct = q.options.iter().find(|o| o.starts_with(letter)).unwrap();
            let body = |o: &String| o[3..].to_owned();
            let others: Vec<String> = q
                .options
                .iter()
                .filter(|o| *o != correct)
                .map(body)
                .collect();
            assert!(
                !others.contains(&body(correct)),
                "{}: a distractor equals the answer",
                q.id
            );
        }
    }

    #[test]
    fn the_styles_and_types_are_all_there() {
        let (_, _, questions) = stream(5, 20);
        for style in ["videomme", "egotempo", "egolife"] {
            assert!(
                questions.iter().any(|q| q.style == style),
                "no {style} question"
            );
        }
        let types: std::collections::BTreeSet<&str> =
            questions.iter().map(|q| q.task_type.as_str()).collect();
        for t in VIDEO_MME_TYPES {
            assert!(types.contains(t), "no {t} question: {types:?}");
        }
    }
}
