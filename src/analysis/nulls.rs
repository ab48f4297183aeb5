//! Nulls on the same graph, for the stage-2 evidence (DESIGN §5, docs/stages.md). Ties in
//! the lifecycle only form between agents pointing the same way, so any tie-defined group
//! beats independent phases by selection alone, and raw thresholds are met by any
//! fragmented network (a forest of small components has Q ≈ 1). Each statistic is
//! therefore compared with its value on a null that keeps what the evidence must not
//! rest on: a degree-preserving rewiring of the run's own ties (clustering, modularity)
//! and the run's own community sizes placed at random inside the same components
//! (alignment). Everything here is deterministic: random choices come from counter-based
//! streams keyed by (seed, tick, index), and sums run in a fixed order.

use crate::graph::{Adjacency, Csr, EdgeList};
use crate::rng::{self, stream};
use rayon::prelude::*;

/// Communities of at least this many members count as communities (of practice) in the
/// knowledge comparison and the community tracker; smaller groups are pairs and triads
/// that any sparse graph has.
pub const MIN_COMMUNITY: u32 = 5;

/// Width of the tie-weight bins of the matched knowledge comparison.
pub const WEIGHT_BIN: f64 = 0.25;

/// The configuration-model graph with the degrees of `graph`: every tie end (stub) gets
/// a random key, stubs are paired in key order, and self-ties and repeated pairs are
/// dropped (a dropped repeated pair lowers two degrees by one, a dropped self-tie one
/// degree by two; at the lifecycle's degrees well under 1% of the ties). Keys are `pcg`
/// hashes of (stub index, salt) with the index as tie-breaker, so the sort, and the
/// graph, do not depend on the thread count.
pub fn rewired<G: Adjacency + Sync + ?Sized>(graph: &G, seed: u32, tick: u32) -> Csr {
    let n = graph.n();
    let salt = rng::rand4(seed, tick, 0, stream::NULL_REWIRE)[0];
    let mut stubs: Vec<(u32, u32, u32)> = Vec::new();
    for i in 0..n {
        for _ in graph.neighbors(i) {
            let k = stubs.len() as u32;
            stubs.push((rng::pcg(k ^ salt), k, i));
        }
    }
    stubs.par_sort_unstable();
    let mut edges: Vec<(u32, u32)> = stubs
        .chunks_exact(2)
        .filter_map(|p| {
            let (a, b) = (p[0].2, p[1].2);
            (a != b).then_some((a.min(b), a.max(b)))
        })
        .collect();
    drop(stubs);
    edges.par_sort_unstable();
    edges.dedup();
    Csr::from_edges(&EdgeList {
        n,
        edges,
        weights: None,
    })
}

/// `labels` with the labels of the agents with ties permuted at random within each
/// connected component (`component[i]`: the component's label): every community keeps
/// its size and its component, but its members become a random set of that component.
/// Agents without ties keep their own.
pub fn permuted_within_components<G: Adjacency + Sync + ?Sized>(
    graph: &G,
    labels: &[u32],
    component: &[u32],
    seed: u32,
    tick: u32,
) -> Vec<u32> {
    let salt = rng::rand4(seed, tick, 0, stream::NULL_PERMUTE)[0];
    let tied: Vec<u32> = (0..graph.n())
        .filter(|&i| !graph.neighbors(i).is_empty())
        .collect();
    // The same agents twice, grouped by component: once in id order (whose labels are
    // dealt), once in random order (who receives them).
    let mut by_id: Vec<(u32, u32)> = tied.iter().map(|&i| (component[i as usize], i)).collect();
    let mut shuffled: Vec<(u32, u32, u32)> = tied
        .iter()
        .map(|&i| (component[i as usize], rng::pcg(i ^ salt), i))
        .collect();
    by_id.par_sort_unstable();
    shuffled.par_sort_unstable();
    let mut out = labels.to_vec();
    for (&(_, from), &(_, _, to)) in by_id.iter().zip(&shuffled) {
        out[to as usize] = labels[from as usize];
    }
    out
}

/// Sizes of the labels among agents with ties (labels are agent ids).
pub fn community_sizes<G: Adjacency + Sync + ?Sized>(graph: &G, labels: &[u32]) -> Vec<u32> {
    let mut size = vec![0u32; labels.len()];
    for i in 0..graph.n() {
        if !graph.neighbors(i).is_empty() {
            size[labels[i as usize] as usize] += 1;
        }
    }
    size
}

/// Knowledge growth inside communities of practice against the rest (`knowledge_growth_*`
/// columns): the mean rate dk/dt of agents in communities of ≥ [`MIN_COMMUNITY`] members,
/// of the other agents, and the difference at equal tie weight (agents binned by Σ_j w_ij
/// in bins of [`WEIGHT_BIN`]; per bin the difference of the two means, weighted by the
/// inside agents of the bin; bins holding only one group are left out). NaN where a
/// group is empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnowledgeGrowth {
    pub inside: f64,
    pub outside: f64,
    pub matched: f64,
}

/// [`KnowledgeGrowth`] from each agent's growth rate, total tie weight and whether it is
/// inside a community of practice. Sequential sums in agent order: deterministic.
pub fn knowledge_growth(rate: &[f64], tie_weight: &[f64], inside: &[bool]) -> KnowledgeGrowth {
    let bins = tie_weight
        .iter()
        .map(|&w| (w / WEIGHT_BIN) as usize + 1)
        .max()
        .unwrap_or(1);
    // Per bin: (sum, count) inside and outside.
    let mut acc = vec![[0.0f64, 0.0, 0.0, 0.0]; bins];
    let (mut si, mut ni, mut so, mut no) = (0.0, 0u64, 0.0, 0u64);
    for ((&g, &w), &inn) in rate.iter().zip(tie_weight).zip(inside) {
        let b = &mut acc[(w / WEIGHT_BIN) as usize];
        if inn {
            si += g;
            ni += 1;
            b[0] += g;
            b[1] += 1.0;
        } else {
            so += g;
            no += 1;
            b[2] += g;
            b[3] += 1.0;
        }
    }
    let mean = |s: f64, n: u64| if n == 0 { f64::NAN } else { s / n as f64 };
    let (mut diff, mut weight) = (0.0, 0.0);
    for b in &acc {
        if b[1] > 0.0 && b[3] > 0.0 {
            diff += b[1] * (b[0] / b[1] - b[2] / b[3]);
            weight += b[1];
        }
    }
    KnowledgeGrowth {
        inside: mean(si, ni),
        outside: mean(so, no),
        matched: if weight > 0.0 {
            diff / weight
        } else {
            f64::NAN
        },
    }
}
