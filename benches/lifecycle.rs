//! The lifecycle model's hot passes, one criterion benchmark each: ψ, the agents pass,
//! the tie weights, the search handshake (propose → confirm → commit), one metrics row
//! (label propagation, components, clustering and the sums) and a whole tick, on the CPU
//! backend (group `lifecycle_cpu`) and, when an adapter exists, on the GPU
//! (`lifecycle_gpu`; skipped with a note when `GpuContext::new(None)` fails). The state is
//! the default scenario after 100 ticks from an ER start of mean degree 12 with K = 24
//! (so the tie slots have work), at N = 20,000 (`EMERGENCE_BENCH_N` sets N). Throughput is
//! in tie slots (N·K) per pass.
//!
//! On the CPU every pass starts from that same state (a fresh copy for the passes that
//! change it; the copy is not timed). On the GPU the state is uploaded afresh for each
//! benchmark, and each iteration is a whole tick of a run that goes on from it, with only
//! the named passes timed (submission to `ctx.wait()`, wall clock), so the device state
//! moves on as in a run for the benchmark's few hundred ticks; `ticks_10` times ten ticks
//! in one submission.
//!
//! `cargo bench --bench lifecycle` (add a filter such as `-- lifecycle_cpu/agents` for
//! one pass; criterion's `--measurement-time S` and `--sample-size K` change the run's
//! length). On Linux without a GPU, lavapipe needs `XDG_RUNTIME_DIR` set.

mod common;
use common::short;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use emergence::config;
use emergence::gpu::GpuContext;
use emergence::graph::{build_graph, tie_slots};
use emergence::model::lifecycle::gpu::{GpuLifecycle, Pass, TICK};
use emergence::model::lifecycle::{Lifecycle, LifecycleParams};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Ticks run from the ER start before the passes are timed.
const WARM_TICKS: u32 = 100;

fn agents() -> u32 {
    common::env_or("EMERGENCE_BENCH_N", 20_000)
}

/// The default scenario at N agents from ER (mean degree 12, K = 24), after
/// [`WARM_TICKS`] ticks on the CPU.
fn state() -> (Lifecycle, LifecycleParams) {
    let sets = [
        format!("agents={}", agents()),
        "graph.kind=er".to_string(),
        "graph.mean_degree=12".to_string(),
    ];
    let loaded = config::load(None, &sets).expect("the default scenario loads");
    let (edges, _, _) = build_graph(&loaded).expect("the ER graph builds");
    let p = LifecycleParams::from_config(&loaded.scenario);
    let ties = tie_slots(&edges, p.slots, p.new_tie);
    let mut life = Lifecycle::new(edges.n, loaded.scenario.seed as u32, &p, ties);
    for _ in 0..WARM_TICKS {
        life.step(&p);
    }
    (life, p)
}

fn slots(life: &Lifecycle) -> u64 {
    life.n as u64 * life.ties.slots as u64
}

fn cpu(c: &mut Criterion) {
    let (life, p) = state();
    let mut g = c.benchmark_group("lifecycle_cpu");
    g.throughput(Throughput::Elements(slots(&life)));
    let t = life.tick + 1;
    g.bench_function("psi", |b| b.iter(|| black_box(life.psi())));
    let (psi, n_a) = life.psi();
    g.bench_function("agents", |b| {
        b.iter_batched_ref(
            || life.clone(),
            |l| l.agents(&p, psi, n_a, t),
            BatchSize::LargeInput,
        )
    });
    // Each pass from the state the tick's earlier passes leave.
    let mut after_agents = life.clone();
    after_agents.agents(&p, psi, n_a, t);
    g.bench_function("tie_weights", |b| {
        b.iter_batched_ref(
            || after_agents.clone(),
            |l| l.tie_weights(&p),
            BatchSize::LargeInput,
        )
    });
    let mut after_weights = after_agents.clone();
    after_weights.tie_weights(&p);
    g.bench_function("search", |b| {
        b.iter_batched_ref(
            || after_weights.clone(),
            |l| {
                let (target, claim) = l.propose(&p, t);
                let partner = l.confirm(&target, &claim, t);
                l.commit(&p, &partner)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("metrics", |b| {
        b.iter_batched_ref(
            || life.clone(),
            |l| l.metrics(&p, 10),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("tick", |b| {
        b.iter_batched_ref(|| life.clone(), |l| l.step(&p), BatchSize::LargeInput)
    });
    g.finish();
}

/// Per iteration one whole tick: `before` and `after` run untimed, `timed` from its
/// submission to the device's idle.
fn time_passes(
    ctx: &GpuContext,
    gpu: &GpuLifecycle,
    before: &[Pass],
    timed: &[Pass],
    after: &[Pass],
    iters: u64,
) -> Duration {
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        if !before.is_empty() {
            gpu.run_passes(ctx, before);
        }
        ctx.wait().expect("the device runs the passes");
        let clock = Instant::now();
        gpu.run_passes(ctx, timed);
        ctx.wait().expect("the device runs the passes");
        spent += clock.elapsed();
        if !after.is_empty() {
            gpu.run_passes(ctx, after);
        }
    }
    ctx.wait().expect("the device runs the passes");
    spent
}

fn gpu(c: &mut Criterion) {
    let ctx = match GpuContext::new(None) {
        Ok(ctx) => ctx,
        Err(e) => {
            println!("lifecycle_gpu skipped: no GPU adapter ({e})");
            return;
        }
    };
    let (life, p) = state();
    // Each benchmark starts from the state itself, not from where the last one left it.
    let upload = || {
        let gpu = GpuLifecycle::upload(&ctx, &life, &p).expect("the state fits the adapter");
        ctx.wait().expect("the upload completes");
        gpu
    };
    let mut g = c.benchmark_group("lifecycle_gpu");
    g.throughput(Throughput::Elements(slots(&life)));
    let groups: [(&str, usize, usize); 5] = [
        ("psi", 0, 1),
        ("agents", 1, 2),
        ("tie_weights", 2, 3),
        ("search", 3, 6),
        ("tick", 0, 6),
    ];
    for (name, from, to) in groups {
        let gpu = upload();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                time_passes(
                    &ctx,
                    &gpu,
                    &TICK[..from],
                    &TICK[from..to],
                    &TICK[to..],
                    iters,
                )
            })
        });
    }
    let gpu = upload();
    g.bench_function("metrics", |b| {
        b.iter(|| gpu.metrics(&ctx, 1).expect("the metrics row reads back"))
    });
    let gpu = upload();
    g.throughput(Throughput::Elements(10 * slots(&life)));
    g.bench_function("ticks_10", |b| {
        b.iter(|| {
            gpu.run_ticks(&ctx, 10);
            ctx.wait().expect("the device runs the ticks");
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = short();
    targets = cpu, gpu
}
criterion_main!(benches);
