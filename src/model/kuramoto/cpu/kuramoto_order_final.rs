//! CPU twin of `shaders/kuramoto_order_final.wgsl`: the partial sums combined as the single workgroup does, and the order parameter.

use super::super::*;

/// Twin of `kuramoto_order_final.wgsl`'s reduction: 64 strided sums, then a tree.
pub(crate) fn final_sum(partials: &[[f32; 2]]) -> [f32; 2] {
    let mut acc = [[0.0f32; 2]; GROUP];
    for (lid, a) in acc.iter_mut().enumerate() {
        for p in partials.iter().skip(lid).step_by(GROUP) {
            a[0] += p[0];
            a[1] += p[1];
        }
    }
    tree_sum(acc)
}

/// (r, ψ) of the phases.
pub fn order(theta: &[f32]) -> (f32, f32) {
    order_at(theta, &[], 0.0, 0.0)
}

/// (r, ψ) of the stage state θ + c·dt·k (twin of the kind-0 reduction).
pub fn order_at(theta: &[f32], k_in: &[f32], c: f32, dt: f32) -> (f32, f32) {
    let [c, s] = final_sum(&partial_sums(theta.len(), |j| {
        let x = stage_state(theta, k_in, c, dt, j);
        [x.cos(), x.sin()]
    }));
    let n = theta.len().max(1) as f32;
    let (c, s) = (c / n, s / n);
    ((c * c + s * s).sqrt(), s.atan2(c))
}

/// ||v|| in the fixed reduction order.
pub fn norm(v: &[f32]) -> f32 {
    final_sum(&partial_sums(v.len(), |j| [v[j] * v[j], 0.0]))[0].sqrt()
}
