//! Whether a sentence is one the world could say: the controlled English of `truth` (its fact
//! and event sentences), with real rooms, places of that room, colors, kinds and faces. The
//! Phase Two judge counts only such sentences, so that a garbled sample ("I put the office.")
//! is not taken for the fact a question needs.
//!
//! Also the parser that cuts a description into the claims it states ([`statements`]): the
//! language is the world's, so both the rewards of training and the answerers of evaluation
//! read descriptions through it.

use std::collections::BTreeSet;

use super::model::{Color, Kind, Room, Verb};
use super::truth::plural;

/// Strips `prefix`.
fn lit<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)
}

/// The longest of `names` that `s` starts with, and what follows it.
fn one_of<'a, T: Copy>(
    s: &'a str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Option<(T, &'a str)> {
    all.iter()
        .filter_map(|&v| s.strip_prefix(name(v)).map(|rest| (v, rest)))
        .max_by_key(|(_, rest)| std::cmp::Reverse(rest.len()))
}

/// `<face_N>`.
fn face(s: &str) -> Option<&str> {
    let rest = lit(s, "<face_")?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    lit(&rest[digits..], ">")
}

/// "the kitchen": a room.
fn room(s: &str) -> Option<(Room, &str)> {
    one_of(lit(s, "the ")?, Room::ALL, Room::name)
}

/// "the kitchen table": a place of that room.
fn place(s: &str) -> Option<&str> {
    let (room, rest) = room(s)?;
    let (_, rest) = one_of(lit(rest, " ")?, room.places(), super::model::Place::name)?;
    Some(rest)
}

/// "red key" after an article, and its color.
fn colored_kind(s: &str) -> Option<(Color, &str)> {
    let (color, rest) = one_of(s, Color::ALL, Color::name)?;
    let (_, rest) = one_of(lit(rest, " ")?, Kind::ALL, Kind::name)?;
    Some((color, rest))
}

/// "the red key".
fn the_object(s: &str) -> Option<&str> {
    colored_kind(lit(s, "the ")?).map(|(_, rest)| rest)
}

/// "a red key", "an orange hat": the article the color takes.
fn an_object(s: &str) -> Option<&str> {
    let (article, rest) = s.split_once(' ')?;
    colored_kind(rest)
        .filter(|(color, _)| color.article() == article)
        .map(|(_, rest)| rest)
}

/// "the note on the fridge in the kitchen": a room's text surface, in that room.
fn surface_in_room(s: &str) -> Option<&str> {
    Room::ALL.iter().find_map(|&room| {
        lit(s, room.text_surface())
            .and_then(|r| lit(r, " in "))
            .and_then(room_named(room))
    })
}

/// Whether a sign's words as the policy may say them, without the room ("The sign reads
/// "SALE 12%"."), name a real text surface and some text.
#[must_use]
pub fn is_world_reading(surface: &str, text: &str) -> bool {
    Room::ALL.iter().any(|r| r.text_surface() == surface) && !text.trim().is_empty()
}

/// A quoted text, as a sign or a note shows it.
fn quoted(s: &str) -> Option<&str> {
    let (text, rest) = lit(s, "\"")?.split_once('"')?;
    (!text.trim().is_empty()).then_some(rest)
}

/// The sentence's verb in the form its subject takes, and what follows it.
fn verb(s: &str, me: bool) -> Option<(Verb, &str)> {
    let form = |v: Verb| if me { v.first_person() } else { v.name() };
    // "puts down" is said "puts ... on".
    let put = if me { "put" } else { "puts" };
    if let Some(rest) = lit(s, put).filter(|r| r.starts_with(' ')) {
        return Some((Verb::PutsDown, rest));
    }
    one_of(s, Verb::ALL, form)
}

fn end(s: &str) -> bool {
    s.is_empty()
}

/// What follows an event sentence's verb.
fn event_rest(verb: Verb, s: &str) -> bool {
    let Some(s) = lit(s, " ") else {
        return false;
    };
    match verb {
        Verb::PicksUp => the_object(s)
            .is_some_and(|r| end(r) || lit(r, " from ").and_then(place).is_some_and(end)),
        Verb::PutsDown => the_object(s)
            .and_then(|r| lit(r, " on "))
            .and_then(place)
            .is_some_and(end),
        Verb::Gives => the_object(s)
            .and_then(|r| lit(r, " to "))
            .and_then(|r| lit(r, "me").or_else(|| face(r)))
            .is_some_and(end),
        Verb::Eats => an_object(s).is_some_and(end),
        Verb::Opens | Verb::Closes | Verb::Drinks | Verb::Uses => the_object(s).is_some_and(end),
        Verb::Enters => room(s).is_some_and(|(_, r)| {
            end(r) || lit(r, " carrying ").and_then(an_object).is_some_and(end)
        }),
        Verb::Leaves => room(s).is_some_and(|(_, r)| end(r)),
        Verb::WalksTo => room(s).is_some_and(|(_, r)| {
            end(r) || lit(r, " from ").and_then(room).is_some_and(|(_, r)| end(r))
        }),
        Verb::Writes => quoted(s)
            .and_then(|r| lit(r, " on the "))
            .and_then(surface_in_room)
            .is_some_and(end),
    }
}

/// "the kitchen" for exactly `room`.
fn room_named(room: Room) -> impl Fn(&str) -> Option<&str> {
    move |s| lit(lit(s, "the ")?, room.name())
}

/// "There are 3 apples on the kitchen table", "There is 1 apple on ...".
fn count(s: &str) -> bool {
    let Some(r) = lit(s, "There is ").or_else(|| lit(s, "There are ")) else {
        return false;
    };
    let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Ok(n) = r[..digits].parse::<usize>() else {
        return false;
    };
    let be = if n == 1 { "There is " } else { "There are " };
    if !s.starts_with(be) || n == 0 {
        return false;
    }
    let Some(rest) = lit(&r[digits..], " ") else {
        return false;
    };
    Kind::ALL.iter().any(|&k| {
        lit(rest, &plural(k, n))
            .and_then(|r| lit(r, " on "))
            .and_then(place)
            .is_some_and(end)
    })
}

/// Whether `sentence` (with or without its final period) is one of the world's fact or
/// event sentences.
#[must_use]
pub fn is_world_sentence(sentence: &str) -> bool {
    let s = sentence.trim().trim_end_matches('.');
    if let Some(r) = lit(s, "I am in ") {
        return room(r).is_some_and(|(_, r)| end(r));
    }
    if count(s) {
        return true;
    }
    if let Some(r) = lit(s, "The ") {
        // An object where it is, or a text where it is shown.
        if let Some((_, r)) = colored_kind(r) {
            return lit(r, " is on ").and_then(place).is_some_and(end)
                || lit(r, " is in my hands").is_some_and(end)
                || lit(r, " is held by ").and_then(face).is_some_and(end);
        }
        return surface_in_room(r)
            .and_then(|r| lit(r, " reads "))
            .and_then(quoted)
            .is_some_and(end);
    }
    let (me, rest) = match lit(s, "I ") {
        Some(r) => (true, r),
        None => match face(s).and_then(|r| lit(r, " ")) {
            Some(r) => (false, r),
            None => return false,
        },
    };
    if !me && let Some(r) = lit(rest, "wears a ") {
        return one_of(r, Color::ALL, Color::name)
            .and_then(|(_, r)| lit(r, " outfit"))
            .is_some_and(end);
    }
    verb(rest, me).is_some_and(|(v, r)| event_rest(v, r))
}

// The parser: a description cut into the claims it states.

/// A description cut into statements, each as the canonical fact sentence it claims (so that
/// "In the kitchen, I pick up the red cup from the kitchen table and I eat a red apple." states
/// "I am in the kitchen.", "I pick up the red cup from the kitchen table." and "I eat a red
/// apple.").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statements {
    pub claims: Vec<Claim>,
    /// Sentences that are not in the world's language at all.
    pub malformed: usize,
}

/// One claim of a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A fact sentence as the world writes it.
    Fact(String),
    /// "The <surface> reads "<text>"" without the room: true if any room seen shows it.
    Reads { surface: String, text: String },
    /// `<face_1> and <face_2> stay in the living room`: each face was seen, in that room.
    Stay { faces: Vec<String>, room: String },
    /// "I look around the office": the room was seen.
    LookAround { room: String },
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn is_room_name(name: &str) -> bool {
    Room::ALL.iter().any(|r| r.name() == name)
}

/// Cuts a description into claims.
#[must_use]
pub fn statements(description: &str) -> Statements {
    let mut claims = Vec::new();
    let mut malformed = 0;
    let text = description.trim();
    // Sentences end with '.', but a '.' inside quotes is part of a text.
    let mut sentences = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == '.' && !quoted {
            sentences.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if !current.trim().is_empty() {
        // No final period: not a sentence of the world.
        malformed += 1;
    }
    for sentence in sentences {
        let sentence = sentence.trim();
        if sentence.is_empty() {
            continue;
        }
        let mut body = sentence;
        if let Some(rest) = sentence.strip_prefix("In the ")
            && let Some((room, clauses)) = rest.split_once(", ")
        {
            if is_room_name(room) {
                claims.push(Claim::Fact(format!("I am in the {room}.")));
                body = clauses;
            } else {
                malformed += 1;
                continue;
            }
        }
        if let Some((who, room)) = body.split_once(" stay in the ") {
            let faces: Vec<String> = who.split(" and ").map(str::to_owned).collect();
            if is_room_name(room) && faces.iter().all(|f| f.starts_with("<face_")) {
                claims.push(Claim::Stay {
                    faces,
                    room: room.to_owned(),
                });
            } else {
                malformed += 1;
            }
            continue;
        }
        if let Some(room) = body.strip_prefix("I look around the ") {
            if is_room_name(room) {
                claims.push(Claim::LookAround {
                    room: room.to_owned(),
                });
            } else {
                malformed += 1;
            }
            continue;
        }
        // Clauses joined by " and " (no single fact sentence contains " and ").
        for clause in body.split(" and ") {
            let clause = capitalize(clause.trim());
            if let Some(rest) = clause.strip_prefix("The ")
                && let Some((surface, text)) = rest.split_once(" reads \"")
                && !surface.contains(" in the ")
            {
                claims.push(Claim::Reads {
                    surface: surface.to_owned(),
                    text: text.trim_end_matches('"').to_owned(),
                });
            } else {
                claims.push(Claim::Fact(format!("{clause}.")));
            }
        }
    }
    Statements { claims, malformed }
}

/// The kinds of claims, for a report of where a policy is wrong.
pub const CLAIM_KINDS: [&str; 7] = [
    "room", "outfit", "object", "text", "count", "event", "people",
];

impl Claim {
    /// Which of [`CLAIM_KINDS`] this claim is.
    #[must_use]
    pub fn kind(&self) -> usize {
        match self {
            Self::Fact(f) if f.starts_with("I am in the ") => 0,
            Self::LookAround { .. } => 0,
            Self::Fact(f) if f.contains(" wears a ") => 1,
            Self::Fact(f)
                if f.contains(" is on ")
                    || f.contains(" is in my hands")
                    || f.contains(" is held by ") =>
            {
                2
            }
            Self::Reads { .. } => 3,
            Self::Fact(f) if f.starts_with("There ") || f.contains(" reads \"") => {
                if f.starts_with("There ") { 4 } else { 3 }
            }
            Self::Fact(_) => 5,
            Self::Stay { .. } => 6,
        }
    }
}

impl Claim {
    /// The fact a claim states, written one way, so that the same fact said twice in other
    /// words ("I look around the office." beside "I am in the office.", or one face named
    /// twice) counts once towards richness.
    #[must_use]
    pub fn canonical(&self) -> String {
        match self {
            Self::Fact(f) => f.clone(),
            Self::LookAround { room } => format!("I am in the {room}."),
            Self::Reads { surface, text } => format!("The {surface} reads \"{text}\"."),
            Self::Stay { faces, room } => {
                let mut faces = faces.clone();
                faces.sort();
                faces.dedup();
                format!("{} stay in the {room}.", faces.join(" and "))
            }
        }
    }
}

/// The claims in order, each fact once (by [`Claim::canonical`]).
#[must_use]
pub fn distinct(claims: &[Claim]) -> Vec<&Claim> {
    let mut seen = BTreeSet::new();
    claims
        .iter()
        .filter(|c| seen.insert(c.canonical()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_of_the_shipped_test_streams_is_a_world_sentence_and_garble_is_not() {
        let datasets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
        let mut seen = 0;
        for suite in ["world-mme", "world-life", "world-tempo"] {
            let test = datasets.join(suite).join("test");
            for stream in std::fs::read_dir(test).unwrap() {
                let truth =
                    std::fs::read_to_string(stream.unwrap().path().join("truth.jsonl")).unwrap();
                for line in truth.lines() {
                    let clip: super::super::truth::ClipTruth = serde_json::from_str(line).unwrap();
                    for fact in &clip.facts {
                        assert!(is_world_sentence(fact), "{fact}");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 2_000, "{seen}");
        for garble in [
            "I put the office.",
            "I pick up the office desk.",
            "I put the office and I pick up the office desk.",
            "<face_2> picks up the white key from the garden sofa.",
            "<face_2> picks up the key.",
            "I am in the office office office.",
            "There are 1 apples on the kitchen table.",
            "<face_4> wears a brown.",
            "The sign in the kitchen reads \"SALE 12%\".",
            "The note on the fridge in the kitchen reads \"\".",
            "I picks up the red cup.",
            "<face_1> pick up the red cup.",
            "I eat a orange apple.",
            "The red cup is held by I.",
            "There is 2 apples on the kitchen table.",
            "There are 0 apples on the kitchen table.",
        ] {
            assert!(!is_world_sentence(garble), "{garble}");
        }
        for fine in [
            "<face_2> picks up the white key.",
            "I eat an orange apple.",
            "<face_3> gives the yellow plant to me.",
            "I walk to the garden from the kitchen.",
            "There are 2 pairs of glasses on the office desk.",
            "The purple remote is held by <face_2>.",
            "There is 1 apple on the garden bench.",
            "I write \"CALL 935\" on the note on the fridge in the kitchen.",
        ] {
            assert!(is_world_sentence(fine), "{fine}");
        }
        assert!(is_world_reading("sign", "SALE 12%"));
        assert!(!is_world_reading("office", "CALL 1") && !is_world_reading("sign", " "));
    }
}
