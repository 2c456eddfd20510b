//! The vocabulary of the synthetic world: rooms and their places, object kinds and colors,
//! people, the things people do, and how each is said in the controlled English of the truth.

use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// How the controlled English says it.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

named_enum!(
    /// A room the camera wearer walks through.
    Room {
        Kitchen => "kitchen",
        LivingRoom => "living room",
        Office => "office",
        Garden => "garden",
    }
);

named_enum!(
    /// A place objects rest on.
    Place {
        Table => "table",
        Counter => "counter",
        Sink => "sink",
        Shelf => "shelf",
        Sofa => "sofa",
        Floor => "floor",
        Desk => "desk",
        Chair => "chair",
        Bench => "bench",
    }
);

named_enum!(
    /// What an object is; each kind is drawn with its own shape.
    Kind {
        Cup => "cup",
        Key => "key",
        Phone => "phone",
        Book => "book",
        Ball => "ball",
        Plant => "plant",
        Bag => "bag",
        Bottle => "bottle",
        Apple => "apple",
        Box => "box",
        Hat => "hat",
        Umbrella => "umbrella",
        Glasses => "glasses",
        Remote => "remote",
    }
);

named_enum!(
    /// Object and outfit colors.
    Color {
        Red => "red",
        Orange => "orange",
        Yellow => "yellow",
        Green => "green",
        Blue => "blue",
        Purple => "purple",
        Pink => "pink",
        White => "white",
        Black => "black",
        Brown => "brown",
    }
);

impl Color {
    /// The article before this color: "an orange hat", "a red key".
    #[must_use]
    pub fn article(self) -> &'static str {
        if self.name().starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        }
    }

    #[must_use]
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Self::Red => [220, 40, 40],
            Self::Orange => [245, 140, 30],
            Self::Yellow => [245, 215, 40],
            Self::Green => [40, 170, 60],
            Self::Blue => [40, 90, 220],
            Self::Purple => [140, 60, 190],
            Self::Pink => [245, 130, 190],
            Self::White => [245, 245, 245],
            Self::Black => [25, 25, 25],
            Self::Brown => [130, 80, 40],
        }
    }
}

impl Room {
    /// The places of this room, left to right.
    #[must_use]
    pub fn places(self) -> &'static [Place] {
        match self {
            Self::Kitchen => &[Place::Table, Place::Counter, Place::Sink, Place::Shelf],
            Self::LivingRoom => &[Place::Sofa, Place::Table, Place::Shelf, Place::Floor],
            Self::Office => &[Place::Desk, Place::Shelf, Place::Chair, Place::Floor],
            Self::Garden => &[Place::Bench, Place::Table, Place::Floor],
        }
    }

    /// The surface with text on it (OCR questions).
    #[must_use]
    pub fn text_surface(self) -> &'static str {
        match self {
            Self::Kitchen => "note on the fridge",
            Self::LivingRoom => "TV screen",
            Self::Office => "whiteboard",
            Self::Garden => "sign",
        }
    }

    /// Wall and floor colors, so a room is recognized at a glance.
    #[must_use]
    pub fn palette(self) -> ([u8; 3], [u8; 3]) {
        match self {
            Self::Kitchen => ([236, 226, 196], [176, 150, 118]),
            Self::LivingRoom => ([196, 214, 236], [150, 112, 84]),
            Self::Office => ([214, 214, 220], [110, 116, 128]),
            Self::Garden => ([150, 205, 240], [96, 170, 80]),
        }
    }
}

/// Who does something: the camera wearer ("I") or a person shown as `<face_N>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Me,
    Face(u8),
}

impl Actor {
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::Me => "I".to_owned(),
            Self::Face(n) => format!("<face_{n}>"),
        }
    }

    /// The object form (`me`, `<face_2>`).
    #[must_use]
    pub fn object_name(self) -> String {
        match self {
            Self::Me => "me".to_owned(),
            Self::Face(n) => format!("<face_{n}>"),
        }
    }
}

named_enum!(
    /// What happens in an event.
    Verb {
        PicksUp => "picks up",
        PutsDown => "puts down",
        Gives => "gives",
        Opens => "opens",
        Closes => "closes",
        Eats => "eats",
        Drinks => "drinks from",
        Uses => "uses",
        Enters => "enters",
        Leaves => "leaves",
        WalksTo => "walks to",
        Writes => "writes",
    }
);

impl Verb {
    /// First-person form for the camera wearer.
    #[must_use]
    pub fn first_person(self) -> &'static str {
        match self {
            Self::PicksUp => "pick up",
            Self::PutsDown => "put down",
            Self::Gives => "give",
            Self::Opens => "open",
            Self::Closes => "close",
            Self::Eats => "eat",
            Self::Drinks => "drink from",
            Self::Uses => "use",
            Self::Enters => "enter",
            Self::Leaves => "leave",
            Self::WalksTo => "walk to",
            Self::Writes => "write",
        }
    }

    #[must_use]
    pub fn for_actor(self, actor: Actor) -> &'static str {
        match actor {
            Actor::Me => self.first_person(),
            Actor::Face(_) => self.name(),
        }
    }
}
