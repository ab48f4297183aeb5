// Kernel: count the agents under each root (integer atomics: order does not matter).
// Twin: analysis::components::sizes.
#import index

struct Params { n: u32, chunk_len: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> parent: array<u32>;
@group(0) @binding(2) var<storage, read_write> sizes: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    atomicAdd(&sizes[parent[i]], 1u);
}
