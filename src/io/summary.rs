//! `summary.json`: what a run was and how it ended (DESIGN §10: model, agents,
//! ticks_run, seed, backend, adapter, wall_s, ticks_per_s, final, stages).

use crate::analysis::stages::Transition;
use crate::graph::GraphSummary;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub model: String,
    pub agents: u32,
    pub ticks_run: u64,
    pub seed: u32,
    pub backend: String,
    pub adapter: String,
    pub wall_s: f64,
    pub ticks_per_s: f64,
    #[serde(rename = "final")]
    pub final_row: serde_json::Map<String, serde_json::Value>,
    pub converged: bool,
    pub graph: GraphSummary,
    pub components: serde_json::Value,
    /// lifecycle: the first ticks at which S1 ≥ 0.1, clustering ≥ 0.2 and adoption ≥ 0.1,
    /// 0.5, 0.9 (null: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<serde_json::Value>,
    /// lifecycle: the stage transitions found by `analysis::stages` (DESIGN §5, §10);
    /// absent for models without stages. `stages.json` holds the full report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Transition>>,
    /// lifecycle: the communities of practice tracked across the run (counts, peak sizes,
    /// lifetimes, events; docs/stages.md). `communities.parquet` holds every sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<serde_json::Value>,
    /// The classical models' outcome next to the theory they are checked against
    /// (sir, deffuant, voter, kuramoto).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The interventions applied (tick, action, what fired it, agents and ties touched);
    /// absent for a scenario without `[[intervention]]`. `interventions.csv` holds the
    /// same lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interventions: Option<Vec<crate::intervention::Applied>>,
    /// The ties the run's own passes created and removed from tick 0 (the lifecycle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ties: Option<crate::model::TieTotals>,
    pub version: String,
}
