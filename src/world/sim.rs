//! The deterministic simulation: a camera wearer walks through rooms; people enter, leave and
//! handle objects; texts change; apples are eaten and brought. The result is an event list
//! that the renderer, the ground truth and the questions all replay.

use serde::{Deserialize, Serialize};

use super::model::{Actor, Color, Kind, Place, Room, Verb};
use super::rng::Rng;

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

fn random_text(rng: &mut Rng) -> String {
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
        loop {
            t_ms += rng.range(params.event_gap_ms.0, params.event_gap_ms.1);
            // Events stay clear of the end so that every one is seen whole.
            if t_ms >= params.duration_ms - 500 {
                break;
            }
            let event = if t_ms >= next_walk_ms {
                next_walk_ms = t_ms + rng.range(params.room_stay_ms.0, params.room_stay_ms.1);
                walk(&state, &mut rng, t_ms)
            } else {
                act(&state, &mut rng, t_ms)
            };
            if let Some(event) = event {
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
        let place = room.places()[rng.below(room.places().len())];
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
    let apples_now = 2 + rng.below(3);
    for i in 0..12 {
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

/// Picks one plausible action in the wearer's room.
fn act(state: &WorldState, rng: &mut Rng, t_ms: i64) -> Option<Event> {
    let room = state.my_room;
    let here = state.actors_here();
    let away: Vec<u8> = state
        .people
        .iter()
        .filter(|p| p.room.is_none())
        .map(|p| p.face)
        .collect();
    let faces_here: Vec<u8> = here
        .iter()
        .filter_map(|a| match a {
            Actor::Face(f) => Some(*f),
            Actor::Me => None,
        })
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
    if !faces_here.is_empty() {
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
    let total: u32 = offers.iter().map(|(w, _)| w).sum();
    let mut roll = rng.below(total as usize) as u32;
    let choice = offers
        .iter()
        .find(|(w, _)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map_or(6, |(_, id)| *id);

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
            let face = *rng.pick(&faces_here)?;
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
            let mut e = event(t_ms, actor, Verb::PutsDown, room);
            e.object = Some(object.id);
            e.place = rng.pick(room.places()).copied();
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
            if let Actor::Face(face) = e.actor
                && let Some(p) = state.people.iter_mut().find(|p| p.face == face)
            {
                p.room = Some(e.room);
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
