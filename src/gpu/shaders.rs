//! WGSL sources, embedded in the binary so it runs from anywhere, and a small `#import`
//! step: a line `#import name` is replaced by `shaders/shared/name.wgsl` (once per
//! kernel, however often it is named). No framework, no runtime file access.
//!
//! Every kernel also starts with a [`prelude`] generated from the Rust side, so what host
//! and device must agree on is written once: `WORKGROUP` (from [`super::WORKGROUP`]) and
//! one `STREAM_<NAME>` per random stream (from [`crate::rng::stream::ALL`]).

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
];

/// Which shared file `#import adjacency` means: a static CSR graph or the tie slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphStore {
    Csr,
    Slots,
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
];

/// The full source of kernel `name`, with its imports expanded (`adjacency` as CSR).
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
    let mut out = prelude();
    out.reserve(raw.len() * 2);
    let mut seen: Vec<&str> = Vec::new();
    for line in raw.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("#import") {
            let name = match (rest.trim(), store) {
                ("adjacency", GraphStore::Csr) => "csr",
                ("adjacency", GraphStore::Slots) => "slots",
                (other, _) => other,
            };
            let (key, text) = SHARED
                .iter()
                .find(|(k, _)| *k == name)
                .ok_or_else(|| Error::Gpu(format!("#import of unknown shared shader `{name}`")))?;
            if !seen.contains(key) {
                seen.push(key);
                out.push_str(text);
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
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
