//! Graphs: the initial ties of a run. Generators and the edge-list importer produce an
//! [`EdgeList`]; static models read it as a compact [`Csr`] store, dynamic-tie models
//! as a fixed-capacity [`TieStore`] (K slots per agent).

pub mod build;
pub mod csr;
pub mod generators;
pub mod import;
pub mod ties;

pub use build::{build_graph, tie_slots, GraphSummary};
pub use csr::Csr;
pub use ties::TieStore;

/// Read access to an undirected graph's rows, so the analyses (components, label
/// propagation, modularity) run alike on a static [`Csr`] and on the live ties of a
/// [`TieStore`] without copying one into the other every metrics row.
pub trait Adjacency {
    /// Number of agents (ids are `0..n`).
    fn n(&self) -> u32;
    /// Neighbours of `i`, each once (order is the store's own).
    fn neighbors(&self, i: u32) -> &[u32];
}

impl Adjacency for Csr {
    fn n(&self) -> u32 {
        Csr::n(self)
    }
    fn neighbors(&self, i: u32) -> &[u32] {
        Csr::neighbors(self, i)
    }
}

impl Adjacency for TieStore {
    fn n(&self) -> u32 {
        self.n
    }
    fn neighbors(&self, i: u32) -> &[u32] {
        TieStore::neighbors(self, i)
    }
}

/// Undirected simple graph as a list of edges `(u, v)` with `u != v`, each pair once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeList {
    /// Number of agents (ids are `0..n`).
    pub n: u32,
    pub edges: Vec<(u32, u32)>,
    /// Optional weight per edge (same order as `edges`).
    pub weights: Option<Vec<f32>>,
}

impl EdgeList {
    pub fn mean_degree(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            2.0 * self.edges.len() as f64 / self.n as f64
        }
    }
}
