// The parameters of the layout and render kernels (twin: render::RenderParams) and the
// helpers they share: the pixel of a layout position and the colour of an agent.

struct RenderParams {
    n: u32,
    slots: u32,
    grid: u32,
    width: u32,
    height: u32,
    side: u32,
    origin_x: u32,
    origin_y: u32,
    point: u32,
    line_cut: u32,
    line_salt: u32,
    line_gain: u32,
    attraction: f32,
    repulsion: f32,
    max_step: f32,
    inv_mean: f32,
    strong_tie: f32,
    inv_mastery: f32,
    _pad0: u32,
    _pad1: u32,
}

const NOT_ADOPTED: u32 = 0xffffffffu;
// 1536 hue steps (6 segments of 256) per turn of the purpose angle.
const HUE_PER_RADIAN: f32 = 244.46199;

// Density-grid cell of a layout position in [0, 1)².
fn cell_of(p: vec2<f32>, g: u32) -> u32 {
    let gf = f32(g);
    let cx = min(u32(max(p.x, 0.0) * gf), g - 1u);
    let cy = min(u32(max(p.y, 0.0) * gf), g - 1u);
    return cy * g + cx;
}

// Pixel of a layout position: the unit square maps onto a side × side square at origin.
fn pixel_of(p: vec2<f32>) -> vec2<u32> {
    let s = f32(params.side);
    let x = params.origin_x + min(u32(max(p.x, 0.0) * s), params.side - 1u);
    let y = params.origin_y + min(u32(max(p.y, 0.0) * s), params.side - 1u);
    return vec2<u32>(x, y);
}

// Hue from the purpose angle (integer hue wheel, so every backend agrees to the bit),
// value from knowledge (dim to mid) or adoption (full).
fn agent_colour(phi: f32, k: f32, adopted_at: u32) -> vec3<u32> {
    let h = min(u32(max(phi, 0.0) * HUE_PER_RADIAN), 1535u);
    let f = h % 256u;
    var rgb: vec3<u32>;
    switch (h / 256u) {
        case 0u: { rgb = vec3<u32>(255u, f, 0u); }
        case 1u: { rgb = vec3<u32>(255u - f, 255u, 0u); }
        case 2u: { rgb = vec3<u32>(0u, 255u, f); }
        case 3u: { rgb = vec3<u32>(0u, 255u - f, 255u); }
        case 4u: { rgb = vec3<u32>(f, 0u, 255u); }
        default: { rgb = vec3<u32>(255u, 0u, 255u - f); }
    }
    var v = 255u;
    if (adopted_at == NOT_ADOPTED) {
        v = 110u + u32(min(k * params.inv_mastery, 1.0) * 110.0);
    }
    // A little white keeps every hue readable on the dark background.
    return (rgb * 220u + vec3<u32>(35u * 255u)) / 255u * v / 255u;
}
