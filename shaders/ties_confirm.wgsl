// Kernel: second step of the tie handshake. A proposer whose key won the claims at both
// ends pairs the two; only that owner writes the two partner entries, so every agent
// gains at most one tie per tick. Twin: Lifecycle::confirm.
#import lifecycle
#import rng
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read> target_of: array<u32>;
@group(0) @binding(3) var<storage, read> claim: array<u32>;
@group(0) @binding(4) var<storage, read_write> partner: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let j = target_of[i];
    if (j == EMPTY) { return; }
    let key = pcg(i ^ rand4(params.seed, control.tick, 0u, STREAM_SEARCH_KEY).x);
    if (claim[i] == key && claim[j] == key) {
        partner[i] = j;
        partner[j] = i;
    }
}
