// Kernel: hooking step of connected components (Shiloach–Vishkin / ECL-CC style). For
// each tie (i, j), j > i, whose ends have different roots, the larger root is hooked
// under the smaller with atomicMin. Parents only ever decrease and stay inside their
// component, so the fixed point labels each component by its smallest id, whatever
// the order of the hooks. Runs on a CSR graph or on tie slots (`adjacency`; the
// `chunk_len` field is the store's shape). Twin: analysis::components::hook.
#import index
#import adjacency

struct Params { n: u32, chunk_len: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> changed: array<atomic<u32>>;

fn find(x_in: u32) -> u32 {
    var x = x_in;
    loop {
        let p = atomicLoad(&parent[x]);
        if (p == x) { break; }
        x = p;
    }
    return x;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let start = row_begin(i, params.chunk_len);
    let end = row_end(i, params.chunk_len);
    var hooked = false;
    for (var e = start; e < end; e++) {
        let j = neighbor(e, params.chunk_len);
        if (j <= i) { continue; }
        let ri = find(i);
        let rj = find(j);
        if (ri != rj) {
            atomicMin(&parent[max(ri, rj)], min(ri, rj));
            hooked = true;
        }
    }
    if (hooked) { atomicStore(&changed[0], 1u); }
}
