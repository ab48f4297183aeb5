// Kernel: fill out[i] with the random words of agent i, so tests can compare the WGSL
// hash with src/rng.rs bit for bit. Twin: rng::rand4.
#import rng
#import index

struct Params { n: u32, seed: u32, tick: u32, stream: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> words: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> normals: array<f32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let r = rand4(params.seed, params.tick, i, params.stream);
    words[i] = r;
    normals[i] = normal(r.x, r.y);
}
