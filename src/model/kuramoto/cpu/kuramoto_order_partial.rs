//! CPU twin of `shaders/kuramoto_order_partial.wgsl`: per 64 agents, a tree sum.

use super::super::*;

/// Twin of `kuramoto_order_partial.wgsl`: per 64 agents, a tree sum of `f(agent)`.
pub(crate) fn partial_sums(n: usize, f: impl Fn(usize) -> [f32; 2] + Sync) -> Vec<[f32; 2]> {
    (0..n.div_ceil(GROUP))
        .into_par_iter()
        .map(|g| {
            let mut acc = [[0.0f32; 2]; GROUP];
            for (a, j) in acc.iter_mut().zip(g * GROUP..((g + 1) * GROUP).min(n)) {
                *a = f(j);
            }
            tree_sum(acc)
        })
        .collect()
}

/// The workgroup's tree: halves added pairwise, 32, 16, … 1 apart.
pub(crate) fn tree_sum(mut acc: [[f32; 2]; GROUP]) -> [f32; 2] {
    let mut s = GROUP / 2;
    while s > 0 {
        for l in 0..s {
            acc[l][0] += acc[l + s][0];
            acc[l][1] += acc[l + s][1];
        }
        s /= 2;
    }
    acc[0]
}
