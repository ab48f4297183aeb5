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

use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use crate::io::MetricsTable;
use crate::rng::{self, Permutation};
use rayon::prelude::*;
use std::f32::consts::{PI, TAU};

pub const COLUMNS: [&str; 4] = ["tick", "time", "r", "psi"];

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

/// Twin of `kuramoto_order_partial.wgsl`: per 64 agents, a tree sum of `f(agent)`.
fn partial_sums(n: usize, f: impl Fn(usize) -> [f32; 2] + Sync) -> Vec<[f32; 2]> {
    (0..n.div_ceil(GROUP))
        .into_par_iter()
        .map(|g| {
            let mut acc = [[0.0f32; 2]; GROUP];
            for (a, j) in acc.iter_mut().zip(g * GROUP..((g + 1) * GROUP).min(n)) {
                *a = f(j);
            }
            tree_sum(acc)
        })
        .collect()
}

/// The workgroup's tree: halves added pairwise, 32, 16, … 1 apart.
fn tree_sum(mut acc: [[f32; 2]; GROUP]) -> [f32; 2] {
    let mut s = GROUP / 2;
    while s > 0 {
        for l in 0..s {
            acc[l][0] += acc[l + s][0];
            acc[l][1] += acc[l + s][1];
        }
        s /= 2;
    }
    acc[0]
}

/// Twin of `kuramoto_order_final.wgsl`'s reduction: 64 strided sums, then a tree.
fn final_sum(partials: &[[f32; 2]]) -> [f32; 2] {
    let mut acc = [[0.0f32; 2]; GROUP];
    for (lid, a) in acc.iter_mut().enumerate() {
        for p in partials.iter().skip(lid).step_by(GROUP) {
            a[0] += p[0];
            a[1] += p[1];
        }
    }
    tree_sum(acc)
}

/// RK4 stage offsets c and weights w (the step adds dt/6 · Σ w_s k_s).
pub const STAGE_C: [f32; 4] = [0.0, 0.5, 0.5, 1.0];
pub const STAGE_W: [f32; 4] = [1.0, 2.0, 2.0, 1.0];

/// Twin of `state` in `kuramoto_stage.wgsl`: θ + c·dt·k.
#[inline]
fn stage_state(theta: &[f32], k_in: &[f32], c: f32, dt: f32, j: usize) -> f32 {
    if c == 0.0 {
        theta[j]
    } else {
        theta[j] + c * dt * k_in[j]
    }
}

/// (r, ψ) of the phases.
pub fn order(theta: &[f32]) -> (f32, f32) {
    order_at(theta, &[], 0.0, 0.0)
}

/// (r, ψ) of the stage state θ + c·dt·k (twin of the kind-0 reduction).
pub fn order_at(theta: &[f32], k_in: &[f32], c: f32, dt: f32) -> (f32, f32) {
    let [c, s] = final_sum(&partial_sums(theta.len(), |j| {
        let x = stage_state(theta, k_in, c, dt, j);
        [x.cos(), x.sin()]
    }));
    let n = theta.len().max(1) as f32;
    let (c, s) = (c / n, s / n);
    ((c * c + s * s).sqrt(), s.atan2(c))
}

/// ||v|| in the fixed reduction order.
pub fn norm(v: &[f32]) -> f32 {
    final_sum(&partial_sums(v.len(), |j| [v[j] * v[j], 0.0]))[0].sqrt()
}

/// The buffers of one RK4 step on the CPU.
pub struct Stages<'a> {
    pub theta: &'a [f32],
    pub k_in: &'a [f32],
    pub k_out: &'a mut [f32],
    pub acc: &'a mut [f32],
    pub theta_next: &'a mut [f32],
}

/// Twin of `kuramoto_stage.wgsl`: stage `s` (r_psi: the stage state's order parameter,
/// used all-to-all).
pub fn stage(
    graph: Option<&Csr>,
    p: &KuramotoParams,
    omega: &[f32],
    r_psi: (f32, f32),
    s: usize,
    b: Stages,
) {
    let c = STAGE_C[s];
    let (theta, k_in) = (b.theta, b.k_in);
    b.k_out
        .par_iter_mut()
        .zip(b.acc.par_iter_mut())
        .zip(b.theta_next.par_iter_mut())
        .enumerate()
        .for_each(|(i, ((k_out, acc), next))| {
            let xi = stage_state(theta, k_in, c, p.dt, i);
            let pull = match graph {
                None => r_psi.0 * (r_psi.1 - xi).sin(),
                Some(csr) => {
                    let mut sum = 0.0f32;
                    for &j in csr.neighbors(i as u32) {
                        sum += (stage_state(theta, k_in, c, p.dt, j as usize) - xi).sin();
                    }
                    sum
                }
            };
            let f = omega[i] + p.coupling * pull;
            *k_out = f;
            let mut a = STAGE_W[s] * f;
            if s > 0 {
                a += *acc;
            }
            *acc = a;
            if s == 3 {
                *next = wrap(theta[i] + p.dt / 6.0 * a);
            }
        });
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

fn is_row(k: u32, p: &KuramotoParams) -> bool {
    k.is_multiple_of(p.metrics_every.max(1)) || k == p.ticks
}

/// The model on the CPU.
pub fn run_cpu(
    n: u32,
    graph: Option<&Csr>,
    p: &KuramotoParams,
    mut on_row: impl FnMut(u32, f32),
) -> KuramotoRun {
    let omega = frequencies(n, p);
    let mut theta = initial_phases(n, p.seed);
    let mut next = vec![0.0f32; n as usize];
    let mut scratch = [0, 1, 2].map(|_| vec![0.0f32; n as usize]);
    let mut table = MetricsTable::new(&COLUMNS);
    let (mut r_sum, mut samples) = (0.0f32, 0u32);
    let after = p.average_after();
    for k in 0..=p.ticks {
        let (r, psi) = order(&theta);
        if k > after {
            r_sum += r;
            samples += 1;
        }
        if is_row(k, p) {
            table.push(vec![k as f64, k as f64 * p.dt as f64, r as f64, psi as f64]);
            on_row(k, r);
        }
        if k < p.ticks {
            rk4_step(graph, p, &omega, (r, psi), &theta, &mut scratch, &mut next);
            std::mem::swap(&mut theta, &mut next);
        }
    }
    KuramotoRun {
        metrics: table,
        r_mean: (r_sum / samples.max(1) as f32) as f64,
        theta,
    }
}

/// The start vector of the power iteration: positive, random.
fn power_start(n: u32, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| 1.0 + rng::uniform(rng::rand(seed, 0, i, rng::stream::POWER_START)))
        .collect()
}

/// Twin of `power_step.wgsl`: y = A x / ||x||.
pub fn power_step(csr: &Csr, x: &[f32], x_norm: f32, y: &mut [f32]) {
    y.par_iter_mut().enumerate().for_each(|(i, out)| {
        let mut sum = 0.0f32;
        for &j in csr.neighbors(i as u32) {
            sum += x[j as usize];
        }
        *out = sum / x_norm;
    });
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

/// The model on the GPU: ticks between metrics rows in submissions of up to 64 (a
/// reduction and four stage passes each, three more reductions all-to-all); a row reads
/// back the 32-byte control block.
pub fn run_gpu(
    ctx: &GpuContext,
    n: u32,
    graph: Option<&GpuGraph>,
    p: &KuramotoParams,
    mut on_row: impl FnMut(u32, f32),
) -> Result<KuramotoRun> {
    ctx.check_fits("kuramoto", n, 4)?;
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
    let complete = graph.is_none();
    // Measure sample k (and, unless it ends the interval, step past it).
    let record_tick = |pass: &mut wgpu::ComputePass<'_>, cur: usize, step: bool| {
        dev.reduce(ctx, pass, &reduce_g[cur * 4], n, 0);
        if !step {
            return;
        }
        for s in 0..4 {
            if complete && s > 0 {
                dev.reduce(ctx, pass, &reduce_g[cur * 4 + s], n, s);
            }
            buffers::dispatch(ctx, pass, &stage_k, &stage_g[cur * 4 + s], n);
        }
    };
    let mut table = MetricsTable::new(&COLUMNS);
    let mut current = 0;
    let mut k_next = 0u32;
    let every = p.metrics_every.max(1);
    let mut control;
    let mut row = 0u32;
    loop {
        // Samples k_next..=row: measure each and step after all but the row's own.
        while k_next <= row {
            let end = (k_next + TICKS_PER_SUBMIT).min(row + 1);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                while k_next < end {
                    let step = k_next < row;
                    record_tick(&mut pass, current, step);
                    if step {
                        current = 1 - current;
                    }
                    k_next += 1;
                }
            }
            ctx.queue.submit([encoder.finish()]);
        }
        control = dev.control(ctx)?;
        table.push(vec![
            row as f64,
            row as f64 * p.dt as f64,
            control.r as f64,
            control.psi as f64,
        ]);
        on_row(row, control.r);
        if row == p.ticks {
            break;
        }
        // Step past the row's sample (its order parameter is in the control block).
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for s in 0..4 {
                if complete && s > 0 {
                    dev.reduce(ctx, &mut pass, &reduce_g[current * 4 + s], n, s);
                }
                buffers::dispatch(ctx, &mut pass, &stage_k, &stage_g[current * 4 + s], n);
            }
            current = 1 - current;
        }
        ctx.queue.submit([encoder.finish()]);
        row = ((row / every + 1) * every).min(p.ticks);
    }
    let theta = buffers::read_back(ctx, &theta[current], 0, n as usize)?;
    Ok(KuramotoRun {
        metrics: table,
        r_mean: (control.r_sum / control.samples.max(1) as f32) as f64,
        theta,
    })
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
