//! Reads a user's edge-list file into an [`EdgeList`]: one tie per line, `u v [weight]`,
//! separated by spaces, tabs or commas, ids 0- or 1-based. This is where outside data
//! enters the run, so every problem is reported as bad input naming the file and line,
//! and what the simulator cannot represent (self-loops, repeated pairs) is dropped and
//! counted rather than silently kept.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::EdgeList;
use crate::error::{Error, Result};

/// How the ids in a file are numbered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdBase {
    /// Ids start at 0 (most code, SNAP files).
    #[serde(rename = "0")]
    Zero,
    /// Ids start at 1 (Matrix Market, R, Pajek): id 1 becomes agent 0.
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

/// What the import dropped or decided, for the run's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines tying an agent to itself.
    pub self_loops: usize,
    /// Lines repeating a pair already read (in either direction); the first one is kept.
    pub duplicates: usize,
    /// The base actually used: `Zero` or `One`, never `Auto`.
    pub resolved_base: IdBase,
}

/// Reads an undirected edge list. Blank lines, lines starting with `#` or `%` and
/// anything after a `#` are ignored. Either every edge line has a weight (finite, > 0) or
/// none does. `n` is the largest id plus one, after the base shift.
pub fn read_edge_list(path: &Path, base: IdBase) -> Result<(EdgeList, ImportReport)> {
    let shown = path.display();
    let cannot_read =
        |e: std::io::Error| Error::bad_input(format!("{shown}: cannot read graph file: {e}"));
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);

    // Raw ids are kept as read; the shift waits until the end because `Auto` only knows
    // the base once it has seen every id.
    let mut raw: Vec<(u32, u32)> = Vec::new();
    let mut weights: Vec<f32> = Vec::new();
    // Line of the first edge, and whether it had a weight: all others must match it.
    let mut first: Option<(usize, bool)> = None;
    let mut saw_zero = false;
    // Raw id u32::MAX is only valid 1-based; remember where it was for `Auto`.
    let mut first_max_id_line: Option<usize> = None;

    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(cannot_read)? == 0 {
            break;
        }
        line_no += 1;
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => s,
            Err(_) => {
                return Err(Error::bad_input(format!(
                    "{shown}:{line_no}: the line is not valid UTF-8 text"
                )))
            }
        };
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() || content.starts_with('%') {
            continue;
        }
        let malformed = || {
            Error::bad_input(format!(
                "{shown}:{line_no}: expected `u v [weight]` with non-negative integer ids and a finite positive weight, found `{content}`"
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
        let id = |s: &str| -> Result<u32> {
            let value: u64 = s.parse().map_err(|_| malformed())?;
            if value > u32::MAX as u64 || (base == IdBase::Zero && value == u32::MAX as u64) {
                return Err(too_large(&shown, line_no, value));
            }
            if base == IdBase::One && value == 0 {
                return Err(Error::bad_input(format!(
                    "{shown}:{line_no}: id 0 in a file read as 1-based (graph.id_base = \"1\"); use \"0\" or \"auto\""
                )));
            }
            Ok(value as u32)
        };
        let (u, v) = (id(u)?, id(v)?);
        saw_zero |= u == 0 || v == 0;
        if (u == u32::MAX || v == u32::MAX) && first_max_id_line.is_none() {
            first_max_id_line = Some(line_no);
        }

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
        raw.push((u, v));
    }

    let resolved_base = match base {
        IdBase::Auto if saw_zero => IdBase::Zero,
        IdBase::Auto => IdBase::One,
        other => other,
    };
    let shift = (resolved_base == IdBase::One) as u32;
    if resolved_base == IdBase::Zero {
        if let Some(line) = first_max_id_line {
            return Err(too_large(&shown, line, u32::MAX as u64));
        }
    }

    let weighted = first.is_some_and(|(_, w)| w);
    let mut n = 0u32;
    let mut self_loops = 0usize;
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(raw.len());
    let mut kept_weights: Vec<f32> = Vec::with_capacity(weights.len());
    for (k, &(u, v)) in raw.iter().enumerate() {
        let (u, v) = (u - shift, v - shift);
        n = n.max(u + 1).max(v + 1);
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
        },
    ))
}

fn too_large(shown: &impl fmt::Display, line: usize, value: u64) -> Error {
    Error::bad_input(format!(
        "{shown}:{line}: id {value} is too large: after the base shift ids must be at most {}",
        u32::MAX - 1
    ))
}
