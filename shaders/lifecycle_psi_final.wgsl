// Kernel: start tick t + 1 and reduce the partial sums to ψ = atan2(Σ sin φ, Σ cos φ)
// over adopters and their count. One workgroup; each thread adds a fixed stride of
// partials in order, then a fixed tree: deterministic. Twin: Lifecycle::psi.
#import lifecycle

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> control: Control;

var<workgroup> acc: array<vec4<f32>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = vec4<f32>(0.0);
    for (var g = lid; g < params.groups; g += 64u) {
        v = v + partials[g];
    }
    acc[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid < s) { acc[lid] = acc[lid] + acc[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let total = acc[0];
        control.tick = control.tick + 1u;
        control.n_adopters = u32(total.z + 0.5);
        control.psi = atan2(total.y, total.x);
    }
}
