// Kernel: tick t of the Deffuant bounded-confidence model. Each agent finds its partner
// (well mixed: the neighbour of its position in a random permutation of all agents, so
// the pairs form a random perfect matching; on a graph: the mutual choice of
// deffuant_choose) and, when their opinions differ by less than ε, moves a share μ of
// the way: x_i' = x_i + μ(x_j − x_i). Both ends compute from the same two operands
// (Jacobi: reads x, writes x_next). Twin: model::deffuant::update.
#import index
#import rng
#import permute

struct Params { n: u32, seed: u32, complete: u32, chunk_len: u32, confidence: f32, convergence: f32, half_bits: u32, _pad: u32 }

const NONE: u32 = 0xffffffffu;

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read> choice: array<u32>;
@group(0) @binding(7) var<storage, read_write> control: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read> x: array<f32>;
@group(0) @binding(9) var<storage, read_write> x_next: array<f32>;

var<workgroup> group_updates: atomic<u32>;

fn partner(i: u32, t: u32) -> u32 {
    if (params.complete == 1u) {
        let perm = Permutation(params.n, params.half_bits, rand4(params.seed, t, 0u, STREAM_MATCH));
        let q = perm_apply(perm, i) ^ 1u;
        if (q >= params.n) { return NONE; }
        return perm_invert(perm, q);
    }
    let j = choice[i];
    if (j != NONE && choice[j] == i) { return j; }
    return NONE;
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    let t = atomicLoad(&control[0]);
    if (i < params.n) {
        let xi = x[i];
        var next = xi;
        let j = partner(i, t);
        if (j != NONE) {
            let d = x[j] - xi;
            if (abs(d) < params.confidence) {
                next = xi + params.convergence * d;
                atomicAdd(&group_updates, 1u);
            }
        }
        x_next[i] = next;
    }
    workgroupBarrier();
    if (lid == 0u) {
        // control[1..3]: agents updated so far, a 64-bit count (low word, carry).
        let c = atomicLoad(&group_updates);
        if (c > 0u) {
            let old = atomicAdd(&control[1], c);
            if (old + c < old) { atomicAdd(&control[2], 1u); }
        }
    }
}
