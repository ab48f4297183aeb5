//! The real binary, driven as a user or a batch script would: run directories, the
//! determinism of metrics, `info`, and the refusal of bad input (exit 2, one line,
//! nothing written).

use crate::common::{emergence, scratch};
use std::path::Path;
use std::process::Output;

fn config_path() -> String {
    format!("{}/configs/threshold.toml", env!("CARGO_MANIFEST_DIR"))
}

/// Lines the program itself printed on stderr (the software Vulkan driver prints its
/// own complaints about XDG_RUNTIME_DIR when it loads).
fn own_stderr(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn run_writes_the_run_directory() {
    let dir = scratch("rundir");
    let out = emergence(
        &[
            "run",
            &config_path(),
            "--agents",
            "20000",
            "--seed",
            "3",
            "--backend",
            "cpu",
            "--out",
            "runs/a",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.join("runs/a");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    for key in [
        "model",
        "agents",
        "ticks_run",
        "seed",
        "backend",
        "adapter",
        "wall_s",
        "ticks_per_s",
        "final",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["model"], "threshold");
    assert_eq!(summary["agents"], 20000);
    assert_eq!(summary["seed"], 3);
    assert_eq!(summary["backend"], "cpu");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    assert_eq!(lines.next(), Some("tick,active_fraction,newly_active,s1"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len() as u64,
        summary["ticks_run"].as_u64().unwrap() + 1,
        "one row per sweep plus the seeds"
    );
    assert_eq!(
        summary["final"]["active_fraction"].as_f64().unwrap(),
        rows.last()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse::<f64>()
            .unwrap()
    );
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        resolved.contains("agents = 20000") && resolved.contains("theta = 0.18"),
        "{resolved}"
    );
    // No staging directories are left beside the run.
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn same_seed_gives_identical_metrics_on_each_backend() {
    let dir = scratch("determinism");
    let mut backends = vec!["cpu"];
    if crate::common::gpu().is_some() {
        backends.push("gpu");
    }
    let mut first_of_each = Vec::new();
    for backend in backends {
        let mut csv = Vec::new();
        for k in 0..2 {
            let out_dir = format!("{backend}{k}");
            let out = emergence(
                &[
                    "run",
                    &config_path(),
                    "--agents",
                    "50000",
                    "--seed",
                    "9",
                    "--backend",
                    backend,
                    "--out",
                    &out_dir,
                ],
                &dir,
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            csv.push(std::fs::read(dir.join(&out_dir).join("metrics.csv")).unwrap());
        }
        assert_eq!(csv[0], csv[1], "{backend}: same seed, different metrics");
        first_of_each.push(csv.swap_remove(0));
    }
    // The threshold model is integer-exact, so the backends agree too.
    if let [cpu, gpu] = &first_of_each[..] {
        assert_eq!(cpu, gpu, "the backends differ on an integer model");
    } else {
        eprintln!("SKIPPED: the cross-backend half of this test (no GPU adapter)");
    }
    // A different seed gives a different run.
    let out = emergence(
        &[
            "run",
            &config_path(),
            "--agents",
            "50000",
            "--seed",
            "10",
            "--backend",
            "cpu",
            "--out",
            "other",
        ],
        &dir,
    );
    assert!(out.status.success());
    assert_ne!(
        std::fs::read(dir.join("other/metrics.csv")).unwrap(),
        first_of_each[0]
    );
}

#[test]
fn info_lists_backends_as_json() {
    let dir = scratch("info");
    let out = emergence(&["info", "--json"], &dir);
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(info["cpu_threads"].as_u64().unwrap() >= 1);
    // Every registered model with its declared buffers, summed.
    let models = info["models"].as_array().unwrap();
    for name in [
        "threshold",
        "lifecycle",
        "sir",
        "deffuant",
        "voter",
        "kuramoto",
    ] {
        let m = models
            .iter()
            .find(|m| m["model"] == name)
            .unwrap_or_else(|| panic!("info lists no {name}"));
        let buffers = m["buffers_at_1e6"].as_array().unwrap();
        let sum: u64 = buffers.iter().map(|b| b["bytes"].as_u64().unwrap()).sum();
        assert_eq!(m["bytes_at_1e6"].as_u64().unwrap(), sum, "{name}");
        assert!(sum >= 8_000_000, "{name}: {sum} bytes for 10^6 agents");
    }
    let adapters = info["adapters"].as_array().unwrap();
    if crate::common::gpu().is_some() {
        assert!(!adapters.is_empty());
        let largest = &adapters[0]["largest_agents"];
        let cap = adapters[0]["max_storage_binding_bytes"]
            .as_u64()
            .unwrap()
            .min(adapters[0]["max_buffer_bytes"].as_u64().unwrap());
        // The threshold model's widest per-agent array holds one word per agent; the
        // lifecycle's tie slots K = 24 words per agent, split into as many chunks as
        // ties_commit can bind (5 + 3 per chunk storage buffers, at most 8 chunks): the
        // largest N follows from the cap and the storage buffers per stage.
        assert_eq!(largest["threshold"].as_u64().unwrap(), cap / 4 - 1);
        let per_stage = adapters[0]["max_storage_buffers_per_stage"]
            .as_u64()
            .unwrap();
        let chunks = ((per_stage - 5) / 3).min(8);
        let lifecycle = (chunks * (cap / 4 / 24))
            .min(cap / 4)
            .min(u32::MAX as u64 / 24);
        assert_eq!(largest["lifecycle"].as_u64().unwrap(), lifecycle);
    }
}

/// Bad input: exit code 2, exactly one line on stderr naming the culprit, and nothing
/// written.
fn refused(dir: &Path, args: &[&str], must_mention: &[&str]) {
    let out = emergence(args, dir);
    let lines = own_stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {lines:?}");
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {lines:?}");
    for m in must_mention {
        assert!(
            lines[0].contains(m),
            "{args:?}: `{}` does not mention `{m}`",
            lines[0]
        );
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_is_refused_cleanly() {
    let dir = scratch("bad-input");
    std::fs::write(
        dir.join("unknown.toml"),
        "agents = 1000\n[model]\nkind = \"threshold\"\nthetta = 0.2\n",
    )
    .unwrap();
    refused(
        &dir,
        &["run", "unknown.toml", "--out", "r"],
        &["unknown.toml:4", "thetta", "theta"],
    );
    std::fs::write(
        dir.join("typed.toml"),
        "agents = 1000\n[model]\nkind = \"sir\"\ninitial_infected = \"many\"\n",
    )
    .unwrap();
    refused(
        &dir,
        &["run", "typed.toml", "--out", "r"],
        &[
            "typed.toml:4",
            "model.initial_infected = \"many\"",
            "non-negative integer",
        ],
    );
    std::fs::write(dir.join("negative.toml"), "agents = -5\n").unwrap();
    refused(
        &dir,
        &["run", "negative.toml", "--out", "r"],
        &["negative.toml", "agents = -5", "1 ≤ agents"],
    );
    refused(
        &dir,
        &["run", &config_path(), "--agents", "-5", "--out", "r"],
        &["--agents -5:", "agents = -5"],
    );
    refused(
        &dir,
        &[
            "run",
            &config_path(),
            "--set",
            "model.theta=1.5",
            "--out",
            "r",
        ],
        &["model.theta = 1.5", "0 ≤ model.theta ≤ 1"],
    );
    refused(
        &dir,
        &[
            "run",
            &config_path(),
            "--set",
            "model.bogus=1",
            "--out",
            "r",
        ],
        &["--set model.bogus=1", "bogus"],
    );
    refused(
        &dir,
        &["run", "missing.toml", "--out", "r"],
        &["missing.toml", "cannot read"],
    );
    std::fs::write(dir.join("edges.txt"), "# a comment\n0 1\n1 2\n2 3 x\n").unwrap();
    std::fs::write(
        dir.join("file.toml"),
        "[graph]\nkind = \"file\"\npath = \"edges.txt\"\n",
    )
    .unwrap();
    refused(
        &dir,
        &["run", "file.toml", "--backend", "cpu", "--out", "r"],
        &["edges.txt:4"],
    );
    std::fs::write(
        dir.join("nofile.toml"),
        "[graph]\nkind = \"file\"\npath = \"absent.txt\"\n",
    )
    .unwrap();
    refused(
        &dir,
        &["run", "nofile.toml", "--backend", "cpu", "--out", "r"],
        &["absent.txt"],
    );
    assert!(!dir.join("r").exists(), "a refused run must write nothing");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An existing directory is never overwritten without --force, and with --force only
    // if it is a run directory of ours.
    std::fs::create_dir_all(dir.join("done")).unwrap();
    std::fs::write(dir.join("done/keep.txt"), "precious").unwrap();
    refused(
        &dir,
        &["run", &config_path(), "--agents", "1000", "--out", "done"],
        &["done", "--force"],
    );
    refused(
        &dir,
        &[
            "run",
            &config_path(),
            "--agents",
            "1000",
            "--out",
            "done",
            "--force",
        ],
        &["done", "not a run directory", "nothing was removed"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("done/keep.txt")).unwrap(),
        "precious"
    );
    let run = |force: bool| {
        let mut args = vec![
            "run",
            config_path_static(),
            "--agents",
            "1000",
            "--backend",
            "cpu",
            "--out",
            "ours",
        ];
        if force {
            args.push("--force");
        }
        emergence(&args, &dir)
    };
    assert!(run(false).status.success());
    std::fs::write(dir.join("ours/note.txt"), "ours").unwrap();
    assert_eq!(run(false).status.code(), Some(2), "exists, no --force");
    assert!(run(true).status.success());
    assert!(dir.join("ours/summary.json").exists() && !dir.join("ours/note.txt").exists());
}

fn config_path_static() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(config_path)
}

#[test]
fn a_file_graph_runs() {
    let dir = scratch("file-graph");
    // A 1-based CSV edge list with comments: a triangle and a tail.
    std::fs::write(dir.join("g.csv"), "% triangle\n1,2\n2,3\n3,1\n3,4 # tail\n").unwrap();
    std::fs::write(
        dir.join("g.toml"),
        "[graph]\nkind = \"file\"\npath = \"g.csv\"\n[model]\ntheta = 0.3\nseed_fraction = 1.0\n",
    )
    .unwrap();
    let out = emergence(&["run", "g.toml", "--backend", "cpu", "--out", "r"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["agents"], 4);
    assert_eq!(summary["graph"]["ties"], 4);
    assert_eq!(summary["final"]["active_fraction"].as_f64().unwrap(), 1.0);
}

/// `bench` benchmarks the model it is given (and says which), and `scaling` sweeps any
/// model over any of its parameters, through the real binary.
#[test]
fn bench_and_scaling_take_any_model() {
    let dir = scratch("bench-scaling-sir");
    let sir = format!("{}/configs/sir.toml", env!("CARGO_MANIFEST_DIR"));
    let out = emergence(
        &[
            "bench",
            &sir,
            "--agents",
            "20000",
            "--backend",
            "cpu",
            "--repeats",
            "1",
            "--json",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"], "sir");
    let cpu = &report["backends"][0];
    assert_eq!(cpu["backend"], "cpu");
    assert!(cpu["final"]["recovered"].is_number(), "{cpu}");
    assert!(cpu["ticks"].as_u64().unwrap() >= 1);
    let out = emergence(
        &[
            "scaling",
            &sir,
            "--param",
            "model.beta",
            "--range",
            "0.1:0.5:3",
            "--agents",
            "2000,4000",
            "--seeds",
            "2",
            "--backend",
            "cpu",
            "--out",
            "scaling",
            "--json",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"], "sir");
    assert_eq!(report["param"], "model.beta");
    assert_eq!(report["order"], "recovered");
    assert_eq!(report["points"].as_array().unwrap().len(), 6);
    assert!(dir.join("scaling/scaling.csv").is_file());
    // A column the model does not have is refused before any run, naming its columns.
    refused(
        &dir,
        &[
            "scaling",
            &sir,
            "--param",
            "model.beta",
            "--range",
            "0.1:0.5:3",
            "--agents",
            "2000",
            "--order",
            "alignment",
            "--out",
            "other",
        ],
        &["--order alignment", "recovered"],
    );
    assert!(!dir.join("other").exists());
}
