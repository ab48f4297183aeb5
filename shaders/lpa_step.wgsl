// Kernel: one half-step of label propagation. Agents of parity class `step.parity` (by a
// hash of their id and the round's salt) take the label most of their neighbours hold,
// ties going to the smallest pcg(label ^ pcg(i ^ salt)) (each agent breaks ties its own
// way), but only when they are tied to it well beyond chance: count·2M > 2·d_i·D_label
// (64-bit integer products), else they keep theirs. Reads `labels`, writes `labels_next`
// (Jacobi within the half-step). Updating by classes avoids the oscillation of fully
// synchronous updates; hashed tie-breaks and the significance test keep one label from
// flooding neighbouring communities. Runs on a CSR graph or on tie slots (`adjacency`);
// the tick of the salt is read from `clock[0]` (the lifecycle's control block, whose
// first word is the tick). Twin: analysis::communities::label_propagation.
#import rng
#import index
#import adjacency

const SIGNIFICANCE: u32 = 2u;

struct Step { n: u32, shape: u32, seed: u32, round: u32, parity: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<storage, read> clock: array<u32>;
@group(0) @binding(7) var<storage, read> labels: array<u32>;
@group(0) @binding(8) var<storage, read_write> labels_next: array<u32>;
@group(0) @binding(9) var<storage, read> label_degree: array<u32>;
@group(0) @binding(10) var<storage, read> two_m: array<u32>;

// a·b as (high word, low word).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let lo = (p00 & 0xffffu) | (mid << 16u);
    let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, lo);
}

fn greater_wide(x: vec2<u32>, y: vec2<u32>) -> bool {
    return x.x > y.x || (x.x == y.x && x.y > y.y);
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= step.n) { return; }
    let salt = rand4(step.seed, clock[0], step.round, STREAM_LPA).x;
    let own = labels[i];
    var next = own;
    if ((pcg(i ^ salt) & 1u) == step.parity) {
        let begin = row_begin(i, step.shape);
        let d = row_end(i, step.shape) - begin;
        if (d == 0u) {
            next = i;
        } else {
            let tie_salt = pcg(i ^ salt);
            var best = own;
            var best_count = 0u;
            var best_hash = 0xffffffffu;
            for (var e = 0u; e < d; e++) {
                let l = labels[neighbor(begin + e, step.shape)];
                var count = 0u;
                for (var f = 0u; f < d; f++) {
                    if (labels[neighbor(begin + f, step.shape)] == l) { count += 1u; }
                }
                let h = pcg(l ^ tie_salt);
                if (count > best_count || (count == best_count && h < best_hash)) {
                    best_count = count;
                    best_hash = h;
                    best = l;
                }
            }
            let significant = greater_wide(mul_wide(best_count, two_m[0]), mul_wide(SIGNIFICANCE * d, label_degree[best]));
            if (best != own && significant) { next = best; }
        }
    }
    labels_next[i] = next;
}
