//! Connected components by hook-and-compress (Shiloach–Vishkin / ECL-CC style), on the
//! GPU and as its CPU twin. Label propagation would need O(diameter) rounds; hooking
//! with `min` converges in a few rounds and labels every component by its smallest id,
//! whatever order the hooks land in, so both backends produce the same labels.

use crate::backend::GpuGraph;
use crate::error::Result;
use crate::gpu::{buffers, shaders, shaders::GraphStore, GpuContext};
use crate::graph::Adjacency;
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
pub fn hook<G: Adjacency + Sync + ?Sized>(graph: &G, parent: &[AtomicU32]) -> bool {
    let changed = AtomicBool::new(false);
    (0..graph.n())
        .into_par_iter()
        .with_min_len(4096)
        .for_each(|i| {
            let mut hooked = false;
            for &j in graph.neighbors(i) {
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

/// Component label (smallest id in the component) of every agent, on the CPU. Runs on
/// a static [`crate::graph::Csr`] or on the live ties of a [`crate::graph::TieStore`].
pub fn labels_cpu<G: Adjacency + Sync + ?Sized>(graph: &G) -> (Vec<u32>, u32) {
    let parent: Vec<AtomicU32> = (0..graph.n()).map(AtomicU32::new).collect();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let changed = hook(graph, &parent);
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

pub fn components_cpu<G: Adjacency + Sync + ?Sized>(graph: &G) -> ComponentStats {
    let (labels, rounds) = labels_cpu(graph);
    stats(&labels, rounds)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    n: u32,
    /// The adjacency's shape: chunk length of a CSR graph, K of tie slots.
    shape: u32,
    _pad: [u32; 2],
}
crate::host_layout! { Params { n, shape: "chunk_len", _pad } }

struct Kernel {
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
}

/// Connected components on the GPU, set up once for a graph on the device (a CSR
/// graph or the tie slots of a dynamic model) and run as often as needed. The
/// `changed` flag is read back once per round: a small, counted sync.
pub struct GpuComponents {
    n: u32,
    pub parent: wgpu::Buffer,
    changed: wgpu::Buffer,
    result: wgpu::Buffer,
    init: Kernel,
    hook: Kernel,
    compress: Kernel,
    sizes: Kernel,
    largest: Kernel,
    _keep: Vec<wgpu::Buffer>,
}

impl GpuComponents {
    /// `adjacency` are the bindings of `shaders/shared/{csr,slots}.wgsl`. `scratch`, when
    /// given, are two n-word buffers of the caller's to use as parents and sizes (their
    /// contents are overwritten), so that a model's metrics can share its scratch.
    pub fn new(
        ctx: &GpuContext,
        n: u32,
        shape: u32,
        adjacency: &[(u32, &wgpu::Buffer)],
        kind: GraphStore,
        scratch: Option<(&wgpu::Buffer, &wgpu::Buffer)>,
    ) -> Result<Self> {
        let params = buffers::uniform(
            ctx,
            "components params",
            &Params {
                n,
                shape,
                _pad: [0; 2],
            },
        );
        let (parent, sizes) = match scratch {
            Some((parent, sizes)) => (parent.clone(), sizes.clone()),
            None => (
                buffers::zeroed(ctx, "parent", n as u64 * 4),
                buffers::zeroed(ctx, "component sizes", n as u64 * 4),
            ),
        };
        let changed = buffers::zeroed(ctx, "changed", 4);
        let result = buffers::zeroed(ctx, "component result", 8);
        let kernel = |name: &str, entries: &[(u32, &wgpu::Buffer)]| -> Result<Kernel> {
            let pipeline = shaders::pipeline_with(&ctx.device, name, kind)?;
            let group = buffers::bind(ctx, &pipeline, entries);
            Ok(Kernel { pipeline, group })
        };
        let mut hook_entries = adjacency.to_vec();
        hook_entries.extend([(5, &params), (6, &parent), (7, &changed)]);
        Ok(GpuComponents {
            n,
            init: kernel(
                "components_init",
                &[(0, &params), (1, &parent), (2, &sizes)],
            )?,
            hook: kernel("components_hook", &hook_entries)?,
            compress: kernel("components_compress", &[(0, &params), (1, &parent)])?,
            sizes: kernel(
                "components_sizes",
                &[(0, &params), (1, &parent), (2, &sizes)],
            )?,
            largest: kernel(
                "components_largest",
                &[(0, &params), (1, &sizes), (2, &result)],
            )?,
            parent,
            changed,
            result,
            _keep: vec![params, sizes],
        })
    }

    fn submit(&self, ctx: &GpuContext, kernels: &[&Kernel]) {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for k in kernels {
                buffers::dispatch(ctx, &mut pass, &k.pipeline, &k.group, self.n);
            }
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// Record a fixed number of hook-and-compress `rounds` and the size reduction into
    /// `encoder`, with no readback (for metrics inside a run). `changed` is cleared before
    /// the last round, so it reads 0 afterwards exactly when that round hooked nothing:
    /// the components had converged. Read [`Self::result`] and [`Self::changed`] after.
    pub fn record(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder, rounds: u32) {
        encoder.clear_buffer(&self.result, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            buffers::dispatch(
                ctx,
                &mut pass,
                &self.init.pipeline,
                &self.init.group,
                self.n,
            );
            for _ in 1..rounds {
                buffers::dispatch(
                    ctx,
                    &mut pass,
                    &self.hook.pipeline,
                    &self.hook.group,
                    self.n,
                );
                buffers::dispatch(
                    ctx,
                    &mut pass,
                    &self.compress.pipeline,
                    &self.compress.group,
                    self.n,
                );
            }
        }
        encoder.clear_buffer(&self.changed, 0, None);
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for k in [&self.hook, &self.compress, &self.sizes, &self.largest] {
            buffers::dispatch(ctx, &mut pass, &k.pipeline, &k.group, self.n);
        }
    }

    /// `(largest, count)` after [`Self::record`].
    pub fn result(&self) -> &wgpu::Buffer {
        &self.result
    }

    /// Nonzero after [`Self::record`] when the last round still hooked.
    pub fn changed(&self) -> &wgpu::Buffer {
        &self.changed
    }

    /// Label the components (labels stay in [`Self::parent`]) and reduce their sizes.
    pub fn run(&self, ctx: &GpuContext) -> Result<ComponentStats> {
        ctx.queue
            .write_buffer(&self.result, 0, bytemuck::cast_slice(&[0u32, 0u32]));
        self.submit(ctx, &[&self.init]);
        let mut rounds = 0;
        loop {
            rounds += 1;
            ctx.queue
                .write_buffer(&self.changed, 0, bytemuck::bytes_of(&0u32));
            self.submit(ctx, &[&self.hook, &self.compress]);
            let flag: Vec<u32> = buffers::read_back(ctx, &self.changed, 0, 1)?;
            if flag[0] == 0 {
                break;
            }
        }
        self.submit(ctx, &[&self.sizes, &self.largest]);
        let r: Vec<u32> = buffers::read_back(ctx, &self.result, 0, 2)?;
        Ok(ComponentStats {
            agents: self.n,
            largest: r[0],
            count: r[1],
            rounds,
        })
    }
}

/// Components of a static graph on the GPU. Returns the stats and the buffer of labels
/// (left on the device; [`labels_gpu`] reads it back for tests).
pub fn components_gpu(
    ctx: &GpuContext,
    graph: &GpuGraph,
) -> Result<(ComponentStats, wgpu::Buffer)> {
    let c = GpuComponents::new(
        ctx,
        graph.n,
        graph.neighbors.chunk_len,
        &graph.csr_bindings(),
        GraphStore::Csr,
        None,
    )?;
    let stats = c.run(ctx)?;
    Ok((stats, c.parent))
}

/// Read the GPU labels back (tests compare them with [`labels_cpu`]).
pub fn labels_gpu(ctx: &GpuContext, parent: &wgpu::Buffer, n: u32) -> Result<Vec<u32>> {
    buffers::read_back(ctx, parent, 0, n as usize)
}
