//! Reads a user's edge-list file into an [`EdgeList`]: one tie per line, `u v [weight]`,
//! separated by spaces, tabs or commas, ids any non-negative integers (the agents are
//! the distinct ids in ascending order). This is where outside data enters the run, so
//! every problem is reported as bad input naming the file and line, what is not an edge
//! list (binary data, endless lines, nothing but comments) is stopped early, and what the
//! simulator cannot represent (self-loops, repeated pairs) is dropped and counted rather
//! than silently kept.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::EdgeList;
use crate::error::{Error, Result};

/// How the ids in a file are numbered. Agents are the distinct ids in ascending order
/// whatever the base, so the base is a check: a file declared 1-based may not hold id 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdBase {
    /// Ids start at 0 (most code, SNAP files).
    #[serde(rename = "0")]
    Zero,
    /// Ids start at 1 (Matrix Market, R, Pajek): id 0 is refused.
    #[serde(rename = "1")]
    One,
    /// 1-based if no id 0 appears in the file, else 0-based.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

impl FromStr for IdBase {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "0" => Ok(IdBase::Zero),
            "1" => Ok(IdBase::One),
            "auto" => Ok(IdBase::Auto),
            _ => Err(Error::bad_input(format!(
                "graph.id_base = \"{s}\" is not allowed: use \"0\", \"1\" or \"auto\""
            ))),
        }
    }
}

impl fmt::Display for IdBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdBase::Zero => "0",
            IdBase::One => "1",
            IdBase::Auto => "auto",
        })
    }
}

/// What the import dropped or decided, for the run's log, and the user's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines tying an agent to itself.
    pub self_loops: usize,
    /// Lines repeating a pair already read (in either direction); the first one is kept.
    pub duplicates: usize,
    /// The base the ids were checked against: `Zero` or `One`, never `Auto`.
    pub resolved_base: IdBase,
    /// The user's id of each agent: agent `i` is `ids[i]` in the file (sorted ascending).
    pub ids: Vec<u64>,
}

/// The longest line read; past it the file is refused without reading the rest.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Bytes of the user's input a message quotes at most.
const QUOTE_BYTES: usize = 120;

/// Host bytes the importer holds per edge line at its peak: the raw ids (two u64), their
/// copy that is sorted into the distinct ids, the remapped pair and the (pair, position)
/// list repeats are found with.
pub const IMPORT_BYTES_PER_LINE: u64 = 64;

/// Reads an undirected edge list. Blank lines, lines starting with `#` or `%` and
/// anything after a `#` are ignored. Either every edge line has a weight (finite, > 0) or
/// none does. Ids are any non-negative integers below 2^64; the agents are the distinct
/// ids, numbered in ascending order of id (so `0 100000000` is two agents, 0 and 1), and
/// [`ImportReport::ids`] keeps the user's id of each. A file that is not text (a NUL
/// byte, not UTF-8), has a line over [`MAX_LINE_BYTES`], holds no tie line, or would
/// not fit the memory available is refused, naming the file.
pub fn read_edge_list(path: &Path, base: IdBase) -> Result<(EdgeList, ImportReport)> {
    let shown = path.display();
    let cannot_read =
        |e: std::io::Error| Error::bad_input(format!("{shown}: cannot read graph file: {e}"));
    if std::fs::metadata(path).map_err(cannot_read)?.is_dir() {
        return Err(Error::bad_input(format!(
            "{shown}: is a directory; graph.path names an edge-list file (`u v [weight]` per line)"
        )));
    }
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    // The importer's arrays grow with the file; past what the memory available holds the
    // file is refused while it is read, not by the allocator.
    let available = crate::model::memory::available_memory()?;
    let max_lines = available.bytes / IMPORT_BYTES_PER_LINE;

    let mut raw: Vec<(u64, u64)> = Vec::new();
    let mut weights: Vec<f32> = Vec::new();
    // Line of the first edge, and whether it had a weight: all others must match it.
    let mut first: Option<(usize, bool)> = None;
    let mut saw_zero = false;

    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(cannot_read)?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let not_text = |why: &str| {
            Error::bad_input(format!(
                "{shown}:{line_no}: not a text edge list ({why}); expected `u v [weight]` per line"
            ))
        };
        if buf.contains(&0) {
            return Err(not_text("a NUL byte"));
        }
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            return Err(not_text(&format!(
                "a line longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            return Err(not_text("not UTF-8"));
        };
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() || content.starts_with('%') {
            continue;
        }
        let malformed = || {
            Error::bad_input(format!(
                "{shown}:{line_no}: expected `u v [weight]` with non-negative integer ids and a finite positive weight, found `{}`",
                crate::error::shorten(content, QUOTE_BYTES)
            ))
        };
        let mut fields = content
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(u), Some(v)) = (fields.next(), fields.next()) else {
            return Err(malformed());
        };
        let weight = fields.next();
        if fields.next().is_some() {
            return Err(malformed());
        }
        let id = |s: &str| -> Result<u64> {
            let value: u64 = s.parse().map_err(|_| malformed())?;
            if base == IdBase::One && value == 0 {
                return Err(Error::bad_input(format!(
                    "{shown}:{line_no}: id 0 in a file read as 1-based (graph.id_base = \"1\"); use \"0\" or \"auto\""
                )));
            }
            Ok(value)
        };
        let (u, v) = (id(u)?, id(v)?);
        saw_zero |= u == 0 || v == 0;

        match first {
            None => first = Some((line_no, weight.is_some())),
            Some((first_line, weighted)) if weighted != weight.is_some() => {
                let (this, that) = if weighted {
                    ("no", "has")
                } else {
                    ("a", "has none")
                };
                return Err(Error::bad_input(format!(
                    "{shown}:{line_no}: this line has {this} weight but line {first_line} {that}: give every line a weight or none"
                )));
            }
            Some(_) => {}
        }
        if let Some(w) = weight {
            let w: f32 = w.parse().map_err(|_| malformed())?;
            if !(w.is_finite() && w > 0.0) {
                return Err(malformed());
            }
            weights.push(w);
        }
        if raw.len() as u64 >= max_lines {
            return Err(Error::bad_input(format!(
                "{shown}:{line_no}: more than {max_lines} ties need more than the {} bytes of memory available ({}), at {IMPORT_BYTES_PER_LINE} bytes per tie while the file is read",
                available.bytes, available.source
            )));
        }
        raw.push((u, v));
    }
    if raw.is_empty() {
        return Err(Error::bad_input(format!(
            "{shown}: no ties: the file is empty or holds only comments; an edge list has one `u v [weight]` per line"
        )));
    }

    let resolved_base = match base {
        IdBase::Auto if saw_zero => IdBase::Zero,
        IdBase::Auto => IdBase::One,
        other => other,
    };
    // Agents are the distinct ids in ascending order: a large or sparse id costs nothing.
    let mut ids: Vec<u64> = raw.iter().flat_map(|&(u, v)| [u, v]).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.shrink_to_fit();
    if ids.len() as u64 > crate::config::MAX_AGENTS as u64 {
        return Err(Error::bad_input(format!(
            "{shown}: {} distinct ids are more agents than the {} a run holds",
            ids.len(),
            crate::config::MAX_AGENTS
        )));
    }
    let agent = |id: u64| ids.binary_search(&id).expect("every id is listed") as u32;
    let n = ids.len() as u32;

    let weighted = first.is_some_and(|(_, w)| w);
    let mut self_loops = 0usize;
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(raw.len());
    let mut kept_weights: Vec<f32> = Vec::with_capacity(weights.len());
    for (k, &(u, v)) in raw.iter().enumerate() {
        let (u, v) = (agent(u), agent(v));
        if u == v {
            self_loops += 1;
            continue;
        }
        pairs.push((u, v));
        if weighted {
            kept_weights.push(weights[k]);
        }
    }
    drop(raw);

    // Repeats are found by sorting (pair, position) rather than hashing: linear memory,
    // fast, and the first occurrence in the file is the one kept.
    let mut order: Vec<(u64, usize)> = pairs
        .iter()
        .enumerate()
        .map(|(k, &(u, v))| (((u.min(v) as u64) << 32) | u.max(v) as u64, k))
        .collect();
    order.sort_unstable();
    let mut keep = vec![true; pairs.len()];
    for w in order.windows(2) {
        if w[0].0 == w[1].0 {
            keep[w[1].1] = false;
        }
    }
    drop(order);
    let duplicates = keep.iter().filter(|&&k| !k).count();
    let edges: Vec<(u32, u32)> = pairs
        .iter()
        .zip(&keep)
        .filter_map(|(&e, &k)| k.then_some(e))
        .collect();
    let weights = weighted.then(|| {
        kept_weights
            .iter()
            .zip(&keep)
            .filter_map(|(&w, &k)| k.then_some(w))
            .collect()
    });

    Ok((
        EdgeList { n, edges, weights },
        ImportReport {
            self_loops,
            duplicates,
            resolved_base,
            ids,
        },
    ))
}
