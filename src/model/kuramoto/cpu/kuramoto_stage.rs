//! CPU twin of `shaders/kuramoto_stage.wgsl`: one RK4 stage of every oscillator.

use super::super::*;

/// Twin of `state` in `kuramoto_stage.wgsl`: θ + c·dt·k.
#[inline]
pub(crate) fn stage_state(theta: &[f32], k_in: &[f32], c: f32, dt: f32, j: usize) -> f32 {
    if c == 0.0 {
        theta[j]
    } else {
        theta[j] + c * dt * k_in[j]
    }
}

/// Twin of `kuramoto_stage.wgsl`: stage `s` (r_psi: the stage state's order parameter,
/// used all-to-all).
pub fn stage(
    graph: Option<&Csr>,
    p: &KuramotoParams,
    omega: &[f32],
    r_psi: (f32, f32),
    s: usize,
    b: Stages<'_>,
) {
    let c = STAGE_C[s];
    let (theta, k_in) = (b.theta, b.k_in);
    b.k_out
        .par_iter_mut()
        .zip(b.acc.par_iter_mut())
        .zip(b.theta_next.par_iter_mut())
        .enumerate()
        .for_each(|(i, ((k_out, acc), next))| {
            let xi = stage_state(theta, k_in, c, p.dt, i);
            let pull = match graph {
                None => r_psi.0 * (r_psi.1 - xi).sin(),
                Some(csr) => {
                    let mut sum = 0.0f32;
                    for &j in csr.neighbors(i as u32) {
                        sum += (stage_state(theta, k_in, c, p.dt, j as usize) - xi).sin();
                    }
                    sum
                }
            };
            let f = omega[i] + p.coupling * pull;
            *k_out = f;
            let mut a = STAGE_W[s] * f;
            if s > 0 {
                a += *acc;
            }
            *acc = a;
            if s == 3 {
                *next = wrap(theta[i] + p.dt / 6.0 * a);
            }
        });
}
