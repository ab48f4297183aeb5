//! CPU twin of `shaders/ties_commit.wgsl`: both ends of a confirmed pair append the new
//! tie in their next free slot.

use super::super::{Lifecycle, LifecycleParams, MIN_LEN, NONE};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `ties_commit`: every agent with a partner appends the new tie (w0, age 0)
    /// in its next free slot. Returns the ties created (counted at the lower-id end).
    pub fn commit(&mut self, p: &LifecycleParams, partner: &[u32]) -> u32 {
        self.commit_with(p, |i| partner[i])
    }

    /// [`Lifecycle::commit`] with each agent's partner read through `partner`.
    pub(crate) fn commit_with(
        &mut self,
        p: &LifecycleParams,
        partner: impl Fn(usize) -> u32 + Sync,
    ) -> u32 {
        self.ties
            .rows_mut()
            .with_min_len(MIN_LEN)
            .map(|row| {
                let j = partner(row.agent as usize);
                if j == NONE {
                    return 0;
                }
                let s = *row.degree as usize;
                row.neighbor[s] = j;
                row.weight[s] = p.new_tie;
                row.age[s] = 0;
                *row.degree += 1;
                (row.agent < j) as u32
            })
            .sum()
    }
}
