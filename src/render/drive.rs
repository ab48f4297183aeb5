//! The lifecycle's ticks with frames in between, on either backend. The metrics rows are
//! taken at exactly the ticks [`crate::run::run_lifecycle`] takes them, from the same
//! state, so a run's science is the same with or without frames; frames come at the
//! first tick, every `frame_every` ticks and at the last tick, each after
//! [`super::LAYOUT_STEPS_PER_FRAME`] layout steps.
//!
//! On the GPU the ticks up to the next stop (a metrics row, a frame or both) go to the
//! device in one submission with the row's reductions and the frame's layout, splat and
//! pack; the row and the frame are read back from double-buffered staging while the
//! device already runs the next stop, as the metrics alone are in `run_lifecycle`.

use super::gpu::GpuRenderer;
use super::layout::{self, ForceLayout, TieView};
use super::overlay::OverlayInfo;
use super::splat;
use super::writer::{Frame, FrameWriter, PendingMovie};
use super::{RenderParams, RenderPlan, LAYOUT_STEPS_PER_FRAME};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::gpu::{buffers, GpuContext};
use crate::io::MetricsTable;
use crate::model::lifecycle::{self, Lifecycle, LifecycleParams};
use crate::model::lifecycle_gpu::{GpuLifecycle, COMPONENT_ROUNDS, TICK};
use crate::progress::Progress;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::time::Instant;

/// What rendering cost, for the log and docs/render.md.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderStats {
    pub frames: u64,
    /// Seconds the simulation thread spent on frames: on the CPU backend the layout,
    /// splat and pack; on the GPU recording them and copying the mapped frame out.
    pub render_s: f64,
    /// Seconds the writer thread spent on the overlay and encoding.
    pub encode_s: f64,
}

impl RenderStats {
    /// One log line.
    pub fn describe(&self) -> String {
        let per = |s: f64| 1e3 * s / self.frames.max(1) as f64;
        format!(
            "rendered {} frames: {:.1} ms per frame on the simulation thread, {:.1} ms per frame of overlay and encoding on the writer thread",
            self.frames,
            per(self.render_s),
            per(self.encode_s)
        )
    }
}

/// The renderer's parameters for a lifecycle state and a plan.
pub fn params_for(life: &Lifecycle, p: &LifecycleParams, plan: &RenderPlan) -> RenderParams {
    RenderParams::new(
        life.n,
        life.ties.slots,
        (plan.width, plan.height),
        life.seed,
        p.strong_tie,
        p.mastery,
    )
}

/// One frame of a lifecycle state on the CPU: splat, tie lines, pack (the layout is
/// stepped by the caller).
pub fn render_cpu(rp: &RenderParams, life: &Lifecycle, pos: &[[f32; 2]]) -> Vec<u32> {
    let accum = splat::render_splat(rp, pos, &life.phi, &life.knowledge, &life.adopted_at);
    let lines = splat::render_ties(rp, pos, TieView::from(&life.ties));
    splat::render_pack(rp, &accum, &lines)
}

/// Whether `tick` gets a frame.
fn frame_at(tick: u32, start: u32, end: u32, every: u32) -> bool {
    tick == end || (tick - start).is_multiple_of(every)
}

/// [`crate::run::run_lifecycle`] with frames: the same metrics table, and the frames
/// of `plan` written by a [`FrameWriter`] into `run_staging` (or beside the movie's
/// destination). Returns the table, the movie still to be moved into place, and the
/// costs.
#[allow(clippy::too_many_arguments)]
pub fn run_lifecycle_rendered(
    backend: &Backend,
    life: &mut Lifecycle,
    params: &LifecycleParams,
    ticks: u32,
    metrics_every: u32,
    progress: &Progress,
    plan: &RenderPlan,
    run_staging: &Path,
) -> Result<(MetricsTable, Option<PendingMovie>, RenderStats)> {
    let rp = params_for(life, params, plan);
    let mut writer = FrameWriter::start(plan, run_staging)?;
    let start = life.tick;
    let end = start + ticks;
    let every = metrics_every.max(1);
    let frame_every = plan.frame_every.max(1);
    let mut render_s = 0.0;
    let mut frames = 0u64;
    let agents = life.n;
    let overlay = |table: &MetricsTable, tick: u32| {
        OverlayInfo::from_table(table, tick as u64, agents, start as u64, end as u64)
    };
    let table = match backend {
        Backend::Cpu => {
            let mut table = MetricsTable::new(&lifecycle::COLUMNS);
            table.push(life.metrics(params, 0));
            let mut layout = ForceLayout::new(rp, life.seed);
            let t0 = Instant::now();
            let pixels = render_cpu(&rp, life, &layout.pos);
            render_s += t0.elapsed().as_secs_f64();
            writer.send(Frame {
                tick: start as u64,
                pixels,
                overlay: overlay(&table, start),
            })?;
            frames += 1;
            let mut last_row = life.tick;
            while life.tick < end {
                life.step(params);
                if life.tick.is_multiple_of(every) || life.tick == end {
                    let row = life.metrics(params, life.tick - last_row);
                    last_row = life.tick;
                    table.push(row);
                    progress.update(
                        (life.tick - start) as u64,
                        &crate::run::lifecycle_progress(&table, life.n),
                    );
                }
                if frame_at(life.tick, start, end, frame_every) {
                    let t0 = Instant::now();
                    layout.step(TieView::from(&life.ties), LAYOUT_STEPS_PER_FRAME);
                    let pixels = render_cpu(&rp, life, &layout.pos);
                    render_s += t0.elapsed().as_secs_f64();
                    writer.send(Frame {
                        tick: life.tick as u64,
                        pixels,
                        overlay: overlay(&table, life.tick),
                    })?;
                    frames += 1;
                }
            }
            table
        }
        Backend::Gpu(ctx) => {
            let device = GpuLifecycle::upload(ctx, life, params)?;
            let renderer = GpuRenderer::new(
                ctx,
                rp,
                &layout::initial_positions(life.n, life.seed),
                device.render_inputs(),
            )?;
            let mut table = MetricsTable::new(&lifecycle::COLUMNS);
            table.push(device.metrics(ctx, 0)?);
            let m_staging = [device.staging(ctx), device.staging(ctx)];
            let f_staging = [renderer.staging(ctx), renderer.staging(ctx)];
            let mut tick = start;
            let mut last_row = start;
            let mut pending: Option<Stop> = None;
            let mut k = 0usize;
            // The first stop is the frame of the starting state (its row is taken above).
            let mut first = true;
            loop {
                let submitted = if first || tick < end {
                    let next = if first {
                        start
                    } else {
                        let m = (tick / every + 1) * every;
                        let f = start + ((tick - start) / frame_every + 1) * frame_every;
                        m.min(f).min(end)
                    };
                    let metrics = !first && (next.is_multiple_of(every) || next == end);
                    let frame = first || frame_at(next, start, end, frame_every);
                    let t0 = Instant::now();
                    let slot = k % 2;
                    let mut encoder = ctx.device.create_command_encoder(&Default::default());
                    for _ in tick..next {
                        device.record(ctx, &mut encoder, &TICK);
                    }
                    if metrics {
                        device.record_metrics(ctx, &mut encoder, &m_staging[slot]);
                    }
                    if frame {
                        if !first {
                            renderer.record_layout(ctx, &mut encoder, LAYOUT_STEPS_PER_FRAME);
                        }
                        renderer.record_frame(ctx, &mut encoder, &f_staging[slot]);
                    }
                    let index = ctx.queue.submit([encoder.finish()]);
                    let row_rx = metrics.then(|| map(&m_staging[slot], "metrics"));
                    let frame_rx = frame.then(|| map(&f_staging[slot], "frame"));
                    let interval = next - last_row;
                    if metrics {
                        last_row = next;
                    }
                    tick = next;
                    first = false;
                    render_s += t0.elapsed().as_secs_f64();
                    Some(Stop {
                        index,
                        slot,
                        tick: next,
                        interval,
                        row_rx,
                        frame_rx,
                    })
                } else {
                    None
                };
                k += 1;
                if let Some(stop) = pending.take() {
                    ctx.device
                        .poll(wgpu::PollType::Wait {
                            submission_index: Some(stop.index),
                            timeout: None,
                        })
                        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
                    ctx.check()?;
                    if let Some(rx) = stop.row_rx {
                        received(rx)?;
                        let words: Vec<u32> = buffers::read_mapped(&m_staging[stop.slot])?;
                        let (row, converged) = device.decode_metrics(&words, stop.interval);
                        if !converged {
                            tracing::warn!(
                                "components had not converged after {COMPONENT_ROUNDS} rounds at tick {}",
                                row[0]
                            );
                        }
                        table.push(row);
                        progress.update(
                            (stop.tick - start) as u64,
                            &crate::run::lifecycle_progress(&table, life.n),
                        );
                    }
                    if let Some(rx) = stop.frame_rx {
                        received(rx)?;
                        let t0 = Instant::now();
                        let pixels: Vec<u32> = buffers::read_mapped(&f_staging[stop.slot])?;
                        render_s += t0.elapsed().as_secs_f64();
                        writer.send(Frame {
                            tick: stop.tick as u64,
                            pixels,
                            overlay: overlay(&table, stop.tick),
                        })?;
                        frames += 1;
                    }
                }
                match submitted {
                    Some(s) => pending = Some(s),
                    None => break,
                }
            }
            device.download(ctx, life)?;
            table
        }
    };
    let (written, movie) = writer.finish()?;
    debug_assert_eq!(written.frames, frames);
    Ok((
        table,
        movie,
        RenderStats {
            frames,
            render_s,
            encode_s: written.encode_s,
        },
    ))
}

/// One submission of the GPU loop, waiting to be collected.
struct Stop {
    index: wgpu::SubmissionIndex,
    slot: usize,
    tick: u32,
    interval: u32,
    row_rx: Option<Receiver<Result<()>>>,
    frame_rx: Option<Receiver<Result<()>>>,
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

/// Render one frame of a state on the GPU and wait for it (tests and measurements).
pub fn render_gpu_once(
    ctx: &GpuContext,
    renderer: &GpuRenderer,
    layout_steps: u32,
) -> Result<Vec<u32>> {
    let staging = renderer.staging(ctx);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    renderer.record_layout(ctx, &mut encoder, layout_steps);
    renderer.record_frame(ctx, &mut encoder, &staging);
    ctx.queue.submit([encoder.finish()]);
    buffers::map_and_read(ctx, &staging)
}
