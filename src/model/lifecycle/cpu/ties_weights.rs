//! CPU twin of `shaders/ties_weights.wgsl`: ties grow or fade, dead ties go, each agent
//! compacts its own slots.

use super::super::{pair_cos, Lifecycle, LifecycleParams, MIN_LEN};
use crate::graph::ties::EMPTY;
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `ties_weights`, with the new φ: every tie grows or fades, ties at w ≤ 0 are
    /// removed, each agent compacts its own live slots in order and ages the kept ones.
    /// Returns the ties removed (counted at their lower-id end).
    pub fn tie_weights(&mut self, p: &LifecycleParams) -> u32 {
        let phi = &self.phi;
        self.ties
            .rows_mut()
            .with_min_len(MIN_LEN)
            .map(|row| {
                let i = row.agent;
                let d = *row.degree as usize;
                let (nbr, wt, age) = (row.neighbor, row.weight, row.age);
                let (mut kept, mut removed) = (0usize, 0u32);
                for s in 0..d {
                    let j = nbr[s];
                    let c = pair_cos(phi, i, j);
                    let w = (wt[s] + p.dt * (p.tie_gain * c - p.tie_cost)).min(1.0);
                    if w > 0.0 {
                        nbr[kept] = j;
                        wt[kept] = w;
                        age[kept] = age[s] + 1;
                        kept += 1;
                    } else if i < j {
                        removed += 1;
                    }
                }
                for s in kept..d {
                    nbr[s] = EMPTY;
                    wt[s] = 0.0;
                    age[s] = 0;
                }
                *row.degree = kept as u32;
                removed
            })
            .sum()
    }
}
