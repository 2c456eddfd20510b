//! Answerers: read the memory available at a task's ask time and answer it, or abstain.
//!
//! The built-in answerer knows the world's language: it cuts each memory entry into the fact
//! sentences it states (with the same parser the Phase One reward uses), recognises the world's
//! question forms, and checks each option against those facts. It is deterministic, never sees
//! the video or the ground truth, and says "E" (insufficient information) when the memory does
//! not single out one option. Questions in other words fall back to word overlap between an
//! option and one entry.

use crate::memory::MemoryEntry;
use crate::timefmt::format_clock_ms;
use crate::world::grammar::{Claim, statements};
use crate::world::model::{Room, Verb};

/// What an answerer sees of a task: never its answer, evidence or supporting facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// Option texts without their letters; empty for an open question.
    pub options: Vec<String>,
    pub ask_ms: i64,
}

impl Question {
    #[must_use]
    pub fn of_task(task: &crate::tasks::Task) -> Self {
        Self {
            id: task.id.clone(),
            text: task.text.clone(),
            options: task.options.clone(),
            ask_ms: task.ask_ms,
        }
    }
}

/// The letter that means "insufficient information" for multiple choice.
pub const ABSTAIN_LETTER: char = 'E';
/// The answer to an open question that the memory cannot answer.
pub const ABSTAIN_TEXT: &str = "Insufficient information";

/// An answerer's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// A letter for multiple choice (E when abstaining), free text for open questions.
    pub answer: String,
    pub abstained: bool,
    /// Ids of the memory entries the answer rests on.
    pub used: Vec<u64>,
    /// The raw reply of a model, when there is one.
    pub raw: Option<String>,
}

impl Reply {
    #[must_use]
    pub fn abstain(question: &Question) -> Self {
        Self {
            answer: if question.options.is_empty() {
                ABSTAIN_TEXT.to_owned()
            } else {
                ABSTAIN_LETTER.to_string()
            },
            abstained: true,
            used: Vec::new(),
            raw: None,
        }
    }
}

/// Failure of an answerer (a remote one can fail; the built-in one cannot).
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("answerer {name}: {message}")]
    Failed { name: String, message: String },
}

/// Answers a question from memory alone. `memory` holds only entries available at the ask
/// time (the replay filters them), in stream order.
pub trait Answerer: Send {
    fn name(&self) -> String;
    fn answer(&self, question: &Question, memory: &[&MemoryEntry]) -> Result<Reply, AnswerError>;
    /// Whether it reads only the synthetic world's language (memory in other words is
    /// unreadable to it): what `eval::explain` tells a user whose memory is not in it.
    fn reads_only_world_language(&self) -> bool {
        false
    }
}

/// The deterministic answerer for the world's language.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinAnswerer;

/// One fact sentence a memory entry states, lower-cased, without its final period.
#[derive(Clone, Debug)]
struct Fact {
    entry: u64,
    start_ms: i64,
    end_ms: i64,
    text: String,
}

fn facts_of(memory: &[&MemoryEntry]) -> Vec<Fact> {
    let mut out = Vec::new();
    for e in memory {
        for claim in statements(&e.text).claims {
            out.push(Fact {
                entry: e.id,
                start_ms: e.start_ms,
                end_ms: e.end_ms,
                text: fact_text(&claim),
            });
        }
    }
    out
}

/// A claim as the sentence it states, lower-cased, without its final period.
fn fact_text(claim: &Claim) -> String {
    match claim {
        Claim::Fact(f) => norm(f),
        Claim::Reads { surface, text } => norm(&format!("the {surface} reads \"{text}\"")),
        Claim::LookAround { room } => norm(&format!("i am in the {room}")),
        Claim::Stay { faces, room } => norm(&format!("{} stay in the {room}", faces.join(" and "))),
    }
}

fn norm(s: &str) -> String {
    s.trim().trim_end_matches('.').trim().to_lowercase()
}

/// "HH:MM:SS" (or "MM:SS") as milliseconds.
fn clock_ms(s: &str) -> Option<i64> {
    let parts: Vec<i64> = s
        .split(':')
        .map(|p| p.parse::<i64>().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts.as_slice() {
        [h, m, sec] => (*h, *m, *sec),
        [m, sec] => (0, *m, *sec),
        _ => return None,
    };
    // Times come from question text people wrote: overflow is no time at all.
    h.checked_mul(60)?
        .checked_add(m)?
        .checked_mul(60)?
        .checked_add(sec)?
        .checked_mul(1000)
}

fn between<'a>(s: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)?.strip_suffix(suffix)
}

/// Verb phrase of `verb` for a lower-cased actor (`i` or `<face_n>`).
/// The actions whose object an "action-specific object" question asks for.
const OBJECT_OF_ACTION: [Verb; 4] = [Verb::Opens, Verb::Closes, Verb::Drinks, Verb::Uses];

fn verb_for(actor: &str, verb: Verb) -> &'static str {
    if actor == "i" {
        verb.first_person()
    } else {
        verb.name()
    }
}

/// Facts of entries whose clip holds `t_ms` (the "around 00:01:12" of a question).
fn around(facts: &[Fact], t_ms: i64) -> impl Iterator<Item = &Fact> {
    facts
        .iter()
        .filter(move |f| f.start_ms <= t_ms && t_ms < f.end_ms)
}

/// Facts of entries overlapping `[from_ms, to_ms)`.
fn within(facts: &[Fact], from_ms: i64, to_ms: i64) -> impl Iterator<Item = &Fact> {
    facts
        .iter()
        .filter(move |f| f.start_ms < to_ms && from_ms < f.end_ms)
}

/// What the memory says the answer is, before it is matched to an option.
enum Found<'a> {
    /// Answers the memory states (lower-case), first the likeliest, each with its fact: an
    /// option is chosen when it is the only one among them.
    Text(Vec<(String, &'a Fact)>),
    /// For each option index, whether it holds (order questions), and the facts used.
    Options(Vec<usize>, Vec<&'a Fact>),
    Nothing,
}

impl Answerer for BuiltinAnswerer {
    fn name(&self) -> String {
        "builtin".to_owned()
    }

    fn reads_only_world_language(&self) -> bool {
        true
    }

    fn answer(&self, question: &Question, memory: &[&MemoryEntry]) -> Result<Reply, AnswerError> {
        let facts = facts_of(memory);
        let q = norm(&question.text.replace('?', ""));
        let options: Vec<String> = question.options.iter().map(|o| norm(o)).collect();
        let found = find(&q, &options, &facts).unwrap_or(Found::Nothing);
        let reply = |answer: String, used: Vec<u64>| Reply {
            answer,
            abstained: false,
            used,
            raw: None,
        };
        Ok(match found {
            Found::Text(said) if options.is_empty() => match said.first() {
                Some((text, fact)) => reply(capitalized_sentence(text), vec![fact.entry]),
                None => Reply::abstain(question),
            },
            Found::Text(said) => {
                let hits: Vec<(usize, u64)> = options
                    .iter()
                    .enumerate()
                    .filter_map(|(i, o)| {
                        said.iter()
                            .find(|(text, _)| same_answer(o, text))
                            .map(|(_, f)| (i, f.entry))
                    })
                    .collect();
                match hits.as_slice() {
                    [(i, entry)] => reply(letter(*i), vec![*entry]),
                    _ => Reply::abstain(question),
                }
            }
            Found::Options(hits, used) => match hits.as_slice() {
                [i] => reply(letter(*i), used.iter().map(|f| f.entry).collect()),
                _ => Reply::abstain(question),
            },
            Found::Nothing => match fallback(&q, &options, memory) {
                Some((i, entry)) => reply(letter(i), vec![entry]),
                None => Reply::abstain(question),
            },
        })
    }
}

fn letter(index: usize) -> String {
    crate::tasks::option_letter(index).to_string()
}

fn capitalized_sentence(text: &str) -> String {
    let mut chars = text.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// Whether an option (lower-cased, no final period) says `answer`, articles aside.
fn same_answer(option: &str, answer: &str) -> bool {
    strip_article(option) == strip_article(answer)
}

fn strip_article(s: &str) -> &str {
    let s = s.trim().trim_end_matches('.');
    for article in ["the ", "a ", "an ", "on the "] {
        if let Some(rest) = s.strip_prefix(article) {
            return rest;
        }
    }
    s
}

/// Matches an open answer against the expected one: the same words, case, articles and final
/// period aside.
#[must_use]
pub fn open_answer_matches(given: &str, expected: &str) -> bool {
    let clean = |s: &str| {
        let lower = norm(s);
        strip_article(&lower).to_owned()
    };
    !given.trim().is_empty() && clean(given) == clean(expected)
}

/// Recognises the world's question forms (lower-cased, no question mark) and finds the answer.
#[allow(clippy::too_many_lines)] // One arm per question form of the world, side by side.
fn find<'a>(q: &str, options: &[String], facts: &'a [Fact]) -> Option<Found<'a>> {
    // "what color was the key that <face_2> picked up around 00:00:51"
    if let Some(rest) = q.strip_prefix("what color was the ") {
        let (kind, rest) = rest.split_once(" that ")?;
        let (actor, when) = rest.split_once(" picked up around ")?;
        let t_ms = clock_ms(when)?;
        let lead = format!("{actor} {} the ", verb_for(actor, Verb::PicksUp));
        return Some(all_texts(around(facts, t_ms), |f| {
            let object = f.text.strip_prefix(&lead)?;
            let (color, rest) = object.split_once(' ')?;
            (rest == kind || rest.starts_with(&format!("{kind} "))).then(|| color.to_owned())
        }));
    }
    // "which object did <face_1> give to <face_3> around 00:01:02"
    if let Some(rest) = q.strip_prefix("which object did ") {
        let (actor, rest) = rest.split_once(" give to ")?;
        let (to, when) = rest.split_once(" around ")?;
        let t_ms = clock_ms(when)?;
        let lead = format!("{actor} {} ", verb_for(actor, Verb::Gives));
        let tail = format!(" to {to}");
        return Some(all_texts(around(facts, t_ms), |f| {
            Some(between(&f.text, &lead, &tail)?.to_owned())
        }));
    }
    // "what did <face_2> do with the yellow bag around 00:01:12"
    if let Some(rest) = q.strip_prefix("what did ")
        && let Some((actor, rest)) = rest.split_once(" do with ")
        && let Some((what, when)) = rest.split_once(" around ")
    {
        let t_ms = clock_ms(when)?;
        let said: Vec<&Fact> = around(facts, t_ms).collect();
        let mut hits = Vec::new();
        let mut used = Vec::new();
        for (i, option) in options.iter().enumerate() {
            let verb = match option.as_str() {
                "opened it" => Verb::Opens,
                "closed it" => Verb::Closes,
                "ate it" => Verb::Eats,
                "drank from it" => Verb::Drinks,
                "used it" => Verb::Uses,
                "gave it to someone" => Verb::Gives,
                _ => continue,
            };
            // "ate" is said of "a red apple", the rest of "the red apple".
            let object = strip_article(what);
            let holds = said.iter().find(|f| {
                let Some(rest) = f
                    .text
                    .strip_prefix(&format!("{actor} {} ", verb_for(actor, verb)))
                else {
                    return false;
                };
                let rest = rest.split(" to ").next().unwrap_or(rest);
                strip_article(rest) == object
            });
            if let Some(f) = holds {
                hits.push(i);
                used.push(*f);
            }
        }
        return Some(Found::Options(hits, used));
    }
    // "where did i leave the white plant": the last place I put it, or it was last seen.
    if let Some(object) = q.strip_prefix("where did i leave ") {
        let put = format!("i put {object} on ");
        let seen = format!("{object} is on ");
        // Where I put it last; failing that, where memory last saw it.
        let last = facts
            .iter()
            .rev()
            .find_map(|f| f.text.strip_prefix(&put).map(|place| (place, f)))
            .or_else(|| {
                facts
                    .iter()
                    .rev()
                    .find_map(|f| f.text.strip_prefix(&seen).map(|place| (place, f)))
            })?;
        return Some(Found::Text(vec![(last.0.to_owned(), last.1)]));
    }
    // "where did <face_1> put the red cup around 00:02:01"
    if let Some(rest) = q.strip_prefix("where did ")
        && let Some((actor, rest)) = rest.split_once(" put ")
        && let Some((object, when)) = rest.split_once(" around ")
    {
        let t_ms = clock_ms(when)?;
        let verb = if actor == "i" { "put" } else { "puts" };
        let lead = format!("{actor} {verb} {object} on ");
        return Some(all_texts(around(facts, t_ms), |f| {
            Some(f.text.strip_prefix(&lead)?.to_owned())
        }));
    }
    // "what did <face_3> pick up after entering the kitchen around 00:00:07" (open)
    if let Some(rest) = q.strip_prefix("what did ")
        && let Some((actor, rest)) = rest.split_once(" pick up after entering the ")
        && let Some((room, when)) = rest.split_once(" around ")
    {
        let t_ms = clock_ms(when)?;
        let clip_start = facts
            .iter()
            .find(|f| f.start_ms <= t_ms && t_ms < f.end_ms)
            .map_or(t_ms, |f| f.start_ms);
        let window: Vec<&Fact> = within(facts, clip_start, t_ms.saturating_add(30_000)).collect();
        let entered = format!("{actor} {} the {room}", verb_for(actor, Verb::Enters));
        let from = window
            .iter()
            .position(|f| f.text.starts_with(&entered))
            .unwrap_or(0);
        let lead = format!("{actor} {} ", verb_for(actor, Verb::PicksUp));
        return Some(all_texts(window[from..].iter().copied(), |f| {
            let object = f.text.strip_prefix(&lead)?;
            Some(object.split(" from ").next().unwrap_or(object).to_owned())
        }));
    }
    // "what did <face_2> open around 00:01:12" (open): the object of one action
    if let Some(rest) = q.strip_prefix("what did ")
        && let Some((head, when)) = rest.split_once(" around ")
        && let Some((actor, verb)) = head.split_once(' ')
        && let Some(verb) = OBJECT_OF_ACTION
            .iter()
            .copied()
            .find(|v| v.first_person() == verb)
    {
        let t_ms = clock_ms(when)?;
        let lead = format!("{actor} {} ", verb_for(actor, verb));
        return Some(all_texts(around(facts, t_ms), |f| {
            f.text.strip_prefix(&lead).map(str::to_owned)
        }));
    }
    // "in what order did <face_1> do these things around 00:01:40"
    if let Some(rest) = q.strip_prefix("in what order did ")
        && let Some((actor, when)) = rest.split_once(" do these things around ")
    {
        let t_ms = clock_ms(when)?;
        let clip_start = t_ms - t_ms.rem_euclid(10_000);
        let window: Vec<&Fact> =
            within(facts, clip_start, clip_start.saturating_add(40_000)).collect();
        let position = |thing: &str| {
            let said = format!("{actor} {thing}");
            window.iter().position(|f| f.text == said)
        };
        let mut hits = Vec::new();
        let mut used = Vec::new();
        for (i, option) in options.iter().enumerate() {
            // Only an order can be read from memory; "X only" would need memory to state
            // that something did not happen, which a budgeted memory never does.
            let Some((first, second)) = option.split_once(" first, then ") else {
                continue;
            };
            if let (Some(a), Some(b)) = (position(first), position(second))
                && a < b
            {
                hits.push(i);
                used.extend([window[a], window[b]]);
            }
        }
        return Some(Found::Options(hits, used));
    }
    // "who was holding the yellow bag when i left the garden"
    if let Some(rest) = q.strip_prefix("who was holding ")
        && let Some((object, room)) = rest.split_once(" when i left the ")
    {
        let left = facts.iter().rposition(|f| {
            f.text.starts_with("i walk to ") && f.text.ends_with(&format!(" from the {room}"))
        })?;
        let bare = strip_article(object);
        let mut holder: Option<(String, &Fact)> = None;
        for f in &facts[..left] {
            let t = f.text.as_str();
            if let Some((who, rest)) = t.split_once(' ')
                && (rest == format!("picks up {object}")
                    || rest.starts_with(&format!("picks up {object} from ")))
            {
                holder = Some((who.to_owned(), f));
            } else if let Some((_, to)) = t.split_once(&format!(" {object} to ")) {
                holder = Some((to.to_owned(), f));
            } else if let Some(who) = t.strip_prefix(&format!("{object} is held by ")) {
                holder = Some((who.to_owned(), f));
            } else if t.contains(" carrying ")
                && strip_article(t.rsplit(" carrying ").next().unwrap_or("")) == bare
            {
                holder = t.split_once(' ').map(|(who, _)| (who.to_owned(), f));
            } else if t.contains(&format!(" {object} on ")) {
                holder = None;
            }
        }
        let (who, fact) = holder?;
        return Some(Found::Text(vec![(who, fact)]));
    }
    // "how many apples were on the kitchen table at 00:00:20"
    if let Some(rest) = q.strip_prefix("how many apples were on the ")
        && let Some((place, when)) = rest.split_once(" at ")
    {
        let t_ms = clock_ms(when)?;
        let many = format!(" apples on the {place}");
        let one = format!("there is 1 apple on the {place}");
        return Some(all_texts(
            facts
                .iter()
                .filter(|f| f.start_ms < t_ms && t_ms <= f.end_ms),
            |f| {
                if f.text == one {
                    return Some("1".to_owned());
                }
                let n = between(&f.text, "there are ", &many)?;
                Some(if n == "no" {
                    "0".to_owned()
                } else {
                    n.to_owned()
                })
            },
        ));
    }
    // "what did the sign in the garden read around 00:01:15"
    if let Some(rest) = q.strip_prefix("what did the ")
        && let Some((surface, rest)) = rest.split_once(" in the ")
        && let Some((room, when)) = rest.split_once(" read around ")
    {
        let t_ms = clock_ms(when)?;
        let with_room = format!("the {surface} in the {room} reads ");
        let without = format!("the {surface} reads ");
        let written = format!(" on the {surface} in the {room}");
        return Some(all_texts(around(facts, t_ms), |f| {
            if let Some(text) = f
                .text
                .strip_prefix(&with_room)
                .or_else(|| f.text.strip_prefix(&without))
            {
                return Some(text.to_owned());
            }
            // "<face_2> writes "bus 22" on the whiteboard in the office"
            let (_, rest) = f
                .text
                .split_once(" writes ")
                .or_else(|| f.text.split_once("i write "))?;
            Some(rest.strip_suffix(&written)?.to_owned())
        }));
    }
    // "which rooms did i go through between 00:01:00 and 00:02:00, in order"
    if let Some(rest) = q.strip_prefix("which rooms did i go through between ")
        && let Some((from, rest)) = rest.split_once(" and ")
        && let Some(to) = rest.strip_suffix(", in order")
    {
        let (from_ms, to_ms) = (clock_ms(from)?, clock_ms(to)?);
        return Some(rooms_between(facts, from_ms, to_ms));
    }
    // "who used the green remote first"
    if let Some(object) = between(q, "who used ", " first") {
        let tail = format!(" uses {object}");
        return Some(all_texts(facts.iter(), |f| {
            let who = f.text.strip_suffix(&tail)?;
            (!who.contains(' ')).then(|| who.to_owned())
        }));
    }
    None
}

/// Every answer `read` finds in `facts`, in order.
fn all_texts<'a>(
    facts: impl Iterator<Item = &'a Fact>,
    read: impl Fn(&Fact) -> Option<String>,
) -> Found<'a> {
    let said: Vec<(String, &Fact)> = facts.filter_map(|f| read(f).map(|t| (t, f))).collect();
    if said.is_empty() {
        Found::Nothing
    } else {
        Found::Text(said)
    }
}

fn push_room(rooms: &mut Vec<String>, room: &str) {
    if rooms.last().map(String::as_str) != Some(room) {
        rooms.push(room.to_owned());
    }
}

/// The rooms I went through, in order, when every clip of the window says where I was.
fn rooms_between(facts: &[Fact], from_ms: i64, to_ms: i64) -> Found<'_> {
    let window: Vec<&Fact> = within(facts, from_ms, to_ms).collect();
    let mut rooms: Vec<String> = Vec::new();
    let mut covered_to_ms = from_ms;
    let mut clip: Option<(i64, bool)> = None;
    for f in &window {
        if clip.map(|(start, _)| start) != Some(f.start_ms) {
            if clip.is_some_and(|(_, placed)| !placed) || f.start_ms > covered_to_ms {
                // A clip without a room, or a gap in memory: the order cannot be read.
                return Found::Nothing;
            }
            clip = Some((f.start_ms, false));
        }
        covered_to_ms = covered_to_ms.max(f.end_ms);
        if let Some(room) = f.text.strip_prefix("i am in the ") {
            push_room(&mut rooms, room);
            clip = clip.map(|(s, _)| (s, true));
        } else if let Some(rest) = f.text.strip_prefix("i walk to the ")
            && let Some((to, from)) = rest.split_once(" from the ")
        {
            // A walk shown by the next clip's first frames comes after that clip's "I am in
            // the <to>": it is already there.
            let already_there = rooms.last().map(String::as_str) == Some(to);
            if !already_there {
                push_room(&mut rooms, from);
                push_room(&mut rooms, to);
            }
            clip = clip.map(|(s, _)| (s, true));
        }
    }
    if covered_to_ms < to_ms || clip.is_some_and(|(_, placed)| !placed) || rooms.is_empty() {
        return Found::Nothing;
    }
    debug_assert!(
        rooms
            .iter()
            .all(|r| Room::ALL.iter().any(|k| k.name() == r))
    );
    match window.first() {
        Some(first) => Found::Text(vec![(rooms.join(", then "), first)]),
        None => Found::Nothing,
    }
}

/// For questions in other words: the one option whose words all appear in an entry that also
/// shares most of the question's words.
fn fallback(q: &str, options: &[String], memory: &[&MemoryEntry]) -> Option<(usize, u64)> {
    const STOP: [&str; 16] = [
        "the", "a", "an", "of", "in", "on", "to", "and", "what", "which", "who", "did", "was",
        "were", "is", "it",
    ];
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_alphanumeric() || c == '<' || c == '>' || c == '_'))
            .filter(|w| w.len() >= 2 && !STOP.contains(w))
            .map(str::to_owned)
            .collect()
    };
    let question_words = words(q);
    let mut hits: Vec<(usize, u64)> = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let option_words = words(option);
        if option_words.is_empty() {
            continue;
        }
        let support = memory.iter().find(|e| {
            let text = e.text.to_lowercase();
            let said = words(&text);
            let shared = question_words.iter().filter(|w| said.contains(w)).count();
            option_words.iter().all(|w| said.contains(w)) && shared * 2 >= question_words.len()
        });
        if let Some(e) = support {
            hits.push((i, e.id));
        }
    }
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// How much a description alone says of what a question of this form asks for, in [0, 1]:
/// Phase Two's built-in reward model. Descriptions are of other clips than the question's, so
/// what counts is the kind of fact (a count, a text, who did what with which object, where I
/// put things, which rooms), as the answerer would need it for such a question; whether the
/// fact is true is Phase One's business. Questions in other words score by shared words.
#[must_use]
pub fn helpfulness(description: &str, question: &Question) -> f64 {
    const DOINGS: [&str; 6] = [
        " opens ",
        " closes ",
        " eats ",
        " drinks from ",
        " uses ",
        " gives ",
    ];
    // Each fact once: a fact said again tells the answerer nothing more, and a judge that
    // counted repeats would teach the adapter to repeat itself.
    // Only sentences the world could say: a garbled one ("I put the office.") names no fact,
    // and a judge that took its words for one would teach the adapter to garble.
    let claims: Vec<Claim> = statements(description)
        .claims
        .into_iter()
        .filter(|c| match c {
            Claim::Fact(f) => crate::world::grammar::is_world_sentence(f),
            Claim::Reads { surface, text } => {
                crate::world::grammar::is_world_reading(surface, text)
            }
            Claim::Stay { .. } | Claim::LookAround { .. } => true,
        })
        .collect();
    let claims = crate::world::grammar::distinct(&claims);
    let facts: Vec<String> = claims.iter().map(|c| fact_text(c)).collect();
    let q = norm(&question.text.replace('?', ""));
    let any = |pred: &dyn Fn(&str) -> bool| facts.iter().any(|f| pred(f));
    let by_face = |f: &str| f.starts_with("<face_");
    let done_by_face = |f: &str| by_face(f) && DOINGS.iter().any(|v| f.contains(v));
    if q.starts_with("how many apples were on the ") {
        f64::from(u8::from(any(&|f| {
            f.starts_with("there ") && f.contains(" apple")
        })))
    } else if q.starts_with("what did the ") && q.contains(" read around ") {
        f64::from(u8::from(any(&|f| {
            f.contains(" reads \"") || f.contains(" write")
        })))
    } else if q.starts_with("what color was the ") {
        if any(&|f| by_face(f) && f.contains(" picks up the ")) {
            1.0
        } else {
            0.5 * f64::from(u8::from(any(&|f| {
                f.contains(" pick up the ") || f.contains(" picks up the ")
            })))
        }
    } else if q.starts_with("which object did ") {
        f64::from(u8::from(any(&|f| {
            f.contains(" gives ") || f.contains(" give ")
        })))
    } else if q.starts_with("what did ") && q.contains(" pick up after entering the ") {
        0.5 * f64::from(u8::from(any(&|f| by_face(f) && f.contains(" enters the "))))
            + 0.5 * f64::from(u8::from(any(&|f| by_face(f) && f.contains(" picks up "))))
    } else if q.starts_with("what did ") && q.contains(" do with ") {
        f64::from(u8::from(any(&done_by_face)))
    } else if q.starts_with("where did i leave ") {
        if any(&|f| f.starts_with("i put ")) {
            1.0
        } else {
            0.5 * f64::from(u8::from(any(&|f| f.contains(" is on the "))))
        }
    } else if q.starts_with("where did ") && q.contains(" put ") {
        f64::from(u8::from(any(&|f| by_face(f) && f.contains(" puts "))))
    } else if q.starts_with("in what order did ") {
        // What people did, not where they stay: only doings can be put in order.
        let by_one_face = claims
            .iter()
            .zip(&facts)
            .filter(|(claim, _)| matches!(claim, Claim::Fact(_)))
            .filter_map(|(_, f)| {
                f.split_once(' ')
                    .filter(|(who, _)| who.starts_with("<face_"))
            })
            .fold(
                std::collections::BTreeMap::<&str, usize>::new(),
                |mut m, (who, _)| {
                    *m.entry(who).or_default() += 1;
                    m
                },
            );
        match by_one_face.values().max() {
            Some(n) if *n >= 2 => 1.0,
            Some(_) => 0.5,
            None => 0.0,
        }
    } else if q.starts_with("who was holding ") {
        0.5 * f64::from(u8::from(any(&|f| {
            by_face(f) && f.contains(" picks up ")
                || f.contains(" gives ")
                || f.contains(" is held by ")
        }))) + 0.5 * f64::from(u8::from(any(&|f| f.starts_with("i walk to "))))
    } else if q.starts_with("which rooms did i go through ") {
        f64::from(u8::from(any(&|f| {
            f.starts_with("i am in the ") || f.starts_with("i walk to the ")
        })))
    } else if let Some(verb) = q.strip_prefix("what did ").and_then(|rest| {
        let head = rest.split_once(" around ")?.0;
        let verb = head.split_once(' ')?.1;
        OBJECT_OF_ACTION.iter().find(|v| v.first_person() == verb)
    }) {
        let said = format!(" {} ", verb.name());
        f64::from(u8::from(any(&|f| by_face(f) && f.contains(&said))))
    } else if q.starts_with("who used ") {
        f64::from(u8::from(any(&|f| by_face(f) && f.contains(" uses "))))
    } else {
        let text = description.to_lowercase();
        let words: Vec<&str> = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 4)
            .collect();
        if words.is_empty() {
            0.0
        } else {
            words.iter().filter(|w| text.contains(**w)).count() as f64 / words.len() as f64
        }
    }
}

/// Memory as TaskMem renders it for an LLM answerer: "HH:MM:SS-HH:MM:SS" then the description,
/// one block per entry.
#[must_use]
pub fn memory_blocks(memory: &[&MemoryEntry]) -> String {
    memory
        .iter()
        .map(|e| {
            format!(
                "{}-{}\n{}",
                format_clock_ms(e.start_ms),
                format_clock_ms(e.end_ms),
                e.text.trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The letter in an LLM's reply to a multiple-choice question, by lmms-eval's rule for
/// Video-MME (`extract_characters_regex`), with E added for "insufficient information":
/// the answer prefixes it knows ("The best answer is", "The correct option is", ...) are
/// removed, a reply of more than ten words with no capital A-E in it is unparsable, and
/// otherwise the first capital A-E in the reply is the answer (so "(B) the red cup" is B). An unparsable reply returns `None` and counts
/// as wrong: it stays in the denominator. (The official Video-MME script instead drops such
/// replies from the denominator, which flatters a model that often fails to answer; lmms-eval
/// and this app do not.)
#[must_use]
pub fn extract_letter(reply: &str) -> Option<char> {
    const PREFIXES: [&str; 8] = [
        "The best answer is",
        "The correct answer is",
        "The answer is",
        "The answer",
        "The best option is",
        "The correct option is",
        "Best answer:",
        "Best option:",
    ];
    let mut s = reply.trim().to_owned();
    for prefix in PREFIXES {
        s = s.replace(prefix, "");
    }
    let is_letter = |c: char| ('A'..='E').contains(&c);
    if s.split_whitespace().count() > 10 && !s.chars().any(is_letter) {
        return None;
    }
    s.chars().find(|&c| is_letter(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, start_ms: i64, text: &str) -> MemoryEntry {
        MemoryEntry {
            budget_tokens: None,
            id,
            stream: "s".into(),
            lane: "builtin".into(),
            start_ms,
            end_ms: start_ms + 10_000,
            text: text.into(),
            available_ms: start_ms + 10_000,
            policy: None,
            adapter: None,
            raw_response: None,
            score: None,
            highlights: Vec::new(),
        }
    }

    #[test]
    fn helpfulness_counts_each_fact_once_and_only_doings_for_an_order() {
        let order = Question {
            id: "q".into(),
            text: "In what order did <face_2> do these things around 00:00:55?".into(),
            options: Vec::new(),
            ask_ms: 60_000,
        };
        let stays = "I am in the garden. <face_4> stay in the garden.";
        let stays_twice =
            "I am in the garden. <face_4> stay in the garden. <face_4> stay in the garden.";
        let one_doing = "I am in the garden. <face_4> enters the garden.";
        let two_doings = "<face_4> enters the garden. <face_4> picks up the yellow bag from \
                          the garden floor.";
        let the_same_doing_twice = "<face_4> enters the garden. <face_4> enters the garden.";
        let h = |d: &str| helpfulness(d, &order);
        assert!(
            h(stays).abs() < 1e-9,
            "who stays where puts nothing in order"
        );
        assert!(h(stays_twice).abs() < 1e-9, "nor does saying it again");
        assert!((h(one_doing) - 0.5).abs() < 1e-9);
        assert!((h(two_doings) - 1.0).abs() < 1e-9);
        assert!(
            (h(the_same_doing_twice) - 0.5).abs() < 1e-9,
            "a repeated doing is one doing"
        );
    }

    #[test]
    fn helpfulness_takes_no_garbled_sentence_for_a_fact() {
        let leave = Question {
            id: "q".into(),
            text: "Where did I leave the purple remote?".into(),
            options: Vec::new(),
            ask_ms: 60_000,
        };
        // The sample the judge preferred on the demo's tasks before this rule.
        let garbled = "In the office office office, I pick up the office desk stay in the \
                       office. I put the office and I pick up the office desk.";
        assert!(helpfulness(garbled, &leave).abs() < 1e-9);
        let read = Question {
            id: "r".into(),
            text: "What did the sign in the garden read around 00:01:15?".into(),
            options: Vec::new(),
            ask_ms: 80_000,
        };
        assert!(helpfulness("The office reads \"CALL 1\".", &read).abs() < 1e-9);
        assert!((helpfulness("The sign reads \"SALE 12%\".", &read) - 1.0).abs() < 1e-9);
        assert!(
            (helpfulness("I put the brown cup on the office desk.", &leave) - 1.0).abs() < 1e-9,
            "a well-formed put is what the question needs"
        );
    }

    fn ask(text: &str, options: &[&str], memory: &[MemoryEntry]) -> Reply {
        let q = Question {
            id: "q".into(),
            text: text.into(),
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            ask_ms: 1_000_000,
        };
        let refs: Vec<&MemoryEntry> = memory.iter().collect();
        BuiltinAnswerer.answer(&q, &refs).expect("answers")
    }

    #[test]
    fn an_empty_memory_abstains_with_e_or_insufficient_information() {
        let r = ask(
            "How many apples were on the kitchen table at 00:00:20?",
            &["2", "3", "4", "5"],
            &[],
        );
        assert_eq!((r.answer.as_str(), r.abstained), ("E", true));
        let r = ask(
            "What did <face_3> pick up after entering the kitchen around 00:00:07?",
            &[],
            &[],
        );
        assert_eq!((r.answer.as_str(), r.abstained), (ABSTAIN_TEXT, true));
    }

    #[test]
    fn each_question_form_is_answered_from_the_fact_that_states_it() {
        let memory = vec![
            entry(
                1,
                0,
                "In the kitchen, <face_3> enters the kitchen carrying a red apple and <face_3> picks up the blue hat from the kitchen sink. There are 3 apples on the kitchen table.",
            ),
            entry(
                2,
                10_000,
                "In the kitchen, <face_3> eats a red apple. The note on the fridge in the kitchen reads \"CALL 935\". <face_2> picks up the white key from the kitchen floor.",
            ),
            entry(
                3,
                20_000,
                "I put the white plant on the kitchen table. <face_2> uses the white key. I walk to the garden from the kitchen.",
            ),
            entry(
                4,
                30_000,
                "In the garden, <face_2> gives the yellow bag to <face_1>. <face_1> puts the yellow bag on the garden table.",
            ),
        ];
        let cases: [(&str, &[&str], &str); 10] = [
            (
                "How many apples were on the kitchen table at 00:00:10?",
                &["2", "8", "3", "1"],
                "C",
            ),
            (
                "What did <face_3> do with a red apple around 00:00:12?",
                &["Used it.", "Opened it.", "Ate it.", "Drank from it."],
                "C",
            ),
            (
                "What color was the key that <face_2> picked up around 00:00:15?",
                &["Green", "White", "Blue", "Red"],
                "B",
            ),
            (
                "What did the note on the fridge in the kitchen read around 00:00:15?",
                &["\"BUS 58\"", "\"PIN 7002\"", "\"CALL 935\"", "\"TEMP 66C\""],
                "C",
            ),
            (
                "Where did I leave the white plant?",
                &[
                    "On the garden table.",
                    "On the office shelf.",
                    "On the kitchen table.",
                    "On the office chair.",
                ],
                "C",
            ),
            (
                "Who used the white key first?",
                &["<face_1>", "<face_2>", "<face_3>", "<face_4>"],
                "B",
            ),
            (
                "Which object did <face_2> give to <face_1> around 00:00:35?",
                &["A white key", "A yellow bag", "A red cup", "A blue hat"],
                "B",
            ),
            (
                "Where did <face_1> put the yellow bag around 00:00:38?",
                &[
                    "On the garden table.",
                    "On the office shelf.",
                    "On the kitchen table.",
                    "On the garden floor.",
                ],
                "A",
            ),
            (
                "Who was holding the white key when I left the kitchen?",
                &["<face_4>", "<face_2>", "<face_3>", "<face_1>"],
                "B",
            ),
            (
                "Which rooms did I go through between 00:00:00 and 00:00:40, in order?",
                &[
                    "Garden, then kitchen.",
                    "Kitchen, then garden.",
                    "Kitchen only.",
                    "Office, then garden.",
                ],
                "B",
            ),
        ];
        for (text, options, expected) in cases {
            let r = ask(text, options, &memory);
            assert_eq!(r.answer, expected, "{text}");
            assert!(!r.abstained && !r.used.is_empty(), "{text}");
        }
        let open = ask(
            "What did <face_3> pick up after entering the kitchen around 00:00:07?",
            &[],
            &memory,
        );
        assert!(
            open_answer_matches(&open.answer, "The blue hat."),
            "{open:?}"
        );
    }

    #[test]
    fn a_fact_in_another_clip_or_two_matching_options_is_no_answer() {
        let memory = vec![entry(1, 0, "There are 3 apples on the kitchen table.")];
        // The count is of the clip ending at 00:00:10, not of a later one.
        let r = ask(
            "How many apples were on the kitchen table at 00:00:30?",
            &["2", "3", "4", "5"],
            &memory,
        );
        assert!(r.abstained);
        let order = vec![entry(
            1,
            0,
            "<face_1> opens the red box. <face_1> uses the red box.",
        )];
        let r = ask(
            "In what order did <face_1> do these things around 00:00:02?",
            &[
                "Uses the red box first, then opens the red box.",
                "Opens the red box first, then uses the red box.",
                "Opens the red box only.",
                "Uses the red box only.",
            ],
            &order,
        );
        assert_eq!(r.answer, "B");
    }

    #[test]
    fn an_absurd_time_in_a_question_is_no_answer_not_a_panic() {
        let memory = vec![entry(1, 0, "There are 3 apples on the kitchen table.")];
        let r = ask(
            "How many apples were on the kitchen table at 99999999999999:00:00?",
            &["2", "3", "4", "5"],
            &memory,
        );
        assert!(r.abstained);
        let r = ask(
            "In what order did <face_1> do these things around 9223372036854775:00:00?",
            &["A first, then B.", "B first, then A."],
            &memory,
        );
        assert!(r.abstained);
    }

    #[test]
    fn letters_are_read_from_replies_as_lmms_eval_does() {
        assert_eq!(extract_letter("The best answer is C."), Some('C'));
        assert_eq!(extract_letter("(B) the red cup"), Some('B'));
        assert_eq!(extract_letter("E"), Some('E'));
        assert_eq!(
            extract_letter("I think it is not possible to know from what I remember here."),
            None
        );
        assert_eq!(extract_letter("hmm"), None);
        assert_eq!(
            memory_blocks(&[&entry(1, 10_000, "I eat a red apple.")]),
            "00:00:10-00:00:20\nI eat a red apple."
        );
    }
}
