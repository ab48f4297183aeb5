//! `ids.parquet`: the user's id of each agent of a run whose graph came from a file, so
//! that results (agent numbers 0..N−1) join back to the file's own ids. Two columns:
//! `agent` (u32, 0..N−1 in order) and `id` (u64 when every id of the file was a
//! non-negative integer, else utf8, the ids as written). Written in row groups of
//! [`ROWS_PER_GROUP`] with Snappy pages, under a temporary name in the run directory and
//! renamed into place, like every other file of a run, so a reader never sees half of it.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::graph::import::UserIds;

/// The file's name in a run directory.
pub const IDS_FILE: &str = "ids.parquet";

/// Rows per row group (and per record batch written).
pub const ROWS_PER_GROUP: usize = 1 << 20;

/// Writes `dir/ids.parquet` for `ids` (agent `i` is `ids[i]`).
pub fn write_ids(dir: &Path, ids: &UserIds) -> Result<()> {
    let path = dir.join(IDS_FILE);
    let temp = dir.join(format!(".{IDS_FILE}.tmp-{}", std::process::id()));
    let written = write_file(&temp, ids).and_then(|()| {
        std::fs::rename(&temp, &path)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    });
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&path, e)
    })
}

fn write_file(temp: &Path, ids: &UserIds) -> std::io::Result<()> {
    let id_type = match ids {
        UserIds::Numeric(_) => DataType::UInt64,
        UserIds::Text(_) => DataType::Utf8,
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("agent", DataType::UInt32, false),
        Field::new("id", id_type, false),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .build();
    let file = std::fs::File::create(temp)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let parquet = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let mut writer =
        ArrowWriter::try_new(&mut out, schema.clone(), Some(props)).map_err(parquet)?;
    let n = ids.len();
    for start in (0..n).step_by(ROWS_PER_GROUP) {
        let end = (start + ROWS_PER_GROUP).min(n);
        let agents: ArrayRef =
            Arc::new(UInt32Array::from_iter_values((start as u32)..(end as u32)));
        let values: ArrayRef = match ids {
            UserIds::Numeric(v) => {
                Arc::new(UInt64Array::from_iter_values(v[start..end].iter().copied()))
            }
            UserIds::Text(t) => Arc::new(StringArray::from_iter_values(
                (start..end).map(|i| t.get(i)),
            )),
        };
        let batch = RecordBatch::try_new(schema.clone(), vec![agents, values])
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        writer.write(&batch).map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}
