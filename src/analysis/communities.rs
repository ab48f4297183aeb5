//! Communities: label propagation by parity classes, modularity, and the alignment of
//! phases inside communities; with normalised mutual information to compare partitions.
//!
//! Synchronous label propagation oscillates (two neighbours swap labels forever), and
//! breaking ties between equally frequent labels by the lowest id lets one label flood
//! the graph. So each round updates the agents in two hash-parity classes in turn, each
//! half-step reading the labels as they were at its start (Jacobi within the class, the
//! same on every backend), and ties go to the label with the smallest salted hash. Even
//! so, on sparse graphs with large communities one label sweeps across community borders;
//! an agent therefore joins a label only when it is tied to it well beyond chance
//! ([`SIGNIFICANCE`]). Labels are agent ids, so every per-label table is an array of N
//! entries.

use crate::graph::Adjacency;
use crate::rng::{self, stream};
use rayon::prelude::*;
use std::collections::BTreeMap as HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// How much more than chance an agent must be tied to a label to join it: agent i (degree
/// k_i) moves to label l only if `count_l · 2M > SIGNIFICANCE · k_i · D_l`, i.e. it holds
/// more than twice the ties a random graph with the same degrees would give it into l
/// (D_l: degree sum of l, 2M: degree sum of all). On small communities the bar is
/// negligible; it is what stops one label from flooding a sparse graph with large
/// communities, where plain label propagation merges them (see docs/lifecycle.md).
pub const SIGNIFICANCE: u64 = 2;

/// Twin of `lpa_step.wgsl`. The label agent i takes in a half-step, reading `labels` as
/// they were at its start:
/// the label most of its neighbours hold (ties go to the smallest `pcg(label ^ h_i)`,
/// h_i = pcg(i ^ salt), so different agents break ties differently), provided the
/// significance test passes; else its own. `buf` is scratch space.
fn next_label(
    i: u32,
    nbrs: &[u32],
    labels: &[u32],
    label_degree: &[u64],
    two_m: u64,
    salt: u32,
    buf: &mut Vec<u32>,
) -> u32 {
    let own = labels[i as usize];
    buf.clear();
    buf.extend(nbrs.iter().map(|&j| labels[j as usize]));
    buf.sort_unstable();
    let tie_salt = rng::pcg(i ^ salt);
    let (mut best, mut best_count, mut best_hash) = (own, 0usize, u32::MAX);
    let mut k = 0;
    while k < buf.len() {
        let label = buf[k];
        let mut end = k + 1;
        while end < buf.len() && buf[end] == label {
            end += 1;
        }
        let count = end - k;
        let hash = rng::pcg(label ^ tie_salt);
        if count > best_count || (count == best_count && hash < best_hash) {
            (best, best_count, best_hash) = (label, count, hash);
        }
        k = end;
    }
    let significant =
        best_count as u64 * two_m > SIGNIFICANCE * nbrs.len() as u64 * label_degree[best as usize];
    if best != own && significant {
        best
    } else {
        own
    }
}

/// Twin of `lpa_label_degrees.wgsl`: the degree sum of every label (labels are agent
/// ids), with integer atomics.
fn label_degrees<G: Adjacency + Sync + ?Sized>(graph: &G, labels: &[u32]) -> Vec<u64> {
    let sums: Vec<AtomicU64> = (0..labels.len()).map(|_| AtomicU64::new(0)).collect();
    (0..graph.n())
        .into_par_iter()
        .with_min_len(4096)
        .for_each(|i| {
            let d = graph.neighbors(i).len() as u64;
            if d > 0 {
                sums[labels[i as usize] as usize].fetch_add(d, Relaxed);
            }
        });
    sums.into_iter().map(AtomicU64::into_inner).collect()
}

/// `rounds` rounds of label propagation on `graph`, warm-started from `labels` (agent
/// ids; `labels[i] = i` for a cold start). Agents without ties first get their own id.
/// Round `r` uses salt = rand4(seed, tick, r, LPA).x; in half-step c ∈ {0, 1} the agents
/// with `pcg(i ^ salt) & 1 == c` move to their neighbours' majority label when it passes
/// the [`SIGNIFICANCE`] test, with the label degree sums of the start of the half-step.
/// Returns how many agents changed label in the last round (0: converged).
pub fn label_propagation<G: Adjacency + Sync + ?Sized>(
    graph: &G,
    labels: &mut Vec<u32>,
    seed: u32,
    tick: u32,
    rounds: u32,
) -> u64 {
    let n = graph.n() as usize;
    assert_eq!(labels.len(), n, "one label per agent");
    labels
        .par_iter_mut()
        .enumerate()
        .with_min_len(4096)
        .for_each(|(i, l)| {
            if graph.neighbors(i as u32).is_empty() {
                *l = i as u32;
            }
        });
    let two_m: u64 = (0..graph.n())
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| graph.neighbors(i).len() as u64)
        .sum();
    let mut next = vec![0u32; n];
    let mut changed = 0;
    for round in 0..rounds {
        let salt = rng::rand4(seed, tick, round, stream::LPA)[0];
        changed = 0;
        for class in 0..2u32 {
            let label_degree = label_degrees(graph, labels);
            let old: &[u32] = labels;
            changed += next
                .par_iter_mut()
                .enumerate()
                .with_min_len(1024)
                .map_init(Vec::new, |buf, (i, out)| {
                    let i = i as u32;
                    let nbrs = graph.neighbors(i);
                    if rng::pcg(i ^ salt) & 1 != class || nbrs.is_empty() {
                        *out = old[i as usize];
                        return 0u64;
                    }
                    *out = next_label(i, nbrs, old, &label_degree, two_m, salt, buf);
                    (*out != old[i as usize]) as u64
                })
                .sum::<u64>();
            std::mem::swap(labels, &mut next);
        }
    }
    changed
}

/// Share of the agents with ties whose label one more update would change (0: label
/// propagation has settled): each agent's [`next_label`] against the current labels and
/// label degrees, with a fresh salt (round 0 of `tick`'s label-propagation stream; the
/// caller passes the row's tick + 1). A diagnostic of convergence,
/// the same on every backend (it reads the labels the run produced).
pub fn unsettled<G: Adjacency + Sync + ?Sized>(
    graph: &G,
    labels: &[u32],
    seed: u32,
    tick: u32,
) -> f64 {
    let label_degree = label_degrees(graph, labels);
    let two_m: u64 = label_degree.iter().sum();
    let salt = rng::rand4(seed, tick, 0, stream::LPA)[0];
    let (moved, tied) = (0..graph.n())
        .into_par_iter()
        .with_min_len(1024)
        .map_init(Vec::new, |buf, i| {
            let nbrs = graph.neighbors(i);
            if nbrs.is_empty() {
                return (0u64, 0u64);
            }
            let next = next_label(i, nbrs, labels, &label_degree, two_m, salt, buf);
            ((next != labels[i as usize]) as u64, 1)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if tied == 0 {
        0.0
    } else {
        moved as f64 / tied as f64
    }
}

/// Distinct labels among agents with ties.
pub fn count_communities<G: Adjacency + Sync + ?Sized>(graph: &G, labels: &[u32]) -> u64 {
    let seen: Vec<AtomicU64> = (0..labels.len()).map(|_| AtomicU64::new(0)).collect();
    (0..graph.n())
        .into_par_iter()
        .with_min_len(4096)
        .for_each(|i| {
            if !graph.neighbors(i).is_empty() {
                seen[labels[i as usize] as usize].store(1, Relaxed);
            }
        });
    seen.iter().map(|s| s.load(Relaxed)).sum()
}

/// Per label (an agent id): ties inside ×2 and degree sum, counted with integer atomics
/// (order-independent).
fn label_ties<G: Adjacency + Sync + ?Sized>(graph: &G, labels: &[u32]) -> (Vec<u64>, Vec<u64>) {
    let n = graph.n() as usize;
    let inside: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let degree: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    (0..graph.n())
        .into_par_iter()
        .with_min_len(1024)
        .for_each(|i| {
            let nbrs = graph.neighbors(i);
            if nbrs.is_empty() {
                return;
            }
            let l = labels[i as usize];
            assert!((l as usize) < n, "labels must be agent ids (< n)");
            let same = nbrs.iter().filter(|&&j| labels[j as usize] == l).count() as u64;
            inside[l as usize].fetch_add(same, Relaxed);
            degree[l as usize].fetch_add(nbrs.len() as u64, Relaxed);
        });
    (
        inside.into_iter().map(AtomicU64::into_inner).collect(),
        degree.into_iter().map(AtomicU64::into_inner).collect(),
    )
}

/// Newman's modularity Q = Σ_c [L_c / M − (D_c / 2M)²] of the partition `labels` (agent
/// ids), with L_c the ties inside c, D_c its degree sum and M the ties (0 without ties).
/// The float sum runs over labels in increasing order, so it is deterministic.
pub fn modularity<G: Adjacency + Sync + ?Sized>(graph: &G, labels: &[u32]) -> f64 {
    let (inside, degree) = label_ties(graph, labels);
    let two_m: u64 = degree.iter().sum();
    if two_m == 0 {
        return 0.0;
    }
    let m = two_m as f64 / 2.0;
    inside
        .iter()
        .zip(&degree)
        .filter(|(_, &d)| d > 0)
        .map(|(&l2, &d)| (l2 as f64 / 2.0) / m - (d as f64 / two_m as f64).powi(2))
        .sum()
}

/// Twin of `community_sums.wgsl` + `community_reduce.wgsl` (the per-community sums of
/// the metrics row and their reduction). Mean alignment inside communities: Σ_c |Σ_{i∈c} e^{iφ_i}| / Σ_c s_c over communities
/// with at least two members, members being the agents with ties that hold the label (0
/// when there is no such community). Summed sequentially in agent order, then over labels
/// in increasing order: deterministic.
pub fn community_alignment<G: Adjacency + Sync + ?Sized>(
    graph: &G,
    labels: &[u32],
    phi: &[f32],
) -> f64 {
    let n = graph.n() as usize;
    let mut sums = vec![(0.0f64, 0.0f64, 0u32); n];
    for i in 0..n {
        if graph.neighbors(i as u32).is_empty() {
            continue;
        }
        let (s, c) = (phi[i] as f64).sin_cos();
        let e = &mut sums[labels[i] as usize];
        e.0 += c;
        e.1 += s;
        e.2 += 1;
    }
    let (mut num, mut den) = (0.0f64, 0u64);
    for &(c, s, size) in &sums {
        if size >= 2 {
            num += c.hypot(s);
            den += size as u64;
        }
    }
    if den == 0 {
        0.0
    } else {
        num / den as f64
    }
}

/// Normalised mutual information 2·I(A; B) / (H(A) + H(B)) of two partitions of the same
/// agents (1 for identical partitions up to renaming; 1 when both are a single block).
pub fn nmi(a: &[u32], b: &[u32]) -> f64 {
    assert_eq!(a.len(), b.len(), "partitions of the same agents");
    let n = a.len() as f64;
    if a.is_empty() {
        return 1.0;
    }
    let mut ca: HashMap<u32, f64> = HashMap::new();
    let mut cb: HashMap<u32, f64> = HashMap::new();
    let mut cab: HashMap<(u32, u32), f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *ca.entry(x).or_default() += 1.0;
        *cb.entry(y).or_default() += 1.0;
        *cab.entry((x, y)).or_default() += 1.0;
    }
    let entropy = |c: &HashMap<u32, f64>| -> f64 {
        c.values()
            .map(|&k| {
                let p = k / n;
                -p * p.ln()
            })
            .sum()
    };
    let (ha, hb) = (entropy(&ca), entropy(&cb));
    if ha + hb == 0.0 {
        return 1.0;
    }
    let mi: f64 = cab
        .iter()
        .map(|(&(x, y), &k)| {
            let pxy = k / n;
            pxy * (pxy / (ca[&x] / n * cb[&y] / n)).ln()
        })
        .sum();
    2.0 * mi / (ha + hb)
}
