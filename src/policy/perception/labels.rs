//! What the perception encoder is taught to read from one frame, and where the lessons come
//! from: scenes made on the fly (a new world state every sample, drawn by the world's own
//! renderer) and the renderer's [`Scene`], which says exactly what each frame shows. Labels
//! are training targets and a judge's reference only; no label ever reaches the policy.
//!
//! A frame is read through fixed queries (the room; each person slot; my hands; each object
//! cell of each place; each place's apples; each sign cell), and each query answers a few
//! attributes ([`Attribute`]); class 0 of every attribute but the room and the apple count
//! is "nothing there".

use crate::world::model::{Actor, Color, Kind, Room, Verb};
use crate::world::render::{BubbleDrawn, CELL, ObjectDrawn, PersonDrawn, Scene, place_x};
use crate::world::rng::Rng;
use crate::world::sim::{CELLS_PER_PLACE, Location, Object, SLOTS};

/// Faces the world numbers people with: `<face_1>` to `<face_5>` (world-life has five).
pub const MAX_FACE: u8 = 5;
/// The most places a room has.
pub const PLACES: usize = 4;
/// Sign cells, and the characters a cell can show (the first is an empty cell).
pub const SIGN_CELLS: usize = crate::world::render::SIGN_CELLS;
pub const SIGN_CHARSET: &str = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ%";
/// Apples a place can hold (two a cell).
pub const MAX_APPLES: usize = 2 * CELLS_PER_PLACE;

/// The readout's queries, in order.
pub const Q_ROOM: usize = 0;
pub const Q_SLOTS: usize = 1;
pub const Q_ME: usize = Q_SLOTS + SLOTS as usize;
pub const Q_CELLS: usize = Q_ME + 1;
pub const Q_PLACES: usize = Q_CELLS + PLACES * CELLS_PER_PLACE;
pub const Q_SIGN: usize = Q_PLACES + PLACES;
pub const QUERIES: usize = Q_SIGN + SIGN_CELLS;

/// Which cells of the layout's grid (`columns x rows` of `cell` px) each query may read:
/// `true` where query `q` may attend to cell `r * columns + c`. The picture is laid out on
/// that grid, so each query's part of it is known: a person slot's columns above the places,
/// my hands and my cue at the bottom, an object cell's column in the object row (two
/// candidates: rooms of three places are centred), a sign character's cell columns. A query
/// that had to find its part by itself learnt nothing in 300 steps; the encoder's own
/// attention still sees the whole frame.
#[must_use]
pub fn query_regions(columns: usize, rows: usize, cell: usize) -> Vec<Vec<bool>> {
    use crate::world::render::{HANDS_Y, OBJECTS_Y, SIGN_CELL_W, SIGN_H, SIGN_TEXT_X, SIGN_Y};
    let to_cell = |px: i32| usize::try_from(px).unwrap_or(0) / cell;
    let mut regions = vec![vec![false; columns * rows]; QUERIES];
    let mut allow =
        |q: usize, cols: std::ops::RangeInclusive<usize>, rws: std::ops::RangeInclusive<usize>| {
            for r in rws.clone() {
                for c in cols.clone() {
                    if r < rows && c < columns {
                        regions[q][r * columns + c] = true;
                    }
                }
            }
        };
    allow(Q_ROOM, 0..=columns, 0..=rows);
    let slot_cols = 80 / cell;
    let objects_row = to_cell(OBJECTS_Y);
    for s in 0..usize::from(SLOTS) {
        allow(
            Q_SLOTS + s,
            s * slot_cols..=(s + 1) * slot_cols - 1,
            1..=objects_row - 1,
        );
    }
    let hands_row = to_cell(HANDS_Y);
    allow(Q_ME, to_cell(100)..=to_cell(219), hands_row..=hands_row);
    let place_cols = 80 / cell;
    let centring = to_cell(40);
    for p in 0..PLACES {
        for c in 0..CELLS_PER_PLACE {
            for offset in [0, centring] {
                let col = offset + p * place_cols + c * (CELL as usize / cell);
                allow(
                    Q_CELLS + p * CELLS_PER_PLACE + c,
                    col..=col,
                    objects_row..=objects_row,
                );
            }
        }
        for offset in [0, centring] {
            let first = offset + p * place_cols;
            allow(
                Q_PLACES + p,
                first..=first + place_cols - 1,
                objects_row..=objects_row,
            );
        }
    }
    for i in 0..SIGN_CELLS {
        let x0 = SIGN_TEXT_X + i as i32 * SIGN_CELL_W;
        allow(
            Q_SIGN + i,
            to_cell(x0)..=to_cell(x0 + SIGN_CELL_W - 1),
            to_cell(SIGN_Y)..=to_cell(SIGN_Y + SIGN_H - 1),
        );
    }
    regions
}

/// One thing the encoder reads, with its classes and the queries that answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    Room,
    Face,
    Outfit,
    HeldKind,
    HeldColor,
    Action,
    ObjectKind,
    ObjectColor,
    Apples,
    SignChar,
}

impl Attribute {
    pub const ALL: [Self; 10] = [
        Self::Room,
        Self::Face,
        Self::Outfit,
        Self::HeldKind,
        Self::HeldColor,
        Self::Action,
        Self::ObjectKind,
        Self::ObjectColor,
        Self::Apples,
        Self::SignChar,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Room => "room",
            Self::Face => "face",
            Self::Outfit => "outfit",
            Self::HeldKind => "held object kind",
            Self::HeldColor => "held object color",
            Self::Action => "action",
            Self::ObjectKind => "object kind",
            Self::ObjectColor => "object color",
            Self::Apples => "apple count",
            Self::SignChar => "sign character",
        }
    }

    /// The attribute's name in weight names and JSON.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Room => "room",
            Self::Face => "face",
            Self::Outfit => "outfit",
            Self::HeldKind => "held_kind",
            Self::HeldColor => "held_color",
            Self::Action => "action",
            Self::ObjectKind => "object_kind",
            Self::ObjectColor => "object_color",
            Self::Apples => "apples",
            Self::SignChar => "sign_char",
        }
    }

    /// Classes, "nothing" included.
    #[must_use]
    pub fn classes(self) -> usize {
        match self {
            Self::Room => Room::ALL.len(),
            Self::Face => 1 + usize::from(MAX_FACE),
            Self::Outfit | Self::HeldColor | Self::ObjectColor => 1 + Color::ALL.len(),
            Self::HeldKind | Self::ObjectKind => 1 + Kind::ALL.len(),
            Self::Action => 1 + Verb::ALL.len(),
            Self::Apples => 1 + MAX_APPLES,
            Self::SignChar => SIGN_CHARSET.len(),
        }
    }

    /// The queries that answer this attribute.
    #[must_use]
    pub fn queries(self) -> std::ops::Range<usize> {
        match self {
            Self::Room => Q_ROOM..Q_ROOM + 1,
            Self::Face | Self::Outfit => Q_SLOTS..Q_ME,
            // My hands answer what I hold and do, like a person's slot.
            Self::HeldKind | Self::HeldColor | Self::Action => Q_SLOTS..Q_ME + 1,
            Self::ObjectKind | Self::ObjectColor => Q_CELLS..Q_PLACES,
            Self::Apples => Q_PLACES..Q_SIGN,
            Self::SignChar => Q_SIGN..QUERIES,
        }
    }

    /// Whether class 0 means "nothing there" (so accuracy counts only what is there or said).
    #[must_use]
    pub fn zero_is_nothing(self) -> bool {
        !matches!(self, Self::Room | Self::Apples)
    }

    /// A class's name, for confusion lists.
    #[must_use]
    pub fn class_name(self, class: u32) -> String {
        let i = class as usize;
        let nothing = || "nothing".to_owned();
        match self {
            Self::Room => Room::ALL
                .get(i)
                .map_or_else(nothing, |r| r.name().to_owned()),
            Self::Face if i > 0 => format!("<face_{i}>"),
            Self::Outfit | Self::HeldColor | Self::ObjectColor if i > 0 => Color::ALL
                .get(i - 1)
                .map_or_else(nothing, |c| c.name().to_owned()),
            Self::HeldKind | Self::ObjectKind if i > 0 => Kind::ALL
                .get(i - 1)
                .map_or_else(nothing, |k| k.name().to_owned()),
            Self::Action if i > 0 => Verb::ALL
                .get(i - 1)
                .map_or_else(nothing, |v| v.name().to_owned()),
            Self::Apples => format!("{i} apples"),
            Self::SignChar => match SIGN_CHARSET.as_bytes().get(i) {
                Some(b' ') => "blank".to_owned(),
                Some(&c) => format!("'{}'", char::from(c)),
                None => nothing(),
            },
            _ => nothing(),
        }
    }
}

/// Every attribute's target for every query that answers it: `targets[a]` lists
/// `Attribute::ALL[a].queries()` in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameLabels {
    pub targets: Vec<Vec<u32>>,
}

fn index_of<T: PartialEq>(all: &[T], item: &T) -> u32 {
    all.iter().position(|x| x == item).unwrap_or(0) as u32
}

fn kind_class(kind: Kind) -> u32 {
    1 + index_of(Kind::ALL, &kind)
}

fn color_class(color: Color) -> u32 {
    1 + index_of(Color::ALL, &color)
}

/// The slot (0..SLOTS) a person-slot object or bubble is drawn in, from its x.
fn slot_from_x(cx: i32) -> usize {
    usize::try_from((cx - 70).div_euclid(80)).unwrap_or(0)
}

impl FrameLabels {
    /// What `scene` shows, query by query.
    #[must_use]
    pub fn of(scene: &Scene) -> Self {
        let mut targets: Vec<Vec<u32>> = Attribute::ALL
            .iter()
            .map(|a| vec![0; a.queries().len()])
            .collect();
        let mut set = |a: Attribute, query: usize, class: u32| {
            let i = index_of(&Attribute::ALL, &a) as usize;
            let range = a.queries();
            if range.contains(&query) {
                targets[i][query - range.start] = class;
            }
        };
        set(Attribute::Room, Q_ROOM, index_of(Room::ALL, &scene.room));
        for p in &scene.people {
            let q = Q_SLOTS + usize::from(p.slot);
            set(Attribute::Face, q, u32::from(p.face.min(MAX_FACE)));
            set(Attribute::Outfit, q, color_class(p.outfit));
        }
        let mut apples = [0u32; PLACES];
        for o in &scene.objects {
            match o.at {
                Location::Held(actor) => {
                    let q = match actor {
                        Actor::Me => Q_ME,
                        Actor::Face(_) => Q_SLOTS + slot_from_x(o.cx),
                    };
                    set(Attribute::HeldKind, q, kind_class(o.object.kind));
                    set(Attribute::HeldColor, q, color_class(o.object.color));
                }
                Location::At { place, .. } => {
                    let p = index_of(scene.room.places(), &place) as usize;
                    let cell = usize::try_from((o.cx - place_x(scene.room, place)) / CELL)
                        .unwrap_or(0)
                        .min(CELLS_PER_PLACE - 1);
                    let q = Q_CELLS + p * CELLS_PER_PLACE + cell;
                    set(Attribute::ObjectKind, q, kind_class(o.object.kind));
                    set(Attribute::ObjectColor, q, color_class(o.object.color));
                    if o.object.kind == Kind::Apple && p < PLACES {
                        apples[p] += 1;
                    }
                }
            }
        }
        for (p, n) in apples.iter().enumerate() {
            set(Attribute::Apples, Q_PLACES + p, (*n).min(MAX_APPLES as u32));
        }
        for b in &scene.bubbles {
            let q = if b.cy == 70 {
                Q_SLOTS + slot_from_x(b.cx)
            } else {
                Q_ME
            };
            set(Attribute::Action, q, 1 + index_of(Verb::ALL, &b.verb));
        }
        for (i, c) in scene.sign_text.chars().take(SIGN_CELLS).enumerate() {
            let class = SIGN_CHARSET.find(c).unwrap_or(0) as u32;
            set(Attribute::SignChar, Q_SIGN + i, class);
        }
        Self { targets }
    }
}

fn random_object(rng: &mut Rng, id: usize, kind: Kind, at: Location) -> Object {
    Object {
        id,
        kind,
        color: if kind == Kind::Apple {
            Color::Red
        } else {
            *rng.pick(Color::ALL).unwrap_or(&Color::Red)
        },
        location: at,
        open: rng.chance(0.3),
        present: true,
    }
}

fn random_kind(rng: &mut Rng, apples: bool) -> Kind {
    loop {
        let kind = *rng.pick(Kind::ALL).unwrap_or(&Kind::Cup);
        if apples || kind != Kind::Apple {
            return kind;
        }
    }
}

/// A sign's text: mostly the world's own templates, sometimes any characters, so that every
/// character is learnt in every cell.
fn random_sign(rng: &mut Rng) -> String {
    if rng.chance(0.6) {
        return crate::world::sim::random_text(rng);
    }
    let len = rng.below(SIGN_CELLS + 1);
    let chars = SIGN_CHARSET.as_bytes();
    (0..len)
        .map(|_| char::from(chars[rng.below(chars.len())]))
        .collect()
}

/// People in random slots, some holding things (raised while a cue shows), some with cues.
fn random_people(rng: &mut Rng, scene: &mut Scene, next_id: &mut usize) {
    let mut faces: Vec<u8> = (1..=MAX_FACE).collect();
    let mut outfits: Vec<Color> = Color::ALL.to_vec();
    let crowd = rng.chance(0.5);
    for slot in 0..SLOTS {
        if faces.is_empty() || !rng.chance(if crowd { 0.75 } else { 0.35 }) {
            continue;
        }
        let face = faces.swap_remove(rng.below(faces.len()));
        let outfit = outfits.swap_remove(rng.below(outfits.len()));
        scene.people.push(PersonDrawn { face, slot, outfit });
        let cue = rng.chance(0.35);
        let x = i32::from(slot) * 80 + 70;
        if cue {
            scene.bubbles.push(BubbleDrawn {
                index: *next_id,
                verb: *rng.pick(Verb::ALL).unwrap_or(&Verb::Uses),
                cx: x,
                cy: 70,
            });
        }
        if rng.chance(0.45) {
            let kind = random_kind(rng, true);
            let at = Location::Held(Actor::Face(face));
            scene.objects.push(ObjectDrawn {
                object: random_object(rng, *next_id, kind, at),
                at,
                cx: x,
                cy: if cue && rng.chance(0.8) { 50 } else { 90 },
                small: false,
            });
        }
        *next_id += 1;
    }
}

/// Objects on every place of the room: some cells of things, then apples two to a cell.
fn random_places(rng: &mut Rng, scene: &mut Scene, next_id: &mut usize) {
    let room = scene.room;
    for &place in room.places() {
        let x0 = place_x(room, place);
        let others = rng
            .below(CELLS_PER_PLACE + 1)
            .min(rng.below(CELLS_PER_PLACE + 2));
        let at = Location::At { room, place };
        for cell in 0..others {
            let kind = random_kind(rng, false);
            scene.objects.push(ObjectDrawn {
                object: random_object(rng, *next_id, kind, at),
                at,
                cx: x0 + cell as i32 * CELL + CELL / 2,
                cy: crate::world::render::OBJECTS_Y + CELL / 2,
                small: false,
            });
            *next_id += 1;
        }
        let free = CELLS_PER_PLACE - others;
        let apples = if rng.chance(0.35) {
            rng.below(2 * free + 1)
        } else {
            0
        };
        for i in 0..apples as i32 {
            scene.objects.push(ObjectDrawn {
                object: random_object(rng, *next_id, Kind::Apple, at),
                at,
                cx: x0 + (others as i32 + i / 2) * CELL + 5 + (i % 2) * 10,
                cy: crate::world::render::OBJECTS_Y + 13,
                small: true,
            });
            *next_id += 1;
        }
    }
}

/// A new world state for one frame: a room, its sign, people in slots with what they hold
/// and do, things on the places, and what I hold and do. Drawn from `rng` alone (never from a
/// suite's streams), so every sample is a new scene.
#[must_use]
pub fn random_scene(rng: &mut Rng) -> Scene {
    let room = *rng.pick(Room::ALL).unwrap_or(&Room::Kitchen);
    let mut scene = Scene {
        room,
        sign_text: random_sign(rng),
        people: Vec::new(),
        objects: Vec::new(),
        bubbles: Vec::new(),
    };
    let mut next_id = 0;
    random_people(rng, &mut scene, &mut next_id);
    random_places(rng, &mut scene, &mut next_id);
    let cue = rng.chance(0.25);
    if cue {
        scene.bubbles.push(BubbleDrawn {
            index: next_id,
            verb: *rng.pick(Verb::ALL).unwrap_or(&Verb::Uses),
            cx: 190,
            cy: 170,
        });
    }
    if rng.chance(0.35) {
        let kind = random_kind(rng, true);
        let at = Location::Held(Actor::Me);
        scene.objects.push(ObjectDrawn {
            object: random_object(rng, next_id + 1, kind, at),
            at,
            cx: 160,
            cy: crate::world::render::HANDS_Y + CELL / 2,
            small: false,
        });
    }
    scene
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_may_read_the_cells_its_things_are_drawn_in() {
        use crate::world::render::{Canvas, Instance, Renderer};
        let regions = query_regions(16, 9, 20);
        assert!(regions.iter().all(|r| r.iter().any(|&ok| ok)));
        // Each labelled person, held object, cue and placed object has most of its pixels in
        // cells its query may read.
        let renderer = Renderer::new().unwrap();
        let mut rng = Rng::new(9);
        for _ in 0..50 {
            let scene = random_scene(&mut rng);
            let mut canvas = Canvas::with_ids(320, 180);
            renderer.draw(&mut canvas, &scene, 0);
            let ids = canvas.ids.clone().unwrap();
            let inside = |instance: Instance, q: usize| {
                let (mut all, mut readable) = (0, 0);
                for (i, &id) in ids.iter().enumerate() {
                    if id == instance.id() {
                        all += 1;
                        let cell = (i / 320 / 20) * 16 + (i % 320) / 20;
                        readable += usize::from(regions[q][cell]);
                    }
                }
                (all, readable)
            };
            for p in &scene.people {
                let (all, readable) =
                    inside(Instance::Person(p.face), Q_SLOTS + usize::from(p.slot));
                assert!(readable * 10 >= all * 8, "person {p:?}: {readable}/{all}");
            }
            for b in &scene.bubbles {
                let q = if b.cy == 70 {
                    Q_SLOTS + slot_from_x(b.cx)
                } else {
                    Q_ME
                };
                let (all, readable) = inside(Instance::Cue(b.index), q);
                assert_eq!(readable, all, "cue {b:?}");
            }
        }
    }

    #[test]
    fn random_scenes_label_every_attribute_and_nothing_outside_the_queries() {
        let mut rng = Rng::new(7);
        let mut seen = vec![std::collections::HashSet::new(); Attribute::ALL.len()];
        for _ in 0..400 {
            let labels = FrameLabels::of(&random_scene(&mut rng));
            for (a, targets) in Attribute::ALL.iter().zip(&labels.targets) {
                assert_eq!(targets.len(), a.queries().len());
                for &t in targets {
                    assert!((t as usize) < a.classes(), "{a:?} {t}");
                    seen[index_of(&Attribute::ALL, a) as usize].insert(t);
                }
            }
        }
        for (a, classes) in Attribute::ALL.iter().zip(&seen) {
            assert_eq!(classes.len(), a.classes(), "{a:?} misses a class");
        }
    }
}
