//! The coevolving voter model of Holme & Newman (2006). An agent i with ties is picked;
//! with probability φ one of its ties (any tie, chosen at random) moves its far end to a
//! random agent holding i's opinion, otherwise i adopts the opinion of a random
//! neighbour. The run ends when no tie joins different opinions; the largest opinion
//! group S then falls through φ_c ≈ 0.458 (N = 3200, mean degree 4, G = N/10 opinions).
//!
//! In parallel, each tick every agent with ties plans its move from the state at the
//! start of the tick and claims the agents it touches (itself, the neighbour j, and the
//! rewiring target l) with a priority that is a bijection of its id; a move is made only
//! if it won all its claims, so the moves of a tick touch disjoint agents and each is a
//! step of the sequential model. Ties live in the tie slots of the dynamic models
//! ([`TieStore`]); a target with no free slot is skipped. As in Holme & Newman, a tie
//! may move to an agent that is already a neighbour (a multi-tie): forbidding that
//! turns many late rewirings into no-ops and moves the transition (at N = 800,
//! φ = 0.458, a sequential reference gave S ≈ 0.40 without multi-ties, 0.09 with). The rewiring target is the member of i's opinion with the smallest
//! `pcg(member ^ r)`: a uniform draw among the others holding it that does not depend
//! on the order in which the members are listed.

use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::ties::EMPTY;
use crate::graph::TieStore;
use crate::io::MetricsTable;
use crate::rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

pub const NONE: u32 = u32::MAX;

pub const COLUMNS: [&str; 7] = [
    "tick",
    "discordant_ties",
    "largest_group",
    "groups",
    "mean_degree",
    "adoptions",
    "rewires",
];

/// Ticks per GPU submission between metrics rows.
const TICKS_PER_SUBMIT: u32 = 32;

#[derive(Debug, Clone, Copy)]
pub struct VoterParams {
    /// φ: the probability that a move rewires a tie rather than copies an opinion.
    pub rewiring: f64,
    /// G: the number of opinions agents start with (uniformly at random).
    pub opinions: u32,
    pub seed: u32,
    /// Upper bound on ticks.
    pub max_ticks: u32,
    /// Ticks between metrics rows (the end is checked at each row).
    pub metrics_every: u32,
}

/// A planned move: `kind` 0 none, 1 adopt, 2 rewire; `j` the neighbour, `l` the target,
/// `slot` the mover's slot of the tie to j.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub kind: u32,
    pub j: u32,
    pub l: u32,
    pub slot: u32,
}

pub const MOVE_NONE: u32 = 0;
pub const MOVE_ADOPT: u32 = 1;
pub const MOVE_REWIRE: u32 = 2;

const NO_MOVE: Move = Move {
    kind: MOVE_NONE,
    j: NONE,
    l: NONE,
    slot: 0,
};

/// The model's state: opinions and ties.
#[derive(Debug, Clone, PartialEq)]
pub struct Voter {
    pub opinion: Vec<u32>,
    pub ties: TieStore,
    pub tick: u32,
}

impl Voter {
    /// Opinions uniform over `0..G`; `ties` should weigh 1 each (weights are not used).
    pub fn new(ties: TieStore, p: &VoterParams) -> Voter {
        let opinion = (0..ties.n)
            .into_par_iter()
            .map(|i| rng::rand(p.seed, 0, i, rng::stream::VOTER_INIT) % p.opinions)
            .collect();
        Voter {
            opinion,
            ties,
            tick: 0,
        }
    }
}

/// Twin of `voter_count.wgsl`: agents per opinion.
pub fn count(opinion: &[u32], opinions: u32) -> Vec<u32> {
    let mut c = vec![0u32; opinions as usize];
    for &g in opinion {
        c[g as usize] += 1;
    }
    c
}

/// Twin of `voter_scan.wgsl` + `voter_scatter.wgsl`: each opinion's first index into
/// `members` and the members (in id order here; nothing depends on the order).
pub fn group_members(opinion: &[u32], counts: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(counts.len());
    let mut at = 0u32;
    for &c in counts {
        start.push(at);
        at += c;
    }
    let mut cursor = start.clone();
    let mut members = vec![0u32; opinion.len()];
    for (i, &g) in opinion.iter().enumerate() {
        members[cursor[g as usize] as usize] = i as u32;
        cursor[g as usize] += 1;
    }
    (start, members)
}

fn move_priority(seed: u32, t: u32, i: u32) -> u32 {
    rng::pcg(i ^ rng::rand(seed, t, 0, rng::stream::VOTER_KEY))
}

/// Opinions held by fewer agents than this are scanned for a rewiring target, the others
/// are hit by random draws from all agents: ceil(sqrt(N)), so both cost O(sqrt N).
pub fn scan_below(n: u32) -> u32 {
    ((n as f64).sqrt().ceil() as u32).max(2)
}

/// The most random draws spent looking for a target of a widely held opinion (the
/// chance to need more is below e^-60).
pub fn max_draws(n: u32) -> u32 {
    64 * scan_below(n)
}

/// Twin of `voter_plan.wgsl`: every agent's move in tick `t` and its claims.
pub fn plan(
    v: &Voter,
    p: &VoterParams,
    t: u32,
    counts: &[u32],
    start: &[u32],
    members: &[u32],
) -> (Vec<Move>, Vec<u32>) {
    let n = v.ties.n;
    let k = v.ties.slots as usize;
    let rewire_24 = rng::threshold_24(p.rewiring);
    let (scan, draws) = (scan_below(n), max_draws(n));
    let claim: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let moves: Vec<Move> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let deg = v.ties.degree[i as usize];
            if deg == 0 {
                return NO_MOVE;
            }
            let r = rng::rand4(p.seed, t, i, rng::stream::VOTER_MOVE);
            let row = &v.ties.neighbor[i as usize * k..i as usize * k + deg as usize];
            let s = r[1] % deg;
            let j = row[s as usize];
            let g = v.opinion[i as usize];
            let prio = move_priority(p.seed, t, i);
            let held = counts[g as usize];
            let l = if held >= 2 && held < scan {
                let first = start[g as usize] as usize;
                members[first..first + held as usize]
                    .iter()
                    .copied()
                    .filter(|&a| a != i)
                    .min_by_key(|&a| rng::pcg(a ^ r[2]))
            } else if held >= 2 {
                (1..=draws)
                    .map(|d| rng::rand(p.seed, t, i, rng::stream::VOTER_MOVE | (d << 8)) % n)
                    .find(|&a| a != i && v.opinion[a as usize] == g)
            } else {
                None
            };
            claim[i as usize].fetch_max(prio, Relaxed);
            claim[j as usize].fetch_max(prio, Relaxed);
            if let Some(l) = l {
                claim[l as usize].fetch_max(prio, Relaxed);
            }
            let l_id = l.unwrap_or(NONE);
            if (r[0] >> 8) < rewire_24 {
                match l {
                    Some(l) if v.ties.degree[l as usize] < v.ties.slots => Move {
                        kind: MOVE_REWIRE,
                        j,
                        l,
                        slot: s,
                    },
                    _ => NO_MOVE,
                }
            } else if v.opinion[j as usize] != g {
                Move {
                    kind: MOVE_ADOPT,
                    j,
                    l: l_id,
                    slot: s,
                }
            } else {
                NO_MOVE
            }
        })
        .collect();
    (
        moves,
        claim.into_iter().map(AtomicU32::into_inner).collect(),
    )
}

/// Twin of `voter_apply.wgsl`: make the moves that won all their claims. Returns
/// (adoptions, rewires).
pub fn apply(v: &mut Voter, p: &VoterParams, t: u32, moves: &[Move], claim: &[u32]) -> (u32, u32) {
    let k = v.ties.slots as usize;
    let won: Vec<u32> = (0..v.ties.n)
        .into_par_iter()
        .filter(|&i| {
            let m = moves[i as usize];
            let prio = move_priority(p.seed, t, i);
            m.kind != MOVE_NONE
                && claim[i as usize] == prio
                && claim[m.j as usize] == prio
                && (m.l == NONE || claim[m.l as usize] == prio)
        })
        .collect();
    // The winners touch disjoint agents, so applying them in any order is the same.
    let (mut adoptions, mut rewires) = (0, 0);
    for i in won {
        let m = moves[i as usize];
        if m.kind == MOVE_ADOPT {
            v.opinion[i as usize] = v.opinion[m.j as usize];
            adoptions += 1;
        } else {
            let ties = &mut v.ties;
            ties.neighbor[i as usize * k + m.slot as usize] = m.l;
            let jrow = m.j as usize * k;
            let last = ties.degree[m.j as usize] as usize - 1;
            if let Some(at) = ties.neighbor[jrow..=jrow + last]
                .iter()
                .position(|&x| x == i)
            {
                ties.neighbor[jrow + at] = ties.neighbor[jrow + last];
                ties.neighbor[jrow + last] = EMPTY;
                ties.weight[jrow + last] = 0.0;
                ties.age[jrow + last] = 0;
            }
            ties.degree[m.j as usize] = last as u32;
            let dl = ties.degree[m.l as usize] as usize;
            ties.neighbor[m.l as usize * k + dl] = i;
            ties.weight[m.l as usize * k + dl] = 1.0;
            ties.degree[m.l as usize] += 1;
            rewires += 1;
        }
    }
    (adoptions, rewires)
}

/// One tick on the CPU.
pub fn step(v: &mut Voter, p: &VoterParams) -> (u32, u32) {
    let t = v.tick + 1;
    let counts = count(&v.opinion, p.opinions);
    let (start, members) = group_members(&v.opinion, &counts);
    let (moves, claim) = plan(v, p, t, &counts, &start, &members);
    let done = apply(v, p, t, &moves, &claim);
    v.tick = t;
    done
}

/// Twin of `voter_metrics.wgsl`: (discordant ties, largest group, opinions held).
pub fn metrics(v: &Voter, opinions: u32) -> (u64, u32, u32) {
    let k = v.ties.slots as usize;
    let discordant: u64 = (0..v.ties.n)
        .into_par_iter()
        .map(|i| {
            let row = &v.ties.neighbor[i as usize * k..][..v.ties.degree[i as usize] as usize];
            let g = v.opinion[i as usize];
            row.iter()
                .filter(|&&j| j > i && v.opinion[j as usize] != g)
                .count() as u64
        })
        .sum();
    let c = count(&v.opinion, opinions);
    let largest = c.iter().copied().max().unwrap_or(0);
    let held = c.iter().filter(|&&x| x > 0).count() as u32;
    (discordant, largest, held)
}

fn row(v: &Voter, tick: u32, m: (u64, u32, u32), moves: (u64, u64)) -> Vec<f64> {
    let n = v.ties.n.max(1) as f64;
    let ties: u64 = v.ties.degree.iter().map(|&d| d as u64).sum();
    vec![
        tick as f64,
        m.0 as f64,
        m.1 as f64 / n,
        m.2 as f64,
        ties as f64 / n,
        moves.0 as f64,
        moves.1 as f64,
    ]
}

/// The end of a run: its metrics and whether it reached a state with no discordant tie.
pub struct VoterRun {
    pub metrics: MetricsTable,
    pub converged: bool,
}

/// The model on the CPU until no tie joins different opinions (checked at each metrics
/// row) or `max_ticks`. `on_row(tick, discordant)` reports progress.
pub fn run_cpu(v: &mut Voter, p: &VoterParams, mut on_row: impl FnMut(u32, u64)) -> VoterRun {
    let mut table = MetricsTable::new(&COLUMNS);
    let m = metrics(v, p.opinions);
    table.push(row(v, v.tick, m, (0, 0)));
    let mut converged = m.0 == 0;
    let (mut adoptions, mut rewires) = (0u64, 0u64);
    while !converged && v.tick < p.max_ticks {
        let (a, r) = step(v, p);
        adoptions += a as u64;
        rewires += r as u64;
        if v.tick.is_multiple_of(p.metrics_every.max(1)) || v.tick == p.max_ticks {
            let m = metrics(v, p.opinions);
            table.push(row(v, v.tick, m, (adoptions, rewires)));
            (adoptions, rewires) = (0, 0);
            converged = m.0 == 0;
            on_row(v.tick, m.0);
        }
    }
    VoterRun {
        metrics: table,
        converged,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GpuParams {
    n: u32,
    seed: u32,
    slots: u32,
    opinions: u32,
    rewire_24: u32,
    scan_below: u32,
    max_draws: u32,
    _pad: u32,
}
crate::host_layout! {
    GpuParams {
        n, seed, slots, opinions, rewire_24, scan_below, max_draws, _pad
    }
}

/// The model on the GPU: the ticks between two metrics rows go to the device in
/// submissions of up to 32 ticks (six passes each); a row reads back six words.
pub fn run_gpu(
    ctx: &GpuContext,
    v: &mut Voter,
    p: &VoterParams,
    mut on_row: impl FnMut(u32, u64),
) -> Result<VoterRun> {
    let n = v.ties.n;
    let g = p.opinions;
    // The widest per-agent arrays: the tie slots (4 bytes each) and the plans (16 bytes).
    ctx.check_fits("voter", n, (4 * v.ties.slots as u64).max(16))?;
    let params = buffers::uniform(
        ctx,
        "voter params",
        &GpuParams {
            n,
            seed: p.seed,
            slots: v.ties.slots,
            opinions: g,
            rewire_24: rng::threshold_24(p.rewiring),
            scan_below: scan_below(n),
            max_draws: max_draws(n),
            _pad: 0,
        },
    );
    let opinion = buffers::storage(ctx, "opinion", &v.opinion);
    let neighbor = buffers::storage(ctx, "neighbor", &v.ties.neighbor);
    let degree = buffers::storage(ctx, "degree", &v.ties.degree);
    let counts = buffers::zeroed(ctx, "opinion counts", g as u64 * 4);
    let start = buffers::zeroed(ctx, "opinion starts", g as u64 * 4);
    let cursor = buffers::zeroed(ctx, "opinion cursors", g as u64 * 4);
    let members = buffers::zeroed(ctx, "members", n as u64 * 4);
    let plan = buffers::zeroed(ctx, "plans", n as u64 * 16);
    let claim = buffers::zeroed(ctx, "claims", n as u64 * 4);
    // control: tick, adoptions, rewires, discordant, largest group, groups held.
    let control = buffers::storage(ctx, "control", &[v.tick, 0, 0, 0, 0, 0, 0, 0]);
    let base = [(0, &params), (1, &opinion), (2, &neighbor), (3, &degree)];
    // Automatic layouts hold only the bindings a kernel uses: `shared` picks those of
    // voter.wgsl (0 params, 1 opinion, 2 neighbor, 3 degree).
    let kernel = |name: &str, shared: &[usize], own: &[(u32, &wgpu::Buffer)]| -> Result<_> {
        let k = shaders::pipeline(&ctx.device, name)?;
        let mut entries: Vec<_> = shared.iter().map(|&b| base[b]).collect();
        entries.extend_from_slice(own);
        let group = buffers::bind(ctx, &k, &entries);
        Ok((k, group))
    };
    let advance_k = shaders::pipeline(&ctx.device, "threshold_advance")?;
    let advance_g = buffers::bind(ctx, &advance_k, &[(0, &control)]);
    let count_k = kernel("voter_count", &[0, 1], &[(4, &counts)])?;
    let scan_k = kernel(
        "voter_scan",
        &[0],
        &[(4, &counts), (5, &start), (6, &cursor)],
    )?;
    let scatter_k = kernel("voter_scatter", &[0, 1], &[(4, &cursor), (5, &members)])?;
    let plan_k = kernel(
        "voter_plan",
        &[0, 1, 2, 3],
        &[
            (4, &counts),
            (5, &start),
            (6, &members),
            (7, &plan),
            (8, &claim),
            (9, &control),
        ],
    )?;
    let apply_k = kernel(
        "voter_apply",
        &[0, 1, 2, 3],
        &[(7, &plan), (8, &claim), (9, &control)],
    )?;
    let metrics_k = kernel(
        "voter_metrics",
        &[0, 1, 2, 3],
        &[(4, &counts), (9, &control)],
    )?;
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("voter row"),
        size: 32,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let n_dispatch = n.max(g);
    let read_row = |encoder: &mut wgpu::CommandEncoder| {
        encoder.clear_buffer(&counts, 0, None);
        encoder.clear_buffer(&control, 12, Some(12));
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            buffers::dispatch(ctx, &mut pass, &count_k.0, &count_k.1, n);
            buffers::dispatch(ctx, &mut pass, &metrics_k.0, &metrics_k.1, n_dispatch);
        }
        encoder.copy_buffer_to_buffer(&control, 0, &staging, 0, 32);
    };

    let mut table = MetricsTable::new(&COLUMNS);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    read_row(&mut encoder);
    ctx.queue.submit([encoder.finish()]);
    let c: Vec<u32> = buffers::map_and_read(ctx, &staging)?;
    // A rewire moves a tie and never adds or removes one: the mean degree is constant.
    let deg = v.ties.degree.iter().map(|&x| x as u64).sum::<u64>() as f64 / n.max(1) as f64;
    let push = |table: &mut MetricsTable, c: &[u32], moves: (u64, u64), deg: f64| {
        table.push(vec![
            c[0] as f64,
            c[3] as f64,
            c[4] as f64 / n.max(1) as f64,
            c[5] as f64,
            deg,
            moves.0 as f64,
            moves.1 as f64,
        ]);
    };
    push(&mut table, &c, (0, 0), deg);
    let mut converged = c[3] == 0;
    let (mut last_a, mut last_r) = (c[1], c[2]);
    let mut tick = v.tick;
    let every = p.metrics_every.max(1);
    while !converged && tick < p.max_ticks {
        let next = ((tick / every + 1) * every).min(p.max_ticks);
        while tick < next {
            let batch = TICKS_PER_SUBMIT.min(next - tick);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for _ in 0..batch {
                encoder.clear_buffer(&counts, 0, None);
                encoder.clear_buffer(&claim, 0, None);
                let mut pass = encoder.begin_compute_pass(&Default::default());
                buffers::dispatch_one(&mut pass, &advance_k, &advance_g);
                buffers::dispatch(ctx, &mut pass, &count_k.0, &count_k.1, n);
                buffers::dispatch_one(&mut pass, &scan_k.0, &scan_k.1);
                buffers::dispatch(ctx, &mut pass, &scatter_k.0, &scatter_k.1, n);
                buffers::dispatch(ctx, &mut pass, &plan_k.0, &plan_k.1, n);
                buffers::dispatch(ctx, &mut pass, &apply_k.0, &apply_k.1, n);
            }
            if tick + batch == next {
                read_row(&mut encoder);
            }
            ctx.queue.submit([encoder.finish()]);
            tick += batch;
        }
        let c: Vec<u32> = buffers::map_and_read(ctx, &staging)?;
        let moves = (
            c[1].wrapping_sub(last_a) as u64,
            c[2].wrapping_sub(last_r) as u64,
        );
        (last_a, last_r) = (c[1], c[2]);
        push(&mut table, &c, moves, deg);
        converged = c[3] == 0;
        on_row(tick, c[3] as u64);
    }
    v.opinion = buffers::read_back(ctx, &opinion, 0, n as usize)?;
    v.ties.neighbor = buffers::read_back(ctx, &neighbor, 0, v.ties.neighbor.len())?;
    v.ties.degree = buffers::read_back(ctx, &degree, 0, n as usize)?;
    // Only ids and degrees live on the device; every live tie weighs 1, ages are unused.
    let k = v.ties.slots as usize;
    for (i, &d) in v.ties.degree.iter().enumerate() {
        for s in 0..k {
            v.ties.weight[i * k + s] = if s < d as usize { 1.0 } else { 0.0 };
            v.ties.age[i * k + s] = 0;
        }
    }
    v.tick = tick;
    Ok(VoterRun {
        metrics: table,
        converged,
    })
}
