//! Label propagation on the GPU (`lpa_label_degrees.wgsl`, `lpa_step.wgsl`), on a static
//! CSR graph or on the tie slots of a dynamic model: the twin of
//! [`super::communities::label_propagation`], label for label. Recorded into a command
//! encoder with no readback, so it runs inside the lifecycle's metrics submission.

use crate::error::Result;
use crate::gpu::{buffers, shaders, shaders::GraphStore, GpuContext};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Step {
    n: u32,
    shape: u32,
    seed: u32,
    round: u32,
    parity: u32,
    _pad: [u32; 3],
}
crate::host_layout! { Step { n, shape, seed, round, parity, _pad } }

struct HalfStep {
    degrees: (wgpu::ComputePipeline, wgpu::BindGroup),
    update: (wgpu::ComputePipeline, wgpu::BindGroup),
}

pub struct GpuLabelPropagation {
    n: u32,
    labels: wgpu::Buffer,
    labels_next: wgpu::Buffer,
    label_degree: wgpu::Buffer,
    two_m: wgpu::Buffer,
    half_steps: Vec<HalfStep>,
    _uniforms: Vec<wgpu::Buffer>,
}

impl GpuLabelPropagation {
    /// `rounds` rounds over the graph bound by `adjacency` (bindings 0–4 of
    /// `shaders/shared/{csr,slots}.wgsl`, with `shape` its chunk length or K). `clock[0]`
    /// is the tick of the salts; `labels` is updated in place (warm start), with
    /// `labels_next` and `label_degree` (n words each, the latter left zeroed) as scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &GpuContext,
        n: u32,
        shape: u32,
        adjacency: &[(u32, &wgpu::Buffer)],
        store: GraphStore,
        seed: u32,
        rounds: u32,
        clock: &wgpu::Buffer,
        labels: &wgpu::Buffer,
        labels_next: &wgpu::Buffer,
        label_degree: &wgpu::Buffer,
    ) -> Result<Self> {
        let two_m = buffers::zeroed(ctx, "2M", 4);
        let degrees_k = shaders::pipeline_with(&ctx.device, "lpa_label_degrees", store)?;
        let update_k = shaders::pipeline_with(&ctx.device, "lpa_step", store)?;
        let mut half_steps = Vec::new();
        let mut uniforms = Vec::new();
        for round in 0..rounds {
            for parity in 0..2 {
                let step = buffers::uniform(
                    ctx,
                    "lpa step",
                    &Step {
                        n,
                        shape,
                        seed,
                        round,
                        parity,
                        _pad: [0; 3],
                    },
                );
                // Degrees need only the row bounds, binding 0 of either store (an automatic
                // layout holds only the bindings a kernel uses).
                let mut d = adjacency[..1].to_vec();
                d.extend([(5, &step), (6, labels), (7, label_degree), (8, &two_m)]);
                let mut u = adjacency.to_vec();
                u.extend([
                    (5, &step),
                    (6, clock),
                    (7, labels),
                    (8, labels_next),
                    (9, label_degree),
                    (10, &two_m),
                ]);
                half_steps.push(HalfStep {
                    degrees: (degrees_k.clone(), buffers::bind(ctx, &degrees_k, &d)),
                    update: (update_k.clone(), buffers::bind(ctx, &update_k, &u)),
                });
                uniforms.push(step);
            }
        }
        Ok(GpuLabelPropagation {
            n,
            labels: labels.clone(),
            labels_next: labels_next.clone(),
            label_degree: label_degree.clone(),
            two_m,
            half_steps,
            _uniforms: uniforms,
        })
    }

    /// Record all rounds into `encoder`; `label_degree` is zero again afterwards.
    pub fn record(&self, ctx: &GpuContext, encoder: &mut wgpu::CommandEncoder) {
        let bytes = self.n as u64 * 4;
        for h in &self.half_steps {
            encoder.clear_buffer(&self.label_degree, 0, Some(bytes));
            encoder.clear_buffer(&self.two_m, 0, None);
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                buffers::dispatch(ctx, &mut pass, &h.degrees.0, &h.degrees.1, self.n);
                buffers::dispatch(ctx, &mut pass, &h.update.0, &h.update.1, self.n);
            }
            encoder.copy_buffer_to_buffer(&self.labels_next, 0, &self.labels, 0, bytes);
        }
        encoder.clear_buffer(&self.label_degree, 0, Some(bytes));
    }
}

/// Label propagation of a static CSR graph on the GPU from `labels` (e.g. agent ids),
/// `rounds` rounds with the salts of `tick`. Returns the labels.
pub fn label_propagation_gpu(
    ctx: &GpuContext,
    graph: &crate::backend::GpuGraph,
    labels: &[u32],
    seed: u32,
    tick: u32,
    rounds: u32,
) -> Result<Vec<u32>> {
    let n = graph.n;
    let labels_buf = buffers::storage(ctx, "labels", labels);
    let next = buffers::storage(ctx, "labels next", labels);
    let label_degree = buffers::zeroed(ctx, "label degrees", n as u64 * 4);
    let clock = buffers::storage(ctx, "tick", &[tick]);
    let lpa = GpuLabelPropagation::new(
        ctx,
        n,
        graph.neighbors.chunk_len,
        &graph.csr_bindings(),
        GraphStore::Csr,
        seed,
        rounds,
        &clock,
        &labels_buf,
        &next,
        &label_degree,
    )?;
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    lpa.record(ctx, &mut encoder);
    ctx.queue.submit([encoder.finish()]);
    buffers::read_back(ctx, &labels_buf, 0, n as usize)
}
