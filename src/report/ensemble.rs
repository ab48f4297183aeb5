//! `emergence report TABLES`: the report of a merged sweep (`sweep merge --out TABLES`).
//! For every swept numeric parameter, each final metric (and each stage tick) against
//! it, the mean over replicates with its 95% interval (Student's t), one line per value
//! of the other swept parameters; and the time series of the model's order parameter
//! for each value, mean and 95% band over replicates. Theory is drawn over the data
//! where the project has it: Gleeson–Cahalane's final active fraction for the Watts
//! cascade on an Erdős–Rényi graph.

use super::html::{base64, esc};
use super::plot::{self, LinePlot, Series};
use super::Written;
use crate::error::{Error, Result};
use crate::io::table::read_error;
use crate::sweep::merge::{MergeReport, LONG, MERGE_MARKER, RUNS};
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::Path;

/// Whether `path` is a merge's output folder.
pub fn is_tables(path: &Path) -> bool {
    path.join(MERGE_MARKER).is_file()
}

/// Columns of a table by name: numbers as f64 (null: NaN), strings as text.
pub(crate) struct Table {
    pub(crate) rows: usize,
    pub(crate) numbers: BTreeMap<String, Vec<f64>>,
    pub(crate) text: BTreeMap<String, Vec<String>>,
}

pub(crate) fn read_table(path: &Path) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| read_error(path, e))?;
    let mut t = Table {
        rows: 0,
        numbers: BTreeMap::new(),
        text: BTreeMap::new(),
    };
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| read_error(path, e))?;
        t.rows += batch.num_rows();
        for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
            let any = col.as_any();
            let name = field.name().clone();
            if let Some(a) = any.downcast_ref::<Float64Array>() {
                let v = t.numbers.entry(name).or_default();
                v.extend((0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }));
            } else if let Some(a) = any.downcast_ref::<Int64Array>() {
                let v = t.numbers.entry(name).or_default();
                v.extend((0..a.len()).map(|i| {
                    if a.is_null(i) {
                        f64::NAN
                    } else {
                        a.value(i) as f64
                    }
                }));
            } else if let Some(a) = any.downcast_ref::<StringArray>() {
                let v = t.text.entry(name).or_default();
                v.extend((0..a.len()).map(|i| {
                    if a.is_null(i) {
                        String::new()
                    } else {
                        a.value(i).to_string()
                    }
                }));
            } else if let Some(a) = any.downcast_ref::<arrow_array::BooleanArray>() {
                let v = t.numbers.entry(name).or_default();
                v.extend((0..a.len()).map(|i| {
                    if a.is_null(i) {
                        f64::NAN
                    } else {
                        a.value(i) as u8 as f64
                    }
                }));
            }
        }
    }
    Ok(t)
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => 1.96 + 2.4 / df as f64,
    }
}

/// Mean and the half-width of its 95% interval (NaN half-width for one value).
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t975(n - 1) * (var / n as f64).sqrt())
}

/// One point of a curve: the parameter's value, replicates, mean, 95% half-width.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    pub x: f64,
    pub n: usize,
    pub mean: f64,
    pub ci95: f64,
}

/// The groups of done runs: the value of `x` and the values of the other swept
/// parameters (their label) → the runs' rows.
fn groups(
    t: &Table,
    report: &MergeReport,
    x: &str,
) -> BTreeMap<String, BTreeMap<OrdF64, Vec<usize>>> {
    let status = &t.text["status"];
    let mut out: BTreeMap<String, BTreeMap<OrdF64, Vec<usize>>> = BTreeMap::new();
    for i in 0..t.rows {
        if status[i] != "done" {
            continue;
        }
        let xv = t.numbers[x][i];
        if !xv.is_finite() {
            continue;
        }
        let label: Vec<String> = report
            .params
            .iter()
            .filter(|p| p.as_str() != x && varies(t, p))
            .map(|p| match (t.numbers.get(p), t.text.get(p)) {
                (Some(v), _) => format!("{p} = {}", v[i]),
                (_, Some(s)) => format!("{p} = {}", s[i]),
                _ => String::new(),
            })
            .collect();
        out.entry(label.join(", "))
            .or_default()
            .entry(OrdF64(xv))
            .or_default()
            .push(i);
    }
    out
}

fn varies(t: &Table, p: &str) -> bool {
    if let Some(v) = t.numbers.get(p) {
        let first = v.iter().find(|x| x.is_finite());
        v.iter().any(|x| x.is_finite() && Some(x) != first)
    } else if let Some(s) = t.text.get(p) {
        s.iter().any(|x| x != &s[0])
    } else {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A file-name-safe stem.
fn stem(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The model's order parameter, for the time series.
fn order_columns(columns: &[String]) -> Vec<String> {
    [
        "active_fraction",
        "adoption",
        "alignment",
        "infected",
        "order",
        "largest_community",
        "opinion_clusters",
    ]
    .iter()
    .filter(|c| columns.iter().any(|k| k == *c))
    .map(|c| c.to_string())
    .collect()
}

/// The theory curve of a final metric against a parameter, where the project has one:
/// the Watts cascade's final active fraction on an ER graph against z (θ and ρ0 from the
/// runs' scenario, when they are not swept).
fn theory(report: &MergeReport, metric: &str, x: &str, lo: f64, hi: f64) -> Option<Series> {
    let config: toml::Table = toml::from_str(report.config.as_deref()?).ok()?;
    let model = config.get("model")?;
    let graph = config.get("graph")?;
    if model.get("kind")?.as_str()? != "threshold"
        || graph.get("kind")?.as_str()? != "er"
        || metric != "active_fraction"
        || x != "graph.mean_degree"
        || report
            .params
            .iter()
            .any(|p| p == "model.theta" || p == "model.seed_fraction")
    {
        return None;
    }
    let theta = model.get("theta")?.as_float()?;
    let rho0 = model.get("seed_fraction")?.as_float()?;
    let pct = (100.0 * theta).round() as u32;
    let points = (0..=80)
        .map(|i| {
            let z = lo + (hi - lo) * i as f64 / 80.0;
            (
                z,
                crate::analysis::theory::gleeson_cahalane(z.max(1e-9), pct, rho0),
            )
        })
        .collect();
    Some(Series {
        label: format!("Gleeson–Cahalane (2007), θ = {theta}, ρ0 = {rho0}"),
        points,
        color: Some((0, 0, 0)),
    })
}

/// One figure of the page: its title, its PNG, and for a curve the table of its points
/// (one per line of the plot, with the line's label).
struct Figure {
    title: String,
    png: Vec<u8>,
    table: Vec<(String, Vec<Point>)>,
}

/// A run's rows as (tick, value).
type Rows = Vec<(f64, f64)>;

/// A mean as a line in `color` and its 95% interval as two fainter lines, from
/// (x, mean, half-width) points; `interval_label` names the interval in the legend (or
/// leaves it out when empty).
fn push_interval(
    p: &mut LinePlot,
    label: String,
    interval_label: &str,
    color: plot::Rgb,
    points: &[(f64, f64, f64)],
) {
    let faint = (
        (color.0 as u16 * 2 / 3 + 85) as u8,
        (color.1 as u16 * 2 / 3 + 85) as u8,
        (color.2 as u16 * 2 / 3 + 85) as u8,
    );
    p.series.push(Series {
        label,
        points: points.iter().map(|&(x, m, _)| (x, m)).collect(),
        color: Some(color),
    });
    p.series.push(Series {
        label: interval_label.to_string(),
        points: points.iter().map(|&(x, m, h)| (x, m - h)).collect(),
        color: Some(faint),
    });
    p.series.push(Series {
        label: String::new(),
        points: points.iter().map(|&(x, m, h)| (x, m + h)).collect(),
        color: Some(faint),
    });
}

/// `emergence report TABLES`.
pub fn write(dir: &Path) -> Result<Written> {
    let marker = dir.join(MERGE_MARKER);
    let report: MergeReport = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            Error::bad_input(format!(
                "{}: not a merge's output (no readable {MERGE_MARKER}; `emergence sweep merge DIR --out TABLES` writes one)",
                dir.display()
            ))
        })?;
    let wide = read_table(&dir.join(RUNS))?;
    let plots_dir = dir.join("plots");
    let mut figures: Vec<Figure> = Vec::new();
    let mut plots = Vec::new();
    let xs: Vec<String> = report
        .params
        .iter()
        .filter(|p| wide.numbers.contains_key(*p) && varies(&wide, p))
        .cloned()
        .collect();
    let mut finals: Vec<String> = report
        .columns
        .iter()
        .filter(|c| c.as_str() != "tick")
        .cloned()
        .collect();
    finals.extend(
        (1..=3)
            .map(|s| format!("stage_{s}_tick"))
            .filter(|c| wide.numbers.contains_key(c)),
    );
    for x in &xs {
        let groups = groups(&wide, &report, x);
        for metric in &finals {
            let Some(values) = wide.numbers.get(metric) else {
                continue;
            };
            let mut p = LinePlot::new(format!("final {metric} against {x}"), x.clone());
            p.y_label = metric.clone();
            let mut table = Vec::new();
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (k, (label, by_x)) in groups.iter().enumerate() {
                let color = plot::PALETTE[k % plot::PALETTE.len()];
                let points: Vec<Point> = by_x
                    .iter()
                    .map(|(xv, rows)| {
                        let ys: Vec<f64> = rows
                            .iter()
                            .map(|&i| values[i])
                            .filter(|v| v.is_finite())
                            .collect();
                        let (mean, ci95) = mean_ci(&ys);
                        Point {
                            x: xv.0,
                            n: ys.len(),
                            mean,
                            ci95,
                        }
                    })
                    .collect();
                for pt in &points {
                    lo = lo.min(pt.x);
                    hi = hi.max(pt.x);
                }
                let name = if label.is_empty() {
                    "mean".to_string()
                } else {
                    label.clone()
                };
                let mean_label = if label.is_empty() {
                    "mean over replicates".to_string()
                } else {
                    format!("{label}: mean over replicates")
                };
                let lines: Vec<(f64, f64, f64)> =
                    points.iter().map(|q| (q.x, q.mean, q.ci95)).collect();
                push_interval(&mut p, mean_label, "95% interval", color, &lines);
                table.push((name, points));
            }
            if let Some(t) = lo
                .is_finite()
                .then(|| theory(&report, metric, x, lo, hi))
                .flatten()
            {
                // Under the data, so the runs' means stay visible where they agree.
                p.series.insert(0, t);
            }
            let s = stem(&format!("{metric}_vs_{x}"));
            let png = plot::render(&p, &plots_dir, &s)?;
            plots.push(plots_dir.join(format!("{s}.png")));
            plots.push(plots_dir.join(format!("{s}.svg")));
            figures.push(Figure {
                title: p.title.clone(),
                png,
                table,
            });
        }
    }
    // Time series of the order parameter, one line per value of each swept parameter.
    let long_path = dir.join(LONG);
    let order = order_columns(&report.columns);
    if !xs.is_empty() && !order.is_empty() {
        let long = read_table(&long_path)?;
        let ids = &long.text["run_id"];
        let ticks = &long.numbers["tick"];
        for x in &xs {
            let xv = &long.numbers[x];
            for metric in &order {
                let values = &long.numbers[metric];
                // run → its rows (tick, value), grouped by the parameter's value.
                let mut runs: BTreeMap<OrdF64, BTreeMap<&str, Rows>> = BTreeMap::new();
                for i in 0..long.rows {
                    if xv[i].is_finite() {
                        runs.entry(OrdF64(xv[i]))
                            .or_default()
                            .entry(ids[i].as_str())
                            .or_default()
                            .push((ticks[i], values[i]));
                    }
                }
                let mut p = LinePlot::new(format!("{metric} over time, by {x}"), "tick");
                p.y_label = metric.clone();
                for (k, (value, by_run)) in runs.iter().enumerate() {
                    let color = plot::PALETTE[k % plot::PALETTE.len()];
                    let mut all_ticks: Vec<OrdF64> =
                        by_run.values().flatten().map(|(t, _)| OrdF64(*t)).collect();
                    all_ticks.sort();
                    all_ticks.dedup();
                    // A run that stopped at its fixed point keeps its last value.
                    let lines: Vec<(f64, f64, f64)> = all_ticks
                        .iter()
                        .map(|t| {
                            let ys: Vec<f64> = by_run
                                .values()
                                .filter_map(|rows| {
                                    rows.iter().rev().find(|(rt, _)| *rt <= t.0).map(|r| r.1)
                                })
                                .filter(|v| v.is_finite())
                                .collect();
                            let (m, h) = mean_ci(&ys);
                            (t.0, m, h)
                        })
                        .collect();
                    push_interval(&mut p, format!("{x} = {}", value.0), "", color, &lines);
                }
                let s = stem(&format!("{metric}_over_time_by_{x}"));
                let png = plot::render(&p, &plots_dir, &s)?;
                plots.push(plots_dir.join(format!("{s}.png")));
                plots.push(plots_dir.join(format!("{s}.svg")));
                figures.push(Figure {
                    title: p.title.clone(),
                    png,
                    table: Vec::new(),
                });
            }
        }
    }
    let html = page(&report, &figures);
    let html_path = dir.join("report.html");
    crate::io::rundir::write_atomic(&html_path, html.as_bytes())?;
    Ok(Written {
        html: html_path,
        plots,
    })
}

fn page(report: &MergeReport, figures: &[Figure]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!("<title>sweep {}</title>", esc(&report.sweep)));
    h.push_str("<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}</style></head><body>");
    h.push_str(&format!(
        "<h1>Sweep {}</h1><p>{} of {} runs done ({} rows){}{}. Means over replicates with 95% intervals (Student's t); swept: {}.</p>",
        esc(&report.sweep),
        report.done,
        report.runs,
        report.rows,
        if report.failed.is_empty() { String::new() } else { format!(", {} failed", report.failed.len()) },
        if report.missing.is_empty() { String::new() } else { format!(", {} missing", report.missing.len()) },
        esc(&report.params.join(", "))
    ));
    for Figure { title, png, table } in figures {
        h.push_str(&format!(
            "<h2>{}</h2><img alt=\"{}\" src=\"data:image/png;base64,{}\">",
            esc(title),
            esc(title),
            base64(png)
        ));
        for (label, points) in table {
            if !label.is_empty() && label != "mean" {
                h.push_str(&format!("<p>{}</p>", esc(label)));
            }
            h.push_str(
                "<table><tr><th>value</th><th>runs</th><th>mean</th><th>95% interval ±</th></tr>",
            );
            for p in points {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{:.6}</td><td>{:.6}</td></tr>",
                    p.x, p.n, p.mean, p.ci95
                ));
            }
            h.push_str("</table>");
        }
    }
    if figures.iter().any(|f| {
        f.title
            .contains("active_fraction against graph.mean_degree")
    }) && report
        .config
        .as_deref()
        .is_some_and(|c| c.contains("threshold"))
    {
        h.push_str("<p>Theory: Gleeson &amp; Cahalane (2007), the final active fraction of the Watts cascade on an Erdős–Rényi graph of mean degree z.</p>");
    }
    h.push_str("</body></html>\n");
    h
}
