// Kernel: the density grid summed over a 5 × 5 box around each cell, with mirrored
// edges (reflecting walls: agents near the border feel the crowd they are in, not an
// empty outside that would pull them to the edge). Integer sums: exact on every
// backend. Twin: render::layout::layout_smooth.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(2) var<storage, read> density: array<u32>;
@group(0) @binding(3) var<storage, read_write> smoothed: array<u32>;

fn mirror(v: i32, g: i32) -> i32 {
    if (v < 0) { return -v - 1; }
    if (v >= g) { return 2 * g - v - 1; }
    return v;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = flat_index(gid, nwg);
    let g = params.grid;
    if (c >= g * g) { return; }
    let cx = i32(c % g);
    let cy = i32(c / g);
    var s = 0u;
    for (var dy = -2; dy <= 2; dy++) {
        let y = mirror(cy + dy, i32(g));
        for (var dx = -2; dx <= 2; dx++) {
            let x = mirror(cx + dx, i32(g));
            s += density[u32(y) * g + u32(x)];
        }
    }
    smoothed[c] = s;
}
