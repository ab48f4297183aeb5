//! CPU twin of `shaders/intervene_cut.wgsl`: remove_hubs and cut_ties, each row
//! compacted in its order.

use super::super::{Lifecycle, MIN_LEN};
use crate::graph::ties::EMPTY;
use crate::intervention::passes::{Cut, CutCount, Query};
use crate::rng;
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `intervene_cut`: each agent keeps the ties the rule keeps (neither end
    /// flagged, or the tie's draw at least the threshold); returns the agents that lost
    /// a tie and the ties removed (counted at the lower end).
    pub fn intervene_cut(&mut self, flags: &[u32], cut: Cut, q: &Query) -> CutCount {
        let keeps = |i: u32, j: u32| match cut {
            Cut::Flagged => flags[i as usize] == 0 && flags[j as usize] == 0,
            Cut::Share { threshold } => {
                let (a, b) = (i.min(j), i.max(j));
                (rng::pcg(rng::rand(q.seed, q.tick, a, q.stream) ^ b) >> 8) >= threshold
            }
        };
        let (agents, ties) = self
            .ties
            .rows_mut()
            .with_min_len(MIN_LEN)
            .map(|row| {
                let d = *row.degree as usize;
                let (mut kept, mut removed) = (0, 0u64);
                for e in 0..d {
                    let j = row.neighbor[e];
                    if keeps(row.agent, j) {
                        row.neighbor[kept] = j;
                        row.weight[kept] = row.weight[e];
                        row.age[kept] = row.age[e];
                        kept += 1;
                    } else if row.agent < j {
                        removed += 1;
                    }
                }
                for e in kept..d {
                    row.neighbor[e] = EMPTY;
                    row.weight[e] = 0.0;
                    row.age[e] = 0;
                }
                *row.degree = kept as u32;
                (u64::from(kept < d), removed)
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        CutCount { agents, ties }
    }
}
