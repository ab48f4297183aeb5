//! The voter's CPU twins, one file per kernel of `shaders/`, named like it
//! (`voter_scatter.rs` holds the twin of `voter_scan.wgsl` too: the scan feeds the scatter).

mod voter_apply;
mod voter_count;
mod voter_metrics;
mod voter_plan;
mod voter_scatter;

pub use voter_apply::*;
pub use voter_count::*;
pub use voter_metrics::*;
pub use voter_plan::*;
pub use voter_scatter::*;
