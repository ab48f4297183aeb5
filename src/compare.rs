//! `emergence compare`: the same population and seeds under several scenarios (strategies
//! of intervention, docs/strategies.md), on the sweep machinery. The scenarios, each at
//! its budget levels, become one sweep of `scenarios = [..]` with the same replicate
//! seeds; it runs here (`sweep run` in this process) or on Slurm (`--sweep-only`, then
//! `sweep slurm`, `sweep merge` and `compare --from`), and its merged tables give one row
//! of outcomes per scenario with 95% intervals and the difference, paired by seed, from
//! the first scenario.

use crate::backend::BackendChoice;
use crate::config;
use crate::error::{Error, Result};
use crate::io::rundir;
use crate::report::ensemble::{mean_ci, read_table, Table};
use crate::report::html::esc;
use crate::report::plot::{self, LinePlot, Series};
use crate::sweep::{self, exec::SweepRunOptions, merge::LONG, merge::RUNS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The comparison's description, `OUT/compare.json`: what each scenario of the sweep is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Design {
    pub kind: String,
    /// Each scenario of the sweep, in the order given (the first is the reference).
    pub scenarios: Vec<Arm>,
    /// The `--set` path the budget levels set.
    pub budget_key: String,
    pub seeds: u32,
    pub agents: u32,
}

/// One scenario of a comparison: a strategy at one budget.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Arm {
    /// The `scenario` column of the sweep's tables.
    pub name: String,
    /// The scenario file's stem.
    pub strategy: String,
    /// The budget level, where the scenario has one (none: a scenario without
    /// interventions, or run as written).
    pub budget: Option<f64>,
    /// The scenario file the arm runs (written into `OUT/scenarios/`).
    pub file: PathBuf,
}

pub const DESIGN: &str = "compare.json";
pub const SWEEP_FILE: &str = "compare.toml";
pub const SCENARIOS_DIR: &str = "scenarios";
pub const SWEEP_DIR: &str = "sweep";
pub const TABLES_DIR: &str = "tables";

/// What `compare` is asked.
pub struct CompareOptions {
    pub scenarios: Vec<PathBuf>,
    pub seeds: u32,
    pub out: PathBuf,
    /// Budget levels: each scenario with interventions runs at each.
    pub budgets: Vec<f64>,
    pub budget_key: String,
    /// `--set path=value` for every scenario (the population's size, the ticks).
    pub sets: Vec<String>,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    pub concurrent: u32,
    /// Write the sweep (and its plan) and stop: it runs elsewhere.
    pub sweep_only: bool,
    /// Set by SIGINT/SIGTERM: the runs in flight checkpoint and the comparison stops.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// The budget path the levels set by default: the first intervention's `count`.
pub const DEFAULT_BUDGET_KEY: &str = "intervention.0.count";

/// `compare A.toml B.toml … --seeds S --out OUT`: write the design, the derived scenarios
/// and the sweep; run and merge it here unless `sweep_only`; then the comparison.
pub fn compare(opts: &CompareOptions) -> Result<Option<Comparison>> {
    if opts.scenarios.len() < 2 {
        return Err(Error::bad_input(
            "compare: give at least two scenario files (the first is the reference)",
        ));
    }
    if opts.seeds == 0 || opts.seeds > 100_000 {
        return Err(Error::bad_input(format!(
            "--seeds {}: the replicate seeds per scenario, 1 to 100000",
            opts.seeds
        )));
    }
    if let Some(b) = opts.budgets.iter().find(|b| !b.is_finite() || **b < 0.0) {
        return Err(Error::bad_input(format!(
            "--budgets: {b} is not a budget (a number ≥ 0)"
        )));
    }
    // Every scenario loads (all of run's checks) at every budget before anything is
    // written.
    let mut arms: Vec<(Arm, String)> = Vec::new();
    let mut agents = None;
    for path in &opts.scenarios {
        let plain = config::load(Some(path), &opts.sets)?;
        let strategy = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if arms.iter().any(|(a, _)| a.strategy == strategy) {
            return Err(Error::bad_input(format!(
                "{}: two scenarios are named {strategy}; give files of distinct names",
                path.display()
            )));
        }
        let n = plain.scenario.agents as u32;
        match agents {
            None => agents = Some(n),
            Some(a) if a != n => {
                return Err(Error::bad_input(format!(
                    "{}: agents = {n}, the first scenario has {a}; a comparison runs the same population",
                    path.display()
                )))
            }
            _ => {}
        }
        let levels: Vec<Option<f64>> =
            if opts.budgets.is_empty() || plain.scenario.interventions.is_empty() {
                vec![None]
            } else {
                opts.budgets.iter().map(|&b| Some(b)).collect()
            };
        for budget in levels {
            let mut sets = opts.sets.clone();
            sets.extend(budget.map(|b| format!("{}={}", opts.budget_key, shown(b))));
            let loaded = config::load(Some(path), &sets).map_err(|e| match budget {
                Some(b) => {
                    Error::bad_input(format!("{} at budget {}: {e}", path.display(), shown(b)))
                }
                None => e,
            })?;
            let name = match budget {
                Some(b) => format!("{strategy}@{}", shown(b)),
                None => strategy.clone(),
            };
            let file = opts.out.join(SCENARIOS_DIR).join(format!("{name}.toml"));
            arms.push((
                Arm {
                    name,
                    strategy: strategy.clone(),
                    budget,
                    file,
                },
                loaded.resolved_toml(),
            ));
        }
    }
    claim(&opts.out)?;
    let dir = opts.out.join(SCENARIOS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for (arm, text) in &arms {
        rundir::write_atomic(&arm.file, text.as_bytes())?;
    }
    let design = Design {
        kind: "emergence-compare".into(),
        scenarios: arms.iter().map(|(a, _)| a.clone()).collect(),
        budget_key: opts.budget_key.clone(),
        seeds: opts.seeds,
        agents: agents.unwrap_or(0),
    };
    rundir::write_atomic(
        &opts.out.join(DESIGN),
        (serde_json::to_string_pretty(&design).expect("a design serialises") + "\n").as_bytes(),
    )?;
    let listed: Vec<String> = design
        .scenarios
        .iter()
        .map(|a| format!("{SCENARIOS_DIR}/{}.toml", a.name).replace('"', "\\\""))
        .map(|p| format!("\"{p}\""))
        .collect();
    let sweep_text = format!(
        "# emergence compare: each scenario under the same {} seeds (docs/strategies.md)\nname = \"compare\"\nscenarios = [{}]\nreplicates = {}\n",
        opts.seeds,
        listed.join(", "),
        opts.seeds
    );
    let sweep_file = opts.out.join(SWEEP_FILE);
    rundir::write_atomic(&sweep_file, sweep_text.as_bytes())?;
    let backend = crate::backend::Backend::open(opts.backend, opts.adapter.as_deref())?;
    let plan = sweep::plan::plan_file(&sweep_file, &backend)?;
    drop(backend);
    let plan_path = opts.out.join("plan.jsonl");
    sweep::plan::write(&plan, &plan_path)?;
    if opts.sweep_only {
        return Ok(None);
    }
    let sweep_dir = opts.out.join(SWEEP_DIR);
    let shard = sweep::exec::run_shard(&SweepRunOptions {
        plan: plan_path,
        out: sweep_dir.clone(),
        shard: Some(0),
        num_shards: Some(1),
        backend: opts.backend,
        adapter: opts.adapter.clone(),
        allow_software: sweep::exec::software_allowed_by_env(),
        keep_runs: false,
        concurrent: opts.concurrent.max(1),
        memory_budget: None,
        checkpoint_every_s: 600.0,
        skip_failed: false,
        stop: opts.stop.clone(),
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    })?;
    if shard.interrupted {
        return Err(Error::Failed(format!(
            "compare: interrupted; the runs in flight checkpointed. Go on with `emergence sweep run {p} --out {d}` (runs done are skipped), then `emergence sweep merge {d} --out {t}` and `emergence compare --from {o}`",
            p = opts.out.join("plan.jsonl").display(),
            d = sweep_dir.display(),
            t = opts.out.join(TABLES_DIR).display(),
            o = opts.out.display()
        )));
    }
    if shard.failed > 0 {
        return Err(Error::Failed(format!(
            "compare: {} of {} runs failed (`emergence sweep status {}`)",
            shard.failed,
            shard.assigned,
            sweep_dir.display()
        )));
    }
    sweep::merge::merge(&sweep_dir, &opts.out.join(TABLES_DIR))?;
    from(&opts.out).map(Some)
}

/// A budget as a `--set` value and a name: integers without a decimal point.
fn shown(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{}", b as i64)
    } else {
        format!("{b}")
    }
}

/// `--out` must be new or empty: a comparison writes its own folder.
fn claim(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(|e| Error::io(out, e))?
            .next()
            .is_none();
        if !empty {
            return Err(Error::bad_input(format!(
                "--out {}: exists and is not empty; a comparison writes a folder of its own (give a new one)",
                out.display()
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// A mean and its 95% interval's half-width (Student's t), over the runs.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: f64,
    pub n: usize,
}

impl Estimate {
    fn of(xs: &[f64]) -> Estimate {
        let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        let (mean, ci95) = mean_ci(&xs);
        Estimate {
            mean,
            ci95,
            n: xs.len(),
        }
    }
}

/// A stage's outcome over the runs of one scenario.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageOutcome {
    pub stage: u8,
    /// Runs that reached it, of all.
    pub reached: usize,
    pub runs: usize,
    /// The share that reached it and its 95% Wilson interval.
    pub share: f64,
    pub share_lo: f64,
    pub share_hi: f64,
    /// The Kaplan–Meier median tick of reaching it (runs that never do are censored at
    /// their last tick), and its 95% interval from the Greenwood band (None: not reached
    /// by half, or the band never falls below one half).
    pub median: Option<f64>,
    pub median_lo: Option<f64>,
    pub median_hi: Option<f64>,
}

/// One scenario's row of the comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub scenario: String,
    pub strategy: String,
    pub budget: Option<f64>,
    pub runs: usize,
    pub stages: Vec<StageOutcome>,
    /// Reaching half adoption (the first metrics row with `adoption` ≥ 0.5, agents
    /// seeded included), as a stage: `stage` is 0.
    pub adoption_half: StageOutcome,
    /// Each outcome, and its difference from the reference scenario paired by seed.
    pub outcomes: BTreeMap<String, Estimate>,
    pub paired: BTreeMap<String, Estimate>,
}

/// The comparison: a row per scenario.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    pub reference: String,
    pub agents: u32,
    pub rows: Vec<Row>,
}

/// The outcomes compared, from the runs table: the tick of half adoption (runs that
/// never reach it left out; its share and Kaplan–Meier median are in each row's
/// `adoption_half`), the final row's adoption net of the
/// agents seeded directly, alignment, the communities of practice tracked (how many lived
/// 100 ticks, and the median and largest peak size of those tracked), ties created and
/// the budget spent (agents touched; ties added and removed).
pub const OUTCOMES: [&str; 9] = [
    "adoption_half_tick",
    "adoption_net",
    "alignment",
    "communities_of_practice",
    "community_size_median",
    "community_size_max",
    "ties_created",
    "budget_agents",
    "budget_ties",
];

/// The comparison of a design whose sweep ran and was merged into `OUT/tables` (here, or
/// by `sweep merge` after a run elsewhere); writes `comparison.csv`, `comparison.json`
/// and `report.html` into `out`.
pub fn from(out: &Path) -> Result<Comparison> {
    let design: Design = std::fs::read_to_string(out.join(DESIGN))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            Error::bad_input(format!(
                "{}: no readable {DESIGN}; `emergence compare A.toml B.toml … --out DIR` writes one",
                out.display()
            ))
        })?;
    let tables = out.join(TABLES_DIR);
    if !crate::report::ensemble::is_tables(&tables) {
        return Err(Error::bad_input(format!(
            "{}: not merged yet; `emergence sweep merge {} --out {}` merges the sweep",
            tables.display(),
            out.join(SWEEP_DIR).display(),
            tables.display()
        )));
    }
    let wide = read_table(&tables.join(RUNS))?;
    let long = read_table(&tables.join(LONG))?;
    let comparison = analyse(&design, &wide, &long)?;
    rundir::write_atomic(&out.join("comparison.csv"), to_csv(&comparison).as_bytes())?;
    rundir::write_atomic(
        &out.join("comparison.json"),
        (serde_json::to_string_pretty(&comparison).expect("a comparison serialises") + "\n")
            .as_bytes(),
    )?;
    report(out, &design, &comparison, &long)?;
    Ok(comparison)
}

fn column<'a>(t: &'a Table, name: &str) -> Result<&'a [f64]> {
    t.numbers.get(name).map(Vec::as_slice).ok_or_else(|| {
        Error::bad_input(format!(
            "the runs table has no column {name} (a sweep of the lifecycle merged by this version writes it)"
        ))
    })
}

/// The rows of the comparison from the runs table.
pub(crate) fn analyse(design: &Design, wide: &Table, long: &Table) -> Result<Comparison> {
    let names = wide
        .text
        .get(sweep::plan::SCENARIO)
        .ok_or_else(|| Error::bad_input("the runs table has no scenario column"))?;
    let status = &wide.text["status"];
    let seed = column(wide, "seed")?;
    let ticks = column(wide, "ticks_run")?;
    let n = design.agents.max(1) as f64;
    let adoption = column(wide, "adoption")?;
    let seeded = column(wide, "seeded_adopters")?;
    let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    values.insert(
        "adoption_net",
        (0..wide.rows)
            .map(|i| adoption[i] - seeded[i] / n)
            .collect(),
    );
    values.insert("alignment", column(wide, "alignment")?.to_vec());
    values.insert(
        "communities_of_practice",
        column(wide, "communities_of_practice")?.to_vec(),
    );
    // Columns a table merged before they were recorded lacks: no values.
    let optional = |name: &str| {
        wide.numbers
            .get(name)
            .cloned()
            .unwrap_or_else(|| vec![f64::NAN; wide.rows])
    };
    values.insert("community_size_median", optional("community_size_median"));
    values.insert("community_size_max", optional("community_size_max"));
    values.insert("ties_created", column(wide, "ties_created")?.to_vec());
    values.insert(
        "budget_agents",
        column(wide, "intervention_agents")?.to_vec(),
    );
    let (added, removed) = (
        column(wide, "intervention_ties_added")?,
        column(wide, "intervention_ties_removed")?,
    );
    values.insert(
        "budget_ties",
        added.iter().zip(removed).map(|(a, r)| a + r).collect(),
    );
    // The first tick each run's adoption reached one half, from its rows.
    let mut half: BTreeMap<&str, f64> = BTreeMap::new();
    if let (Some(ids), Some(t), Some(a)) = (
        long.text.get("run_id"),
        long.numbers.get("tick"),
        long.numbers.get("adoption"),
    ) {
        for i in 0..long.rows {
            if a[i] >= 0.5 {
                let e = half.entry(ids[i].as_str()).or_insert(t[i]);
                *e = e.min(t[i]);
            }
        }
    }
    let run_ids = &wide.text["run_id"];
    values.insert(
        "adoption_half_tick",
        run_ids
            .iter()
            .map(|id| half.get(id.as_str()).copied().unwrap_or(f64::NAN))
            .collect(),
    );
    let runs_of = |name: &str| -> Vec<usize> {
        (0..wide.rows)
            .filter(|&i| names[i] == name && status[i] == "done")
            .collect()
    };
    let reference = design.scenarios[0].name.clone();
    let reference_runs = runs_of(&reference);
    let by_seed = |runs: &[usize]| -> BTreeMap<i64, usize> {
        runs.iter().map(|&i| (seed[i] as i64, i)).collect()
    };
    let reference_by_seed = by_seed(&reference_runs);
    let mut rows = Vec::new();
    for arm in &design.scenarios {
        let runs = runs_of(&arm.name);
        let mut stages = Vec::new();
        for s in 1..=3u8 {
            let at = column(wide, &format!("stage_{s}_tick"))?;
            let times: Vec<(f64, bool)> = runs
                .iter()
                .map(|&i| {
                    if at[i].is_finite() {
                        (at[i], true)
                    } else {
                        (ticks[i], false)
                    }
                })
                .collect();
            stages.push(stage_outcome(s, &times));
        }
        let times: Vec<(f64, bool)> = runs
            .iter()
            .map(|&i| match half.get(run_ids[i].as_str()) {
                Some(&t) => (t, true),
                None => (ticks[i], false),
            })
            .collect();
        let adoption_half = stage_outcome(0, &times);
        let mut outcomes = BTreeMap::new();
        let mut paired = BTreeMap::new();
        let mine = by_seed(&runs);
        for (name, v) in &values {
            let xs: Vec<f64> = runs.iter().map(|&i| v[i]).collect();
            outcomes.insert(name.to_string(), Estimate::of(&xs));
            let diffs: Vec<f64> = mine
                .iter()
                .filter_map(|(s, &i)| reference_by_seed.get(s).map(|&r| v[i] - v[r]))
                .collect();
            paired.insert(name.to_string(), Estimate::of(&diffs));
        }
        rows.push(Row {
            scenario: arm.name.clone(),
            strategy: arm.strategy.clone(),
            budget: arm.budget,
            runs: runs.len(),
            stages,
            adoption_half,
            outcomes,
            paired,
        });
    }
    Ok(Comparison {
        reference,
        agents: design.agents,
        rows,
    })
}

/// The share reaching a stage (Wilson interval) and the Kaplan–Meier median of the time
/// to it, from (time, reached) per run: runs that never reach it are censored at their
/// last tick.
pub fn stage_outcome(stage: u8, times: &[(f64, bool)]) -> StageOutcome {
    let runs = times.len();
    let reached = times.iter().filter(|t| t.1).count();
    let (share, share_lo, share_hi) = wilson(reached, runs);
    let (median, median_lo, median_hi) = km_median(times);
    StageOutcome {
        stage,
        reached,
        runs,
        share,
        share_lo,
        share_hi,
        median,
        median_lo,
        median_hi,
    }
}

/// The 95% Wilson score interval of k successes in n.
pub fn wilson(k: usize, n: usize) -> (f64, f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let z = 1.959_963_984_540_054f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / d;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    (p, (centre - half).max(0.0), (centre + half).min(1.0))
}

/// The Kaplan–Meier survival curve's median (the first event time at which S ≤ 1/2) and
/// its 95% interval: the first times at which the lower and the upper limit of the
/// pointwise Greenwood band fall to 1/2 (Brookmeyer and Crowley's construction with the
/// plain band); None where the curve or the limit never gets there.
pub fn km_median(times: &[(f64, bool)]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let mut sorted: Vec<(f64, bool)> = times.to_vec();
    // Events before censorings at the same time, as is usual.
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut at_risk = sorted.len() as f64;
    let (mut s, mut greenwood) = (1.0f64, 0.0f64);
    let (mut median, mut lo, mut hi) = (None, None, None);
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        let (mut d, mut c) = (0.0, 0.0);
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 {
                d += 1.0;
            } else {
                c += 1.0;
            }
            i += 1;
        }
        if d > 0.0 {
            s *= 1.0 - d / at_risk;
            if at_risk > d {
                greenwood += d / (at_risk * (at_risk - d));
            }
            let se = s * greenwood.sqrt();
            let z = 1.959_963_984_540_054f64;
            if median.is_none() && s <= 0.5 {
                median = Some(t);
            }
            if lo.is_none() && s - z * se <= 0.5 {
                lo = Some(t);
            }
            if hi.is_none() && s + z * se <= 0.5 {
                hi = Some(t);
            }
        }
        at_risk -= d + c;
    }
    (median, lo, hi)
}

/// `comparison.csv`: one line per scenario.
pub fn to_csv(c: &Comparison) -> String {
    let mut head = vec![
        "scenario".to_string(),
        "strategy".into(),
        "budget".into(),
        "runs".into(),
    ];
    // The three stages, then half adoption, as the rows write them.
    for s in ["stage_1", "stage_2", "stage_3", "adoption_half"] {
        for k in [
            "share",
            "share_lo",
            "share_hi",
            "median",
            "median_lo",
            "median_hi",
        ] {
            head.push(format!("{s}_{k}"));
        }
    }
    for o in OUTCOMES {
        for k in ["mean", "ci95", "paired_diff", "paired_ci95"] {
            head.push(format!("{o}_{k}"));
        }
    }
    let mut out = head.join(",") + "\n";
    let num = |v: f64| {
        if v.is_finite() {
            format!("{v}")
        } else {
            String::new()
        }
    };
    let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
    for r in &c.rows {
        let mut cells = vec![
            r.scenario.clone(),
            r.strategy.clone(),
            opt(r.budget),
            r.runs.to_string(),
        ];
        for s in r.stages.iter().chain(std::iter::once(&r.adoption_half)) {
            cells.extend([
                num(s.share),
                num(s.share_lo),
                num(s.share_hi),
                opt(s.median),
                opt(s.median_lo),
                opt(s.median_hi),
            ]);
        }
        for o in OUTCOMES {
            let e = r.outcomes[o];
            let p = r.paired[o];
            cells.extend([num(e.mean), num(e.ci95), num(p.mean), num(p.ci95)]);
        }
        out += &(cells.join(",") + "\n");
    }
    out
}

impl Comparison {
    /// The table as text: a line per scenario.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{:<30} {:>4}  {:>17}  {:>15}  {:>15}  {:>20}  {:>20}  {:>8}",
            "scenario",
            "runs",
            "stage 2: share",
            "stage 3: median",
            "adoption ≥ 1/2",
            "adoption net",
            "Δ vs reference",
            "touched"
        )];
        for r in &self.rows {
            let s2 = &r.stages[1];
            let s3 = &r.stages[2];
            let a = r.outcomes["adoption_net"];
            let d = r.paired["adoption_net"];
            let median =
                |s: &StageOutcome| s.median.map_or("not by half".into(), |m| format!("{m:.0}"));
            lines.push(format!(
                "{:<30} {:>4}  {:>5.2} [{:.2},{:.2}]  {:>15}  {:>15}  {:>8.4} ± {:<9.4}  {:>8.4} ± {:<9.4}  {:>8.0}",
                r.scenario,
                r.runs,
                s2.share,
                s2.share_lo,
                s2.share_hi,
                median(s3),
                median(&r.adoption_half),
                a.mean,
                a.ci95,
                d.mean,
                d.ci95,
                r.outcomes["budget_agents"].mean
            ));
        }
        lines
    }
}

/// A median tick with its interval, as the report's table shows it.
fn median_cell(s: &StageOutcome) -> String {
    match (s.median, s.median_lo, s.median_hi) {
        (Some(m), lo, hi) => format!(
            "{m:.0} [{}, {}]",
            lo.map_or("–".into(), |v| format!("{v:.0}")),
            hi.map_or("–".into(), |v| format!("{v:.0}"))
        ),
        _ => "not by half".into(),
    }
}

/// What a figure of the report shows for a row.
#[derive(Clone, Copy)]
enum Which {
    /// The share reaching stage (index + 1).
    Stage(usize),
    /// The Kaplan–Meier median tick of stage (index + 1) (NaN: not by half).
    StageMedian(usize),
    /// The Kaplan–Meier median tick of half adoption.
    HalfAdoption,
    /// The mean of an outcome.
    Outcome(&'static str),
}

impl Which {
    fn of(self, r: &Row) -> f64 {
        match self {
            Which::Stage(k) => r.stages[k].share,
            Which::StageMedian(k) => r.stages[k].median.unwrap_or(f64::NAN),
            Which::HalfAdoption => r.adoption_half.median.unwrap_or(f64::NAN),
            Which::Outcome(o) => r.outcomes[o].mean,
        }
    }
}

/// `OUT/report.html`: each outcome against the budget, a line per strategy (a scenario
/// without budget levels as a flat line), and the adoption curves of every scenario side
/// by side.
fn report(out: &Path, design: &Design, c: &Comparison, long: &Table) -> Result<()> {
    let plots_dir = out.join("plots");
    let mut figures: Vec<(String, Vec<u8>)> = Vec::new();
    // Strategies against what they actually spent: the agents touched (a scenario
    // without interventions is a flat line across).
    let spent = |r: &Row| r.outcomes["budget_agents"].mean;
    let (lo, hi) = c
        .rows
        .iter()
        .filter(|r| r.budget.is_some())
        .map(spent)
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), b| {
            (l.min(b), h.max(b))
        });
    let mut strategies: Vec<&str> = Vec::new();
    for a in &design.scenarios {
        if !strategies.contains(&a.strategy.as_str()) {
            strategies.push(&a.strategy);
        }
    }
    let outcome_plots: [(&str, Which); 8] = [
        ("median tick of half adoption", Which::HalfAdoption),
        ("median tick of stage 3", Which::StageMedian(2)),
        ("share reaching stage 3", Which::Stage(2)),
        ("share reaching stage 2", Which::Stage(1)),
        ("adoption net of seeded", Which::Outcome("adoption_net")),
        ("alignment", Which::Outcome("alignment")),
        (
            "communities of practice",
            Which::Outcome("communities_of_practice"),
        ),
        ("ties created", Which::Outcome("ties_created")),
    ];
    if lo.is_finite() {
        for (title, which) in outcome_plots {
            let mut p = LinePlot::new(
                format!("{title} against the agents touched"),
                "agents touched (mean)",
            );
            p.y_label = title.to_string();
            for (k, strategy) in strategies.iter().enumerate() {
                let rows: Vec<&Row> = c.rows.iter().filter(|r| r.strategy == *strategy).collect();
                let points: Vec<(f64, f64)> = if rows.iter().all(|r| r.budget.is_none()) {
                    vec![(lo, which.of(rows[0])), (hi, which.of(rows[0]))]
                } else {
                    rows.iter().map(|r| (spent(r), which.of(r))).collect()
                };
                p.series.push(Series {
                    label: strategy.to_string(),
                    points,
                    color: Some(plot::PALETTE[k % plot::PALETTE.len()]),
                });
            }
            let stem = title.replace(' ', "_");
            figures.push((p.title.clone(), plot::render(&p, &plots_dir, &stem)?));
        }
    }
    // The mean adoption over time: each strategy at its largest budget (the lines of
    // every level would hide one another).
    let shown: Vec<&Arm> = strategies
        .iter()
        .filter_map(|st| {
            design
                .scenarios
                .iter()
                .filter(|a| a.strategy == *st)
                .max_by(|a, b| a.budget.unwrap_or(0.0).total_cmp(&b.budget.unwrap_or(0.0)))
        })
        .collect();
    let scen = long.text.get(sweep::plan::SCENARIO);
    if let (Some(scen), Some(ticks), Some(adoption)) =
        (scen, long.numbers.get("tick"), long.numbers.get("adoption"))
    {
        let mut p = LinePlot::new(
            "adoption over time, mean over seeds (each strategy at its largest budget)",
            "tick",
        );
        p.y_label = "adoption".into();
        for (k, arm) in shown.iter().enumerate() {
            let mut by_tick: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
            for i in 0..long.rows {
                if scen[i] == arm.name && adoption[i].is_finite() {
                    let e = by_tick.entry(ticks[i] as i64).or_default();
                    e.0 += adoption[i];
                    e.1 += 1;
                }
            }
            p.series.push(Series {
                label: arm.name.clone(),
                points: by_tick
                    .iter()
                    .map(|(&t, &(s, n))| (t as f64, s / n as f64))
                    .collect(),
                color: Some(plot::PALETTE[k % plot::PALETTE.len()]),
            });
        }
        figures.push((
            p.title.clone(),
            plot::render(&p, &plots_dir, "adoption_over_time")?,
        ));
    }
    let mut h = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>comparison</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>");
    h += &format!(
        "<h1>Comparison of {} scenarios</h1><p>{} agents, {} seeds each, the same seeds in every scenario; the reference is <b>{}</b>. Means with 95% intervals (Student's t), differences paired by seed, shares with Wilson intervals, the Kaplan–Meier median tick of each stage with the Greenwood band's interval.</p>",
        c.rows.len(),
        c.agents,
        design.seeds,
        esc(&c.reference)
    );
    h += "<table><tr><th>scenario</th><th>runs</th><th>stage 2 share</th><th>stage 3 share</th><th>stage 3 median tick</th><th>adoption ≥ ½ median tick</th><th>adoption net of seeded</th><th>Δ paired</th><th>alignment</th><th>communities of practice</th><th>largest community</th><th>ties created</th><th>agents touched</th></tr>";
    let pm = |e: &Estimate| format!("{:.4} ± {:.4}", e.mean, e.ci95);
    for r in &c.rows {
        let s3 = &r.stages[2];
        h += &format!(
            "<tr><td style=\"text-align:left\">{}</td><td>{}</td><td>{:.2} [{:.2}, {:.2}]</td><td>{:.2} [{:.2}, {:.2}]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} ± {:.1}</td><td>{:.0} ± {:.0}</td><td>{:.0} ± {:.0}</td><td>{:.0}</td></tr>",
            esc(&r.scenario),
            r.runs,
            r.stages[1].share,
            r.stages[1].share_lo,
            r.stages[1].share_hi,
            s3.share,
            s3.share_lo,
            s3.share_hi,
            median_cell(s3),
            median_cell(&r.adoption_half),
            pm(&r.outcomes["adoption_net"]),
            pm(&r.paired["adoption_net"]),
            pm(&r.outcomes["alignment"]),
            r.outcomes["communities_of_practice"].mean,
            r.outcomes["communities_of_practice"].ci95,
            r.outcomes["community_size_max"].mean,
            r.outcomes["community_size_max"].ci95,
            r.outcomes["ties_created"].mean,
            r.outcomes["ties_created"].ci95,
            r.outcomes["budget_agents"].mean,
        );
    }
    h += "</table>";
    for (title, png) in &figures {
        h += &format!(
            "<h2>{}</h2><img alt=\"{}\" src=\"data:image/png;base64,{}\">",
            esc(title),
            esc(title),
            crate::report::html::base64(png)
        );
    }
    h += "</body></html>\n";
    rundir::write_atomic(&out.join("report.html"), h.as_bytes())
}
