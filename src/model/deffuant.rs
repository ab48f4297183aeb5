//! The Deffuant et al. (2000) bounded-confidence model. Each tick pairs of agents that
//! share no member meet; when their opinions differ by less than ε, each moves a share
//! μ of the way towards the other. Well mixed (`graph.kind = "complete"`) the pairs are
//! a random perfect matching of all agents, drawn each tick as consecutive positions of
//! a random permutation ([`Permutation`]); on a graph they are the ties that both ends
//! pick as their highest-priority tie of the tick (a random matching of ties, not
//! maximal). Opinions start U[0, 1].
//!
//! `opinion_clusters` (DESIGN §6) counts the major clusters of the final opinions.

use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::io::MetricsTable;
use crate::rng::{self, Permutation};
use rayon::prelude::*;

pub const NONE: u32 = u32::MAX;

pub const COLUMNS: [&str; 6] = [
    "tick",
    "opinion_clusters",
    "clusters",
    "mean_opinion",
    "opinion_sd",
    "updates",
];

/// Ticks per GPU submission (the tick counter lives on the device).
const TICKS_PER_SUBMIT: u32 = 64;

#[derive(Debug, Clone, Copy)]
pub struct DeffuantParams {
    /// ε: pairs closer than this interact.
    pub confidence: f32,
    /// μ: the share of the difference each moves.
    pub convergence: f32,
    pub seed: u32,
    pub ticks: u32,
    pub metrics_every: u32,
}

/// Where the agents meet: everyone with everyone, or along a graph's ties.
#[derive(Clone, Copy)]
pub enum Mixing<'a> {
    Complete(u32),
    Graph(&'a Csr),
}

impl Mixing<'_> {
    pub fn n(&self) -> u32 {
        match self {
            Mixing::Complete(n) => *n,
            Mixing::Graph(csr) => csr.n(),
        }
    }
}

/// Opinions at tick 0: U[0, 1] per agent.
pub fn initial_opinions(n: u32, seed: u32) -> Vec<f32> {
    (0..n)
        .into_par_iter()
        .map(|i| rng::uniform(rng::rand(seed, 0, i, rng::stream::OPINION_INIT)))
        .collect()
}

/// The permutation that pairs positions 2m and 2m + 1 in tick `t` (well mixed).
pub fn matching(n: u32, seed: u32, t: u32) -> Permutation {
    Permutation::new(n, rng::rand4(seed, t, 0, rng::stream::MATCH))
}

fn tie_priority(seed: u32, t: u32, i: u32, j: u32) -> u32 {
    let (lo, hi) = (i.min(j), i.max(j));
    rng::pcg(rng::rand(seed, t, lo, rng::stream::MATCH) ^ rng::pcg(hi))
}

/// Twin of `deffuant_choose.wgsl`: each agent's highest-priority tie in tick `t`.
pub fn choose(csr: &Csr, seed: u32, t: u32) -> Vec<u32> {
    (0..csr.n())
        .into_par_iter()
        .map(|i| {
            let mut best = NONE;
            let mut best_prio = 0;
            for &j in csr.neighbors(i) {
                let p = tie_priority(seed, t, i, j);
                if best == NONE || p > best_prio || (p == best_prio && j > best) {
                    best = j;
                    best_prio = p;
                }
            }
            best
        })
        .collect()
}

/// Each agent's partner in tick `t` ([`NONE`]: it sits out).
pub fn partners(mixing: Mixing, seed: u32, t: u32) -> Vec<u32> {
    match mixing {
        Mixing::Complete(n) => {
            let perm = matching(n, seed, t);
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let q = perm.apply(i) ^ 1;
                    if q >= n {
                        NONE
                    } else {
                        perm.invert(q)
                    }
                })
                .collect()
        }
        Mixing::Graph(csr) => {
            let choice = choose(csr, seed, t);
            (0..csr.n())
                .into_par_iter()
                .map(|i| {
                    let j = choice[i as usize];
                    if j != NONE && choice[j as usize] == i {
                        j
                    } else {
                        NONE
                    }
                })
                .collect()
        }
    }
}

/// Twin of `deffuant_update.wgsl`: the opinions after tick `t`; returns how many agents moved.
pub fn update(partner: &[u32], p: &DeffuantParams, x: &[f32], x_next: &mut [f32]) -> u64 {
    x_next
        .par_iter_mut()
        .enumerate()
        .map(|(i, out)| {
            let xi = x[i];
            *out = xi;
            let j = partner[i];
            if j != NONE {
                let d = x[j as usize] - xi;
                if d.abs() < p.confidence {
                    *out = xi + p.convergence * d;
                    return 1u64;
                }
            }
            0
        })
        .sum()
}

/// Clusters of opinions (DESIGN §6): stragglers, the agents in 10^-3-wide histogram
/// bins that hold fewer than 0.01% of all agents, are dropped; a cluster is a maximal
/// run of the remaining sorted opinions with gaps ≤ 10^-3. Returns (major clusters,
/// holding ≥ 5% of all agents; all clusters).
pub fn opinion_clusters(x: &[f32]) -> (u32, u32) {
    const WIDTH: f64 = 1e-3;
    let n = x.len();
    if n == 0 {
        return (0, 0);
    }
    let bin = |v: f32| ((v as f64 / WIDTH).floor().max(0.0) as usize).min(1000);
    let mut counts = vec![0usize; 1001];
    for &v in x {
        counts[bin(v)] += 1;
    }
    let min_bin = n as f64 * 1e-4;
    let mut kept: Vec<f32> = x
        .iter()
        .copied()
        .filter(|&v| counts[bin(v)] as f64 >= min_bin)
        .collect();
    kept.par_sort_unstable_by(f32::total_cmp);
    let (mut major, mut all) = (0, 0);
    let mut start = 0;
    for k in 1..=kept.len() {
        if k == kept.len() || (kept[k] - kept[k - 1]) as f64 > WIDTH {
            if k > start {
                all += 1;
                if (k - start) as f64 >= 0.05 * n as f64 {
                    major += 1;
                }
            }
            start = k;
        }
    }
    (major, all)
}

/// A metrics row from the opinions at `tick` and the updates since the last row.
pub fn metrics_row(tick: u32, x: &[f32], updates: u64) -> Vec<f64> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let (major, all) = opinion_clusters(x);
    vec![
        tick as f64,
        major as f64,
        all as f64,
        mean,
        var.sqrt(),
        updates as f64,
    ]
}

/// The run's result: its metrics rows and the final opinions.
pub struct DeffuantRun {
    pub metrics: MetricsTable,
    pub opinions: Vec<f32>,
}

fn is_row(t: u32, p: &DeffuantParams) -> bool {
    t.is_multiple_of(p.metrics_every.max(1)) || t == p.ticks
}

/// The model on the CPU. `on_row(tick)` reports progress.
pub fn run_cpu(mixing: Mixing, p: &DeffuantParams, mut on_row: impl FnMut(u32)) -> DeffuantRun {
    let n = mixing.n();
    let mut x = initial_opinions(n, p.seed);
    let mut next = vec![0.0f32; n as usize];
    let mut table = MetricsTable::new(&COLUMNS);
    table.push(metrics_row(0, &x, 0));
    let mut updates = 0;
    for t in 1..=p.ticks {
        let partner = partners(mixing, p.seed, t);
        updates += update(&partner, p, &x, &mut next);
        std::mem::swap(&mut x, &mut next);
        if is_row(t, p) {
            table.push(metrics_row(t, &x, updates));
            updates = 0;
            on_row(t);
        }
    }
    DeffuantRun {
        metrics: table,
        opinions: x,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GpuParams {
    n: u32,
    seed: u32,
    complete: u32,
    chunk_len: u32,
    confidence: f32,
    convergence: f32,
    half_bits: u32,
    _pad: u32,
}
crate::host_layout! {
    GpuParams {
        n, seed, complete, chunk_len, confidence, convergence, half_bits, _pad
    }
}

/// The model on the GPU: ticks go to the device in submissions of up to 64; at each
/// metrics row the opinions and the update counter are read back.
pub fn run_gpu(
    ctx: &GpuContext,
    n: u32,
    graph: Option<&GpuGraph>,
    p: &DeffuantParams,
    mut on_row: impl FnMut(u32),
) -> Result<DeffuantRun> {
    ctx.check_fits("deffuant", n, 4)?;
    let x0 = initial_opinions(n, p.seed);
    let params = buffers::uniform(
        ctx,
        "deffuant params",
        &GpuParams {
            n,
            seed: p.seed,
            complete: graph.is_none() as u32,
            chunk_len: graph.map_or(1, |g| g.neighbors.chunk_len),
            confidence: p.confidence,
            convergence: p.convergence,
            half_bits: Permutation::new(n, [0; 4]).half_bits,
            _pad: 0,
        },
    );
    let x = [
        buffers::storage(ctx, "opinions", &x0),
        buffers::zeroed(ctx, "opinions next", n as u64 * 4),
    ];
    let choice = buffers::zeroed(ctx, "choice", n as u64 * 4);
    let control = buffers::zeroed(ctx, "control", 16);
    let advance_k = shaders::pipeline(&ctx.device, "threshold_advance")?;
    let update_k = shaders::pipeline(&ctx.device, "deffuant_update")?;
    let advance_g = buffers::bind(ctx, &advance_k, &[(0, &control)]);
    let update_g: Vec<wgpu::BindGroup> = (0..2)
        .map(|k| {
            let entries = [
                (5, &params),
                (6, &choice),
                (7, &control),
                (8, &x[k]),
                (9, &x[1 - k]),
            ];
            buffers::bind(ctx, &update_k, &entries)
        })
        .collect();
    let choose = match graph {
        Some(g) => {
            let k = shaders::pipeline(&ctx.device, "deffuant_choose")?;
            let mut entries = g.csr_bindings();
            entries.extend([(5, &params), (6, &choice), (7, &control)]);
            let group = buffers::bind(ctx, &k, &entries);
            Some((k, group))
        }
        None => None,
    };

    let mut table = MetricsTable::new(&COLUMNS);
    table.push(metrics_row(0, &x0, 0));
    let mut current = 0;
    let mut t = 0;
    let mut counted = 0u64;
    while t < p.ticks {
        let next_row = ((t / p.metrics_every.max(1) + 1) * p.metrics_every.max(1)).min(p.ticks);
        while t < next_row {
            let batch = TICKS_PER_SUBMIT.min(next_row - t);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for _ in 0..batch {
                    buffers::dispatch_one(&mut pass, &advance_k, &advance_g);
                    if let Some((k, g)) = &choose {
                        buffers::dispatch(ctx, &mut pass, k, g, n);
                    }
                    buffers::dispatch(ctx, &mut pass, &update_k, &update_g[current], n);
                    current = 1 - current;
                }
            }
            ctx.queue.submit([encoder.finish()]);
            t += batch;
        }
        let opinions: Vec<f32> = buffers::read_back(ctx, &x[current], 0, n as usize)?;
        let c: Vec<u32> = buffers::read_back(ctx, &control, 4, 2)?;
        let total = c[0] as u64 | (c[1] as u64) << 32;
        table.push(metrics_row(t, &opinions, total - counted));
        counted = total;
        on_row(t);
    }
    let opinions = buffers::read_back(ctx, &x[current], 0, n as usize)?;
    Ok(DeffuantRun {
        metrics: table,
        opinions,
    })
}
