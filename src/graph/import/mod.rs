//! Reads a user's graph file into an [`EdgeList`]: a text edge list (`u v [weight]` per
//! line, plain, gzip- or zstd-compressed), a Matrix Market coordinate matrix (`.mtx`) or
//! a Parquet edge table. The format is told by the file's first bytes, not by its name.
//! Ids may be any non-negative integers or any strings; the agents are the distinct ids,
//! numbered 0..N−1 in ascending numeric order when every id of the file is an integer,
//! else in ascending byte order of the ids as strings, and [`ImportReport::ids`] keeps the
//! user's id of each agent.
//!
//! This is where outside data enters the run, so every problem is reported as bad input
//! naming the file and the line (text) or the column and row group (Parquet), what is not
//! a graph file (binary data, endless lines, a broken compressed stream) is stopped early,
//! and what the simulator cannot represent (self-loops, repeated pairs, the second
//! direction of a directed tie) is dropped and counted rather than silently kept. The
//! file is streamed: memory grows with the graph (its ties and distinct ids), not with
//! the file's text.

mod intern;
mod table;
mod text;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::EdgeList;
use crate::error::{Error, Result};
use intern::Interner;

/// How the ids in a file are numbered. Agents are the distinct ids in ascending order
/// whatever the base, so the base is a check: a file declared 1-based may not hold id 0.
/// It applies to integer ids; a file of string ids, and a Matrix Market file (1-based by
/// its format), ignore it.
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

/// The formats a graph file may be in, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// `u v [weight]` per line.
    EdgeList,
    /// `%%MatrixMarket matrix coordinate ...`.
    MatrixMarket,
    /// A Parquet table of ties (magic `PAR1`).
    Parquet,
}

impl fmt::Display for GraphFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GraphFormat::EdgeList => "edge list",
            GraphFormat::MatrixMarket => "Matrix Market",
            GraphFormat::Parquet => "Parquet",
        })
    }
}

/// The compression around a text file, as told by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// `1f 8b` (one or more gzip members).
    Gzip,
    /// `28 b5 2f fd` (one or more zstd frames).
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// The user's id of each agent: agent `i` is the `i`-th id, in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserIds {
    /// Every id of the file was a non-negative integer: ascending numeric order.
    Numeric(Vec<u64>),
    /// Some id was not: every id taken as a string, in ascending byte order.
    Text(TextIds),
}

impl UserIds {
    /// Number of agents.
    pub fn len(&self) -> usize {
        match self {
            UserIds::Numeric(ids) => ids.len(),
            UserIds::Text(ids) => ids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Agent `i`'s id as the user wrote it.
    pub fn display(&self, i: usize) -> String {
        match self {
            UserIds::Numeric(ids) => ids[i].to_string(),
            UserIds::Text(ids) => ids.get(i).to_string(),
        }
    }
}

/// String ids, in one buffer (a `Vec<String>` would cost a heap block per id):
/// id `i` is `bytes[ends[i − 1]..ends[i]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextIds {
    bytes: String,
    ends: Vec<u64>,
}

impl TextIds {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Id `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn push(&mut self, id: &str) {
        self.bytes.push_str(id);
        self.ends.push(self.bytes.len() as u64);
    }
}

impl<S: AsRef<str>> FromIterator<S> for TextIds {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut ids = TextIds::default();
        for s in iter {
            ids.push(s.as_ref());
        }
        ids
    }
}

/// What the import dropped or decided, for the run's log, and the user's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub format: GraphFormat,
    pub compression: Compression,
    /// Ties tying an agent to itself.
    pub self_loops: usize,
    /// Ties repeating a pair already read (in either direction); the first one is kept.
    pub duplicates: usize,
    /// Of the duplicates, those whose reverse (v → u after u → v) had been read and not
    /// the same direction: the file lists directed ties, and is symmetrised.
    pub reciprocal: usize,
    /// The format says the ties are directed (a `general` Matrix Market matrix).
    pub directed: bool,
    /// A first line of column names (`src dst`, `source,target,weight`) was skipped.
    pub header: bool,
    /// The base integer ids were checked against: `Zero` or `One`; `Auto` for string ids.
    pub resolved_base: IdBase,
    /// The user's id of each agent: agent `i` is `ids[i]` in the file.
    pub ids: UserIds,
}

/// The longest line read; past it the file is refused without reading the rest.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Bytes of the user's input a message quotes at most.
const QUOTE_BYTES: usize = 120;

/// Host bytes the importer may hold per tie read, at its peak, with integer ids: the
/// tie's two ids (16) and its weight (4), the distinct ids collected so far (at most 16
/// when every id is new, twice that before a round of deduplication), and, once the file
/// is read, the packed pair, its bucket entry and flag, and the kept tie and weight. A
/// bound, not a typical figure: 10^7 ties over 2·10^6 ids peaked at about 20 bytes a tie
/// (docs/benchmarks.md). String ids hold less per tie (8 and 4) and
/// [`IMPORT_BYTES_PER_TEXT_ID`] per distinct id.
pub const IMPORT_BYTES_PER_LINE: u64 = 64;

/// Host bytes per distinct string id beyond its own bytes (which are counted twice: the
/// interned entry and the sorted copy): its table slot (16 bytes at a load between 3/8
/// and 3/4), its entry's header, and while the ids are sorted, its 16-byte sort key with
/// its index, its start, its rank and its end in the sorted copy.
pub const IMPORT_BYTES_PER_TEXT_ID: u64 = 64;

/// The most tie lines a file may hold: a tie's position is kept in 32 bits while
/// repeats are found.
const MAX_TIE_LINES: u64 = u32::MAX as u64;

/// The most distinct ties a graph holds (the CSR's offsets are u32, two entries a tie).
const MAX_TIES: usize = (u32::MAX / 2) as usize;

/// Reads an undirected graph from a file in any of the [`GraphFormat`]s. Text formats
/// may be gzip- or zstd-compressed. Blank lines, lines starting with `#` or `%` and
/// anything after a `#` are ignored in an edge list; a first line of column names
/// (`src dst [weight]`, `source target`, `u v`) is skipped. Either every tie has a weight
/// (finite, > 0) or none does. The agents are the distinct ids (see the module's
/// documentation), [`ImportReport::ids`] keeps the user's id of each. A file that is not
/// a graph file of a known format, holds no tie, or would not fit the memory available
/// is refused, naming the file (and the line, or the column and row group).
pub fn read_graph_file(path: &Path, base: IdBase) -> Result<(EdgeList, ImportReport)> {
    let source = Source::open(path)?;
    // The importer's arrays grow with the file; past what the memory available holds the
    // file is refused while it is read, not by the allocator.
    let available = crate::model::memory::available_memory()?;
    let budget = Budget {
        bytes: available.bytes,
        source: available.source,
    };
    // Integer ids first; the first id that is not one starts the file again with every id
    // taken as a string, so that `007` and `7` are one agent in an integer file and two in
    // a file of names, exactly as written.
    let mut collector = Collector::new(false, base, budget.clone());
    let mut header = false;
    match source.read(&mut collector, &mut header) {
        Ok(()) => {}
        Err(Stop::Text) => {
            drop(collector);
            collector = Collector::new(true, base, budget);
            header = false;
            source
                .read(&mut collector, &mut header)
                .map_err(|e| match e {
                    Stop::Bad(e) => e,
                    Stop::Text => unreachable!("a string id is taken in text mode"),
                })?;
        }
        Err(Stop::Bad(e)) => return Err(e),
    }
    let format = source.format;
    let (edges, mut report) = collector.finish(&source.shown())?;
    report.format = format;
    report.compression = source.compression;
    report.header = header;
    Ok((edges, report))
}

/// A graph file, its format and compression as its first bytes tell.
struct Source<'a> {
    path: &'a Path,
    format: GraphFormat,
    compression: Compression,
}

/// Why reading stopped.
enum Stop {
    /// Bad input, with its message.
    Bad(Error),
    /// An id is not a non-negative integer: read the file again with string ids.
    Text,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Bad(e)
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const PARQUET_MAGIC: &[u8] = b"PAR1";

impl<'a> Source<'a> {
    fn open(path: &'a Path) -> Result<Source<'a>> {
        let shown = path.display();
        let cannot_read =
            |e: std::io::Error| Error::bad_input(format!("{shown}: cannot read graph file: {e}"));
        if std::fs::metadata(path).map_err(cannot_read)?.is_dir() {
            return Err(Error::bad_input(format!(
                "{shown}: is a directory; graph.path names a graph file (an edge list `u v [weight]` per line, .mtx or .parquet)"
            )));
        }
        let mut head = [0u8; 4];
        let mut got = 0;
        let mut file = std::fs::File::open(path).map_err(cannot_read)?;
        while got < head.len() {
            match file.read(&mut head[got..]).map_err(cannot_read)? {
                0 => break,
                k => got += k,
            }
        }
        let head = &head[..got];
        let (format, compression) = if head.starts_with(GZIP_MAGIC) {
            (text::sniff(path, Compression::Gzip)?, Compression::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            (text::sniff(path, Compression::Zstd)?, Compression::Zstd)
        } else if head.starts_with(PARQUET_MAGIC) {
            (GraphFormat::Parquet, Compression::None)
        } else {
            (text::sniff(path, Compression::None)?, Compression::None)
        };
        Ok(Source {
            path,
            format,
            compression,
        })
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self, collector: &mut Collector, header: &mut bool) -> Result<(), Stop> {
        match self.format {
            GraphFormat::Parquet => table::read(self.path, collector),
            GraphFormat::EdgeList => {
                text::read_edge_list(self.path, self.compression, collector, header)
            }
            GraphFormat::MatrixMarket => {
                text::read_matrix_market(self.path, self.compression, collector)
            }
        }
    }
}

/// The memory the importer may hold.
#[derive(Debug, Clone)]
struct Budget {
    bytes: u64,
    source: String,
}

/// Why a tie was not taken.
enum Refusal {
    /// An id is not an integer (integer mode): read the file again with string ids.
    Text,
    /// The importer's arrays would not fit the memory available.
    Memory(String),
}

/// The ties read so far, in file order, with their ids as given.
struct Collector {
    /// Every id is taken as a string.
    text: bool,
    base: IdBase,
    budget: Budget,
    /// A reversed pair is a plain duplicate, not a directed tie (a `symmetric` matrix).
    undirected: bool,
    /// A `general` matrix: ties are directed by the format.
    directed: bool,
    /// Integer ids: each tie's two ids (u, v), in file order.
    raw: Vec<u64>,
    /// Integer ids: the distinct ids so far, sorted up to `sorted` and then appended; it
    /// is sorted and deduplicated whenever the unsorted tail grows past the sorted part,
    /// so it stays within twice the distinct ids rather than two entries per tie.
    seen: Vec<u64>,
    sorted: usize,
    saw_zero: bool,
    /// String ids: each tie as interned indices `u << 32 | v`.
    pairs: Vec<u64>,
    interner: Interner,
    weights: Option<Vec<f32>>,
    ties: u64,
}

impl Collector {
    fn new(text: bool, base: IdBase, budget: Budget) -> Collector {
        Collector {
            text,
            base,
            budget,
            undirected: false,
            directed: false,
            raw: Vec::new(),
            seen: Vec::new(),
            sorted: 0,
            saw_zero: false,
            pairs: Vec::new(),
            interner: Interner::default(),
            weights: None,
            ties: 0,
        }
    }

    /// Whether ids are taken as strings.
    fn text(&self) -> bool {
        self.text
    }

    /// Bytes held now, by the accounting of [`IMPORT_BYTES_PER_LINE`] and
    /// [`IMPORT_BYTES_PER_TEXT_ID`].
    fn held(&self) -> u64 {
        self.ties * IMPORT_BYTES_PER_LINE
            + self.interner.len() as u64 * IMPORT_BYTES_PER_TEXT_ID
            + 2 * self.interner.bytes() as u64
    }

    fn check_room(&self) -> Result<(), Refusal> {
        if self.ties >= MAX_TIE_LINES {
            return Err(Refusal::Memory(format!(
                "more than {MAX_TIE_LINES} ties; a graph file holds at most that many tie lines"
            )));
        }
        let held = self.held();
        if held > self.budget.bytes {
            return Err(Refusal::Memory(format!(
                "{} ties need more than the {} bytes of memory available ({}), at {IMPORT_BYTES_PER_LINE} bytes per tie{} while the file is read",
                self.ties,
                self.budget.bytes,
                self.budget.source,
                if self.text {
                    format!(" and {IMPORT_BYTES_PER_TEXT_ID} bytes per distinct id plus its length twice")
                } else {
                    String::new()
                }
            )));
        }
        Ok(())
    }

    fn push_weight(&mut self, weight: Option<f32>) {
        if let Some(w) = weight {
            self.weights.get_or_insert_with(Vec::new).push(w);
        }
    }

    /// A tie of integer ids (integer mode only). True when it holds id 0 and the file is
    /// declared 1-based: the reader refuses the file once it knows every id is an integer.
    fn push_ints(&mut self, u: u64, v: u64, weight: Option<f32>) -> Result<bool, Refusal> {
        debug_assert!(!self.text);
        self.check_room()?;
        let zero = u == 0 || v == 0;
        self.saw_zero |= zero;
        self.raw.extend_from_slice(&[u, v]);
        self.seen.extend_from_slice(&[u, v]);
        if self.seen.len() - self.sorted > self.sorted.max(1 << 20) {
            self.seen.sort_unstable();
            self.seen.dedup();
            self.sorted = self.seen.len();
        }
        self.push_weight(weight);
        self.ties += 1;
        Ok(zero && self.base == IdBase::One)
    }

    /// A tie of ids as written: integers in integer mode (anything else asks for string
    /// mode), strings in string mode.
    fn push_tokens(&mut self, u: &str, v: &str, weight: Option<f32>) -> Result<bool, Refusal> {
        if !self.text {
            let (Ok(a), Ok(b)) = (u.parse::<u64>(), v.parse::<u64>()) else {
                return Err(Refusal::Text);
            };
            return self.push_ints(a, b, weight);
        }
        self.check_room()?;
        let a = self.interner.intern(u);
        let b = self.interner.intern(v);
        self.pairs.push(((a as u64) << 32) | b as u64);
        self.push_weight(weight);
        self.ties += 1;
        Ok(false)
    }

    /// The graph: ids numbered, self-loops and repeats dropped and counted.
    fn finish(self, shown: &str) -> Result<(EdgeList, ImportReport)> {
        let Collector {
            text,
            base,
            undirected,
            directed,
            mut raw,
            mut seen,
            saw_zero,
            mut pairs,
            interner,
            weights,
            ties,
            ..
        } = self;
        if ties == 0 {
            return Err(Error::bad_input(format!(
                "{shown}: no ties: the file is empty or holds only comments; a graph file has one tie `u v [weight]` per line (or row)"
            )));
        }
        let too_many = |n: usize| {
            Error::bad_input(format!(
                "{shown}: {n} distinct ids are more agents than the {} a run holds",
                crate::config::MAX_AGENTS
            ))
        };
        let (ids, resolved_base) = if text {
            let n = interner.len();
            if n as u64 > crate::config::MAX_AGENTS as u64 {
                return Err(too_many(n));
            }
            let (ids, rank) = interner.into_sorted();
            pairs.par_iter_mut().for_each(|p| {
                *p = ((rank[(*p >> 32) as usize] as u64) << 32) | rank[*p as u32 as usize] as u64;
            });
            (UserIds::Text(ids), IdBase::Auto)
        } else {
            seen.sort_unstable();
            seen.dedup();
            seen.shrink_to_fit();
            if seen.len() as u64 > crate::config::MAX_AGENTS as u64 {
                return Err(too_many(seen.len()));
            }
            // Agents are the distinct ids in ascending order: a large or sparse id costs
            // nothing. Each tie's two ids become one packed pair, written over the front
            // of the same array (entry k from entries 2k and 2k + 1), so the numbering
            // needs no second array of ties.
            let ranks = Ranks::new(&seen);
            raw.par_chunks_mut(2)
                .for_each(|p| p[0] = ((ranks.of(p[0]) as u64) << 32) | ranks.of(p[1]) as u64);
            drop(ranks);
            for k in 0..raw.len() / 2 {
                raw[k] = raw[2 * k];
            }
            raw.truncate(raw.len() / 2);
            raw.shrink_to_fit();
            pairs = raw;
            let resolved = match base {
                IdBase::Auto if saw_zero => IdBase::Zero,
                IdBase::Auto => IdBase::One,
                other => other,
            };
            (UserIds::Numeric(seen), resolved)
        };
        let n = ids.len() as u32;
        let (edges, weights, counts) = dedup(n, pairs, weights, undirected);
        if edges.len() > MAX_TIES {
            return Err(Error::bad_input(format!(
                "{shown}: {} distinct ties are more than the {MAX_TIES} a graph holds",
                edges.len()
            )));
        }
        Ok((
            EdgeList { n, edges, weights },
            ImportReport {
                format: GraphFormat::EdgeList,
                compression: Compression::None,
                self_loops: counts.self_loops,
                duplicates: counts.duplicates,
                reciprocal: counts.reciprocal,
                directed,
                header: false,
                resolved_base,
                ids,
            },
        ))
    }
}

/// The rank of an id among the sorted distinct ids, found in a bucket of ids that share
/// their top bits (above the smallest id) rather than by a binary search over all of
/// them: a binary search over millions of ids misses the cache at every step and was
/// most of an import's time. With about one bucket per id (4 bytes each), a bucket of
/// evenly spread ids holds one or two; clustered ids make some buckets larger, searched
/// by bisection, never slower than one search over all.
struct Ranks<'a> {
    ids: &'a [u64],
    min: u64,
    shift: u32,
    /// Bucket `b` is `ids[starts[b]..starts[b + 1]]`.
    starts: Vec<u32>,
}

impl<'a> Ranks<'a> {
    fn new(ids: &'a [u64]) -> Ranks<'a> {
        let (min, max) = (ids[0], ids[ids.len() - 1]);
        let span = max - min;
        let bits = (usize::BITS - ids.len().leading_zeros()).min(32);
        let shift = (u64::BITS - span.leading_zeros()).saturating_sub(bits);
        let buckets = (span >> shift) as usize + 1;
        let mut starts = vec![0u32; buckets + 1];
        for &id in ids {
            starts[((id - min) >> shift) as usize + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        Ranks {
            ids,
            min,
            shift,
            starts,
        }
    }

    fn of(&self, id: u64) -> u32 {
        let b = ((id - self.min) >> self.shift) as usize;
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let within = self.ids[lo..hi]
            .binary_search(&id)
            .expect("every id is listed");
        (lo + within) as u32
    }
}

#[derive(Default)]
struct Dropped {
    self_loops: usize,
    duplicates: usize,
    reciprocal: usize,
}

/// Bucket entries one parallel task sorts (whole buckets, about this many).
const ENTRIES_PER_TASK: usize = 1 << 16;

/// Ties `u << 32 | v` in file order → the distinct ties in file order (the first of each
/// pair kept, with its weight), and what was dropped. Repeats are found by bucketing
/// each tie under its smaller end (a counting sort, 4 bytes per agent) and sorting each
/// bucket by (larger end, position): linear memory (8 bytes a tie), no hashing, and the
/// first occurrence in the file is the one kept. Within a pair's group, a later tie in
/// a direction not yet seen is the reverse of a directed tie (`reciprocal`), unless the
/// input is undirected by its format.
fn dedup(
    n: u32,
    mut pairs: Vec<u64>,
    mut weights: Option<Vec<f32>>,
    undirected: bool,
) -> (Vec<(u32, u32)>, Option<Vec<f32>>, Dropped) {
    let mut dropped = Dropped::default();
    // Self-loops out first (the agent still exists: its id was read).
    let mut kept = 0;
    for k in 0..pairs.len() {
        let p = pairs[k];
        if (p >> 32) as u32 == p as u32 {
            dropped.self_loops += 1;
            continue;
        }
        pairs[kept] = p;
        if let Some(w) = weights.as_mut() {
            w[kept] = w[k];
        }
        kept += 1;
    }
    pairs.truncate(kept);
    if let Some(w) = weights.as_mut() {
        w.truncate(kept);
    }

    let lo = |p: u64| ((p >> 32) as u32).min(p as u32);
    let hi = |p: u64| ((p >> 32) as u32).max(p as u32);
    let mut offsets = vec![0u32; n as usize + 1];
    for &p in &pairs {
        offsets[lo(p) as usize + 1] += 1;
    }
    for i in 0..n as usize {
        offsets[i + 1] += offsets[i];
    }
    // Entry: larger end << 32 | position; filled at each bucket's cursor, which runs from
    // the bucket's start to the next bucket's start (so `offsets` ends as it began, shifted
    // one bucket: the cursor of bucket i is offsets[i] once it is full).
    let mut entries = vec![0u64; pairs.len()];
    {
        let mut cursor = offsets.clone();
        for (k, &p) in pairs.iter().enumerate() {
            let b = lo(p) as usize;
            entries[cursor[b] as usize] = ((hi(p) as u64) << 32) | k as u64;
            cursor[b] += 1;
        }
    }
    // Buckets in groups of about ENTRIES_PER_TASK entries, each group a disjoint slice.
    let mut groups: Vec<(usize, &mut [u64])> = Vec::new();
    {
        let mut rest: &mut [u64] = &mut entries;
        let mut start_agent = 0usize;
        let mut start_entry = 0usize;
        for agent in 0..n as usize {
            let end = offsets[agent + 1] as usize;
            if end - start_entry >= ENTRIES_PER_TASK || agent + 1 == n as usize {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(end - start_entry);
                groups.push((start_agent, head));
                rest = tail;
                start_agent = agent + 1;
                start_entry = end;
            }
        }
    }
    let drop_flag: Vec<AtomicBool> = (0..pairs.len()).map(|_| AtomicBool::new(false)).collect();
    let (duplicates, reciprocal) = groups
        .into_par_iter()
        .map(|(first_agent, slice)| {
            let base = offsets[first_agent] as usize;
            let (mut dups, mut recip) = (0usize, 0usize);
            let mut agent = first_agent;
            let mut at = 0usize;
            while at < slice.len() {
                // The bucket of `agent` within this slice.
                while offsets[agent + 1] as usize - base <= at {
                    agent += 1;
                }
                let end = offsets[agent + 1] as usize - base;
                let bucket = &mut slice[at..end];
                bucket.sort_unstable();
                let mut g = 0;
                while g < bucket.len() {
                    let other = bucket[g] >> 32;
                    let mut h = g + 1;
                    // Directions seen in this pair: from the smaller end, from the larger.
                    let forward = |e: u64| (pairs[e as u32 as usize] >> 32) as u32 == agent as u32;
                    let mut seen = [false; 2];
                    seen[forward(bucket[g]) as usize] = true;
                    while h < bucket.len() && bucket[h] >> 32 == other {
                        let dir = forward(bucket[h]) as usize;
                        dups += 1;
                        if !seen[dir] && !undirected {
                            recip += 1;
                        }
                        seen[dir] = true;
                        drop_flag[bucket[h] as u32 as usize].store(true, Relaxed);
                        h += 1;
                    }
                    g = h;
                }
                at = end;
            }
            (dups, recip)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    drop(entries);
    drop(offsets);
    dropped.duplicates = duplicates;
    dropped.reciprocal = reciprocal;

    let mut edges = Vec::with_capacity(pairs.len() - duplicates);
    let mut kept_weights = weights
        .as_ref()
        .map(|_| Vec::with_capacity(pairs.len() - duplicates));
    for (k, &p) in pairs.iter().enumerate() {
        if !drop_flag[k].load(Relaxed) {
            edges.push(((p >> 32) as u32, p as u32));
            if let (Some(out), Some(w)) = (kept_weights.as_mut(), weights.as_ref()) {
                out.push(w[k]);
            }
        }
    }
    drop(pairs);
    weights.take();
    (edges, kept_weights, dropped)
}
