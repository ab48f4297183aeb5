//! CPU twin of `shaders/intervene_broadcast.wgsl`: a purpose pulled towards the
//! message's direction.

use super::super::{wrap, Lifecycle, MIN_LEN};
use rayon::prelude::*;
use std::f32::consts::PI;

impl Lifecycle {
    /// Twin of `intervene_broadcast`: each flagged agent turns through `strength` of the
    /// signed angle, in [−π, π), from its purpose to `direction`.
    pub fn intervene_broadcast(&mut self, flags: &[u32], strength: f32, direction: f32) {
        self.phi
            .par_iter_mut()
            .zip(flags)
            .with_min_len(MIN_LEN)
            .for_each(|(p, &f)| {
                if f == 1 {
                    let delta = wrap(direction - *p + PI) - PI;
                    *p = wrap(*p + strength * delta);
                }
            });
    }
}
