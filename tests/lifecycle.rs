//! The lifecycle model on the CPU backend: the tie store's invariants under the passes,
//! the stages in order for several seeds, the controls that switch a mechanism off,
//! determinism, and the metrics' building blocks (label propagation, modularity, wedge
//! sampling) against known answers.

use crate::common::scratch;
use emergence::analysis::{clustering, communities};
use emergence::backend::Backend;
use emergence::config;
use emergence::graph::{generators, Csr, EdgeList, TieStore};
use emergence::io::MetricsTable;
use emergence::model::lifecycle::{self, Lifecycle, LifecycleParams, Milestones, NONE};
use std::sync::OnceLock;

fn default_config() -> String {
    format!("{}/configs/lifecycle.toml", env!("CARGO_MANIFEST_DIR"))
}

/// The default scenario's parameters with `sets` applied (through the config loader).
fn params_with(sets: &[&str]) -> LifecycleParams {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let loaded = config::load(Some(default_config().as_ref()), &sets).unwrap();
    LifecycleParams::from_config(&loaded.scenario)
}

fn run(n: u32, seed: u32, params: &LifecycleParams, ticks: u32) -> (MetricsTable, Lifecycle) {
    let mut life = Lifecycle::new(n, seed, params, TieStore::empty(n, params.slots));
    let table = lifecycle::run(&Backend::Cpu, &mut life, params, ticks, 10).unwrap();
    (table, life)
}

fn column(table: &MetricsTable, name: &str) -> Vec<f64> {
    let k = table.columns.iter().position(|c| c == name).unwrap();
    table.rows.iter().map(|r| r[k]).collect()
}

fn last(table: &MetricsTable, name: &str) -> f64 {
    *column(table, name).last().unwrap()
}

/// Ties at tick 0 plus those created minus those removed must be the ties held.
fn check_counts(life: &Lifecycle, initial: u64) {
    assert_eq!(
        initial + life.created_total - life.removed_total,
        life.ties.num_ties() as u64,
        "tick {}: created/removed counters disagree with the ties held",
        life.tick
    );
}

#[test]
fn tie_store_invariants_hold_under_the_passes() {
    let n = 2000;
    // Defaults from isolated agents, and a crowded store: an ER start above K = 6 (the
    // excess dropped), a search rate that keeps the slots full and ties churning.
    let crowded = params_with(&["graph.slots=6", "model.search_rate=2.0"]);
    for (params, ticks, er) in [(params_with(&[]), 600, false), (crowded, 400, true)] {
        let ties = if er {
            let edges = generators::erdos_renyi(n, 8.0, 5).unwrap();
            let store = emergence::graph::tie_slots(&edges, params.slots, params.new_tie);
            assert!(store.num_ties() < edges.edges.len(), "K = 6 must drop ties");
            assert!(store.degree.contains(&params.slots));
            store
        } else {
            TieStore::empty(n, params.slots)
        };
        let initial = ties.num_ties() as u64;
        let mut life = Lifecycle::new(n, 7, &params, ties);
        life.ties.check_invariants().unwrap();
        let mut full_seen = false;
        for _ in 0..ticks {
            let t = life.tick + 1;
            // The passes by hand, checking the handshake between them.
            let mut by_step = life.clone();
            by_step.step(&params);
            let (psi, n_a) = life.psi();
            life.agents(&params, psi, n_a, t);
            let removed = life.tie_weights(&params);
            life.ties.check_invariants().unwrap();
            let before = life.ties.degree.clone();
            let (target, claim) = life.propose(&params, t);
            let partner = life.confirm(&target, &claim, t);
            for (i, &p) in partner.iter().enumerate() {
                if p != NONE {
                    assert_eq!(partner[p as usize], i as u32, "partners name each other");
                    assert!(!life.ties.neighbors(i as u32).contains(&p));
                }
            }
            let created = life.commit(&params, &partner);
            for i in 0..n as usize {
                let gained = (partner[i] != NONE) as u32;
                assert_eq!(life.ties.degree[i], before[i] + gained, "one tie per tick");
            }
            life.removed_total += removed as u64;
            life.created_total += created as u64;
            life.removed += removed as u64;
            life.created += created as u64;
            life.tick = t;
            assert_eq!(life, by_step, "step() runs the passes in order");
            full_seen |= life.ties.degree.contains(&params.slots);
            if t.is_multiple_of(50) {
                life.ties.check_invariants().unwrap();
                check_counts(&life, initial);
                let row = life.metrics(&params, 50);
                assert_eq!(
                    (life.created, life.removed),
                    (0, 0),
                    "metrics reset the counters"
                );
                assert_eq!(row[0], t as f64);
            }
        }
        life.ties.check_invariants().unwrap();
        check_counts(&life, initial);
        assert!(life.created_total > 0 && life.removed_total > 0);
        if er {
            assert!(full_seen, "the crowded run must fill some agent's K slots");
        }
    }
}

const SEEDS: [u32; 3] = [1, 2, 3];
const N: u32 = 20_000;
const TICKS: u32 = 2000;

/// The default model at N = 20,000 for each seed (shared by the tests that need it).
fn cascade_runs() -> &'static Vec<MetricsTable> {
    static RUNS: OnceLock<Vec<MetricsTable>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let params = params_with(&[]);
        SEEDS
            .iter()
            .map(|&seed| run(N, seed, &params, TICKS).0)
            .collect()
    })
}

#[test]
fn stages_come_in_order_for_every_seed() {
    for (seed, table) in SEEDS.iter().zip(cascade_runs()) {
        let m = Milestones::of(table);
        assert!(
            m.in_order(),
            "seed {seed}: S1 ≥ 0.1 at {:?}, C ≥ 0.2 at {:?}, adoption ≥ 0.5 at {:?}",
            m.s1_tenth,
            m.clustering_fifth,
            m.adoption_half
        );
        // The jump is sudden: 10% to 90% in a few hundred ticks.
        let (a, b) = (m.adoption_tenth.unwrap(), m.adoption_nine_tenths.unwrap());
        assert!(
            b - a <= 400,
            "seed {seed}: adoption 0.1 → 0.9 took {} ticks",
            b - a
        );
        let (rho, r) = (last(table, "adoption"), last(table, "alignment"));
        assert!(rho >= 0.9, "seed {seed}: final adoption {rho}");
        assert!(r >= 0.5, "seed {seed}: final alignment {r}");
        // Churn falls while the communities of practice form.
        let churn = column(table, "churn");
        let ticks = column(table, "tick");
        let at = |t: u64| churn[ticks.iter().position(|&x| x as u64 == t).unwrap()];
        assert!(
            at(m.clustering_fifth.unwrap()) < at(m.s1_tenth.unwrap()),
            "seed {seed}: churn did not fall between S1 ≥ 0.1 and C ≥ 0.2"
        );
    }
}

#[test]
fn without_search_nothing_connects() {
    let params = params_with(&["model.search_rate=0"]);
    let (table, life) = run(N, 1, &params, 300);
    assert_eq!(life.ties.num_ties(), 0);
    assert!(column(&table, "mean_degree").iter().all(|&d| d == 0.0));
    assert!(column(&table, "adoption").iter().all(|&a| a == 0.0));
    assert!(column(&table, "s1").iter().all(|&s| s == 1.0 / N as f64));
    // Independent phases: r ≈ 0.886/√N; 5/√N is far out in the tail.
    let r = last(&table, "alignment");
    assert!(r < 5.0 / (N as f64).sqrt(), "alignment {r} without ties");
}

#[test]
fn without_the_cascade_alignment_does_not_lock() {
    // Nobody can master the practice (k* out of reach) and the threshold needs every tie
    // adopted: no adoption at all, so no field pulls the purposes together. (k* out of
    // reach also lifts the cap on the coupling boost, which the config would refuse as
    // unstable; hence the second control below.)
    let mut params = params_with(&[]);
    params.theta = 1.0;
    params.mastery = 1e9;
    let (table, _) = run(N, SEEDS[0], &params, TICKS);
    assert!(column(&table, "adoption").iter().all(|&a| a == 0.0));
    let r_off = last(&table, "alignment");
    let r_on = last(&cascade_runs()[0], "alignment");
    assert!(
        r_off < 0.5 * r_on,
        "alignment without the cascade {r_off}, with it {r_on}"
    );
    // Adoption without its field (h = 0), coupling cap untouched: the cascade still
    // sweeps through, but nothing pulls the adopters' purposes together.
    let (table, _) = run(N, SEEDS[0], &params_with(&["model.field=0"]), TICKS);
    assert!(last(&table, "adoption") >= 0.9);
    let r_no_field = last(&table, "alignment");
    assert!(
        r_no_field < 0.5 * r_on,
        "alignment without the field {r_no_field}, with it {r_on}"
    );
}

#[test]
fn adoption_by_cascade_counts_the_threshold_rule_only() {
    // The default run: almost everyone adopts through the cascade, never more than adopt,
    // and the count only grows.
    let table = &cascade_runs()[0];
    let (rho, cascade) = (
        column(table, "adoption"),
        column(table, "adoption_by_cascade"),
    );
    assert!(
        cascade.windows(2).all(|w| w[0] <= w[1]),
        "the count must only grow"
    );
    assert!(rho.iter().zip(&cascade).all(|(a, c)| c <= a));
    assert!(
        *cascade.last().unwrap() > 0.9 * rho.last().unwrap(),
        "cascade {} of adoption {}",
        cascade.last().unwrap(),
        rho.last().unwrap()
    );
    // A threshold above 1 cannot be met: whoever adopts does so by mastery, and the
    // cascade's count stays 0.
    let mut params = params_with(&[]);
    params.theta = 1.01;
    let (table, life) = run(4000, SEEDS[0], &params, TICKS);
    assert!(
        last(&table, "adoption") > 0.05,
        "mastery must bring some adopters"
    );
    assert!(column(&table, "adoption_by_cascade")
        .iter()
        .all(|&c| c == 0.0));
    assert_eq!(life.cascade_total, 0);
}

#[test]
fn convergence_columns_say_what_they_measure() {
    // The CPU's components always run to completion; label propagation's unsettled share
    // is a share, sampled on the null rows only (every null_every rows from tick 0).
    let table = &cascade_runs()[0];
    assert!(column(table, "components_converged")
        .iter()
        .all(|&c| c == 1.0));
    let sampled = column(table, "null_sampled");
    let unsettled = column(table, "lpa_unsettled");
    let every = params_with(&[]).null_every as usize;
    for (row, (&s, &u)) in sampled.iter().zip(&unsettled).enumerate() {
        if row % every == 0 && row + 1 < sampled.len() {
            assert_eq!(s, 1.0, "row {row} must carry a null sample");
        }
        if s == 1.0 {
            assert!((0.0..=1.0).contains(&u), "row {row}: lpa_unsettled {u}");
        } else {
            assert!(u.is_nan(), "row {row}: lpa_unsettled {u} without a sample");
        }
    }
    // Once ties are many and settled, few labels would still move: the last sample's
    // share is below the first's among rows that have ties.
    let with_ties: Vec<f64> = sampled
        .iter()
        .zip(&unsettled)
        .zip(column(table, "mean_degree"))
        .filter(|((&s, _), d)| s == 1.0 && *d > 1.0)
        .map(|((_, &u), _)| u)
        .collect();
    assert!(
        with_ties.last().unwrap() < with_ties.first().unwrap(),
        "{with_ties:?}"
    );
}

#[test]
fn same_seed_gives_identical_runs() {
    let params = params_with(&[]);
    let (a, life_a) = run(5000, 11, &params, 1200);
    let (b, life_b) = run(5000, 11, &params, 1200);
    assert_eq!(a, b, "same seed, different metrics");
    assert_eq!(life_a, life_b, "same seed, different state");
    assert!(last(&a, "adoption") > 0.0, "the run must reach the cascade");
    let (c, _) = run(5000, 12, &params, 1200);
    assert_ne!(a, c, "a different seed must give a different run");
}

/// The CPU backend splits each pass into fixed blocks whatever the pool, and resolves the
/// search's claims by priority, not by which thread got there first: one, two or three
/// threads give the same run, bit for bit, from a crowded start where claims collide.
#[test]
fn the_thread_count_does_not_change_a_run() {
    let runs: Vec<_> = [1, 2, 3]
        .into_iter()
        .map(|threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let crowded = params_with(&["graph.slots=6", "model.search_rate=2.0"]);
                let edges = generators::erdos_renyi(3000, 8.0, 5).unwrap();
                let (ties, _) = TieStore::from_edges(&edges, crowded.slots, crowded.new_tie);
                let mut life = Lifecycle::new(3000, 5, &crowded, ties);
                let crowded_table =
                    lifecycle::run(&Backend::Cpu, &mut life, &crowded, 400, 10).unwrap();
                let (table, default_life) = run(3000, 5, &params_with(&[]), 1200);
                [
                    ("crowded start", crowded_table, life),
                    ("default", table, default_life),
                ]
            })
        })
        .collect();
    let [crowded, default] = &runs[0];
    assert!(
        last(&default.1, "adoption") > 0.0,
        "the default run must reach the cascade"
    );
    assert!(
        crowded.2.created_total > 1000 && crowded.2.removed_total > 1000,
        "the crowded start must churn ties: {} created, {} removed",
        crowded.2.created_total,
        crowded.2.removed_total
    );
    for (k, other) in runs.iter().enumerate().skip(1) {
        let threads = k + 1;
        for ((start, table, life), (_, other_table, other_life)) in runs[0].iter().zip(other) {
            assert_eq!(
                table, other_table,
                "{start}: 1 and {threads} threads differ"
            );
            assert_eq!(
                life, other_life,
                "{start}: state differs at {threads} threads"
            );
        }
    }
}

#[test]
fn label_propagation_recovers_planted_blocks() {
    let (n, blocks) = (80_000, 8);
    for seed in [4, 5] {
        let (edges, truth) = generators::stochastic_block(n, blocks, 16.0, 12.0, seed).unwrap();
        let csr = Csr::from_edges(&edges);
        let mut labels: Vec<u32> = (0..n).collect();
        communities::label_propagation(&csr, &mut labels, seed, 0, 30);
        let score = communities::nmi(&labels, &truth);
        assert!(
            score >= 0.9,
            "seed {seed}: NMI {score} against the planted blocks"
        );
        // The planted partition's modularity: 12/16 of the ties inside, minus 1/8 expected.
        let planted: Vec<u32> = truth.iter().map(|&b| b * (n / blocks)).collect();
        let q = communities::modularity(&csr, &planted);
        assert!(
            (q - (0.75 - 0.125)).abs() < 0.01,
            "seed {seed}: planted Q {q}"
        );
    }
}

#[test]
fn modularity_of_two_triangles() {
    // Two triangles joined by one tie: M = 7, each side has L = 3 and D = 7, so
    // Q = 2·(3/7 − (7/14)²) = 5/14.
    let edges = EdgeList {
        n: 6,
        edges: vec![(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)],
        weights: None,
    };
    let labels = [0, 0, 0, 3, 3, 3];
    let csr = Csr::from_edges(&edges);
    let (store, dropped) = TieStore::from_edges(&edges, 4, 0.2);
    assert_eq!(dropped, 0);
    for q in [
        communities::modularity(&csr, &labels),
        communities::modularity(&store, &labels),
    ] {
        assert!((q - 5.0 / 14.0).abs() < 1e-12, "Q = {q}");
    }
    assert_eq!(communities::modularity(&csr, &[0; 6]), 0.0);
    assert_eq!(communities::count_communities(&store, &labels), 2);
    // Label propagation finds the two triangles.
    let mut found: Vec<u32> = (0..6).collect();
    communities::label_propagation(&store, &mut found, 1, 0, 10);
    assert!(communities::nmi(&found, &labels) > 0.999, "{found:?}");
}

#[test]
fn wedge_sampling_matches_exact_transitivity() {
    // A random geometric graph: high clustering (≈ 0.59) with varied degrees.
    let (edges, _) = generators::random_geometric(4000, 10.0, 8).unwrap();
    let csr = Csr::from_edges(&edges);
    let exact_counts = clustering::exact_wedges(&csr);
    let exact = clustering::exact_transitivity(&csr);
    let sd = clustering::Wedges::sd_bound(&exact_counts);
    assert!(
        exact > 0.5 && sd > 0.0 && sd < 0.01,
        "exact {exact}, sd {sd}"
    );
    for tick in [0, 1, 2] {
        let estimate = clustering::sample_wedges(&csr, 3, tick).transitivity();
        assert!(
            (estimate - exact).abs() < 4.0 * sd,
            "tick {tick}: estimate {estimate}, exact {exact}, sd {sd}"
        );
    }
    // Configuration-model null of a d-regular graph: (d − 1)² / (N·d).
    let null = clustering::configuration_null(&[4; 1000]);
    assert!((null - 9.0 / 4000.0).abs() < 1e-15, "{null}");
}

#[test]
fn config_refuses_unstable_and_ill_fitting_lifecycles() {
    let dir = scratch("lifecycle-config");
    let path = dir.join("l.toml");
    std::fs::write(&path, "agents = 100\n[model]\nkind = \"lifecycle\"\n").unwrap();
    let loaded = config::load(Some(&path), &[]).unwrap();
    assert_eq!(loaded.scenario.graph.kind, config::GraphKind::Empty);
    let p = LifecycleParams::from_config(&loaded.scenario);
    assert_eq!((p.mastery, p.dt, p.slots, p.lpa_rounds), (60.0, 0.1, 24, 4));
    let err = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        config::load(Some(&path), &sets).unwrap_err().to_string()
    };
    let unstable = err(&["model.mastery=200"]);
    assert!(
        unstable.contains("--set") && unstable.contains("unstable") && !unstable.contains('\n'),
        "{unstable}"
    );
    assert!(err(&["model.dt=0"]).contains("1e-6 ≤ model.dt ≤ 1"));
    assert!(err(&["model.closure=1.5"]).contains("0 ≤ model.closure ≤ 1"));
    assert!(err(&["graph.kind=complete"]).contains("complete"));
    // The embedded default is the lifecycle scenario.
    let default = config::load(None, &[]).unwrap();
    assert_eq!(default.scenario.model.kind(), "lifecycle");
    assert_eq!(config::DEFAULT_SCENARIO_NAME, "lifecycle");
}

#[test]
fn the_binary_runs_the_lifecycle() {
    let dir = scratch("lifecycle-run");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args([
            "run",
            "--agents",
            "3000",
            "--ticks",
            "105",
            "--backend",
            "cpu",
        ])
        .args(["--out", "r"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("r/metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), lifecycle::COLUMNS.join(","));
    // Rows at 0, 10, ..., 100 and at the last tick.
    let ticks: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ticks.len(), 12);
    assert_eq!(ticks.last(), Some(&"105"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["model"], "lifecycle");
    assert_eq!(summary["ticks_run"], 105);
    assert!(summary["milestones"].is_object());
    let resolved = std::fs::read_to_string(dir.join("r/config.toml")).unwrap();
    assert!(resolved.contains("search_rate") && !resolved.contains("seed_fraction"));
}
