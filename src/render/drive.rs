//! Frames of a run as the driver makes them: the renderer's parameters for a state, the
//! CPU twin of a whole frame, and the [`FrameObserver`] that overlays and writes each
//! frame the driver collects. The driver takes the metrics rows at the same ticks with or
//! without frames, so a run's science is the same either way; frames come at the first
//! tick, every `frame_every` ticks and at the last tick, each after
//! [`super::LAYOUT_STEPS_PER_FRAME`] layout steps (`crate::model::lifecycle`'s
//! simulation records them into the tick's submission on the GPU).

use super::gpu::GpuRenderer;
use super::layout::{ForceLayout, TieView};
use super::overlay::Captioner;
use super::splat;
use super::writer::{Frame, FrameWriter, PendingMovie};
use super::{RenderParams, RenderPlan};
use crate::engine::{FrameOut, Observer};
use crate::error::Result;
use crate::gpu::{buffers, GpuContext};
use crate::io::MetricsTable;
use crate::model::lifecycle::{Lifecycle, LifecycleParams};
use std::path::Path;

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
    .with_view(plan.colour, plan.camera)
}

/// One frame of a lifecycle state on the CPU: camera, colours, splat, tie lines, pack
/// (the layout is stepped by the caller; the camera moves).
pub fn render_cpu(life: &Lifecycle, layout: &mut ForceLayout) -> Vec<u32> {
    let camera = layout.frame_camera();
    let rp = &layout.params;
    let colour = splat::render_colour(
        rp,
        &life.phi,
        &life.knowledge,
        &life.adopted_at,
        &life.ties.degree,
        &layout.groups.of_agent,
        &layout.groups.palette,
    );
    let accum = splat::render_splat(rp, &layout.pos, &colour, &camera);
    let lines = splat::render_ties(rp, &layout.pos, TieView::from(&life.ties), &camera);
    splat::render_pack(rp, &accum, &lines)
}

/// The observer that writes a run's frames: each frame the driver collects gets the
/// overlay of the rows so far and goes to a [`FrameWriter`] (PNGs, a movie).
pub struct FrameObserver {
    writer: FrameWriter,
    captions: Captioner,
    frames: u64,
}

impl FrameObserver {
    /// Start writing the frames of `plan` for a run of `agents` from tick `start` to
    /// `end` (into `run_dir`, or beside the movie's destination); with `continues`, the
    /// movie of the interrupted run it resumes goes on.
    pub fn start(
        plan: &RenderPlan,
        run_dir: &Path,
        agents: u32,
        start: u64,
        end: u64,
        continues: bool,
    ) -> Result<Self> {
        Ok(FrameObserver {
            writer: FrameWriter::start(plan, run_dir, continues)?,
            captions: Captioner::new(plan, agents, start, end, start > 0),
            frames: 0,
        })
    }

    /// Wait for the writer; returns the movie still to be moved into place.
    pub fn finish(self) -> Result<Option<PendingMovie>> {
        let (written, movie) = self.writer.finish()?;
        debug_assert_eq!(written.frames, self.frames);
        tracing::info!(
            "{} frames: {:.1} ms per frame of overlay and encoding on the writer thread",
            self.frames,
            1e3 * written.encode_s / self.frames.max(1) as f64
        );
        Ok(movie)
    }
}

impl Observer for FrameObserver {
    fn on_frame(&mut self, tick: u64, frame: FrameOut, table: &MetricsTable) -> Result<()> {
        self.frames += 1;
        let (overlay, hold) = self.captions.frame(table, tick, &frame.communities);
        self.writer.send(Frame {
            tick,
            pixels: frame.pixels,
            overlay,
            hold,
        })
    }
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
