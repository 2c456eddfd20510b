//! The world's language for the built-in policy: a closed word vocabulary (the controlled
//! English of the synthetic world's facts and descriptions, `<face_N>` tokens, and digits that
//! glue into numbers and codes such as `ROOM 512` or `TEMP 23C`), with an encoder and a decoder
//! that round-trip every sentence the world writes.

use std::collections::HashMap;

use crate::world::model::{Color, Kind, Place, Room, Verb};

pub const PAD: u32 = 0;
pub const BOS: u32 = 1;
pub const EOS: u32 = 2;
pub const UNK: u32 = 3;
/// Faces the world draws (`<face_0>` .. `<face_9>`).
pub const MAX_FACES: u8 = 10;

const SPECIALS: [&str; 4] = ["<pad>", "<bos>", "<eos>", "<unk>"];
/// Function words and sentence frames of the world's facts and descriptions.
const FRAME_WORDS: [&str; 45] = [
    "I",
    "In",
    "The",
    "There",
    "a",
    "am",
    "and",
    "are",
    "by",
    "carrying",
    "from",
    "hands",
    "held",
    "in",
    "is",
    "me",
    "my",
    "of",
    "on",
    "outfit",
    "pairs",
    "reads",
    "the",
    "to",
    "wears",
    "look",
    "around",
    "stay",
    "note",
    "fridge",
    "TV",
    "screen",
    "whiteboard",
    "sign",
    "living",
    "room",
    "up",
    "down",
    "walk",
    "walks",
    "put",
    "puts",
    "pick",
    "picks",
    "eat",
];
/// Words of the texts written on notes and signs.
const TEXT_WORDS: [&str; 10] = [
    "CODE", "GATE", "BUS", "ROOM", "PIN", "MEET", "AT", "TEMP", "SALE", "CALL",
];
const MORE_TEXT_WORDS: [&str; 1] = ["LEVEL"];
const PUNCTUATION: [&str; 3] = [".", ",", "\""];
/// Characters glued to the token before them inside a number or code ("23C", "12%").
const GLUED: [char; 12] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'C', '%'];

/// The vocabulary: token ids to strings and back.
#[derive(Clone, Debug)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Default for Vocab {
    fn default() -> Self {
        Self::world()
    }
}

impl Vocab {
    /// The vocabulary of the synthetic world, in a fixed order (ids are stable across runs).
    #[must_use]
    pub fn world() -> Self {
        let mut words: Vec<String> = SPECIALS.iter().map(|s| (*s).to_owned()).collect();
        let mut add = |w: &str| {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_owned());
            }
        };
        for w in PUNCTUATION {
            add(w);
        }
        for w in FRAME_WORDS {
            add(w);
        }
        for w in TEXT_WORDS.iter().chain(MORE_TEXT_WORDS.iter()) {
            add(w);
        }
        let multi = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        for room in Room::ALL {
            for w in multi(room.name()) {
                add(&w);
            }
            for w in multi(room.text_surface()) {
                add(&w);
            }
        }
        for place in Place::ALL {
            add(place.name());
        }
        for kind in Kind::ALL {
            add(kind.name());
            add(&format!("{}s", kind.name()));
        }
        add("boxes");
        for color in Color::ALL {
            add(color.name());
        }
        for verb in Verb::ALL {
            for w in multi(verb.name())
                .into_iter()
                .chain(multi(verb.first_person()))
            {
                add(&w);
            }
        }
        for face in 0..MAX_FACES {
            add(&format!("<face_{face}>"));
        }
        for c in GLUED {
            if c.is_ascii_digit() {
                add(&c.to_string());
            }
            add(&format!("##{c}"));
        }
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), u32::try_from(i).unwrap_or(UNK)))
            .collect();
        Self { tokens: words, ids }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    #[must_use]
    pub fn token(&self, id: u32) -> &str {
        self.tokens.get(id as usize).map_or("<unk>", String::as_str)
    }

    #[must_use]
    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNK)
    }

    /// Token ids of a text (no BOS/EOS); words outside the world's language become [`UNK`].
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for chunk in text.split_whitespace() {
            let mut rest = chunk;
            while let Some(r) = rest.strip_prefix('"') {
                out.push(self.id("\""));
                rest = r;
            }
            let mut tail = Vec::new();
            while let Some(c) = rest.chars().last().filter(|c| matches!(c, '.' | ',' | '"')) {
                tail.push(self.id(&c.to_string()));
                rest = &rest[..rest.len() - 1];
            }
            if rest.is_empty() {
            } else if let Some(&id) = self.ids.get(rest) {
                out.push(id);
            } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
                // A number or code: its first digit, then the rest glued on.
                let mut chars = rest.chars();
                if let Some(first) = chars.next() {
                    out.push(self.id(&first.to_string()));
                }
                for c in chars {
                    out.push(self.id(&format!("##{c}")));
                }
            } else {
                out.push(UNK);
            }
            out.extend(tail.into_iter().rev());
        }
        out
    }

    /// The text of token ids (specials dropped): the inverse of [`Self::encode`] for every
    /// sentence the world writes.
    #[must_use]
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        let mut in_quote = false;
        let mut glue_next = false;
        for &id in ids {
            if id == PAD || id == BOS || id == EOS {
                continue;
            }
            let token = self.token(id);
            if let Some(glued) = token.strip_prefix("##") {
                out.push_str(glued);
                continue;
            }
            match token {
                "." | "," => out.push_str(token),
                "\"" if in_quote => {
                    out.push('"');
                    in_quote = false;
                }
                _ => {
                    if !out.is_empty() && !glue_next {
                        out.push(' ');
                    }
                    glue_next = false;
                    out.push_str(token);
                    if token == "\"" {
                        in_quote = true;
                        glue_next = true;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::sim::{Simulation, WorldParams};

    #[test]
    fn every_sentence_the_world_writes_round_trips_without_unknown_words() {
        let vocab = Vocab::world();
        assert!(vocab.len() < 200, "a small vocabulary: {}", vocab.len());
        for seed in [3, 11, 29] {
            let sim = Simulation::run(&WorldParams::new(seed, 300_000));
            for clip in crate::world::truth::clips(&sim) {
                for text in clip.facts.iter().chain(std::iter::once(&clip.reference)) {
                    let ids = vocab.encode(text);
                    assert!(!ids.contains(&UNK), "unknown word in {text:?}");
                    assert_eq!(&vocab.decode(&ids), text);
                }
            }
        }
    }

    #[test]
    fn codes_glue_and_unknown_words_are_marked() {
        let vocab = Vocab::world();
        let ids = vocab.encode("The sign in the garden reads \"TEMP 23C\".");
        assert_eq!(
            vocab.decode(&ids),
            "The sign in the garden reads \"TEMP 23C\"."
        );
        assert!(ids.contains(&vocab.id("##C")));
        assert!(vocab.encode("The zebra is red.").contains(&UNK));
    }
}
