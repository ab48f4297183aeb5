//! Where the passes run: the GPU (through a [`GpuContext`]) or the multithreaded CPU
//! twin. `auto` takes a hardware GPU when there is one and the CPU backend otherwise,
//! since a software rasteriser such as lavapipe is slower than the CPU backend.

use crate::error::{Error, Result};
use crate::gpu::{self, buffers::ChunkedU32, GpuContext};
use crate::graph::Csr;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    #[default]
    Auto,
    Gpu,
    Cpu,
}

impl BackendChoice {
    /// The name `--backend` takes.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        }
    }
}

/// One per run, so the size of the GPU variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Cpu,
    Gpu(GpuContext),
}

impl Backend {
    /// Open the backend the user asked for. `adapter` selects a GPU adapter (index,
    /// PCI bus id or name); naming one implies the GPU under `auto`.
    pub fn open(choice: BackendChoice, adapter: Option<&str>) -> Result<Backend> {
        match choice {
            BackendChoice::Cpu => Ok(Backend::Cpu),
            BackendChoice::Gpu => Ok(Backend::Gpu(GpuContext::new(adapter)?)),
            BackendChoice::Auto => {
                if adapter.is_some() {
                    return Ok(Backend::Gpu(GpuContext::new(adapter)?));
                }
                let summaries = gpu::list_adapters();
                match gpu::choose(&summaries, None) {
                    Ok(i) if !summaries[i].software => {
                        Ok(Backend::Gpu(GpuContext::new(Some(&i.to_string()))?))
                    }
                    Ok(i) => {
                        tracing::info!(
                            "only a software adapter (`{}`) is present: using the CPU backend (--backend gpu forces it)",
                            summaries[i].name
                        );
                        Ok(Backend::Cpu)
                    }
                    Err(_) => Ok(Backend::Cpu),
                }
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu(_) => "gpu",
        }
    }

    /// The adapter's driver and its version (empty for the CPU backend).
    pub fn adapter_driver(&self) -> String {
        match self {
            Backend::Cpu => String::new(),
            Backend::Gpu(ctx) => ctx.adapter.driver.clone(),
        }
    }

    /// The adapter's name, or a description of the CPU backend.
    pub fn adapter_name(&self) -> String {
        match self {
            Backend::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
            Backend::Gpu(ctx) => format!("{} ({})", ctx.adapter.name, ctx.adapter.backend),
        }
    }
}

/// A static graph on the device: CSR offsets and neighbour ids, the latter chunked over
/// up to four bindings (bindings 0–4 of `shaders/shared/csr.wgsl`).
pub struct GpuGraph {
    pub n: u32,
    pub offsets: wgpu::Buffer,
    pub neighbors: ChunkedU32,
}

impl GpuGraph {
    pub fn upload(ctx: &GpuContext, csr: &Csr) -> Result<GpuGraph> {
        let n = csr.n();
        let per_agent_cap = ctx.binding_cap / 4;
        if n as u64 + 1 > per_agent_cap {
            return Err(Error::bad_input(format!(
                "agents: {n} agents need per-agent arrays larger than one {} MiB binding on `{}`; the largest N that fits is {}",
                ctx.binding_cap >> 20,
                ctx.adapter.name,
                per_agent_cap - 1
            )));
        }
        Ok(GpuGraph {
            n,
            offsets: gpu::buffers::storage(ctx, "offsets", &csr.offsets),
            neighbors: ChunkedU32::upload(ctx, "neighbors", &csr.neighbors)?,
        })
    }

    /// Bindings 0–4 (offsets and the neighbour chunks) for a kernel that imports `csr`.
    pub fn csr_bindings(&self) -> Vec<(u32, &wgpu::Buffer)> {
        let mut v = vec![(0, &self.offsets)];
        v.extend(
            self.neighbors
                .chunks
                .iter()
                .enumerate()
                .map(|(i, b)| (1 + i as u32, b)),
        );
        v
    }
}

/// The buffers [`GpuGraph::upload`] allocates for a static graph of this size: the CSR
/// offsets and the neighbour ids (both ends of every tie), the latter chunked.
pub fn csr_buffers(size: &crate::model::Size) -> Vec<crate::model::DeviceBuffer> {
    use crate::model::DeviceBuffer;
    if size.complete {
        return Vec::new();
    }
    vec![
        DeviceBuffer::new("offsets", 4 * (size.agents + 1)),
        DeviceBuffer::chunked("neighbors", 8 * size.ties),
    ]
}
