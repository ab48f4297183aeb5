// A workgroup's sum of one vec4 per thread in a fixed tree order (halves added pairwise,
// WORKGROUP / 2, ... 1 apart): deterministic, no float atomics. Every thread of the
// WORKGROUP-thread workgroup (a power of two) must call it (it holds barriers); all get
// the total.

var<workgroup> tree: array<vec4<f32>, WORKGROUP>;

fn tree_sum(lid: u32, v: vec4<f32>) -> vec4<f32> {
    tree[lid] = v;
    workgroupBarrier();
    for (var s = WORKGROUP / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { tree[lid] = tree[lid] + tree[lid + s]; }
        workgroupBarrier();
    }
    return tree[0];
}
