// Kernel (one invocation): the camera (x0, y0, extent, set) moved camera_rate of the
// way to its target for this frame: a square around the bounds from render_bounds (the
// followed group's in follow mode while it has members, all agents' otherwise) with a
// margin and a smallest extent; the first frame jumps to the target; the fixed camera is
// the whole square. Twin: render::splat::render_camera.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> bounds: array<u32, 8>;
@group(0) @binding(2) var<storage, read_write> camera: vec4<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    if (flat_index(gid, nwg) != 0u) { return; }
    if (params.camera == CAMERA_FIXED) {
        camera = vec4<f32>(0.0, 0.0, 1.0, 1.0);
        return;
    }
    let follow = params.camera == CAMERA_FOLLOW && params.follow != NO_GROUP && bounds[6] > 0u;
    var o = 0u;
    var margin = 0.04;
    let smallest = 0.25;
    if (follow) {
        o = 4u;
        margin = 0.35;
    }
    let inv = 1.0 / BOUNDS_SCALE;
    let lo_x = f32(0xffffffffu - bounds[o]) * inv;
    let lo_y = f32(0xffffffffu - bounds[o + 1u]) * inv;
    let hi_x = f32(bounds[o + 2u]) * inv;
    let hi_y = f32(bounds[o + 3u]) * inv;
    let ext = max(max(hi_x - lo_x, hi_y - lo_y) * (1.0 + 2.0 * margin), smallest);
    let goal = vec3<f32>(0.5 * (lo_x + hi_x) - 0.5 * ext, 0.5 * (lo_y + hi_y) - 0.5 * ext, ext);
    let c = camera;
    if (c.w == 0.0) {
        camera = vec4<f32>(goal, 1.0);
        return;
    }
    let r = params.camera_rate;
    camera = vec4<f32>(c.xyz + r * (goal - c.xyz), 1.0);
}
