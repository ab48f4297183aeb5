//! The classical models' ticks, one criterion benchmark each, from each model's scenario
//! in `configs/` at N = 100,000 (`EMERGENCE_BENCH_N` sets N). On the CPU backend (group
//! `classical_cpu`) the CPU twins of the hot kernels: the threshold sweep (sweep 1 from the
//! seeds, every agent examined) and the whole cascade, one SIR step of a live outbreak
//! (100 initial cases, after 10 ticks) and an outbreak of at most 16 ticks, the Deffuant
//! pairing and update, one voter step (after 10 ticks) and Kuramoto through a 10-tick
//! `run_cpu` (its start included). Throughput is in agents (times the ticks where a bench
//! runs several).
//!
//! On the GPU (`classical_gpu`, skipped with a note when `GpuContext::new(None)` fails)
//! the models have no single-kernel entry point: the threshold cascade and the SIR outbreak
//! (16 ticks at most) run whole through `run_gpu`, each iteration including the run's
//! upload and pipeline compilation; Deffuant, Kuramoto and the voter are started once
//! through the model's `start` (the path of `emergence run`) and each iteration drives
//! 10 more ticks with their metrics rows through the one tick driver.
//!
//! `cargo bench --bench classical` (a filter such as `-- classical_cpu/sir` picks
//! benches; criterion's `--measurement-time S` and `--sample-size K` change the run's
//! length). On Linux without a GPU, lavapipe needs `XDG_RUNTIME_DIR` set.

mod common;
use common::short;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use emergence::backend::{Backend, GpuGraph};
use emergence::config::{self, Loaded};
use emergence::engine::{self, Drive};
use emergence::gpu::GpuContext;
use emergence::graph::{build_graph, tie_slots, Csr, EdgeList, GraphSummary};
use emergence::model::deffuant::{self, DeffuantParams, Mixing};
use emergence::model::kuramoto::{self, KuramotoParams};
use emergence::model::sir::{self, SirParams};
use emergence::model::threshold::{self, ThresholdParams};
use emergence::model::voter::{self, Voter, VoterParams};
use emergence::model::{self, Start};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicU32;

/// Ticks per iteration where a bench runs several.
const TICKS: u32 = 10;
/// The SIR outbreak's tick limit in the whole-run benches.
const SIR_TICKS: u32 = 16;

fn agents() -> u32 {
    common::env_or("EMERGENCE_BENCH_N", 100_000)
}

/// A model's scenario from `configs/<name>.toml` at N agents, with `extra` settings.
struct Scenario {
    loaded: Loaded,
    edges: EdgeList,
    summary: GraphSummary,
    csr: Csr,
}

impl Scenario {
    fn new(name: &str, extra: &[&str]) -> Scenario {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.toml"));
        let mut sets = vec![format!("agents={}", agents())];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let loaded = config::load(Some(&path), &sets).expect("the scenario loads");
        let (edges, summary, csr) = build_graph(&loaded).expect("the graph builds");
        Scenario {
            loaded,
            edges,
            summary,
            csr,
        }
    }

    fn n(&self) -> u64 {
        self.csr.n() as u64
    }

    fn start(&self) -> Start<'_> {
        Start {
            loaded: &self.loaded,
            graph: &self.summary,
            edges: self.edges.clone(),
            csr: self.csr.clone(),
            render: None,
        }
    }
}

fn sir_state(s: &Scenario, p: &SirParams, ticks: u32) -> (Vec<u32>, Vec<u32>) {
    let mut infected_at = sir::seed(s.csr.n(), p);
    let mut recovered_at = vec![sir::NEVER; infected_at.len()];
    for t in 1..=ticks {
        sir::step(&s.csr, p, t, &mut infected_at, &mut recovered_at);
    }
    (infected_at, recovered_at)
}

fn cpu(c: &mut Criterion) {
    let mut g = c.benchmark_group("classical_cpu");

    let th = Scenario::new("threshold", &[]);
    let tp = ThresholdParams::from_config(&th.loaded);
    let seeds = threshold::seed(th.csr.n(), &tp);
    g.throughput(Throughput::Elements(th.n()));
    g.bench_function("threshold_sweep", |b| {
        b.iter_batched_ref(
            || seeds.iter().map(|&a| AtomicU32::new(a)).collect::<Vec<_>>(),
            |active| threshold::sweep(&th.csr, tp.theta_pct(), 1, active),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("threshold_cascade", |b| {
        b.iter(|| threshold::run_cpu(&th.csr, &tp))
    });
    drop(th);

    let s = Scenario::new("sir", &["model.initial_infected=100"]);
    let sp = SirParams {
        max_ticks: SIR_TICKS,
        ..SirParams::from_config(&s.loaded)
    };
    let (infected_at, recovered_at) = sir_state(&s, &sp, TICKS);
    g.bench_function("sir_step", |b| {
        b.iter_batched_ref(
            || (infected_at.clone(), recovered_at.clone()),
            |(inf, rec)| sir::step(&s.csr, &sp, TICKS + 1, inf, rec),
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(SIR_TICKS as u64 * s.n()));
    g.bench_function("sir_outbreak_16", |b| b.iter(|| sir::run_cpu(&s.csr, &sp)));
    drop(s);

    let d = Scenario::new("deffuant", &[]);
    let dp = DeffuantParams::from_config(&d.loaded);
    let n = d.csr.n();
    let x = deffuant::initial_opinions(n, dp.seed);
    let mut x_next = vec![0.0f32; x.len()];
    let mixing = if d.loaded.scenario.graph.kind == config::GraphKind::Complete {
        Mixing::Complete(n)
    } else {
        Mixing::Graph(&d.csr)
    };
    g.throughput(Throughput::Elements(d.n()));
    g.bench_function("deffuant_partners", |b| {
        b.iter(|| deffuant::partners(mixing, dp.seed, 1))
    });
    let partner = deffuant::partners(mixing, dp.seed, 1);
    g.bench_function("deffuant_update", |b| {
        b.iter(|| deffuant::update(&partner, &dp, &x, &mut x_next))
    });
    drop(d);

    let v = Scenario::new("voter", &[]);
    let vp = VoterParams::from_config(&v.loaded, v.csr.n());
    let mut voter = Voter::new(
        tie_slots(&v.edges, v.loaded.scenario.graph.slots as u32, 1.0),
        &vp,
    );
    for _ in 0..TICKS {
        voter::step(&mut voter, &vp);
    }
    g.throughput(Throughput::Elements(v.n()));
    g.bench_function("voter_step", |b| {
        b.iter_batched_ref(
            || voter.clone(),
            |state| voter::step(state, &vp),
            BatchSize::LargeInput,
        )
    });
    drop(v);

    let k = Scenario::new(
        "kuramoto",
        &[&format!("ticks={TICKS}"), &format!("metrics_every={TICKS}")],
    );
    let kp = KuramotoParams::from_config(&k.loaded);
    let graph = (k.loaded.scenario.graph.kind != config::GraphKind::Complete).then_some(&k.csr);
    g.throughput(Throughput::Elements(TICKS as u64 * k.n()));
    g.bench_function("kuramoto_run_10", |b| {
        b.iter(|| black_box(kuramoto::run_cpu(k.csr.n(), graph, &kp).r_mean))
    });
    g.finish();
}

/// Start `s`'s model on `backend` once and time [`TICKS`] more ticks per iteration
/// through the driver.
fn driven(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    s: &Scenario,
    backend: &Backend,
) {
    let m = model::find(s.loaded.scenario.model.kind()).expect("a built-in model");
    let mut sim = m.start(s.start(), backend).expect("the model starts");
    engine::drive(sim.as_mut(), Drive::quiet(0)).expect("the first row");
    g.throughput(Throughput::Elements(TICKS as u64 * s.n()));
    g.bench_function(name, |b| {
        b.iter(|| {
            engine::drive(sim.as_mut(), Drive::quiet(TICKS as u64).resumed())
                .expect("the ticks run")
        })
    });
    if sim.finished() {
        println!("{name}: the run reached its end during the bench; later iterations ran no ticks");
    }
}

fn gpu(c: &mut Criterion) {
    let backend = match GpuContext::new(None) {
        Ok(ctx) => Backend::Gpu(ctx),
        Err(e) => {
            println!("classical_gpu skipped: no GPU adapter ({e})");
            return;
        }
    };
    let Backend::Gpu(ctx) = &backend else {
        unreachable!()
    };
    let mut g = c.benchmark_group("classical_gpu");
    // Whole runs with their setup: few, long iterations.
    g.sampling_mode(SamplingMode::Flat);

    let th = Scenario::new("threshold", &[]);
    let tp = ThresholdParams::from_config(&th.loaded);
    let graph = GpuGraph::upload(ctx, &th.csr).expect("the graph fits the adapter");
    g.throughput(Throughput::Elements(th.n()));
    g.bench_function("threshold_cascade", |b| {
        b.iter(|| threshold::run_gpu(ctx, &graph, &tp).expect("the cascade runs"))
    });
    drop((graph, th));

    let s = Scenario::new("sir", &["model.initial_infected=100"]);
    let sp = SirParams {
        max_ticks: SIR_TICKS,
        ..SirParams::from_config(&s.loaded)
    };
    let graph = GpuGraph::upload(ctx, &s.csr).expect("the graph fits the adapter");
    g.throughput(Throughput::Elements(SIR_TICKS as u64 * s.n()));
    g.bench_function("sir_outbreak_16", |b| {
        b.iter(|| sir::run_gpu(ctx, &graph, &sp).expect("the outbreak runs"))
    });
    drop((graph, s));

    g.sampling_mode(SamplingMode::Auto);
    driven(
        &mut g,
        "deffuant_10",
        &Scenario::new("deffuant", &[&format!("metrics_every={TICKS}")]),
        &backend,
    );
    driven(
        &mut g,
        "kuramoto_10",
        &Scenario::new("kuramoto", &[&format!("metrics_every={TICKS}")]),
        &backend,
    );
    driven(
        &mut g,
        "voter_10",
        &Scenario::new("voter", &[&format!("metrics_every={TICKS}")]),
        &backend,
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = short();
    targets = cpu, gpu
}
criterion_main!(benches);
