// Kernel: each agent's id into its opinion's run of `members`. The order inside a run
// depends on the atomics, but nothing reads it: a rewiring target is the member with the
// smallest hash (voter_plan), which is the same in every order. Twin:
// model::voter::group_members.
#import index
#import rng
#import voter

@group(0) @binding(4) var<storage, read_write> cursor: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> members: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < params.n) {
        let at = atomicAdd(&cursor[opinion[i]], 1u);
        members[at] = i;
    }
}
