// Kernel: agents per opinion (integer atomics: the counts do not depend on the order).
// Twin: model::voter::count.
#import index
#import rng
#import voter

@group(0) @binding(4) var<storage, read_write> count: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < params.n) { atomicAdd(&count[opinion[i]], 1u); }
}
