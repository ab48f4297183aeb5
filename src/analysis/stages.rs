//! Stage detection on the lifecycle's metrics (DESIGN §5): when the run showed networks
//! (stage 1), communities of practice (2) and a system of influence (3), with the
//! evidence and a confidence. Each stage's criteria are evaluated on every row on their
//! own and each transition is found over the whole table, so the order of the three is
//! a finding ([`StageReport::in_order`] can be false), not an assumption.
//!
//! - Stage 1: the largest component passes `s1_factor`·N^(−1/3), held for a window.
//! - Stage 2: clustering, modularity and community alignment each beat their null on the
//!   same graph (the `*_null` columns: a degree-preserving rewiring, labels permuted
//!   within components; sampled every few rows, each row judged against the latest
//!   sample) by a margin, with most ties strong, held for a window.
//! - Stage 3: adoption ρ rises from its level at the start of the table to its level at
//!   the end by at least `rho_jump_min`, *suddenly* — the 10–90% rise time over the time
//!   to the midpoint at most `suddenness_max` (the cut of an ROC over synthetic rises,
//!   docs/stages.md) — with a jump of alignment r at the same time, and both have settled
//!   (a plateau) before the end of the table.
//!
//! The detector reads only a [`MetricsTable`], so it runs the same on a finished run, an
//! older run's or a hand-edited table (`emergence stages`). [`OnlineTracker`] feeds it the
//! rows one by one and never revises what it has said. Every threshold is a field of
//! [`StageParams`]; docs/stages.md gives the values, their measured behaviour on controls
//! and the definition of each confidence.

use crate::io::MetricsTable;
use serde::Serialize;
use std::collections::BTreeMap;

/// The names of stages 0–3.
pub const STAGE_NAMES: [&str; 4] = [
    "isolated efforts",
    "networks",
    "communities of practice",
    "system of influence",
];

/// The metrics columns the detector needs (stages 1 and 3, and stage 2's raw values).
pub const REQUIRED_COLUMNS: [&str; 7] = [
    "tick",
    "s1",
    "strong_ties",
    "clustering",
    "modularity",
    "alignment",
    "adoption",
];

/// The columns stage 2 needs besides the required ones: without them (a table written
/// before the nulls existed) stage 2 is reported as not evaluable.
pub const STAGE2_COLUMNS: [&str; 4] = [
    "community_alignment",
    "clustering_null",
    "modularity_null",
    "community_alignment_null",
];

/// Thresholds and windows of the detector. [`StageParams::new`] gives the defaults that
/// docs/stages.md justifies; every field can be changed for a study of its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageParams {
    /// N, the number of agents (stage 1 scales with it).
    pub agents: u32,
    /// Stage 1: S1 > `s1_factor`·N^(−1/3) (DESIGN: 3).
    pub s1_factor: f64,
    /// Stage 2: C − C_null > this (C_null: the wedge-sampled transitivity of a
    /// degree-preserving rewiring of the same ties).
    pub clustering_excess_min: f64,
    /// Stage 2: Q − Q_null > this (Q_null: the same label propagation on the rewiring).
    pub modularity_excess_min: f64,
    /// Stage 2: community alignment − its null (the same community sizes, members drawn
    /// at random within the same components) > this.
    pub alignment_excess_min: f64,
    /// Stage 2: share of strong ties > this (DESIGN: 0.5).
    pub strong_ties_min: f64,
    /// Hysteresis window in ticks: a stage counts from a row when its criteria held in at
    /// least `min_held` of the rows in [tick, tick + window) that evaluate them.
    pub window_ticks: u64,
    /// Share of the window's rows in which the criteria must hold.
    pub min_held: f64,
    /// Stage 3: ρ's level at the end of the table minus its level at the start (medians
    /// over `window_ticks`) at least this.
    pub rho_jump_min: f64,
    /// Stage 3: the same for the alignment r.
    pub r_jump_min: f64,
    /// Stage 3: r passes the middle of its jump within this many ticks of ρ.
    pub agree_ticks: u64,
    /// Stage 3: (t90 − t10) / (t50 − t_first) at most this: the rise is short against
    /// the time the run took to get there.
    pub suddenness_max: f64,
    /// Stage 3: the medians of the last two windows of the table differ by at most this
    /// share of the jump (ρ and r have settled).
    pub plateau_tolerance: f64,
    /// Stage 3: the change-point scores of the confidence use the rows within this many
    /// ticks of ρ's midpoint.
    pub search_ticks: u64,
}

impl StageParams {
    /// The defaults for a run of `agents` agents.
    pub fn new(agents: u32) -> StageParams {
        StageParams {
            agents,
            s1_factor: 3.0,
            clustering_excess_min: 0.1,
            modularity_excess_min: 0.1,
            alignment_excess_min: 0.05,
            strong_ties_min: 0.5,
            window_ticks: 100,
            min_held: 0.8,
            rho_jump_min: 0.5,
            r_jump_min: 0.3,
            agree_ticks: 100,
            suddenness_max: 0.3,
            plateau_tolerance: 0.1,
            search_ticks: 300,
        }
    }

    /// The stage-1 threshold on S1: `s1_factor`·N^(−1/3).
    pub fn s1_threshold(&self) -> f64 {
        self.s1_factor * (self.agents.max(1) as f64).powf(-1.0 / 3.0)
    }
}

/// One transition into a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// 1, 2 or 3.
    pub stage: u8,
    pub name: String,
    /// The tick of the first row of the new stage.
    pub tick: u64,
    /// In [0, 1]; stages 1 and 2: the share of the hysteresis window's rows in which the
    /// criteria held; stage 3: the smaller share of the window after the midpoint in
    /// which ρ and r stayed past the middle of their jumps, times the smaller of their
    /// change-point scores.
    pub confidence: f64,
    /// The values that crossed (at the transition's row) and the thresholds they crossed.
    pub evidence: BTreeMap<String, f64>,
}

/// The criteria of one metrics row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RowStage {
    pub tick: u64,
    /// The highest stage whose transition lies at or before this row.
    pub stage: u8,
    /// Whether the stage-1 criterion held in this row.
    pub networks: bool,
    /// Whether all stage-2 criteria held in this row, judged against the latest null
    /// sample at or before it; None before the first sample (or without null columns).
    pub communities: Option<bool>,
}

/// The detector's full output (`stages.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    pub params: StageParams,
    /// The stage of the last row.
    pub stage: u8,
    /// Transitions in the order of their stage (a stage not found is absent).
    pub transitions: Vec<Transition>,
    /// Whether all three were found, at increasing ticks.
    pub in_order: bool,
    /// The stages found, ordered by their ticks (e.g. [1, 3]: no stage 2).
    pub order: Vec<u8>,
    /// Stages that could not be evaluated on this table, with why.
    pub not_evaluable: BTreeMap<u8, String>,
    pub rows: Vec<RowStage>,
}

impl StageReport {
    /// The transition into `stage`, if it was found.
    pub fn transition(&self, stage: u8) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.stage == stage)
    }

    /// Whether all three transitions were found, at increasing ticks.
    pub fn in_order(&self) -> bool {
        self.in_order
    }

    /// One log line per stage.
    pub fn describe(&self) -> Vec<String> {
        (1..=3u8)
            .map(|s| match (self.transition(s), self.not_evaluable.get(&s)) {
                (Some(t), _) => format!(
                    "stage {s} {} at tick {} (confidence {:.2})",
                    t.name, t.tick, t.confidence
                ),
                (None, Some(why)) => {
                    format!(
                        "stage {s} {}: not evaluable ({why})",
                        STAGE_NAMES[s as usize]
                    )
                }
                (None, None) => format!("stage {s} {}: not detected", STAGE_NAMES[s as usize]),
            })
            .chain(std::iter::once(format!(
                "order of the transitions: {} ({})",
                if self.order.is_empty() {
                    "none".to_string()
                } else {
                    self.order
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" → ")
                },
                if self.in_order {
                    "in order"
                } else {
                    "not all three in order"
                }
            )))
            .collect()
    }

    /// "stage 2 communities of practice": the progress line's words.
    pub fn current(&self) -> String {
        format!("stage {} {}", self.stage, STAGE_NAMES[self.stage as usize])
    }
}

/// A single change in mean: the split of a series into two segments that minimises the
/// summed squared deviations from the two segment means (equivalently, the maximum of the
/// CUSUM statistic |S_k − k·S_n/n|² · n / (k·(n − k))).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first index of the second segment.
    pub index: usize,
    pub before: f64,
    pub after: f64,
    /// 1 − SSE(two means) / SSE(one mean), in [0, 1]: the share of the variance the step
    /// explains (1 for a clean step, near 0 for noise without a step).
    pub score: f64,
}

/// Segments shorter than this are not considered, so a single outlier at either end of
/// the series is not taken for a step.
pub const MIN_SEGMENT: usize = 2;

/// The least-squares single change point of `x` (None for fewer than 2·[`MIN_SEGMENT`]
/// values or a constant series).
pub fn change_point(x: &[f64]) -> Option<ChangePoint> {
    let n = x.len();
    if n < 2 * MIN_SEGMENT {
        return None;
    }
    let total: f64 = x.iter().sum();
    let mean = total / n as f64;
    let sse_one: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    if sse_one.is_nan() || sse_one <= 1e-300 {
        return None;
    }
    let mut prefix = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for k in 1..n {
        prefix += x[k - 1];
        if k < MIN_SEGMENT || n - k < MIN_SEGMENT {
            continue;
        }
        // SSE(two means) = Σx² − S_k²/k − (S_n − S_k)²/(n − k); maximise the subtracted part.
        let gain = prefix * prefix / k as f64 + (total - prefix).powi(2) / (n - k) as f64;
        if best.is_none_or(|(_, g)| gain > g) {
            best = Some((k, gain));
        }
    }
    let (k, _) = best?;
    let before = x[..k].iter().sum::<f64>() / k as f64;
    let after = x[k..].iter().sum::<f64>() / (n - k) as f64;
    let sse_two: f64 = x[..k]
        .iter()
        .map(|v| (v - before).powi(2))
        .chain(x[k..].iter().map(|v| (v - after).powi(2)))
        .sum();
    Some(ChangePoint {
        index: k,
        before,
        after,
        score: (1.0 - sse_two / sse_one).clamp(0.0, 1.0),
    })
}

/// The rise of a series from its level at the start of the table to its level at the
/// end: the levels, and the ticks at which it passed 10%, 50% and 90% of the way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rise {
    /// Median over the first window of the table.
    pub low: f64,
    /// Median over the last window of the table.
    pub high: f64,
    /// The last upward crossing of low + 10% before the midpoint (interpolated).
    pub t10: f64,
    /// The first crossing of low + 50% (interpolated).
    pub t50: f64,
    /// The first crossing of low + 90% after the midpoint (interpolated).
    pub t90: f64,
    /// The first row's tick.
    pub t_first: f64,
    /// (t90 − t10) / (t50 − t_first): the 10–90% rise time over the time to the midpoint.
    pub suddenness: f64,
    /// |median of the last window − median of the window before| / (high − low).
    pub drift_at_end: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The rows of `tick` within [from, to).
fn rows_between(tick: &[u64], from: u64, to: u64) -> std::ops::Range<usize> {
    let lo = tick.partition_point(|&t| t < from);
    let hi = tick.partition_point(|&t| t < to);
    lo..hi
}

/// The [`Rise`] of `x` over the table (None for fewer than four rows, a table shorter
/// than three windows, no rise, or one that never passes its midpoint).
pub fn rise(tick: &[u64], x: &[f64], window: u64) -> Option<Rise> {
    let n = tick.len();
    if n < 4 {
        return None;
    }
    let (first, last) = (tick[0], tick[n - 1]);
    if last < first + 3 * window {
        return None;
    }
    let low = median(x[rows_between(tick, first, first + window)].to_vec());
    let end = rows_between(tick, last + 1 - window, last + 1);
    let high = median(x[end.clone()].to_vec());
    // Also false for NaN levels (a column of undefined values).
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let level = |f: f64| low + f * (high - low);
    let cross = |i: usize, l: f64| -> f64 {
        // Between rows i − 1 (below l) and i (at or above l).
        let (x0, x1) = (x[i - 1], x[i]);
        let (t0, t1) = (tick[i - 1] as f64, tick[i] as f64);
        if x1 > x0 {
            t0 + (t1 - t0) * ((l - x0) / (x1 - x0)).clamp(0.0, 1.0)
        } else {
            t1
        }
    };
    let mid = level(0.5);
    let i50 = (1..n).find(|&i| x[i] >= mid && x[i - 1] < mid)?;
    let t50 = cross(i50, mid);
    let l10 = level(0.1);
    let i10 = (1..=i50)
        .rev()
        .find(|&i| x[i - 1] < l10)
        .map_or(first as f64, |i| {
            if x[i] >= l10 {
                cross(i, l10)
            } else {
                tick[i] as f64
            }
        });
    let l90 = level(0.9);
    let t90 = (i50..n).find(|&i| x[i] >= l90).map_or(last as f64, |i| {
        if i > 0 && x[i - 1] < l90 {
            cross(i, l90)
        } else {
            tick[i] as f64
        }
    });
    let a = median(x[rows_between(tick, last + 1 - 2 * window, last + 1 - window)].to_vec());
    let b = median(x[end].to_vec());
    let to_mid = (t50 - first as f64).max(1.0);
    Some(Rise {
        low,
        high,
        t10: i10,
        t50,
        t90,
        t_first: first as f64,
        suddenness: (t90 - i10) / to_mid,
        drift_at_end: ((b - a) / (high - low)).abs(),
    })
}

/// The columns the detector reads, by name (None: absent from the table).
struct Series {
    tick: Vec<u64>,
    s1: Vec<f64>,
    strong: Vec<f64>,
    c: Vec<f64>,
    q: Vec<f64>,
    r: Vec<f64>,
    rho: Vec<f64>,
    r_comm: Option<Vec<f64>>,
    /// The nulls of the latest sample at or before each row (None before the first).
    c_null: Option<Vec<Option<f64>>>,
    q_null: Option<Vec<Option<f64>>>,
    r_comm_null: Option<Vec<Option<f64>>>,
    /// Evidence only.
    churn: Option<Vec<f64>>,
    knowledge_matched: Option<Vec<Option<f64>>>,
}

impl Series {
    fn of(table: &MetricsTable) -> Option<Series> {
        let raw = |name: &str| -> Option<Vec<f64>> {
            let k = table.columns.iter().position(|c| c == name)?;
            Some(table.rows.iter().map(|r| r[k]).collect())
        };
        // An undefined raw value (a ratio over no ties) counts as 0: no clustering, no
        // modularity where there is nothing to measure them on. Null columns keep NaN:
        // it marks a row without a null sample.
        let zeroed = |name: &str| -> Option<Vec<f64>> {
            Some(
                raw(name)?
                    .into_iter()
                    .map(|v| if v.is_nan() { 0.0 } else { v })
                    .collect(),
            )
        };
        // The nulls are sampled every few rows; each row is judged against the latest
        // sample at or before it (what an online reader has), none before the first.
        let sampled: Vec<bool> = match raw("null_sampled") {
            Some(flag) => flag.iter().map(|&v| v == 1.0).collect(),
            None => {
                let cols: Vec<Vec<f64>> = [
                    "clustering_null",
                    "modularity_null",
                    "community_alignment_null",
                ]
                .iter()
                .filter_map(|c| raw(c))
                .collect();
                (0..table.rows.len())
                    .map(|i| cols.iter().any(|c| !c.get(i).is_none_or(|v| v.is_nan())))
                    .collect()
            }
        };
        let filled = |name: &str| -> Option<Vec<Option<f64>>> {
            let v = raw(name)?;
            let mut last: Option<f64> = None;
            Some(
                v.iter()
                    .zip(&sampled)
                    .map(|(&x, &s)| {
                        if s {
                            last = Some(x);
                        }
                        last
                    })
                    .collect(),
            )
        };
        Some(Series {
            tick: raw("tick")?.iter().map(|&t| t.max(0.0) as u64).collect(),
            s1: zeroed("s1")?,
            strong: zeroed("strong_ties")?,
            c: zeroed("clustering")?,
            q: zeroed("modularity")?,
            r: zeroed("alignment")?,
            rho: zeroed("adoption")?,
            r_comm: zeroed("community_alignment"),
            c_null: filled("clustering_null"),
            q_null: filled("modularity_null"),
            r_comm_null: filled("community_alignment_null"),
            churn: raw("churn"),
            knowledge_matched: filled("knowledge_growth_matched"),
        })
    }

    /// The rows in [tick of row i, that + window), or None while the table does not yet
    /// reach the window's end (a row at or past it), so a stage is never confirmed on
    /// part of its window.
    fn window(&self, i: usize, window: u64) -> Option<std::ops::Range<usize>> {
        let end_tick = self.tick[i] + window.max(1);
        if *self.tick.last()? < end_tick {
            return None;
        }
        let end = i + self.tick[i..].iter().take_while(|&&t| t < end_tick).count();
        Some(i..end)
    }
}

/// The first row `i` where the criteria held and held in at least `min_held` of the
/// rows of its complete window that evaluate them; with that share.
fn first_held(s: &Series, held: &[Option<bool>], p: &StageParams) -> Option<(usize, f64)> {
    (0..held.len()).find_map(|i| {
        if held[i] != Some(true) {
            return None;
        }
        let w = s.window(i, p.window_ticks)?;
        let judged: Vec<bool> = held[w].iter().flatten().copied().collect();
        if judged.is_empty() {
            return None;
        }
        let f = judged.iter().filter(|&&h| h).count() as f64 / judged.len() as f64;
        (f >= p.min_held).then_some((i, f))
    })
}

/// Stage 2's criteria in every row: None where the row has no null sample.
fn communities_held(s: &Series, p: &StageParams) -> Option<Vec<Option<bool>>> {
    let (r_comm, c0, q0, a0) = (
        s.r_comm.as_ref()?,
        s.c_null.as_ref()?,
        s.q_null.as_ref()?,
        s.r_comm_null.as_ref()?,
    );
    Some(
        (0..s.tick.len())
            .map(|i| {
                // No sample yet: the criteria cannot be judged.
                let (c0, q0, a0) = (c0[i]?, q0[i]?, a0[i]?);
                // A null undefined because there are no ties or wedges: nothing beats it.
                let beats = |x: f64, null: f64, min: f64| !null.is_nan() && x - null > min;
                Some(
                    beats(s.c[i], c0, p.clustering_excess_min)
                        && beats(s.q[i], q0, p.modularity_excess_min)
                        && beats(r_comm[i], a0, p.alignment_excess_min)
                        && s.strong[i] > p.strong_ties_min,
                )
            })
            .collect(),
    )
}

/// Stage 3 found in the rows: (row of ρ's midpoint, confidence, evidence).
fn system_of_influence(s: &Series, p: &StageParams) -> Option<(usize, f64, BTreeMap<String, f64>)> {
    let rho = rise(&s.tick, &s.rho, p.window_ticks)?;
    let r = rise(&s.tick, &s.r, p.window_ticks)?;
    if rho.high - rho.low < p.rho_jump_min
        || r.high - r.low < p.r_jump_min
        || rho.suddenness > p.suddenness_max
        || rho.drift_at_end > p.plateau_tolerance
        || r.drift_at_end > p.plateau_tolerance
        || (rho.t50 - r.t50).abs() > p.agree_ticks as f64
    {
        return None;
    }
    // The row at (or just after) ρ's midpoint.
    let i50 = s.tick.partition_point(|&t| (t as f64) < rho.t50);
    // Hysteresis: from their midpoints on, both stay past the middle of their jumps.
    let stays = |x: &[f64], rise: &Rise| -> Option<f64> {
        let i = s.tick.partition_point(|&t| (t as f64) < rise.t50);
        let w = s.window(i, p.window_ticks)?;
        let mid = 0.5 * (rise.low + rise.high);
        Some(x[w.clone()].iter().filter(|&&v| v >= mid).count() as f64 / w.len().max(1) as f64)
    };
    let held = stays(&s.rho, &rho)?.min(stays(&s.r, &r)?);
    if held < p.min_held {
        return None;
    }
    let around = rows_between(
        &s.tick,
        (rho.t50 as u64).saturating_sub(p.search_ticks),
        rho.t50 as u64 + p.search_ticks + 1,
    );
    let score = |x: &[f64]| change_point(&x[around.clone()]).map_or(0.0, |c| c.score);
    let (score_rho, score_r) = (score(&s.rho), score(&s.r));
    let evidence = BTreeMap::from([
        ("adoption_low".into(), rho.low),
        ("adoption_high".into(), rho.high),
        ("adoption_t10".into(), rho.t10),
        ("adoption_t50".into(), rho.t50),
        ("adoption_t90".into(), rho.t90),
        ("rise_ticks".into(), rho.t90 - rho.t10),
        ("suddenness".into(), rho.suddenness),
        ("suddenness_max".into(), p.suddenness_max),
        ("alignment_low".into(), r.low),
        ("alignment_high".into(), r.high),
        ("alignment_t50".into(), r.t50),
        ("alignment_suddenness".into(), r.suddenness),
        ("adoption_score".into(), score_rho),
        ("alignment_score".into(), score_r),
        ("held_fraction".into(), held),
    ]);
    Some((
        i50.min(s.tick.len() - 1),
        held * score_rho.min(score_r),
        evidence,
    ))
}

/// Classify the rows of a lifecycle metrics table and find the transitions, each on its
/// own. None when the table lacks one of [`REQUIRED_COLUMNS`] (not a lifecycle table).
/// Runs in O(rows · window); the [`OnlineTracker`] runs it on every prefix, O(rows² ·
/// window) over a run (milliseconds for the default run's 250 rows).
pub fn detect(table: &MetricsTable, p: &StageParams) -> Option<StageReport> {
    let s = Series::of(table)?;
    let n = s.tick.len();
    let name = |stage: u8| STAGE_NAMES[stage as usize].to_string();
    let mut transitions = Vec::new();
    let mut not_evaluable = BTreeMap::new();

    let s1_min = p.s1_threshold();
    let networks: Vec<bool> = s.s1.iter().map(|&v| v > s1_min).collect();
    let as_judged: Vec<Option<bool>> = networks.iter().map(|&b| Some(b)).collect();
    if let Some((e1, f1)) = first_held(&s, &as_judged, p) {
        let mut evidence = BTreeMap::from([
            ("s1".into(), s.s1[e1]),
            ("s1_threshold".into(), s1_min),
            ("clustering".into(), s.c[e1]),
            ("held_fraction".into(), f1),
        ]);
        if let Some(churn) = &s.churn {
            evidence.insert("churn".into(), churn[e1]);
        }
        transitions.push(Transition {
            stage: 1,
            name: name(1),
            tick: s.tick[e1],
            confidence: f1,
            evidence,
        });
    }

    let communities = match communities_held(&s, p) {
        Some(held) => {
            if let Some((e2, f2)) = first_held(&s, &held, p) {
                let nul = |v: &Option<Vec<Option<f64>>>| {
                    v.as_ref().and_then(|v| v[e2]).unwrap_or(f64::NAN)
                };
                let mut evidence = BTreeMap::from([
                    ("clustering".into(), s.c[e2]),
                    ("clustering_null".into(), nul(&s.c_null)),
                    ("clustering_excess_min".into(), p.clustering_excess_min),
                    ("modularity".into(), s.q[e2]),
                    ("modularity_null".into(), nul(&s.q_null)),
                    ("modularity_excess_min".into(), p.modularity_excess_min),
                    (
                        "community_alignment".into(),
                        s.r_comm.as_ref().map_or(f64::NAN, |v| v[e2]),
                    ),
                    ("community_alignment_null".into(), nul(&s.r_comm_null)),
                    ("alignment_excess_min".into(), p.alignment_excess_min),
                    ("strong_ties".into(), s.strong[e2]),
                    ("alignment".into(), s.r[e2]),
                    ("held_fraction".into(), f2),
                ]);
                if let Some(v) = &s.churn {
                    evidence.insert("churn".into(), v[e2]);
                }
                evidence.insert("knowledge_growth_matched".into(), nul(&s.knowledge_matched));
                transitions.push(Transition {
                    stage: 2,
                    name: name(2),
                    tick: s.tick[e2],
                    confidence: f2,
                    evidence,
                });
            }
            held
        }
        None => {
            not_evaluable.insert(
                2,
                format!(
                    "the table lacks the same-graph null columns {}",
                    STAGE2_COLUMNS.join(", ")
                ),
            );
            vec![None; n]
        }
    };

    if let Some((i3, conf, evidence)) = system_of_influence(&s, p) {
        transitions.push(Transition {
            stage: 3,
            name: name(3),
            tick: s.tick[i3],
            confidence: conf,
            evidence,
        });
    }

    let mut order: Vec<&Transition> = transitions.iter().collect();
    order.sort_by_key(|t| (t.tick, t.stage));
    let order: Vec<u8> = order.iter().map(|t| t.stage).collect();
    let tick_of = |st: u8| transitions.iter().find(|t| t.stage == st).map(|t| t.tick);
    let in_order = matches!(
        (tick_of(1), tick_of(2), tick_of(3)),
        (Some(a), Some(b), Some(c)) if a < b && b < c
    );
    let rows: Vec<RowStage> = (0..n)
        .map(|i| RowStage {
            tick: s.tick[i],
            stage: transitions
                .iter()
                .filter(|t| t.tick <= s.tick[i])
                .map(|t| t.stage)
                .max()
                .unwrap_or(0),
            networks: networks[i],
            communities: communities[i],
        })
        .collect();
    Some(StageReport {
        params: *p,
        stage: rows.last().map_or(0, |r| r.stage),
        transitions,
        in_order,
        order,
        not_evaluable,
        rows,
    })
}

/// A stage as the online tracker said it: dated to `tick`, said at the row of
/// `confirmed_at`, never revised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlineTransition {
    pub stage: u8,
    pub name: String,
    /// The tick the transition is dated to.
    pub tick: u64,
    /// The tick of the row at which it was confirmed (≥ `tick`: a window must pass).
    pub confirmed_at: u64,
    pub confidence: f64,
}

/// The stages of a run as they are confirmed, from the rows seen so far only: each row
/// is appended and the detector run on the rows so far; a stage it reports for the first
/// time is recorded with the row's tick and never changed afterwards (the offline
/// detector, on the whole table, may later date it differently). Interventions trigger
/// on it; the progress line shows it.
#[derive(Debug, Clone)]
pub struct OnlineTracker {
    params: StageParams,
    table: MetricsTable,
    said: Vec<OnlineTransition>,
}

impl OnlineTracker {
    pub fn new(params: StageParams, columns: &[String]) -> OnlineTracker {
        OnlineTracker {
            params,
            table: MetricsTable {
                columns: columns.to_vec(),
                rows: Vec::new(),
            },
            said: Vec::new(),
        }
    }

    /// Feed one row; returns the transitions confirmed at it.
    pub fn push(&mut self, row: &[f64]) -> Vec<OnlineTransition> {
        self.table.rows.push(row.to_vec());
        let Some(report) = detect(&self.table, &self.params) else {
            return Vec::new();
        };
        let at = report.rows.last().map_or(0, |r| r.tick);
        let mut new = Vec::new();
        for t in &report.transitions {
            if self.said.iter().all(|s| s.stage != t.stage) {
                new.push(OnlineTransition {
                    stage: t.stage,
                    name: t.name.clone(),
                    tick: t.tick,
                    confirmed_at: at,
                    confidence: t.confidence,
                });
            }
        }
        self.said.extend(new.iter().cloned());
        new
    }

    /// Feed the rows of `table` it has not seen yet (the table grows from the same start).
    pub fn catch_up(&mut self, table: &MetricsTable) {
        for row in table.rows.iter().skip(self.table.rows.len()) {
            self.push(row);
        }
    }

    /// Every transition said so far, in the order said.
    pub fn said(&self) -> &[OnlineTransition] {
        &self.said
    }

    /// The highest stage said so far (0 before any).
    pub fn stage(&self) -> u8 {
        self.said.iter().map(|t| t.stage).max().unwrap_or(0)
    }

    /// The tracker run over a whole table, row by row: what it said live.
    pub fn replay(table: &MetricsTable, params: StageParams) -> OnlineTracker {
        let mut t = OnlineTracker::new(params, &table.columns);
        t.catch_up(table);
        t
    }
}
