//! CPU twin of `shaders/intervene_adopt.wgsl`: seed_adopters.

use super::super::{Lifecycle, MIN_LEN};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `intervene_adopt`: the flagged agents adopt at `tick` (adopters from the
    /// next tick on).
    pub fn intervene_adopt(&mut self, flags: &[u32], tick: u32) {
        self.adopted_at
            .par_iter_mut()
            .zip(flags)
            .with_min_len(MIN_LEN)
            .for_each(|(a, &f)| {
                if f == 1 {
                    *a = tick;
                }
            });
    }
}
