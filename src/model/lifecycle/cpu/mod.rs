//! The lifecycle's CPU twins, one file per kernel of `shaders/`, named like it. Each is
//! the reference semantics of its kernel (docs/lifecycle.md) and part of the CPU backend.

pub(crate) mod lifecycle_agents;
mod lifecycle_psi;
mod ties_commit;
mod ties_confirm;
mod ties_propose;
mod ties_weights;
