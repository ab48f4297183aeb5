//! `emergence info`: the adapters and backends this machine has, each model's device
//! buffers (summed from what the model declares, not typed in) and the largest N that
//! fits each adapter; and the host memory plan: the bytes a run needs in host memory on
//! each backend, the memory available and the largest N the CPU backend fits.

use crate::error::Result;
use crate::gpu;
use crate::model::device_plan::{human, plan, DevicePlan, Limits};

/// One model as `info` sees it: its buffers at N = 10^6 and the largest N per adapter.
#[derive(serde::Serialize)]
pub struct ModelInfo {
    pub model: &'static str,
    /// The shape the figures assume: mean degree and K (a config's own with `info CONFIG`).
    pub mean_degree: f64,
    pub slots: u64,
    pub complete: bool,
    /// Device buffers of a run of 10^6 agents of that shape.
    pub buffers_at_1e6: Vec<crate::model::DeviceBuffer>,
    pub bytes_at_1e6: u64,
    /// The N the host figures are for: the scenario's `agents` (10^6 without a config).
    pub agents: u64,
    /// Host memory a run of `agents` needs on each backend (`model::host_plan`).
    pub host_bytes_cpu: u64,
    pub host_bytes_gpu: u64,
    /// The largest N whose host plan fits the memory available (the CPU backend).
    pub largest_agents_cpu: u64,
    /// One checkpoint of a run of `agents` (an upper bound; three must fit the disk
    /// under `--out`: the two kept and the one being written).
    pub checkpoint_bytes: u64,
    /// The device memory plan at N = 10^6, 10^7 and 10^8 of that shape.
    pub plans: Vec<PlanAt>,
}

/// The device memory plan of one size, and how it fares on each adapter's limits (this
/// machine's adapters, then the reference limits of [`Limits::reference`]).
#[derive(serde::Serialize)]
pub struct PlanAt {
    pub agents: u64,
    pub total_bytes: u64,
    pub per_agent_bytes: f64,
    pub per_slot_bytes: f64,
    /// One checkpoint and one snapshot of a run this size (upper bounds).
    pub checkpoint_bytes: u64,
    pub snapshot_bytes: u64,
    pub on: Vec<PlanOn>,
}

/// A plan on one set of limits.
#[derive(serde::Serialize)]
pub struct PlanOn {
    pub limits: Limits,
    #[serde(flatten)]
    pub plan: DevicePlan,
}

/// Reference limits, and the largest N each model fits on them.
#[derive(serde::Serialize)]
pub struct ReferenceInfo {
    #[serde(flatten)]
    pub limits: Limits,
    pub largest_agents: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Serialize)]
pub struct AdapterInfo {
    #[serde(flatten)]
    pub adapter: gpu::AdapterSummary,
    /// Largest agent count each model fits on this adapter, from its declared buffers.
    pub largest_agents: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Serialize)]
pub struct Info {
    pub version: &'static str,
    pub cpu_threads: usize,
    pub models: Vec<ModelInfo>,
    pub adapters: Vec<AdapterInfo>,
    /// What `--backend auto` would use here.
    pub auto_backend: String,
    /// The memory a run may use and where the figure comes from.
    pub memory: crate::model::memory::Available,
    /// Limits of adapters not at hand, for planning (`Limits::reference`).
    pub reference: Vec<ReferenceInfo>,
}

/// The shape each model is sized at without a config: mean degree 4 and K = 24, well
/// mixed where the model is by default.
fn default_size(model: &dyn crate::model::Model) -> crate::model::Size {
    let complete = matches!(model.name(), "deffuant" | "kuramoto");
    crate::model::Size {
        agents: 1_000_000,
        ties: if complete { 0 } else { 2_000_000 },
        slots: 24,
        complete,
    }
}

pub fn info(config: Option<&std::path::Path>) -> Result<Info> {
    let memory = crate::model::memory::available_memory()?;
    // The host plan is for the scenario's own size (10^6 agents without a config).
    let mut plan_agents = 1_000_000u64;
    // Metrics rows a checkpoint holds at the end of the run (the embedded default's 3000
    // ticks, a row every 10, without a config).
    let mut rows = 302u64;
    let sizes: Vec<(&'static dyn crate::model::Model, crate::model::Size)> = match config {
        Some(path) => {
            let loaded = crate::config::load(Some(path), &[])?;
            let s = &loaded.scenario;
            let model = crate::model::find(s.model.kind())?;
            let complete = s.graph.kind == crate::config::GraphKind::Complete;
            if s.graph.kind != crate::config::GraphKind::File {
                plan_agents = s.agents as u64;
            }
            rows = s.ticks as u64 / s.metrics_every.max(1) as u64 + 2;
            let size = crate::model::Size {
                agents: 1_000_000,
                ties: if complete {
                    0
                } else {
                    (s.graph.mean_degree * 500_000.0).ceil() as u64
                },
                slots: s.graph.slots as u64,
                complete,
            };
            vec![(model, size)]
        }
        None => crate::model::all()
            .into_iter()
            .map(|m| (m, default_size(m)))
            .collect(),
    };
    let found = gpu::list_adapters();
    let mut all_limits: Vec<Limits> = found.iter().map(Limits::of_adapter).collect();
    all_limits.extend(Limits::reference());
    let models = sizes
        .iter()
        .map(|(m, size)| {
            let buffers = m.buffers(size);
            let ties_per_agent = size.ties as f64 / size.agents.max(1) as f64;
            let planned = crate::model::Size {
                agents: plan_agents,
                ties: (ties_per_agent * plan_agents as f64).ceil() as u64,
                ..*size
            };
            let host = crate::model::host_plan(*m, &planned).total();
            let plans = [1_000_000u64, 10_000_000, 100_000_000]
                .into_iter()
                .map(|agents| {
                    let at = crate::model::Size {
                        agents,
                        ties: (ties_per_agent * agents as f64).ceil() as u64,
                        ..*size
                    };
                    let on: Vec<PlanOn> = all_limits
                        .iter()
                        .map(|l| PlanOn {
                            limits: l.clone(),
                            plan: plan(*m, &at, l),
                        })
                        .collect();
                    let first = plan(*m, &at, &Limits::reference()[1]);
                    PlanAt {
                        agents,
                        total_bytes: first.total_bytes,
                        per_agent_bytes: first.per_agent_bytes,
                        per_slot_bytes: first.per_slot_bytes,
                        checkpoint_bytes: crate::io::checkpoint::estimate_bytes(*m, &at, rows),
                        snapshot_bytes: crate::run::snapshot_bytes(*m, &at, at.ties),
                        on,
                    }
                })
                .collect();
            ModelInfo {
                plans,
                checkpoint_bytes: crate::io::checkpoint::estimate_bytes(*m, &planned, rows),
                agents: plan_agents,
                host_bytes_cpu: host,
                host_bytes_gpu: host,
                largest_agents_cpu: crate::model::memory::largest_agents_host(
                    *m,
                    size,
                    memory.bytes,
                ),
                model: m.name(),
                mean_degree: 2.0 * size.ties as f64 / size.agents as f64,
                slots: size.slots,
                complete: size.complete,
                bytes_at_1e6: buffers.iter().map(|b| b.bytes).sum(),
                buffers_at_1e6: buffers,
            }
        })
        .collect();
    let largest_on = |limits: &Limits| -> serde_json::Map<String, serde_json::Value> {
        sizes
            .iter()
            .map(|(m, size)| {
                (
                    m.name().to_string(),
                    crate::model::largest_agents(*m, size, limits).into(),
                )
            })
            .collect()
    };
    let reference = Limits::reference()
        .into_iter()
        .map(|limits| ReferenceInfo {
            largest_agents: largest_on(&limits),
            limits,
        })
        .collect();
    let adapters: Vec<AdapterInfo> = found
        .into_iter()
        .map(|a| {
            let limits = Limits::of_adapter(&a);
            let largest_agents = sizes
                .iter()
                .map(|(m, size)| {
                    (
                        m.name().to_string(),
                        crate::model::largest_agents(*m, size, &limits).into(),
                    )
                })
                .collect();
            AdapterInfo {
                adapter: a,
                largest_agents,
            }
        })
        .collect();
    let summaries: Vec<_> = adapters.iter().map(|a| a.adapter.clone()).collect();
    let auto_backend = match gpu::choose(&summaries, None) {
        Ok(i) if !summaries[i].software => format!("gpu ({})", summaries[i].name),
        Ok(i) => format!("cpu (only a software adapter: {})", summaries[i].name),
        Err(_) => "cpu (no usable adapter)".into(),
    };
    Ok(Info {
        version: env!("CARGO_PKG_VERSION"),
        cpu_threads: rayon::current_num_threads(),
        models,
        adapters,
        auto_backend,
        memory,
        reference,
    })
}

pub fn text(info: &Info) -> String {
    let mut out = format!(
        "emergence {}\nCPU backend: {} threads\n--backend auto uses: {}\nmemory available: {:.1} GiB ({})\n",
        info.version,
        info.cpu_threads,
        info.auto_backend,
        info.memory.bytes as f64 / (1u64 << 30) as f64,
        info.memory.source
    );
    for m in &info.models {
        out += &format!(
            "model {}: {:.1} MiB on a device at N = 10^6 (mean degree {}, K = {}{})\n",
            m.model,
            m.bytes_at_1e6 as f64 / (1 << 20) as f64,
            m.mean_degree,
            m.slots,
            if m.complete { ", well mixed" } else { "" }
        );
        out += &format!(
            "  host memory at N = {}: {:.1} MiB on the CPU backend, {:.1} MiB on the GPU backend; largest N on the CPU: {}\n",
            m.agents,
            m.host_bytes_cpu as f64 / (1 << 20) as f64,
            m.host_bytes_gpu as f64 / (1 << 20) as f64,
            m.largest_agents_cpu
        );
        out += &format!(
            "  a checkpoint at N = {}: up to {:.1} MiB (the last two are kept, and one more is written: {:.1} MiB of disk)\n",
            m.agents,
            m.checkpoint_bytes as f64 / (1 << 20) as f64,
            3.0 * m.checkpoint_bytes as f64 / (1 << 20) as f64
        );
        for p in &m.plans {
            out += &format!(
                "  N = 10^{}: {} on a device ({:.1} B per agent, {:.1} B per tie slot); a checkpoint up to {}, a snapshot up to {}\n",
                (p.agents as f64).log10().round(),
                human(p.total_bytes),
                p.per_agent_bytes,
                p.per_slot_bytes,
                human(p.checkpoint_bytes),
                human(p.snapshot_bytes)
            );
            for PlanOn { limits, plan: d } in &p.on {
                let how = match &d.binds {
                    None if d.slot_chunks > 1 => format!(
                        "fits: tie slots in {} bindings of up to {}, {} storage buffers in one stage",
                        d.slot_chunks,
                        human(d.largest_binding_bytes),
                        d.storage_per_stage
                    ),
                    None => format!("fits: largest binding {}", human(d.largest_binding_bytes)),
                    Some(b) => format!("does not fit: {}", b.describe(d, limits)),
                };
                out += &format!("    on {}: {how}\n", limits.name);
            }
        }
    }
    if info.adapters.is_empty() {
        out += "no GPU adapters found\n";
    }
    for r in &info.reference {
        out += &format!(
            "reference limits `{}` (binding {}, {} storage buffers per stage): largest N {}\n",
            r.limits.name,
            human(r.limits.binding_cap),
            r.limits.storage_per_stage,
            r.largest_agents
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for a in &info.adapters {
        let s = &a.adapter;
        out += &format!(
            "adapter {}: {} [{} {}{}{}]\n  driver: {}  pci: {}\n  max storage binding {} MiB, max buffer {} MiB, {} storage buffers per stage, {} workgroups per dimension\n  largest N: {}\n",
            s.index,
            s.name,
            s.backend,
            s.device_type,
            if s.software { ", software" } else { "" },
            if s.usable_for_compute { "" } else { ", not picked for compute unless named" },
            if s.driver.is_empty() { "-" } else { &s.driver },
            if s.pci_bus_id.is_empty() { "-" } else { &s.pci_bus_id },
            s.max_storage_binding_bytes >> 20,
            s.max_buffer_bytes >> 20,
            s.max_storage_buffers_per_stage,
            s.max_workgroups_per_dimension,
            a.largest_agents.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        );
    }
    out
}
