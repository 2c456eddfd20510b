//! The headroom oracle (`taskmem bench budget`): how much a per-clip token budget leaves
//! answerable with perfect perception, and how much of that depends on *what* is memorized.
//!
//! Each clip's memory is made only of its true facts (truth.jsonl `facts`), taken in an order
//! while they fit a token budget, counted with the built-in policy's tokenizer
//! ([`Vocab::encode`], the same count the policy's budget caps: the description's tokens, no
//! BOS or EOS). Two orders are compared:
//! - **generic**: events first, then everything else, the same for every task type;
//! - **focused**: the fact kinds a question's task type is answered from first ([`focus`]),
//!   then the generic order. It is an order over *kinds* per type, never the question's own
//!   support facts.
//!
//! A fact that does not fit in what is left of the budget is skipped and the next one tried
//! (whole facts only), so a long fact never hides the short ones behind it.
//!
//! A question is answerable when every one of its `support` facts is in the memory of a clip
//! that its evidence spans cover (a support fact named twice, as the rooms of a synopsis can
//! be, needs two such memories holding it). The answer is then readable from memory; whether
//! an answerer reads it is another matter. The gap between the two orders at a budget is the
//! room that task focus (Phase Two) has; the generic share is what a perfect Phase One policy
//! reaches.
//!
//! Only the fields the oracle needs are read from suite.json, truth.jsonl and tasks.jsonl,
//! so that other fields may change without breaking it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::policy::lang::Vocab;
use crate::world::model::Verb;

/// The per-clip token budgets the oracle measures.
pub const BUDGETS: [usize; 4] = [16, 24, 32, 48];
/// The budget the world v3 headroom says to write under: at 24 tokens a clip's facts no longer
/// fit, so what is written decides which questions can be answered (the focused order beats
/// the generic one by 20 points or more on most types), yet the generic order still answers a
/// third of world-mme's test questions. Issue 26's floors are read at this budget.
pub const DEFAULT_BUDGET_TOKENS: usize = crate::policy::DEFAULT_BUDGET_TOKENS;
/// Issue 26's floors at the default budget: the focused order gains at least this many points
/// on at least [`FLOOR_TYPES`] types, and the generic order answers at least
/// [`FLOOR_GENERIC_PERCENT`] overall.
pub const FLOOR_GAIN_POINTS: f64 = 20.0;
pub const FLOOR_TYPES: usize = 6;
pub const FLOOR_GENERIC_PERCENT: f64 = 30.0;

/// Why a suite could not be measured; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {detail}", path.display())]
    Malformed { path: PathBuf, detail: String },
    #[error("{}: no stream in split '{split}' (the splits it lists: {listed})", path.display())]
    NoSuchSplit {
        path: PathBuf,
        split: String,
        listed: String,
    },
}

pub use crate::world::facts::{FactKind, classify};

const fn theirs(verb: Verb) -> FactKind {
    FactKind::Event { verb, by_me: false }
}

const fn mine(verb: Verb) -> FactKind {
    FactKind::Event { verb, by_me: true }
}

/// What each task type's questions are answered from, per `world::questions`: the fact kinds
/// of the support facts its question forms draw. Kinds, never a question's own facts: this
/// is what a policy told the task type (not the question) could know to keep.
const FOCUS: [(&str, &[FactKind]); 11] = [
    // "What color was the cup <face_N> picked up?": their pick-up names the color.
    ("Attribute Perception", &[theirs(Verb::PicksUp)]),
    // "Which object did <face_N> give to ...?": their give.
    ("Object Recognition", &[theirs(Verb::Gives)]),
    // "What did <face_N> do with ...?": opened, closed, ate, drank from or used.
    (
        "Action Recognition",
        &[
            theirs(Verb::Opens),
            theirs(Verb::Closes),
            theirs(Verb::Eats),
            theirs(Verb::Drinks),
            theirs(Verb::Uses),
        ],
    ),
    // "Where did <face_N> put ...?": their put-down.
    ("Spatial Reasoning", &[theirs(Verb::PutsDown)]),
    // EgoLife's two forms: "Where did I leave ...?" (my put-down) and "Who used ... first?"
    // (their use).
    ("EntityLog", &[mine(Verb::PutsDown), theirs(Verb::Uses)]),
    // EgoTempo: "What did <face_N> open / close / drink from / use around ...?" (the object
    // of one action), and "What did <face_N> pick up after entering ...?" (their entry and
    // pick-up).
    (
        "action-specific object",
        &[
            theirs(Verb::Opens),
            theirs(Verb::Closes),
            theirs(Verb::Drinks),
            theirs(Verb::Uses),
            theirs(Verb::Enters),
            theirs(Verb::PicksUp),
        ],
    ),
    // "In what order did <face_N> do these things?": any two of a person's events (people
    // never walk between rooms; only I do).
    (
        "Temporal Perception",
        &[
            theirs(Verb::PicksUp),
            theirs(Verb::PutsDown),
            theirs(Verb::Gives),
            theirs(Verb::Opens),
            theirs(Verb::Closes),
            theirs(Verb::Eats),
            theirs(Verb::Drinks),
            theirs(Verb::Uses),
            theirs(Verb::Enters),
            theirs(Verb::Leaves),
            theirs(Verb::Writes),
        ],
    ),
    // "Who was holding ... when I left the ...?": the event that put it in their hands (their
    // pick-up or entry carrying it, or a give to them) and my walk out of the room.
    (
        "Object Reasoning",
        &[
            theirs(Verb::PicksUp),
            theirs(Verb::Enters),
            theirs(Verb::Gives),
            mine(Verb::Gives),
            mine(Verb::WalksTo),
        ],
    ),
    // "How many apples were on ...?": the count.
    ("Counting Problem", &[FactKind::Count]),
    // "What did the sign in the garden read?": the text.
    ("OCR Problems", &[FactKind::Text]),
    // "Which rooms did I go through ...?": each clip's room and my walks.
    (
        "Information Synopsis",
        &[FactKind::Room, mine(Verb::WalksTo)],
    ),
];

/// The fact kinds a task type is answered from; empty for a type the table does not know (its
/// focused order is then the generic one).
#[must_use]
pub fn focus(task_type: &str) -> &'static [FactKind] {
    FOCUS
        .iter()
        .find(|(t, _)| *t == task_type)
        .map_or(&[], |(_, kinds)| kinds)
}

/// The facts a clip's memory keeps under `budget` tokens: `focus` kinds first (an empty focus
/// is the generic order), then events, then the rest, each group in the clip's own order; a
/// fact that does not fit what is left is skipped. Returns indices into `facts`, in the order
/// taken.
#[must_use]
pub fn memory(facts: &[String], focus: &[FactKind], budget: usize, vocab: &Vocab) -> Vec<usize> {
    let rank = |fact: &str| {
        let kind = classify(fact);
        if focus.contains(&kind) {
            0
        } else if kind.is_event() {
            1
        } else {
            2
        }
    };
    let mut order: Vec<usize> = (0..facts.len()).collect();
    order.sort_by_key(|&i| rank(&facts[i]));
    let mut used = 0;
    let mut kept = Vec::new();
    for i in order {
        let tokens = vocab.encode(&facts[i]).len();
        if used + tokens <= budget {
            used += tokens;
            kept.push(i);
        }
    }
    kept
}

/// One clip of a stream's truth.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Clip {
    pub start_ms: i64,
    pub end_ms: i64,
    pub facts: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// One question of a stream's tasks.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Question {
    pub id: String,
    pub task_type: String,
    pub evidence: Vec<Span>,
    pub support: Vec<String>,
}

/// A stream's clips and questions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub clips: Vec<Clip>,
    pub questions: Vec<Question>,
}

/// Whether every support fact of `q` is in the memory (`kept`, per clip, as indices into the
/// clip's facts) of a clip its evidence spans cover.
#[must_use]
pub fn answerable(q: &Question, clips: &[Clip], kept: &[Vec<usize>]) -> bool {
    if q.support.is_empty() {
        // A question that names no support says nothing about memory: never counted as read.
        return false;
    }
    let mut held: HashMap<&str, usize> = HashMap::new();
    for (clip, kept) in clips.iter().zip(kept) {
        let covered = q
            .evidence
            .iter()
            .any(|s| clip.start_ms < s.end_ms && clip.end_ms > s.start_ms);
        if covered {
            for &i in kept {
                *held.entry(clip.facts[i].as_str()).or_insert(0) += 1;
            }
        }
    }
    let mut needed: HashMap<&str, usize> = HashMap::new();
    for fact in &q.support {
        *needed.entry(fact.as_str()).or_insert(0) += 1;
    }
    needed
        .iter()
        .all(|(fact, n)| held.get(fact).copied().unwrap_or(0) >= *n)
}

/// Shares in percent, one decimal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Shares {
    pub generic: f64,
    pub focused: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TypeShares {
    pub n: usize,
    pub generic: f64,
    pub focused: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetRow {
    pub budget_tokens: usize,
    pub types: BTreeMap<String, TypeShares>,
    /// Over all questions of the split (each question counts once, whatever its type).
    pub overall: Shares,
}

/// What `taskmem bench budget --json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetReport {
    pub suite: String,
    pub split: String,
    pub budgets: Vec<BudgetRow>,
    /// Questions not answerable even from every fact of their clips (their support is not in
    /// the truth of their evidence clips): a check on the data, not a budget effect.
    #[serde(skip)]
    pub beyond_truth: Vec<String>,
    /// Task types with no focus order in the table (their focused share is the generic one).
    #[serde(skip)]
    pub unfocused_types: Vec<String>,
}

fn percent(count: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (1000.0 * count as f64 / n as f64).round() / 10.0
    }
}

/// The oracle over streams already read, at each of `budgets`.
#[must_use]
pub fn measure(
    suite: &str,
    split: &str,
    streams: &[Stream],
    budgets: &[usize],
    vocab: &Vocab,
) -> BudgetReport {
    let types: BTreeSet<&str> = streams
        .iter()
        .flat_map(|s| s.questions.iter().map(|q| q.task_type.as_str()))
        .collect();
    let mut rows = Vec::new();
    for &budget in budgets {
        // Per type: (n, generic, focused) answerable counts.
        let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
        for stream in streams {
            let generic: Vec<Vec<usize>> = stream
                .clips
                .iter()
                .map(|c| memory(&c.facts, &[], budget, vocab))
                .collect();
            let focused: HashMap<&str, Vec<Vec<usize>>> = types
                .iter()
                .map(|&t| {
                    let kinds = focus(t);
                    let kept = stream
                        .clips
                        .iter()
                        .map(|c| memory(&c.facts, kinds, budget, vocab))
                        .collect();
                    (t, kept)
                })
                .collect();
            for q in &stream.questions {
                let entry = counts.entry(q.task_type.as_str()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(answerable(q, &stream.clips, &generic));
                if let Some(kept) = focused.get(q.task_type.as_str()) {
                    entry.2 += usize::from(answerable(q, &stream.clips, kept));
                }
            }
        }
        let (n, g, f) = counts
            .values()
            .fold((0, 0, 0), |(n, g, f), c| (n + c.0, g + c.1, f + c.2));
        rows.push(BudgetRow {
            budget_tokens: budget,
            types: counts
                .iter()
                .map(|(t, &(n, g, f))| {
                    let shares = TypeShares {
                        n,
                        generic: percent(g, n),
                        focused: percent(f, n),
                    };
                    ((*t).to_owned(), shares)
                })
                .collect(),
            overall: Shares {
                generic: percent(g, n),
                focused: percent(f, n),
            },
        });
    }
    let beyond_truth = streams
        .iter()
        .flat_map(|s| {
            let all: Vec<Vec<usize>> = s
                .clips
                .iter()
                .map(|c| (0..c.facts.len()).collect())
                .collect();
            s.questions
                .iter()
                .filter(move |q| !answerable(q, &s.clips, &all))
                .map(|q| q.id.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    BudgetReport {
        suite: suite.to_owned(),
        split: split.to_owned(),
        budgets: rows,
        beyond_truth,
        unfocused_types: types
            .iter()
            .filter(|t| focus(t).is_empty())
            .map(|t| (*t).to_owned())
            .collect(),
    }
}

/// The parts of suite.json the oracle reads.
#[derive(Deserialize)]
struct SuiteFile {
    suite: Option<String>,
    streams: Vec<StreamEntry>,
}

#[derive(Deserialize)]
struct StreamEntry {
    folder: String,
    split: String,
}

fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Vec<T>, BudgetError> {
    crate::fsutil::read_jsonl(path).map_err(|e| match e {
        crate::fsutil::JsonlError::Io(source) => BudgetError::Read {
            path: path.to_path_buf(),
            source,
        },
        crate::fsutil::JsonlError::Line { line, detail } => BudgetError::Malformed {
            path: path.to_path_buf(),
            detail: format!("line {line}: not {what}: {detail}"),
        },
    })
}

/// Reads the streams of one split of a suite folder (one with suite.json): the suite's name
/// (suite.json's, else the folder's) and each stream's truth.jsonl and tasks.jsonl.
///
/// # Errors
/// suite.json missing or not a suite, a split it does not list, or a stream's file missing or
/// malformed; each names the file.
pub fn read_split(suite: &Path, split: &str) -> Result<(String, Vec<Stream>), BudgetError> {
    let path = suite.join("suite.json");
    let text = std::fs::read_to_string(&path).map_err(|source| BudgetError::Read {
        path: path.clone(),
        source,
    })?;
    let file: SuiteFile = serde_json::from_str(&text).map_err(|e| BudgetError::Malformed {
        path: path.clone(),
        detail: format!("not a suite: {e}"),
    })?;
    let plans: Vec<&StreamEntry> = file.streams.iter().filter(|s| s.split == split).collect();
    if plans.is_empty() {
        let listed: BTreeSet<&str> = file.streams.iter().map(|s| s.split.as_str()).collect();
        return Err(BudgetError::NoSuchSplit {
            path,
            split: split.to_owned(),
            listed: if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.into_iter().collect::<Vec<_>>().join(", ")
            },
        });
    }
    let mut streams = Vec::new();
    for plan in plans {
        let dir = suite.join(&plan.folder);
        let clips = read_jsonl(&dir.join("truth.jsonl"), "a clip's truth")?;
        let questions = read_jsonl(&dir.join("tasks.jsonl"), "a question")?;
        streams.push(Stream { clips, questions });
    }
    let name = file.suite.unwrap_or_else(|| {
        suite.file_name().map_or_else(
            || suite.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    Ok((name, streams))
}

/// Reads a suite's split and measures it at [`BUDGETS`].
///
/// # Errors
/// As [`read_split`].
pub fn run(suite: &Path, split: &str) -> Result<BudgetReport, BudgetError> {
    let (name, streams) = read_split(suite, split)?;
    Ok(measure(&name, split, &streams, &BUDGETS, &Vocab::world()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fact sentences of the fixture, with their token counts (checked below).
    const R_K: &str = "I am in the kitchen."; // 6
    const R_G: &str = "I am in the garden."; // 6
    const R_O: &str = "I am in the office."; // 6
    const O1: &str = "<face_1> wears a red outfit."; // 6
    const O3: &str = "<face_3> wears a blue outfit."; // 6
    const P1: &str = "The blue cup is on the kitchen table."; // 9
    const C1: &str = "There are 3 apples on the kitchen table."; // 9
    const T1: &str = "The sign in the garden reads \"TEMP 23C\"."; // 13
    const E_PICK: &str = "<face_1> picks up the red cup from the kitchen table."; // 11
    const E_PUT: &str = "<face_1> puts the red cup on the kitchen counter."; // 10
    const E_WALK: &str = "I walk to the garden from the kitchen."; // 9
    const E_OPEN: &str = "<face_2> opens the yellow bag."; // 6
    const E_ENTER: &str = "<face_2> enters the kitchen."; // 5
    const E_A: &str = "<face_3> enters the office."; // 5
    const E_B: &str = "<face_3> opens the green box."; // 6
    const E_C: &str = "I pick up the red key from the office desk."; // 11
    const E_D: &str = "<face_3> closes the green box."; // 6
    const E_F: &str = "<face_3> puts the green box on the office shelf."; // 10
    const E_H: &str = "<face_2> picks up the red key from the office desk."; // 11
    const E_E: &str = "<face_3> leaves the office."; // 5

    fn clip(i: i64, facts: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "clip": i, "start_ms": i * 10_000, "end_ms": (i + 1) * 10_000,
            "rooms": [], "facts": facts,
        })
    }

    fn question(
        id: &str,
        task_type: &str,
        clips: (i64, i64),
        support: &[&str],
    ) -> serde_json::Value {
        serde_json::json!({
            "id": id, "text": "?", "options": [], "answer": "", "task_type": task_type,
            "style": "videomme", "ask_ms": clips.1 * 10_000 + 5_000,
            "evidence": [{"start_ms": clips.0 * 10_000, "end_ms": clips.1 * 10_000}],
            "support": support, "source": "fixture",
        })
    }

    fn write_jsonl(path: &Path, rows: &[serde_json::Value]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text: String = rows.iter().map(|r| r.to_string() + "\n").collect();
        std::fs::write(path, text).unwrap();
    }

    /// Two test streams (and a train stream that is listed but absent: only the split asked
    /// for is read).
    fn fixture(dir: &Path) {
        std::fs::write(
            dir.join("suite.json"),
            serde_json::json!({"suite": "fixture", "streams": [
                {"folder": "test/a", "split": "test", "seed": 1, "duration_ms": 30_000},
                {"folder": "test/b", "split": "test", "seed": 2, "duration_ms": 20_000},
                {"folder": "train/absent", "split": "train", "seed": 3, "duration_ms": 10_000},
            ]})
            .to_string(),
        )
        .unwrap();
        let a = dir.join("test/a");
        write_jsonl(
            &a.join("truth.jsonl"),
            &[
                clip(0, &[R_K, O1, P1, C1, E_PICK, E_PUT]),
                clip(1, &[R_K, E_WALK, T1]),
                clip(2, &[R_G, E_OPEN, E_ENTER]),
            ],
        );
        write_jsonl(
            &a.join("tasks.jsonl"),
            &[
                question("q1", "Counting Problem", (0, 1), &[C1]),
                question("q2", "Spatial Reasoning", (0, 1), &[E_PUT]),
                question("q3", "Attribute Perception", (0, 1), &[E_PICK]),
                question("q4", "OCR Problems", (1, 2), &[T1]),
                question("q5", "Information Synopsis", (1, 3), &[R_K, E_WALK, R_G]),
                // Its support lies in clip 1, outside its evidence: never answerable.
                question("q10", "OCR Problems", (0, 1), &[T1]),
            ],
        );
        let b = dir.join("test/b");
        write_jsonl(
            &b.join("truth.jsonl"),
            &[
                clip(0, &[R_O, O3, E_A, E_B, E_C]),
                clip(1, &[R_O, E_D, E_F, E_H, E_E]),
            ],
        );
        write_jsonl(
            &b.join("tasks.jsonl"),
            &[
                question("q6", "Temporal Perception", (0, 1), &[E_A, E_B]),
                // The office twice: both clips' memories must hold it.
                question("q7", "Information Synopsis", (0, 2), &[R_O, R_O]),
                question("q8", "Temporal Perception", (1, 2), &[E_D, E_E]),
                question("q9", "Mystery", (0, 1), &[O3]),
            ],
        );
    }

    #[test]
    fn the_fixture_facts_have_the_token_counts_the_hand_computation_uses() {
        let vocab = Vocab::world();
        let counts = [
            (R_K, 6),
            (R_G, 6),
            (R_O, 6),
            (O1, 6),
            (O3, 6),
            (P1, 9),
            (C1, 9),
            (T1, 13),
            (E_PICK, 11),
            (E_PUT, 10),
            (E_WALK, 9),
            (E_OPEN, 6),
            (E_ENTER, 5),
            (E_A, 5),
            (E_B, 6),
            (E_C, 11),
            (E_D, 6),
            (E_F, 10),
            (E_H, 11),
            (E_E, 5),
        ];
        for (fact, n) in counts {
            let ids = vocab.encode(fact);
            assert!(!ids.contains(&crate::policy::lang::UNK), "{fact}");
            assert_eq!(ids.len(), n, "{fact}");
        }
    }

    #[test]
    fn facts_are_classified_by_their_sentence_pattern() {
        let event = |verb, by_me| FactKind::Event { verb, by_me };
        for (fact, kind) in [
            (R_K, FactKind::Room),
            (O1, FactKind::Outfit),
            (P1, FactKind::ObjectPlace),
            ("The red key is in my hands.", FactKind::ObjectPlace),
            ("The red key is held by <face_2>.", FactKind::ObjectPlace),
            (T1, FactKind::Text),
            (C1, FactKind::Count),
            ("There is 1 apple on the kitchen shelf.", FactKind::Count),
            (E_PICK, event(Verb::PicksUp, false)),
            (E_PUT, event(Verb::PutsDown, false)),
            (
                "I put the red key on the office desk.",
                event(Verb::PutsDown, true),
            ),
            (E_WALK, event(Verb::WalksTo, true)),
            (E_C, event(Verb::PicksUp, true)),
            (E_OPEN, event(Verb::Opens, false)),
            (E_D, event(Verb::Closes, false)),
            (E_E, event(Verb::Leaves, false)),
            (
                "<face_1> gives the red cup to me.",
                event(Verb::Gives, false),
            ),
            ("I give the red cup to <face_1>.", event(Verb::Gives, true)),
            ("<face_1> eats a red apple.", event(Verb::Eats, false)),
            (
                "<face_1> drinks from the red cup.",
                event(Verb::Drinks, false),
            ),
            ("<face_1> uses the red phone.", event(Verb::Uses, false)),
            (
                "<face_1> writes \"CALL 5\" on the whiteboard in the office.",
                event(Verb::Writes, false),
            ),
            (
                "<face_1> enters the garden carrying a red cup.",
                event(Verb::Enters, false),
            ),
            ("A zebra sings.", FactKind::Other),
        ] {
            assert_eq!(classify(fact), kind, "{fact}");
        }
    }

    #[test]
    fn every_fact_the_world_writes_has_a_known_kind() {
        let sim =
            crate::world::sim::Simulation::run(&crate::world::sim::WorldParams::new(7, 300_000));
        for clip in crate::world::truth::clips(&sim) {
            for fact in &clip.facts {
                assert_ne!(classify(fact), FactKind::Other, "{fact}");
            }
        }
    }

    #[test]
    fn a_fact_that_does_not_fit_is_skipped_and_the_next_tried() {
        let facts: Vec<String> = [R_O, E_D, E_F, E_H, E_E].map(str::to_owned).to_vec();
        let vocab = Vocab::world();
        // Generic: events (6, 10, 11, 5) then the room (6). At 24: 6 + 10, the 11 does not
        // fit (27), the 5 does (21), the room does not (27).
        assert_eq!(memory(&facts, &[], 24, &vocab), vec![1, 2, 4]);
        // Focused on rooms: the room first.
        assert_eq!(
            memory(&facts, focus("Information Synopsis"), 16, &vocab),
            vec![0, 1]
        );
    }

    #[test]
    fn the_fixture_suite_gives_the_shares_computed_by_hand() {
        // Memories per clip, generic order (events, then the rest; a fact that does not fit
        // is skipped), with token counts in brackets:
        // a0 [R_K 6, O1 6, P1 9, C1 9, E_PICK 11, E_PUT 10] -> E_PICK, E_PUT, R_K, O1, P1, C1:
        //    16: E_PICK | 24: +E_PUT | 32: +R_K | 48: +O1 +P1 (C1 would make 51)
        // a1 [R_K 6, E_WALK 9, T1 13] -> 16, 24: E_WALK R_K | 32, 48: all
        // a2 [R_G 6, E_OPEN 6, E_ENTER 5] -> 16: E_OPEN E_ENTER | 24+: all
        // b0 [R_O 6, O3 6, E_A 5, E_B 6, E_C 11] -> 16: E_A E_B | 24: +E_C | 32: +R_O | 48: all
        // b1 [R_O 6, E_D 6, E_F 10, E_H 11, E_E 5] -> 16: E_D E_F | 24: E_D E_F E_E (E_H
        //    skipped) | 32: E_D E_F E_H E_E | 48: all
        //
        // Generic, per question at 16 / 24 / 32 / 48:
        // q1 Counting [C1]: N N N N          q2 Spatial [E_PUT]: N Y Y Y
        // q3 Attribute [E_PICK]: Y Y Y Y     q4 OCR [T1 in a1]: N N Y Y
        // q5 Synopsis [R_K a1, E_WALK, R_G a2]: N Y Y Y (R_G is out of a2 at 16)
        // q10 OCR [T1, evidence a0]: N N N N
        // q6 Temporal [E_A, E_B]: Y Y Y Y    q8 Temporal [E_D, E_E]: N Y Y Y
        // q7 Synopsis [R_O twice, b0-b1]: N N N Y (at 32 only b0 holds it: one of two)
        // q9 Mystery [O3]: N N N Y
        // Overall of 10: 2, 5, 6, 8.
        //
        // Focused: the type's kinds first, then the generic order.
        // q1: C1 first -> Y Y Y Y; q2: E_PUT first -> Y Y Y Y; q3 Y Y Y Y; q4: T1 first ->
        // Y Y Y Y; q5: rooms and my walks first (a1: R_K E_WALK = 15; a2: R_G first) -> Y Y Y Y;
        // q10 N N N N; q6 Y Y Y Y; q7: R_O first in b0 and b1 -> Y Y Y Y; q8: people's events
        // first is the generic order here -> N Y Y Y; q9: an unknown type, the generic order ->
        // N N N Y. Overall of 10: 7, 8, 8, 9.
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path());
        let report = run(dir.path(), "test").unwrap();
        assert_eq!(report.suite, "fixture");
        assert_eq!(report.split, "test");
        assert_eq!(report.beyond_truth, vec!["q10".to_owned()]);
        assert_eq!(report.unfocused_types, vec!["Mystery".to_owned()]);
        let budgets: Vec<usize> = report.budgets.iter().map(|b| b.budget_tokens).collect();
        assert_eq!(budgets, BUDGETS);
        let expected: [(&str, usize, [f64; 4], [f64; 4]); 7] = [
            ("Attribute Perception", 1, [100.0; 4], [100.0; 4]),
            ("Counting Problem", 1, [0.0; 4], [100.0; 4]),
            (
                "Information Synopsis",
                2,
                [0.0, 50.0, 50.0, 100.0],
                [100.0; 4],
            ),
            ("Mystery", 1, [0.0, 0.0, 0.0, 100.0], [0.0, 0.0, 0.0, 100.0]),
            ("OCR Problems", 2, [0.0, 0.0, 50.0, 50.0], [50.0; 4]),
            (
                "Spatial Reasoning",
                1,
                [0.0, 100.0, 100.0, 100.0],
                [100.0; 4],
            ),
            (
                "Temporal Perception",
                2,
                [50.0, 100.0, 100.0, 100.0],
                [50.0, 100.0, 100.0, 100.0],
            ),
        ];
        for (b, row) in report.budgets.iter().enumerate() {
            let types: Vec<&str> = row.types.keys().map(String::as_str).collect();
            assert_eq!(types, expected.map(|e| e.0), "budget {}", row.budget_tokens);
            for (t, n, generic, focused) in expected {
                let got = row.types[t];
                assert_eq!(
                    (got.n, got.generic, got.focused),
                    (n, generic[b], focused[b]),
                    "{t} at {} tokens",
                    row.budget_tokens
                );
            }
        }
        let overall: Vec<(f64, f64)> = report
            .budgets
            .iter()
            .map(|b| (b.overall.generic, b.overall.focused))
            .collect();
        assert_eq!(
            overall,
            vec![(20.0, 70.0), (50.0, 80.0), (60.0, 80.0), (80.0, 90.0)]
        );
    }

    #[test]
    fn a_missing_split_or_suite_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path());
        let err = run(dir.path(), "validation").unwrap_err().to_string();
        assert!(err.contains("suite.json"), "{err}");
        assert!(
            err.contains("'validation'") && err.contains("test, train"),
            "{err}"
        );
        let err = run(&dir.path().join("nowhere"), "test")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nowhere") && err.contains("suite.json"),
            "{err}"
        );
        std::fs::write(dir.path().join("suite.json"), "{").unwrap();
        let err = run(dir.path(), "test").unwrap_err().to_string();
        assert!(err.contains("suite.json: not a suite"), "{err}");
        // A stream's file missing: named.
        fixture(dir.path());
        std::fs::remove_file(dir.path().join("test/b/tasks.jsonl")).unwrap();
        let err = run(dir.path(), "test").unwrap_err().to_string();
        assert!(err.contains("tasks.jsonl"), "{err}");
    }
}
