// Kernel: each agent's choice of partner for tick t on a graph: the neighbour across its
// tie of highest priority, prio(i, j) = pcg(rand(seed, t, min, STREAM_MATCH) ^ pcg(max)),
// ties broken by the larger neighbour id. Both ends compute the same priority, so the ties
// chosen from both ends form a matching (deffuant_update checks that the choice is
// mutual). Twin: model::deffuant::choose.
#import index
#import csr
#import rng

struct Params { n: u32, seed: u32, complete: u32, chunk_len: u32, confidence: f32, convergence: f32, half_bits: u32, _pad: u32 }

const NONE: u32 = 0xffffffffu;

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> choice: array<u32>;
@group(0) @binding(7) var<storage, read_write> control: array<u32>;

fn tie_priority(i: u32, j: u32, t: u32) -> u32 {
    let lo = min(i, j);
    let hi = max(i, j);
    return pcg(rand4(params.seed, t, lo, STREAM_MATCH).x ^ pcg(hi));
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let t = control[0];
    var best = NONE;
    var best_prio = 0u;
    for (var e = offsets[i]; e < offsets[i + 1u]; e++) {
        let j = neighbor(e, params.chunk_len);
        let p = tie_priority(i, j, t);
        if (best == NONE || p > best_prio || (p == best_prio && j > best)) {
            best = j;
            best_prio = p;
        }
    }
    choice[i] = best;
}
