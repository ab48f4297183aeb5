//! The cascade's CPU twins, one file per kernel of `shaders/`, named like it. The sweep
//! counter of `threshold_advance.wgsl` is the driver's tick on the CPU.

mod threshold_seed;
mod threshold_sweep;

pub use threshold_seed::*;
pub use threshold_sweep::*;
