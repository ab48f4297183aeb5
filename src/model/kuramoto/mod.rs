//! Kuramoto oscillators, all-to-all or on a graph.
//!
//! Integrated by the classical fourth-order Runge–Kutta method (explicit Euler at
//! dt = 0.05 lowers r by about 0.012 at K = 3, an O(dt) bias; RK4's is below 10⁻⁵).
//! All-to-all (`graph.kind = "complete"`): dθ_i/dt = ω_i + (K/N) Σ_j sin(θ_j − θ_i)
//! = ω_i + K r sin(ψ − θ_i), with r e^{iψ} = (1/N) Σ_j e^{iθ_j} reduced on the device in a
//! fixed order each step; for Lorentzian ω of width γ the stationary r = sqrt(1 − 2γ/K)
//! above K_c = 2γ. On a graph: dθ_i/dt = ω_i + K Σ_j A_ij sin(θ_j − θ_i) (no 1/N), with
//! onset at K_c = K_0/λ_max (Restrepo, Ott & Hunt 2005), K_0 = 2/(π g(0)); λ_max comes
//! from a power iteration on the same backend ([`lambda_max_cpu`], [`lambda_max_gpu`]).
//!
//! Frequencies are the distribution's quantiles ω = F⁻¹((π(i) + ½)/N), dealt to agents by
//! a random permutation π; phases start uniform on the circle. r is averaged over the
//! last `average_ticks` samples (the state after each of those ticks).

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
use std::f32::consts::{PI, TAU};

pub const COLUMNS: [&str; 4] = ["tick", "time", "order", "psi"];

/// Agents per partial sum, on both backends (one GPU workgroup).
const GROUP: usize = 64;
/// Ticks per GPU submission between metrics rows.
const TICKS_PER_SUBMIT: u32 = 64;
/// Power-iteration steps for λ_max.
pub const POWER_STEPS: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequencies {
    Lorentzian,
    Gaussian,
}

impl Frequencies {
    /// The density at the centre, g(0).
    pub fn g0(self, width: f64) -> f64 {
        match self {
            Frequencies::Lorentzian => 1.0 / (std::f64::consts::PI * width),
            Frequencies::Gaussian => 1.0 / (width * (2.0 * std::f64::consts::PI).sqrt()),
        }
    }

    /// The quantile function.
    pub fn quantile(self, width: f64, u: f64) -> f64 {
        match self {
            Frequencies::Lorentzian => width * (std::f64::consts::PI * (u - 0.5)).tan(),
            Frequencies::Gaussian => width * inverse_normal_cdf(u),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct KuramotoParams {
    /// K.
    pub coupling: f32,
    pub dt: f32,
    pub frequencies: Frequencies,
    /// γ (Lorentzian half width) or σ (Gaussian sd).
    pub width: f64,
    pub seed: u32,
    pub ticks: u32,
    pub metrics_every: u32,
    /// Samples averaged into `r_mean`: the states after the last `average_ticks` ticks.
    pub average_ticks: u32,
}

impl KuramotoParams {
    /// The oracles' setting: Lorentzian frequencies of half width γ = 1 (K_0 = 2), RK4 at
    /// dt = 0.05, one metrics row at the end, r averaged over the second half of the run.
    pub fn lorentzian(coupling: f64, seed: u32, ticks: u32) -> KuramotoParams {
        KuramotoParams {
            coupling: coupling as f32,
            dt: 0.05,
            frequencies: Frequencies::Lorentzian,
            width: 1.0,
            seed,
            ticks,
            metrics_every: ticks,
            average_ticks: ticks / 2,
        }
    }

    /// K_0 = 2 / (π g(0)), the all-to-all critical coupling.
    pub fn k0(&self) -> f64 {
        2.0 / (std::f64::consts::PI * self.frequencies.g0(self.width))
    }

    fn average_after(&self) -> u32 {
        self.ticks - self.average_ticks.min(self.ticks)
    }
}

/// Φ⁻¹ by Acklam's rational approximation (relative error below 1.2·10⁻⁹), enough for
/// frequency quantiles.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The natural frequencies: quantiles dealt by a random permutation.
pub fn frequencies(n: u32, p: &KuramotoParams) -> Vec<f32> {
    let perm = Permutation::new(n, rng::rand4(p.seed, 0, 0, rng::stream::KURAMOTO_FREQ));
    (0..n)
        .into_par_iter()
        .map(|i| {
            let u = (perm.apply(i) as f64 + 0.5) / n as f64;
            p.frequencies.quantile(p.width, u) as f32
        })
        .collect()
}

/// Initial phases, uniform in [-π, π).
pub fn initial_phases(n: u32, seed: u32) -> Vec<f32> {
    (0..n)
        .into_par_iter()
        .map(|i| wrap(TAU * rng::uniform(rng::rand(seed, 0, i, rng::stream::KURAMOTO_PHASE)) - PI))
        .collect()
}

/// Twin of `wrap` in `shaders/shared/kuramoto.wgsl`.
#[inline]
pub fn wrap(theta: f32) -> f32 {
    theta - TAU * ((theta + PI) / TAU).floor()
}

/// RK4 stage offsets c and weights w (the step adds dt/6 · Σ w_s k_s).
pub const STAGE_C: [f32; 4] = [0.0, 0.5, 0.5, 1.0];
pub const STAGE_W: [f32; 4] = [1.0, 2.0, 2.0, 1.0];

/// The buffers of one RK4 step on the CPU.
pub struct Stages<'a> {
    pub theta: &'a [f32],
    pub k_in: &'a [f32],
    pub k_out: &'a mut [f32],
    pub acc: &'a mut [f32],
    pub theta_next: &'a mut [f32],
}

/// One RK4 step on the CPU from θ (whose order parameter `r_psi` is known) into `next`.
fn rk4_step(
    graph: Option<&Csr>,
    p: &KuramotoParams,
    omega: &[f32],
    r_psi: (f32, f32),
    theta: &[f32],
    scratch: &mut [Vec<f32>; 3],
    next: &mut [f32],
) {
    let [k_prev, k_next, acc] = scratch;
    for (s, &c) in STAGE_C.iter().enumerate() {
        let rp = match (graph, s) {
            (None, 0) => r_psi,
            (None, _) => order_at(theta, k_prev, c, p.dt),
            _ => (0.0, 0.0),
        };
        stage(
            graph,
            p,
            omega,
            rp,
            s,
            Stages {
                theta,
                k_in: k_prev,
                k_out: k_next,
                acc,
                theta_next: next,
            },
        );
        std::mem::swap(k_prev, k_next);
    }
}

/// The outcome: metrics rows and the time average of r.
pub struct KuramotoRun {
    pub metrics: MetricsTable,
    pub r_mean: f64,
    pub theta: Vec<f32>,
}

/// The model on the CPU, through the driver.
pub fn run_cpu(n: u32, graph: Option<&Csr>, p: &KuramotoParams) -> KuramotoRun {
    let mut sim = KuramotoSim::cpu(n, graph.map(Cow::Borrowed), p);
    sim.drive().expect("the CPU cannot fail")
}

/// The start vector of the power iteration: positive, random.
fn power_start(n: u32, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| 1.0 + rng::uniform(rng::rand(seed, 0, i, rng::stream::POWER_START)))
        .collect()
}

/// λ_max of the adjacency matrix by [`POWER_STEPS`] power-iteration steps: ||A x̂||.
pub fn lambda_max_cpu(csr: &Csr, seed: u32) -> f64 {
    let mut x = power_start(csr.n(), seed);
    let mut y = vec![0.0f32; x.len()];
    for _ in 0..POWER_STEPS {
        let nx = norm(&x);
        power_step(csr, &x, nx, &mut y);
        std::mem::swap(&mut x, &mut y);
    }
    norm(&x) as f64
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GpuParams {
    n: u32,
    groups: u32,
    complete: u32,
    chunk_len: u32,
    coupling: f32,
    dt: f32,
    average_after: u32,
    _pad: u32,
}
crate::host_layout! {
    GpuParams {
        n, groups, complete, chunk_len, coupling, dt, average_after, _pad
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Control {
    k: u32,
    r: f32,
    psi: f32,
    r_sum: f32,
    samples: u32,
    norm: f32,
    stage_r: f32,
    stage_psi: f32,
}
crate::host_layout! { Control { k, r, psi, r_sum, samples, norm, stage_r, stage_psi } }

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Mode {
    kind: u32,
    c: f32,
    measure: u32,
    _pad: u32,
}
crate::host_layout! { Mode { kind, c, measure, _pad } }

/// The reductions' modes: RK4 stages 0–3 (stage 0 is the sample), then the norm.
const MODES: [Mode; 5] = [
    Mode {
        kind: 0,
        c: STAGE_C[0],
        measure: 1,
        _pad: 0,
    },
    Mode {
        kind: 0,
        c: STAGE_C[1],
        measure: 0,
        _pad: 0,
    },
    Mode {
        kind: 0,
        c: STAGE_C[2],
        measure: 0,
        _pad: 0,
    },
    Mode {
        kind: 0,
        c: STAGE_C[3],
        measure: 0,
        _pad: 0,
    },
    Mode {
        kind: 1,
        c: 0.0,
        measure: 0,
        _pad: 0,
    },
];
const NORM: usize = 4;

/// The buffers and pipelines the Kuramoto passes share on the device.
struct Device {
    params: wgpu::Buffer,
    partials: wgpu::Buffer,
    control: wgpu::Buffer,
    modes: Vec<wgpu::Buffer>,
    partial_k: wgpu::ComputePipeline,
    final_k: wgpu::ComputePipeline,
    final_g: Vec<wgpu::BindGroup>,
    /// Bindings 0–4 for a kernel that imports `csr` when there is no graph, and a
    /// stand-in for unused array bindings.
    dummy: Vec<wgpu::Buffer>,
}

impl Device {
    fn new(ctx: &GpuContext, n: u32, graph: Option<&GpuGraph>, p: &KuramotoParams) -> Result<Self> {
        let groups = n.div_ceil(GROUP as u32);
        let params = buffers::uniform(
            ctx,
            "kuramoto params",
            &GpuParams {
                n,
                groups,
                complete: graph.is_none() as u32,
                chunk_len: graph.map_or(1, |g| g.neighbors.chunk_len),
                coupling: p.coupling,
                dt: p.dt,
                average_after: p.average_after(),
                _pad: 0,
            },
        );
        let partials = buffers::zeroed(ctx, "partials", groups as u64 * 16);
        let control = buffers::zeroed(ctx, "control", 32);
        let modes: Vec<_> = MODES
            .iter()
            .map(|m| buffers::uniform(ctx, "mode", m))
            .collect();
        let partial_k = shaders::pipeline(&ctx.device, "kuramoto_order_partial")?;
        let final_k = shaders::pipeline(&ctx.device, "kuramoto_order_final")?;
        let final_g = modes
            .iter()
            .map(|m| {
                buffers::bind(
                    ctx,
                    &final_k,
                    &[(0, &params), (2, &partials), (3, m), (4, &control)],
                )
            })
            .collect();
        let dummy = (0..6).map(|_| buffers::zeroed(ctx, "unused", 4)).collect();
        Ok(Device {
            params,
            partials,
            control,
            modes,
            partial_k,
            final_k,
            final_g,
            dummy,
        })
    }

    fn csr_bindings<'a>(&'a self, graph: Option<&'a GpuGraph>) -> Vec<(u32, &'a wgpu::Buffer)> {
        match graph {
            Some(g) => g.csr_bindings(),
            None => self.dummy[..5]
                .iter()
                .enumerate()
                .map(|(k, b)| (k as u32, b))
                .collect(),
        }
    }

    /// The partial-sum bind group of `values` (and `k_in` for the stage states) in `mode`.
    fn reduce_group(
        &self,
        ctx: &GpuContext,
        values: &wgpu::Buffer,
        k_in: Option<&wgpu::Buffer>,
        mode: usize,
    ) -> wgpu::BindGroup {
        buffers::bind(
            ctx,
            &self.partial_k,
            &[
                (0, &self.params),
                (1, values),
                (2, &self.partials),
                (3, &self.modes[mode]),
                (5, k_in.unwrap_or(&self.dummy[5])),
            ],
        )
    }

    fn reduce(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        n: u32,
        mode: usize,
    ) {
        buffers::dispatch(ctx, pass, &self.partial_k, group, n);
        buffers::dispatch_one(pass, &self.final_k, &self.final_g[mode]);
    }

    fn control(&self, ctx: &GpuContext) -> Result<Control> {
        Ok(buffers::read_back::<Control>(ctx, &self.control, 0, 1)?[0])
    }
}

/// The model on the GPU through the driver: ticks between metrics rows in submissions of
/// up to 64 (a reduction and four stage passes each, three more reductions all-to-all); a
/// row reads back the 32-byte control block.
pub fn run_gpu(
    ctx: &GpuContext,
    n: u32,
    graph: Option<&GpuGraph>,
    p: &KuramotoParams,
) -> Result<KuramotoRun> {
    let mut sim = KuramotoSim::gpu(ctx, n, graph, p)?;
    sim.drive()
}

/// Kuramoto on `backend` (`csr` is `None` when all-to-all), with λ_max of the graph
/// (validate's runs).
pub fn run(
    backend: &Backend,
    n: u32,
    csr: Option<&Csr>,
    p: &KuramotoParams,
) -> Result<(KuramotoRun, Option<f64>)> {
    match backend {
        Backend::Cpu => Ok((run_cpu(n, csr, p), csr.map(|c| lambda_max_cpu(c, p.seed)))),
        Backend::Gpu(ctx) => {
            let graph = csr.map(|c| GpuGraph::upload(ctx, c)).transpose()?;
            let lambda = match (csr, &graph) {
                (Some(c), Some(g)) => Some(lambda_max_gpu(ctx, c, g, p.seed)?),
                _ => None,
            };
            Ok((run_gpu(ctx, n, graph.as_ref(), p)?, lambda))
        }
    }
}

struct CpuKuramoto<'a> {
    graph: Option<Cow<'a, Csr>>,
    omega: Vec<f32>,
    theta: Vec<f32>,
    next: Vec<f32>,
    scratch: [Vec<f32>; 3],
    /// (r, ψ) of the current sample.
    r_psi: (f32, f32),
    r_sum: f32,
    samples: u32,
}

struct GpuKuramoto<'a> {
    ctx: &'a GpuContext,
    n: u32,
    dev: Device,
    theta: [wgpu::Buffer; 2],
    stage_k: wgpu::ComputePipeline,
    stage_g: Vec<wgpu::BindGroup>,
    reduce_g: Vec<wgpu::BindGroup>,
    complete: bool,
    current: usize,
    _keep: Vec<wgpu::Buffer>,
}

impl<'a> GpuKuramoto<'a> {
    fn new(
        ctx: &'a GpuContext,
        n: u32,
        graph: Option<&GpuGraph>,
        p: &KuramotoParams,
    ) -> Result<Self> {
        let size = Size {
            agents: n as u64,
            ties: graph.map_or(0, |g| g.neighbors.len / 2),
            slots: 0,
            complete: graph.is_none(),
        };
        crate::model::check_fits_on(&Kuramoto, &size, ctx)?;
        let dev = Device::new(ctx, n, graph, p)?;
        let omega = buffers::storage(ctx, "omega", &frequencies(n, p));
        let theta = [
            buffers::storage(ctx, "theta", &initial_phases(n, p.seed)),
            buffers::zeroed(ctx, "theta next", n as u64 * 4),
        ];
        let k = [
            buffers::zeroed(ctx, "rk4 k a", n as u64 * 4),
            buffers::zeroed(ctx, "rk4 k b", n as u64 * 4),
        ];
        let acc = buffers::zeroed(ctx, "rk4 sum", n as u64 * 4);
        let stages: Vec<_> = (0..4u32)
            .map(|s| buffers::uniform(ctx, "stage", &[s, 0, 0, 0]))
            .collect();
        let stage_k = shaders::pipeline(&ctx.device, "kuramoto_stage")?;
        // Stage s reads k_in = k[(s + 1) % 2] and writes k_out = k[s % 2].
        let mut stage_g = Vec::new();
        let mut reduce_g = Vec::new();
        for cur in 0..2 {
            for s in 0..4 {
                let (k_in, k_out) = (&k[(s + 1) % 2], &k[s % 2]);
                let mut entries = dev.csr_bindings(graph);
                entries.extend([
                    (5, &dev.params),
                    (6, &omega),
                    (7, &theta[cur]),
                    (8, &theta[1 - cur]),
                    (9, &dev.control),
                    (10, k_in),
                    (11, k_out),
                    (12, &acc),
                    (13, &stages[s]),
                ]);
                stage_g.push(buffers::bind(ctx, &stage_k, &entries));
                reduce_g.push(dev.reduce_group(ctx, &theta[cur], Some(k_in), s));
            }
        }
        let mut keep = vec![omega, acc];
        keep.extend(k);
        keep.extend(stages);
        Ok(GpuKuramoto {
            ctx,
            n,
            dev,
            theta,
            stage_k,
            stage_g,
            reduce_g,
            complete: graph.is_none(),
            current: 0,
            _keep: keep,
        })
    }

    /// Record the measurement of the current sample (its order parameter, into the
    /// control block).
    fn measure(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.dev
            .reduce(self.ctx, pass, &self.reduce_g[self.current * 4], self.n, 0);
    }

    /// Record one RK4 step past the current sample, whose order parameter is measured.
    fn step(&mut self, pass: &mut wgpu::ComputePass<'_>) {
        let cur = self.current;
        for s in 0..4 {
            if self.complete && s > 0 {
                self.dev
                    .reduce(self.ctx, pass, &self.reduce_g[cur * 4 + s], self.n, s);
            }
            buffers::dispatch(
                self.ctx,
                pass,
                &self.stage_k,
                &self.stage_g[cur * 4 + s],
                self.n,
            );
        }
        self.current = 1 - cur;
    }
}

enum KDevice<'a> {
    Cpu(Box<CpuKuramoto<'a>>),
    Gpu(Box<GpuKuramoto<'a>>),
}

/// The model as the driver runs it: each tick an RK4 step and the measurement of the new
/// sample; r is averaged over the samples after `average_after`.
pub struct KuramotoSim<'a> {
    params: KuramotoParams,
    device: KDevice<'a>,
    tick: u32,
    done: VecDeque<Collected>,
    /// λ_max of the graph (None all-to-all), for the outcome.
    lambda: Option<f64>,
    host_csr: Option<Csr>,
}

impl<'a> KuramotoSim<'a> {
    fn cpu(n: u32, graph: Option<Cow<'a, Csr>>, p: &KuramotoParams) -> KuramotoSim<'a> {
        KuramotoSim {
            params: *p,
            device: KDevice::Cpu(Box::new(CpuKuramoto {
                graph,
                omega: frequencies(n, p),
                theta: initial_phases(n, p.seed),
                next: vec![0.0f32; n as usize],
                scratch: [0, 1, 2].map(|_| vec![0.0f32; n as usize]),
                r_psi: (0.0, 0.0),
                r_sum: 0.0,
                samples: 0,
            })),
            tick: 0,
            done: VecDeque::new(),
            lambda: None,
            host_csr: None,
        }
    }

    fn gpu(
        ctx: &'a GpuContext,
        n: u32,
        graph: Option<&GpuGraph>,
        p: &KuramotoParams,
    ) -> Result<Self> {
        Ok(KuramotoSim {
            params: *p,
            device: KDevice::Gpu(Box::new(GpuKuramoto::new(ctx, n, graph, p)?)),
            tick: 0,
            done: VecDeque::new(),
            lambda: None,
            host_csr: None,
        })
    }

    fn drive(&mut self) -> Result<KuramotoRun> {
        let ticks = self.params.ticks as u64;
        let drive = crate::engine::drive(self, crate::engine::Drive::quiet(ticks))?;
        Ok(KuramotoRun {
            metrics: drive.table,
            r_mean: self.r_mean()?,
            theta: self.theta()?,
        })
    }

    fn r_mean(&self) -> Result<f64> {
        Ok(match &self.device {
            KDevice::Cpu(c) => (c.r_sum / c.samples.max(1) as f32) as f64,
            KDevice::Gpu(g) => {
                let control = g.dev.control(g.ctx)?;
                (control.r_sum / control.samples.max(1) as f32) as f64
            }
        })
    }

    fn theta(&self) -> Result<Vec<f32>> {
        match &self.device {
            KDevice::Cpu(c) => Ok(c.theta.clone()),
            KDevice::Gpu(g) => buffers::read_back(g.ctx, &g.theta[g.current], 0, g.n as usize),
        }
    }

    fn row(&self, r: f32, psi: f32) -> Vec<f64> {
        let k = self.tick;
        vec![
            k as f64,
            k as f64 * self.params.dt as f64,
            r as f64,
            psi as f64,
        ]
    }
}

impl CpuKuramoto<'_> {
    /// Measure the current sample `k`.
    fn measure(&mut self, k: u32, after: u32) {
        self.r_psi = order(&self.theta);
        if k > after {
            self.r_sum += self.r_psi.0;
            self.samples += 1;
        }
    }
}

impl Simulation for KuramotoSim<'_> {
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
        let after = self.params.average_after();
        let (r, psi) = match &mut self.device {
            KDevice::Cpu(c) => {
                c.measure(self.tick, after);
                c.r_psi
            }
            KDevice::Gpu(g) => {
                let mut encoder = g.ctx.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    g.measure(&mut pass);
                }
                g.ctx.queue.submit([encoder.finish()]);
                let control = g.dev.control(g.ctx)?;
                (control.r, control.psi)
            }
        };
        Ok(vec![self.row(r, psi)])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        let p = self.params;
        let after = p.average_after();
        let mut out = Collected::default();
        match &mut self.device {
            KDevice::Cpu(c) => {
                for _ in 0..iv.ticks {
                    let graph = c.graph.as_deref();
                    rk4_step(
                        graph,
                        &p,
                        &c.omega,
                        c.r_psi,
                        &c.theta,
                        &mut c.scratch,
                        &mut c.next,
                    );
                    std::mem::swap(&mut c.theta, &mut c.next);
                    self.tick += 1;
                    c.measure(self.tick, after);
                }
                if iv.row {
                    let (r, psi) = c.r_psi;
                    out.rows.push(self.row(r, psi));
                }
            }
            KDevice::Gpu(g) => {
                let mut left = iv.ticks;
                while left > 0 {
                    let batch = TICKS_PER_SUBMIT.min(left);
                    let mut encoder = g.ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = encoder.begin_compute_pass(&Default::default());
                        for _ in 0..batch {
                            g.step(&mut pass);
                            g.measure(&mut pass);
                        }
                    }
                    g.ctx.queue.submit([encoder.finish()]);
                    left -= batch;
                }
                self.tick += iv.ticks;
                if iv.row {
                    let control = g.dev.control(g.ctx)?;
                    out.rows.push(self.row(control.r, control.psi));
                }
            }
        }
        self.done.push_back(out);
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        Ok(self.done.pop_front().expect("collect after submit"))
    }

    fn progress(&self, table: &MetricsTable) -> String {
        let r = table.rows.last().map_or(0.0, |r| r[2]);
        format!("r {r:.4}")
    }

    fn state(&mut self) -> Result<State> {
        let (r_psi, r_sum, samples) = match &self.device {
            KDevice::Cpu(c) => (c.r_psi, c.r_sum, c.samples),
            KDevice::Gpu(g) => {
                let control = g.dev.control(g.ctx)?;
                ((control.r, control.psi), control.r_sum, control.samples)
            }
        };
        Ok(State::new("kuramoto", self.tick as u64)
            .with("theta", Per::Agent, Values::F32(self.theta()?))
            .with("order", Per::Run, Values::F32(vec![r_psi.0, r_psi.1]))
            .with("order_sum", Per::Run, Values::F32(vec![r_sum]))
            .with("samples", Per::Run, Values::U64(vec![samples as u64])))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        let theta = state.f32s("theta")?;
        let order = state.f32s("order")?;
        let r_sum = state.f32s("order_sum")?[0];
        let samples = state.counter("samples")? as u32;
        self.tick = state.tick as u32;
        match &mut self.device {
            KDevice::Cpu(c) => {
                state.check("kuramoto", c.theta.len(), 0)?;
                c.theta = theta.to_vec();
                c.r_psi = (order[0], order[1]);
                c.r_sum = r_sum;
                c.samples = samples;
            }
            KDevice::Gpu(g) => {
                state.check("kuramoto", g.n as usize, 0)?;
                let q = &g.ctx.queue;
                g.current = 0;
                q.write_buffer(&g.theta[0], 0, bytemuck::cast_slice(theta));
                // As after measuring sample `tick`: k counts the samples measured, and the
                // first stage of the next step reads the sample's order parameter.
                let control = Control {
                    k: self.tick + 1,
                    r: order[0],
                    psi: order[1],
                    r_sum,
                    samples,
                    norm: 0.0,
                    stage_r: order[0],
                    stage_psi: order[1],
                };
                q.write_buffer(&g.dev.control, 0, bytemuck::bytes_of(&control));
            }
        }
        Ok(())
    }
}

impl Run for KuramotoSim<'_> {
    fn finish(self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        let p = &self.params;
        let complete = self.lambda.is_none();
        let k0 = p.k0();
        let k_c = self.lambda.map_or(k0, |l| k0 / l);
        let theory_r = (complete && p.frequencies == Frequencies::Lorentzian)
            .then(|| (1.0 - 2.0 * p.width / p.coupling as f64).max(0.0).sqrt());
        let graph = match &self.device {
            KDevice::Cpu(c) => c.graph.as_deref(),
            KDevice::Gpu(_) => self.host_csr.as_ref(),
        };
        Ok(Outcome {
            components: graph.map(components::components_cpu),
            result: Some(serde_json::json!({
                "r_mean": self.r_mean()?,
                "averaged_ticks": p.average_ticks,
                "k0": k0,
                "lambda_max": self.lambda,
                "k_c": k_c,
                "theory_r": theory_r,
            })),
            ..Default::default()
        })
    }
}

/// `model.kind = "kuramoto"`.
pub struct Kuramoto;

impl KuramotoParams {
    /// The parameters of a (validated) scenario.
    pub fn from_config(loaded: &crate::config::Loaded) -> KuramotoParams {
        let s = &loaded.scenario;
        let m = crate::config::KuramotoConfig::of(&s.model);
        KuramotoParams {
            coupling: m.coupling as f32,
            dt: m.dt as f32,
            frequencies: match m.freq_dist {
                crate::config::FreqDist::Gaussian => Frequencies::Gaussian,
                crate::config::FreqDist::Lorentzian => Frequencies::Lorentzian,
            },
            width: m.freq_width,
            seed: s.seed as u32,
            ticks: s.ticks as u32,
            metrics_every: s.metrics_every as u32,
            average_ticks: if m.average_ticks > 0 {
                m.average_ticks
            } else {
                (s.ticks / 2) as u32
            },
        }
    }
}

impl Model for Kuramoto {
    fn name(&self) -> &'static str {
        "kuramoto"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "order"
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        let mut b = crate::backend::csr_buffers(size);
        let n = size.agents;
        for name in [
            "omega",
            "theta",
            "theta next",
            "rk4 k a",
            "rk4 k b",
            "rk4 sum",
        ] {
            b.push(DeviceBuffer::new(name, 4 * n));
        }
        b.push(DeviceBuffer::new("partials", 16 * n.div_ceil(GROUP as u64)));
        b
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let p = KuramotoParams::from_config(start.loaded);
        let n = start.n();
        let complete = start.complete();
        let sim = match backend {
            Backend::Cpu => {
                let lambda = (!complete).then(|| lambda_max_cpu(&start.csr, p.seed));
                let mut sim = KuramotoSim::cpu(n, (!complete).then_some(Cow::Owned(start.csr)), &p);
                sim.lambda = lambda;
                sim
            }
            Backend::Gpu(ctx) => {
                let graph = (!complete)
                    .then(|| GpuGraph::upload(ctx, &start.csr))
                    .transpose()?;
                let lambda = match &graph {
                    Some(g) => Some(lambda_max_gpu(ctx, &start.csr, g, p.seed)?),
                    None => None,
                };
                let mut sim = KuramotoSim::gpu(ctx, n, graph.as_ref(), &p)?;
                sim.lambda = lambda;
                sim.host_csr = (!complete).then_some(start.csr);
                sim
            }
        };
        Ok(Box::new(sim))
    }
}

/// λ_max on the GPU, the same iteration as [`lambda_max_cpu`].
pub fn lambda_max_gpu(ctx: &GpuContext, csr: &Csr, graph: &GpuGraph, seed: u32) -> Result<f64> {
    let n = graph.n;
    let p = KuramotoParams {
        coupling: 0.0,
        dt: 0.0,
        frequencies: Frequencies::Gaussian,
        width: 1.0,
        seed,
        ticks: 0,
        metrics_every: 1,
        average_ticks: 0,
    };
    let dev = Device::new(ctx, n, Some(graph), &p)?;
    let v = [
        buffers::storage(ctx, "power x", &power_start(csr.n(), seed)),
        buffers::zeroed(ctx, "power y", n as u64 * 4),
    ];
    let step_k = shaders::pipeline(&ctx.device, "power_step")?;
    let step_g: Vec<wgpu::BindGroup> = (0..2)
        .map(|k| {
            let mut entries = graph.csr_bindings();
            entries.extend([
                (5, &dev.params),
                (6, &v[k]),
                (7, &v[1 - k]),
                (9, &dev.control),
            ]);
            buffers::bind(ctx, &step_k, &entries)
        })
        .collect();
    let norm_g = [
        dev.reduce_group(ctx, &v[0], None, NORM),
        dev.reduce_group(ctx, &v[1], None, NORM),
    ];
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for s in 0..POWER_STEPS as usize {
            dev.reduce(ctx, &mut pass, &norm_g[s % 2], n, NORM);
            buffers::dispatch(ctx, &mut pass, &step_k, &step_g[s % 2], n);
        }
        dev.reduce(ctx, &mut pass, &norm_g[POWER_STEPS as usize % 2], n, NORM);
    }
    ctx.queue.submit([encoder.finish()]);
    Ok(dev.control(ctx)?.norm as f64)
}
