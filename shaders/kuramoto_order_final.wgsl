// Kernel: reduce the partial sums in a fixed order (each thread a fixed stride, then a
// tree). Kind 0: r e^{iψ} = (1/N) Σ e^{ix} of the stage state; when it is a sample
// (measure = 1) r also enters the time average if k > average_after, and k advances.
// Kind 1: norm = sqrt(Σ v²). Twin: model::kuramoto::order / model::kuramoto::norm.
#import kuramoto
#import tree_sum

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> mode: Mode;
@group(0) @binding(4) var<storage, read_write> control: Control;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = vec4<f32>(0.0);
    for (var g = lid; g < params.groups; g += WORKGROUP) {
        v = v + partials[g];
    }
    let total = tree_sum(lid, v);
    if (lid == 0u) {
        if (mode.kind == 0u) {
            let c = total.x / f32(params.n);
            let s = total.y / f32(params.n);
            let r = sqrt(c * c + s * s);
            let psi = atan2(s, c);
            control.stage_r = r;
            control.stage_psi = psi;
            if (mode.measure == 1u) {
                control.r = r;
                control.psi = psi;
                if (control.k > params.average_after) {
                    control.r_sum = control.r_sum + r;
                    control.samples = control.samples + 1u;
                }
                control.k = control.k + 1u;
            }
        } else {
            control.norm = sqrt(total.x);
        }
    }
}
