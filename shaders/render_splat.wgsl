// Kernel: agents in view as points, splatted into per-pixel integer sums (r, g, b,
// count) with atomicAdd, so the frame does not depend on the order the agents land in.
// Twin: render::splat::render_splat.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> colour: array<u32>;
@group(0) @binding(3) var<storage, read> camera: vec4<f32>;
@group(0) @binding(5) var<storage, read_write> accum: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let px = view_pixel(pos[i], camera);
    if (!px.ok) { return; }
    let c = unpack_rgb(colour[i]);
    let half = params.point / 2u;
    for (var dy = 0u; dy < params.point; dy++) {
        for (var dx = 0u; dx < params.point; dx++) {
            let x = px.xy.x + dx - half;
            let y = px.xy.y + dy - half;
            if (x < params.width && y < params.height) {
                let k = 4u * (y * params.width + x);
                atomicAdd(&accum[k], c.x);
                atomicAdd(&accum[k + 1u], c.y);
                atomicAdd(&accum[k + 2u], c.z);
                atomicAdd(&accum[k + 3u], 1u);
            }
        }
    }
}
