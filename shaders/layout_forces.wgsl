// Kernel: one Jacobi step of the force layout. Each agent gathers its own forces from
// the positions at the start of the step: attraction towards the weighted centroid of
// its ties, repulsion down the gradient of the smoothed density grid (bilinear), the
// step capped at max_step. Only render buffers are written: the layout never feeds
// back into the dynamics. Twin: render::layout::layout_forces.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> smoothed: array<u32>;
@group(0) @binding(4) var<storage, read_write> pos_next: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> degree: array<u32>;
@group(0) @binding(6) var<storage, read> neighbor: array<u32>;
@group(0) @binding(7) var<storage, read> weight: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let p = pos[i];
    let base = i * params.slots;
    let d = degree[i];
    var sx = 0.0;
    var sy = 0.0;
    var sw = 0.0;
    for (var e = 0u; e < d; e++) {
        let q = pos[neighbor[base + e]];
        let w = weight[base + e];
        sx = sx + w * (q.x - p.x);
        sy = sy + w * (q.y - p.y);
        sw = sw + w;
    }
    let pull = params.attraction / max(1.0, sw);
    let g = params.grid;
    let gf = f32(g);
    let u = clamp(p.x * gf - 0.5, 0.0, gf - 1.0);
    let v = clamp(p.y * gf - 0.5, 0.0, gf - 1.0);
    let cx = min(u32(u), g - 2u);
    let cy = min(u32(v), g - 2u);
    let fx = u - f32(cx);
    let fy = v - f32(cy);
    let s00 = f32(smoothed[cy * g + cx]);
    let s10 = f32(smoothed[cy * g + cx + 1u]);
    let s01 = f32(smoothed[(cy + 1u) * g + cx]);
    let s11 = f32(smoothed[(cy + 1u) * g + cx + 1u]);
    let gx = (1.0 - fy) * (s10 - s00) + fy * (s11 - s01);
    let gy = (1.0 - fx) * (s01 - s00) + fx * (s11 - s10);
    let push = params.repulsion * params.inv_mean / gf;
    var dx = pull * sx - push * gx;
    var dy = pull * sy - push * gy;
    let len2 = dx * dx + dy * dy;
    if (len2 > params.max_step * params.max_step) {
        let k = params.max_step / sqrt(len2);
        dx = dx * k;
        dy = dy * k;
    }
    pos_next[i] = vec2<f32>(clamp(p.x + dx, 0.001, 0.999), clamp(p.y + dy, 0.001, 0.999));
}
