//! `emergence bench`: speed of each backend on one scenario, on the same graph. Reports
//! graph generation, components and the model's passes separately; these figures are
//! benchmarks to read, not pass/fail tests.

use crate::analysis::components;
use crate::backend::{Backend, BackendChoice, GpuGraph};
use crate::config;
use crate::config::ModelKind;
use crate::error::Result;
use crate::model::lifecycle::{Lifecycle, LifecycleParams};
use crate::model::lifecycle_gpu::{GpuLifecycle, Pass};
use crate::model::threshold;
use crate::run::{build_graph, lifecycle_ties, threshold_params, GraphSummary};
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

/// What `emergence bench` reports, per model.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    Threshold(BenchReport),
    Lifecycle(LifecycleReport),
}

impl Report {
    pub fn to_text(&self) -> String {
        match self {
            Report::Threshold(r) => r.to_text(),
            Report::Lifecycle(r) => r.to_text(),
        }
    }
}

/// The backends a bench measures: `auto` means the CPU and, when an adapter exists, the GPU.
fn backends(choice: BackendChoice, adapter: Option<&str>) -> Result<Vec<Backend>> {
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
    Ok(backends)
}

/// Bench the scenario's model on each requested backend.
pub fn bench(
    config: Option<PathBuf>,
    sets: &[String],
    choice: BackendChoice,
    adapter: Option<&str>,
    repeats: u32,
) -> Result<Report> {
    let loaded = config::load(config.as_deref(), sets)?;
    match loaded.scenario.model.kind {
        ModelKind::Lifecycle => Ok(Report::Lifecycle(bench_lifecycle(
            &loaded, choice, adapter,
        )?)),
        _ => Ok(Report::Threshold(bench_threshold(
            &loaded, choice, adapter, repeats,
        )?)),
    }
}

/// The threshold cascade on each backend, best of `repeats` timings each.
fn bench_threshold(
    loaded: &config::Loaded,
    choice: BackendChoice,
    adapter: Option<&str>,
    repeats: u32,
) -> Result<BenchReport> {
    let (_, graph, csr) = build_graph(loaded)?;
    let params = threshold_params(loaded);
    let backends = backends(choice, adapter)?;
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

/// Lifecycle speed on one backend.
#[derive(Debug, Serialize)]
pub struct LifecycleFigures {
    pub backend: String,
    pub adapter: String,
    pub ticks: u32,
    pub ticks_per_s: f64,
    /// Tie slots (N·K) swept per second of ticks.
    pub slots_per_s: f64,
    /// One metrics row (label propagation, components, sums), seconds.
    pub metrics_s: f64,
    /// Share of tick time per pass (psi, agents, weights, search), summing to 1.
    pub pass_shares: Vec<(String, f64)>,
    /// How the shares were measured.
    pub shares_by: String,
    pub mean_degree_after: f64,
}

#[derive(Debug, Serialize)]
pub struct LifecycleReport {
    pub model: String,
    pub graph: GraphSummary,
    pub agents: u32,
    pub slots: u32,
    /// Device memory of the state per tie slot (neighbour, weight, age).
    pub bytes_per_slot: u32,
    /// Device memory per agent: model state, handshake and metrics scratch.
    pub bytes_per_agent: u32,
    pub backends: Vec<LifecycleFigures>,
}

/// Bytes per agent on the device: φ (2), ω, k, adoption, degree, labels (2) = 8 words of
/// state, 3 of handshake (target, claim, partner), 8 of metrics scratch (component
/// parent and size, six community sums).
pub const LIFECYCLE_BYTES_PER_AGENT: u32 = 4 * (8 + 3 + 8);

fn bench_lifecycle(
    loaded: &config::Loaded,
    choice: BackendChoice,
    adapter: Option<&str>,
) -> Result<LifecycleReport> {
    let (edges, graph, _) = build_graph(loaded)?;
    let params = LifecycleParams::from_config(&loaded.scenario);
    let start = Lifecycle::new(
        edges.n,
        loaded.scenario.seed as u32,
        &params,
        lifecycle_ties(&edges, &params),
    );
    let ticks = loaded.scenario.ticks as u32;
    let slots = edges.n as f64 * params.slots as f64;
    let mut figures = Vec::new();
    for backend in backends(choice, adapter)? {
        let mut life = start.clone();
        let f = match &backend {
            Backend::Cpu => {
                let mut spent = [0.0f64; 4];
                for _ in 0..ticks {
                    let t = life.tick + 1;
                    let c = Instant::now();
                    let (psi, n_a) = life.psi();
                    spent[0] += c.elapsed().as_secs_f64();
                    let c = Instant::now();
                    life.agents(&params, psi, n_a, t);
                    spent[1] += c.elapsed().as_secs_f64();
                    let c = Instant::now();
                    life.tie_weights(&params);
                    spent[2] += c.elapsed().as_secs_f64();
                    let c = Instant::now();
                    let (target, claim) = life.propose(&params, t);
                    let partner = life.confirm(&target, &claim, t);
                    life.commit(&params, &partner);
                    spent[3] += c.elapsed().as_secs_f64();
                    life.tick = t;
                }
                let total: f64 = spent.iter().sum();
                let c = Instant::now();
                life.metrics(&params, ticks);
                let metrics_s = c.elapsed().as_secs_f64();
                figures_of(
                    &backend,
                    ticks,
                    total,
                    slots,
                    metrics_s,
                    spent,
                    "timing each pass in the tick loop",
                    &life,
                )
            }
            Backend::Gpu(ctx) => {
                let device = GpuLifecycle::upload(ctx, &life, &params)?;
                ctx.wait()?;
                let c = Instant::now();
                device.run_ticks(ctx, ticks);
                ctx.wait()?;
                let total = c.elapsed().as_secs_f64();
                let c = Instant::now();
                device.metrics(ctx, ticks)?;
                let metrics_s = c.elapsed().as_secs_f64();
                device.download(ctx, &mut life)?;
                // Each pass group's device time from timestamps where the adapter has
                // them; else each group alone, repeated, timed by the wall clock.
                let reps = 20;
                let (spent, how) = match device.time_passes(ctx, reps)? {
                    Some(spent) => (spent, "GPU timestamp queries, 20 repetitions"),
                    None => {
                        let mut spent = [0.0f64; 4];
                        let groups: [&[Pass]; 4] = [
                            &[Pass::Psi],
                            &[Pass::Agents],
                            &[Pass::Weights],
                            &[Pass::Propose, Pass::Confirm, Pass::Commit],
                        ];
                        for (k, group) in groups.iter().enumerate() {
                            let list: Vec<Pass> =
                                (0..reps).flat_map(|_| group.iter().copied()).collect();
                            let c = Instant::now();
                            device.run_passes(ctx, &list);
                            ctx.wait()?;
                            spent[k] = c.elapsed().as_secs_f64();
                        }
                        (spent, "repeating each pass alone 20 times (wall clock)")
                    }
                };
                figures_of(&backend, ticks, total, slots, metrics_s, spent, how, &life)
            }
        };
        figures.push(f);
    }
    Ok(LifecycleReport {
        model: "lifecycle".into(),
        graph,
        agents: start.n,
        slots: params.slots,
        bytes_per_slot: 12,
        bytes_per_agent: LIFECYCLE_BYTES_PER_AGENT,
        backends: figures,
    })
}

#[allow(clippy::too_many_arguments)]
fn figures_of(
    backend: &Backend,
    ticks: u32,
    total: f64,
    slots: f64,
    metrics_s: f64,
    spent: [f64; 4],
    how: &str,
    life: &Lifecycle,
) -> LifecycleFigures {
    let sum: f64 = spent.iter().sum::<f64>().max(1e-12);
    let names = ["psi", "agents", "weights", "search"];
    LifecycleFigures {
        backend: backend.name().into(),
        adapter: backend.adapter_name(),
        ticks,
        ticks_per_s: ticks as f64 / total.max(1e-12),
        slots_per_s: slots * ticks as f64 / total.max(1e-12),
        metrics_s,
        pass_shares: names
            .iter()
            .zip(spent)
            .map(|(n, s)| (n.to_string(), s / sum))
            .collect(),
        shares_by: how.into(),
        mean_degree_after: 2.0 * life.ties.num_ties() as f64 / life.n.max(1) as f64,
    }
}

impl LifecycleReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "lifecycle: {} agents, K = {} ({} B per slot, {} B per agent on the device), start graph {} (mean degree {:.2})\n",
            self.agents, self.slots, self.bytes_per_slot, self.bytes_per_agent, self.graph.kind, self.graph.mean_degree
        );
        out += &format!(
            "{:<8} {:>6} {:>10} {:>12} {:>10} {:>32}  adapter\n",
            "backend",
            "ticks",
            "ticks/s",
            "slots/s",
            "metrics_s",
            "shares psi/agents/weights/search"
        );
        for f in &self.backends {
            let shares: Vec<String> = f
                .pass_shares
                .iter()
                .map(|(_, s)| format!("{:.2}", s))
                .collect();
            out += &format!(
                "{:<8} {:>6} {:>10.1} {:>12.3e} {:>10.4} {:>32}  {}\n",
                f.backend,
                f.ticks,
                f.ticks_per_s,
                f.slots_per_s,
                f.metrics_s,
                shares.join(" / "),
                f.adapter
            );
        }
        out
    }
}
