//! Compressed sparse rows: the read-only neighbour store of static graphs (generated or
//! imported), used when degrees may exceed the K slots of the dynamic [`TieStore`]. Row `i`
//! lists every neighbour of agent `i` in ascending id order, so two equal graphs always
//! give byte-identical arrays, whatever order their edges came in.
//!
//! [`TieStore`]: super::TieStore

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use super::EdgeList;

/// Edges per parallel task when counting and scattering.
const EDGES_PER_TASK: usize = 1 << 16;
/// Rows per parallel task when sorting.
const ROWS_PER_TASK: usize = 1 << 12;

/// Undirected graph in CSR form: each edge appears in both endpoints' rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Csr {
    /// Row `i` is `neighbors[offsets[i] as usize..offsets[i + 1] as usize]`; length `n + 1`.
    pub offsets: Vec<u32>,
    /// Neighbour ids, each row sorted ascending.
    pub neighbors: Vec<u32>,
    /// Weight of each entry of `neighbors` (the same value in both rows of an edge).
    pub weights: Option<Vec<f32>>,
}

impl Csr {
    /// Builds the canonical CSR of an undirected edge list: count, prefix-sum, scatter,
    /// then sort each (short) row, all but the prefix sum in parallel. About 70 ms for
    /// 10^6 agents and 2·10^6 edges on 2 cores.
    ///
    /// Panics if an edge names an agent `>= edges.n`, if `weights` has the wrong length,
    /// or if there are more than `u32::MAX / 2` edges (offsets are `u32` to halve the
    /// memory the GPU has to read).
    pub fn from_edges(edges: &EdgeList) -> Csr {
        let n = edges.n as usize;
        let entries = edges.edges.len() * 2;
        assert!(
            entries <= u32::MAX as usize,
            "a CSR holds at most {} edges, got {}",
            u32::MAX / 2,
            edges.edges.len()
        );
        if let Some(w) = &edges.weights {
            assert_eq!(w.len(), edges.edges.len(), "one weight per edge");
        }

        // Degrees, then offsets by prefix sum. Counting with relaxed atomics is
        // order-independent, so it can be split across threads freely.
        let counts: Vec<AtomicU32> = (0..=n).map(|_| AtomicU32::new(0)).collect();
        edges.edges.par_chunks(EDGES_PER_TASK).for_each(|chunk| {
            for &(u, v) in chunk {
                counts[u as usize + 1].fetch_add(1, Relaxed);
                counts[v as usize + 1].fetch_add(1, Relaxed);
            }
        });
        let mut offsets: Vec<u32> = counts.into_iter().map(AtomicU32::into_inner).collect();
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }

        // Scatter each edge into both rows through per-row atomic cursors. Threads race
        // for positions within a row, so the rows come out in an arbitrary order; the sort
        // below is what makes the result canonical (and hence deterministic).
        let cursor: Vec<AtomicU32> = offsets[..n].iter().map(|&o| AtomicU32::new(o)).collect();
        let neighbors: Vec<AtomicU32> = (0..entries).map(|_| AtomicU32::new(0)).collect();
        let weight_bits: Option<Vec<AtomicU32>> = edges
            .weights
            .as_ref()
            .map(|_| (0..entries).map(|_| AtomicU32::new(0)).collect());
        edges
            .edges
            .par_chunks(EDGES_PER_TASK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (k, &(u, v)) in chunk.iter().enumerate() {
                    let iu = cursor[u as usize].fetch_add(1, Relaxed) as usize;
                    let iv = cursor[v as usize].fetch_add(1, Relaxed) as usize;
                    neighbors[iu].store(v, Relaxed);
                    neighbors[iv].store(u, Relaxed);
                    if let (Some(out), Some(w)) = (&weight_bits, &edges.weights) {
                        let bits = w[c * EDGES_PER_TASK + k].to_bits();
                        out[iu].store(bits, Relaxed);
                        out[iv].store(bits, Relaxed);
                    }
                }
            });
        drop(cursor);
        let mut neighbors: Vec<u32> = neighbors.into_iter().map(AtomicU32::into_inner).collect();
        let mut weights: Option<Vec<f32>> = weight_bits.map(|bits| {
            bits.into_iter()
                .map(|b| f32::from_bits(b.into_inner()))
                .collect()
        });
        sort_rows(&offsets, &mut neighbors, weights.as_deref_mut());

        Csr {
            offsets,
            neighbors,
            weights,
        }
    }

    /// Number of agents.
    pub fn n(&self) -> u32 {
        (self.offsets.len().saturating_sub(1)) as u32
    }

    pub fn degree(&self, i: u32) -> u32 {
        self.offsets[i as usize + 1] - self.offsets[i as usize]
    }

    /// Neighbours of `i`, ascending.
    pub fn neighbors(&self, i: u32) -> &[u32] {
        &self.neighbors[self.row(i)]
    }

    /// Weights of `i`'s ties, in the order of [`Csr::neighbors`]; `None` if unweighted.
    pub fn weights_of(&self, i: u32) -> Option<&[f32]> {
        let row = self.row(i);
        self.weights.as_ref().map(|w| &w[row])
    }

    pub fn max_degree(&self) -> u32 {
        self.offsets
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// Number of undirected edges (each is stored twice).
    pub fn num_edges(&self) -> usize {
        self.neighbors.len() / 2
    }

    fn row(&self, i: u32) -> std::ops::Range<usize> {
        self.offsets[i as usize] as usize..self.offsets[i as usize + 1] as usize
    }
}

/// Sorts every row ascending by neighbour (ties, possible only in a non-simple list, by
/// weight bits), carrying weights along. Rows are sorted independently, in parallel.
fn sort_rows(offsets: &[u32], neighbors: &mut [u32], mut weights: Option<&mut [f32]>) {
    let n = offsets.len() - 1;
    // Cut the arrays into disjoint blocks of whole rows so each task owns its slices.
    let mut blocks = Vec::with_capacity(n.div_ceil(ROWS_PER_TASK));
    let mut rest_n = neighbors;
    let mut rest_w = weights.take();
    let mut row = 0;
    while row < n {
        let end = (row + ROWS_PER_TASK).min(n);
        let len = (offsets[end] - offsets[row]) as usize;
        let (block_n, tail_n) = rest_n.split_at_mut(len);
        rest_n = tail_n;
        let block_w = match rest_w.take() {
            Some(w) => {
                let (block_w, tail_w) = w.split_at_mut(len);
                rest_w = Some(tail_w);
                Some(block_w)
            }
            None => None,
        };
        blocks.push((row, end, block_n, block_w));
        row = end;
    }
    blocks
        .into_par_iter()
        .for_each(|(first, end, block_n, mut block_w)| {
            let base = offsets[first] as usize;
            let mut pairs: Vec<(u32, u32)> = Vec::new();
            for r in first..end {
                let range = offsets[r] as usize - base..offsets[r + 1] as usize - base;
                let row_n = &mut block_n[range.clone()];
                match block_w.as_deref_mut() {
                    None => row_n.sort_unstable(),
                    Some(w) => {
                        let row_w = &mut w[range];
                        pairs.clear();
                        pairs.extend(
                            row_n
                                .iter()
                                .zip(row_w.iter())
                                .map(|(&j, &x)| (j, x.to_bits())),
                        );
                        pairs.sort_unstable();
                        for (k, &(j, bits)) in pairs.iter().enumerate() {
                            row_n[k] = j;
                            row_w[k] = f32::from_bits(bits);
                        }
                    }
                }
            }
        });
}
