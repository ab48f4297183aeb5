//! Outputs: the metrics table, the run directory with its manifest, the metrics file
//! appended as the run goes, and checkpoints. Every file is written under a temporary
//! name and renamed into place, so a reader never sees half a file, and an interrupted
//! run stays readable.

pub mod checkpoint;
pub mod ids;
pub mod metrics_file;
pub mod rundir;
pub mod snapshot;
pub mod summary;
pub mod table;

use std::fmt::Write as _;

/// Order parameters over time: named columns, one row per metrics sample. A value a
/// row cannot define (a ratio over no ties) is NaN: empty in the CSV, null in Parquet
/// and JSON.
#[derive(Debug, Clone)]
pub struct MetricsTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

/// Tables are equal when their values are the same bits (an undefined value equals
/// itself), which is what "the same run" means.
impl PartialEq for MetricsTable {
    fn eq(&self, other: &Self) -> bool {
        self.columns == other.columns
            && self.rows.len() == other.rows.len()
            && self.rows.iter().zip(&other.rows).all(|(a, b)| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            })
    }
}

impl MetricsTable {
    pub fn new(columns: &[&str]) -> Self {
        MetricsTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<f64>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The values of column `name`, row by row (None: no such column).
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[k]).collect())
    }

    /// The last row's value of column `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        let k = self.columns.iter().position(|c| c == name)?;
        self.rows.last().map(|r| r[k])
    }

    pub fn last_as_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        if let Some(row) = self.rows.last() {
            for (c, v) in self.columns.iter().zip(row) {
                map.insert(c.clone(), json_number(*v));
            }
        }
        map
    }

    /// CSV with a header. Integral values print without a fraction; others with the
    /// shortest representation that round-trips, so equal runs give equal bytes.
    pub fn to_csv(&self) -> String {
        let mut out = self.csv_header();
        for row in &self.rows {
            csv_row(&mut out, row);
        }
        out
    }

    /// The CSV header line.
    pub fn csv_header(&self) -> String {
        self.columns.join(",") + "\n"
    }
}

/// One CSV line of `row`, as [`MetricsTable::to_csv`] writes it.
pub fn csv_row(out: &mut String, row: &[f64]) {
    for (k, v) in row.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        if v.is_nan() {
            // Undefined: an empty field.
        } else if v.fract() == 0.0 && v.abs() < 1e15 {
            let _ = write!(out, "{}", *v as i64);
        } else {
            let _ = write!(out, "{v}");
        }
    }
    out.push('\n');
}

pub fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}
