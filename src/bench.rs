//! `emergence bench`: the speed of the scenario's model on each backend, from the same
//! start. Every model is timed through the one tick driver (start, then the ticks with
//! their metrics rows); the lifecycle adds each pass's share of a tick, the cost of one
//! metrics row, and each pass group's roofline: the bytes its bindings move
//! ([`Model::traffic`](crate::model::Model::traffic)), the GB/s achieved and the fraction of
//! the adapter's bandwidth. `bench --predict GPU` ([`predict`]) runs nothing: it turns the
//! byte counts into the ticks per second a named GPU's bandwidth allows. These figures are
//! benchmarks and predictions to read, not pass/fail tests.

use crate::backend::{Backend, BackendChoice};
use crate::config;
use crate::engine::{self, Drive};
use crate::error::Result;
use crate::graph::{build_graph, GraphSummary};
use crate::model::lifecycle::gpu::{GpuLifecycle, Pass};
use crate::model::lifecycle::{Lifecycle, LifecycleParams};
use crate::model::{self, Size, Start};
use crate::profile::PassTimes;
use crate::roofline::{self, Bandwidth, PassTraffic, Phase, Prediction};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// One backend's figures: the best of the repeats.
#[derive(Debug, Serialize)]
pub struct BackendFigures {
    pub backend: String,
    pub adapter: String,
    /// Starting the model: state built from the graph, uploaded, pipelines compiled.
    pub start_s: f64,
    /// Ticks (sweeps) the driver ran and the seconds they took, metrics rows included.
    pub ticks: u64,
    pub run_s: f64,
    pub ticks_per_s: f64,
    pub rows: usize,
    /// The last metrics row, to check that the backends ran the same model.
    #[serde(rename = "final")]
    pub final_row: serde_json::Map<String, serde_json::Value>,
    /// The lifecycle's per-pass breakdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passes: Option<LifecycleFigures>,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The model benchmarked (`model.kind` of the scenario).
    pub model: String,
    pub graph: GraphSummary,
    pub agents: u32,
    pub repeats: u32,
    /// The device memory a run of this size plans, summed from the model's buffers.
    pub device_bytes: u64,
    pub backends: Vec<BackendFigures>,
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

/// Bench the scenario's model on each requested backend, best of `repeats` timings.
pub fn bench(
    config: Option<PathBuf>,
    sets: &[String],
    choice: BackendChoice,
    adapter: Option<&str>,
    repeats: u32,
) -> Result<BenchReport> {
    bench_with(config, sets, choice, adapter, repeats, None)
}

/// [`bench`] with the adapter's memory bandwidth in GB/s (`--bandwidth`), which the
/// roofline's fractions are of when the table does not know the adapter (or to replace
/// its figure): the GPU's when one is benchmarked, else the host's.
pub fn bench_with(
    config: Option<PathBuf>,
    sets: &[String],
    choice: BackendChoice,
    adapter: Option<&str>,
    repeats: u32,
    bandwidth: Option<f64>,
) -> Result<BenchReport> {
    let bandwidth = bandwidth.map(roofline::check_bandwidth).transpose()?;
    if repeats == 0 {
        return Err(crate::error::Error::bad_input(
            "--repeats 0: the best of no timings is nothing; allowed: --repeats ≥ 1",
        ));
    }
    let loaded = config::load(config.as_deref(), sets)?;
    let model = model::find(loaded.scenario.model.kind())?;
    let backends = backends(choice, adapter)?;
    // Every backend's plan before the graph is built; bench keeps one more copy of the
    // graph per start, which the margin of the plan's per-tie bytes covers.
    let planned = Size::from_config(&loaded);
    for backend in &backends {
        model::check_memory(model, &planned, backend)?;
    }
    let (edges, graph, csr) = build_graph(&loaded)?;
    let size = Size {
        agents: csr.n() as u64,
        ties: graph.ties,
        slots: loaded.scenario.graph.slots as u64,
        complete: loaded.scenario.graph.kind == config::GraphKind::Complete,
    };
    let device_bytes = model.buffers(&size).iter().map(|b| b.bytes).sum();
    for backend in &backends {
        model::check_fits(model, &size, backend)?;
    }
    let ticks = loaded.scenario.ticks as u64;
    let traffic = model.traffic(&size, &loaded.scenario);
    // `--bandwidth` is the GPU's when one is benchmarked, else the host's.
    let with_gpu = backends.iter().any(|b| matches!(b, Backend::Gpu(_)));
    let mut figures = Vec::new();
    for backend in backends {
        let mut best: Option<BackendFigures> = None;
        for _ in 0..repeats {
            let start = Start {
                loaded: &loaded,
                graph: &graph,
                edges: edges.clone(),
                csr: csr.clone(),
                render: None,
            };
            let t = Instant::now();
            let mut sim = model.start(start, &backend)?;
            if let Backend::Gpu(ctx) = &backend {
                ctx.wait()?;
            }
            let start_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let driven = engine::drive(sim.as_mut(), Drive::quiet(ticks))?;
            let run_s = t.elapsed().as_secs_f64();
            sim.finish(&driven.table)?;
            let f = BackendFigures {
                backend: backend.name().into(),
                adapter: backend.adapter_name(),
                start_s,
                ticks: driven.ticks_run,
                run_s,
                ticks_per_s: driven.ticks_run as f64 / run_s.max(1e-12),
                rows: driven.table.rows.len(),
                final_row: driven.table.last_as_map(),
                passes: None,
            };
            if best.as_ref().is_none_or(|b| f.run_s < b.run_s) {
                best = Some(f);
            }
        }
        let mut best = best.expect("at least one repeat");
        if model.name() == "lifecycle" {
            let mut passes = lifecycle_passes(&loaded, &edges, &backend)?;
            let bw = match &backend {
                Backend::Gpu(ctx) => Bandwidth::for_adapter(&ctx.adapter.name, bandwidth),
                Backend::Cpu if !with_gpu => {
                    Bandwidth::for_adapter(&backend.adapter_name(), bandwidth)
                }
                Backend::Cpu => None,
            };
            passes.add_roofline(&traffic, bw);
            best.passes = Some(passes);
        }
        figures.push(best);
    }
    Ok(BenchReport {
        model: model.name().into(),
        graph,
        agents: csr.n(),
        repeats,
        device_bytes,
        backends: figures,
    })
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let g = &self.graph;
        let mut out = format!(
            "model {}: {} agents, graph {} ({} ties, mean degree {:.2}, built in {:.3} s), {:.1} MiB planned on a device, best of {}\n",
            self.model,
            self.agents,
            g.kind,
            g.ties,
            g.mean_degree,
            g.build_s,
            self.device_bytes as f64 / (1 << 20) as f64,
            self.repeats
        );
        out += &format!(
            "{:<8} {:>9} {:>8} {:>10} {:>12} {:>6}  adapter\n",
            "backend", "start_s", "ticks", "run_s", "ticks/s", "rows"
        );
        for f in &self.backends {
            out += &format!(
                "{:<8} {:>9.4} {:>8} {:>10.4} {:>12.1} {:>6}  {}\n",
                f.backend, f.start_s, f.ticks, f.run_s, f.ticks_per_s, f.rows, f.adapter
            );
        }
        for f in &self.backends {
            if let Some(p) = &f.passes {
                let shares: Vec<String> = p
                    .pass_shares
                    .iter()
                    .map(|(n, s)| format!("{n} {s:.2}"))
                    .collect();
                out += &format!(
                    "{} passes ({}): {:.1} ticks/s without metrics, {:.3e} slots/s, one metrics row {:.4} s; shares {}\n",
                    f.backend,
                    p.shares_by,
                    p.ticks_per_s,
                    p.slots_per_s,
                    p.metrics_s,
                    shares.join(", ")
                );
                out += &p.roofline_text(&f.backend);
            }
        }
        out
    }
}

/// The lifecycle's passes on one backend.
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
    /// Each pass group's bytes (from the bindings), seconds per tick, and GB/s.
    pub roofline: Vec<GroupRoofline>,
    /// One tick's bytes, all passes (the phase copy included), and those bytes at the
    /// measured ticks/s.
    pub tick_bytes: u64,
    pub tick_gb_per_s: f64,
    /// One metrics row's bytes and those bytes over the measured row time.
    pub metrics_row_bytes: u64,
    pub metrics_gb_per_s: f64,
    /// The bandwidth the fractions are of: the adapter's from the table, or
    /// `--bandwidth`; None when neither knows it.
    pub bandwidth: Option<Bandwidth>,
    /// Seconds each group's timing covers in all (its `spent` of every repetition) and
    /// how many ticks' worth of that group it timed.
    #[serde(skip)]
    spent: [f64; 4],
    #[serde(skip)]
    timed: u32,
}

/// One pass group's roofline in a measured bench.
#[derive(Debug, Serialize)]
pub struct GroupRoofline {
    /// psi, agents, weights, search.
    pub pass: String,
    /// Bytes read and written per tick: the sum of the group's passes' traffic.
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// Time of the group per tick: device time on the GPU (timestamps, or the wall clock
    /// where there are none), CPU time on the CPU backend.
    pub seconds: f64,
    /// (read + written) / seconds, GB/s (10^9 bytes). On the CPU backend an equivalent
    /// throughput: the CPU twin's own arrays differ from the GPU's bindings.
    pub gb_per_s: f64,
    /// `gb_per_s` over the bandwidth, when it is known.
    pub fraction_of_peak: Option<f64>,
}

impl LifecycleFigures {
    /// Fill in the roofline from the passes' traffic and the bandwidth.
    fn add_roofline(&mut self, traffic: &[PassTraffic], bandwidth: Option<Bandwidth>) {
        let names = ["psi", "agents", "weights", "search"];
        self.roofline = names
            .iter()
            .zip(self.spent)
            .map(|(name, spent)| {
                let mine = traffic.iter().filter(|p| p.group.as_deref() == Some(name));
                let (read, written) =
                    mine.fold((0, 0), |(r, w), p| (r + p.read_bytes, w + p.written_bytes));
                let seconds = spent / self.timed.max(1) as f64;
                let gb_per_s = (read + written) as f64 / seconds.max(1e-12) / 1e9;
                GroupRoofline {
                    pass: name.to_string(),
                    read_bytes: read,
                    written_bytes: written,
                    seconds,
                    gb_per_s,
                    fraction_of_peak: bandwidth.as_ref().map(|b| gb_per_s / b.gb_per_s),
                }
            })
            .collect();
        let bytes = |phase| {
            traffic
                .iter()
                .filter(|p| p.phase == phase)
                .map(PassTraffic::bytes)
                .sum::<u64>()
        };
        self.tick_bytes = bytes(Phase::Tick);
        self.tick_gb_per_s = self.tick_bytes as f64 * self.ticks_per_s / 1e9;
        self.metrics_row_bytes = bytes(Phase::Metrics);
        self.metrics_gb_per_s = self.metrics_row_bytes as f64 / self.metrics_s.max(1e-12) / 1e9;
        self.bandwidth = bandwidth;
    }

    /// The roofline as a short table.
    fn roofline_text(&self, backend: &str) -> String {
        if self.roofline.is_empty() {
            return String::new();
        }
        let of = match &self.bandwidth {
            Some(b) => format!(
                "of {:.0} GB/s ({}, {})",
                b.gb_per_s,
                b.gpu,
                if b.source == "table" {
                    "vendor's peak"
                } else {
                    "--bandwidth"
                }
            ),
            None => "of peak: unknown adapter, give --bandwidth GBPS".into(),
        };
        let mut out = format!(
            "{backend} roofline (bytes from the kernels' bindings per tick; {}):
{:<8} {:>10} {:>11} {:>10} {:>9} {:>8}
",
            if backend == "cpu" {
                "GB/s equivalent to the GPU's bytes"
            } else {
                "device time"
            },
            "pass",
            "read MB",
            "written MB",
            "µs/tick",
            "GB/s",
            "of peak"
        );
        for g in &self.roofline {
            out += &format!(
                "{:<8} {:>10.3} {:>11.3} {:>10.2} {:>9.2} {:>8}
",
                g.pass,
                g.read_bytes as f64 / 1e6,
                g.written_bytes as f64 / 1e6,
                g.seconds * 1e6,
                g.gb_per_s,
                g.fraction_of_peak
                    .map_or("–".to_string(), |f| format!("{:.1} %", 100.0 * f))
            );
        }
        out += &format!(
            "tick {:.3} MB at {:.2} GB/s, metrics row {:.3} MB at {:.2} GB/s; fractions {of}\n",
            self.tick_bytes as f64 / 1e6,
            self.tick_gb_per_s,
            self.metrics_row_bytes as f64 / 1e6,
            self.metrics_gb_per_s,
        );
        out
    }
}

/// The lifecycle's ticks on `backend` without metrics rows, pass by pass, and one
/// metrics row.
fn lifecycle_passes(
    loaded: &config::Loaded,
    edges: &crate::graph::EdgeList,
    backend: &Backend,
) -> Result<LifecycleFigures> {
    let params = LifecycleParams::from_config(&loaded.scenario);
    let mut life = Lifecycle::new(
        edges.n,
        loaded.scenario.seed as u32,
        &params,
        crate::graph::tie_slots(edges, params.slots, params.new_tie),
    );
    let ticks = loaded.scenario.ticks as u32;
    let slots = edges.n as f64 * params.slots as f64;
    {
        let f = match backend {
            Backend::Cpu => {
                // The tick the runs take (`Lifecycle::steps`), with each pass group timed.
                let mut times = PassTimes::default();
                life.steps(&params, ticks as u64, Some(&mut times));
                let names = ["psi", "agents", "weights", "search"];
                let mut spent = [0.0f64; 4];
                for pass in times.into_vec() {
                    if let Some(k) = names.iter().position(|&n| n == pass.pass) {
                        spent[k] = pass.seconds;
                    }
                }
                let total: f64 = spent.iter().sum();
                let c = Instant::now();
                life.metrics(&params, ticks);
                let metrics_s = c.elapsed().as_secs_f64();
                figures_of(
                    backend,
                    ticks,
                    total,
                    slots,
                    metrics_s,
                    (spent, ticks),
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
                figures_of(
                    backend,
                    ticks,
                    total,
                    slots,
                    metrics_s,
                    (spent, reps),
                    how,
                    &life,
                )
            }
        };
        Ok(f)
    }
}

#[allow(clippy::too_many_arguments)]
fn figures_of(
    backend: &Backend,
    ticks: u32,
    total: f64,
    slots: f64,
    metrics_s: f64,
    (spent, timed): ([f64; 4], u32),
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
        roofline: Vec::new(),
        tick_bytes: 0,
        tick_gb_per_s: 0.0,
        metrics_row_bytes: 0,
        metrics_gb_per_s: 0.0,
        bandwidth: None,
        spent,
        timed,
    }
}

/// `bench --predict GPU`: the scenario's per-pass bytes at its size, and what they imply
/// on `gpu` at its bandwidth from the table (or `bandwidth`, GB/s). Nothing runs on a
/// device; every figure is a prediction.
pub fn predict(
    config: Option<PathBuf>,
    sets: &[String],
    gpu: &str,
    bandwidth: Option<f64>,
) -> Result<Prediction> {
    let bw = Bandwidth::for_prediction(gpu, bandwidth)?;
    let loaded = config::load(config.as_deref(), sets)?;
    let model = model::find(loaded.scenario.model.kind())?;
    let size = Size::from_config(&loaded);
    if size.agents == 0 {
        return Err(crate::error::Error::bad_input(
            "bench --predict: the size of a graph file is known once it is read; give the agents with --agents N",
        ));
    }
    let traffic = model.traffic(&size, &loaded.scenario);
    if traffic.is_empty() {
        let with: Vec<&str> = model::all()
            .into_iter()
            .filter(|m| !m.traffic(&size, &loaded.scenario).is_empty())
            .map(|m| m.name())
            .collect();
        return Err(crate::error::Error::bad_input(format!(
            "bench --predict: model {} declares no per-pass traffic; allowed: {}",
            model.name(),
            with.join(", ")
        )));
    }
    let device_bytes = model.buffers(&size).iter().map(|b| b.bytes).sum();
    Ok(roofline::predict(
        model.name(),
        size.agents,
        size.slots,
        loaded.scenario.metrics_every as u64,
        device_bytes,
        traffic,
        bw,
    ))
}
