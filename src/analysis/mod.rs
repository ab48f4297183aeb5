//! Structure measured inside the run: connected components (and, with the dynamic-tie
//! models, communities, clustering and stage detection).

pub mod clustering;
pub mod communities;
pub mod community_tracker;
pub mod components;
pub mod label_propagation_gpu;
pub mod nulls;
pub mod stages;
pub mod theory;
