//! Checkpoints: the whole state of a run at a tick, enough to go on from it bit for bit
//! (DESIGN §7). One file per checkpoint in `RUN_DIR/checkpoint/`, the last two kept:
//!
//! ```text
//! "EMRGCKPT"  u32 format version  u64 header length  header (JSON)
//! the state's arrays, in the header's order, little-endian
//! the metrics rows so far, f64, row by row
//! u32 CRC-32 of everything before it
//! ```
//!
//! The header names the model, the backend, the tick, the SHA-256 of the run's
//! `config.toml` and each array's name, kind (per agent, per slot, per run), type and
//! length. The random streams are stateless (keyed by seed, tick and agent), so the tick
//! is all of their state; the stage detector reads the metrics rows, which are here; the
//! model's state holds its community labels and churn accumulators. A file is written
//! under a temporary name, synced and renamed, so a checkpoint is whole or absent.
//! Reading one checks all of it: the magic, the version, the length and the checksum.

use super::rundir::write_atomic_with;
use super::MetricsTable;
use crate::engine::{CheckpointSink, Per, State, Values};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"EMRGCKPT";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The folder of checkpoints in a run directory.
pub const DIR: &str = "checkpoint";
/// How many checkpoints are kept.
pub const KEEP: usize = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FieldHeader {
    name: String,
    per: Per,
    #[serde(rename = "type")]
    dtype: String,
    len: u64,
}

/// What a checkpoint says of itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    pub model: String,
    pub backend: String,
    pub tick: u64,
    /// SHA-256 of the run's `config.toml`.
    pub config_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    #[serde(flatten)]
    identity: Identity,
    fields: Vec<FieldHeader>,
    columns: Vec<String>,
    rows: u64,
}

/// A checkpoint read back.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub identity: Identity,
    pub state: State,
    pub table: MetricsTable,
}

fn width(dtype: &str) -> Option<u64> {
    match dtype {
        "u32" | "f32" => Some(4),
        "u64" | "f64" => Some(8),
        _ => None,
    }
}

fn bytes_of(v: &Values) -> &[u8] {
    match v {
        Values::U32(x) => bytemuck::cast_slice(x),
        Values::F32(x) => bytemuck::cast_slice(x),
        Values::U64(x) => bytemuck::cast_slice(x),
        Values::F64(x) => bytemuck::cast_slice(x),
    }
}

/// A writer that keeps the CRC-32 of what passes through it.
struct Crc<'w> {
    inner: &'w mut dyn Write,
    crc: crc32fast::Hasher,
}

impl Write for Crc<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write a checkpoint of `state` and `table` to `path`, atomically (its tick is the
/// state's).
pub fn write(path: &Path, identity: &Identity, state: &State, table: &MetricsTable) -> Result<()> {
    let header = Header {
        identity: Identity {
            tick: state.tick,
            ..identity.clone()
        },
        fields: state
            .fields
            .iter()
            .map(|f| FieldHeader {
                name: f.name.clone(),
                per: f.per,
                dtype: f.values.type_name().into(),
                len: f.values.len() as u64,
            })
            .collect(),
        columns: table.columns.clone(),
        rows: table.rows.len() as u64,
    };
    let json = serde_json::to_vec(&header).expect("a checkpoint header serialises");
    write_atomic_with(path, |w| {
        let mut w = Crc {
            inner: w,
            crc: crc32fast::Hasher::new(),
        };
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT_VERSION.to_le_bytes())?;
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        for f in &state.fields {
            w.write_all(bytes_of(&f.values))?;
        }
        for row in &table.rows {
            w.write_all(bytemuck::cast_slice(row))?;
        }
        let crc = w.crc.finalize();
        w.inner.write_all(&crc.to_le_bytes())
    })
}

/// Read and check the checkpoint at `path`.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let shown = path.display();
    let bad = |why: String| Error::bad_input(format!("checkpoint {shown}: {why}"));
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err(bad("is not a checkpoint of emergence".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "has format version {version}; this build reads version {FORMAT_VERSION}"
        )));
    }
    let header_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let truncated = |expected: u64| {
        bad(format!(
            "is truncated: {} bytes, a whole one has {expected}",
            bytes.len()
        ))
    };
    let header_end = 20u64.saturating_add(header_len);
    if header_end > bytes.len() as u64 {
        return Err(truncated(header_end));
    }
    let header: Header = serde_json::from_slice(&bytes[20..header_end as usize])
        .map_err(|e| bad(format!("has an unreadable header ({e})")))?;
    let mut expected = header_end;
    for f in &header.fields {
        let w = width(&f.dtype)
            .ok_or_else(|| bad(format!("field `{}` has unknown type {}", f.name, f.dtype)))?;
        expected = expected.saturating_add(f.len.saturating_mul(w));
    }
    let row_bytes = header.rows.saturating_mul(header.columns.len() as u64 * 8);
    expected = expected.saturating_add(row_bytes).saturating_add(4);
    if (bytes.len() as u64) < expected {
        return Err(truncated(expected));
    }
    if (bytes.len() as u64) > expected {
        return Err(bad(format!(
            "is {} bytes, longer than the {expected} its header describes",
            bytes.len()
        )));
    }
    let body = &bytes[..bytes.len() - 4];
    let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != stored {
        return Err(bad(
            "is corrupt: its checksum does not match its contents".into()
        ));
    }
    let mut at = header_end as usize;
    let mut take = |n: usize| {
        let s = &body[at..at + n];
        at += n;
        s
    };
    let mut state = State::new(&header.identity.model, header.identity.tick);
    for f in &header.fields {
        let n = f.len as usize;
        // Copied out element by element: the file's bytes carry no alignment.
        let values = match f.dtype.as_str() {
            "u32" => Values::U32(take(4 * n).chunks_exact(4).map(le_u32).collect()),
            "f32" => Values::F32(
                take(4 * n)
                    .chunks_exact(4)
                    .map(|c| f32::from_bits(le_u32(c)))
                    .collect(),
            ),
            "u64" => Values::U64(take(8 * n).chunks_exact(8).map(le_u64).collect()),
            _ => Values::F64(
                take(8 * n)
                    .chunks_exact(8)
                    .map(|c| f64::from_bits(le_u64(c)))
                    .collect(),
            ),
        };
        state = state.with(&f.name, f.per, values);
    }
    let cols = header.columns.len();
    let mut table = MetricsTable {
        columns: header.columns.clone(),
        rows: Vec::with_capacity(header.rows as usize),
    };
    for _ in 0..header.rows {
        let row = take(8 * cols)
            .chunks_exact(8)
            .map(|c| f64::from_bits(le_u64(c)))
            .collect();
        table.rows.push(row);
    }
    Ok(Checkpoint {
        identity: header.identity,
        state,
        table,
    })
}

fn le_u32(c: &[u8]) -> u32 {
    u32::from_le_bytes(c.try_into().expect("4 bytes"))
}

fn le_u64(c: &[u8]) -> u64 {
    u64::from_le_bytes(c.try_into().expect("8 bytes"))
}

/// The checkpoint file of `tick` in a run directory.
pub fn file_of(run_dir: &Path, tick: u64) -> PathBuf {
    run_dir.join(DIR).join(format!("tick-{tick:012}.ckpt"))
}

/// The checkpoints of a run directory, oldest first.
pub fn list(run_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(run_dir.join(DIR))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("tick-") && n.ends_with(".ckpt"))
                })
                .collect()
        })
        .unwrap_or_default();
    // Zero-padded ticks: the names sort as the ticks do.
    found.sort();
    found
}

/// Bytes of one checkpoint of a run of this size with `rows` metrics rows (an upper
/// bound: the model's device buffers, which hold its state and some scratch, and the
/// rows).
pub fn estimate_bytes(
    model: &dyn crate::model::Model,
    size: &crate::model::Size,
    rows: u64,
) -> u64 {
    let state: u64 = model.buffers(size).iter().map(|b| b.bytes).sum();
    state + rows * model.columns().len() as u64 * 8 + 4096
}

/// Free bytes for an unprivileged writer on the file system that holds `path` (or its
/// nearest existing ancestor).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut p = Some(path);
    while let Some(at) = p {
        let at = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        if at.exists() {
            let st = rustix::fs::statvfs(at).ok()?;
            return Some(st.f_bavail.saturating_mul(st.f_frsize));
        }
        p = at.parent();
    }
    None
}

/// Told of each checkpoint written: its path relative to the run directory, its tick.
pub type OnSaved<'a> = Box<dyn FnMut(&str, u64) -> Result<()> + 'a>;

/// The checkpoints of a run as it goes: each saved state becomes the newest file, the
/// oldest beyond [`KEEP`] is removed, the metrics rows on disk are synced, and the
/// manifest is told (through `saved`).
pub struct Checkpointer<'a> {
    pub run_dir: PathBuf,
    pub identity: Identity,
    /// Called with the new checkpoint's path (relative to the run directory) and tick.
    pub saved: OnSaved<'a>,
    /// The model's count columns: `metrics.parquet` is written with each checkpoint (a
    /// Parquet file is readable only once closed, so it is not appended as rows come).
    pub integer_columns: &'static [&'static str],
    /// Wall time spent writing checkpoints.
    pub seconds: f64,
    pub written: u32,
}

impl CheckpointSink for Checkpointer<'_> {
    fn save(&mut self, state: &State, table: &MetricsTable) -> Result<()> {
        let t0 = std::time::Instant::now();
        let dir = self.run_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let metrics = self.run_dir.join(super::metrics_file::METRICS_CSV);
        if let Ok(f) = std::fs::OpenOptions::new().append(true).open(&metrics) {
            f.sync_data().map_err(|e| Error::io(&metrics, e))?;
        }
        let path = file_of(&self.run_dir, state.tick);
        write(&path, &self.identity, state, table)?;
        super::table::write_metrics(&self.run_dir, table, self.integer_columns)?;
        let all = list(&self.run_dir);
        for old in all.iter().take(all.len().saturating_sub(KEEP)) {
            std::fs::remove_file(old).map_err(|e| Error::io(old, e))?;
        }
        let relative = format!(
            "{DIR}/{}",
            path.file_name().expect("a file name").to_string_lossy()
        );
        (self.saved)(&relative, state.tick)?;
        self.seconds += t0.elapsed().as_secs_f64();
        self.written += 1;
        tracing::debug!(
            "checkpoint at tick {} written in {:.3} s",
            state.tick,
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
