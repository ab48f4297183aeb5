//! What analysts read, checked with the readers they use: `metrics.parquet` read by the
//! Python script of docs/analysis.md (polars, pandas, pyarrow) has the CSV's values and
//! integer types; snapshots agree with the metrics rows of their tick (tie count, number
//! of communities, largest component), hold each tie once, and are byte-identical
//! between equal runs and across a checkpoint and resume; the manifest records what ran;
//! logs written to a file hold no escape codes, `--log-format json` is one object a
//! line, `-q` holds against `RUST_LOG`. Without Python and its readers the Python check
//! skips, unless EMERGENCE_REQUIRE_PYTHON=1 (set in CI).

use crate::common::{emergence, scratch};
use arrow_array::{Array, UInt32Array};
use emergence::io::snapshot;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The columns of a Parquet file, each as u32 (for the id-like columns) or f64 values.
fn read_columns(path: &Path) -> BTreeMap<String, Vec<f64>> {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    // Every column, also of a file without rows.
    let mut out: BTreeMap<String, Vec<f64>> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), Vec::new()))
        .collect();
    let reader = builder.build().unwrap();
    for batch in reader {
        let batch = batch.unwrap();
        for (k, field) in batch.schema().fields().iter().enumerate() {
            let col = batch.column(k);
            let values: Vec<f64> = match col.data_type() {
                arrow_schema::DataType::UInt32 => col
                    .as_any()
                    .downcast_ref::<UInt32Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                arrow_schema::DataType::Float32 => col
                    .as_any()
                    .downcast_ref::<arrow_array::Float32Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                arrow_schema::DataType::UInt64 => col
                    .as_any()
                    .downcast_ref::<arrow_array::UInt64Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                arrow_schema::DataType::Int64 => col
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                // A null (an undefined value) reads as NaN.
                arrow_schema::DataType::Float64 => col
                    .as_any()
                    .downcast_ref::<arrow_array::Float64Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect(),
                other => panic!("{}: column {} is {other}", path.display(), field.name()),
            };
            out.entry(field.name().clone()).or_default().extend(values);
        }
    }
    out
}

fn csv_rows(run: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|v| {
                    if v.is_empty() {
                        f64::NAN
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn row_at(run: &Path, tick: u64) -> BTreeMap<String, f64> {
    let (header, rows) = csv_rows(run);
    let row = rows
        .iter()
        .find(|r| r[0] as u64 == tick)
        .unwrap_or_else(|| panic!("no metrics row at tick {tick}"));
    header.into_iter().zip(row.iter().copied()).collect()
}

/// A Python 3 with these modules, or None (SKIPPED) unless EMERGENCE_REQUIRE_PYTHON=1.
fn python_with(modules: &[&str]) -> Option<&'static str> {
    let probe = Command::new("python3")
        .args(["-c", &format!("import {}", modules.join(", "))])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some("python3"),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            if std::env::var("EMERGENCE_REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
                panic!("EMERGENCE_REQUIRE_PYTHON=1 but python3 with {modules:?} is missing: {why}");
            }
            let test = std::thread::current().name().unwrap_or("?").to_string();
            eprintln!("SKIPPED: {test} (python3 with {modules:?}: {why})");
            None
        }
    }
}

/// The Python block of docs/analysis.md that follows the marker the tests look for.
fn docs_script() -> String {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/analysis.md")).unwrap();
    let after = docs
        .split("<!-- tests/analyst_io.rs runs the script below -->")
        .nth(1)
        .expect("the marker in docs/analysis.md");
    let body = after.split("```python\n").nth(1).expect("a python block");
    body.split("\n```").next().unwrap().to_string()
}

#[test]
fn the_docs_script_reads_metrics_parquet_with_the_csv_values_and_integer_types() {
    let dir = scratch("analyst-python");
    for (config, agents, at) in [
        ("lifecycle", "3000", 100),
        ("voter", "2000", 100),
        ("sir", "3000", 10),
    ] {
        let out = emergence(
            &[
                "run",
                &format!("{}/configs/{config}.toml", env!("CARGO_MANIFEST_DIR")),
                "--agents",
                agents,
                "--ticks",
                "200",
                "--backend",
                "cpu",
                "--snapshot-at",
                &format!("0,{at}"),
                "--out",
                config,
                "-q",
            ],
            &dir,
        );
        ok(&out);
        // Whatever Python says, the file is the CSV, typed (read here with the parquet crate).
        let run = dir.join(config);
        let parquet = read_columns(&run.join("metrics.parquet"));
        let (header, rows) = csv_rows(&run);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (k, name) in header.iter().enumerate() {
            let from_csv: Vec<f64> = rows.iter().map(|r| r[k]).collect();
            assert_eq!(
                bits(&parquet[name]),
                bits(&from_csv),
                "{config}: column {name}"
            );
        }
        let Some(python) = python_with(&["polars", "pandas", "pyarrow"]) else {
            continue;
        };
        let script = dir.join("load_run.py");
        std::fs::write(&script, docs_script()).unwrap();
        let out = Command::new(python)
            .arg(&script)
            .arg(&run)
            .output()
            .unwrap();
        ok(&out);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["rows"], rows.len(), "{config}");
        let model = emergence::model::find(config).unwrap();
        for name in &header {
            let want = if model.integer_columns().contains(&name.as_str()) {
                "Int64"
            } else {
                "Float64"
            };
            assert_eq!(report["types"][name], want, "{config}: type of {name}");
        }
        // The script compared every value exactly; its JSON is checked here to within
        // serde_json's parsing of decimals (not always the nearest double).
        let last = rows.last().unwrap();
        for (k, name) in header.iter().enumerate() {
            if last[k].is_nan() {
                assert!(
                    report["last_row"][name].is_null(),
                    "{config}: {name} undefined"
                );
                continue;
            }
            let got = report["last_row"][name].as_f64().unwrap();
            assert!(
                (got - last[k]).abs() <= 4.0 * f64::EPSILON * last[k].abs(),
                "{config}: last row, {name}: {got} vs {}",
                last[k]
            );
        }
        assert_eq!(report["snapshot_tick"], at, "{config}");
    }
}

#[test]
fn every_count_column_holds_integers_in_a_run_of_each_model() {
    // A column declared a count that held a fraction would be truncated in Parquet.
    for model in emergence::model::all() {
        let loaded = emergence::config::load(
            Some(
                format!(
                    "{}/configs/{}.toml",
                    env!("CARGO_MANIFEST_DIR"),
                    model.name()
                )
                .as_ref(),
            ),
            &["agents=1500".into(), "ticks=120".into()],
        )
        .unwrap();
        let backend = emergence::backend::Backend::Cpu;
        let (edges, graph, csr) = emergence::graph::build_graph(&loaded).unwrap();
        let start = emergence::model::Start {
            loaded: &loaded,
            graph: &graph,
            edges,
            csr,
            render: None,
        };
        let progress = emergence::progress::Progress::hidden();
        let done =
            emergence::model::simulate(model, start, &backend, &progress, Vec::new()).unwrap();
        for name in model.integer_columns() {
            let column = done.table.column(name).unwrap_or_else(|| {
                panic!("{}: integer column {name} is not a column", model.name())
            });
            assert!(
                column.iter().all(|v| v.fract() == 0.0),
                "{}: {name} holds a fraction: {column:?}",
                model.name()
            );
        }
    }
}

/// Snapshot ticks, agents and ties of a run, and checks against its metrics rows.
/// `simple`: the model never holds two ties between the same agents (the voter model
/// does: a rewired tie may land on a neighbour, and each of the two is listed).
fn check_snapshots_against_rows(
    run: &Path,
    ticks: &[u64],
    agents: usize,
    weighted: bool,
    simple: bool,
) {
    assert_eq!(snapshot::list(run), ticks, "{}", run.display());
    for &tick in ticks {
        let row = row_at(run, tick);
        let a = read_columns(&run.join("snapshots").join(snapshot::agents_file(tick)));
        assert_eq!(a["id"].len(), agents);
        assert!(a["id"].iter().enumerate().all(|(i, &id)| id == i as f64));
        let t = read_columns(&run.join("snapshots").join(snapshot::ties_file(tick)));
        let pairs: Vec<(u32, u32)> = t["src"]
            .iter()
            .zip(&t["dst"])
            .map(|(&s, &d)| (s as u32, d as u32))
            .collect();
        assert!(pairs.iter().all(|&(s, d)| s < d), "src < dst");
        if simple {
            let distinct: HashSet<_> = pairs.iter().collect();
            assert_eq!(distinct.len(), pairs.len(), "each tie once");
        }
        assert!(pairs.iter().all(|&(_, d)| (d as usize) < agents));
        assert_eq!(t.contains_key("weight"), weighted);
        // The tie count is the row's mean degree: 2·ties/N.
        if let Some(&mean_degree) = row.get("mean_degree") {
            let expect = mean_degree * agents as f64 / 2.0;
            assert_eq!(pairs.len() as f64, expect.round(), "ties at tick {tick}");
        }
        // Communities: the row's count of distinct labels among agents with ties.
        if let Some(&count) = row.get("communities") {
            let with_ties: BTreeSet<u32> = pairs.iter().flat_map(|&(s, d)| [s, d]).collect();
            let labels: BTreeSet<u64> = with_ties
                .iter()
                .map(|&i| a["community"][i as usize] as u64)
                .collect();
            assert_eq!(labels.len() as f64, count, "communities at tick {tick}");
        }
        // The largest component is the row's s1.
        if let Some(&s1) = row.get("s1") {
            let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
            for &c in &a["component"] {
                *sizes.entry(c as u64).or_default() += 1;
            }
            let largest = sizes.values().copied().max().unwrap_or(0);
            assert_eq!(largest as f64 / agents as f64, s1, "s1 at tick {tick}");
        }
        // A component label is the smallest agent of the component, and the ties stay
        // inside components.
        for &(s, d) in &pairs {
            assert_eq!(a["component"][s as usize], a["component"][d as usize]);
        }
        for (i, &c) in a["component"].iter().enumerate() {
            assert!(c as usize <= i);
        }
    }
}

#[test]
fn snapshots_agree_with_the_metrics_rows_of_their_ticks_for_dynamic_and_fixed_ties() {
    let dir = scratch("analyst-snapshots");
    let configs = env!("CARGO_MANIFEST_DIR").to_string() + "/configs";
    let lifecycle = emergence(
        &[
            "run",
            "--agents",
            "3000",
            "--ticks",
            "300",
            "--backend",
            "cpu",
            "--out",
            "life",
            "--snapshot-every",
            "100",
            "--snapshot-at",
            "250",
            "-q",
        ],
        &dir,
    );
    ok(&lifecycle);
    check_snapshots_against_rows(
        &dir.join("life"),
        &[0, 100, 200, 250, 300],
        3000,
        true,
        true,
    );
    let a = read_columns(&dir.join("life/snapshots/agents-300.parquet"));
    for field in [
        "phi",
        "omega",
        "knowledge",
        "adopted_at",
        "degree",
        "community",
        "component",
    ] {
        assert!(a.contains_key(field), "lifecycle agents have {field}");
    }
    // The degree column is each agent's ties in the ties file.
    let t = read_columns(&dir.join("life/snapshots/ties-300.parquet"));
    let mut degree = vec![0.0; 3000];
    for (&s, &d) in t["src"].iter().zip(&t["dst"]) {
        degree[s as usize] += 1.0;
        degree[d as usize] += 1.0;
    }
    assert_eq!(a["degree"], degree);
    assert!(t.contains_key("age"));

    // Voter: ties rewired, no weights; SIR: the scenario's fixed graph, one row a tick.
    let voter = emergence(
        &[
            "run",
            &format!("{configs}/voter.toml"),
            "--agents",
            "2000",
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
        &dir,
    );
    ok(&voter);
    check_snapshots_against_rows(&dir.join("voter"), &[0, 50, 100], 2000, false, false);
    let sir = emergence(
        &[
            "run",
            &format!("{configs}/sir.toml"),
            "--agents",
            "2000",
            "--backend",
            "cpu",
            "--out",
            "sir",
            "--snapshot-at",
            "0,3,7",
            "-q",
        ],
        &dir,
    );
    ok(&sir);
    check_snapshots_against_rows(&dir.join("sir"), &[0, 3, 7], 2000, false, true);
    let fixed0 = std::fs::read(dir.join("sir/snapshots/ties-0.parquet")).unwrap();
    let fixed7 = std::fs::read(dir.join("sir/snapshots/ties-7.parquet")).unwrap();
    assert_eq!(
        fixed0, fixed7,
        "a fixed graph's ties are the same at every tick"
    );
    // The states differ between ticks (the outbreak spreads).
    let s0 = read_columns(&dir.join("sir/snapshots/agents-0.parquet"));
    let s7 = read_columns(&dir.join("sir/snapshots/agents-7.parquet"));
    assert_ne!(s0["infected_at"], s7["infected_at"]);

    // The manifest lists every snapshot file with its size.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("life/manifest.json")).unwrap())
            .unwrap();
    let files = m["files"].as_array().unwrap();
    for tick in [0, 100, 200, 250, 300] {
        for name in [snapshot::agents_file(tick), snapshot::ties_file(tick)] {
            let path = format!("snapshots/{name}");
            let entry = files
                .iter()
                .find(|f| f["path"] == path.as_str())
                .unwrap_or_else(|| panic!("{path} in the manifest's files"));
            let bytes = std::fs::metadata(dir.join("life").join(&path))
                .unwrap()
                .len();
            assert_eq!(entry["bytes"], bytes);
        }
    }
    assert_eq!(m["snapshot_every"], 100);
    assert_eq!(m["snapshot_at"], serde_json::json!([250]));
}

fn tree_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn snapshots_are_byte_identical_between_equal_runs_and_across_a_resume() {
    let dir = scratch("analyst-resume");
    let opts = |out: &str| emergence::run::RunOptions {
        sets: vec!["agents=20000".into(), "ticks=600".into()],
        out: Some(dir.join(out)),
        backend: emergence::backend::BackendChoice::Cpu,
        snapshot_every: Some(100),
        checkpoint_every: Some(1000),
        ..Default::default()
    };
    emergence::run::run(&opts("a")).unwrap();
    emergence::run::run(&opts("b")).unwrap();
    let a = tree_bytes(&dir.join("a/snapshots"));
    assert_eq!(a.len(), 14, "agents and ties at 0, 100, ..., 600");
    assert_eq!(a, tree_bytes(&dir.join("b/snapshots")), "equal runs");

    // Stopped (as by SIGTERM) once rows past tick 250 are on disk, then resumed.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, metrics) = (Arc::clone(&stop), dir.join("c/metrics.csv"));
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(120) {
                let rows = std::fs::read_to_string(&metrics)
                    .map(|s| s.lines().count())
                    .unwrap_or(0);
                if rows > 26 {
                    stop.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let stopped = emergence::run::run(&emergence::run::RunOptions {
        stop: Some(Arc::clone(&stop)),
        ..opts("c")
    })
    .unwrap();
    watcher.join().unwrap();
    let at = stopped.interrupted.expect("the run was stopped");
    assert!(at > 250 && at < 600, "stopped at tick {at}");
    let before = snapshot::list(&dir.join("c"));
    assert!(before.len() < 7, "{before:?}");
    emergence::run::run(&emergence::run::RunOptions {
        resume: Some(dir.join("c")),
        backend: emergence::backend::BackendChoice::Cpu,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(a, tree_bytes(&dir.join("c/snapshots")), "across the resume");
}

#[test]
fn snapshot_flags_that_do_not_fit_the_run_are_refused_before_any_work() {
    let dir = scratch("analyst-bad-snapshots");
    for (args, says) in [
        (
            vec!["--snapshot-every", "7"],
            "multiple of metrics_every = 10",
        ),
        (vec!["--snapshot-every", "0"], "--snapshot-every 0"),
        (vec!["--snapshot-at", "0,15"], "--snapshot-at 15"),
        (vec!["--snapshot-at", "5000"], "from 0 to 300"),
    ] {
        let mut all = vec!["run", "--agents", "500", "--ticks", "300", "--out", "r"];
        all.extend(args.iter().copied());
        let out = emergence(&all, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(!dir.join("r").exists(), "{args:?}: nothing written");
    }
    // A resume keeps the run's own snapshot schedule.
    ok(&emergence(
        &[
            "run",
            "--agents",
            "500",
            "--ticks",
            "100",
            "--out",
            "done",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    let out = emergence(&["run", "--resume", "done", "--snapshot-every", "10"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--snapshot-every"));
}

#[test]
fn the_manifest_records_the_build_the_command_the_times_and_the_files() {
    let dir = scratch("analyst-manifest");
    let args = [
        "run",
        "--agents",
        "1000",
        "--ticks",
        "50",
        "--backend",
        "cpu",
        "--out",
        "m",
        "-q",
    ];
    let out = emergence(&args, &dir);
    ok(&out);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["status"], "complete");
    assert_eq!(m["exit_code"], 0);
    let command: Vec<&str> = m["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&command[1..], &args[..]);
    assert!(command[0].ends_with("emergence"));
    assert_eq!(
        (m["seed"].as_u64(), m["ticks"].as_u64()),
        (Some(1), Some(50))
    );
    assert_eq!(m["backend"], "cpu");
    assert!(m["planned_device_bytes"].as_u64().unwrap() > 1000 * 16);
    let (started, ended) = (m["started"].as_str().unwrap(), m["ended"].as_str().unwrap());
    assert!(
        started.ends_with('Z') && started <= ended,
        "{started} .. {ended}"
    );
    assert!(m["wall_s"].as_f64().unwrap() > 0.0);
    // Every file of the directory but the manifest, with its size.
    let listed: BTreeMap<String, u64> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut on_disk = BTreeMap::new();
    let mut stack = vec![dir.join("m")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p: PathBuf = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "manifest.json" {
                let rel = p
                    .strip_prefix(dir.join("m"))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                on_disk.insert(rel, std::fs::metadata(&p).unwrap().len());
            }
        }
    }
    assert_eq!(listed, on_disk);
    assert!(listed.contains_key("metrics.parquet") && listed.contains_key("report.html"));
    // Built from a checkout: the commit it was built from.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(head) = head.ok().filter(|h| h.status.success()) {
        assert_eq!(
            m["git_commit"],
            String::from_utf8_lossy(&head.stdout).trim()
        );
    }
}

/// Run the binary with stderr to a file, as a batch job does, with `env` set and
/// NO_COLOR unset.
fn run_logged(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let log = dir.join("log.txt");
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emergence"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out, std::fs::read_to_string(&log).unwrap())
}

#[test]
fn logs_to_a_file_have_no_escape_codes_json_is_one_object_a_line_and_quiet_holds() {
    let dir = scratch("analyst-logs");
    let run = [
        "run",
        "--agents",
        "2000",
        "--ticks",
        "200",
        "--backend",
        "cpu",
    ];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = run.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let (out, log) = run_logged(&dir, &with(&["--out", "a"]), &[]);
    ok(&out);
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "an escape code in the log file: {log:?}"
    );

    // JSON: every line an object with time, level, message; progress lines carry the
    // tick, the rate and the stage.
    let (out, log) = run_logged(
        &dir,
        &with(&["--out", "b", "--log-format", "json"]),
        &[("EMERGENCE_PROGRESS_EVERY_S", "0")],
    );
    ok(&out);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5);
    for line in &lines {
        assert!(
            line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert!(
            line["level"].is_string() && line["message"].is_string(),
            "{line}"
        );
    }
    let progress: Vec<&serde_json::Value> = lines.iter().filter(|l| l["tick"].is_u64()).collect();
    assert!(!progress.is_empty(), "progress lines: {log}");
    assert!(progress
        .iter()
        .all(|l| l["ticks_per_s"].is_number() && l["stage"].is_u64()));
    let ticks: Vec<u64> = progress
        .iter()
        .map(|l| l["tick"].as_u64().unwrap())
        .collect();
    assert!(ticks.windows(2).all(|w| w[0] < w[1]) && *ticks.last().unwrap() <= 200);
    // A failure's last line is an object too.
    let (out, log) = run_logged(&dir, &with(&["--out", "b", "--log-format", "json"]), &[]);
    assert_eq!(out.status.code(), Some(2));
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["message"].as_str().unwrap().contains("--out"));

    // -q: RUST_LOG cannot bring back what it hides.
    let (out, log) = run_logged(
        &dir,
        &[
            "-q",
            "run",
            "--agents",
            "2000",
            "--ticks",
            "50",
            "--backend",
            "cpu",
            "--out",
            "c",
        ],
        &[("RUST_LOG", "debug")],
    );
    ok(&out);
    assert!(log.is_empty(), "-q with RUST_LOG=debug logged: {log}");
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    // `script` gives the binary a pseudo-terminal for stderr.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: a_terminal_gets_colour_unless_no_color_is_set (no `script`)");
        return;
    }
    let dir = scratch("analyst-tty");
    let bin = env!("CARGO_BIN_EXE_emergence");
    let typed = |no_color: bool, out: &str| -> String {
        let command = format!(
            "{} {bin} run --agents 500 --ticks 20 --backend cpu --out {out}",
            if no_color { "NO_COLOR=1" } else { "" }
        );
        let o = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(&dir)
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        ok(&o);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let coloured = typed(false, "a");
    assert!(has_colour(&coloured), "colour on a terminal: {coloured:?}");
    let plain = typed(true, "b");
    assert!(plain.contains("INFO") && !has_colour(&plain), "{plain:?}");
}

/// Whether `text` holds an SGR escape (`ESC [ digits/semicolons m`): colour or dim, not
/// the cursor moves of a progress bar.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let code: String = r
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ';')
                .collect();
            r[code.len()..].starts_with('m')
        })
    })
}

#[test]
fn gpu_snapshots_agree_with_the_gpu_rows_of_their_ticks() {
    // The device's own rows (its label propagation, its components) against the
    // snapshot of the state downloaded at the same tick.
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("analyst-gpu-snapshots");
    let out = emergence(
        &[
            "run",
            "--agents",
            "3000",
            "--ticks",
            "200",
            "--backend",
            "gpu",
            "--out",
            "life",
            "--snapshot-every",
            "100",
            "-q",
        ],
        &dir,
    );
    ok(&out);
    check_snapshots_against_rows(&dir.join("life"), &[0, 100, 200], 3000, true, true);
}

#[test]
fn a_snapshots_ties_run_again_as_a_graph_file_give_the_same_agents_and_ties() {
    // Every agent of a ring lattice has ties, so the file's distinct ids are all agents.
    let dir = scratch("analyst-round-trip");
    let threshold = format!("{}/configs/threshold.toml", env!("CARGO_MANIFEST_DIR"));
    let first = emergence(
        &[
            "run",
            &threshold,
            "--agents",
            "3000",
            "--set",
            "graph.kind=ws",
            "--set",
            "graph.rewire=0.1",
            "--backend",
            "cpu",
            "--snapshot-at",
            "0",
            "--out",
            "a",
            "-q",
        ],
        &dir,
    );
    ok(&first);
    let ties = dir.join("a/snapshots/ties-0.parquet");
    let second = emergence(
        &[
            "run",
            &threshold,
            "--set",
            "graph.kind=file",
            "--set",
            &format!("graph.path=\"{}\"", ties.display()),
            "--backend",
            "cpu",
            "--snapshot-at",
            "0",
            "--out",
            "b",
            "-q",
        ],
        &dir,
    );
    ok(&second);
    let manifest = |run: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(run).join("manifest.json")).unwrap())
            .unwrap()
    };
    assert_eq!(manifest("a")["agents"], 3000);
    assert_eq!(manifest("b")["agents"], 3000);
    // The ids are 0..N-1 already, so the mapping is the identity and the tie sets agree.
    let ids = read_columns(&dir.join("b/ids.parquet"));
    assert!(ids["agent"].iter().zip(&ids["id"]).all(|(a, i)| a == i));
    let edges = |run: &str| -> BTreeSet<(u32, u32)> {
        let t = read_columns(&dir.join(run).join("snapshots/ties-0.parquet"));
        t["src"]
            .iter()
            .zip(&t["dst"])
            .map(|(&s, &d)| (s as u32, d as u32))
            .collect()
    };
    let (a, b) = (edges("a"), edges("b"));
    assert_eq!(a.len(), 3000 * 2, "a ring of mean degree 4 has 2N ties");
    assert_eq!(a, b);
}
