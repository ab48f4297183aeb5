//! Parameter sweeps and replicate ensembles (DESIGN §12, docs/sweeps.md). A sweep file is
//! expanded once into a plan of runs with ids hashed from their resolved scenarios
//! ([`plan`]); each shard of a job array runs its share into one sweep directory, one
//! small Parquet part file per finished run and an fsync'd done-ledger per shard
//! ([`exec`], [`ledger`]); [`merge`] compacts the parts into a long and a wide table and
//! names what is missing; [`slurm`] prints the sbatch array that runs it on a cluster;
//! [`status`] counts what is done. Slurm (or any job array) schedules the shards: nothing
//! here schedules work across machines.

pub mod exec;
pub mod ledger;
pub mod merge;
pub mod plan;
pub mod slurm;
pub mod status;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The plan's copy inside a sweep directory.
pub const PLAN_FILE: &str = "runs.jsonl";
/// The marker that makes a directory a sweep directory of ours: which plan it runs.
pub const SWEEP_MARKER: &str = "sweep.json";
/// One Parquet file per finished run.
pub const PARTS_DIR: &str = "parts";
/// One done-ledger per shard.
pub const LEDGER_DIR: &str = "ledger";
/// Run directories of runs in progress (their checkpoints), removed once a run's part is
/// written unless `--keep-runs`.
pub const WORK_DIR: &str = "work";
/// Full run directories kept by `--keep-runs`.
pub const RUNS_DIR: &str = "runs";

/// The sweep directory's marker: the plan it runs, so that shards of another plan are
/// refused rather than mixed in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Marker {
    pub kind: String,
    pub name: String,
    pub plan_sha256: String,
    pub runs: usize,
}

impl Marker {
    pub fn read(dir: &Path) -> Option<Marker> {
        let text = std::fs::read_to_string(dir.join(SWEEP_MARKER)).ok()?;
        serde_json::from_str::<Marker>(&text)
            .ok()
            .filter(|m| m.kind == "emergence-sweep")
    }
}

/// A sweep directory's plan, read back for `merge` and `status`.
pub fn open_dir(dir: &Path, flag: &str) -> Result<(Marker, plan::Plan)> {
    let marker = Marker::read(dir).ok_or_else(|| {
        Error::bad_input(format!(
            "{flag} {}: not a sweep directory of emergence (no readable {SWEEP_MARKER}; `emergence sweep run PLAN --out DIR` makes one)",
            dir.display()
        ))
    })?;
    let plan = plan::Plan::read(&dir.join(PLAN_FILE))?;
    if plan.sha256 != marker.plan_sha256 {
        return Err(Error::bad_input(format!(
            "{}: its {PLAN_FILE} is not the plan the sweep started with ({SWEEP_MARKER} names plan {})",
            dir.display(),
            &marker.plan_sha256[..12]
        )));
    }
    Ok((marker, plan))
}

/// `DIR/parts/<run_id>.parquet`.
pub fn part_path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(PARTS_DIR).join(format!("{run_id}.parquet"))
}
