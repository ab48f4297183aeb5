//! `run --profile`: every pass of the lifecycle timed on both backends (device timestamps
//! on the GPU, wall clock on the CPU), `profile.json` consistent with itself and with the
//! run's ticks and rows, GB/s from the bytes the kernels' bindings move, and a run that
//! is byte for byte the run without the profile.

use crate::common::{emergence, gpu, scratch};
use serde_json::Value;

fn profiled(backend: &str, model: &str, dir: &std::path::Path, profile: bool) -> Vec<u8> {
    let config = format!("{}/configs/{model}.toml", env!("CARGO_MANIFEST_DIR"));
    let out = dir.join(if profile { "with" } else { "without" });
    let mut args = vec![
        "run",
        &config,
        "--agents",
        "3000",
        "--set",
        "ticks=120",
        "--backend",
        backend,
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    if profile {
        args.push("--profile");
    }
    let run = emergence(&args, dir);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(out.join("profile.json").exists(), profile);
    std::fs::read(out.join("metrics.csv")).unwrap()
}

fn check_lifecycle_profile(dir: &std::path::Path, clock: &str) {
    let p: Value =
        serde_json::from_slice(&std::fs::read(dir.join("with/profile.json")).unwrap()).unwrap();
    assert_eq!(p["model"], "lifecycle");
    assert!(
        p["clock"].as_str().unwrap().contains(clock),
        "{}",
        p["clock"]
    );
    assert_eq!(p["ticks"], 120);
    assert_eq!(p["rows"], 12);
    let passes = p["passes"].as_array().unwrap();
    let names: Vec<&str> = passes.iter().map(|x| x["pass"].as_str().unwrap()).collect();
    // The null sample is host work on the rows at multiples of 50 ticks (the row at tick 0
    // is not timed): 50 and 100.
    assert_eq!(
        names,
        [
            "psi",
            "agents",
            "weights",
            "search",
            "metrics row",
            "null sample"
        ]
    );
    let mut share = 0.0;
    let total: f64 = passes.iter().map(|x| x["seconds"].as_f64().unwrap()).sum();
    for x in passes {
        let calls = x["calls"].as_u64().unwrap();
        let expected = match x["pass"].as_str().unwrap() {
            "metrics row" => 12,
            "null sample" => 2,
            _ => 120,
        };
        assert_eq!(calls, expected);
        let seconds = x["seconds"].as_f64().unwrap();
        assert!(seconds > 0.0 && seconds < p["driver_s"].as_f64().unwrap() * 1.01);
        share += x["share"].as_f64().unwrap();
        if x["pass"] == "null sample" {
            // Host work: no device bytes to count.
            assert!(x["bytes_per_call"].is_null(), "{x}");
            continue;
        }
        let bytes = x["bytes_per_call"].as_u64().unwrap();
        let gbs = x["gb_per_s"].as_f64().unwrap();
        assert!((gbs - bytes as f64 * calls as f64 / seconds / 1e9).abs() <= 1e-9 * gbs.max(1.0));
        assert!((x["share"].as_f64().unwrap() - seconds / total).abs() < 1e-12);
    }
    assert!((share - 1.0).abs() < 1e-9);
    // The weights pass reads the slot arrays (neighbour, weight, age: 12 B a slot, 24 slots
    // a agent) and φ and degree, and writes the slots and the degree back: at least 2 × 12
    // × 24 B per agent a tick.
    let weights = passes.iter().find(|x| x["pass"] == "weights").unwrap();
    assert!(weights["bytes_per_call"].as_u64().unwrap() >= 2 * 12 * 24 * 3000);
}

#[test]
fn a_profiled_cpu_run_times_every_pass_and_changes_nothing() {
    let dir = scratch("profile-cpu");
    let with = profiled("cpu", "lifecycle", &dir, true);
    let without = profiled("cpu", "lifecycle", &dir, false);
    assert_eq!(with, without, "the profile changed the run");
    check_lifecycle_profile(&dir, "CPU wall clock");
}

#[test]
fn a_profiled_gpu_run_times_every_pass_group_on_the_device_and_changes_nothing() {
    if gpu().is_none() {
        return;
    }
    let dir = scratch("profile-gpu");
    let with = profiled("gpu", "lifecycle", &dir, true);
    let without = profiled("gpu", "lifecycle", &dir, false);
    assert_eq!(with, without, "the profile changed the run");
    check_lifecycle_profile(&dir, "device timestamps");
}

/// A model that does not time its passes gets the driver's intervals as one line.
#[test]
fn a_model_without_pass_timing_is_profiled_as_a_whole() {
    let dir = scratch("profile-sir");
    profiled("cpu", "sir", &dir, true);
    let p: Value =
        serde_json::from_slice(&std::fs::read(dir.join("with/profile.json")).unwrap()).unwrap();
    assert_eq!(p["clock"], "the driver's wall clock");
    let passes = p["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 1);
    assert_eq!(passes[0]["pass"], "ticks and rows");
    assert_eq!(passes[0]["calls"], p["ticks"]);
    assert!(passes[0]["bytes_per_call"].is_null());
}
