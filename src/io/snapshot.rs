//! Snapshots of a run's agents and ties, for analysis, `export` and `render`: at each
//! snapshot tick (`--snapshot-every T`, `--snapshot-at t1,t2,...`, always at metrics
//! rows) the driver hands the model's named state to a [`Snapshotter`], which writes
//! `snapshots/agents-<tick>.parquet` (`id`, every per-agent state field, `community`,
//! `component`) and, for a run with ties, `snapshots/ties-<tick>.parquet` (`src < dst`,
//! each tie once, with `weight` and `age` where the model keeps them). A model whose
//! ties never change (the graph is the scenario's) writes that graph's ties each time,
//! so every snapshot stands alone. Communities are the model's own labels when it keeps
//! them (the lifecycle's label propagation at that row); otherwise label propagation on
//! that tick's ties, seeded by the run's seed and the tick, so equal runs give equal
//! files. Components are the connected components (label: the smallest agent id).

use super::table::{write_parquet, Column};
use crate::analysis::{communities, components};
use crate::engine::{Per, SnapshotSink, State, Values};
use crate::error::{Error, Result};
use crate::graph::{ties::EMPTY, Csr, EdgeList, TieStore};
use crate::io::MetricsTable;
use arrow_array::{ArrayRef, Float32Array, Float64Array, UInt32Array, UInt64Array};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The folder of a run directory that holds its snapshots.
pub const DIR: &str = "snapshots";

/// Rounds of label propagation for a model that keeps no community labels (a cold start
/// from every agent's own id).
pub const LPA_ROUNDS: u32 = 20;

pub fn agents_file(tick: u64) -> String {
    format!("agents-{tick}.parquet")
}

pub fn ties_file(tick: u64) -> String {
    format!("ties-{tick}.parquet")
}

/// The ticks of the snapshots in `run_dir` (of their agents files), ascending.
pub fn list(run_dir: &Path) -> Vec<u64> {
    let mut ticks: Vec<u64> = std::fs::read_dir(run_dir.join(DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("agents-")?
                .strip_suffix(".parquet")?
                .parse()
                .ok()
        })
        .collect();
    ticks.sort_unstable();
    ticks
}

/// Bytes of one snapshot at most (uncompressed): an upper bound for the disk check.
/// `agent_bytes` is the size of the per-agent state fields, `ties` the most ties a
/// snapshot can list.
pub fn estimate_bytes(agents: u64, agent_bytes: u64, ties: u64) -> u64 {
    // id, community, component; each tie once: src, dst, weight, age.
    agents * (agent_bytes + 12) + ties.saturating_mul(16) + (64 << 10)
}

/// The ties of a model whose graph never changes, with their communities and components
/// (computed once).
struct FixedGraph {
    csr: Csr,
    community: Vec<u32>,
    component: Vec<u32>,
}

/// The snapshot sink of a run.
pub struct Snapshotter {
    dir: PathBuf,
    seed: u32,
    fixed: Option<FixedGraph>,
    /// The scenario's graph for a model that keeps no ties in its state (taken at the
    /// first snapshot).
    graph: Option<EdgeList>,
    pub written: usize,
    pub bytes: u64,
    pub seconds: f64,
}

impl Snapshotter {
    /// Snapshots into `run_dir/snapshots/`. `graph` is the scenario's graph, used when
    /// the model's state holds no ties (None: a well-mixed run, which has none).
    pub fn new(run_dir: &Path, seed: u32, graph: Option<EdgeList>) -> Result<Snapshotter> {
        let dir = run_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Snapshotter {
            dir,
            seed,
            fixed: None,
            graph,
            written: 0,
            bytes: 0,
            seconds: 0.0,
        })
    }

    fn write(&mut self, state: &State) -> Result<()> {
        let tick = state.tick;
        let n = agents_of(state);
        let live = live_ties(state, n)?;
        if live.is_some() {
            // The state has the ties: the scenario's copy is not needed.
            self.graph = None;
        }
        if live.is_none() && self.fixed.is_none() {
            if let Some(edges) = self.graph.take() {
                let csr = Csr::from_edges(&edges);
                drop(edges);
                let mut community: Vec<u32> = (0..csr.n()).collect();
                communities::label_propagation(&csr, &mut community, self.seed, 0, LPA_ROUNDS);
                let (component, _) = components::labels_cpu(&csr);
                self.fixed = Some(FixedGraph {
                    csr,
                    community,
                    component,
                });
            }
        }
        let keeps_labels = state
            .fields
            .iter()
            .any(|f| f.name == "labels" && f.per == Per::Agent);
        let (community, component, ties) = match (&live, &self.fixed) {
            (Some(store), _) => {
                let community = if keeps_labels {
                    state.u32s("labels")?.to_vec()
                } else {
                    let mut labels: Vec<u32> = (0..store.n).collect();
                    communities::label_propagation(
                        store,
                        &mut labels,
                        self.seed,
                        tick as u32,
                        LPA_ROUNDS,
                    );
                    labels
                };
                let component = components::labels_cpu(store).0;
                (community, component, Some(store_columns(store)))
            }
            (None, Some(f)) => (
                f.community.clone(),
                f.component.clone(),
                Some(csr_columns(&f.csr)),
            ),
            // No ties at all: every agent is its own community and component.
            (None, None) => ((0..n).collect(), (0..n).collect(), None),
        };

        let mut columns = vec![Column::new(
            "id",
            Arc::new(UInt32Array::from_iter_values(0..n)),
        )];
        for f in &state.fields {
            // `nourished` exists only while a nourish lasts: every snapshot of a run has
            // the same columns.
            if f.per != Per::Agent || f.name == "labels" || f.name == "nourished" {
                continue;
            }
            columns.push(Column::new(f.name.clone(), array_of(&f.values)));
        }
        columns.push(Column::new(
            "community",
            Arc::new(UInt32Array::from(community)),
        ));
        columns.push(Column::new(
            "component",
            Arc::new(UInt32Array::from(component)),
        ));
        let agents_path = self.dir.join(agents_file(tick));
        write_parquet(&agents_path, &columns)?;
        self.bytes += file_bytes(&agents_path);

        if let Some(ties) = ties {
            let ties_path = self.dir.join(ties_file(tick));
            write_parquet(&ties_path, &ties)?;
            self.bytes += file_bytes(&ties_path);
        }
        Ok(())
    }
}

impl SnapshotSink for Snapshotter {
    fn save(&mut self, state: &State, _table: &MetricsTable) -> Result<()> {
        let start = Instant::now();
        self.write(state)?;
        self.written += 1;
        self.seconds += start.elapsed().as_secs_f64();
        Ok(())
    }
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Agents in a state: the length of its per-agent fields.
fn agents_of(state: &State) -> u32 {
    state
        .fields
        .iter()
        .find(|f| f.per == Per::Agent)
        .map_or(0, |f| f.values.len() as u32)
}

/// The live ties of a state that keeps them (`neighbor` per slot, `degree` per agent,
/// and `weight` and `age` per slot where the model has them), as a tie store; an empty
/// `weight` or `age` means the model keeps none.
fn live_ties(state: &State, n: u32) -> Result<Option<TieStore>> {
    let Some(neighbor) = state
        .fields
        .iter()
        .find(|f| f.name == "neighbor" && f.per == Per::Slot)
    else {
        return Ok(None);
    };
    let Values::U32(neighbor) = &neighbor.values else {
        return Err(Error::Failed(format!(
            "state of model {}: `neighbor` is not u32",
            state.model
        )));
    };
    let slots = (neighbor.len() as u32).checked_div(n).unwrap_or(0);
    let degree = state.u32s("degree")?.to_vec();
    let weight = state
        .f32s("weight")
        .map(<[f32]>::to_vec)
        .unwrap_or_default();
    let age = state.u32s("age").map(<[u32]>::to_vec).unwrap_or_default();
    Ok(Some(TieStore {
        n,
        slots,
        neighbor: neighbor.clone(),
        weight,
        age,
        degree,
    }))
}

/// Each tie of a fixed graph once (`src < dst`), with the scenario's weights if it has
/// them (a fixed graph has no ages).
fn csr_columns(csr: &Csr) -> Vec<Column> {
    let (mut src, mut dst, mut weight) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..csr.n() {
        let weights = csr.weights_of(i);
        for (s, &j) in csr.neighbors(i).iter().enumerate() {
            if j > i {
                src.push(i);
                dst.push(j);
                if let Some(w) = weights {
                    weight.push(w[s]);
                }
            }
        }
    }
    let weighted = !weight.is_empty();
    let mut columns = vec![
        Column::new("src", Arc::new(UInt32Array::from(src))),
        Column::new("dst", Arc::new(UInt32Array::from(dst))),
    ];
    if weighted {
        columns.push(Column::new("weight", Arc::new(Float32Array::from(weight))));
    }
    columns
}

/// Each live tie once (`src < dst`), in order of `src` then slot.
fn store_columns(store: &TieStore) -> Vec<Column> {
    let (mut src, mut dst, mut weight, mut age) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let k = store.slots as usize;
    for i in 0..store.n {
        let base = i as usize * k;
        for s in 0..store.degree[i as usize] as usize {
            let j = store.neighbor[base + s];
            if j == EMPTY || j <= i {
                continue;
            }
            src.push(i);
            dst.push(j);
            if !store.weight.is_empty() {
                weight.push(store.weight[base + s]);
            }
            if !store.age.is_empty() {
                age.push(store.age[base + s]);
            }
        }
    }
    let mut columns = vec![
        Column::new("src", Arc::new(UInt32Array::from(src))),
        Column::new("dst", Arc::new(UInt32Array::from(dst))),
    ];
    if !store.weight.is_empty() {
        columns.push(Column::new("weight", Arc::new(Float32Array::from(weight))));
    }
    if !store.age.is_empty() {
        columns.push(Column::new("age", Arc::new(UInt32Array::from(age))));
    }
    columns
}

fn array_of(values: &Values) -> ArrayRef {
    match values {
        Values::U32(v) => Arc::new(UInt32Array::from(v.clone())),
        Values::F32(v) => Arc::new(Float32Array::from(v.clone())),
        Values::U64(v) => Arc::new(UInt64Array::from(v.clone())),
        Values::F64(v) => Arc::new(Float64Array::from(v.clone())),
    }
}
