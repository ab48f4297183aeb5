// Kernel: one Jacobi step of the force layout. Each agent gathers its own forces from
// the positions at the start of the step: attraction towards the centroid of its ties
// weighted by w² (strong ties hold communities together; the many weak ties between
// them do not crush everything into one ball), repulsion down the gradient of the
// smoothed density grid (central differences at cell centres, interpolated bilinearly,
// so the field is continuous and leaves no lattice), the step capped at max_step. Only render buffers are written: the layout never feeds
// back into the dynamics. Twin: render::layout::layout_forces.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> smoothed: array<u32>;
@group(0) @binding(4) var<storage, read_write> pos_next: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> degree: array<u32>;
#slots 6 read neighbor: u32
#slots 7 read weight: f32

fn at(x: u32, y: u32) -> f32 {
    return f32(smoothed[y * params.grid + x]);
}

// Central differences at a cell centre (one-sided at the edges).
fn grad_x(x: u32, y: u32) -> f32 {
    return at(min(x + 1u, params.grid - 1u), y) - at(max(x, 1u) - 1u, y);
}

fn grad_y(x: u32, y: u32) -> f32 {
    return at(x, min(y + 1u, params.grid - 1u)) - at(x, max(y, 1u) - 1u);
}

@compute @workgroup_size(WORKGROUP)
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
        let q = pos[neighbor_get(base + e)];
        let w0 = weight_get(base + e);
        let w = w0 * w0;
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
    let gx = (1.0 - fy) * ((1.0 - fx) * grad_x(cx, cy) + fx * grad_x(cx + 1u, cy))
        + fy * ((1.0 - fx) * grad_x(cx, cy + 1u) + fx * grad_x(cx + 1u, cy + 1u));
    let gy = (1.0 - fy) * ((1.0 - fx) * grad_y(cx, cy) + fx * grad_y(cx + 1u, cy))
        + fy * ((1.0 - fx) * grad_y(cx, cy + 1u) + fx * grad_y(cx + 1u, cy + 1u));
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
