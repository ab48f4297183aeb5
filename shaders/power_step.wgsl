// Kernel: one power-iteration step for λ_max of the adjacency matrix: y = A x / ||x||
// (the norm from kuramoto_order_final in mode 1). Twin: model::kuramoto::power_step.
#import index
#import csr
#import kuramoto

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read> x: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read> control: Control;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    var sum = 0.0;
    for (var e = offsets[i]; e < offsets[i + 1u]; e++) {
        sum += x[neighbor(e, params.chunk_len)];
    }
    y[i] = sum / control.norm;
}
