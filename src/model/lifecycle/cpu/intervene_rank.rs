//! CPU twin of `shaders/intervene_rank.wgsl`: one byte of the places of the eligible
//! agents whose higher bytes agree with the prefix, counted.

use super::super::{Lifecycle, MIN_LEN};
use crate::intervention::passes::{self, Query};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `intervene_rank`: how many eligible agents have each value of byte
    /// `digit` of their place, among those whose place agrees with `prefix` above it.
    pub fn intervene_rank(&self, q: &Query, digit: u32, prefix: u64) -> [u32; 256] {
        (0..self.n as usize)
            .into_par_iter()
            .with_min_len(MIN_LEN)
            .fold(
                || [0u32; 256],
                |mut h, i| {
                    if passes::eligible(q, self.ties.slots, i, &self.ties.degree, &self.adopted_at)
                    {
                        let p = passes::place(q, i, &self.knowledge, &self.ties.degree);
                        if passes::agrees(p, digit, prefix) {
                            h[passes::byte_of(p, digit)] += 1;
                        }
                    }
                    h
                },
            )
            .reduce(
                || [0u32; 256],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            )
    }
}
