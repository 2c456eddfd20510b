//! Ground truth per 10 s clip: what was seen (rooms, people, objects, texts, counts, events in
//! order) as structured facts and as sentences of a small controlled English, plus a one- or
//! two-sentence reference description — far fewer words than the facts, so that choosing what
//! to memorize is a real choice.
//!
//! Truth is what the clip's sampled frames show ([`sample_times_ms`]): each is laid out as a
//! [`Scene`], the very decisions the renderer paints, and a fact belongs to the clip only if a
//! sampled scene draws it. An event belongs to the clip whose samples first show its cue; one
//! no sample shows is not a fact anywhere. Each fact records the sample times that show it.

use serde::{Deserialize, Serialize};

use super::model::{Actor, Color, Kind, Place, Room, Verb};
use super::render::Scene;
use super::sim::{Event, Location, Simulation, WorldState};

/// Length of a clip, the unit of memorization.
pub const CLIP_MS: i64 = 10_000;
/// Frames a policy samples from a clip, evenly: the middle of each tenth.
pub const SAMPLES_PER_CLIP: usize = 10;

/// The times of a clip's sampled frames, on the video's frame grid: 0.5 s, 1.5 s, ... 9.5 s into
/// a full clip.
#[must_use]
pub fn sample_times_ms(start_ms: i64, end_ms: i64) -> Vec<i64> {
    let span = (end_ms - start_ms).max(1);
    let n = SAMPLES_PER_CLIP as i64;
    (0..n)
        .map(|i| {
            let t = start_ms + (2 * i + 1) * span / (2 * n);
            t - t.rem_euclid(super::FRAME_MS)
        })
        .collect()
}

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
    /// The sampled frame the count is read from (the clip's last).
    #[serde(default)]
    pub at_ms: i64,
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
    /// Each event's index in the stream's event list.
    #[serde(default)]
    pub event_indexes: Vec<usize>,
    /// Every fact above as a sentence.
    pub facts: Vec<String>,
    /// For each fact, the times of the sampled frames that show it.
    #[serde(default)]
    pub fact_ms: Vec<Vec<i64>>,
    /// The times of the clip's sampled frames.
    #[serde(default)]
    pub samples_ms: Vec<i64>,
    /// A one- or two-sentence description of the clip.
    pub reference: String,
}

impl ClipTruth {
    /// Each event of the clip (its index in the stream's events) with the first sampled frame
    /// that shows its cue. Events are the last facts, in `event_indexes` order.
    pub fn event_shown_ms(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        let first_event_fact = self.facts.len().saturating_sub(self.event_indexes.len());
        self.event_indexes.iter().enumerate().map(move |(k, i)| {
            let shown_ms = self
                .fact_ms
                .get(first_event_fact + k)
                .and_then(|times| times.first().copied())
                .unwrap_or(self.start_ms);
            (*i, shown_ms)
        })
    }
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

/// Each event's sentence, said with the state just before it.
#[must_use]
pub fn event_sentences(sim: &Simulation) -> Vec<String> {
    let mut state = sim.initial.clone();
    sim.events
        .iter()
        .map(|e| {
            let sentence = event_sentence(&state, e);
            super::sim::apply(&mut state, e);
            sentence
        })
        .collect()
}

/// Ground truth for every clip of a simulation.
#[must_use]
pub fn clips(sim: &Simulation) -> Vec<ClipTruth> {
    seen_clips(sim)
        .into_iter()
        .map(|(truth, _)| truth)
        .collect()
}

/// What a fact is drawn as, for the visibility proof: the instances that show it.
pub type FactInstances = Vec<Vec<super::render::Instance>>;

/// Ground truth for every clip, with the instances that show each fact.
#[must_use]
pub fn seen_clips(sim: &Simulation) -> Vec<(ClipTruth, FactInstances)> {
    let sentences = event_sentences(sim);
    let clip_count = (sim.params.duration_ms + CLIP_MS - 1) / CLIP_MS;
    let mut replay = sim.replay();
    let mut shown = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for clip in 0..clip_count {
        let start_ms = clip * CLIP_MS;
        let end_ms = ((clip + 1) * CLIP_MS).min(sim.params.duration_ms);
        let mut seen = Seen::default();
        for t_ms in sample_times_ms(start_ms, end_ms) {
            let state = replay.advance_to(t_ms).clone();
            let scene = Scene::of(&state, &replay.cues(t_ms), t_ms);
            seen.sample(&scene, t_ms, &mut shown);
        }
        out.push(seen.finish(sim, &sentences, clip as usize, start_ms, end_ms));
    }
    out
}

/// One clip's observations, sample by sample.
#[derive(Default)]
struct Seen {
    samples_ms: Vec<i64>,
    rooms: Vec<(Room, Vec<i64>)>,
    people: Vec<(PersonSeen, Vec<i64>)>,
    objects: Vec<(ObjectSeen, Vec<i64>)>,
    texts: Vec<(TextSeen, Vec<i64>)>,
    counts: Vec<(CountSeen, Vec<usize>)>,
    events: Vec<(usize, Vec<i64>)>,
    last_scene: Option<Scene>,
}

fn note<T: PartialEq>(list: &mut Vec<(T, Vec<i64>)>, item: T, t_ms: i64) {
    match list.iter_mut().find(|(x, _)| *x == item) {
        Some((_, times)) => times.push(t_ms),
        None => list.push((item, vec![t_ms])),
    }
}

impl Seen {
    fn sample(&mut self, scene: &Scene, t_ms: i64, shown: &mut std::collections::BTreeSet<usize>) {
        self.samples_ms.push(t_ms);
        if self.rooms.last().is_none_or(|(r, _)| *r != scene.room) {
            self.rooms.push((scene.room, Vec::new()));
        }
        if let Some((_, times)) = self.rooms.last_mut() {
            times.push(t_ms);
        }
        for p in &scene.people {
            let person = PersonSeen {
                face: p.face,
                outfit: p.outfit,
            };
            note(&mut self.people, person, t_ms);
        }
        for o in scene
            .objects
            .iter()
            .filter(|o| o.object.kind != Kind::Apple)
        {
            // An object is listed where it is first seen; the events say where it goes.
            match self.objects.iter_mut().find(|(x, _)| x.id == o.object.id) {
                Some((first, times)) if first.location == o.at => times.push(t_ms),
                Some(_) => {}
                None => self.objects.push((
                    ObjectSeen {
                        id: o.object.id,
                        kind: o.object.kind,
                        color: o.object.color,
                        location: o.at,
                    },
                    vec![t_ms],
                )),
            }
        }
        let text = TextSeen {
            room: scene.room,
            surface: scene.room.text_surface().to_owned(),
            text: scene.sign_text.clone(),
        };
        note(&mut self.texts, text, t_ms);
        for b in &scene.bubbles {
            // An event belongs to the first clip whose samples show its cue.
            let first_showing = shown.insert(b.index);
            match self.events.iter_mut().find(|(i, _)| *i == b.index) {
                Some((_, times)) => times.push(t_ms),
                None if first_showing => self.events.push((b.index, vec![t_ms])),
                None => {}
            }
        }
        self.last_scene = Some(scene.clone());
    }

    /// Counts read off the clip's last sample: apples on each place, and any kind with more
    /// than one on a place.
    fn counts(&self) -> Vec<(CountSeen, Vec<usize>)> {
        let (Some(scene), Some(&at_ms)) = (&self.last_scene, self.samples_ms.last()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &place in scene.room.places() {
            let at = Location::At {
                room: scene.room,
                place,
            };
            for &kind in Kind::ALL {
                let ids: Vec<usize> = scene
                    .objects
                    .iter()
                    .filter(|o| o.at == at && o.object.kind == kind)
                    .map(|o| o.object.id)
                    .collect();
                if ids.len() >= 2 || (kind == Kind::Apple && !ids.is_empty()) {
                    let count = CountSeen {
                        kind,
                        room: scene.room,
                        place,
                        count: ids.len(),
                        at_ms,
                    };
                    out.push((count, ids));
                }
            }
        }
        out
    }

    fn finish(
        mut self,
        sim: &Simulation,
        sentences: &[String],
        clip: usize,
        start_ms: i64,
        end_ms: i64,
    ) -> (ClipTruth, FactInstances) {
        use super::render::Instance;
        self.counts = self.counts();
        self.events.sort_by_key(|(i, _)| *i);
        let events: Vec<Event> = self
            .events
            .iter()
            .filter_map(|(i, _)| sim.events.get(*i).cloned())
            .collect();
        let event_sentences: Vec<String> = self
            .events
            .iter()
            .map(|(i, _)| sentences.get(*i).cloned().unwrap_or_default())
            .collect();
        let mut truth = ClipTruth {
            clip,
            start_ms,
            end_ms,
            rooms: self.rooms.iter().map(|(r, _)| *r).collect(),
            people: self.people.iter().map(|(p, _)| p.clone()).collect(),
            objects: self.objects.iter().map(|(o, _)| o.clone()).collect(),
            texts: self.texts.iter().map(|(t, _)| t.clone()).collect(),
            counts: self.counts.iter().map(|(c, _)| c.clone()).collect(),
            events,
            event_indexes: self.events.iter().map(|(i, _)| *i).collect(),
            facts: Vec::new(),
            fact_ms: Vec::new(),
            samples_ms: self.samples_ms.clone(),
            reference: String::new(),
        };
        truth.facts = facts(&truth, &event_sentences);
        // The same order as `facts`: room, people, objects, texts, counts, events.
        let mut times: Vec<Vec<i64>> = vec![
            self.rooms
                .first()
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
        ];
        let mut instances: FactInstances = vec![vec![Instance::RoomPlate]];
        for (p, t) in &self.people {
            times.push(t.clone());
            instances.push(vec![Instance::Person(p.face)]);
        }
        for (o, t) in &self.objects {
            times.push(t.clone());
            instances.push(vec![Instance::Object(o.id)]);
        }
        for (_, t) in &self.texts {
            times.push(t.clone());
            instances.push(vec![Instance::Sign]);
        }
        for (c, ids) in &self.counts {
            times.push(vec![c.at_ms]);
            instances.push(ids.iter().map(|id| Instance::Object(*id)).collect());
        }
        for (i, t) in &self.events {
            times.push(t.clone());
            instances.push(vec![Instance::Cue(*i)]);
        }
        truth.fact_ms = times;
        let sign = self
            .last_scene
            .as_ref()
            .map(|s| s.sign_text.clone())
            .unwrap_or_default();
        truth.reference = reference(&truth, &event_sentences, &sign);
        (truth, instances)
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

fn reference(truth: &ClipTruth, event_sentences: &[String], sign_text: &str) -> String {
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
        format!("The {} reads \"{sign_text}\"", room.text_surface())
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
