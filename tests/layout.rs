//! Every Rust mirror of a WGSL uniform or storage struct has the layout naga gives that
//! struct in every kernel that binds it, every struct a kernel binds has a mirror, and a
//! mirror with two fields swapped is rejected by name.

use emergence::gpu::layout::{self, HostMirror, MIRRORS};
use emergence::gpu::shaders;

#[test]
fn every_mirror_matches_its_wgsl_struct() {
    let mut failures = Vec::new();
    for m in MIRRORS {
        for kernel in m.kernels {
            if let Err(e) = layout::check_kernel(kernel, m.wgsl, &m.host) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The structs that kernel `kernel` binds as a uniform or storage buffer.
fn bound_structs(kernel: &str) -> Vec<String> {
    let src = shaders::source(kernel).unwrap();
    let module = naga::front::wgsl::parse_str(&src).unwrap();
    module
        .global_variables
        .iter()
        .filter(|(_, var)| {
            matches!(
                var.space,
                naga::AddressSpace::Uniform | naga::AddressSpace::Storage { .. }
            )
        })
        .filter_map(|(_, var)| {
            let ty = &module.types[var.ty];
            match ty.inner {
                naga::TypeInner::Struct { .. } => ty.name.clone(),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn the_mirrors_cover_exactly_the_structs_the_kernels_bind() {
    let mut bound = Vec::new();
    for (kernel, _) in shaders::KERNELS {
        for name in bound_structs(kernel) {
            assert!(
                MIRRORS
                    .iter()
                    .any(|m| m.wgsl == name && m.kernels.contains(kernel)),
                "{kernel}.wgsl binds struct `{name}`, which no entry of gpu::layout::MIRRORS covers"
            );
            bound.push((*kernel, name));
        }
    }
    for m in MIRRORS {
        for kernel in m.kernels {
            assert!(
                bound.iter().any(|(k, s)| k == kernel && s == m.wgsl),
                "MIRRORS lists `{}` for {kernel}.wgsl, which binds no struct `{}`",
                m.host.name,
                m.wgsl
            );
        }
    }
}

/// `Params` of `rng_draws.wgsl` is `{ n, seed, tick, stream }`.
#[allow(dead_code)]
#[repr(C)]
struct Swapped {
    n: u32,
    tick: u32,
    seed: u32,
    stream: u32,
}
emergence::host_layout!(Swapped {
    n,
    tick,
    seed,
    stream
});

/// The same, with one field renamed on the host and its WGSL name listed.
#[allow(dead_code)]
#[repr(C)]
struct Renamed {
    n: u32,
    seed: u32,
    time: u32,
    stream: u32,
    _pad: [u32; 4],
}
emergence::host_layout!(Renamed {
    n,
    seed,
    time: "tick",
    stream,
    _pad
});

/// A field the WGSL struct lacks.
#[allow(dead_code)]
#[repr(C)]
struct Extra {
    n: u32,
    seed: u32,
    tick: u32,
    stream: u32,
    extra: u32,
}
emergence::host_layout!(Extra {
    n,
    seed,
    tick,
    stream,
    extra
});

#[test]
fn a_mirror_with_swapped_fields_is_rejected_by_name() {
    let e = layout::check_kernel("rng_draws", "Params", &Swapped::LAYOUT).unwrap_err();
    assert!(
        e.contains("field `seed` is at byte 8 on the host but 4 in WGSL"),
        "{e}"
    );
    assert!(
        e.contains("field `tick` is at byte 4 on the host but 8 in WGSL"),
        "{e}"
    );
}

#[test]
fn renamed_fields_and_trailing_padding_are_accepted_and_extra_fields_are_not() {
    layout::check_kernel("rng_draws", "Params", &Renamed::LAYOUT).unwrap();
    let e = layout::check_kernel("rng_draws", "Params", &Extra::LAYOUT).unwrap_err();
    assert!(
        e.contains("field `extra` (byte 16) has no WGSL member"),
        "{e}"
    );
    assert!(
        e.contains("size is 20 bytes on the host but 16 in WGSL"),
        "{e}"
    );
    let e = layout::check_kernel("rng_draws", "Nothing", &Extra::LAYOUT).unwrap_err();
    assert!(e.contains("no WGSL struct `Nothing`"), "{e}");
}
