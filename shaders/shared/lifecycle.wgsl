// Shared declarations of the lifecycle kernels: parameters (uniform), the device-side
// control block (tick, ψ, tie counters) and constants. Twin: model::lifecycle.

struct Params {
    n: u32,
    slots: u32,          // K
    seed: u32,
    groups: u32,         // workgroups of the per-agent dispatch (ψ partial sums)
    dt: f32,
    coupling: f32,       // K0
    noise_amp: f32,      // sqrt(2·D·dt)
    field: f32,          // h
    learning_rate: f32,  // β
    forgetting: f32,     // κ
    knowledge_norm: f32, // n_k
    mastery: f32,        // k*
    theta: f32,
    tie_gain: f32,       // α
    tie_cost: f32,       // λ
    strong_tie: f32,     // w*
    new_tie: f32,        // w0
    search_thr: u32,     // threshold_24(p_s·dt)
    closure_thr: u32,    // threshold_24(q)
    field_mode: u32,     // 0 global, 1 adopted_share, 2 ties (model.field_mode)
    n_pioneers: u32,     // illuminate: pioneers a random search may be steered to (0: none)
    illuminate_thr: u32, // illuminate: threshold_24(share) of random searches steered
    nourish_factor: f32, // nourish: the factor on β of nourished agents (1: none)
    _pad: u32,
}

struct Control {
    tick: u32,
    n_adopters: u32,
    psi: f32,
    created: atomic<u32>,
    removed: atomic<u32>,
    cascade: atomic<u32>, // adopted through the threshold rule since tick 0
    _pad1: u32,
    _pad2: u32,
}

const FIELD_GLOBAL: u32 = 0u;
const FIELD_ADOPTED_SHARE: u32 = 1u;
const FIELD_TIES: u32 = 2u;
const NEVER: u32 = 0xffffffffu;
const EMPTY: u32 = 0xffffffffu;
const TAU: f32 = 6.283185307179586;

// An angle wrapped into [0, 2π) (twin: model::lifecycle::wrap).
fn wrap(x: f32) -> f32 {
    let y = x - TAU * floor(x / TAU);
    if (y >= TAU) { return 0.0; }
    return y;
}
