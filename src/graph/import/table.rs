//! Parquet edge tables: two columns of endpoints (integers of any width, or strings) and
//! an optional numeric weight, read one row group at a time in record batches of
//! [`BATCH_ROWS`] rows, only the chosen columns, so memory holds the graph and a batch,
//! not the file. Columns are chosen by name when the table has a known pair
//! (`src`/`dst`, `source`/`target`, `u`/`v`, `from`/`to`, and `weight`), else by
//! position (the first two, and a third as the weight). The Parquet types decide, not an
//! Arrow schema a writer may have stored beside them, so a file reads the same whichever
//! tool wrote it.

use std::cell::Cell;
use std::fmt::Write as _;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Once;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use super::text::{ENDPOINT_NAMES, WEIGHT_NAME};
use super::{Collector, Refusal, Stop, QUOTE_BYTES};
use crate::error::{shorten, Error};

/// Rows per record batch.
pub const BATCH_ROWS: usize = 1 << 16;

const ID_TYPES: &str = "integers (any width, signed or not) or strings";
const WEIGHT_TYPES: &str = "floats or integers";

/// How a column's values are read.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Str,
    Num,
}

/// A chosen column: its name and its index in the projected batch.
struct Column {
    name: String,
    at: usize,
}

/// One line, with newlines and long texts cut, of a message from the Parquet crate.
fn quoted(e: impl std::fmt::Display) -> String {
    shorten(&e.to_string().replace(['\n', '\r'], " "), 2 * QUOTE_BYTES)
}

fn bad(msg: String) -> Stop {
    Stop::Bad(Error::bad_input(msg))
}

fn kind_of(t: &DataType) -> Option<Kind> {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Some(Kind::Int),
        Utf8 | LargeUtf8 | Utf8View => Some(Kind::Str),
        Float32 | Float64 => Some(Kind::Num),
        _ => None,
    }
}

/// An integer column's values, widened (i128 holds every u64 and i64).
fn ints(array: &ArrayRef, out: &mut Vec<i128>) {
    out.clear();
    macro_rules! widen {
        ($($t:ty),*) => {
            $(if let Some(a) = array.as_primitive_opt::<$t>() {
                out.extend(a.values().iter().map(|&x| x as i128));
                return;
            })*
        };
    }
    widen!(
        Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type
    );
    unreachable!("an integer column: {:?}", array.data_type());
}

/// A weight column's values.
fn numbers(array: &ArrayRef, out: &mut Vec<f64>) {
    out.clear();
    macro_rules! widen {
        ($($t:ty),*) => {
            $(if let Some(a) = array.as_primitive_opt::<$t>() {
                out.extend(a.values().iter().map(|&x| x as f64));
                return;
            })*
        };
    }
    widen!(
        Float32Type,
        Float64Type,
        Int8Type,
        Int16Type,
        Int32Type,
        Int64Type,
        UInt8Type,
        UInt16Type,
        UInt32Type,
        UInt64Type
    );
    unreachable!("a numeric column: {:?}", array.data_type());
}

/// A string column, of whichever offset width or layout.
enum Strings<'a> {
    Narrow(&'a arrow_array::StringArray),
    Wide(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(array: &'a ArrayRef) -> Strings<'a> {
        if let Some(a) = array.as_string_opt::<i32>() {
            Strings::Narrow(a)
        } else if let Some(a) = array.as_string_opt::<i64>() {
            Strings::Wide(a)
        } else if let Some(a) = array.as_string_view_opt() {
            Strings::View(a)
        } else {
            unreachable!("a string column: {:?}", array.data_type())
        }
    }

    fn value(&self, i: usize) -> &'a str {
        match self {
            Strings::Narrow(a) => a.value(i),
            Strings::Wide(a) => a.value(i),
            Strings::View(a) => a.value(i),
        }
    }
}

thread_local! {
    /// Set while this thread reads a table: a panic inside the Parquet crate is caught
    /// and reported as bad input, so the panic hook stays quiet about it.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// `f`, with a panic caught and its message returned. The process's panic hook is
/// wrapped once so that it says nothing for a panic on a thread inside `quietly` and
/// hands every other panic to the hook it replaced.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static WRAP: Once = Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info)
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

/// Reads the table's ties into `c`. The Parquet crate is written for files that tools
/// wrote, not for every byte sequence: the column chunks' ranges are checked against the
/// file first, and whatever else it would panic on (a fuzzer finds such files) is caught
/// and refused as a broken file, naming it, rather than ending the process.
pub(super) fn read(path: &Path, c: &mut Collector) -> Result<(), Stop> {
    let shown = path.display().to_string();
    match quietly(|| read_table(path, c)) {
        Ok(result) => result,
        Err(panic) => Err(bad(format!(
            "{shown}: not a readable Parquet file (the reader stopped on it: {})",
            quoted(panic)
        ))),
    }
}

fn read_table(path: &Path, c: &mut Collector) -> Result<(), Stop> {
    let shown = path.display().to_string();
    let file =
        File::open(path).map_err(|e| bad(format!("{shown}: cannot read graph file: {e}")))?;
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let meta = ArrowReaderMetadata::load(&file, options).map_err(|e| {
        bad(format!(
            "{shown}: not a readable Parquet file: {}",
            quoted(e)
        ))
    })?;
    let file_len = file
        .metadata()
        .map_err(|e| bad(format!("{shown}: cannot read graph file: {e}")))?
        .len();
    for (group, rg) in meta.metadata().row_groups().iter().enumerate() {
        for chunk in rg.columns() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let len = chunk.compressed_size();
            if start < 0 || len < 0 || (start as u64).saturating_add(len as u64) > file_len {
                return Err(bad(format!(
                    "{shown}: row group {group}: column `{}` claims bytes {start} … {} of a file of {file_len}: not a readable Parquet file",
                    shorten(&chunk.column_path().string(), QUOTE_BYTES),
                    start.saturating_add(len)
                )));
            }
        }
    }
    let schema = meta.schema().clone();
    let fields = schema.fields();
    let by_name = |name: &str| {
        fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    };
    // Endpoints by name, else by position; the weight by name, or third by position.
    let named = ENDPOINT_NAMES
        .iter()
        .find_map(|(a, b)| Some((by_name(a)?, by_name(b)?)));
    let (src, dst, weight) = match named {
        Some((a, b)) => (a, b, by_name(WEIGHT_NAME)),
        None => {
            if fields.len() < 2 {
                return Err(bad(format!(
                    "{shown}: a table of {} column{}; an edge table has two columns of endpoints (src, dst) and an optional weight",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                )));
            }
            (
                0,
                1,
                by_name(WEIGHT_NAME).or((fields.len() > 2).then_some(2)),
            )
        }
    };
    let check = |root: usize, allowed: &[Kind], what: &str, types: &str| -> Result<Kind, Stop> {
        let f = &fields[root];
        match kind_of(f.data_type()) {
            Some(k) if allowed.contains(&k) => Ok(k),
            _ => Err(bad(format!(
                "{shown}: column `{}` is {}; {what} columns are {types}",
                shorten(f.name(), QUOTE_BYTES),
                f.data_type()
            ))),
        }
    };
    let ids = [Kind::Int, Kind::Str];
    let ks = check(src, &ids, "endpoint", ID_TYPES)?;
    let kd = check(dst, &ids, "endpoint", ID_TYPES)?;
    if ks != kd {
        return Err(bad(format!(
            "{shown}: columns `{}` ({}) and `{}` ({}) differ; both endpoints are integers or both strings",
            shorten(fields[src].name(), QUOTE_BYTES),
            fields[src].data_type(),
            shorten(fields[dst].name(), QUOTE_BYTES),
            fields[dst].data_type()
        )));
    }
    if let Some(w) = weight {
        check(w, &[Kind::Int, Kind::Num], "weight", WEIGHT_TYPES)?;
    }
    // The batch holds the chosen columns in the table's order.
    let mut roots = vec![src, dst];
    roots.extend(weight);
    let mut sorted = roots.clone();
    sorted.sort_unstable();
    let column = |root: usize| Column {
        name: shorten(fields[root].name(), QUOTE_BYTES),
        at: sorted.iter().position(|&r| r == root).unwrap(),
    };
    let (src, dst, weight) = (column(src), column(dst), weight.map(column));
    let mask = ProjectionMask::roots(meta.parquet_schema(), sorted.iter().copied());
    let names = |cols: &[&Column]| {
        cols.iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut chosen = vec![&src, &dst];
    chosen.extend(weight.as_ref());
    let chosen = names(&chosen);

    let mut first_zero: Option<String> = None;
    let mut row = 0u64;
    let (mut us, mut vs, mut ws) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ubuf, mut vbuf) = (String::new(), String::new());
    for group in 0..meta.metadata().num_row_groups() {
        let reader_file = file
            .try_clone()
            .map_err(|e| bad(format!("{shown}: cannot read graph file: {e}")))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(reader_file, meta.clone())
            .with_row_groups(vec![group])
            .with_projection(mask.clone())
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| {
                bad(format!(
                    "{shown}: row group {group}: cannot read columns {chosen}: {}",
                    quoted(e)
                ))
            })?;
        for batch in reader {
            let batch: RecordBatch = batch.map_err(|e| {
                bad(format!(
                    "{shown}: row group {group}: cannot read columns {chosen}: {}",
                    quoted(e)
                ))
            })?;
            let at = |col: &Column, i: usize| {
                format!(
                    "{shown}: column `{}`, row group {group}, row {}",
                    col.name,
                    row + i as u64
                )
            };
            let cols: Vec<&ArrayRef> = [&src, &dst]
                .into_iter()
                .chain(weight.as_ref())
                .map(|c| batch.column(c.at))
                .collect();
            for (k, col) in [&src, &dst].into_iter().chain(weight.as_ref()).enumerate() {
                let a = cols[k];
                if a.null_count() > 0 {
                    let i = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
                    return Err(bad(format!(
                        "{}: a null; every row has both endpoints{}",
                        at(col, i),
                        if k == 2 { " and a weight" } else { "" }
                    )));
                }
            }
            let (ua, va) = (cols[0], cols[1]);
            let n = batch.num_rows();
            if let Some(wcol) = weight.as_ref() {
                numbers(cols[2], &mut ws);
                if let Some(i) = ws
                    .iter()
                    .position(|&w| !(w.is_finite() && (w as f32).is_finite() && w as f32 > 0.0))
                {
                    return Err(bad(format!(
                        "{}: weight {}; a weight is a finite number > 0",
                        at(wcol, i),
                        ws[i]
                    )));
                }
            }
            let w = |i: usize| weight.as_ref().map(|_| ws[i] as f32);
            let push = |i: usize, r: Result<bool, Refusal>| match r {
                Ok(zero) => Ok(zero),
                Err(Refusal::Text) => Err(Stop::Text),
                Err(Refusal::Memory(m)) => Err(bad(format!("{}: {m}", at(&src, i)))),
            };
            if ks == Kind::Int {
                ints(ua, &mut us);
                ints(va, &mut vs);
                for i in 0..n {
                    let (u, v) = (us[i], vs[i]);
                    let zero = if c.text() {
                        ubuf.clear();
                        vbuf.clear();
                        let _ = write!(ubuf, "{u}");
                        let _ = write!(vbuf, "{v}");
                        let r = c.push_tokens(&ubuf, &vbuf, w(i));
                        push(i, r)?
                    } else if u < 0 || v < 0 {
                        // A negative id is a name: the file is read again with string ids.
                        return Err(Stop::Text);
                    } else {
                        let r = c.push_ints(u as u64, v as u64, w(i));
                        push(i, r)?
                    };
                    if zero && first_zero.is_none() {
                        first_zero = Some(at(if us[i] == 0 { &src } else { &dst }, i));
                    }
                }
            } else {
                let (us, vs) = (Strings::of(ua), Strings::of(va));
                for i in 0..n {
                    let (u, v) = (us.value(i), vs.value(i));
                    let r = c.push_tokens(u, v, w(i));
                    let zero = push(i, r)?;
                    if zero && first_zero.is_none() {
                        let col = if u.parse::<u64>() == Ok(0) {
                            &src
                        } else {
                            &dst
                        };
                        first_zero = Some(at(col, i));
                    }
                }
            }
            row += n as u64;
        }
    }
    if let Some(place) = first_zero.filter(|_| !c.text()) {
        return Err(bad(format!(
            "{place}: id 0 in a file read as 1-based (graph.id_base = \"1\"); use \"0\" or \"auto\""
        )));
    }
    Ok(())
}
