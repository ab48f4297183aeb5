//! `export` and `render` through the binary: the dynamic GEXF against the GEXF 1.3 schema
//! (tests/data/gexf-1.3, checked with xmllint or lxml) and read by networkx with the
//! spell the snapshots imply, the GraphML read by networkx, the snowball sample (its size,
//! its ties, its determinism), frames and a GIF from a run's snapshots, and the refusals.
//! Without networkx or a schema validator the checks that need them print SKIPPED,
//! unless EMERGENCE_REQUIRE_PYTHON=1 (set in CI), when they fail instead.

use crate::common::{emergence, scratch};
use arrow_array::{Array, UInt32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gexf-1.3/gexf.xsd");

fn required() -> bool {
    std::env::var("EMERGENCE_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

fn skip(what: &str) {
    if required() {
        panic!("EMERGENCE_REQUIRE_PYTHON=1 but {what}");
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("SKIPPED: {test} ({what})");
    println!("SKIPPED: {test} ({what})");
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    ok(&emergence(args, dir), &format!("{args:?}"))
}

/// A lifecycle run of `agents` agents for `ticks` ticks with a snapshot every `every`.
fn lifecycle_run(dir: &Path, out: &str, agents: u32, ticks: u32, every: u32) -> PathBuf {
    let (a, t, e) = (agents.to_string(), ticks.to_string(), every.to_string());
    run_ok(
        dir,
        &[
            "run",
            "--agents",
            &a,
            "--ticks",
            &t,
            "--backend",
            "cpu",
            "--out",
            out,
            "--snapshot-every",
            &e,
            "-q",
        ],
    );
    dir.join(out)
}

/// Python 3 with networkx, or None (SKIPPED).
fn networkx() -> bool {
    let out = Command::new("python3")
        .args(["-c", "import networkx"])
        .output();
    if out.as_ref().is_ok_and(|o| o.status.success()) {
        return true;
    }
    skip("python3 with networkx is missing");
    false
}

/// Run a Python script with arguments; its stdout.
fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    ok(&out, "python")
}

/// How the schema is checked: xmllint (libxml2-utils) or Python's lxml (libxml2 too).
#[derive(Clone, Copy, Debug)]
enum Validator {
    Xmllint,
    Lxml,
}

fn validator() -> Option<Validator> {
    if Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(Validator::Xmllint);
    }
    if Command::new("python3")
        .args(["-c", "import lxml.etree"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(Validator::Lxml);
    }
    skip("no XML schema validator (xmllint or python3 with lxml)");
    None
}

/// Whether `file` is valid against the schema, and what the validator said.
fn validate(v: Validator, file: &Path) -> (bool, String) {
    let out = match v {
        Validator::Xmllint => Command::new("xmllint")
            .args(["--noout", "--schema", SCHEMA])
            .arg(file)
            .output(),
        Validator::Lxml => Command::new("python3")
            .arg("-c")
            .arg(
                "import sys; from lxml import etree\n\
                 s = etree.XMLSchema(etree.parse(sys.argv[1]))\n\
                 ok = s.validate(etree.parse(sys.argv[2]))\n\
                 print(s.error_log); sys.exit(0 if ok else 1)",
            )
            .arg(SCHEMA)
            .arg(file)
            .output(),
    }
    .expect("the validator runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The ticks of a run's snapshots, ascending.
fn snapshot_ticks(run: &Path) -> Vec<u64> {
    emergence::io::snapshot::list(run)
}

/// The ties (src, dst) of one snapshot, read with the parquet crate.
fn ties_at(run: &Path, tick: u64) -> BTreeSet<(u32, u32)> {
    let path = run.join(format!("snapshots/ties-{tick}.parquet"));
    let file = std::fs::File::open(&path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut ties = BTreeSet::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<UInt32Array>()
                .unwrap()
                .clone()
        };
        let (src, dst) = (col("src"), col("dst"));
        for k in 0..src.len() {
            ties.insert((src.value(k), dst.value(k)));
        }
    }
    ties
}

/// Spells (start, end) of a tie present in the snapshots `present` (indices).
fn spells(ticks: &[u64], present: &[usize]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &k in present {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == k => *last = k,
            _ => runs.push((k, k)),
        }
    }
    runs.into_iter()
        .map(|(a, b)| (ticks[a], ticks[b]))
        .collect()
}

/// Nodes and edges of an exported XML file (GEXF or GraphML), read with quick-xml.
fn xml_graph(path: &Path) -> (BTreeSet<u32>, BTreeSet<(u32, u32)>) {
    let mut reader = quick_xml::Reader::from_file(path).unwrap();
    let mut buf = Vec::new();
    let (mut nodes, mut edges) = (BTreeSet::new(), BTreeSet::new());
    loop {
        let event = reader.read_event_into(&mut buf).unwrap();
        let tag = match &event {
            quick_xml::events::Event::Start(t) | quick_xml::events::Event::Empty(t) => t,
            quick_xml::events::Event::Eof => break,
            _ => {
                buf.clear();
                continue;
            }
        };
        let attr = |name: &str| -> u32 {
            let a = tag.try_get_attribute(name).unwrap().unwrap();
            a.value.parse().unwrap()
        };
        match tag.name().as_ref() {
            "node" => {
                nodes.insert(attr("id"));
            }
            "edge" => {
                let (s, t) = (attr("source"), attr("target"));
                assert!(edges.insert((s.min(t), s.max(t))), "edge {s}-{t} twice");
            }
            _ => {}
        }
        buf.clear();
    }
    (nodes, edges)
}

/// The GEXF of a lifecycle run passes the GEXF 1.3 schema (and a broken copy does not);
/// networkx reads it as a dynamic graph whose tie has the spells the ties files imply,
/// and a node's phase at the last snapshot; the GraphML of the last snapshot and of
/// `--tick 100` have that snapshot's nodes and ties. A SIR run's GEXF (a fixed graph)
/// passes the schema too.
#[test]
fn gexf_passes_the_schema_and_networkx_reads_the_spells() {
    let dir = scratch("export-gexf");
    let run = lifecycle_run(&dir, "run", 2000, 300, 50);
    run_ok(&dir, &["export", "run", "--gexf", "run.gexf", "-q"]);
    run_ok(&dir, &["export", "run", "--graphml", "run.graphml", "-q"]);
    run_ok(
        &dir,
        &[
            "export",
            "run",
            "--graphml",
            "t100.graphml",
            "--tick",
            "100",
            "-q",
        ],
    );
    let sir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/sir.toml");
    run_ok(
        &dir,
        &[
            "run",
            sir,
            "--agents",
            "1000",
            "--backend",
            "cpu",
            "--out",
            "sir",
            "--snapshot-every",
            "5",
            "-q",
        ],
    );
    run_ok(&dir, &["export", "sir", "--gexf", "sir.gexf", "-q"]);

    let ticks = snapshot_ticks(&run);
    assert_eq!(ticks, [0, 50, 100, 150, 200, 250, 300]);
    let per: Vec<BTreeSet<(u32, u32)>> = ticks.iter().map(|&t| ties_at(&run, t)).collect();
    let mut present: BTreeMap<(u32, u32), Vec<usize>> = BTreeMap::new();
    for (k, ties) in per.iter().enumerate() {
        for &t in ties {
            present.entry(t).or_default().push(k);
        }
    }
    // The tie to look up: one seen in two separate runs of snapshots if there is one,
    // else one that formed after the first snapshot and ended before the last.
    let gap = |p: &Vec<usize>| p.windows(2).any(|w| w[1] != w[0] + 1);
    let (&tie, seen) = present
        .iter()
        .find(|(_, p)| gap(p))
        .or_else(|| {
            present
                .iter()
                .find(|(_, p)| p[0] > 0 && *p.last().unwrap() < ticks.len() - 1)
        })
        .expect("a tie that came and went");
    let expected = spells(&ticks, seen);
    let (xml_nodes, xml_edges) = xml_graph(&dir.join("run.gexf"));
    assert_eq!(xml_nodes.len(), 2000);
    assert_eq!(xml_edges, present.keys().copied().collect());

    if let Some(v) = validator() {
        for file in ["run.gexf", "sir.gexf"] {
            let (valid, said) = validate(v, &dir.join(file));
            assert!(valid, "{file} fails the GEXF 1.3 schema ({v:?}): {said}");
        }
        // The validator does check: an unknown graph mode is refused.
        let text = std::fs::read_to_string(dir.join("run.gexf")).unwrap();
        let broken = text.replacen("mode=\"dynamic\"", "mode=\"dynamix\"", 1);
        assert_ne!(broken, text);
        std::fs::write(dir.join("broken.gexf"), broken).unwrap();
        let (valid, said) = validate(v, &dir.join("broken.gexf"));
        assert!(!valid, "a broken GEXF passed the schema ({v:?}): {said}");
    }

    if !networkx() {
        return;
    }
    let script = r#"
import json, sys
import networkx as nx
g = nx.read_gexf(sys.argv[1], node_type=int)
a, b = int(sys.argv[2]), int(sys.argv[3])
last = [v for v in g.nodes[a]["phi"] if v[1] <= int(sys.argv[4]) <= v[2]]
out = {"mode": g.graph["mode"], "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
       "spells": g.edges[a, b]["spells"], "node_spells": g.nodes[a]["spells"], "phi": last[0][0]}
for name in sys.argv[5:]:
    h = nx.read_graphml(name, node_type=int)
    out[name] = [h.number_of_nodes(), h.number_of_edges()]
print(json.dumps(out))
"#;
    let (a, b) = (tie.0.to_string(), tie.1.to_string());
    let gexf = dir.join("run.gexf");
    let (g1, g2) = (dir.join("run.graphml"), dir.join("t100.graphml"));
    let last = ticks.last().unwrap().to_string();
    let said = python(
        script,
        &[
            gexf.to_str().unwrap(),
            &a,
            &b,
            &last,
            g1.to_str().unwrap(),
            g2.to_str().unwrap(),
        ],
    );
    let got: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(got["mode"], "dynamic");
    assert_eq!(got["nodes"], 2000);
    assert_eq!(got["edges"], present.len());
    let spells_read: Vec<(u64, u64)> = serde_json::from_value(got["spells"].clone()).unwrap();
    assert_eq!(spells_read, expected, "tie {tie:?} in snapshots {seen:?}");
    let node_spells: Vec<(u64, u64)> = serde_json::from_value(got["node_spells"].clone()).unwrap();
    assert_eq!(node_spells, [(0, 300)]);
    // The phase of agent a at the last snapshot, as the agents file has it.
    let phi = agent_f32(&run, 300, "phi", tie.0);
    assert_eq!(got["phi"].as_f64().unwrap() as f32, phi);
    assert_eq!(
        got[g1.to_str().unwrap()],
        serde_json::json!([2000, per[6].len()])
    );
    assert_eq!(
        got[g2.to_str().unwrap()],
        serde_json::json!([2000, per[2].len()])
    );
}

/// One f32 value of an agents file.
fn agent_f32(run: &Path, tick: u64, column: &str, agent: u32) -> f32 {
    let path = run.join(format!("snapshots/agents-{tick}.parquet"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut seen = 0usize;
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch
            .column_by_name(column)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Float32Array>()
            .unwrap()
            .clone();
        if (agent as usize) < seen + col.len() {
            return col.value(agent as usize - seen);
        }
        seen += col.len();
    }
    panic!("agent {agent} not in the file")
}

/// `--sample 100` keeps exactly 100 agents, among them the agent of highest degree at
/// the last snapshot, and every tie among them in every snapshot; two exports are
/// byte-identical; the GraphML sample keeps the last snapshot's ties among its agents.
#[test]
fn a_sample_keeps_its_agents_ties_and_bytes() {
    let dir = scratch("export-sample");
    let run = lifecycle_run(&dir, "run", 3000, 300, 100);
    for name in ["a.gexf", "b.gexf"] {
        let said = run_ok(&dir, &["export", "run", "--gexf", name, "--sample", "100"]);
        assert!(said.contains("100 of 3000 agents"), "{said}");
    }
    run_ok(
        &dir,
        &[
            "export",
            "run",
            "--graphml",
            "s.graphml",
            "--sample",
            "100",
            "-q",
        ],
    );
    let a = std::fs::read(dir.join("a.gexf")).unwrap();
    assert!(
        a == std::fs::read(dir.join("b.gexf")).unwrap(),
        "two exports differ"
    );

    let ticks = snapshot_ticks(&run);
    let per: Vec<BTreeSet<(u32, u32)>> = ticks.iter().map(|&t| ties_at(&run, t)).collect();
    let (nodes, edges) = xml_graph(&dir.join("a.gexf"));
    assert_eq!(nodes.len(), 100);
    let among = |ties: &BTreeSet<(u32, u32)>| -> BTreeSet<(u32, u32)> {
        ties.iter()
            .filter(|(s, d)| nodes.contains(s) && nodes.contains(d))
            .copied()
            .collect()
    };
    let union: BTreeSet<(u32, u32)> = per.iter().flat_map(among).collect();
    assert_eq!(edges, union);
    // A snowball keeps ties: far more than a uniform sample's share (100/3000)² of them.
    let all: BTreeSet<(u32, u32)> = per.iter().flatten().copied().collect();
    assert!(
        edges.len() as f64 > 20.0 * all.len() as f64 * (100.0f64 / 3000.0).powi(2),
        "{} of {} ties kept",
        edges.len(),
        all.len()
    );
    let mut degree = vec![0u32; 3000];
    for &(s, d) in per.last().unwrap() {
        degree[s as usize] += 1;
        degree[d as usize] += 1;
    }
    let top = (0..3000u32)
        .max_by_key(|&i| (degree[i as usize], std::cmp::Reverse(i)))
        .unwrap();
    assert!(
        nodes.contains(&top),
        "the highest-degree agent {top} is not in the sample"
    );

    let (g_nodes, g_edges) = xml_graph(&dir.join("s.graphml"));
    assert_eq!(g_nodes.len(), 100);
    assert!(g_nodes.contains(&top));
    let last: BTreeSet<(u32, u32)> = per
        .last()
        .unwrap()
        .iter()
        .filter(|(s, d)| g_nodes.contains(s) && g_nodes.contains(d))
        .copied()
        .collect();
    assert_eq!(g_edges, last);
}

fn frames_of(run: &Path) -> Vec<(String, Vec<u8>)> {
    let mut frames: Vec<(String, Vec<u8>)> = std::fs::read_dir(run.join("frames"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    frames.sort();
    frames
}

fn gif_frames(path: &Path) -> usize {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options
        .read_info(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
        .unwrap();
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    frames
}

/// `render RUN_DIR` draws one frame per snapshot and a GIF, the same bytes twice; with no
/// flag and no ffmpeg on PATH it writes RUN_DIR/movie.gif.
#[test]
fn render_draws_a_frame_per_snapshot_and_repeats() {
    let dir = scratch("export-render");
    let run = lifecycle_run(&dir, "run", 2000, 300, 100);
    let args = [
        "render", "run", "--frames", "--size", "160x90", "-q", "--movie",
    ];
    let said = run_ok(&dir, &[&args[..], &["a.gif"]].concat());
    assert!(said.contains("4 frames"), "{said}");
    let first = frames_of(&run);
    let names: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "frame-000000.png",
            "frame-000100.png",
            "frame-000200.png",
            "frame-000300.png"
        ]
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(first[3].1.clone()));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (160, 90));
    let gif = std::fs::read(dir.join("a.gif")).unwrap();
    assert!(gif.starts_with(b"GIF89a"));
    assert_eq!(gif_frames(&dir.join("a.gif")), 4);

    run_ok(&dir, &[&args[..], &["b.gif"]].concat());
    assert!(
        frames_of(&run) == first,
        "two renders drew different frames"
    );
    assert!(
        gif == std::fs::read(dir.join("b.gif")).unwrap(),
        "two GIFs differ"
    );

    let empty = scratch("export-render-no-path");
    let out = Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(["render", "run", "--size", "160x90", "-q"])
        .current_dir(&dir)
        .env("PATH", &empty)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    ok(&out, "render without ffmpeg");
    assert_eq!(gif_frames(&run.join("movie.gif")), 4);
    assert!(!run.join("movie.mp4").exists());
}

/// The lines of stderr that are the program's (lavapipe may add one of its own).
fn error_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Every file under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            files.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    files.sort();
    files
}

/// Bad input to `export` and `render`: exit code 2, one line naming the file or the flag,
/// nothing written.
#[test]
fn bad_exports_and_renders_are_refused_with_one_line() {
    let dir = scratch("export-bad");
    lifecycle_run(&dir, "run", 300, 20, 10);
    run_ok(
        &dir,
        &[
            "run",
            "--agents",
            "300",
            "--ticks",
            "20",
            "--backend",
            "cpu",
            "--out",
            "plain",
            "-q",
        ],
    );
    let voter = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/voter.toml");
    run_ok(
        &dir,
        &[
            "run",
            voter,
            "--agents",
            "300",
            "--ticks",
            "100",
            "--backend",
            "cpu",
            "--out",
            "voter",
            "--snapshot-every",
            "50",
            "-q",
        ],
    );
    // A copy of the run whose snapshot at tick 10 is not Parquet.
    std::fs::create_dir_all(dir.join("bad/snapshots")).unwrap();
    for f in listing(&dir.join("run")) {
        let from = dir.join("run").join(&f);
        if from.is_file() {
            std::fs::copy(&from, dir.join("bad").join(&f)).unwrap();
        } else {
            std::fs::create_dir_all(dir.join("bad").join(&f)).unwrap();
        }
    }
    std::fs::write(
        dir.join("bad/snapshots/agents-10.parquet"),
        b"PAR1 but not really",
    )
    .unwrap();
    std::fs::create_dir(dir.join("outdir")).unwrap();
    std::fs::create_dir(dir.join("notrun")).unwrap();
    let before = listing(&dir);

    let cases: [(&[&str], &str); 12] = [
        (&["export", "run"], "--gexf"),
        (
            &[
                "export",
                "run",
                "--gexf",
                "a.gexf",
                "--graphml",
                "a.graphml",
            ],
            "--graphml",
        ),
        (&["export", "notrun", "--gexf", "a.gexf"], "notrun"),
        (&["export", "missing", "--gexf", "a.gexf"], "missing"),
        (&["export", "plain", "--gexf", "a.gexf"], "--snapshot-every"),
        (
            &["export", "run", "--graphml", "a.graphml", "--tick", "7"],
            "--tick 7",
        ),
        (
            &["export", "run", "--gexf", "a.gexf", "--tick", "10"],
            "--tick",
        ),
        (&["export", "run", "--gexf", "outdir"], "outdir"),
        (&["export", "run", "--gexf", "nodir/a.gexf"], "nodir"),
        (&["export", "bad", "--gexf", "a.gexf"], "agents-10.parquet"),
        (&["render", "voter", "--movie", "a.gif"], "lifecycle"),
        (&["render", "plain", "--movie", "a.gif"], "--snapshot-every"),
    ];
    for (args, mention) in cases {
        let out = emergence(args, &dir);
        let lines = error_lines(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {lines:?}");
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains(mention), "{args:?}: {}", lines[0]);
        assert_eq!(listing(&dir), before, "{args:?} wrote files");
    }
    let out = emergence(&["render", "bad", "--movie", "a.gif"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(error_lines(&out)[0].contains("agents-10.parquet"));
    assert_eq!(
        listing(&dir),
        before,
        "render of a bad snapshot wrote files"
    );
}
