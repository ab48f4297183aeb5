//! `emergence stages METRICS`: the stage detector on any metrics table, a finished run's
//! `metrics.csv` or `metrics.parquet`, an older run's, or a table edited by hand, so the
//! criteria can be probed from outside the run. N comes from `--agents` or from the
//! `summary.json` beside the table.

use crate::analysis::stages::{
    self, OnlineTracker, OnlineTransition, StageParams, StageReport, REQUIRED_COLUMNS,
};
use crate::error::{Error, Result};
use crate::io::MetricsTable;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The detector's verdicts on one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableStages {
    pub file: PathBuf,
    pub agents: u32,
    /// Where N came from: "--agents" or the summary.json read.
    pub agents_from: String,
    pub rows: usize,
    /// The offline detector on the whole table.
    pub report: StageReport,
    /// What the online tracker says feeding the rows one by one.
    pub online: Vec<OnlineTransition>,
}

/// Read a metrics table by its format: Parquet when the file starts with `PAR1`, else CSV.
pub fn read_table(path: &Path) -> Result<MetricsTable> {
    // A table that cannot be read is the user's input gone wrong (exit 2), not ours.
    let bytes = std::fs::read(path)
        .map_err(|e| Error::bad_input(format!("{}: cannot read: {e}", path.display())))?;
    if bytes.starts_with(b"PAR1") {
        return crate::io::table::read_metrics_parquet(path);
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::bad_input(format!(
            "{}: neither Parquet nor UTF-8 CSV; allowed: a metrics.csv or metrics.parquet",
            path.display()
        ))
    })?;
    crate::report::parse_metrics_csv(&text, path)
}

/// N from `summary.json` beside the table.
fn agents_beside(path: &Path) -> Option<(u32, PathBuf)> {
    let summary = path.parent()?.join("summary.json");
    let text = std::fs::read_to_string(&summary).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let n = v.get("agents")?.as_u64()?;
    Some((u32::try_from(n).ok()?, summary))
}

/// Run the detector (offline and online) on the table at `path`. Bad input (no file, not a
/// table, not a lifecycle table, no N) is one line naming the file, before any work.
pub fn detect_file(path: &Path, agents: Option<u32>) -> Result<TableStages> {
    let table = read_table(path)?;
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !table.columns.iter().any(|t| t == c))
        .collect();
    if !missing.is_empty() {
        return Err(Error::bad_input(format!(
            "{}: not a lifecycle metrics table: no column {}; the detector needs {}",
            path.display(),
            missing.join(", "),
            REQUIRED_COLUMNS.join(", ")
        )));
    }
    let (agents, agents_from) = match agents {
        Some(0) => {
            return Err(Error::bad_input(
                "--agents 0: allowed: the number of agents of the run, at least 1".to_string(),
            ))
        }
        Some(n) => (n, "--agents".to_string()),
        None => match agents_beside(path) {
            Some((n, summary)) => (n, summary.display().to_string()),
            None => {
                return Err(Error::bad_input(format!(
                    "{}: the number of agents is needed (stage 1 scales with N) and there is no readable summary.json beside it; give --agents N",
                    path.display()
                )))
            }
        },
    };
    let params = StageParams::new(agents);
    let report = stages::detect(&table, &params).expect("the required columns are present");
    let online = OnlineTracker::replay(&table, params).said().to_vec();
    Ok(TableStages {
        file: path.to_path_buf(),
        agents,
        agents_from,
        rows: table.rows.len(),
        report,
        online,
    })
}

impl TableStages {
    /// The text `emergence stages` prints.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{}: {} rows, N = {} (from {})",
            self.file.display(),
            self.rows,
            self.agents,
            self.agents_from
        )];
        lines.extend(self.report.describe());
        for t in &self.online {
            lines.push(format!(
                "online: stage {} {} said at the row of tick {}, dated to tick {}",
                t.stage, t.name, t.confirmed_at, t.tick
            ));
        }
        lines
    }
}
