//! Phase Two's reward model: defined by the recent tasks of a type (the last N the stream has
//! seen), it scores how helpful a description alone is for answering a sample of 5 of them.
//! The built-in judge reads the description as the built-in answerer would
//! ([`crate::eval::answer::helpfulness`]); an LLM behind an
//! `OpenAI`-compatible endpoint judges through the same [`Judge`] trait
//! (`crate::remote::judge::RemoteJudge`, chosen with `--judge remote` or in the Phase Two window).
//! Every pair is judged in both orders; a winner that flips with the order, and a tie, drop it.

use crate::eval::answer::{Question, helpfulness};
use crate::tasks::Task;
use crate::world::rng::Rng;

/// How many recent tasks each judgement samples (TaskMem's choice).
pub const TASKS_PER_JUDGEMENT: usize = 5;

/// The recent tasks of one type that define the reward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRewardModel {
    pub task_type: Option<String>,
    /// Oldest first; at most `recent`.
    pub tasks: Vec<Task>,
}

impl TaskRewardModel {
    /// The last `recent` tasks of `task_type` (all types when `None`) by ask time, in the
    /// order the streams are given (a later stream's tasks come after an earlier one's).
    #[must_use]
    pub fn recent(tasks: &[Task], task_type: Option<&str>, recent: usize) -> Self {
        let mut picked: Vec<(usize, &Task)> = tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| task_type.is_none_or(|want| t.task_type == want))
            .collect();
        // Stable: tasks keep their stream order; within a stream, by ask time.
        let mut stream_order: Vec<&str> = Vec::new();
        for (_, t) in &picked {
            if !stream_order.contains(&t.stream.as_str()) {
                stream_order.push(&t.stream);
            }
        }
        picked.sort_by_key(|(i, t)| {
            (
                stream_order
                    .iter()
                    .position(|s| *s == t.stream)
                    .unwrap_or(0),
                t.ask_ms,
                *i,
            )
        });
        let skip = picked.len().saturating_sub(recent);
        Self {
            task_type: task_type.map(str::to_owned),
            tasks: picked
                .into_iter()
                .skip(skip)
                .map(|(_, t)| t.clone())
                .collect(),
        }
    }

    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        self.tasks.iter().map(|t| t.id.clone()).collect()
    }

    /// A seeded sample of [`TASKS_PER_JUDGEMENT`] tasks (all of them when there are fewer).
    #[must_use]
    pub fn sample(&self, rng: &mut Rng) -> Vec<Question> {
        let mut pool: Vec<&Task> = self.tasks.iter().collect();
        let mut out = Vec::new();
        while out.len() < TASKS_PER_JUDGEMENT && !pool.is_empty() {
            out.push(Question::of_task(pool.swap_remove(rng.below(pool.len()))));
        }
        out
    }
}

/// Which of two descriptions helps more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preference {
    First,
    Second,
    Tie,
}

/// A judge's verdict on one ordered pair, with the score it gave each description.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub preference: Preference,
    pub first_score: f64,
    pub second_score: f64,
}

/// Why a judge could not judge (a remote judge can fail; the built-in one cannot).
#[derive(Debug, thiserror::Error)]
#[error("judge {name}: {message}")]
pub struct JudgeError {
    pub name: String,
    pub message: String,
}

/// Decides which of two descriptions of the same clip helps more with `tasks`.
pub trait Judge: Send + Sync {
    fn name(&self) -> String;
    fn judge(&self, first: &str, second: &str, tasks: &[Question]) -> Result<Verdict, JudgeError>;
    /// How many judgements may run at once: a remote judge waits on the wire, so a clip's
    /// samples are judged side by side; the built-in one only computes.
    fn concurrency(&self) -> usize {
        1
    }
}

/// The built-in judge: mean [`helpfulness`] over the sampled tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinJudge;

/// Scores closer than this are a tie.
const TIE: f64 = 1e-9;

impl Judge for BuiltinJudge {
    fn name(&self) -> String {
        "builtin".to_owned()
    }

    fn judge(&self, first: &str, second: &str, tasks: &[Question]) -> Result<Verdict, JudgeError> {
        let score = |d: &str| {
            if tasks.is_empty() {
                0.0
            } else {
                tasks.iter().map(|t| helpfulness(d, t)).sum::<f64>() / tasks.len() as f64
            }
        };
        let (a, b) = (score(first), score(second));
        let preference = if (a - b).abs() < TIE {
            Preference::Tie
        } else if a > b {
            Preference::First
        } else {
            Preference::Second
        };
        Ok(Verdict {
            preference,
            first_score: a,
            second_score: b,
        })
    }
}

/// The outcome of judging a pair in both orders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PairOutcome {
    /// `a` won both ways, with its score and the loser's (as given in the a-first order).
    AWins {
        a_score: f64,
        b_score: f64,
    },
    BWins {
        a_score: f64,
        b_score: f64,
    },
    Tie,
    /// The winner changed with the order: the judge has a position bias here.
    Flipped,
}

/// The judge's two verdicts on a pair: `a` read first, then `b` read first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BothOrders {
    pub a_first: Verdict,
    pub b_first: Verdict,
}

impl BothOrders {
    /// The pair's outcome: a winner only when both orders agree on it.
    #[must_use]
    pub fn outcome(&self) -> PairOutcome {
        let (ab, ba) = (self.a_first, self.b_first);
        match (ab.preference, ba.preference) {
            (Preference::First, Preference::Second) => PairOutcome::AWins {
                a_score: ab.first_score,
                b_score: ab.second_score,
            },
            (Preference::Second, Preference::First) => PairOutcome::BWins {
                a_score: ab.first_score,
                b_score: ab.second_score,
            },
            (Preference::Tie, Preference::Tie) => PairOutcome::Tie,
            _ => PairOutcome::Flipped,
        }
    }

    /// `a`'s and `b`'s scores in each order: `[(a, b) read a-first, (a, b) read b-first]`.
    #[must_use]
    pub fn scores(&self) -> [(f64, f64); 2] {
        [
            (self.a_first.first_score, self.a_first.second_score),
            (self.b_first.second_score, self.b_first.first_score),
        ]
    }
}

/// Judges `a` against `b` and `b` against `a`.
///
/// # Errors
/// When the judge fails.
pub fn judge_both_orders(
    judge: &dyn Judge,
    a: &str,
    b: &str,
    tasks: &[Question],
) -> Result<BothOrders, JudgeError> {
    Ok(BothOrders {
        a_first: judge.judge(a, b, tasks)?,
        b_first: judge.judge(b, a, tasks)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, stream: &str, ask_ms: i64, task_type: &str, text: &str) -> Task {
        let mut t = Task::authored(id.into(), stream, ask_ms, "test");
        t.task_type = task_type.into();
        t.text = text.into();
        t
    }

    const COUNT_Q: &str = "How many apples were on the kitchen table at 00:00:20?";

    #[test]
    fn the_reward_model_keeps_the_last_n_tasks_of_its_type() {
        let tasks = vec![
            task("a", "s1", 50_000, "Counting Problem", COUNT_Q),
            task("b", "s1", 10_000, "Counting Problem", COUNT_Q),
            task(
                "c",
                "s1",
                20_000,
                "OCR Problems",
                "What did the sign in the garden read around 00:00:05?",
            ),
            task("d", "s2", 5_000, "Counting Problem", COUNT_Q),
        ];
        let model = TaskRewardModel::recent(&tasks, Some("Counting Problem"), 2);
        assert_eq!(model.ids(), vec!["a", "d"], "s1 by ask time, then s2");
        let mut rng = Rng::new(1);
        assert_eq!(model.sample(&mut rng).len(), 2);
    }

    /// A judge that always prefers whatever it reads first.
    struct AlwaysFirst;

    impl Judge for AlwaysFirst {
        fn name(&self) -> String {
            "first".into()
        }
        fn judge(&self, _: &str, _: &str, _: &[Question]) -> Result<Verdict, JudgeError> {
            Ok(Verdict {
                preference: Preference::First,
                first_score: 1.0,
                second_score: 0.0,
            })
        }
    }

    #[test]
    fn pair_judging_is_symmetric_and_a_position_biased_judge_is_dropped() {
        let tasks = vec![Question {
            id: "q".into(),
            text: COUNT_Q.into(),
            options: Vec::new(),
            ask_ms: 0,
        }];
        let rich = "In the kitchen, there are 3 apples on the kitchen table.";
        let plain = "In the kitchen, I pick up the red cup from the kitchen table.";
        let ab = judge_both_orders(&BuiltinJudge, rich, plain, &tasks)
            .unwrap()
            .outcome();
        let ba = judge_both_orders(&BuiltinJudge, plain, rich, &tasks)
            .unwrap()
            .outcome();
        assert!(matches!(ab, PairOutcome::AWins { a_score, b_score } if a_score > b_score));
        assert!(matches!(ba, PairOutcome::BWins { a_score, b_score } if a_score < b_score));
        assert_eq!(
            judge_both_orders(&BuiltinJudge, plain, plain, &tasks)
                .unwrap()
                .outcome(),
            PairOutcome::Tie
        );

        let biased = judge_both_orders(&AlwaysFirst, rich, plain, &tasks).unwrap();
        assert_eq!(biased.outcome(), PairOutcome::Flipped);
        assert_eq!(
            biased.scores(),
            [(1.0, 0.0), (0.0, 1.0)],
            "each description's score in each order, for the panel to show the flip"
        );
    }
}
