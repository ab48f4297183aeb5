//! WGSL sources, embedded in the binary so it runs from anywhere, and a small `#import`
//! step: a line `#import name` is replaced by `shaders/shared/name.wgsl` (once per
//! kernel, however often it is named). No framework, no runtime file access.
//!
//! Every kernel also starts with a [`prelude`] generated from the Rust side, so what host
//! and device must agree on is written once: `WORKGROUP` (from [`super::WORKGROUP`]) and
//! one `STREAM_<NAME>` per random stream (from [`crate::rng::stream::ALL`]).
//!
//! A line `#slots BINDING ACCESS NAME: TYPE` declares a tie-slot array that may be split
//! over several storage bindings ([`SlotSplit`]): chunk `c` is bound at `BINDING + 100·c`,
//! and the kernel reads and writes it only through the generated `NAME_get(e)` and
//! `NAME_set(e, v)`. Unsplit, the accessors index the one array directly, so a run that
//! fits one binding compiles to what a plain array would.

use crate::error::{Error, Result};
use std::fmt::Write;

/// Shared pieces that kernels `#import`.
const SHARED: &[(&str, &str)] = &[
    ("rng", include_str!("../../shaders/shared/rng.wgsl")),
    ("index", include_str!("../../shaders/shared/index.wgsl")),
    ("csr", include_str!("../../shaders/shared/csr.wgsl")),
    (
        "lifecycle",
        include_str!("../../shaders/shared/lifecycle.wgsl"),
    ),
    ("slots", include_str!("../../shaders/shared/slots.wgsl")),
    ("sum64", include_str!("../../shaders/shared/sum64.wgsl")),
    ("permute", include_str!("../../shaders/shared/permute.wgsl")),
    (
        "tree_sum",
        include_str!("../../shaders/shared/tree_sum.wgsl"),
    ),
    ("voter", include_str!("../../shaders/shared/voter.wgsl")),
    (
        "kuramoto",
        include_str!("../../shaders/shared/kuramoto.wgsl"),
    ),
    ("render", include_str!("../../shaders/shared/render.wgsl")),
    (
        "intervene",
        include_str!("../../shaders/shared/intervene.wgsl"),
    ),
    (
        "intervene_place",
        include_str!("../../shaders/shared/intervene_place.wgsl"),
    ),
];

/// Which shared file `#import adjacency` means: a static CSR graph or the tie slots
/// (split over bindings as the run's [`SlotSplit`] says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphStore {
    Csr,
    Slots(SlotSplit),
}

/// How far apart the bindings of one split array's chunks are: chunk `c` of an array
/// declared at binding `b` is bound at `b + CHUNK_STRIDE·c`.
pub const CHUNK_STRIDE: u32 = 100;
/// The most chunks a tie-slot array may be split into (binding numbers stay below the
/// 1000 bindings a group may hold by WebGPU's default).
pub const MAX_SLOT_CHUNKS: u32 = 8;

/// How the tie-slot arrays (`#slots`) of a run are split over storage bindings: `chunks`
/// bindings of `chunk_len` entries each, a whole number of agents' K slots, so that one
/// agent's slots never straddle two chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SlotSplit {
    pub chunks: u32,
    /// Entries per chunk (0 when unsplit).
    pub chunk_len: u32,
}

impl SlotSplit {
    /// One binding per array.
    pub const WHOLE: SlotSplit = SlotSplit {
        chunks: 1,
        chunk_len: 0,
    };

    /// The split of `n` agents' K = `slots` u32 slots over bindings of `binding_cap`
    /// bytes: unsplit when they fit one, else as few chunks as hold them. The count may
    /// exceed [`MAX_SLOT_CHUNKS`]; the memory plan refuses such a run before this is used.
    pub fn for_slots(n: u64, slots: u64, binding_cap: u64) -> SlotSplit {
        let slots = slots.max(1);
        // Entries addressable by a u32 index, the shader's chunk length included.
        let per_binding = (binding_cap / 4).min(u32::MAX as u64);
        if n * slots <= per_binding {
            return SlotSplit::WHOLE;
        }
        let agents_per_chunk = (per_binding / slots).max(1);
        SlotSplit {
            chunks: n.div_ceil(agents_per_chunk).min(u32::MAX as u64) as u32,
            chunk_len: (agents_per_chunk * slots) as u32,
        }
    }

    /// Entries of chunk `c` of an array of `len` entries.
    pub fn chunk_range(&self, c: u32, len: u64) -> std::ops::Range<usize> {
        if self.chunks <= 1 {
            return 0..len as usize;
        }
        let begin = (c as u64 * self.chunk_len as u64).min(len);
        let end = ((c as u64 + 1) * self.chunk_len as u64).min(len);
        begin as usize..end as usize
    }
}

/// Every kernel: one file per kernel, named after its CPU twin.
pub const KERNELS: &[(&str, &str)] = &[
    ("rng_draws", include_str!("../../shaders/rng_draws.wgsl")),
    (
        "threshold_seed",
        include_str!("../../shaders/threshold_seed.wgsl"),
    ),
    (
        "threshold_sweep",
        include_str!("../../shaders/threshold_sweep.wgsl"),
    ),
    (
        "threshold_advance",
        include_str!("../../shaders/threshold_advance.wgsl"),
    ),
    (
        "components_init",
        include_str!("../../shaders/components_init.wgsl"),
    ),
    (
        "components_hook",
        include_str!("../../shaders/components_hook.wgsl"),
    ),
    (
        "components_compress",
        include_str!("../../shaders/components_compress.wgsl"),
    ),
    (
        "components_sizes",
        include_str!("../../shaders/components_sizes.wgsl"),
    ),
    (
        "components_largest",
        include_str!("../../shaders/components_largest.wgsl"),
    ),
    (
        "lifecycle_psi_partial",
        include_str!("../../shaders/lifecycle_psi_partial.wgsl"),
    ),
    (
        "lifecycle_psi_final",
        include_str!("../../shaders/lifecycle_psi_final.wgsl"),
    ),
    (
        "lifecycle_agents",
        include_str!("../../shaders/lifecycle_agents.wgsl"),
    ),
    (
        "ties_weights",
        include_str!("../../shaders/ties_weights.wgsl"),
    ),
    (
        "ties_propose",
        include_str!("../../shaders/ties_propose.wgsl"),
    ),
    (
        "ties_confirm",
        include_str!("../../shaders/ties_confirm.wgsl"),
    ),
    (
        "ties_commit",
        include_str!("../../shaders/ties_commit.wgsl"),
    ),
    (
        "metrics_agents",
        include_str!("../../shaders/metrics_agents.wgsl"),
    ),
    (
        "community_sums",
        include_str!("../../shaders/community_sums.wgsl"),
    ),
    (
        "community_reduce",
        include_str!("../../shaders/community_reduce.wgsl"),
    ),
    ("lpa_step", include_str!("../../shaders/lpa_step.wgsl")),
    (
        "lpa_label_degrees",
        include_str!("../../shaders/lpa_label_degrees.wgsl"),
    ),
    ("sir_step", include_str!("../../shaders/sir_step.wgsl")),
    (
        "deffuant_choose",
        include_str!("../../shaders/deffuant_choose.wgsl"),
    ),
    (
        "deffuant_update",
        include_str!("../../shaders/deffuant_update.wgsl"),
    ),
    (
        "voter_count",
        include_str!("../../shaders/voter_count.wgsl"),
    ),
    ("voter_scan", include_str!("../../shaders/voter_scan.wgsl")),
    (
        "voter_scatter",
        include_str!("../../shaders/voter_scatter.wgsl"),
    ),
    ("voter_plan", include_str!("../../shaders/voter_plan.wgsl")),
    (
        "voter_apply",
        include_str!("../../shaders/voter_apply.wgsl"),
    ),
    (
        "voter_metrics",
        include_str!("../../shaders/voter_metrics.wgsl"),
    ),
    (
        "kuramoto_order_partial",
        include_str!("../../shaders/kuramoto_order_partial.wgsl"),
    ),
    (
        "kuramoto_order_final",
        include_str!("../../shaders/kuramoto_order_final.wgsl"),
    ),
    (
        "kuramoto_stage",
        include_str!("../../shaders/kuramoto_stage.wgsl"),
    ),
    ("power_step", include_str!("../../shaders/power_step.wgsl")),
    (
        "layout_density",
        include_str!("../../shaders/layout_density.wgsl"),
    ),
    (
        "layout_smooth",
        include_str!("../../shaders/layout_smooth.wgsl"),
    ),
    (
        "layout_forces",
        include_str!("../../shaders/layout_forces.wgsl"),
    ),
    (
        "render_splat",
        include_str!("../../shaders/render_splat.wgsl"),
    ),
    (
        "render_ties",
        include_str!("../../shaders/render_ties.wgsl"),
    ),
    (
        "render_pack",
        include_str!("../../shaders/render_pack.wgsl"),
    ),
    (
        "layout_groups",
        include_str!("../../shaders/layout_groups.wgsl"),
    ),
    (
        "layout_cohesion",
        include_str!("../../shaders/layout_cohesion.wgsl"),
    ),
    (
        "render_bounds",
        include_str!("../../shaders/render_bounds.wgsl"),
    ),
    (
        "render_camera",
        include_str!("../../shaders/render_camera.wgsl"),
    ),
    (
        "render_colour",
        include_str!("../../shaders/render_colour.wgsl"),
    ),
    (
        "intervene_rank",
        include_str!("../../shaders/intervene_rank.wgsl"),
    ),
    (
        "intervene_mark",
        include_str!("../../shaders/intervene_mark.wgsl"),
    ),
    (
        "intervene_gather",
        include_str!("../../shaders/intervene_gather.wgsl"),
    ),
    (
        "intervene_adopt",
        include_str!("../../shaders/intervene_adopt.wgsl"),
    ),
    (
        "intervene_broadcast",
        include_str!("../../shaders/intervene_broadcast.wgsl"),
    ),
    (
        "intervene_cut",
        include_str!("../../shaders/intervene_cut.wgsl"),
    ),
    (
        "intervene_connect",
        include_str!("../../shaders/intervene_connect.wgsl"),
    ),
];

/// The full source of kernel `name`, with its imports expanded (`adjacency` as CSR, tie
/// slots unsplit).
pub fn source(name: &str) -> Result<String> {
    source_with(name, GraphStore::Csr)
}

/// The full source of kernel `name` with `#import adjacency` bound to `adjacency`.
pub fn source_with(name: &str, store: GraphStore) -> Result<String> {
    let (_, raw) = KERNELS
        .iter()
        .find(|(k, _)| *k == name)
        .ok_or_else(|| Error::Gpu(format!("no kernel named `{name}`")))?;
    expand(raw, store)
}

/// The WGSL every kernel starts with: `const WORKGROUP: u32 = 64u;` and one
/// `const STREAM_<NAME>: u32 = <id>u;` per entry of [`crate::rng::stream::ALL`].
pub fn prelude() -> String {
    let mut out =
        String::from("// Generated by src/gpu/shaders.rs: gpu::WORKGROUP and rng::stream.\n");
    writeln!(out, "const WORKGROUP: u32 = {}u;", super::WORKGROUP).unwrap();
    for (name, id) in crate::rng::stream::ALL {
        writeln!(out, "const STREAM_{name}: u32 = {id}u;").unwrap();
    }
    out
}

fn expand(raw: &str, store: GraphStore) -> Result<String> {
    let split = match store {
        GraphStore::Slots(split) => split,
        GraphStore::Csr => SlotSplit::WHOLE,
    };
    let mut out = prelude();
    out.reserve(raw.len() * 2);
    let mut seen: Vec<&str> = Vec::new();
    expand_into(&mut out, raw, store, split, &mut seen)?;
    Ok(out)
}

fn expand_into(
    out: &mut String,
    text: &str,
    store: GraphStore,
    split: SlotSplit,
    seen: &mut Vec<&'static str>,
) -> Result<()> {
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("#import") {
            let name = match (rest.trim(), store) {
                ("adjacency", GraphStore::Csr) => "csr",
                ("adjacency", GraphStore::Slots(_)) => "slots",
                (other, _) => other,
            };
            let (key, shared) = SHARED
                .iter()
                .find(|(k, _)| *k == name)
                .ok_or_else(|| Error::Gpu(format!("#import of unknown shared shader `{name}`")))?;
            if !seen.contains(key) {
                seen.push(key);
                expand_into(out, shared, store, split, seen)?;
                out.push('\n');
            }
        } else if let Some(rest) = trimmed.strip_prefix("#slots") {
            slot_array(out, rest, split)?;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// The declaration and accessors of one `#slots BINDING ACCESS NAME: TYPE` array.
fn slot_array(out: &mut String, spec: &str, split: SlotSplit) -> Result<()> {
    let bad = || {
        Error::Gpu(format!(
            "#slots{spec}: expected `#slots BINDING read|read_write NAME: u32|f32`"
        ))
    };
    let words: Vec<&str> = spec
        .split(|c: char| c.is_whitespace() || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    let [binding, access, name, ty] = words[..] else {
        return Err(bad());
    };
    let binding: u32 = binding.parse().map_err(|_| bad())?;
    if !matches!(access, "read" | "read_write") || !matches!(ty, "u32" | "f32") {
        return Err(bad());
    }
    let writable = access == "read_write";
    if split.chunks <= 1 {
        writeln!(
            out,
            "@group(0) @binding({binding}) var<storage, {access}> {name}: array<{ty}>;"
        )
        .unwrap();
        writeln!(out, "fn {name}_get(e: u32) -> {ty} {{ return {name}[e]; }}").unwrap();
        if writable {
            writeln!(out, "fn {name}_set(e: u32, v: {ty}) {{ {name}[e] = v; }}").unwrap();
        }
        return Ok(());
    }
    let last = split.chunks - 1;
    for c in 0..split.chunks {
        writeln!(
            out,
            "@group(0) @binding({}) var<storage, {access}> {name}_{c}: array<{ty}>;",
            binding + CHUNK_STRIDE * c
        )
        .unwrap();
    }
    let chunk = split.chunk_len;
    let cases = |body: &dyn Fn(u32) -> String| -> String {
        let mut s = String::new();
        for c in 0..last {
            writeln!(s, "        case {c}u: {{ {} }}", body(c)).unwrap();
        }
        writeln!(s, "        default: {{ {} }}", body(last)).unwrap();
        s
    };
    write!(
        out,
        "fn {name}_get(e: u32) -> {ty} {{\n    let c = e / {chunk}u;\n    let o = e - c * {chunk}u;\n    switch c {{\n{}    }}\n}}\n",
        cases(&|c| format!("return {name}_{c}[o];"))
    )
    .unwrap();
    if writable {
        write!(
            out,
            "fn {name}_set(e: u32, v: {ty}) {{\n    let c = e / {chunk}u;\n    let o = e - c * {chunk}u;\n    switch c {{\n{}    }}\n}}\n",
            cases(&|c| format!("{name}_{c}[o] = v;"))
        )
        .unwrap();
    }
    Ok(())
}

/// Parse and validate a kernel with naga, as the driver would; used by the test that
/// keeps every shader valid even where no adapter exists.
pub fn validate(name: &str, store: GraphStore) -> Result<()> {
    let src = source_with(name, store)?;
    let module = naga::front::wgsl::parse_str(&src)
        .map_err(|e| Error::Gpu(format!("{name}.wgsl: {}", e.emit_to_string(&src))))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .map_err(|e| Error::Gpu(format!("{name}.wgsl: {}", e.emit_to_string(&src))))?;
    Ok(())
}

/// Compile kernel `name` into a compute pipeline with an automatic layout.
pub fn pipeline(device: &wgpu::Device, name: &str) -> Result<wgpu::ComputePipeline> {
    pipeline_with(device, name, GraphStore::Csr)
}

/// [`pipeline`] with `#import adjacency` bound to `adjacency`.
pub fn pipeline_with(
    device: &wgpu::Device,
    name: &str,
    store: GraphStore,
) -> Result<wgpu::ComputePipeline> {
    let src = source_with(name, store)?;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        Some(e) => Err(Error::Gpu(format!("{name}.wgsl: {e}"))),
        None => Ok(pipeline),
    }
}
