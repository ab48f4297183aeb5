//! Models: one module each, holding its parameters, its passes and the CPU twin of each
//! pass. A model run returns a [`crate::io::MetricsTable`] and a final state.

pub mod deffuant;
pub mod kuramoto;
pub mod lifecycle;
pub mod lifecycle_gpu;
pub mod sir;
pub mod threshold;
pub mod voter;
