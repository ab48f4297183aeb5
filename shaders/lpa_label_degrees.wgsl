// Kernel: degree sum of every label (labels are agent ids) and the total degree sum 2M,
// with integer atomics, read by the next label-propagation half-step's significance test.
// Twin: analysis::communities::label_degrees.
#import lifecycle
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> degree: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> label_degree: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> two_m: array<atomic<u32>>;

var<workgroup> group_sum: atomic<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n && degree[i] > 0u) {
        atomicAdd(&label_degree[labels[i]], degree[i]);
        atomicAdd(&group_sum, degree[i]);
    }
    workgroupBarrier();
    if (lid == 0u) {
        let s = atomicLoad(&group_sum);
        if (s > 0u) { atomicAdd(&two_m[0], s); }
    }
}
