// Kernel: the layout's density grid (particle-mesh style): each agent adds one unit of
// mass to its cell with an integer atomic, so the grid does not depend on who adds
// first. Twin: render::layout::layout_density.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> density: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    atomicAdd(&density[cell_of(pos[i], params.grid)], 1u);
}
