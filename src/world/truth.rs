//! Ground truth per 10 s clip: what was seen (rooms, people, objects, texts, counts, events in
//! order) as structured facts and as sentences of a small controlled English, plus a one- or
//! two-sentence reference description — far fewer words than the facts, so that choosing what
//! to memorize is a real choice.

use serde::{Deserialize, Serialize};

use super::model::{Actor, Color, Kind, Place, Room, Verb};
use super::sim::{Event, Location, Simulation, WorldState};

/// Length of a clip, the unit of memorization.
pub const CLIP_MS: i64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSeen {
    pub face: u8,
    pub outfit: Color,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSeen {
    pub id: usize,
    pub kind: Kind,
    pub color: Color,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSeen {
    pub room: Room,
    pub surface: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSeen {
    pub kind: Kind,
    pub room: Room,
    pub place: Place,
    pub count: usize,
}

/// One line of truth.jsonl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipTruth {
    pub clip: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Rooms seen, in order.
    pub rooms: Vec<Room>,
    pub people: Vec<PersonSeen>,
    /// Objects as seen at the start of the clip (or when they come into view).
    pub objects: Vec<ObjectSeen>,
    pub texts: Vec<TextSeen>,
    /// Counts at the end of the clip, for kinds with more than one of a kind in a place.
    pub counts: Vec<CountSeen>,
    pub events: Vec<Event>,
    /// Every fact above as a sentence.
    pub facts: Vec<String>,
    /// A one- or two-sentence description of the clip.
    pub reference: String,
}

/// "the kitchen table": a place as the world's sentences name it.
pub(crate) fn place_phrase(room: Room, place: Place) -> String {
    format!("the {} {}", room.name(), place.name())
}

/// The sentence for an event, with the state just before it.
#[must_use]
pub fn event_sentence(before: &WorldState, e: &Event) -> String {
    let subject = e.actor.name();
    let verb = e.verb.for_actor(e.actor);
    let object = e.object.and_then(|id| before.objects.get(id));
    let the = object.map(super::sim::Object::the).unwrap_or_default();
    match e.verb {
        Verb::PicksUp => match e.place {
            Some(place) => format!(
                "{subject} {verb} {the} from {}.",
                place_phrase(e.room, place)
            ),
            None => format!("{subject} {verb} {the}."),
        },
        Verb::PutsDown => {
            let puts = if e.actor == Actor::Me { "put" } else { "puts" };
            let place = e.place.map(|p| place_phrase(e.room, p)).unwrap_or_default();
            format!("{subject} {puts} {the} on {place}.")
        }
        Verb::Gives => {
            let to = e.recipient.map(Actor::object_name).unwrap_or_default();
            format!("{subject} {verb} {the} to {to}.")
        }
        Verb::Eats => {
            let a = object.map(super::sim::Object::a).unwrap_or_default();
            format!("{subject} {verb} {a}.")
        }
        Verb::Opens | Verb::Closes | Verb::Drinks | Verb::Uses => {
            format!("{subject} {verb} {the}.")
        }
        Verb::Enters => match e.object.and_then(|id| before.objects.get(id)) {
            Some(o) => format!("{subject} {verb} the {} carrying {}.", e.room.name(), o.a()),
            None => format!("{subject} {verb} the {}.", e.room.name()),
        },
        Verb::Leaves => format!("{subject} {verb} the {}.", e.room.name()),
        Verb::WalksTo => match e.from_room {
            Some(from) => format!(
                "{subject} {verb} the {} from the {}.",
                e.room.name(),
                from.name()
            ),
            None => format!("{subject} {verb} the {}.", e.room.name()),
        },
        Verb::Writes => format!(
            "{subject} {verb} \"{}\" on the {} in the {}.",
            e.text.as_deref().unwrap_or_default(),
            e.room.text_surface(),
            e.room.name()
        ),
    }
}

fn lower_first(sentence: &str) -> String {
    let trimmed = sentence.trim_end_matches('.');
    if trimmed.starts_with("I ") || trimmed.starts_with('<') {
        trimmed.to_owned()
    } else {
        let mut chars = trimmed.chars();
        chars
            .next()
            .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
    }
}

/// Ground truth for every clip of a simulation.
#[must_use]
pub fn clips(sim: &Simulation) -> Vec<ClipTruth> {
    let clip_count = (sim.params.duration_ms + CLIP_MS - 1) / CLIP_MS;
    let mut replay = sim.replay();
    let mut next_event = 0usize;
    let mut out = Vec::new();
    for clip in 0..clip_count {
        let start_ms = clip * CLIP_MS;
        let end_ms = ((clip + 1) * CLIP_MS).min(sim.params.duration_ms);
        // The state as the clip opens.
        let mut state = replay.advance_to(start_ms - 1).clone();
        let mut truth = ClipTruth {
            clip: clip as usize,
            start_ms,
            end_ms,
            rooms: vec![state.my_room],
            people: Vec::new(),
            objects: Vec::new(),
            texts: Vec::new(),
            counts: Vec::new(),
            events: Vec::new(),
            facts: Vec::new(),
            reference: String::new(),
        };
        let mut event_sentences = Vec::new();
        observe(&state, &mut truth);
        while let Some(e) = sim.events.get(next_event) {
            if e.t_ms >= end_ms {
                break;
            }
            next_event += 1;
            if e.t_ms < start_ms {
                continue;
            }
            event_sentences.push(event_sentence(&state, e));
            super::sim::apply(&mut state, e);
            truth.events.push(e.clone());
            if e.verb == Verb::WalksTo {
                truth.rooms.push(e.room);
            }
            observe(&state, &mut truth);
        }
        count(&state, &mut truth);
        truth.facts = facts(&truth, &event_sentences);
        truth.reference = reference(&truth, &event_sentences, &state);
        out.push(truth);
    }
    out
}

/// Adds what is visible now and was not yet noted in this clip.
fn observe(state: &WorldState, truth: &mut ClipTruth) {
    for person in &state.people {
        if person.room == Some(state.my_room) && !truth.people.iter().any(|p| p.face == person.face)
        {
            truth.people.push(PersonSeen {
                face: person.face,
                outfit: person.outfit,
            });
        }
    }
    for object in state.visible_objects() {
        // Apples are counted, not listed one by one.
        if object.kind != Kind::Apple && !truth.objects.iter().any(|o| o.id == object.id) {
            truth.objects.push(ObjectSeen {
                id: object.id,
                kind: object.kind,
                color: object.color,
                location: object.location,
            });
        }
    }
    let text = state.text_of(state.my_room).to_owned();
    if !truth
        .texts
        .iter()
        .any(|t| t.room == state.my_room && t.text == text)
    {
        truth.texts.push(TextSeen {
            room: state.my_room,
            surface: state.my_room.text_surface().to_owned(),
            text,
        });
    }
}

fn count(state: &WorldState, truth: &mut ClipTruth) {
    let room = state.my_room;
    for &place in room.places() {
        for &kind in Kind::ALL {
            let n = state
                .objects
                .iter()
                .filter(|o| {
                    o.present && o.kind == kind && o.location == Location::At { room, place }
                })
                .count();
            if n >= 2 || (kind == Kind::Apple && n >= 1) {
                truth.counts.push(CountSeen {
                    kind,
                    room,
                    place,
                    count: n,
                });
            }
        }
    }
}

/// "1 apple", "3 apples", "2 pairs of glasses": a kind after a count.
pub(crate) fn plural(kind: Kind, n: usize) -> String {
    if n == 1 {
        kind.name().to_owned()
    } else if kind == Kind::Glasses {
        "pairs of glasses".to_owned()
    } else if kind == Kind::Box {
        "boxes".to_owned()
    } else {
        format!("{}s", kind.name())
    }
}

fn facts(truth: &ClipTruth, event_sentences: &[String]) -> Vec<String> {
    let mut facts = vec![format!("I am in the {}.", truth.rooms[0].name())];
    for p in &truth.people {
        facts.push(format!(
            "<face_{}> wears a {} outfit.",
            p.face,
            p.outfit.name()
        ));
    }
    for o in &truth.objects {
        let phrase = match o.location {
            Location::At { room, place } => format!("is on {}", place_phrase(room, place)),
            Location::Held(Actor::Me) => "is in my hands".to_owned(),
            Location::Held(actor) => format!("is held by {}", actor.name()),
        };
        facts.push(format!(
            "The {} {} {phrase}.",
            o.color.name(),
            o.kind.name()
        ));
    }
    for t in &truth.texts {
        facts.push(format!(
            "The {} in the {} reads \"{}\".",
            t.surface,
            t.room.name(),
            t.text
        ));
    }
    for c in &truth.counts {
        let be = if c.count == 1 { "is" } else { "are" };
        facts.push(format!(
            "There {be} {} {} on {}.",
            c.count,
            plural(c.kind, c.count),
            place_phrase(c.room, c.place)
        ));
    }
    facts.extend(event_sentences.iter().cloned());
    facts
}

fn reference(truth: &ClipTruth, event_sentences: &[String], end: &WorldState) -> String {
    let room = truth.rooms.last().copied().unwrap_or(Room::Kitchen);
    let clauses: Vec<String> = event_sentences
        .iter()
        .filter(|s| !s.contains(" walk to "))
        .map(|s| lower_first(s))
        .collect();
    let first = match clauses.as_slice() {
        [] => {
            let who: Vec<String> = truth
                .people
                .iter()
                .map(|p| format!("<face_{}>", p.face))
                .collect();
            if who.is_empty() {
                format!("I look around the {}", room.name())
            } else {
                format!("{} stay in the {}", who.join(" and "), room.name())
            }
        }
        [one] => format!("In the {}, {one}", room.name()),
        [a, b, ..] => format!("In the {}, {a} and {b}", room.name()),
    };
    let second = if clauses.len() > 2 {
        clauses[2].clone()
    } else {
        let text = end.text_of(room);
        format!("The {} reads \"{text}\"", room.text_surface())
    };
    format!("{first}. {}{}.", second[..1].to_uppercase(), &second[1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::sim::WorldParams;

    #[test]
    fn clips_hold_many_facts_and_a_short_reference() {
        let sim = Simulation::run(&WorldParams::new(11, 600_000));
        let clips = clips(&sim);
        assert_eq!(clips.len(), 60);
        let mean = clips.iter().map(|c| c.facts.len()).sum::<usize>() as f64 / clips.len() as f64;
        assert!(mean >= 6.0, "mean facts per clip {mean:.1}");
        for c in &clips {
            let sentences = c.reference.matches(". ").count() + 1;
            assert!(sentences <= 2, "{}", c.reference);
            assert!(c.reference.ends_with('.'), "{}", c.reference);
        }
        let events: usize = clips.iter().map(|c| c.events.len()).sum();
        assert_eq!(
            events,
            sim.events.len(),
            "every event lands in exactly one clip"
        );
    }

    #[test]
    fn event_sentences_read_as_controlled_english() {
        let sim = Simulation::run(&WorldParams::new(3, 120_000));
        let clips = clips(&sim);
        let all: Vec<&String> = clips.iter().flat_map(|c| &c.facts).collect();
        assert!(all.iter().any(|f| f.starts_with("I am in the kitchen.")));
        assert!(
            all.iter()
                .any(|f| f.contains(" picks up the ") || f.contains("I pick up the ")),
            "{all:?}"
        );
    }
}
