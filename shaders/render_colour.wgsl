// Kernel: every agent's colour in the colour mode, packed RGB (r in the low byte):
// purpose (hue) and knowledge (value); a community of practice's lineage colour; the
// knowledge ramp; adopters against the rest; or the agent's place in the life-cycle
// (isolated, networked, in a community of practice: a palette entry with bit 24 set,
// adopter). Integer only.
// Twin: render::splat::render_colour.
#import render
#import index

@group(0) @binding(0) var<uniform> params: RenderParams;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> knowledge: array<f32>;
@group(0) @binding(4) var<storage, read> adopted_at: array<u32>;
@group(0) @binding(5) var<storage, read> degree: array<u32>;
@group(0) @binding(6) var<storage, read> group_of: array<u32>;
@group(0) @binding(7) var<storage, read> palette: array<u32>;
@group(0) @binding(8) var<storage, read_write> colour: array<u32>;

fn pack_rgb(c: vec3<u32>) -> u32 {
    return c.x | (c.y << 8u) | (c.z << 16u);
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let adopted = adopted_at[i] != NOT_ADOPTED;
    let g = group_of[i];
    var c: vec3<u32>;
    switch (params.colour) {
        case COLOUR_COMMUNITY: {
            if (g != NO_GROUP) {
                c = unpack_rgb(palette[g]);
            } else {
                c = vec3<u32>(58u, 64u, 78u);
            }
        }
        case COLOUR_KNOWLEDGE: { c = knowledge_colour(knowledge[i]); }
        case COLOUR_ADOPTION: {
            if (adopted) {
                c = vec3<u32>(255u, 150u, 60u);
            } else {
                c = vec3<u32>(70u, 95u, 140u);
            }
        }
        case COLOUR_STAGE: {
            if (adopted) {
                c = vec3<u32>(255u, 170u, 80u);
            } else if (g != NO_GROUP && (palette[g] & 0x1000000u) != 0u) {
                c = vec3<u32>(110u, 225u, 130u);
            } else if (degree[i] > 0u) {
                c = vec3<u32>(90u, 150u, 255u);
            } else {
                c = vec3<u32>(115u, 115u, 120u);
            }
        }
        default: { c = purpose_colour(phi[i], knowledge[i], adopted_at[i]); }
    }
    colour[i] = pack_rgb(c);
}
