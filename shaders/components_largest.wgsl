// Kernel: reduce component sizes to (largest size, number of components), first inside
// the workgroup, then one atomic per workgroup. Twin: analysis::components::stats.
#import index

struct Params { n: u32, chunk_len: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> sizes: array<u32>;
// result[0] = largest component size, result[1] = number of components.
@group(0) @binding(2) var<storage, read_write> result: array<atomic<u32>>;

var<workgroup> group_max: atomic<u32>;
var<workgroup> group_count: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let s = sizes[i];
        if (s > 0u) {
            atomicMax(&group_max, s);
            atomicAdd(&group_count, 1u);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        atomicMax(&result[0], atomicLoad(&group_max));
        atomicAdd(&result[1], atomicLoad(&group_count));
    }
}
