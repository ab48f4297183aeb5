//! `emergence bench`: speed of each backend on one scenario, on the same graph. Reports
//! graph generation, components and the model's passes separately; these figures are
//! benchmarks to read, not pass/fail tests.

use crate::analysis::components;
use crate::backend::{Backend, BackendChoice, GpuGraph};
use crate::config;
use crate::error::Result;
use crate::model::threshold;
use crate::run::{build_graph, threshold_params, GraphSummary};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct BackendFigures {
    pub backend: String,
    pub adapter: String,
    /// Host → device copy of the graph (0 on the CPU).
    pub upload_s: f64,
    pub components_s: f64,
    pub cascade_s: f64,
    pub sweeps: u64,
    pub sweeps_per_s: f64,
    /// Tie entries a full sweep reads (2·ties) times sweeps, per second of cascade.
    pub tie_entries_per_s: f64,
    pub final_active_fraction: f64,
    pub s1: f64,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub graph: GraphSummary,
    pub repeats: u32,
    pub backends: Vec<BackendFigures>,
}

/// Run the scenario's model on each requested backend (`auto`: the CPU and, when an
/// adapter exists, the GPU), best of `repeats` timings each.
pub fn bench(
    config: Option<PathBuf>,
    sets: &[String],
    choice: BackendChoice,
    adapter: Option<&str>,
    repeats: u32,
) -> Result<BenchReport> {
    let loaded = config::load(config.as_deref(), sets)?;
    let (_, graph, csr) = build_graph(&loaded)?;
    let params = threshold_params(&loaded);
    let mut backends = Vec::new();
    match choice {
        BackendChoice::Cpu => backends.push(Backend::Cpu),
        BackendChoice::Gpu => backends.push(Backend::open(BackendChoice::Gpu, adapter)?),
        BackendChoice::Auto => {
            backends.push(Backend::Cpu);
            match Backend::open(BackendChoice::Gpu, adapter) {
                Ok(b) => backends.push(b),
                Err(e) => tracing::warn!("GPU backend skipped: {e}"),
            }
        }
    }
    let mut figures = Vec::new();
    for backend in &backends {
        let mut best = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let mut outcome = None;
        for _ in 0..repeats.max(1) {
            let (upload_s, comps_s, cascade_s, comps, cascade) = match backend {
                Backend::Cpu => {
                    let t = Instant::now();
                    let comps = components::components_cpu(&csr);
                    let comps_s = t.elapsed().as_secs_f64();
                    let t = Instant::now();
                    let cascade = threshold::run_cpu(&csr, &params);
                    (0.0, comps_s, t.elapsed().as_secs_f64(), comps, cascade)
                }
                Backend::Gpu(ctx) => {
                    let t = Instant::now();
                    let g = GpuGraph::upload(ctx, &csr)?;
                    ctx.wait()?;
                    let upload_s = t.elapsed().as_secs_f64();
                    let t = Instant::now();
                    let (comps, _) = components::components_gpu(ctx, &g)?;
                    let comps_s = t.elapsed().as_secs_f64();
                    let t = Instant::now();
                    let cascade = threshold::run_gpu(ctx, &g, &params, |_, _| {})?;
                    (upload_s, comps_s, t.elapsed().as_secs_f64(), comps, cascade)
                }
            };
            best = (
                best.0.min(upload_s),
                best.1.min(comps_s),
                best.2.min(cascade_s),
            );
            outcome = Some((comps, cascade));
        }
        let (comps, cascade) = outcome.expect("at least one repeat");
        let sweeps = cascade.new_per_sweep.len() as u64 - 1;
        figures.push(BackendFigures {
            backend: backend.name().into(),
            adapter: backend.adapter_name(),
            upload_s: best.0,
            components_s: best.1,
            cascade_s: best.2,
            sweeps,
            sweeps_per_s: sweeps as f64 / best.2,
            tie_entries_per_s: (2 * graph.ties * sweeps) as f64 / best.2,
            final_active_fraction: cascade.active() as f64 / csr.n() as f64,
            s1: comps.s1(),
        });
    }
    Ok(BenchReport {
        model: loaded.scenario.model.kind.name().into(),
        graph,
        repeats,
        backends: figures,
    })
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let g = &self.graph;
        let mut out = format!(
            "{} on {} graph: {} agents, {} ties (mean degree {:.3}), generated in {:.3} s; best of {}\n",
            self.model, g.kind, g.agents, g.ties, g.mean_degree, g.build_s, self.repeats
        );
        out += &format!(
            "{:<8} {:>9} {:>13} {:>10} {:>7} {:>10} {:>16} {:>8}  adapter\n",
            "backend",
            "upload_s",
            "components_s",
            "cascade_s",
            "sweeps",
            "sweeps/s",
            "tie entries/s",
            "active"
        );
        for f in &self.backends {
            out += &format!(
                "{:<8} {:>9.4} {:>13.4} {:>10.4} {:>7} {:>10.1} {:>16.3e} {:>8.4}  {}\n",
                f.backend,
                f.upload_s,
                f.components_s,
                f.cascade_s,
                f.sweeps,
                f.sweeps_per_s,
                f.tie_entries_per_s,
                f.final_active_fraction,
                f.adapter
            );
        }
        out
    }
}
