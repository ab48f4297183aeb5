//! The host memory plan of a run: from a model's declared buffers and the host-side graph
//! arrays, the bytes a run of a given size needs in host memory, checked against what the
//! machine (or the process's cgroup) can give before the graph is built or any large
//! array is allocated. A run that does not fit is refused as bad input with the largest N
//! that would, instead of aborting in the allocator halfway through.

use super::{check_fits, Model, Size};
use crate::backend::Backend;
use crate::error::{Error, Result};
use serde::Serialize;

/// The environment variable that replaces the detected available memory (in bytes), so
/// that a refusal can be provoked, and a run bounded, without the machine being full.
pub const MEMORY_LIMIT_ENV: &str = "EMERGENCE_MEMORY_LIMIT";

/// The words of a refusal for want of host memory: a sweep's runs side by side take
/// memory from each other, so a run refused so is retried alone.
pub const HOST_MEMORY_REFUSAL: &str = "of host memory on";

/// Host bytes per agent of the graph arrays: the CSR's offsets and the per-agent counts
/// it is built from.
const GRAPH_BYTES_PER_AGENT: u64 = 8;
/// Host bytes per tie of the graph arrays: the edge list (two u32), the CSR's two
/// neighbour entries, the copy the tie slots are filled from and the generator's own
/// list before it is handed over.
const GRAPH_BYTES_PER_TIE: u64 = 32;

/// What a run of one size needs in host memory.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HostPlan {
    /// The graph as the host builds it (edge list, CSR, the copy for the tie slots).
    pub graph_bytes: u64,
    /// The model's state: on the CPU backend the arrays the passes work on, on the GPU
    /// backend the same state, built on the host before it is uploaded and read back.
    pub state_bytes: u64,
    /// The model's analysis on the host at its peak ([`Model::host_analysis_bytes`]).
    pub analysis_bytes: u64,
}

impl HostPlan {
    pub fn total(&self) -> u64 {
        self.graph_bytes + self.state_bytes + self.analysis_bytes
    }
}

/// The host plan of `model` at `size`. The model's declared [`Model::buffers`] are what its
/// state takes on either backend (the CPU twins keep the arrays the kernels keep), so
/// the plan is the same on both; the device's own limits are [`check_fits`]'s.
pub fn host_plan(model: &dyn Model, size: &Size) -> HostPlan {
    let state_bytes = model.buffers(size).iter().map(|b| b.bytes).sum();
    let ties = if size.complete { 0 } else { size.ties };
    HostPlan {
        graph_bytes: GRAPH_BYTES_PER_AGENT * (size.agents + 1) + GRAPH_BYTES_PER_TIE * ties,
        state_bytes,
        analysis_bytes: model.host_analysis_bytes(size),
    }
}

/// Memory a run may use, and where the figure comes from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Available {
    pub bytes: u64,
    /// `EMERGENCE_MEMORY_LIMIT`, `cgroup memory.max` or `/proc/meminfo MemAvailable`.
    pub source: String,
}

/// The memory a run may use: `EMERGENCE_MEMORY_LIMIT` when set; else the smaller of the
/// room left under the process's cgroup v2 `memory.max` (when it is not `max`) and
/// `/proc/meminfo`'s MemAvailable, since a cgroup may allow more than the machine has
/// free. Where neither can be read the plan does not refuse anything.
pub fn available_memory() -> Result<Available> {
    if let Ok(text) = std::env::var(MEMORY_LIMIT_ENV) {
        let bytes = text.trim().parse::<u64>().map_err(|_| {
            Error::bad_input(format!(
                "{MEMORY_LIMIT_ENV}={}: expected a number of bytes, e.g. {MEMORY_LIMIT_ENV}=8000000000",
                crate::error::shorten(&text, 60)
            ))
        })?;
        return Ok(Available {
            bytes,
            source: MEMORY_LIMIT_ENV.into(),
        });
    }
    let cgroup = cgroup_room().map(|b| (b, "cgroup memory.max"));
    let meminfo = mem_available().map(|b| (b, "/proc/meminfo MemAvailable"));
    let (bytes, source) = match (cgroup, meminfo) {
        (Some(a), Some(b)) => {
            if a.0 < b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => (u64::MAX, "unknown (not limited)"),
    };
    Ok(Available {
        bytes,
        source: source.into(),
    })
}

/// `memory.max − memory.current` of this process's cgroup (v2), when it has a limit.
fn cgroup_room() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max = std::fs::read_to_string(dir.join("memory.max")).ok()?;
    let max: u64 = max.trim().parse().ok()?; // "max": no limit
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    Some(max.saturating_sub(current))
}

fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The largest N whose host plan fits `bytes`, for a run shaped like `like` (its ties per
/// agent and K kept as N changes).
pub fn largest_agents_host(model: &dyn Model, like: &Size, bytes: u64) -> u64 {
    super::largest_fitting(like, |size| host_plan(model, size).total() <= bytes)
}

fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// Refuse, before the graph is built or anything large allocated, a run that does not
/// fit: the device's bindings on the GPU backend ([`check_fits`]), then the host plan
/// against [`available_memory`]. The message names `agents`, the bytes needed and
/// available, and the largest N that fits. A size of 0 agents (a graph file, whose size is
/// known once read) passes; [`crate::model::simulate`] checks the model's state again
/// with the size the graph has.
pub fn check_memory(model: &dyn Model, size: &Size, backend: &Backend) -> Result<()> {
    check_fits(model, size, backend)?;
    host_fits(model, size, backend.name())
}

/// The host plan alone (no device): what [`crate::graph::build_graph`] checks before it
/// builds a generated graph, so that a run too large for the host is refused before
/// the graph's arrays are allocated on every path, whichever backend it will use.
pub fn check_host(model: &dyn Model, size: &Size) -> Result<()> {
    host_fits(model, size, "any")
}

/// The host plan of `size` against the memory available; `backend` names the backend in
/// the refusal ("any" before one is chosen).
fn host_fits(model: &dyn Model, size: &Size, backend: &str) -> Result<()> {
    let available = available_memory()?;
    let plan = host_plan(model, size);
    if plan.total() <= available.bytes {
        return Ok(());
    }
    Err(refusal(
        "agents",
        model,
        size,
        backend,
        plan.total(),
        &available,
        largest_agents_host(model, size, available.bytes),
    ))
}

/// Refuse, once the graph is built and before the model allocates anything, a run whose
/// real size does not fit: the device's bindings ([`check_fits`]), then the model's state
/// against the memory available now (the graph's arrays are in use already). A graph
/// file is named in the refusal, since its size was known only once it was read.
pub fn check_built(
    model: &dyn Model,
    size: &Size,
    loaded: &crate::config::Loaded,
    backend: &Backend,
) -> Result<()> {
    check_fits(model, size, backend)?;
    let what = match loaded.graph_path() {
        Some(path) if loaded.scenario.graph.kind == crate::config::GraphKind::File => {
            format!("{} (graph file)", path.display())
        }
        _ => "agents".to_string(),
    };
    check_state_memory(model, size, backend, &what)
}

/// The model's state alone against the memory available now.
fn check_state_memory(model: &dyn Model, size: &Size, backend: &Backend, what: &str) -> Result<()> {
    let available = available_memory()?;
    let state = host_plan(model, size).state_bytes;
    if state <= available.bytes {
        return Ok(());
    }
    let per_agent = (state / size.agents.max(1)).max(1);
    Err(refusal(
        what,
        model,
        size,
        backend.name(),
        state,
        &available,
        available.bytes / per_agent,
    ))
}

fn refusal(
    what: &str,
    model: &dyn Model,
    size: &Size,
    backend: &str,
    needed: u64,
    available: &Available,
    largest: u64,
) -> Error {
    Error::bad_input(format!(
        "{what}: {} agents of model {} need {needed} bytes ({}) {HOST_MEMORY_REFUSAL} {} backend, more than the {} bytes ({}) available ({}); the largest N that fits is {largest}",
        size.agents,
        model.name(),
        gib(needed),
        if backend == "any" { "any".to_string() } else { format!("the {backend}") },
        available.bytes,
        gib(available.bytes),
        available.source,
    ))
}
