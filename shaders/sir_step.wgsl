// Kernel: tick t of the SIR model on a static graph. First every infectious agent
// transmits to each susceptible neighbour with probability β (decided at the
// susceptible end: one word per neighbour slot), then every agent that was infectious
// at the start of the tick recovers with probability γ. Agent j is infectious in tick t
// when infected_at[j] < t ≤ recovered_at[j]: writes of t made during this tick are
// invisible to it, so one buffer pair holds the state (agents infected in tick t
// transmit from tick t + 1). Twin: model::sir::step.
#import index
#import csr
#import rng

struct Params { n: u32, seed: u32, chunk_len: u32, infect_24: u32, recover_24: u32, _p0: u32, _p1: u32, _p2: u32 }

const NEVER: u32 = 0xffffffffu;

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> infected_at: array<u32>;
@group(0) @binding(7) var<storage, read_write> recovered_at: array<u32>;
// control[0] is the tick t; control[1 + 2t] counts new infections, control[2 + 2t] recoveries.
@group(0) @binding(8) var<storage, read_write> control: array<atomic<u32>>;

var<workgroup> group_new: atomic<u32>;
var<workgroup> group_recovered: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    let t = atomicLoad(&control[0]);
    if (i < params.n) {
        let at = infected_at[i];
        if (at == NEVER) {
            let start = offsets[i];
            let end = offsets[i + 1u];
            for (var e = start; e < end; e++) {
                let j = neighbor(e, params.chunk_len);
                if (infected_at[j] < t && recovered_at[j] >= t) {
                    let x = rand4(params.seed, t, i, STREAM_INFECT | ((e - start) << 8u)).x;
                    if ((x >> 8u) < params.infect_24) {
                        infected_at[i] = t;
                        atomicAdd(&group_new, 1u);
                        break;
                    }
                }
            }
        } else if (at < t && recovered_at[i] == NEVER) {
            let x = rand4(params.seed, t, i, STREAM_RECOVER).x;
            if ((x >> 8u) < params.recover_24) {
                recovered_at[i] = t;
                atomicAdd(&group_recovered, 1u);
            }
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let c = atomicLoad(&group_new);
        if (c > 0u) { atomicAdd(&control[1u + 2u * t], c); }
        let r = atomicLoad(&group_recovered);
        if (r > 0u) { atomicAdd(&control[2u + 2u * t], r); }
    }
}
