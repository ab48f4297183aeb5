//! Every WGSL kernel paired with its CPU twin, and how the pair is compared. A kernel
//! that can run alone on small random inputs carries a [`Check::Generic`] function: the
//! generic test (tests/kernels.rs) runs it on both backends for a few seeds. A kernel that
//! only means something inside its pipeline (a pass that reads what the previous pass of
//! the tick wrote, a reduction that runs to a fixed point) names the test that compares
//! it with its twin instead, and why; the generic test checks that the named test exists.

use crate::backend::GpuGraph;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::{generators, Csr};
use crate::model::sir::{self, SirParams, StepParams};
use crate::model::threshold::{self, SweepParams, NEVER};
use crate::rng;
use std::sync::atomic::AtomicU32;

/// How a kernel is compared with its twin.
#[derive(Clone, Copy)]
pub enum Check {
    /// Runs the kernel alone on the device and its twin on the host, on random inputs
    /// drawn from the seed; `Err` names the first difference.
    Generic(fn(&GpuContext, u32) -> Result<(), String>),
    /// Compared inside its pipeline by `test` (a test of the test binary, `module::name`).
    Covered {
        test: &'static str,
        why: &'static str,
    },
}

/// One kernel (`shaders/<kernel>.wgsl`) and its CPU twin.
#[derive(Clone, Copy)]
pub struct Pair {
    pub kernel: &'static str,
    /// The twin's source file, relative to the crate root.
    pub twin: &'static str,
    pub check: Check,
}

const fn pair(kernel: &'static str, twin: &'static str, check: Check) -> Pair {
    Pair {
        kernel,
        twin,
        check,
    }
}

const fn covered(test: &'static str, why: &'static str) -> Check {
    Check::Covered { test, why }
}

const TICK: &str = "a pass of the tick: it reads what the passes before it wrote, so it is compared pass by pass from a shared state";
const FIXED_POINT: &str =
    "hook-and-compress rounds run to a fixed point: compared as the labels they reach";
const RUN: &str = "a pass of the model's tick, whose state only the whole run exercises: compared run against run, bit for bit";
const ACTION: &str = "a pass of an intervention: it reads the flags or the lifecycle state the passes before it left, so it is compared pass by pass from a shared state";
const FLOAT_RUN: &str =
    "a pass of a float model's tick: compared run against run within WGSL's float margin";

/// Every kernel of [`shaders::KERNELS`], once.
pub const PAIRS: &[Pair] = &[
    pair("rng_draws", "src/rng.rs", Check::Generic(check_rng_draws)),
    pair(
        "threshold_seed",
        "src/model/threshold/cpu/threshold_seed.rs",
        covered("threshold::gpu_matches_cpu_agent_by_agent", "the seeds are the cascade's sweep 0, compared agent by agent"),
    ),
    pair(
        "threshold_sweep",
        "src/model/threshold/cpu/threshold_sweep.rs",
        Check::Generic(check_threshold_sweep),
    ),
    pair(
        "threshold_advance",
        "src/model/threshold/mod.rs",
        covered("threshold::gpu_matches_cpu_agent_by_agent", "a one-thread tick counter; its twin is the driver's tick"),
    ),
    pair("components_init", "src/analysis/components.rs", covered("components::gpu_labels_match_cpu", FIXED_POINT)),
    pair("components_hook", "src/analysis/components.rs", covered("components::gpu_labels_match_cpu", FIXED_POINT)),
    pair("components_compress", "src/analysis/components.rs", covered("components::gpu_labels_match_cpu", FIXED_POINT)),
    pair("components_sizes", "src/analysis/components.rs", covered("components::gpu_labels_match_cpu", FIXED_POINT)),
    pair("components_largest", "src/analysis/components.rs", covered("components::gpu_labels_match_cpu", FIXED_POINT)),
    pair(
        "lifecycle_psi_partial",
        "src/model/lifecycle/cpu/lifecycle_psi.rs",
        covered("lifecycle_gpu::agents_pass_matches_cpu", TICK),
    ),
    pair(
        "lifecycle_psi_final",
        "src/model/lifecycle/cpu/lifecycle_psi.rs",
        covered("lifecycle_gpu::agents_pass_matches_cpu", TICK),
    ),
    pair(
        "lifecycle_agents",
        "src/model/lifecycle/cpu/lifecycle_agents.rs",
        covered("lifecycle_gpu::agents_pass_matches_cpu", TICK),
    ),
    pair("ties_weights", "src/model/lifecycle/cpu/ties_weights.rs", covered("lifecycle_gpu::tie_passes_match_cpu", TICK)),
    pair("ties_propose", "src/model/lifecycle/cpu/ties_propose.rs", covered("lifecycle_gpu::tie_passes_match_cpu", TICK)),
    pair("ties_confirm", "src/model/lifecycle/cpu/ties_confirm.rs", covered("lifecycle_gpu::tie_passes_match_cpu", TICK)),
    pair("ties_commit", "src/model/lifecycle/cpu/ties_commit.rs", covered("lifecycle_gpu::tie_passes_match_cpu", TICK)),
    pair(
        "lpa_label_degrees",
        "src/analysis/communities.rs",
        covered("lifecycle_gpu::metrics_match_cpu", "label propagation's rounds update by parity classes from the labels before: compared as the metrics row"),
    ),
    pair(
        "lpa_step",
        "src/analysis/communities.rs",
        covered("lifecycle_gpu::metrics_match_cpu", "label propagation's rounds update by parity classes from the labels before: compared as the metrics row"),
    ),
    pair(
        "metrics_agents",
        "src/model/lifecycle/mod.rs",
        covered("lifecycle_gpu::metrics_match_cpu", "the metrics row's per-agent sums, reduced with the community sums"),
    ),
    pair(
        "community_sums",
        "src/analysis/communities.rs",
        covered("lifecycle_gpu::metrics_match_cpu", "the metrics row's per-community sums, after label propagation"),
    ),
    pair(
        "community_reduce",
        "src/analysis/communities.rs",
        covered("lifecycle_gpu::metrics_match_cpu", "the metrics row's per-community sums, after label propagation"),
    ),
    pair("sir_step", "src/model/sir/cpu/sir_step.rs", Check::Generic(check_sir_step)),
    pair("deffuant_choose", "src/model/deffuant/cpu/deffuant_choose.rs", covered("models::deffuant_gpu_matches_cpu", FLOAT_RUN)),
    pair("deffuant_update", "src/model/deffuant/cpu/deffuant_update.rs", covered("models::deffuant_gpu_matches_cpu", FLOAT_RUN)),
    pair("voter_count", "src/model/voter/cpu/voter_count.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair("voter_scan", "src/model/voter/cpu/voter_scatter.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair("voter_scatter", "src/model/voter/cpu/voter_scatter.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair("voter_plan", "src/model/voter/cpu/voter_plan.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair("voter_apply", "src/model/voter/cpu/voter_apply.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair("voter_metrics", "src/model/voter/cpu/voter_metrics.rs", covered("models::voter_gpu_matches_cpu_exactly", RUN)),
    pair(
        "kuramoto_order_partial",
        "src/model/kuramoto/cpu/kuramoto_order_partial.rs",
        covered("models::kuramoto_gpu_matches_cpu", FLOAT_RUN),
    ),
    pair(
        "kuramoto_order_final",
        "src/model/kuramoto/cpu/kuramoto_order_final.rs",
        covered("models::kuramoto_gpu_matches_cpu", FLOAT_RUN),
    ),
    pair("kuramoto_stage", "src/model/kuramoto/cpu/kuramoto_stage.rs", covered("models::kuramoto_gpu_matches_cpu", FLOAT_RUN)),
    pair(
        "power_step",
        "src/model/kuramoto/cpu/power_step.rs",
        covered("models::kuramoto_gpu_matches_cpu", "200 steps of the power iteration, compared as λ_max"),
    ),
    pair("layout_density", "src/render/layout.rs", covered("render::layout_kernels_match_their_cpu_twins", TICK)),
    pair("layout_smooth", "src/render/layout.rs", covered("render::layout_kernels_match_their_cpu_twins", TICK)),
    pair("layout_forces", "src/render/layout.rs", covered("render::layout_kernels_match_their_cpu_twins", TICK)),
    pair("render_splat", "src/render/splat.rs", covered("render::render_kernels_match_their_cpu_twins", TICK)),
    pair("render_ties", "src/render/splat.rs", covered("render::render_kernels_match_their_cpu_twins", TICK)),
    pair("render_pack", "src/render/splat.rs", covered("render::render_kernels_match_their_cpu_twins", TICK)),
    pair("layout_groups", "src/render/layout.rs", covered("render::layout_kernels_match_their_cpu_twins", TICK)),
    pair("layout_cohesion", "src/render/layout.rs", covered("render::layout_kernels_match_their_cpu_twins", TICK)),
    pair("render_bounds", "src/render/splat.rs", covered("render::camera_and_colour_kernels_match_their_cpu_twins", TICK)),
    pair("render_camera", "src/render/splat.rs", covered("render::camera_and_colour_kernels_match_their_cpu_twins", TICK)),
    pair("render_colour", "src/render/splat.rs", covered("render::camera_and_colour_kernels_match_their_cpu_twins", TICK)),
    pair("intervene_rank", "src/model/lifecycle/cpu/intervene_rank.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_mark", "src/model/lifecycle/cpu/intervene_mark.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_gather", "src/model/lifecycle/cpu/intervene_gather.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_adopt", "src/model/lifecycle/cpu/intervene_adopt.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_broadcast", "src/model/lifecycle/cpu/intervene_broadcast.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_cut", "src/model/lifecycle/cpu/intervene_cut.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
    pair("intervene_connect", "src/model/lifecycle/cpu/intervene_connect.rs", covered("interventions::intervention_kernels_match_their_cpu_twins_pass_by_pass", ACTION)),
];

/// The first index where two slices differ, as a message.
fn first_difference<T: PartialEq + std::fmt::Debug>(
    what: &str,
    gpu: &[T],
    cpu: &[T],
) -> Result<(), String> {
    if gpu.len() != cpu.len() {
        return Err(format!(
            "{what}: {} values on the GPU, {} on the CPU",
            gpu.len(),
            cpu.len()
        ));
    }
    match gpu.iter().zip(cpu).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!("{what}[{i}]: GPU {:?}, CPU {:?}", gpu[i], cpu[i])),
    }
}

/// Run `kernel` once over `n` agents with `entries` bound, alone in its submission.
fn dispatch_alone(
    ctx: &GpuContext,
    kernel: &str,
    entries: &[(u32, &wgpu::Buffer)],
    n: u32,
) -> Result<(), String> {
    let k = shaders::pipeline(&ctx.device, kernel).map_err(|e| e.to_string())?;
    let group = buffers::bind(ctx, &k, entries);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &k, &group, n);
    }
    ctx.queue.submit([encoder.finish()]);
    Ok(())
}

/// A small random graph for one check.
fn graph(seed: u32) -> Csr {
    let edges = generators::erdos_renyi(3000, 4.0, seed).expect("a valid graph");
    Csr::from_edges(&edges)
}

fn check_rng_draws(ctx: &GpuContext, seed: u32) -> Result<(), String> {
    let n = 4096;
    let (words, normals) =
        crate::gpu::rng_draws::draws(ctx, n, seed, seed ^ 7, 3).map_err(|e| e.to_string())?;
    let cpu: Vec<[u32; 4]> = (0..n).map(|i| rng::rand4(seed, seed ^ 7, i, 3)).collect();
    first_difference("words", &words, &cpu)?;
    // WGSL promises log and cos to about 2^-11: normals are compared within 2^-10 of
    // their scale (DESIGN §3.4).
    for (i, (g, w)) in normals.iter().zip(&cpu).enumerate() {
        let z = rng::normal(w[0], w[1]);
        if (g - z).abs() > 2f32.powi(-10) * z.abs().max(1.0) {
            return Err(format!("normal[{i}]: GPU {g}, CPU {z}"));
        }
    }
    Ok(())
}

fn check_threshold_sweep(ctx: &GpuContext, seed: u32) -> Result<(), String> {
    let csr = graph(seed);
    let n = csr.n();
    // Sweep s = 3 from a random state: about a third active before it, some activated
    // in this very sweep's past, the rest never.
    let s = 3u32;
    let start: Vec<u32> = (0..n)
        .map(|i| match rng::rand(seed, 0, i, 0) % 6 {
            0 | 1 => rng::rand(seed, 1, i, 0) % s,
            _ => NEVER,
        })
        .collect();
    let theta_pct = 18 + seed % 20;
    let err = |e: crate::error::Error| e.to_string();
    let g = GpuGraph::upload(ctx, &csr).map_err(err)?;
    let params = buffers::uniform(
        ctx,
        "sweep params",
        &SweepParams {
            n,
            theta_pct,
            chunk_len: g.neighbors.chunk_len,
            _pad: 0,
        },
    );
    let activated = buffers::storage(ctx, "activated_at", &start);
    let control = buffers::storage(ctx, "control", &[s, 0, 0, 0, 0, 0]);
    let mut entries = g.csr_bindings();
    entries.extend([(5, &params), (6, &activated), (7, &control)]);
    dispatch_alone(ctx, "threshold_sweep", &entries, n)?;
    let on_gpu: Vec<u32> = buffers::read_back(ctx, &activated, 0, n as usize).map_err(err)?;
    let counted: Vec<u32> =
        buffers::read_back(ctx, &control, 4 * threshold::activations_word(s), 1).map_err(err)?;
    let cpu_state: Vec<AtomicU32> = start.iter().map(|&a| AtomicU32::new(a)).collect();
    let activated_cpu = threshold::sweep(&csr, theta_pct, s, &cpu_state);
    let on_cpu: Vec<u32> = cpu_state.into_iter().map(AtomicU32::into_inner).collect();
    first_difference("activated_at", &on_gpu, &on_cpu)?;
    first_difference("activations", &counted, &[activated_cpu])
}

fn check_sir_step(ctx: &GpuContext, seed: u32) -> Result<(), String> {
    let csr = graph(seed);
    let n = csr.n();
    let t = 5u32;
    // A random state at the start of tick t: susceptible, infectious (infected before t,
    // not recovered), or recovered.
    let mut infected_at = vec![sir::NEVER; n as usize];
    let mut recovered_at = vec![sir::NEVER; n as usize];
    for i in 0..n as usize {
        match rng::rand(seed, 2, i as u32, 0) % 5 {
            0 => infected_at[i] = rng::rand(seed, 3, i as u32, 0) % t,
            1 => {
                infected_at[i] = 0;
                recovered_at[i] = 1 + rng::rand(seed, 4, i as u32, 0) % (t - 1);
            }
            _ => {}
        }
    }
    let params = SirParams {
        infection: 0.3 + 0.05 * (seed % 5) as f64,
        recovery: 0.25,
        initial_infected: 1,
        seed,
        max_ticks: 100,
    };
    let err = |e: crate::error::Error| e.to_string();
    let g = GpuGraph::upload(ctx, &csr).map_err(err)?;
    let step_params = buffers::uniform(
        ctx,
        "sir params",
        &StepParams {
            n,
            seed,
            chunk_len: g.neighbors.chunk_len,
            infect_24: rng::threshold_24(params.infection),
            recover_24: rng::threshold_24(params.recovery),
            _pad: [0; 3],
        },
    );
    let inf = buffers::storage(ctx, "infected_at", &infected_at);
    let rec = buffers::storage(ctx, "recovered_at", &recovered_at);
    let mut control = vec![0u32; sir::counts_word(t) as usize + 2];
    control[0] = t;
    let control = buffers::storage(ctx, "control", &control);
    let mut entries = g.csr_bindings();
    entries.extend([(5, &step_params), (6, &inf), (7, &rec), (8, &control)]);
    dispatch_alone(ctx, "sir_step", &entries, n)?;
    let gpu_inf: Vec<u32> = buffers::read_back(ctx, &inf, 0, n as usize).map_err(err)?;
    let gpu_rec: Vec<u32> = buffers::read_back(ctx, &rec, 0, n as usize).map_err(err)?;
    let counts: Vec<u32> =
        buffers::read_back(ctx, &control, 4 * sir::counts_word(t), 2).map_err(err)?;
    let (new, recovered) = sir::step(&csr, &params, t, &mut infected_at, &mut recovered_at);
    first_difference("infected_at", &gpu_inf, &infected_at)?;
    first_difference("recovered_at", &gpu_rec, &recovered_at)?;
    first_difference("counts", &counts, &[new, recovered])
}
