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

mod cpu;
pub use cpu::*;

use crate::analysis::{components, theory};
use crate::backend::{Backend, GpuGraph};
use crate::engine::{Collected, Interval, Per, Rows, Simulation, State, Values};
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::io::MetricsTable;
use crate::model::{DeviceBuffer, Model, Outcome, Run, Size, Start};
use crate::rng::{self, Permutation};
use rayon::prelude::*;
use std::borrow::Cow;

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

/// An outbreak on the CPU, until nobody is infectious or `max_ticks`, through the
/// driver.
pub fn run_cpu(csr: &Csr, params: &SirParams) -> Outbreak {
    let mut sim = SirSim::new(csr.n(), params, Device::Cpu(Cow::Borrowed(csr)));
    let _ = crate::engine::drive(
        &mut sim,
        crate::engine::Drive::quiet(params.max_ticks as u64),
    )
    .expect("the CPU cannot fail");
    sim.outbreak().expect("the CPU cannot fail")
}

/// The word of the control buffer (`sir_step.wgsl`) where tick `t`'s new infections are
/// counted; its recoveries follow. Word 0 is the device's tick.
pub(crate) const fn counts_word(t: u32) -> u64 {
    1 + 2 * t as u64
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepParams {
    pub(crate) n: u32,
    pub(crate) seed: u32,
    pub(crate) chunk_len: u32,
    pub(crate) infect_24: u32,
    pub(crate) recover_24: u32,
    pub(crate) _pad: [u32; 3],
}
crate::host_layout! { StepParams { n, seed, chunk_len, infect_24, recover_24, _pad } }

/// An outbreak on the GPU through the driver: ticks are recorded [`TICKS_PER_BATCH`] at
/// a time into one submission; only the batch's per-tick counts are read back between
/// batches.
pub fn run_gpu(ctx: &GpuContext, graph: &GpuGraph, params: &SirParams) -> Result<Outbreak> {
    let mut sim = SirSim::new(
        graph.n,
        params,
        Device::Gpu(GpuSir::new(ctx, graph, params)?),
    );
    crate::engine::drive(
        &mut sim,
        crate::engine::Drive::quiet(params.max_ticks as u64),
    )?;
    sim.outbreak()
}

/// The device state of an outbreak.
pub struct GpuSir<'a> {
    ctx: &'a GpuContext,
    n: u32,
    infected_at: wgpu::Buffer,
    recovered_at: wgpu::Buffer,
    control: wgpu::Buffer,
    step_k: wgpu::ComputePipeline,
    step_g: wgpu::BindGroup,
    advance_k: wgpu::ComputePipeline,
    advance_g: wgpu::BindGroup,
    _params: wgpu::Buffer,
}

impl<'a> GpuSir<'a> {
    pub fn new(ctx: &'a GpuContext, graph: &GpuGraph, params: &SirParams) -> Result<GpuSir<'a>> {
        let n = graph.n;
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
        let infected_at = buffers::storage(ctx, "infected_at", &seed(n, params));
        let recovered_at = buffers::storage(ctx, "recovered_at", &vec![NEVER; n as usize]);
        // Room for the overshoot of the last batch.
        let control_len = counts_word(params.max_ticks + TICKS_PER_BATCH) + 2;
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
        Ok(GpuSir {
            ctx,
            n,
            infected_at,
            recovered_at,
            control,
            step_k,
            step_g,
            advance_k,
            advance_g,
            _params: step_params,
        })
    }
}

/// Where an outbreak's state lives.
pub enum Device<'a> {
    Cpu(Cow<'a, Csr>),
    Gpu(GpuSir<'a>),
}

/// An outbreak on `backend` through the driver (validate's runs).
pub fn run(backend: &Backend, csr: &Csr, params: &SirParams) -> Result<Outbreak> {
    match backend {
        Backend::Cpu => Ok(run_cpu(csr, params)),
        Backend::Gpu(ctx) => run_gpu(ctx, &GpuGraph::upload(ctx, csr)?, params),
    }
}

/// An outbreak as the driver runs it: one row per tick, until nobody is infectious.
pub struct SirSim<'a> {
    params: SirParams,
    n: u32,
    device: Device<'a>,
    /// The host state (the CPU backend's, or the GPU's once downloaded).
    infected_at: Vec<u32>,
    recovered_at: Vec<u32>,
    new_infections: Vec<u32>,
    recoveries: Vec<u32>,
    infectious: u64,
    /// Ticks done on the device (the first tick of the next batch is `done + 1`).
    done: u32,
    pending: Option<u32>,
    /// The host copy of a GPU run's graph, for the final components.
    host_csr: Option<Csr>,
    /// The graph's mean degree, for the theory's final size.
    mean_degree: f64,
}

impl<'a> SirSim<'a> {
    pub fn new(n: u32, params: &SirParams, device: Device<'a>) -> SirSim<'a> {
        let infected_at = seed(n, params);
        let first = infected_at.iter().filter(|&&a| a == 0).count() as u32;
        SirSim {
            params: *params,
            n,
            recovered_at: vec![NEVER; n as usize],
            device,
            infected_at,
            new_infections: vec![first],
            recoveries: vec![0],
            infectious: first as u64,
            done: 0,
            pending: None,
            host_csr: None,
            mean_degree: 0.0,
        }
    }

    /// The outbreak so far (downloads the GPU's state).
    pub fn outbreak(&mut self) -> Result<Outbreak> {
        if let Device::Gpu(g) = &self.device {
            self.infected_at = buffers::read_back(g.ctx, &g.infected_at, 0, g.n as usize)?;
            self.recovered_at = buffers::read_back(g.ctx, &g.recovered_at, 0, g.n as usize)?;
        }
        Ok(Outbreak {
            infected_at: self.infected_at.clone(),
            recovered_at: self.recovered_at.clone(),
            new_infections: self.new_infections.clone(),
            recoveries: self.recoveries.clone(),
            converged: self.infectious == 0,
        })
    }

    /// The row of tick `t` (cumulative counts up to it).
    fn row(&self, t: usize) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        let ever: u64 = self.new_infections[..=t].iter().map(|&c| c as u64).sum();
        let rec: u64 = self.recoveries[..=t].iter().map(|&c| c as u64).sum();
        vec![
            t as f64,
            1.0 - ever as f64 / n,
            (ever - rec) as f64 / n,
            rec as f64 / n,
            self.new_infections[t] as f64,
            self.recoveries[t] as f64,
        ]
    }
}

impl Simulation for SirSim<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn start_tick(&self) -> u64 {
        self.new_infections.len() as u64 - 1
    }

    fn rows(&self) -> Rows {
        Rows::EachTick {
            batch: TICKS_PER_BATCH,
        }
    }

    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>> {
        Ok(vec![self.row(0)])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        if let Device::Gpu(g) = &self.device {
            let counter = (&g.advance_k, &g.advance_g);
            buffers::submit_counted_ticks(g.ctx, iv.ticks, counter, (&g.step_k, &g.step_g), g.n);
        }
        self.pending = Some(iv.ticks);
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        let batch = self.pending.take().expect("collect after submit");
        let first = self.new_infections.len();
        match &self.device {
            Device::Cpu(csr) => {
                for _ in 0..batch {
                    let t = self.new_infections.len() as u32;
                    let (c, r) = step(
                        csr,
                        &self.params,
                        t,
                        &mut self.infected_at,
                        &mut self.recovered_at,
                    );
                    self.new_infections.push(c);
                    self.recoveries.push(r);
                    self.infectious = self.infectious + c as u64 - r as u64;
                    if self.infectious == 0 {
                        break;
                    }
                }
            }
            Device::Gpu(g) => {
                let counts: Vec<u32> = buffers::read_back(
                    g.ctx,
                    &g.control,
                    4 * counts_word(self.done + 1),
                    2 * batch as usize,
                )?;
                self.done += batch;
                // Ticks past the end in the last batch changed nothing (nobody was
                // infectious).
                for pair in counts.chunks(2) {
                    self.new_infections.push(pair[0]);
                    self.recoveries.push(pair[1]);
                    self.infectious = self.infectious + pair[0] as u64 - pair[1] as u64;
                    if self.infectious == 0 {
                        break;
                    }
                }
            }
        }
        Ok(Collected {
            rows: (first..self.new_infections.len())
                .map(|t| self.row(t))
                .collect(),
            frame: None,
        })
    }

    fn finished(&self) -> bool {
        self.infectious == 0
    }

    fn progress(&self, _table: &MetricsTable) -> String {
        let ever: u64 = self.new_infections.iter().map(|&c| c as u64).sum();
        format!("ever infected {ever}")
    }

    fn state(&mut self) -> Result<State> {
        let outbreak = self.outbreak()?;
        Ok(State::new("sir", self.start_tick())
            .with("infected_at", Per::Agent, Values::U32(outbreak.infected_at))
            .with(
                "recovered_at",
                Per::Agent,
                Values::U32(outbreak.recovered_at),
            )
            .with(
                "new_infections",
                Per::Run,
                Values::U32(outbreak.new_infections),
            )
            .with("recoveries", Per::Run, Values::U32(outbreak.recoveries)))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        state.check("sir", self.n as usize, 0)?;
        self.infected_at = state.u32s("infected_at")?.to_vec();
        self.recovered_at = state.u32s("recovered_at")?.to_vec();
        self.new_infections = state.u32s("new_infections")?.to_vec();
        self.recoveries = state.u32s("recoveries")?.to_vec();
        if self.new_infections.len() != state.tick as usize + 1 {
            return Err(crate::error::Error::bad_input(format!(
                "state of model sir: {} per-tick counts for tick {}",
                self.new_infections.len(),
                state.tick
            )));
        }
        let ever: u64 = self.new_infections.iter().map(|&c| c as u64).sum();
        let rec: u64 = self.recoveries.iter().map(|&c| c as u64).sum();
        self.infectious = ever - rec;
        self.done = state.tick as u32;
        if let Device::Gpu(g) = &self.device {
            let q = &g.ctx.queue;
            q.write_buffer(&g.infected_at, 0, bytemuck::cast_slice(&self.infected_at));
            q.write_buffer(&g.recovered_at, 0, bytemuck::cast_slice(&self.recovered_at));
            // control[0] is the device's tick; the per-tick counts after it start at 0.
            q.write_buffer(&g.control, 0, bytemuck::cast_slice(&[self.done]));
        }
        Ok(())
    }
}

/// `model.kind = "sir"`.
pub struct Sir;

impl Model for Sir {
    fn name(&self) -> &'static str {
        "sir"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "recovered"
    }

    fn row_every_tick(&self) -> bool {
        true
    }

    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick", "new_infections", "recoveries"]
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        let mut b = crate::backend::csr_buffers(size);
        b.extend([
            DeviceBuffer::new("infected_at", 4 * size.agents),
            DeviceBuffer::new("recovered_at", 4 * size.agents),
        ]);
        b
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let params = SirParams::from_config(start.loaded);
        let n = start.n();
        let mean_degree = start.graph.mean_degree;
        let mut sim = match backend {
            Backend::Cpu => SirSim::new(n, &params, Device::Cpu(Cow::Owned(start.csr))),
            Backend::Gpu(ctx) => {
                let graph = GpuGraph::upload(ctx, &start.csr)?;
                let mut sim =
                    SirSim::new(n, &params, Device::Gpu(GpuSir::new(ctx, &graph, &params)?));
                sim.host_csr = Some(start.csr);
                sim
            }
        };
        sim.mean_degree = mean_degree;
        Ok(Box::new(sim))
    }
}

impl SirParams {
    /// The parameters of a (validated) scenario.
    pub fn from_config(loaded: &crate::config::Loaded) -> SirParams {
        let s = &loaded.scenario;
        let m = crate::config::SirConfig::of(&s.model);
        SirParams {
            infection: m.beta,
            recovery: m.gamma,
            initial_infected: m.initial_infected,
            seed: s.seed as u32,
            max_ticks: s.ticks as u32,
        }
    }
}

impl Run for SirSim<'_> {
    fn finish(mut self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        let outbreak = self.outbreak()?;
        let t = self.params.transmissibility();
        let csr = match (&self.device, &self.host_csr) {
            (Device::Cpu(csr), _) => csr.as_ref(),
            (_, Some(csr)) => csr,
            _ => unreachable!("a GPU run keeps its graph"),
        };
        Ok(Outcome {
            converged: outbreak.converged,
            components: Some(components::components_cpu(csr)),
            result: Some(serde_json::json!({
                "final_size": outbreak.final_size(),
                "transmissibility": t,
                "theory_final_size_major": theory::er_giant_component(self.mean_degree * t),
            })),
            ..Default::default()
        })
    }
}
