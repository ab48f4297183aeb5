// Kernel: tick t, an agent whose priority won the claim of every agent its move touches
// makes the move; the moves made in a tick touch disjoint agents, so each is a step of
// the sequential model and the writes never meet. A moved tie keeps the mover's slot;
// j fills the freed slot with its last tie (live ties stay at the front); l appends.
// Twin: model::voter::apply.
#import index
#import rng
#import voter

@group(0) @binding(7) var<storage, read> plan: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read> claim: array<u32>;
@group(0) @binding(9) var<storage, read_write> control: array<atomic<u32>>;

var<workgroup> group_adopt: atomic<u32>;
var<workgroup> group_rewire: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    let t = atomicLoad(&control[0]);
    if (i < params.n) {
        let m = plan[i];
        let p = move_priority(i, t);
        let won = m.x != MOVE_NONE && claim[i] == p && claim[m.y] == p
            && (m.z == NONE || claim[m.z] == p);
        if (won && m.x == MOVE_ADOPT) {
            opinion[i] = opinion[m.y];
            atomicAdd(&group_adopt, 1u);
        } else if (won) {
            let j = m.y;
            let l = m.z;
            neighbor[i * params.slots + m.w] = l;
            let jrow = j * params.slots;
            let last = degree[j] - 1u;
            for (var k = 0u; k <= last; k++) {
                if (neighbor[jrow + k] == i) {
                    neighbor[jrow + k] = neighbor[jrow + last];
                    neighbor[jrow + last] = NONE;
                    break;
                }
            }
            degree[j] = last;
            neighbor[l * params.slots + degree[l]] = i;
            degree[l] = degree[l] + 1u;
            atomicAdd(&group_rewire, 1u);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let a = atomicLoad(&group_adopt);
        if (a > 0u) { atomicAdd(&control[1], a); }
        let w = atomicLoad(&group_rewire);
        if (w > 0u) { atomicAdd(&control[2], w); }
    }
}
