// Kernel: degree sum of every label (labels are agent ids) and the total degree sum 2M,
// with integer atomics, read by the next label-propagation half-step's significance test.
// Runs on a CSR graph or on tie slots (`adjacency`). Twin: the label degrees in
// analysis::communities::label_propagation.
#import index
#import adjacency

struct Step { n: u32, shape: u32, seed: u32, round: u32, parity: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<storage, read> labels: array<u32>;
@group(0) @binding(7) var<storage, read_write> label_degree: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> two_m: array<atomic<u32>>;

var<workgroup> group_sum: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < step.n) {
        let d = row_end(i, step.shape) - row_begin(i, step.shape);
        if (d > 0u) {
            atomicAdd(&label_degree[labels[i]], d);
            atomicAdd(&group_sum, d);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let s = atomicLoad(&group_sum);
        if (s > 0u) { atomicAdd(&two_m[0], s); }
    }
}
