// Kernel: alignment, knowledge and adoption of one agent (DESIGN §4 steps 1–3), Jacobi:
// neighbours are read as they were at the start of the tick (φ from `phi`, adoption by
// adopted_at < t); the new φ goes to `phi_next`, k is updated in place (an agent reads
// only its own), adoption is written as the tick t; adoptions through the threshold rule
// alone (not mastery) are counted in control.cascade. Twin: Lifecycle::agents.
#import lifecycle
#import rng
#import index

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read_write> phi_next: array<f32>;
@group(0) @binding(4) var<storage, read> omega: array<f32>;
@group(0) @binding(5) var<storage, read_write> knowledge: array<f32>;
@group(0) @binding(6) var<storage, read_write> adopted_at: array<u32>;
@group(0) @binding(7) var<storage, read> degree: array<u32>;
#slots 8 read neighbor: u32
#slots 9 read weight: f32
@group(0) @binding(10) var<storage, read> nourished: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let t = control.tick;
    let phi_i = phi[i];
    let base = i * params.slots;
    var w_sum = 0.0;
    var pull = 0.0;
    var positive = 0.0;
    var adopted_w = 0.0;
    var adopted_pull = 0.0;
    for (var e = 0u; e < degree[i]; e++) {
        let j = neighbor_get(base + e);
        let w = weight_get(base + e);
        let d = phi[j] - phi_i;
        let s = sin(d);
        w_sum += w;
        pull += w * s;
        positive += w * max(0.0, cos(d));
        if (adopted_at[j] < t) { adopted_w += w; adopted_pull += w * s; }
    }
    let k_i = knowledge[i];
    let adopted = adopted_at[i] < t;
    var drift = omega[i] + params.coupling * (1.0 + min(k_i, params.mastery)) * pull / max(1.0, w_sum);
    if (adopted) {
        let n_a = control.n_adopters;
        if (params.field_mode == FIELD_GLOBAL && n_a > 0u) {
            drift += params.field * sin(control.psi - phi_i);
        } else if (params.field_mode == FIELD_ADOPTED_SHARE && n_a > 0u) {
            drift += params.field * (f32(n_a) / f32(params.n)) * sin(control.psi - phi_i);
        } else if (params.field_mode == FIELD_TIES) {
            drift += params.field * adopted_pull / max(1.0, w_sum);
        }
    }
    let r = rand4(params.seed, t, i, STREAM_NOISE);
    phi_next[i] = wrap(phi_i + params.dt * drift + params.noise_amp * normal(r.x, r.y));
    // A nourished agent learns at β times the intervention's factor.
    var beta = params.learning_rate;
    // (The flags are read only while a nourish lasts: a factor of 1 means none.)
    if (params.nourish_factor != 1.0 && nourished[i] != 0u) { beta = params.learning_rate * params.nourish_factor; }
    knowledge[i] = k_i + params.dt * (beta * positive * positive / params.knowledge_norm - params.forgetting * k_i);
    let masters = k_i >= params.mastery;
    if (!adopted && (masters || (w_sum > 0.0 && adopted_w >= params.theta * w_sum))) {
        adopted_at[i] = t;
        // An integer count: the same whatever order the agents add in.
        if (!masters) { atomicAdd(&control.cascade, 1u); }
    }
}
