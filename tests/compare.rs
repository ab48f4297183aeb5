//! `emergence compare` (docs/strategies.md): the Kaplan–Meier median and the Wilson
//! interval against hand computations; a comparison run here equals the same sweep run
//! by `sweep run` and merged, then `compare --from`; the outcome table says what the
//! runs did (budgets spent, adoption net of the agents seeded, a zero paired difference
//! for the reference); bad comparisons are refused in one line with exit code 2.

use crate::common::{emergence, scratch};
use emergence::compare::{km_median, wilson};
use std::path::Path;

#[test]
fn the_kaplan_meier_median_and_its_interval_follow_a_hand_computation() {
    // Five runs: stage reached at 10, 20 and 40; censored at 30 and 50.
    // S(10) = 4/5, S(20) = 0.6, S(40) = 0.3: the median is 40. Greenwood: the lower
    // limit at 10 is 0.8 − 1.96·0.8·√0.05 = 0.449 ≤ 1/2; the upper limit at 40 is
    // 0.3 + 1.96·0.3·√(0.05 + 1/12 + 1/2) = 0.768 > 1/2, so it has no upper end.
    let times = [
        (10.0, true),
        (20.0, true),
        (30.0, false),
        (40.0, true),
        (50.0, false),
    ];
    assert_eq!(km_median(&times), (Some(40.0), Some(10.0), None));
    // No censoring: the first time S ≤ 1/2, the second of four.
    let all = [(4.0, true), (1.0, true), (3.0, true), (2.0, true)];
    assert_eq!(km_median(&all).0, Some(2.0));
    // Fewer than half reach it: no median.
    let few = [(5.0, true), (9.0, false), (9.0, false)];
    assert_eq!(km_median(&few).0, None);
}

#[test]
fn the_wilson_interval_matches_its_tabulated_values() {
    let (p, lo, hi) = wilson(0, 10);
    assert_eq!((p, lo), (0.0, 0.0));
    assert!((hi - 0.277_53).abs() < 1e-4, "{hi}");
    let (p, lo, hi) = wilson(10, 10);
    assert_eq!(p, 1.0);
    assert!((hi - 1.0).abs() < 1e-12, "{hi}");
    assert!((lo - 0.722_47).abs() < 1e-4, "{lo}");
    let (_, lo, hi) = wilson(5, 10);
    assert!(
        (lo - 0.236_59).abs() < 1e-4 && (hi - 0.763_41).abs() < 1e-4,
        "{lo} {hi}"
    );
}

const BASE: &str = "agents = 2000\nticks = 400\nseed = 5\n[graph]\nkind = \"er\"\nmean_degree = 6\n[model]\nkind = \"lifecycle\"\n";

fn write_scenarios(dir: &Path) {
    std::fs::write(dir.join("plain.toml"), BASE).unwrap();
    std::fs::write(
        dir.join("mass.toml"),
        format!("{BASE}[[intervention]]\naction = \"seed_adopters\"\nat = 100\ncount = 10\n"),
    )
    .unwrap();
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_comparison_here_equals_its_sweep_run_elsewhere_and_says_what_the_runs_did() {
    let dir = scratch("compare");
    write_scenarios(&dir);
    let args = [
        "compare",
        "plain.toml",
        "mass.toml",
        "--seeds",
        "3",
        "--budgets",
        "20,100",
        "--backend",
        "cpu",
        "-q",
    ];
    let mut here = args.to_vec();
    here.extend(["--out", "here", "--json"]);
    let stdout = ok(&emergence(&here, &dir));
    let c: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = c["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plain", "mass@20", "mass@100"]);
    for r in rows {
        assert_eq!(r["runs"], 3, "{}", r["scenario"]);
        let budget = r["budget"].as_f64().unwrap_or(0.0);
        // seed_adopters spends its whole budget while agents are yet to adopt.
        assert_eq!(
            r["outcomes"]["budget_agents"]["mean"].as_f64().unwrap(),
            budget
        );
        assert_eq!(r["stages"].as_array().unwrap().len(), 3);
    }
    // The reference against itself: a zero difference, seed by seed.
    assert_eq!(rows[0]["paired"]["adoption_net"]["mean"], 0.0);
    assert_eq!(rows[0]["paired"]["adoption_net"]["ci95"], 0.0);
    // A paired difference's mean is the difference of the means when every seed ran.
    let net = |k: usize| {
        rows[k]["outcomes"]["adoption_net"]["mean"]
            .as_f64()
            .unwrap()
    };
    let diff = rows[2]["paired"]["adoption_net"]["mean"].as_f64().unwrap();
    assert!(
        (diff - (net(2) - net(0))).abs() < 1e-12,
        "a paired mean is the mean difference"
    );
    let csv = std::fs::read_to_string(dir.join("here/comparison.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.starts_with("scenario,strategy,budget,runs,stage_1_share"),
        "{csv}"
    );
    // Every row has a field per column, and the columns hold what the JSON says.
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{csv}");
    let col = |name: &str| lines[0].iter().position(|c| *c == name).unwrap();
    for (k, r) in rows.iter().enumerate() {
        let cell = |name: &str| lines[k + 1][col(name)].parse::<f64>().unwrap();
        // (serde_json's default float parsing may miss the last bit.)
        let same = |name: &str, v: &serde_json::Value| {
            let (a, b) = (cell(name), v.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{name}: {a} in the CSV, {b} in the JSON"
            );
        };
        same(
            "budget_agents_mean",
            &r["outcomes"]["budget_agents"]["mean"],
        );
        same(
            "adoption_net_paired_diff",
            &r["paired"]["adoption_net"]["mean"],
        );
        same("adoption_half_share", &r["adoption_half"]["share"]);
    }
    let html = std::fs::read_to_string(dir.join("here/report.html")).unwrap();
    assert!(
        html.matches("<img").count() >= 5,
        "the figures: outcomes against the budget, adoption over time"
    );
    // The same sweep written, run by `sweep run`, merged and compared from its folder.
    let mut only = args.to_vec();
    only.extend(["--out", "there", "--sweep-only"]);
    let said = ok(&emergence(&only, &dir));
    assert!(said.contains("sweep slurm"), "{said}");
    assert!(!dir.join("there/tables").exists(), "nothing run");
    ok(&emergence(
        &[
            "sweep",
            "run",
            "there/plan.jsonl",
            "--out",
            "there/sweep",
            "--backend",
            "cpu",
            "-q",
        ],
        &dir,
    ));
    ok(&emergence(
        &[
            "sweep",
            "merge",
            "there/sweep",
            "--out",
            "there/tables",
            "-q",
        ],
        &dir,
    ));
    ok(&emergence(&["compare", "--from", "there", "-q"], &dir));
    assert_eq!(
        std::fs::read(dir.join("there/comparison.csv")).unwrap(),
        csv.as_bytes(),
        "the sweep run elsewhere gives the same comparison"
    );
    // Slurm takes the comparison's sweep file as any other.
    let script = ok(&emergence(
        &[
            "sweep",
            "slurm",
            "there/compare.toml",
            "--out",
            "there/sweep",
            "--shards",
            "2",
            "--gres",
            "none",
        ],
        &dir,
    ));
    assert!(script.contains("#SBATCH --array=0-1"), "{script}");
}

#[test]
fn bad_comparisons_are_refused_in_one_line() {
    let dir = scratch("compare-bad");
    write_scenarios(&dir);
    std::fs::write(
        dir.join("bigger.toml"),
        BASE.replace("agents = 2000", "agents = 3000"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("full")).unwrap();
    std::fs::write(dir.join("full/keep.txt"), "mine").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["compare", "plain.toml", "--out", "o1"],
            "at least two scenario files",
        ),
        (
            &["compare", "plain.toml", "bigger.toml", "--out", "o2"],
            "a comparison runs the same population",
        ),
        (
            &["compare", "plain.toml", "mass.toml", "--out", "full"],
            "exists and is not empty",
        ),
        (
            &[
                "compare",
                "plain.toml",
                "mass.toml",
                "--out",
                "o3",
                "--budgets=-5",
            ],
            "is not a budget",
        ),
        (
            &[
                "compare",
                "plain.toml",
                "mass.toml",
                "--out",
                "o4",
                "--budgets",
                "5000",
            ],
            "intervention.0.count = 5000 is out of range",
        ),
    ];
    for (args, expected) in cases {
        let o = emergence(args, &dir);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected `{expected}` in {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("full/keep.txt")).unwrap(),
        "mine"
    );
    for o in ["o1", "o2", "o3", "o4"] {
        assert!(!dir.join(o).exists(), "{o}: nothing written");
    }
    // A sweep file with a base and scenarios is refused too.
    std::fs::write(
        dir.join("both.toml"),
        "base = \"plain.toml\"\nscenarios = [\"plain.toml\", \"mass.toml\"]\n",
    )
    .unwrap();
    let o = emergence(&["sweep", "plan", "both.toml", "-o", "p.jsonl"], &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not both"));
}
