//! CPU twin of `shaders/ties_propose.wgsl`: each searching agent picks a kindred spirit
//! and claims both ends with its key.

use super::super::{key_salt, pair_cos, search_key, Lifecycle, LifecycleParams, MIN_LEN, NONE};
use crate::rng::{self, stream};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

impl Lifecycle {
    /// The agent agent `i` proposes to in tick `t`, if any (the decision of
    /// `ties_propose`, without the claims).
    pub fn search_target(&self, p: &LifecycleParams, t: u32, i: u32) -> Option<u32> {
        self.search_target_with(p.search_cut(), p.closure_cut(), p.strong_tie, t, i)
    }

    /// [`Lifecycle::search_target`] with the integer cuts worked out once per tick.
    fn search_target_with(
        &self,
        search_cut: u32,
        closure_cut: u32,
        strong_tie: f32,
        t: u32,
        i: u32,
    ) -> Option<u32> {
        let ties = &self.ties;
        let k = ties.slots;
        let r = rng::rand4(self.seed, t, i, stream::SEARCH);
        let deg_i = ties.degree[i as usize];
        if (r[0] >> 8) >= search_cut || deg_i >= k {
            return None;
        }
        let j = if (r[1] >> 8) < closure_cut {
            // A friend of a friend, through two strong ties.
            if deg_i == 0 {
                return None;
            }
            let s1 = (i * k + r[2] % deg_i) as usize;
            let m = ties.neighbor[s1];
            if ties.weight[s1] < strong_tie {
                return None;
            }
            let s2 = (m * k + r[3] % ties.degree[m as usize]) as usize;
            let j = ties.neighbor[s2];
            if ties.weight[s2] < strong_tie || j == i {
                return None;
            }
            j
        } else {
            // While an `illuminate` lasts, a share of random searches goes to a pioneer.
            let support = &self.support;
            let steered = support.illuminates().then(|| {
                let r = rng::rand4(self.seed, t, i, stream::ILLUMINATE);
                ((r[0] >> 8) < support.illuminate_cut)
                    .then(|| support.pioneers[(r[1] % support.pioneers.len() as u32) as usize])
            });
            let j = steered.flatten().unwrap_or(r[2] % self.n);
            if j == i {
                return None;
            }
            j
        };
        if ties.degree[j as usize] >= k
            || pair_cos(&self.phi, i, j) < 0.0
            || ties.neighbors(i).contains(&j)
        {
            return None;
        }
        Some(j)
    }

    /// Twin of `ties_propose`, tick `t`: each searching agent picks a target and both
    /// ends are claimed with the proposer's key (`fetch_min`, so the order of claims does
    /// not matter). Returns `(target, claim)`: target or [`NONE`] per agent, and the
    /// smallest key that claimed each agent (`u32::MAX` if none).
    pub fn propose(&self, p: &LifecycleParams, t: u32) -> (Vec<u32>, Vec<u32>) {
        let (mut target, mut claim) = (Vec::new(), Vec::new());
        self.propose_into(p, t, &mut target, &mut claim);
        (
            target,
            claim.into_iter().map(AtomicU32::into_inner).collect(),
        )
    }

    /// [`Lifecycle::propose`] into buffers kept from tick to tick (sized here).
    pub(crate) fn propose_into(
        &self,
        p: &LifecycleParams,
        t: u32,
        target: &mut Vec<u32>,
        claim: &mut Vec<AtomicU32>,
    ) {
        let n = self.n as usize;
        let key_t = key_salt(self.seed, t);
        let (search_cut, closure_cut) = (p.search_cut(), p.closure_cut());
        claim.resize_with(n, || AtomicU32::new(u32::MAX));
        target.resize(n, NONE);
        claim
            .par_iter()
            .with_min_len(MIN_LEN)
            .for_each(|c| c.store(u32::MAX, Relaxed));
        let claim = &claim[..];
        target
            .par_iter_mut()
            .enumerate()
            .with_min_len(MIN_LEN)
            .for_each(|(i, out)| {
                let i = i as u32;
                *out = match self.search_target_with(search_cut, closure_cut, p.strong_tie, t, i) {
                    Some(j) => {
                        let key = search_key(key_t, i);
                        claim[i as usize].fetch_min(key, Relaxed);
                        claim[j as usize].fetch_min(key, Relaxed);
                        j
                    }
                    None => NONE,
                };
            });
    }
}
