// Kernel: per-community sums, indexed by label: degree sum, members, and cos φ, sin φ in
// 64-bit fixed point (exact, order-independent), over agents with ties.
// Twin: the community metrics of analysis::communities.
#import lifecycle
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read> degree: array<u32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
// Per label, each an n-array of the metrics scratch (zeroed before this pass): degree
// sum, members, and the (lo, hi) words of Σ cos φ and Σ sin φ.
@group(0) @binding(4) var<storage, read_write> sum_degree: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> sum_members: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> sum_cos_lo: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> sum_cos_hi: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> sum_sin_lo: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> sum_sin_hi: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n || degree[i] == 0u) { return; }
    let l = labels[i];
    atomicAdd(&sum_degree[l], degree[i]);
    atomicAdd(&sum_members[l], 1u);
    let c = u32(round((cos(phi[i]) + 1.0) * 65536.0));
    let old_c = atomicAdd(&sum_cos_lo[l], c);
    if (old_c + c < old_c) { atomicAdd(&sum_cos_hi[l], 1u); }
    let s = u32(round((sin(phi[i]) + 1.0) * 65536.0));
    let old_s = atomicAdd(&sum_sin_lo[l], s);
    if (old_s + s < old_s) { atomicAdd(&sum_sin_hi[l], 1u); }
}
