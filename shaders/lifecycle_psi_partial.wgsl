// Kernel: partial sums of the adopters' cos φ, sin φ and count, one per workgroup, in a
// fixed tree order (deterministic; no float atomics). Twin: Lifecycle::psi.
#import lifecycle
#import tree_sum

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read> adopted_at: array<u32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP;
    var v = vec4<f32>(0.0);
    if (i < params.n && adopted_at[i] != NEVER) {
        v = vec4<f32>(cos(phi[i]), sin(phi[i]), 1.0, 0.0);
    }
    let total = tree_sum(lid, v);
    let group = wid.x + wid.y * nwg.x;
    if (lid == 0u && group < params.groups) { partials[group] = total; }
}
