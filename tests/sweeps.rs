//! Sweeps driven through the real binary: plans are deterministic and refuse bad points
//! before anything runs; shards split a plan, skip what is done, record failures and
//! go on; an interrupted shard resumes its run from the checkpoint to the same rows;
//! `merge` finds every run once and refuses parts of another plan; the Watts curve of
//! configs/sweep-watts.toml follows Gleeson–Cahalane; and on a real single-node Slurm
//! (slurmctld, slurmd, munge) an array runs a sweep, and a cancelled task's resubmission
//! runs only the missing runs.

use super::common::{emergence, emergence_with, scratch};
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one error line of a refusal (exit 2).
fn refused(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    let errors: Vec<String> = stderr(out)
        .lines()
        .filter(|l| l.starts_with("error: ") && !l.contains("XDG_RUNTIME_DIR"))
        .map(str::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {errors:?}");
    errors[0].clone()
}

/// Every batch of a Parquet file as one.
fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    let a = c.as_any().downcast_ref::<StringArray>().unwrap();
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

fn floats(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    if let Some(a) = c.as_any().downcast_ref::<Float64Array>() {
        a.iter().collect()
    } else {
        let a = c.as_any().downcast_ref::<Int64Array>().unwrap();
        a.iter().map(|v| v.map(|v| v as f64)).collect()
    }
}

/// The run lines of a plan: (run_id, params).
fn plan_runs(plan: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(plan)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every ledger line of a sweep directory.
fn ledger_lines(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir.join("ledger")) else {
        return out;
    };
    let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                out.push(v);
            }
        }
    }
    out
}

fn done_counts(dir: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in ledger_lines(dir) {
        if v["status"] == "done" {
            *m.entry(v["run_id"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    m
}

/// A small sweep of the threshold model: 4 values of z × 3 seeds = 12 runs.
fn write_small_sweep(dir: &Path, agents: u32) -> PathBuf {
    let path = dir.join("small.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"small\"\nbase = \"{}\"\nseeds = [1, 2, 3]\n[grid]\nagents = [{agents}]\ngraph.mean_degree = [2.0, 3.0, 4.5, 6.0]\n",
            configs().join("threshold.toml").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_plan_is_the_same_bytes_every_time_and_its_ids_hash_each_runs_resolved_scenario() {
    let dir = scratch("sweep-plan");
    let sweep = write_small_sweep(&dir, 5000);
    let out = emergence(&["sweep", "plan", "small.toml", "-o", "a.jsonl"], &dir);
    let said = ok(&out);
    assert!(said.contains("12 runs (4 points × 3 replicates)"), "{said}");
    ok(&emergence(
        &["sweep", "plan", sweep.to_str().unwrap(), "-o", "b.jsonl"],
        &dir,
    ));
    let a = std::fs::read(dir.join("a.jsonl")).unwrap();
    assert_eq!(a, std::fs::read(dir.join("b.jsonl")).unwrap());
    let runs = plan_runs(&dir.join("a.jsonl"));
    assert_eq!(runs.len(), 12);
    let ids: BTreeSet<&str> = runs.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 12, "ids are distinct");
    // The id is the hash of the run's resolved scenario, and that scenario is the run's.
    for r in &runs {
        let config = r["config"].as_str().unwrap();
        let sha = emergence::io::rundir::sha256_hex(config.as_bytes());
        assert_eq!(r["run_id"].as_str().unwrap(), &sha[..16]);
        let t: toml::Table = toml::from_str(config).unwrap();
        assert_eq!(t["seed"].as_integer(), r["seed"].as_i64());
        assert_eq!(
            t["graph"]["mean_degree"].as_float(),
            r["params"]["graph.mean_degree"].as_f64()
        );
        assert_eq!(t["agents"].as_integer(), Some(5000));
    }
    // Replicates are innermost: seeds 1, 2, 3 for each z in turn.
    let seeds: Vec<i64> = runs.iter().map(|r| r["seed"].as_i64().unwrap()).collect();
    assert_eq!(&seeds[..6], &[1, 2, 3, 1, 2, 3]);
    let header: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&a).lines().next().unwrap()).unwrap();
    let columns: Vec<&str> = header["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["tick", "active_fraction", "newly_active", "s1"]);
    assert_eq!(header["params"][1]["type"], "float");
    // Another point changes the ids of that point's runs only.
    let text = std::fs::read_to_string(&sweep)
        .unwrap()
        .replace("6.0]", "6.5]");
    std::fs::write(&sweep, text).unwrap();
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "c.jsonl"],
        &dir,
    ));
    let changed: BTreeSet<String> = plan_runs(&dir.join("c.jsonl"))
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    let kept = ids.iter().filter(|i| changed.contains(**i)).count();
    assert_eq!(kept, 9, "the 9 runs of the unchanged points keep their ids");
}

#[test]
fn bad_sweep_files_and_bad_points_are_refused_in_one_line_before_any_plan_is_written() {
    let dir = scratch("sweep-bad");
    let base = configs().join("threshold.toml");
    let cases: &[(&str, &str)] = &[
        (
            "[grid]\ngraph.mean_degree = [4.0, -1.0]\n",
            "run 2 of 2 (graph.mean_degree=-1.0, seed 1)",
        ),
        (
            "sedes = [1]\n",
            "sedes: not a key of a sweep file; allowed: name, base, scenarios, seeds, replicates, grid, point",
        ),
        (
            "[grid]\ngraph.mean_degree = 4.0\n",
            "grid.graph.mean_degree: 4.0: expected a list of values",
        ),
        (
            "[grid]\nmodel.theta = [0.1, \"x\"]\n",
            "grid.model.theta: mixes float and string values",
        ),
        (
            "[grid]\nseed = [1, 2]\n",
            "seed: seeds are set by seeds = [..] or replicates = R",
        ),
        ("seeds = [1, 1]\n", "seeds: seed 1 is given twice"),
        (
            "seeds = [1]\nreplicates = 2\n",
            "seeds: give either seeds = [..] or replicates = R, not both",
        ),
        (
            "[grid]\nmodel.theta = [0.1]\n[[point]]\nmodel.theta = 0.2\n",
            "model.theta: is both in [grid] and in a [[point]]",
        ),
        (
            "[[point]]\ngraph.mean_degree = 4.0\n[[point]]\ngraph.mean_degree = 4.0\n",
            "the same scenario as run 1 (a point given twice)",
        ),
        ("[grid]\nmodel.thetaa = [0.1]\n", "model.thetaa"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{i}.toml"));
        std::fs::write(&file, format!("base = \"{}\"\n{body}", base.display())).unwrap();
        let plan = dir.join(format!("bad{i}.jsonl"));
        let out = emergence(
            &[
                "sweep",
                "plan",
                file.to_str().unwrap(),
                "-o",
                plan.to_str().unwrap(),
            ],
            &dir,
        );
        let line = refused(&out);
        assert!(line.contains(want), "case {i}: {line}\n(wanted {want})");
        assert!(
            line.contains(&format!("bad{i}.toml")),
            "names the file: {line}"
        );
        assert!(!plan.exists(), "case {i}: nothing written");
    }
    // A file of the user's at -o is not replaced.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let good = write_small_sweep(&dir, 1000);
    let line = refused(&emergence(
        &["sweep", "plan", good.to_str().unwrap(), "-o", "notes.txt"],
        &dir,
    ));
    assert!(line.contains("is not a sweep plan of emergence"), "{line}");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn shards_split_the_plan_and_merge_finds_every_run_once_with_its_parameters() {
    let dir = scratch("sweep-shards");
    write_small_sweep(&dir, 5000);
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    // Shard 0 of 3 by flags, shard 1 from a Slurm array whose indices start at 4, shard 2
    // from Kubernetes' index.
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--shard",
            "0",
            "--num-shards",
            "3",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    let status = ok(&emergence(&["sweep", "status", "sw"], &dir));
    assert!(
        status.contains("12 runs: 4 done, 0 failed, 8 pending"),
        "{status}"
    );
    // Merging now names the 8 missing runs and exits 1, with the 4 done in the tables.
    let partial = emergence(&["sweep", "merge", "sw", "--out", "tables"], &dir);
    assert_eq!(partial.status.code(), Some(1), "{}", stderr(&partial));
    assert!(String::from_utf8_lossy(&partial.stdout).contains("4 of 12 runs merged"));
    let out = emergence_with(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
        ],
        &dir,
        &[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
    );
    assert!(ok(&out).contains("shard 1 of 3: 4 runs"));
    let out = emergence_with(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--num-shards",
            "3",
            "--backend",
            "cpu",
        ],
        &dir,
        &[("JOB_COMPLETION_INDEX", "2")],
    );
    assert!(ok(&out).contains("shard 2 of 3: 4 runs"));
    // A shard run again finds its runs done and runs nothing.
    let again = ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--shard",
            "0",
            "--num-shards",
            "3",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    assert!(
        again.contains("4 runs, 4 done before, 0 done now"),
        "{again}"
    );
    let merged = ok(&emergence(
        &["sweep", "merge", "sw", "--out", "tables"],
        &dir,
    ));
    assert!(merged.contains("12 of 12 runs merged"), "{merged}");
    assert!(done_counts(&dir.join("sw")).values().all(|&c| c == 1));
    assert_eq!(done_counts(&dir.join("sw")).len(), 12);
    let plan = plan_runs(&dir.join("plan.jsonl"));
    let wide = read(&dir.join("tables/runs.parquet"));
    assert_eq!(wide.num_rows(), 12);
    let ids = strings(&wide, "run_id");
    let z = floats(&wide, "graph.mean_degree");
    let seeds = floats(&wide, "seed");
    let status = strings(&wide, "status");
    for (k, r) in plan.iter().enumerate() {
        assert_eq!(ids[k], r["run_id"].as_str().unwrap());
        assert_eq!(z[k], r["params"]["graph.mean_degree"].as_f64());
        assert_eq!(seeds[k], r["seed"].as_f64());
        assert_eq!(status[k], "done");
    }
    // The long table: each run's rows once, the final one being the wide table's.
    let long = read(&dir.join("tables/long.parquet"));
    let long_ids = strings(&long, "run_id");
    let active = floats(&long, "active_fraction");
    let final_active = floats(&wide, "active_fraction");
    for (k, id) in ids.iter().enumerate() {
        let rows: Vec<usize> = (0..long_ids.len())
            .filter(|&i| &long_ids[i] == id)
            .collect();
        assert!(!rows.is_empty());
        assert!(
            rows.windows(2).all(|w| w[1] == w[0] + 1),
            "a run's rows are together"
        );
        assert_eq!(active[*rows.last().unwrap()], final_active[k]);
    }
    // The same rows as an ordinary run of the run's scenario.
    let r0 = &plan[0];
    std::fs::write(dir.join("r0.toml"), r0["config"].as_str().unwrap()).unwrap();
    ok(&emergence(
        &["run", "r0.toml", "--out", "r0", "--backend", "cpu", "-q"],
        &dir,
    ));
    let single = read(&dir.join("r0/metrics.parquet"));
    let rows: Vec<usize> = (0..long_ids.len())
        .filter(|&i| long_ids[i] == ids[0])
        .collect();
    assert_eq!(rows.len(), single.num_rows());
    let single_active = floats(&single, "active_fraction");
    for (j, &i) in rows.iter().enumerate() {
        assert_eq!(active[i], single_active[j]);
    }
    // No run directory is left behind; merge.json says what is in the tables.
    assert_eq!(std::fs::read_dir(dir.join("sw/work")).unwrap().count(), 0);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tables/merge.json")).unwrap())
            .unwrap();
    assert_eq!(m["done"], 12);
}

#[test]
fn a_run_that_fails_is_recorded_and_the_shard_goes_on_and_only_it_runs_again() {
    let dir = scratch("sweep-fail");
    let base = configs().join("threshold.toml");
    std::fs::write(
        dir.join("sizes.toml"),
        format!(
            "base = \"{}\"\nseeds = [1, 2]\n[grid]\nagents = [2000, 3000000]\n",
            base.display()
        ),
    )
    .unwrap();
    ok(&emergence(
        &["sweep", "plan", "sizes.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    // The compute node has less memory than the planning one: the large runs are
    // refused when they start, and recorded.
    let out = emergence_with(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
        ],
        &dir,
        &[("EMERGENCE_MEMORY_LIMIT", "50000000")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("4 runs, 0 done before, 2 done now, 2 failed"));
    let lines = ledger_lines(&dir.join("sw"));
    let failed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["status"] == "failed").collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed[0]["message"].as_str().unwrap().contains("agents"),
        "{}",
        failed[0]
    );
    let status = ok(&emergence(&["sweep", "status", "sw"], &dir));
    assert!(
        status.contains("4 runs: 2 done, 2 failed, 0 pending"),
        "{status}"
    );
    let merge = emergence(&["sweep", "merge", "sw", "--out", "t"], &dir);
    assert_eq!(merge.status.code(), Some(1));
    let said = String::from_utf8_lossy(&merge.stdout);
    assert!(
        said.contains("2 failed") && said.contains("failed: run"),
        "{said}"
    );
    let wide = read(&dir.join("t/runs.parquet"));
    assert_eq!(
        strings(&wide, "status"),
        ["done", "done", "failed", "failed"]
    );
    // --skip-failed leaves them; a plain rerun runs the failed ones only.
    let skip = ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
            "--skip-failed",
        ],
        &dir,
    ));
    assert!(
        skip.contains("2 done before, 0 done now, 0 failed"),
        "{skip}"
    );
    let before = done_counts(&dir.join("sw"));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    let after = done_counts(&dir.join("sw"));
    assert_eq!(after.len(), 4);
    for (id, n) in &after {
        assert_eq!(
            *n, 1,
            "run {id} done once (the two done before were not run again)"
        );
    }
    assert!(before.keys().all(|k| after.contains_key(k)));
    ok(&emergence(&["sweep", "merge", "sw", "--out", "t"], &dir));
}

/// A lifecycle sweep slow enough to be interrupted: `n` runs of 4,000 agents.
fn write_lifecycle_sweep(dir: &Path, seeds: usize, ticks: u32) -> PathBuf {
    let path = dir.join("lifecycle.toml");
    let list: Vec<String> = (1..=seeds).map(|s| s.to_string()).collect();
    std::fs::write(
        &path,
        format!(
            "name = \"lc\"\nbase = \"{}\"\nseeds = [{}]\n[grid]\nagents = [4000]\nticks = [{ticks}]\n",
            configs().join("lifecycle.toml").display(),
            list.join(", ")
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_shard_stopped_by_sigterm_resumes_its_run_from_the_checkpoint_to_the_same_rows() {
    let dir = scratch("sweep-resume");
    write_lifecycle_sweep(&dir, 2, 4000);
    ok(&emergence(
        &["sweep", "plan", "lifecycle.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    // Uninterrupted, for reference.
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "ref",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    // Stopped once its first run has rows: exit 3, a checkpoint under work/.
    let mut child = Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args([
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
        ])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let plan = plan_runs(&dir.join("plan.jsonl"));
    let first = plan[0]["run_id"].as_str().unwrap();
    let metrics = dir.join("sw/work").join(first).join("metrics.csv");
    let t0 = Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |t| t.lines().count()) < 20 {
        assert!(t0.elapsed() < Duration::from_secs(60), "the run started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "interrupted after a checkpoint");
    assert!(done_counts(&dir.join("sw")).is_empty(), "nothing done yet");
    let ck = dir.join("sw/work").join(first).join("checkpoint");
    assert!(ck.is_dir() && std::fs::read_dir(&ck).unwrap().count() > 0);
    let status = ok(&emergence(&["sweep", "status", "sw"], &dir));
    assert!(status.contains("1 resumable"), "{status}");
    // Run again: the first run resumes from its checkpoint; both end as uninterrupted.
    let again = emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
        ],
        &dir,
    );
    ok(&again);
    assert!(
        stderr(&again).contains("resuming from its checkpoint"),
        "{}",
        stderr(&again)
    );
    for r in &plan {
        let id = r["run_id"].as_str().unwrap();
        let a = read(&dir.join("ref/parts").join(format!("{id}.parquet")));
        let b = read(&dir.join("sw/parts").join(format!("{id}.parquet")));
        assert_eq!(a, b, "run {id}: the same rows, bit for bit");
    }
    // The lifecycle's wide table carries its stage ticks.
    ok(&emergence(
        &["sweep", "merge", "sw", "--out", "tables"],
        &dir,
    ));
    let wide = read(&dir.join("tables/runs.parquet"));
    for s in 1..=3 {
        assert!(wide.column_by_name(&format!("stage_{s}_tick")).is_some());
    }
    assert_eq!(floats(&wide, "ticks_run"), [Some(4000.0), Some(4000.0)]);
}

#[test]
fn concurrent_runs_give_the_parts_of_one_at_a_time() {
    let dir = scratch("sweep-concurrent");
    write_small_sweep(&dir, 20000);
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "one",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "three",
            "--backend",
            "cpu",
            "--concurrent",
            "3",
            "-q",
        ],
        &dir,
    ));
    for r in plan_runs(&dir.join("plan.jsonl")) {
        let id = r["run_id"].as_str().unwrap();
        assert_eq!(
            read(&dir.join("one/parts").join(format!("{id}.parquet"))),
            read(&dir.join("three/parts").join(format!("{id}.parquet")))
        );
    }
    // A budget smaller than any run still admits each run alone.
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "tight",
            "--backend",
            "cpu",
            "--concurrent",
            "2",
            "--memory-budget",
            "1",
            "--keep-runs",
            "-q",
        ],
        &dir,
    ));
    assert_eq!(done_counts(&dir.join("tight")).len(), 12);
    // --keep-runs: every finished run's own run directory, complete, under runs/.
    for r in plan_runs(&dir.join("plan.jsonl")) {
        let kept = dir.join("tight/runs").join(r["run_id"].as_str().unwrap());
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(kept.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["status"], "complete");
        assert!(kept.join("metrics.parquet").is_file() && kept.join("summary.json").is_file());
    }
    assert_eq!(
        std::fs::read_dir(dir.join("tight/work")).unwrap().count(),
        0
    );
}

#[test]
fn a_sweep_directory_of_another_plan_or_not_ours_is_refused_untouched() {
    let dir = scratch("sweep-dirs");
    write_small_sweep(&dir, 1000);
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "a.jsonl"],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "a.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    let text = std::fs::read_to_string(dir.join("small.toml"))
        .unwrap()
        .replace("[1, 2, 3]", "[7]");
    std::fs::write(dir.join("small.toml"), text).unwrap();
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "b.jsonl"],
        &dir,
    ));
    let line = refused(&emergence(
        &["sweep", "run", "b.jsonl", "--out", "sw", "--backend", "cpu"],
        &dir,
    ));
    assert!(
        line.contains("is the sweep directory of another plan"),
        "{line}"
    );
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/data.csv"), "x").unwrap();
    let line = refused(&emergence(
        &[
            "sweep",
            "run",
            "b.jsonl",
            "--out",
            "mine",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    assert!(
        line.contains("is not a sweep directory of emergence"),
        "{line}"
    );
    assert_eq!(std::fs::read_dir(dir.join("mine")).unwrap().count(), 1);
    let line = refused(&emergence(&["sweep", "merge", "mine", "--out", "t"], &dir));
    assert!(line.contains("not a sweep directory"), "{line}");
    let line = refused(&emergence(&["sweep", "merge", "sw", "--out", "mine"], &dir));
    assert!(
        line.contains("holds files that are not a merge's"),
        "{line}"
    );
    // A part of another plan in the directory is refused by name at merge.
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        format!(
            "base = \"{}\"\n[grid]\nagents = [1000]\nmodel.seed_fraction = [0.01]\n",
            configs().join("threshold.toml").display()
        ),
    )
    .unwrap();
    ok(&emergence(
        &["sweep", "plan", "other.toml", "-o", "o.jsonl"],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "o.jsonl",
            "--out",
            "osw",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    let part = std::fs::read_dir(dir.join("osw/parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let victim = std::fs::read_dir(dir.join("sw/parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&part, &victim).unwrap();
    let line = refused(&emergence(&["sweep", "merge", "sw", "--out", "t2"], &dir));
    assert!(
        line.contains(victim.file_name().unwrap().to_str().unwrap())
            && line.contains("not of this sweep's plan"),
        "{line}"
    );
    // Bad shards and flags.
    let line = refused(&emergence(
        &[
            "sweep",
            "run",
            "a.jsonl",
            "--out",
            "x",
            "--shard",
            "3",
            "--num-shards",
            "3",
        ],
        &dir,
    ));
    assert!(line.contains("shard 3 of 3"), "{line}");
    let line = refused(&emergence(
        &["sweep", "run", "a.jsonl", "--out", "x", "--shard", "1"],
        &dir,
    ));
    assert!(
        line.contains("--shard and --num-shards go together"),
        "{line}"
    );
    let line = refused(&emergence(
        &["sweep", "run", "a.jsonl", "--out", "x", "--concurrent", "0"],
        &dir,
    ));
    assert!(line.contains("--concurrent 0"), "{line}");
    assert!(
        !dir.join("x").exists(),
        "nothing written for a refused shard"
    );
    // A plan edited by hand is refused.
    let edited = std::fs::read_to_string(dir.join("a.jsonl"))
        .unwrap()
        .replace("\"seed\":2", "\"seed\":9");
    std::fs::write(dir.join("e.jsonl"), edited).unwrap();
    let line = refused(&emergence(&["sweep", "run", "e.jsonl", "--out", "x"], &dir));
    assert!(line.contains("changed since it was planned"), "{line}");
}

#[test]
fn sweep_run_on_a_software_adapter_needs_allow_software() {
    if super::common::gpu().is_none() {
        return;
    }
    let dir = scratch("sweep-software");
    write_small_sweep(&dir, 1000);
    ok(&emergence(
        &["sweep", "plan", "small.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    let info = Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(["info", "--json"])
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let software = info["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["software"].as_bool() == Some(true));
    if !software {
        eprintln!("SKIPPED: a hardware adapter is present; the refusal is of software ones");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args([
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "gpu",
        ])
        .current_dir(&dir)
        .env_remove("EMERGENCE_ALLOW_SOFTWARE")
        .output()
        .unwrap();
    let line = refused(&out);
    assert!(
        line.contains("is a software rasterizer") && line.contains("--allow-software"),
        "{line}"
    );
    assert!(!dir.join("sw").exists());
    let out = emergence_with(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "gpu",
            "--shard",
            "0",
            "--num-shards",
            "6",
        ],
        &dir,
        &[("EMERGENCE_ALLOW_SOFTWARE", "1")],
    );
    ok(&out);
    let lines = ledger_lines(&dir.join("sw"));
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["backend"] == "gpu"));
}

#[test]
fn the_slurm_script_is_an_array_with_requeue_a_signal_srun_and_the_gpu_by_bus_id() {
    let dir = scratch("sweep-script");
    write_small_sweep(&dir, 1000);
    let script = ok(&emergence(
        &[
            "sweep",
            "slurm",
            "small.toml",
            "--out",
            "sw",
            "--shards",
            "4",
            "--time",
            "01:00:00",
        ],
        &dir,
    ));
    let abs = std::fs::canonicalize(&dir).unwrap().join("sw");
    for want in [
        "#!/bin/bash",
        "#SBATCH --array=0-3",
        "#SBATCH --requeue",
        "#SBATCH --signal=TERM@120",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --time=01:00:00",
        "#SBATCH --open-mode=append",
        "nvidia-smi --query-gpu=pci.bus_id",
        "ADAPTER=(--adapter \"$BUS\")",
    ] {
        assert!(script.contains(want), "{want} in\n{script}");
    }
    assert!(script.contains(&format!(
        "#SBATCH --output={}/logs/%A_%a.log",
        abs.display()
    )));
    assert!(script.contains(&format!(
        "srun --ntasks=1 \"$EMERGENCE\" sweep run {}/runs.jsonl --out {}",
        abs.display(),
        abs.display()
    )));
    assert!(abs.join("runs.jsonl").is_file() && abs.join("logs").is_dir());
    let none = ok(&emergence(
        &[
            "sweep",
            "slurm",
            "small.toml",
            "--out",
            "sw",
            "--gres",
            "none",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    assert!(
        !none.contains("--gres") && !none.contains("nvidia-smi"),
        "{none}"
    );
    assert!(
        none.contains("#SBATCH --array=0-11"),
        "one task a run by default"
    );
    let line = refused(&emergence(
        &[
            "sweep",
            "slurm",
            "small.toml",
            "--out",
            "sw",
            "--shards",
            "13",
        ],
        &dir,
    ));
    assert!(line.contains("--shards 13"), "{line}");
    // The bus id nvidia-smi prints names the adapter Vulkan lists.
    assert!(emergence::gpu::same_bus_id(
        "00000000:41:00.0",
        "0000:41:00.0"
    ));
    assert!(emergence::gpu::same_bus_id("41:00.0", "0000:41:00.0"));
    assert!(!emergence::gpu::same_bus_id(
        "00000000:42:00.0",
        "0000:41:00.0"
    ));
    // The script is valid bash.
    std::fs::write(dir.join("job.sh"), &script).unwrap();
    let syntax = Command::new("bash")
        .args(["-n", "job.sh"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(syntax.success());
}

/// Gleeson–Cahalane's final active fraction for θ = 0.18, ρ0 = 0.001 against the merged
/// table of configs/sweep-watts.toml (N = 10^5, 5 seeds per z). The sd at each z was
/// measured once over 30 seeds (1001–1030) at N = 10^5 (docs/sweeps.md): the tolerance is
/// 4·sd/√5.
#[test]
fn the_watts_sweep_follows_gleeson_cahalane_within_four_standard_errors() {
    const SD_30_SEEDS: [f64; 9] = [
        0.002016, 0.001095, 0.000761, 0.000722, 0.000592, 0.000412, 0.000291, 0.000210, 0.000141,
    ];
    let dir = scratch("sweep-watts");
    let sweep = configs().join("sweep-watts.toml");
    ok(&emergence(
        &["sweep", "plan", sweep.to_str().unwrap(), "-o", "plan.jsonl"],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
            "--concurrent",
            "2",
            "-q",
        ],
        &dir,
    ));
    ok(&emergence(
        &["sweep", "merge", "sw", "--out", "tables"],
        &dir,
    ));
    let wide = read(&dir.join("tables/runs.parquet"));
    let z = floats(&wide, "graph.mean_degree");
    let active = floats(&wide, "active_fraction");
    assert_eq!(wide.num_rows(), 45);
    for (k, &sd) in SD_30_SEEDS.iter().enumerate() {
        let zk = 2.0 + 0.5 * k as f64;
        let xs: Vec<f64> = (0..45)
            .filter(|&i| z[i] == Some(zk))
            .map(|i| active[i].unwrap())
            .collect();
        assert_eq!(xs.len(), 5);
        let mean = xs.iter().sum::<f64>() / 5.0;
        let theory = emergence::analysis::theory::gleeson_cahalane(zk, 18, 0.001);
        let tol = 4.0 * sd / 5f64.sqrt();
        assert!(
            (mean - theory).abs() <= tol,
            "z = {zk}: mean {mean:.6} vs theory {theory:.6}, tolerance {tol:.6}"
        );
    }
    // The report draws the curve with the theory over it.
    let report = ok(&emergence(&["report", "tables"], &dir));
    assert!(report.contains("report.html"), "{report}");
    let html = std::fs::read_to_string(dir.join("tables/report.html")).unwrap();
    assert!(html.contains("Gleeson"), "theory named in the report");
    assert!(dir
        .join("tables/plots/active_fraction_vs_graph.mean_degree.png")
        .is_file());
    // The table by its file gives the same report.
    let by_file = ok(&emergence(&["report", "tables/runs.parquet"], &dir));
    assert!(by_file.contains("tables/report.html"), "{by_file}");
}

// ---------------------------------------------------------------------------------------
// A real single-node Slurm.

/// A slurmctld and a slurmd of our own (ports, state and logs in a scratch folder, no
/// cgroup plugins, no GPU gres), stopped when dropped. None (SKIPPED) without Slurm,
/// munge or root, unless EMERGENCE_REQUIRE_SLURM=1, when that fails the test.
struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<std::process::Child>,
}

fn require_slurm(why: &str) -> Option<Slurm> {
    if std::env::var("EMERGENCE_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
        panic!("EMERGENCE_REQUIRE_SLURM=1 but {why}");
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("SKIPPED: {test} ({why})");
    println!("SKIPPED: {test} ({why})");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Slurm {
    fn start(name: &str) -> Option<Slurm> {
        for tool in [
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scancel",
            "munged",
            "munge",
        ] {
            if !on_path(tool) && !Path::new("/usr/sbin").join(tool).exists() {
                return require_slurm(&format!(
                    "{tool} is not installed (Debian: slurmctld slurmd slurm-client munge)"
                ));
            }
        }
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if uid.as_deref().ok() != Some("0") {
            return require_slurm("the test's slurmd runs as root");
        }
        // munge: the system's daemon, started if it is not running.
        let munge_works = || {
            Command::new("sh")
                .args(["-c", "munge -n | unmunge"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !munge_works() {
            let _ = std::fs::create_dir_all("/run/munge");
            let _ = Command::new("chown")
                .args(["munge:munge", "/run/munge"])
                .status();
            let _ = Command::new("runuser")
                .args(["-u", "munge", "--", "/usr/sbin/munged"])
                .status();
            let t0 = Instant::now();
            while !munge_works() && t0.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(100));
            }
            if !munge_works() {
                return require_slurm("munged does not start");
            }
        }
        let dir = scratch(name);
        for sub in ["state", "spool"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let d = dir.display();
        let conf = dir.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=emergence{port}\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
                 AuthType=auth/munge\nCredType=cred/munge\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
                 SlurmctldPort={port}\nSlurmdPort={dport}\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
                 AccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/none\n\
                 SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
                 ReturnToService=2\nMpiDefault=none\nKillWait=20\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:2\n",
                port = free_port(),
                dport = free_port(),
            ),
        )
        .unwrap();
        let spawn = |daemon: &str, args: &[&str]| {
            Command::new(daemon)
                .args(args)
                .env("SLURM_CONF", &conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("{daemon}.stderr"))).unwrap())
                .spawn()
                .unwrap()
        };
        let conf_s = conf.to_str().unwrap();
        let daemons = vec![
            spawn("slurmctld", &["-D", "-i", "-f", conf_s]),
            spawn("slurmd", &["-D", "-f", conf_s]),
        ];
        let slurm = Slurm { dir, conf, daemons };
        let t0 = Instant::now();
        loop {
            let out = slurm.cmd("sinfo", &["-h", "-o", "%T"]);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && (state.starts_with("idle") || state.starts_with("mix")) {
                break;
            }
            if t0.elapsed() > Duration::from_secs(60) {
                panic!(
                    "Slurm did not come up (node state {state:?}); logs in {}",
                    slurm.dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(slurm)
    }

    fn cmd(&self, tool: &str, args: &[&str]) -> Output {
        Command::new(tool)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap()
    }

    /// Submit a script from `cwd`: the job id.
    fn sbatch(&self, script: &Path, cwd: &Path) -> String {
        let out = Command::new("sbatch")
            .args(["--parsable", script.to_str().unwrap()])
            .current_dir(cwd)
            .env("SLURM_CONF", &self.conf)
            .env("EMERGENCE_ALLOW_SOFTWARE", "1")
            .output()
            .unwrap();
        ok(&out).trim().split(';').next().unwrap().to_string()
    }

    /// Wait until no task of `job` is queued or running.
    fn wait(&self, job: &str, limit: Duration) {
        let t0 = Instant::now();
        loop {
            let out = self.cmd("squeue", &["-h", "-j", job, "-o", "%i %T"]);
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && text.is_empty() {
                return;
            }
            assert!(
                t0.elapsed() < limit,
                "job {job} still queued after {limit:?}: {text}; logs in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = self.cmd("scancel", &["--full", "-u", "root"]);
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

#[test]
fn a_slurm_array_runs_the_sweep_and_merge_finds_every_run_exactly_once() {
    let Some(slurm) = Slurm::start("slurm-array") else {
        return;
    };
    let dir = scratch("sweep-slurm-array");
    write_small_sweep(&dir, 5000);
    let script = ok(&emergence(
        &[
            "sweep",
            "slurm",
            "small.toml",
            "--out",
            "sw",
            "--shards",
            "4",
            "--gres",
            "none",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    std::fs::write(dir.join("job.sh"), script).unwrap();
    let job = slurm.sbatch(&dir.join("job.sh"), &dir);
    slurm.wait(&job, Duration::from_secs(180));
    ok(&emergence(
        &["sweep", "merge", "sw", "--out", "tables"],
        &dir,
    ));
    let counts = done_counts(&dir.join("sw"));
    let plan = plan_runs(&dir.join("sw/runs.jsonl"));
    assert_eq!(plan.len(), 12);
    for r in &plan {
        assert_eq!(
            counts.get(r["run_id"].as_str().unwrap()),
            Some(&1),
            "{}",
            r["run_id"]
        );
    }
    // Four tasks, each its own ledger and log.
    let shards: BTreeSet<i64> = ledger_lines(&dir.join("sw"))
        .iter()
        .map(|l| l["shard"].as_i64().unwrap())
        .collect();
    assert_eq!(shards, BTreeSet::from([0, 1, 2, 3]));
    assert_eq!(std::fs::read_dir(dir.join("sw/logs")).unwrap().count(), 4);
    let wide = read(&dir.join("tables/runs.parquet"));
    let z = floats(&wide, "graph.mean_degree");
    let seeds = floats(&wide, "seed");
    for (k, r) in plan.iter().enumerate() {
        assert_eq!(z[k], r["params"]["graph.mean_degree"].as_f64());
        assert_eq!(seeds[k], r["seed"].as_f64());
    }
}

#[test]
fn a_cancelled_slurm_task_resubmitted_runs_only_the_missing_runs() {
    let Some(slurm) = Slurm::start("slurm-cancel") else {
        return;
    };
    let dir = scratch("sweep-slurm-cancel");
    // 12 runs of about a second and a half each, 3 per task.
    write_lifecycle_sweep(&dir, 12, 5000);
    let script = ok(&emergence(
        &[
            "sweep",
            "slurm",
            "lifecycle.toml",
            "--out",
            "sw",
            "--shards",
            "4",
            "--gres",
            "none",
            "--backend",
            "cpu",
        ],
        &dir,
    ));
    std::fs::write(dir.join("job.sh"), script).unwrap();
    let job = slurm.sbatch(&dir.join("job.sh"), &dir);
    // Cancel task 0 once its ledger shows one run done (two still to go).
    let ledger0 = dir.join("sw/ledger/shard-0.jsonl");
    let t0 = Instant::now();
    while std::fs::read_to_string(&ledger0).map_or(0, |t| t.lines().count()) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "task 0 finished a run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = slurm.cmd("scancel", &[&format!("{job}_0")]);
    assert!(out.status.success(), "{}", stderr(&out));
    slurm.wait(&job, Duration::from_secs(240));
    let first = done_counts(&dir.join("sw"));
    let plan = plan_runs(&dir.join("sw/runs.jsonl"));
    let shard0: Vec<String> = plan
        .iter()
        .filter(|r| r["index"].as_u64().unwrap() % 4 == 0)
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = shard0
        .iter()
        .filter(|id| !first.contains_key(*id))
        .collect();
    assert!(
        !missing.is_empty(),
        "the cancel left task 0's runs unfinished: {first:?}"
    );
    assert_eq!(first.len(), 12 - missing.len(), "the other tasks finished");
    let status = ok(&emergence(&["sweep", "status", "sw"], &dir));
    assert!(
        status.contains(&format!("{} pending", missing.len())),
        "{status}"
    );
    // Resubmitted: every task starts, only task 0 has runs left, and they run once.
    let again = slurm.sbatch(&dir.join("job.sh"), &dir);
    slurm.wait(&again, Duration::from_secs(240));
    let second = done_counts(&dir.join("sw"));
    assert_eq!(second.len(), 12);
    for (id, n) in &second {
        assert_eq!(*n, 1, "run {id} ran to the end once");
    }
    let log0 = std::fs::read_to_string(dir.join("sw/logs").join(format!("{again}_0.log"))).unwrap();
    assert!(
        log0.contains(&format!(
            "3 runs, {} done already, {} to run",
            3 - missing.len(),
            missing.len()
        )),
        "{log0}"
    );
    // The run the cancel stopped checkpointed on SIGTERM and goes on from there.
    assert!(log0.contains("resuming from its checkpoint"), "{log0}");
    for k in 1..4 {
        let log =
            std::fs::read_to_string(dir.join("sw/logs").join(format!("{again}_{k}.log"))).unwrap();
        assert!(log.contains("3 runs, 3 done already, 0 to run"), "{log}");
    }
    ok(&emergence(
        &["sweep", "merge", "sw", "--out", "tables"],
        &dir,
    ));
}

#[test]
fn a_concurrent_run_refused_for_memory_is_retried_alone_after_the_others() {
    let dir = scratch("sweep-oom");
    let base = configs().join("threshold.toml");
    std::fs::write(
        dir.join("sizes.toml"),
        format!(
            "base = \"{}\"\nseeds = [1, 2]\n[grid]\nagents = [3000000, 20000]\n",
            base.display()
        ),
    )
    .unwrap();
    ok(&emergence(
        &["sweep", "plan", "sizes.toml", "-o", "plan.jsonl"],
        &dir,
    ));
    let out = emergence_with(
        &[
            "sweep",
            "run",
            "plan.jsonl",
            "--out",
            "sw",
            "--backend",
            "cpu",
            "--concurrent",
            "2",
        ],
        &dir,
        &[("EMERGENCE_MEMORY_LIMIT", "50000000")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 done now, 2 failed"));
    assert!(stderr(&out).contains("retrying it alone"));
    let lines = ledger_lines(&dir.join("sw"));
    let plan = plan_runs(&dir.join("plan.jsonl"));
    let big: Vec<&str> = plan
        .iter()
        .filter(|r| r["agents"] == 3000000)
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    let last_done = lines.iter().rposition(|l| l["status"] == "done").unwrap();
    for id in big {
        let tries: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i]["run_id"] == id)
            .collect();
        assert_eq!(tries.len(), 2, "run {id}: beside the others, then alone");
        assert_eq!(lines[tries[0]]["reason"], "oom");
        assert_eq!(lines[tries[1]]["status"], "failed");
        assert!(
            tries[1] > last_done,
            "the retry comes once the others are done"
        );
    }
}
