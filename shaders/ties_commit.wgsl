// Kernel: last step of the tie handshake. Each agent writes the new tie into its own
// next free slot, then clears its handshake state for the next tick; the lower-id end
// counts the creation. Twin: Lifecycle::commit.
#import lifecycle
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read_write> degree: array<u32>;
#slots 3 read_write neighbor: u32
#slots 4 read_write weight: f32
#slots 5 read_write age: u32
@group(0) @binding(6) var<storage, read_write> target_of: array<u32>;
@group(0) @binding(7) var<storage, read_write> claim: array<u32>;
@group(0) @binding(8) var<storage, read_write> partner: array<u32>;

var<workgroup> group_created: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let p = partner[i];
        if (p != EMPTY) {
            let slot = i * params.slots + degree[i];
            neighbor_set(slot, p);
            weight_set(slot, params.new_tie);
            age_set(slot, 0u);
            degree[i] = degree[i] + 1u;
            if (i < p) { atomicAdd(&group_created, 1u); }
        }
        partner[i] = EMPTY;
        claim[i] = EMPTY;
        target_of[i] = EMPTY;
    }
    workgroupBarrier();
    if (lid == 0u) {
        let c = atomicLoad(&group_created);
        if (c > 0u) { atomicAdd(&control.created, c); }
    }
}
