//! The tie store of the dynamic-tie models (DESIGN §3.5): every agent owns K slots, each
//! holding a neighbour id, a weight and an age, in three separate arrays laid out exactly
//! as the GPU buffers are (agent `i`'s slots are `i*K..(i+1)*K`), so uploading is a copy.
//! Fixed capacity is what lets thousands of GPU threads create and cut ties without
//! allocation: each endpoint only ever writes its own slots. Ties are stored at both ends
//! with the same weight, and each agent keeps its live ties compacted at the front.

use super::{Csr, EdgeList};
use rayon::prelude::*;

/// Marks a free slot (no agent can have this id: ids are below `n <= u32::MAX`).
pub const EMPTY: u32 = u32::MAX;

/// Fixed-capacity, symmetric tie slots: 12 bytes per slot (id, weight, age).
#[derive(Debug, Clone, PartialEq)]
pub struct TieStore {
    pub n: u32,
    /// Slots per agent (K): the most ties any agent can hold.
    pub slots: u32,
    /// Neighbour per slot, `n * K` entries; `EMPTY` where free.
    pub neighbor: Vec<u32>,
    /// Weight per slot; 0 where free.
    pub weight: Vec<f32>,
    /// Ticks since the tie formed; 0 where free.
    pub age: Vec<u32>,
    /// Live ties per agent: they occupy slots `0..degree[i]` of the agent.
    pub degree: Vec<u32>,
}

/// One agent's slots, borrowed mutably: its id, neighbour ids, weights, ages and degree.
pub struct RowMut<'a> {
    pub agent: u32,
    pub neighbor: &'a mut [u32],
    pub weight: &'a mut [f32],
    pub age: &'a mut [u32],
    pub degree: &'a mut u32,
}

impl TieStore {
    /// Every agent's slots in parallel, each agent writing only its own (the CPU side of
    /// the rule that an endpoint writes only its own slots).
    pub fn rows_mut(&mut self) -> impl IndexedParallelIterator<Item = RowMut<'_>> {
        let k = self.slots as usize;
        self.neighbor
            .par_chunks_mut(k)
            .zip(self.weight.par_chunks_mut(k))
            .zip(self.age.par_chunks_mut(k))
            .zip(self.degree.par_iter_mut())
            .enumerate()
            .map(|(i, (((neighbor, weight), age), degree))| RowMut {
                agent: i as u32,
                neighbor,
                weight,
                age,
                degree,
            })
    }

    /// `n` agents with no ties and `k` free slots each.
    pub fn empty(n: u32, k: u32) -> TieStore {
        let total = n as usize * k as usize;
        TieStore {
            n,
            slots: k,
            neighbor: vec![EMPTY; total],
            weight: vec![0.0; total],
            age: vec![0; total],
            degree: vec![0; n as usize],
        }
    }

    /// Stores an edge list's ties, taking edges in list order and keeping an edge only if
    /// both ends still have a free slot (so a graph whose degrees exceed K is truncated
    /// the same way every time). Weights come from the list when it has them, else
    /// `initial_weight`; ages start at 0.
    ///
    /// Returns the store and the number of edges not stored: those with a full end (and,
    /// should the list not be simple, self-loops and repeated pairs).
    pub fn from_edges(edges: &EdgeList, k: u32, initial_weight: f32) -> (TieStore, usize) {
        let mut store = TieStore::empty(edges.n, k);
        let mut dropped = 0usize;
        for (e, &(u, v)) in edges.edges.iter().enumerate() {
            if u == v
                || store.degree[u as usize] >= k
                || store.degree[v as usize] >= k
                || store.neighbors(u).contains(&v)
            {
                dropped += 1;
                continue;
            }
            let w = edges.weights.as_ref().map_or(initial_weight, |ws| ws[e]);
            store.push(u, v, w);
            store.push(v, u, w);
        }
        (store, dropped)
    }

    fn push(&mut self, i: u32, j: u32, w: f32) {
        let slot = self.slot_range(i).start + self.degree[i as usize] as usize;
        self.neighbor[slot] = j;
        self.weight[slot] = w;
        self.degree[i as usize] += 1;
    }

    /// Indices of agent `i`'s K slots in the flat arrays.
    pub fn slot_range(&self, i: u32) -> std::ops::Range<usize> {
        let start = i as usize * self.slots as usize;
        start..start + self.slots as usize
    }

    fn live_range(&self, i: u32) -> std::ops::Range<usize> {
        let start = i as usize * self.slots as usize;
        start..start + self.degree[i as usize] as usize
    }

    /// Agent `i`'s live neighbours (slot order, not sorted).
    pub fn neighbors(&self, i: u32) -> &[u32] {
        &self.neighbor[self.live_range(i)]
    }

    /// Weights of agent `i`'s live ties, in the order of [`TieStore::neighbors`].
    pub fn weights(&self, i: u32) -> &[f32] {
        &self.weight[self.live_range(i)]
    }

    /// Number of undirected ties (each is stored at both ends).
    pub fn num_ties(&self) -> usize {
        self.degree.iter().map(|&d| d as usize).sum::<usize>() / 2
    }

    /// The live ties as a weighted CSR (rows sorted, so the result is canonical).
    pub fn to_csr(&self) -> Csr {
        let mut edges = Vec::with_capacity(self.num_ties());
        let mut weights = Vec::with_capacity(self.num_ties());
        for i in 0..self.n {
            for (&j, &w) in self.neighbors(i).iter().zip(self.weights(i)) {
                if i < j {
                    edges.push((i, j));
                    weights.push(w);
                }
            }
        }
        Csr::from_edges(&EdgeList {
            n: self.n,
            edges,
            weights: Some(weights),
        })
    }

    /// Checks everything the GPU passes rely on and must preserve; returns the first
    /// violation (lowest agent id) as a sentence. Ages are not compared across ends.
    pub fn check_invariants(&self) -> Result<(), String> {
        use rayon::prelude::*;
        let n = self.n as usize;
        let k = self.slots as usize;
        let total = n * k;
        if self.neighbor.len() != total || self.weight.len() != total || self.age.len() != total {
            return Err(format!(
                "slot arrays must hold n·K = {total} entries; neighbor has {}, weight {}, age {}",
                self.neighbor.len(),
                self.weight.len(),
                self.age.len()
            ));
        }
        if self.degree.len() != n {
            return Err(format!(
                "degree has {} entries, expected n = {n}",
                self.degree.len()
            ));
        }
        match (0..self.n)
            .into_par_iter()
            .find_map_first(|i| self.check_agent(i).err())
        {
            Some(message) => Err(message),
            None => Ok(()),
        }
    }

    fn check_agent(&self, i: u32) -> Result<(), String> {
        let degree = self.degree[i as usize];
        if degree > self.slots {
            return Err(format!(
                "agent {i}: degree {degree} exceeds K = {}",
                self.slots
            ));
        }
        let slots = self.slot_range(i);
        let live = degree as usize;
        for (s, idx) in slots.clone().enumerate().skip(live) {
            if self.neighbor[idx] != EMPTY || self.weight[idx] != 0.0 || self.age[idx] != 0 {
                return Err(format!(
                    "agent {i} slot {s}: a free slot (degree is {degree}) holds neighbour {:#x}, weight {}, age {}; \
                     live ties must be compacted first and free slots cleared",
                    self.neighbor[idx], self.weight[idx], self.age[idx]
                ));
            }
        }
        let mut seen: Vec<u32> = Vec::with_capacity(live);
        for (s, idx) in slots.take(live).enumerate() {
            let j = self.neighbor[idx];
            if j == EMPTY {
                return Err(format!(
                    "agent {i} slot {s}: empty slot inside the live part (degree {degree})"
                ));
            }
            if j >= self.n {
                return Err(format!(
                    "agent {i} slot {s}: neighbour {j} is not an agent (n = {})",
                    self.n
                ));
            }
            if j == i {
                return Err(format!("agent {i} slot {s}: tie to itself"));
            }
            if seen.contains(&j) {
                return Err(format!("agent {i} slot {s}: second tie to {j}"));
            }
            seen.push(j);
            let w = self.weight[idx];
            let back = self.neighbors(j).iter().position(|&x| x == i);
            match back {
                None => {
                    return Err(format!(
                        "agent {i} slot {s}: tie to {j} has no mirror among {j}'s live slots"
                    ))
                }
                Some(b) => {
                    let w_back = self.weights(j)[b];
                    if w.to_bits() != w_back.to_bits() {
                        return Err(format!(
                            "agent {i} slot {s}: tie to {j} has weight {w} here but {w_back} at {j}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
