// Kernel: flag the agents an action picked, the eligible ones whose place is at most the
// bound the selection found (every eligible agent when the bound is the largest place).
// The flags live in the metrics scratch, which nothing reads between ticks.
// Twin: Lifecycle::intervene_mark.
#import rng
#import index
#import lifecycle
#import intervene
#import intervene_place

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> knowledge: array<f32>;
@group(0) @binding(2) var<storage, read> degree: array<u32>;
@group(0) @binding(3) var<storage, read> adopted_at: array<u32>;
@group(0) @binding(4) var<storage, read_write> flags: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < ip.n) {
        let picked = eligible(ip, i) && at_most(place(ip, i), vec2<u32>(ip.bound_key, ip.bound_id));
        flags[i] = select(0u, 1u, picked);
    }
}
