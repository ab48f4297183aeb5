//! The text formats: edge lists (`u v [weight]` per line) and Matrix Market coordinate
//! matrices, plain or inside a gzip or zstd stream. Lines are read one at a time from
//! the (decompressed) stream, so the file's text is never held; a line longer than
//! [`MAX_LINE_BYTES`] stops the read at the bound, and a compressed stream that ends
//! early or breaks is reported with the line it broke in.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{
    Collector, Compression, GraphFormat, IdBase, Refusal, Stop, MAX_LINE_BYTES, PARQUET_MAGIC,
    QUOTE_BYTES,
};
use crate::error::{shorten, Error, Result};

/// Column names a first line may hold instead of a tie: (source, target) pairs and the
/// weight. The same names pick a Parquet table's columns.
pub(super) const ENDPOINT_NAMES: [(&str, &str); 4] = [
    ("src", "dst"),
    ("source", "target"),
    ("u", "v"),
    ("from", "to"),
];
pub(super) const WEIGHT_NAME: &str = "weight";

const BANNER: &str = "%%MatrixMarket";
const BANNER_FORM: &str =
    "`%%MatrixMarket matrix coordinate <real|integer|pattern> <general|symmetric>`";

fn cannot_read(shown: &str, e: std::io::Error) -> Error {
    Error::bad_input(format!("{shown}: cannot read graph file: {e}"))
}

/// The file's bytes, decompressed.
fn open(path: &Path, compression: Compression) -> Result<Box<dyn BufRead>> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| cannot_read(&shown, e))?;
    let file = BufReader::with_capacity(1 << 16, file);
    Ok(match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(file),
        )),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(file).map_err(|e| {
                Error::bad_input(format!("{shown}: cannot start the zstd decoder: {e}"))
            })?;
            Box::new(BufReader::with_capacity(1 << 16, decoder))
        }
    })
}

/// A read error: the file's own, or the compressed stream's, at `line`.
fn read_error(shown: &str, compression: Compression, line: usize, e: std::io::Error) -> Error {
    match compression {
        Compression::None => cannot_read(shown, e),
        c => Error::bad_input(format!(
            "{shown}:{line}: the {c} stream is truncated or corrupt ({e})"
        )),
    }
}

/// What a file's name says it is (ignoring case), beyond what its bytes say.
fn extension(path: &Path) -> (String, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut parts = name.rsplitn(3, '.');
    let last = parts.next().unwrap_or("").to_string();
    let inner = parts.next().unwrap_or("").to_string();
    if name.contains('.') {
        (last, inner)
    } else {
        (String::new(), String::new())
    }
}

/// The format of a file that is not Parquet by its magic: Matrix Market when its (first
/// decompressed) text starts with the banner, else an edge list. A name that promises a
/// format the bytes do not have (`.gz` without gzip's magic, `.parquet` without
/// Parquet's, `.mtx` without the banner) is refused, since it is a broken file far more
/// often than a misnamed one. An empty file is left to the reader (no ties).
pub(super) fn sniff(path: &Path, compression: Compression) -> Result<GraphFormat> {
    let shown = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|e| cannot_read(&shown, e))?
        .len();
    if len == 0 {
        return Ok(GraphFormat::EdgeList);
    }
    let (ext, inner) = extension(path);
    let promised = match ext.as_str() {
        "gz" | "gzip" => Some((Compression::Gzip, "gzip's magic bytes 1f 8b")),
        "zst" | "zstd" => Some((Compression::Zstd, "zstd's magic bytes 28 b5 2f fd")),
        _ => None,
    };
    if let Some((c, magic)) = promised {
        if c != compression {
            return Err(Error::bad_input(format!(
                "{shown}: not a {c} file: it does not start with {magic}"
            )));
        }
    }
    if ext == "parquet" {
        return Err(Error::bad_input(format!(
            "{shown}: not a Parquet file: it does not start with the magic bytes PAR1"
        )));
    }
    let text_ext = if compression == Compression::None {
        ext
    } else {
        inner
    };
    let mut reader = open(path, compression)?;
    let mut head = Vec::with_capacity(BANNER.len());
    (&mut reader)
        .take(BANNER.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| read_error(&shown, compression, 1, e))?;
    if compression != Compression::None && head.starts_with(PARQUET_MAGIC) {
        return Err(Error::bad_input(format!(
            "{shown}: a {compression}-compressed Parquet file; Parquet compresses its own pages, so give the .parquet file itself"
        )));
    }
    if head.eq_ignore_ascii_case(BANNER.as_bytes()) {
        return Ok(GraphFormat::MatrixMarket);
    }
    if text_ext == "mtx" {
        return Err(Error::bad_input(format!(
            "{shown}:1: not a Matrix Market file: its first line must be {BANNER_FORM}"
        )));
    }
    Ok(GraphFormat::EdgeList)
}

/// The lines of a text file, checked to be text.
struct Lines {
    reader: Box<dyn BufRead>,
    buf: Vec<u8>,
    line_no: usize,
    shown: String,
    compression: Compression,
    /// What the file should be, for the message that it is not ("edge list").
    what: &'static str,
    expected: &'static str,
}

impl Lines {
    fn open(
        path: &Path,
        compression: Compression,
        what: &'static str,
        expected: &'static str,
    ) -> Result<Lines> {
        Ok(Lines {
            reader: open(path, compression)?,
            buf: Vec::new(),
            line_no: 0,
            shown: path.display().to_string(),
            compression,
            what,
            expected,
        })
    }

    /// The next line (its number, its text without the line break), or None at the end.
    fn next(&mut self) -> Result<Option<(usize, &str)>> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| read_error(&self.shown, self.compression, self.line_no + 1, e))?;
        if read == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let (shown, line_no, what, expected) =
            (&self.shown, self.line_no, self.what, self.expected);
        let not_text = |why: &str| {
            Error::bad_input(format!(
                "{shown}:{line_no}: not a text {what} ({why}); expected {expected}"
            ))
        };
        if self.buf.contains(&0) {
            return Err(not_text("a NUL byte"));
        }
        if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
            return Err(not_text(&format!(
                "a line longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        let Ok(line) = std::str::from_utf8(&self.buf) else {
            return Err(not_text("not UTF-8"));
        };
        let line = line.trim_end_matches(['\n', '\r']);
        // A byte-order mark (spreadsheets write one) is not part of the first field.
        let line = if line_no == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        Ok(Some((line_no, line)))
    }
}

/// Fields of a line: separated by commas, spaces or tabs, empty ones skipped; at most
/// four (a fourth is an error wherever it is).
fn fields(content: &str) -> ([&str; 4], usize) {
    let mut out = [""; 4];
    let mut k = 0;
    for f in content
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
    {
        if k == 4 {
            return (out, 5);
        }
        out[k] = f;
        k += 1;
    }
    (out, k)
}

/// A first line of column names rather than a tie: `src dst`, `source,target,weight`, ...
fn is_header(fields: &[&str]) -> bool {
    let named = |f: &str, name: &str| f.eq_ignore_ascii_case(name);
    let pair = fields.len() >= 2
        && ENDPOINT_NAMES
            .iter()
            .any(|(a, b)| named(fields[0], a) && named(fields[1], b));
    pair && (fields.len() == 2 || (fields.len() == 3 && named(fields[2], WEIGHT_NAME)))
}

/// A weight as written: finite and > 0 (also in f32).
fn weight(s: &str) -> Option<f32> {
    let w: f64 = s.parse().ok()?;
    let w32 = w as f32;
    (w.is_finite() && w32.is_finite() && w32 > 0.0).then_some(w32)
}

/// The message for a refusal of the collector at `place` (`file:line`).
fn refused(place: &str, refusal: Refusal) -> Stop {
    match refusal {
        Refusal::Text => Stop::Text,
        Refusal::Memory(m) => Stop::Bad(Error::bad_input(format!("{place}: {m}"))),
    }
}

/// A checked refusal of id 0 in a 1-based integer file, once the whole file is known
/// to be of integer ids (a file of names has no base).
fn zero_refused(shown: &str, line: usize) -> Stop {
    Stop::Bad(Error::bad_input(format!(
        "{shown}:{line}: id 0 in a file read as 1-based (graph.id_base = \"1\"); use \"0\" or \"auto\""
    )))
}

/// An edge list: one tie `u v [weight]` per line.
pub(super) fn read_edge_list(
    path: &Path,
    compression: Compression,
    c: &mut Collector,
    header: &mut bool,
) -> Result<(), Stop> {
    const EXPECTED: &str = "`u v [weight]` per line";
    let mut lines = Lines::open(path, compression, "edge list", EXPECTED)?;
    let shown = path.display().to_string();
    // Line of the first tie, and whether it had a weight: all others must match it.
    let mut first: Option<(usize, bool)> = None;
    let mut first_zero: Option<usize> = None;
    let mut content_lines = 0usize;
    while let Some((line_no, line)) = lines.next()? {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() || content.starts_with('%') {
            continue;
        }
        content_lines += 1;
        let malformed = || {
            Stop::Bad(Error::bad_input(format!(
                "{shown}:{line_no}: expected `u v [weight]` (ids integers or names, the weight a finite number > 0), found `{}`",
                shorten(content, QUOTE_BYTES)
            )))
        };
        let (f, count) = fields(content);
        if !(2..=3).contains(&count) {
            return Err(malformed());
        }
        if content_lines == 1 && is_header(&f[..count]) {
            *header = true;
            continue;
        }
        let has_weight = count == 3;
        match first {
            None => first = Some((line_no, has_weight)),
            Some((first_line, weighted)) if weighted != has_weight => {
                let (this, that) = if weighted {
                    ("no", "has")
                } else {
                    ("a", "has none")
                };
                return Err(Stop::Bad(Error::bad_input(format!(
                    "{shown}:{line_no}: this line has {this} weight but line {first_line} {that}: give every line a weight or none"
                ))));
            }
            Some(_) => {}
        }
        let w = if has_weight {
            Some(weight(f[2]).ok_or_else(malformed)?)
        } else {
            None
        };
        let zero = c
            .push_tokens(f[0], f[1], w)
            .map_err(|r| refused(&format!("{shown}:{line_no}"), r))?;
        if zero && first_zero.is_none() {
            first_zero = Some(line_no);
        }
    }
    if let Some(line) = first_zero.filter(|_| !c.text()) {
        return Err(zero_refused(&shown, line));
    }
    Ok(())
}

/// The numeric field of a Matrix Market matrix.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    Real,
    Integer,
    Pattern,
}

/// A Matrix Market coordinate matrix: the banner, `%` comments, the size line
/// `rows columns entries`, then one entry `i j [value]` per line with 1-based indices.
/// `symmetric` lists each tie once (either triangle); `general` is a directed graph,
/// symmetrised. Values are the ties' weights (finite, > 0).
pub(super) fn read_matrix_market(
    path: &Path,
    compression: Compression,
    c: &mut Collector,
) -> Result<(), Stop> {
    let mut lines = Lines::open(path, compression, "Matrix Market file", BANNER_FORM)?;
    let shown = path.display().to_string();
    let bad =
        |line: usize, what: String| Stop::Bad(Error::bad_input(format!("{shown}:{line}: {what}")));
    let Some((_, banner)) = lines.next()? else {
        return Err(bad(
            1,
            format!("no banner: the first line must be {BANNER_FORM}"),
        ));
    };
    let words: Vec<String> = banner
        .split_ascii_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.len() != 5 || !words[0].eq_ignore_ascii_case(BANNER) {
        return Err(bad(
            1,
            format!(
                "expected the banner {BANNER_FORM}, found `{}`",
                shorten(banner, QUOTE_BYTES)
            ),
        ));
    }
    let allowed = |what: &str, value: &str, allowed: &str, why: &str| {
        bad(
            1,
            format!("Matrix Market {what} `{value}` {why}; allowed: {allowed}"),
        )
    };
    if words[1] != "matrix" {
        return Err(allowed("object", &words[1], "matrix", "is not a graph"));
    }
    if words[2] != "coordinate" {
        return Err(allowed(
            "format",
            &words[2],
            "coordinate",
            "(a dense matrix) does not list ties",
        ));
    }
    let field = match words[3].as_str() {
        "real" => Field::Real,
        "integer" => Field::Integer,
        "pattern" => Field::Pattern,
        other => {
            return Err(allowed(
                "field",
                other,
                "real, integer, pattern",
                "is not a tie weight",
            ))
        }
    };
    let symmetric = match words[4].as_str() {
        "general" => false,
        "symmetric" => true,
        other => {
            return Err(allowed(
                "symmetry",
                other,
                "general, symmetric",
                "is not an undirected graph",
            ))
        }
    };
    c.undirected = symmetric;
    c.directed = !symmetric;
    // Indices are 1-based by the format, whatever graph.id_base says.
    c.base = IdBase::One;

    let entry_form = if field == Field::Pattern {
        "`i j`"
    } else {
        "`i j value`"
    };
    let mut size: Option<(usize, u64, u64)> = None;
    let mut count = 0u64;
    while let Some((line_no, line)) = lines.next()? {
        let content = line.trim();
        if content.is_empty() || content.starts_with('%') {
            continue;
        }
        let (f, k) = fields(content);
        let Some((size_line, rows, entries)) = size else {
            let dims: Vec<u64> = f[..k.min(4)]
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            if k != 3 || dims.len() != 3 {
                return Err(bad(
                    line_no,
                    format!(
                        "expected the size line `rows columns entries`, found `{}`",
                        shorten(content, QUOTE_BYTES)
                    ),
                ));
            }
            if dims[0] != dims[1] {
                return Err(bad(
                    line_no,
                    format!(
                        "a {}×{} matrix is not a graph's adjacency matrix: rows and columns must be equal",
                        dims[0], dims[1]
                    ),
                ));
            }
            size = Some((line_no, dims[0], dims[2]));
            continue;
        };
        let want = if field == Field::Pattern { 2 } else { 3 };
        if k != want {
            return Err(bad(
                line_no,
                format!(
                    "expected an entry {entry_form} (1-based indices), found `{}`",
                    shorten(content, QUOTE_BYTES)
                ),
            ));
        }
        let index = |s: &str| -> Result<u64, Stop> {
            match s.parse::<u64>() {
                Ok(i) if (1..=rows).contains(&i) => Ok(i),
                Ok(_) => Err(bad(
                    line_no,
                    format!(
                        "entry `{}` is outside the {rows}×{rows} matrix of the size line (line {size_line}); indices are 1 … {rows}",
                        shorten(content, QUOTE_BYTES)
                    ),
                )),
                Err(_) => Err(bad(
                    line_no,
                    format!(
                        "expected an entry {entry_form} with integer indices, found `{}`",
                        shorten(content, QUOTE_BYTES)
                    ),
                )),
            }
        };
        let (i, j) = (index(f[0])?, index(f[1])?);
        count += 1;
        if count > entries {
            return Err(bad(
                line_no,
                format!("more entries than the {entries} the size line (line {size_line}) gives"),
            ));
        }
        let w = match field {
            Field::Pattern => None,
            Field::Real => Some(weight(f[2])),
            Field::Integer => Some(
                f[2].parse::<i64>()
                    .ok()
                    .filter(|&x| x > 0)
                    .map(|x| x as f32),
            ),
        };
        let w = match w {
            None => None,
            Some(Some(w)) => Some(w),
            Some(None) => {
                return Err(bad(
                    line_no,
                    format!(
                        "the value of entry `{}` is not a tie weight: a {} > 0",
                        shorten(content, QUOTE_BYTES),
                        if field == Field::Integer {
                            "an integer"
                        } else {
                            "a finite number"
                        }
                    ),
                ))
            }
        };
        c.push_ints(i, j, w)
            .map_err(|r| refused(&format!("{shown}:{line_no}"), r))?;
    }
    match size {
        None => Err(bad(
            lines.line_no.max(1),
            "no size line `rows columns entries` after the banner".into(),
        )),
        Some((line, _, entries)) if count != entries => Err(bad(
            line,
            format!("the size line says {entries} entries, the file has {count}"),
        )),
        Some(_) => Ok(()),
    }
}
