//! The Deffuant et al. (2000) bounded-confidence model. Each tick pairs of agents that
//! share no member meet; when their opinions differ by less than ε, each moves a share
//! μ of the way towards the other. Well mixed (`graph.kind = "complete"`) the pairs are
//! a random perfect matching of all agents, drawn each tick as consecutive positions of
//! a random permutation ([`Permutation`]); on a graph they are the ties that both ends
//! pick as their highest-priority tie of the tick (a random matching of ties, not
//! maximal). Opinions start U[0, 1].
//!
//! `opinion_clusters` (DESIGN §6) counts the major clusters of the final opinions.

mod cpu;
pub use cpu::*;

use crate::analysis::components;
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
use std::collections::VecDeque;

pub const NONE: u32 = u32::MAX;

pub const COLUMNS: [&str; 6] = [
    "tick",
    "opinion_clusters",
    "clusters",
    "mean_opinion",
    "opinion_sd",
    "updates",
];

/// The control buffer (`deffuant_update.wgsl`): word 0 the device's tick, then the agents
/// updated so far as a 64-bit count (low word, carry) from this word on.
const UPDATES_WORD: u64 = 1;

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

/// The model on the CPU, through the driver.
pub fn run_cpu(mixing: Mixing<'_>, p: &DeffuantParams) -> DeffuantRun {
    let mut sim = DeffuantSim::cpu(mixing_owned(mixing), p);
    let drive = crate::engine::drive(&mut sim, crate::engine::Drive::quiet(p.ticks as u64))
        .expect("the CPU cannot fail");
    DeffuantRun {
        metrics: drive.table,
        opinions: sim.opinions().expect("the CPU cannot fail"),
    }
}

fn mixing_owned(mixing: Mixing<'_>) -> MixingOwned<'_> {
    match mixing {
        Mixing::Complete(n) => MixingOwned::Complete(n),
        Mixing::Graph(csr) => MixingOwned::Graph(Cow::Borrowed(csr)),
    }
}

/// [`Mixing`] that may own its graph (a run started from a scenario does).
enum MixingOwned<'a> {
    Complete(u32),
    Graph(Cow<'a, Csr>),
}

impl MixingOwned<'_> {
    fn borrow(&self) -> Mixing<'_> {
        match self {
            MixingOwned::Complete(n) => Mixing::Complete(*n),
            MixingOwned::Graph(csr) => Mixing::Graph(csr),
        }
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

/// The model on the GPU through the driver: ticks go to the device in submissions of up
/// to 64; at each metrics row the opinions and the update counter are read back.
pub fn run_gpu(
    ctx: &GpuContext,
    n: u32,
    graph: Option<&GpuGraph>,
    p: &DeffuantParams,
) -> Result<DeffuantRun> {
    let mut sim = DeffuantSim::gpu(ctx, n, graph, p)?;
    let drive = crate::engine::drive(&mut sim, crate::engine::Drive::quiet(p.ticks as u64))?;
    Ok(DeffuantRun {
        metrics: drive.table,
        opinions: sim.opinions()?,
    })
}

/// The model on `backend`; `csr` is `None` when well mixed (validate's runs).
pub fn run(
    backend: &Backend,
    n: u32,
    csr: Option<&Csr>,
    p: &DeffuantParams,
) -> Result<DeffuantRun> {
    match backend {
        Backend::Cpu => Ok(run_cpu(csr.map_or(Mixing::Complete(n), Mixing::Graph), p)),
        Backend::Gpu(ctx) => {
            let graph = csr.map(|c| GpuGraph::upload(ctx, c)).transpose()?;
            run_gpu(ctx, n, graph.as_ref(), p)
        }
    }
}

struct CpuDeffuant<'a> {
    mixing: MixingOwned<'a>,
    x: Vec<f32>,
    next: Vec<f32>,
}

struct GpuDeffuant<'a> {
    ctx: &'a GpuContext,
    n: u32,
    x: [wgpu::Buffer; 2],
    control: wgpu::Buffer,
    advance: (wgpu::ComputePipeline, wgpu::BindGroup),
    update_k: wgpu::ComputePipeline,
    update_g: Vec<wgpu::BindGroup>,
    choose: Option<(wgpu::ComputePipeline, wgpu::BindGroup)>,
    /// Which of `x` holds the current opinions.
    current: usize,
    /// The update counter at the last row.
    counted: u64,
    _keep: Vec<wgpu::Buffer>,
}

enum Device<'a> {
    Cpu(CpuDeffuant<'a>),
    Gpu(GpuDeffuant<'a>),
}

/// The model as the driver runs it.
pub struct DeffuantSim<'a> {
    params: DeffuantParams,
    tick: u32,
    device: Device<'a>,
    /// Updates since the last row (CPU).
    updates: u64,
    done: VecDeque<Collected>,
    /// The host copy of the graph (None when well mixed), for the final components.
    host_csr: Option<Csr>,
}

impl<'a> DeffuantSim<'a> {
    fn cpu(mixing: MixingOwned<'a>, p: &DeffuantParams) -> DeffuantSim<'a> {
        let n = mixing.borrow().n();
        let x = initial_opinions(n, p.seed);
        DeffuantSim::with(
            p,
            Device::Cpu(CpuDeffuant {
                mixing,
                x,
                next: vec![0.0f32; n as usize],
            }),
        )
    }

    fn with(p: &DeffuantParams, device: Device<'a>) -> DeffuantSim<'a> {
        DeffuantSim {
            params: *p,
            tick: 0,
            device,
            updates: 0,
            done: VecDeque::new(),
            host_csr: None,
        }
    }

    fn gpu(
        ctx: &'a GpuContext,
        n: u32,
        graph: Option<&GpuGraph>,
        p: &DeffuantParams,
    ) -> Result<DeffuantSim<'a>> {
        let size = Size {
            agents: n as u64,
            ties: graph.map_or(0, |g| g.neighbors.len / 2),
            slots: 0,
            complete: graph.is_none(),
        };
        crate::model::check_fits_on(&Deffuant, &size, ctx)?;
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
        Ok(DeffuantSim::with(
            p,
            Device::Gpu(GpuDeffuant {
                ctx,
                n,
                x,
                control,
                advance: (advance_k, advance_g),
                update_k,
                update_g,
                choose,
                current: 0,
                counted: 0,
                _keep: vec![params, choice],
            }),
        ))
    }

    /// The current opinions (downloads the GPU's).
    pub fn opinions(&self) -> Result<Vec<f32>> {
        match &self.device {
            Device::Cpu(c) => Ok(c.x.clone()),
            Device::Gpu(g) => buffers::read_back(g.ctx, &g.x[g.current], 0, g.n as usize),
        }
    }
}

impl Simulation for DeffuantSim<'_> {
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
        Ok(vec![metrics_row(0, &self.opinions()?, 0)])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        let p = self.params;
        match &mut self.device {
            Device::Cpu(c) => {
                for _ in 0..iv.ticks {
                    self.tick += 1;
                    let partner = partners(c.mixing.borrow(), p.seed, self.tick);
                    self.updates += update(&partner, &p, &c.x, &mut c.next);
                    std::mem::swap(&mut c.x, &mut c.next);
                }
                let mut out = Collected::default();
                if iv.row {
                    out.rows.push(metrics_row(self.tick, &c.x, self.updates));
                    self.updates = 0;
                }
                self.done.push_back(out);
            }
            Device::Gpu(g) => {
                let mut left = iv.ticks;
                while left > 0 {
                    let batch = TICKS_PER_SUBMIT.min(left);
                    let mut encoder = g.ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = encoder.begin_compute_pass(&Default::default());
                        for _ in 0..batch {
                            buffers::dispatch_one(&mut pass, &g.advance.0, &g.advance.1);
                            if let Some((k, group)) = &g.choose {
                                buffers::dispatch(g.ctx, &mut pass, k, group, g.n);
                            }
                            buffers::dispatch(
                                g.ctx,
                                &mut pass,
                                &g.update_k,
                                &g.update_g[g.current],
                                g.n,
                            );
                            g.current = 1 - g.current;
                        }
                    }
                    g.ctx.queue.submit([encoder.finish()]);
                    left -= batch;
                }
                self.tick += iv.ticks;
                let mut out = Collected::default();
                if iv.row {
                    let opinions: Vec<f32> =
                        buffers::read_back(g.ctx, &g.x[g.current], 0, g.n as usize)?;
                    let c: Vec<u32> = buffers::read_back(g.ctx, &g.control, 4 * UPDATES_WORD, 2)?;
                    let total = c[0] as u64 | (c[1] as u64) << 32;
                    out.rows
                        .push(metrics_row(self.tick, &opinions, total - g.counted));
                    g.counted = total;
                }
                self.done.push_back(out);
            }
        }
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        Ok(self.done.pop_front().expect("collect after submit"))
    }

    fn state(&mut self) -> Result<State> {
        // Updates since the last row: the CPU's counter, or the device's total past the
        // total at the last row.
        let pending = match &self.device {
            Device::Cpu(_) => self.updates,
            Device::Gpu(g) => {
                let c: Vec<u32> = buffers::read_back(g.ctx, &g.control, 4 * UPDATES_WORD, 2)?;
                let total = c[0] as u64 | (c[1] as u64) << 32;
                total - g.counted
            }
        };
        Ok(State::new("deffuant", self.tick as u64)
            .with("opinion", Per::Agent, Values::F32(self.opinions()?))
            .with("updates", Per::Run, Values::U64(vec![pending])))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        let x = state.f32s("opinion")?;
        state.check("deffuant", x.len().max(1), 0)?;
        self.tick = state.tick as u32;
        let pending = state.counter("updates")?;
        match &mut self.device {
            Device::Cpu(c) => {
                if x.len() != c.x.len() {
                    return Err(crate::error::Error::bad_input(format!(
                        "state of model deffuant: {} opinions for {} agents",
                        x.len(),
                        c.x.len()
                    )));
                }
                c.x = x.to_vec();
                self.updates = pending;
            }
            Device::Gpu(g) => {
                let q = &g.ctx.queue;
                g.current = 0;
                q.write_buffer(&g.x[0], 0, bytemuck::cast_slice(x));
                // control: the tick, then the 64-bit update counter, which the rows read
                // as a difference from the total at the last row.
                let total = pending;
                g.counted = 0;
                q.write_buffer(
                    &g.control,
                    0,
                    bytemuck::cast_slice(&[self.tick, total as u32, (total >> 32) as u32]),
                );
            }
        }
        Ok(())
    }
}

impl Run for DeffuantSim<'_> {
    fn finish(self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        let (major, all) = opinion_clusters(&self.opinions()?);
        let graph = match &self.device {
            Device::Cpu(CpuDeffuant {
                mixing: MixingOwned::Graph(csr),
                ..
            }) => Some(csr.as_ref()),
            _ => self.host_csr.as_ref(),
        };
        Ok(Outcome {
            components: graph.map(components::components_cpu),
            result: Some(serde_json::json!({
                "opinion_clusters": major,
                "clusters": all,
            })),
            ..Default::default()
        })
    }
}

/// `model.kind = "deffuant"`.
pub struct Deffuant;

impl DeffuantParams {
    /// The parameters of a (validated) scenario.
    pub fn from_config(loaded: &crate::config::Loaded) -> DeffuantParams {
        let s = &loaded.scenario;
        let m = crate::config::DeffuantConfig::of(&s.model);
        DeffuantParams {
            confidence: m.epsilon as f32,
            convergence: m.mu as f32,
            seed: s.seed as u32,
            ticks: s.ticks as u32,
            metrics_every: s.metrics_every as u32,
        }
    }
}

impl Model for Deffuant {
    fn name(&self) -> &'static str {
        "deffuant"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "opinion_clusters"
    }

    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick", "opinion_clusters", "clusters", "updates"]
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        let mut b = crate::backend::csr_buffers(size);
        b.extend([
            DeviceBuffer::new("opinions", 4 * size.agents),
            DeviceBuffer::new("opinions next", 4 * size.agents),
            DeviceBuffer::new("choice", 4 * size.agents),
        ]);
        b
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let p = DeffuantParams::from_config(start.loaded);
        let n = start.n();
        let complete = start.complete();
        let sim = match backend {
            Backend::Cpu => {
                let mixing = if complete {
                    MixingOwned::Complete(n)
                } else {
                    MixingOwned::Graph(Cow::Owned(start.csr))
                };
                DeffuantSim::cpu(mixing, &p)
            }
            Backend::Gpu(ctx) => {
                let graph = (!complete)
                    .then(|| GpuGraph::upload(ctx, &start.csr))
                    .transpose()?;
                let mut sim = DeffuantSim::gpu(ctx, n, graph.as_ref(), &p)?;
                sim.host_csr = (!complete).then_some(start.csr);
                sim
            }
        };
        Ok(Box::new(sim))
    }
}
