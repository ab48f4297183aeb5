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
    colour: u32,
    camera: u32,
    follow: u32,
    groups: u32,
    cohesion: f32,
    gravity: f32,
    fixed_scale: f32,
    camera_rate: f32,
    island: f32,
    _pad0: u32,
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

const NO_GROUP: u32 = 0xffffffffu;
// Colour modes and cameras (twins: render::ColorMode, render::CameraMode).
const COLOUR_COMMUNITY: u32 = 1u;
const COLOUR_KNOWLEDGE: u32 = 2u;
const COLOUR_ADOPTION: u32 = 3u;
const COLOUR_STAGE: u32 = 4u;
const CAMERA_FIXED: u32 = 0u;
const CAMERA_FOLLOW: u32 = 2u;
// Fixed-point units per layout unit of the bounds.
const BOUNDS_SCALE: f32 = 16777216.0;

// Pixel of a layout position under the camera (x0, y0, extent, set): the camera's
// square maps onto a side × side square at origin. `ok` is false out of view.
struct Pixel {
    xy: vec2<u32>,
    ok: bool,
}

fn view_pixel(p: vec2<f32>, camera: vec4<f32>) -> Pixel {
    let s = f32(params.side);
    let scale = s / camera.z;
    let u = (p.x - camera.x) * scale;
    let v = (p.y - camera.y) * scale;
    if (!(u >= 0.0 && v >= 0.0 && u < s && v < s)) {
        return Pixel(vec2<u32>(0u, 0u), false);
    }
    let x = params.origin_x + min(u32(u), params.side - 1u);
    let y = params.origin_y + min(u32(v), params.side - 1u);
    return Pixel(vec2<u32>(x, y), true);
}

// The integer hue wheel, 1536 steps (so every backend agrees to the bit).
fn hue_rgb(h: u32) -> vec3<u32> {
    let f = h % 256u;
    switch (h / 256u) {
        case 0u: { return vec3<u32>(255u, f, 0u); }
        case 1u: { return vec3<u32>(255u - f, 255u, 0u); }
        case 2u: { return vec3<u32>(0u, 255u, f); }
        case 3u: { return vec3<u32>(0u, 255u - f, 255u); }
        case 4u: { return vec3<u32>(f, 0u, 255u); }
        default: { return vec3<u32>(255u, 0u, 255u - f); }
    }
}

// Hue from the purpose angle, value from knowledge (dim to mid) or adoption (full).
fn purpose_colour(phi: f32, k: f32, adopted_at: u32) -> vec3<u32> {
    let rgb = hue_rgb(min(u32(max(phi, 0.0) * HUE_PER_RADIAN), 1535u));
    var v = 255u;
    if (adopted_at == NOT_ADOPTED) {
        v = 110u + u32(min(k * params.inv_mastery, 1.0) * 110.0);
    }
    // A little white keeps every hue readable on the dark background.
    return (rgb * 220u + vec3<u32>(35u * 255u)) / 255u * v / 255u;
}

// k / k* on a dark-blue → teal → yellow ramp.
fn knowledge_colour(k: f32) -> vec3<u32> {
    let u = u32(clamp(k * params.inv_mastery, 0.0, 1.0) * 510.0);
    var a = vec3<u32>(45u, 35u, 100u);
    var b = vec3<u32>(30u, 150u, 140u);
    var t = u;
    if (u >= 255u) {
        a = b;
        b = vec3<u32>(250u, 230u, 80u);
        t = u - 255u;
    }
    return (a * (255u - t) + b * t) / 255u;
}

fn unpack_rgb(c: u32) -> vec3<u32> {
    return vec3<u32>(c & 255u, (c >> 8u) & 255u, (c >> 16u) & 255u);
}
