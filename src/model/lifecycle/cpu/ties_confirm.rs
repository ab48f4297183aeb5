//! CPU twin of `shaders/ties_confirm.wgsl`: a proposal stands when its key won both ends.

use super::super::{key_salt, search_key, Lifecycle, MIN_LEN, NONE};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

impl Lifecycle {
    /// Twin of `ties_confirm`, tick `t`: a proposal stands when the proposer's key is the
    /// smallest claim on both ends; then both ends name each other as partners. Each agent
    /// is named at most once, so it gains at most one tie per tick.
    pub fn confirm(&self, target: &[u32], claim: &[u32], t: u32) -> Vec<u32> {
        let mut partner = Vec::new();
        self.confirm_into(target, |i| claim[i], t, &mut partner);
        partner.into_iter().map(AtomicU32::into_inner).collect()
    }

    /// [`Lifecycle::confirm`] with the claims read through `claim` and the partners
    /// written into a buffer kept from tick to tick (sized here).
    pub(crate) fn confirm_into(
        &self,
        target: &[u32],
        claim: impl Fn(usize) -> u32 + Sync,
        t: u32,
        partner: &mut Vec<AtomicU32>,
    ) {
        let key_t = key_salt(self.seed, t);
        partner.resize_with(self.n as usize, || AtomicU32::new(NONE));
        partner
            .par_iter()
            .with_min_len(MIN_LEN)
            .for_each(|p| p.store(NONE, Relaxed));
        let partner = &partner[..];
        target
            .par_iter()
            .enumerate()
            .with_min_len(MIN_LEN)
            .for_each(|(i, &j)| {
                if j == NONE {
                    return;
                }
                let key = search_key(key_t, i as u32);
                if claim(i) == key && claim(j as usize) == key {
                    partner[i].store(j, Relaxed);
                    partner[j as usize].store(i as u32, Relaxed);
                }
            });
    }
}
