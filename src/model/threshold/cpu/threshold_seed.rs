//! CPU twin of `shaders/threshold_seed.wgsl`: the initially active agents.

use super::super::*;

/// Twin of `threshold_seed.wgsl`: seeds get 0, everyone else [`NEVER`].
pub fn seed(n: u32, params: &ThresholdParams) -> Vec<u32> {
    let cut = rng::threshold_24(params.seed_fraction);
    (0..n)
        .into_par_iter()
        .map(|i| {
            let x = rng::rand(params.seed, 0, i, rng::stream::SEED_ACTIVE);
            if (x >> 8) < cut {
                0
            } else {
                NEVER
            }
        })
        .collect()
}
