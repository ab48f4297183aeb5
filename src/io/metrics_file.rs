//! `metrics.csv` as the run goes: an observer of the driver that appends each new row
//! as soon as it is collected, so an interrupted or killed run leaves every row it
//! reached readable. Rows are written whole, one `write` per batch; the file is synced
//! with each checkpoint. At the end its bytes are those of [`MetricsTable::to_csv`].

use super::{csv_row, rundir::write_atomic, MetricsTable};
use crate::engine::Observer;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const METRICS_CSV: &str = "metrics.csv";

pub struct MetricsFile {
    path: PathBuf,
    file: File,
    /// Rows of the table already on disk.
    written: usize,
}

impl MetricsFile {
    /// Start `dir/metrics.csv` with the rows of `table` (a header only for a new run; a
    /// checkpoint's rows for a resumed one, replacing rows written after it).
    pub fn create(dir: &Path, table: &MetricsTable) -> Result<MetricsFile> {
        let path = dir.join(METRICS_CSV);
        write_atomic(&path, table.to_csv().as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(MetricsFile {
            path,
            file,
            written: table.rows.len(),
        })
    }

    /// Make the rows written so far durable (at checkpoints).
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

impl Observer for MetricsFile {
    fn on_rows(&mut self, table: &MetricsTable) -> Result<()> {
        if table.rows.len() <= self.written {
            return Ok(());
        }
        let mut text = String::new();
        for row in &table.rows[self.written..] {
            csv_row(&mut text, row);
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(&self.path, e))?;
        self.written = table.rows.len();
        Ok(())
    }
}
