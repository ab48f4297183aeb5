// Kernel: first step of the tie handshake (DESIGN §4 step 5). A searching agent picks a
// kindred spirit (a friend of a friend over strong ties, or anyone at random); if the
// pair may tie, it records its target and claims both ends with its key. Keys are
// pcg(i ^ key_t), distinct for distinct agents (pcg is a bijection), and atomicMin keeps
// the smallest whatever the order: the winner is decided by priority, never by timing.
// While an `illuminate` intervention lasts, a share of the random searches is steered to
// one of its pioneers.
// Twin: Lifecycle::propose.
#import lifecycle
#import rng
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> degree: array<u32>;
#slots 4 read neighbor: u32
#slots 5 read weight: f32
@group(0) @binding(6) var<storage, read_write> target_of: array<u32>;
@group(0) @binding(7) var<storage, read_write> claim: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read> pioneers: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let t = control.tick;
    let r = rand4(params.seed, t, i, STREAM_SEARCH);
    let k = params.slots;
    let deg_i = degree[i];
    if ((r.x >> 8u) >= params.search_thr || deg_i >= k) { return; }
    var j = EMPTY;
    if ((r.y >> 8u) < params.closure_thr) {
        if (deg_i > 0u) {
            let s1 = i * k + r.z % deg_i;
            let m = neighbor_get(s1);
            if (weight_get(s1) >= params.strong_tie) {
                let s2 = m * k + r.w % degree[m];
                if (weight_get(s2) >= params.strong_tie && neighbor_get(s2) != i) { j = neighbor_get(s2); }
            }
        }
    } else {
        var c = r.z % params.n;
        // While an `illuminate` lasts, a share of random searches goes to a pioneer.
        if (params.n_pioneers > 0u && params.illuminate_thr > 0u) {
            let q = rand4(params.seed, t, i, STREAM_ILLUMINATE);
            if ((q.x >> 8u) < params.illuminate_thr) { c = pioneers[q.y % params.n_pioneers]; }
        }
        if (c != i) { j = c; }
    }
    if (j == EMPTY || degree[j] >= k) { return; }
    let a = min(i, j);
    let b = max(i, j);
    if (cos(phi[b] - phi[a]) < 0.0) { return; }
    for (var e = 0u; e < deg_i; e++) {
        if (neighbor_get(i * k + e) == j) { return; }
    }
    let key = pcg(i ^ rand4(params.seed, t, 0u, STREAM_SEARCH_KEY).x);
    target_of[i] = j;
    atomicMin(&claim[i], key);
    atomicMin(&claim[j], key);
}
