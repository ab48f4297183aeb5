//! Reference outputs: every scenario in `configs/` at a reduced size on each backend, and
//! the measured values of `validate --quick --json`, recorded in `tests/reference/` by the
//! code as it was before a redesign. A change of structure must leave them identical bit
//! for bit on the same backend; columns and keys are matched by name, so a column that
//! moved or was renamed to its contract name (see [`RENAMED`]) still compares.
//!
//! `EMERGENCE_BLESS=1 cargo test --release reference` rewrites the files; do that only for
//! a change that is meant to alter numbers, and say so in the commit.

use crate::common::{emergence, gpu, scratch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Old column name → the name the contract (DESIGN §10) gives it.
pub const RENAMED: [(&str, &str); 2] = [("r", "order"), ("largest_group", "largest_community")];

/// (config, agents, ticks): every scenario at a size CI affords on lavapipe.
const CASES: [(&str, u32, u32); 6] = [
    ("lifecycle", 2000, 300),
    ("threshold", 20000, 1000),
    ("sir", 20000, 10000),
    ("deffuant", 2000, 300),
    ("voter", 400, 3000),
    ("kuramoto", 1000, 400),
];

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn bless() -> bool {
    std::env::var("EMERGENCE_BLESS").is_ok_and(|v| v == "1")
}

fn canonical(name: &str) -> &str {
    RENAMED
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new)
}

/// A CSV as column name → the column's cells (as text, so equality is bit for bit).
fn columns(csv: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(|c| canonical(c).to_string())
        .collect();
    let mut cols: BTreeMap<String, Vec<String>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for line in lines {
        for (h, cell) in header.iter().zip(line.split(',')) {
            cols.get_mut(h).unwrap().push(cell.to_string());
        }
    }
    cols
}

fn run_case(dir: &Path, config: &str, agents: u32, ticks: u32, backend: &str) -> String {
    let path = format!("{}/configs/{config}.toml", env!("CARGO_MANIFEST_DIR"));
    let out_dir = format!("{config}-{backend}");
    let out = emergence(
        &[
            "run",
            &path,
            "--agents",
            &agents.to_string(),
            "--ticks",
            &ticks.to_string(),
            "--backend",
            backend,
            "--out",
            &out_dir,
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "{config} on {backend}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join(&out_dir).join("metrics.csv")).unwrap()
}

fn compare_or_bless(name: &str, now: &str) {
    let path = reference_dir().join(name);
    if bless() {
        std::fs::create_dir_all(reference_dir()).unwrap();
        std::fs::write(&path, now).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let then = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (EMERGENCE_BLESS=1 writes it)", path.display()));
    let (then, now) = (columns(&then), columns(now));
    assert_eq!(
        then.keys().collect::<Vec<_>>(),
        now.keys().collect::<Vec<_>>(),
        "{name}: the columns differ"
    );
    for (col, cells) in &then {
        let cur = &now[col];
        assert_eq!(
            cells.len(),
            cur.len(),
            "{name}: column {col} has another length"
        );
        if let Some(row) = (0..cells.len()).find(|&r| cells[r] != cur[r]) {
            panic!(
                "{name}: column {col} differs from row {row} on: reference {} now {}",
                cells[row], cur[row]
            );
        }
    }
}

fn scenarios_match(backend: &str) {
    let dir = scratch(&format!("reference-{backend}"));
    for (config, agents, ticks) in CASES {
        let csv = run_case(&dir, config, agents, ticks, backend);
        compare_or_bless(&format!("{config}-{backend}.csv"), &csv);
    }
}

#[test]
fn every_scenario_matches_its_reference_on_the_cpu() {
    scenarios_match("cpu");
}

#[test]
fn every_scenario_matches_its_reference_on_the_gpu() {
    if gpu().is_none() {
        return;
    }
    scenarios_match("gpu");
}

/// The measured values of `validate --quick --json` against the reference, case by case
/// (keyed by model and case name). Called by the validate tests, which run the suite.
pub fn validate_matches_reference(backend: &str, cases: &[serde_json::Value]) {
    let name = format!("validate-quick-{backend}.json");
    let measured: BTreeMap<String, serde_json::Value> = cases
        .iter()
        .map(|c| {
            (
                format!(
                    "{} / {}",
                    c["model"].as_str().unwrap(),
                    c["case"].as_str().unwrap()
                ),
                c["measured"].clone(),
            )
        })
        .collect();
    let path = reference_dir().join(&name);
    if bless() {
        std::fs::create_dir_all(reference_dir()).unwrap();
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&measured).unwrap() + "\n",
        )
        .unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (EMERGENCE_BLESS=1 writes it)", path.display()));
    let then: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        then.keys().collect::<Vec<_>>(),
        measured.keys().collect::<Vec<_>>(),
        "{name}: the cases differ"
    );
    for (case, value) in &then {
        assert_eq!(
            value, &measured[case],
            "{name}: {case} measured another value"
        );
    }
}
