//! Draws the world as a person would read it at a glance: the room's wall and floor colors and
//! its name, its furniture, every object kind in a shape of its own and its true color, people
//! in their outfit colors with their face number on them, the text on the room's surface, and
//! what the camera wearer holds at the bottom of the view. Text uses the font in assets/fonts.

// Drawing code reads best with the usual geometry names (x, y, w, h, r).
#![allow(clippy::many_single_char_names)]

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::model::{Actor, Kind, Place, Room};
use super::sim::{Location, Object, WorldState};

/// The font all world text is drawn with (Hack, MIT/Bitstream Vera license, assets/fonts).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Hack-Regular.ttf");

/// An RGB image being drawn.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Canvas {
    #[must_use]
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width * height * 3],
        }
    }

    fn put(&mut self, x: i32, y: i32, color: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&color);
        }
    }

    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            for (channel, &target) in self.rgb[i..i + 3].iter_mut().zip(&color) {
                let old = f32::from(*channel);
                *channel = (old + (f32::from(target) - old) * alpha.clamp(0.0, 1.0)).round() as u8;
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
const DARK: [u8; 3] = [40, 40, 48];

/// Scale factors from the 320x180 layout the drawing code is written in.
struct Layout {
    sx: f32,
    sy: f32,
}

impl Layout {
    fn x(&self, v: i32) -> i32 {
        (v as f32 * self.sx).round() as i32
    }
    fn y(&self, v: i32) -> i32 {
        (v as f32 * self.sy).round() as i32
    }
    fn s(&self, v: i32) -> i32 {
        ((v as f32 * self.sx.min(self.sy)).round() as i32).max(1)
    }
}

/// Where a place's furniture stands in the 320x180 layout: (x, top y, width).
fn place_box(room: Room, place: Place) -> (i32, i32, i32) {
    let places = room.places();
    let i = places.iter().position(|p| *p == place).unwrap_or(0) as i32;
    let n = places.len() as i32;
    let slot_w = 300 / n;
    let x = 10 + i * slot_w + 6;
    let y = match place {
        Place::Shelf => 62,
        Place::Floor => 150,
        Place::Sink | Place::Counter => 108,
        _ => 116,
    };
    (x, y, slot_w - 12)
}

pub struct Renderer {
    pub width: usize,
    pub height: usize,
    text: TextPainter,
}

impl Renderer {
    #[must_use]
    pub fn new(width: usize, height: usize) -> Option<Self> {
        Some(Self {
            width,
            height,
            text: TextPainter::new()?,
        })
    }

    /// One frame of the world as the camera wearer sees it.
    #[must_use]
    pub fn render(&self, state: &WorldState, t_ms: i64) -> Canvas {
        let mut canvas = Canvas::new(self.width, self.height);
        let l = Layout {
            sx: self.width as f32 / 320.0,
            sy: self.height as f32 / 180.0,
        };
        let room = state.my_room;
        let (wall, floor) = room.palette();
        let horizon = l.y(104);
        canvas.rect(0, 0, self.width as i32, horizon, wall);
        canvas.rect(
            0,
            horizon,
            self.width as i32,
            self.height as i32 - horizon,
            floor,
        );
        if room == Room::Garden {
            // A sun and a fence line: outdoors at a glance.
            canvas.circle(l.x(290), l.y(20), l.s(12), [250, 220, 80]);
            for x in (0..320).step_by(16) {
                canvas.rect(l.x(x), l.y(84), l.s(4), l.y(20), [235, 235, 235]);
            }
        }
        // The room's name on the wall.
        self.text.draw(
            &mut canvas,
            l.x(4) as f32,
            l.y(2) as f32,
            11.0 * l.sy,
            &room.name().to_uppercase(),
            DARK,
        );
        self.text_surface(&mut canvas, &l, room, state.text_of(room));
        for &place in room.places() {
            Self::furniture(&mut canvas, &l, room, place);
        }
        // Objects resting on places: a few slots along each surface.
        for &place in room.places() {
            let (x, y, w) = place_box(room, place);
            let here: Vec<&Object> = state
                .objects
                .iter()
                .filter(|o| o.present && o.location == Location::At { room, place })
                .collect();
            let slots = here.len().max(1) as i32;
            for (i, o) in here.iter().enumerate() {
                let cx = x + w * (2 * i as i32 + 1) / (2 * slots);
                draw_object(&mut canvas, &l, o, l.x(cx), l.y(y - 7), 1.0);
            }
        }
        // People, left to right by face number.
        let people: Vec<_> = state
            .people
            .iter()
            .filter(|p| p.room == Some(room))
            .collect();
        for (i, p) in people.iter().enumerate() {
            let cx = 60 + i as i32 * 100 + i32::from(p.face % 2) * 12;
            self.person(&mut canvas, &l, cx, p.face, p.outfit.rgb());
            if let Some(o) = state.held_by(Actor::Face(p.face)) {
                draw_object(&mut canvas, &l, o, l.x(cx + 16), l.y(128), 1.0);
            }
        }
        // What I hold, at the bottom of my view.
        if let Some(o) = state.held_by(Actor::Me) {
            canvas.rect(l.x(140), l.y(166), l.x(40), l.y(14), SKIN);
            draw_object(&mut canvas, &l, o, l.x(160), l.y(160), 1.8);
        }
        // The stream clock, as body cameras show it.
        let clock = crate::timefmt::format_hms_ms(t_ms * crate::video::NS_PER_MS);
        let clock_w = self.text.width(&clock[..8], 9.0 * l.sy);
        canvas.rect(
            l.x(316) - clock_w as i32 - 4,
            l.y(168),
            clock_w as i32 + 4,
            l.y(12),
            DARK,
        );
        self.text.draw(
            &mut canvas,
            l.x(316) as f32 - clock_w - 2.0,
            l.y(169) as f32,
            9.0 * l.sy,
            &clock[..8],
            [240, 240, 240],
        );
        canvas
    }

    fn text_surface(&self, canvas: &mut Canvas, l: &Layout, room: Room, text: &str) {
        let (x, y, w, h) = (l.x(176), l.y(8), l.x(136), l.y(34));
        let (frame, fill, ink) = match room {
            Room::Kitchen => ([200, 200, 200], [255, 250, 200], [40, 40, 40]),
            Room::LivingRoom => ([30, 30, 30], [30, 40, 80], [240, 240, 240]),
            Room::Office => ([150, 150, 150], [252, 252, 252], [30, 60, 160]),
            Room::Garden => ([110, 70, 30], [200, 160, 100], [40, 25, 10]),
        };
        canvas.rect(x - l.s(2), y - l.s(2), w + l.s(4), h + l.s(4), frame);
        canvas.rect(x, y, w, h, fill);
        let mut px = 15.0 * l.sy;
        while self.text.width(text, px) > (w - l.s(6)) as f32 && px > 6.0 {
            px -= 1.0;
        }
        self.text.draw_centered(
            canvas,
            (x + w / 2) as f32,
            y as f32 + (h as f32 - px) / 2.0,
            px,
            text,
            ink,
        );
        if room == Room::Garden {
            canvas.rect(x + w / 2 - l.s(3), y + h, l.s(6), l.y(30), frame);
        }
    }

    fn furniture(canvas: &mut Canvas, l: &Layout, room: Room, place: Place) {
        let (x, y, w) = place_box(room, place);
        let (x, y, w) = (l.x(x), l.y(y), l.x(w));
        match place {
            Place::Table | Place::Desk | Place::Bench => {
                let top = if place == Place::Desk {
                    [90, 90, 100]
                } else {
                    WOOD
                };
                canvas.rect(x, y, w, l.y(5), top);
                canvas.rect(x + l.s(3), y + l.y(5), l.s(4), l.y(30), top);
                canvas.rect(x + w - l.s(7), y + l.y(5), l.s(4), l.y(30), top);
            }
            Place::Counter => canvas.rect(x, y, w, l.y(40), [170, 170, 176]),
            Place::Sink => {
                canvas.rect(x, y, w, l.y(40), [170, 170, 176]);
                canvas.rect(x + l.s(6), y + l.y(2), w - l.s(12), l.y(8), [120, 170, 210]);
                canvas.line(
                    (x + w / 2, y - l.y(12)),
                    (x + w / 2, y),
                    l.s(2),
                    [120, 120, 120],
                );
            }
            Place::Shelf => {
                canvas.rect(x, y, w, l.y(4), WOOD);
                canvas.rect(x, y + l.y(4), l.s(3), l.y(8), WOOD);
                canvas.rect(x + w - l.s(3), y + l.y(4), l.s(3), l.y(8), WOOD);
            }
            Place::Sofa => {
                canvas.rect(x, y - l.y(10), w, l.y(12), [150, 60, 60]);
                canvas.rect(x, y, w, l.y(18), [170, 70, 70]);
            }
            Place::Chair => {
                canvas.rect(x + w / 4, y - l.y(20), l.s(4), l.y(20), [60, 60, 70]);
                canvas.rect(x + w / 4, y, w / 2, l.y(4), [60, 60, 70]);
                canvas.rect(x + w / 4, y, l.s(3), l.y(28), [60, 60, 70]);
                canvas.rect(x + 3 * w / 4 - l.s(3), y, l.s(3), l.y(28), [60, 60, 70]);
            }
            Place::Floor => {
                canvas.rect(x, y + l.y(2), w, l.y(3), [0, 0, 0].map(|_: u8| 90));
            }
        }
    }

    fn person(&self, canvas: &mut Canvas, l: &Layout, cx: i32, face: u8, outfit: [u8; 3]) {
        let (x, top) = (l.x(cx), l.y(92));
        // Legs, body, arms, head.
        canvas.rect(x - l.s(7), top + l.y(46), l.s(5), l.y(28), DARK);
        canvas.rect(x + l.s(2), top + l.y(46), l.s(5), l.y(28), DARK);
        canvas.rect(x - l.s(11), top + l.y(16), l.s(22), l.y(32), outfit);
        canvas.rect(x - l.s(16), top + l.y(18), l.s(5), l.y(22), outfit);
        canvas.rect(x + l.s(11), top + l.y(18), l.s(5), l.y(22), outfit);
        canvas.circle(x, top + l.y(7), l.s(10), SKIN);
        let ink = if outfit.iter().map(|c| u32::from(*c)).sum::<u32>() > 380 {
            DARK
        } else {
            [250, 250, 250]
        };
        // The face number, on the head and on the shirt.
        let label = face.to_string();
        self.text.draw_centered(
            canvas,
            x as f32,
            (top - l.y(2)) as f32,
            14.0 * l.sy,
            &label,
            DARK,
        );
        self.text.draw_centered(
            canvas,
            x as f32,
            (top + l.y(22)) as f32,
            12.0 * l.sy,
            &label,
            ink,
        );
    }
}

/// Each kind has its own shape; the object's color is its main color.
fn draw_object(canvas: &mut Canvas, l: &Layout, o: &Object, x: i32, y: i32, zoom: f32) {
    let s = |v: i32| ((v as f32 * zoom * l.sx.min(l.sy)).round() as i32).max(1);
    let c = o.color.rgb();
    let outline = [30, 30, 30];
    match o.kind {
        Kind::Cup => {
            canvas.rect(x - s(5), y - s(5), s(10), s(11), outline);
            canvas.rect(x - s(4), y - s(4), s(8), s(9), c);
            canvas.ring(x + s(6), y, s(3), s(1), outline);
        }
        Kind::Key => {
            canvas.ring(x - s(5), y, s(4), s(2), c);
            canvas.line((x - s(1), y), (x + s(7), y), s(2), c);
            canvas.line((x + s(5), y), (x + s(5), y + s(3)), s(2), c);
        }
        Kind::Phone => {
            canvas.rect(x - s(4), y - s(7), s(8), s(14), outline);
            canvas.rect(x - s(3), y - s(6), s(6), s(12), c);
            canvas.rect(x - s(2), y - s(5), s(4), s(8), [20, 30, 50]);
        }
        Kind::Book => {
            canvas.rect(x - s(6), y - s(5), s(12), s(10), c);
            canvas.rect(x - s(6), y - s(5), s(2), s(10), outline);
            canvas.rect(x - s(3), y + s(3), s(9), s(1), [245, 245, 245]);
        }
        Kind::Ball => {
            canvas.circle(x, y, s(6), outline);
            canvas.circle(x, y, s(5), c);
        }
        Kind::Plant => {
            canvas.triangle(
                (x - s(5), y + s(1)),
                (x + s(5), y + s(1)),
                (x, y + s(8)),
                [120, 70, 40],
            );
            canvas.circle(x, y - s(4), s(5), c);
            canvas.circle(x - s(4), y - s(1), s(3), [40, 140, 50]);
            canvas.circle(x + s(4), y - s(1), s(3), [40, 140, 50]);
        }
        Kind::Bag => {
            canvas.triangle((x - s(7), y + s(6)), (x + s(7), y + s(6)), (x, y - s(4)), c);
            canvas.rect(x - s(7), y + s(1), s(14), s(6), c);
            canvas.ring(x, y - s(5), s(4), s(1), outline);
            if o.open {
                canvas.rect(x - s(4), y - s(1), s(8), s(2), [30, 30, 30]);
            }
        }
        Kind::Bottle => {
            canvas.rect(x - s(3), y - s(4), s(6), s(11), c);
            canvas.rect(x - s(1), y - s(8), s(3), s(4), c);
            canvas.rect(x - s(1), y - s(9), s(3), s(1), outline);
        }
        Kind::Apple => {
            canvas.circle(x, y + s(1), s(4), c);
            canvas.line((x, y - s(3)), (x + s(1), y - s(6)), s(1), [90, 60, 20]);
            canvas.circle(x + s(2), y - s(4), s(1), [40, 140, 50]);
        }
        Kind::Box => {
            canvas.rect(x - s(7), y - s(5), s(14), s(11), outline);
            canvas.rect(x - s(6), y - s(4), s(12), s(9), c);
            if o.open {
                canvas.line((x - s(7), y - s(5)), (x - s(10), y - s(11)), s(2), c);
                canvas.line((x + s(7), y - s(5)), (x + s(10), y - s(11)), s(2), c);
            } else {
                canvas.line((x - s(6), y - s(4)), (x + s(6), y + s(4)), s(1), outline);
            }
        }
        Kind::Hat => {
            canvas.rect(x - s(8), y + s(2), s(16), s(3), c);
            canvas.rect(x - s(5), y - s(5), s(10), s(8), c);
            canvas.rect(x - s(5), y, s(10), s(1), outline);
        }
        Kind::Umbrella => {
            if o.open {
                canvas.triangle((x - s(9), y - s(1)), (x + s(9), y - s(1)), (x, y - s(8)), c);
                canvas.line((x, y - s(1)), (x, y + s(7)), s(1), outline);
            } else {
                canvas.triangle((x - s(2), y + s(4)), (x + s(2), y + s(4)), (x, y - s(8)), c);
                canvas.line((x, y + s(4)), (x, y + s(8)), s(1), outline);
            }
        }
        Kind::Glasses => {
            canvas.ring(x - s(4), y, s(3), s(1), c);
            canvas.ring(x + s(4), y, s(3), s(1), c);
            canvas.line((x - s(1), y), (x + s(1), y), s(1), c);
        }
        Kind::Remote => {
            canvas.rect(x - s(2), y - s(8), s(5), s(16), c);
            canvas.rect(x, y - s(6), s(1), s(1), outline);
            canvas.rect(x, y - s(3), s(1), s(1), outline);
            canvas.rect(x, y, s(1), s(1), outline);
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
        let renderer = Renderer::new(320, 180).unwrap();
        let mut replay = sim.replay();
        let first = renderer.render(replay.advance_to(0), 0).rgb;
        let e = &sim.events[3];
        let later = renderer.render(replay.advance_to(e.t_ms), e.t_ms).rgb;
        assert_eq!(first.len(), 320 * 180 * 3);
        assert_ne!(first, later);
        // The kitchen's wall color fills the top middle.
        let (wall, _) = Room::Kitchen.palette();
        let i = (20 * 320 + 100) * 3;
        assert_eq!(&first[i..i + 3], &wall);
    }
}
