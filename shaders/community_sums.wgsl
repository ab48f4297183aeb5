// Kernel: per-community sums, indexed by label: degree sum, members, and cos φ, sin φ in
// 64-bit fixed point (exact, order-independent), over agents with ties.
// Twin: the community metrics of analysis::communities.
#import lifecycle
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read> degree: array<u32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
// Per label: [degree sum, members, cos lo, cos hi, sin lo, sin hi], each an n-array.
@group(0) @binding(4) var<storage, read_write> sums: array<atomic<u32>>;

fn add_fixed(lo: u32, v: u32) {
    let old = atomicAdd(&sums[lo], v);
    if (old + v < old) { atomicAdd(&sums[lo + params.n], 1u); }
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n || degree[i] == 0u) { return; }
    let n = params.n;
    let l = labels[i];
    atomicAdd(&sums[l], degree[i]);
    atomicAdd(&sums[n + l], 1u);
    add_fixed(2u * n + l, u32(round((cos(phi[i]) + 1.0) * 65536.0)));
    add_fixed(4u * n + l, u32(round((sin(phi[i]) + 1.0) * 65536.0)));
}
