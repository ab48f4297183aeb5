//! The lifecycle model's GPU passes against their CPU twins, pass by pass from the same
//! state, and the tie store's invariants after many GPU ticks. Float passes agree within
//! WGSL's precision (sin/cos ≈ 2^-11 absolute); integer decisions agree except where
//! their input lies within that margin of its threshold, and those are counted.

use crate::common::gpu;
use emergence::config;
use emergence::gpu::GpuContext;
use emergence::graph::ties::TieStore;
use emergence::model::lifecycle::gpu::{GpuLifecycle, Pass, TICK};
use emergence::model::lifecycle::{self, pair_cos, Lifecycle, LifecycleParams};
use std::f32::consts::TAU;

fn params(sets: &[&str]) -> LifecycleParams {
    let path = format!("{}/configs/lifecycle.toml", env!("CARGO_MANIFEST_DIR"));
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let loaded = config::load(Some(std::path::Path::new(&path)), &sets).unwrap();
    LifecycleParams::from_config(&loaded.scenario)
}

/// A state in the middle of a run: ties of all ages and weights, knowledge, some
/// adopters (made quick by a low mastery and frequent search).
fn mid_run_state(n: u32, ticks: u32) -> (Lifecycle, LifecycleParams) {
    let p = params(&[
        "graph.slots=16",
        "model.search_rate=1.0",
        "model.mastery=0.5",
    ]);
    let ties = TieStore::empty(n, p.slots);
    let mut s = Lifecycle::new(n, 7, &p, ties);
    for _ in 0..ticks {
        s.step(&p);
    }
    s.ties.check_invariants().unwrap();
    (s, p)
}

fn angle_gap(a: f32, b: f32) -> f32 {
    let d = (a - b).abs() % TAU;
    d.min(TAU - d)
}

fn on_gpu(ctx: &GpuContext, s: &Lifecycle, p: &LifecycleParams, passes: &[Pass]) -> Lifecycle {
    let g = GpuLifecycle::upload(ctx, s, p).unwrap();
    g.run_passes(ctx, passes);
    let mut out = s.clone();
    g.download(ctx, &mut out).unwrap();
    out
}

#[test]
fn agents_pass_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    let (s, p) = mid_run_state(4000, 150);
    let t = s.tick + 1;
    let gpu_state = on_gpu(&ctx, &s, &p, &[Pass::Psi, Pass::Agents]);
    assert_eq!(gpu_state.tick, t);
    let mut cpu = s.clone();
    let (psi, n_a) = cpu.psi();
    assert!(
        n_a > 0,
        "the state must have adopters for the field term to be tested"
    );
    let cascade = cpu.agents(&p, psi, n_a, t);
    let worst_phi = (0..s.n as usize)
        .map(|i| angle_gap(cpu.phi[i], gpu_state.phi[i]))
        .fold(0.0, f32::max);
    assert!(worst_phi < 2f32.powi(-9), "phase differs by {worst_phi}");
    // The other two pulls of adopters (the default above is the adopted share).
    for mode in [lifecycle::FIELD_GLOBAL, lifecycle::FIELD_TIES] {
        let q = LifecycleParams {
            field_mode: mode,
            ..p
        };
        let on_device = on_gpu(&ctx, &s, &q, &[Pass::Psi, Pass::Agents]);
        let mut twin = s.clone();
        twin.agents(&q, psi, n_a, t);
        let worst = (0..s.n as usize)
            .map(|i| angle_gap(twin.phi[i], on_device.phi[i]))
            .fold(0.0, f32::max);
        assert!(
            worst < 2f32.powi(-9),
            "field mode {mode}: phase differs by {worst}"
        );
        assert!(
            twin.phi != cpu.phi,
            "field mode {mode} must change the phases"
        );
    }
    for i in 0..s.n as usize {
        let (a, b) = (cpu.knowledge[i], gpu_state.knowledge[i]);
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            "knowledge of {i}: {a} vs {b}"
        );
    }
    // Adoption decisions may differ only where the input is within the margin.
    let mut differing = 0;
    for i in 0..s.n as usize {
        if cpu.adopted_at[i] != gpu_state.adopted_at[i] {
            differing += 1;
            // Adoption by mastery reads the uploaded knowledge, identical on both; only
            // the threshold rule's tie-weight sums may round apart, so the agent's
            // adopted share must lie within the float margin of θ.
            let (mut w_sum, mut b_sum) = (0.0f32, 0.0f32);
            for (&j, &w) in s
                .ties
                .neighbors(i as u32)
                .iter()
                .zip(s.ties.weights(i as u32))
            {
                w_sum += w;
                if s.adopted_at[j as usize] < t {
                    b_sum += w;
                }
            }
            let margin = (b_sum - p.theta * w_sum).abs();
            assert!(
                w_sum > 0.0 && margin <= 1e-4 * w_sum.max(1.0),
                "agent {i} decided differently {margin} from its threshold"
            );
        }
    }
    assert!(differing <= 2, "{differing} adoption decisions differ");
    assert!(
        cpu.adopted_at.iter().filter(|&&a| a == t).count() > 0,
        "some agents must adopt in this tick"
    );
    // The cascade's count: those who adopted in this tick below mastery, on both backends
    // (up to the decisions that rounded apart above).
    let below_mastery = (0..s.n as usize)
        .filter(|&i| cpu.adopted_at[i] == t && s.knowledge[i] < p.mastery)
        .count() as u64;
    assert_eq!(cascade, below_mastery);
    assert!(
        cascade > 0,
        "some agents must adopt through the threshold rule"
    );
    // With a threshold no one can meet, those who adopt do so by mastery and the
    // device counts none of them.
    // (Mastery set to the median knowledge of those not yet adopted, so half of them
    // master now.)
    let mut waiting: Vec<f32> = (0..s.n as usize)
        .filter(|&i| s.adopted_at[i] >= t)
        .map(|i| s.knowledge[i])
        .collect();
    waiting.sort_by(f32::total_cmp);
    let unreachable = LifecycleParams {
        theta: 1.01,
        mastery: waiting[waiting.len() / 2],
        ..p
    };
    let masters = on_gpu(&ctx, &s, &unreachable, &[Pass::Psi, Pass::Agents]);
    let by_mastery = (0..s.n as usize)
        .filter(|&i| masters.adopted_at[i] == t)
        .count();
    assert!(
        by_mastery > 0,
        "some agents must master the practice in this tick"
    );
    assert_eq!(masters.cascade_total, s.cascade_total);
    let on_device = gpu_state.cascade_total - s.cascade_total;
    assert!(
        on_device.abs_diff(cascade) <= differing,
        "cascade: {on_device} on the GPU, {cascade} on the CPU"
    );
}

#[test]
fn tie_passes_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let (s, p) = mid_run_state(4000, 150);
    tie_passes_track_the_cpu(&ctx, s, &p, 10);
}

/// The weights pass and the search handshake of one tick on the GPU against the CPU
/// twins, from the same state: the same removals and ages, weights within float
/// precision, and ties that differ only where a proposal's cos Δφ lies within 10^-3 of
/// 0. The tick must create more than `min_created` ties.
fn tie_passes_track_the_cpu(
    ctx: &GpuContext,
    mut s: Lifecycle,
    p: &LifecycleParams,
    min_created: u32,
) {
    // Start the next tick on the CPU up to the tie passes, so both sides see one state.
    let t = s.tick + 1;
    let (psi, n_a) = s.psi();
    s.agents(p, psi, n_a, t);

    // Weights: same removals except near w = 0, same weights within float precision.
    let gpu_w = on_gpu(ctx, &s, p, &[Pass::Weights]);
    let mut cpu_w = s.clone();
    let removed = cpu_w.tie_weights(p);
    assert!(removed > 0, "the state must lose ties in this tick");
    gpu_w.ties.check_invariants().unwrap();
    assert_eq!(gpu_w.ties.degree, cpu_w.ties.degree);
    assert_eq!(gpu_w.ties.neighbor, cpu_w.ties.neighbor);
    assert_eq!(gpu_w.ties.age, cpu_w.ties.age);
    let worst_w = gpu_w
        .ties
        .weight
        .iter()
        .zip(&cpu_w.ties.weight)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst_w < 1e-5, "weights differ by {worst_w}");

    // Search handshake from the CPU's post-weights state: the GPU's Psi pass only moves
    // the tick on (ψ is not used by the search).
    let mut before = cpu_w.clone();
    before.tick = t - 1;
    let gpu_s = on_gpu(
        ctx,
        &before,
        p,
        &[Pass::Psi, Pass::Propose, Pass::Confirm, Pass::Commit],
    );
    let mut cpu_s = cpu_w.clone();
    let (target, claim) = cpu_s.propose(p, t);
    let partner = cpu_s.confirm(&target, &claim, t);
    let created = cpu_s.commit(p, &partner);
    assert!(
        created > min_created,
        "the state must gain ties in this tick: {created}"
    );
    gpu_s.ties.check_invariants().unwrap();
    // A proposal's only float decision is cos(Δφ) ≥ 0; count pairs near that boundary.
    let near_boundary = target
        .iter()
        .enumerate()
        .filter(|&(i, &j)| j != u32::MAX && pair_cos(&cpu_w.phi, i as u32, j).abs() < 1e-3)
        .count();
    if gpu_s.ties != cpu_s.ties {
        let differing = (0..s.n as usize)
            .filter(|&i| gpu_s.ties.neighbors(i as u32) != cpu_s.ties.neighbors(i as u32))
            .count();
        assert!(
            near_boundary > 0 && differing <= 4 * near_boundary,
            "{differing} agents' ties differ, {near_boundary} proposals near cos = 0"
        );
    }
}

#[test]
fn gpu_ticks_keep_tie_invariants_and_are_deterministic() {
    let Some(ctx) = gpu() else { return };
    let p = params(&["graph.slots=8", "model.search_rate=2.0"]);
    // Start from a random graph whose hubs exceed K, so slots fill up and the handshake
    // meets full agents.
    let edges = emergence::graph::generators::erdos_renyi(3000, 6.0, 3).unwrap();
    let (ties, dropped) = TieStore::from_edges(&edges, p.slots, p.new_tie);
    assert!(dropped > 0);
    let start = Lifecycle::new(3000, 11, &p, ties);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let g = GpuLifecycle::upload(&ctx, &start, &p).unwrap();
        let mut s = start.clone();
        let (mut created, mut removed) = (0u64, 0u64);
        for _ in 0..6 {
            g.run_ticks(&ctx, 50);
            let c = g.download(&ctx, &mut s).unwrap();
            created += c.created as u64;
            removed += c.removed as u64;
            g.reset_counters(&ctx);
            s.ties
                .check_invariants()
                .unwrap_or_else(|e| panic!("tick {}: {e}", s.tick));
        }
        assert_eq!(s.tick, 300);
        let ties_now = s.ties.num_ties() as u64;
        assert_eq!(
            start.ties.num_ties() as u64 + created - removed,
            ties_now,
            "counters must account for every tie"
        );
        assert!(
            created > 100 && removed > 100,
            "ties must churn: {created} created, {removed} removed"
        );
        runs.push(s);
    }
    assert_eq!(runs[0].phi, runs[1].phi);
    assert_eq!(runs[0].ties, runs[1].ties);
    assert_eq!(runs[0].adopted_at, runs[1].adopted_at);
}

#[test]
fn whole_ticks_track_the_cpu() {
    let Some(ctx) = gpu() else { return };
    let (s, p) = mid_run_state(2000, 100);
    let g = GpuLifecycle::upload(&ctx, &s, &p).unwrap();
    g.run_passes(&ctx, &TICK);
    let mut gpu_state = s.clone();
    g.download(&ctx, &mut gpu_state).unwrap();
    let mut cpu = s.clone();
    cpu.step(&p);
    assert_eq!(gpu_state.tick, cpu.tick);
    let worst = (0..s.n as usize)
        .map(|i| angle_gap(cpu.phi[i], gpu_state.phi[i]))
        .fold(0.0, f32::max);
    assert!(worst < 2f32.powi(-9), "phase differs by {worst}");
}

#[test]
fn metrics_match_cpu() {
    let Some(ctx) = gpu() else { return };
    let (s, p) = mid_run_state(4000, 200);
    let g = GpuLifecycle::upload(&ctx, &s, &p).unwrap();
    let on_gpu = g.metrics(&ctx, 0).unwrap();
    let mut cpu = s.clone();
    let on_cpu = cpu.metrics(&p, 0);
    let columns = emergence::model::lifecycle::BASE_COLUMNS;
    assert_eq!(on_gpu.len(), columns.len());
    // Integer quantities (the same ties, labels and wedge draws) agree exactly; fixed-point
    // sums of f32 cos/sin within their rounding.
    for (k, name) in columns.iter().enumerate() {
        let (a, b) = (on_gpu[k], on_cpu[k]);
        let tol = match *name {
            "alignment" | "community_alignment" => 1e-4,
            "knowledge" => 1e-3 * b.abs().max(1.0),
            "modularity" => 1e-5,
            _ => 0.0,
        };
        assert!((a - b).abs() <= tol, "{name}: gpu {a}, cpu {b}");
    }
    assert!(on_cpu[columns.iter().position(|c| *c == "communities").unwrap()] > 1.0);
    let mut labels = s.clone();
    g.download(&ctx, &mut labels).unwrap();
    assert_eq!(
        labels.labels, cpu.labels,
        "label propagation must agree label for label"
    );
}

/// A whole run on one backend from the default scenario's parameters.
fn whole_run(
    backend: &emergence::backend::Backend,
    n: u32,
    seed: u32,
    ticks: u32,
) -> emergence::io::MetricsTable {
    let p = params(&[]);
    let mut life = Lifecycle::new(n, seed, &p, TieStore::empty(n, p.slots));
    emergence::model::lifecycle::run(backend, &mut life, &p, ticks, 10).unwrap()
}

fn last(table: &emergence::io::MetricsTable, name: &str) -> f64 {
    let k = table.columns.iter().position(|c| c == name).unwrap();
    table.rows.last().unwrap()[k]
}

#[test]
fn gpu_runs_show_the_stages_in_order() {
    let Some(ctx) = gpu() else { return };
    let backend = emergence::backend::Backend::Gpu(ctx);
    for seed in 1..=3 {
        let table = whole_run(&backend, 20_000, seed, 1400);
        let m = emergence::model::lifecycle::Milestones::of(&table);
        assert!(m.in_order(), "seed {seed}: {m:?}");
        // The positive control on the GPU: the detector finds the three stages, each on
        // its own, in order.
        let stages = emergence::analysis::stages::detect(
            &table,
            &emergence::analysis::stages::StageParams::new(20_000),
        )
        .unwrap();
        assert!(stages.in_order(), "seed {seed}: {:?}", stages.describe());
        let (rho, r) = (last(&table, "adoption"), last(&table, "alignment"));
        assert!(
            rho >= 0.9 && r >= 0.5,
            "seed {seed}: final adoption {rho}, alignment {r}"
        );
    }
}

/// Whole runs agree statistically across backends: over 5 seeds each (N = 4,000), the
/// mean tick at which adoption first reaches 0.5 differs by less than 3 standard errors
/// of the difference (floored at the 10-tick resolution of the metrics rows). The runs
/// need not match bit for bit: WGSL's sin/cos differ from Rust's in the last bits.
#[test]
fn whole_runs_agree_statistically_across_backends() {
    let Some(ctx) = gpu() else { return };
    let gpu_backend = emergence::backend::Backend::Gpu(ctx);
    let half_tick = |backend: &emergence::backend::Backend, seed: u32| {
        let table = whole_run(backend, 4000, seed, 1500);
        emergence::model::lifecycle::Milestones::of(&table)
            .adoption_half
            .expect("adoption must reach 0.5") as f64
    };
    let seeds = 21..26;
    let on_gpu: Vec<f64> = seeds.clone().map(|s| half_tick(&gpu_backend, s)).collect();
    let on_cpu: Vec<f64> = seeds
        .map(|s| half_tick(&emergence::backend::Backend::Cpu, s))
        .collect();
    let (mg, sg) = crate::common::mean_sd(&on_gpu);
    let (mc, sc) = crate::common::mean_sd(&on_cpu);
    let se = (sg * sg / 5.0 + sc * sc / 5.0).sqrt();
    assert!(
        (mg - mc).abs() < 3.0 * se.max(10.0),
        "gpu {on_gpu:?} vs cpu {on_cpu:?}: means {mg} and {mc}, se {se}"
    );
}

#[test]
fn gpu_run_is_reproducible() {
    let Some(ctx) = gpu() else { return };
    let backend = emergence::backend::Backend::Gpu(ctx);
    let a = whole_run(&backend, 3000, 5, 300);
    let b = whole_run(&backend, 3000, 5, 300);
    assert_eq!(a, b);
}

/// Label propagation on the GPU over a static CSR graph: the planted blocks of a
/// stochastic block model (8 blocks of 10,000 agents, mean degree 16, 12 inside) are
/// recovered (NMI ≥ 0.9), with the CPU's labels exactly.
#[test]
fn gpu_label_propagation_recovers_planted_blocks() {
    let Some(ctx) = gpu() else { return };
    use emergence::analysis::{communities, label_propagation_gpu::label_propagation_gpu};
    let n = 80_000;
    let (edges, truth) =
        emergence::graph::generators::stochastic_block(n, 8, 16.0, 12.0, 4).unwrap();
    let csr = emergence::graph::Csr::from_edges(&edges);
    let graph = emergence::backend::GpuGraph::upload(&ctx, &csr).unwrap();
    let start: Vec<u32> = (0..n).collect();
    let on_gpu = label_propagation_gpu(&ctx, &graph, &start, 4, 0, 30).unwrap();
    let score = communities::nmi(&on_gpu, &truth);
    assert!(score >= 0.9, "NMI {score} against the planted blocks");
    let mut on_cpu = start.clone();
    communities::label_propagation(&csr, &mut on_cpu, 4, 0, 30);
    assert_eq!(on_gpu, on_cpu);
}

/// Tie slots that need more chunks than a kernel declares are refused with the largest
/// N: bindings of 64 KiB hold 16,384 slots, 1,024 agents at K = 16, and eight chunks hold
/// 8,192 agents.
#[test]
fn too_many_slot_chunks_are_refused_with_the_largest_n() {
    let Some(mut ctx) = gpu() else { return };
    let p = params(&["graph.slots=16"]);
    let s = Lifecycle::new(10_000, 1, &p, TieStore::empty(10_000, 16));
    ctx.binding_cap = 64 * 1024;
    let err = GpuLifecycle::upload(&ctx, &s, &p)
        .err()
        .expect("must not fit")
        .to_string();
    assert!(err.contains("largest N that fits is 8192"), "{err}");
    assert!(err.contains("needs 10 bindings of 64.0 KiB"), "{err}");
}

#[test]
fn pass_timestamps_cover_every_group() {
    let Some(ctx) = gpu() else { return };
    let (s, p) = mid_run_state(2000, 50);
    let g = GpuLifecycle::upload(&ctx, &s, &p).unwrap();
    match g.time_passes(&ctx, 3).unwrap() {
        Some(spent) => assert!(spent.iter().all(|&t| t > 0.0 && t < 10.0), "{spent:?}"),
        None => assert!(!ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)),
    }
}

/// A device whose storage bindings hold 1 MiB: 40,000 agents' 16 slots (2.56 MB per
/// array) are split into three chunks of 16,384 agents, and the run is bit for bit the
/// run on the unsplit device: every metrics row and the whole state after 60 ticks.
#[test]
fn split_tie_slots_give_the_unsplit_run_bit_for_bit() {
    let Some(whole_ctx) = gpu() else { return };
    let small_ctx = GpuContext::with_limits(None, |l| {
        l.max_storage_buffer_binding_size = 1 << 20;
    })
    .unwrap();
    let (s, p) = mid_run_state(40_000, 60);
    let run = |ctx: &GpuContext, chunks: u32| {
        let g = GpuLifecycle::upload(ctx, &s, &p).unwrap();
        assert_eq!(g.split().chunks, chunks);
        let mut rows = vec![g.metrics(ctx, 0).unwrap()];
        for _ in 0..6 {
            g.run_ticks(ctx, 10);
            rows.push(g.metrics(ctx, 10).unwrap());
        }
        let mut out = s.clone();
        g.download(ctx, &mut out).unwrap();
        ctx.check().unwrap();
        (rows, out)
    };
    let (whole_rows, whole) = run(&whole_ctx, 1);
    let (split_rows, split) = run(&small_ctx, 3);
    let bits = |rows: &[Vec<f64>]| -> Vec<Vec<u64>> {
        rows.iter()
            .map(|r| r.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    assert_eq!(bits(&whole_rows), bits(&split_rows));
    assert_eq!(whole.tick, s.tick + 60);
    let f32_bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(f32_bits(&whole.phi), f32_bits(&split.phi));
    assert_eq!(f32_bits(&whole.knowledge), f32_bits(&split.knowledge));
    assert_eq!(whole.adopted_at, split.adopted_at);
    assert_eq!(whole.labels, split.labels);
    assert_eq!(whole.ties.degree, split.ties.degree);
    assert_eq!(whole.ties.neighbor, split.ties.neighbor);
    assert_eq!(f32_bits(&whole.ties.weight), f32_bits(&split.ties.weight));
    assert_eq!(whole.ties.age, split.ties.age);
    // The run changed the ties across chunk boundaries.
    assert_ne!(whole.ties.neighbor, s.ties.neighbor);
}

/// N = 2·10^6 at K = 24 on lavapipe's 128 MiB bindings: each tie-slot array (192 MB) is
/// split over two bindings, and one tick, pass by pass, tracks the CPU twins within the
/// margins of the smaller tests (DESIGN §3.4).
#[test]
fn two_million_agents_with_split_slots_track_the_cpu_pass_by_pass() {
    let Some(ctx) = gpu() else { return };
    let n = 2_000_000;
    let p = params(&["model.search_rate=1.0"]);
    assert_eq!(p.slots, 24);
    let edges = emergence::graph::generators::erdos_renyi(n, 12.0, 5).unwrap();
    let (ties, _) = TieStore::from_edges(&edges, p.slots, p.new_tie);
    let mut s = Lifecycle::new(n, 3, &p, ties);
    // New ties (w0 = 0.2) between agents pointing apart lose up to 0.045 a tick: after 8
    // ticks some are cut in the next one.
    for _ in 0..8 {
        s.step(&p);
    }
    let g = GpuLifecycle::upload(&ctx, &s, &p).unwrap();
    assert_eq!(
        g.split(),
        emergence::gpu::shaders::SlotSplit::for_slots(n as u64, 24, ctx.binding_cap)
    );
    assert_eq!(
        g.split().chunks,
        2,
        "128 MiB bindings on {}",
        ctx.adapter.name
    );
    drop(g);
    // ψ and the agents pass.
    let t = s.tick + 1;
    let gpu_state = on_gpu(&ctx, &s, &p, &[Pass::Psi, Pass::Agents]);
    let mut cpu = s.clone();
    let (psi, n_a) = cpu.psi();
    cpu.agents(&p, psi, n_a, t);
    let worst_phi = (0..n as usize)
        .map(|i| angle_gap(cpu.phi[i], gpu_state.phi[i]))
        .fold(0.0, f32::max);
    assert!(worst_phi < 2f32.powi(-9), "phase differs by {worst_phi}");
    let worst_k = (0..n as usize)
        .map(|i| {
            (cpu.knowledge[i] - gpu_state.knowledge[i]).abs() / cpu.knowledge[i].abs().max(1.0)
        })
        .fold(0.0, f32::max);
    assert!(worst_k <= 1e-3, "knowledge differs by {worst_k}");
    // The tie passes, with search across both chunks.
    tie_passes_track_the_cpu(&ctx, s, &p, 1000);
}

/// The state of `mid_run_state` with an intervention's [`lifecycle::Support`]: the 200
/// most knowledgeable agents as pioneers, a `share` of random searches steered to them,
/// and the agents of the lower half of ids nourished at `factor`.
fn supported(share: f64, factor: f32) -> (Lifecycle, LifecycleParams) {
    let (mut s, p) = mid_run_state(4000, 150);
    let mut order: Vec<u32> = (0..s.n).collect();
    order.sort_by(|&a, &b| s.knowledge[b as usize].total_cmp(&s.knowledge[a as usize]));
    s.support = lifecycle::Support {
        illuminate_cut: emergence::rng::threshold_24(share),
        pioneers: order[..200].to_vec(),
        nourish_factor: factor,
        nourished: (0..s.n).map(|i| u32::from(i < s.n / 2)).collect(),
    };
    (s, p)
}

/// `illuminate` in `ties_propose` and its twin: every random search of a tick steered to
/// a pioneer when the share is 1, about half at 0.5 (within 4 sd of the binomial), none
/// of the closure searches; the GPU's handshake tracks the CPU's with pioneers set.
#[test]
fn illuminate_steers_random_searches_to_pioneers_on_both_backends() {
    use emergence::rng::{self, stream};
    for (share, low, high) in [(1.0, 1.0, 1.0), (0.5, 0.0, 1.0)] {
        let (s, p) = supported(share, 1.0);
        let t = s.tick + 1;
        let pioneers: std::collections::HashSet<u32> = s.support.pioneers.iter().copied().collect();
        let (target, _) = s.propose(&p, t);
        let random_branch =
            |i: u32| (rng::rand4(s.seed, t, i, stream::SEARCH)[1] >> 8) >= p.closure_cut();
        let (mut random, mut steered) = (0u32, 0u32);
        let mut steered_draws = 0u32;
        for (i, &j) in target.iter().enumerate() {
            if j == u32::MAX {
                continue;
            }
            let i = i as u32;
            if random_branch(i) {
                random += 1;
                // Whether this search's own draw steered it (the pioneer it went to).
                let q = rng::rand4(s.seed, t, i, stream::ILLUMINATE);
                if (q[0] >> 8) < s.support.illuminate_cut {
                    steered_draws += 1;
                    assert!(
                        pioneers.contains(&j),
                        "agent {i}'s steered search went to {j}"
                    );
                }
                steered += u32::from(pioneers.contains(&j));
            }
        }
        assert!(random > 100, "{random} random searches proposed");
        let frac = steered as f64 / random as f64;
        if share == 1.0 {
            assert_eq!(
                (steered, steered_draws),
                (random, random),
                "every random search steered"
            );
        } else {
            let sd = (0.25 / random as f64).sqrt();
            let drawn = steered_draws as f64 / random as f64;
            assert!(
                (drawn - 0.5).abs() < 4.0 * sd,
                "{drawn} of random proposals steered"
            );
            assert!(frac >= drawn && frac < high, "{frac}");
        }
        assert!(frac >= low);
        // Without pioneers the same state proposes as before the intervention.
        let mut plain = s.clone();
        plain.support = lifecycle::Support::default();
        let (untouched, _) = plain.propose(&p, t);
        assert_ne!(untouched, target, "illuminating must change some proposals");
        let Some(ctx) = gpu() else { continue };
        tie_passes_track_the_cpu(&ctx, s, &p, 10);
    }
}

/// `nourish` in `lifecycle_agents` and its twin: nourished agents gain `factor` times
/// the knowledge (the decay is the same), the others exactly as without it; the GPU's
/// knowledge follows the CPU's.
#[test]
fn nourish_raises_learning_of_nourished_agents_on_both_backends() {
    let (s, p) = supported(0.0, 3.0);
    let t = s.tick + 1;
    let (psi, n_a) = s.clone().psi();
    let mut with = s.clone();
    with.agents(&p, psi, n_a, t);
    let mut unsupported = s.clone();
    unsupported.support = lifecycle::Support::default();
    let mut without = unsupported.clone();
    without.agents(&p, psi, n_a, t);
    let mut raised = 0;
    for i in 0..s.n as usize {
        let decay = p.dt * p.forgetting * s.knowledge[i];
        let gain_with = with.knowledge[i] - s.knowledge[i] + decay;
        let gain_without = without.knowledge[i] - s.knowledge[i] + decay;
        if s.support.nourished[i] == 1 {
            if gain_without > 1e-3 {
                raised += 1;
                assert!(
                    (gain_with - 3.0 * gain_without).abs() <= 1e-3 * gain_with.abs().max(1e-3),
                    "agent {i}: gains {gain_with} with, {gain_without} without"
                );
            }
        } else {
            assert_eq!(
                with.knowledge[i].to_bits(),
                without.knowledge[i].to_bits(),
                "agent {i} is not nourished"
            );
        }
    }
    assert!(
        raised > 100,
        "{raised} nourished agents learned in this tick"
    );
    let Some(ctx) = gpu() else { return };
    let on_device = on_gpu(&ctx, &s, &p, &[Pass::Psi, Pass::Agents]);
    for i in 0..s.n as usize {
        let (a, b) = (with.knowledge[i], on_device.knowledge[i]);
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            "knowledge of {i}: {a} on the CPU, {b} on the GPU"
        );
    }
    let plain = on_gpu(&ctx, &unsupported, &p, &[Pass::Psi, Pass::Agents]);
    assert!(
        (0..s.n as usize).any(|i| plain.knowledge[i] < on_device.knowledge[i] - 1e-3),
        "the GPU must raise the nourished agents' learning"
    );
}
