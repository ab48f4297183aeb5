//! The lifecycle model's passes on the GPU (`shaders/lifecycle_*.wgsl`,
//! `shaders/ties_*.wgsl`), twins of [`super::lifecycle`]. The whole state lives on the
//! device; a tick is a fixed list of passes recorded into one command encoder, many ticks
//! per submission, and the tick number, ψ and the tie counters stay on the device
//! (`Control`), so nothing is read back inside the tick loop.
//!
//! Device memory is 64 B per agent and 12 B per tie slot (`buffers`): the tie-slot arrays
//! are split over as many storage bindings as they need ([`SlotSplit`]), and the metrics
//! row's scratch (label propagation's next labels and label degrees, the six
//! per-community sums, the components' parents and sizes) is one set of six per-agent
//! arrays, shared with the ψ partial sums of the tick.

mod actions;

pub use actions::{ActionsOn, GpuActions, Intervene};

use super::{Lifecycle, LifecycleParams};
use crate::analysis::components::GpuComponents;
use crate::analysis::label_propagation_gpu::GpuLabelPropagation;
use crate::error::Result;
use crate::gpu::buffers::{with_slots, SlotArray};
use crate::gpu::shaders::{GraphStore, SlotSplit};
use crate::gpu::{buffers, shaders, GpuContext, WORKGROUP};
use crate::graph::ties::{TieStore, EMPTY};
use crate::model::{DeviceBuffer, Size};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    n: u32,
    slots: u32,
    seed: u32,
    groups: u32,
    dt: f32,
    coupling: f32,
    noise_amp: f32,
    field: f32,
    learning_rate: f32,
    forgetting: f32,
    knowledge_norm: f32,
    mastery: f32,
    theta: f32,
    tie_gain: f32,
    tie_cost: f32,
    strong_tie: f32,
    new_tie: f32,
    search_thr: u32,
    closure_thr: u32,
    field_mode: u32,
    n_pioneers: u32,
    illuminate_thr: u32,
    nourish_factor: f32,
    _pad: u32,
}
crate::host_layout! {
    Params {
        n, slots, seed, groups, dt, coupling, noise_amp, field, learning_rate, forgetting,
        knowledge_norm, mastery, theta, tie_gain, tie_cost, strong_tie, new_tie, search_thr,
        closure_thr, field_mode, n_pioneers, illuminate_thr, nourish_factor, _pad
    }
}

/// Mirror of `Control` in `shaders/shared/lifecycle.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Control {
    pub tick: u32,
    pub n_adopters: u32,
    pub psi: f32,
    pub created: u32,
    pub removed: u32,
    /// Agents adopted through the cascade since tick 0 (never reset).
    pub cascade: u32,
    pub _pad: [u32; 2],
}
crate::host_layout! { Control { tick, n_adopters, psi, created, removed, cascade, _pad } }

/// Where in `Control` the interval's tie counters (`created`, then `removed`) lie.
const COUNTERS_AT: u64 = std::mem::offset_of!(Control, created) as u64;
const COUNTERS_BYTES: u64 =
    (std::mem::offset_of!(Control, removed) + std::mem::size_of::<u32>()) as u64 - COUNTERS_AT;

/// Columns of the exact metrics sums (`metrics_agents.wgsl`, `community_reduce.wgsl`),
/// each a (lo, hi) pair of words.
const ACC_COLUMNS: usize = 16;
const ACC_WORDS: usize = ACC_COLUMNS * 2;
const ACC_BYTES: u64 = ACC_WORDS as u64 * 4;
/// A metrics staging buffer: the sums, then the control block, the components' (largest,
/// count) and their `changed` flag (padded to 8 bytes).
const CONTROL_BYTES: u64 = std::mem::size_of::<Control>() as u64;
const STAGED_CONTROL_AT: u64 = ACC_BYTES;
const STAGED_COMPONENTS_AT: u64 = STAGED_CONTROL_AT + CONTROL_BYTES;
const STAGED_CHANGED_AT: u64 = STAGED_COMPONENTS_AT + 8;
const STAGING_BYTES: u64 = STAGED_CHANGED_AT + 8;
/// The same places in words.
const fn word(bytes: u64) -> usize {
    (bytes / 4) as usize
}
/// Hook-and-compress rounds of the metrics' components. Min-hooking with full
/// compression merges trees fast; a row whose last round still hooked is flagged.
pub const COMPONENT_ROUNDS: u32 = 12;

/// One pass of the tick, for tests that compare a single pass with its CPU twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// ψ and the start of the next tick (`lifecycle_psi_partial` + `lifecycle_psi_final`).
    Psi,
    /// `lifecycle_agents`, then the new phases become current.
    Agents,
    Weights,
    Propose,
    Confirm,
    Commit,
}

/// A full tick, in order.
pub const TICK: [Pass; 6] = [
    Pass::Psi,
    Pass::Agents,
    Pass::Weights,
    Pass::Propose,
    Pass::Confirm,
    Pass::Commit,
];

struct Kernel {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
}

impl Kernel {
    /// Kernel `name` with the tie slots as `store` says, bound to `entries` and every
    /// chunk of `arrays`.
    fn new(
        ctx: &GpuContext,
        name: &str,
        store: GraphStore,
        entries: &[(u32, &wgpu::Buffer)],
        arrays: &[(u32, &SlotArray)],
    ) -> Result<Kernel> {
        let pipeline = shaders::pipeline_with(&ctx.device, name, store)?;
        let group = buffers::bind(ctx, &pipeline, &with_slots(entries, arrays));
        Ok(Kernel { pipeline, group })
    }
}

pub struct GpuLifecycle {
    pub n: u32,
    pub slots: u32,
    phi: wgpu::Buffer,
    phi_next: wgpu::Buffer,
    knowledge: wgpu::Buffer,
    adopted_at: wgpu::Buffer,
    degree: wgpu::Buffer,
    neighbor: SlotArray,
    weight: SlotArray,
    age: SlotArray,
    control: wgpu::Buffer,
    /// The metrics scratch (see the module's note), cleared before the community sums.
    scratch: Vec<wgpu::Buffer>,
    psi_partial: Kernel,
    psi_final: Kernel,
    agents: Kernel,
    weights: Kernel,
    propose: Kernel,
    confirm: Kernel,
    commit: Kernel,
    labels: wgpu::Buffer,
    acc: wgpu::Buffer,
    lpa: GpuLabelPropagation,
    metrics_agents: Kernel,
    community_sums: Kernel,
    community_reduce: Kernel,
    components: GpuComponents,
    // Kept alive for the bind groups.
    _keep: Vec<wgpu::Buffer>,
}

fn params_of(state: &Lifecycle, p: &LifecycleParams, groups: u32) -> Params {
    Params {
        n: state.n,
        slots: state.ties.slots,
        seed: state.seed,
        groups,
        dt: p.dt,
        coupling: p.coupling,
        noise_amp: p.noise_amp(),
        field: p.field,
        learning_rate: p.learning_rate,
        forgetting: p.forgetting,
        knowledge_norm: p.knowledge_norm,
        mastery: p.mastery,
        theta: p.theta,
        tie_gain: p.tie_gain,
        tie_cost: p.tie_cost,
        strong_tie: p.strong_tie,
        new_tie: p.new_tie,
        search_thr: p.search_cut(),
        closure_thr: p.closure_cut(),
        field_mode: p.field_mode,
        n_pioneers: if state.support.illuminates() {
            state.support.pioneers.len() as u32
        } else {
            0
        },
        illuminate_thr: state.support.illuminate_cut,
        nourish_factor: state.support.nourish_factor,
        _pad: 0,
    }
}

/// Per-agent arrays of the metrics scratch: label propagation's next labels (0) and label
/// degrees (1), the six per-community sums (0–5), the components' parents (0) and sizes
/// (1), and the tick's ψ partial sums (5, four words per workgroup).
pub const SCRATCH_ARRAYS: usize = 6;

/// Words of one scratch array for `n` agents: n, or the ψ partials when they need more.
fn scratch_words(n: u64) -> u64 {
    n.max(4 * n.div_ceil(WORKGROUP as u64))
}

/// Every buffer [`GpuLifecycle::upload`] allocates for `n` agents with K = `slots` (the
/// uniforms and few-word control blocks aside, which are listed with their size too).
/// The tie-slot arrays are split over bindings (`DeviceBuffer::slots`).
pub fn buffers(n: u64, slots: u64) -> Vec<DeviceBuffer> {
    let agent = |name| DeviceBuffer::new(name, 4 * n);
    let slot = |name| DeviceBuffer::slots(name, 4 * n * slots);
    let scratch = |name| DeviceBuffer::new(name, 4 * scratch_words(n));
    vec![
        agent("phi"),
        agent("phi next"),
        agent("omega"),
        agent("knowledge"),
        agent("adopted_at"),
        agent("degree"),
        agent("labels"),
        slot("neighbor"),
        slot("weight"),
        slot("age"),
        agent("target"),
        agent("claim"),
        agent("partner"),
        // What an `illuminate` or `nourish` intervention sets, at its largest.
        agent("pioneers"),
        agent("nourished"),
        scratch("scratch 0: next labels, degree sums, component parents"),
        scratch("scratch 1: label degrees, members, component sizes"),
        scratch("scratch 2: cos lo"),
        scratch("scratch 3: cos hi"),
        scratch("scratch 4: sin lo"),
        scratch("scratch 5: sin hi, psi partials"),
        DeviceBuffer::new("metrics sums", ACC_BYTES),
        DeviceBuffer::new("control", std::mem::size_of::<Control>() as u64),
        DeviceBuffer::new("params", std::mem::size_of::<Params>() as u64),
    ]
}

/// The most storage buffers one lifecycle kernel binds when the tie-slot arrays are split
/// into `chunks`: `ties_commit` (control, degree, the handshake's three arrays, and
/// neighbour, weight and age in `chunks` each), `lifecycle_agents` (control, φ, next φ,
/// ω, knowledge, adoption ticks, degree, the nourished flags, and neighbour and weight in
/// `chunks` each) or `community_sums` (ϕ, degree, labels and six sums). A test checks this against every kernel's declared bindings.
pub fn storage_per_stage(chunks: u32) -> u32 {
    (5 + 3 * chunks).max(8 + 2 * chunks).max(9)
}

impl GpuLifecycle {
    /// Put `state` on the device. Refuses, before allocating, a state whose tie slots
    /// do not fit one storage binding of this adapter.
    pub fn upload(
        ctx: &GpuContext,
        state: &Lifecycle,
        p: &LifecycleParams,
    ) -> Result<GpuLifecycle> {
        let n = state.n;
        let k = state.ties.slots;
        let size = Size {
            agents: n as u64,
            ties: state.ties.num_ties() as u64,
            slots: k as u64,
            complete: false,
        };
        crate::model::check_fits_on(&super::LifecycleModel, &size, ctx)?;
        let split = SlotSplit::for_slots(n as u64, k as u64, ctx.binding_cap);
        let groups = n.div_ceil(WORKGROUP);
        let params = buffers::uniform(ctx, "lifecycle params", &params_of(state, p, groups));
        let phi = buffers::storage(ctx, "phi", &state.phi);
        let phi_next = buffers::storage(ctx, "phi next", &state.phi);
        let omega = buffers::storage(ctx, "omega", &state.omega);
        let knowledge = buffers::storage(ctx, "knowledge", &state.knowledge);
        let adopted_at = buffers::storage(ctx, "adopted_at", &state.adopted_at);
        let degree = buffers::storage(ctx, "degree", &state.ties.degree);
        let neighbor = SlotArray::upload(ctx, "neighbor", &state.ties.neighbor, split);
        let weight = SlotArray::upload(ctx, "weight", &state.ties.weight, split);
        let age = SlotArray::upload(ctx, "age", &state.ties.age, split);
        let control = buffers::storage(
            ctx,
            "control",
            // The interval's tie counters go on from where the state left them.
            &[Control {
                tick: state.tick,
                created: state.created as u32,
                removed: state.removed as u32,
                cascade: state.cascade_total as u32,
                ..Default::default()
            }],
        );
        let scratch: Vec<wgpu::Buffer> = (0..SCRATCH_ARRAYS)
            .map(|_| buffers::zeroed(ctx, "metrics scratch", 4 * scratch_words(n as u64)))
            .collect();
        let partials = &scratch[5];
        let empty = vec![EMPTY; n as usize];
        let target = buffers::storage(ctx, "target", &empty);
        let claim = buffers::storage(ctx, "claim", &empty);
        let partner = buffers::storage(ctx, "partner", &empty);
        // An intervention's pioneers and nourished flags (one word, and zeros, when none:
        // the kernels read them only while one is set).
        let support = &state.support;
        let pioneers = if support.illuminates() {
            buffers::storage(ctx, "pioneers", &support.pioneers)
        } else {
            buffers::storage(ctx, "pioneers", &[0u32])
        };
        let nourished = if support.nourishes() {
            buffers::storage(ctx, "nourished", &support.nourished)
        } else {
            buffers::zeroed(ctx, "nourished", 4 * n.max(1) as u64)
        };

        let store = GraphStore::Slots(split);
        let kernel_slots =
            |name: &str, entries: &[(u32, &wgpu::Buffer)], arrays: &[(u32, &SlotArray)]| {
                Kernel::new(ctx, name, store, entries, arrays)
            };
        let kernel =
            |name: &str, entries: &[(u32, &wgpu::Buffer)]| kernel_slots(name, entries, &[]);
        let psi_partial = kernel(
            "lifecycle_psi_partial",
            &[(0, &params), (1, &phi), (2, &adopted_at), (3, partials)],
        )?;
        let psi_final = kernel(
            "lifecycle_psi_final",
            &[(0, &params), (1, partials), (2, &control)],
        )?;
        let agents = kernel_slots(
            "lifecycle_agents",
            &[
                (0, &params),
                (1, &control),
                (2, &phi),
                (3, &phi_next),
                (4, &omega),
                (5, &knowledge),
                (6, &adopted_at),
                (7, &degree),
                (10, &nourished),
            ],
            &[(8, &neighbor), (9, &weight)],
        )?;
        let weights = kernel_slots(
            "ties_weights",
            &[(0, &params), (1, &control), (2, &phi), (3, &degree)],
            &[(4, &neighbor), (5, &weight), (6, &age)],
        )?;
        let propose = kernel_slots(
            "ties_propose",
            &[
                (0, &params),
                (1, &control),
                (2, &phi),
                (3, &degree),
                (6, &target),
                (7, &claim),
                (8, &pioneers),
            ],
            &[(4, &neighbor), (5, &weight)],
        )?;
        let confirm = kernel(
            "ties_confirm",
            &[
                (0, &params),
                (1, &control),
                (2, &target),
                (3, &claim),
                (4, &partner),
            ],
        )?;
        let commit = kernel_slots(
            "ties_commit",
            &[
                (0, &params),
                (1, &control),
                (2, &degree),
                (6, &target),
                (7, &claim),
                (8, &partner),
            ],
            &[(3, &neighbor), (4, &weight), (5, &age)],
        )?;
        let labels = buffers::storage(ctx, "labels", &state.labels);
        let acc = buffers::zeroed(ctx, "metrics sums", ACC_COLUMNS as u64 * 8);
        let adjacency = with_slots(&[(0, &degree)], &[(1, &neighbor)]);
        // Label propagation's next labels and label degrees are scratch 0 and 1 (the
        // latter left zeroed); its labels are the state's own (a warm start).
        let lpa = GpuLabelPropagation::new(
            ctx,
            n,
            k,
            &adjacency,
            store,
            state.seed,
            p.lpa_rounds,
            &control,
            &labels,
            &scratch[0],
            &scratch[1],
        )?;
        let metrics_agents = kernel_slots(
            "metrics_agents",
            &[
                (0, &params),
                (1, &control),
                (2, &phi),
                (3, &knowledge),
                (4, &adopted_at),
                (5, &degree),
                (8, &labels),
                (15, &acc),
            ],
            &[(6, &neighbor), (7, &weight)],
        )?;
        let mut sums_in: Vec<(u32, &wgpu::Buffer)> =
            vec![(0, &params), (1, &phi), (2, &degree), (3, &labels)];
        sums_in.extend(scratch.iter().enumerate().map(|(s, b)| (4 + s as u32, b)));
        let community_sums = kernel("community_sums", &sums_in)?;
        let mut reduce_in: Vec<(u32, &wgpu::Buffer)> = vec![(0, &params), (15, &acc)];
        reduce_in.extend(scratch.iter().enumerate().map(|(s, b)| (1 + s as u32, b)));
        let community_reduce = kernel("community_reduce", &reduce_in)?;
        let components = GpuComponents::new(
            ctx,
            n,
            k,
            &adjacency,
            store,
            Some((&scratch[0], &scratch[1])),
        )?;
        let keep = vec![params, omega, target, claim, partner, pioneers, nourished];
        ctx.check()?;
        Ok(GpuLifecycle {
            labels,
            acc,
            lpa,
            metrics_agents,
            community_sums,
            community_reduce,
            components,
            n,
            slots: k,
            phi,
            phi_next,
            knowledge,
            adopted_at,
            degree,
            neighbor,
            weight,
            age,
            control,
            scratch,
            psi_partial,
            psi_final,
            agents,
            weights,
            propose,
            confirm,
            commit,
            _keep: keep,
        })
    }

    /// How the tie-slot arrays are split over bindings on this device.
    pub fn split(&self) -> SlotSplit {
        self.neighbor.split
    }

    fn dispatch(&self, ctx: &GpuContext, pass: &mut wgpu::ComputePass<'_>, k: &Kernel) {
        buffers::dispatch(ctx, pass, &k.pipeline, &k.group, self.n);
    }

    /// Record `passes` into `encoder`.
    pub fn record(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, passes: &[Pass]) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for p in passes {
            match p {
                Pass::Psi => {
                    self.dispatch(ctx, &mut pass, &self.psi_partial);
                    pass.set_pipeline(&self.psi_final.pipeline);
                    pass.set_bind_group(0, &self.psi_final.group, &[]);
                    pass.dispatch_workgroups(1, 1, 1);
                }
                Pass::Agents => {
                    self.dispatch(ctx, &mut pass, &self.agents);
                    // The new phases become current; the copy needs the pass closed.
                    drop(pass);
                    encoder.copy_buffer_to_buffer(
                        &self.phi_next,
                        0,
                        &self.phi,
                        0,
                        self.n as u64 * 4,
                    );
                    pass = encoder.begin_compute_pass(&Default::default());
                }
                Pass::Weights => self.dispatch(ctx, &mut pass, &self.weights),
                Pass::Propose => self.dispatch(ctx, &mut pass, &self.propose),
                Pass::Confirm => self.dispatch(ctx, &mut pass, &self.confirm),
                Pass::Commit => self.dispatch(ctx, &mut pass, &self.commit),
            }
        }
    }

    /// The pass groups a profile times, in the order of a tick.
    pub const GROUPS: [&'static str; 4] = ["psi", "agents", "weights", "search"];

    /// Record one tick into `encoder` as [`Self::record`] does, each pass group (ψ,
    /// agents, weights, search) in its own compute pass with timestamps written at
    /// `queries[first..first + 8]` (`run --profile`). The same dispatches in the same
    /// order: the run does not change.
    pub fn record_timed(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        queries: &wgpu::QuerySet,
        first: u32,
    ) {
        let groups: [&[&Kernel]; 4] = [
            &[&self.psi_partial, &self.psi_final],
            &[&self.agents],
            &[&self.weights],
            &[&self.propose, &self.confirm, &self.commit],
        ];
        for (g, kernels) in groups.iter().enumerate() {
            let base = first + 2 * g as u32;
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: queries,
                        beginning_of_pass_write_index: Some(base),
                        end_of_pass_write_index: Some(base + 1),
                    }),
                });
                for k in kernels.iter() {
                    if std::ptr::eq(*k, &self.psi_final) {
                        buffers::dispatch_one(&mut pass, &k.pipeline, &k.group);
                    } else {
                        self.dispatch(ctx, &mut pass, k);
                    }
                }
            }
            if g == 1 {
                encoder.copy_buffer_to_buffer(&self.phi_next, 0, &self.phi, 0, self.n as u64 * 4);
            }
        }
    }

    /// Device time of each pass group (ψ, agents, weights, search) over `reps`
    /// repetitions, from timestamp queries around each group's compute pass; `None` when
    /// the adapter offers no timestamps. The new phases' copy after the agents pass is
    /// not timed.
    pub fn time_passes(&self, ctx: &GpuContext, reps: u32) -> Result<Option<[f64; 4]>> {
        if !ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return Ok(None);
        }
        let groups: [&[&Kernel]; 4] = [
            &[&self.psi_partial, &self.psi_final],
            &[&self.agents],
            &[&self.weights],
            &[&self.propose, &self.confirm, &self.commit],
        ];
        let count = 2 * 4 * reps;
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: count as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for r in 0..reps {
            for (g, kernels) in groups.iter().enumerate() {
                let base = 2 * (4 * r + g as u32);
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: &queries,
                            beginning_of_pass_write_index: Some(base),
                            end_of_pass_write_index: Some(base + 1),
                        }),
                    });
                    for k in kernels.iter() {
                        if std::ptr::eq(*k, &self.psi_final) {
                            pass.set_pipeline(&k.pipeline);
                            pass.set_bind_group(0, &k.group, &[]);
                            pass.dispatch_workgroups(1, 1, 1);
                        } else {
                            self.dispatch(ctx, &mut pass, k);
                        }
                    }
                }
                if g == 1 {
                    encoder.copy_buffer_to_buffer(
                        &self.phi_next,
                        0,
                        &self.phi,
                        0,
                        self.n as u64 * 4,
                    );
                }
            }
        }
        encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
        ctx.queue.submit([encoder.finish()]);
        let stamps: Vec<u64> = buffers::read_back(ctx, &resolved, 0, count as usize)?;
        let period_s = ctx.queue.get_timestamp_period() as f64 * 1e-9;
        let mut spent = [0.0f64; 4];
        for (k, pair) in stamps.chunks(2).enumerate() {
            spent[k % 4] += pair[1].saturating_sub(pair[0]) as f64 * period_s;
        }
        Ok(Some(spent))
    }

    /// Run `ticks` whole ticks in one submission (no readback).
    pub fn run_ticks(&self, ctx: &GpuContext, ticks: u32) {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for _ in 0..ticks {
            self.record(ctx, &mut encoder, &TICK);
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// Run a list of passes in one submission (tests use single passes).
    pub fn run_passes(&self, ctx: &GpuContext, passes: &[Pass]) {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.record(ctx, &mut encoder, passes);
        ctx.queue.submit([encoder.finish()]);
    }

    pub fn control(&self, ctx: &GpuContext) -> Result<Control> {
        Ok(buffers::read_back::<Control>(ctx, &self.control, 0, 1)?[0])
    }

    /// Zero the interval's tie counters (after the metrics have read them).
    pub fn reset_counters(&self, ctx: &GpuContext) {
        ctx.queue
            .write_buffer(&self.control, COUNTERS_AT, &[0; COUNTERS_BYTES as usize]);
    }

    /// Record one metrics row of the current tick into `encoder`, ending with a copy of
    /// its sums into `staging` (from [`Self::staging`]) and the reset of the interval's tie
    /// counters: label propagation, per-agent and per-community sums in exact fixed
    /// point, and components with a fixed number of rounds. Nothing is read back here.
    pub fn record_metrics(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
    ) {
        encoder.clear_buffer(&self.acc, 0, None);
        self.lpa.record(ctx, encoder);
        // The community sums add into the scratch, which label propagation and the tick's
        // ψ partials have left written.
        for b in &self.scratch {
            encoder.clear_buffer(b, 0, None);
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.dispatch(ctx, &mut pass, &self.metrics_agents);
            self.dispatch(ctx, &mut pass, &self.community_sums);
            self.dispatch(ctx, &mut pass, &self.community_reduce);
        }
        self.components.record(ctx, encoder, COMPONENT_ROUNDS);
        encoder.copy_buffer_to_buffer(&self.acc, 0, staging, 0, ACC_BYTES);
        encoder.copy_buffer_to_buffer(&self.control, 0, staging, STAGED_CONTROL_AT, CONTROL_BYTES);
        let (components, changed) = (self.components.result(), self.components.changed());
        encoder.copy_buffer_to_buffer(components, 0, staging, STAGED_COMPONENTS_AT, 8);
        encoder.copy_buffer_to_buffer(changed, 0, staging, STAGED_CHANGED_AT, 4);
        // The interval's created/removed counters start again from 0.
        encoder.clear_buffer(&self.control, COUNTERS_AT, Some(COUNTERS_BYTES));
    }

    /// A staging buffer for [`Self::record_metrics`].
    pub fn staging(&self, ctx: &GpuContext) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("metrics staging"),
            size: STAGING_BYTES,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// The metrics row from the words of a staging buffer; `ticks_in_interval` as in
    /// [`Lifecycle::metrics`]. Also says whether the components had converged, and how
    /// many agents the cascade has brought to adoption since tick 0.
    pub fn decode_metrics(&self, words: &[u32], ticks_in_interval: u32) -> (Vec<f64>, bool, u32) {
        let sum = |c: usize| words[2 * c] as f64 + words[2 * c + 1] as f64 * 4_294_967_296.0;
        let at = word(STAGED_CONTROL_AT);
        let control: Control = bytemuck::pod_read_unaligned(bytemuck::cast_slice(
            &words[at..at + word(CONTROL_BYTES)],
        ));
        let largest = words[word(STAGED_COMPONENTS_AT)];
        let converged = words[word(STAGED_CHANGED_AT)] == 0;
        let nf = self.n.max(1) as f64;
        let degree_sum = sum(0);
        let ties = degree_sum / 2.0;
        let churn = if ticks_in_interval == 0 {
            0.0
        } else {
            (control.created as f64 + control.removed as f64)
                / (ticks_in_interval as f64 * ties.max(1.0))
        };
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        // Undefined (NaN) when there is nothing to compute it on, as on the CPU.
        let defined = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        let clustering = defined(sum(8), sum(7));
        let (m1, m2) = (degree_sum / nf, sum(1) / nf);
        let c_null = if degree_sum > 0.0 {
            (m2 - m1).powi(2) / (nf * m1.powi(3))
        } else {
            0.0
        };
        let modularity = if degree_sum > 0.0 {
            sum(9) / degree_sum - sum(11) / (1u64 << 30) as f64
        } else {
            f64::NAN
        };
        let unit = (1u64 << 20) as f64;
        let alignment = (sum(5) / unit - nf).hypot(sum(6) / unit - nf) / nf;
        let row = vec![
            control.tick as f64,
            degree_sum / nf,
            largest as f64 / nf,
            churn,
            defined(sum(2), degree_sum),
            clustering,
            defined(clustering, c_null),
            sum(12),
            modularity,
            alignment,
            ratio(sum(13) / 1024.0, sum(14)),
            sum(3) / nf,
            sum(4) / 1024.0 / nf,
        ];
        (row, converged, control.cascade)
    }

    /// One metrics row of the current tick, waiting for it (tests and the first row).
    pub fn metrics(&self, ctx: &GpuContext, ticks_in_interval: u32) -> Result<Vec<f64>> {
        Ok(self.metrics_checked(ctx, ticks_in_interval)?.0)
    }

    /// [`Self::metrics`] and whether the components converged within their rounds.
    pub fn metrics_checked(
        &self,
        ctx: &GpuContext,
        ticks_in_interval: u32,
    ) -> Result<(Vec<f64>, bool, u32)> {
        let staging = self.staging(ctx);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.record_metrics(ctx, &mut encoder, &staging);
        ctx.queue.submit([encoder.finish()]);
        let words: Vec<u32> = buffers::map_and_read(ctx, &staging)?;
        let (row, converged, cascade) = self.decode_metrics(&words, ticks_in_interval);
        if !converged {
            tracing::warn!(
                "components had not converged after {COMPONENT_ROUNDS} rounds at tick {}",
                row[0]
            );
        }
        Ok((row, converged, cascade))
    }

    /// The state buffers a renderer reads (and never writes), so frames can be drawn
    /// between ticks without a download.
    pub fn render_inputs(&self) -> crate::render::gpu::RenderInputs<'_> {
        crate::render::gpu::RenderInputs {
            phi: &self.phi,
            knowledge: &self.knowledge,
            adopted_at: &self.adopted_at,
            degree: &self.degree,
            neighbor: &self.neighbor,
            weight: &self.weight,
        }
    }

    /// Copy the device state into `state` (everything the passes change).
    pub fn download(&self, ctx: &GpuContext, state: &mut Lifecycle) -> Result<Control> {
        let n = self.n as usize;
        state.phi = buffers::read_back(ctx, &self.phi, 0, n)?;
        state.knowledge = buffers::read_back(ctx, &self.knowledge, 0, n)?;
        state.adopted_at = buffers::read_back(ctx, &self.adopted_at, 0, n)?;
        state.labels = buffers::read_back(ctx, &self.labels, 0, n)?;
        let ties = TieStore {
            n: self.n,
            slots: self.slots,
            neighbor: self.neighbor.read_back(ctx)?,
            weight: self.weight.read_back(ctx)?,
            age: self.age.read_back(ctx)?,
            degree: buffers::read_back(ctx, &self.degree, 0, n)?,
        };
        state.ties = ties;
        let control = self.control(ctx)?;
        state.tick = control.tick;
        state.created = control.created as u64;
        state.removed = control.removed as u64;
        state.cascade_total = control.cascade as u64;
        Ok(control)
    }
}
