// Kernel: one digit of a radix selection. Counts, for each value of byte `digit` of the
// 64-bit place, the eligible agents whose place agrees with the prefix above that byte;
// the host walks the counts down to the place of the `count`-th agent, eight bytes at
// most, one small readback each. Integer atomics only, so the counts are exact.
// Twin: Lifecycle::intervene_rank.
#import rng
#import index
#import lifecycle
#import intervene
#import intervene_place

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> knowledge: array<f32>;
@group(0) @binding(2) var<storage, read> degree: array<u32>;
@group(0) @binding(3) var<storage, read> adopted_at: array<u32>;
@group(0) @binding(4) var<storage, read_write> histogram: array<atomic<u32>, 256>;

var<workgroup> counts: array<atomic<u32>, 256>;

// Whether the bits of `p` above byte `digit` equal the prefix's.
fn agrees(p: vec2<u32>) -> bool {
    if (ip.digit >= 4u) {
        let shift = 8u * (ip.digit - 4u) + 8u;
        return shift == 32u || (p.x >> shift) == (ip.prefix_key >> shift);
    }
    let shift = 8u * ip.digit + 8u;
    return p.x == ip.prefix_key && (shift == 32u || (p.y >> shift) == (ip.prefix_id >> shift));
}

fn byte_of(p: vec2<u32>) -> u32 {
    if (ip.digit >= 4u) { return (p.x >> (8u * (ip.digit - 4u))) & 255u; }
    return (p.y >> (8u * ip.digit)) & 255u;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    for (var b = lid; b < 256u; b += WORKGROUP) { atomicStore(&counts[b], 0u); }
    workgroupBarrier();
    let i = flat_index(gid, nwg);
    if (i < ip.n && eligible(ip, i)) {
        let p = place(ip, i);
        if (agrees(p)) { atomicAdd(&counts[byte_of(p)], 1u); }
    }
    workgroupBarrier();
    for (var b = lid; b < 256u; b += WORKGROUP) {
        let c = atomicLoad(&counts[b]);
        if (c > 0u) { atomicAdd(&histogram[b], c); }
    }
}
