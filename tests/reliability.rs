//! Nothing lost, nothing silent, driven through the real binary: SIGTERM checkpoints and
//! stops with exit 3, `--resume` reaches the same end as an uninterrupted run; `kill -9`
//! leaves a readable partial run that resumes; `--out` problems and bad resumes are
//! refused before any work with exit 2; a run record with a graph file re-runs from any
//! folder.

use crate::common::{emergence, scratch};
use emergence::io::checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A lifecycle run of a few seconds on the CPU, with a checkpoint every 100 ticks (and
/// so one of the final state).
const RUN: [&str; 10] = [
    "run",
    "--agents",
    "3000",
    "--ticks",
    "2000",
    "--backend",
    "cpu",
    "--checkpoint-every",
    "100",
    "-q",
];

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

fn with_out(out: &str) -> Vec<&str> {
    let mut args = RUN.to_vec();
    args.extend(["--out", out]);
    args
}

/// Wait until `metrics.csv` of `run` holds at least `rows` rows (the run is under way).
fn wait_for_rows(run: &Path, rows: usize, child: &mut Child) {
    let t0 = Instant::now();
    loop {
        let have = std::fs::read_to_string(run.join("metrics.csv"))
            .map(|s| s.lines().count().saturating_sub(1))
            .unwrap_or(0);
        if have >= rows {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it had {rows} rows"
        );
        assert!(t0.elapsed() < Duration::from_secs(120), "no rows appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap()
}

fn newest_checkpoint(run: &Path) -> checkpoint::Checkpoint {
    let all = checkpoint::list(run);
    assert!(all.len() <= checkpoint::KEEP, "more than two kept: {all:?}");
    checkpoint::read(all.last().expect("a checkpoint")).unwrap()
}

fn resume(run: &str, cwd: &Path) {
    let out = emergence(&["run", "--resume", run, "-q"], cwd);
    assert!(
        out.status.success(),
        "resume {run}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigterm_checkpoints_and_stops_and_kill_9_keeps_the_rows_and_both_resume_to_the_same_end() {
    let dir = scratch("signals");
    let straight = emergence(&with_out("straight"), &dir);
    assert!(straight.status.success());
    let end = newest_checkpoint(&dir.join("straight"));
    assert_eq!(end.identity.tick, 2000);
    let expected = std::fs::read(dir.join("straight/metrics.csv")).unwrap();

    // SIGTERM: the interval in flight finishes, a checkpoint is written, exit 3.
    let term = dir.join("term");
    let mut child = spawn(&with_out("term"), &dir);
    wait_for_rows(&term, 5, &mut child);
    assert_eq!(manifest(&term)["status"], "running");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let m = manifest(&term);
    assert_eq!(m["status"], "interrupted");
    let at = newest_checkpoint(&term);
    assert!(
        at.identity.tick > 0 && at.identity.tick < 2000,
        "{}",
        at.identity.tick
    );
    assert_eq!(m["tick"], at.identity.tick);
    assert_eq!(
        at.table.rows.last().unwrap()[0] as u64 / 10,
        at.identity.tick / 10,
        "the checkpoint holds the rows up to its tick"
    );
    // A plain run onto it is refused, naming --resume.
    let again = emergence(&with_out("term"), &dir);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume term"));
    resume("term", &dir);
    assert_eq!(std::fs::read(term.join("metrics.csv")).unwrap(), expected);
    // The communities tracked across the stop are those of the uninterrupted run.
    for f in ["communities.parquet", "community_events.parquet"] {
        assert_eq!(
            std::fs::read(term.join(f)).unwrap(),
            std::fs::read(dir.join("straight").join(f)).unwrap(),
            "{f}"
        );
    }
    let resumed_end = newest_checkpoint(&term);
    assert!(resumed_end.state == end.state, "the final state");
    assert!(resumed_end.table == end.table, "the final rows");
    let m = manifest(&term);
    assert_eq!(
        (m["status"].as_str(), m["resumed"].as_u64()),
        (Some("complete"), Some(1))
    );

    // kill -9: no chance to write anything, yet every row so far is readable, and the
    // run resumes from its last checkpoint.
    let nine = dir.join("nine");
    let mut child = spawn(&with_out("nine"), &dir);
    wait_for_rows(&nine, 35, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::read_to_string(nine.join("metrics.csv")).unwrap();
    let mut lines = partial.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "tick");
    let mut rows = 0;
    for line in lines {
        // An empty field is an undefined value (a ratio over no ties).
        let values: Vec<f64> = line
            .split(',')
            .map(|v| {
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.parse().unwrap()
                }
            })
            .collect();
        assert_eq!(values.len(), header.len(), "a whole row: {line}");
        rows += 1;
    }
    assert!(rows >= 35, "{rows} rows");
    assert!(
        expected.starts_with(partial.as_bytes()),
        "the rows are those of the run"
    );
    assert_eq!(
        manifest(&nine)["status"],
        "running",
        "it had no chance to say more"
    );
    resume("nine", &dir);
    assert_eq!(std::fs::read(nine.join("metrics.csv")).unwrap(), expected);
    // Nothing hidden is left anywhere.
    for run in ["straight", "term", "nine"] {
        let hidden: Vec<PathBuf> = walk(&dir.join(run))
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "{hidden:?}");
    }
    let beside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut beside = beside;
    beside.sort();
    assert_eq!(beside, ["nine", "straight", "term"]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        // Links are listed, not followed.
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            found.extend(walk(&p));
        }
        found.push(p);
    }
    found
}

/// Exit 2, one `error:` line that contains every `says`.
fn refused_with(dir: &Path, args: &[&str], says: &[&str]) {
    let out = emergence(args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
    for s in says {
        assert!(
            errors[0].contains(s),
            "{args:?}: `{}` lacks `{s}`",
            errors[0]
        );
    }
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut all = walk(dir);
    all.sort();
    all
}

#[test]
fn out_problems_are_refused_before_any_work() {
    let dir = scratch("out-problems");
    std::fs::write(dir.join("a-file"), "mine").unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
    std::fs::create_dir(dir.join("a-dir")).unwrap();
    std::os::unix::fs::symlink(dir.join("a-dir"), dir.join("link-to-dir")).unwrap();
    let long = "n".repeat(300);
    let under_file = "a-file/run".to_string();
    let before = listing(&dir);
    let quick = |out: &str| -> Vec<String> {
        [
            "run",
            "--agents",
            "500",
            "--ticks",
            "5",
            "--backend",
            "cpu",
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for (out, says) in [
        ("a-file", "is a file"),
        ("dangling", "dangling"),
        ("link-to-dir", "symbolic link"),
        (long.as_str(), "at most 255"),
        (under_file.as_str(), "is not a directory"),
        ("/proc/emergence-run", "cannot create a directory"),
        ("a-dir", "already exists"),
    ] {
        let args = quick(out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_with(&dir, &args, &["--out", says]);
    }
    // --force on a folder that is not ours removes nothing.
    std::fs::write(dir.join("a-dir/thesis.tex"), "precious").unwrap();
    let before = {
        let mut b = before;
        b.push(dir.join("a-dir/thesis.tex"));
        b.sort();
        b
    };
    let mut args = quick("a-dir");
    args.push("--force".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused_with(&dir, &args, &["--out a-dir", "not a run directory"]);
    assert_eq!(listing(&dir), before, "nothing written or removed");
    assert_eq!(
        std::fs::read_to_string(dir.join("a-dir/thesis.tex")).unwrap(),
        "precious"
    );
}

#[test]
fn bad_resumes_are_refused() {
    let dir = scratch("bad-resume");
    let base = [
        "run",
        "--agents",
        "800",
        "--ticks",
        "60",
        "--backend",
        "cpu",
        "-q",
    ];
    let run = |out: &str, extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(["--out", out]);
        args.extend(extra);
        emergence(&args, &dir)
    };
    assert!(run("done", &["--checkpoint-every", "20"]).status.success());
    refused_with(
        &dir,
        &["run", "--resume", "done"],
        &["--resume done", "complete"],
    );
    refused_with(
        &dir,
        &["run", "--resume", "nothing-here"],
        &["--resume nothing-here", "not a run directory"],
    );
    // An interrupted run, made by hand from a complete one: its status says so.
    let edit = |run: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let p = dir.join(run).join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        f(&mut m);
        std::fs::write(&p, serde_json::to_string(&m).unwrap()).unwrap();
    };
    edit("done", &|m| m["status"] = "interrupted".into());
    refused_with(
        &dir,
        &["run", "--resume", "done", "--backend", "gpu"],
        &["--backend gpu", "backend cpu"],
    );
    refused_with(
        &dir,
        &["run", "--resume", "done", "--set", "seed=2"],
        &["--resume done", "--set"],
    );
    refused_with(
        &dir,
        &["run", "--resume", "done", "--checkpoint-every", "5"],
        &["--resume done", "--checkpoint-every"],
    );
    let config = dir.join("done/config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, original.replace("seed = 1", "seed = 2")).unwrap();
    refused_with(&dir, &["run", "--resume", "done"], &["config.toml changed"]);
    std::fs::write(&config, &original).unwrap();
    // A corrupt newest checkpoint is named, with the older one to fall back on.
    let all = checkpoint::list(&dir.join("done"));
    let mut bytes = std::fs::read(&all[1]).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 1;
    std::fs::write(&all[1], bytes).unwrap();
    refused_with(
        &dir,
        &["run", "--resume", "done"],
        &[
            "corrupt",
            "tick-000000000060.ckpt",
            "tick-000000000040.ckpt",
        ],
    );
    std::fs::remove_file(&all[1]).unwrap();
    // A run that says it is running on another host (its node failed under a requeued
    // job) is taken over only with --force.
    edit("done", &|m| {
        m["status"] = "running".into();
        m["host"] = "a-node-that-failed".into();
    });
    refused_with(
        &dir,
        &["run", "--resume", "done"],
        &["still running", "a-node-that-failed", "--force"],
    );
    let out = emergence(&["run", "--resume", "done", "--force", "-q"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(manifest(&dir.join("done"))["status"], "complete");
    // A run without checkpoints has nothing to resume from.
    assert!(run("plain", &[]).status.success());
    edit("plain", &|m| m["status"] = "interrupted".into());
    refused_with(&dir, &["run", "--resume", "plain"], &["no checkpoint"]);
}

#[test]
fn a_run_record_with_a_graph_file_reruns_from_another_folder() {
    let dir = scratch("graph-record");
    std::fs::create_dir_all(dir.join("project/data")).unwrap();
    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    let mut edges = String::from("# a ring with chords\n");
    for i in 0..300 {
        edges.push_str(&format!("{i} {}\n{i} {}\n", (i + 1) % 300, (i + 7) % 300));
    }
    std::fs::write(dir.join("project/data/ring.txt"), &edges).unwrap();
    std::fs::write(
        dir.join("project/scenario.toml"),
        "agents = 300\nticks = 30\nseed = 4\n[graph]\nkind = \"file\"\npath = \"data/ring.txt\"\nslots = 24\n[model]\nkind = \"voter\"\n",
    )
    .unwrap();
    let first = emergence(
        &[
            "run",
            "scenario.toml",
            "--backend",
            "cpu",
            "--out",
            "../first",
            "-q",
        ],
        &dir.join("project"),
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let m = manifest(&dir.join("first"));
    let recorded = PathBuf::from(m["graph_file"]["path"].as_str().unwrap());
    assert!(recorded.is_absolute(), "{recorded:?}");
    assert_eq!(
        m["graph_file"]["sha256"].as_str().unwrap(),
        emergence::io::rundir::sha256_hex(edges.as_bytes())
    );
    let config = std::fs::read_to_string(dir.join("first/config.toml")).unwrap();
    assert!(config.contains(&recorded.display().to_string()), "{config}");
    let again = emergence(
        &[
            "run",
            "../first/config.toml",
            "--backend",
            "cpu",
            "--out",
            "second",
            "-q",
        ],
        &dir.join("elsewhere"),
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::read(dir.join("first/metrics.csv")).unwrap(),
        std::fs::read(dir.join("elsewhere/second/metrics.csv")).unwrap()
    );
}

#[test]
fn a_gpu_fault_is_reported_with_its_pass() {
    // A device whose storage bindings hold 1 MiB, and a fit check told they hold 1 GiB:
    // the run's tie arrays (20,000 agents × 24 slots × 4 bytes) are bound anyway, and
    // the device refuses them.
    if crate::common::gpu().is_none() {
        return;
    }
    let mut ctx = emergence::gpu::GpuContext::with_limits(None, |l| {
        l.max_storage_buffer_binding_size = 1 << 20;
    })
    .unwrap();
    ctx.binding_cap = 1 << 30;
    let backend = emergence::backend::Backend::Gpu(ctx);
    let path = format!("{}/configs/lifecycle.toml", env!("CARGO_MANIFEST_DIR"));
    let loaded = emergence::config::load(
        Some(path.as_ref()),
        &["agents=20000".into(), "ticks=20".into()],
    )
    .unwrap();
    let (edges, graph, csr) = emergence::graph::build_graph(&loaded).unwrap();
    let model = emergence::model::find("lifecycle").unwrap();
    let start = emergence::model::Start {
        loaded: &loaded,
        graph: &graph,
        edges,
        csr,
        render: None,
    };
    let progress = emergence::progress::Progress::hidden();
    let err = match emergence::model::simulate(model, start, &backend, &progress, Vec::new()) {
        Ok(_) => panic!("an oversized binding was accepted"),
        Err(e) => e,
    };
    let m = err.to_string();
    assert!(matches!(err, emergence::error::Error::Gpu(_)), "{m}");
    assert!(m.contains("validation error"), "{m}");
    assert!(m.contains("during the "), "names the pass: {m}");
    assert_eq!(m.lines().count(), 1, "{m}");
}

#[test]
fn runs_in_a_quick_loop_without_out_each_get_their_own_directory() {
    let dir = scratch("default-names");
    for _ in 0..3 {
        let out = emergence(
            &[
                "run",
                "--agents",
                "200",
                "--ticks",
                "3",
                "--backend",
                "cpu",
                "-q",
            ],
            &dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().collect();
    assert_eq!(runs.len(), 3, "three runs, three directories");
}

#[test]
fn scaling_replaces_only_its_own_output_directory() {
    let dir = scratch("scaling-force");
    std::fs::create_dir(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), "precious").unwrap();
    let config = format!("{}/configs/threshold.toml", env!("CARGO_MANIFEST_DIR"));
    let scaling = |out: &str| {
        emergence(
            &[
                "scaling",
                &config,
                "--param",
                "model.seed_fraction",
                "--range",
                "0.01:0.02:2",
                "--agents",
                "500",
                "--seeds",
                "2",
                "--backend",
                "cpu",
                "--out",
                out,
                "--force",
                "-q",
            ],
            &dir,
        )
    };
    let out = scaling("mine");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a run directory"));
    assert_eq!(
        std::fs::read_to_string(dir.join("mine/notes.txt")).unwrap(),
        "precious"
    );
    assert!(scaling("ours").status.success());
    assert_eq!(manifest(&dir.join("ours"))["kind"], "scaling");
    assert!(
        scaling("ours").status.success(),
        "--force replaces its own output"
    );
}

#[test]
fn info_sizes_a_checkpoint_from_above_and_not_far_off() {
    let dir = scratch("checkpoint-size");
    let out = emergence(
        &[
            "run",
            "--agents",
            "4000",
            "--ticks",
            "40",
            "--backend",
            "cpu",
            "--checkpoint-every",
            "20",
            "--out",
            "r",
            "-q",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::metadata(checkpoint::list(&dir.join("r")).last().unwrap())
        .unwrap()
        .len();
    let info = emergence(&["info", "r/config.toml", "--json"], &dir);
    assert!(info.status.success());
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let estimate = info["models"][0]["checkpoint_bytes"].as_u64().unwrap();
    assert!(
        estimate >= written && (estimate as f64) < 1.5 * written as f64,
        "estimate {estimate} for a checkpoint of {written} bytes"
    );
}

#[test]
fn a_movie_in_progress_goes_on_after_a_resume_frame_for_frame() {
    let dir = scratch("movie-resume");
    let mut backends = vec!["cpu"];
    if crate::common::gpu().is_some() {
        backends.push("gpu");
    }
    for backend in backends {
        let args = |out: &str, movie: &str| -> Vec<String> {
            [
                "run",
                "--agents",
                "2500",
                "--ticks",
                "1500",
                "--backend",
                backend,
                "-q",
                "--frames",
                "--frame-every",
                "100",
                "--size",
                "160x96",
                "--movie",
                movie,
                "--out",
                out,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        };
        let straight = args(&format!("{backend}-a"), &format!("{backend}-a.gif"));
        let straight: Vec<&str> = straight.iter().map(String::as_str).collect();
        let out = emergence(&straight, &dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = format!("{backend}-b");
        let interrupted = args(&name, &format!("{backend}-b.gif"));
        let interrupted: Vec<&str> = interrupted.iter().map(String::as_str).collect();
        let run = dir.join(&name);
        let mut child = spawn(&interrupted, &dir);
        wait_for_rows(&run, 20, &mut child);
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let code = child.wait().unwrap().code();
        assert_eq!(code, Some(3), "{backend}");
        let frames_then = std::fs::read_dir(run.join("frames")).unwrap().count();
        assert!(frames_then < 16, "{backend}: stopped before the last frame");
        resume(&name, &dir);
        let a = dir.join(format!("{backend}-a"));
        let mut names: Vec<_> = std::fs::read_dir(a.join("frames"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names.len(), 16, "{backend}: frames at 0, 100, ..., 1500");
        for n in &names {
            assert!(
                std::fs::read(a.join("frames").join(n)).unwrap()
                    == std::fs::read(run.join("frames").join(n)).unwrap(),
                "{backend}: frame {n:?} differs after the resume"
            );
        }
        assert!(
            std::fs::read(dir.join(format!("{backend}-a.gif"))).unwrap()
                == std::fs::read(dir.join(format!("{backend}-b.gif"))).unwrap(),
            "{backend}: the GIF differs after the resume"
        );
    }
}
