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

mod cpu;
pub use cpu::*;

use crate::analysis::components;
use crate::backend::Backend;
use crate::engine::{Collected, Interval, Per, Rows, Simulation, State, Values};
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::ties::EMPTY;
use crate::graph::TieStore;
use crate::io::MetricsTable;
use crate::model::{DeviceBuffer, Model, Outcome, Run, Size, Start};
use crate::rng;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

pub const NONE: u32 = u32::MAX;

pub const COLUMNS: [&str; 7] = [
    "tick",
    "discordant_ties",
    "largest_community",
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
/// row) or `max_ticks`, through the driver.
pub fn run_cpu(v: &mut Voter, p: &VoterParams) -> VoterRun {
    run(&Backend::Cpu, v, p).expect("the CPU cannot fail")
}

/// The model on the GPU through the driver: the ticks between two metrics rows go to the
/// device in submissions of up to 32 ticks (six passes each); a row reads back six words.
pub fn run_gpu(ctx: &GpuContext, v: &mut Voter, p: &VoterParams) -> Result<VoterRun> {
    let state = std::mem::replace(v, Voter::placeholder(v.ties.slots));
    let mut sim = VoterSim::new(
        Device::Gpu(Box::new(GpuVoter::new(ctx, &state, p)?)),
        state,
        p,
    );
    let out = sim.drive(p);
    *v = sim.into_state()?;
    out
}

/// The model on `backend`, from and into `v`.
pub fn run(backend: &Backend, v: &mut Voter, p: &VoterParams) -> Result<VoterRun> {
    match backend {
        Backend::Gpu(ctx) => run_gpu(ctx, v, p),
        Backend::Cpu => {
            let state = std::mem::replace(v, Voter::placeholder(v.ties.slots));
            let mut sim = VoterSim::new(Device::Cpu, state, p);
            let out = sim.drive(p);
            *v = sim.into_state()?;
            out
        }
    }
}

impl Voter {
    /// A state of no agents, held while the real one is inside a simulation.
    fn placeholder(slots: u32) -> Voter {
        Voter {
            opinion: Vec::new(),
            ties: TieStore::empty(0, slots),
            tick: 0,
        }
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

/// Mirror of the voter's control block (`control: array<atomic<u32>, 8>` in its kernels):
/// the tick, the move counters since the start, and the metrics row's reductions.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct VoterControl {
    tick: u32,
    adoptions: u32,
    rewires: u32,
    discordant: u32,
    largest: u32,
    held: u32,
    _pad: [u32; 2],
}

/// Where the row's reductions (discordant, largest, held) lie in the control block.
const ROW_AT: u64 = std::mem::offset_of!(VoterControl, discordant) as u64;
const ROW_BYTES: u64 = std::mem::offset_of!(VoterControl, _pad) as u64 - ROW_AT;
const CONTROL_BYTES: u64 = std::mem::size_of::<VoterControl>() as u64;

/// The device state of the voter model.
pub struct GpuVoter<'a> {
    ctx: &'a GpuContext,
    n: u32,
    opinion: wgpu::Buffer,
    neighbor: wgpu::Buffer,
    degree: wgpu::Buffer,
    counts: wgpu::Buffer,
    claim: wgpu::Buffer,
    control: wgpu::Buffer,
    staging: wgpu::Buffer,
    advance: (wgpu::ComputePipeline, wgpu::BindGroup),
    count_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    scan_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    scatter_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    plan_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    apply_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    metrics_k: (wgpu::ComputePipeline, wgpu::BindGroup),
    n_dispatch: u32,
    /// The move counters at the last row.
    last: (u32, u32),
    _keep: Vec<wgpu::Buffer>,
}

impl<'a> GpuVoter<'a> {
    pub fn new(ctx: &'a GpuContext, v: &Voter, p: &VoterParams) -> Result<GpuVoter<'a>> {
        let n = v.ties.n;
        let g = p.opinions;
        let size = Size {
            agents: n as u64,
            ties: v.ties.num_ties() as u64,
            slots: v.ties.slots as u64,
            complete: false,
        };
        crate::model::check_fits_on(&VoterModel, &size, ctx)?;
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
        let control = buffers::storage(
            ctx,
            "control",
            &[VoterControl {
                tick: v.tick,
                ..Default::default()
            }],
        );
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
            size: CONTROL_BYTES,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(GpuVoter {
            ctx,
            n,
            opinion,
            neighbor,
            degree,
            counts,
            claim,
            control,
            staging,
            advance: (advance_k, advance_g),
            count_k,
            scan_k,
            scatter_k,
            plan_k,
            apply_k,
            metrics_k,
            n_dispatch: n.max(g),
            last: (0, 0),
            _keep: vec![params, start, cursor, members, plan],
        })
    }

    /// Record the reductions of a metrics row and its copy into the staging buffer.
    fn record_row(&self, encoder: &mut wgpu::CommandEncoder) {
        let ctx = self.ctx;
        encoder.clear_buffer(&self.counts, 0, None);
        encoder.clear_buffer(&self.control, ROW_AT, Some(ROW_BYTES));
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            buffers::dispatch(ctx, &mut pass, &self.count_k.0, &self.count_k.1, self.n);
            buffers::dispatch(
                ctx,
                &mut pass,
                &self.metrics_k.0,
                &self.metrics_k.1,
                self.n_dispatch,
            );
        }
        encoder.copy_buffer_to_buffer(&self.control, 0, &self.staging, 0, CONTROL_BYTES);
    }

    /// Record `ticks` ticks (and a row after the last one) in submissions of up to
    /// [`TICKS_PER_SUBMIT`], then read the row's control words.
    fn run(&self, ticks: u32, row: bool) -> Result<Option<Vec<u32>>> {
        let ctx = self.ctx;
        let mut left = ticks;
        loop {
            let batch = TICKS_PER_SUBMIT.min(left);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for _ in 0..batch {
                encoder.clear_buffer(&self.counts, 0, None);
                encoder.clear_buffer(&self.claim, 0, None);
                let mut pass = encoder.begin_compute_pass(&Default::default());
                buffers::dispatch_one(&mut pass, &self.advance.0, &self.advance.1);
                buffers::dispatch(ctx, &mut pass, &self.count_k.0, &self.count_k.1, self.n);
                buffers::dispatch_one(&mut pass, &self.scan_k.0, &self.scan_k.1);
                buffers::dispatch(ctx, &mut pass, &self.scatter_k.0, &self.scatter_k.1, self.n);
                buffers::dispatch(ctx, &mut pass, &self.plan_k.0, &self.plan_k.1, self.n);
                buffers::dispatch(ctx, &mut pass, &self.apply_k.0, &self.apply_k.1, self.n);
            }
            left -= batch;
            if left == 0 && row {
                self.record_row(&mut encoder);
            }
            ctx.queue.submit([encoder.finish()]);
            if left == 0 {
                break;
            }
        }
        if !row {
            return Ok(None);
        }
        Ok(Some(buffers::map_and_read(ctx, &self.staging)?))
    }

    /// Copy the device state into `v`.
    fn download(&self, v: &mut Voter) -> Result<()> {
        let ctx = self.ctx;
        let n = self.n as usize;
        v.opinion = buffers::read_back(ctx, &self.opinion, 0, n)?;
        v.ties.neighbor = buffers::read_back(ctx, &self.neighbor, 0, v.ties.neighbor.len())?;
        v.ties.degree = buffers::read_back(ctx, &self.degree, 0, n)?;
        // Only ids and degrees live on the device; every live tie weighs 1, ages are unused.
        let k = v.ties.slots as usize;
        for (i, &d) in v.ties.degree.iter().enumerate() {
            for s in 0..k {
                v.ties.weight[i * k + s] = if s < d as usize { 1.0 } else { 0.0 };
                v.ties.age[i * k + s] = 0;
            }
        }
        Ok(())
    }
}

/// Where the voter's state lives during a run.
pub enum Device<'a> {
    Cpu,
    Gpu(Box<GpuVoter<'a>>),
}

/// The voter model as the driver runs it: a row every `metrics_every` ticks, until a row
/// finds no discordant tie.
pub struct VoterSim<'a> {
    params: VoterParams,
    device: Device<'a>,
    /// The state (on the GPU: as uploaded, until [`Self::into_state`]).
    v: Voter,
    /// Moves since the last row (CPU).
    moves: (u64, u64),
    converged: bool,
    /// Ticks submitted.
    tick: u32,
    /// The mean degree (a rewire moves a tie and never adds or removes one).
    mean_degree: f64,
    done: VecDeque<Collected>,
}

impl<'a> VoterSim<'a> {
    pub fn new(device: Device<'a>, v: Voter, p: &VoterParams) -> VoterSim<'a> {
        let n = v.ties.n.max(1) as f64;
        let mean_degree = v.ties.degree.iter().map(|&x| x as u64).sum::<u64>() as f64 / n;
        VoterSim {
            params: *p,
            device,
            tick: v.tick,
            v,
            moves: (0, 0),
            converged: false,
            mean_degree,
            done: VecDeque::new(),
        }
    }

    fn drive(&mut self, p: &VoterParams) -> Result<VoterRun> {
        let ticks = p.max_ticks.saturating_sub(self.tick) as u64;
        let drive = crate::engine::drive(self, crate::engine::Drive::quiet(ticks))?;
        Ok(VoterRun {
            metrics: drive.table,
            converged: self.converged,
        })
    }

    /// The state at the end (downloads the GPU's).
    pub fn into_state(mut self) -> Result<Voter> {
        if let Device::Gpu(g) = &self.device {
            g.download(&mut self.v)?;
        }
        self.v.tick = self.tick;
        Ok(self.v)
    }

    /// A row from the device's control words.
    fn gpu_row(&self, c: &[u32], moves: (u64, u64)) -> Vec<f64> {
        let n = self.v.ties.n.max(1) as f64;
        vec![
            c[0] as f64,
            c[3] as f64,
            c[4] as f64 / n,
            c[5] as f64,
            self.mean_degree,
            moves.0 as f64,
            moves.1 as f64,
        ]
    }
}

impl Simulation for VoterSim<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn start_tick(&self) -> u64 {
        self.tick as u64
    }

    fn rows(&self) -> Rows {
        Rows::Every(self.params.metrics_every)
    }

    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>> {
        let row = match &mut self.device {
            Device::Cpu => {
                let m = metrics(&self.v, self.params.opinions);
                self.converged = m.0 == 0;
                row(&self.v, self.v.tick, m, (0, 0))
            }
            Device::Gpu(g) => {
                let mut encoder = g.ctx.device.create_command_encoder(&Default::default());
                g.record_row(&mut encoder);
                g.ctx.queue.submit([encoder.finish()]);
                let c: Vec<u32> = buffers::map_and_read(g.ctx, &g.staging)?;
                g.last = (c[1], c[2]);
                self.converged = c[3] == 0;
                return Ok(vec![self.gpu_row(&c, (0, 0))]);
            }
        };
        Ok(vec![row])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        let p = self.params;
        let mut out = Collected::default();
        match &mut self.device {
            Device::Cpu => {
                for _ in 0..iv.ticks {
                    let (a, r) = step(&mut self.v, &p);
                    self.moves.0 += a as u64;
                    self.moves.1 += r as u64;
                }
                if iv.row {
                    let m = metrics(&self.v, p.opinions);
                    out.rows.push(row(&self.v, self.v.tick, m, self.moves));
                    self.moves = (0, 0);
                    self.converged = m.0 == 0;
                }
                self.tick = self.v.tick;
            }
            Device::Gpu(g) => {
                let words = g.run(iv.ticks, iv.row)?;
                self.tick += iv.ticks;
                if let Some(c) = words {
                    let moves = (
                        c[1].wrapping_sub(g.last.0) as u64,
                        c[2].wrapping_sub(g.last.1) as u64,
                    );
                    g.last = (c[1], c[2]);
                    self.converged = c[3] == 0;
                    let row = self.gpu_row(&c, moves);
                    out.rows.push(row);
                }
            }
        }
        self.done.push_back(out);
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        Ok(self.done.pop_front().expect("collect after submit"))
    }

    fn finished(&self) -> bool {
        self.converged
    }

    fn progress(&self, table: &MetricsTable) -> String {
        let discordant = table.rows.last().map_or(0.0, |r| r[1]);
        format!("discordant ties {discordant}")
    }

    fn state(&mut self) -> Result<State> {
        let moves = match &self.device {
            Device::Cpu => self.moves,
            Device::Gpu(g) => {
                g.download(&mut self.v)?;
                let c: Vec<u32> = buffers::read_back(g.ctx, &g.control, 0, 3)?;
                (
                    c[1].wrapping_sub(g.last.0) as u64,
                    c[2].wrapping_sub(g.last.1) as u64,
                )
            }
        };
        let v = &self.v;
        Ok(State::new("voter", self.tick as u64)
            .with("opinion", Per::Agent, Values::U32(v.opinion.clone()))
            .with("degree", Per::Agent, Values::U32(v.ties.degree.clone()))
            .with("neighbor", Per::Slot, Values::U32(v.ties.neighbor.clone()))
            .with("moves", Per::Run, Values::U64(vec![moves.0, moves.1]))
            .with(
                "converged",
                Per::Run,
                Values::U64(vec![self.converged as u64]),
            ))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        let (n, k) = (self.v.ties.n as usize, self.v.ties.slots as usize);
        state.check("voter", n, k)?;
        self.tick = state.tick as u32;
        self.v.tick = self.tick;
        self.v.opinion = state.u32s("opinion")?.to_vec();
        self.v.ties.degree = state.u32s("degree")?.to_vec();
        self.v.ties.neighbor = state.u32s("neighbor")?.to_vec();
        // Every live tie weighs 1; ages are unused.
        for i in 0..n {
            let d = self.v.ties.degree[i] as usize;
            for s in 0..k {
                self.v.ties.weight[i * k + s] = if s < d { 1.0 } else { 0.0 };
                self.v.ties.age[i * k + s] = 0;
            }
        }
        let moves = state.u64s("moves")?;
        self.converged = state.counter("converged")? != 0;
        match &mut self.device {
            Device::Cpu => self.moves = (moves[0], moves[1]),
            Device::Gpu(g) => {
                let q = &g.ctx.queue;
                q.write_buffer(&g.opinion, 0, bytemuck::cast_slice(&self.v.opinion));
                q.write_buffer(&g.neighbor, 0, bytemuck::cast_slice(&self.v.ties.neighbor));
                q.write_buffer(&g.degree, 0, bytemuck::cast_slice(&self.v.ties.degree));
                // control: the tick, then the move counters, read as differences from
                // their values at the last row.
                let c = [self.tick, moves[0] as u32, moves[1] as u32];
                q.write_buffer(&g.control, 0, bytemuck::cast_slice(&c));
                g.last = (0, 0);
            }
        }
        Ok(())
    }
}

impl Run for VoterSim<'_> {
    fn finish(self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        let converged = self.converged;
        let opinions = self.params.opinions;
        let state = self.into_state()?;
        let (discordant, largest, held) = metrics(&state, opinions);
        Ok(Outcome {
            converged,
            components: Some(components::components_cpu(&state.ties)),
            result: Some(serde_json::json!({
                "largest_community": largest as f64 / state.ties.n.max(1) as f64,
                "groups": held,
                "discordant_ties": discordant,
                "opinions": opinions,
            })),
            ..Default::default()
        })
    }
}

/// `model.kind = "voter"`.
pub struct VoterModel;

impl VoterParams {
    /// The parameters of a (validated) scenario of `n` agents.
    pub fn from_config(loaded: &crate::config::Loaded, n: u32) -> VoterParams {
        let s = &loaded.scenario;
        let m = crate::config::VoterConfig::of(&s.model);
        VoterParams {
            rewiring: m.rewire,
            opinions: if m.opinions > 0 {
                m.opinions
            } else {
                (n / 10).max(1)
            },
            seed: s.seed as u32,
            max_ticks: s.ticks as u32,
            metrics_every: s.metrics_every as u32,
        }
    }
}

impl Model for VoterModel {
    fn name(&self) -> &'static str {
        "voter"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "largest_community"
    }

    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick", "discordant_ties", "groups", "adoptions", "rewires"]
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        let (n, k) = (size.agents, size.slots);
        vec![
            DeviceBuffer::new("opinion", 4 * n),
            DeviceBuffer::new("neighbor", 4 * n * k),
            DeviceBuffer::new("degree", 4 * n),
            DeviceBuffer::new("members", 4 * n),
            DeviceBuffer::new("plans", 16 * n),
            DeviceBuffer::new("claims", 4 * n),
            // Opinion counts, starts and cursors: G ≤ N words each.
            DeviceBuffer::new("opinion counts", 4 * n),
            DeviceBuffer::new("opinion starts", 4 * n),
            DeviceBuffer::new("opinion cursors", 4 * n),
        ]
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let p = VoterParams::from_config(start.loaded, start.n());
        let slots = start.loaded.scenario.graph.slots as u32;
        let state = Voter::new(crate::graph::tie_slots(&start.edges, slots, 1.0), &p);
        let device = match backend {
            Backend::Cpu => Device::Cpu,
            Backend::Gpu(ctx) => Device::Gpu(Box::new(GpuVoter::new(ctx, &state, &p)?)),
        };
        Ok(Box::new(VoterSim::new(device, state, &p)))
    }
}
