//! Draws the world to be read by a small encoder at the policy's input size, 320x180 (the
//! video's own size), on a grid of 20-px cells (16 x 9) that the layout keeps to:
//! - row 0-1: the room's name plate and its sign or screen, in fixed-width character cells;
//! - rows 2-5: people, each in one of four fixed 80-px slots, with a white face badge, an outfit
//!   of one flat color, what they hold at their hand, and while an event's cue lasts the object
//!   raised beside the head and a verb glyph in a bubble;
//! - rows 6-7: the places, four 80-px pieces of furniture that people never cover, each with four
//!   20-px object cells (two apples share one);
//! - row 8: my hands, what I hold, my cue bubble and the stream clock.
//!
//! Every drawing call can also write an instance id per pixel ([`Canvas::with_ids`]), which the
//! tests use to prove that each fact of the truth is drawn in a frame the policy samples.
//! Text uses the font in assets/fonts.

// Drawing code reads best with the usual geometry names (x, y, w, h, r).
#![allow(clippy::many_single_char_names)]

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::model::{Actor, Kind, Place, Room, Verb};
use super::sim::{Cue, Location, Object, WorldState};

/// The font all world text is drawn with (Hack, MIT/Bitstream Vera license, assets/fonts).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Hack-Regular.ttf");

/// An RGB image being drawn.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
    /// One instance id per pixel ([`Instance::id`]), when asked for.
    pub ids: Option<Vec<u32>>,
    /// The instance the next drawing calls belong to.
    pen: u32,
}

impl Canvas {
    #[must_use]
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width * height * 3],
            ids: None,
            pen: 0,
        }
    }

    /// A canvas that also records which instance drew each pixel.
    #[must_use]
    pub fn with_ids(width: usize, height: usize) -> Self {
        let mut canvas = Self::new(width, height);
        canvas.ids = Some(vec![0; width * height]);
        canvas
    }

    /// Pixels showing `instance`.
    #[must_use]
    pub fn pixels_of(&self, instance: Instance) -> usize {
        let id = instance.id();
        self.ids
            .as_ref()
            .map_or(0, |ids| ids.iter().filter(|i| **i == id).count())
    }

    /// Width and height of the box around the pixels showing `instance`.
    #[must_use]
    pub fn extent_of(&self, instance: Instance) -> (usize, usize) {
        let id = instance.id();
        let Some(ids) = &self.ids else {
            return (0, 0);
        };
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, _) in ids.iter().enumerate().filter(|(_, v)| **v == id) {
            let (x, y) = (i % self.width, i / self.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        if x0 == usize::MAX {
            (0, 0)
        } else {
            (x1 - x0 + 1, y1 - y0 + 1)
        }
    }

    fn pen(&mut self, instance: Instance) {
        self.pen = instance.id();
    }

    fn put(&mut self, x: i32, y: i32, color: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let p = y as usize * self.width + x as usize;
            self.rgb[p * 3..p * 3 + 3].copy_from_slice(&color);
            if let Some(ids) = &mut self.ids {
                ids[p] = self.pen;
            }
        }
    }

    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let p = y as usize * self.width + x as usize;
            for (channel, &target) in self.rgb[p * 3..p * 3 + 3].iter_mut().zip(&color) {
                let old = f32::from(*channel);
                *channel = (old + (f32::from(target) - old) * alpha.clamp(0.0, 1.0)).round() as u8;
            }
            if alpha >= 0.5
                && let Some(ids) = &mut self.ids
            {
                ids[p] = self.pen;
            }
        }
    }

    pub fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, color: [u8; 3]) {
        for yy in y.max(0)..(y + h).min(self.height as i32) {
            for xx in x.max(0)..(x + w).min(self.width as i32) {
                self.put(xx, yy, color);
            }
        }
    }

    pub fn circle(&mut self, cx: i32, cy: i32, r: i32, color: [u8; 3]) {
        for yy in -r..=r {
            for xx in -r..=r {
                if xx * xx + yy * yy <= r * r {
                    self.put(cx + xx, cy + yy, color);
                }
            }
        }
    }

    pub fn ring(&mut self, cx: i32, cy: i32, r: i32, thickness: i32, color: [u8; 3]) {
        let inner = (r - thickness).max(0);
        for yy in -r..=r {
            for xx in -r..=r {
                let d = xx * xx + yy * yy;
                if d <= r * r && d > inner * inner {
                    self.put(cx + xx, cy + yy, color);
                }
            }
        }
    }

    pub fn line(
        &mut self,
        (x0, y0): (i32, i32),
        (x1, y1): (i32, i32),
        thickness: i32,
        color: [u8; 3],
    ) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for s in 0..=steps {
            let x = x0 + (x1 - x0) * s / steps;
            let y = y0 + (y1 - y0) * s / steps;
            self.rect(
                x - thickness / 2,
                y - thickness / 2,
                thickness.max(1),
                thickness.max(1),
                color,
            );
        }
    }

    /// A filled triangle (scanline).
    pub fn triangle(&mut self, a: (i32, i32), b: (i32, i32), c: (i32, i32), color: [u8; 3]) {
        let (min_y, max_y) = (a.1.min(b.1).min(c.1), a.1.max(b.1).max(c.1));
        let edge = |p: (i32, i32), q: (i32, i32), y: i32| -> Option<f32> {
            if (p.1 <= y && q.1 > y) || (q.1 <= y && p.1 > y) {
                Some(p.0 as f32 + (y - p.1) as f32 * (q.0 - p.0) as f32 / (q.1 - p.1) as f32)
            } else {
                None
            }
        };
        for y in min_y..=max_y {
            let xs: Vec<f32> = [edge(a, b, y), edge(b, c, y), edge(c, a, y)]
                .into_iter()
                .flatten()
                .collect();
            if let (Some(lo), Some(hi)) = (
                xs.iter().copied().reduce(f32::min),
                xs.iter().copied().reduce(f32::max),
            ) {
                for x in lo.round() as i32..=hi.round() as i32 {
                    self.put(x, y, color);
                }
            }
        }
    }
}

/// Draws text with the bundled font; returns the width in pixels.
pub struct TextPainter {
    font: FontRef<'static>,
}

impl TextPainter {
    /// # Panics
    /// Never in practice: the font is compiled in and checked by a test.
    #[must_use]
    pub fn new() -> Option<Self> {
        FontRef::try_from_slice(FONT_BYTES)
            .ok()
            .map(|font| Self { font })
    }

    #[must_use]
    pub fn width(&self, text: &str, px: f32) -> f32 {
        let scaled = self.font.as_scaled(PxScale::from(px));
        text.chars()
            .map(|c| scaled.h_advance(self.font.glyph_id(c)))
            .sum()
    }

    /// Draws `text` with its top-left corner at (x, y).
    pub fn draw(&self, canvas: &mut Canvas, x: f32, y: f32, px: f32, text: &str, color: [u8; 3]) {
        let scale = PxScale::from(px);
        let scaled = self.font.as_scaled(scale);
        let mut caret = x;
        let baseline = y + scaled.ascent();
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            caret += scaled.h_advance(id);
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    canvas.blend(
                        bounds.min.x as i32 + gx as i32,
                        bounds.min.y as i32 + gy as i32,
                        color,
                        coverage,
                    );
                });
            }
        }
    }

    /// Draws text centered on x.
    pub fn draw_centered(
        &self,
        canvas: &mut Canvas,
        cx: f32,
        y: f32,
        px: f32,
        text: &str,
        color: [u8; 3],
    ) {
        let w = self.width(text, px);
        self.draw(canvas, cx - w / 2.0, y, px, text, color);
    }
}

const SKIN: [u8; 3] = [236, 196, 160];
const WOOD: [u8; 3] = [150, 100, 60];
const DARK: [u8; 3] = [34, 34, 40];
const WHITE: [u8; 3] = [250, 250, 250];

/// The size the world is drawn at, which is also the policy's input size.
pub const WIDTH: usize = 320;
pub const HEIGHT: usize = 180;
/// The side of the layout's grid cells.
pub const CELL: i32 = 20;
/// Where the wall meets the floor.
const HORIZON_Y: i32 = 100;
/// The top of the object cells on the places, and the furniture's surface below them.
pub const OBJECTS_Y: i32 = 120;
const SURFACE_Y: i32 = 140;
/// The row of my hands at the bottom of the view.
pub const HANDS_Y: i32 = 160;
/// Sign text: this many fixed-width cells of this width, the first at `SIGN_TEXT_X`, in the
/// sign at (`SIGN_X`, `SIGN_Y`) that is `SIGN_H` tall.
pub const SIGN_CELLS: usize = 9;
pub const SIGN_CELL_W: i32 = 14;
pub const SIGN_X: i32 = 184;
pub const SIGN_Y: i32 = 4;
pub const SIGN_H: i32 = 32;
pub const SIGN_TEXT_X: i32 = SIGN_X + 3;

/// What a pixel belongs to, for the visibility proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instance {
    Background,
    RoomPlate,
    Sign,
    MyHands,
    Clock,
    Person(u8),
    Object(usize),
    /// The cue of the event with this index in the simulation's events.
    Cue(usize),
}

impl Instance {
    #[must_use]
    pub fn id(self) -> u32 {
        match self {
            Self::Background => 0,
            Self::RoomPlate => 1,
            Self::Sign => 2,
            Self::MyHands => 3,
            Self::Clock => 4,
            Self::Person(face) => 100 + u32::from(face),
            Self::Object(id) => 1_000 + u32::try_from(id).unwrap_or(u32::MAX - 1_000) % 90_000,
            Self::Cue(index) => 100_000 + u32::try_from(index).unwrap_or(0) % 1_000_000,
        }
    }
}

/// Where something is drawn in a person's slot.
fn slot_x(slot: u8) -> i32 {
    i32::from(slot.min(3)) * 80
}

/// The left edge of a place's furniture: four 80-px places, or three centred.
#[must_use]
pub fn place_x(room: Room, place: Place) -> i32 {
    let places = room.places();
    let i = places.iter().position(|p| *p == place).unwrap_or(0) as i32;
    let offset = (4 - places.len() as i32).max(0) * 40;
    offset + i * 80
}

/// Who is drawn where: a person standing in a slot (or still shown leaving it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonDrawn {
    pub face: u8,
    pub slot: u8,
    pub outfit: super::model::Color,
}

/// An object in the picture and the fact it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDrawn {
    pub object: Object,
    /// On a place, in someone's hand (raised while their cue lasts), or in mine.
    pub at: Location,
    pub cx: i32,
    pub cy: i32,
    /// Drawn at half size: two apples share a cell.
    pub small: bool,
}

/// A cue bubble: the event's verb glyph beside its actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BubbleDrawn {
    pub index: usize,
    pub verb: Verb,
    pub cx: i32,
    pub cy: i32,
}

/// Everything one frame shows, decided before anything is painted, so that the truth reads
/// the same decisions the painter draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scene {
    pub room: Room,
    pub sign_text: String,
    pub people: Vec<PersonDrawn>,
    pub objects: Vec<ObjectDrawn>,
    pub bubbles: Vec<BubbleDrawn>,
}

impl Scene {
    /// The scene at `t_ms`, from the state after every event up to then and the cues showing.
    #[must_use]
    pub fn of(state: &WorldState, cues: &[Cue<'_>], t_ms: i64) -> Self {
        let room = state.my_room;
        let people: Vec<PersonDrawn> = state
            .people
            .iter()
            .filter(|p| {
                p.room == Some(room)
                    || p.left
                        .is_some_and(|(r, at)| r == room && t_ms - at < super::sim::CUE_MS)
            })
            .map(|p| PersonDrawn {
                face: p.face,
                slot: p.slot,
                outfit: p.outfit,
            })
            .collect();
        let slot_of = |actor: Actor| match actor {
            Actor::Me => None,
            Actor::Face(f) => people.iter().find(|p| p.face == f).map(|p| p.slot),
        };
        // Who raises what while their cue lasts.
        let mut raised: Vec<(Actor, usize)> = Vec::new();
        let mut bubbles = Vec::new();
        for cue in cues {
            let e = cue.event;
            if e.room != room && e.verb != Verb::WalksTo {
                continue;
            }
            let (cx, cy) = match slot_of(e.actor) {
                Some(slot) => (slot_x(slot) + 70, 70),
                None if e.actor == Actor::Me => (190, 170),
                None => continue,
            };
            bubbles.push(BubbleDrawn {
                index: cue.index,
                verb: e.verb,
                cx,
                cy,
            });
            let holder = if e.verb == Verb::Gives {
                e.recipient
            } else {
                Some(e.actor)
            };
            if let (Some(holder), Some(id)) = (holder, e.object)
                && !matches!(e.verb, Verb::PutsDown)
            {
                raised.push((holder, id));
            }
        }
        let mut objects = Vec::new();
        for &place in room.places() {
            let x0 = place_x(room, place);
            let here = state.on_place(room, place);
            let (others, apples): (Vec<&Object>, Vec<&Object>) =
                here.into_iter().partition(|o| o.kind != Kind::Apple);
            let mut cell = 0;
            for o in others {
                objects.push(ObjectDrawn {
                    object: o.clone(),
                    at: o.location,
                    cx: x0 + cell * CELL + CELL / 2,
                    cy: OBJECTS_Y + CELL / 2,
                    small: false,
                });
                cell += 1;
            }
            for (i, o) in apples.iter().enumerate() {
                let i = i as i32;
                objects.push(ObjectDrawn {
                    object: (*o).clone(),
                    at: o.location,
                    cx: x0 + (cell + i / 2) * CELL + 5 + (i % 2) * 10,
                    cy: OBJECTS_Y + 13,
                    small: true,
                });
            }
        }
        for p in &people {
            let actor = Actor::Face(p.face);
            let raised_id = raised.iter().find(|(a, _)| *a == actor).map(|(_, id)| *id);
            let held = raised_id
                .and_then(|id| state.objects.get(id))
                .or_else(|| state.held_by(actor));
            if let Some(o) = held {
                let up = raised_id == Some(o.id);
                objects.push(ObjectDrawn {
                    object: o.clone(),
                    at: Location::Held(actor),
                    cx: slot_x(p.slot) + 70,
                    cy: if up { 50 } else { 90 },
                    small: false,
                });
            }
        }
        let mine = raised
            .iter()
            .find(|(a, _)| *a == Actor::Me)
            .and_then(|(_, id)| state.objects.get(*id))
            .or_else(|| state.held_by(Actor::Me));
        if let Some(o) = mine {
            objects.push(ObjectDrawn {
                object: o.clone(),
                at: Location::Held(Actor::Me),
                cx: 160,
                cy: HANDS_Y + CELL / 2,
                small: false,
            });
        }
        Self {
            room,
            sign_text: state.text_of(room).to_owned(),
            people,
            objects,
            bubbles,
        }
    }
}

pub struct Renderer {
    pub width: usize,
    pub height: usize,
    text: TextPainter,
}

impl Renderer {
    /// A renderer for the world's frame size ([`WIDTH`] x [`HEIGHT`]); `None` when the bundled
    /// font cannot be read.
    #[must_use]
    pub fn new() -> Option<Self> {
        Some(Self {
            width: WIDTH,
            height: HEIGHT,
            text: TextPainter::new()?,
        })
    }

    /// One frame of the world as the camera wearer sees it.
    #[must_use]
    pub fn render(&self, state: &WorldState, cues: &[Cue<'_>], t_ms: i64) -> Canvas {
        let mut canvas = Canvas::new(self.width, self.height);
        self.draw(&mut canvas, &Scene::of(state, cues, t_ms), t_ms);
        canvas
    }

    /// Paints a scene onto `canvas` (which may record instance ids).
    pub fn draw(&self, canvas: &mut Canvas, scene: &Scene, t_ms: i64) {
        let room = scene.room;
        self.background(canvas, room);
        self.sign(canvas, room, &scene.sign_text);
        canvas.pen(Instance::Background);
        for &place in room.places() {
            furniture(canvas, place, place_x(room, place));
        }
        for p in &scene.people {
            self.person(canvas, p);
        }
        canvas.pen(Instance::MyHands);
        canvas.rect(124, HANDS_Y + 6, 14, 14, SKIN);
        canvas.rect(166, HANDS_Y + 6, 14, 14, SKIN);
        for o in &scene.objects {
            canvas.pen(Instance::Object(o.object.id));
            if o.small {
                draw_apple(canvas, o.cx, o.cy, o.object.color.rgb());
            } else {
                draw_object(canvas, &o.object, o.cx, o.cy);
            }
        }
        for b in &scene.bubbles {
            canvas.pen(Instance::Cue(b.index));
            draw_bubble(canvas, b.verb, b.cx, b.cy);
        }
        self.clock(canvas, t_ms);
    }

    fn background(&self, canvas: &mut Canvas, room: Room) {
        let (wall, floor) = room.palette();
        canvas.pen(Instance::Background);
        canvas.rect(0, 0, WIDTH as i32, HORIZON_Y, wall);
        canvas.rect(0, HORIZON_Y, WIDTH as i32, HEIGHT as i32 - HORIZON_Y, floor);
        canvas.rect(0, HORIZON_Y - 2, WIDTH as i32, 2, shade(wall, 0.7));
        if room == Room::Garden {
            // A sun and a fence: outdoors at a glance.
            canvas.circle(160, 18, 10, [250, 220, 80]);
            for x in (4..320).step_by(20) {
                canvas.rect(x, 70, 6, 30, [235, 235, 235]);
            }
            canvas.rect(0, 80, WIDTH as i32, 4, [235, 235, 235]);
        }
        canvas.pen(Instance::RoomPlate);
        let name = room.name().to_uppercase();
        let w = self.text.width(&name, 13.0).ceil() as i32;
        canvas.rect(4, 4, w + 10, 20, DARK);
        canvas.rect(5, 5, w + 8, 18, [250, 248, 236]);
        self.text.draw(canvas, 9.0, 6.0, 13.0, &name, DARK);
    }

    /// The room's sign or screen: characters in fixed cells, left-aligned, so a character's
    /// place never depends on the others.
    fn sign(&self, canvas: &mut Canvas, room: Room, text: &str) {
        let (frame, fill, ink) = match room {
            Room::Kitchen => ([190, 190, 190], [255, 250, 200], [30, 30, 30]),
            Room::LivingRoom => ([25, 25, 25], [30, 40, 90], [245, 245, 245]),
            Room::Office => ([140, 140, 140], [252, 252, 252], [20, 50, 170]),
            Room::Garden => ([110, 70, 30], [214, 176, 112], [40, 25, 10]),
        };
        canvas.pen(Instance::Sign);
        let (x, y, w, h) = (SIGN_X, SIGN_Y, SIGN_CELLS as i32 * SIGN_CELL_W + 6, SIGN_H);
        if room == Room::Garden {
            canvas.rect(x + w / 2 - 3, y + h, 6, HORIZON_Y - y - h, frame);
        }
        canvas.rect(x, y, w, h, frame);
        canvas.rect(x + 2, y + 2, w - 4, h - 4, fill);
        for (i, c) in text.chars().take(SIGN_CELLS).enumerate() {
            let cell_x = (SIGN_TEXT_X + i as i32 * SIGN_CELL_W) as f32;
            let glyph = c.to_string();
            let gw = self.text.width(&glyph, 19.0);
            self.text.draw(
                canvas,
                cell_x + (SIGN_CELL_W as f32 - gw) / 2.0,
                (y + 5) as f32,
                19.0,
                &glyph,
                ink,
            );
        }
    }

    fn person(&self, canvas: &mut Canvas, p: &PersonDrawn) {
        let x0 = slot_x(p.slot);
        let outfit = p.outfit.rgb();
        canvas.pen(Instance::Person(p.face));
        // Legs, arms, body, hands, head.
        canvas.rect(x0 + 19, 100, 9, 20, DARK);
        canvas.rect(x0 + 32, 100, 9, 20, DARK);
        canvas.rect(x0 + 10, 64, 6, 30, outfit);
        canvas.rect(x0 + 44, 64, 6, 30, outfit);
        canvas.rect(x0 + 16, 60, 28, 40, outfit);
        canvas.circle(x0 + 13, 96, 3, SKIN);
        canvas.circle(x0 + 47, 96, 3, SKIN);
        canvas.circle(x0 + 30, 49, 10, SKIN);
        canvas.rect(x0 + 20, 38, 20, 5, shade(outfit, 0.45));
        canvas.rect(x0 + 25, 47, 2, 2, DARK);
        canvas.rect(x0 + 33, 47, 2, 2, DARK);
        // The face badge: a white tag with a big dark number, the same on every outfit.
        canvas.rect(x0 + 20, 67, 20, 20, DARK);
        canvas.rect(x0 + 21, 68, 18, 18, WHITE);
        self.text.draw_centered(
            canvas,
            (x0 + 30) as f32,
            67.0,
            17.0,
            &p.face.to_string(),
            DARK,
        );
    }

    fn clock(&self, canvas: &mut Canvas, t_ms: i64) {
        canvas.pen(Instance::Clock);
        let clock = crate::timefmt::format_hms_ms(t_ms * crate::video::NS_PER_MS);
        let text = clock.get(..8).unwrap_or(&clock);
        let w = self.text.width(text, 10.0).ceil() as i32;
        canvas.rect(316 - w - 4, HANDS_Y + 5, w + 4, 13, DARK);
        self.text.draw(
            canvas,
            (316 - w - 2) as f32,
            (HANDS_Y + 6) as f32,
            10.0,
            text,
            [240, 240, 240],
        );
    }
}

fn shade(color: [u8; 3], factor: f32) -> [u8; 3] {
    color.map(|c| (f32::from(c) * factor).round().clamp(0.0, 255.0) as u8)
}

/// A place's furniture below its object cells (x0..x0+80, y 140..160).
fn furniture(canvas: &mut Canvas, place: Place, x0: i32) {
    let (x, w, y) = (x0 + 2, 76, SURFACE_Y);
    match place {
        Place::Table | Place::Bench => {
            canvas.rect(x, y, w, 5, WOOD);
            canvas.rect(x + 4, y + 5, 5, 15, shade(WOOD, 0.8));
            canvas.rect(x + w - 9, y + 5, 5, 15, shade(WOOD, 0.8));
            if place == Place::Bench {
                canvas.rect(x, y + 8, w, 3, WOOD);
            }
        }
        Place::Desk => {
            canvas.rect(x, y, w, 5, [96, 96, 108]);
            canvas.rect(x + w - 26, y + 5, 22, 15, [120, 120, 132]);
            canvas.rect(x + w - 18, y + 10, 6, 2, DARK);
            canvas.rect(x + 4, y + 5, 5, 15, [96, 96, 108]);
        }
        Place::Counter | Place::Sink => {
            canvas.rect(x, y, w, 20, [176, 176, 184]);
            canvas.rect(x, y, w, 3, [130, 130, 140]);
            if place == Place::Sink {
                canvas.rect(x + 12, y + 4, w - 24, 7, [110, 165, 210]);
            } else {
                canvas.rect(x + 8, y + 8, w / 2 - 12, 10, [150, 150, 160]);
                canvas.rect(x + w / 2 + 4, y + 8, w / 2 - 12, 10, [150, 150, 160]);
            }
        }
        Place::Shelf => {
            canvas.rect(x, y, w, 4, WOOD);
            canvas.rect(x, y + 16, w, 4, WOOD);
            canvas.rect(x, y, 4, 20, shade(WOOD, 0.8));
            canvas.rect(x + w - 4, y, 4, 20, shade(WOOD, 0.8));
        }
        Place::Sofa => {
            canvas.rect(x, y, w, 20, [170, 70, 70]);
            canvas.rect(x, y, 6, 20, [140, 55, 55]);
            canvas.rect(x + w - 6, y, 6, 20, [140, 55, 55]);
            canvas.rect(x + 6, y, w - 12, 3, [190, 90, 90]);
        }
        Place::Floor => {
            canvas.rect(x, y + 1, w, 7, [214, 200, 170]);
            canvas.rect(x, y + 1, w, 1, [180, 160, 130]);
        }
        Place::Chair => {
            canvas.rect(x + 8, y, w - 16, 5, [70, 70, 84]);
            canvas.rect(x + 10, y + 5, 4, 15, [70, 70, 84]);
            canvas.rect(x + w - 14, y + 5, 4, 15, [70, 70, 84]);
        }
    }
}

/// An apple drawn at half a cell, so two share one and each can be counted.
fn draw_apple(canvas: &mut Canvas, cx: i32, cy: i32, color: [u8; 3]) {
    canvas.circle(cx, cy, 4, color);
    canvas.rect(cx, cy - 7, 1, 3, [90, 60, 20]);
    canvas.rect(cx + 1, cy - 7, 2, 2, [40, 140, 50]);
}

/// Each kind has its own silhouette, about 18 px, in its color with a dark outline where the
/// color alone could melt into the floor.
fn draw_object(canvas: &mut Canvas, o: &Object, x: i32, y: i32) {
    let c = o.color.rgb();
    let ol = DARK;
    match o.kind {
        Kind::Cup => {
            canvas.ring(x + 4, y, 5, 2, ol);
            canvas.rect(x - 8, y - 7, 13, 16, ol);
            canvas.rect(x - 7, y - 6, 11, 14, c);
        }
        Kind::Key => {
            canvas.ring(x - 4, y - 2, 6, 3, c);
            canvas.rect(x + 1, y - 4, 9, 4, c);
            canvas.rect(x + 5, y, 3, 5, c);
            canvas.ring(x - 4, y - 2, 7, 1, ol);
        }
        Kind::Phone => {
            canvas.rect(x - 6, y - 9, 12, 18, ol);
            canvas.rect(x - 5, y - 8, 10, 16, c);
            canvas.rect(x - 3, y - 6, 6, 9, [20, 30, 50]);
        }
        Kind::Book => {
            canvas.rect(x - 8, y - 7, 16, 14, c);
            canvas.rect(x - 8, y - 7, 3, 14, ol);
            canvas.rect(x - 4, y + 3, 11, 2, WHITE);
        }
        Kind::Ball => {
            canvas.circle(x, y, 9, ol);
            canvas.circle(x, y, 8, c);
            canvas.rect(x - 8, y, 17, 1, ol);
        }
        Kind::Plant => {
            canvas.triangle((x - 6, y + 2), (x + 6, y + 2), (x, y + 9), [120, 70, 40]);
            canvas.rect(x - 6, y + 2, 13, 3, [120, 70, 40]);
            canvas.circle(x - 5, y - 3, 4, [40, 140, 50]);
            canvas.circle(x + 5, y - 3, 4, [40, 140, 50]);
            canvas.circle(x, y - 5, 5, c);
        }
        Kind::Bag => {
            canvas.ring(x, y - 5, 5, 2, ol);
            canvas.triangle((x - 9, y + 8), (x + 9, y + 8), (x, y - 4), c);
            canvas.rect(x - 9, y + 1, 19, 8, c);
            if o.open {
                canvas.rect(x - 5, y, 11, 3, DARK);
            }
        }
        Kind::Bottle => {
            canvas.rect(x - 5, y - 3, 10, 12, c);
            canvas.rect(x - 2, y - 8, 4, 5, c);
            canvas.rect(x - 2, y - 9, 4, 2, ol);
            canvas.rect(x - 5, y + 2, 10, 2, WHITE);
        }
        Kind::Apple => {
            canvas.circle(x, y + 2, 7, c);
            canvas.rect(x, y - 8, 2, 4, [90, 60, 20]);
            canvas.rect(x + 2, y - 8, 4, 3, [40, 140, 50]);
        }
        Kind::Box => {
            canvas.rect(x - 9, y - 6, 18, 15, ol);
            canvas.rect(x - 8, y - 5, 16, 13, c);
            if o.open {
                canvas.line((x - 8, y - 6), (x - 10, y - 10), 2, c);
                canvas.line((x + 8, y - 6), (x + 10, y - 10), 2, c);
            } else {
                canvas.rect(x - 8, y - 1, 16, 2, ol);
            }
        }
        Kind::Hat => {
            canvas.rect(x - 9, y + 3, 18, 4, c);
            canvas.rect(x - 6, y - 7, 12, 10, c);
            canvas.rect(x - 6, y, 12, 2, ol);
        }
        Kind::Umbrella => {
            if o.open {
                canvas.triangle((x - 9, y), (x + 9, y), (x, y - 9), c);
                canvas.rect(x, y, 2, 9, ol);
                canvas.rect(x - 2, y + 7, 3, 2, ol);
            } else {
                canvas.triangle((x - 5, y + 4), (x + 5, y + 4), (x, y - 9), c);
                canvas.rect(x - 5, y + 1, 11, 2, shade(c, 0.6));
                canvas.rect(x, y + 4, 2, 5, ol);
                canvas.rect(x - 3, y + 8, 5, 2, ol);
            }
        }
        Kind::Glasses => {
            canvas.ring(x - 5, y, 5, 3, c);
            canvas.ring(x + 5, y, 5, 3, c);
            canvas.rect(x - 1, y - 1, 3, 2, ol);
        }
        Kind::Remote => {
            canvas.rect(x - 4, y - 9, 8, 18, ol);
            canvas.rect(x - 3, y - 8, 6, 16, c);
            canvas.rect(x - 1, y - 6, 2, 2, [220, 40, 40]);
            canvas.rect(x - 1, y - 2, 2, 2, WHITE);
            canvas.rect(x - 1, y + 2, 2, 2, WHITE);
        }
    }
}

/// A cue: a white speech bubble with the verb's glyph, each verb a shape and color of its own.
fn draw_bubble(canvas: &mut Canvas, verb: Verb, x: i32, y: i32) {
    canvas.rect(x - 9, y - 9, 19, 19, DARK);
    canvas.rect(x - 8, y - 8, 17, 17, WHITE);
    let (green, blue, red) = ([30, 150, 60], [40, 80, 210], [210, 40, 40]);
    match verb {
        Verb::PicksUp => {
            canvas.triangle((x - 6, y - 1), (x + 6, y - 1), (x, y - 7), green);
            canvas.rect(x - 2, y - 1, 5, 8, green);
        }
        Verb::PutsDown => {
            canvas.triangle((x - 6, y + 1), (x + 6, y + 1), (x, y + 7), blue);
            canvas.rect(x - 2, y - 7, 5, 8, blue);
        }
        Verb::Gives => {
            canvas.triangle((x + 1, y - 6), (x + 1, y + 6), (x + 7, y), [230, 130, 20]);
            canvas.rect(x - 7, y - 2, 8, 5, [230, 130, 20]);
        }
        Verb::Opens => {
            canvas.rect(x - 6, y - 2, 13, 9, [150, 90, 30]);
            canvas.line((x - 6, y - 3), (x - 3, y - 8), 2, [150, 90, 30]);
            canvas.line((x + 6, y - 3), (x + 3, y - 8), 2, [150, 90, 30]);
        }
        Verb::Closes => {
            canvas.rect(x - 6, y - 5, 13, 12, [150, 90, 30]);
            canvas.rect(x - 6, y, 13, 2, DARK);
        }
        Verb::Eats => {
            canvas.circle(x, y, 6, red);
            canvas.circle(x + 6, y - 2, 3, WHITE);
        }
        Verb::Drinks => {
            canvas.triangle((x - 4, y), (x + 4, y), (x, y - 7), [40, 150, 220]);
            canvas.circle(x, y + 2, 4, [40, 150, 220]);
        }
        Verb::Uses => {
            canvas.rect(x - 7, y - 1, 15, 3, [150, 60, 190]);
            canvas.rect(x - 1, y - 7, 3, 15, [150, 60, 190]);
            canvas.line((x - 5, y - 5), (x + 5, y + 5), 2, [150, 60, 190]);
            canvas.line((x - 5, y + 5), (x + 5, y - 5), 2, [150, 60, 190]);
        }
        Verb::Enters => {
            canvas.rect(x - 5, y - 7, 11, 15, green);
            canvas.rect(x - 3, y - 5, 7, 13, WHITE);
            canvas.rect(x - 1, y - 2, 3, 3, green);
        }
        Verb::Leaves => {
            canvas.rect(x - 5, y - 7, 11, 15, red);
            canvas.rect(x - 3, y - 5, 7, 13, WHITE);
            canvas.triangle((x + 1, y - 3), (x + 1, y + 3), (x + 6, y), red);
        }
        Verb::WalksTo => {
            canvas.circle(x - 3, y + 3, 3, DARK);
            canvas.circle(x + 3, y - 3, 3, DARK);
            canvas.rect(x - 4, y + 6, 3, 2, DARK);
            canvas.rect(x + 2, y, 3, 2, DARK);
        }
        Verb::Writes => {
            canvas.line((x - 6, y + 6), (x + 5, y - 5), 3, [240, 190, 30]);
            canvas.rect(x - 7, y + 5, 3, 3, DARK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::sim::{Simulation, WorldParams};

    #[test]
    fn the_bundled_font_loads_and_draws() {
        let text = TextPainter::new().expect("font in assets/fonts");
        let mut canvas = Canvas::new(60, 20);
        text.draw(&mut canvas, 2.0, 2.0, 14.0, "A1", [255, 255, 255]);
        assert!(canvas.rgb.iter().any(|&v| v > 200));
    }

    #[test]
    fn frames_show_the_room_and_change_as_things_happen() {
        let sim = Simulation::run(&WorldParams::new(9, 120_000));
        let renderer = Renderer::new().unwrap();
        let mut replay = sim.replay();
        replay.advance_to(0);
        let first = renderer.render(replay.state(), &replay.cues(0), 0).rgb;
        let t = sim.events[3].t_ms;
        replay.advance_to(t);
        let later = renderer.render(replay.state(), &replay.cues(t), t).rgb;
        assert_eq!(first.len(), WIDTH * HEIGHT * 3);
        assert_ne!(first, later);
        // The kitchen's wall color fills the wall between the plate and the sign.
        let (wall, _) = Room::Kitchen.palette();
        let i = (30 * WIDTH + 140) * 3;
        assert_eq!(&first[i..i + 3], &wall);
    }

    #[test]
    fn people_never_cover_places_and_objects_are_at_least_16_px() {
        let sim = Simulation::run(&WorldParams::new(4, 300_000));
        let renderer = Renderer::new().unwrap();
        let mut replay = sim.replay();
        let mut checked = 0;
        for t in (0..300_000).step_by(700) {
            replay.advance_to(t);
            let scene = Scene::of(replay.state(), &replay.cues(t), t);
            let mut canvas = Canvas::with_ids(WIDTH, HEIGHT);
            renderer.draw(&mut canvas, &scene, t);
            let ids = canvas.ids.as_ref().unwrap();
            // Rows 120..160 (the places) hold furniture, objects and nothing else.
            for y in 120..160 {
                for x in 0..WIDTH {
                    let id = ids[y * WIDTH + x];
                    assert!(
                        id == 0 || (1_000..100_000).contains(&id),
                        "instance {id} at ({x}, {y}) at {t} ms"
                    );
                }
            }
            for o in scene.objects.iter().filter(|o| !o.small) {
                let (w, h) = canvas.extent_of(Instance::Object(o.object.id));
                assert!(w.max(h) >= 16, "{:?} is {w}x{h} px", o.object.kind);
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} objects checked");
    }
}
