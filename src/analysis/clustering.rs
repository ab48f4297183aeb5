//! Transitivity (the global clustering coefficient) estimated by wedge sampling, and the
//! value a configuration-model graph with the same degrees would have. Counting every
//! triangle costs O(Σ d²) per metrics row; one wedge per agent, weighted by the agent's
//! number of wedges d(d − 1)/2, gives an unbiased estimate in O(N·K) whose error is known
//! (see [`Wedges::sd_bound`]), and it runs alike on the GPU.

use crate::graph::Adjacency;
use crate::rng::{self, stream};
use rayon::prelude::*;

/// One sampled wedge per agent of degree ≥ 2: the sums the estimate is made of. Integer
/// sums, so the result does not depend on the order they were added in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wedges {
    /// Σ w_i over agents whose sampled wedge is closed, w_i = d_i(d_i − 1)/2.
    pub closed_weight: u64,
    /// Σ w_i over agents with d_i ≥ 2 (the exact number of wedges).
    pub total_weight: u64,
    /// Agents that sampled a wedge.
    pub samples: u64,
}

impl Wedges {
    /// The estimate C = Σ w_i·closed_i / Σ w_i (0 without wedges).
    pub fn transitivity(&self) -> f64 {
        if self.total_weight == 0 {
            0.0
        } else {
            self.closed_weight as f64 / self.total_weight as f64
        }
    }
}

/// The two slots of agent `i`'s wedge at `tick`: s1 = r.x mod d, s2 = r.y mod (d − 1),
/// moved past s1 so the slots differ (r = rand4(seed, tick, i, WEDGE); needs d ≥ 2).
#[inline]
pub fn wedge_slots(seed: u32, tick: u32, i: u32, d: u32) -> (u32, u32) {
    let r = rng::rand4(seed, tick, i, stream::WEDGE);
    let s1 = r[0] % d;
    let mut s2 = r[1] % (d - 1);
    if s2 >= s1 {
        s2 += 1;
    }
    (s1, s2)
}

/// Samples one wedge per agent of degree ≥ 2 (slots in the store's own order, as the GPU
/// reads them) and checks whether its two ends are tied.
pub fn sample_wedges<G: Adjacency + Sync + ?Sized>(graph: &G, seed: u32, tick: u32) -> Wedges {
    (0..graph.n())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| {
            let nbrs = graph.neighbors(i);
            let d = nbrs.len() as u64;
            if d < 2 {
                return Wedges::default();
            }
            let (s1, s2) = wedge_slots(seed, tick, i, d as u32);
            let (a, b) = (nbrs[s1 as usize], nbrs[s2 as usize]);
            let w = d * (d - 1) / 2;
            let closed = graph.neighbors(a).contains(&b);
            Wedges {
                closed_weight: if closed { w } else { 0 },
                total_weight: w,
                samples: 1,
            }
        })
        .reduce(Wedges::default, |x, y| Wedges {
            closed_weight: x.closed_weight + y.closed_weight,
            total_weight: x.total_weight + y.total_weight,
            samples: x.samples + y.samples,
        })
}

/// Transitivity of a configuration-model graph with these degrees,
/// C_null = (⟨d²⟩ − ⟨d⟩)² / (N·⟨d⟩³), averaged over all N agents (0 without ties).
pub fn configuration_null(degrees: &[u32]) -> f64 {
    let n = degrees.len() as f64;
    let (s1, s2) = degrees
        .par_iter()
        .with_min_len(4096)
        .map(|&d| (d as u64, d as u64 * d as u64))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if s1 == 0 {
        return 0.0;
    }
    let (m1, m2) = (s1 as f64 / n, s2 as f64 / n);
    (m2 - m1).powi(2) / (n * m1.powi(3))
}

/// Per agent, the exact number of closed wedges (twice its triangles) and of wedges, by
/// intersecting neighbour lists: O(Σ d²), for tests and small graphs.
pub fn exact_wedges<G: Adjacency + Sync + ?Sized>(graph: &G) -> Vec<(u64, u64)> {
    (0..graph.n())
        .into_par_iter()
        .map(|i| {
            let nbrs = graph.neighbors(i);
            let d = nbrs.len() as u64;
            let mut closed = 0u64;
            for (x, &a) in nbrs.iter().enumerate() {
                for &b in &nbrs[x + 1..] {
                    if graph.neighbors(a).contains(&b) {
                        closed += 1;
                    }
                }
            }
            (closed, d * d.saturating_sub(1) / 2)
        })
        .collect()
}

/// Exact transitivity: 3·triangles / connected triples.
pub fn exact_transitivity<G: Adjacency + Sync + ?Sized>(graph: &G) -> f64 {
    let (closed, total) = exact_wedges(graph)
        .into_iter()
        .fold((0u64, 0u64), |(c, t), (x, y)| (c + x, t + y));
    if total == 0 {
        0.0
    } else {
        closed as f64 / total as f64
    }
}

impl Wedges {
    /// Standard deviation of [`sample_wedges`]' estimate on a graph whose exact
    /// per-agent counts are `exact` (from [`exact_wedges`]): each agent's wedge is closed
    /// with probability p_i = closed_i / wedges_i independently, so
    /// sd = sqrt(Σ w_i²·p_i(1 − p_i)) / Σ w_i.
    pub fn sd_bound(exact: &[(u64, u64)]) -> f64 {
        let (var, total) = exact.iter().fold((0.0f64, 0u64), |(v, t), &(c, w)| {
            if w == 0 {
                return (v, t);
            }
            let p = c as f64 / w as f64;
            (v + (w as f64).powi(2) * p * (1.0 - p), t + w)
        });
        if total == 0 {
            0.0
        } else {
            var.sqrt() / total as f64
        }
    }
}
