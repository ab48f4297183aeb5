//! `ids.parquet`: the user's id of each agent of a run whose graph came from a file, so
//! that results (agent numbers 0..N−1) join back to the file's own ids. Two columns:
//! `agent` (u32, 0..N−1 in order) and `id` (u64 when every id of the file was a
//! non-negative integer, else utf8, the ids as written). Written by
//! [`super::table::write_parquet`], under a temporary name and renamed into place, like
//! every other file of a run, so a reader never sees half of it.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{StringArray, UInt32Array, UInt64Array};

use super::table::{write_parquet, Column};
use crate::error::Result;
use crate::graph::import::UserIds;

pub const IDS_FILE: &str = "ids.parquet";

/// Write `dir/ids.parquet`: `agent` (u32, 0..N-1) and `id` (u64 or utf8), atomically.
pub fn write_ids(dir: &Path, ids: &UserIds) -> Result<()> {
    let n = ids.len();
    let id = match ids {
        UserIds::Numeric(v) => Column::new("id", Arc::new(UInt64Array::from(v.clone()))),
        UserIds::Text(t) => Column::new(
            "id",
            Arc::new(StringArray::from_iter_values((0..n).map(|i| t.get(i)))),
        ),
    };
    let agent = Column::new(
        "agent",
        Arc::new(UInt32Array::from_iter_values(0..n as u32)),
    );
    write_parquet(&dir.join(IDS_FILE), &[agent, id])
}
