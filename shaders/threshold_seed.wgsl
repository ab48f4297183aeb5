// Kernel: seed the Watts cascade. Agent i starts active (activated at sweep 0) when its
// draw falls under the seed fraction, compared in integers so every backend agrees.
// Twin: model::threshold::seed.
#import rng
#import index

struct Params { n: u32, seed: u32, seed_threshold: u32, _pad: u32 }

const NEVER: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> activated_at: array<u32>;
// control[1] counts the seeds (sweep 0); see threshold_sweep.wgsl.
@group(0) @binding(2) var<storage, read_write> control: array<atomic<u32>>;

var<workgroup> group_count: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let x = rand4(params.seed, 0u, i, STREAM_SEED_ACTIVE).x;
        if ((x >> 8u) < params.seed_threshold) {
            activated_at[i] = 0u;
            atomicAdd(&group_count, 1u);
        } else {
            activated_at[i] = NEVER;
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let c = atomicLoad(&group_count);
        if (c > 0u) { atomicAdd(&control[1], c); }
    }
}
