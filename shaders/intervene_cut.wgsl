// Kernel: remove_hubs and cut_ties. Each agent keeps, in its own slots and in their
// order, the ties the rule keeps: neither end flagged (the hubs), or the tie's draw at
// least the cut (one draw per tie, keyed by its lower end and hashed with the upper, so
// both ends agree without talking to each other). Counts the agents that lost a tie and
// the ties removed (at the lower end). Twin: Lifecycle::intervene_cut.
#import rng
#import lifecycle
#import intervene
#import index

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> degree: array<u32>;
#slots 3 read_write neighbor: u32
#slots 4 read_write weight: f32
#slots 5 read_write age: u32
@group(0) @binding(6) var<storage, read_write> counters: array<atomic<u32>, 2>;

var<workgroup> group_agents: atomic<u32>;
var<workgroup> group_removed: atomic<u32>;

fn keeps(i: u32, j: u32) -> bool {
    if (ip.mode == CUT_FLAGGED) {
        return flags[i] == 0u && flags[j] == 0u;
    }
    let a = min(i, j);
    let b = max(i, j);
    return (pcg(rand4(ip.seed, ip.tick, a, ip.stream).x ^ b) >> 8u) >= ip.cut;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < ip.n) {
        let base = i * ip.slots;
        let d = degree[i];
        var kept = 0u;
        var removed = 0u;
        for (var e = 0u; e < d; e++) {
            let j = neighbor_get(base + e);
            if (keeps(i, j)) {
                if (kept != e) {
                    neighbor_set(base + kept, j);
                    weight_set(base + kept, weight_get(base + e));
                    age_set(base + kept, age_get(base + e));
                }
                kept += 1u;
            } else if (i < j) {
                removed += 1u;
            }
        }
        for (var e = kept; e < d; e++) {
            neighbor_set(base + e, EMPTY);
            weight_set(base + e, 0.0);
            age_set(base + e, 0u);
        }
        degree[i] = kept;
        if (kept < d) { atomicAdd(&group_agents, 1u); }
        if (removed > 0u) { atomicAdd(&group_removed, removed); }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let a = atomicLoad(&group_agents);
        if (a > 0u) { atomicAdd(&counters[0], a); }
        let r = atomicLoad(&group_removed);
        if (r > 0u) { atomicAdd(&counters[1], r); }
    }
}
