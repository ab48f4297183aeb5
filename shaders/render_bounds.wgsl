// Kernel: the camera's input: the fixed-point bounds of all agents (words 0-3) and of
// the followed group's members (4-7), with integer atomicMax from zero (a lower bound x
// is stored as 0xffffffff - x). Twin: render::splat::render_bounds.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> group_of: array<u32>;
@group(0) @binding(3) var<storage, read_write> bounds: array<atomic<u32>, 8>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let p = clamp(pos[i], vec2<f32>(0.0), vec2<f32>(1.0));
    let x = u32(p.x * BOUNDS_SCALE);
    let y = u32(p.y * BOUNDS_SCALE);
    atomicMax(&bounds[0], 0xffffffffu - x);
    atomicMax(&bounds[1], 0xffffffffu - y);
    atomicMax(&bounds[2], x);
    atomicMax(&bounds[3], y);
    if (params.follow != NO_GROUP && group_of[i] == params.follow) {
        atomicMax(&bounds[4], 0xffffffffu - x);
        atomicMax(&bounds[5], 0xffffffffu - y);
        atomicMax(&bounds[6], x);
        atomicMax(&bounds[7], y);
    }
}
