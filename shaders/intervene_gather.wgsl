// Kernel: the records of the flagged agents (the pioneers a connect_pioneers action may
// tie), in the order the threads reach them: id, knowledge bits, label, degree, then the
// agent's K slots. The host sorts them by place, so the order here does not matter.
// Twin: Lifecycle::intervene_gather.
#import intervene
#import index

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read> knowledge: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> degree: array<u32>;
#slots 5 read neighbor: u32
@group(0) @binding(6) var<storage, read_write> records: array<u32>;
@group(0) @binding(7) var<storage, read_write> counters: array<atomic<u32>, 2>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < ip.n && flags[i] == 1u) {
        let room = atomicAdd(&counters[0], 1u);
        if (room < ip.count) {
            let width = 4u + ip.slots;
            let r = room * width;
            records[r] = i;
            records[r + 1u] = bitcast<u32>(knowledge[i]);
            records[r + 2u] = labels[i];
            records[r + 3u] = degree[i];
            let base = i * ip.slots;
            for (var s = 0u; s < ip.slots; s++) {
                records[r + 4u + s] = neighbor_get(base + s);
            }
        }
    }
}
