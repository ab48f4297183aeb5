//! SIR epidemics on a static graph in discrete time (DESIGN §6). Each tick every
//! infectious agent first transmits to each susceptible neighbour with probability β,
//! then recovers with probability γ; agents infected in tick t transmit from tick t + 1.
//! An infected agent thus makes a geometric number D ≥ 1 of attempts per tie, and the
//! transmissibility is T = 1 − E[(1 − β)^D] = β / (β + γ − βγ), so the final size of a
//! major outbreak is that of bond percolation with T: R = 1 − e^{−cTR} on an ER graph.
//!
//! State: `infected_at[i]` and `recovered_at[i]`, the ticks of the two events
//! ([`NEVER`] until they happen). Agent j is infectious in tick t when
//! `infected_at[j] < t ≤ recovered_at[j]`, so the tick reads the state at its start from
//! the same buffers it writes (as in the threshold model).

use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::io::MetricsTable;
use crate::rng::{self, Permutation};
use rayon::prelude::*;

pub const NEVER: u32 = u32::MAX;

/// Ticks recorded per GPU submission between readbacks of the per-tick counts.
pub const TICKS_PER_BATCH: u32 = 16;

pub const COLUMNS: [&str; 6] = [
    "tick",
    "susceptible",
    "infected",
    "recovered",
    "new_infections",
    "recoveries",
];

#[derive(Debug, Clone, Copy)]
pub struct SirParams {
    /// β, the probability per tick that an infectious agent infects a susceptible neighbour.
    pub infection: f64,
    /// γ, the probability per tick that an infectious agent recovers.
    pub recovery: f64,
    /// Agents infected at tick 0 (the first of a random permutation of all agents).
    pub initial_infected: u32,
    pub seed: u32,
    pub max_ticks: u32,
}

impl SirParams {
    /// T = β / (β + γ − βγ).
    pub fn transmissibility(&self) -> f64 {
        let (b, g) = (self.infection, self.recovery);
        b / (b + g - b * g)
    }
}

/// The course of an outbreak.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbreak {
    pub infected_at: Vec<u32>,
    pub recovered_at: Vec<u32>,
    /// `new_infections[t]` agents infected in tick t (index 0: the initial ones).
    pub new_infections: Vec<u32>,
    /// `recoveries[t]` agents recovered in tick t (index 0: none).
    pub recoveries: Vec<u32>,
    /// True when nobody was infectious any more before the tick limit.
    pub converged: bool,
}

impl Outbreak {
    /// Share of agents ever infected.
    pub fn final_size(&self) -> f64 {
        let ever: u64 = self.new_infections.iter().map(|&c| c as u64).sum();
        ever as f64 / self.infected_at.len().max(1) as f64
    }

    /// One row per tick.
    pub fn metrics(&self) -> MetricsTable {
        let n = self.infected_at.len().max(1) as f64;
        let mut table = MetricsTable::new(&COLUMNS);
        let (mut ever, mut rec) = (0u64, 0u64);
        for (t, (&c, &r)) in self.new_infections.iter().zip(&self.recoveries).enumerate() {
            ever += c as u64;
            rec += r as u64;
            table.push(vec![
                t as f64,
                1.0 - ever as f64 / n,
                (ever - rec) as f64 / n,
                rec as f64 / n,
                c as f64,
                r as f64,
            ]);
        }
        table
    }
}

/// The initially infected: the first `initial_infected` positions of a random
/// permutation of the agents (computed on the host for both backends).
pub fn seed(n: u32, params: &SirParams) -> Vec<u32> {
    let mut infected_at = vec![NEVER; n as usize];
    let perm = Permutation::new(n, rng::rand4(params.seed, 0, 0, rng::stream::SIR_SEED));
    for p in 0..params.initial_infected.min(n) {
        infected_at[perm.invert(p) as usize] = 0;
    }
    infected_at
}

/// Twin of `sir_step.wgsl`: tick `t` from the state at its start. Returns the new
/// infections and recoveries, already applied.
pub fn step(
    csr: &Csr,
    params: &SirParams,
    t: u32,
    infected_at: &mut [u32],
    recovered_at: &mut [u32],
) -> (u32, u32) {
    let infect_24 = rng::threshold_24(params.infection);
    let recover_24 = rng::threshold_24(params.recovery);
    let (inf, rec) = (&*infected_at, &*recovered_at);
    // Decide everything from the state at the start of the tick, then apply.
    let events: Vec<(u32, bool)> = (0..csr.n())
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|i| {
            let at = inf[i as usize];
            if at == NEVER {
                let infected = csr.neighbors(i).iter().enumerate().any(|(k, &j)| {
                    inf[j as usize] < t
                        && rec[j as usize] >= t
                        && (rng::rand(params.seed, t, i, rng::stream::INFECT | ((k as u32) << 8))
                            >> 8)
                            < infect_24
                });
                infected.then_some((i, true))
            } else if at < t && rec[i as usize] == NEVER {
                let x = rng::rand(params.seed, t, i, rng::stream::RECOVER);
                ((x >> 8) < recover_24).then_some((i, false))
            } else {
                None
            }
        })
        .collect();
    let (mut new, mut recovered) = (0, 0);
    for (i, infection) in events {
        if infection {
            infected_at[i as usize] = t;
            new += 1;
        } else {
            recovered_at[i as usize] = t;
            recovered += 1;
        }
    }
    (new, recovered)
}

/// An outbreak on the CPU, until nobody is infectious or `max_ticks`.
pub fn run_cpu(csr: &Csr, params: &SirParams) -> Outbreak {
    let n = csr.n();
    let mut infected_at = seed(n, params);
    let mut recovered_at = vec![NEVER; n as usize];
    let first = infected_at.iter().filter(|&&a| a == 0).count() as u32;
    let mut new_infections = vec![first];
    let mut recoveries = vec![0];
    let mut infectious = first as u64;
    let mut t = 0;
    while infectious > 0 && t < params.max_ticks {
        t += 1;
        let (c, r) = step(csr, params, t, &mut infected_at, &mut recovered_at);
        new_infections.push(c);
        recoveries.push(r);
        infectious = infectious + c as u64 - r as u64;
    }
    Outbreak {
        infected_at,
        recovered_at,
        new_infections,
        recoveries,
        converged: infectious == 0,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepParams {
    n: u32,
    seed: u32,
    chunk_len: u32,
    infect_24: u32,
    recover_24: u32,
    _pad: [u32; 3],
}
crate::host_layout! { StepParams { n, seed, chunk_len, infect_24, recover_24, _pad } }

/// An outbreak on the GPU: ticks are recorded [`TICKS_PER_BATCH`] at a time into one
/// submission; only the batch's per-tick counts are read back between batches.
/// `on_batch(ticks_done, ever_infected)` reports progress.
pub fn run_gpu(
    ctx: &GpuContext,
    graph: &GpuGraph,
    params: &SirParams,
    mut on_batch: impl FnMut(u32, u64),
) -> Result<Outbreak> {
    let n = graph.n;
    let initial = seed(n, params);
    let first = initial.iter().filter(|&&a| a == 0).count() as u32;
    let step_params = buffers::uniform(
        ctx,
        "sir params",
        &StepParams {
            n,
            seed: params.seed,
            chunk_len: graph.neighbors.chunk_len,
            infect_24: rng::threshold_24(params.infection),
            recover_24: rng::threshold_24(params.recovery),
            _pad: [0; 3],
        },
    );
    let infected_at = buffers::storage(ctx, "infected_at", &initial);
    let recovered_at = buffers::storage(ctx, "recovered_at", &vec![NEVER; n as usize]);
    let control_len = 3 + 2 * (params.max_ticks as u64 + TICKS_PER_BATCH as u64);
    let control = buffers::zeroed(ctx, "control", control_len * 4);
    let step_k = shaders::pipeline(&ctx.device, "sir_step")?;
    // The tick counter is advanced on the device by the same one-thread kernel as the
    // threshold model's sweep counter.
    let advance_k = shaders::pipeline(&ctx.device, "threshold_advance")?;
    let mut entries = graph.csr_bindings();
    entries.extend([
        (5, &step_params),
        (6, &infected_at),
        (7, &recovered_at),
        (8, &control),
    ]);
    let step_g = buffers::bind(ctx, &step_k, &entries);
    let advance_g = buffers::bind(ctx, &advance_k, &[(0, &control)]);

    let mut new_infections = vec![first];
    let mut recoveries = vec![0];
    let mut infectious = first as u64;
    let mut done = 0u32;
    while infectious > 0 && done < params.max_ticks {
        let batch = TICKS_PER_BATCH.min(params.max_ticks - done);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for _ in 0..batch {
                buffers::dispatch_one(&mut pass, &advance_k, &advance_g);
                buffers::dispatch(ctx, &mut pass, &step_k, &step_g, n);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        let counts: Vec<u32> =
            buffers::read_back(ctx, &control, (3 + 2 * done as u64) * 4, 2 * batch as usize)?;
        for pair in counts.chunks(2) {
            new_infections.push(pair[0]);
            recoveries.push(pair[1]);
            done += 1;
            infectious = infectious + pair[0] as u64 - pair[1] as u64;
            if infectious == 0 {
                break;
            }
        }
        on_batch(done, new_infections.iter().map(|&c| c as u64).sum());
    }
    // Ticks past the end in the last batch changed nothing (nobody was infectious).
    Ok(Outbreak {
        infected_at: buffers::read_back(ctx, &infected_at, 0, n as usize)?,
        recovered_at: buffers::read_back(ctx, &recovered_at, 0, n as usize)?,
        new_infections,
        recoveries,
        converged: infectious == 0,
    })
}
