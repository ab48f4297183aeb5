//! CPU twin of `shaders/ties_weights.wgsl`: ties grow or fade, dead ties go, each agent
//! compacts its own slots.

use super::super::{Lifecycle, LifecycleParams};
use super::lifecycle_agents::BLOCK;
use crate::graph::ties::EMPTY;
use crate::trig;
use rayon::prelude::*;

/// One task's gathered phase differences and their cosines, kept across its blocks.
#[derive(Default)]
struct WeightScratch {
    diff: Vec<f32>,
    cosines: Vec<f32>,
}

impl Lifecycle {
    /// Twin of `ties_weights`, with the new φ: every tie grows or fades, ties at w ≤ 0 are
    /// removed, each agent compacts its own live slots in order and ages the kept ones.
    /// Returns the ties removed (counted at their lower-id end).
    pub fn tie_weights(&mut self, p: &LifecycleParams) -> u32 {
        let phi = &self.phi;
        let ties = &mut self.ties;
        let k = ties.slots as usize;
        // Blocks of agents, as in the agents pass: the cosines of a block's live ties in
        // one vectorised loop, then each agent updates and compacts its own slots.
        ties.neighbor
            .par_chunks_mut(k * BLOCK)
            .zip(ties.weight.par_chunks_mut(k * BLOCK))
            .zip(ties.age.par_chunks_mut(k * BLOCK))
            .zip(ties.degree.par_chunks_mut(BLOCK))
            .enumerate()
            .map_init(
                WeightScratch::default,
                |scratch, (b, (((nbr, wt), age), degree))| {
                    let lo = b * BLOCK;
                    let WeightScratch { diff, cosines } = scratch;
                    // cos(φ_b − φ_a) with (a, b) = (min, max) of the pair, as `pair_cos`: both
                    // ends compute the same expression and agree to the bit.
                    diff.clear();
                    for (o, &d) in degree.iter().enumerate() {
                        let i = (lo + o) as u32;
                        diff.extend(nbr[o * k..o * k + d as usize].iter().map(|&j| {
                            let (a, b) = (i.min(j), i.max(j));
                            phi[b as usize] - phi[a as usize]
                        }));
                    }
                    cosines.clear();
                    cosines.extend(diff.iter().map(|&x| trig::cos(x)));
                    let mut e = 0usize;
                    let mut removed = 0u32;
                    for (o, deg) in degree.iter_mut().enumerate() {
                        let i = (lo + o) as u32;
                        let d = *deg as usize;
                        if d == 0 {
                            continue;
                        }
                        let (nbr, wt, age) = (
                            &mut nbr[o * k..(o + 1) * k],
                            &mut wt[o * k..(o + 1) * k],
                            &mut age[o * k..(o + 1) * k],
                        );
                        let mut kept = 0usize;
                        for s in 0..d {
                            let j = nbr[s];
                            let c = cosines[e];
                            e += 1;
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
                        *deg = kept as u32;
                    }
                    removed
                },
            )
            .sum()
    }
}
