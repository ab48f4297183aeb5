// Kernel: broadcast. Each flagged agent turns its purpose through `strength` of the
// signed angle, in [-pi, pi), from its purpose to the message's direction.
// Twin: Lifecycle::intervene_broadcast.
#import lifecycle
#import intervene
#import index

@group(0) @binding(0) var<uniform> ip: Intervene;
@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> phi: array<f32>;

const PI: f32 = 3.141592653589793;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i < ip.n && flags[i] == 1u) {
        let p = phi[i];
        let delta = wrap(ip.direction - p + PI) - PI;
        phi[i] = wrap(p + ip.strength * delta);
    }
}
