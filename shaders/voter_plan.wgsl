// Kernel: tick t, each agent with ties plans the Holme–Newman move from the state at the
// start of the tick. It draws a tie (any tie) to its neighbour j and a rewiring target
// l, a uniform draw among the others holding its opinion, and claims i, j and l with its
// priority (atomicMax: the largest priority wins whatever the order) before tossing the
// coin, so which agents move does not depend on the kind of move. With probability φ
// the tie moves from j to l (skipped only when l has no free slot; as in Holme & Newman
// a tie to an agent already a neighbour makes a multi-tie),
// otherwise i takes j's opinion (skipped when they agree). The target is the member
// with the smallest pcg(member ^ r) when the opinion has fewer than sqrt(N) holders
// (a scan of its members, in any order), else the first hit of random draws from all
// agents (rejection sampling): both uniform, both O(sqrt N). Twin: model::voter::plan.
#import index
#import rng
#import voter

@group(0) @binding(4) var<storage, read> count: array<u32>;
@group(0) @binding(5) var<storage, read> start: array<u32>;
@group(0) @binding(6) var<storage, read> members: array<u32>;
@group(0) @binding(7) var<storage, read_write> plan: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read_write> claim: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> control: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let t = control[0];
    plan[i] = vec4<u32>(MOVE_NONE, NONE, NONE, 0u);
    let deg = degree[i];
    if (deg == 0u) { return; }
    let r = rand4(params.seed, t, i, STREAM_VOTER_MOVE);
    let row = i * params.slots;
    let s = r.y % deg;
    let j = neighbor[row + s];
    let g = opinion[i];
    let p = move_priority(i, t);
    let held = count[g];
    var l = NONE;
    if (held >= 2u && held < params.scan_below) {
        var best = 0u;
        let first = start[g];
        for (var m = first; m < first + held; m++) {
            let a = members[m];
            let h = pcg(a ^ r.z);
            if (a != i && (l == NONE || h < best)) {
                l = a;
                best = h;
            }
        }
    } else if (held >= 2u) {
        for (var k = 1u; k <= params.max_draws; k++) {
            let a = rand4(params.seed, t, i, STREAM_VOTER_MOVE | (k << 8u)).x % params.n;
            if (a != i && opinion[a] == g) {
                l = a;
                break;
            }
        }
    }
    atomicMax(&claim[i], p);
    atomicMax(&claim[j], p);
    if (l != NONE) { atomicMax(&claim[l], p); }
    if ((r.x >> 8u) < params.rewire_24) {
        if (l == NONE || degree[l] >= params.slots) { return; }
        plan[i] = vec4<u32>(MOVE_REWIRE, j, l, s);
    } else if (opinion[j] != g) {
        plan[i] = vec4<u32>(MOVE_ADOPT, j, l, s);
    }
}
