// Kernel: each community's sums for the two-level layout, after layout_forces: every
// member adds, in fixed point, its x and y and its move from layout_forces (mapped from
// [-max_step, max_step] to [0, 1]), and 1, to its group's five words with integer
// atomics, so the sums do not depend on who adds first. Twin:
// render::layout::layout_groups.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> group_of: array<u32>;
@group(0) @binding(3) var<storage, read_write> sums: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> pos_next: array<vec2<f32>>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let g = group_of[i];
    if (g == NO_GROUP) { return; }
    let p = pos[i];
    let q = clamp(p, vec2<f32>(0.0), vec2<f32>(1.0));
    let f = clamp(((pos_next[i] - p) / params.max_step + 1.0) * 0.5, vec2<f32>(0.0), vec2<f32>(1.0));
    atomicAdd(&sums[5u * g], u32(q.x * params.fixed_scale));
    atomicAdd(&sums[5u * g + 1u], u32(q.y * params.fixed_scale));
    atomicAdd(&sums[5u * g + 2u], u32(f.x * params.fixed_scale));
    atomicAdd(&sums[5u * g + 3u], u32(f.y * params.fixed_scale));
    atomicAdd(&sums[5u * g + 4u], 1u);
}
