//! CPU twin of `shaders/deffuant_update.wgsl`: the pairs of the tick (a random perfect matching when well mixed, mutual choices on a graph) move towards each other when closer than ε.

use super::super::*;

/// The permutation that pairs positions 2m and 2m + 1 in tick `t` (well mixed).
pub fn matching(n: u32, seed: u32, t: u32) -> Permutation {
    Permutation::new(n, rng::rand4(seed, t, 0, rng::stream::MATCH))
}

/// Each agent's partner in tick `t` ([`NONE`]: it sits out).
pub fn partners(mixing: Mixing<'_>, seed: u32, t: u32) -> Vec<u32> {
    match mixing {
        Mixing::Complete(n) => {
            let perm = matching(n, seed, t);
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let q = perm.apply(i) ^ 1;
                    if q >= n {
                        NONE
                    } else {
                        perm.invert(q)
                    }
                })
                .collect()
        }
        Mixing::Graph(csr) => {
            let choice = choose(csr, seed, t);
            (0..csr.n())
                .into_par_iter()
                .map(|i| {
                    let j = choice[i as usize];
                    if j != NONE && choice[j as usize] == i {
                        j
                    } else {
                        NONE
                    }
                })
                .collect()
        }
    }
}

/// Twin of `deffuant_update.wgsl`: the opinions after tick `t`; returns how many agents moved.
pub fn update(partner: &[u32], p: &DeffuantParams, x: &[f32], x_next: &mut [f32]) -> u64 {
    x_next
        .par_iter_mut()
        .enumerate()
        .map(|(i, out)| {
            let xi = x[i];
            *out = xi;
            let j = partner[i];
            if j != NONE {
                let d = x[j as usize] - xi;
                if d.abs() < p.confidence {
                    *out = xi + p.convergence * d;
                    return 1u64;
                }
            }
            0
        })
        .sum()
}
