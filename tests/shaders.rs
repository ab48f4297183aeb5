//! Every WGSL kernel parses and validates with naga, so a broken shader fails the tests
//! even on a machine without any adapter.

use emergence::gpu::shaders;

#[test]
fn every_kernel_validates_with_naga() {
    assert!(shaders::KERNELS.len() >= 20);
    for (name, raw) in shaders::KERNELS {
        shaders::validate(name, shaders::GraphStore::Csr).unwrap_or_else(|e| panic!("{e}"));
        if raw.contains("#import adjacency") || raw.contains("#slots") {
            for split in [
                shaders::SlotSplit::WHOLE,
                shaders::SlotSplit {
                    chunks: 3,
                    chunk_len: 96,
                },
            ] {
                shaders::validate(name, shaders::GraphStore::Slots(split))
                    .unwrap_or_else(|e| panic!("{e} (slots split {split:?})"));
            }
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

/// The storage buffers a kernel declares, with the tie slots split as `split` says.
fn storage_bindings(name: &str, split: shaders::SlotSplit) -> Vec<(u32, String)> {
    let src = shaders::source_with(name, shaders::GraphStore::Slots(split)).unwrap();
    let module = naga::front::wgsl::parse_str(&src).unwrap();
    let mut out: Vec<(u32, String)> = module
        .global_variables
        .iter()
        .filter(|(_, g)| matches!(g.space, naga::AddressSpace::Storage { .. }))
        .map(|(_, g)| (g.binding.as_ref().unwrap().binding, g.name.clone().unwrap()))
        .collect();
    out.sort();
    out
}

/// A split tie-slot array is declared chunk by chunk at `binding + 100·c`, and unsplit it
/// is one array under its own name, so a run that fits one binding compiles as before.
#[test]
fn split_slot_arrays_are_bound_chunk_by_chunk() {
    let whole = storage_bindings("ties_commit", shaders::SlotSplit::WHOLE);
    assert!(whole.contains(&(3, "neighbor".to_string())), "{whole:?}");
    let split = shaders::SlotSplit {
        chunks: 3,
        chunk_len: 96,
    };
    let chunked = storage_bindings("ties_commit", split);
    for (c, b) in [(0, 3), (1, 103), (2, 203)] {
        assert!(
            chunked.contains(&(b, format!("neighbor_{c}"))),
            "{chunked:?}"
        );
        assert!(
            chunked.contains(&(b + 2, format!("age_{c}"))),
            "{chunked:?}"
        );
    }
    assert_eq!(chunked.len(), whole.len() + 6);
    let src = shaders::source_with("ties_commit", shaders::GraphStore::Slots(split)).unwrap();
    assert!(src.contains("let c = e / 96u;"), "{src}");
    // The shared adjacency of label propagation and components reads the same chunks.
    let lpa = storage_bindings("lpa_step", split);
    assert!(
        lpa.contains(&(201, "slot_neighbor_2".to_string())),
        "{lpa:?}"
    );
}

/// The memory plan's count of storage buffers per stage for the lifecycle is the most
/// any of its kernels declares, for every split the plan allows.
#[test]
fn the_lifecycle_plans_the_storage_buffers_its_kernels_declare() {
    let kernels = [
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
        "lpa_step",
        "lpa_label_degrees",
        "components_init",
        "components_hook",
        "components_compress",
        "components_sizes",
        "components_largest",
        "layout_forces",
        "render_ties",
    ];
    for chunks in 1..=shaders::MAX_SLOT_CHUNKS {
        let split = shaders::SlotSplit {
            chunks,
            chunk_len: if chunks == 1 { 0 } else { 96 },
        };
        let most = kernels
            .iter()
            .map(|k| storage_bindings(k, split).len() as u32)
            .max()
            .unwrap();
        assert_eq!(
            emergence::model::lifecycle::gpu::storage_per_stage(chunks),
            most,
            "{chunks} chunks"
        );
    }
}
