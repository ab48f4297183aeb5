//! The GPU: one place where instance → adapter → device is made ([`GpuContext`]), then
//! handed to every pass that needs it, so tests can inject a lavapipe device. Also the
//! pieces every kernel shares: shader loading ([`shaders`]), buffers and readback
//! ([`buffers`]), the check of host/device struct layouts ([`layout`]) and dispatch
//! sizing past 65,535 workgroups.

pub mod buffers;
pub mod layout;
pub mod registry;
pub mod rng_draws;
pub mod shaders;

use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Threads per workgroup of every 1-D kernel: the shaders get it as `WORKGROUP` from the
/// generated prelude ([`shaders::prelude`]) and write `@workgroup_size(WORKGROUP)`.
pub const WORKGROUP: u32 = 64;

/// What `emergence info` shows about one adapter.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterSummary {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub pci_bus_id: String,
    /// Software rasterisers (lavapipe, llvmpipe, WARP) are correct but slow.
    pub software: bool,
    /// The GL backend lacks what compute needs; it is only used when picked explicitly.
    pub usable_for_compute: bool,
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
    pub max_storage_buffers_per_stage: u32,
    pub max_workgroups_per_dimension: u32,
}

fn summarize(index: usize, adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let limits = adapter.limits();
    AdapterSummary {
        index,
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        pci_bus_id: info.device_pci_bus_id.clone(),
        software: info.device_type == wgpu::DeviceType::Cpu,
        usable_for_compute: info.backend != wgpu::Backend::Gl,
        max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
        max_buffer_bytes: limits.max_buffer_size,
        max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
        max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
    }
}

/// Backends listed and picked without being named: the GL backend lacks what compute
/// needs, so it is reachable only through `--adapter`.
const LISTED: wgpu::Backends = wgpu::Backends::PRIMARY;

fn new_instance(with_gl: bool) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = if with_gl {
        wgpu::Backends::all()
    } else {
        LISTED
    };
    wgpu::Instance::new(desc)
}

/// The adapters of the primary backends, then (when `with_gl`) GL's, so indices of the
/// primary ones never depend on whether GL was asked for.
fn enumerate(instance: &wgpu::Instance, with_gl: bool) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(LISTED));
    if with_gl {
        adapters.extend(pollster::block_on(
            instance.enumerate_adapters(wgpu::Backends::GL),
        ));
    }
    adapters
}

/// Every adapter the system offers, in enumeration order (the order `--adapter N` uses).
pub fn list_adapters() -> Vec<AdapterSummary> {
    let instance = new_instance(false);
    let adapters = enumerate(&instance, false);
    adapters
        .iter()
        .enumerate()
        .map(|(i, a)| summarize(i, a))
        .collect()
}

/// Preference among adapters when none is named: hardware first, software last,
/// GL never (it is picked only by name or index).
fn rank(s: &AdapterSummary) -> Option<u32> {
    if !s.usable_for_compute {
        return None;
    }
    Some(match s.device_type.as_str() {
        "DiscreteGpu" => 0,
        "IntegratedGpu" => 1,
        "VirtualGpu" => 2,
        "Other" => 3,
        _ => 4, // Cpu: software
    })
}

/// Choose an adapter: by `selector` (an index, a PCI bus id, or part of the name, case
/// insensitive), or else the best by [`rank`].
/// A PCI bus id as (domain, bus, device, function), from `DDDD:BB:DD.F` (Vulkan's),
/// `DDDDDDDD:BB:DD.F` (nvidia-smi's) or `BB:DD.F`, in hexadecimal.
fn bus_id(s: &str) -> Option<(u32, u32, u32, u32)> {
    let hex = |t: &str| u32::from_str_radix(t, 16).ok();
    let (rest, function) = s.trim().rsplit_once('.')?;
    let parts: Vec<&str> = rest.split(':').collect();
    let (domain, bus, device) = match parts.as_slice() {
        [d, b, v] => (hex(d)?, hex(b)?, hex(v)?),
        [b, v] => (0, hex(b)?, hex(v)?),
        _ => return None,
    };
    Some((domain, bus, device, hex(function)?))
}

/// Whether two spellings of a PCI bus id name the same device.
pub fn same_bus_id(a: &str, b: &str) -> bool {
    match (bus_id(a), bus_id(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

pub fn choose(summaries: &[AdapterSummary], selector: Option<&str>) -> Result<usize> {
    if summaries.is_empty() {
        return Err(Error::Gpu(
            "no GPU adapter found (install a Vulkan, Metal or DX12 driver; on Linux without a GPU, mesa-vulkan-drivers provides lavapipe), or use --backend cpu".into(),
        ));
    }
    let listing = || {
        summaries
            .iter()
            .map(|s| format!("{}: {} ({})", s.index, s.name, s.backend))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(sel) = selector {
        if let Ok(i) = sel.parse::<usize>() {
            return if i < summaries.len() {
                Ok(i)
            } else {
                Err(Error::bad_input(format!(
                    "--adapter: index {i} is out of range; adapters are {}",
                    listing()
                )))
            };
        }
        let lower = sel.to_lowercase();
        if let Some(s) = summaries
            .iter()
            .find(|s| !s.pci_bus_id.is_empty() && same_bus_id(&s.pci_bus_id, sel))
        {
            return Ok(s.index);
        }
        let mut hits = summaries
            .iter()
            .filter(|s| s.name.to_lowercase().contains(&lower));
        return match hits.next() {
            Some(s) => Ok(s.index),
            None => Err(Error::bad_input(format!(
                "--adapter: no adapter matches `{sel}` (by index, PCI bus id or name); adapters are {}",
                listing()
            ))),
        };
    }
    summaries
        .iter()
        .filter_map(|s| rank(s).map(|r| (r, s.index)))
        .min()
        .map(|(_, i)| i)
        .ok_or_else(|| {
            Error::Gpu(format!(
                "no adapter usable for compute (GL is never picked silently; name it with --adapter to force it); adapters are {}",
                listing()
            ))
        })
}

/// The device every GPU pass runs on, with the limits that bound a run.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    /// Largest single storage binding we will create. Defaults to the adapter's own
    /// limit; tests lower it to exercise the chunked buffers on small graphs.
    pub binding_cap: u64,
    /// First error the device reported outside an error scope (wgpu's default would
    /// panic); [`GpuContext::wait`] turns it into an [`Error::Gpu`].
    errors: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Open the adapter chosen by `selector` (see [`choose`]) with its own limits.
    pub fn new(selector: Option<&str>) -> Result<Self> {
        Self::with_limits(selector, |_| {})
    }

    /// [`GpuContext::new`] with the device's limits lowered by `lower` (tests that
    /// rehearse a smaller device, or a fault on one).
    pub fn with_limits(
        selector: Option<&str>,
        lower: impl FnOnce(&mut wgpu::Limits),
    ) -> Result<Self> {
        let instance = new_instance(selector.is_some());
        // GL is enumerated only when an adapter is named, so it is never picked silently.
        let adapters = enumerate(&instance, selector.is_some());
        let summaries: Vec<_> = adapters
            .iter()
            .enumerate()
            .map(|(i, a)| summarize(i, a))
            .collect();
        let index = choose(&summaries, selector)?;
        let adapter = &adapters[index];
        let summary = summaries[index].clone();
        if summary.software {
            tracing::warn!(
                "adapter `{}` is a software rasterizer: correct, but slower than --backend cpu",
                summary.name
            );
        }
        let mut limits = adapter.limits();
        lower(&mut limits);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("emergence"),
            // Timestamps let `bench` time each pass on the device, where offered.
            required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("cannot open `{}`: {e}", summary.name)))?;
        let binding_cap = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let errors = Arc::new(Mutex::new(None));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let kind = match &e {
                wgpu::Error::OutOfMemory { .. } => "out of device memory",
                wgpu::Error::Validation { .. } => "validation error",
                wgpu::Error::Internal { .. } => "internal error",
            };
            let mut first = sink.lock().unwrap_or_else(|p| p.into_inner());
            if first.is_none() {
                *first = Some(format!("{kind}: {}", one_line(&e.to_string())));
            }
        }));
        let lost = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            // Dropping the device at the end of a run is not a loss.
            if reason != wgpu::DeviceLostReason::Destroyed {
                let mut first = lost.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| format!("device lost: {}", one_line(&message)));
            }
        });
        Ok(GpuContext {
            errors,
            device,
            queue,
            adapter: summary,
            limits,
            binding_cap,
        })
    }

    /// Dispatch size for `n` threads of [`WORKGROUP`]: 1-D up to the per-dimension limit,
    /// then 2-D (kernels rebuild the flat index from `num_workgroups`).
    pub fn dispatch_size(&self, n: u32) -> (u32, u32) {
        dispatch_size(n, self.limits.max_compute_workgroups_per_dimension)
    }

    /// Wait for all submitted work.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
        self.check()
    }

    /// Fail with the first error the device reported, if any.
    pub fn check(&self) -> Result<()> {
        match self.errors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }
}

/// wgpu's multi-line reports as one line, so an error stays one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Workgroup grid for `n` threads: `(x, y)` with `x ≤ max_per_dim`.
pub fn dispatch_size(n: u32, max_per_dim: u32) -> (u32, u32) {
    let groups = n.div_ceil(WORKGROUP).max(1);
    if groups <= max_per_dim {
        (groups, 1)
    } else {
        let y = groups.div_ceil(max_per_dim);
        (groups.div_ceil(y), y)
    }
}
