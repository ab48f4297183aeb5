//! The done-ledger of a shard: one JSON line per finished run (`done`, or `failed` with
//! its message), appended and fsync'd once the run's part file is in place, so a line
//! in the ledger means the part is whole. Each shard appends only to its own file;
//! every shard reads all of them, so a run done by any shard is skipped. A line cut
//! short by a kill is ignored when read (the run is simply not done).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A run's outcome as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Done,
    Failed,
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub run_id: String,
    pub index: usize,
    pub status: Outcome,
    /// `oom` when the device ran out of memory (retried alone), else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub shard: u32,
    pub num_shards: u32,
    pub host: String,
    pub time: String,
    pub wall_s: f64,
    #[serde(default)]
    pub ticks_run: u64,
    #[serde(default)]
    pub backend: String,
    #[serde(default)]
    pub adapter: String,
    /// The stage transitions found (stage → tick), for models with stages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, u64>,
    /// Counts of the whole run a comparison needs (the lifecycle): `ties_created`,
    /// `ties_removed`, `communities_of_practice`, and what interventions touched
    /// (`intervention_agents`, `intervention_ties_added`, `intervention_ties_removed`,
    /// `seeded_adopters`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<String, u64>,
}

/// `DIR/ledger/shard-<i>.jsonl`.
pub fn path(dir: &Path, shard: u32) -> PathBuf {
    dir.join(super::LEDGER_DIR)
        .join(format!("shard-{shard}.jsonl"))
}

/// Append `entry` to the shard's ledger and make it durable.
pub fn append(dir: &Path, entry: &Entry) -> Result<()> {
    let path = path(dir, entry.shard);
    let fresh = !path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let mut line = serde_json::to_string(entry).expect("an entry serialises");
    line.push('\n');
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io(&path, e))?;
    if fresh {
        // The new file's name is durable only once its folder is.
        if let Ok(d) = std::fs::File::open(dir.join(super::LEDGER_DIR)) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Every readable line of every shard's ledger, in file order (a later line about a run
/// supersedes an earlier one).
pub fn read_all(dir: &Path) -> Result<Vec<Entry>> {
    let folder = dir.join(super::LEDGER_DIR);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&folder, e)),
    };
    files.sort();
    let mut entries = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        for (i, line) in text.lines().enumerate() {
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => entries.push(e),
                Err(_) if line.trim().is_empty() => {}
                Err(e) => tracing::warn!(
                    "{}:{}: an unreadable ledger line is ignored ({e}); its run counts as not done",
                    f.display(),
                    i + 1
                ),
            }
        }
    }
    Ok(entries)
}

/// Each run's latest entry: a `done` anywhere wins over a failure, since a run that
/// failed and then succeeded on a retry is done.
pub fn latest(entries: &[Entry]) -> BTreeMap<String, Entry> {
    let mut out: BTreeMap<String, Entry> = BTreeMap::new();
    for e in entries {
        match out.get(&e.run_id) {
            Some(prev) if prev.status == Outcome::Done => {}
            _ => {
                out.insert(e.run_id.clone(), e.clone());
            }
        }
    }
    out
}
