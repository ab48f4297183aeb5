// Kernel: partial sums, one per workgroup of agents in a fixed tree order (no float
// atomics): of (cos x, sin x) for the stage state x = θ + c·dt·k_in (mode kind 0), or
// of v² for the power iteration (kind 1). Twin: model::kuramoto::partial_sums.
#import kuramoto
#import tree_sum

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> mode: Mode;
@group(0) @binding(5) var<storage, read> k_in: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP;
    var v = vec4<f32>(0.0);
    if (i < params.n) {
        if (mode.kind == 0u) {
            var x = values[i];
            if (mode.c != 0.0) { x = x + mode.c * params.dt * k_in[i]; }
            v = vec4<f32>(cos(x), sin(x), 0.0, 0.0);
        } else {
            let x = values[i];
            v = vec4<f32>(x * x, 0.0, 0.0, 0.0);
        }
    }
    let total = tree_sum(lid, v);
    let group = wid.x + wid.y * nwg.x;
    if (lid == 0u && group < params.groups) { partials[group] = total; }
}
