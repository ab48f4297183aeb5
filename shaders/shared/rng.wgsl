// Counter-based randomness, the twin of src/rng.rs: every draw is a pure function of
// (seed, tick, agent, stream), hashed as pcg4d(agent, tick, seed, stream).

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn pcg4d(v_in: vec4<u32>) -> vec4<u32> {
    var v = v_in * 1664525u + 1013904223u;
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;
    v = v ^ (v >> vec4<u32>(16u));
    v.x += v.y * v.w;
    v.y += v.z * v.x;
    v.z += v.x * v.y;
    v.w += v.y * v.z;
    return v;
}

fn rand4(seed: u32, tick: u32, agent: u32, stream: u32) -> vec4<u32> {
    return pcg4d(vec4<u32>(agent, tick, seed, stream));
}

// Uniform in (0, 1) from the top 23 bits: exact in f32, never 0 or 1 (twin: rng::uniform).
fn uniform01(x: u32) -> f32 {
    return (f32(x >> 9u) + 0.5) * (1.0 / 8388608.0);
}

// Standard normal by Box-Muller.
fn normal(x: u32, y: u32) -> f32 {
    let u1 = uniform01(x);
    let u2 = uniform01(y);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
