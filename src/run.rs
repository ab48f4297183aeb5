//! One run, start to finish: load and check the scenario, claim the run directory,
//! build the graph, hand the scenario's model to the one tick driver
//! ([`crate::model::simulate`]), and write `config.toml`, `metrics.csv` and
//! `summary.json`, then the report (plots, report.html). Everything that can be refused
//! is refused before any work or any file appears.

use crate::analysis::stages::{self, StageParams, StageReport};
use crate::backend::{Backend, BackendChoice};
use crate::config;
use crate::engine::Observer;
use crate::error::Result;
use crate::graph::build_graph;
use crate::io::{
    rundir::{self, RunDir},
    summary::Summary,
    MetricsTable,
};
use crate::model::{self, Start};
use crate::progress::Progress;
use crate::render::drive::FrameObserver;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    pub sets: Vec<String>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    /// Frames and movies (`--frames`, `--movie`, ...); the default renders nothing.
    pub render: crate::render::RenderRequest,
}

pub struct RunReport {
    pub dir: PathBuf,
    pub summary: Summary,
    pub metrics: MetricsTable,
}

/// `emergence run`.
pub fn run(opts: &RunOptions) -> Result<RunReport> {
    let wall = Instant::now();
    let loaded = config::load(opts.config.as_deref(), &opts.sets)?;
    let model = model::find(loaded.scenario.model.kind())?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| rundir::default_out(model.name()));
    let ticks = loaded.scenario.ticks as u64;
    let render_plan = crate::render::plan(&opts.render, model.renders(), ticks, opts.force)?;
    let dir = RunDir::create(&out, opts.force)?;
    // The graph (and a graph file's errors) comes before the backend, so bad input is
    // refused before anything else is said.
    let (edges, graph, csr) = build_graph(&loaded)?;
    let backend = Backend::open(opts.backend, opts.adapter.as_deref())?;
    tracing::info!(
        "{} agents, model {}, backend {} [{}], from {}",
        csr.n(),
        model.name(),
        backend.name(),
        backend.adapter_name(),
        loaded.source
    );
    tracing::info!(
        "graph {}: {} ties, mean degree {:.3}, max degree {} ({:.3} s)",
        graph.kind,
        graph.ties,
        graph.mean_degree,
        graph.max_degree,
        graph.build_s
    );
    let agents = csr.n();
    let mut frames = render_plan
        .as_ref()
        .map(|plan| FrameObserver::start(plan, dir.staging_path(), agents, 0, ticks))
        .transpose()?;
    let progress = Progress::new(ticks, model.unit());
    let observers: Vec<&mut dyn Observer> =
        frames.iter_mut().map(|f| f as &mut dyn Observer).collect();
    let start = Start {
        loaded: &loaded,
        graph: &graph,
        edges,
        csr,
        render: render_plan.as_ref(),
    };
    let done = model::simulate(model, start, &backend, &progress, observers)?;
    progress.finish();
    let pending_movie = frames.map(FrameObserver::finish).transpose()?.flatten();
    for line in &done.outcome.notes {
        tracing::info!("{line}");
    }
    let metrics = done.table;
    let stage_report: Option<StageReport> = model
        .has_stages()
        .then(|| stages::detect(&metrics, &StageParams::new(agents)))
        .flatten();
    if let Some(report) = &stage_report {
        for line in report.describe() {
            tracing::info!("{line}");
        }
    }
    let outcome = done.outcome;
    let wall_s = wall.elapsed().as_secs_f64();
    let summary = Summary {
        model: model.name().into(),
        agents,
        ticks_run: done.ticks_run,
        seed: loaded.scenario.seed as u32,
        backend: backend.name().into(),
        adapter: backend.adapter_name(),
        wall_s,
        ticks_per_s: done.ticks_run as f64 / wall_s.max(1e-9),
        final_row: metrics.last_as_map(),
        converged: outcome.converged,
        graph,
        // Well mixed runs store no ties: no components.
        components: outcome.components.map_or(serde_json::Value::Null, |comps| {
            serde_json::json!({
                "largest": comps.largest,
                "count": comps.count,
                "mean_other_size": comps.mean_other_size(),
                "rounds": comps.rounds,
            })
        }),
        milestones: outcome.milestones,
        stages: stage_report.as_ref().map(|r| r.transitions.clone()),
        result: outcome.result,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    dir.write("config.toml", loaded.resolved_toml())?;
    dir.write("metrics.csv", metrics.to_csv())?;
    dir.write(
        "summary.json",
        serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n",
    )?;
    if let Some(report) = &stage_report {
        dir.write(
            "stages.json",
            serde_json::to_string_pretty(report).expect("stages serialise") + "\n",
        )?;
    }
    let dir = dir.finish()?;
    if let Some(movie) = pending_movie {
        let path = movie.commit()?;
        tracing::info!("movie written to {}", path.display());
    }
    // The report comes after the run is in place, so a report that fails (a full disk,
    // a plotting error) costs only the report, never the run's data.
    if let Err(e) = crate::report::write(&dir) {
        tracing::warn!(
            "report not written: {e}; `emergence report {}` retries it",
            dir.display()
        );
    }
    Ok(RunReport {
        dir,
        summary,
        metrics,
    })
}
