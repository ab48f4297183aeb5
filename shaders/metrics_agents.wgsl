// Kernel: the per-agent part of the lifecycle metrics, summed exactly (fixed point,
// 64-bit, order-independent) first in the workgroup, then once per workgroup into
// `acc`: degree and degree², strong tie slots, adopters, knowledge, cos φ and sin φ, one
// sampled wedge per agent (transitivity), tie slots inside the agent's community, and
// agents with ties. Twin: the metrics of model::lifecycle.
#import lifecycle
#import rng
#import index
#import sum64

const COLUMNS: u32 = 11u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> knowledge: array<f32>;
@group(0) @binding(4) var<storage, read> adopted_at: array<u32>;
@group(0) @binding(5) var<storage, read> degree: array<u32>;
#slots 6 read neighbor: u32
#slots 7 read weight: f32
@group(0) @binding(8) var<storage, read> labels: array<u32>;

fn add(column: u32, v: u32) {
    group_add(column, v);
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let k = params.slots;
        let base = i * k;
        let d = degree[i];
        add(0u, d);
        add(1u, d * d);
        var strong = 0u;
        var inside = 0u;
        let own = labels[i];
        for (var e = 0u; e < d; e++) {
            if (weight_get(base + e) >= params.strong_tie) { strong += 1u; }
            if (labels[neighbor_get(base + e)] == own) { inside += 1u; }
        }
        add(2u, strong);
        if (adopted_at[i] != NEVER) { add(3u, 1u); }
        add(4u, u32(round(knowledge[i] * 1024.0)));
        add(5u, u32(round((cos(phi[i]) + 1.0) * 1048576.0)));
        add(6u, u32(round((sin(phi[i]) + 1.0) * 1048576.0)));
        if (d >= 2u) {
            let r = rand4(params.seed, control.tick, i, STREAM_WEDGE);
            let s1 = r.x % d;
            var s2 = r.y % (d - 1u);
            if (s2 >= s1) { s2 += 1u; }
            let a = neighbor_get(base + s1);
            let b = neighbor_get(base + s2);
            let wedges = d * (d - 1u) / 2u;
            add(7u, wedges);
            for (var e = 0u; e < degree[a]; e++) {
                if (neighbor_get(a * k + e) == b) {
                    add(8u, wedges);
                    break;
                }
            }
        }
        add(9u, inside);
        if (d > 0u) { add(10u, 1u); }
    }
    workgroupBarrier();
    if (lid < COLUMNS) {
        flush(lid, lid);
    }
}
