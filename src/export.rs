//! `emergence export RUN_DIR --gexf FILE | --graphml FILE`: a run's saved snapshots as a
//! network file for Gephi, networkx, igraph, Cytoscape and friends (docs/export.md).
//!
//! `--gexf` writes one dynamic GEXF 1.3 of every snapshot: a node per agent with a spell
//! over the snapshots, a tie with one spell per run of consecutive snapshots it is
//! present in (a tie seen at ticks t_a, ..., t_b and not at the snapshots either side has
//! the spell start = t_a, end = t_b; between two snapshots nothing is known, so a spell
//! says where the tie was *observed*, not the exact ticks it formed and ended), and the
//! per-agent fields (and the tie weights) that change as dynamic attribute values over
//! the same snapshot intervals. `--graphml` writes one snapshot (`--tick`, default the
//! last) as a static GraphML.
//!
//! Graphs too large to open in Gephi get a sample that keeps ties: a snowball
//! ([`snowball`]) of `--sample N` agents (default [`DEFAULT_SAMPLE`], 0 for all), the same
//! agents in every snapshot, with every tie among them. Both files are streamed through
//! `quick-xml` to a temporary name beside the destination and renamed into place, so a
//! large graph is never held as one string and a reader never sees half a file; the
//! output is deterministic (the same run directory gives the same bytes).

mod gexf;
mod graphml;
pub mod snapshots;

use crate::engine::Values;
use crate::error::{Error, Result};
use crate::io::rundir::write_atomic_with;
use arrow_schema::DataType;
use snapshots::{SavedRun, Ties};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Agents of a sample unless `--sample` says otherwise: about what Gephi lays out
/// interactively on a desktop.
pub const DEFAULT_SAMPLE: u64 = 50_000;

/// A per-agent `u32` field named `<event>_at` holds the tick of that event or this
/// value for "never" (the models' `NEVER`).
pub const NEVER: u32 = u32::MAX;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub run_dir: PathBuf,
    pub gexf: Option<PathBuf>,
    pub graphml: Option<PathBuf>,
    /// `--sample N`: agents kept (0: all); None: [`DEFAULT_SAMPLE`].
    pub sample: Option<u64>,
    /// `--tick T`: the snapshot of a GraphML (default the last).
    pub tick: Option<u64>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Exported {
    pub path: PathBuf,
    /// "GEXF" or "GraphML".
    pub format: &'static str,
    pub snapshots: usize,
    /// Agents kept and in the run.
    pub agents: u64,
    pub agents_total: u64,
    /// Distinct ties written, and distinct ties of the snapshots exported.
    pub ties: u64,
    pub ties_total: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// Export a run directory's snapshots as `opts` asks.
pub fn export(opts: &ExportOptions) -> Result<Exported> {
    let start = Instant::now();
    let (path, flag, gexf) = match (&opts.gexf, &opts.graphml) {
        (Some(p), None) => (p.clone(), "--gexf", true),
        (None, Some(p)) => (p.clone(), "--graphml", false),
        (None, None) => {
            return Err(Error::bad_input(
                "export: say what to write, --gexf FILE (every snapshot, dynamic) or --graphml FILE (one snapshot)",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(Error::bad_input(
                "export: --gexf and --graphml together; give one of them (run export twice for both)",
            ))
        }
    };
    if gexf && opts.tick.is_some() {
        return Err(Error::bad_input(
            "--tick chooses the snapshot of a --graphml; a --gexf holds every snapshot",
        ));
    }
    check_output(&path, flag)?;
    let run = SavedRun::open(&opts.run_dir)?;
    let ticks: Vec<u64> = if gexf {
        run.ticks.clone()
    } else {
        let tick = match opts.tick {
            None => *run.ticks.last().expect("open checks there is a snapshot"),
            Some(t) if run.ticks.contains(&t) => t,
            Some(t) => {
                return Err(Error::bad_input(format!(
                    "--tick {t}: no snapshot of {} at that tick; its snapshots are at {}",
                    run.dir.display(),
                    list_ticks(&run.ticks)
                )))
            }
        };
        vec![tick]
    };
    let limit = opts.sample.unwrap_or(DEFAULT_SAMPLE);

    // The sample, from a first pass over the ties (only their keys are kept), then the
    // kept ties of each snapshot; a run kept whole is read once.
    let n = run.agents;
    let all = limit == 0 || limit >= n as u64;
    let (kept, ties_total) = if all {
        (None, None)
    } else {
        let mut union: Vec<u64> = Vec::new();
        let mut degree = Vec::new();
        for (k, &t) in ticks.iter().enumerate() {
            let ties = run.read_ties(t)?;
            union.extend(ties.src.iter().zip(&ties.dst).map(|(&s, &d)| key(s, d)));
            union.sort_unstable();
            union.dedup();
            if k + 1 == ticks.len() {
                degree = degrees(n, &ties);
            }
        }
        let total = union.len() as u64;
        (
            Some(snowball(n, &union, &degree, limit as usize)),
            Some(total),
        )
    };
    let member: Option<Vec<bool>> = kept.as_ref().map(|k| {
        let mut m = vec![false; n as usize];
        for &i in k {
            m[i as usize] = true;
        }
        m
    });
    let edges: Vec<Vec<EdgeRow>> = ticks
        .iter()
        .map(|&t| Ok(edge_rows(run.read_ties(t)?, member.as_deref())))
        .collect::<Result<_>>()?;
    let nodes = NodeData::read(&run, &ticks, kept.as_deref())?;
    let data = Export {
        run: &run,
        ticks: &ticks,
        nodes,
        edges,
        sample: limit,
    };
    let mut written = 0u64;
    write_atomic_with(&path, |w| {
        written = if gexf {
            gexf::write(w, &data)?
        } else {
            graphml::write(w, &data)?
        };
        Ok(())
    })?;
    let exported = Exported {
        bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        path,
        format: if gexf { "GEXF" } else { "GraphML" },
        snapshots: ticks.len(),
        agents: data.nodes.kept as u64,
        agents_total: n as u64,
        ties: written,
        ties_total: ties_total.unwrap_or(written),
        seconds: start.elapsed().as_secs_f64(),
    };
    let rule = if all {
        "all agents".to_string()
    } else {
        format!(
            "a snowball sample of --sample {limit} (from the highest-degree agents at tick {})",
            ticks.last().expect("a snapshot")
        )
    };
    tracing::info!(
        "{}: kept {} of {} agents ({rule}) and {} of {} ties over {} snapshot{}",
        exported.path.display(),
        exported.agents,
        exported.agents_total,
        exported.ties,
        exported.ties_total,
        exported.snapshots,
        if exported.snapshots == 1 { "" } else { "s" }
    );
    Ok(exported)
}

/// The ticks as `0, 50, ..., 300` (at most ten shown).
fn list_ticks(ticks: &[u64]) -> String {
    let shown: Vec<String> = ticks.iter().take(10).map(u64::to_string).collect();
    if ticks.len() > 10 {
        format!(
            "{}, ... ({} in all, the last {})",
            shown.join(", "),
            ticks.len(),
            ticks[ticks.len() - 1]
        )
    } else {
        shown.join(", ")
    }
}

/// Refuse an output path that cannot be a file we write (before any work).
fn check_output(path: &Path, flag: &str) -> Result<()> {
    let shown = path.display();
    if path.is_dir() {
        return Err(Error::bad_input(format!(
            "{flag} {shown}: is a directory; give a file name"
        )));
    }
    if path.file_name().is_none() {
        return Err(Error::bad_input(format!("{flag} {shown}: not a file name")));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(Error::bad_input(format!(
                "{flag} {shown}: the directory {} does not exist",
                parent.display()
            )));
        }
    }
    Ok(())
}

/// A tie as a sortable key: `src` in the high half, `dst` in the low.
fn key(src: u32, dst: u32) -> u64 {
    (src as u64) << 32 | dst as u64
}

fn ends(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, key as u32)
}

/// Each agent's degree in one snapshot.
fn degrees(n: u32, ties: &Ties) -> Vec<u32> {
    let mut degree = vec![0u32; n as usize];
    for (&s, &d) in ties.src.iter().zip(&ties.dst) {
        degree[s as usize] += 1;
        degree[d as usize] += 1;
    }
    degree
}

/// The sample rule (docs/export.md): `limit` agents reached by breadth-first search over
/// `union` (every tie of the snapshots exported), neighbours in ascending id, starting
/// from the agent of highest `degree` (ties broken by the smaller id) and, whenever the
/// search runs out of agents to reach, from the next such agent not yet taken. The
/// sample keeps whole neighbourhoods, so it keeps ties: a uniform sample of agents keeps
/// a share (limit/N)² of them. Returns the kept agents, ascending.
pub fn snowball(n: u32, union: &[u64], degree: &[u32], limit: usize) -> Vec<u32> {
    let n_us = n as usize;
    if limit >= n_us {
        return (0..n).collect();
    }
    // Adjacency of the union (both directions); keys are sorted, so every agent's
    // neighbours come out ascending: first the smaller ends, then the larger.
    let mut offset = vec![0u32; n_us + 1];
    for &k in union {
        let (a, b) = ends(k);
        offset[a as usize + 1] += 1;
        offset[b as usize + 1] += 1;
    }
    for i in 0..n_us {
        offset[i + 1] += offset[i];
    }
    let mut fill = offset.clone();
    let mut adj = vec![0u32; union.len() * 2];
    for &k in union {
        let (a, b) = ends(k);
        adj[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
        adj[fill[b as usize] as usize] = a;
        fill[b as usize] += 1;
    }
    drop(fill);
    let mut seeds: Vec<u32> = (0..n).collect();
    seeds.sort_by(|&a, &b| degree[b as usize].cmp(&degree[a as usize]).then(a.cmp(&b)));
    let mut taken = vec![false; n_us];
    let mut kept = Vec::with_capacity(limit);
    let mut queue = VecDeque::new();
    let mut next_seed = 0;
    while kept.len() < limit {
        let i = match queue.pop_front() {
            Some(i) => i,
            None => {
                while taken[seeds[next_seed] as usize] {
                    next_seed += 1;
                }
                let s = seeds[next_seed];
                taken[s as usize] = true;
                kept.push(s);
                s
            }
        };
        for &j in &adj[offset[i as usize] as usize..offset[i as usize + 1] as usize] {
            if kept.len() >= limit {
                break;
            }
            if !taken[j as usize] {
                taken[j as usize] = true;
                kept.push(j);
                queue.push_back(j);
            }
        }
    }
    kept.sort_unstable();
    kept
}

/// One tie of one snapshot: its key, weight and age (0 where the run keeps none).
#[derive(Debug, Clone, Copy)]
struct EdgeRow {
    key: u64,
    weight: f32,
    age: u32,
}

/// The ties of a snapshot among the kept agents, sorted by key, each once.
fn edge_rows(t: Ties, member: Option<&[bool]>) -> Vec<EdgeRow> {
    let mut rows: Vec<EdgeRow> = (0..t.len())
        .filter(|&k| member.is_none_or(|m| m[t.src[k] as usize] && m[t.dst[k] as usize]))
        .map(|k| EdgeRow {
            key: key(t.src[k], t.dst[k]),
            weight: t.weight.get(k).copied().unwrap_or(1.0),
            age: t.age.get(k).copied().unwrap_or(0),
        })
        .collect();
    // A stable sort: of a tie held twice (the voter model's rewiring can give an agent
    // the same neighbour in two slots) the first row is kept.
    rows.sort_by_key(|r| r.key);
    rows.dedup_by_key(|r| r.key);
    rows
}

/// The ties of all snapshots merged by key: each tie once, with the snapshots (their
/// index) it is present in, ascending, and its row in each.
struct Merge<'a> {
    lists: &'a [Vec<EdgeRow>],
    pos: Vec<usize>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
}

impl<'a> Merge<'a> {
    fn new(lists: &'a [Vec<EdgeRow>]) -> Merge<'a> {
        let heap = lists
            .iter()
            .enumerate()
            .filter_map(|(k, l)| l.first().map(|r| std::cmp::Reverse((r.key, k))))
            .collect();
        Merge {
            lists,
            pos: vec![0; lists.len()],
            heap,
        }
    }
}

impl Iterator for Merge<'_> {
    type Item = (u64, Vec<(usize, EdgeRow)>);

    fn next(&mut self) -> Option<Self::Item> {
        let std::cmp::Reverse((key, _)) = *self.heap.peek()?;
        let mut present = Vec::new();
        while let Some(&std::cmp::Reverse((k, s))) = self.heap.peek() {
            if k != key {
                break;
            }
            self.heap.pop();
            present.push((s, self.lists[s][self.pos[s]]));
            self.pos[s] += 1;
            if let Some(r) = self.lists[s].get(self.pos[s]) {
                self.heap.push(std::cmp::Reverse((r.key, s)));
            }
        }
        Some((key, present))
    }
}

/// Runs of consecutive snapshot indices: (first, last) of each.
fn runs(present: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &k in present {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == k => *last = k,
            _ => out.push((k, k)),
        }
    }
    out
}

/// How a column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// The value itself.
    Raw,
    /// A `<event>_at` tick: the tick, or -1 for never.
    Event,
    /// Whether the `<event>_at` event has happened (e.g. `adopted` from `adopted_at`).
    Flag,
}

/// One node attribute: a column of the agents files seen one way.
#[derive(Debug, Clone)]
struct Attr {
    name: String,
    field: usize,
    view: View,
    /// Whether some kept agent's value differs between two snapshots.
    dynamic: bool,
}

impl Attr {
    /// The attribute's type, by the name GEXF and GraphML both use (Java's types:
    /// `integer`/`int` is 32-bit signed, so unsigned columns are `long`).
    fn xml_type(&self, t: &DataType) -> &'static str {
        match (self.view, t) {
            (View::Flag, _) => "boolean",
            (_, DataType::Float32) => "float",
            (_, DataType::Float64) => "double",
            _ => "long",
        }
    }
}

/// The kept agents' columns in every snapshot exported.
struct NodeData {
    kept: usize,
    /// The agent ids, ascending.
    ids: Vec<u32>,
    fields: Vec<(String, DataType)>,
    /// `values[field][snapshot]`: the kept agents' values, in the order of `ids`.
    values: Vec<Vec<Values>>,
    attrs: Vec<Attr>,
}

fn pick(values: Values, kept: Option<&[u32]>) -> Values {
    let Some(kept) = kept else { return values };
    fn take<T: Copy>(v: &[T], kept: &[u32]) -> Vec<T> {
        kept.iter().map(|&i| v[i as usize]).collect()
    }
    match values {
        Values::U32(v) => Values::U32(take(&v, kept)),
        Values::F32(v) => Values::F32(take(&v, kept)),
        Values::U64(v) => Values::U64(take(&v, kept)),
        Values::F64(v) => Values::F64(take(&v, kept)),
    }
}

/// The bits of value `i` (for equality: a float compares by its bits, so NaN equals NaN).
fn bits(values: &Values, i: usize) -> u64 {
    match values {
        Values::U32(v) => v[i] as u64,
        Values::F32(v) => v[i].to_bits() as u64,
        Values::U64(v) => v[i],
        Values::F64(v) => v[i].to_bits(),
    }
}

/// A float as GEXF and GraphML readers (Java, Python) parse it: the shortest text that
/// reads back to the same value.
fn float_text(v: f64, single: bool) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if single {
        format!("{:?}", v as f32)
    } else {
        format!("{v:?}")
    }
}

impl NodeData {
    fn read(run: &SavedRun, ticks: &[u64], kept: Option<&[u32]>) -> Result<NodeData> {
        let fields = run.agent_columns.clone();
        let mut values: Vec<Vec<Values>> = vec![Vec::with_capacity(ticks.len()); fields.len()];
        for &t in ticks {
            for (f, (_, v)) in run.read_agents(t, None)?.into_iter().enumerate() {
                values[f].push(pick(v, kept));
            }
        }
        let ids: Vec<u32> = kept.map_or_else(|| (0..run.agents).collect(), <[u32]>::to_vec);
        let mut data = NodeData {
            kept: ids.len(),
            ids,
            fields,
            values,
            attrs: Vec::new(),
        };
        for (f, (name, t)) in data.fields.iter().enumerate() {
            let event = *t == DataType::UInt32 && name.len() > 3 && name.ends_with("_at");
            let mut views = vec![if event { View::Event } else { View::Raw }];
            if event {
                views.push(View::Flag);
            }
            for view in views {
                let attr_name = if view == View::Flag {
                    name.trim_end_matches("_at").to_string()
                } else {
                    name.clone()
                };
                if view == View::Flag && data.fields.iter().any(|(n, _)| *n == attr_name) {
                    continue;
                }
                let mut attr = Attr {
                    name: attr_name,
                    field: f,
                    view,
                    dynamic: false,
                };
                attr.dynamic = (1..ticks.len())
                    .any(|k| (0..data.kept).any(|i| !data.same(&attr, k - 1, k, i)));
                data.attrs.push(attr);
            }
        }
        Ok(data)
    }

    /// Whether agent `i` (an index into `ids`) shows the same value of `attr` in
    /// snapshots `a` and `b`.
    fn same(&self, attr: &Attr, a: usize, b: usize, i: usize) -> bool {
        let col = &self.values[attr.field];
        let (x, y) = (bits(&col[a], i), bits(&col[b], i));
        match attr.view {
            View::Flag => (x == NEVER as u64) == (y == NEVER as u64),
            _ => x == y,
        }
    }

    /// The text of `attr` for agent `i` in snapshot `k`.
    fn text(&self, attr: &Attr, k: usize, i: usize) -> String {
        match (&self.values[attr.field][k], attr.view) {
            (Values::U32(v), View::Flag) => (v[i] != NEVER).to_string(),
            (Values::U32(v), View::Event) if v[i] == NEVER => "-1".into(),
            (Values::U32(v), _) => v[i].to_string(),
            (Values::U64(v), _) => v[i].to_string(),
            (Values::F32(v), _) => float_text(v[i] as f64, true),
            (Values::F64(v), _) => float_text(v[i], false),
        }
    }

    fn data_type(&self, attr: &Attr) -> &DataType {
        &self.fields[attr.field].1
    }
}

/// Everything a writer needs.
struct Export<'a> {
    run: &'a SavedRun,
    /// The snapshot ticks exported.
    ticks: &'a [u64],
    nodes: NodeData,
    /// The kept ties of each snapshot, sorted by key.
    edges: Vec<Vec<EdgeRow>>,
    sample: u64,
}

impl Export<'_> {
    /// One line on what the file holds, for its header.
    fn description(&self) -> String {
        let m = &self.run.manifest;
        let first = self.ticks[0];
        let last = self.ticks[self.ticks.len() - 1];
        let sample = if self.nodes.kept as u64 == self.run.agents as u64 {
            "all agents".to_string()
        } else {
            format!(
                "a snowball sample of {} agents (--sample {}) from the highest-degree agents at tick {last}",
                self.nodes.kept, self.sample
            )
        };
        format!(
            "emergence run of model {}, {} agents, seed {}: {} snapshot{} from tick {first} to {last}; {sample}",
            m.model,
            self.run.agents,
            m.seed,
            self.ticks.len(),
            if self.ticks.len() == 1 { "" } else { "s" },
        )
    }

    /// The run's date (of its manifest), so that the same run exports the same bytes.
    fn date(&self) -> Option<String> {
        let m = &self.run.manifest;
        let stamp = m.ended.as_deref().unwrap_or(&m.created);
        let date = stamp.get(..10)?;
        let ok = date.len() == 10
            && date.bytes().enumerate().all(|(k, c)| {
                if k == 4 || k == 7 {
                    c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        ok.then(|| date.to_string())
    }
}
