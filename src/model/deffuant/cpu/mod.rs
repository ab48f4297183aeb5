//! Deffuant's CPU twins, one file per kernel of `shaders/`, named like it.

mod deffuant_choose;
mod deffuant_update;

pub use deffuant_choose::*;
pub use deffuant_update::*;
