//! `sweep status DIR`: how far a sweep is: runs done, failed and pending, and of the
//! pending ones those in progress (a run directory under `work/`) and those with a
//! checkpoint to resume from. Read only; safe while shards run.

use super::ledger::{self, Outcome};
use super::WORK_DIR;
use crate::error::Result;
use crate::io::checkpoint;
use crate::io::rundir::{Manifest, Status};
use std::path::Path;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepStatus {
    pub sweep: String,
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    pub pending: usize,
    /// Pending runs whose run directory says running.
    pub running: usize,
    /// Pending runs with a checkpoint (an interrupted attempt, resumed by the next
    /// `sweep run` of their shard).
    pub resumable: usize,
    /// Failed runs: id and message.
    pub failures: Vec<(String, String)>,
}

impl SweepStatus {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "sweep {}: {} runs: {} done, {} failed, {} pending ({} running, {} resumable from a checkpoint)\n",
            self.sweep, self.runs, self.done, self.failed, self.pending, self.running, self.resumable
        );
        for (id, m) in self.failures.iter().take(20) {
            s.push_str(&format!("  failed: {id}: {m}\n"));
        }
        s
    }
}

/// `emergence sweep status`.
pub fn status(dir: &Path) -> Result<SweepStatus> {
    let (marker, plan) = super::open_dir(dir, "status")?;
    let latest = ledger::latest(&ledger::read_all(dir)?);
    let mut st = SweepStatus {
        sweep: marker.name,
        runs: plan.runs.len(),
        done: 0,
        failed: 0,
        pending: 0,
        running: 0,
        resumable: 0,
        failures: Vec::new(),
    };
    for r in &plan.runs {
        match latest.get(&r.run_id) {
            Some(e) if e.status == Outcome::Done && super::part_path(dir, &r.run_id).is_file() => {
                st.done += 1
            }
            Some(e) if e.status == Outcome::Failed => {
                st.failed += 1;
                st.failures
                    .push((r.run_id.clone(), e.message.clone().unwrap_or_default()));
            }
            _ => {
                st.pending += 1;
                let work = dir.join(WORK_DIR).join(&r.run_id);
                if let Some(m) = Manifest::read(&work) {
                    if m.status == Status::Running && m.maybe_running() {
                        st.running += 1;
                    } else if !checkpoint::list(&work).is_empty() {
                        st.resumable += 1;
                    }
                }
            }
        }
    }
    Ok(st)
}
