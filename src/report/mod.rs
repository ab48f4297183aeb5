//! `emergence report RUN_DIR`: plots of the order parameters over time, with the stages
//! of the life-cycle as shaded bands and their transitions as markers, written to
//! `RUN_DIR/plots/*.png|svg`, and one self-contained `RUN_DIR/report.html` (plots embedded
//! as data URIs, the stage table, the run's parameters, `movie.mp4` by a relative link
//! when present) that opens from disk with no server. Every run writes it at its end; the
//! command rebuilds it from the files alone, so it also works on runs copied elsewhere.
//! Only `metrics.csv` is required: `summary.json`, `config.toml` and `stages.json` are
//! used when present and readable, so the report degrades rather than fails.

pub mod ensemble;
pub(crate) mod html;
pub mod plot;

use crate::error::{Error, Result};
use crate::io::MetricsTable;
use plot::{Band, LinePlot, Marker, Rgb, Series};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One stage transition as a report shows it (DESIGN §10: {stage, name, tick, confidence,
/// evidence}). The report reads stage tables of any provenance — the detector's
/// `analysis::stages::Transition` as `stages.json` and `summary.json` hold it, older runs,
/// tables edited by hand — so this view is lenient where the detector's type is strict:
/// a stage may be a number or a name, the confidence may be missing, the evidence may be
/// text.
#[derive(Debug, Clone)]
pub struct Transition {
    pub stage: i64,
    pub name: String,
    pub tick: f64,
    pub confidence: Option<f64>,
    /// Whatever the detector recorded (a string, or an object of named numbers).
    pub evidence: Value,
}

/// The stages of a run, as far as they are known.
#[derive(Debug, Clone, Default)]
pub struct Stages {
    /// The stage of each metrics row (same order as the rows); empty when unknown.
    pub rows: Vec<Option<i64>>,
    /// The tick of each entry of `rows`, when the detector wrote one (else the rows are
    /// taken to match the metrics rows one to one).
    pub row_ticks: Vec<Option<f64>>,
    pub transitions: Vec<Transition>,
}

/// What the report is made from.
#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    pub metrics: MetricsTable,
    /// `summary.json`, when present and valid.
    pub summary: Option<Value>,
    /// `config.toml` as written.
    pub config: Option<String>,
    pub stages: Stages,
    /// "lifecycle", "threshold", ... (from summary.json, config.toml or the columns).
    pub model: String,
}

/// Files a report wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub html: PathBuf,
    /// PNG and SVG of every panel.
    pub plots: Vec<PathBuf>,
}

/// One plot of a run: which columns, on what scale.
#[derive(Debug, Clone)]
pub struct Panel {
    /// File stem under `plots/`.
    pub stem: String,
    pub title: String,
    pub y_label: String,
    pub columns: Vec<String>,
    /// The columns are fractions/coefficients: show 0..1 when the data fit.
    pub unit: bool,
}

/// The detector's names of the lifecycle's stages (DESIGN §5), for tables that give none.
pub fn stage_name(stage: i64) -> &'static str {
    usize::try_from(stage)
        .ok()
        .and_then(|k| crate::analysis::stages::STAGE_NAMES.get(k))
        .copied()
        .unwrap_or("stage")
}

/// Band and marker colour of a stage.
pub fn stage_color(stage: i64) -> Rgb {
    match stage {
        0 => (140, 140, 140),
        1 => (45, 110, 230),
        2 => (30, 160, 70),
        3 => (235, 120, 0),
        _ => (150, 60, 180),
    }
}

/// `emergence report RUN_DIR`: load the run directory and write the plots and the page.
pub fn write(dir: &Path) -> Result<Written> {
    if ensemble::is_tables(dir) {
        return ensemble::write(dir);
    }
    // A merged sweep's table by its file (`report TABLES/runs.parquet`): its folder's report.
    if let Some(tables) = dir
        .parent()
        .filter(|p| dir.is_file() && ensemble::is_tables(p))
    {
        return ensemble::write(tables);
    }
    let data = load(dir)?;
    write_loaded(&data)
}

/// Read a run directory. A missing directory or `metrics.csv`, or one that does not
/// parse, is bad input (exit 2); the other files are optional.
pub fn load(dir: &Path) -> Result<RunData> {
    if !dir.is_dir() {
        return Err(Error::bad_input(format!(
            "{}: not a run directory (it does not exist or is not a directory)",
            dir.display()
        )));
    }
    let csv_path = dir.join("metrics.csv");
    let text = std::fs::read_to_string(&csv_path).map_err(|e| {
        Error::bad_input(format!(
            "{}: cannot read the run's metrics ({e}); is this a run directory?",
            csv_path.display()
        ))
    })?;
    let metrics = parse_metrics_csv(&text, &csv_path)?;
    let summary = read_json(&dir.join("summary.json"));
    let config = std::fs::read_to_string(dir.join("config.toml")).ok();
    let stages = read_stages(dir, summary.as_ref());
    let model = summary
        .as_ref()
        .and_then(|s| s.get("model"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| config.as_deref().and_then(model_from_config))
        .unwrap_or_else(|| {
            if metrics.columns.iter().any(|c| c == "active_fraction") {
                "threshold".into()
            } else if metrics.columns.iter().any(|c| c == "adoption") {
                "lifecycle".into()
            } else {
                "unknown".into()
            }
        });
    Ok(RunData {
        dir: dir.to_path_buf(),
        metrics,
        summary,
        config,
        stages,
        model,
    })
}

/// Parse `metrics.csv` (a header, then numbers; `NaN` and `inf` allowed).
pub fn parse_metrics_csv(text: &str, source: &Path) -> Result<MetricsTable> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| Error::bad_input(format!("{}: empty; no header line", source.display())))?;
    let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
    if columns.first().map(String::as_str) != Some("tick") {
        return Err(Error::bad_input(format!(
            "{}:1: the first column must be `tick`, found `{}`",
            source.display(),
            columns[0]
        )));
    }
    let mut table = MetricsTable {
        columns,
        rows: Vec::new(),
    };
    for (k, line) in lines {
        let row = line
            .split(',')
            // An empty field is an undefined value.
            .map(|v| match v.trim() {
                "" => Ok(f64::NAN),
                v => v.parse::<f64>(),
            })
            .collect::<std::result::Result<Vec<f64>, _>>()
            .map_err(|e| {
                Error::bad_input(format!("{}:{}: {e}: `{line}`", source.display(), k + 1))
            })?;
        if row.len() != table.columns.len() {
            return Err(Error::bad_input(format!(
                "{}:{}: {} values for {} columns",
                source.display(),
                k + 1,
                row.len(),
                table.columns.len()
            )));
        }
        table.rows.push(row);
    }
    if table.rows.is_empty() {
        return Err(Error::bad_input(format!(
            "{}: no rows after the header",
            source.display()
        )));
    }
    Ok(table)
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(
                "{}: not valid JSON ({e}); left out of the report",
                path.display()
            );
            None
        }
    }
}

fn model_from_config(text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(text).ok()?;
    Some(v.get("model")?.get("kind")?.as_str()?.to_string())
}

/// Stages from `stages.json` ({"rows": [...], "transitions": [...]}), else the `stages`
/// list of `summary.json`. The detector's exact shape is read leniently: a stage may be a
/// number or a name, a row may be a bare stage or an object with a `stage` field.
fn read_stages(dir: &Path, summary: Option<&Value>) -> Stages {
    let file = read_json(&dir.join("stages.json"));
    let mut stages = Stages::default();
    if let Some(f) = &file {
        if let Some(rows) = f.get("rows").and_then(Value::as_array) {
            for r in rows {
                let (tick, stage) = match r {
                    Value::Object(o) => (
                        o.get("tick").and_then(Value::as_f64),
                        o.get("stage").and_then(stage_number),
                    ),
                    other => (None, stage_number(other)),
                };
                stages.row_ticks.push(tick);
                stages.rows.push(stage);
            }
        }
    }
    let list = file
        .as_ref()
        .and_then(|f| match f {
            Value::Array(_) => Some(f),
            _ => f.get("transitions"),
        })
        .or_else(|| summary.and_then(|s| s.get("stages")))
        .and_then(Value::as_array);
    if let Some(list) = list {
        stages.transitions = list.iter().filter_map(transition).collect();
        stages.transitions.sort_by(|a, b| a.tick.total_cmp(&b.tick));
    }
    stages
}

fn stage_number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s
            .trim()
            .parse()
            .ok()
            .or_else(|| (0..4).find(|&k| stage_name(k).eq_ignore_ascii_case(s.trim()))),
        _ => None,
    }
}

fn transition(v: &Value) -> Option<Transition> {
    let stage = v.get("stage").and_then(stage_number)?;
    let tick = v.get("tick").and_then(Value::as_f64)?;
    Some(Transition {
        stage,
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(stage_name(stage))
            .to_string(),
        tick,
        confidence: v.get("confidence").and_then(Value::as_f64),
        evidence: v.get("evidence").cloned().unwrap_or(Value::Null),
    })
}

/// The panels of a model; columns the table lacks are left out, empty panels dropped.
pub fn panels(model: &str, columns: &[String]) -> Vec<Panel> {
    let p = |stem: &str, title: &str, y: &str, cols: &[&str], unit: bool| Panel {
        stem: stem.into(),
        title: title.into(),
        y_label: y.into(),
        columns: cols.iter().map(|c| c.to_string()).collect(),
        unit,
    };
    let wanted = match model {
        "lifecycle" => vec![
            p(
                "structure",
                "Structure",
                "fraction / coefficient",
                &["s1", "clustering", "modularity", "strong_ties"],
                true,
            ),
            p(
                "alignment",
                "Alignment and adoption",
                "fraction / order",
                &["alignment", "community_alignment", "adoption"],
                true,
            ),
            p(
                "evidence",
                "Stage-2 evidence against nulls on the same graph",
                "value / its null",
                &[
                    "clustering",
                    "clustering_null",
                    "modularity",
                    "modularity_null",
                    "community_alignment",
                    "community_alignment_null",
                ],
                true,
            ),
            p(
                "mean_degree",
                "Mean degree",
                "ties per agent",
                &["mean_degree"],
                false,
            ),
            p(
                "churn",
                "Churn",
                "(created + removed) / ties per tick",
                &["churn"],
                false,
            ),
        ],
        "threshold" => vec![
            p(
                "active_fraction",
                "Active fraction",
                "fraction of agents",
                &["active_fraction"],
                true,
            ),
            p(
                "newly_active",
                "Newly active per sweep",
                "agents",
                &["newly_active"],
                false,
            ),
        ],
        // A model without a layout of its own: one panel per column.
        _ => columns
            .iter()
            .filter(|c| *c != "tick")
            .map(|c| p(c, c, c, &[c.as_str()], false))
            .collect(),
    };
    wanted
        .into_iter()
        .map(|mut panel| {
            panel.columns.retain(|c| columns.contains(c));
            panel
        })
        .filter(|panel| !panel.columns.is_empty())
        .collect()
}

/// Shaded bands of the stages over the run's ticks: from the per-row stages when the
/// detector gave them, else from the transitions (a stage lasts until the next one).
pub fn stage_bands(stages: &Stages, ticks: &[f64]) -> Vec<Band> {
    let (Some(&first), Some(&last)) = (ticks.first(), ticks.last()) else {
        return Vec::new();
    };
    let mut spans: Vec<(f64, f64, i64)> = Vec::new();
    let own_ticks: Option<Vec<f64>> = stages.row_ticks.iter().copied().collect();
    let ticks: &[f64] = match &own_ticks {
        Some(t) if !t.is_empty() => t,
        _ => ticks,
    };
    if stages.rows.len() == ticks.len() {
        for (k, (&t, s)) in ticks.iter().zip(&stages.rows).enumerate() {
            let Some(s) = *s else { continue };
            // A row stands for the interval up to the next row.
            let end = ticks.get(k + 1).copied().unwrap_or(t);
            match spans.last_mut() {
                Some(span) if span.2 == s && span.1 == t => span.1 = end,
                _ => spans.push((t, end, s)),
            }
        }
    } else if !stages.transitions.is_empty() {
        let tr = &stages.transitions;
        if tr[0].tick > first && tr[0].stage > 0 {
            spans.push((first, tr[0].tick, tr[0].stage - 1));
        }
        for (k, t) in tr.iter().enumerate() {
            let end = tr.get(k + 1).map_or(last, |n| n.tick);
            spans.push((t.tick, end, t.stage));
        }
    }
    spans
        .into_iter()
        .filter(|s| s.1 > s.0)
        .map(|(x0, x1, s)| Band {
            x0,
            x1,
            color: stage_color(s),
        })
        .collect()
}

/// The line plot of one panel of a run.
pub fn panel_plot(data: &RunData, panel: &Panel) -> LinePlot {
    let m = &data.metrics;
    let ticks: Vec<f64> = m.rows.iter().map(|r| r[0]).collect();
    let mut plot = LinePlot::new(panel.title.clone(), "tick");
    plot.y_label = panel.y_label.clone();
    for name in &panel.columns {
        let k = m
            .columns
            .iter()
            .position(|c| c == name)
            .expect("kept columns exist");
        // A null is sampled every few rows: its line joins the samples.
        let sampled = name.ends_with("_null");
        plot.series.push(Series {
            label: name.clone(),
            points: m
                .rows
                .iter()
                .map(|r| (r[0], r[k]))
                .filter(|p| !sampled || p.1.is_finite())
                .collect(),
            color: None,
        });
    }
    if panel.unit {
        let fits = plot
            .series
            .iter()
            .flat_map(|s| &s.points)
            .all(|p| !p.1.is_finite() || (0.0..=1.0).contains(&p.1));
        if fits {
            plot.y_range = Some((-0.02, 1.04));
        }
    }
    plot.bands = stage_bands(&data.stages, &ticks);
    plot.markers = data
        .stages
        .transitions
        .iter()
        .map(|t| Marker {
            x: t.tick,
            label: t.stage.to_string(),
            color: stage_color(t.stage),
        })
        .collect();
    // The interventions applied (summary.json), each at its tick, named by its action.
    let applied = data
        .summary
        .as_ref()
        .and_then(|s| s["interventions"].as_array().cloned())
        .unwrap_or_default();
    plot.markers.extend(applied.iter().filter_map(|a| {
        Some(Marker {
            x: a["tick"].as_f64()?,
            label: a["action"].as_str()?.to_string(),
            color: INTERVENTION_COLOR,
        })
    }));
    plot
}

/// The markers of interventions on a run's plots.
pub const INTERVENTION_COLOR: plot::Rgb = (60, 60, 60);

/// Write `plots/` and `report.html` for loaded run data.
pub fn write_loaded(data: &RunData) -> Result<Written> {
    let plots_dir = data.dir.join("plots");
    let mut figures = Vec::new();
    let mut plots = Vec::new();
    for panel in panels(&data.model, &data.metrics.columns) {
        let png = plot::render(&panel_plot(data, &panel), &plots_dir, &panel.stem)?;
        plots.push(plots_dir.join(format!("{}.png", panel.stem)));
        plots.push(plots_dir.join(format!("{}.svg", panel.stem)));
        figures.push(html::Figure { panel, png });
    }
    if let Some(plot) = communities_plot(&data.dir)? {
        let panel = Panel {
            stem: "communities".into(),
            title: plot.title.clone(),
            y_label: plot.y_label.clone(),
            columns: vec!["size".into()],
            unit: false,
        };
        let png = plot::render(&plot, &plots_dir, &panel.stem)?;
        plots.push(plots_dir.join("communities.png"));
        plots.push(plots_dir.join("communities.svg"));
        figures.push(html::Figure { panel, png });
    }
    let page = html::page(data, &figures);
    let html_path = data.dir.join("report.html");
    // Written beside and renamed, so a browser never sees half a page.
    crate::io::rundir::write_atomic(&html_path, page.as_bytes())?;
    Ok(Written {
        html: html_path,
        plots,
    })
}

/// Communities shown in the report's panel: the largest by peak size.
pub const COMMUNITIES_SHOWN: usize = 12;

/// The sizes over time of the largest tracked communities (`communities.parquet` of a
/// lifecycle run), on a log scale; None for a run without the file.
fn communities_plot(dir: &Path) -> Result<Option<LinePlot>> {
    let path = dir.join("communities.parquet");
    if !path.is_file() {
        return Ok(None);
    }
    let t = crate::io::table::read_metrics_parquet(&path)?;
    let col = |name: &str| t.columns.iter().position(|c| c == name);
    let (Some(id), Some(size)) = (col("id"), col("size")) else {
        return Ok(None);
    };
    let mut by_id: std::collections::BTreeMap<u64, Vec<(f64, f64)>> = Default::default();
    for r in &t.rows {
        by_id.entry(r[id] as u64).or_default().push((r[0], r[size]));
    }
    let mut largest: Vec<(u64, f64)> = by_id
        .iter()
        .map(|(&k, pts)| (k, pts.iter().map(|p| p.1).fold(0.0, f64::max)))
        .collect();
    largest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut plot = LinePlot::new(
        format!(
            "Communities of practice: the {} largest of {} tracked",
            COMMUNITIES_SHOWN.min(largest.len()),
            largest.len()
        ),
        "tick",
    );
    plot.y_label = "members".into();
    plot.log_y = true;
    for (k, _) in largest.into_iter().take(COMMUNITIES_SHOWN) {
        plot.series.push(Series {
            label: format!("#{k}"),
            points: by_id[&k].clone(),
            color: None,
        });
    }
    Ok(Some(plot))
}
