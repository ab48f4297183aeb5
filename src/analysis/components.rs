//! Connected components by hook-and-compress (Shiloach–Vishkin / ECL-CC style), on the
//! GPU and as its CPU twin. Label propagation would need O(diameter) rounds; hooking
//! with `min` converges in a few rounds and labels every component by its smallest id,
//! whatever order the hooks land in, so both backends produce the same labels.

use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, GpuContext};
use crate::graph::Csr;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

/// What the metrics need from the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentStats {
    pub agents: u32,
    /// Size of the largest component.
    pub largest: u32,
    /// Number of components, isolated agents included.
    pub count: u32,
    /// Hook-and-compress rounds until nothing changed.
    pub rounds: u32,
}

impl ComponentStats {
    /// Largest-component fraction S1.
    pub fn s1(&self) -> f64 {
        self.largest as f64 / self.agents.max(1) as f64
    }

    /// Mean size of the components other than the largest (0 when there is one).
    pub fn mean_other_size(&self) -> f64 {
        if self.count <= 1 {
            0.0
        } else {
            (self.agents - self.largest) as f64 / (self.count - 1) as f64
        }
    }
}

fn find(parent: &[AtomicU32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize].load(Relaxed);
        if p == x {
            return x;
        }
        x = p;
    }
}

/// CPU twin of `components_hook.wgsl`: hook the larger root of each tie's ends under
/// the smaller. Returns whether anything was hooked.
pub fn hook(csr: &Csr, parent: &[AtomicU32]) -> bool {
    let changed = AtomicBool::new(false);
    (0..csr.n())
        .into_par_iter()
        .with_min_len(4096)
        .for_each(|i| {
            let mut hooked = false;
            for &j in csr.neighbors(i) {
                if j <= i {
                    continue;
                }
                let (ri, rj) = (find(parent, i), find(parent, j));
                if ri != rj {
                    parent[ri.max(rj) as usize].fetch_min(ri.min(rj), Relaxed);
                    hooked = true;
                }
            }
            if hooked {
                changed.store(true, Relaxed);
            }
        });
    changed.load(Relaxed)
}

/// CPU twin of `components_compress.wgsl`: point every agent at its root.
pub fn compress(parent: &[AtomicU32]) {
    (0..parent.len() as u32)
        .into_par_iter()
        .with_min_len(4096)
        .for_each(|i| {
            let r = find(parent, i);
            parent[i as usize].store(r, Relaxed);
        });
}

/// CPU twin of `components_sizes.wgsl` + `components_largest.wgsl`.
pub fn stats(labels: &[u32], rounds: u32) -> ComponentStats {
    let mut sizes = vec![0u32; labels.len()];
    for &l in labels {
        sizes[l as usize] += 1;
    }
    ComponentStats {
        agents: labels.len() as u32,
        largest: sizes.iter().copied().max().unwrap_or(0),
        count: sizes.iter().filter(|&&s| s > 0).count() as u32,
        rounds,
    }
}

/// Component label (smallest id in the component) of every agent, on the CPU.
pub fn labels_cpu(csr: &Csr) -> (Vec<u32>, u32) {
    let parent: Vec<AtomicU32> = (0..csr.n()).map(AtomicU32::new).collect();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let changed = hook(csr, &parent);
        compress(&parent);
        if !changed {
            break;
        }
    }
    (
        parent.into_iter().map(AtomicU32::into_inner).collect(),
        rounds,
    )
}

pub fn components_cpu(csr: &Csr) -> ComponentStats {
    let (labels, rounds) = labels_cpu(csr);
    stats(&labels, rounds)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    chunk_len: u32,
    _pad: [u32; 2],
}

/// Components on the GPU. Returns the stats and the buffer of labels (left on the
/// device; [`labels_gpu`] reads it back for tests). The `changed` flag is read back once
/// per round: a small, counted sync outside any tick loop.
pub fn components_gpu(
    ctx: &GpuContext,
    graph: &GpuGraph,
) -> Result<(ComponentStats, wgpu::Buffer)> {
    let n = graph.n;
    let params = buffers::uniform(
        ctx,
        "components params",
        &Params {
            n,
            chunk_len: graph.neighbors.chunk_len,
            _pad: [0; 2],
        },
    );
    let parent = buffers::zeroed(ctx, "parent", n as u64 * 4);
    let sizes = buffers::zeroed(ctx, "component sizes", n as u64 * 4);
    let changed = buffers::zeroed(ctx, "changed", 4);
    let result = buffers::zeroed(ctx, "component result", 8);

    let init = shaders::pipeline(&ctx.device, "components_init")?;
    let hook = shaders::pipeline(&ctx.device, "components_hook")?;
    let compress = shaders::pipeline(&ctx.device, "components_compress")?;
    let count = shaders::pipeline(&ctx.device, "components_sizes")?;
    let largest = shaders::pipeline(&ctx.device, "components_largest")?;

    let init_group = buffers::bind(ctx, &init, &[(0, &params), (1, &parent), (2, &sizes)]);
    let mut hook_entries = graph.csr_bindings();
    hook_entries.extend([(5, &params), (6, &parent), (7, &changed)]);
    let hook_group = buffers::bind(ctx, &hook, &hook_entries);
    let compress_group = buffers::bind(ctx, &compress, &[(0, &params), (1, &parent)]);
    let count_group = buffers::bind(ctx, &count, &[(0, &params), (1, &parent), (2, &sizes)]);
    let largest_group = buffers::bind(ctx, &largest, &[(0, &params), (1, &sizes), (2, &result)]);

    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &init, &init_group, n);
    }
    ctx.queue.submit([encoder.finish()]);

    let mut rounds = 0;
    loop {
        rounds += 1;
        ctx.queue
            .write_buffer(&changed, 0, bytemuck::bytes_of(&0u32));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            buffers::dispatch(ctx, &mut pass, &hook, &hook_group, n);
            buffers::dispatch(ctx, &mut pass, &compress, &compress_group, n);
        }
        ctx.queue.submit([encoder.finish()]);
        let flag: Vec<u32> = buffers::read_back(ctx, &changed, 0, 1)?;
        if flag[0] == 0 {
            break;
        }
    }

    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &count, &count_group, n);
        buffers::dispatch(ctx, &mut pass, &largest, &largest_group, n);
    }
    ctx.queue.submit([encoder.finish()]);
    let r: Vec<u32> = buffers::read_back(ctx, &result, 0, 2)?;
    Ok((
        ComponentStats {
            agents: n,
            largest: r[0],
            count: r[1],
            rounds,
        },
        parent,
    ))
}

/// Read the GPU labels back (tests compare them with [`labels_cpu`]).
pub fn labels_gpu(ctx: &GpuContext, parent: &wgpu::Buffer, n: u32) -> Result<Vec<u32>> {
    buffers::read_back(ctx, parent, 0, n as usize)
}
