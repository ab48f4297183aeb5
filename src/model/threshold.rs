//! The Watts (2002) threshold cascade on a static graph. Each agent activates when the
//! active share of its ties reaches θ; activation is irreversible; sweeps are
//! synchronous (every agent sees the state at the start of the sweep) and run until a
//! sweep activates nobody. The test `m ≥ θ·k` is done in integers,
//! `100·m ≥ round(100·θ)·k`, so the GPU and the CPU decide identically.
//!
//! State: `activated_at[i]` is the sweep in which agent i became active (0 for seeds,
//! [`NEVER`] otherwise). Agent j counts as active in sweep s when `activated_at[j] < s`,
//! so one buffer holds the state without a second copy per sweep.

use crate::analysis::components::ComponentStats;
use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

pub const NEVER: u32 = u32::MAX;

/// Sweeps recorded per GPU submission between readbacks of the per-sweep counts.
pub const SWEEPS_PER_BATCH: u32 = 16;

#[derive(Debug, Clone, Copy)]
pub struct ThresholdParams {
    /// Adoption threshold θ in [0, 1]; decided as round(100·θ) percent.
    pub theta: f64,
    /// Probability that an agent starts active (ρ0).
    pub seed_fraction: f64,
    pub seed: u32,
    /// Upper bound on sweeps.
    pub max_sweeps: u32,
}

impl ThresholdParams {
    pub fn theta_pct(&self) -> u32 {
        (self.theta * 100.0).round() as u32
    }
}

/// The outcome of a cascade: when each agent activated and how many did per sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub activated_at: Vec<u32>,
    /// `new_per_sweep[s]` agents activated in sweep s (index 0: the seeds). Ends with the
    /// first sweep that activated nobody, unless the sweep limit came first.
    pub new_per_sweep: Vec<u32>,
    pub converged: bool,
}

impl Cascade {
    pub fn active(&self) -> u64 {
        self.new_per_sweep.iter().map(|&c| c as u64).sum()
    }

    /// One metrics row per sweep: tick, active_fraction, newly_active, s1.
    pub fn metrics(&self, components: &ComponentStats) -> crate::io::MetricsTable {
        let n = self.activated_at.len().max(1) as f64;
        let mut table =
            crate::io::MetricsTable::new(&["tick", "active_fraction", "newly_active", "s1"]);
        let mut total = 0u64;
        for (s, &c) in self.new_per_sweep.iter().enumerate() {
            total += c as u64;
            table.push(vec![s as f64, total as f64 / n, c as f64, components.s1()]);
        }
        table
    }
}

/// Twin of `threshold_seed.wgsl`: seeds get 0, everyone else [`NEVER`].
pub fn seed(n: u32, params: &ThresholdParams) -> Vec<u32> {
    let cut = rng::threshold_24(params.seed_fraction);
    (0..n)
        .into_par_iter()
        .map(|i| {
            let x = rng::rand(params.seed, 0, i, rng::stream::SEED_ACTIVE);
            if (x >> 8) < cut {
                0
            } else {
                NEVER
            }
        })
        .collect()
}

#[inline]
fn activates(csr: &Csr, theta_pct: u32, s: u32, i: u32, activated_at: &[AtomicU32]) -> bool {
    let nbrs = csr.neighbors(i);
    let k = nbrs.len() as u64;
    let m = nbrs
        .iter()
        .filter(|&&j| activated_at[j as usize].load(Relaxed) < s)
        .count() as u64;
    k > 0 && 100 * m >= theta_pct as u64 * k
}

/// Twin of `threshold_sweep.wgsl`, the reference semantics: every inactive agent is
/// examined. Returns how many activated in sweep `s`.
pub fn sweep(csr: &Csr, theta_pct: u32, s: u32, activated_at: &[AtomicU32]) -> u32 {
    (0..csr.n())
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&i| {
            if activated_at[i as usize].load(Relaxed) != NEVER
                || !activates(csr, theta_pct, s, i, activated_at)
            {
                return false;
            }
            activated_at[i as usize].store(s, Relaxed);
            true
        })
        .count() as u32
}

/// The cascade on the CPU. Same decisions as [`sweep`], but work-efficient: from sweep 2
/// on, an agent's active count can only have grown if a neighbour activated in the
/// previous sweep, so only those agents are examined (O(N + M) over the whole cascade
/// instead of O(sweeps · M)). Sweep 1 examines everyone: with θ = 0 an agent activates
/// with no active neighbour at all.
pub fn run_cpu(csr: &Csr, params: &ThresholdParams) -> Cascade {
    let n = csr.n();
    let theta_pct = params.theta_pct();
    let activated_at: Vec<AtomicU32> = seed(n, params).into_iter().map(AtomicU32::new).collect();
    let mut frontier: Vec<u32> = (0..n)
        .into_par_iter()
        .filter(|&i| activated_at[i as usize].load(Relaxed) == 0)
        .collect();
    let mut new_per_sweep = vec![frontier.len() as u32];
    let mut converged = false;
    for s in 1..=params.max_sweeps {
        let candidates: Vec<u32> = if s == 1 {
            (0..n)
                .into_par_iter()
                .filter(|&i| activated_at[i as usize].load(Relaxed) == NEVER)
                .collect()
        } else {
            let mut c: Vec<u32> = frontier
                .par_iter()
                .flat_map_iter(|&a| csr.neighbors(a).iter().copied())
                .filter(|&j| activated_at[j as usize].load(Relaxed) == NEVER)
                .collect();
            c.par_sort_unstable();
            c.dedup();
            c
        };
        // Decide all first, then apply: the sweep reads the state at its start.
        frontier = candidates
            .into_par_iter()
            .filter(|&i| activates(csr, theta_pct, s, i, &activated_at))
            .collect();
        frontier
            .par_iter()
            .for_each(|&i| activated_at[i as usize].store(s, Relaxed));
        new_per_sweep.push(frontier.len() as u32);
        if frontier.is_empty() {
            converged = true;
            break;
        }
    }
    Cascade {
        activated_at: activated_at
            .into_iter()
            .map(AtomicU32::into_inner)
            .collect(),
        new_per_sweep,
        converged,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SeedParams {
    n: u32,
    seed: u32,
    seed_threshold: u32,
    _pad: u32,
}
crate::host_layout! { SeedParams { n, seed, seed_threshold, _pad } }

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SweepParams {
    n: u32,
    theta_pct: u32,
    chunk_len: u32,
    _pad: u32,
}
crate::host_layout! { SweepParams { n, theta_pct, chunk_len, _pad } }

/// The cascade on the GPU: sweeps are recorded [`SWEEPS_PER_BATCH`] at a time into one
/// submission; only the per-sweep counts of the batch are read back between batches.
/// `on_batch(sweeps_done, active)` reports progress.
pub fn run_gpu(
    ctx: &GpuContext,
    graph: &GpuGraph,
    params: &ThresholdParams,
    mut on_batch: impl FnMut(u32, u64),
) -> Result<Cascade> {
    let n = graph.n;
    let seed_params = buffers::uniform(
        ctx,
        "seed params",
        &SeedParams {
            n,
            seed: params.seed,
            seed_threshold: rng::threshold_24(params.seed_fraction),
            _pad: 0,
        },
    );
    let sweep_params = buffers::uniform(
        ctx,
        "sweep params",
        &SweepParams {
            n,
            theta_pct: params.theta_pct(),
            chunk_len: graph.neighbors.chunk_len,
            _pad: 0,
        },
    );
    let activated_at = buffers::zeroed(ctx, "activated_at", n as u64 * 4);
    // control[0] = current sweep, control[1 + s] = activations in sweep s; room for the
    // overshoot of the last batch.
    let control_len = 2 + params.max_sweeps as u64 + SWEEPS_PER_BATCH as u64;
    let control = buffers::zeroed(ctx, "control", control_len * 4);

    let seed_k = shaders::pipeline(&ctx.device, "threshold_seed")?;
    let sweep_k = shaders::pipeline(&ctx.device, "threshold_sweep")?;
    let advance_k = shaders::pipeline(&ctx.device, "threshold_advance")?;
    let seed_g = buffers::bind(
        ctx,
        &seed_k,
        &[(0, &seed_params), (1, &activated_at), (2, &control)],
    );
    let mut entries = graph.csr_bindings();
    entries.extend([(5, &sweep_params), (6, &activated_at), (7, &control)]);
    let sweep_g = buffers::bind(ctx, &sweep_k, &entries);
    let advance_g = buffers::bind(ctx, &advance_k, &[(0, &control)]);

    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &seed_k, &seed_g, n);
    }
    ctx.queue.submit([encoder.finish()]);

    let mut new_per_sweep: Vec<u32> = buffers::read_back(ctx, &control, 4, 1)?;
    let mut converged = false;
    let mut done = 0u32;
    while done < params.max_sweeps && !converged {
        let batch = SWEEPS_PER_BATCH.min(params.max_sweeps - done);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for _ in 0..batch {
                buffers::dispatch_one(&mut pass, &advance_k, &advance_g);
                buffers::dispatch(ctx, &mut pass, &sweep_k, &sweep_g, n);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        let counts: Vec<u32> =
            buffers::read_back(ctx, &control, (2 + done as u64) * 4, batch as usize)?;
        for c in counts {
            new_per_sweep.push(c);
            done += 1;
            if c == 0 {
                converged = true;
                break;
            }
        }
        on_batch(done, new_per_sweep.iter().map(|&c| c as u64).sum());
    }
    let activated_at = buffers::read_back(ctx, &activated_at, 0, n as usize)?;
    // Sweeps past convergence in the last batch changed nothing (nobody could activate).
    Ok(Cascade {
        activated_at,
        new_per_sweep,
        converged,
    })
}
