//! Every WGSL kernel parses and validates with naga, so a broken shader fails the tests
//! even on a machine without any adapter.

use emergence::gpu::shaders;

#[test]
fn every_kernel_validates_with_naga() {
    assert!(shaders::KERNELS.len() >= 20);
    for (name, raw) in shaders::KERNELS {
        shaders::validate(name, shaders::GraphStore::Csr).unwrap_or_else(|e| panic!("{e}"));
        if raw.contains("#import adjacency") {
            shaders::validate(name, shaders::GraphStore::Slots)
                .unwrap_or_else(|e| panic!("{e} (slots)"));
        }
    }
}

#[test]
fn imports_are_expanded_once() {
    let src = shaders::source("threshold_sweep").unwrap();
    assert!(!src.contains("#import"));
    assert_eq!(src.matches("fn flat_index").count(), 1);
    assert_eq!(src.matches("fn neighbor").count(), 1);
}

#[test]
fn dispatch_goes_two_dimensional_past_the_limit() {
    use emergence::gpu::dispatch_size;
    assert_eq!(dispatch_size(64 * 100, 65_535), (100, 1));
    let (x, y) = dispatch_size(64 * 65_536, 65_535);
    assert!(x <= 65_535 && y == 2 && x * y >= 65_536);
    let (x, y) = dispatch_size(u32::MAX, 65_535);
    assert!(x <= 65_535 && (x as u64 * y as u64 * 64) >= u32::MAX as u64);
}

#[test]
fn every_kernel_gets_the_generated_prelude_and_types_no_shared_constant() {
    use emergence::rng::stream;
    let prelude = shaders::prelude();
    assert!(prelude.contains(&format!(
        "const WORKGROUP: u32 = {}u;",
        emergence::gpu::WORKGROUP
    )));
    assert!(prelude.contains(&format!("const STREAM_NOISE: u32 = {}u;", stream::NOISE)));
    assert_eq!(prelude.matches("const STREAM_").count(), stream::ALL.len());
    for (name, _) in shaders::KERNELS {
        let src = shaders::source(name).unwrap();
        assert!(src.starts_with(&prelude), "{name}");
        // Stream ids and the workgroup size are declared only by the prelude.
        assert_eq!(
            src.matches("const STREAM_").count(),
            stream::ALL.len(),
            "{name}"
        );
        assert_eq!(src.matches("const WORKGROUP").count(), 1, "{name}");
        let lines: Vec<&str> = src.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(rest) = line.split("@workgroup_size(").nth(1) {
                // Another size is allowed only with a comment above it saying why.
                let comment = lines[..i]
                    .iter()
                    .rev()
                    .take_while(|l| l.trim_start().starts_with("//"));
                assert!(
                    rest.starts_with("WORKGROUP)")
                        || comment.into_iter().any(|l| l.contains("not WORKGROUP")),
                    "{name}.wgsl: {line}"
                );
            }
        }
    }
}
