// Kernel: tie weights with the new phases (DESIGN §4 step 4). A tie's quantities are
// computed from the same operands at both ends (a, b = min, max of the pair), so both
// ends hold the same weight and remove the tie together, each in its own slots, without
// talking to each other. Live slots are compacted in order; the lower-id end counts
// removals. Twin: Lifecycle::tie_weights.
#import lifecycle
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read_write> degree: array<u32>;
#slots 4 read_write neighbor: u32
#slots 5 read_write weight: f32
#slots 6 read_write age: u32

var<workgroup> group_removed: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let base = i * params.slots;
        let d = degree[i];
        var kept = 0u;
        var removed = 0u;
        for (var e = 0u; e < d; e++) {
            let j = neighbor_get(base + e);
            let a = min(i, j);
            let b = max(i, j);
            let c = cos(phi[b] - phi[a]);
            let w = min(1.0, weight_get(base + e) + params.dt * (params.tie_gain * c - params.tie_cost));
            if (w <= 0.0) {
                if (i < j) { removed += 1u; }
            } else {
                neighbor_set(base + kept, j);
                weight_set(base + kept, w);
                age_set(base + kept, age_get(base + e) + 1u);
                kept += 1u;
            }
        }
        for (var e = kept; e < d; e++) {
            neighbor_set(base + e, EMPTY);
            weight_set(base + e, 0.0);
            age_set(base + e, 0u);
        }
        degree[i] = kept;
        if (removed > 0u) { atomicAdd(&group_removed, removed); }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let r = atomicLoad(&group_removed);
        if (r > 0u) { atomicAdd(&control.removed, r); }
    }
}
