// Kernel: strong ties as faint lines. A hashed sample of agents (line_cut of 2^24) each
// draw their strong ties to higher ids with both ends in view, pixel by pixel with
// integer steps, counting into a per-pixel integer buffer with atomicAdd.
// Twin: render::splat::render_ties.
#import render
#import rng
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> degree: array<u32>;
#slots 3 read neighbor: u32
#slots 4 read weight: f32
@group(0) @binding(5) var<storage, read_write> lines: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read> camera: vec4<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    if ((pcg(i ^ params.line_salt) >> 8u) >= params.line_cut) { return; }
    let pa = view_pixel(pos[i], camera);
    if (!pa.ok) { return; }
    let a = vec2<i32>(pa.xy);
    let base = i * params.slots;
    let d = degree[i];
    for (var e = 0u; e < d; e++) {
        let j = neighbor_get(base + e);
        if (j <= i || weight_get(base + e) < params.strong_tie) { continue; }
        let pb = view_pixel(pos[j], camera);
        if (!pb.ok) { continue; }
        let b = vec2<i32>(pb.xy);
        let dx = b.x - a.x;
        let dy = b.y - a.y;
        let steps = max(max(abs(dx), abs(dy)), 1);
        for (var s = 0; s <= steps; s++) {
            let x = a.x + dx * s / steps;
            let y = a.y + dy * s / steps;
            atomicAdd(&lines[u32(y) * params.width + u32(x)], 1u);
        }
    }
}
