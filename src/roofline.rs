//! The memory-bandwidth roofline of a model's passes: how many bytes each pass of a tick
//! and of a metrics row moves, counted from the storage bindings of its WGSL kernel (by
//! naga reflection, so the count follows the shaders), and what those bytes imply on a
//! GPU of known bandwidth. The passes of a simulation tick stream their arrays and do
//! little arithmetic per byte, so memory bandwidth is the physical limit they are
//! measured against: `bench` reports the achieved GB/s of each pass and its fraction of
//! the adapter's peak, and `bench --predict GPU` what the byte counts give on a named GPU
//! before one is at hand.
//!
//! The count is the traffic of each storage binding taken once per dispatch: a binding the
//! kernel loads from counts its whole size as read, one it stores to (or updates
//! atomically) its whole size as written, one it does both as both. That is an upper bound
//! on the distinct bytes a dispatch touches (a pass that reads only live tie slots, or
//! writes one slot per agent, touches less), and the device's memory traffic when what a
//! pass gathers at random (the neighbours' phases, a neighbour's slots) stays in cache;
//! gathers that miss the cache move more. Uniform buffers (a few words, broadcast to every
//! thread) are not counted.

use crate::error::{Error, Result};
use crate::gpu::shaders::{self, GraphStore};
use serde::Serialize;

/// One GPU of the table: its peak memory bandwidth and memory size from the vendor's
/// specification.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Gpu {
    pub name: &'static str,
    /// Other spellings of it, adapter names included ("H100 80GB HBM3"); matched by their
    /// words, case and spacing aside.
    #[serde(skip)]
    pub aliases: &'static [&'static str],
    /// Peak memory bandwidth, GB/s (10^9 bytes a second).
    pub bandwidth_gb_per_s: f64,
    /// Memory, GB (10^9 bytes); for the unified memory of Apple's chips, the largest
    /// configuration.
    pub memory_gb: f64,
}

const fn gpu(
    name: &'static str,
    aliases: &'static [&'static str],
    bandwidth_gb_per_s: f64,
    memory_gb: f64,
) -> Gpu {
    Gpu {
        name,
        aliases,
        bandwidth_gb_per_s,
        memory_gb,
    }
}

/// Known GPUs. Every figure is the vendor's specification-sheet value (NVIDIA's data sheets
/// for H200, H100, A100, L40S and the GeForce RTX 4090 pages; Apple's product pages for the
/// M2 and M3 families), not a measurement.
pub const GPUS: &[Gpu] = &[
    // H200 SXM and NVL: 141 GB HBM3e, 4.8 TB/s.
    gpu(
        "H200",
        &["H200 SXM", "H200 NVL", "H200 141GB"],
        4800.0,
        141.0,
    ),
    // H100 SXM5: 80 GB HBM3, 3.35 TB/s; its Vulkan name is "NVIDIA H100 80GB HBM3".
    gpu(
        "H100 SXM",
        &["H100", "H100 SXM5", "H100 80GB HBM3"],
        3350.0,
        80.0,
    ),
    // H100 PCIe: 80 GB HBM2e, 2.0 TB/s.
    gpu("H100 PCIe", &["H100 PCIe 80GB"], 2000.0, 80.0),
    // H100 NVL: 94 GB HBM3, 3.9 TB/s.
    gpu("H100 NVL", &[], 3900.0, 94.0),
    // A100 80GB SXM: 2,039 GB/s; "NVIDIA A100-SXM4-80GB".
    gpu(
        "A100 80GB SXM",
        &["A100", "A100 SXM4 80GB", "A100 80GB", "A100 SXM"],
        2039.0,
        80.0,
    ),
    // A100 80GB PCIe: 1,935 GB/s.
    gpu("A100 80GB PCIe", &["A100 PCIe 80GB"], 1935.0, 80.0),
    // A100 40GB (SXM and PCIe): 1,555 GB/s; "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB".
    gpu(
        "A100 40GB",
        &["A100 SXM4 40GB", "A100 PCIe 40GB"],
        1555.0,
        40.0,
    ),
    // L40S: 48 GB GDDR6, 864 GB/s.
    gpu("L40S", &[], 864.0, 48.0),
    // GeForce RTX 4090: 24 GB GDDR6X, 1,008 GB/s.
    gpu("RTX 4090", &["GeForce RTX 4090"], 1008.0, 24.0),
    // The laptop part shares the name's first words: 16 GB GDDR6, 576 GB/s.
    gpu("RTX 4090 Laptop", &["RTX 4090 Laptop GPU"], 576.0, 16.0),
    // Apple M2: 100 GB/s, up to 24 GB; M2 Pro 200 GB/s, 32 GB; M2 Max 400 GB/s, 96 GB.
    gpu("M2", &["Apple M2"], 100.0, 24.0),
    gpu("M2 Pro", &["Apple M2 Pro"], 200.0, 32.0),
    gpu("M2 Max", &["Apple M2 Max"], 400.0, 96.0),
    // Apple M3: 100 GB/s, up to 24 GB; M3 Pro 150 GB/s, 36 GB; M3 Max 400 GB/s, 128 GB
    // (the 30-core-GPU M3 Max has 300 GB/s; the table gives the full chip).
    gpu("M3", &["Apple M3"], 100.0, 24.0),
    gpu("M3 Pro", &["Apple M3 Pro"], 150.0, 36.0),
    gpu("M3 Max", &["Apple M3 Max"], 400.0, 128.0),
];

/// Words that name a vendor or a product line rather than a GPU.
const NOISE: &[&str] = &["nvidia", "geforce", "apple", "tesla"];

/// The words of a name, lower case, vendor words dropped: "NVIDIA A100-SXM4-80GB" →
/// [a100, sxm4, 80gb].
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| !NOISE.contains(&w.as_str()))
        .collect()
}

fn spellings(g: &Gpu) -> impl Iterator<Item = &'static str> + '_ {
    std::iter::once(g.name).chain(g.aliases.iter().copied())
}

/// The known names, for messages.
pub fn known_names() -> String {
    GPUS.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")
}

/// The GPU a user names (`--predict H200`, `h100 sxm`, `RTX4090`): its name or an alias
/// with case, spaces and dashes ignored, else the GPU an adapter of that name would be.
pub fn find(name: &str) -> Option<&'static Gpu> {
    let joined = words(name).concat();
    if joined.is_empty() {
        return None;
    }
    GPUS.iter()
        .find(|g| spellings(g).any(|s| words(s).concat() == joined))
        .or_else(|| for_adapter(name))
}

/// [`find`], or a bad-input error naming the known GPUs.
pub fn lookup(name: &str) -> Result<&'static Gpu> {
    find(name).ok_or_else(|| {
        Error::bad_input(format!(
            "--predict {}: not a GPU of the table; known: {}; for another GPU give its bandwidth with --bandwidth GBPS",
            crate::error::shorten(name, 80),
            known_names()
        ))
    })
}

/// The GPU of an adapter name as a driver reports it ("NVIDIA H100 80GB HBM3", "NVIDIA
/// GeForce RTX 4090", "Apple M2 Pro"): the table entry one of whose spellings appears in
/// it as whole consecutive words, the longest such spelling winning (so "M2 Pro" beats
/// "M2", "RTX 4090 Laptop GPU" beats "RTX 4090", and "Quadro M2000" is no M2).
pub fn for_adapter(adapter: &str) -> Option<&'static Gpu> {
    let have = words(adapter);
    let mut best: Option<(&'static Gpu, usize)> = None;
    for g in GPUS {
        for s in spellings(g) {
            let want = words(s);
            let len = want.concat().len();
            let found = !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice());
            if found && best.is_none_or(|(_, l)| len > l) {
                best = Some((g, len));
            }
        }
    }
    best.map(|(g, _)| g)
}

/// Check a bandwidth given on the command line (`--bandwidth GBPS`).
pub fn check_bandwidth(gb_per_s: f64) -> Result<f64> {
    if gb_per_s.is_finite() && gb_per_s > 0.0 && gb_per_s <= 1e6 {
        Ok(gb_per_s)
    } else {
        Err(Error::bad_input(format!(
            "--bandwidth {gb_per_s}: a memory bandwidth in GB/s; allowed: 0 < GBPS ≤ 1000000"
        )))
    }
}

/// One storage global of a kernel as its entry point uses it (naga reflection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageGlobal {
    pub binding: u32,
    /// The WGSL variable.
    pub name: String,
    /// Declared `read_write` (else `read`).
    pub read_write: bool,
    /// The entry point loads from it (atomics included).
    pub reads: bool,
    /// The entry point stores to it (atomics included).
    pub writes: bool,
}

/// The storage globals kernel `name` uses (its entry point `main`), with `#import
/// adjacency` bound to `store`, in binding order. Globals a shared file declares but the
/// kernel never touches are left out (an automatic layout leaves them out too).
pub fn storage_globals(name: &str, store: GraphStore) -> Result<Vec<StorageGlobal>> {
    let src = shaders::source_with(name, store)?;
    let module = naga::front::wgsl::parse_str(&src)
        .map_err(|e| Error::Gpu(format!("{name}.wgsl: {}", e.emit_to_string(&src))))?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| Error::Gpu(format!("{name}.wgsl: {}", e.emit_to_string(&src))))?;
    let entry = module
        .entry_points
        .iter()
        .position(|e| e.name == "main")
        .ok_or_else(|| Error::Gpu(format!("{name}.wgsl: no entry point `main`")))?;
    let uses = info.get_entry_point(entry);
    let mut out = Vec::new();
    for (handle, var) in module.global_variables.iter() {
        let naga::AddressSpace::Storage { access } = var.space else {
            continue;
        };
        let used = uses[handle];
        if used.is_empty() {
            continue;
        }
        let Some(binding) = &var.binding else {
            continue;
        };
        out.push(StorageGlobal {
            binding: binding.binding,
            name: var.name.clone().unwrap_or_default(),
            read_write: access.contains(naga::StorageAccess::STORE),
            reads: used.intersects(naga::valid::GlobalUse::READ | naga::valid::GlobalUse::ATOMIC),
            writes: used.intersects(naga::valid::GlobalUse::WRITE | naga::valid::GlobalUse::ATOMIC),
        });
    }
    out.sort_by_key(|g| g.binding);
    Ok(out)
}

/// The array a variable is part of: `neighbor_0`, `neighbor_1` … are chunks of `neighbor`
/// (an array split over several bindings), which together are the whole array.
pub fn array_of(variable: &str) -> &str {
    match variable.rsplit_once('_') {
        Some((base, digits))
            if !base.is_empty()
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => variable,
    }
}

/// When a pass runs: every tick, or once per metrics row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Tick,
    Metrics,
}

/// One array a pass moves, per dispatch (or per transfer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrayTraffic {
    /// The array (a chunked array's variables counted together).
    pub array: String,
    /// Its bindings in the kernel (one, or one per chunk); empty for a copy or a clear.
    pub bindings: Vec<u32>,
    pub read_bytes: u64,
    pub written_bytes: u64,
}

/// The traffic of one pass of a tick or of a metrics row: a kernel's dispatches, or the
/// copies and clears between them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassTraffic {
    /// The kernel, or what the transfer does ("phi copy").
    pub pass: String,
    /// The WGSL kernel (None for copies and clears).
    pub kernel: Option<String>,
    pub phase: Phase,
    /// The group `bench` times it in (lifecycle: psi, agents, weights, search), if any.
    pub group: Option<String>,
    /// Dispatches per tick (phase tick) or per metrics row (phase metrics).
    pub dispatches: u64,
    /// Buffer copies and clears per tick or per row.
    pub transfers: u64,
    /// Bytes read and written per tick or per row, all its dispatches or transfers.
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// What one dispatch (or one round of its transfers) moves, array by array.
    pub arrays: Vec<ArrayTraffic>,
    /// Storage variables of the kernel whose size the model does not know (counted as 0);
    /// a test keeps this empty.
    pub unknown: Vec<String>,
    /// Runs as a single workgroup (a final reduction): bound by one core's bandwidth, not
    /// the device's.
    pub one_workgroup: bool,
}

impl PassTraffic {
    /// A kernel's traffic from its reflected bindings: `size_of(array)` is the size in
    /// bytes of an array (None when unknown); `times` dispatches.
    pub fn kernel(
        name: &str,
        store: GraphStore,
        phase: Phase,
        group: Option<&str>,
        times: u64,
        size_of: impl Fn(&str) -> Option<u64>,
    ) -> Result<PassTraffic> {
        let globals = storage_globals(name, store)?;
        Ok(PassTraffic::of_globals(
            name, &globals, phase, group, times, size_of,
        ))
    }

    /// [`Self::kernel`] from the kernel's storage globals as [`storage_globals`] gives them.
    pub fn of_globals(
        name: &str,
        globals: &[StorageGlobal],
        phase: Phase,
        group: Option<&str>,
        times: u64,
        size_of: impl Fn(&str) -> Option<u64>,
    ) -> PassTraffic {
        let mut arrays: Vec<ArrayTraffic> = Vec::new();
        let mut unknown = Vec::new();
        // Chunks of one array fold into one entry, reading (writing) the whole array if
        // any chunk is read (written).
        let mut uses: Vec<(String, Vec<u32>, bool, bool)> = Vec::new();
        for g in globals {
            let array = array_of(&g.name).to_string();
            match uses.iter_mut().find(|u| u.0 == array) {
                Some(u) => {
                    u.1.push(g.binding);
                    u.2 |= g.reads;
                    u.3 |= g.writes;
                }
                None => uses.push((array, vec![g.binding], g.reads, g.writes)),
            }
        }
        for (array, bindings, reads, writes) in uses {
            let bytes = match size_of(&array) {
                Some(b) => b,
                None => {
                    unknown.push(array.clone());
                    0
                }
            };
            arrays.push(ArrayTraffic {
                array,
                bindings,
                read_bytes: if reads { bytes } else { 0 },
                written_bytes: if writes { bytes } else { 0 },
            });
        }
        let read: u64 = arrays.iter().map(|a| a.read_bytes).sum();
        let written: u64 = arrays.iter().map(|a| a.written_bytes).sum();
        PassTraffic {
            pass: name.to_string(),
            kernel: Some(name.to_string()),
            phase,
            group: group.map(str::to_string),
            dispatches: times,
            transfers: 0,
            read_bytes: read * times,
            written_bytes: written * times,
            arrays,
            unknown,
            one_workgroup: false,
        }
    }

    /// Copies and clears: `repeats` times the `commands` transfers that move `arrays`
    /// together (a copy reads one array and writes another; a clear writes one).
    pub fn transfer(
        what: &str,
        phase: Phase,
        commands: u64,
        repeats: u64,
        arrays: Vec<ArrayTraffic>,
    ) -> PassTraffic {
        let read: u64 = arrays.iter().map(|a| a.read_bytes).sum();
        let written: u64 = arrays.iter().map(|a| a.written_bytes).sum();
        PassTraffic {
            pass: what.to_string(),
            kernel: None,
            phase,
            group: None,
            dispatches: 0,
            transfers: commands * repeats,
            read_bytes: read * repeats,
            written_bytes: written * repeats,
            arrays,
            unknown: Vec::new(),
            one_workgroup: false,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.read_bytes + self.written_bytes
    }
}

/// A copy of `bytes` from `from` to `to`.
pub fn copy(from: &str, to: &str, bytes: u64) -> Vec<ArrayTraffic> {
    vec![
        ArrayTraffic {
            array: from.to_string(),
            bindings: Vec::new(),
            read_bytes: bytes,
            written_bytes: 0,
        },
        ArrayTraffic {
            array: to.to_string(),
            bindings: Vec::new(),
            read_bytes: 0,
            written_bytes: bytes,
        },
    ]
}

/// A clear of `bytes` of `array`.
pub fn clear(array: &str, bytes: u64) -> ArrayTraffic {
    ArrayTraffic {
        array: array.to_string(),
        bindings: Vec::new(),
        read_bytes: 0,
        written_bytes: bytes,
    }
}

/// The share of peak bandwidth a streaming pass reaches in practice: an assumption, not a
/// measurement (well-tuned streaming kernels reach 80–90 % on HBM parts; passes that
/// gather through the ties reach less).
pub const REALISTIC_FRACTION: f64 = 0.6;
/// The cost of one dispatch, copy or clear in a command buffer (launch and the barrier
/// after it): an assumption, within the 2–5 µs usual for back-to-back dependent
/// dispatches.
pub const COMMAND_OVERHEAD_S: f64 = 3e-6;

/// The bandwidth a figure is measured against: a GPU of the table, or one given.
#[derive(Debug, Clone, Serialize)]
pub struct Bandwidth {
    /// The GPU's name (the table's, or as given).
    pub gpu: String,
    pub gb_per_s: f64,
    /// "table" (the vendor's specification) or "--bandwidth".
    pub source: String,
    /// Memory of the GPU, GB, when it is in the table.
    pub memory_gb: Option<f64>,
}

impl Bandwidth {
    pub fn of(g: &Gpu) -> Bandwidth {
        Bandwidth {
            gpu: g.name.into(),
            gb_per_s: g.bandwidth_gb_per_s,
            source: "table".into(),
            memory_gb: Some(g.memory_gb),
        }
    }

    /// The bandwidth of `--predict NAME [--bandwidth GBPS]`: a name of the table (its
    /// bandwidth unless `given` replaces it), or any name with `given`.
    pub fn for_prediction(name: &str, given: Option<f64>) -> Result<Bandwidth> {
        let given = given.map(check_bandwidth).transpose()?;
        match (find(name), given) {
            (Some(g), None) => Ok(Bandwidth::of(g)),
            (Some(g), Some(b)) => Ok(Bandwidth {
                gb_per_s: b,
                source: "--bandwidth".into(),
                ..Bandwidth::of(g)
            }),
            (None, Some(b)) if !words(name).is_empty() => Ok(Bandwidth {
                gpu: crate::error::shorten(name.trim(), 80),
                gb_per_s: b,
                source: "--bandwidth".into(),
                memory_gb: None,
            }),
            (None, _) => lookup(name).map(Bandwidth::of),
        }
    }

    /// The bandwidth of the adapter a bench runs on: `given`, else the table's entry for
    /// the adapter's name, else none.
    pub fn for_adapter(adapter: &str, given: Option<f64>) -> Option<Bandwidth> {
        match given {
            Some(b) => Some(Bandwidth {
                gpu: adapter.into(),
                gb_per_s: b,
                source: "--bandwidth".into(),
                memory_gb: None,
            }),
            None => for_adapter(adapter).map(Bandwidth::of),
        }
    }

    pub fn bytes_per_s(&self) -> f64 {
        self.gb_per_s * 1e9
    }
}

/// Sums over some passes.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub dispatches: u64,
    pub transfers: u64,
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// Bytes over the peak bandwidth.
    pub seconds_at_peak: f64,
    /// Bytes over [`REALISTIC_FRACTION`] of the peak.
    pub seconds_at_fraction: f64,
    /// (dispatches + transfers) × [`COMMAND_OVERHEAD_S`]: no faster than this however
    /// fast the memory.
    pub command_floor_s: f64,
    /// Each dispatch or transfer at the larger of its bytes over the realistic bandwidth
    /// and the command overhead, summed: the prediction.
    pub seconds_predicted: f64,
}

fn totals<'a>(passes: impl Iterator<Item = &'a PassTraffic>, bw: &Bandwidth) -> Totals {
    let peak = bw.bytes_per_s();
    let mut t = Totals {
        dispatches: 0,
        transfers: 0,
        read_bytes: 0,
        written_bytes: 0,
        seconds_at_peak: 0.0,
        seconds_at_fraction: 0.0,
        command_floor_s: 0.0,
        seconds_predicted: 0.0,
    };
    for p in passes {
        let commands = p.dispatches + p.transfers;
        t.dispatches += p.dispatches;
        t.transfers += p.transfers;
        t.read_bytes += p.read_bytes;
        t.written_bytes += p.written_bytes;
        t.seconds_at_peak += p.bytes() as f64 / peak;
        t.seconds_at_fraction += p.bytes() as f64 / (REALISTIC_FRACTION * peak);
        t.command_floor_s += commands as f64 * COMMAND_OVERHEAD_S;
        if commands > 0 {
            let each = p.bytes() as f64 / commands as f64 / (REALISTIC_FRACTION * peak);
            t.seconds_predicted += commands as f64 * each.max(COMMAND_OVERHEAD_S);
        }
    }
    t
}

/// One pass of a prediction.
#[derive(Debug, Clone, Serialize)]
pub struct PassPrediction {
    #[serde(flatten)]
    pub traffic: PassTraffic,
    pub seconds_at_peak: f64,
    pub seconds_at_fraction: f64,
}

/// Ticks per second three ways.
#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    /// At the peak bandwidth, no command overhead.
    pub at_peak: f64,
    /// At [`REALISTIC_FRACTION`] of the peak, no command overhead.
    pub at_fraction: f64,
    /// At the realistic fraction with every command costing at least the overhead.
    pub predicted: f64,
}

/// `bench --predict`: what a model's byte counts imply on a GPU. Every figure is a
/// prediction from the counts and the stated assumptions, not a measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// Always true: nothing here was measured.
    pub prediction: bool,
    pub model: String,
    pub agents: u64,
    pub slots: u64,
    pub metrics_every: u64,
    pub bandwidth: Bandwidth,
    pub assumptions: Assumptions,
    /// Device memory the run plans (the model's declared buffers).
    pub device_bytes: u64,
    /// Whether that fits the GPU's memory (None when its memory is not known).
    pub fits_memory: Option<bool>,
    pub passes: Vec<PassPrediction>,
    /// One tick's passes.
    pub tick: Totals,
    /// One metrics row's passes.
    pub metrics_row: Totals,
    /// Ticks per second of the tick alone.
    pub ticks_per_s: Rates,
    /// Ticks per second with one metrics row every `metrics_every` ticks.
    pub ticks_per_s_with_metrics: Rates,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assumptions {
    pub bandwidth_fraction: f64,
    pub command_overhead_s: f64,
    pub bytes: &'static str,
}

/// What the byte counts were taken as, in words.
pub const BYTES_RULE: &str = "each storage binding a pass loads from is read whole once per dispatch, each it stores to written whole once (both for read-modify-write and atomics): an upper bound on the bytes touched, the memory traffic when gathers hit the cache";

/// The prediction for `passes` on `bw`.
pub fn predict(
    model: &str,
    agents: u64,
    slots: u64,
    metrics_every: u64,
    device_bytes: u64,
    passes: Vec<PassTraffic>,
    bw: Bandwidth,
) -> Prediction {
    let peak = bw.bytes_per_s();
    let tick = totals(passes.iter().filter(|p| p.phase == Phase::Tick), &bw);
    let row = totals(passes.iter().filter(|p| p.phase == Phase::Metrics), &bw);
    let rate = |t: f64| if t > 0.0 { 1.0 / t } else { f64::INFINITY };
    let every = metrics_every.max(1) as f64;
    let ticks_per_s = Rates {
        at_peak: rate(tick.seconds_at_peak),
        at_fraction: rate(tick.seconds_at_fraction),
        predicted: rate(tick.seconds_predicted),
    };
    let ticks_per_s_with_metrics = Rates {
        at_peak: rate(tick.seconds_at_peak + row.seconds_at_peak / every),
        at_fraction: rate(tick.seconds_at_fraction + row.seconds_at_fraction / every),
        predicted: rate(tick.seconds_predicted + row.seconds_predicted / every),
    };
    let fits_memory = bw.memory_gb.map(|gb| device_bytes as f64 <= gb * 1e9);
    Prediction {
        prediction: true,
        model: model.into(),
        agents,
        slots,
        metrics_every,
        assumptions: Assumptions {
            bandwidth_fraction: REALISTIC_FRACTION,
            command_overhead_s: COMMAND_OVERHEAD_S,
            bytes: BYTES_RULE,
        },
        device_bytes,
        fits_memory,
        passes: passes
            .into_iter()
            .map(|p| PassPrediction {
                seconds_at_peak: p.bytes() as f64 / peak,
                seconds_at_fraction: p.bytes() as f64 / (REALISTIC_FRACTION * peak),
                traffic: p,
            })
            .collect(),
        tick,
        metrics_row: row,
        ticks_per_s,
        ticks_per_s_with_metrics,
        bandwidth: bw,
    }
}

/// Bytes as MB (10^6), for totals.
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Bytes in the unit that shows them (B, kB, MB, GB; powers of 10), for the pass table.
fn si(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

impl Prediction {
    pub fn to_text(&self) -> String {
        let bw = &self.bandwidth;
        let pct = REALISTIC_FRACTION * 100.0;
        let mut out =
            format!(
            "prediction (nothing run): model {} at N = {}, K = {}, on {} at {:.0} GB/s ({}){}\n",
            self.model,
            self.agents,
            self.slots,
            bw.gpu,
            bw.gb_per_s,
            if bw.source == "table" { "vendor's peak" } else { "given by --bandwidth" },
            match (bw.memory_gb, self.fits_memory) {
                (Some(gb), Some(fits)) => format!(
                    "; {:.2} GB of device state {} its {gb:.0} GB",
                    self.device_bytes as f64 / 1e9,
                    if fits { "fits" } else { "does NOT fit" }
                ),
                _ => format!("; {:.2} GB of device state", self.device_bytes as f64 / 1e9),
            }
        );
        out += &format!(
            "bytes: {BYTES_RULE}\nassumed: {pct:.0} % of peak is reached; each dispatch, copy or clear costs at least {:.0} µs\n",
            COMMAND_OVERHEAD_S * 1e6
        );
        out += &format!(
            "{:<8} {:<22} {:>6} {:>6} {:>10} {:>10} {:>11} {:>11}\n",
            "phase",
            "pass",
            "disp",
            "xfers",
            "read",
            "written",
            "µs @ peak",
            &format!("µs @ {pct:.0}%")
        );
        for p in &self.passes {
            let t = &p.traffic;
            out += &format!(
                "{:<8} {:<22} {:>6} {:>6} {:>10} {:>10} {:>11.2} {:>11.2}{}\n",
                match t.phase {
                    Phase::Tick => "tick",
                    Phase::Metrics => "metrics",
                },
                t.pass,
                t.dispatches,
                t.transfers,
                si(t.read_bytes),
                si(t.written_bytes),
                p.seconds_at_peak * 1e6,
                p.seconds_at_fraction * 1e6,
                if t.one_workgroup {
                    "  (one workgroup)"
                } else {
                    ""
                }
            );
        }
        for (what, t) in [("tick", &self.tick), ("metrics row", &self.metrics_row)] {
            out += &format!(
                "{what}: {} dispatches + {} copies/clears, {:.1} MB read + {:.1} MB written; {:.1} µs at peak, {:.1} µs at {pct:.0} %, command floor {:.1} µs, predicted {:.1} µs\n",
                t.dispatches,
                t.transfers,
                mb(t.read_bytes),
                mb(t.written_bytes),
                t.seconds_at_peak * 1e6,
                t.seconds_at_fraction * 1e6,
                t.command_floor_s * 1e6,
                t.seconds_predicted * 1e6,
            );
        }
        let r = &self.ticks_per_s;
        let m = &self.ticks_per_s_with_metrics;
        out += &format!(
            "predicted ticks/s, tick alone: {:.0} at peak, {:.0} at {pct:.0} %, {:.0} with the command floor\n",
            r.at_peak, r.at_fraction, r.predicted
        );
        out += &format!(
            "predicted ticks/s with a metrics row every {} ticks: {:.0} at peak, {:.0} at {pct:.0} %, {:.0} with the command floor\n",
            self.metrics_every, m.at_peak, m.at_fraction, m.predicted
        );
        out
    }
}
