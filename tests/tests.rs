//! The one integration-test binary (each test binary links wgpu again, so there is one).
//! Each module covers one part of the pipeline.

mod analyst_io;
mod bad_input;
mod checkpoint;
mod cli;
mod common;
mod community_tracker;
mod compare;
mod components;
mod export;
mod extension;
mod graph;
mod graph_files;
mod interventions;
mod kernels;
mod layout;
mod lifecycle;
mod lifecycle_gpu;
mod memory_plan;
mod models;
mod profile;
mod reference;
mod reliability;
mod render;
mod report;
mod rng;
mod roofline;
mod shaders;
mod stages;
mod state;
mod sweeps;
mod threshold;
mod trig;
