//! What host and device share, checked: every Rust `#[repr(C)]` mirror of a WGSL uniform
//! or storage struct describes itself with [`host_layout!`](crate::host_layout) right
//! after its definition (sizes and offsets come from `size_of` and `offset_of!`, so
//! nothing is typed by hand, and the macro fails to compile if a field is left out),
//! [`MIRRORS`] says which kernels' struct each one mirrors, and [`check`] compares a
//! mirror with the layout naga gives the WGSL struct. `tests/layout.rs` runs it on all.
//!
//! Names must match (or the macro lists the WGSL name: `shape: "chunk_len"`). Fields and
//! members whose name starts with `_` are padding: they are not matched by name, and the
//! WGSL side may leave out a trailing pad of the mirror (its struct is then smaller).

use crate::analysis::{components, label_propagation_gpu};
use crate::model::lifecycle::gpu as lifecycle_gpu;
use crate::model::{deffuant, kuramoto, sir, threshold, voter};
use crate::render;

/// One field of a host mirror.
#[derive(Debug, Clone, Copy)]
pub struct HostField {
    /// The Rust field name.
    pub name: &'static str,
    /// The WGSL member it mirrors: the Rust name unless [`host_layout!`](crate::host_layout)
    /// gave another.
    pub wgsl: &'static str,
    /// Byte offset in the struct (`offset_of!`).
    pub offset: usize,
    /// Bytes of the field (`size_of` of its type).
    pub size: usize,
}

/// A Rust mirror's layout, as the compiler laid it out.
#[derive(Debug, Clone, Copy)]
pub struct HostLayout {
    /// The Rust type's name.
    pub name: &'static str,
    pub size: usize,
    pub fields: &'static [HostField],
}

/// A type whose layout [`host_layout!`](crate::host_layout) describes.
pub trait HostMirror {
    const LAYOUT: HostLayout;
}

/// `size_of` the field that `get` borrows (used by [`host_layout!`](crate::host_layout)).
pub const fn field_size<T, F>(_get: fn(&T) -> &F) -> usize {
    std::mem::size_of::<F>()
}

/// `host_layout!(Type { field, other: "wgsl_name", _pad })` right after a `#[repr(C)]`
/// struct implements [`HostMirror`] for it from `size_of` and `offset_of!`. Every field
/// must be listed, in any order (a pattern without `..` checks it); a field whose WGSL
/// member has another name gives that name as a string.
#[macro_export]
macro_rules! host_layout {
    (@wgsl $field:ident) => {
        stringify!($field)
    };
    (@wgsl $field:ident $wgsl:literal) => {
        $wgsl
    };
    ($ty:ident { $($field:ident $(: $wgsl:literal)?),* $(,)? }) => {
        impl $crate::gpu::layout::HostMirror for $ty {
            const LAYOUT: $crate::gpu::layout::HostLayout = $crate::gpu::layout::HostLayout {
                name: stringify!($ty),
                size: ::std::mem::size_of::<$ty>(),
                fields: &[$($crate::gpu::layout::HostField {
                    name: stringify!($field),
                    wgsl: $crate::host_layout!(@wgsl $field $($wgsl)?),
                    offset: ::std::mem::offset_of!($ty, $field),
                    size: $crate::gpu::layout::field_size(|v: &$ty| &v.$field),
                }),*],
            };
        }
        // Names every field and has no `..`: a field missing from the list fails here.
        const _: fn(&$ty) = |v| {
            let $ty { $($field: _),* } = v;
        };
    };
}

/// One mirror and the WGSL struct it stands for in each kernel that binds it.
#[derive(Debug, Clone, Copy)]
pub struct Mirror {
    pub kernels: &'static [&'static str],
    /// The WGSL struct's name in those kernels.
    pub wgsl: &'static str,
    pub host: HostLayout,
}

const LIFECYCLE: &[&str] = &[
    "lifecycle_psi_partial",
    "lifecycle_psi_final",
    "lifecycle_agents",
    "ties_weights",
    "ties_propose",
    "ties_confirm",
    "ties_commit",
    "metrics_agents",
    "community_sums",
    "community_reduce",
];
/// The lifecycle kernels that bind `Control` (all but the ψ partial sums and the
/// community sums).
const LIFECYCLE_CONTROL: &[&str] = &[
    "lifecycle_psi_final",
    "lifecycle_agents",
    "ties_weights",
    "ties_propose",
    "ties_confirm",
    "ties_commit",
    "metrics_agents",
];
const KURAMOTO: &[&str] = &[
    "kuramoto_order_partial",
    "kuramoto_order_final",
    "kuramoto_stage",
    "power_step",
];
const VOTER: &[&str] = &[
    "voter_count",
    "voter_scan",
    "voter_scatter",
    "voter_plan",
    "voter_apply",
    "voter_metrics",
];
const COMPONENTS: &[&str] = &[
    "components_init",
    "components_hook",
    "components_compress",
    "components_sizes",
    "components_largest",
];
const RENDER: &[&str] = &[
    "layout_density",
    "layout_smooth",
    "layout_forces",
    "render_splat",
    "render_ties",
    "render_pack",
    "layout_groups",
    "layout_cohesion",
    "render_bounds",
    "render_camera",
    "render_colour",
];

const fn mirror(kernels: &'static [&'static str], wgsl: &'static str, host: HostLayout) -> Mirror {
    Mirror {
        kernels,
        wgsl,
        host,
    }
}

/// Every host/device struct of the crate.
pub const MIRRORS: &[Mirror] = &[
    mirror(&["rng_draws"], "Params", super::rng_draws::Params::LAYOUT),
    mirror(&["threshold_seed"], "Params", threshold::SeedParams::LAYOUT),
    mirror(
        &["threshold_sweep"],
        "Params",
        threshold::SweepParams::LAYOUT,
    ),
    mirror(COMPONENTS, "Params", components::Params::LAYOUT),
    mirror(
        &["lpa_step", "lpa_label_degrees"],
        "Step",
        label_propagation_gpu::Step::LAYOUT,
    ),
    mirror(LIFECYCLE, "Params", lifecycle_gpu::Params::LAYOUT),
    mirror(LIFECYCLE_CONTROL, "Control", lifecycle_gpu::Control::LAYOUT),
    mirror(&["sir_step"], "Params", sir::StepParams::LAYOUT),
    mirror(
        &["deffuant_choose", "deffuant_update"],
        "Params",
        deffuant::GpuParams::LAYOUT,
    ),
    mirror(VOTER, "Params", voter::GpuParams::LAYOUT),
    mirror(KURAMOTO, "Params", kuramoto::GpuParams::LAYOUT),
    mirror(
        &["kuramoto_order_final", "kuramoto_stage", "power_step"],
        "Control",
        kuramoto::Control::LAYOUT,
    ),
    mirror(
        &["kuramoto_order_partial", "kuramoto_order_final"],
        "Mode",
        kuramoto::Mode::LAYOUT,
    ),
    mirror(RENDER, "RenderParams", render::RenderParams::LAYOUT),
    mirror(
        &[
            "intervene_rank",
            "intervene_mark",
            "intervene_gather",
            "intervene_adopt",
            "intervene_broadcast",
            "intervene_cut",
            "intervene_connect",
        ],
        "Intervene",
        lifecycle_gpu::Intervene::LAYOUT,
    ),
];

fn is_pad(name: &str) -> bool {
    name.starts_with('_')
}

/// Compare `host` with the struct named `wgsl` in `module`: the same size (or a smaller
/// WGSL struct that leaves out only the mirror's trailing padding) and, for every field
/// that is not padding, a WGSL member of the same name at the same offset and of the same
/// size, and no WGSL member without its field. The error lists every difference.
pub fn check(module: &naga::Module, wgsl: &str, host: &HostLayout) -> Result<(), String> {
    let Some((members, span)) = module.types.iter().find_map(|(_, ty)| match &ty.inner {
        naga::TypeInner::Struct { members, span } if ty.name.as_deref() == Some(wgsl) => {
            Some((members, *span as usize))
        }
        _ => None,
    }) else {
        return Err(format!("no WGSL struct `{wgsl}` (mirror `{}`)", host.name));
    };
    let mut problems = Vec::new();
    if span > host.size || (span < host.size && !trailing_pad(host, span)) {
        problems.push(format!(
            "size is {} bytes on the host but {span} in WGSL",
            host.size
        ));
    }
    let ctx = module.to_ctx();
    for m in members {
        let name = m.name.as_deref().unwrap_or("");
        if is_pad(name) {
            continue;
        }
        let (offset, size) = (
            m.offset as usize,
            module.types[m.ty].inner.size(ctx) as usize,
        );
        match host.fields.iter().find(|f| f.wgsl == name) {
            None => problems.push(format!(
                "WGSL member `{name}` (byte {offset}) has no field on the host"
            )),
            Some(f) => {
                let called = if f.name == name {
                    format!("field `{name}`")
                } else {
                    format!("field `{}` (WGSL `{name}`)", f.name)
                };
                if f.offset != offset {
                    problems.push(format!(
                        "{called} is at byte {} on the host but {offset} in WGSL",
                        f.offset
                    ));
                }
                if f.size != size {
                    problems.push(format!(
                        "{called} is {} bytes on the host but {size} in WGSL",
                        f.size
                    ));
                }
            }
        }
    }
    for f in host.fields.iter().filter(|f| !is_pad(f.name)) {
        if !members.iter().any(|m| m.name.as_deref() == Some(f.wgsl)) {
            problems.push(format!(
                "field `{}` (byte {}) has no WGSL member `{}`",
                f.name, f.offset, f.wgsl
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "host `{}` vs WGSL `{wgsl}`: {}",
            host.name,
            problems.join("; ")
        ))
    }
}

/// Whether the host's bytes from `from` to its end are all padding fields.
fn trailing_pad(host: &HostLayout, from: usize) -> bool {
    host.fields
        .iter()
        .filter(|f| f.offset + f.size > from)
        .all(|f| is_pad(f.name))
}

/// [`check`] on kernel `kernel`'s expanded source (see [`super::shaders::source`]).
pub fn check_kernel(kernel: &str, wgsl: &str, host: &HostLayout) -> Result<(), String> {
    let src = super::shaders::source(kernel).map_err(|e| e.to_string())?;
    let module = naga::front::wgsl::parse_str(&src)
        .map_err(|e| format!("{kernel}.wgsl: {}", e.emit_to_string(&src)))?;
    check(&module, wgsl, host).map_err(|e| format!("{kernel}.wgsl: {e}"))
}
