//! CPU twin of `shaders/deffuant_choose.wgsl`: on a graph, each agent picks its highest-priority tie of the tick.

use super::super::*;

pub(crate) fn tie_priority(seed: u32, t: u32, i: u32, j: u32) -> u32 {
    let (lo, hi) = (i.min(j), i.max(j));
    rng::pcg(rng::rand(seed, t, lo, rng::stream::MATCH) ^ rng::pcg(hi))
}

/// Twin of `deffuant_choose.wgsl`: each agent's highest-priority tie in tick `t`.
pub fn choose(csr: &Csr, seed: u32, t: u32) -> Vec<u32> {
    (0..csr.n())
        .into_par_iter()
        .map(|i| {
            let mut best = NONE;
            let mut best_prio = 0;
            for &j in csr.neighbors(i) {
                let p = tie_priority(seed, t, i, j);
                if best == NONE || p > best_prio || (p == best_prio && j > best) {
                    best = j;
                    best_prio = p;
                }
            }
            best
        })
        .collect()
}
