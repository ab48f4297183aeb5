//! emergence: agents that connect into networks, harden into communities of practice and
//! become a system of influence, simulated in WGSL compute shaders with a multithreaded
//! CPU twin of every pass.
//!
//! The pipeline reads top to bottom: a [`config::Scenario`] seeds a [`graph`], the
//! [`model`]'s passes run on a [`backend`] (the GPU via [`gpu`], or the CPU twin), the
//! [`analysis`] reduces order parameters, [`io`] writes the run directory, [`report`]
//! draws it, [`render`] makes frames and movies of it and [`export`] turns its snapshots
//! into GEXF and GraphML.

pub mod analysis;
pub mod backend;
pub mod bench;
pub mod compare;
pub mod config;
pub mod engine;
pub mod error;
pub mod export;
pub mod gpu;
pub mod graph;
pub mod info;
pub mod intervention;
pub mod io;
pub mod model;
pub mod profile;
pub mod progress;
pub mod render;
pub mod report;
pub mod rng;
pub mod roofline;
pub mod run;
pub mod scaling;
pub mod stage_table;
pub mod sweep;
pub mod trig;
pub mod validate;

pub use error::{Error, Result};
