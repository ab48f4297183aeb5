//! The intervention passes on the GPU (`shaders/intervene_*.wgsl`), on the state where it
//! lives: a one-off action never downloads or uploads the population (see
//! [`crate::intervention::passes`]). The pipelines are made at the first firing; the
//! flags live in metrics scratch 0, which nothing reads between ticks (label propagation,
//! the community sums and the components each write it before they read it).

use super::{GpuLifecycle, Kernel};
use crate::error::{Error, Result};
use crate::gpu::buffers::{self, with_slots};
use crate::gpu::shaders::{self, GraphStore};
use crate::gpu::GpuContext;
use crate::intervention::passes::{ActionPasses, Cut, CutCount, NewEnd, Pioneer, Query};

/// Mirror of `Intervene` in `shaders/shared/intervene.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Intervene {
    n: u32,
    slots: u32,
    seed: u32,
    tick: u32,
    stream: u32,
    rank: u32,
    eligible: u32,
    digit: u32,
    prefix_key: u32,
    prefix_id: u32,
    bound_key: u32,
    bound_id: u32,
    mode: u32,
    cut: u32,
    adopt_tick: u32,
    count: u32,
    strength: f32,
    direction: f32,
    weight: f32,
    _pad: u32,
}
crate::host_layout! {
    Intervene {
        n, slots, seed, tick, stream, rank, eligible, digit, prefix_key, prefix_id,
        bound_key, bound_id, mode, cut, adopt_tick, count, strength, direction, weight, _pad
    }
}

/// The kernels of the one-off actions, bound to one device state.
pub struct GpuActions {
    params: wgpu::Buffer,
    histogram: wgpu::Buffer,
    counters: wgpu::Buffer,
    rank: Kernel,
    mark: Kernel,
    adopt: Kernel,
    broadcast: Kernel,
    cut: Kernel,
    /// Bound per call: their records and ends are sized by the action.
    gather: wgpu::ComputePipeline,
    connect: wgpu::ComputePipeline,
}

impl GpuActions {
    pub fn new(ctx: &GpuContext, d: &GpuLifecycle) -> Result<GpuActions> {
        let params = buffers::uniform(ctx, "intervene params", &Intervene::default());
        let histogram = buffers::zeroed(ctx, "intervene histogram", 256 * 4);
        let counters = buffers::zeroed(ctx, "intervene counters", 8);
        let store = GraphStore::Slots(d.split());
        let flags = &d.scratch[0];
        let kernel = |name: &str,
                      entries: &[(u32, &wgpu::Buffer)],
                      arrays: &[(u32, &crate::gpu::buffers::SlotArray)]| {
            Kernel::new(ctx, name, store, entries, arrays)
        };
        // The ranking kernels bind the same inputs; their output goes at binding 4.
        let ranked = |out| {
            [
                (0, &params),
                (1, &d.knowledge),
                (2, &d.degree),
                (3, &d.adopted_at),
                (4, out),
            ]
        };
        let rank = kernel("intervene_rank", &ranked(&histogram), &[])?;
        let mark = kernel("intervene_mark", &ranked(flags), &[])?;
        let adopt = kernel(
            "intervene_adopt",
            &[(0, &params), (1, flags), (2, &d.adopted_at)],
            &[],
        )?;
        let broadcast = kernel(
            "intervene_broadcast",
            &[(0, &params), (1, flags), (2, &d.phi)],
            &[],
        )?;
        let cut = kernel(
            "intervene_cut",
            &[(0, &params), (1, flags), (2, &d.degree), (6, &counters)],
            &[(3, &d.neighbor), (4, &d.weight), (5, &d.age)],
        )?;
        let gather = shaders::pipeline_with(&ctx.device, "intervene_gather", store)?;
        let connect = shaders::pipeline_with(&ctx.device, "intervene_connect", store)?;
        ctx.check()?;
        Ok(GpuActions {
            params,
            histogram,
            counters,
            rank,
            mark,
            adopt,
            broadcast,
            cut,
            gather,
            connect,
        })
    }
}

/// The actions' kernels and the state they act on.
pub struct ActionsOn<'a> {
    pub ctx: &'a GpuContext,
    pub device: &'a GpuLifecycle,
    pub actions: &'a GpuActions,
}

impl ActionsOn<'_> {
    fn params(&self, q: Option<&Query>) -> Intervene {
        let d = self.device;
        let mut p = Intervene {
            n: d.n,
            slots: d.slots,
            ..Default::default()
        };
        if let Some(q) = q {
            p.seed = q.seed;
            p.tick = q.tick;
            p.stream = q.stream;
            p.rank = q.rank as u32;
            p.eligible = q.eligible as u32;
        }
        p
    }

    /// Write `p`, then run `kernel` over `threads` threads, in one submission.
    fn run(
        &self,
        p: &Intervene,
        pipeline: &wgpu::ComputePipeline,
        group: &wgpu::BindGroup,
        threads: u32,
        clear: Option<&wgpu::Buffer>,
    ) {
        let ctx = self.ctx;
        ctx.queue
            .write_buffer(&self.actions.params, 0, bytemuck::bytes_of(p));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if let Some(b) = clear {
            encoder.clear_buffer(b, 0, None);
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            buffers::dispatch(ctx, &mut pass, pipeline, group, threads);
        }
        ctx.queue.submit([encoder.finish()]);
    }

    fn counters(&self) -> Result<[u32; 2]> {
        let c = buffers::read_back::<u32>(self.ctx, &self.actions.counters, 0, 2)?;
        Ok([c[0], c[1]])
    }
}

impl ActionPasses for ActionsOn<'_> {
    fn agents(&self) -> u32 {
        self.device.n
    }

    fn slots(&self) -> u32 {
        self.device.slots
    }

    fn rank_histogram(&mut self, q: &Query, digit: u32, prefix: u64) -> Result<[u32; 256]> {
        let mut p = self.params(Some(q));
        p.digit = digit;
        p.prefix_key = (prefix >> 32) as u32;
        p.prefix_id = prefix as u32;
        let a = self.actions;
        self.run(
            &p,
            &a.rank.pipeline,
            &a.rank.group,
            self.device.n,
            Some(&a.histogram),
        );
        let h = buffers::read_back::<u32>(self.ctx, &a.histogram, 0, 256)?;
        let mut out = [0u32; 256];
        out.copy_from_slice(&h);
        Ok(out)
    }

    fn mark(&mut self, q: &Query, bound: u64) -> Result<()> {
        let mut p = self.params(Some(q));
        p.bound_key = (bound >> 32) as u32;
        p.bound_id = bound as u32;
        let a = self.actions;
        self.run(&p, &a.mark.pipeline, &a.mark.group, self.device.n, None);
        Ok(())
    }

    fn gather(&mut self, room: u32) -> Result<Vec<Pioneer>> {
        let d = self.device;
        let width = 4 + d.slots as u64;
        let bytes = 4 * width * room.max(1) as u64;
        if bytes > self.ctx.binding_cap {
            return Err(Error::bad_input(format!(
                "connect_pioneers: the records of {room} pioneers ({bytes} bytes) exceed one \
                 storage binding of this device ({} bytes); a smaller count fits",
                self.ctx.binding_cap
            )));
        }
        let records = buffers::zeroed(self.ctx, "intervene records", bytes);
        let entries = with_slots(
            &[
                (0, &self.actions.params),
                (1, &d.scratch[0]),
                (2, &d.knowledge),
                (3, &d.labels),
                (4, &d.degree),
                (6, &records),
                (7, &self.actions.counters),
            ],
            &[(5, &d.neighbor)],
        );
        let group = buffers::bind(self.ctx, &self.actions.gather, &entries);
        let mut p = self.params(None);
        p.count = room;
        self.run(
            &p,
            &self.actions.gather,
            &group,
            d.n,
            Some(&self.actions.counters),
        );
        let found = self.counters()?[0].min(room);
        let words =
            buffers::read_back::<u32>(self.ctx, &records, 0, (width * found as u64) as usize)?;
        Ok(words
            .chunks(width as usize)
            .map(Pioneer::from_record)
            .collect())
    }

    fn adopt(&mut self, tick: u32) -> Result<()> {
        let mut p = self.params(None);
        p.adopt_tick = tick;
        let a = self.actions;
        self.run(&p, &a.adopt.pipeline, &a.adopt.group, self.device.n, None);
        Ok(())
    }

    fn broadcast(&mut self, strength: f32, direction: f32) -> Result<()> {
        let mut p = self.params(None);
        p.strength = strength;
        p.direction = direction;
        let a = self.actions;
        self.run(
            &p,
            &a.broadcast.pipeline,
            &a.broadcast.group,
            self.device.n,
            None,
        );
        Ok(())
    }

    fn cut(&mut self, cut: Cut, q: &Query) -> Result<CutCount> {
        let mut p = self.params(Some(q));
        match cut {
            Cut::Flagged => p.mode = 0,
            Cut::Share { threshold } => {
                p.mode = 1;
                p.cut = threshold;
            }
        }
        let a = self.actions;
        self.run(
            &p,
            &a.cut.pipeline,
            &a.cut.group,
            self.device.n,
            Some(&a.counters),
        );
        let [agents, ties] = self.counters()?;
        Ok(CutCount {
            agents: agents as u64,
            ties: ties as u64,
        })
    }

    fn connect(&mut self, ends: &[NewEnd], weight: f32) -> Result<()> {
        if ends.is_empty() {
            return Ok(());
        }
        let d = self.device;
        let ends_buffer = buffers::storage(self.ctx, "intervene ends", ends);
        let entries = with_slots(
            &[(0, &self.actions.params), (1, &ends_buffer), (2, &d.degree)],
            &[(3, &d.neighbor), (4, &d.weight), (5, &d.age)],
        );
        let group = buffers::bind(self.ctx, &self.actions.connect, &entries);
        let mut p = self.params(None);
        p.count = ends.len() as u32;
        p.weight = weight;
        self.run(&p, &self.actions.connect, &group, ends.len() as u32, None);
        self.ctx.check()
    }
}
