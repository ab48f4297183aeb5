//! Graph files in every format the importer reads: the same small graph written as a
//! plain, gzip and zstd edge list, a Matrix Market matrix and Parquet tables of several
//! column types loads to the same `EdgeList`; string ids, mixed ids, headers and
//! directed files; Parquet's column choice and its one-line refusals; `ids.parquet`
//! read back after a run; and a property test that random bytes and mutated files never
//! panic a parser. The helpers that make compressed and Parquet bytes are shared with the
//! bad-input matrix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int16Array, Int64Array, RecordBatch, StringArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use emergence::graph::import::{
    read_graph_file, Compression, GraphFormat, IdBase, ImportReport, TextIds, UserIds,
};
use emergence::graph::EdgeList;
use emergence::Error;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::common::{emergence, scratch};

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` as one zstd frame.
pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// A Parquet file of `columns` (non-null unless an array has nulls), at most
/// `rows_per_group` rows per row group, Snappy pages.
pub fn parquet(columns: Vec<(&str, ArrayRef)>, rows_per_group: usize) -> Vec<u8> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), a.null_count() > 0))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

/// A Parquet file of two int64 endpoint columns `src`, `dst`.
pub fn parquet_ints(ties: &[(i64, i64)]) -> Vec<u8> {
    parquet(
        vec![
            (
                "src",
                Arc::new(Int64Array::from_iter_values(ties.iter().map(|t| t.0))),
            ),
            (
                "dst",
                Arc::new(Int64Array::from_iter_values(ties.iter().map(|t| t.1))),
            ),
        ],
        1 << 20,
    )
}

/// An edge list of `lines` ties whose text compresses like real data (not to nothing).
pub fn varied(lines: u64) -> String {
    (0..lines)
        .map(|i| format!("{i} {}\n", i * 7919 % 100_003))
        .collect()
}

/// A file in a fresh folder of this test.
struct Files(PathBuf);

impl Files {
    fn new(tag: &str) -> Files {
        Files(scratch(&format!("graph-files-{tag}")))
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn read(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<(EdgeList, ImportReport), Error> {
        read_graph_file(&self.write(name, bytes), IdBase::Auto)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn message(r: Result<(EdgeList, ImportReport), Error>) -> String {
    match r {
        Err(Error::BadInput(m)) => {
            assert!(!m.contains('\n'), "{m}");
            m
        }
        other => panic!("expected bad input, got {other:?}"),
    }
}

/// The small graph every format writes: ids, ties in file order, weights.
const IDS: [u64; 6] = [3, 10, 42, 7, 100, 55];
const TIES: [(usize, usize, f64); 7] = [
    (0, 1, 0.5),
    (1, 2, 1.0),
    (2, 0, 2.0),
    (3, 4, 0.25),
    (4, 5, 3.0),
    (5, 3, 1.5),
    (0, 3, 4.0),
];
const NAMES: [&str; 6] = ["carol", "alice", "émile", "bob", "Zoe", "dave"];

/// The graph as the importer must give it: agents are the ids in ascending order.
fn expected<K: Ord + Clone>(ids: &[K]) -> EdgeList {
    let mut sorted = ids.to_vec();
    sorted.sort();
    let agent = |k: usize| sorted.binary_search(&ids[k]).unwrap() as u32;
    EdgeList {
        n: ids.len() as u32,
        edges: TIES.iter().map(|&(u, v, _)| (agent(u), agent(v))).collect(),
        weights: Some(TIES.iter().map(|t| t.2 as f32).collect()),
    }
}

fn edge_list_text<T: std::fmt::Display>(ids: &[T], sep: &str) -> String {
    TIES.iter()
        .map(|&(u, v, w)| format!("{}{sep}{}{sep}{w}\n", ids[u], ids[v]))
        .collect()
}

#[test]
fn graph_files_every_format_loads_the_same_graph() {
    let files = Files::new("formats");
    let plain = edge_list_text(&IDS, " ");
    let want = expected(&IDS);
    let numeric = UserIds::Numeric({
        let mut v = IDS.to_vec();
        v.sort();
        v
    });
    let mtx = format!(
        "%%MatrixMarket matrix coordinate real symmetric\n% a comment\n100 100 {}\n{plain}",
        TIES.len()
    );
    let col = |f: fn(&(usize, usize, f64)) -> usize| -> Vec<u64> {
        TIES.iter().map(|t| IDS[f(t)]).collect()
    };
    let (us, vs) = (col(|t| t.0), col(|t| t.1));
    let ws: Vec<f64> = TIES.iter().map(|t| t.2).collect();
    let cases: Vec<(&str, Vec<u8>, GraphFormat, Compression)> = vec![
        (
            "g.txt",
            plain.clone().into(),
            GraphFormat::EdgeList,
            Compression::None,
        ),
        (
            "g.csv",
            edge_list_text(&IDS, ",").into(),
            GraphFormat::EdgeList,
            Compression::None,
        ),
        (
            "g.txt.gz",
            gzip(plain.as_bytes()),
            GraphFormat::EdgeList,
            Compression::Gzip,
        ),
        (
            "g.txt.zst",
            zstd(plain.as_bytes()),
            GraphFormat::EdgeList,
            Compression::Zstd,
        ),
        // Told by the bytes, not the name.
        (
            "g-gzip.data",
            gzip(plain.as_bytes()),
            GraphFormat::EdgeList,
            Compression::Gzip,
        ),
        (
            "g-zstd",
            zstd(plain.as_bytes()),
            GraphFormat::EdgeList,
            Compression::Zstd,
        ),
        // Several gzip members and zstd frames, as `cat a.gz b.gz` gives.
        (
            "g2.gz",
            [gzip(&plain.as_bytes()[..20]), gzip(&plain.as_bytes()[20..])].concat(),
            GraphFormat::EdgeList,
            Compression::Gzip,
        ),
        (
            "g2.zst",
            [zstd(&plain.as_bytes()[..20]), zstd(&plain.as_bytes()[20..])].concat(),
            GraphFormat::EdgeList,
            Compression::Zstd,
        ),
        (
            "g.mtx",
            mtx.clone().into(),
            GraphFormat::MatrixMarket,
            Compression::None,
        ),
        (
            "g.mtx.gz",
            gzip(mtx.as_bytes()),
            GraphFormat::MatrixMarket,
            Compression::Gzip,
        ),
        (
            "g.parquet",
            parquet(
                vec![
                    (
                        "src",
                        Arc::new(Int64Array::from_iter_values(us.iter().map(|&x| x as i64))),
                    ),
                    (
                        "dst",
                        Arc::new(Int64Array::from_iter_values(vs.iter().map(|&x| x as i64))),
                    ),
                    ("weight", Arc::new(Float64Array::from(ws.clone()))),
                ],
                1 << 20,
            ),
            GraphFormat::Parquet,
            Compression::None,
        ),
        // Other names and widths, columns found by name among others, three row groups.
        (
            "named.parquet",
            parquet(
                vec![
                    (
                        "note",
                        Arc::new(StringArray::from_iter_values(us.iter().map(|_| "x"))),
                    ),
                    (
                        "weight",
                        Arc::new(Float32Array::from_iter_values(ws.iter().map(|&w| w as f32))),
                    ),
                    (
                        "target",
                        Arc::new(Int16Array::from_iter_values(vs.iter().map(|&x| x as i16))),
                    ),
                    (
                        "source",
                        Arc::new(Int16Array::from_iter_values(us.iter().map(|&x| x as i16))),
                    ),
                ],
                3,
            ),
            GraphFormat::Parquet,
            Compression::None,
        ),
        // By position: no known names, the third column is the weight.
        (
            "positional",
            parquet(
                vec![
                    (
                        "a",
                        Arc::new(UInt32Array::from_iter_values(us.iter().map(|&x| x as u32))),
                    ),
                    ("b", Arc::new(UInt64Array::from(vs.clone()))),
                    ("c", Arc::new(Float64Array::from(ws.clone()))),
                ],
                2,
            ),
            GraphFormat::Parquet,
            Compression::None,
        ),
        // Strings that are all integers: the same ids, numerically ordered.
        (
            "strings.parquet",
            parquet(
                vec![
                    (
                        "u",
                        Arc::new(StringArray::from_iter_values(
                            us.iter().map(|x| x.to_string()),
                        )),
                    ),
                    (
                        "v",
                        Arc::new(StringArray::from_iter_values(
                            vs.iter().map(|x| x.to_string()),
                        )),
                    ),
                    ("weight", Arc::new(Float64Array::from(ws.clone()))),
                ],
                4,
            ),
            GraphFormat::Parquet,
            Compression::None,
        ),
    ];
    for (name, bytes, format, compression) in cases {
        let (g, r) = files
            .read(name, &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(g, want, "{name}");
        assert_eq!(r.ids, numeric, "{name}");
        assert_eq!((r.format, r.compression), (format, compression), "{name}");
        assert_eq!(
            (r.self_loops, r.duplicates, r.reciprocal),
            (0, 0, 0),
            "{name}"
        );
    }
}

#[test]
fn graph_files_string_ids_in_every_format() {
    let files = Files::new("strings");
    let plain = edge_list_text(&NAMES, "\t");
    let want = expected(&NAMES);
    let mut sorted = NAMES.to_vec();
    sorted.sort(); // byte order: "Zoe" < "alice" < ... < "émile"
    let ids = UserIds::Text(sorted.iter().collect::<TextIds>());
    let col = |f: fn(&(usize, usize, f64)) -> usize| -> Vec<&str> {
        TIES.iter().map(|t| NAMES[f(t)]).collect()
    };
    let (us, vs) = (col(|t| t.0), col(|t| t.1));
    let ws: Vec<f64> = TIES.iter().map(|t| t.2).collect();
    for (name, bytes) in [
        ("s.tsv", plain.clone().into_bytes()),
        ("s.tsv.gz", gzip(plain.as_bytes())),
        ("s.tsv.zst", zstd(plain.as_bytes())),
        (
            "s.parquet",
            parquet(
                vec![
                    ("src", Arc::new(StringArray::from(us.clone()))),
                    ("dst", Arc::new(StringArray::from(vs.clone()))),
                    ("weight", Arc::new(Float64Array::from(ws.clone()))),
                ],
                3,
            ),
        ),
    ] {
        let (g, r) = files
            .read(name, &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(g, want, "{name}");
        assert_eq!(r.ids, ids, "{name}");
        assert_eq!(r.resolved_base, IdBase::Auto, "{name}");
    }
    assert_eq!(ids.display(0), "Zoe");
}

#[test]
fn graph_files_mixed_ids_are_strings_and_integers_stay_integers() {
    let files = Files::new("mixed");
    let text = |ids: &[&str]| UserIds::Text(ids.iter().collect());
    // One name makes every id a string, in byte order ("10" before "9").
    let (g, r) = files.read("a.txt", "10 9\n9 x\n").unwrap();
    assert_eq!((g.n, g.edges), (3, vec![(0, 1), (1, 2)]));
    assert_eq!(r.ids, text(&["10", "9", "x"]));
    // Integer ids as written: 007 is 7 (a self-loop here) ...
    let (g, r) = files.read("b.txt", "007 7\n7 8\n").unwrap();
    assert_eq!((g.n, g.edges, r.self_loops), (2, vec![(0, 1)], 1));
    assert_eq!(r.ids, UserIds::Numeric(vec![7, 8]));
    // ... but two names once a name appears, even after a million integer lines.
    let (g, r) = files.read("c.txt", "007 7\nx 7\n").unwrap();
    assert_eq!((g.n, g.edges), (3, vec![(0, 1), (2, 1)]));
    assert_eq!(r.ids, text(&["007", "7", "x"]));
    let mut long: String = (0..1_000_000u32)
        .map(|i| format!("{i} {}\n", i + 1))
        .collect();
    long.push_str("n1 0\n");
    let (g, r) = files.read("d.txt", &long).unwrap();
    assert_eq!(g.n, 1_000_002);
    assert!(
        matches!(&r.ids, UserIds::Text(t) if t.get(0) == "0" && t.get(1) == "1" && t.get(2) == "10")
    );
    // Integer ids in two clusters far apart (and the extremes): numbered exactly.
    let clusters: String = (0..1000u64)
        .map(|k| format!("{k} {}\n", (1u64 << 62) + k))
        .chain(["0 18446744073709551615\n".to_string()])
        .collect();
    let (g, r) = files.read("clusters.txt", &clusters).unwrap();
    assert_eq!(g.n, 2001);
    assert!((0..1000).all(|k| g.edges[k] == (k as u32, 1000 + k as u32)));
    assert_eq!(g.edges[1000], (0, 2000));
    assert!(matches!(&r.ids, UserIds::Numeric(v) if v[1000] == 1 << 62 && v[2000] == u64::MAX));
    let (_, r) = files.read("plus.txt", "+7 7\n7 8\n").unwrap();
    assert_eq!((r.self_loops, r.ids), (1, UserIds::Numeric(vec![7, 8])));
    // Negative numbers are names too, in an edge list and in a Parquet table.
    let (_, r) = files.read("e.txt", "-1 2\n").unwrap();
    assert_eq!(r.ids, text(&["-1", "2"]));
    let (g, r) = files
        .read("neg.parquet", parquet_ints(&[(5, -1), (-1, 12)]))
        .unwrap();
    assert_eq!(r.ids, text(&["-1", "12", "5"]));
    assert_eq!(g.edges, vec![(2, 0), (0, 1)]);
    // id_base applies to integer ids only.
    let one = |name: &str, body: &str| read_graph_file(&files.write(name, body), IdBase::One);
    let m = message(one("f.txt", "1 2\n0 3\n"));
    assert!(m.ends_with("f.txt:2: id 0 in a file read as 1-based (graph.id_base = \"1\"); use \"0\" or \"auto\""), "{m}");
    assert!(one("g.txt", "1 2\n0 3\nx 1\n").is_ok());
    let m = message(read_graph_file(
        &files.write("z.parquet", parquet_ints(&[(1, 2), (0, 3)])),
        IdBase::One,
    ));
    assert!(m.contains("column `src`, row group 0, row 1: id 0"), "{m}");
}

#[test]
fn graph_files_headers_and_directed_ties() {
    let files = Files::new("directed");
    // A first line of column names is skipped; anywhere else it is a tie of names.
    let (g, r) = files
        .read("h.csv", "source,target,weight\n1,2,0.5\n2,3,1\n")
        .unwrap();
    assert!(r.header);
    assert_eq!((g.n, r.ids), (3, UserIds::Numeric(vec![1, 2, 3])));
    let (g, r) = files.read("bom.csv", "\u{feff}src,dst\r\n1,2\r\n").unwrap();
    assert!(r.header);
    assert_eq!((g.n, r.ids), (2, UserIds::Numeric(vec![1, 2])));
    let (_, r) = files.read("h2.csv", "1,2\nsrc,dst\n").unwrap();
    assert!(!r.header && matches!(r.ids, UserIds::Text(_)));
    // Both directions of a tie: one tie, the reverse counted as reciprocal.
    let (g, r) = files
        .read("d.txt", "0 1\n1 0\n0 1\n2 3\n3 2\n1 2\n")
        .unwrap();
    assert_eq!(g.edges, vec![(0, 1), (2, 3), (1, 2)]);
    assert_eq!((r.duplicates, r.reciprocal, r.directed), (3, 2, false));
    // A general matrix is directed by its format; a symmetric one lists each tie once,
    // so a repeat in either direction is a duplicate.
    let general = "%%MatrixMarket matrix coordinate pattern general\n3 3 4\n1 2\n2 1\n2 3\n3 3\n";
    let (g, r) = files.read("g.mtx", general).unwrap();
    assert_eq!((g.n, g.edges.clone()), (3, vec![(0, 1), (1, 2)]));
    assert_eq!(
        (r.self_loops, r.duplicates, r.reciprocal, r.directed),
        (1, 1, 1, true)
    );
    assert_eq!(r.resolved_base, IdBase::One);
    let symmetric = general.replace("general", "symmetric");
    let (_, r) = files.read("s.mtx", &symmetric).unwrap();
    assert_eq!((r.duplicates, r.reciprocal, r.directed), (1, 0, false));
    // Matrix Market values are weights; integer matrices too.
    let int = "%%MatrixMarket matrix coordinate integer symmetric\n3 3 2\n2 1 5\n3 2 7\n";
    let (g, _) = files.read("i.mtx", int).unwrap();
    assert_eq!(g.weights, Some(vec![5.0, 7.0]));
    // Isolated rows of the matrix are not agents: the agents are the ids that appear.
    let (g, r) = files
        .read(
            "iso.mtx",
            "%%MatrixMarket matrix coordinate pattern symmetric\n9 9 1\n4 2\n",
        )
        .unwrap();
    assert_eq!((g.n, r.ids), (2, UserIds::Numeric(vec![2, 4])));
}

#[test]
fn graph_files_refusals_name_the_place() {
    let files = Files::new("refusals");
    let ints = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    let f64s = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let strs = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("float.parquet", parquet(vec![("src", f64s(vec![1.0])), ("dst", ints(vec![2]))], 10),
            "float.parquet: column `src` is Float64; endpoint columns are integers (any width, signed or not) or strings"),
        ("weight.parquet", parquet(vec![("src", ints(vec![1])), ("dst", ints(vec![2])), ("weight", strs(vec!["heavy"]))], 10),
            "weight.parquet: column `weight` is Utf8; weight columns are floats or integers"),
        ("mixed.parquet", parquet(vec![("src", ints(vec![1])), ("dst", strs(vec!["a"]))], 10),
            "columns `src` (Int64) and `dst` (Utf8) differ"),
        ("one.parquet", parquet(vec![("src", ints(vec![1]))], 10), "a table of 1 column;"),
        ("null.parquet", parquet(vec![("src", ints(vec![1, 2, 3])), ("dst", Arc::new(Int64Array::from(vec![Some(2), Some(3), None])))], 2),
            "null.parquet: column `dst`, row group 1, row 2: a null"),
        ("negw.parquet", parquet(vec![("src", ints(vec![1, 2, 3])), ("dst", ints(vec![2, 3, 4])), ("weight", f64s(vec![1.0, 1.0, -2.0]))], 1),
            "negw.parquet: column `weight`, row group 2, row 2: weight -2; a weight is a finite number > 0"),
        ("empty.parquet", parquet(vec![("src", ints(vec![])), ("dst", ints(vec![]))], 10), "empty.parquet: no ties"),
        ("cut.parquet", { let p = parquet_ints(&[(1, 2)]); p[..p.len() - 9].to_vec() }, "cut.parquet: not a readable Parquet file"),
        ("g.gz", gzip(b"0 1\n1 2\n")[..12].to_vec(), "g.gz:1: the gzip stream is truncated or corrupt"),
        ("g.zst", { let z = zstd(varied(50_000).as_bytes()); z[..z.len() / 2].to_vec() }, "the zstd stream is truncated or corrupt"),
        ("late.gz", { let mut b = gzip(&b"0 1\n".repeat(200_000)); b.truncate(b.len() - 8); b }, "late.gz:200001: the gzip stream is truncated or corrupt"),
        ("plain.gz", b"0 1\n".to_vec(), "plain.gz: not a gzip file"),
        ("pq.gz", gzip(&parquet_ints(&[(1, 2)])), "a gzip-compressed Parquet file"),
        ("nobanner.mtx", b"3 3 1\n1 2\n".to_vec(), "nobanner.mtx:1: not a Matrix Market file"),
        ("count.mtx", b"%%MatrixMarket matrix coordinate pattern general\n3 3 3\n1 2\n".to_vec(),
            "count.mtx:2: the size line says 3 entries, the file has 1"),
        ("more.mtx", b"%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 2\n2 3\n".to_vec(),
            "more.mtx:4: more entries than the 1 the size line (line 2) gives"),
        ("range.mtx", b"%%MatrixMarket matrix coordinate pattern general\n3 3 1\n1 4\n".to_vec(),
            "range.mtx:3: entry `1 4` is outside the 3×3 matrix of the size line (line 2)"),
        ("square.mtx", b"%%MatrixMarket matrix coordinate pattern general\n3 4 1\n1 2\n".to_vec(),
            "square.mtx:2: a 3×4 matrix is not a graph's adjacency matrix"),
        ("complex.mtx", b"%%MatrixMarket matrix coordinate complex general\n".to_vec(),
            "complex.mtx:1: Matrix Market field `complex` is not a tie weight; allowed: real, integer, pattern"),
        ("skew.mtx", b"%%MatrixMarket matrix coordinate real skew-symmetric\n".to_vec(), "allowed: general, symmetric"),
        ("value.mtx", b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 0\n".to_vec(), "value.mtx:3: the value of entry `1 2 0`"),
        ("pattern.mtx", b"%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 2 3\n".to_vec(), "pattern.mtx:3: expected an entry `i j`"),
        ("weight.txt", b"0 1 2\n1 2 x\n".to_vec(), "weight.txt:2: expected `u v [weight]`"),
        ("five.txt", b"a b 1 2 3\n".to_vec(), "five.txt:1: expected"),
    ];
    for (name, bytes, want) in cases {
        let m = message(files.read(name, &bytes));
        assert!(m.contains(want), "{name}: {m}");
        assert!(m.len() < 400, "{name}: {m}");
    }
}

/// `ids.parquet`, read back: the agent column and the id column (one batch: small files).
fn read_ids(path: &Path) -> (Vec<u32>, ArrayRef) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.schema().field(0).name(), "agent");
    assert_eq!(batch.schema().field(1).name(), "id");
    assert!(!batch.schema().field(1).is_nullable());
    let agents = batch
        .column(0)
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap();
    (agents.values().to_vec(), batch.column(1).clone())
}

#[test]
fn graph_files_ids_parquet_round_trips_through_a_run() {
    let dir = scratch("graph-files-ids");
    let config = |path: &str| {
        format!("agents = 10\nticks = 3\n[graph]\nkind = \"file\"\npath = \"{path}\"\n[model]\nkind = \"threshold\"\n")
    };
    // String ids: utf8, in byte order.
    std::fs::write(dir.join("s.txt"), edge_list_text(&NAMES, " ")).unwrap();
    std::fs::write(dir.join("s.toml"), config("s.txt")).unwrap();
    let out = emergence(
        &["run", "s.toml", "--backend", "cpu", "--out", "rs", "-q"],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (agents, ids) = read_ids(&dir.join("rs/ids.parquet"));
    assert_eq!(agents, (0..NAMES.len() as u32).collect::<Vec<_>>());
    assert_eq!(ids.data_type(), &DataType::Utf8);
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let mut sorted = NAMES.to_vec();
    sorted.sort();
    assert_eq!(ids.iter().map(Option::unwrap).collect::<Vec<_>>(), sorted);
    // Joined back: agent i of summary.json's graph is the i-th name.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rs/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["agents"], NAMES.len());

    // Integer ids: u64, in numeric order, as large as they come.
    std::fs::write(dir.join("n.txt"), format!("{} 5\n5 100\n", u64::MAX)).unwrap();
    std::fs::write(dir.join("n.toml"), config("n.txt")).unwrap();
    let out = emergence(
        &["run", "n.toml", "--backend", "cpu", "--out", "rn", "-q"],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (agents, ids) = read_ids(&dir.join("rn/ids.parquet"));
    assert_eq!(agents, vec![0, 1, 2]);
    let ids = ids.as_any().downcast_ref::<UInt64Array>().unwrap();
    assert_eq!(ids.values().to_vec(), vec![5, 100, u64::MAX]);

    // A generated graph has no ids to join to.
    let out = emergence(
        &[
            "run",
            "--agents",
            "100",
            "--ticks",
            "2",
            "--backend",
            "cpu",
            "--out",
            "rg",
            "-q",
        ],
        &dir,
    );
    assert!(out.status.success());
    assert!(!dir.join("rg/ids.parquet").exists());
    assert!(dir.join("rg/summary.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;
    use std::sync::OnceLock;

    /// Valid files of every parser, to mutate.
    fn valid() -> &'static [(&'static str, Vec<u8>)] {
        static FILES: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
        FILES.get_or_init(|| {
            let plain = edge_list_text(&IDS, " ");
            let names = edge_list_text(&NAMES, ",");
            let mtx = format!(
                "%%MatrixMarket matrix coordinate real general\n100 100 {}\n{plain}",
                TIES.len()
            );
            let us: Vec<i64> = TIES.iter().map(|t| IDS[t.0] as i64).collect();
            let vs: Vec<i64> = TIES.iter().map(|t| IDS[t.1] as i64).collect();
            let ws: Vec<f64> = TIES.iter().map(|t| t.2).collect();
            vec![
                ("p.txt", plain.clone().into_bytes()),
                ("p.gz", gzip(plain.as_bytes())),
                ("p.zst", zstd(names.as_bytes())),
                ("p.mtx", mtx.into_bytes()),
                (
                    "p.parquet",
                    parquet(
                        vec![
                            ("src", Arc::new(Int64Array::from(us))),
                            ("dst", Arc::new(Int64Array::from(vs))),
                            ("weight", Arc::new(Float64Array::from(ws.clone()))),
                        ],
                        3,
                    ),
                ),
                (
                    "s.parquet",
                    parquet(
                        vec![
                            (
                                "src",
                                Arc::new(StringArray::from_iter_values(
                                    TIES.iter().map(|t| NAMES[t.0]),
                                )),
                            ),
                            (
                                "dst",
                                Arc::new(StringArray::from_iter_values(
                                    TIES.iter().map(|t| NAMES[t.1]),
                                )),
                            ),
                        ],
                        4,
                    ),
                ),
            ]
        })
    }

    /// Reading `bytes` as `name` is Ok or one line of bad input; never a panic (proptest
    /// reports one as a failure), never another error.
    fn check(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
        let dir = std::env::temp_dir().join(format!(
            "emergence-prop-graph-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let result = read_graph_file(&path, IdBase::Auto);
        let _ = std::fs::remove_file(&path);
        match result {
            Ok((g, r)) => {
                prop_assert_eq!(g.n as usize, r.ids.len());
                prop_assert!(g.edges.iter().all(|&(u, v)| u < g.n && v < g.n && u != v));
            }
            Err(Error::BadInput(m)) => {
                prop_assert!(!m.contains('\n'), "{}", m);
                prop_assert!(m.len() <= 600, "{} bytes: {}", m.len(), m);
            }
            Err(other) => prop_assert!(false, "not bad input: {:?}", other),
        }
        Ok(())
    }

    /// One edit of a file: overwrite, insert or delete a byte at a position.
    #[derive(Debug, Clone)]
    enum Edit {
        Set(Index, u8),
        Insert(Index, u8),
        Delete(Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
            (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<Index>().prop_map(Edit::Delete),
        ]
    }

    proptest! {
        // A fixed seed, so CI sees the same cases every time; no persistence files.
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(20261202),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Random bytes behind each format's magic (or none), under each format's name.
        #[test]
        fn graph_files_random_bytes_never_panic(
            kind in 0usize..5,
            bytes in prop::collection::vec(any::<u8>(), 0..3000),
            texty in any::<bool>(),
        ) {
            // Half the cases in printable ASCII, so the text parsers get past the first
            // line more often than random bytes let them.
            let bytes: Vec<u8> = if texty {
                bytes.iter().map(|&b| b" 0123456789,.\n#%-ex\t"[b as usize % 20]).collect()
            } else {
                bytes
            };
            let (name, head): (&str, &[u8]) = match kind {
                0 => ("r.txt", b""),
                1 => ("r.gz", &[0x1f, 0x8b, 0x08, 0x00]),
                2 => ("r.zst", &[0x28, 0xb5, 0x2f, 0xfd]),
                3 => ("r.mtx", b"%%MatrixMarket matrix coordinate real general\n"),
                _ => ("r.parquet", b"PAR1"),
            };
            let mut data = head.to_vec();
            data.extend_from_slice(&bytes);
            if kind == 4 && bytes.len() > 8 {
                // A footer length and magic, so the metadata parser runs on the bytes.
                data.extend_from_slice(&((bytes.len() / 2) as u32).to_le_bytes());
                data.extend_from_slice(b"PAR1");
            }
            check(name, &data)?;
        }

        /// Valid files of each format with a few bytes changed, inserted or deleted, and
        /// maybe cut short.
        #[test]
        fn graph_files_mutated_files_never_panic(
            which in any::<Index>(),
            edits in prop::collection::vec(edit(), 1..6),
            cut in prop::option::of(any::<Index>()),
        ) {
            let files = valid();
            let (name, file) = &files[which.index(files.len())];
            let mut data = file.clone();
            for e in &edits {
                if data.is_empty() {
                    break;
                }
                match e {
                    Edit::Set(i, b) => { let k = i.index(data.len()); data[k] = *b; }
                    Edit::Insert(i, b) => { let k = i.index(data.len() + 1); data.insert(k, *b); }
                    Edit::Delete(i) => { let k = i.index(data.len()); data.remove(k); }
                }
            }
            if let Some(c) = cut {
                let k = c.index(data.len() + 1);
                data.truncate(k);
            }
            check(name, &data)?;
        }
    }
}
