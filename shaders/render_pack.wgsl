// Kernel: per-pixel sums to RGBA8. A pixel with agents takes their mean colour, brighter
// where many overlap (gain from the integer log2 of the count); an empty pixel shows the
// dark background plus the faint tie lines. Integer only: identical on every backend.
// Twin: render::splat::render_pack.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(1) var<storage, read> accum: array<u32>;
@group(0) @binding(2) var<storage, read> lines: array<u32>;
@group(0) @binding(3) var<storage, read_write> image: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = flat_index(gid, nwg);
    if (p >= params.width * params.height) { return; }
    let c = accum[4u * p + 3u];
    var rgb: vec3<u32>;
    if (c > 0u) {
        let mean = vec3<u32>(accum[4u * p], accum[4u * p + 1u], accum[4u * p + 2u]) / c;
        let gain = min(256u, 160u + 24u * firstLeadingBit(c));
        rgb = min(mean * gain / 256u, vec3<u32>(255u));
    } else {
        let t = min(min(lines[p], 64u) * params.line_gain, 64u);
        rgb = vec3<u32>(9u + t * 5u / 8u, 11u + t * 6u / 8u, 17u + t);
    }
    image[p] = rgb.x | (rgb.y << 8u) | (rgb.z << 16u) | 0xff000000u;
}
