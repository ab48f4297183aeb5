//! Parquet tables for analysts: the metrics table, snapshots of agents and ties, the id
//! mapping of an imported graph (`ids.parquet`). Columns keep their types (a count stays an integer, an
//! agent id a `uint32`), an undefined value is a null, and every file is written under a
//! temporary name and renamed, so a reader never sees a file without its footer.
//! Compression is zstd (level 1): what polars writes by default, and read by pyarrow,
//! pandas, DuckDB and Spark alike.

use super::rundir::write_atomic_file;
use super::MetricsTable;
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;

/// Rows per record batch and row group: large enough for fast scans, small enough that
/// a reader's memory stays bounded on a 10^8-row snapshot.
pub const ROWS_PER_GROUP: usize = 1 << 20;

/// One named column.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub values: ArrayRef,
}

impl Column {
    pub fn new(name: impl Into<String>, values: ArrayRef) -> Column {
        Column {
            name: name.into(),
            values,
        }
    }
}

/// The writer settings of every Parquet file of ours (zstd level 1, row groups of [`ROWS_PER_GROUP`]).
pub fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .set_created_by(format!("emergence {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Write `columns` (all of one length) as the Parquet file `path`, atomically. A column
/// is nullable when it holds a null.
pub fn write_parquet(path: &Path, columns: &[Column]) -> Result<()> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| {
                Field::new(
                    &c.name,
                    c.values.data_type().clone(),
                    c.values.null_count() > 0,
                )
            })
            .collect::<Vec<_>>(),
    ));
    write_parquet_schema(path, schema, columns)
}

/// Write `columns` as the Parquet file `path` with a given `schema` (its fields in the
/// columns' order and types), atomically: files that must share one schema whatever
/// their values (a sweep's part files).
pub fn write_parquet_schema(path: &Path, schema: Arc<Schema>, columns: &[Column]) -> Result<()> {
    let rows = columns.first().map_or(0, |c| c.values.len());
    debug_assert!(columns.iter().all(|c| c.values.len() == rows));
    let parquet_error =
        |e: parquet::errors::ParquetError| std::io::Error::other(format!("writing Parquet: {e}"));
    write_atomic_file(path, |file| {
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(properties()))
            .map_err(parquet_error)?;
        let mut offset = 0;
        // One batch for an empty table too, so the file has its schema and no rows.
        loop {
            let len = ROWS_PER_GROUP.min(rows - offset);
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                columns
                    .iter()
                    .map(|c| c.values.slice(offset, len))
                    .collect(),
            )
            .map_err(|e| std::io::Error::other(format!("a Parquet batch: {e}")))?;
            writer.write(&batch).map_err(parquet_error)?;
            offset += len;
            if offset >= rows {
                break;
            }
        }
        writer
            .into_inner()
            .map_err(parquet_error)?
            .into_inner()
            .map_err(|e| e.into_error())
    })
}

/// The metrics table as Parquet: `integer` columns as `int64`, the others as `float64`,
/// a value that is not finite (undefined) as a null.
pub fn metrics_columns(table: &MetricsTable, integer: &[&str]) -> Vec<Column> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let values = table.rows.iter().map(|r| r[k]);
            let array: ArrayRef = if integer.contains(&name.as_str()) {
                Arc::new(
                    values
                        .map(|v| v.is_finite().then_some(v as i64))
                        .collect::<Int64Array>(),
                )
            } else {
                Arc::new(
                    values
                        .map(|v| v.is_finite().then_some(v))
                        .collect::<Float64Array>(),
                )
            };
            Column::new(name.clone(), array)
        })
        .collect()
}

/// `metrics.parquet`: the same content as `metrics.csv`, typed.
pub const METRICS_PARQUET: &str = "metrics.parquet";

/// Write `dir/metrics.parquet` from `table`.
pub fn write_metrics(dir: &Path, table: &MetricsTable, integer: &[&str]) -> Result<()> {
    write_parquet(&dir.join(METRICS_PARQUET), &metrics_columns(table, integer))
}

/// A Parquet error while reading `path`, as one line naming the file.
pub fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_input(format!(
        "{}: not a readable Parquet file: {e}",
        path.display()
    ))
}

/// A metrics table from a Parquet file (this crate's `metrics.parquet`, or one an analyst
/// wrote): every numeric column in file order, integers and floats as f64, nulls as NaN;
/// columns of other types are left out. The first column must be `tick`.
pub fn read_metrics_parquet(path: &Path) -> Result<MetricsTable> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type,
    };
    use arrow_array::Array;
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| read_error(path, e))?;
    let mut columns: Vec<String> = Vec::new();
    let mut values: Vec<Vec<f64>> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| read_error(path, e))?;
        let schema = batch.schema();
        let numeric: Vec<(usize, &Arc<Field>)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.data_type().is_numeric())
            .collect();
        if columns.is_empty() {
            columns = numeric.iter().map(|(_, f)| f.name().clone()).collect();
            values = vec![Vec::new(); columns.len()];
        }
        for (k, (i, f)) in numeric.iter().enumerate() {
            let col = batch.column(*i);
            let get = |v: Option<f64>| v.unwrap_or(f64::NAN);
            let out = &mut values[k];
            macro_rules! take {
                ($t:ty) => {
                    out.extend(
                        col.as_primitive::<$t>()
                            .iter()
                            .map(|v| get(v.map(|x| x as f64))),
                    )
                };
            }
            match f.data_type() {
                DataType::Float64 => take!(Float64Type),
                DataType::Float32 => take!(Float32Type),
                DataType::Int64 => take!(Int64Type),
                DataType::Int32 => take!(Int32Type),
                DataType::UInt64 => take!(UInt64Type),
                DataType::UInt32 => take!(UInt32Type),
                other => {
                    return Err(Error::bad_input(format!(
                        "{}: column `{}` has type {other}; allowed: float64, float32, int64, int32, uint64, uint32",
                        path.display(),
                        f.name()
                    )))
                }
            }
            let _ = col.len();
        }
    }
    if columns.first().map(String::as_str) != Some("tick") {
        return Err(Error::bad_input(format!(
            "{}: the first numeric column must be `tick`, found {}",
            path.display(),
            columns
                .first()
                .map_or("none".to_string(), |c| format!("`{c}`"))
        )));
    }
    let rows = values.first().map_or(0, Vec::len);
    Ok(MetricsTable {
        columns,
        rows: (0..rows)
            .map(|r| values.iter().map(|v| v[r]).collect())
            .collect(),
    })
}
