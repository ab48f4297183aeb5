//! The device memory plan of a run: from a model's declared buffers ([`Model::buffers`])
//! and an adapter's limits, the bytes a run allocates, its largest binding, the bytes per
//! agent and per tie slot, how its tie-slot arrays are split, and — when it does not fit
//! — which limit binds. Every figure is summed from the declared buffers, never typed
//! in; the same plan is checked before anything is allocated and printed by `info`.

use super::{DeviceBuffer, Model, Size, Split};
use crate::gpu::buffers::MAX_CHUNKS;
use crate::gpu::shaders::{SlotSplit, MAX_SLOT_CHUNKS};
use serde::Serialize;

/// The limits of an adapter that bound a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Limits {
    /// What the limits are of (an adapter's name, or a reference set's).
    pub name: String,
    /// The bytes one storage binding may hold (and one buffer: the smaller of the two).
    pub binding_cap: u64,
    /// Storage buffers one compute stage may bind.
    pub storage_per_stage: u32,
}

impl Limits {
    /// The limits of an open device (tests lower `binding_cap` to provoke splits).
    pub fn of(ctx: &crate::gpu::GpuContext) -> Limits {
        Limits {
            name: ctx.adapter.name.clone(),
            binding_cap: ctx.binding_cap,
            storage_per_stage: ctx.limits.max_storage_buffers_per_shader_stage,
        }
    }

    /// The limits an adapter offers (`info`'s adapters).
    pub fn of_adapter(a: &crate::gpu::AdapterSummary) -> Limits {
        Limits {
            name: a.name.clone(),
            binding_cap: a.max_storage_binding_bytes.min(a.max_buffer_bytes),
            storage_per_stage: a.max_storage_buffers_per_stage,
        }
    }

    /// Reference limits for planning without the adapter at hand: WebGPU's defaults (what
    /// every adapter offers), and limits assumed for a Vulkan driver of a data-centre GPU
    /// (a 4 GiB − 1 binding, Vulkan's usual `maxStorageBufferRange`, and more storage
    /// buffers per stage than a kernel uses). The second set is an assumption, not read
    /// off a device: `info` on the machine itself prints its adapter's own.
    pub fn reference() -> Vec<Limits> {
        let webgpu = wgpu::Limits::default();
        vec![
            Limits {
                name: "WebGPU defaults".into(),
                binding_cap: webgpu
                    .max_storage_buffer_binding_size
                    .min(webgpu.max_buffer_size),
                storage_per_stage: webgpu.max_storage_buffers_per_shader_stage,
            },
            Limits {
                name: "assumed H100/H200-class Vulkan (4 GiB bindings)".into(),
                binding_cap: u32::MAX as u64,
                storage_per_stage: 1 << 20,
            },
        ]
    }
}

/// The limit a run does not fit, when it does not.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum Binds {
    /// A buffer bound whole is larger than one binding.
    Binding { buffer: &'static str, bytes: u64 },
    /// A static graph's neighbour ids need more than the bindings `ChunkedU32` has.
    Chunks { buffer: &'static str, bytes: u64 },
    /// The tie-slot arrays need more chunks than a kernel can declare.
    SlotChunks { chunks: u32 },
    /// The tie-slot arrays' chunks make a kernel bind more storage buffers than a stage may.
    StoragePerStage { needed: u32 },
    /// More tie slots than a u32 index addresses.
    SlotIndex { slots: u64 },
}

/// A run's device plan on one adapter's limits.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DevicePlan {
    pub agents: u64,
    /// K, tie slots per agent.
    pub slots: u64,
    pub ties: u64,
    /// Every declared buffer together.
    pub total_bytes: u64,
    /// The largest single binding (a split array's largest chunk).
    pub largest_binding_bytes: u64,
    /// Device bytes per agent apart from its tie slots, and per tie slot, from the
    /// declared buffers (their change with N and K).
    pub per_agent_bytes: f64,
    pub per_slot_bytes: f64,
    /// Chunks of each tie-slot array (1 when unsplit or when the model has none).
    pub slot_chunks: u32,
    /// The most storage buffers one of its kernels binds with that split (0 when the
    /// model does not say).
    pub storage_per_stage: u32,
    /// What it does not fit, or None.
    pub binds: Option<Binds>,
}

fn total(buffers: &[DeviceBuffer]) -> u64 {
    buffers.iter().map(|b| b.bytes).sum()
}

/// The plan of `model` at `size` on `limits`.
pub fn plan(model: &dyn Model, size: &Size, limits: &Limits) -> DevicePlan {
    let buffers = model.buffers(size);
    let cap = limits.binding_cap.max(4);
    let has_slots = buffers.iter().any(|b| b.split == Split::Slots);
    let split = if has_slots {
        SlotSplit::for_slots(size.agents, size.slots, cap)
    } else {
        SlotSplit::WHOLE
    };
    let storage_per_stage = model.storage_per_stage(split.chunks);
    let mut largest = 0u64;
    let mut binds = None;
    for b in &buffers {
        let bound = match b.split {
            Split::Whole => b.bytes,
            // Chunks of `cap` bytes are filled in order: the first is the largest.
            Split::Csr => b.bytes.min(cap),
            Split::Slots if split.chunks > 1 => (4 * split.chunk_len as u64).min(b.bytes),
            Split::Slots => b.bytes,
        };
        largest = largest.max(bound);
        if binds.is_some() {
            continue;
        }
        binds = match b.split {
            Split::Whole if b.bytes > cap => Some(Binds::Binding {
                buffer: b.name,
                bytes: b.bytes,
            }),
            Split::Csr if b.bytes > MAX_CHUNKS as u64 * cap => Some(Binds::Chunks {
                buffer: b.name,
                bytes: b.bytes,
            }),
            _ => None,
        };
    }
    if binds.is_none() && has_slots {
        let slots = size.agents * size.slots;
        binds = if slots > u32::MAX as u64 {
            Some(Binds::SlotIndex { slots })
        } else if split.chunks > MAX_SLOT_CHUNKS {
            Some(Binds::SlotChunks {
                chunks: split.chunks,
            })
        } else if storage_per_stage > limits.storage_per_stage {
            Some(Binds::StoragePerStage {
                needed: storage_per_stage,
            })
        } else {
            None
        };
    }
    let n = size.agents.max(1) as f64;
    let at = |slots: u64| total(&model.buffers(&Size { slots, ..*size }));
    let bytes = total(&buffers);
    let per_slot_bytes = (at(size.slots + 1) as f64 - bytes as f64) / n;
    DevicePlan {
        agents: size.agents,
        slots: size.slots,
        ties: size.ties,
        total_bytes: bytes,
        largest_binding_bytes: largest,
        per_agent_bytes: (bytes as f64 - per_slot_bytes * n * size.slots as f64) / n,
        per_slot_bytes,
        slot_chunks: split.chunks,
        storage_per_stage,
        binds,
    }
}

/// The largest N that fits `limits` for a run shaped like `like`.
pub fn largest_agents(model: &dyn Model, like: &Size, limits: &Limits) -> u64 {
    super::largest_fitting(like, |size| plan(model, size, limits).binds.is_none())
}

/// Bytes for a reader: GiB, MiB or KiB with one decimal.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

impl Binds {
    /// What does not fit, in words, for a refusal.
    pub fn describe(&self, plan: &DevicePlan, limits: &Limits) -> String {
        let cap = human(limits.binding_cap);
        match self {
            Binds::Binding { buffer, bytes } => format!(
                "`{buffer}` needs {} in one binding, more than the {cap} a binding holds",
                human(*bytes)
            ),
            Binds::Chunks { buffer, bytes } => format!(
                "`{buffer}` needs {}, more than {MAX_CHUNKS} bindings of {cap}",
                human(*bytes)
            ),
            Binds::SlotChunks { chunks } => format!(
                "each tie-slot array needs {chunks} bindings of {cap}, more than the {MAX_SLOT_CHUNKS} a kernel declares",
            ),
            Binds::StoragePerStage { needed } if plan.slot_chunks > 1 => format!(
                "its tie-slot arrays split over {} bindings of {cap} make one kernel bind {needed} storage buffers, more than the {} a stage may",
                plan.slot_chunks, limits.storage_per_stage
            ),
            Binds::StoragePerStage { needed } => format!(
                "one of its kernels binds {needed} storage buffers, more than the {} a stage may",
                limits.storage_per_stage
            ),
            Binds::SlotIndex { slots } => format!(
                "{slots} tie slots (N·K) are more than a 32-bit slot index addresses ({})",
                u32::MAX
            ),
        }
    }
}
