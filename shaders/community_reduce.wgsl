// Kernel: reduce the per-community sums into the metrics accumulators (expected
// modularity term Σ (D_c / 2M)², number of communities, Σ over communities of ≥ 2
// members of |Σ e^{iφ}| and their members). The sums are scratch, cleared by the host
// before community_sums.
// Twin: the community metrics of analysis::communities.
#import lifecycle
#import index
#import sum64

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> sum_degree: array<u32>;
@group(0) @binding(2) var<storage, read> sum_members: array<u32>;
@group(0) @binding(3) var<storage, read> sum_cos_lo: array<u32>;
@group(0) @binding(4) var<storage, read> sum_cos_hi: array<u32>;
@group(0) @binding(5) var<storage, read> sum_sin_lo: array<u32>;
@group(0) @binding(6) var<storage, read> sum_sin_hi: array<u32>;

fn wide(lo: u32, hi: u32) -> f32 {
    return f32(hi) * 4294967296.0 + f32(lo);
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let c = flat_index(gid, nwg);
    let n = params.n;
    if (c < n) {
        let members = sum_members[c];
        if (members > 0u) {
            // acc[0] holds 2M, the degree sum, from metrics_agents.
            let two_m = f32(atomicLoad(&acc[0]));
            let x = f32(sum_degree[c]) / two_m;
            group_add(0u, u32(round(x * x * 1073741824.0)));
            group_add(1u, 1u);
            if (members >= 2u) {
                let m = f32(members);
                let re = wide(sum_cos_lo[c], sum_cos_hi[c]) / 65536.0 - m;
                let im = wide(sum_sin_lo[c], sum_sin_hi[c]) / 65536.0 - m;
                group_add(2u, u32(round(sqrt(re * re + im * im) * 1024.0)));
                group_add(3u, members);
            }
        }
    }
    workgroupBarrier();
    if (lid < 4u) {
        flush(lid, 11u + lid);
    }
}
