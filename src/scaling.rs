//! `emergence scaling`: finite-size scaling of a transition. A control parameter is swept
//! at several sizes N with several seeds each; per N the order parameter's mean curve
//! gives the location of the jump (where it crosses `--level`, 1/2 by default), its
//! 10–90% width Δ(N) and the susceptibility peak χ = N·var; a least-squares fit of ln Δ
//! against ln N gives the exponent of Δ ∝ N^(−1/ν). A transition that sharpens with N is
//! a real phase transition, not a smooth crossover. Each point also records how much the
//! order parameter still moved over the last fifth of the run, so a reader sees whether
//! the run length is a plateau or mixes time with the parameter.

use crate::analysis::theory;
use crate::backend::{Backend, BackendChoice};
use crate::config;
use crate::error::{Error, Result};
use crate::graph::build_graph;
use crate::io::rundir;
use crate::model::{self, Start};
use crate::progress::Progress;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ScalingOptions {
    pub config: Option<PathBuf>,
    pub sets: Vec<String>,
    /// Config path of the control parameter, e.g. `model.seed_fraction`.
    pub param: String,
    /// `a:b:n`: n values from a to b inclusive.
    pub range: String,
    pub agents: Vec<u32>,
    pub seeds: u32,
    /// Metrics column whose final value is the order parameter (default per model).
    pub order: Option<String>,
    /// Bisection steps per seed inside the grid interval where its curve crosses `level`.
    pub bisect: u32,
    /// The value of the order parameter whose crossing locates the transition.
    pub level: f64,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    pub out: Option<PathBuf>,
    pub force: bool,
}

/// One (N, value) point: the order parameter over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub agents: u32,
    pub value: f64,
    pub mean: f64,
    pub sd: f64,
    /// Susceptibility N·var of the order parameter over seeds.
    pub chi: f64,
    /// Mean over the seeds of |y(end) − y(4/5 of the run)|: near 0 when the run length
    /// is a plateau for the order parameter.
    pub late_change: f64,
}

/// What one size gives.
#[derive(Debug, Clone, Serialize)]
pub struct SizeSummary {
    pub agents: u32,
    /// Control value where the mean order parameter crosses the level (linear
    /// interpolation).
    pub crossing: Option<f64>,
    /// The mean curve's slope on the grid interval of that crossing.
    pub slope: Option<f64>,
    /// |p(0.9) − p(0.1)| of the mean curve.
    pub width: Option<f64>,
    pub chi_peak: f64,
    pub chi_peak_at: f64,
    /// Each seed's own crossing of 1/2 (its curve over the control values, interpolated;
    /// None where that seed's curve does not cross inside the range), so the width is
    /// not limited by the grid.
    pub seed_crossings: Vec<Option<f64>>,
    /// q90 − q10 of the seeds' crossings (None with fewer than 3 crossings).
    pub seed_width: Option<f64>,
    /// Its standard error: the sd of `seed_width` over [`BOOTSTRAP`] resamples of the seeds.
    pub seed_width_se: Option<f64>,
}

/// `--bisect`'s default: each seed's crossing to 1/32 of the grid step.
pub const DEFAULT_BISECT: u32 = 5;
/// The most bisection steps (each halves the interval; 2^-30 of a grid step is far
/// below any use).
pub const MAX_BISECT: u32 = 30;

/// Bootstrap resamples of the seeds for the errors of the seed width and its exponent.
pub const BOOTSTRAP: u32 = 1000;

/// The `q`-quantile of sorted values, linearly interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let x = q * (sorted.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    if i + 1 < sorted.len() {
        sorted[i] + f * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// q90 − q10 of the values (None with fewer than 3).
fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 3 {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(quantile(&v, 0.9) - quantile(&v, 0.1))
}

/// A bootstrap resample (with replacement) of `values`, from the counter-based generator
/// keyed by `(size index, resample)`, so the errors are the same on every run.
fn resample(values: &[f64], size: u32, b: u32) -> Vec<f64> {
    (0..values.len() as u32)
        .map(|i| {
            let r = crate::rng::rand4(size, b, i, crate::rng::stream::GRAPH_AUX)[0];
            values[((r as u64 * values.len() as u64) >> 32) as usize]
        })
        .collect()
}

fn sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

#[derive(Debug, Clone, Serialize)]
pub struct ScalingReport {
    pub model: String,
    pub param: String,
    pub order: String,
    /// The crossing level of the order parameter.
    pub level: f64,
    pub seeds: u32,
    pub backend: String,
    pub points: Vec<Point>,
    pub sizes: Vec<SizeSummary>,
    /// Slope of ln Δ against ln N (−1/ν), with ν, from the sizes that have a width.
    pub width_exponent: Option<f64>,
    pub nu: Option<f64>,
    /// The slope of ln Δ_seeds against ln N (the widths of the seeds' crossings) and its
    /// standard error over [`BOOTSTRAP`] resamples of every size's seeds; ν = −1/slope
    /// with the error propagated (σ_ν = σ_slope / slope²).
    pub seed_width_exponent: Option<f64>,
    pub seed_width_exponent_se: Option<f64>,
    pub nu_seeds: Option<f64>,
    pub nu_seeds_se: Option<f64>,
    /// For the threshold model on ER graphs swept in `model.seed_fraction`: the critical
    /// seed fraction of the Gleeson–Cahalane recursion.
    pub theory_critical: Option<f64>,
}

/// The most values a `--range` may have.
pub const MAX_POINTS: usize = 10_000;
/// The most runs (values × sizes × seeds) one `scaling` may ask for.
pub const MAX_RUNS: u64 = 100_000;

/// Parse `a:b:n` into n evenly spaced values from a to b (2 ≤ n ≤ [`MAX_POINTS`]).
pub fn parse_range(text: &str) -> Result<Vec<f64>> {
    let bad = || {
        Error::bad_input(format!(
            "--range {}: expected a:b:n, e.g. 0.004:0.009:11 (n ≥ 2 values from a to b)",
            crate::error::shorten(text, 60)
        ))
    };
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let a: f64 = parts[0].trim().parse().map_err(|_| bad())?;
    let b: f64 = parts[1].trim().parse().map_err(|_| bad())?;
    let n: usize = parts[2].trim().parse().map_err(|_| bad())?;
    if n < 2 || !a.is_finite() || !b.is_finite() || a == b {
        return Err(bad());
    }
    if n > MAX_POINTS {
        return Err(Error::bad_input(format!(
            "--range {}: {n} values; allowed: 2 ≤ n ≤ {MAX_POINTS}",
            crate::error::shorten(text, 60)
        )));
    }
    Ok((0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect())
}

/// The slope of the piecewise-linear curve through `(x, y)` on the segment where it first
/// crosses `level`: it steepens with N at a transition and stays put at a crossover.
fn slope_at_crossing(xs: &[f64], ys: &[f64], level: f64) -> Option<f64> {
    crossing_segment(ys, level).map(|k| (ys[k] - ys[k - 1]) / (xs[k] - xs[k - 1]))
}

/// The first grid interval (k − 1, k) whose ends touch or straddle `level`.
fn crossing_segment(ys: &[f64], level: f64) -> Option<usize> {
    (1..ys.len()).find(|&k| {
        let (y0, y1) = (ys[k - 1] - level, ys[k] - level);
        y0 == 0.0 || y0 * y1 < 0.0 || y1 == 0.0
    })
}

/// Where the piecewise-linear curve through `(x, y)` first crosses `level`.
fn crossing(xs: &[f64], ys: &[f64], level: f64) -> Option<f64> {
    let k = crossing_segment(ys, level)?;
    let (y0, y1) = (ys[k - 1] - level, ys[k] - level);
    Some(if y0 == 0.0 {
        xs[k - 1]
    } else {
        xs[k - 1] + (xs[k] - xs[k - 1]) * y0 / (y0 - y1)
    })
}

/// Least-squares slope of y against x.
fn slope(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The final value of `order` for one scenario, run through the driver like any run, and
/// its value at the last row at or before 4/5 of the run.
fn order_parameter(loaded: &config::Loaded, backend: &Backend, order: &str) -> Result<(f64, f64)> {
    let model = model::find(loaded.scenario.model.kind())?;
    let (edges, graph, csr) = build_graph(loaded)?;
    let start = Start {
        loaded,
        graph: &graph,
        edges,
        csr,
        render: None,
    };
    let table = model::simulate(model, start, backend, &Progress::hidden(), Vec::new())?.table;
    let k = column(&table.columns, order)?;
    let last = table
        .rows
        .last()
        .map(|r| (r[0], r[k]))
        .unwrap_or((0.0, 0.0));
    let late = table
        .rows
        .iter()
        .rev()
        .find(|r| r[0] <= 0.8 * last.0)
        .map_or(last.1, |r| r[k]);
    Ok((last.1, late))
}

/// The index of metrics column `order`, or the refusal naming the model's columns.
fn column(columns: &[String], order: &str) -> Result<usize> {
    columns.iter().position(|c| c == order).ok_or_else(|| {
        Error::bad_input(format!(
            "--order {order}: not a metrics column of this model; columns are {}",
            columns.join(", ")
        ))
    })
}

/// Run the sweep and write `scaling.csv` and `scaling.json` into the output directory.
pub fn scaling(opts: &ScalingOptions) -> Result<(PathBuf, ScalingReport)> {
    let values = parse_range(&opts.range)?;
    if opts.agents.is_empty() {
        return Err(Error::bad_input(
            "--agents: give at least one size, e.g. --agents 4096,16384,65536",
        ));
    }
    if opts.seeds < 2 {
        return Err(Error::bad_input(format!(
            "--seeds {}: at least 2 seeds are needed for a variance",
            opts.seeds
        )));
    }
    if let Some(n) = opts.agents.iter().find(|&&n| n == 0) {
        return Err(Error::bad_input(format!(
            "--agents {n}: a size of no agents; allowed: 1 ≤ N ≤ {}",
            config::MAX_AGENTS
        )));
    }
    if !opts.level.is_finite() {
        return Err(Error::bad_input(format!(
            "--level {}: allowed: a finite value of the order parameter",
            opts.level
        )));
    }
    if opts.bisect > MAX_BISECT {
        return Err(Error::bad_input(format!(
            "--bisect {}: allowed: 0 ≤ K ≤ {MAX_BISECT}",
            opts.bisect
        )));
    }
    let runs =
        (values.len() as u64 + opts.bisect as u64) * opts.agents.len() as u64 * opts.seeds as u64;
    if runs > MAX_RUNS {
        return Err(Error::bad_input(format!(
            "--range, --bisect, --agents, --seeds: ({} values + {} bisections) × {} sizes × {} seeds = {runs} runs; allowed: at most {MAX_RUNS} runs",
            values.len(),
            opts.bisect,
            opts.agents.len(),
            opts.seeds
        )));
    }
    // Validate the whole grid's configs up front (a bad --param fails here, before any run).
    let base = config::load(opts.config.as_deref(), &opts.sets)?;
    let model = model::find(base.scenario.model.kind())?;
    let order = opts
        .order
        .clone()
        .unwrap_or_else(|| model.order_column().to_string());
    let columns: Vec<String> = model.columns().iter().map(|c| c.to_string()).collect();
    column(&columns, &order)?;
    let load = |n: u32, value: f64, seed: u32| {
        let mut sets = opts.sets.clone();
        sets.push(format!("{}={value}", opts.param));
        sets.push(format!("agents={n}"));
        sets.push(format!("seed={seed}"));
        config::load(opts.config.as_deref(), &sets)
    };
    for &n in &opts.agents {
        for &v in &values {
            load(n, v, 1)?;
        }
    }
    let backend = Backend::open(opts.backend, opts.adapter.as_deref())?;
    // The largest size decides whether the sweep fits, before any run.
    let largest = *opts.agents.iter().max().expect("at least one size");
    model::check_memory(
        model,
        &model::Size::from_config(&load(largest, values[0], 1)?),
        &backend,
    )?;
    let out = opts.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!("scaling-{}", opts.param.replace('.', "-")))
    });
    let claim = rundir::claim(&out, opts.force, "--out")?;
    let mut manifest = rundir::Manifest::new("scaling", model.name());
    manifest.backend = backend.name().into();
    manifest.adapter = backend.adapter_name();
    manifest.config_sha256 = rundir::sha256_hex(base.resolved_toml().as_bytes());
    let mut dir = claim.create(manifest)?;
    let progress = Progress::new(runs, "runs");
    let mut done = 0u64;
    let mut points = Vec::new();
    let mut sizes = Vec::new();
    for &n in &opts.agents {
        let mut means = Vec::new();
        // curves[seed][value]: each seed's own curve (common random numbers).
        let mut curves = vec![Vec::new(); opts.seeds as usize];
        for &v in &values {
            let mut xs = Vec::new();
            let mut late_change = 0.0;
            for seed in 1..=opts.seeds {
                let (y, late) = order_parameter(&load(n, v, seed)?, &backend, &order)?;
                xs.push(y);
                late_change += (y - late).abs() / opts.seeds as f64;
                done += 1;
                progress.update(done, &format!("N = {n}, {} = {v}", opts.param));
            }
            for (curve, &x) in curves.iter_mut().zip(&xs) {
                curve.push(x);
            }
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
            means.push(mean);
            points.push(Point {
                agents: n,
                value: v,
                mean,
                sd: var.sqrt(),
                chi: n as f64 * var,
                late_change,
            });
        }
        let lo = crossing(&values, &means, 0.1);
        let hi = crossing(&values, &means, 0.9);
        let (chi_peak, chi_peak_at) = points
            .iter()
            .filter(|p| p.agents == n)
            .map(|p| (p.chi, p.value))
            .fold(
                (f64::NEG_INFINITY, f64::NAN),
                |a, b| if b.0 > a.0 { b } else { a },
            );
        // Each seed's crossing: the grid interval where its curve first crosses the level,
        // then `bisect` halvings of it, each one more run of that seed.
        let level = opts.level;
        let mut seed_crossings: Vec<Option<f64>> = Vec::new();
        for (k, curve) in curves.iter().enumerate() {
            let seed = k as u32 + 1;
            let Some(j) = (1..values.len()).find(|&j| {
                (curve[j - 1] - level) * (curve[j] - level) <= 0.0 && curve[j - 1] != curve[j]
            }) else {
                seed_crossings.push(None);
                continue;
            };
            let (mut a, mut b) = ((values[j - 1], curve[j - 1]), (values[j], curve[j]));
            for _ in 0..opts.bisect {
                let mid = 0.5 * (a.0 + b.0);
                let y = order_parameter(&load(n, mid, seed)?, &backend, &order)?.0;
                done += 1;
                progress.update(done, &format!("N = {n}, seed {seed}: bisecting at {mid}"));
                if (a.1 - level) * (y - level) <= 0.0 && a.1 != y {
                    b = (mid, y);
                } else {
                    a = (mid, y);
                }
            }
            seed_crossings.push(crossing(&[a.0, b.0], &[a.1, b.1], level));
        }
        let found: Vec<f64> = seed_crossings.iter().flatten().copied().collect();
        let size_index = sizes.len() as u32;
        let seed_width_se = spread(&found).and_then(|_| {
            let widths: Vec<f64> = (0..BOOTSTRAP)
                .filter_map(|b| spread(&resample(&found, size_index, b)))
                .collect();
            sd(&widths)
        });
        sizes.push(SizeSummary {
            agents: n,
            crossing: crossing(&values, &means, level),
            slope: slope_at_crossing(&values, &means, level),
            width: lo.zip(hi).map(|(a, b)| (b - a).abs()),
            chi_peak,
            chi_peak_at,
            seed_width: spread(&found),
            seed_width_se,
            seed_crossings,
        });
    }
    progress.finish();
    let fitted: Vec<(f64, f64)> = sizes
        .iter()
        .filter_map(|s| {
            s.width
                .filter(|w| *w > 0.0)
                .map(|w| ((s.agents as f64).ln(), w.ln()))
        })
        .collect();
    let width_exponent = slope(
        &fitted.iter().map(|p| p.0).collect::<Vec<_>>(),
        &fitted.iter().map(|p| p.1).collect::<Vec<_>>(),
    );
    // The seeds' widths: the fit, and the same fit on bootstrap resamples of every size.
    let seed_fit = |widths: &[(u32, f64)]| -> Option<f64> {
        let pts: Vec<(f64, f64)> = widths
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .map(|&(n, w)| ((n as f64).ln(), w.ln()))
            .collect();
        if pts.len() < 2 {
            return None;
        }
        slope(
            &pts.iter().map(|p| p.0).collect::<Vec<_>>(),
            &pts.iter().map(|p| p.1).collect::<Vec<_>>(),
        )
    };
    let measured: Vec<(u32, f64)> = sizes
        .iter()
        .filter_map(|s| s.seed_width.map(|w| (s.agents, w)))
        .collect();
    let seed_width_exponent = seed_fit(&measured);
    let seed_width_exponent_se = seed_width_exponent.and_then(|_| {
        let slopes: Vec<f64> = (0..BOOTSTRAP)
            .filter_map(|b| {
                let widths: Vec<(u32, f64)> = sizes
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| {
                        let found: Vec<f64> = s.seed_crossings.iter().flatten().copied().collect();
                        spread(&resample(&found, k as u32, b)).map(|w| (s.agents, w))
                    })
                    .collect();
                seed_fit(&widths)
            })
            .collect();
        sd(&slopes)
    });
    let nu_seeds = seed_width_exponent.filter(|s| *s < 0.0).map(|s| -1.0 / s);
    let nu_seeds_se = nu_seeds
        .zip(seed_width_exponent.zip(seed_width_exponent_se))
        .map(|(_, (s, se))| se / (s * s));
    let g = &base.scenario.graph;
    let theory_critical = (model.name() == "threshold"
        && opts.param == "model.seed_fraction"
        && g.kind == config::GraphKind::Er)
        .then(|| {
            let config::ModelConfig::Threshold(m) = &base.scenario.model else {
                return None;
            };
            let theta_pct = (m.theta * 100.0).round() as u32;
            theory::critical_seed_fraction(g.mean_degree, theta_pct, 0.0, 1.0)
        })
        .flatten();
    let report = ScalingReport {
        model: model.name().into(),
        param: opts.param.clone(),
        order,
        level: opts.level,
        seeds: opts.seeds,
        backend: backend.name().into(),
        points,
        sizes,
        width_exponent,
        nu: width_exponent.filter(|s| *s < 0.0).map(|s| -1.0 / s),
        seed_width_exponent,
        seed_width_exponent_se,
        nu_seeds,
        nu_seeds_se,
        theory_critical,
    };
    let mut csv = format!("agents,{},mean,sd,chi,late_change\n", opts.param);
    for p in &report.points {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            p.agents, p.value, p.mean, p.sd, p.chi, p.late_change
        );
    }
    dir.write("scaling.csv", csv)?;
    dir.write(
        "scaling.json",
        serde_json::to_string_pretty(&report).expect("serialises") + "\n",
    )?;
    dir.write("config.toml", base.resolved_toml())?;
    plot(&report, &dir.path().join("plots"))?;
    dir.end(rundir::Status::Complete, 0, None)?;
    Ok((dir.path().to_path_buf(), report))
}

/// `plots/order.{png,svg}` (mean order parameter against the control, one line per N),
/// `plots/susceptibility.{png,svg}` (χ likewise) and `plots/width.{png,svg}` (Δ against
/// N on log axes).
fn plot(report: &ScalingReport, dir: &std::path::Path) -> Result<()> {
    use crate::report::plot::{render, LinePlot, Series};
    let per_size = |f: fn(&Point) -> f64| -> Vec<Series> {
        report
            .sizes
            .iter()
            .map(|s| Series {
                label: format!("N = {}", s.agents),
                points: report
                    .points
                    .iter()
                    .filter(|p| p.agents == s.agents)
                    .map(|p| (p.value, f(p)))
                    .collect(),
                color: None,
            })
            .collect()
    };
    let mut order = LinePlot::new(
        format!("{} against {}", report.order, report.param),
        report.param.clone(),
    );
    order.y_label = report.order.clone();
    order.series = per_size(|p| p.mean);
    order.y_range = Some((0.0, 1.0));
    render(&order, dir, "order")?;
    let mut chi = LinePlot::new("susceptibility χ = N·var", report.param.clone());
    chi.y_label = "χ".into();
    chi.series = per_size(|p| p.chi);
    chi.log_y = true;
    render(&chi, dir, "susceptibility")?;
    let widths = |f: fn(&SizeSummary) -> Option<f64>| -> Vec<(f64, f64)> {
        report
            .sizes
            .iter()
            .filter_map(|s| f(s).filter(|w| *w > 0.0).map(|w| (s.agents as f64, w)))
            .collect()
    };
    let series: Vec<Series> = [
        ("Δ(N) of the mean curve", widths(|s| s.width)),
        ("seeds' crossings q90 − q10", widths(|s| s.seed_width)),
    ]
    .into_iter()
    .filter(|(_, points)| !points.is_empty())
    .map(|(label, points)| Series {
        label: label.into(),
        points,
        color: None,
    })
    .collect();
    if !series.is_empty() {
        let mut width = LinePlot::new("width of the transition", "N");
        width.y_label = "Δ".into();
        width.series = series;
        width.log_x = true;
        width.log_y = true;
        render(&width, dir, "width")?;
    }
    Ok(())
}

impl ScalingReport {
    pub fn to_text(&self) -> String {
        let f = |x: Option<f64>| x.map(|v| format!("{v:.6}")).unwrap_or_else(|| "–".into());
        let mut out = format!(
            "{}: order parameter `{}` against `{}` (crossing {}), {} seeds per point, {} backend\n{:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>22} {:>12}\n",
            self.model, self.order, self.param, self.level, self.seeds, self.backend, "N", "crossing", "slope", "width 10-90", "chi peak", "at", "seeds' width ± se", "late change"
        );
        for s in &self.sizes {
            // The most the order parameter moved over the last fifth of a run at this N.
            let late = self
                .points
                .iter()
                .filter(|p| p.agents == s.agents)
                .map(|p| p.late_change)
                .fold(0.0f64, f64::max);
            let _ = writeln!(
                out,
                "{:>10} {:>12} {:>12} {:>12} {:>12.4} {:>12.6} {:>22} {:>12.4}",
                s.agents,
                f(s.crossing),
                s.slope
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_else(|| "–".into()),
                f(s.width),
                s.chi_peak,
                s.chi_peak_at,
                format!("{} ± {}", f(s.seed_width), f(s.seed_width_se)),
                late
            );
        }
        let _ = writeln!(
            out,
            "width ∝ N^{}  (ν = {})",
            f(self.width_exponent),
            f(self.nu)
        );
        let _ = writeln!(
            out,
            "seeds' width ∝ N^({} ± {})  (ν = {} ± {})",
            f(self.seed_width_exponent),
            f(self.seed_width_exponent_se),
            f(self.nu_seeds),
            f(self.nu_seeds_se)
        );
        if let Some(c) = self.theory_critical {
            let _ = writeln!(out, "Gleeson–Cahalane critical {} = {c:.6}", self.param);
        }
        out
    }
}
