//! The lifecycle as a [`Model`]: its start from the scenario's graph, and its
//! [`Simulation`] on each backend, with frames when the run asks for them. On the GPU an
//! interval's ticks, its metrics reductions and its frame's layout, splat and pack go to
//! the device in one submission, and the row and frame are read back from
//! double-buffered staging while the device runs the next interval.

use super::cpu::CpuActions;
use super::gpu::{ActionsOn, GpuActions, GpuLifecycle, COMPONENT_ROUNDS, TICK};
use super::{
    no_null_row, Lifecycle, LifecycleParams, Milestones, Support, COLUMNS, UNDEFINED_COLUMNS,
};
use crate::analysis::community_tracker::{CommunityRow, CommunityTracker, TrackerParams};
use crate::analysis::components;
use crate::analysis::stages::{OnlineTracker, StageParams};
use crate::backend::Backend;
use crate::engine::FrameOut;
use crate::engine::{Collected, Interval, Per, Rows, Simulation, State, Values};
use crate::error::{Error, Result};
use crate::gpu::{buffers, GpuContext};
use crate::graph::TieStore;
use crate::intervention::passes::ActionPasses;
use crate::io::table::Column;
use crate::io::MetricsTable;
use crate::model::{DeviceBuffer, Model, Outcome, Run, Size, Start};
use crate::profile::{PassTime, PassTimes};
use crate::render::drive::{params_for, render_cpu};
use crate::render::gpu::GpuRenderer;
use crate::render::groups::Groups;
use crate::render::layout::{self, ForceLayout, TieView};
use crate::render::{RenderParams, LAYOUT_STEPS_PER_FRAME};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

/// `model.kind = "lifecycle"`.
pub struct LifecycleModel;

impl Model for LifecycleModel {
    fn name(&self) -> &'static str {
        "lifecycle"
    }

    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn order_column(&self) -> &'static str {
        "alignment"
    }

    fn has_stages(&self) -> bool {
        true
    }

    fn renders(&self) -> bool {
        true
    }

    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick", "communities"]
    }

    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        super::gpu::buffers(size.agents, size.slots)
    }

    /// The null sample at its peak with every slot in use (2M = N·K tie ends): the keyed
    /// tie ends (12 B each) and the rewired edge list (4 B per end), then the rewired
    /// graph's neighbour ids (4 B per end); per agent about 64 B of labels, components,
    /// permutation keys and per-agent rates.
    fn host_analysis_bytes(&self, size: &Size) -> u64 {
        let ends = size.agents * size.slots;
        16 * ends + 64 * size.agents
    }

    fn storage_per_stage(&self, slot_chunks: u32) -> u32 {
        super::gpu::storage_per_stage(slot_chunks)
    }

    fn traffic(
        &self,
        size: &Size,
        scenario: &crate::config::Scenario,
    ) -> Vec<crate::roofline::PassTraffic> {
        super::traffic::traffic(size, scenario)
    }

    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        let params = LifecycleParams::from_config(&start.loaded.scenario);
        let ties = crate::graph::tie_slots(&start.edges, params.slots, params.new_tie);
        let life = Lifecycle::new(start.n(), start.seed(), &params, ties);
        let render = start.render.map(|plan| params_for(&life, &params, plan));
        Ok(Box::new(LifecycleSim::new(
            backend,
            life,
            params,
            start.metrics_every(),
            render,
        )?))
    }
}

/// Ticks of the lifecycle from `life` on `backend`, through the driver, with a metrics
/// row at the start, every `metrics_every` ticks and at the last tick; `life` holds the
/// final state afterwards.
pub fn run(
    backend: &Backend,
    life: &mut Lifecycle,
    params: &LifecycleParams,
    ticks: u32,
    metrics_every: u32,
) -> Result<MetricsTable> {
    let state = std::mem::replace(life, Lifecycle::placeholder(params));
    let mut sim = LifecycleSim::new(backend, state, *params, metrics_every, None)?;
    let driven = crate::engine::drive(&mut sim, crate::engine::Drive::quiet(ticks as u64))?;
    *life = sim.into_state()?;
    Ok(driven.table)
}

struct CpuSim {
    life: Lifecycle,
    /// The one-off interventions' flags (agents picked by the last mark).
    flags: Vec<u32>,
    layout: Option<ForceLayout>,
    done: VecDeque<Collected>,
    /// Pass times of a profiled run.
    times: Option<PassTimes>,
}

/// Timestamps of a profiled GPU run: one query set, resolve buffer and staging buffer per
/// in-flight submission, and what each pair of timestamps timed.
struct GpuProfiler {
    queries: [wgpu::QuerySet; 2],
    resolve: [wgpu::Buffer; 2],
    staging: [wgpu::Buffer; 2],
    /// The pass of each timestamp pair of a submission in flight, by slot.
    pairs: [Vec<&'static str>; 2],
    receivers: [Option<Receiver<Result<()>>>; 2],
    times: PassTimes,
    period_s: f64,
}

/// Timestamps one submission may write: wgpu's most per query set. A longer interval
/// times its first ticks (the profile counts the calls it timed).
const PROFILE_QUERIES: u32 = wgpu::QUERY_SET_MAX_QUERIES;

impl GpuProfiler {
    fn new(ctx: &GpuContext) -> GpuProfiler {
        let set = || {
            ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: PROFILE_QUERIES,
            })
        };
        let bytes = PROFILE_QUERIES as u64 * 8;
        let buffer = |usage| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile timestamps"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolve = wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC;
        let staging = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        GpuProfiler {
            queries: [set(), set()],
            resolve: [buffer(resolve), buffer(resolve)],
            staging: [buffer(staging), buffer(staging)],
            pairs: [Vec::new(), Vec::new()],
            receivers: [None, None],
            times: PassTimes::default(),
            period_s: ctx.queue.get_timestamp_period() as f64 * 1e-9,
        }
    }

    /// An empty compute pass that writes one timestamp (the metrics row's bounds).
    fn mark(&self, encoder: &mut wgpu::CommandEncoder, slot: usize, index: u32, begin: bool) {
        let _ = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &self.queries[slot],
                beginning_of_pass_write_index: begin.then_some(index),
                end_of_pass_write_index: (!begin).then_some(index),
            }),
        });
    }

    /// Add the timestamps of the submission collected from `slot`.
    fn collect(&mut self, slot: usize) -> Result<()> {
        let Some(rx) = self.receivers[slot].take() else {
            return Ok(());
        };
        received(rx)?;
        let stamps: Vec<u64> = buffers::read_mapped(&self.staging[slot])?;
        for (k, pass) in self.pairs[slot].drain(..).enumerate() {
            let (a, b) = (stamps[2 * k], stamps[2 * k + 1]);
            self.times
                .add(pass, 1, b.saturating_sub(a) as f64 * self.period_s);
        }
        Ok(())
    }
}

struct GpuSim<'a> {
    ctx: &'a GpuContext,
    device: GpuLifecycle,
    life: Lifecycle,
    renderer: Option<GpuRenderer>,
    /// The groups the renderer draws now (for the frames' captions).
    drawn_sizes: Vec<(u32, bool)>,
    m_staging: [wgpu::Buffer; 2],
    f_staging: Option<[wgpu::Buffer; 2]>,
    in_flight: VecDeque<Stop>,
    submitted: u64,
    profiler: Option<GpuProfiler>,
    /// The one-off interventions' kernels, made at the first firing.
    actions: Option<GpuActions>,
}

/// One GPU submission waiting to be collected.
struct Stop {
    index: wgpu::SubmissionIndex,
    slot: usize,
    interval: u32,
    row_rx: Option<Receiver<Result<()>>>,
    frame_rx: Option<Receiver<Result<()>>>,
    /// The groups the frame drew.
    frame_sizes: Vec<(u32, bool)>,
    /// The row's null sample, computed from the state downloaded when it was due.
    nulls: Option<Vec<f64>>,
}

enum Inner<'a> {
    Cpu(Box<CpuSim>),
    Gpu(Box<GpuSim<'a>>),
}

pub struct LifecycleSim<'a> {
    params: LifecycleParams,
    every: u32,
    /// Tick of the last row, for the churn's interval.
    last_row: u32,
    frames: u64,
    /// Seconds the simulation thread spent on frames.
    render_s: f64,
    /// The stages said so far, fed each new row by `stage`/`progress`.
    tracker: RefCell<Option<OnlineTracker>>,
    /// The communities of practice, matched from null sample to null sample.
    communities: CommunityTracker,
    inner: Inner<'a>,
}

impl<'a> GpuSim<'a> {
    fn new(
        ctx: &'a GpuContext,
        life: Lifecycle,
        params: &LifecycleParams,
        render: Option<RenderParams>,
    ) -> Result<GpuSim<'a>> {
        let device = GpuLifecycle::upload(ctx, &life, params)?;
        let renderer = render
            .map(|rp| {
                GpuRenderer::new(
                    ctx,
                    rp,
                    &layout::initial_positions(life.n, life.seed),
                    device.render_inputs(),
                )
            })
            .transpose()?;
        let f_staging = renderer.as_ref().map(|r| [r.staging(ctx), r.staging(ctx)]);
        Ok(GpuSim {
            ctx,
            m_staging: [device.staging(ctx), device.staging(ctx)],
            f_staging,
            device,
            life,
            renderer,
            drawn_sizes: Vec::new(),
            in_flight: VecDeque::new(),
            submitted: 0,
            profiler: None,
            actions: None,
        })
    }
}

fn map(staging: &wgpu::Buffer, what: &'static str) -> Receiver<Result<()>> {
    let (tx, rx) = channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r.map_err(|e| Error::Gpu(format!("{what} readback failed: {e}"))));
    });
    rx
}

fn received(rx: Receiver<Result<()>>) -> Result<()> {
    rx.recv()
        .map_err(|_| Error::Gpu("readback callback never ran".into()))?
}

impl<'a> LifecycleSim<'a> {
    /// A simulation of `life` on `backend`, with frames when `render` is given.
    pub fn new(
        backend: &'a Backend,
        life: Lifecycle,
        params: LifecycleParams,
        every: u32,
        render: Option<RenderParams>,
    ) -> Result<LifecycleSim<'a>> {
        let inner = match backend {
            Backend::Cpu => Inner::Cpu(Box::new(CpuSim {
                flags: Vec::new(),
                layout: render.map(|rp| ForceLayout::new(rp, life.seed)),
                life,
                done: VecDeque::new(),
                times: None,
            })),
            Backend::Gpu(ctx) => Inner::Gpu(Box::new(GpuSim::new(ctx, life, &params, render)?)),
        };
        Ok(LifecycleSim {
            params,
            every,
            last_row: 0,
            frames: 0,
            render_s: 0.0,
            tracker: RefCell::new(None),
            communities: CommunityTracker::new(TrackerParams::default()),
            inner,
        })
    }

    /// The state at the end (downloads the GPU's).
    pub fn into_state(mut self) -> Result<Lifecycle> {
        self.download()?;
        Ok(match self.inner {
            Inner::Cpu(c) => c.life,
            Inner::Gpu(g) => g.life,
        })
    }

    fn download(&mut self) -> Result<()> {
        if let Inner::Gpu(g) = &mut self.inner {
            g.device.download(g.ctx, &mut g.life)?;
        }
        Ok(())
    }

    fn life(&self) -> &Lifecycle {
        match &self.inner {
            Inner::Cpu(c) => &c.life,
            Inner::Gpu(g) => &g.life,
        }
    }
}

impl LifecycleSim<'_> {
    /// The highest stage the online tracker has said, after feeding it the rows of
    /// `table` it has not seen (0, isolated efforts, until it says more).
    fn online_stage(&self, table: &MetricsTable) -> u8 {
        let mut tracker = self.tracker.borrow_mut();
        let tracker = tracker.get_or_insert_with(|| {
            OnlineTracker::new(StageParams::new(self.life().n), &table.columns)
        });
        tracker.catch_up(table);
        tracker.stage()
    }
}

impl Simulation for LifecycleSim<'_> {
    fn columns(&self) -> &'static [&'static str] {
        &COLUMNS
    }

    fn undefined_columns(&self) -> &'static [&'static str] {
        &UNDEFINED_COLUMNS
    }

    fn start_tick(&self) -> u64 {
        self.life().tick as u64
    }

    fn rows(&self) -> Rows {
        Rows::Every(self.every)
    }

    /// The lifecycle never stops early, so the next interval may be queued before the
    /// last row is read.
    fn queue_depth(&self) -> usize {
        2
    }

    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>> {
        self.last_row = self.life().tick;
        let due = Lifecycle::null_row_due(&self.params, self.every, self.life().tick);
        let mut row = match &mut self.inner {
            Inner::Cpu(c) => {
                let mut row = c.life.metrics(&self.params, 0);
                // The CPU's components always run to completion.
                row.push(1.0);
                row.push(c.life.cascade_share());
                row
            }
            Inner::Gpu(g) => {
                let (mut row, converged, cascade) = g.device.metrics_checked(g.ctx, 0)?;
                row.push(converged as u8 as f64);
                row.push(g.life.share(cascade.into()));
                if due {
                    g.device.download(g.ctx, &mut g.life)?;
                }
                row
            }
        };
        if due {
            let (nulls, growth) = self.life().null_sample(&self.params);
            row.extend(nulls);
            let life = match &self.inner {
                Inner::Cpu(c) => &c.life,
                Inner::Gpu(g) => &g.life,
            };
            life.track_communities(&mut self.communities, &growth);
        } else {
            row.extend(no_null_row());
        }
        Ok(vec![row])
    }

    fn submit(&mut self, iv: Interval) -> Result<()> {
        // The frame of the starting state is the only interval of no ticks (a resumed run
        // has none: its first frame follows ticks, and the layout steps before it).
        let first_frame = iv.ticks == 0;
        if iv.frame {
            self.frames += 1;
        }
        match &mut self.inner {
            Inner::Cpu(c) => {
                c.life
                    .steps(&self.params, iv.ticks as u64, c.times.as_mut());
                let mut out = Collected::default();
                let mut tracked = false;
                if iv.row {
                    let t0 = Instant::now();
                    let mut row = c.life.metrics(&self.params, c.life.tick - self.last_row);
                    row.push(1.0);
                    row.push(c.life.cascade_share());
                    if let Some(times) = c.times.as_mut() {
                        times.add("metrics row", 1, t0.elapsed().as_secs_f64());
                    }
                    if Lifecycle::null_row_due(&self.params, self.every, c.life.tick) {
                        let t0 = Instant::now();
                        let (nulls, growth) = c.life.null_sample(&self.params);
                        row.extend(nulls);
                        c.life.track_communities(&mut self.communities, &growth);
                        // Drawn from the next frame on, as on the GPU.
                        tracked = true;
                        if let Some(times) = c.times.as_mut() {
                            times.add("null sample", 1, t0.elapsed().as_secs_f64());
                        }
                    } else {
                        row.extend(no_null_row());
                    }
                    self.last_row = c.life.tick;
                    out.rows.push(row);
                }
                if iv.frame {
                    let t0 = Instant::now();
                    let layout = c.layout.as_mut().expect("frames need a layout");
                    // The first frame shows the starting positions.
                    if !first_frame {
                        layout.step(TieView::from(&c.life.ties), LAYOUT_STEPS_PER_FRAME);
                    }
                    out.frame = Some(FrameOut {
                        pixels: render_cpu(&c.life, layout),
                        communities: layout.groups.summary(),
                    });
                    self.render_s += t0.elapsed().as_secs_f64();
                }
                if let (true, Some(layout)) = (tracked, c.layout.as_mut()) {
                    layout.set_groups(Groups::from_tracker(&self.communities, c.life.n));
                }
                c.done.push_back(out);
            }
            Inner::Gpu(g) => {
                let t0 = Instant::now();
                let ctx = g.ctx;
                let slot = (g.submitted % 2) as usize;
                g.submitted += 1;
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                let mut used = 0u32;
                for _ in 0..iv.ticks {
                    match g.profiler.as_mut() {
                        Some(p) if used + 10 <= PROFILE_QUERIES => {
                            g.device
                                .record_timed(ctx, &mut encoder, &p.queries[slot], used);
                            p.pairs[slot].extend(GpuLifecycle::GROUPS);
                            used += 8;
                        }
                        _ => g.device.record(ctx, &mut encoder, &TICK),
                    }
                }
                if iv.row {
                    if let Some(p) = g.profiler.as_ref() {
                        p.mark(&mut encoder, slot, used, true);
                    }
                    g.device
                        .record_metrics(ctx, &mut encoder, &g.m_staging[slot]);
                    if let Some(p) = g.profiler.as_mut() {
                        p.mark(&mut encoder, slot, used + 1, false);
                        p.pairs[slot].push("metrics row");
                        used += 2;
                    }
                }
                if let Some(p) = g.profiler.as_ref().filter(|_| used > 0) {
                    encoder.resolve_query_set(&p.queries[slot], 0..used, &p.resolve[slot], 0);
                    encoder.copy_buffer_to_buffer(
                        &p.resolve[slot],
                        0,
                        &p.staging[slot],
                        0,
                        used as u64 * 8,
                    );
                }
                if iv.frame {
                    let renderer = g.renderer.as_ref().expect("frames need a renderer");
                    if !first_frame {
                        renderer.record_layout(ctx, &mut encoder, LAYOUT_STEPS_PER_FRAME);
                    }
                    let staging = g.f_staging.as_ref().expect("frames need staging");
                    renderer.record_frame(ctx, &mut encoder, &staging[slot]);
                }
                let index = ctx.queue.submit([encoder.finish()]);
                if let Some(p) = g.profiler.as_mut().filter(|_| used > 0) {
                    p.receivers[slot] = Some(map(&p.staging[slot], "profile"));
                }
                let row_rx = iv.row.then(|| map(&g.m_staging[slot], "metrics"));
                let frame_sizes = if iv.frame {
                    g.drawn_sizes.clone()
                } else {
                    Vec::new()
                };
                let mut frame_sizes_next = None;
                let frame_rx = g
                    .f_staging
                    .as_ref()
                    .filter(|_| iv.frame)
                    .map(|s| map(&s[slot], "frame"));
                // The tick the device reaches with this submission.
                g.life.tick += iv.ticks;
                // A null sample needs the state of this row: wait for it and download
                // (the one stall of the tick loop, every `null_every` rows).
                let nulls =
                    if iv.row && Lifecycle::null_row_due(&self.params, self.every, g.life.tick) {
                        let t_null = Instant::now();
                        g.device.download(ctx, &mut g.life)?;
                        let (row, growth) = g.life.null_sample(&self.params);
                        g.life.track_communities(&mut self.communities, &growth);
                        // Written after this submission: drawn from the next frame on.
                        if let Some(r) = g.renderer.as_mut() {
                            let groups = Groups::from_tracker(&self.communities, g.life.n);
                            r.set_groups(ctx, &groups);
                            frame_sizes_next = Some(groups.summary());
                        }
                        if let Some(p) = g.profiler.as_mut() {
                            p.times
                                .add("null sample", 1, t_null.elapsed().as_secs_f64());
                        }
                        Some(row)
                    } else {
                        None
                    };
                if let Some(sizes) = frame_sizes_next {
                    g.drawn_sizes = sizes;
                }
                let interval = g.life.tick - self.last_row;
                if iv.row {
                    self.last_row = g.life.tick;
                }
                g.in_flight.push_back(Stop {
                    index,
                    slot,
                    interval,
                    row_rx,
                    frame_rx,
                    frame_sizes,
                    nulls,
                });
                if iv.frame {
                    self.render_s += t0.elapsed().as_secs_f64();
                }
            }
        }
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        match &mut self.inner {
            Inner::Cpu(c) => Ok(c.done.pop_front().expect("collect after submit")),
            Inner::Gpu(g) => {
                let stop = g.in_flight.pop_front().expect("collect after submit");
                let ctx = g.ctx;
                ctx.device
                    .poll(wgpu::PollType::Wait {
                        submission_index: Some(stop.index),
                        timeout: None,
                    })
                    .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
                ctx.check()?;
                if let Some(p) = g.profiler.as_mut() {
                    p.collect(stop.slot)?;
                }
                let mut out = Collected::default();
                if let Some(rx) = stop.row_rx {
                    received(rx)?;
                    let words: Vec<u32> = buffers::read_mapped(&g.m_staging[stop.slot])?;
                    let (mut row, converged, cascade) =
                        g.device.decode_metrics(&words, stop.interval);
                    row.push(converged as u8 as f64);
                    row.push(g.life.share(cascade.into()));
                    row.extend(stop.nulls.unwrap_or_else(no_null_row));
                    if !converged {
                        tracing::warn!(
                            "components had not converged after {COMPONENT_ROUNDS} rounds at tick {}",
                            row[0]
                        );
                    }
                    out.rows.push(row);
                }
                if let Some(rx) = stop.frame_rx {
                    received(rx)?;
                    let t0 = Instant::now();
                    let staging = g.f_staging.as_ref().expect("frames need staging");
                    out.frame = Some(FrameOut {
                        pixels: buffers::read_mapped(&staging[stop.slot])?,
                        communities: stop.frame_sizes,
                    });
                    self.render_s += t0.elapsed().as_secs_f64();
                }
                Ok(out)
            }
        }
    }

    fn progress(&self, table: &MetricsTable) -> String {
        let stage = self.online_stage(table);
        format!(
            "{} | stage {stage} {}",
            lifecycle_progress(table),
            crate::analysis::stages::STAGE_NAMES[stage as usize]
        )
    }

    fn stage(&self, table: &MetricsTable) -> Option<u32> {
        Some(self.online_stage(table) as u32)
    }

    fn state(&mut self) -> Result<State> {
        self.download()?;
        let last_row = self.last_row as u64;
        // The layout of a movie in progress, so that a resumed run draws the same frames.
        let layout = match &self.inner {
            Inner::Cpu(c) => c.layout.as_ref().map(|l| (l.pos.clone(), l.camera)),
            Inner::Gpu(g) => g
                .renderer
                .as_ref()
                .map(|r| Ok::<_, Error>((r.positions(g.ctx)?, r.camera(g.ctx)?)))
                .transpose()?,
        };
        let (tracker_words, tracker_rows) = self.communities.to_parts();
        let life = self.life();
        let t = &life.ties;
        let counter = |v: u64| Values::U64(vec![v]);
        let mut state = State::new("lifecycle", life.tick as u64);
        if let Some((pos, camera)) = layout {
            state = state
                .with("layout_camera", Per::Run, Values::F32(camera.to_vec()))
                .with(
                    "layout_x",
                    Per::Agent,
                    Values::F32(pos.iter().map(|p| p[0]).collect()),
                )
                .with(
                    "layout_y",
                    Per::Agent,
                    Values::F32(pos.iter().map(|p| p[1]).collect()),
                );
        }
        Ok(state
            .with("phi", Per::Agent, Values::F32(life.phi.clone()))
            .with("omega", Per::Agent, Values::F32(life.omega.clone()))
            .with("knowledge", Per::Agent, Values::F32(life.knowledge.clone()))
            .with(
                "adopted_at",
                Per::Agent,
                Values::U32(life.adopted_at.clone()),
            )
            .with("labels", Per::Agent, Values::U32(life.labels.clone()))
            .with("degree", Per::Agent, Values::U32(t.degree.clone()))
            .with("neighbor", Per::Slot, Values::U32(t.neighbor.clone()))
            .with("weight", Per::Slot, Values::F32(t.weight.clone()))
            .with("age", Per::Slot, Values::U32(t.age.clone()))
            .with("created", Per::Run, counter(life.created))
            .with("removed", Per::Run, counter(life.removed))
            .with("created_total", Per::Run, counter(life.created_total))
            .with("removed_total", Per::Run, counter(life.removed_total))
            .with("cascade_total", Per::Run, counter(life.cascade_total))
            .with("last_row", Per::Run, counter(last_row))
            .with("community_tracker", Per::Run, Values::U64(tracker_words))
            .with("community_rows", Per::Run, Values::F64(tracker_rows))
            .with_support(&life.support))
    }

    fn set_profiling(&mut self) -> Option<&'static str> {
        match &mut self.inner {
            Inner::Cpu(c) => {
                c.times = Some(PassTimes::default());
                Some("CPU wall clock of each pass")
            }
            Inner::Gpu(g) => {
                let ctx = g.ctx;
                if !ctx
                    .device
                    .features()
                    .contains(wgpu::Features::TIMESTAMP_QUERY)
                {
                    return None;
                }
                g.profiler = Some(GpuProfiler::new(ctx));
                Some("device timestamps around each pass group")
            }
        }
    }

    fn pass_times(&mut self) -> Result<Vec<PassTime>> {
        Ok(match &mut self.inner {
            Inner::Cpu(c) => c.times.clone().unwrap_or_default().into_vec(),
            Inner::Gpu(g) => g
                .profiler
                .as_ref()
                .map(|p| p.times.clone().into_vec())
                .unwrap_or_default(),
        })
    }

    fn action_passes(&mut self) -> Result<Option<Box<dyn ActionPasses + '_>>> {
        Ok(Some(match &mut self.inner {
            Inner::Cpu(c) => Box::new(CpuActions {
                life: &mut c.life,
                flags: &mut c.flags,
            }),
            Inner::Gpu(g) => {
                if g.actions.is_none() {
                    g.actions = Some(GpuActions::new(g.ctx, &g.device)?);
                }
                Box::new(ActionsOn {
                    ctx: g.ctx,
                    device: &g.device,
                    actions: g.actions.as_ref().expect("made above"),
                })
            }
        }))
    }

    fn set_state(&mut self, state: &State) -> Result<()> {
        let (n, slots, seed) = {
            let life = self.life();
            (life.n, life.ties.slots, life.seed)
        };
        state.check("lifecycle", n as usize, slots as usize)?;
        let life = Lifecycle {
            n,
            seed,
            tick: state.tick as u32,
            phi: state.f32s("phi")?.to_vec(),
            omega: state.f32s("omega")?.to_vec(),
            knowledge: state.f32s("knowledge")?.to_vec(),
            adopted_at: state.u32s("adopted_at")?.to_vec(),
            labels: state.u32s("labels")?.to_vec(),
            ties: TieStore {
                n,
                slots,
                degree: state.u32s("degree")?.to_vec(),
                neighbor: state.u32s("neighbor")?.to_vec(),
                weight: state.f32s("weight")?.to_vec(),
                age: state.u32s("age")?.to_vec(),
            },
            created: state.counter("created")?,
            removed: state.counter("removed")?,
            created_total: state.counter("created_total")?,
            removed_total: state.counter("removed_total")?,
            cascade_total: state.counter("cascade_total")?,
            support: support_of(state, n)?,
            scratch: Default::default(),
        };
        self.last_row = state.counter("last_row")? as u32;
        // The online tracker is fed again from the table the driver hands back.
        *self.tracker.get_mut() = None;
        // A checkpoint written before communities were tracked starts a fresh tracker.
        if let (Ok(w), Ok(f)) = (
            state.field("community_tracker"),
            state.field("community_rows"),
        ) {
            let (Values::U64(w), Values::F64(f)) = (&w.values, &f.values) else {
                return Err(Error::bad_input(
                    "the checkpoint's community tracker is malformed",
                ));
            };
            self.communities = CommunityTracker::from_parts(self.communities.params, w, f)
                .ok_or_else(|| {
                    Error::bad_input("the checkpoint's community tracker is malformed")
                })?;
        }
        // A state without a layout (a run without frames) leaves the renderer's own.
        let layout: Option<Vec<[f32; 2]>> = match (state.field("layout_x"), state.field("layout_y"))
        {
            (Ok(_), Ok(_)) => Some(
                state
                    .f32s("layout_x")?
                    .iter()
                    .zip(state.f32s("layout_y")?)
                    .map(|(&x, &y)| [x, y])
                    .collect(),
            ),
            _ => None,
        };
        let camera: Option<[f32; 4]> = match state.field("layout_camera") {
            Ok(_) => {
                let c = state.f32s("layout_camera")?;
                if c.len() != 4 {
                    return Err(Error::bad_input("the checkpoint's camera is malformed"));
                }
                Some([c[0], c[1], c[2], c[3]])
            }
            Err(_) => None,
        };
        // The groups drawn are those of the tracker's last sample, as they were.
        let groups = Groups::from_tracker(&self.communities, life.n);
        match &mut self.inner {
            Inner::Cpu(c) => {
                c.life = life;
                if let Some(l) = c.layout.as_mut() {
                    if let Some(pos) = layout {
                        l.pos = pos;
                    }
                    if let Some(camera) = camera {
                        l.camera = camera;
                    }
                    l.set_groups(groups);
                }
            }
            Inner::Gpu(g) => {
                let ctx = g.ctx;
                let render = g.renderer.as_ref().map(|r| r.params);
                let profiler = g.profiler.take();
                // The old device state is freed before the new one is made, so the device
                // never holds two (an intervention reloads the state mid-run).
                self.inner = Inner::Cpu(Box::new(CpuSim {
                    life: Lifecycle::placeholder(&self.params),
                    flags: Vec::new(),
                    layout: None,
                    done: VecDeque::new(),
                    times: None,
                }));
                let mut fresh = Box::new(GpuSim::new(ctx, life, &self.params, render)?);
                // Pass times go on accumulating across the reload.
                fresh.profiler = profiler;
                self.inner = Inner::Gpu(fresh);
                let Inner::Gpu(g) = &mut self.inner else {
                    unreachable!("set just above")
                };
                if let Some(r) = g.renderer.as_mut() {
                    if let Some(pos) = layout {
                        r.set_positions(ctx, &pos);
                    }
                    if let Some(camera) = camera {
                        r.set_camera(ctx, camera);
                    }
                    r.set_groups(ctx, &groups);
                    g.drawn_sizes = groups.summary();
                }
            }
        }
        Ok(())
    }
}

trait WithSupport {
    fn with_support(self, support: &Support) -> State;
}

impl WithSupport for State {
    fn with_support(self, s: &Support) -> State {
        let mut state = self;
        if s.illuminates() {
            state = state
                .with(
                    "illuminate_cut",
                    Per::Run,
                    Values::U32(vec![s.illuminate_cut]),
                )
                .with("pioneers", Per::Run, Values::U32(s.pioneers.clone()));
        }
        if s.nourishes() {
            state = state
                .with(
                    "nourish_factor",
                    Per::Run,
                    Values::F32(vec![s.nourish_factor]),
                )
                .with("nourished", Per::Agent, Values::U32(s.nourished.clone()));
        }
        state
    }
}

/// The [`Support`] a state holds (the default where it holds none), checked: pioneers
/// are agents, flags are 0 or 1.
fn support_of(state: &State, n: u32) -> Result<Support> {
    let mut s = Support::default();
    if state.field("pioneers").is_ok() {
        let cut = state.u32s("illuminate_cut")?;
        s.illuminate_cut = cut.first().copied().unwrap_or(0);
        s.pioneers = state.u32s("pioneers")?.to_vec();
        if s.pioneers.iter().any(|&p| p >= n) || s.illuminate_cut > 1 << 24 {
            return Err(Error::bad_input("the state's pioneers are malformed"));
        }
    }
    if state.field("nourished").is_ok() {
        s.nourish_factor = state
            .f32s("nourish_factor")?
            .first()
            .copied()
            .unwrap_or(1.0);
        s.nourished = state.u32s("nourished")?.to_vec();
        if s.nourished.len() != n as usize || s.nourished.iter().any(|&f| f > 1) {
            return Err(Error::bad_input(
                "the state's nourished agents are malformed",
            ));
        }
    }
    Ok(s)
}

impl Run for LifecycleSim<'_> {
    fn finish(mut self: Box<Self>, table: &MetricsTable) -> Result<Outcome> {
        self.download()?;
        let found = Milestones::of(table);
        let mut notes = found.describe();
        if self.frames > 0 {
            notes.push(format!(
                "rendered {} frames: {:.1} ms per frame on the simulation thread",
                self.frames,
                1e3 * self.render_s / self.frames as f64
            ));
        }
        // Communities that ended by merging once adoption had begun its jump were absorbed
        // into the system of influence.
        let absorbed_from =
            crate::analysis::stages::detect(table, &StageParams::new(self.life().n))
                .and_then(|r| {
                    r.transition(3)
                        .and_then(|t| t.evidence.get("adoption_t10").copied())
                })
                .map(|t| t.max(0.0) as u64);
        let end = self.life().tick as u64;
        let summary = self.communities.summary(end, absorbed_from);
        notes.push(format!(
            "communities of practice: {} tracked, {} lived ≥ {} ticks",
            summary["tracked"],
            summary["communities_of_practice"],
            self.communities.params.min_lifetime
        ));
        // What the live tracker said, fed the rows it has not seen yet.
        self.online_stage(table);
        let online = self
            .tracker
            .borrow()
            .as_ref()
            .map(|t| serde_json::to_value(t.said()).expect("stages serialise"));
        Ok(Outcome {
            communities: Some(summary),
            online_stages: online,
            ties: Some(crate::model::TieTotals {
                created: self.life().created_total,
                removed: self.life().removed_total,
            }),
            tables: community_tables(&self.communities),
            // No fixed point: the lifecycle always runs all its ticks.
            converged: false,
            components: Some(components::components_cpu(&self.life().ties)),
            result: None,
            milestones: Some(serde_json::to_value(found).expect("milestones serialise")),
            notes,
        })
    }
}

/// `communities.parquet` (one row per tracked community and null sample) and
/// `community_events.parquet` (births, splits, merges, deaths).
fn community_tables(t: &CommunityTracker) -> Vec<(&'static str, Vec<Column>)> {
    use arrow_array::{Float64Array, StringArray, UInt32Array, UInt64Array};
    use std::sync::Arc;
    let rows = &t.rows;
    let f = |name: &str, g: fn(&CommunityRow) -> f64| {
        Column::new(
            name,
            Arc::new(Float64Array::from_iter_values(rows.iter().map(g))),
        )
    };
    let communities = vec![
        Column::new(
            "tick",
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.tick))),
        ),
        Column::new(
            "id",
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.id))),
        ),
        Column::new(
            "size",
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.size))),
        ),
        f("density", |r| r.density),
        f("knowledge", |r| r.knowledge),
        f("knowledge_growth", |r| r.knowledge_growth),
        f("alignment", |r| r.alignment),
    ];
    let ev = &t.events;
    let events = vec![
        Column::new(
            "tick",
            Arc::new(UInt64Array::from_iter_values(ev.iter().map(|e| e.tick))),
        ),
        Column::new(
            "event",
            Arc::new(StringArray::from_iter_values(
                ev.iter().map(|e| e.kind.name()),
            )),
        ),
        Column::new(
            "id",
            Arc::new(UInt64Array::from_iter_values(ev.iter().map(|e| e.id))),
        ),
        Column::new(
            "other",
            Arc::new(ev.iter().map(|e| e.other).collect::<UInt64Array>()),
        ),
    ];
    vec![
        ("communities.parquet", communities),
        ("community_events.parquet", events),
    ]
}

/// The progress line of a lifecycle run: the last metrics row's main values.
pub(crate) fn lifecycle_progress(table: &MetricsTable) -> String {
    let row = table.rows.last().map_or(&[][..], |r| &r[..]);
    let get = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .and_then(|k| row.get(k).copied())
            .unwrap_or(f64::NAN)
    };
    format!(
        "degree {:.2} s1 {:.3} clustering {:.3} adoption {:.3} alignment {:.3}",
        get("mean_degree"),
        get("s1"),
        get("clustering"),
        get("adoption"),
        get("alignment")
    )
}
