//! Kuramoto's CPU twins, one file per kernel of `shaders/`, named like it.

mod kuramoto_order_final;
mod kuramoto_order_partial;
mod kuramoto_stage;
mod power_step;

pub use kuramoto_order_final::*;
pub(crate) use kuramoto_order_partial::*;
pub use kuramoto_stage::*;
pub use power_step::*;
