//! What kind of fact a sentence of the world's controlled English states (a room, an outfit,
//! an object's place, a sign's text, a count, an event by its verb): read by the headroom
//! oracle's orders and by the policy's warm-up targets, which take facts kind by kind.

use super::model::Verb;

/// What a fact sentence of the world's controlled English states (from the sentence patterns
/// of `world::truth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactKind {
    /// "I am in the kitchen."
    Room,
    /// "`<face_2>` wears a red outfit."
    Outfit,
    /// "The red cup is on the kitchen table." / "... is in my hands." / "... is held by ..."
    ObjectPlace,
    /// "The sign in the garden reads \"...\"."
    Text,
    /// "There are 3 apples on the kitchen table."
    Count,
    /// An event, by its verb and whether the camera wearer ("I") did it.
    Event { verb: Verb, by_me: bool },
    /// A sentence of no known pattern.
    Other,
}

impl FactKind {
    #[must_use]
    pub fn is_event(self) -> bool {
        matches!(self, Self::Event { .. })
    }
}

/// The kind of a fact sentence.
#[must_use]
pub fn classify(fact: &str) -> FactKind {
    if fact.starts_with("I am in the ") {
        return FactKind::Room;
    }
    if fact.starts_with("There is ") || fact.starts_with("There are ") {
        return FactKind::Count;
    }
    if fact.starts_with("The ") {
        if fact.contains(" reads \"") {
            return FactKind::Text;
        }
        if [" is on ", " is in my hands", " is held by "]
            .iter()
            .any(|p| fact.contains(p))
        {
            return FactKind::ObjectPlace;
        }
        return FactKind::Other;
    }
    let (rest, by_me) = if let Some(rest) = fact.strip_prefix("I ") {
        (rest, true)
    } else if fact.starts_with("<face_")
        && let Some((_, rest)) = fact.split_once("> ")
    {
        (rest, false)
    } else {
        return FactKind::Other;
    };
    if !by_me && rest.starts_with("wears a ") {
        return FactKind::Outfit;
    }
    for &verb in Verb::ALL {
        // A put-down reads "puts the cup on ...", not "puts down the cup".
        let forms: &[&str] = if verb == Verb::PutsDown {
            &["puts", "put"]
        } else {
            &[verb.name(), verb.first_person()]
        };
        if forms
            .iter()
            .any(|f| rest.strip_prefix(f).is_some_and(|r| r.starts_with(' ')))
        {
            return FactKind::Event { verb, by_me };
        }
    }
    FactKind::Other
}
