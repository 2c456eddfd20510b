//! Phase One's reward terms for a written memory, computed against the world's ground truth
//! (TaskMem's fidelity rewards in miniature): format (the description parses as the world's
//! sentences), correctness (every stated fact is true of the clip), no repetition of the
//! preceding description, a length cap, and richness (distinct true facts). Used by training
//! and by the quality report; never by the policy at inference.

use std::collections::BTreeSet;

use crate::world::grammar::{CLAIM_KINDS, Claim, distinct, statements};
use crate::world::model::Room;
use crate::world::truth::ClipTruth;

/// Whether a claim is true of the clip.
#[must_use]
pub fn is_true(claim: &Claim, truth: &ClipTruth) -> bool {
    match claim {
        Claim::Fact(f) => {
            truth.facts.iter().any(|t| t == f)
                || f.strip_prefix("I am in the ")
                    .and_then(|r| r.strip_suffix('.'))
                    .is_some_and(|room| truth.rooms.iter().any(|r| r.name() == room))
        }
        Claim::Reads { surface, text } => {
            truth
                .texts
                .iter()
                .any(|t| &t.surface == surface && &t.text == text)
                || truth.events.iter().any(|e| {
                    e.text.as_deref() == Some(text.as_str()) && e.room.text_surface() == surface
                })
        }
        Claim::Stay { faces, room } => {
            truth.rooms.iter().any(|r| r.name() == room)
                && faces.iter().all(|f| {
                    truth
                        .people
                        .iter()
                        .any(|p| &format!("<face_{}>", p.face) == f)
                })
        }
        Claim::LookAround { room } => truth.rooms.iter().any(|r| r.name() == room),
    }
}

/// Whether a claim is one the world could state at all (its words and frame).
#[must_use]
pub fn is_well_formed(claim: &Claim, vocab: &super::lang::Vocab) -> bool {
    match claim {
        Claim::Fact(f) => !vocab.encode(f).contains(&super::lang::UNK) && f.split(' ').count() >= 3,
        Claim::Reads { surface, text } => {
            Room::ALL.iter().any(|r| r.text_surface() == surface)
                && !vocab.encode(text).contains(&super::lang::UNK)
        }
        Claim::Stay { .. } | Claim::LookAround { .. } => true,
    }
}

/// The reward terms of one written memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RewardTerms {
    /// 1 when every sentence is in the world's language, else -1.
    pub format: f64,
    /// Distinct true facts / distinct facts stated (0 when there are none).
    pub correctness: f64,
    /// Claims that say again a fact of the preceding description or of an earlier sentence of
    /// this one / claims.
    pub repetition: f64,
    /// 1 within the token budget, falling by the share over it.
    pub length: f64,
    /// Distinct true claims (normalized within a group by the trainer).
    pub richness: f64,
    /// Claims as stated, repeats included.
    pub claims: usize,
    pub true_claims: usize,
    /// Distinct facts stated (the denominator of precision) and how many of them are true.
    pub distinct_claims: usize,
    pub distinct_true_claims: usize,
}

/// How much each term counts in the scalar reward.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RewardWeights {
    pub format: f64,
    pub correctness: f64,
    pub repetition: f64,
    pub length: f64,
    pub richness: f64,
}

impl Default for RewardWeights {
    fn default() -> Self {
        Self {
            format: 1.0,
            correctness: 2.0,
            repetition: 1.0,
            length: 0.5,
            richness: 1.0,
        }
    }
}

impl RewardTerms {
    /// The scalar reward, with richness already normalized (e.g. within the group).
    #[must_use]
    pub fn total(&self, weights: &RewardWeights, richness_normalized: f64) -> f64 {
        weights.format * self.format + weights.correctness * self.correctness
            - weights.repetition * self.repetition
            + weights.length * self.length
            + weights.richness * richness_normalized
    }
}

/// Scores `description` for the clip `truth`, given the preceding clip's description and the
/// token budget.
#[must_use]
pub fn score(
    description: &str,
    previous: Option<&str>,
    truth: &ClipTruth,
    vocab: &super::lang::Vocab,
    budget_tokens: usize,
) -> RewardTerms {
    let parsed = statements(description);
    let well_formed =
        parsed.malformed == 0 && parsed.claims.iter().all(|c| is_well_formed(c, vocab));
    let claims = parsed.claims.len();
    let true_claims = parsed.claims.iter().filter(|c| is_true(c, truth)).count();
    // Judged fact by fact: a claim said again (here, or in the preceding description) adds no
    // fact, so it neither dilutes a false claim nor counts as richness, and it is repetition.
    let facts = distinct(&parsed.claims);
    let true_facts = facts.iter().filter(|c| is_true(c, truth)).count();
    let before: BTreeSet<String> = previous
        .map(|p| statements(p).claims.iter().map(Claim::canonical).collect())
        .unwrap_or_default();
    let repeated = (claims - facts.len())
        + facts
            .iter()
            .filter(|c| before.contains(&c.canonical()))
            .count();
    let tokens = vocab.encode(description).len();
    let over = tokens.saturating_sub(budget_tokens) as f64 / budget_tokens.max(1) as f64;
    RewardTerms {
        format: if well_formed && claims > 0 { 1.0 } else { -1.0 },
        correctness: if facts.is_empty() {
            0.0
        } else {
            true_facts as f64 / facts.len() as f64
        },
        repetition: if claims == 0 {
            0.0
        } else {
            repeated as f64 / claims as f64
        },
        length: (1.0 - over).max(-1.0),
        richness: true_facts as f64,
        claims,
        true_claims,
        distinct_claims: facts.len(),
        distinct_true_claims: true_facts,
    }
}

/// What a true fact of each kind ([`CLAIM_KINDS`]) is worth to Phase One's richness term.
///
/// Uniform, every true fact counts one. From a suite's training questions
/// ([`KindUtility::from_questions`]), a kind counts by how often the questions ask for the
/// facts of that kind that the clips hold: what a memory of that kind is worth to the tasks
/// an agent meets in general. Phase Two then narrows it to one task type; Phase One only
/// learns the general order (the headroom oracle's generic order puts events first for the
/// same reason).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KindUtility(pub [f64; CLAIM_KINDS.len()]);

impl Default for KindUtility {
    fn default() -> Self {
        Self([1.0; CLAIM_KINDS.len()])
    }
}

impl KindUtility {
    /// Per kind, the support facts of `questions` of that kind over the clips' facts of that
    /// kind, scaled so that the most asked-for kind is 1, and never below `floor` (a true
    /// fact of a kind no training question asks for is still worth stating).
    #[must_use]
    pub fn from_questions<'a>(
        clip_facts: impl IntoIterator<Item = &'a str>,
        support_facts: impl IntoIterator<Item = &'a str>,
        floor: f64,
    ) -> Self {
        let count = |facts: &mut dyn Iterator<Item = &'a str>| {
            let mut by_kind = [0usize; CLAIM_KINDS.len()];
            for fact in facts {
                if let Some(claim) = statements(fact).claims.first() {
                    by_kind[claim.kind()] += 1;
                }
            }
            by_kind
        };
        let held = count(&mut clip_facts.into_iter());
        let asked = count(&mut support_facts.into_iter());
        let mut worth = [0.0; CLAIM_KINDS.len()];
        for (w, (&a, &h)) in worth.iter_mut().zip(asked.iter().zip(&held)) {
            *w = if h == 0 { 0.0 } else { a as f64 / h as f64 };
        }
        let top = worth.iter().copied().fold(0.0, f64::max);
        if top <= 0.0 {
            return Self::default();
        }
        Self(worth.map(|w| (w / top).max(floor)))
    }

    /// Events worth one, every other kind `floor`.
    #[must_use]
    pub fn events_first(floor: f64) -> Self {
        let event = CLAIM_KINDS.iter().position(|k| *k == "event").unwrap_or(0);
        let mut worth = [floor; CLAIM_KINDS.len()];
        worth[event] = 1.0;
        Self(worth)
    }

    /// The worth of one claim.
    #[must_use]
    pub fn of(&self, claim: &Claim) -> f64 {
        self.0[claim.kind()]
    }

    /// The distinct true claims of `description`, each counted at its kind's worth.
    #[must_use]
    pub fn richness(&self, description: &str, truth: &ClipTruth) -> f64 {
        let parsed = statements(description);
        distinct(&parsed.claims)
            .into_iter()
            .filter(|c| is_true(c, truth))
            .map(|c| self.of(c))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::lang::Vocab;
    use crate::world::sim::{Simulation, WorldParams};

    #[test]
    fn the_reference_descriptions_are_true_well_formed_and_fit_the_budget() {
        let vocab = Vocab::world();
        let sim = Simulation::run(&WorldParams::new(7, 600_000));
        let clips = crate::world::truth::clips(&sim);
        for clip in &clips {
            let terms = score(&clip.reference, None, clip, &vocab, 80);
            assert!(
                (terms.format - 1.0).abs() < 1e-9,
                "format of {:?}: {:?}",
                clip.reference,
                statements(&clip.reference)
            );
            assert!(
                (terms.correctness - 1.0).abs() < 1e-9,
                "{:?} has a false claim: {:?}",
                clip.reference,
                statements(&clip.reference)
                    .claims
                    .iter()
                    .filter(|c| !is_true(c, clip))
                    .collect::<Vec<_>>()
            );
            assert!(terms.richness >= 1.0);
        }
    }

    #[test]
    fn false_repeated_long_and_malformed_memories_score_lower() {
        let vocab = Vocab::world();
        let sim = Simulation::run(&WorldParams::new(7, 120_000));
        let clips = crate::world::truth::clips(&sim);
        let clip = &clips[1];
        let good = score(&clip.reference, Some(&clips[0].reference), clip, &vocab, 80);
        // A fact of another clip that is false here.
        let other = clips
            .iter()
            .flat_map(|c| &c.facts)
            .find(|f| !clip.facts.contains(f) && !f.starts_with("I am in"))
            .unwrap();
        let wrong = score(other, None, clip, &vocab, 80);
        assert!(wrong.correctness < good.correctness);
        let repeated = score(&clip.reference, Some(&clip.reference), clip, &vocab, 80);
        assert!(repeated.repetition > 0.99);
        let long = score(&clip.facts.join(" "), None, clip, &vocab, 20);
        assert!(long.length < 0.0, "{long:?}");
        assert!(long.richness > good.richness, "listing every fact is rich");
        let garbage = score("The zebra dances", None, clip, &vocab, 80);
        assert!((garbage.format + 1.0).abs() < 1e-9);
        let w = RewardWeights::default();
        assert!(good.total(&w, 0.0) > wrong.total(&w, 0.0));
        assert!(good.total(&w, 0.0) > repeated.total(&w, 0.0));
    }

    #[test]
    fn the_same_fact_said_twice_counts_once_towards_richness() {
        let vocab = Vocab::world();
        let sim = Simulation::run(&WorldParams::new(7, 300_000));
        let clips = crate::world::truth::clips(&sim);
        let clip = clips
            .iter()
            .find(|c| !c.people.is_empty())
            .expect("someone is seen in five minutes");
        let room = clip.rooms[0].name();
        let face = format!("<face_{}>", clip.people[0].face);
        let judge = |text: String| score(&text, None, clip, &vocab, 80);
        let once = judge(format!("I am in the {room}."));
        let twice = judge(format!("I am in the {room}. I look around the {room}."));
        assert!(
            (once.richness - 1.0).abs() < 1e-9 && (twice.richness - 1.0).abs() < 1e-9,
            "{once:?} {twice:?}"
        );
        assert_eq!(
            twice.true_claims, 2,
            "both statements are still true claims"
        );
        let people = judge(format!("I am in the {room}. {face} stay in the {room}."));
        let doubled = judge(format!(
            "I am in the {room}. {face} and {face} stay in the {room}."
        ));
        assert!(
            (people.richness - 2.0).abs() < 1e-9 && (doubled.richness - 2.0).abs() < 1e-9,
            "{people:?} {doubled:?}"
        );
        assert!((people.correctness - 1.0).abs() < 1e-9);
    }

    #[test]
    fn kinds_the_questions_ask_for_are_worth_more_and_uniform_counts_facts() {
        let facts = [
            "I am in the kitchen.",
            "I am in the office.",
            "<face_2> wears a red shirt.",
            "<face_2> picks up the cup.",
        ];
        let support = ["<face_2> picks up the cup.", "I am in the kitchen."];
        let worth = KindUtility::from_questions(facts, support, 0.1);
        let event = statements("<face_2> picks up the cup.").claims[0].kind();
        assert_eq!(CLAIM_KINDS[event], "event");
        assert!((worth.0[event] - 1.0).abs() < 1e-9, "{worth:?}");
        assert!((worth.0[0] - 0.5).abs() < 1e-9, "rooms: asked once of two");
        assert!(
            (worth.0[1] - 0.1).abs() < 1e-9,
            "outfits: never asked, the floor"
        );
        let none = KindUtility::from_questions(facts, [], 0.1);
        assert_eq!(none, KindUtility::default());
        let events = KindUtility::events_first(0.1);
        assert!((events.0[event] - 1.0).abs() < 1e-9 && (events.0[0] - 0.1).abs() < 1e-9);

        let sim = Simulation::run(&WorldParams::new(7, 300_000));
        let clips = crate::world::truth::clips(&sim);
        let vocab = Vocab::world();
        for clip in &clips {
            let uniform = KindUtility::default().richness(&clip.reference, clip);
            let terms = score(&clip.reference, None, clip, &vocab, 80);
            assert!(
                (uniform - terms.richness).abs() < 1e-9,
                "{}",
                clip.reference
            );
        }
    }
}
