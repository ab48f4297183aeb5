//! The lifecycle's memory traffic per pass, for the roofline ([`crate::roofline`]): the
//! passes of a tick and of a metrics row in the order `gpu.rs` records them, how often each
//! runs, and the size of every array their kernels bind. The bytes of a kernel come from its
//! storage bindings, reflected from the WGSL by naga, so a binding added to a shader is
//! counted without a change here — as long as its variable is named in [`ARRAYS`]; one that
//! is not is listed as `unknown` and the roofline tests fail until it is.

use super::gpu::{Control, COMPONENT_ROUNDS};
use super::LifecycleParams;
use crate::config::Scenario;
use crate::gpu::shaders::{GraphStore, SlotSplit};
use crate::gpu::WORKGROUP;
use crate::model::Size;
use crate::roofline::{clear, copy, ArrayTraffic, PassTraffic, Phase};

/// How big an array is, by the run's size.
#[derive(Debug, Clone, Copy)]
enum Extent {
    /// This many bytes per agent.
    Agents(u64),
    /// This many bytes per tie slot (N·K slots).
    Slots(u64),
    /// This many bytes per workgroup of [`WORKGROUP`] agents.
    Groups(u64),
    /// A fixed number of bytes.
    Bytes(u64),
}

/// The metrics' exact sums: 16 columns of (lo, hi) words, `ACC_BYTES` of `gpu.rs` (its
/// "metrics sums" buffer; tests/roofline.rs checks the two agree).
const ACC_BYTES: u64 = 16 * 2 * 4;
const CONTROL_BYTES: u64 = std::mem::size_of::<Control>() as u64;

/// Every storage variable of the lifecycle's kernels, by the array it binds. A chunked
/// array's variables (`neighbor_0`, `neighbor_1`, …) are looked up by the array's name
/// ([`crate::roofline::array_of`]): the chunks together are the whole array.
const ARRAYS: &[(&str, Extent)] = &[
    // Agents: φ, the next φ, drift, knowledge, tick of adoption, degree.
    ("phi", Extent::Agents(4)),
    ("phi_next", Extent::Agents(4)),
    ("omega", Extent::Agents(4)),
    ("knowledge", Extent::Agents(4)),
    ("adopted_at", Extent::Agents(4)),
    ("degree", Extent::Agents(4)),
    // Tie slots: N·K each.
    ("neighbor", Extent::Slots(4)),
    ("weight", Extent::Slots(4)),
    ("age", Extent::Slots(4)),
    // shaders/shared/slots.wgsl's names for the degree and neighbour arrays.
    ("slot_degree", Extent::Agents(4)),
    ("slot_neighbor", Extent::Slots(4)),
    // ψ: one vec4 partial sum per workgroup, and the control block.
    ("partials", Extent::Groups(16)),
    ("control", Extent::Bytes(CONTROL_BYTES)),
    // The handshake: one word per agent each.
    ("target_of", Extent::Agents(4)),
    ("claim", Extent::Agents(4)),
    ("partner", Extent::Agents(4)),
    // Interventions: the nourished flags are read only while a `nourish` lasts (4 B per
    // agent and tick then), the pioneers only by the searches an `illuminate` steers; a
    // run without them reads neither.
    ("nourished", Extent::Bytes(4)),
    ("pioneers", Extent::Bytes(4)),
    // Label propagation: labels, next labels and the label degrees (scratch 0 and 1), 2M,
    // and the tick of its salts (bound to the control block).
    ("labels", Extent::Agents(4)),
    ("labels_next", Extent::Agents(4)),
    ("label_degree", Extent::Agents(4)),
    ("two_m", Extent::Bytes(4)),
    ("clock", Extent::Bytes(CONTROL_BYTES)),
    // Metrics: six words per community (labels are agent ids), one scratch array each,
    // and the exact sums.
    ("sum_degree", Extent::Agents(4)),
    ("sum_members", Extent::Agents(4)),
    ("sum_cos_lo", Extent::Agents(4)),
    ("sum_cos_hi", Extent::Agents(4)),
    ("sum_sin_lo", Extent::Agents(4)),
    ("sum_sin_hi", Extent::Agents(4)),
    ("acc", Extent::Bytes(ACC_BYTES)),
    // Components: parents and sizes (scratch 0 and 1), the changed flag, (largest, count).
    ("parent", Extent::Agents(4)),
    ("sizes", Extent::Agents(4)),
    ("changed", Extent::Bytes(4)),
    ("result", Extent::Bytes(8)),
];

/// The size in bytes of array `array` (a variable name or the array of a chunk) for
/// `size`; None for a name [`ARRAYS`] does not list.
fn bytes_of(array: &str, size: &Size) -> Option<u64> {
    let base = crate::roofline::array_of(array);
    let (_, extent) = ARRAYS.iter().find(|(name, _)| *name == base)?;
    let (n, k) = (size.agents, size.slots);
    Some(match *extent {
        Extent::Agents(b) => b * n,
        Extent::Slots(b) => b * n * k,
        Extent::Groups(b) => b * n.div_ceil(WORKGROUP as u64),
        Extent::Bytes(b) => b,
    })
}

/// The kernels of a tick and of a metrics row, with how often each runs.
fn kernels(lpa_rounds: u64) -> Vec<(&'static str, Phase, Option<&'static str>, u64)> {
    let half_steps = 2 * lpa_rounds;
    let rounds = COMPONENT_ROUNDS as u64;
    vec![
        ("lifecycle_psi_partial", Phase::Tick, Some("psi"), 1),
        ("lifecycle_psi_final", Phase::Tick, Some("psi"), 1),
        ("lifecycle_agents", Phase::Tick, Some("agents"), 1),
        ("ties_weights", Phase::Tick, Some("weights"), 1),
        ("ties_propose", Phase::Tick, Some("search"), 1),
        ("ties_confirm", Phase::Tick, Some("search"), 1),
        ("ties_commit", Phase::Tick, Some("search"), 1),
        // Label propagation: two half-steps (parities) per round.
        ("lpa_label_degrees", Phase::Metrics, None, half_steps),
        ("lpa_step", Phase::Metrics, None, half_steps),
        ("metrics_agents", Phase::Metrics, None, 1),
        ("community_sums", Phase::Metrics, None, 1),
        ("community_reduce", Phase::Metrics, None, 1),
        // Components: init, then every round hooks and compresses, then sizes and largest.
        ("components_init", Phase::Metrics, None, 1),
        ("components_hook", Phase::Metrics, None, rounds),
        ("components_compress", Phase::Metrics, None, rounds),
        ("components_sizes", Phase::Metrics, None, 1),
        ("components_largest", Phase::Metrics, None, 1),
    ]
}

/// The lifecycle's passes at `size` with the scenario's label-propagation rounds: every
/// dispatch of a tick and of a metrics row, and the copies and clears between them, in
/// the order `GpuLifecycle::record` and `record_metrics` issue them.
pub fn traffic(size: &Size, scenario: &Scenario) -> Vec<PassTraffic> {
    let params = LifecycleParams::from_config(scenario);
    let lpa_rounds = params.lpa_rounds as u64;
    let agent_words = 4 * size.agents;
    let size_of = |a: &str| bytes_of(a, size);
    let mut out = Vec::new();
    for (name, phase, group, times) in kernels(lpa_rounds) {
        let mut p = PassTraffic::kernel(
            name,
            GraphStore::Slots(SlotSplit::WHOLE),
            phase,
            group,
            times,
            size_of,
        )
        .expect("the embedded kernels parse (tests/shaders.rs validates them all)");
        // ψ's final reduction is one workgroup over the partials.
        p.one_workgroup = name == "lifecycle_psi_final";
        out.push(p);
        match name {
            // The new phases become current: a copy after the agents pass.
            "lifecycle_agents" => out.push(PassTraffic::transfer(
                "phi copy",
                Phase::Tick,
                1,
                1,
                copy("phi_next", "phi", agent_words),
            )),
            // Each half-step clears the label degrees and 2M before its two dispatches and
            // copies the next labels over the labels after them; one more clear of the
            // label degrees ends label propagation.
            "lpa_step" => {
                out.push(PassTraffic::transfer(
                    "lpa clears",
                    Phase::Metrics,
                    2,
                    2 * lpa_rounds,
                    vec![clear("label_degree", agent_words), clear("two_m", 4)],
                ));
                out.push(PassTraffic::transfer(
                    "lpa clear at the end",
                    Phase::Metrics,
                    1,
                    1,
                    vec![clear("label_degree", agent_words)],
                ));
                out.push(PassTraffic::transfer(
                    "labels copy",
                    Phase::Metrics,
                    1,
                    2 * lpa_rounds,
                    copy("labels_next", "labels", agent_words),
                ));
                // The six scratch arrays cleared for the community sums.
                out.push(PassTraffic::transfer(
                    "scratch clears",
                    Phase::Metrics,
                    6,
                    1,
                    [
                        "sum_degree",
                        "sum_members",
                        "sum_cos_lo",
                        "sum_cos_hi",
                        "sum_sin_lo",
                        "sum_sin_hi",
                    ]
                    .into_iter()
                    .map(|a| clear(a, agent_words))
                    .collect(),
                ));
            }
            _ => {}
        }
    }
    // The metrics row's small transfers: the sums cleared before, the components' result
    // and flag cleared, the staging copies of sums, control, result and flag, and the
    // interval's counters reset.
    let small = |array: &str, bytes: u64| ArrayTraffic {
        array: array.to_string(),
        bindings: Vec::new(),
        read_bytes: bytes,
        written_bytes: bytes,
    };
    out.push(PassTraffic::transfer(
        "metrics clears",
        Phase::Metrics,
        3,
        1,
        vec![
            clear("acc", ACC_BYTES),
            clear("result", 8),
            clear("changed", 4),
        ],
    ));
    out.push(PassTraffic::transfer(
        "staging copies",
        Phase::Metrics,
        4,
        1,
        vec![
            small("acc", ACC_BYTES),
            small("control", CONTROL_BYTES),
            small("result", 8),
            small("changed", 4),
        ],
    ));
    out.push(PassTraffic::transfer(
        "counters reset",
        Phase::Metrics,
        1,
        1,
        vec![clear("control", 8)],
    ));
    out
}
