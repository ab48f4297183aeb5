//! Interventions (docs/interventions.md): each action does what it says, within its
//! budget, with ties symmetric and slots never overflowing, and the CPU and the GPU agree
//! exactly on integer state (the action kernels compared with their twins pass by pass); one that touches nothing leaves `metrics.csv` byte-identical;
//! a `stage >= 2` trigger fires once, at the row the online tracker confirms stage 2; a
//! run with interventions resumed from a checkpoint equals the one never stopped; bad
//! `[[intervention]]` tables are refused in one line with exit code 2.

use crate::common::{emergence, gpu, scenario, scratch, started, Kept};
use emergence::analysis::stages::{OnlineTracker, StageParams};
use emergence::backend::Backend;
use emergence::config;
use emergence::engine::{drive, Checkpoints, Drive, Intervener, State};
use emergence::graph::{build_graph, TieStore};
use emergence::intervention::{Applied, Schedule};
use emergence::io::MetricsTable;
use emergence::model::lifecycle::NEVER;
use std::collections::BTreeSet;
use std::path::Path;

const N: u32 = 3000;
/// The tick the actions are applied at: ties, knowledge and some adopters by then.
const AT: u64 = 150;

/// The lifecycle from an ER start (so there are ties and hubs from the first tick), with
/// `extra` lines appended (the `[[intervention]]` tables).
fn scenario_with(extra: &str, agents: u32, ticks: u64) -> config::Loaded {
    let text = format!(
        "agents = {agents}\nticks = {ticks}\nseed = 4\n[graph]\nkind = \"er\"\nmean_degree = 6\n[model]\nkind = \"lifecycle\"\n{extra}"
    );
    config::load_text(&text, "test.toml".into(), ".".into(), &[]).unwrap()
}

/// The state at tick `AT` on the CPU and the rows up to it.
fn state_at_tick(loaded: &config::Loaded) -> (State, MetricsTable) {
    let (edges, graph, csr) = build_graph(loaded).unwrap();
    let mut sim = started(loaded, &graph, &edges, &csr, &Backend::Cpu);
    let table = drive(sim.as_mut(), Drive::quiet(AT)).unwrap().table;
    (sim.state().unwrap(), table)
}

/// `state` loaded on `backend`, the scenario's interventions applied at tick `AT`, and
/// the state after them (downloaded) with what was applied.
fn applied_on(
    loaded: &config::Loaded,
    state: &State,
    table: &MetricsTable,
    backend: &Backend,
) -> (State, Vec<Applied>) {
    let (edges, graph, csr) = build_graph(loaded).unwrap();
    let mut sim = started(loaded, &graph, &edges, &csr, backend);
    sim.set_state(state).unwrap();
    let mut schedule = Schedule::of(loaded, N).unwrap();
    schedule.at(sim.as_mut(), AT, table).unwrap();
    (sim.state().unwrap(), schedule.applied())
}

fn ties(s: &State) -> TieStore {
    let degree = s.u32s("degree").unwrap().to_vec();
    let n = degree.len() as u32;
    let neighbor = s.u32s("neighbor").unwrap().to_vec();
    TieStore {
        n,
        slots: neighbor.len() as u32 / n,
        degree,
        neighbor,
        weight: s.f32s("weight").unwrap().to_vec(),
        age: s.u32s("age").unwrap().to_vec(),
    }
}

/// Every tie as (lower, upper) end.
fn pairs(t: &TieStore) -> BTreeSet<(u32, u32)> {
    (0..t.n)
        .flat_map(|i| t.neighbors(i).iter().map(move |&j| (i.min(j), i.max(j))))
        .collect()
}

/// The fields both backends must agree on exactly after an action (floats by their bits).
const COMPARED: [&str; 9] = [
    "adopted_at",
    "degree",
    "neighbor",
    "age",
    "labels",
    "weight",
    "phi",
    "knowledge",
    "omega",
];

fn circular(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::TAU);
    d.min(std::f32::consts::TAU - d)
}

#[test]
fn each_action_does_what_it_says_and_both_backends_apply_the_same_edit() {
    let ctx = gpu();
    let gpu_backend = ctx.map(Backend::Gpu);
    let cases: [(&str, &str); 9] = [
        (
            "seed_adopters random",
            "action = \"seed_adopters\"\ncount = 200",
        ),
        (
            "seed_adopters degree",
            "action = \"seed_adopters\"\ncount = 150\nselect = \"degree\"",
        ),
        (
            "seed_adopters knowledge",
            "action = \"seed_adopters\"\ncount = 150\nselect = \"knowledge\"",
        ),
        (
            "connect_pioneers",
            "action = \"connect_pioneers\"\ncount = 400\nweight = 0.3",
        ),
        (
            "broadcast",
            "action = \"broadcast\"\ncount = 1000\nstrength = 0.25\ndirection = 2.0",
        ),
        ("remove_hubs", "action = \"remove_hubs\"\ncount = 30"),
        ("cut_ties", "action = \"cut_ties\"\nshare = 0.3"),
        (
            "illuminate",
            "action = \"illuminate\"\ncount = 100\nshare = 0.4\nduration = 50",
        ),
        (
            "nourish",
            "action = \"nourish\"\ncount = 1500\nfactor = 2.5\nmin_size = 3\nduration = 50",
        ),
    ];
    let plain = scenario_with("", N, 400);
    let (before, table) = state_at_tick(&plain);
    let t0 = ties(&before);
    let pairs0 = pairs(&t0);
    let adopted0 = before.u32s("adopted_at").unwrap();
    assert!(
        adopted0.contains(&NEVER) && t0.num_ties() > 1500,
        "the starting state needs ties and agents yet to adopt"
    );
    for (name, table_text) in cases {
        let loaded = scenario_with(
            &format!("[[intervention]]\nat = {AT}\n{table_text}\n"),
            N,
            400,
        );
        let (after, applied) = applied_on(&loaded, &before, &table, &Backend::Cpu);
        assert_eq!(applied.len(), 1, "{name}: applied once");
        let touched = applied[0].touched;
        assert_eq!(applied[0].tick, AT, "{name}: at its tick");
        let t1 = ties(&after);
        t1.check_invariants()
            .unwrap_or_else(|e| panic!("{name}: tie store after the action: {e}"));
        let pairs1 = pairs(&t1);
        let adopted1 = after.u32s("adopted_at").unwrap();
        let knowledge = before.f32s("knowledge").unwrap();
        let degree0 = &t0.degree;
        match name {
            n if n.starts_with("seed_adopters") => {
                let seeded: Vec<usize> = (0..N as usize)
                    .filter(|&i| adopted0[i] != adopted1[i])
                    .collect();
                let count = if n.ends_with("random") { 200 } else { 150 };
                assert_eq!(seeded.len(), count, "{name}: agents seeded");
                assert_eq!(touched.agents, count as u64, "{name}: recorded");
                assert!(
                    seeded
                        .iter()
                        .all(|&i| adopted0[i] == NEVER && adopted1[i] == AT as u32),
                    "{name}: only agents not yet adopted, adopted at the tick"
                );
                let rest = (0..N as usize).filter(|&i| adopted1[i] == NEVER);
                if n.ends_with("degree") {
                    let lowest = seeded.iter().map(|&i| degree0[i]).min().unwrap();
                    assert!(
                        rest.clone().all(|i| degree0[i] <= lowest),
                        "{name}: the highest degrees"
                    );
                }
                if n.ends_with("knowledge") {
                    let lowest = seeded
                        .iter()
                        .map(|&i| knowledge[i])
                        .fold(f32::MAX, f32::min);
                    assert!(
                        rest.clone().all(|i| knowledge[i] <= lowest),
                        "{name}: the most knowledgeable"
                    );
                }
                assert!(pairs1 == pairs0, "{name}: ties untouched");
            }
            "connect_pioneers" => {
                assert!(pairs0.is_subset(&pairs1), "{name}: no tie removed");
                let new: Vec<&(u32, u32)> = pairs1.difference(&pairs0).collect();
                assert_eq!(new.len() as u64, touched.ties_added, "{name}: recorded");
                assert!(
                    touched.ties_added > 100 && touched.ties_added <= 400,
                    "{name}: within the budget of 400, and most of it spent: {}",
                    touched.ties_added
                );
                let labels = before.u32s("labels").unwrap();
                // Pioneers: the 800 most knowledgeable with a free slot.
                let mut pool: Vec<u32> = (0..N)
                    .filter(|&i| t0.degree[i as usize] < t0.slots)
                    .collect();
                pool.sort_by(|&a, &b| knowledge[b as usize].total_cmp(&knowledge[a as usize]));
                let pioneers: BTreeSet<u32> = pool.into_iter().take(800).collect();
                for &&(a, b) in &new {
                    assert_ne!(
                        labels[a as usize], labels[b as usize],
                        "{name}: communities differ"
                    );
                    assert!(
                        pioneers.contains(&a) && pioneers.contains(&b),
                        "{name}: pioneers"
                    );
                    let s = t1.neighbors(a).iter().position(|&j| j == b).unwrap();
                    assert_eq!(t1.weights(a)[s], 0.3, "{name}: the starting weight");
                }
            }
            "broadcast" => {
                let phi0 = before.f32s("phi").unwrap();
                let phi1 = after.f32s("phi").unwrap();
                let turned: Vec<usize> = (0..N as usize).filter(|&i| phi0[i] != phi1[i]).collect();
                assert!(
                    turned.len() <= 1000 && turned.len() >= 990,
                    "{name}: {} turned",
                    turned.len()
                );
                for &i in &turned {
                    let (d0, d1) = (circular(phi0[i], 2.0), circular(phi1[i], 2.0));
                    assert!(
                        (d1 - 0.75 * d0).abs() < 1e-4,
                        "{name}: agent {i} closes a quarter of its angle to the direction: {d0} -> {d1}"
                    );
                }
                assert!(
                    pairs1 == pairs0 && adopted0 == adopted1,
                    "{name}: nothing else"
                );
            }
            "remove_hubs" => {
                let mut order: Vec<u32> = (0..N).collect();
                order.sort_by_key(|&i| (std::cmp::Reverse(degree0[i as usize]), i));
                let hubs: BTreeSet<u32> = order[..30].iter().copied().collect();
                let expected: BTreeSet<(u32, u32)> = pairs0
                    .iter()
                    .copied()
                    .filter(|(a, b)| !hubs.contains(a) && !hubs.contains(b))
                    .collect();
                assert!(
                    pairs1 == expected,
                    "{name}: exactly the hubs' ties are gone"
                );
                assert_eq!(touched.ties_removed as usize, pairs0.len() - pairs1.len());
                assert!(hubs.iter().all(|&h| t1.degree[h as usize] == 0));
            }
            "cut_ties" => {
                assert!(pairs1.is_subset(&pairs0), "{name}: only cuts");
                let total = pairs0.len() as f64;
                let cut = (pairs0.len() - pairs1.len()) as f64;
                assert_eq!(cut as u64, touched.ties_removed, "{name}: recorded");
                // Binomial(ties, 0.3): within 4 sd.
                let sd = (total * 0.3 * 0.7).sqrt();
                assert!(
                    (cut - 0.3 * total).abs() < 4.0 * sd,
                    "{name}: {cut} of {total} cut, expected 0.3 ± 4·{sd:.1}"
                );
            }
            "illuminate" => {
                let mut order: Vec<u32> = (0..N).collect();
                order.sort_by(|&a, &b| {
                    knowledge[b as usize]
                        .total_cmp(&knowledge[a as usize])
                        .then(a.cmp(&b))
                });
                assert_eq!(
                    after.u32s("pioneers").unwrap(),
                    &order[..100],
                    "{name}: pioneers"
                );
                assert_eq!(
                    after.u32s("illuminate_cut").unwrap(),
                    [emergence::rng::threshold_24(0.4)]
                );
                assert_eq!((touched.agents, applied[0].until), (100, Some(AT + 50)));
                assert!(
                    pairs1 == pairs0 && adopted0 == adopted1,
                    "{name}: nothing else"
                );
            }
            "nourish" => {
                let labels = before.u32s("labels").unwrap();
                let flags = after.u32s("nourished").unwrap();
                let mut size = std::collections::HashMap::<u32, u32>::new();
                for &l in labels {
                    *size.entry(l).or_default() += 1;
                }
                let chosen: BTreeSet<u32> = (0..N as usize)
                    .filter(|&i| flags[i] == 1)
                    .map(|i| labels[i])
                    .collect();
                let members = flags.iter().filter(|&&f| f == 1).count() as u64;
                assert!(
                    members > 0 && members <= 1500,
                    "{name}: {members} within the budget"
                );
                assert_eq!(touched.agents, members);
                for i in 0..N as usize {
                    assert_eq!(
                        flags[i] == 1,
                        chosen.contains(&labels[i]),
                        "{name}: whole communities"
                    );
                }
                let smallest_chosen = chosen.iter().map(|l| size[l]).min().unwrap();
                assert!(
                    smallest_chosen >= 3,
                    "{name}: communities of at least min_size"
                );
                // The largest first: no community left out is larger than one taken, unless
                // it could not fit the budget.
                let largest_left = size
                    .iter()
                    .filter(|(l, &s)| !chosen.contains(l) && s >= 3 && members + s as u64 <= 1500)
                    .map(|(_, &s)| s)
                    .max()
                    .unwrap_or(0);
                assert!(largest_left <= smallest_chosen, "{name}: the largest first");
                assert_eq!(after.f32s("nourish_factor").unwrap(), [2.5]);
                assert!(
                    pairs1 == pairs0 && adopted0 == adopted1,
                    "{name}: nothing else"
                );
            }
            _ => unreachable!(),
        }
        // The same action on the GPU: its kernels (one-off actions) or the same edit
        // of the named state (actions that last).
        if let Some(backend) = &gpu_backend {
            let (on_gpu, applied_gpu) = applied_on(&loaded, &before, &table, backend);
            assert_eq!(applied_gpu, applied, "{name}: the GPU's record");
            same_state(name, &on_gpu, &after);
            for f in ["pioneers", "illuminate_cut", "nourished", "nourish_factor"] {
                assert!(
                    on_gpu.field(f).ok() == after.field(f).ok(),
                    "{name}: field {f} differs between the backends"
                );
            }
        }
    }
}

/// `emergence run` of `config` with `args` into `dir/out`; the metrics file's bytes.
fn run_metrics(dir: &Path, config: &str, out: &str, args: &[&str]) -> Vec<u8> {
    let file = dir.join(format!("{out}.toml"));
    std::fs::write(&file, config).unwrap();
    let mut all = vec!["run", file.to_str().unwrap(), "--out", out, "-q"];
    all.extend_from_slice(args);
    let o = emergence(&all, dir);
    assert!(
        o.status.success(),
        "{out}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(dir.join(out).join("metrics.csv")).unwrap()
}

const SMALL: &str = "agents = 2000\nticks = 400\nseed = 2\n[graph]\nkind = \"er\"\nmean_degree = 6\n[model]\nkind = \"lifecycle\"\n";

#[test]
fn an_intervention_that_touches_nothing_leaves_metrics_byte_identical() {
    let dir = scratch("interventions-zero");
    // A tick between rows (the interval is split there), a row trigger (one interval in
    // flight from then on) and a stage trigger, every budget zero.
    let zero = format!(
        "{SMALL}[[intervention]]\naction = \"seed_adopters\"\nat = 105\ncount = 0\n\
         [[intervention]]\naction = \"connect_pioneers\"\nwhen = \"s1 >= 0.05\"\ncount = 0\n\
         [[intervention]]\naction = \"cut_ties\"\nwhen = \"stage >= 1\"\nshare = 0.0\n\
         [[intervention]]\naction = \"remove_hubs\"\nat = 233\ncount = 0\n\
         [[intervention]]\naction = \"illuminate\"\nat = 120\ncount = 50\nshare = 0.0\nduration = 100\n\
         [[intervention]]\naction = \"nourish\"\nat = 140\ncount = 0\nduration = 100\n"
    );
    let mut backends = vec!["cpu"];
    if gpu().is_some() {
        backends.push("gpu");
    }
    for b in backends {
        let base = run_metrics(&dir, SMALL, &format!("base-{b}"), &["--backend", b]);
        let with = run_metrics(&dir, &zero, &format!("zero-{b}"), &["--backend", b]);
        assert!(base == with, "{b}: metrics.csv changed");
        let record =
            std::fs::read_to_string(dir.join(format!("zero-{b}")).join("interventions.csv"))
                .unwrap();
        let lines: Vec<&str> = record.lines().collect();
        assert_eq!(
            lines[0],
            "index,action,tick,trigger,stage_dated,until,agents,ties_added,ties_removed"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("0,seed_adopters,105,")),
            "{record}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("3,remove_hubs,233,")),
            "{record}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("1,connect_pioneers,")),
            "{record}"
        );
        assert!(lines[1..].iter().all(|l| l.ends_with(",0,0,0")), "{record}");
    }
}

#[test]
fn a_stage_trigger_fires_once_at_the_row_the_online_tracker_confirms_the_stage() {
    let dir = scratch("interventions-stage");
    // The default scenario at 10^4 reaches stage 2 within 800 ticks.
    let base = "agents = 10000\nticks = 800\nseed = 3\n[model]\nkind = \"lifecycle\"\n";
    let with = format!(
        "{base}[[intervention]]\naction = \"seed_adopters\"\nwhen = \"stage = 2\"\ncount = 300\n"
    );
    run_metrics(&dir, base, "plain", &["--backend", "cpu"]);
    run_metrics(&dir, &with, "fired", &["--backend", "cpu"]);
    let table =
        |run: &str| emergence::stage_table::read_table(&dir.join(run).join("metrics.csv")).unwrap();
    let (plain, fired) = (table("plain"), table("fired"));
    let said = OnlineTracker::replay(&plain, StageParams::new(10000));
    let stage2 = said
        .said()
        .iter()
        .find(|t| t.stage == 2)
        .expect("stage 2 is reached without the intervention")
        .clone();
    let record = std::fs::read_to_string(dir.join("fired/interventions.csv")).unwrap();
    let lines: Vec<&str> = record.lines().skip(1).collect();
    assert_eq!(
        lines,
        [format!(
            "0,seed_adopters,{},\"stage = 2\",{},,300,0,0",
            stage2.confirmed_at, stage2.tick
        )],
        "fired once, at the confirming row, dated as the tracker dates stage 2"
    );
    // Up to that row the runs are the same; after it the seeded adopters show.
    let k = plain
        .rows
        .iter()
        .position(|r| r[0] as u64 == stage2.confirmed_at)
        .unwrap();
    let upto = |t: &MetricsTable| MetricsTable {
        columns: t.columns.clone(),
        rows: t.rows[..=k].to_vec(),
    };
    assert!(upto(&plain) == upto(&fired), "rows up to the trigger");
    let adoption = |t: &MetricsTable| t.column("adoption").unwrap()[k + 1];
    assert!(
        adoption(&fired) - adoption(&plain) >= 0.03 - 1e-9,
        "the 300 seeded adopters show in the next row: {} against {}",
        adoption(&fired),
        adoption(&plain)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fired/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["interventions"][0]["tick"], stage2.confirmed_at);
    assert_eq!(summary["interventions"][0]["dated"], stage2.tick);
}

/// `model::simulate_with` of the lifecycle on the CPU.
fn simulated<'o>(
    progress: &'o emergence::progress::Progress,
    loaded: &config::Loaded,
    graph: &emergence::graph::GraphSummary,
    edges: &emergence::graph::EdgeList,
    csr: &emergence::graph::Csr,
    saves: emergence::model::Saves<'o>,
    resume: Option<emergence::model::Resume>,
) -> emergence::model::Simulated {
    let start = emergence::model::Start {
        loaded,
        graph,
        edges: edges.clone(),
        csr: csr.clone(),
        render: None,
    };
    let model = emergence::model::find("lifecycle").unwrap();
    emergence::model::simulate_with(
        model,
        start,
        &Backend::Cpu,
        progress,
        Vec::new(),
        saves,
        resume,
    )
    .unwrap()
}

#[test]
fn a_run_with_interventions_resumed_from_a_checkpoint_equals_one_never_stopped() {
    let extra = "[[intervention]]\naction = \"seed_adopters\"\nat = 100\ncount = 100\nselect = \"knowledge\"\n\
                 [[intervention]]\naction = \"connect_pioneers\"\nwhen = \"s1 >= 0.2\"\ncount = 150\n\
                 [[intervention]]\naction = \"cut_ties\"\nat = 250\nshare = 0.2\n\
                 [[intervention]]\naction = \"illuminate\"\nat = 150\ncount = 50\nshare = 0.5\nduration = 100\n\
                 [[intervention]]\naction = \"nourish\"\nat = 180\nfactor = 3\nmin_size = 2\nduration = 90\n";
    let loaded = scenario_with(extra, 2000, 400);
    let (edges, graph, csr) = build_graph(&loaded).unwrap();
    let progress = emergence::progress::Progress::hidden();
    let none = || emergence::model::Saves {
        checkpoints: None,
        snapshots: None,
        profile: false,
    };
    let straight = simulated(&progress, &loaded, &graph, &edges, &csr, none(), None);
    assert_eq!(straight.interventions.len(), 5, "all five fired");
    let mut kept = Kept::default();
    let checkpointed = simulated(
        &progress,
        &loaded,
        &graph,
        &edges,
        &csr,
        emergence::model::Saves {
            checkpoints: Some(Checkpoints {
                every_ticks: Some(100),
                every: None,
                stop: None,
                at_end: false,
                sink: &mut kept,
            }),
            snapshots: None,
            profile: false,
        },
        None,
    );
    assert!(
        checkpointed.table == straight.table,
        "checkpoints changed the run"
    );
    // From tick 100 (the first intervention applied, the others not yet), from 200
    // (inside both windows) and from 300 (after them).
    for (state, table) in &kept.0[..3] {
        let resumed = simulated(
            &progress,
            &loaded,
            &graph,
            &edges,
            &csr,
            none(),
            Some(emergence::model::Resume {
                state: state.clone(),
                table: table.clone(),
            }),
        );
        assert!(
            resumed.table == straight.table,
            "resumed at {}: rows",
            state.tick
        );
        assert_eq!(
            resumed.interventions, straight.interventions,
            "resumed at {}",
            state.tick
        );
    }
}

#[test]
fn bad_intervention_tables_are_refused_naming_the_key() {
    let dir = scratch("interventions-bad");
    let cases: [(&str, &[&str], &str); 8] = [
        ("action = \"plant_trees\"\nat = 5", &[], "plant_trees"),
        ("action = \"seed_adopters\"\nat = 5", &[], "intervention.0.count is missing"),
        (
            "action = \"seed_adopters\"\nat = 5\ncount = 10\nshare = 0.2",
            &[],
            "intervention.0.share is not read by action seed_adopters",
        ),
        (
            "action = \"cut_ties\"\nat = 5\nwhen = \"stage >= 2\"\nshare = 0.1",
            &[],
            "both given",
        ),
        (
            "action = \"cut_ties\"\nwhen = \"speed > 2\"\nshare = 0.1",
            &[],
            "`speed` is neither `stage` nor a metrics column",
        ),
        (
            "action = \"remove_hubs\"\nat = 5000\ncount = 3",
            &[],
            "intervention.0.at = 5000 is out of range; allowed: 0 ≤ intervention.0.at < ticks = 400",
        ),
        (
            "action = \"seed_adopters\"\nat = 5\ncount = 10",
            &["--set", "intervention.0.count=-4"],
            "--set intervention.0.count=-4: intervention.0.count = -4 is out of range; allowed: 0 ≤ intervention.0.count ≤ 2000",
        ),
        (
            "action = \"seed_adopters\"\nat = 5\ncount = 10",
            &["--set", "intervention.3.count=5"],
            "the scenario has 1 [[intervention]] tables",
        ),
    ];
    for (k, (table, flags, expected)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{k}.toml"));
        std::fs::write(&file, format!("{SMALL}[[intervention]]\n{table}\n")).unwrap();
        let mut args = vec!["run", file.to_str().unwrap(), "--out", "never"];
        args.extend_from_slice(flags);
        let o = emergence(&args, &dir);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{table}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{table}: expected `{expected}` in {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{table}: one line: {stderr}"
        );
        assert!(!dir.join("never").exists(), "{table}: nothing written");
    }
    // Interventions act on the lifecycle only.
    let sir = scenario("sir", 500, 1);
    let text = format!(
        "{}\n[[intervention]]\naction = \"remove_hubs\"\nat = 1\ncount = 3\n",
        sir.resolved_toml()
    );
    let e = config::load_text(&text, "sir.toml".into(), ".".into(), &[]).unwrap_err();
    assert!(
        e.to_string().contains("model.kind = \"sir\" takes none"),
        "{e}"
    );
}

#[test]
fn a_budget_set_from_the_command_line_reaches_the_run() {
    let dir = scratch("interventions-set");
    let config =
        format!("{SMALL}[[intervention]]\naction = \"seed_adopters\"\nat = 50\ncount = 10\n");
    run_metrics(
        &dir,
        &config,
        "swept",
        &["--set", "intervention.0.count=77", "--backend", "cpu"],
    );
    let record = std::fs::read_to_string(dir.join("swept/interventions.csv")).unwrap();
    assert!(
        record.contains("0,seed_adopters,50,\"at 50\",,,77,0,0"),
        "{record}"
    );
    // The report marks it on the run's plots.
    let marked = std::fs::read_dir(dir.join("swept/plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("seed_adopters")
        })
        .count();
    assert!(marked >= 3, "{marked} plots mark the intervention");
    // The run's config.toml says so, and re-runs to the same rows.
    let resolved = std::fs::read_to_string(dir.join("swept/config.toml")).unwrap();
    assert!(resolved.contains("count = 77"), "{resolved}");
    let again = run_metrics(&dir, &resolved, "again", &["--backend", "cpu"]);
    assert!(again == std::fs::read(dir.join("swept/metrics.csv")).unwrap());
}

#[test]
fn connecting_more_pioneers_than_slots_allow_fills_slots_and_never_overflows() {
    // The largest budget there is (N·K/2 ties) on a state with K = 4 slots: ties are added
    // only where both ends have a free slot, the store stays valid, and the record is what
    // was added.
    let extra = format!(
        "[[intervention]]\nat = {AT}\naction = \"connect_pioneers\"\ncount = {}\n",
        N * 4 / 2
    );
    let text = format!(
        "agents = {N}\nticks = 400\nseed = 4\n[graph]\nkind = \"er\"\nmean_degree = 3\nslots = 4\n[model]\nkind = \"lifecycle\"\n{extra}"
    );
    let loaded = config::load_text(&text, "full.toml".into(), ".".into(), &[]).unwrap();
    let (before, table) = state_at_tick(&loaded);
    let (after, applied) = applied_on(&loaded, &before, &table, &Backend::Cpu);
    let (t0, t1) = (ties(&before), ties(&after));
    t1.check_invariants().unwrap();
    let added = applied[0].touched.ties_added;
    assert_eq!(added as usize, t1.num_ties() - t0.num_ties());
    assert!(added > 1000, "{added} ties added");
    assert!(t1.degree.iter().all(|&d| d <= 4));
    // Most of the slots the pioneers had free are used (pairs of one community, and the
    // pool's last agents left without a partner, are not tied).
    let free_before: u32 = t0.degree.iter().map(|d| 4 - d).sum();
    let free_after: u32 = t1.degree.iter().map(|d| 4 - d).sum();
    assert!(
        free_after * 4 < free_before,
        "{free_after} of {free_before} free slots left"
    );
}

#[test]
fn every_strategy_scenario_loads() {
    let dir = format!("{}/configs/strategies", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let loaded =
            config::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Every strategy but the reference sets its budget at intervention.0.count.
        if !loaded.scenario.interventions.is_empty() {
            assert!(
                loaded.scenario.interventions[0].count.is_some(),
                "{}",
                path.display()
            );
        }
        n += 1;
    }
    assert!(n >= 8, "{n} strategies");
}

#[test]
fn a_nourish_that_finds_no_community_leaves_an_earlier_one_on() {
    // #1 finds no community of N members; #2 makes the state be uploaded at the same tick.
    let extra = format!(
        "[[intervention]]\nat = {AT}\naction = \"nourish\"\nmin_size = 3\nduration = 100\n\
         [[intervention]]\nat = {AT}\naction = \"nourish\"\nmin_size = {N}\nduration = 100\n\
         [[intervention]]\nat = {AT}\naction = \"seed_adopters\"\ncount = 10\n"
    );
    let loaded = scenario_with(&extra, N, 400);
    let (before, table) = state_at_tick(&loaded);
    let (after, applied) = applied_on(&loaded, &before, &table, &Backend::Cpu);
    assert_eq!(applied[1].touched.agents, 0, "no community of N members");
    let flags = after.u32s("nourished").expect("the first nourish still on");
    assert_eq!(
        flags.iter().filter(|&&f| f == 1).count() as u64,
        applied[0].touched.agents
    );
}

#[test]
fn an_intervention_at_tick_zero_fires_in_a_run_with_frames_and_snapshots_stay_readable() {
    let dir = scratch("interventions-frames");
    let config = format!(
        "{SMALL}[[intervention]]\naction = \"seed_adopters\"\nat = 0\ncount = 5\n\
         [[intervention]]\naction = \"nourish\"\nat = 100\nmin_size = 2\nduration = 100\n"
    );
    run_metrics(
        &dir,
        &config,
        "framed",
        &[
            "--backend",
            "cpu",
            "--frames",
            "--size",
            "64x64",
            "--frame-every",
            "50",
            "--snapshot-every",
            "50",
        ],
    );
    let record = std::fs::read_to_string(dir.join("framed/interventions.csv")).unwrap();
    assert!(
        record.contains("0,seed_adopters,0,\"at 0\",,,5,0,0"),
        "{record}"
    );
    // Snapshots inside and outside the nourish have the same columns: the run's
    // snapshots read back whole.
    let o = emergence(
        &[
            "export",
            "framed",
            "--graphml",
            "g.graphml",
            "--tick",
            "150",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Both backends' states compared: integer fields and copied floats exactly, the
/// purposes (which a broadcast computes) within WGSL's float margin.
fn same_state(name: &str, on_gpu: &State, on_cpu: &State) {
    for f in COMPARED {
        if f == "phi" {
            let (a, b) = (on_gpu.f32s(f).unwrap(), on_cpu.f32s(f).unwrap());
            let worst = a
                .iter()
                .zip(b)
                .map(|(&x, &y)| circular(x, y))
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "{name}: purposes differ by up to {worst} rad");
        } else {
            assert!(
                on_gpu.field(f).unwrap() == on_cpu.field(f).unwrap(),
                "{name}: field {f} differs between the backends"
            );
        }
    }
}

#[test]
fn intervention_kernels_match_their_cpu_twins_pass_by_pass() {
    use emergence::intervention::passes::{self, Cut, Eligible, Query, Rank};
    let Some(ctx) = gpu() else { return };
    let plain = scenario_with("", N, 400);
    let (before, _) = state_at_tick(&plain);
    let (edges, graph, csr) = build_graph(&plain).unwrap();
    let gpu_backend = Backend::Gpu(ctx);
    let mut cpu_sim = started(&plain, &graph, &edges, &csr, &Backend::Cpu);
    let mut gpu_sim = started(&plain, &graph, &edges, &csr, &gpu_backend);
    cpu_sim.set_state(&before).unwrap();
    gpu_sim.set_state(&before).unwrap();
    let knowledge = before.f32s("knowledge").unwrap().to_vec();
    let degree = before.u32s("degree").unwrap().to_vec();
    let k = ties(&before).slots;
    {
        let mut c = cpu_sim
            .action_passes()
            .unwrap()
            .expect("the lifecycle's passes");
        let mut g = gpu_sim
            .action_passes()
            .unwrap()
            .expect("the lifecycle's passes");
        assert_eq!((g.agents(), g.slots()), (N, k));
        // intervene_rank and intervene_mark (through the records of intervene_gather)
        // for every order and eligibility, at every byte, with a prefix that filters.
        for rank in [Rank::Random, Rank::Knowledge, Rank::Degree] {
            for eligible in [Eligible::All, Eligible::NotAdopted, Eligible::FreeSlot] {
                let q = Query::new(rank, eligible, 4, AT, 3);
                let name = format!("{rank:?} {eligible:?}");
                let prefix = passes::place(&q, 17, &knowledge, &degree);
                for digit in (0..8).rev() {
                    let (hc, hg) = (
                        c.rank_histogram(&q, digit, prefix).unwrap(),
                        g.rank_histogram(&q, digit, prefix).unwrap(),
                    );
                    assert_eq!(hc, hg, "{name}: histogram of byte {digit}");
                    assert!(
                        hc.iter().sum::<u32>() > 0,
                        "{name}: agent 17 agrees with its own place"
                    );
                }
                let (sc, sg) = (
                    passes::select(c.as_mut(), &q, 500).unwrap(),
                    passes::select(g.as_mut(), &q, 500).unwrap(),
                );
                assert_eq!(sc, sg, "{name}: selection");
                let mut rc = c.gather(sc.picked as u32).unwrap();
                let mut rg = g.gather(sg.picked as u32).unwrap();
                rc.sort_by_key(|r| r.id);
                rg.sort_by_key(|r| r.id);
                assert_eq!(
                    rc.len() as u64,
                    sc.picked,
                    "{name}: a record per agent picked"
                );
                assert!(rc == rg, "{name}: the gathered records differ");
            }
        }
        // intervene_adopt, intervene_broadcast, intervene_cut (both rules) and
        // intervene_connect, each after its selection, in turn on the same states.
        let q = |rank, eligible| Query::new(rank, eligible, 4, AT, 5);
        for p in [&mut c, &mut g] {
            passes::select(p.as_mut(), &q(Rank::Random, Eligible::NotAdopted), 300).unwrap();
            p.adopt(AT as u32).unwrap();
            passes::select(p.as_mut(), &q(Rank::Random, Eligible::All), 1000).unwrap();
            p.broadcast(0.3, 1.0).unwrap();
        }
        let hubs = q(Rank::Degree, Eligible::All);
        let share = Cut::Share {
            threshold: emergence::rng::threshold_24(0.2),
        };
        let mut cuts = Vec::new();
        for p in [&mut c, &mut g] {
            passes::select(p.as_mut(), &hubs, 25).unwrap();
            let by_hubs = p.cut(Cut::Flagged, &hubs).unwrap();
            let by_share = p.cut(share, &hubs).unwrap();
            cuts.push((by_hubs, by_share));
        }
        assert_eq!(cuts[0], cuts[1], "the cuts' counts");
        assert!(
            cuts[0].0.ties > 25 && cuts[0].1.ties > 100,
            "both cuts removed ties: {:?}",
            cuts[0]
        );
        let mut planned = Vec::new();
        for p in [&mut c, &mut g] {
            let pool_q = q(Rank::Knowledge, Eligible::FreeSlot);
            let picked = passes::select(p.as_mut(), &pool_q, 600).unwrap();
            let mut pool = p.gather(picked.picked as u32).unwrap();
            pool.sort_by(|a, b| b.knowledge.total_cmp(&a.knowledge).then(a.id.cmp(&b.id)));
            let (ends, _) = passes::pair_pioneers(&pool, p.slots(), 300);
            p.connect(&ends, 0.35).unwrap();
            planned.push(ends);
        }
        assert_eq!(planned[0], planned[1], "the planned ties");
        assert!(
            planned[0].len() > 200,
            "ties were added: {} ends",
            planned[0].len()
        );
    }
    let (on_cpu, on_gpu) = (cpu_sim.state().unwrap(), gpu_sim.state().unwrap());
    ties(&on_cpu).check_invariants().unwrap();
    same_state("after every action pass", &on_gpu, &on_cpu);
    let adopted = |s: &State| {
        s.u32s("adopted_at")
            .unwrap()
            .iter()
            .filter(|&&a| a == AT as u32)
            .count()
    };
    assert!(
        adopted(&on_cpu) >= 300,
        "the seeded agents adopted at the tick"
    );
    assert_ne!(
        on_cpu.field("phi").unwrap(),
        before.field("phi").unwrap(),
        "the broadcast turned purposes"
    );
    if let Backend::Gpu(ctx) = &gpu_backend {
        ctx.check().unwrap();
    }
}
