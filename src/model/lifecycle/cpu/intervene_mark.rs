//! CPU twin of `shaders/intervene_mark.wgsl`: the agents an action picked, flagged.

use super::super::{Lifecycle, MIN_LEN};
use crate::intervention::passes::{self, Query};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `intervene_mark`: `flags[i]` is 1 for each eligible agent whose place is
    /// at most `bound`, else 0.
    pub fn intervene_mark(&self, q: &Query, bound: u64, flags: &mut Vec<u32>) {
        flags.resize(self.n as usize, 0);
        flags
            .par_iter_mut()
            .enumerate()
            .with_min_len(MIN_LEN)
            .for_each(|(i, f)| {
                let picked =
                    passes::eligible(q, self.ties.slots, i, &self.ties.degree, &self.adopted_at)
                        && passes::place(q, i, &self.knowledge, &self.ties.degree) <= bound;
                *f = u32::from(picked);
            });
    }
}
