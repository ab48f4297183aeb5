// Kernel: pointer jumping; every agent points straight at its root.
// Twin: analysis::components::compress.
#import index

struct Params { n: u32, chunk_len: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> parent: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    var x = i;
    loop {
        let p = atomicLoad(&parent[x]);
        if (p == x) { break; }
        x = p;
    }
    atomicStore(&parent[i], x);
}
