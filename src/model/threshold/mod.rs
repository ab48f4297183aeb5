//! The Watts (2002) threshold cascade on a static graph. Each agent activates when the
//! active share of its ties reaches θ; activation is irreversible; sweeps are
//! synchronous (every agent sees the state at the start of the sweep) and run until a
//! sweep activates nobody. The test `m ≥ θ·k` is done in integers,
//! `100·m ≥ round(100·θ)·k`, so the GPU and the CPU decide identically.
//!
//! State: `activated_at[i]` is the sweep in which agent i became active (0 for seeds,
//! [`NEVER`] otherwise). Agent j counts as active in sweep s when `activated_at[j] < s`,
//! so one buffer holds the state without a second copy per sweep.

mod cpu;
pub use cpu::*;

use crate::analysis::components::{self, ComponentStats};
use crate::backend::{Backend, GpuGraph};
use crate::engine::{Collected, Interval, Per, Rows, Simulation, State, Values};
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::io::MetricsTable;
use crate::model::{DeviceBuffer, Model, Outcome, Run, Size, Start};
use crate::rng;
use rayon::prelude::*;
use std::borrow::Cow;
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
        let mut table = crate::io::MetricsTable::new(&COLUMNS);
        let mut total = 0u64;
        for (s, &c) in self.new_per_sweep.iter().enumerate() {
            total += c as u64;
            table.push(vec![s as f64, total as f64 / n, c as f64, components.s1()]);
        }
        table
    }
}

/// The cascade on the CPU. Same decisions as [`sweep`], but work-efficient: from sweep 2
/// on, an agent's active count can only have grown if a neighbour activated in the
/// previous sweep, so only those agents are examined (O(N + M) over the whole cascade
/// instead of O(sweeps · M)). Sweep 1 examines everyone: with θ = 0 an agent activates
/// with no active neighbour at all.
pub fn run_cpu(csr: &Csr, params: &ThresholdParams) -> Cascade {
    let mut sim = CascadeSim::cpu(Cow::Borrowed(csr), params);
    let _ = crate::engine::drive(
        &mut sim,
        crate::engine::Drive::quiet(params.max_sweeps as u64),
    )
    .expect("the CPU cannot fail");
    sim.cascade().expect("the CPU cannot fail")
}

/// The CPU state of a cascade between sweeps.
struct CpuCascade<'a> {
    csr: Cow<'a, Csr>,
    activated_at: Vec<AtomicU32>,
    /// The agents activated in the last sweep.
    frontier: Vec<u32>,
}

impl CpuCascade<'_> {
    /// Sweep `s`; returns how many activated.
    fn sweep(&mut self, theta_pct: u32, s: u32) -> u32 {
        let (csr, activated_at) = (&*self.csr, &self.activated_at);
        let n = csr.n();
        let candidates: Vec<u32> = if s == 1 {
            (0..n)
                .into_par_iter()
                .filter(|&i| activated_at[i as usize].load(Relaxed) == NEVER)
                .collect()
        } else {
            let mut c: Vec<u32> = self
                .frontier
                .par_iter()
                .flat_map_iter(|&a| csr.neighbors(a).iter().copied())
                .filter(|&j| activated_at[j as usize].load(Relaxed) == NEVER)
                .collect();
            c.par_sort_unstable();
            c.dedup();
            c
        };
        // Decide all first, then apply: the sweep reads the state at its start.
        self.frontier = candidates
            .into_par_iter()
            .filter(|&i| activates(csr, theta_pct, s, i, activated_at))
            .collect();
        self.frontier
            .par_iter()
            .for_each(|&i| activated_at[i as usize].store(s, Relaxed));
        self.frontier.len() as u32
    }
}

/// The word of the control buffer (`threshold_seed.wgsl`, `threshold_sweep.wgsl`) where
/// sweep `s`'s activations are counted; word 0 is the device's sweep.
pub(crate) const fn activations_word(s: u32) -> u64 {
    1 + s as u64
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
    pub(crate) n: u32,
    pub(crate) theta_pct: u32,
    pub(crate) chunk_len: u32,
    pub(crate) _pad: u32,
}
crate::host_layout! { SweepParams { n, theta_pct, chunk_len, _pad } }

/// The device state of a cascade.
struct GpuCascade<'a> {
    ctx: &'a GpuContext,
    n: u32,
    activated_at: wgpu::Buffer,
    control: wgpu::Buffer,
    sweep_k: wgpu::ComputePipeline,
    sweep_g: wgpu::BindGroup,
    advance_k: wgpu::ComputePipeline,
    advance_g: wgpu::BindGroup,
}

impl<'a> GpuCascade<'a> {
    /// Upload the graph's cascade state and seed it on the device; returns the seeds'
    /// count too.
    fn new(ctx: &'a GpuContext, graph: &GpuGraph, params: &ThresholdParams) -> Result<(Self, u32)> {
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
        // control[0] = current sweep, control[1 + s] = activations in sweep s; room for
        // the overshoot of the last batch.
        let control_len = activations_word(params.max_sweeps + SWEEPS_PER_BATCH) + 1;
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
        let seeds: Vec<u32> = buffers::read_back(ctx, &control, 4 * activations_word(0), 1)?;
        Ok((
            GpuCascade {
                ctx,
                n,
                activated_at,
                control,
                sweep_k,
                sweep_g,
                advance_k,
                advance_g,
            },
            seeds[0],
        ))
    }
}

enum Device<'a> {
    Cpu(CpuCascade<'a>),
    Gpu(GpuCascade<'a>),
}

/// A cascade as the driver runs it: one row per sweep, until a sweep activates nobody.
pub struct CascadeSim<'a> {
    params: ThresholdParams,
    n: u32,
    device: Device<'a>,
    new_per_sweep: Vec<u32>,
    converged: bool,
    /// Sweeps done on the device.
    done: u32,
    pending: Option<u32>,
    /// S1 of the graph, a constant column of every row.
    s1: f64,
    components: Option<ComponentStats>,
}

impl<'a> CascadeSim<'a> {
    fn cpu(csr: Cow<'a, Csr>, params: &ThresholdParams) -> CascadeSim<'a> {
        let n = csr.n();
        let activated_at: Vec<AtomicU32> =
            seed(n, params).into_iter().map(AtomicU32::new).collect();
        let frontier: Vec<u32> = (0..n)
            .into_par_iter()
            .filter(|&i| activated_at[i as usize].load(Relaxed) == 0)
            .collect();
        let seeds = frontier.len() as u32;
        CascadeSim::with(
            n,
            params,
            Device::Cpu(CpuCascade {
                csr,
                activated_at,
                frontier,
            }),
            seeds,
        )
    }

    fn gpu(
        ctx: &'a GpuContext,
        graph: &GpuGraph,
        params: &ThresholdParams,
    ) -> Result<CascadeSim<'a>> {
        let (device, seeds) = GpuCascade::new(ctx, graph, params)?;
        Ok(CascadeSim::with(
            graph.n,
            params,
            Device::Gpu(device),
            seeds,
        ))
    }

    fn with(n: u32, params: &ThresholdParams, device: Device<'a>, seeds: u32) -> CascadeSim<'a> {
        CascadeSim {
            params: *params,
            n,
            device,
            new_per_sweep: vec![seeds],
            converged: false,
            done: 0,
            pending: None,
            s1: 0.0,
            components: None,
        }
    }

    /// The cascade so far (downloads the GPU's state).
    pub fn cascade(&self) -> Result<Cascade> {
        let activated_at = match &self.device {
            Device::Cpu(c) => c.activated_at.iter().map(|a| a.load(Relaxed)).collect(),
            Device::Gpu(g) => buffers::read_back(g.ctx, &g.activated_at, 0, g.n as usize)?,
        };
        Ok(Cascade {
            activated_at,
            new_per_sweep: self.new_per_sweep.clone(),
            converged: self.converged,
        })
    }

    fn row(&self, s: usize) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        let total: u64 = self.new_per_sweep[..=s].iter().map(|&c| c as u64).sum();
        vec![
            s as f64,
            total as f64 / n,
            self.new_per_sweep[s] as f64,
            self.s1,
        ]
    }
}

/// A cascade on `backend` through the driver, with the graph's components (validate's and
/// bench's runs).
pub fn run(
    backend: &Backend,
    csr: &Csr,
    params: &ThresholdParams,
) -> Result<(ComponentStats, Cascade)> {
    match backend {
        Backend::Cpu => Ok((components::components_cpu(csr), run_cpu(csr, params))),
        Backend::Gpu(ctx) => {
            let graph = GpuGraph::upload(ctx, csr)?;
            let (comps, _) = components::components_gpu(ctx, &graph)?;
            Ok((comps, run_gpu(ctx, &graph, params)?))
        }
    }
}

/// The cascade on the GPU through the driver: sweeps are recorded [`SWEEPS_PER_BATCH`] at
/// a time into one submission; only the per-sweep counts of the batch are read back
/// between batches.
pub fn run_gpu(ctx: &GpuContext, graph: &GpuGraph, params: &ThresholdParams) -> Result<Cascade> {
    let mut sim = CascadeSim::gpu(ctx, graph, params)?;
    crate::engine::drive(
        &mut sim,
        crate::engine::Drive::quiet(params.max_sweeps as u64),
    )?;
    sim.cascade()
}

impl Simulation for CascadeSim<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn start_tick(&self) -> u64 {
        self.new_per_sweep.len() as u64 - 1
    }

    fn rows(&self) -> Rows {
        Rows::EachTick {
            batch: SWEEPS_PER_BATCH,
        }
    }

    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>> {
        Ok(vec![self.row(0)])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        if let Device::Gpu(g) = &self.device {
            let counter = (&g.advance_k, &g.advance_g);
            buffers::submit_counted_ticks(g.ctx, iv.ticks, counter, (&g.sweep_k, &g.sweep_g), g.n);
        }
        self.pending = Some(iv.ticks);
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        let batch = self.pending.take().expect("collect after submit");
        let first = self.new_per_sweep.len();
        let theta_pct = self.params.theta_pct();
        match &mut self.device {
            Device::Cpu(c) => {
                for _ in 0..batch {
                    let s = self.new_per_sweep.len() as u32;
                    let count = c.sweep(theta_pct, s);
                    self.new_per_sweep.push(count);
                    if count == 0 {
                        self.converged = true;
                        break;
                    }
                }
            }
            Device::Gpu(g) => {
                let counts: Vec<u32> = buffers::read_back(
                    g.ctx,
                    &g.control,
                    4 * activations_word(self.done + 1),
                    batch as usize,
                )?;
                self.done += batch;
                // Sweeps past convergence in the batch changed nothing (nobody could
                // activate).
                for count in counts {
                    self.new_per_sweep.push(count);
                    if count == 0 {
                        self.converged = true;
                        break;
                    }
                }
            }
        }
        Ok(Collected {
            rows: (first..self.new_per_sweep.len())
                .map(|s| self.row(s))
                .collect(),
            frame: None,
        })
    }

    fn finished(&self) -> bool {
        self.converged
    }

    fn progress(&self, _table: &MetricsTable) -> String {
        let active: u64 = self.new_per_sweep.iter().map(|&c| c as u64).sum();
        format!("active {active}")
    }

    fn state(&mut self) -> Result<State> {
        let cascade = self.cascade()?;
        Ok(State::new("threshold", self.start_tick())
            .with(
                "activated_at",
                Per::Agent,
                Values::U32(cascade.activated_at),
            )
            .with(
                "new_per_sweep",
                Per::Run,
                Values::U32(cascade.new_per_sweep),
            )
            .with(
                "converged",
                Per::Run,
                Values::U64(vec![cascade.converged as u64]),
            )
            .with("s1", Per::Run, Values::F64(vec![self.s1])))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        state.check("threshold", self.n as usize, 0)?;
        let activated_at = state.u32s("activated_at")?;
        self.new_per_sweep = state.u32s("new_per_sweep")?.to_vec();
        self.converged = state.counter("converged")? != 0;
        self.s1 = state.f64s("s1")?.first().copied().unwrap_or(0.0);
        let s = self.new_per_sweep.len() as u32 - 1;
        self.done = s;
        match &mut self.device {
            Device::Cpu(c) => {
                c.activated_at = activated_at.iter().map(|&a| AtomicU32::new(a)).collect();
                // The frontier is who activated in the last sweep.
                c.frontier = (0..self.n)
                    .filter(|&i| activated_at[i as usize] == s)
                    .collect();
            }
            Device::Gpu(g) => {
                let q = &g.ctx.queue;
                q.write_buffer(&g.activated_at, 0, bytemuck::cast_slice(activated_at));
                q.write_buffer(&g.control, 0, bytemuck::cast_slice(&[s]));
            }
        }
        Ok(())
    }
}

impl Run for CascadeSim<'_> {
    fn finish(self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        Ok(Outcome {
            converged: self.converged,
            components: self.components,
            ..Default::default()
        })
    }
}

/// Metrics columns of the cascade, one row per sweep.
pub const COLUMNS: [&str; 4] = ["tick", "active_fraction", "newly_active", "s1"];

/// `model.kind = "threshold"`.
pub struct Threshold;

impl ThresholdParams {
    /// The parameters of a (validated) scenario.
    pub fn from_config(loaded: &crate::config::Loaded) -> ThresholdParams {
        let s = &loaded.scenario;
        let m = crate::config::ThresholdConfig::of(&s.model);
        ThresholdParams {
            theta: m.theta,
            seed_fraction: m.seed_fraction,
            seed: s.seed as u32,
            max_sweeps: s.ticks as u32,
        }
    }
}

impl Model for Threshold {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "active_fraction"
    }

    fn unit(&self) -> &'static str {
        "sweeps"
    }

    fn row_every_tick(&self) -> bool {
        true
    }

    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick", "newly_active"]
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        let mut b = crate::backend::csr_buffers(size);
        b.extend([
            DeviceBuffer::new("activated_at", 4 * size.agents),
            DeviceBuffer::new("component parent", 4 * size.agents),
            DeviceBuffer::new("component sizes", 4 * size.agents),
        ]);
        b
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let params = ThresholdParams::from_config(start.loaded);
        let mut sim = match backend {
            Backend::Cpu => {
                let comps = components::components_cpu(&start.csr);
                let mut sim = CascadeSim::cpu(Cow::Owned(start.csr), &params);
                sim.components = Some(comps);
                sim
            }
            Backend::Gpu(ctx) => {
                let graph = GpuGraph::upload(ctx, &start.csr)?;
                let (comps, _) = components::components_gpu(ctx, &graph)?;
                let mut sim = CascadeSim::gpu(ctx, &graph, &params)?;
                sim.components = Some(comps);
                sim
            }
        };
        sim.s1 = sim.components.as_ref().map_or(0.0, ComponentStats::s1);
        Ok(Box::new(sim))
    }
}
