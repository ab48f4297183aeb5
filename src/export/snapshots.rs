//! Reading a run's saved snapshots back (`snapshots/agents-<tick>.parquet`,
//! `snapshots/ties-<tick>.parquet`, written by [`crate::io::snapshot`]) for `export` and
//! `render`. [`SavedRun::open`] checks the whole run directory before anything is
//! written: that it is a run directory of ours, that it has snapshots, that every
//! snapshot file is a Parquet file with the columns and types the writer gives them, and
//! that a run with ties has a ties file for every snapshot. Reading a file then gives its
//! columns as typed vectors.

use crate::engine::Values;
use crate::error::{Error, Result};
use crate::io::rundir::{Manifest, MANIFEST};
use crate::io::snapshot::{self, agents_file, ties_file};
use crate::io::table::read_error;
use arrow_array::{Array, Float32Array, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

/// Rows per record batch read.
const BATCH: usize = 1 << 16;

/// A run directory with snapshots, checked.
#[derive(Debug, Clone)]
pub struct SavedRun {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Snapshot ticks, ascending.
    pub ticks: Vec<u64>,
    /// Agents in every snapshot.
    pub agents: u32,
    /// Whether the run has ties files (not a well-mixed run).
    pub has_ties: bool,
    /// The per-agent columns of the agents files (`id` left out), in file order.
    pub agent_columns: Vec<(String, DataType)>,
    /// Whether the ties files have `weight` and `age`.
    pub tie_weight: bool,
    pub tie_age: bool,
}

/// The ties of one snapshot, each once with `src < dst`.
#[derive(Debug, Clone, Default)]
pub struct Ties {
    pub src: Vec<u32>,
    pub dst: Vec<u32>,
    /// Empty when the run keeps no weights (ages).
    pub weight: Vec<f32>,
    pub age: Vec<u32>,
}

impl Ties {
    pub fn len(&self) -> usize {
        self.src.len()
    }

    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }
}

/// The columns a Parquet file declares (name, type) and its row count, from its footer.
fn schema_of(path: &Path) -> Result<(Vec<(String, DataType)>, u64)> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::bad_input(format!("{}: cannot be read ({e})", path.display())))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    Ok((columns, rows))
}

fn column_error(path: &Path, what: String) -> Error {
    Error::bad_input(format!("{}: {what}", path.display()))
}

/// The type of column `name`, which must be there.
fn require(path: &Path, columns: &[(String, DataType)], name: &str, want: &DataType) -> Result<()> {
    match columns.iter().find(|(n, _)| n == name) {
        None => Err(column_error(
            path,
            format!("no column `{name}`; not a snapshot of emergence"),
        )),
        Some((_, t)) if t != want => Err(column_error(
            path,
            format!("column `{name}` is {t}, a snapshot has {want}"),
        )),
        Some(_) => Ok(()),
    }
}

fn supported(t: &DataType) -> bool {
    matches!(
        t,
        DataType::UInt32 | DataType::Float32 | DataType::UInt64 | DataType::Float64
    )
}

impl SavedRun {
    /// Check `dir` as a run directory with snapshots, every snapshot file's footer and
    /// columns included.
    pub fn open(dir: &Path) -> Result<SavedRun> {
        let shown = dir.display();
        if !dir.is_dir() {
            return Err(Error::bad_input(format!(
                "{shown}: not a run directory (it does not exist or is not a directory)"
            )));
        }
        let manifest = Manifest::read(dir).ok_or_else(|| {
            Error::bad_input(format!(
                "{shown}: not a run directory of emergence (it has no {MANIFEST} of ours)"
            ))
        })?;
        let ticks = snapshot::list(dir);
        if ticks.is_empty() {
            return Err(Error::bad_input(format!(
                "{shown}: the run has no snapshots (no {}/agents-<tick>.parquet); start the run with --snapshot-every T or --snapshot-at t1,t2,...",
                snapshot::DIR
            )));
        }
        let snaps = dir.join(snapshot::DIR);
        let has_ties = ticks.iter().any(|&t| snaps.join(ties_file(t)).exists());
        let mut run = SavedRun {
            dir: dir.to_path_buf(),
            manifest,
            ticks: ticks.clone(),
            agents: 0,
            has_ties,
            agent_columns: Vec::new(),
            tie_weight: false,
            tie_age: false,
        };
        for (k, &tick) in ticks.iter().enumerate() {
            let path = run.agents_path(tick);
            let (columns, rows) = schema_of(&path)?;
            require(&path, &columns, "id", &DataType::UInt32)?;
            if rows > u32::MAX as u64 {
                return Err(column_error(
                    &path,
                    format!("{rows} rows; at most {} agents", u32::MAX),
                ));
            }
            let fields: Vec<(String, DataType)> =
                columns.into_iter().filter(|(n, _)| n != "id").collect();
            if let Some((name, t)) = fields.iter().find(|(_, t)| !supported(t)) {
                return Err(column_error(
                    &path,
                    format!("column `{name}` is {t}; snapshot columns are uint32, uint64, float32 or float64"),
                ));
            }
            if k == 0 {
                run.agents = rows as u32;
                run.agent_columns = fields;
            } else if rows != run.agents as u64 {
                return Err(column_error(
                    &path,
                    format!(
                        "{rows} agents, but the snapshot at tick {} has {}",
                        ticks[0], run.agents
                    ),
                ));
            } else if fields != run.agent_columns {
                return Err(column_error(
                    &path,
                    format!(
                        "its columns differ from those of the snapshot at tick {}",
                        ticks[0]
                    ),
                ));
            }
            if has_ties {
                let path = run.ties_path(tick);
                if !path.exists() {
                    return Err(Error::bad_input(format!(
                        "{}: missing; the other snapshots of this run have ties",
                        path.display()
                    )));
                }
                let (columns, _) = schema_of(&path)?;
                require(&path, &columns, "src", &DataType::UInt32)?;
                require(&path, &columns, "dst", &DataType::UInt32)?;
                let weight = columns.iter().any(|(n, _)| n == "weight");
                let age = columns.iter().any(|(n, _)| n == "age");
                if weight {
                    require(&path, &columns, "weight", &DataType::Float32)?;
                }
                if age {
                    require(&path, &columns, "age", &DataType::UInt32)?;
                }
                if k == 0 {
                    (run.tie_weight, run.tie_age) = (weight, age);
                } else if (weight, age) != (run.tie_weight, run.tie_age) {
                    return Err(column_error(
                        &path,
                        format!(
                            "its columns differ from those of the ties at tick {}",
                            ticks[0]
                        ),
                    ));
                }
            }
        }
        Ok(run)
    }

    pub fn agents_path(&self, tick: u64) -> PathBuf {
        self.dir.join(snapshot::DIR).join(agents_file(tick))
    }

    pub fn ties_path(&self, tick: u64) -> PathBuf {
        self.dir.join(snapshot::DIR).join(ties_file(tick))
    }

    /// The per-agent columns of the snapshot at `tick` (every column but `id`, which is
    /// checked to be 0..N in order), or only those named in `only`.
    pub fn read_agents(&self, tick: u64, only: Option<&[&str]>) -> Result<Vec<(String, Values)>> {
        let path = self.agents_path(tick);
        let mut names: Vec<&str> = self
            .agent_columns
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| only.is_none_or(|o| o.contains(n)))
            .collect();
        if let Some(o) = only {
            if let Some(missing) = o.iter().find(|n| !names.contains(n)) {
                return Err(column_error(&path, format!("no column `{missing}`")));
            }
            names = o.to_vec();
        }
        let mut wanted = vec!["id"];
        wanted.extend(&names);
        let mut columns = read_columns(&path, &wanted)?;
        let ids = match columns.remove(0).1 {
            Values::U32(v) => v,
            _ => unreachable!("checked by open"),
        };
        if ids.len() != self.agents as usize
            || ids.iter().enumerate().any(|(i, &id)| id != i as u32)
        {
            return Err(column_error(
                &path,
                "column `id` is not 0, 1, ..., N-1 in order; not a snapshot of emergence".into(),
            ));
        }
        Ok(columns)
    }

    /// The ties of the snapshot at `tick` (none for a well-mixed run), checked: every end
    /// an agent, `src < dst`.
    pub fn read_ties(&self, tick: u64) -> Result<Ties> {
        if !self.has_ties {
            return Ok(Ties::default());
        }
        let path = self.ties_path(tick);
        let mut wanted = vec!["src", "dst"];
        if self.tie_weight {
            wanted.push("weight");
        }
        if self.tie_age {
            wanted.push("age");
        }
        let mut ties = Ties::default();
        for (name, values) in read_columns(&path, &wanted)? {
            match (name.as_str(), values) {
                ("src", Values::U32(v)) => ties.src = v,
                ("dst", Values::U32(v)) => ties.dst = v,
                ("weight", Values::F32(v)) => ties.weight = v,
                ("age", Values::U32(v)) => ties.age = v,
                _ => unreachable!("checked by open"),
            }
        }
        if let Some(k) =
            (0..ties.len()).find(|&k| ties.src[k] >= ties.dst[k] || ties.dst[k] >= self.agents)
        {
            return Err(column_error(
                &path,
                format!(
                    "row {k}: tie {} – {} is not src < dst < N = {}",
                    ties.src[k], ties.dst[k], self.agents
                ),
            ));
        }
        Ok(ties)
    }
}

/// Columns `names` of the Parquet file `path`, in that order, as typed vectors (no nulls).
fn read_columns(path: &Path, names: &[&str]) -> Result<Vec<(String, Values)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let schema = builder.schema().clone();
    let mut out: Vec<(String, Values)> = Vec::with_capacity(names.len());
    let mut index = Vec::with_capacity(names.len());
    for &name in names {
        let (i, field) = schema
            .column_with_name(name)
            .ok_or_else(|| column_error(path, format!("no column `{name}`")))?;
        index.push(i);
        let values = match field.data_type() {
            DataType::UInt32 => Values::U32(Vec::with_capacity(rows)),
            DataType::Float32 => Values::F32(Vec::with_capacity(rows)),
            DataType::UInt64 => Values::U64(Vec::with_capacity(rows)),
            DataType::Float64 => Values::F64(Vec::with_capacity(rows)),
            t => return Err(column_error(path, format!("column `{name}` is {t}"))),
        };
        out.push((name.to_string(), values));
    }
    let reader = builder
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| read_error(path, e))?;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| read_error(path, e))?;
        for (&i, (name, values)) in index.iter().zip(out.iter_mut()) {
            let array = batch.column(i);
            if array.null_count() > 0 {
                return Err(column_error(path, format!("column `{name}` holds nulls")));
            }
            let any = array.as_any();
            let ok = match values {
                Values::U32(v) => any
                    .downcast_ref::<UInt32Array>()
                    .map(|a| v.extend_from_slice(a.values())),
                Values::F32(v) => any
                    .downcast_ref::<Float32Array>()
                    .map(|a| v.extend_from_slice(a.values())),
                Values::U64(v) => any
                    .downcast_ref::<UInt64Array>()
                    .map(|a| v.extend_from_slice(a.values())),
                Values::F64(v) => any
                    .downcast_ref::<Float64Array>()
                    .map(|a| v.extend_from_slice(a.values())),
            };
            if ok.is_none() {
                return Err(column_error(path, format!("column `{name}` changes type")));
            }
        }
    }
    Ok(out)
}
