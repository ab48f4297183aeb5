//! Stage detection on the lifecycle's metrics (DESIGN §5): which rows of a run were
//! isolated efforts (0), networks (1), communities of practice (2) and a system of
//! influence (3), when each transition happened and how sure we are. Stages 1 and 2 are
//! threshold criteria on the order parameters that must hold for a window of rows
//! (hysteresis, so one noisy row neither makes nor breaks a stage); stage 3 is the jump of
//! adoption ρ and alignment r, found at the peak of dρ/dt and confirmed by a
//! single-change-point least-squares search on both series. Every threshold is a field of
//! [`StageParams`]; docs/stages.md gives the values, the measured numbers behind them and
//! the definition of the confidence. The detector reads only a [`MetricsTable`], so it runs
//! the same on a finished run, on the rows of a run in progress and on a `metrics.csv`.

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

/// The metrics columns the detector reads.
pub const REQUIRED_COLUMNS: [&str; 10] = [
    "tick",
    "s1",
    "churn",
    "strong_ties",
    "clustering",
    "clustering_ratio",
    "modularity",
    "alignment",
    "community_alignment",
    "adoption",
];

/// Thresholds and windows of the detector. [`StageParams::new`] gives the defaults that
/// docs/stages.md justifies; every field can be changed for a study of its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageParams {
    /// N, the number of agents (stage 1 scales with it).
    pub agents: u32,
    /// Stage 1: S1 > `s1_factor`·N^(−1/3) (DESIGN: 3).
    pub s1_factor: f64,
    /// Stage 2: transitivity C > this (DESIGN: 0.2).
    pub clustering_min: f64,
    /// Stage 2: C / C_null > this (DESIGN: 10).
    pub clustering_ratio_min: f64,
    /// Stage 2: modularity Q > this (DESIGN: 0.3).
    pub modularity_min: f64,
    /// Stage 2: churn < `churn_factor` × the median churn of the stage-1 window. DESIGN
    /// asks for half; the model's churn falls only to ≈ 0.7 of it before adoption, so the
    /// default is 0.9 (docs/stages.md).
    pub churn_factor: f64,
    /// Stage 2: share of strong ties > this (DESIGN: 0.5).
    pub strong_ties_min: f64,
    /// Stage 2: within-community alignment ≥ this × global r (DESIGN: 2).
    pub alignment_factor: f64,
    /// Hysteresis window in ticks: a stage counts from a row when its criteria held in at
    /// least `min_held` of the rows in [tick, tick + window).
    pub window_ticks: u64,
    /// Share of the window's rows in which the criteria must hold.
    pub min_held: f64,
    /// Stage 3: the change-point search covers the rows within this many ticks of the
    /// peak of dρ/dt.
    pub search_ticks: u64,
    /// Stage 3: the step in mean adoption at the change point must be at least this.
    pub rho_jump_min: f64,
    /// Stage 3: the step in mean alignment at its change point must be at least this.
    pub r_jump_min: f64,
    /// Stage 3: the change points of ρ and r, and the peak of dρ/dt, agree within this
    /// many ticks.
    pub agree_ticks: u64,
}

impl StageParams {
    /// The defaults for a run of `agents` agents.
    pub fn new(agents: u32) -> StageParams {
        StageParams {
            agents,
            s1_factor: 3.0,
            clustering_min: 0.2,
            clustering_ratio_min: 10.0,
            modularity_min: 0.3,
            churn_factor: 0.9,
            strong_ties_min: 0.5,
            alignment_factor: 2.0,
            window_ticks: 100,
            min_held: 0.8,
            search_ticks: 300,
            rho_jump_min: 0.5,
            r_jump_min: 0.3,
            agree_ticks: 100,
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
    /// criteria held; stage 3: that share (for ρ and r past the middle of their steps)
    /// times the smaller of the two change-point scores.
    pub confidence: f64,
    /// The values that crossed (at the transition's row) and the thresholds they crossed.
    pub evidence: BTreeMap<String, f64>,
}

/// The stage of one metrics row and which criteria held in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RowStage {
    pub tick: u64,
    /// The highest stage entered at or before this row.
    pub stage: u8,
    /// Whether the stage-1 criterion held in this row.
    pub networks: bool,
    /// Whether all stage-2 criteria held in this row (false before stage 1, whose churn
    /// they need).
    pub communities: bool,
}

/// The detector's full output (`stages.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    pub params: StageParams,
    /// The stage of the last row.
    pub stage: u8,
    /// Transitions in the order of their stage (a skipped stage is absent).
    pub transitions: Vec<Transition>,
    pub rows: Vec<RowStage>,
}

impl StageReport {
    /// The transition into `stage`, if it was found.
    pub fn transition(&self, stage: u8) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.stage == stage)
    }

    /// Whether all three transitions were found, at increasing ticks.
    pub fn in_order(&self) -> bool {
        match (self.transition(1), self.transition(2), self.transition(3)) {
            (Some(a), Some(b), Some(c)) => a.tick < b.tick && b.tick < c.tick,
            _ => false,
        }
    }

    /// One log line per stage.
    pub fn describe(&self) -> Vec<String> {
        (1..=3u8)
            .map(|s| match self.transition(s) {
                Some(t) => format!(
                    "stage {s} {} at tick {} (confidence {:.2})",
                    t.name, t.tick, t.confidence
                ),
                None => format!("stage {s} {}: not detected", STAGE_NAMES[s as usize]),
            })
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

/// The columns the detector reads, by name.
struct Series {
    tick: Vec<u64>,
    s1: Vec<f64>,
    churn: Vec<f64>,
    strong: Vec<f64>,
    c: Vec<f64>,
    c_ratio: Vec<f64>,
    q: Vec<f64>,
    r: Vec<f64>,
    r_comm: Vec<f64>,
    rho: Vec<f64>,
}

impl Series {
    fn of(table: &MetricsTable) -> Option<Series> {
        // An undefined value (a ratio over no ties) counts as 0: no clustering, no
        // modularity where there is nothing to measure them on.
        let col = |name: &str| -> Option<Vec<f64>> {
            let k = table.columns.iter().position(|c| c == name)?;
            Some(
                table
                    .rows
                    .iter()
                    .map(|r| if r[k].is_nan() { 0.0 } else { r[k] })
                    .collect(),
            )
        };
        Some(Series {
            tick: col("tick")?.iter().map(|&t| t.max(0.0) as u64).collect(),
            s1: col("s1")?,
            churn: col("churn")?,
            strong: col("strong_ties")?,
            c: col("clustering")?,
            c_ratio: col("clustering_ratio")?,
            q: col("modularity")?,
            r: col("alignment")?,
            r_comm: col("community_alignment")?,
            rho: col("adoption")?,
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

fn share(held: &[bool], rows: std::ops::Range<usize>) -> f64 {
    let n = rows.len().max(1);
    held[rows].iter().filter(|&&h| h).count() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The first row `i` in `from..to` where `held[i]` and the criteria held in at least
/// `min_held` of its complete window; with that share.
fn first_held(
    s: &Series,
    held: &[bool],
    from: usize,
    to: usize,
    p: &StageParams,
) -> Option<(usize, f64)> {
    (from..to).find_map(|i| {
        if !held[i] {
            return None;
        }
        let w = s.window(i, p.window_ticks)?;
        let f = share(held, w);
        (f >= p.min_held).then_some((i, f))
    })
}

/// Stage 3 found in the rows: (change-point row, confidence, evidence).
fn system_of_influence(s: &Series, p: &StageParams) -> Option<(usize, f64, BTreeMap<String, f64>)> {
    let n = s.tick.len();
    // The peak of dρ/dt between consecutive rows (the later row's index).
    let (peak, rate) = (1..n)
        .map(|i| {
            let dt = s.tick[i].saturating_sub(s.tick[i - 1]).max(1) as f64;
            (i, (s.rho[i] - s.rho[i - 1]) / dt)
        })
        .filter(|(_, v)| v.is_finite())
        .fold(None, |best: Option<(usize, f64)>, (i, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })?;
    if rate <= 0.0 {
        return None;
    }
    let t_peak = s.tick[peak];
    let lo = s
        .tick
        .iter()
        .position(|&t| t + p.search_ticks >= t_peak)
        .unwrap_or(0);
    let hi = lo
        + s.tick[lo..]
            .iter()
            .take_while(|&&t| t <= t_peak + p.search_ticks)
            .count();
    let cp_rho = change_point(&s.rho[lo..hi])?;
    let cp_r = change_point(&s.r[lo..hi])?;
    let (i_rho, i_r) = (lo + cp_rho.index, lo + cp_r.index);
    let (rho_jump, r_jump) = (cp_rho.after - cp_rho.before, cp_r.after - cp_r.before);
    let apart = |a: u64, b: u64| a.abs_diff(b) > p.agree_ticks;
    if rho_jump < p.rho_jump_min
        || r_jump < p.r_jump_min
        || apart(s.tick[i_rho], s.tick[i_r])
        || apart(s.tick[i_rho], t_peak)
    {
        return None;
    }
    // Hysteresis: from its own change point on, each series stays past the middle of its
    // step (r lags ρ by a row or two: the field needs adopters before it can align them).
    let stays = |x: &[f64], cp: &ChangePoint, i: usize| -> Option<f64> {
        let mid = 0.5 * (cp.before + cp.after);
        let held: Vec<bool> = x.iter().map(|&v| v >= mid).collect();
        Some(share(&held, s.window(i, p.window_ticks)?))
    };
    let f = stays(&s.rho, &cp_rho, i_rho)?.min(stays(&s.r, &cp_r, i_r)?);
    if f < p.min_held {
        return None;
    }
    let score = cp_rho.score.min(cp_r.score);
    let evidence = BTreeMap::from([
        ("peak_rate_tick".into(), t_peak as f64),
        ("peak_adoption_rate".into(), rate),
        ("adoption_before".into(), cp_rho.before),
        ("adoption_after".into(), cp_rho.after),
        ("adoption_score".into(), cp_rho.score),
        ("alignment_change_tick".into(), s.tick[i_r] as f64),
        ("alignment_before".into(), cp_r.before),
        ("alignment_after".into(), cp_r.after),
        ("alignment_score".into(), cp_r.score),
        ("adoption".into(), s.rho[i_rho]),
        ("alignment".into(), s.r[i_rho]),
        ("held_fraction".into(), f),
    ]);
    Some((i_rho, f * score, evidence))
}

/// Classify the rows of a lifecycle metrics table into stages and find the transitions.
/// None when the table lacks one of [`REQUIRED_COLUMNS`] (not a lifecycle table). Runs in
/// O(rows), so it can follow a run row by row.
pub fn detect(table: &MetricsTable, p: &StageParams) -> Option<StageReport> {
    let s = Series::of(table)?;
    let n = s.tick.len();
    let mut transitions = Vec::new();
    let name = |stage: u8| STAGE_NAMES[stage as usize].to_string();

    // Stage 3 first: stage 2 is only looked for before it (its criteria break once the
    // network turns into one aligned, nearly random graph).
    let third = system_of_influence(&s, p);
    let before_third = third.as_ref().map_or(n, |(i, _, _)| *i);

    let s1_min = p.s1_threshold();
    let networks: Vec<bool> = s.s1.iter().map(|&v| v > s1_min).collect();
    let first = first_held(&s, &networks, 0, before_third, p);
    let mut communities = vec![false; n];
    if let Some((e1, f1)) = first {
        // The churn of the networks stage: the median over stage 1's own window.
        let w1 = s
            .window(e1, p.window_ticks)
            .expect("confirmed stages have a window");
        let churn_ref = median(s.churn[w1].to_vec());
        let churn_max = p.churn_factor * churn_ref;
        for (i, held) in communities.iter_mut().enumerate().skip(e1 + 1) {
            *held = s.c[i] > p.clustering_min
                && s.c_ratio[i] > p.clustering_ratio_min
                && s.q[i] > p.modularity_min
                && s.churn[i] < churn_max
                && s.strong[i] > p.strong_ties_min
                && s.r_comm[i] >= p.alignment_factor * s.r[i];
        }
        transitions.push(Transition {
            stage: 1,
            name: name(1),
            tick: s.tick[e1],
            confidence: f1,
            evidence: BTreeMap::from([
                ("s1".into(), s.s1[e1]),
                ("s1_threshold".into(), s1_min),
                ("churn".into(), s.churn[e1]),
                ("clustering".into(), s.c[e1]),
                ("held_fraction".into(), f1),
            ]),
        });
        if let Some((e2, f2)) = first_held(&s, &communities, e1 + 1, before_third, p) {
            transitions.push(Transition {
                stage: 2,
                name: name(2),
                tick: s.tick[e2],
                confidence: f2,
                evidence: BTreeMap::from([
                    ("clustering".into(), s.c[e2]),
                    ("clustering_ratio".into(), s.c_ratio[e2]),
                    ("modularity".into(), s.q[e2]),
                    ("churn".into(), s.churn[e2]),
                    ("churn_stage1_median".into(), churn_ref),
                    ("churn_threshold".into(), churn_max),
                    ("strong_ties".into(), s.strong[e2]),
                    ("community_alignment".into(), s.r_comm[e2]),
                    ("alignment".into(), s.r[e2]),
                    ("held_fraction".into(), f2),
                ]),
            });
        }
    }
    if let Some((i3, conf, evidence)) = third {
        transitions.push(Transition {
            stage: 3,
            name: name(3),
            tick: s.tick[i3],
            confidence: conf,
            evidence,
        });
    }
    let entered = |stage: u8| {
        transitions
            .iter()
            .find(|t| t.stage == stage)
            .map(|t| t.tick)
    };
    let entries: Vec<(u8, u64)> = (1..=3u8)
        .filter_map(|st| entered(st).map(|t| (st, t)))
        .collect();
    let rows: Vec<RowStage> = (0..n)
        .map(|i| RowStage {
            tick: s.tick[i],
            stage: entries
                .iter()
                .filter(|(_, t)| *t <= s.tick[i])
                .map(|(st, _)| *st)
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
        rows,
    })
}
