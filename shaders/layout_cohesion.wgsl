// Kernel: the second level of the layout, after layout_groups. A member of a community
// moves with its group, by the mean of its members' moves from layout_forces (so ties
// between communities and the crowd place communities as wholes), and closes `cohesion`
// of the gap to its own place on the group's island: a disc of radius island·√size
// around the group's centroid, the place hashed from the agent's id so it stays put.
// Communities are drawn as islands whose members do not mix. Everyone else keeps its
// own move. An agent with ties also closes `gravity` of the gap to the centre, so
// networks gather in the middle and the crowd pushes isolated agents to the rim. Each
// added pull is capped at max_step. Writes only the layout's next positions.
// Twin: render::layout::layout_cohesion.
#import render
#import rng
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> group_of: array<u32>;
@group(0) @binding(3) var<storage, read> sums: array<u32>;
@group(0) @binding(4) var<storage, read_write> pos_next: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> degree: array<u32>;

// An agent's place on its group's island, in the unit disc: a direction and a radius
// (√ of a uniform, so the disc is evenly filled) hashed from its id.
fn island_offset(i: u32) -> vec2<f32> {
    let a = pcg(i ^ 0x51ed27u);
    let b = pcg(a);
    let c = pcg(b);
    let inv = 1.0 / 16777216.0;
    let v = vec2<f32>(f32(a >> 8u) * inv * 2.0 - 1.0, f32(b >> 8u) * inv * 2.0 - 1.0);
    let len = max(sqrt(v.x * v.x + v.y * v.y), 0.000001);
    let r = sqrt(f32(c >> 8u) * inv);
    return v * (r / len);
}

fn capped(d: vec2<f32>) -> vec2<f32> {
    let len2 = d.x * d.x + d.y * d.y;
    if (len2 > params.max_step * params.max_step) {
        return d * (params.max_step / sqrt(len2));
    }
    return d;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let p = pos[i];
    var q = pos_next[i];
    var pull = vec2<f32>(0.0, 0.0);
    let g = group_of[i];
    if (g != NO_GROUP) {
        let count = sums[5u * g + 4u];
        if (count > 1u) {
            let inv = 1.0 / (f32(count) * params.fixed_scale);
            let centre = vec2<f32>(f32(sums[5u * g]), f32(sums[5u * g + 1u])) * inv;
            let mean = vec2<f32>(f32(sums[5u * g + 2u]), f32(sums[5u * g + 3u])) * inv;
            q = p + (mean * 2.0 - 1.0) * params.max_step;
            let o = island_offset(i) * (params.island * sqrt(f32(count)));
            pull = params.cohesion * (centre + o - p);
        }
    }
    if (degree[i] > 0u) {
        pull = pull + params.gravity * (vec2<f32>(0.5, 0.5) - p);
    }
    let d = capped(pull);
    pos_next[i] = vec2<f32>(clamp(q.x + d.x, 0.001, 0.999), clamp(q.y + d.y, 0.001, 0.999));
}
