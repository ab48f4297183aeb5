// Shared by the Kuramoto kernels: parameters, the control block the reductions fill,
// and the classical RK4 tableau.

struct Params {
    n: u32,
    groups: u32,
    complete: u32,
    chunk_len: u32,
    coupling: f32,
    dt: f32,
    // Samples k > average_after enter the time average of r.
    average_after: u32,
    _pad: u32,
}

struct Control {
    // The next sample k to measure: the state after k ticks.
    k: u32,
    // r and ψ of the last measured sample.
    r: f32,
    psi: f32,
    r_sum: f32,
    samples: u32,
    // ||v|| for the power iteration.
    norm: f32,
    // r and ψ of the current RK4 stage's state (all-to-all coupling).
    stage_r: f32,
    stage_psi: f32,
}

// A reduction's mode: kind 0 sums (cos x, sin x) of the stage state x = θ + c·dt·k_in,
// kind 1 sums v²; measure = 1 when the stage state is the sample itself (c = 0).
struct Mode { kind: u32, c: f32, measure: u32, _pad: u32 }

const TAU: f32 = 6.283185307179586;
const PI: f32 = 3.141592653589793;

// Back into [-π, π), so phases keep their precision however far fast oscillators run.
fn wrap(theta: f32) -> f32 {
    return theta - TAU * floor((theta + PI) / TAU);
}

// RK4: stage s evaluates at θ + c[s]·dt·k_{s-1} and enters the step with weight w[s]/6.
fn stage_c(s: u32) -> f32 {
    switch s {
        case 0u: { return 0.0; }
        case 3u: { return 1.0; }
        default: { return 0.5; }
    }
}

fn stage_w(s: u32) -> f32 {
    if (s == 1u || s == 2u) { return 2.0; }
    return 1.0;
}
