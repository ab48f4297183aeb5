//! One run, start to finish: load and check the scenario, claim the run directory,
//! build the graph, run the model's passes on the chosen backend, and write
//! `config.toml`, `metrics.csv` and `summary.json`, then the report (plots,
//! report.html). Everything that can be refused is refused before any work or any file
//! appears.

use crate::analysis::components::{self, ComponentStats};
use crate::analysis::stages::{self, StageParams, StageReport, Transition};
use crate::analysis::theory;
use crate::backend::{Backend, BackendChoice, GpuGraph};
use crate::config::{self, GraphKind, Loaded, ModelKind};
use crate::error::Result;
use crate::graph::{generators, import, Csr, EdgeList, TieStore};
use crate::io::{rundir::RunDir, MetricsTable};
use crate::model::deffuant::{self, DeffuantParams, DeffuantRun, Mixing};
use crate::model::kuramoto::{self, Frequencies, KuramotoParams, KuramotoRun};
use crate::model::lifecycle::{self, Lifecycle, LifecycleParams, Milestones};
use crate::model::lifecycle_gpu::GpuLifecycle;
use crate::model::sir::{self, Outbreak, SirParams};
use crate::model::threshold::{self, Cascade, ThresholdParams};
use crate::model::voter::{self, Voter, VoterParams, VoterRun};
use crate::progress::Progress;
use serde::Serialize;
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

/// Facts about the graph a run started from.
#[derive(Debug, Clone, Serialize)]
pub struct GraphSummary {
    pub kind: String,
    pub agents: u32,
    pub ties: u64,
    pub mean_degree: f64,
    pub max_degree: u32,
    pub build_s: f64,
}

/// Build the scenario's initial graph (on the host; deterministic in the seed).
pub fn build_graph(loaded: &Loaded) -> Result<(EdgeList, GraphSummary, Csr)> {
    let s = &loaded.scenario;
    let g = &s.graph;
    let n = s.agents as u32;
    let seed = s.seed as u32;
    let start = Instant::now();
    let edges = match g.kind {
        GraphKind::Er => generators::erdos_renyi(n, g.mean_degree, seed)?,
        GraphKind::Ws => {
            let k = 2 * (g.mean_degree / 2.0).round() as u32;
            generators::watts_strogatz(n, k, g.rewire, seed)?
        }
        GraphKind::Ba => {
            let m = if g.attach > 0 {
                g.attach as u32
            } else {
                (g.mean_degree / 2.0).round().max(1.0) as u32
            };
            generators::barabasi_albert(n, m, seed)?
        }
        GraphKind::Geometric => generators::random_geometric(n, g.mean_degree, seed)?.0,
        GraphKind::Sbm => {
            generators::stochastic_block(n, g.blocks as u32, g.mean_degree, g.mean_degree_in, seed)?
                .0
        }
        GraphKind::File => {
            let path = loaded
                .graph_path()
                .expect("validated: file graphs have a path");
            let base = match g.id_base.as_str() {
                "0" => import::IdBase::Zero,
                "1" => import::IdBase::One,
                _ => import::IdBase::Auto,
            };
            let (edges, report) = import::read_edge_list(&path, base)?;
            if report.self_loops + report.duplicates > 0 {
                tracing::warn!(
                    "{}: dropped {} self-loops and {} duplicate ties",
                    path.display(),
                    report.self_loops,
                    report.duplicates
                );
            }
            if edges.n != n {
                tracing::info!(
                    "{}: the file has {} agents; agents = {} is replaced by it",
                    path.display(),
                    edges.n,
                    n
                );
            }
            edges
        }
        GraphKind::Empty => EdgeList {
            n,
            edges: Vec::new(),
            weights: None,
        },
        // Well mixed: no ties are stored; the model pairs agents itself.
        GraphKind::Complete => EdgeList {
            n,
            edges: Vec::new(),
            weights: None,
        },
    };
    let csr = Csr::from_edges(&edges);
    if g.kind == GraphKind::Complete {
        let summary = GraphSummary {
            kind: "complete".into(),
            agents: n,
            ties: n as u64 * (n as u64).saturating_sub(1) / 2,
            mean_degree: n.saturating_sub(1) as f64,
            max_degree: n.saturating_sub(1),
            build_s: start.elapsed().as_secs_f64(),
        };
        return Ok((edges, summary, csr));
    }
    let summary = GraphSummary {
        kind: format!("{:?}", g.kind).to_lowercase(),
        agents: edges.n,
        ties: edges.edges.len() as u64,
        mean_degree: edges.mean_degree(),
        max_degree: csr.max_degree(),
        build_s: start.elapsed().as_secs_f64(),
    };
    Ok((edges, summary, csr))
}

pub fn threshold_params(loaded: &Loaded) -> ThresholdParams {
    let s = &loaded.scenario;
    ThresholdParams {
        theta: s.model.theta,
        seed_fraction: s.model.seed_fraction,
        seed: s.seed as u32,
        max_sweeps: s.ticks as u32,
    }
}

/// Components and the cascade on one backend.
pub fn run_threshold(
    backend: &Backend,
    csr: &Csr,
    params: &ThresholdParams,
    progress: &Progress,
) -> Result<(ComponentStats, Cascade)> {
    match backend {
        Backend::Cpu => {
            let comps = components::components_cpu(csr);
            let cascade = threshold::run_cpu(csr, params);
            progress.update(
                cascade.new_per_sweep.len() as u64 - 1,
                &format!("active {}", cascade.active()),
            );
            Ok((comps, cascade))
        }
        Backend::Gpu(ctx) => {
            let graph = GpuGraph::upload(ctx, csr)?;
            let (comps, _) = components::components_gpu(ctx, &graph)?;
            let cascade = threshold::run_gpu(ctx, &graph, params, |sweeps, active| {
                progress.update(sweeps as u64, &format!("active {active}"));
            })?;
            Ok((comps, cascade))
        }
    }
}

/// The scenario's graph in K tie slots per agent for the dynamic-tie models, every tie
/// at `weight` (weights in a graph file are not used). Ties that would take an agent past
/// K are dropped, in list order, with a counted warning.
pub fn tie_slots(edges: &EdgeList, slots: u32, weight: f32) -> TieStore {
    let unweighted = EdgeList {
        n: edges.n,
        edges: edges.edges.clone(),
        weights: None,
    };
    let (store, dropped) = TieStore::from_edges(&unweighted, slots, weight);
    if dropped > 0 {
        tracing::warn!(
            "graph: dropped {dropped} of {} ties that would give an agent more than graph.slots = {slots} ties",
            edges.edges.len(),
        );
    }
    store
}

/// The lifecycle's initial ties: the scenario's graph at weight w0.
pub fn lifecycle_ties(edges: &EdgeList, params: &LifecycleParams) -> TieStore {
    tie_slots(edges, params.slots, params.new_tie)
}

/// Ticks of the lifecycle on one backend, with a metrics row at tick 0, every
/// `metrics_every` ticks and at the last tick.
pub fn run_lifecycle(
    backend: &Backend,
    life: &mut Lifecycle,
    params: &LifecycleParams,
    ticks: u32,
    metrics_every: u32,
    progress: &Progress,
) -> Result<MetricsTable> {
    match backend {
        Backend::Cpu => {
            let mut table = MetricsTable::new(&lifecycle::COLUMNS);
            table.push(life.metrics(params, 0));
            let mut last_row = life.tick;
            let end = life.tick + ticks;
            while life.tick < end {
                life.step(params);
                if life.tick.is_multiple_of(metrics_every.max(1)) || life.tick == end {
                    let row = life.metrics(params, life.tick - last_row);
                    last_row = life.tick;
                    table.push(row);
                    progress.update(
                        (life.tick - (end - ticks)) as u64,
                        &lifecycle_progress(&table, life.n),
                    );
                }
            }
            Ok(table)
        }
        Backend::Gpu(ctx) => {
            // The ticks between two metrics rows and the row's reductions go to the
            // device in one submission; the row is read back while the device already
            // runs the next interval (two staging buffers), so readback never stalls it.
            let device = GpuLifecycle::upload(ctx, life, params)?;
            let mut table = MetricsTable::new(&lifecycle::COLUMNS);
            table.push(device.metrics(ctx, 0)?);
            let staging = [device.staging(ctx), device.staging(ctx)];
            let start = life.tick;
            let end = start + ticks;
            let every = metrics_every.max(1);
            let mut tick = start;
            let mut pending = None;
            let mut k = 0;
            loop {
                let submitted = if tick < end {
                    let next = ((tick / every + 1) * every).min(end);
                    let (tx, rx) = std::sync::mpsc::channel();
                    let index = device.submit_interval(ctx, next - tick, &staging[k % 2], tx);
                    let interval = next - tick;
                    tick = next;
                    Some((index, k % 2, rx, interval))
                } else {
                    None
                };
                k += 1;
                if let Some((index, slot, rx, interval)) = pending.take() {
                    let row = device.collect_interval(ctx, index, &staging[slot], rx, interval)?;
                    let done = row[0] as u64 - start as u64;
                    table.push(row);
                    progress.update(done, &lifecycle_progress(&table, life.n));
                }
                match submitted {
                    Some(s) => pending = Some(s),
                    None => break,
                }
            }
            device.download(ctx, life)?;
            Ok(table)
        }
    }
}

/// The progress line of a lifecycle run: the last metrics row and the stage the detector
/// sees in the rows so far (it runs again on every row; it is O(rows), negligible next to
/// the ticks between two rows).
pub(crate) fn lifecycle_progress(table: &MetricsTable, agents: u32) -> String {
    let row = table.rows.last().map_or(&[][..], |r| &r[..]);
    let get = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .and_then(|k| row.get(k).copied())
            .unwrap_or(f64::NAN)
    };
    let stage = stages::detect(table, &StageParams::new(agents))
        .map_or_else(String::new, |s| format!(" | {}", s.current()));
    format!(
        "degree {:.2} s1 {:.3} clustering {:.3} adoption {:.3} alignment {:.3}{stage}",
        get("mean_degree"),
        get("s1"),
        get("clustering"),
        get("adoption"),
        get("alignment")
    )
}

pub fn sir_params(loaded: &Loaded) -> SirParams {
    let s = &loaded.scenario;
    SirParams {
        infection: s.model.infection,
        recovery: s.model.recovery,
        initial_infected: s.model.initial_infected as u32,
        seed: s.seed as u32,
        max_ticks: s.ticks as u32,
    }
}

/// An SIR outbreak on one backend.
pub fn run_sir(
    backend: &Backend,
    csr: &Csr,
    params: &SirParams,
    progress: &Progress,
) -> Result<Outbreak> {
    match backend {
        Backend::Cpu => Ok(sir::run_cpu(csr, params)),
        Backend::Gpu(ctx) => {
            let graph = GpuGraph::upload(ctx, csr)?;
            sir::run_gpu(ctx, &graph, params, |ticks, ever| {
                progress.update(ticks as u64, &format!("ever infected {ever}"));
            })
        }
    }
}

pub fn deffuant_params(loaded: &Loaded) -> DeffuantParams {
    let s = &loaded.scenario;
    DeffuantParams {
        confidence: s.model.confidence as f32,
        convergence: s.model.convergence as f32,
        seed: s.seed as u32,
        ticks: s.ticks as u32,
        metrics_every: s.metrics_every as u32,
    }
}

/// The Deffuant model on one backend; `csr` is `None` when well mixed.
pub fn run_deffuant(
    backend: &Backend,
    n: u32,
    csr: Option<&Csr>,
    params: &DeffuantParams,
    progress: &Progress,
) -> Result<DeffuantRun> {
    let report = |t: u32| progress.update(t as u64, "");
    match backend {
        Backend::Cpu => {
            let mixing = match csr {
                Some(c) => Mixing::Graph(c),
                None => Mixing::Complete(n),
            };
            Ok(deffuant::run_cpu(mixing, params, report))
        }
        Backend::Gpu(ctx) => {
            let graph = csr.map(|c| GpuGraph::upload(ctx, c)).transpose()?;
            deffuant::run_gpu(ctx, n, graph.as_ref(), params, report)
        }
    }
}

pub fn voter_params(loaded: &Loaded, n: u32) -> VoterParams {
    let s = &loaded.scenario;
    VoterParams {
        rewiring: s.model.rewiring,
        opinions: if s.model.opinions > 0 {
            s.model.opinions as u32
        } else {
            (n / 10).max(1)
        },
        seed: s.seed as u32,
        max_ticks: s.ticks as u32,
        metrics_every: s.metrics_every as u32,
    }
}

/// The voter's initial state: the scenario's graph in K slots, opinions at random.
pub fn voter_state(edges: &EdgeList, slots: u32, params: &VoterParams) -> Voter {
    Voter::new(tie_slots(edges, slots, 1.0), params)
}

/// The coevolving voter on one backend.
pub fn run_voter(
    backend: &Backend,
    voter: &mut Voter,
    params: &VoterParams,
    progress: &Progress,
) -> Result<VoterRun> {
    let report = |t: u32, d: u64| progress.update(t as u64, &format!("discordant ties {d}"));
    match backend {
        Backend::Cpu => Ok(voter::run_cpu(voter, params, report)),
        Backend::Gpu(ctx) => voter::run_gpu(ctx, voter, params, report),
    }
}

pub fn kuramoto_params(loaded: &Loaded) -> KuramotoParams {
    let s = &loaded.scenario;
    let m = &s.model;
    KuramotoParams {
        coupling: m.coupling as f32,
        dt: m.dt as f32,
        frequencies: if m.frequencies == "gaussian" {
            Frequencies::Gaussian
        } else {
            Frequencies::Lorentzian
        },
        width: m.frequency_width,
        seed: s.seed as u32,
        ticks: s.ticks as u32,
        metrics_every: s.metrics_every as u32,
        average_ticks: if m.average_ticks > 0 {
            m.average_ticks as u32
        } else {
            (s.ticks / 2) as u32
        },
    }
}

/// Kuramoto on one backend (`csr` is `None` when all-to-all), with λ_max of the graph.
pub fn run_kuramoto(
    backend: &Backend,
    n: u32,
    csr: Option<&Csr>,
    params: &KuramotoParams,
    progress: &Progress,
) -> Result<(KuramotoRun, Option<f64>)> {
    let report = |k: u32, r: f32| progress.update(k as u64, &format!("r {r:.4}"));
    match backend {
        Backend::Cpu => {
            let lambda = csr.map(|c| kuramoto::lambda_max_cpu(c, params.seed));
            Ok((kuramoto::run_cpu(n, csr, params, report), lambda))
        }
        Backend::Gpu(ctx) => {
            let graph = csr.map(|c| GpuGraph::upload(ctx, c)).transpose()?;
            let lambda = match (csr, &graph) {
                (Some(c), Some(g)) => Some(kuramoto::lambda_max_gpu(ctx, c, g, params.seed)?),
                _ => None,
            };
            Ok((
                kuramoto::run_gpu(ctx, n, graph.as_ref(), params, report)?,
                lambda,
            ))
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub model: String,
    pub agents: u32,
    pub ticks_run: u64,
    pub seed: u32,
    pub backend: String,
    pub adapter: String,
    pub wall_s: f64,
    pub ticks_per_s: f64,
    #[serde(rename = "final")]
    pub final_row: serde_json::Map<String, serde_json::Value>,
    pub converged: bool,
    pub graph: GraphSummary,
    pub components: serde_json::Value,
    /// lifecycle: the first ticks at which S1 ≥ 0.1, clustering ≥ 0.2 and adoption ≥ 0.1,
    /// 0.5, 0.9 (null: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Milestones>,
    /// lifecycle: the stage transitions found by `analysis::stages` (DESIGN §5, §10);
    /// absent for models without stages. `stages.json` holds the full report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Transition>>,
    /// The classical models' outcome next to the theory they are checked against
    /// (sir, deffuant, voter, kuramoto).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    pub version: String,
}

pub struct RunReport {
    pub dir: PathBuf,
    pub summary: Summary,
    pub metrics: MetricsTable,
}

fn default_out(model: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("runs").join(format!("{model}-{}", utc_stamp(secs)))
}

/// `YYYYmmdd-HHMMSS` in UTC (civil-from-days, Howard Hinnant's algorithm).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `emergence run`.
pub fn run(opts: &RunOptions) -> Result<RunReport> {
    let wall = Instant::now();
    let loaded = config::load(opts.config.as_deref(), &opts.sets)?;
    let model = loaded.scenario.model.kind;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out(model.name()));
    let render_plan = crate::render::plan(
        &opts.render,
        model == ModelKind::Lifecycle,
        loaded.scenario.ticks as u64,
        opts.force,
    )?;
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
    let mut milestones = None;
    let mut stage_report: Option<StageReport> = None;
    let mut result = None;
    let mut pending_movie = None;
    let (metrics, ticks_run, converged, comps) = match model {
        ModelKind::Threshold => {
            let params = threshold_params(&loaded);
            let progress = Progress::new(params.max_sweeps as u64, "sweeps");
            let (comps, cascade) = run_threshold(&backend, &csr, &params, &progress)?;
            progress.finish();
            let sweeps = cascade.new_per_sweep.len() as u64 - 1;
            (
                cascade.metrics(&comps),
                sweeps,
                cascade.converged,
                Some(comps),
            )
        }
        ModelKind::Lifecycle => {
            let s = &loaded.scenario;
            let params = LifecycleParams::from_config(s);
            let ties = lifecycle_ties(&edges, &params);
            drop(edges);
            let mut life = Lifecycle::new(csr.n(), s.seed as u32, &params, ties);
            let ticks = s.ticks as u32;
            let progress = Progress::new(ticks as u64, "ticks");
            let table = match &render_plan {
                None => run_lifecycle(
                    &backend,
                    &mut life,
                    &params,
                    ticks,
                    s.metrics_every as u32,
                    &progress,
                )?,
                Some(plan) => {
                    let (table, movie, cost) = crate::render::drive::run_lifecycle_rendered(
                        &backend,
                        &mut life,
                        &params,
                        ticks,
                        s.metrics_every as u32,
                        &progress,
                        plan,
                        dir.staging_path(),
                    )?;
                    pending_movie = movie;
                    tracing::info!("{}", cost.describe());
                    table
                }
            };
            progress.finish();
            let found = Milestones::of(&table);
            for line in found.describe() {
                tracing::info!("{line}");
            }
            milestones = Some(found);
            let report = stages::detect(&table, &StageParams::new(csr.n()))
                .expect("lifecycle tables have the stage columns");
            for line in report.describe() {
                tracing::info!("{line}");
            }
            stage_report = Some(report);
            let comps = components::components_cpu(&life.ties);
            // No fixed point: the lifecycle always runs all its ticks.
            (table, ticks as u64, false, Some(comps))
        }
        ModelKind::Sir => {
            let params = sir_params(&loaded);
            let progress = Progress::new(params.max_ticks as u64, "ticks");
            let outbreak = run_sir(&backend, &csr, &params, &progress)?;
            progress.finish();
            let t = params.transmissibility();
            let c = graph.mean_degree;
            result = Some(serde_json::json!({
                "final_size": outbreak.final_size(),
                "transmissibility": t,
                "theory_final_size_major": theory::er_giant_component(c * t),
            }));
            let ticks = outbreak.new_infections.len() as u64 - 1;
            (
                outbreak.metrics(),
                ticks,
                outbreak.converged,
                Some(components::components_cpu(&csr)),
            )
        }
        ModelKind::Deffuant => {
            let params = deffuant_params(&loaded);
            let complete = loaded.scenario.graph.kind == GraphKind::Complete;
            let progress = Progress::new(params.ticks as u64, "ticks");
            let out = run_deffuant(
                &backend,
                csr.n(),
                (!complete).then_some(&csr),
                &params,
                &progress,
            )?;
            progress.finish();
            let (major, all) = deffuant::opinion_clusters(&out.opinions);
            result = Some(serde_json::json!({
                "opinion_clusters": major,
                "clusters": all,
            }));
            let comps = (!complete).then(|| components::components_cpu(&csr));
            (out.metrics, params.ticks as u64, false, comps)
        }
        ModelKind::Voter => {
            let params = voter_params(&loaded, csr.n());
            let mut state = voter_state(&edges, loaded.scenario.graph.slots as u32, &params);
            drop(edges);
            let progress = Progress::new(params.max_ticks as u64, "ticks");
            let out = run_voter(&backend, &mut state, &params, &progress)?;
            progress.finish();
            let (discordant, largest, held) = voter::metrics(&state, params.opinions);
            result = Some(serde_json::json!({
                "largest_group": largest as f64 / csr.n().max(1) as f64,
                "groups": held,
                "discordant_ties": discordant,
                "opinions": params.opinions,
            }));
            (
                out.metrics,
                state.tick as u64,
                out.converged,
                Some(components::components_cpu(&state.ties)),
            )
        }
        ModelKind::Kuramoto => {
            let params = kuramoto_params(&loaded);
            let complete = loaded.scenario.graph.kind == GraphKind::Complete;
            let progress = Progress::new(params.ticks as u64, "ticks");
            let (out, lambda) = run_kuramoto(
                &backend,
                csr.n(),
                (!complete).then_some(&csr),
                &params,
                &progress,
            )?;
            progress.finish();
            let k0 = params.k0();
            let k_c = lambda.map_or(k0, |l| k0 / l);
            let theory_r = (complete && params.frequencies == Frequencies::Lorentzian).then(|| {
                (1.0 - 2.0 * params.width / params.coupling as f64)
                    .max(0.0)
                    .sqrt()
            });
            result = Some(serde_json::json!({
                "r_mean": out.r_mean,
                "averaged_ticks": params.average_ticks,
                "k0": k0,
                "lambda_max": lambda,
                "k_c": k_c,
                "theory_r": theory_r,
            }));
            let comps = (!complete).then(|| components::components_cpu(&csr));
            (out.metrics, params.ticks as u64, false, comps)
        }
    };
    let wall_s = wall.elapsed().as_secs_f64();
    let summary = Summary {
        model: model.name().into(),
        agents: csr.n(),
        ticks_run,
        seed: loaded.scenario.seed as u32,
        backend: backend.name().into(),
        adapter: backend.adapter_name(),
        wall_s,
        ticks_per_s: ticks_run as f64 / wall_s.max(1e-9),
        final_row: metrics.last_as_map(),
        converged,
        graph,
        // Well mixed runs store no ties: no components.
        components: comps.map_or(serde_json::Value::Null, |comps| {
            serde_json::json!({
                "largest": comps.largest,
                "count": comps.count,
                "mean_other_size": comps.mean_other_size(),
                "rounds": comps.rounds,
            })
        }),
        milestones,
        stages: stage_report.as_ref().map(|r| r.transitions.clone()),
        result,
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
