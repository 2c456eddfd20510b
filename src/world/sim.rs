//! The deterministic simulation: a camera wearer walks through rooms; people enter, leave and
//! handle objects; texts change; apples are eaten and brought. The result is an event list
//! that the renderer, the ground truth and the questions all replay.
//!
//! The simulation keeps the picture legible (world v3): each person in a room stands in one of
//! [`SLOTS`] fixed slots, a place holds at most [`CELLS_PER_PLACE`] cells of objects, and an
//! actor does nothing new while the cue of their last event ([`CUE_MS`]) is still shown, so
//! every event's cue is drawn whole, in the room where it happened, for at least one sampled
//! frame.

use serde::{Deserialize, Serialize};

use super::model::{Actor, Color, Kind, Place, Room, Verb};
use super::rng::Rng;

/// How long an event's cue (the object raised, a verb glyph in a bubble) stays in the picture.
/// Longer than the 1 s between the frames a clip samples, so one of them always shows it.
pub const CUE_MS: i64 = 1_200;
/// Fixed places where people stand, left to right.
pub const SLOTS: u8 = 4;
/// Object cells on one place; two apples share a cell.
pub const CELLS_PER_PLACE: usize = 4;
/// Apples in the world in all (present or not yet brought).
const APPLES: usize = 8;

/// Where an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    At { room: Room, place: Place },
    Held(Actor),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub id: usize,
    pub kind: Kind,
    pub color: Color,
    pub location: Location,
    pub open: bool,
    /// Eaten, or not yet brought into the world.
    pub present: bool,
}

impl Object {
    /// "the red key"
    #[must_use]
    pub fn the(&self) -> String {
        format!("the {} {}", self.color.name(), self.kind.name())
    }

    /// "a red key"
    #[must_use]
    pub fn a(&self) -> String {
        format!(
            "{} {} {}",
            self.color.article(),
            self.color.name(),
            self.kind.name()
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub face: u8,
    pub outfit: Color,
    /// `None` while away from every room the camera sees.
    pub room: Option<Room>,
    /// Where the person stands in their room (0 is leftmost); kept after leaving, so that the
    /// leaving cue is drawn where they stood.
    #[serde(default)]
    pub slot: u8,
    /// The room left and when, while it matters for the leaving cue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<(Room, i64)>,
}

/// Everything at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldState {
    pub my_room: Room,
    pub objects: Vec<Object>,
    pub people: Vec<Person>,
    /// The text on each room's surface, indexed like `Room::ALL`.
    pub texts: Vec<String>,
}

impl WorldState {
    #[must_use]
    pub fn text_of(&self, room: Room) -> &str {
        let i = Room::ALL.iter().position(|r| *r == room).unwrap_or(0);
        self.texts.get(i).map_or("", String::as_str)
    }

    /// Actors in the camera wearer's room (the wearer first).
    #[must_use]
    pub fn actors_here(&self) -> Vec<Actor> {
        let mut actors = vec![Actor::Me];
        actors.extend(
            self.people
                .iter()
                .filter(|p| p.room == Some(self.my_room))
                .map(|p| Actor::Face(p.face)),
        );
        actors
    }

    #[must_use]
    pub fn held_by(&self, actor: Actor) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.present && o.location == Location::Held(actor))
    }

    /// Objects the camera sees: on the room's places or in the hands of someone here.
    #[must_use]
    pub fn visible_objects(&self) -> Vec<&Object> {
        let here = self.actors_here();
        self.objects
            .iter()
            .filter(|o| o.present)
            .filter(|o| match o.location {
                Location::At { room, .. } => room == self.my_room,
                Location::Held(actor) => here.contains(&actor),
            })
            .collect()
    }

    #[must_use]
    pub fn person(&self, face: u8) -> Option<&Person> {
        self.people.iter().find(|p| p.face == face)
    }

    /// The objects on a place, in the order they are drawn: others by id, then apples.
    #[must_use]
    pub fn on_place(&self, room: Room, place: Place) -> Vec<&Object> {
        let mut here: Vec<&Object> = self
            .objects
            .iter()
            .filter(|o| o.present && o.location == Location::At { room, place })
            .collect();
        here.sort_by_key(|o| (o.kind == Kind::Apple, o.id));
        here
    }

    /// Cells a place's objects take: one per object, one per two apples.
    #[must_use]
    pub fn cells_used(&self, room: Room, place: Place) -> usize {
        let here = self.on_place(room, place);
        let apples = here.iter().filter(|o| o.kind == Kind::Apple).count();
        here.len() - apples + apples.div_ceil(2)
    }

    /// Whether `kind` can be put on a place without running out of cells.
    #[must_use]
    pub fn has_room_for(&self, room: Room, place: Place, kind: Kind) -> bool {
        let used = self.cells_used(room, place);
        if kind == Kind::Apple {
            let apples = self
                .on_place(room, place)
                .iter()
                .filter(|o| o.kind == Kind::Apple)
                .count();
            apples % 2 == 1 || used < CELLS_PER_PLACE
        } else {
            used < CELLS_PER_PLACE
        }
    }

    /// The lowest slot of `room` free at `t_ms`: nobody stands there and nobody is still
    /// being drawn leaving it.
    #[must_use]
    pub fn free_slot(&self, room: Room, t_ms: i64) -> Option<u8> {
        (0..SLOTS).find(|&slot| {
            !self.people.iter().any(|p| {
                p.slot == slot
                    && (p.room == Some(room)
                        || p.left
                            .is_some_and(|(r, at)| r == room && t_ms - at < CUE_MS))
            })
        })
    }
}

/// One thing that happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub t_ms: i64,
    pub actor: Actor,
    pub verb: Verb,
    pub room: Room,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Actor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// For `WalksTo`: where the wearer came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_room: Option<Room>,
}

/// Knobs of a stream; suites differ in these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldParams {
    pub seed: u64,
    pub duration_ms: i64,
    pub people: u8,
    pub objects: usize,
    /// Gap between events, min and max.
    pub event_gap_ms: (i64, i64),
    /// How long the wearer stays in a room, min and max.
    pub room_stay_ms: (i64, i64),
}

impl WorldParams {
    #[must_use]
    pub fn new(seed: u64, duration_ms: i64) -> Self {
        Self {
            seed,
            duration_ms,
            people: 4,
            objects: 18,
            event_gap_ms: (1_500, 3_500),
            room_stay_ms: (25_000, 70_000),
        }
    }
}

/// A simulated stream: its first state and everything that happens after.
#[derive(Clone, Debug)]
pub struct Simulation {
    pub params: WorldParams,
    pub initial: WorldState,
    pub events: Vec<Event>,
}

const TEXT_TEMPLATES: [&str; 10] = [
    "CODE {4}",
    "GATE {2}",
    "BUS {2}",
    "ROOM {3}",
    "PIN {4}",
    "MEET AT {1}",
    "TEMP {2}C",
    "SALE {2}%",
    "CALL {3}",
    "LEVEL {1}",
];

/// A sign's text, from one of the templates with its digits drawn.
pub fn random_text(rng: &mut Rng) -> String {
    let template = TEXT_TEMPLATES[rng.below(TEXT_TEMPLATES.len())];
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            let digits: u32 = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(1);
            chars.next();
            for i in 0..digits {
                // No leading zero: "0427" reads like a typo in a question.
                let lo = u64::from(i == 0);
                out.push(char::from(b'0' + (lo + rng.next_u64() % (10 - lo)) as u8));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Simulation {
    #[must_use]
    pub fn run(params: &WorldParams) -> Self {
        let mut rng = Rng::new(params.seed);
        let initial = initial_state(params, &mut rng.fork(1));
        let mut state = initial.clone();
        let mut events = Vec::new();
        let mut rng = rng.fork(2);
        let mut t_ms = 1_000;
        let mut next_walk_ms = t_ms + rng.range(params.room_stay_ms.0, params.room_stay_ms.1);
        let mut busy = Busy::default();
        loop {
            t_ms += rng.range(params.event_gap_ms.0, params.event_gap_ms.1);
            // Events stay clear of the end so that every cue is seen whole.
            if t_ms >= params.duration_ms - CUE_MS - 500 {
                break;
            }
            // I walk on only once every cue in this room has been shown.
            let event = if t_ms >= next_walk_ms && busy.all_clear(t_ms) {
                next_walk_ms = t_ms + rng.range(params.room_stay_ms.0, params.room_stay_ms.1);
                walk(&state, &mut rng, t_ms)
            } else {
                act(&state, &busy, &mut rng, t_ms)
            };
            if let Some(event) = event {
                busy.mark(&event);
                apply(&mut state, &event);
                events.push(event);
            }
        }
        Self {
            params: params.clone(),
            initial,
            events,
        }
    }

    /// A cursor that replays the events forward in time.
    #[must_use]
    pub fn replay(&self) -> Replay<'_> {
        Replay {
            sim: self,
            state: self.initial.clone(),
            next: 0,
        }
    }
}

/// Until when each actor's last cue is shown.
#[derive(Default)]
struct Busy {
    until_ms: Vec<(Actor, i64)>,
}

impl Busy {
    fn mark(&mut self, e: &Event) {
        // The gap keeps two cues of one actor from touching.
        let until = e.t_ms + CUE_MS + 300;
        for actor in std::iter::once(e.actor).chain(e.recipient) {
            self.until_ms.retain(|(a, _)| *a != actor);
            self.until_ms.push((actor, until));
        }
    }

    fn is_free(&self, actor: Actor, t_ms: i64) -> bool {
        !self
            .until_ms
            .iter()
            .any(|(a, until)| *a == actor && t_ms < *until)
    }

    fn all_clear(&self, t_ms: i64) -> bool {
        self.until_ms.iter().all(|(_, until)| t_ms >= *until)
    }
}

/// An event whose cue is in the picture at some moment.
#[derive(Clone, Copy, Debug)]
pub struct Cue<'a> {
    /// Its index in [`Simulation::events`].
    pub index: usize,
    pub event: &'a Event,
}

/// Replays a simulation forward; cheap when times only increase.
pub struct Replay<'a> {
    sim: &'a Simulation,
    state: WorldState,
    next: usize,
}

impl Replay<'_> {
    /// The state after every event at or before `t_ms`.
    pub fn advance_to(&mut self, t_ms: i64) -> &WorldState {
        while let Some(event) = self.sim.events.get(self.next) {
            if event.t_ms > t_ms {
                break;
            }
            apply(&mut self.state, event);
            self.next += 1;
        }
        &self.state
    }

    #[must_use]
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// The events whose cues show at `t_ms` (after [`Self::advance_to`] for that time).
    #[must_use]
    pub fn cues(&self, t_ms: i64) -> Vec<Cue<'_>> {
        let sim = self.sim;
        let start = sim.events[..self.next].partition_point(|e| e.t_ms <= t_ms - CUE_MS);
        (start..self.next)
            .filter(|&i| sim.events[i].t_ms <= t_ms)
            .map(|index| Cue {
                index,
                event: &sim.events[index],
            })
            .collect()
    }
}

fn initial_state(params: &WorldParams, rng: &mut Rng) -> WorldState {
    let mut objects: Vec<Object> = Vec::new();
    // Distinct (kind, color) pairs so "the red key" names one object; apples are the
    // exception (a bowl of red apples is what counting is about).
    let mut pairs: Vec<(Kind, Color)> = Kind::ALL
        .iter()
        .filter(|k| **k != Kind::Apple)
        .flat_map(|k| Color::ALL.iter().map(move |c| (*k, *c)))
        .collect();
    let mut used_kinds = Vec::new();
    let target = params.objects.max(Room::ALL.len() * 3);
    while objects.len() < target && !pairs.is_empty() {
        let (kind, color) = pairs.swap_remove(rng.below(pairs.len()));
        // Spread kinds: at most two objects of a kind.
        if used_kinds.iter().filter(|k| **k == kind).count() >= 2 {
            continue;
        }
        used_kinds.push(kind);
        let room = Room::ALL[objects.len() % Room::ALL.len()];
        let so_far = WorldState {
            my_room: Room::Kitchen,
            objects: objects.clone(),
            people: Vec::new(),
            texts: Vec::new(),
        };
        let open: Vec<Place> = room
            .places()
            .iter()
            .copied()
            // The kitchen table keeps room for the apples.
            .filter(|p| !(room == Room::Kitchen && *p == Place::Table))
            .filter(|p| so_far.has_room_for(room, *p, kind))
            .collect();
        let Some(&place) = rng.pick(&open) else {
            continue;
        };
        objects.push(Object {
            id: objects.len(),
            kind,
            color,
            location: Location::At { room, place },
            open: false,
            present: true,
        });
    }
    // Apples: some on the kitchen table, more brought in later.
    let apples_now = 2 + rng.below(2);
    for i in 0..APPLES {
        objects.push(Object {
            id: objects.len(),
            kind: Kind::Apple,
            color: Color::Red,
            location: Location::At {
                room: Room::Kitchen,
                place: Place::Table,
            },
            open: false,
            present: i < apples_now,
        });
    }
    let mut outfits: Vec<Color> = Color::ALL.to_vec();
    let people = (1..=params.people)
        .map(|face| Person {
            face,
            outfit: outfits.swap_remove(rng.below(outfits.len())),
            room: None,
            slot: 0,
            left: None,
        })
        .collect();
    WorldState {
        my_room: Room::Kitchen,
        objects,
        people,
        texts: Room::ALL.iter().map(|_| random_text(rng)).collect(),
    }
}

fn event(t_ms: i64, actor: Actor, verb: Verb, room: Room) -> Event {
    Event {
        t_ms,
        actor,
        verb,
        room,
        object: None,
        place: None,
        recipient: None,
        text: None,
        from_room: None,
    }
}

fn walk(state: &WorldState, rng: &mut Rng, t_ms: i64) -> Option<Event> {
    let others: Vec<Room> = Room::ALL
        .iter()
        .copied()
        .filter(|r| *r != state.my_room)
        .collect();
    let to = *rng.pick(&others)?;
    let mut e = event(t_ms, Actor::Me, Verb::WalksTo, to);
    e.from_room = Some(state.my_room);
    Some(e)
}

/// One id of `(weight, id)` offers, drawn in proportion to the weights.
fn weighted_pick(offers: &[(u32, u8)], rng: &mut Rng) -> Option<u8> {
    let total: u32 = offers.iter().map(|(w, _)| w).sum();
    let mut roll = rng.below(total as usize) as u32;
    offers
        .iter()
        .find(|(w, _)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map(|(_, id)| *id)
}

/// Picks one plausible action in the wearer's room, by actors whose last cue has ended.
fn act(state: &WorldState, busy: &Busy, rng: &mut Rng, t_ms: i64) -> Option<Event> {
    let room = state.my_room;
    let here: Vec<Actor> = state
        .actors_here()
        .into_iter()
        .filter(|a| busy.is_free(*a, t_ms))
        .collect();
    let away: Vec<u8> = if state.free_slot(room, t_ms).is_some() {
        state
            .people
            .iter()
            .filter(|p| p.room.is_none() && busy.is_free(Actor::Face(p.face), t_ms))
            .map(|p| p.face)
            .collect()
    } else {
        Vec::new()
    };
    let faces_here: Vec<u8> = state
        .actors_here()
        .iter()
        .filter_map(|a| match a {
            Actor::Face(f) => Some(*f),
            Actor::Me => None,
        })
        .collect();
    let free_faces: Vec<u8> = faces_here
        .iter()
        .copied()
        .filter(|f| busy.is_free(Actor::Face(*f), t_ms))
        .collect();
    let free_actors: Vec<Actor> = here
        .iter()
        .copied()
        .filter(|a| state.held_by(*a).is_none())
        .collect();
    let holders: Vec<Actor> = here
        .iter()
        .copied()
        .filter(|a| state.held_by(*a).is_some())
        .collect();
    let on_places: Vec<&Object> = state
        .objects
        .iter()
        .filter(|o| o.present && matches!(o.location, Location::At { room: r, .. } if r == room))
        .collect();

    // (weight, action id); an action is offered only when it can happen.
    let mut offers: Vec<(u32, u8)> = Vec::new();
    if !away.is_empty() && faces_here.len() < 3 {
        offers.push((3, 0));
    }
    if !free_faces.is_empty() {
        offers.push((1, 1));
    }
    if !free_actors.is_empty() && !on_places.is_empty() {
        offers.push((6, 2));
    }
    if !holders.is_empty() {
        offers.push((5, 3));
        if here.len() > 1 && !free_actors.is_empty() {
            offers.push((2, 4));
        }
        offers.push((3, 5));
    }
    offers.push((1, 6));
    let choice = weighted_pick(&offers, rng).unwrap_or(6);

    match choice {
        // Someone enters, sometimes bringing apples to the kitchen.
        0 => {
            let face = *rng.pick(&away)?;
            let mut e = event(t_ms, Actor::Face(face), Verb::Enters, room);
            let empty_handed = state.held_by(Actor::Face(face)).is_none();
            if room == Room::Kitchen && empty_handed && rng.chance(0.5) {
                e.object = state
                    .objects
                    .iter()
                    .find(|o| o.kind == Kind::Apple && !o.present)
                    .map(|o| o.id);
            }
            Some(e)
        }
        1 => {
            let face = *rng.pick(&free_faces)?;
            Some(event(t_ms, Actor::Face(face), Verb::Leaves, room))
        }
        2 => {
            let actor = *rng.pick(&free_actors)?;
            let object = *rng.pick(&on_places)?;
            let mut e = event(t_ms, actor, Verb::PicksUp, room);
            e.object = Some(object.id);
            if let Location::At { place, .. } = object.location {
                e.place = Some(place);
            }
            Some(e)
        }
        // Put down somewhere in this room.
        3 => {
            let actor = *rng.pick(&holders)?;
            let object = state.held_by(actor)?;
            let open: Vec<Place> = room
                .places()
                .iter()
                .copied()
                .filter(|p| state.has_room_for(room, *p, object.kind))
                .collect();
            let mut e = event(t_ms, actor, Verb::PutsDown, room);
            e.object = Some(object.id);
            e.place = Some(*rng.pick(&open)?);
            Some(e)
        }
        4 => {
            let giver = *rng.pick(&holders)?;
            let takers: Vec<Actor> = free_actors
                .iter()
                .copied()
                .filter(|a| *a != giver)
                .collect();
            let taker = *rng.pick(&takers)?;
            let mut e = event(t_ms, giver, Verb::Gives, room);
            e.object = state.held_by(giver).map(|o| o.id);
            e.recipient = Some(taker);
            Some(e)
        }
        // Do what the held object is for.
        5 => {
            let actor = *rng.pick(&holders)?;
            let object = state.held_by(actor)?;
            let verb = match object.kind {
                Kind::Apple => Verb::Eats,
                Kind::Cup | Kind::Bottle => Verb::Drinks,
                Kind::Box | Kind::Bag | Kind::Umbrella if object.open => Verb::Closes,
                Kind::Box | Kind::Bag | Kind::Umbrella => Verb::Opens,
                _ => Verb::Uses,
            };
            let mut e = event(t_ms, actor, verb, room);
            e.object = Some(object.id);
            Some(e)
        }
        _ => {
            let actor = *rng.pick(&here)?;
            let mut e = event(t_ms, actor, Verb::Writes, room);
            e.text = Some(random_text(rng));
            Some(e)
        }
    }
}

/// Applies one event to the state.
pub fn apply(state: &mut WorldState, e: &Event) {
    let entering_slot = state.free_slot(e.room, e.t_ms).unwrap_or(0);
    let object = e.object.and_then(|id| state.objects.get_mut(id));
    match e.verb {
        Verb::PicksUp => {
            if let Some(o) = object {
                o.location = Location::Held(e.actor);
            }
        }
        Verb::PutsDown => {
            if let (Some(o), Some(place)) = (object, e.place) {
                o.location = Location::At {
                    room: e.room,
                    place,
                };
            }
        }
        Verb::Gives => {
            if let (Some(o), Some(to)) = (object, e.recipient) {
                o.location = Location::Held(to);
            }
        }
        Verb::Opens | Verb::Closes => {
            if let Some(o) = object {
                o.open = e.verb == Verb::Opens;
            }
        }
        Verb::Eats => {
            if let Some(o) = object {
                o.present = false;
                // Eaten apples may come back as "new" ones later; park them off stage.
                o.location = Location::At {
                    room: Room::Kitchen,
                    place: Place::Table,
                };
            }
        }
        Verb::Enters => {
            let slot = entering_slot;
            if let Actor::Face(face) = e.actor
                && let Some(p) = state.people.iter_mut().find(|p| p.face == face)
            {
                p.room = Some(e.room);
                p.slot = slot;
                p.left = None;
            }
            if let Some(o) = object {
                o.present = true;
                o.location = Location::Held(e.actor);
            }
        }
        Verb::Leaves => {
            if let Actor::Face(face) = e.actor
                && let Some(p) = state.people.iter_mut().find(|p| p.face == face)
            {
                p.room = None;
                p.left = Some((e.room, e.t_ms));
            }
        }
        Verb::WalksTo => state.my_room = e.room,
        Verb::Writes => {
            if let (Some(i), Some(text)) = (Room::ALL.iter().position(|r| *r == e.room), &e.text) {
                state.texts[i].clone_from(text);
            }
        }
        Verb::Drinks | Verb::Uses => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_events_and_a_lively_stream() {
        let params = WorldParams::new(42, 300_000);
        let a = Simulation::run(&params);
        let b = Simulation::run(&params);
        assert_eq!(a.events, b.events);
        assert!(
            a.events.len() > 80,
            "{} events in 5 minutes",
            a.events.len()
        );
        let walks = a.events.iter().filter(|e| e.verb == Verb::WalksTo).count();
        assert!(walks >= 3, "{walks} room changes");
        let c = Simulation::run(&WorldParams::new(43, 300_000));
        assert_ne!(a.events, c.events);
    }

    #[test]
    fn objects_are_never_in_two_hands() {
        let sim = Simulation::run(&WorldParams::new(5, 600_000));
        let mut replay = sim.replay();
        for e in &sim.events {
            let state = replay.advance_to(e.t_ms);
            for actor in state.actors_here() {
                let held = state
                    .objects
                    .iter()
                    .filter(|o| o.present && o.location == Location::Held(actor))
                    .count();
                assert!(held <= 1, "{actor:?} holds {held} objects at {} ms", e.t_ms);
            }
        }
    }
}
