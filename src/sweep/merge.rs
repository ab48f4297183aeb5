//! `sweep merge DIR --out TABLES`: the part files of a sweep directory compacted into
//! `long.parquet` (every row of every done run, in plan order) and `runs.parquet` (one
//! row per planned run: its parameters and seed, status, final metrics and stage ticks),
//! with `merge.json` saying what is in them. A part whose columns are not the plan's is
//! refused by name; runs missing or failed are listed, and make the exit code 1.

use super::exec::{param_array, part_schema};
use super::ledger::{self, Entry, Outcome};
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::io::rundir;
use crate::io::table::{self, read_error, Column};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The marker of a merge's output folder.
pub const MERGE_MARKER: &str = "merge.json";
pub const LONG: &str = "long.parquet";
pub const RUNS: &str = "runs.parquet";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MergeReport {
    pub kind: String,
    pub sweep: String,
    pub plan_sha256: String,
    pub runs: usize,
    pub done: usize,
    pub rows: u64,
    /// Runs the ledgers record as failed (and not done since): id, index, message.
    pub failed: Vec<MissingRun>,
    /// Runs with no ledger line yet (pending, running or lost).
    pub missing: Vec<MissingRun>,
    /// The swept parameters and the metric columns, for `report`.
    pub params: Vec<String>,
    pub columns: Vec<String>,
    /// The first run's resolved scenario: the constants of the sweep, for `report`.
    #[serde(default)]
    pub config: Option<String>,
    pub long: PathBuf,
    pub wide: PathBuf,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MissingRun {
    pub run_id: String,
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl MergeReport {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "sweep {}: {} of {} runs merged ({} rows) into {} and {}",
            self.sweep,
            self.done,
            self.runs,
            self.rows,
            self.long.display(),
            self.wide.display()
        );
        if !self.failed.is_empty() {
            s.push_str(&format!("; {} failed", self.failed.len()));
        }
        if !self.missing.is_empty() {
            s.push_str(&format!("; {} missing", self.missing.len()));
        }
        s.push('\n');
        for f in self.failed.iter().take(20) {
            s.push_str(&format!(
                "  failed: run {} (#{}): {}\n",
                f.run_id,
                f.index,
                f.message.as_deref().unwrap_or("")
            ));
        }
        for m in self.missing.iter().take(20) {
            s.push_str(&format!("  missing: run {} (#{})\n", m.run_id, m.index));
        }
        let more = self.failed.len().saturating_sub(20) + self.missing.len().saturating_sub(20);
        if more > 0 {
            s.push_str(&format!("  … and {more} more (merge.json lists all)\n"));
        }
        s
    }

    /// Every planned run is in the tables.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.missing.is_empty()
    }
}

/// The output folder may be new, empty, or a merge's output of ours (replaced).
fn claim_out(out: &Path) -> Result<()> {
    let shown = out.display();
    match std::fs::symlink_metadata(out) {
        Ok(md) if !md.is_dir() => Err(Error::bad_input(format!(
            "--out {shown}: is a file; --out names the folder that gets {LONG} and {RUNS}"
        ))),
        Ok(_) => {
            let ours = out.join(MERGE_MARKER).is_file();
            let empty = std::fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
            if ours || empty {
                Ok(())
            } else {
                Err(Error::bad_input(format!(
                    "--out {shown}: exists and holds files that are not a merge's ({MERGE_MARKER} is absent); give a new or empty folder"
                )))
            }
        }
        Err(_) => std::fs::create_dir_all(out).map_err(|e| Error::io(out, e)),
    }
}

/// One done run's final row, read from its part.
struct Final {
    values: Vec<Option<f64>>,
    rows: u64,
}

fn open_part(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))
}

/// Check a part's columns against the plan's and read its last row.
fn check_part(path: &Path, schema: &arrow_schema::Schema, plan: &Plan) -> Result<Final> {
    let builder = open_part(path)?;
    let found = builder.schema().clone();
    for (i, want) in schema.fields().iter().enumerate() {
        match found.fields().get(i) {
            Some(f) if f.name() == want.name() && f.data_type() == want.data_type() => {}
            Some(f) if f.name() == want.name() => {
                return Err(Error::bad_input(format!(
                    "{}: column `{}` is {} here but {} in the plan; the part is not of this sweep's plan",
                    path.display(),
                    f.name(),
                    f.data_type(),
                    want.data_type()
                )))
            }
            _ => {
                return Err(Error::bad_input(format!(
                    "{}: column {} should be `{}` ({}) as in the plan; the part is not of this sweep's plan",
                    path.display(),
                    i + 1,
                    want.name(),
                    want.data_type()
                )))
            }
        }
    }
    if found.fields().len() != schema.fields().len() {
        return Err(Error::bad_input(format!(
            "{}: {} columns, the plan's parts have {}",
            path.display(),
            found.fields().len(),
            schema.fields().len()
        )));
    }
    let first_metric = 3 + plan.header.params.len();
    let mut last: Option<RecordBatch> = None;
    let mut rows = 0u64;
    for batch in builder.build().map_err(|e| read_error(path, e))? {
        let batch = batch.map_err(|e| read_error(path, e))?;
        rows += batch.num_rows() as u64;
        if batch.num_rows() > 0 {
            last = Some(batch);
        }
    }
    let values = plan
        .header
        .columns
        .iter()
        .enumerate()
        .map(|(k, _)| {
            let b = last.as_ref()?;
            let col = b.column(first_metric + k);
            let row = b.num_rows() - 1;
            if col.is_null(row) {
                return None;
            }
            if let Some(a) = col.as_any().downcast_ref::<Float64Array>() {
                Some(a.value(row))
            } else {
                col.as_any()
                    .downcast_ref::<Int64Array>()
                    .map(|a| a.value(row) as f64)
            }
        })
        .collect();
    Ok(Final { values, rows })
}

/// `emergence sweep merge`.
pub fn merge(dir: &Path, out: &Path) -> Result<MergeReport> {
    let (marker, plan) = super::open_dir(dir, "merge")?;
    claim_out(out)?;
    let latest = ledger::latest(&ledger::read_all(dir)?);
    let schema = Arc::new(part_schema(&plan));
    let mut finals: Vec<Option<Final>> = Vec::with_capacity(plan.runs.len());
    let mut failed = Vec::new();
    let mut missing = Vec::new();
    let mut rows = 0u64;
    for r in &plan.runs {
        let part = super::part_path(dir, &r.run_id);
        match latest.get(&r.run_id) {
            Some(e) if e.status == Outcome::Done && part.is_file() => {
                let f = check_part(&part, &schema, &plan)?;
                rows += f.rows;
                finals.push(Some(f));
            }
            Some(e) if e.status == Outcome::Failed => {
                failed.push(MissingRun {
                    run_id: r.run_id.clone(),
                    index: r.index,
                    message: e.message.clone(),
                });
                finals.push(None);
            }
            _ => {
                missing.push(MissingRun {
                    run_id: r.run_id.clone(),
                    index: r.index,
                    message: None,
                });
                finals.push(None);
            }
        }
    }
    // The long table: every done run's part, streamed in plan order.
    let long = out.join(LONG);
    let parquet_error =
        |e: parquet::errors::ParquetError| std::io::Error::other(format!("writing Parquet: {e}"));
    rundir::write_atomic_file(&long, |file| {
        let w = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut writer = ArrowWriter::try_new(w, Arc::clone(&schema), Some(table::properties()))
            .map_err(parquet_error)?;
        for (r, f) in plan.runs.iter().zip(&finals) {
            if f.is_none() {
                continue;
            }
            let part = super::part_path(dir, &r.run_id);
            let reader = open_part(&part)
                .and_then(|b| b.build().map_err(|e| read_error(&part, e)))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            for batch in reader {
                let batch =
                    batch.map_err(|e| std::io::Error::other(format!("{}: {e}", part.display())))?;
                let batch = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", part.display())))?;
                writer.write(&batch).map_err(parquet_error)?;
            }
        }
        writer
            .into_inner()
            .map_err(parquet_error)?
            .into_inner()
            .map_err(|e| e.into_error())
    })?;
    // The wide table: one row per planned run.
    let n = plan.runs.len();
    let mut columns = vec![
        Column::new(
            "run_id",
            Arc::new(StringArray::from_iter_values(
                plan.runs.iter().map(|r| r.run_id.as_str()),
            )) as ArrayRef,
        ),
        Column::new(
            "replicate",
            Arc::new(Int64Array::from_iter_values(
                plan.runs.iter().map(|r| r.replicate as i64),
            )) as ArrayRef,
        ),
        Column::new(
            "seed",
            Arc::new(Int64Array::from_iter_values(
                plan.runs.iter().map(|r| r.seed),
            )) as ArrayRef,
        ),
    ];
    for p in &plan.header.params {
        let values: Vec<Option<&serde_json::Value>> =
            plan.runs.iter().map(|r| r.params.get(&p.name)).collect();
        columns.push(Column::new(&p.name, param_array(p.kind, &values)));
    }
    let status: Vec<&str> = plan
        .runs
        .iter()
        .zip(&finals)
        .map(|(r, f)| match (f, latest.get(&r.run_id)) {
            (Some(_), _) => "done",
            (None, Some(e)) if e.status == Outcome::Failed => "failed",
            _ => "missing",
        })
        .collect();
    columns.push(Column::new(
        "status",
        Arc::new(StringArray::from(status)) as ArrayRef,
    ));
    let entry = |r: &super::plan::PlannedRun| latest.get(&r.run_id);
    columns.push(Column::new(
        "message",
        Arc::new(StringArray::from(
            plan.runs
                .iter()
                .map(|r| entry(r).and_then(|e| e.message.clone()))
                .collect::<Vec<_>>(),
        )) as ArrayRef,
    ));
    columns.push(Column::new(
        "ticks_run",
        Arc::new(
            plan.runs
                .iter()
                .zip(&finals)
                .map(|(r, f)| f.as_ref().and(entry(r)).map(|e| e.ticks_run as i64))
                .collect::<Int64Array>(),
        ) as ArrayRef,
    ));
    columns.push(Column::new(
        "wall_s",
        Arc::new(
            plan.runs
                .iter()
                .zip(&finals)
                .map(|(r, f)| f.as_ref().and(entry(r)).map(|e| e.wall_s))
                .collect::<Float64Array>(),
        ) as ArrayRef,
    ));
    for (k, c) in plan.header.columns.iter().enumerate() {
        let values = finals.iter().map(|f| f.as_ref().and_then(|f| f.values[k]));
        let array: ArrayRef = if c.integer {
            Arc::new(values.map(|v| v.map(|v| v as i64)).collect::<Int64Array>())
        } else {
            Arc::new(values.collect::<Float64Array>())
        };
        columns.push(Column::new(&c.name, array));
    }
    // A column of what each done run's ledger line says (null where it says nothing).
    let from_ledger = |name: String, value: &dyn Fn(&Entry) -> Option<i64>| {
        Column::new(
            name,
            Arc::new(
                plan.runs
                    .iter()
                    .zip(&finals)
                    .map(|(r, f)| f.as_ref().and(entry(r)).and_then(value))
                    .collect::<Int64Array>(),
            ) as ArrayRef,
        )
    };
    if plan.header.stages {
        for stage in 1..=3 {
            let key = stage.to_string();
            columns.push(from_ledger(format!("stage_{stage}_tick"), &|e| {
                e.stages.get(&key).map(|&t| t as i64)
            }));
        }
    }
    // The whole-run counts the ledgers hold, a column each.
    let keys: std::collections::BTreeSet<&String> =
        latest.values().flat_map(|e| e.totals.keys()).collect();
    for key in keys {
        columns.push(from_ledger(key.clone(), &|e| {
            e.totals.get(key).map(|&v| v as i64)
        }));
    }
    debug_assert!(columns.iter().all(|c| c.values.len() == n));
    let wide = out.join(RUNS);
    table::write_parquet(&wide, &columns)?;
    let report = MergeReport {
        kind: "emergence-sweep-merge".into(),
        sweep: marker.name,
        plan_sha256: plan.sha256.clone(),
        runs: n,
        done: finals.iter().filter(|f| f.is_some()).count(),
        rows,
        failed,
        missing,
        params: plan.header.params.iter().map(|p| p.name.clone()).collect(),
        columns: plan.header.columns.iter().map(|c| c.name.clone()).collect(),
        config: plan.runs.first().map(|r| r.config.clone()),
        long,
        wide,
    };
    rundir::write_atomic(
        &out.join(MERGE_MARKER),
        (serde_json::to_string_pretty(&report).expect("a merge report serialises") + "\n")
            .as_bytes(),
    )?;
    Ok(report)
}
