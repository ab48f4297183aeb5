//! The layout and render kernels on the device, twins of [`super::layout`] and
//! [`super::splat`]. They read the model's buffers (phases, knowledge, adoption, tie
//! slots) and write only their own, so recording them between ticks cannot change the
//! run. The groups (communities of practice) are written by the host when the tracker
//! samples; the camera lives on the device and moves there. A frame ends in a copy of
//! the packed RGBA8 image into a staging buffer that the host maps while the device goes
//! on with the next ticks.

use super::groups::Groups;
use super::RenderParams;
use crate::error::{Error, Result};
use crate::gpu::buffers::{with_slots, SlotArray};
use crate::gpu::shaders::GraphStore;
use crate::gpu::{buffers, shaders, GpuContext};

/// The model's buffers the renderer reads.
#[derive(Clone, Copy)]
pub struct RenderInputs<'a> {
    pub phi: &'a wgpu::Buffer,
    pub knowledge: &'a wgpu::Buffer,
    pub adopted_at: &'a wgpu::Buffer,
    pub degree: &'a wgpu::Buffer,
    pub neighbor: &'a SlotArray,
    pub weight: &'a SlotArray,
}

/// One kernel of the renderer, for tests that compare it with its CPU twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderPass {
    /// Clears the grid, then `layout_density`.
    Density,
    /// `layout_smooth` from the density grid into the smoothed grid.
    LayoutSmooth,
    /// `layout_smooth` again, from the smoothed grid back into the density grid's
    /// buffer (two box sums make a tent kernel, which has no flat plateaus).
    LayoutSmoothBack,
    /// `layout_forces` into the next positions.
    Forces,
    /// Clears the group sums, then `layout_groups`.
    Groups,
    /// `layout_cohesion` on the next positions, which then become current.
    Cohesion,
    /// Clears the bounds, then `render_bounds`.
    Bounds,
    /// `render_camera`.
    Camera,
    /// `render_colour`.
    Colour,
    /// Clears the pixel sums, then `render_splat`.
    Splat,
    /// Clears the line counts, then `render_ties`.
    Ties,
    Pack,
}

/// A buffer of the renderer, for reading back in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderBuffer {
    Density,
    Smooth,
    Accum,
    Lines,
    Image,
    GroupSums,
    Bounds,
    Colour,
}

struct Kernel {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
}

pub struct GpuRenderer {
    pub params: RenderParams,
    pos: wgpu::Buffer,
    pos_next: wgpu::Buffer,
    density: wgpu::Buffer,
    smooth: wgpu::Buffer,
    accum: wgpu::Buffer,
    lines: wgpu::Buffer,
    image: wgpu::Buffer,
    group: wgpu::Buffer,
    palette: wgpu::Buffer,
    sums: wgpu::Buffer,
    bounds: wgpu::Buffer,
    camera: wgpu::Buffer,
    colour: wgpu::Buffer,
    /// Groups the palette and sums have room for.
    group_room: u32,
    density_k: Kernel,
    smooth_k: Kernel,
    smooth_back_k: Kernel,
    forces_k: Kernel,
    splat_k: Kernel,
    ties_k: Kernel,
    pack_k: Kernel,
    groups_k: Kernel,
    cohesion_k: Kernel,
    bounds_k: Kernel,
    camera_k: Kernel,
    colour_k: Kernel,
    params_buf: wgpu::Buffer,
}

/// Groups a renderer of `n` agents has room for: each has at least two members.
fn group_room(n: u32) -> u32 {
    n / 2 + 1
}

impl GpuRenderer {
    /// The renderer for `params`, starting from `positions`, reading `inputs`. Refuses a
    /// frame whose pixel sums (16 bytes a pixel) do not fit one storage binding.
    pub fn new(
        ctx: &GpuContext,
        params: RenderParams,
        positions: &[[f32; 2]],
        inputs: RenderInputs<'_>,
    ) -> Result<GpuRenderer> {
        let pixels = params.width as u64 * params.height as u64;
        if pixels * 16 > ctx.binding_cap {
            return Err(Error::bad_input(format!(
                "--size {}x{}: a frame needs {} MiB of pixel sums, more than one {} MiB binding on `{}`; choose a smaller --size",
                params.width,
                params.height,
                (pixels * 16) >> 20,
                ctx.binding_cap >> 20,
                ctx.adapter.name
            )));
        }
        let params_buf = buffers::uniform(ctx, "render params", &params);
        let pos = buffers::storage(ctx, "layout positions", positions);
        let pos_next = buffers::storage(ctx, "layout positions next", positions);
        let cells = (params.grid * params.grid) as u64 * 4;
        let density = buffers::zeroed(ctx, "layout density", cells);
        let smooth = buffers::zeroed(ctx, "layout smooth", cells);
        let accum = buffers::zeroed(ctx, "pixel sums", pixels * 16);
        let lines = buffers::zeroed(ctx, "tie lines", pixels * 4);
        let image = buffers::zeroed(ctx, "frame", pixels * 4);
        let room = group_room(params.n);
        let n = params.n as u64;
        let group = buffers::storage(ctx, "render groups", &vec![super::NO_GROUP; n as usize]);
        let palette = buffers::zeroed(ctx, "group palette", room as u64 * 4);
        let sums = buffers::zeroed(ctx, "group sums", room as u64 * 20);
        let bounds = buffers::zeroed(ctx, "camera bounds", 32);
        let camera = buffers::zeroed(ctx, "camera", 16);
        let colour = buffers::zeroed(ctx, "agent colours", n * 4);
        let kernel_slots = |name: &str,
                            bindings: &[(u32, &wgpu::Buffer)],
                            arrays: &[(u32, &SlotArray)]|
         -> Result<Kernel> {
            let store = GraphStore::Slots(inputs.neighbor.split);
            let pipeline = shaders::pipeline_with(&ctx.device, name, store)?;
            let group = buffers::bind(ctx, &pipeline, &with_slots(bindings, arrays));
            Ok(Kernel { pipeline, group })
        };
        let kernel =
            |name: &str, bindings: &[(u32, &wgpu::Buffer)]| kernel_slots(name, bindings, &[]);
        let density_k = kernel(
            "layout_density",
            &[(0, &params_buf), (1, &pos), (2, &density)],
        )?;
        let smooth_k = kernel(
            "layout_smooth",
            &[(0, &params_buf), (2, &density), (3, &smooth)],
        )?;
        let smooth_back_k = kernel(
            "layout_smooth",
            &[(0, &params_buf), (2, &smooth), (3, &density)],
        )?;
        let forces_k = kernel_slots(
            "layout_forces",
            &[
                (0, &params_buf),
                (1, &pos),
                (3, &density),
                (4, &pos_next),
                (5, inputs.degree),
            ],
            &[(6, inputs.neighbor), (7, inputs.weight)],
        )?;
        let groups_k = kernel(
            "layout_groups",
            &[
                (0, &params_buf),
                (1, &pos),
                (2, &group),
                (3, &sums),
                (4, &pos_next),
            ],
        )?;
        let cohesion_k = kernel(
            "layout_cohesion",
            &[
                (0, &params_buf),
                (1, &pos),
                (2, &group),
                (3, &sums),
                (4, &pos_next),
                (5, inputs.degree),
            ],
        )?;
        let bounds_k = kernel(
            "render_bounds",
            &[(0, &params_buf), (1, &pos), (2, &group), (3, &bounds)],
        )?;
        let camera_k = kernel(
            "render_camera",
            &[(0, &params_buf), (1, &bounds), (2, &camera)],
        )?;
        let colour_k = kernel(
            "render_colour",
            &[
                (0, &params_buf),
                (2, inputs.phi),
                (3, inputs.knowledge),
                (4, inputs.adopted_at),
                (5, inputs.degree),
                (6, &group),
                (7, &palette),
                (8, &colour),
            ],
        )?;
        let splat_k = kernel(
            "render_splat",
            &[
                (0, &params_buf),
                (1, &pos),
                (2, &colour),
                (3, &camera),
                (5, &accum),
            ],
        )?;
        let ties_k = kernel_slots(
            "render_ties",
            &[
                (0, &params_buf),
                (1, &pos),
                (2, inputs.degree),
                (5, &lines),
                (6, &camera),
            ],
            &[(3, inputs.neighbor), (4, inputs.weight)],
        )?;
        let pack_k = kernel(
            "render_pack",
            &[(0, &params_buf), (1, &accum), (2, &lines), (3, &image)],
        )?;
        ctx.check()?;
        Ok(GpuRenderer {
            params,
            pos,
            pos_next,
            density,
            smooth,
            accum,
            lines,
            image,
            group,
            palette,
            sums,
            bounds,
            camera,
            colour,
            group_room: room,
            density_k,
            smooth_k,
            smooth_back_k,
            forces_k,
            splat_k,
            ties_k,
            pack_k,
            groups_k,
            cohesion_k,
            bounds_k,
            camera_k,
            colour_k,
            params_buf,
        })
    }

    fn dispatch(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, k: &Kernel, n: u32) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &k.pipeline, &k.group, n);
    }

    /// Record one kernel (with the clear or copy that belongs to it).
    pub fn record_pass(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        pass: RenderPass,
    ) {
        let p = &self.params;
        match pass {
            RenderPass::Density => {
                encoder.clear_buffer(&self.density, 0, None);
                self.dispatch(ctx, encoder, &self.density_k, p.n);
            }
            RenderPass::LayoutSmooth => {
                self.dispatch(ctx, encoder, &self.smooth_k, p.grid * p.grid)
            }
            RenderPass::LayoutSmoothBack => {
                self.dispatch(ctx, encoder, &self.smooth_back_k, p.grid * p.grid)
            }
            RenderPass::Forces => self.dispatch(ctx, encoder, &self.forces_k, p.n),
            RenderPass::Groups => {
                encoder.clear_buffer(&self.sums, 0, None);
                self.dispatch(ctx, encoder, &self.groups_k, p.n);
            }
            RenderPass::Cohesion => {
                self.dispatch(ctx, encoder, &self.cohesion_k, p.n);
                encoder.copy_buffer_to_buffer(&self.pos_next, 0, &self.pos, 0, p.n as u64 * 8);
            }
            RenderPass::Bounds => {
                encoder.clear_buffer(&self.bounds, 0, None);
                self.dispatch(ctx, encoder, &self.bounds_k, p.n);
            }
            RenderPass::Camera => self.dispatch(ctx, encoder, &self.camera_k, 1),
            RenderPass::Colour => self.dispatch(ctx, encoder, &self.colour_k, p.n),
            RenderPass::Splat => {
                encoder.clear_buffer(&self.accum, 0, None);
                self.dispatch(ctx, encoder, &self.splat_k, p.n);
            }
            RenderPass::Ties => {
                encoder.clear_buffer(&self.lines, 0, None);
                self.dispatch(ctx, encoder, &self.ties_k, p.n);
            }
            RenderPass::Pack => self.dispatch(ctx, encoder, &self.pack_k, p.width * p.height),
        }
    }

    /// Record `steps` layout steps.
    pub fn record_layout(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, steps: u32) {
        for _ in 0..steps {
            for pass in [
                RenderPass::Density,
                RenderPass::LayoutSmooth,
                RenderPass::LayoutSmoothBack,
                RenderPass::Forces,
                RenderPass::Groups,
                RenderPass::Cohesion,
            ] {
                self.record_pass(ctx, encoder, pass);
            }
        }
    }

    /// Record a frame (bounds, camera, colours, splat, ties, pack) and its copy into
    /// `staging` (from [`Self::staging`]).
    pub fn record_frame(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
    ) {
        for pass in [
            RenderPass::Bounds,
            RenderPass::Camera,
            RenderPass::Colour,
            RenderPass::Splat,
            RenderPass::Ties,
            RenderPass::Pack,
        ] {
            self.record_pass(ctx, encoder, pass);
        }
        encoder.copy_buffer_to_buffer(&self.image, 0, staging, 0, self.image_bytes());
    }

    fn image_bytes(&self) -> u64 {
        self.params.width as u64 * self.params.height as u64 * 4
    }

    /// A staging buffer for one frame.
    pub fn staging(&self, ctx: &GpuContext) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("frame staging"),
            size: self.image_bytes(),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Replace the positions (tests start both backends from the same ones).
    pub fn set_positions(&self, ctx: &GpuContext, positions: &[[f32; 2]]) {
        ctx.queue
            .write_buffer(&self.pos, 0, bytemuck::cast_slice(positions));
    }

    /// Draw these groups from the next submission on (the palette and the group the
    /// camera follows go with them).
    pub fn set_groups(&mut self, ctx: &GpuContext, groups: &Groups) {
        assert!(
            groups.len() as u32 <= self.group_room,
            "more groups than room"
        );
        self.params.groups = groups.len() as u32;
        self.params.follow = groups.follow;
        ctx.queue
            .write_buffer(&self.group, 0, bytemuck::cast_slice(&groups.of_agent));
        if !groups.palette.is_empty() {
            ctx.queue
                .write_buffer(&self.palette, 0, bytemuck::cast_slice(&groups.palette));
        }
        ctx.queue
            .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&self.params));
    }

    /// Replace the camera (a resumed movie's, or tests').
    pub fn set_camera(&self, ctx: &GpuContext, camera: [f32; 4]) {
        ctx.queue
            .write_buffer(&self.camera, 0, bytemuck::cast_slice(&camera));
    }

    /// The camera (waits).
    pub fn camera(&self, ctx: &GpuContext) -> Result<[f32; 4]> {
        let v: Vec<f32> = buffers::read_back(ctx, &self.camera, 0, 4)?;
        Ok([v[0], v[1], v[2], v[3]])
    }

    /// The next positions, as layout_forces and layout_cohesion leave them (waits).
    pub fn next_positions(&self, ctx: &GpuContext) -> Result<Vec<[f32; 2]>> {
        buffers::read_back(ctx, &self.pos_next, 0, self.params.n as usize)
    }

    /// The current positions (waits).
    pub fn positions(&self, ctx: &GpuContext) -> Result<Vec<[f32; 2]>> {
        buffers::read_back(ctx, &self.pos, 0, self.params.n as usize)
    }

    /// One of the renderer's buffers (waits).
    pub fn read(&self, ctx: &GpuContext, which: RenderBuffer) -> Result<Vec<u32>> {
        let p = &self.params;
        let pixels = (p.width * p.height) as usize;
        let (buffer, len) = match which {
            RenderBuffer::Density => (&self.density, (p.grid * p.grid) as usize),
            RenderBuffer::Smooth => (&self.smooth, (p.grid * p.grid) as usize),
            RenderBuffer::Accum => (&self.accum, 4 * pixels),
            RenderBuffer::Lines => (&self.lines, pixels),
            RenderBuffer::Image => (&self.image, pixels),
            RenderBuffer::GroupSums => (&self.sums, 5 * p.groups.max(1) as usize),
            RenderBuffer::Bounds => (&self.bounds, 8),
            RenderBuffer::Colour => (&self.colour, p.n as usize),
        };
        buffers::read_back(ctx, buffer, 0, len)
    }
}
