//! SIR's CPU twins, one file per kernel of `shaders/`, named like it.

mod sir_step;

pub use sir_step::*;
