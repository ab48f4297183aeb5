// Kernel: start tick t + 1 and reduce the partial sums to ψ = atan2(Σ sin φ, Σ cos φ)
// over adopters and their count. One workgroup; each thread adds a fixed stride of
// partials in order, then a fixed tree: deterministic. Twin: Lifecycle::psi.
#import lifecycle
#import tree_sum

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> control: Control;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = vec4<f32>(0.0);
    for (var g = lid; g < params.groups; g += WORKGROUP) {
        v = v + partials[g];
    }
    let total = tree_sum(lid, v);
    if (lid == 0u) {
        control.tick = control.tick + 1u;
        control.n_adopters = u32(total.z + 0.5);
        control.psi = atan2(total.y, total.x);
    }
}
