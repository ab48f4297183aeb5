// Kernel: the voter's metrics row: ties joining different opinions (each counted at its
// lower end), the largest opinion group and the number of opinions still held (from a
// fresh voter_count). Integer atomics only. Twin: model::voter::metrics.
#import index
#import rng
#import voter

@group(0) @binding(4) var<storage, read> count: array<u32>;
@group(0) @binding(9) var<storage, read_write> control: array<atomic<u32>>;

var<workgroup> group_discordant: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let row = i * params.slots;
        let g = opinion[i];
        var d = 0u;
        for (var k = 0u; k < degree[i]; k++) {
            let j = neighbor[row + k];
            if (j > i && opinion[j] != g) { d += 1u; }
        }
        if (d > 0u) { atomicAdd(&group_discordant, d); }
    }
    if (i < params.opinions) {
        let c = count[i];
        if (c > 0u) {
            atomicAdd(&control[5], 1u);
            atomicMax(&control[4], c);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let d = atomicLoad(&group_discordant);
        if (d > 0u) { atomicAdd(&control[3], d); }
    }
}
