// Kernel: connect_pioneers. Writes the tie ends the host planned over the gathered
// pioneers (the pairing is greedy: each tie spends the slots the next one looks at, so
// it is planned in order on the pool alone): end t puts its neighbour at weight w0, age
// 0, in its agent's slot; the last end of an agent sets its degree.
// Twin: Lifecycle::intervene_connect.
#import intervene
#import index

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> ends: array<vec4<u32>>;   // agent, slot, neighbour, last
@group(0) @binding(2) var<storage, read_write> degree: array<u32>;
#slots 3 read_write neighbor: u32
#slots 4 read_write weight: f32
#slots 5 read_write age: u32

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat_index(gid, nwg);
    if (t < ip.count) {
        let tie_end = ends[t];
        let e = tie_end.x * ip.slots + tie_end.y;
        neighbor_set(e, tie_end.z);
        weight_set(e, ip.weight);
        age_set(e, 0u);
        if (tie_end.w == 1u) { degree[tie_end.x] = tie_end.y + 1u; }
    }
}
