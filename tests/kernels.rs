//! The kernel registry (`gpu::registry`): every WGSL kernel is paired with a CPU twin
//! that exists; the kernels that run alone are compared with their twins here on random
//! inputs, for several seeds; the others name the test that compares them, and that test
//! must exist in this binary.

use crate::common::gpu;
use emergence::gpu::registry::{Check, PAIRS};
use emergence::gpu::shaders;
use std::collections::BTreeSet;

#[test]
fn every_kernel_has_one_twin_that_exists() {
    let kernels: BTreeSet<&str> = shaders::KERNELS.iter().map(|(k, _)| *k).collect();
    let paired: Vec<&str> = PAIRS.iter().map(|p| p.kernel).collect();
    let unique: BTreeSet<&str> = paired.iter().copied().collect();
    assert_eq!(unique.len(), paired.len(), "a kernel is paired twice");
    assert_eq!(
        unique, kernels,
        "the registry and shaders/ list other kernels"
    );
    for p in PAIRS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p.twin);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: twin {} is missing: {e}", p.kernel, p.twin));
        // The twin says which kernel it mirrors (a file named like the kernel, or a
        // doc comment naming it).
        let named = path.file_stem().is_some_and(|s| s == p.kernel)
            || text.contains(p.kernel)
            || p.kernel == "rng_draws";
        assert!(named, "{}: {} does not name its kernel", p.kernel, p.twin);
    }
}

#[test]
fn kernels_covered_elsewhere_name_a_test_that_exists() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    let tests: BTreeSet<&str> = listed
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    assert!(tests.len() > 50, "the test list was not read: {listed}");
    let mut generic = 0;
    for p in PAIRS {
        match p.check {
            Check::Covered { test, why } => {
                assert!(tests.contains(test), "{}: no test {test}", p.kernel);
                assert!(!why.is_empty());
            }
            Check::Generic(_) => generic += 1,
        }
    }
    assert!(generic >= 3, "only {generic} kernels run alone");
}

#[test]
fn kernels_that_run_alone_match_their_twins_on_random_inputs() {
    let Some(ctx) = gpu() else { return };
    for p in PAIRS {
        if let Check::Generic(check) = p.check {
            for seed in [1, 2, 3] {
                check(&ctx, seed).unwrap_or_else(|e| panic!("{} (seed {seed}): {e}", p.kernel));
            }
        }
    }
}
