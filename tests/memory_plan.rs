//! The device memory plan against mock adapter limits (no device needed): the lifecycle
//! at N = 10^7 and 10^8 on a data-centre GPU's limits and on small ones, the split of its
//! tie-slot arrays, the footprint per agent and per slot, and each refusal's message and
//! largest N, all worked out by hand from the buffers the lifecycle allocates.

use emergence::model::device_plan::{largest_agents, plan, Binds, Limits};
use emergence::model::{self, Size};

fn lifecycle() -> &'static dyn model::Model {
    model::find("lifecycle").unwrap()
}

fn size(agents: u64, slots: u64) -> Size {
    Size {
        agents,
        ties: agents * 6,
        slots,
        complete: false,
    }
}

/// A Vulkan driver of the H100/H200 class: bindings of 4 GiB − 1, many storage buffers.
fn big() -> Limits {
    Limits {
        name: "mock H100".into(),
        binding_cap: u32::MAX as u64,
        storage_per_stage: 64,
    }
}

fn small(storage_per_stage: u32) -> Limits {
    Limits {
        name: "mock 128 MiB".into(),
        binding_cap: 128 << 20,
        storage_per_stage,
    }
}

/// 72 B per agent (phases, next phases, ω, knowledge, adoption tick, degree, labels, the
/// handshake's three words, an intervention's pioneers and nourished flags, six scratch
/// words) and 12 B per tie slot (neighbour, weight, age), plus a few fixed blocks (the
/// metrics sums, control, parameters).
#[test]
fn the_lifecycle_takes_72_bytes_per_agent_and_12_per_slot() {
    for (agents, slots) in [(1_000_000, 32), (10_000_000, 32), (100_000_000, 16)] {
        let p = plan(lifecycle(), &size(agents, slots), &big());
        let fixed = p.total_bytes - 72 * agents - 12 * agents * slots;
        assert!(fixed > 0 && fixed < 1024, "{fixed} fixed bytes");
        assert_eq!(p.per_slot_bytes, 12.0);
        assert!(
            (p.per_agent_bytes - 72.0).abs() < 1e-3,
            "{}",
            p.per_agent_bytes
        );
    }
}

#[test]
fn ten_million_agents_fit_one_binding_per_array_on_a_data_centre_gpu() {
    let p = plan(lifecycle(), &size(10_000_000, 32), &big());
    assert_eq!(p.binds, None);
    assert_eq!(p.slot_chunks, 1);
    assert_eq!(p.largest_binding_bytes, 4 * 10_000_000 * 32);
    // lifecycle_agents binds the most: control, φ, next φ, ω, knowledge, adoption ticks,
    // degree, the nourished flags, neighbour and weight.
    assert_eq!(p.storage_per_stage, 10);
}

/// 10^8 agents × 16 slots is 6.4 GB per slot array: two chunks of 67,108,863 agents'
/// slots (⌊(2^32 − 1) / 4 / 16⌋), 12 storage buffers in lifecycle_agents.
#[test]
fn a_hundred_million_agents_split_their_slots_over_bindings() {
    let p = plan(lifecycle(), &size(100_000_000, 16), &big());
    assert_eq!(p.binds, None);
    assert_eq!(p.slot_chunks, 2);
    assert_eq!(p.largest_binding_bytes, 4 * 67_108_863 * 16);
    assert_eq!(p.storage_per_stage, 12);
    // At K = 32: three chunks of 33,554,431 agents.
    let p = plan(lifecycle(), &size(100_000_000, 32), &big());
    assert_eq!((p.slot_chunks, p.binds.clone()), (3, None));
    assert_eq!(p.largest_binding_bytes, 4 * 33_554_431 * 32);
    assert_eq!(p.total_bytes / 1_000_000_000, 45); // 7.2 GB + 38.4 GB
}

/// Past 2^32 − 1 slots a u32 index does not reach: 10^8 × 48 is refused, and the largest
/// N is ⌊(2^32 − 1) / 48⌋ = 89,478,485 (five chunks of 22,369,621 agents).
#[test]
fn more_slots_than_a_u32_index_are_refused() {
    let limits = big();
    let p = plan(lifecycle(), &size(100_000_000, 48), &limits);
    assert_eq!(
        p.binds,
        Some(Binds::SlotIndex {
            slots: 4_800_000_000
        })
    );
    let text = p.binds.as_ref().unwrap().describe(&p, &limits);
    assert!(text.contains("32-bit slot index"), "{text}");
    assert_eq!(
        largest_agents(lifecycle(), &size(100_000_000, 48), &limits),
        89_478_485
    );
}

/// On 128 MiB bindings a chunk holds 1,398,101 agents' 24 slots (⌊2^25 / 24⌋). With 16
/// storage buffers per stage, ties_commit takes 5 + 3·chunks ≤ 16: three chunks, N ≤
/// 4,194,303; with 32, eight chunks (29 buffers), N ≤ 11,184,808, and a ninth chunk is
/// refused as more than a kernel declares.
#[test]
fn the_split_is_bounded_by_the_storage_buffers_of_a_stage() {
    let like = size(1_000_000, 24);
    let p = plan(lifecycle(), &size(2_000_000, 24), &small(16));
    assert_eq!((p.slot_chunks, p.binds.clone()), (2, None));
    assert_eq!(p.largest_binding_bytes, 4 * 1_398_101 * 24);
    assert_eq!(p.storage_per_stage, 12);

    let limits = small(16);
    let p = plan(lifecycle(), &size(10_000_000, 24), &limits);
    assert_eq!(p.slot_chunks, 8);
    assert_eq!(p.binds, Some(Binds::StoragePerStage { needed: 29 }));
    let text = p.binds.as_ref().unwrap().describe(&p, &limits);
    assert!(
        text.contains("8 bindings of 128.0 MiB make one kernel bind 29 storage buffers, more than the 16 a stage may"),
        "{text}"
    );
    assert_eq!(largest_agents(lifecycle(), &like, &limits), 4_194_303);

    let limits = small(32);
    assert_eq!(largest_agents(lifecycle(), &like, &limits), 11_184_808);
    let p = plan(lifecycle(), &size(11_184_809, 24), &limits);
    assert_eq!(p.binds, Some(Binds::SlotChunks { chunks: 9 }));
    let text = p.binds.as_ref().unwrap().describe(&p, &limits);
    assert!(
        text.contains("needs 9 bindings of 128.0 MiB, more than the 8"),
        "{text}"
    );
}

/// Per-agent arrays are bound whole: at 10^8 agents one of them is 400 MB, more than a
/// 128 MiB binding, and the refusal names it (the first declared, `phi`).
#[test]
fn a_per_agent_array_larger_than_a_binding_is_named() {
    let limits = small(1024);
    let p = plan(lifecycle(), &size(100_000_000, 16), &limits);
    assert_eq!(
        p.binds,
        Some(Binds::Binding {
            buffer: "phi",
            bytes: 400_000_000
        })
    );
    let text = p.binds.as_ref().unwrap().describe(&p, &limits);
    assert!(
        text.contains("`phi` needs 381.5 MiB in one binding, more than the 128.0 MiB"),
        "{text}"
    );
    // 2^25 agents' 4-byte arrays fill a binding exactly; K = 16 keeps the slots in
    // ⌈2^25 / 2,097,152⌉ = 16 chunks, more than 8, so the slots bind first: 8 chunks of
    // 2,097,152 agents.
    assert_eq!(
        largest_agents(lifecycle(), &size(1_000_000, 16), &limits),
        8 * 2_097_152
    );
}

/// WebGPU's default limits (128 MiB bindings, 8 storage buffers per stage) do not hold
/// the lifecycle's agents pass (10 storage buffers), whatever N: the plan says so.
#[test]
fn webgpu_default_limits_are_planned_too() {
    let reference = Limits::reference();
    let webgpu = &reference[0];
    assert_eq!(webgpu.binding_cap, 128 << 20);
    assert_eq!(webgpu.storage_per_stage, 8);
    let p = plan(lifecycle(), &size(1000, 24), webgpu);
    assert_eq!(p.binds, Some(Binds::StoragePerStage { needed: 10 }));
    // The threshold model's buffers are bound whole or as CSR chunks: it plans as before.
    let threshold = model::find("threshold").unwrap();
    let p = plan(threshold, &size(1_000_000, 24), webgpu);
    assert_eq!(p.binds, None);
}

/// `emergence info --json` prints the plan at 10^6, 10^7 and 10^8 for a config, on this
/// machine's adapters and on the reference limits, with checkpoint and snapshot sizes.
#[test]
fn info_prints_the_plan_at_three_sizes() {
    let config = format!("{}/configs/lifecycle.toml", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(["info", &config, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["models"][0];
    let plans = m["plans"].as_array().unwrap();
    let agents: Vec<u64> = plans
        .iter()
        .map(|p| p["agents"].as_u64().unwrap())
        .collect();
    assert_eq!(agents, [1_000_000, 10_000_000, 100_000_000]);
    let k = m["slots"].as_u64().unwrap();
    for p in plans {
        let n = p["agents"].as_u64().unwrap();
        let total = p["total_bytes"].as_u64().unwrap();
        assert!(total > 72 * n + 12 * n * k && total < 72 * n + 12 * n * k + 1024);
        assert!(p["checkpoint_bytes"].as_u64().unwrap() > 28 * n);
        assert!(p["snapshot_bytes"].as_u64().unwrap() > 12 * n);
        let on = p["on"].as_array().unwrap();
        assert_eq!(
            on.len(),
            v["adapters"].as_array().unwrap().len() + v["reference"].as_array().unwrap().len()
        );
    }
    let reference = v["reference"].as_array().unwrap();
    assert_eq!(reference[0]["largest_agents"]["lifecycle"], 0);
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(["info", &config])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("N = 10^8:"), "{text}");
    assert!(text.contains("B per tie slot"), "{text}");
}
