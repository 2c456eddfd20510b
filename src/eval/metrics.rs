//! TaskMem's metrics over answered questions: Acc = correct / all, Cov = answered / all
//! (not E), Prec = correct / answered, so Acc = Cov x Prec; with 95% intervals from a seeded
//! bootstrap over questions, overall and per task type, one set per lane. Below
//! [`MIN_N_FOR_INTERVAL`] questions (answered ones, for Prec) there is no interval: a
//! bootstrap of one question is [100, 100], which reads as certainty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One answered question: a row of the results table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRow {
    pub stream: String,
    pub task_id: String,
    pub task_type: String,
    pub ask_ms: i64,
    pub lane: String,
    /// A-D, E (insufficient information), or free text for an open question.
    pub answer: String,
    pub expected: String,
    pub correct: bool,
    pub abstained: bool,
    /// Memory entries available at the ask time, and the ones the answer rests on.
    pub entries_available: usize,
    pub entries_used: String,
}

/// A 95% interval, as fractions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The fewest questions a 95% interval is given for: resampling 4 or fewer questions gives
/// a handful of distinct values (one question: [100, 100] or [0, 0]), an interval that looks
/// certain and is not. Below it the interval is `null` in summary.json and reads
/// [`N_TOO_SMALL`] wherever it is shown.
pub const MIN_N_FOR_INTERVAL: usize = 5;

/// What an interval left out for too few questions reads as.
pub const N_TOO_SMALL: &str = "n too small";

/// Acc, Cov and Prec (fractions) of a set of questions. The intervals are `None` below
/// [`MIN_N_FOR_INTERVAL`] questions (for Prec: answered questions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub questions: usize,
    pub answered: usize,
    pub correct: usize,
    pub acc: f64,
    pub cov: f64,
    pub prec: f64,
    #[serde(default)]
    pub acc_ci: Option<Interval>,
    #[serde(default)]
    pub cov_ci: Option<Interval>,
    #[serde(default)]
    pub prec_ci: Option<Interval>,
}

impl Metrics {
    /// The accuracy interval worth showing: none for fewer than [`MIN_N_FOR_INTERVAL`]
    /// questions, also when an older summary.json stored one for them.
    #[must_use]
    pub fn acc_interval(&self) -> Option<Interval> {
        self.acc_ci.filter(|_| self.questions >= MIN_N_FOR_INTERVAL)
    }
}

/// An accuracy interval in percent as "[low, high]", or [`N_TOO_SMALL`].
#[must_use]
pub fn interval_text(interval: Option<Interval>) -> String {
    interval.map_or_else(
        || N_TOO_SMALL.to_owned(),
        |i| format!("[{:.1}, {:.1}]", i.low * 100.0, i.high * 100.0),
    )
}

/// Resamples for the bootstrap: enough for stable 2.5% and 97.5% percentiles.
const RESAMPLES: usize = 1000;

fn ratios(questions: usize, answered: usize, correct: usize) -> (f64, f64, f64) {
    let of = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (
        of(correct, questions),
        of(answered, questions),
        of(correct, answered),
    )
}

/// `SplitMix64`: a fixed, seeded bootstrap gives the same intervals on every run.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The metrics of `rows`, with bootstrap intervals seeded by `seed`.
#[must_use]
pub fn metrics(rows: &[&ResultRow], seed: u64) -> Metrics {
    let n = rows.len();
    let answered = rows.iter().filter(|r| !r.abstained).count();
    let correct = rows.iter().filter(|r| r.correct).count();
    let (acc, cov, prec) = ratios(n, answered, correct);
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    if n > 0 {
        let mut rng = SplitMix(seed);
        for _ in 0..RESAMPLES {
            let (mut a, mut c) = (0, 0);
            for _ in 0..n {
                let r = rows[rng.below(n)];
                a += usize::from(!r.abstained);
                c += usize::from(r.correct);
            }
            let (acc, cov, prec) = ratios(n, a, c);
            samples[0].push(acc);
            samples[1].push(cov);
            // A resample with nothing answered has no precision; it is left out.
            if a > 0 {
                samples[2].push(prec);
            }
        }
    }
    let interval = |s: &mut Vec<f64>, of: usize| {
        s.sort_by(f64::total_cmp);
        (of >= MIN_N_FOR_INTERVAL && !s.is_empty()).then(|| Interval {
            low: percentile(s, 0.025),
            high: percentile(s, 0.975),
        })
    };
    Metrics {
        questions: n,
        answered,
        correct,
        acc,
        cov,
        prec,
        acc_ci: interval(&mut samples[0], n),
        cov_ci: interval(&mut samples[1], n),
        prec_ci: interval(&mut samples[2], answered),
    }
}

/// One lane's metrics: the General lane, or an adapter's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneSummary {
    pub lane: String,
    #[serde(default)]
    pub adapter: Option<String>,
    /// The task type the adapter was tuned for.
    #[serde(default)]
    pub task_type: Option<String>,
    /// How many tasks the adapter was tuned on (Phase Two refreshes at 10, 30 and 50).
    #[serde(default)]
    pub tasks_seen: Option<usize>,
    /// How many of the questions evaluated here the adapter was tuned on: its accuracy on
    /// them is not held-out (0 for an honest split).
    #[serde(default)]
    pub tuned_on_evaluated: usize,
    /// Why the lane's adapter could not be read to make that check, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified_adapter: Option<String>,
    pub overall: Metrics,
    pub by_type: BTreeMap<String, Metrics>,
}

/// What an evaluation found: summary.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The suite or project evaluated.
    pub source: String,
    pub split: String,
    pub answerer: String,
    pub policy: String,
    pub questions: usize,
    pub seconds: f64,
    pub lanes: Vec<LaneSummary>,
    /// Why the result is empty or near-empty, in plain words (`eval::explain`); none when
    /// nothing needs saying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What is known of a lane before its rows are summed up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaneInfo {
    pub lane: String,
    pub adapter: Option<String>,
    pub task_type: Option<String>,
    pub tasks_seen: Option<usize>,
    /// The ids of the tasks the lane's adapter was tuned on (from its sidecar).
    pub tuned_on: Vec<String>,
    /// Why the lane's adapter could not be read, when it could not.
    pub unverified_adapter: Option<String>,
}

/// How the reason for an unchecked adapter ends when its file is not in the project (an
/// imported lane names an adapter without bringing it); such lanes share one warning.
pub const ADAPTER_NOT_IN_PROJECT: &str = "is not in the project";

/// One line per adapter lane tuned on some of the questions evaluated: its accuracy on them
/// says how well it memorizes for questions it has seen, not for new ones. Lanes whose
/// adapter files are not in the project share one line (an imported demo has seven).
#[must_use]
pub fn not_held_out(summary: &Summary) -> Vec<String> {
    let mut missing: Vec<(&str, &str)> = Vec::new();
    let mut out: Vec<String> = summary
        .lanes
        .iter()
        .filter_map(|l| {
            if l.tuned_on_evaluated > 0 {
                Some(format!(
                    "lane '{}' was tuned on {} of the {} questions evaluated here: its accuracy is not held-out (tune on other streams' tasks, e.g. a suite's train split)",
                    l.lane, l.tuned_on_evaluated, summary.questions
                ))
            } else {
                let why = l.unverified_adapter.as_deref()?;
                if why.ends_with(ADAPTER_NOT_IN_PROJECT) {
                    missing.push((l.lane.as_str(), why));
                    return None;
                }
                Some(format!(
                    "lane '{}': whether its adapter was tuned on these questions is unknown ({why})",
                    l.lane
                ))
            }
        })
        .collect();
    match missing.as_slice() {
        [] => {}
        [(lane, why)] => out.push(format!(
            "lane '{lane}': whether its adapter was tuned on these questions is unknown ({why})"
        )),
        [(_, first), ..] => {
            let names: Vec<String> = missing.iter().map(|(l, _)| format!("'{l}'")).collect();
            out.push(format!(
                "lanes {}: whether their adapters were tuned on these questions is unknown (their adapter files are not in the project; the first: {})",
                names.join(", "),
                first
                    .strip_prefix("its adapter file ")
                    .and_then(|f| f.strip_suffix(ADAPTER_NOT_IN_PROJECT))
                    .unwrap_or(first)
                    .trim()
            ));
        }
    }
    out
}

/// Sums rows up per lane (in `lanes` order) and per task type.
#[must_use]
pub fn summarize(rows: &[ResultRow], lanes: &[LaneInfo]) -> Vec<LaneSummary> {
    lanes
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let mine: Vec<&ResultRow> = rows.iter().filter(|r| r.lane == info.lane).collect();
            let mut types: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
            for r in &mine {
                types.entry(r.task_type.as_str()).or_default().push(r);
            }
            let seed = 0x5EED ^ ((i as u64) << 8);
            let mut tuned_here: Vec<&str> = mine
                .iter()
                .map(|r| r.task_id.as_str())
                .filter(|id| info.tuned_on.iter().any(|t| t == id))
                .collect();
            tuned_here.sort_unstable();
            tuned_here.dedup();
            LaneSummary {
                lane: info.lane.clone(),
                adapter: info.adapter.clone(),
                task_type: info.task_type.clone(),
                tasks_seen: info.tasks_seen,
                tuned_on_evaluated: tuned_here.len(),
                unverified_adapter: info.unverified_adapter.clone(),
                overall: metrics(&mine, seed),
                by_type: types
                    .into_iter()
                    .enumerate()
                    .map(|(k, (t, rs))| (t.to_owned(), metrics(&rs, seed ^ (k as u64 + 1))))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_tuned_on_questions_it_is_evaluated_on_is_flagged_once_per_question() {
        let mut rows = vec![
            row("adapter", "Counting Problem", true, false),
            row("adapter", "Counting Problem", false, false),
            row("builtin", "Counting Problem", false, true),
        ];
        rows[0].task_id = "seen".into();
        rows[1].task_id = "new".into();
        rows[2].task_id = "seen".into();
        let lanes = [
            LaneInfo {
                lane: "adapter".into(),
                tuned_on: vec!["seen".into(), "elsewhere".into()],
                ..LaneInfo::default()
            },
            LaneInfo {
                lane: "builtin".into(),
                ..LaneInfo::default()
            },
        ];
        let lanes = summarize(&rows, &lanes);
        assert_eq!(lanes[0].tuned_on_evaluated, 1);
        assert_eq!(lanes[1].tuned_on_evaluated, 0, "no adapter, nothing seen");
        let summary = Summary {
            source: "s".into(),
            split: "test".into(),
            answerer: "builtin".into(),
            policy: "p".into(),
            questions: 2,
            seconds: 0.0,
            lanes,
            notes: Vec::new(),
        };
        assert_eq!(
            not_held_out(&summary),
            vec![
                "lane 'adapter' was tuned on 1 of the 2 questions evaluated here: its accuracy is \
                 not held-out (tune on other streams' tasks, e.g. a suite's train split)"
                    .to_owned()
            ]
        );
        // An adapter that cannot be read: the check is said to be missing, not passed.
        let mut summary = summary;
        summary.lanes[0].tuned_on_evaluated = 0;
        summary.lanes[0].unverified_adapter = Some("a.safetensors: cannot read".into());
        assert_eq!(
            not_held_out(&summary),
            vec![
                "lane 'adapter': whether its adapter was tuned on these questions is unknown \
                 (a.safetensors: cannot read)"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn lanes_whose_adapter_files_are_missing_share_one_warning() {
        let lane = |name: &str| LaneSummary {
            lane: name.into(),
            adapter: None,
            task_type: None,
            tasks_seen: None,
            tuned_on_evaluated: 0,
            unverified_adapter: Some(format!(
                "its adapter file adapters/{name}.safetensors {ADAPTER_NOT_IN_PROJECT}"
            )),
            overall: Metrics::default(),
            by_type: BTreeMap::new(),
        };
        let mut summary = Summary {
            source: "p".into(),
            split: "project".into(),
            answerer: "builtin".into(),
            policy: "lanes".into(),
            questions: 7,
            seconds: 0.0,
            lanes: vec![lane("a"), lane("b"), lane("c")],
            notes: Vec::new(),
        };
        assert_eq!(
            not_held_out(&summary),
            vec![
                "lanes 'a', 'b', 'c': whether their adapters were tuned on these questions is \
                 unknown (their adapter files are not in the project; the first: \
                 adapters/a.safetensors)"
                    .to_owned()
            ]
        );
        summary.lanes.truncate(1);
        assert_eq!(
            not_held_out(&summary),
            vec![
                "lane 'a': whether its adapter was tuned on these questions is unknown (its \
                 adapter file adapters/a.safetensors is not in the project)"
                    .to_owned()
            ]
        );
    }

    fn row(lane: &str, task_type: &str, correct: bool, abstained: bool) -> ResultRow {
        ResultRow {
            stream: "s".into(),
            task_id: "q".into(),
            task_type: task_type.into(),
            ask_ms: 0,
            lane: lane.into(),
            answer: if abstained { "E".into() } else { "A".into() },
            expected: "A".into(),
            correct,
            abstained,
            entries_available: 0,
            entries_used: String::new(),
        }
    }

    #[test]
    fn a_hand_made_table_gives_the_hand_computed_metrics() {
        // General: 10 questions, 8 answered, 6 right. Adapter: 4 questions, all answered, 3 right.
        let mut rows = Vec::new();
        for i in 0..10 {
            let kind = if i < 4 {
                "Counting Problem"
            } else {
                "OCR Problems"
            };
            rows.push(row("builtin", kind, i < 6, i >= 8));
        }
        for i in 0..4 {
            rows.push(row("count", "Counting Problem", i < 3, false));
        }
        let lanes = [
            LaneInfo {
                lane: "builtin".into(),
                ..LaneInfo::default()
            },
            LaneInfo {
                lane: "count".into(),
                tasks_seen: Some(50),
                ..LaneInfo::default()
            },
        ];
        let s = summarize(&rows, &lanes);
        let g = s[0].overall;
        assert_eq!((g.questions, g.answered, g.correct), (10, 8, 6));
        assert!((g.acc - 0.6).abs() < 1e-12 && (g.cov - 0.8).abs() < 1e-12);
        assert!((g.prec - 0.75).abs() < 1e-12);
        assert!((g.acc - g.cov * g.prec).abs() < 1e-12, "Acc = Cov x Prec");
        let ci = g.acc_ci.unwrap();
        assert!(ci.low <= g.acc && g.acc <= ci.high && ci.low < ci.high);
        // Counting in General: 4 asked, 4 answered, 4 right; OCR: 6 asked, 4 answered, 2 right.
        let counting = s[0].by_type["Counting Problem"];
        assert_eq!((counting.acc, counting.cov, counting.prec), (1.0, 1.0, 1.0));
        let ocr = s[0].by_type["OCR Problems"];
        assert!((ocr.acc - 2.0 / 6.0).abs() < 1e-12 && (ocr.prec - 0.5).abs() < 1e-12);
        assert_eq!(s[1].overall.correct, 3);
        assert_eq!(s[1].tasks_seen, Some(50));
        // Seeded: the same table gives the same intervals.
        assert_eq!(summarize(&rows, &lanes), s);
    }

    #[test]
    fn nothing_answered_is_zero_coverage_and_zero_precision() {
        let rows: Vec<ResultRow> = (0..5).map(|_| row("builtin", "t", false, true)).collect();
        let refs: Vec<&ResultRow> = rows.iter().collect();
        let m = metrics(&refs, 1);
        assert_eq!((m.acc, m.cov, m.prec), (0.0, 0.0, 0.0));
        assert_eq!(
            m.prec_ci, None,
            "no answered question: no precision interval"
        );
        assert!(
            m.acc_ci.is_some() && m.cov_ci.is_some(),
            "5 questions: intervals"
        );
    }

    #[test]
    fn fewer_than_five_questions_have_no_interval_and_read_n_too_small() {
        for n in 1..MIN_N_FOR_INTERVAL {
            let rows: Vec<ResultRow> = (0..n).map(|_| row("builtin", "t", true, false)).collect();
            let refs: Vec<&ResultRow> = rows.iter().collect();
            let m = metrics(&refs, 1);
            assert!((m.acc - 1.0).abs() < 1e-12);
            assert_eq!((m.acc_ci, m.cov_ci, m.prec_ci), (None, None, None), "n={n}");
            assert_eq!(interval_text(m.acc_interval()), "n too small");
        }
        let rows: Vec<ResultRow> = (0..5).map(|i| row("builtin", "t", i < 4, i == 4)).collect();
        let refs: Vec<&ResultRow> = rows.iter().collect();
        let m = metrics(&refs, 1);
        assert!(m.acc_ci.is_some() && m.cov_ci.is_some());
        // Four answered: too few for a precision interval, though five were asked.
        assert_eq!(m.prec_ci, None);
        assert!(interval_text(m.acc_interval()).starts_with('['));
        // summary.json: null, and an older file's numbers for n=1 are not shown.
        let json = serde_json::to_value(metrics(&refs[..1], 1)).unwrap();
        assert!(json["acc_ci"].is_null(), "{json}");
        let old: Metrics = serde_json::from_str(
            r#"{"questions":1,"answered":1,"correct":1,"acc":1.0,"cov":1.0,"prec":1.0,
                "acc_ci":{"low":1.0,"high":1.0},"cov_ci":{"low":1.0,"high":1.0},
                "prec_ci":{"low":1.0,"high":1.0}}"#,
        )
        .unwrap();
        assert_eq!(old.acc_interval(), None);
    }
}
