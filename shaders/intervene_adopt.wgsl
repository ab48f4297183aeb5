// Kernel: seed_adopters. The flagged agents adopt at the intervention's tick, so they
// count as adopters from the next tick on. Twin: Lifecycle::intervene_adopt.
#import intervene
#import index

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> adopted_at: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < ip.n && flags[i] == 1u) {
        adopted_at[i] = ip.adopt_tick;
    }
}
