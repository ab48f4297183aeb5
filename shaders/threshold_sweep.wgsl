// Kernel: one synchronous sweep s of the Watts threshold cascade. Agent j counts as
// active in sweep s when activated_at[j] < s, so writes of s made during this sweep are
// invisible to it: the sweep reads the state at its start without a second buffer.
// An inactive agent with k > 0 ties and m active neighbours activates when
// 100·m ≥ theta_pct·k (integers: both backends decide identically).
// Twin: model::threshold::sweep.
#import index
#import csr

struct Params { n: u32, theta_pct: u32, chunk_len: u32, _pad: u32 }

const NEVER: u32 = 0xffffffffu;

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> activated_at: array<u32>;
// control[0] is the current sweep s; control[1 + s] counts the agents activated in sweep s.
@group(0) @binding(7) var<storage, read_write> control: array<atomic<u32>>;

var<workgroup> group_count: atomic<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(gid, nwg);
    let s = atomicLoad(&control[0]);
    if (i < params.n && activated_at[i] == NEVER) {
        let start = offsets[i];
        let end = offsets[i + 1u];
        let k = end - start;
        var m = 0u;
        for (var e = start; e < end; e++) {
            if (activated_at[neighbor(e, params.chunk_len)] < s) { m += 1u; }
        }
        if (k > 0u && 100u * m >= params.theta_pct * k) {
            activated_at[i] = s;
            atomicAdd(&group_count, 1u);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let c = atomicLoad(&group_count);
        if (c > 0u) { atomicAdd(&control[1u + s], c); }
    }
}
