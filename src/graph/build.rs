//! The scenario's starting graph, built on the host (deterministic in the seed): a
//! generator, a graph file, no ties, or none stored at all (well mixed).

use crate::config::{GraphKind, Loaded};
use crate::error::Result;
use crate::graph::{generators, import, Csr, EdgeList, TieStore};
use serde::Serialize;
use std::time::Instant;

/// Facts about the graph a run started from.
#[derive(Debug, Clone, Serialize)]
pub struct GraphSummary {
    pub kind: String,
    pub agents: u32,
    pub ties: u64,
    pub mean_degree: f64,
    pub max_degree: u32,
    pub build_s: f64,
    /// A graph file's ids: agent `i` is the file's `i`-th id in ascending order (None for
    /// a generated graph). The run directory's `ids.parquet` holds them.
    #[serde(skip)]
    pub ids: Option<import::UserIds>,
}

/// Build the scenario's initial graph (on the host; deterministic in the seed).
pub fn build_graph(loaded: &Loaded) -> Result<(EdgeList, GraphSummary, Csr)> {
    let s = &loaded.scenario;
    let g = &s.graph;
    let n = s.agents as u32;
    let seed = s.seed as u32;
    if g.kind != GraphKind::File {
        // Refused before the graph's arrays exist: the run's whole host plan. (A model
        // not found is reported by whoever starts it.)
        if let Ok(model) = crate::model::find(s.model.kind()) {
            crate::model::memory::check_host(model, &crate::model::Size::from_config(loaded))?;
        }
    }
    let start = Instant::now();
    let mut ids = None;
    let edges = match g.kind {
        GraphKind::Er => generators::erdos_renyi(n, g.mean_degree, seed)?,
        GraphKind::Ws => {
            let k = 2 * (g.mean_degree / 2.0).round() as u32;
            generators::watts_strogatz(n, k, g.rewire, seed)?
        }
        GraphKind::Ba => {
            let m = if g.attach > 0 {
                g.attach as u32
            } else {
                (g.mean_degree / 2.0).round().max(1.0) as u32
            };
            generators::barabasi_albert(n, m, seed)?
        }
        GraphKind::Geometric => generators::random_geometric(n, g.mean_degree, seed)?.0,
        GraphKind::Sbm => {
            generators::stochastic_block(n, g.blocks as u32, g.mean_degree, g.mean_degree_in, seed)?
                .0
        }
        GraphKind::File => {
            let path = loaded
                .graph_path()
                .expect("validated: file graphs have a path");
            let base = match g.id_base.as_str() {
                "0" => import::IdBase::Zero,
                "1" => import::IdBase::One,
                _ => import::IdBase::Auto,
            };
            let (edges, report) = import::read_graph_file(&path, base)?;
            log_import(&path, &report);
            if edges.n != n {
                tracing::info!(
                    "{}: the file has {} agents; agents = {} is replaced by it",
                    path.display(),
                    edges.n,
                    n
                );
            }
            ids = Some(report.ids);
            edges
        }
        GraphKind::Empty => EdgeList {
            n,
            edges: Vec::new(),
            weights: None,
        },
        // Well mixed: no ties are stored; the model pairs agents itself.
        GraphKind::Complete => EdgeList {
            n,
            edges: Vec::new(),
            weights: None,
        },
    };
    let csr = Csr::from_edges(&edges);
    if g.kind == GraphKind::Complete {
        let summary = GraphSummary {
            kind: "complete".into(),
            agents: n,
            ties: n as u64 * (n as u64).saturating_sub(1) / 2,
            mean_degree: n.saturating_sub(1) as f64,
            max_degree: n.saturating_sub(1),
            build_s: start.elapsed().as_secs_f64(),
            ids: None,
        };
        return Ok((edges, summary, csr));
    }
    let summary = GraphSummary {
        kind: format!("{:?}", g.kind).to_lowercase(),
        agents: edges.n,
        ties: edges.edges.len() as u64,
        mean_degree: edges.mean_degree(),
        max_degree: csr.max_degree(),
        build_s: start.elapsed().as_secs_f64(),
        ids,
    };
    Ok((edges, summary, csr))
}

/// What the import read and dropped, in the run's log: the format, how the ids were
/// taken, and the ties dropped (warnings: the run's graph is not the file's).
fn log_import(path: &std::path::Path, report: &import::ImportReport) {
    let shown = path.display();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let compressed = match report.compression {
        import::Compression::None => String::new(),
        c => format!(", {c}-compressed"),
    };
    let ids = match &report.ids {
        import::UserIds::Numeric(_) => "integer ids in ascending order",
        import::UserIds::Text(_) => "string ids in ascending byte order",
    };
    tracing::info!(
        "{shown}: {}{compressed}, {} from {ids}{}",
        report.format,
        count(report.ids.len(), "agent", "agents"),
        if report.header {
            ", the first line read as column names"
        } else {
            ""
        }
    );
    if report.directed {
        tracing::warn!(
            "{shown}: a general (directed) matrix is symmetrised, i→j and j→i one tie ({} listed both ways)",
            count(report.reciprocal, "pair", "pairs")
        );
    } else if report.reciprocal > 0 {
        tracing::warn!(
            "{shown}: {} listed in both directions (u v, then v u): the file is read as directed and symmetrised",
            count(report.reciprocal, "tie", "ties")
        );
    }
    if report.self_loops + report.duplicates > 0 {
        tracing::warn!(
            "{shown}: dropped {} and {}{}",
            count(report.self_loops, "self-loop", "self-loops"),
            count(report.duplicates, "duplicate tie", "duplicate ties"),
            if report.reciprocal > 0 {
                format!(
                    " ({} the reverse of a tie read before)",
                    if report.reciprocal == 1 {
                        "one of them".to_string()
                    } else {
                        format!("{} of them", report.reciprocal)
                    }
                )
            } else {
                String::new()
            }
        );
    }
}

/// The scenario's graph in K tie slots per agent for the dynamic-tie models, every tie
/// at `weight` (weights in a graph file are not used). Ties that would take an agent past
/// K are dropped, in list order, with a counted warning.
pub fn tie_slots(edges: &EdgeList, slots: u32, weight: f32) -> TieStore {
    let unweighted = EdgeList {
        n: edges.n,
        edges: edges.edges.clone(),
        weights: None,
    };
    let (store, dropped) = TieStore::from_edges(&unweighted, slots, weight);
    if dropped > 0 {
        tracing::warn!(
            "graph: dropped {dropped} of {} ties that would give an agent more than graph.slots = {slots} ties",
            edges.edges.len(),
        );
    }
    store
}
