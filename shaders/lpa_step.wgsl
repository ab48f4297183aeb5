// Kernel: one half-step of label propagation. Agents of parity class `step.parity` (by a hash
// of their id and the step's salt) take the label most of their neighbours hold, ties
// going to the smallest hash of the label; the others keep theirs. Reads `labels`,
// writes `labels_next` (Jacobi within the half-step). Updating by classes avoids the
// oscillation of fully synchronous updates; hashed tie-breaks keep one label from
// flooding. Twin: analysis::communities label propagation.
#import lifecycle
#import rng
#import index

const STREAM_LPA: u32 = 16u;

struct Step { round: u32, parity: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<uniform> step: Step;
@group(0) @binding(3) var<storage, read> degree: array<u32>;
@group(0) @binding(4) var<storage, read> neighbor: array<u32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read_write> labels_next: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let salt = rand4(params.seed, control.tick, step.round, STREAM_LPA).x;
    var next = labels[i];
    if ((pcg(i ^ salt) & 1u) == step.parity) {
        let d = degree[i];
        let base = i * params.slots;
        if (d == 0u) {
            next = i;
        } else {
            var best_count = 0u;
            var best_hash = 0xffffffffu;
            for (var e = 0u; e < d; e++) {
                let l = labels[neighbor[base + e]];
                var count = 0u;
                for (var f = 0u; f < d; f++) {
                    if (labels[neighbor[base + f]] == l) { count += 1u; }
                }
                let h = pcg(l ^ salt);
                if (count > best_count || (count == best_count && h < best_hash)) {
                    best_count = count;
                    best_hash = h;
                    next = l;
                }
            }
        }
    }
    labels_next[i] = next;
}
