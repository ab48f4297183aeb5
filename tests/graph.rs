//! Graph construction: generators against their expected statistics, the CSR and slot
//! stores' invariants, and the edge-list importer's parsing and error messages.

use std::collections::HashSet;
use std::path::PathBuf;

use emergence::graph::generators::*;
use emergence::graph::import::{read_graph_file, IdBase, ImportReport, UserIds};
use emergence::graph::ties::{TieStore, EMPTY};
use emergence::graph::{Csr, EdgeList};
use emergence::Error;

/// Panics unless the list is a simple graph on `0..n`.
fn assert_simple(g: &EdgeList) {
    let mut seen = HashSet::with_capacity(g.edges.len());
    for &(u, v) in &g.edges {
        assert!(u < g.n && v < g.n, "edge ({u}, {v}) outside 0..{}", g.n);
        assert_ne!(u, v, "self-loop at {u}");
        assert!(
            seen.insert((u.min(v), u.max(v))),
            "duplicate pair ({u}, {v})"
        );
    }
}

fn degrees(g: &EdgeList) -> Vec<u32> {
    let mut d = vec![0u32; g.n as usize];
    for &(u, v) in &g.edges {
        d[u as usize] += 1;
        d[v as usize] += 1;
    }
    d
}

fn mean_and_variance(values: &[u32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean, var)
}

fn bad_input_message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::BadInput(m)) => m,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn erdos_renyi_mean_degree_and_poisson_variance() {
    let (n, z) = (100_000u32, 4.0);
    let g = erdos_renyi(n, z, 7).unwrap();
    assert_simple(&g);
    // The edge count is Binomial(n(n-1)/2, p) with p = z/(n-1): sd = sqrt(n z (1-p) / 2)
    // ≈ 447 edges, so the mean degree 2M/n has sd = sqrt(2 z (1-p) / n) ≈ 0.0089.
    let p = z / (n - 1) as f64;
    let sd_mean = (2.0 * z * (1.0 - p) / n as f64).sqrt();
    let (mean, var) = mean_and_variance(&degrees(&g));
    assert!(
        (mean - z).abs() < 4.0 * sd_mean,
        "mean degree {mean}, sd {sd_mean}"
    );
    // Degrees are Binomial(n-1, p) ≈ Poisson(z): variance z(1-p). The sample variance of a
    // Poisson(z) sample has sd ≈ sqrt((z + 2z²)/n) ≈ 0.019 here.
    let sd_var = ((z + 2.0 * z * z) / n as f64).sqrt();
    let expected_var = z * (1.0 - p);
    assert!(
        (var - expected_var).abs() < 4.0 * sd_var,
        "degree variance {var}, sd {sd_var}"
    );
}

#[test]
fn erdos_renyi_edge_cases() {
    assert!(erdos_renyi(1000, 0.0, 1).unwrap().edges.is_empty());
    assert!(erdos_renyi(0, 0.0, 1).unwrap().edges.is_empty());
    let complete = erdos_renyi(20, 19.0, 1).unwrap();
    assert_eq!(complete.edges.len(), 190);
    assert_simple(&complete);
    let m = bad_input_message(erdos_renyi(10, 9.5, 1));
    assert!(m.contains("graph.mean_degree") && m.contains('9'), "{m}");
    assert!(erdos_renyi(10, -1.0, 1).is_err());
    assert!(erdos_renyi(10, f64::NAN, 1).is_err());
}

#[test]
fn generators_are_deterministic_and_seed_dependent() {
    let make = |seed: u32| -> Vec<EdgeList> {
        vec![
            erdos_renyi(5_000, 4.0, seed).unwrap(),
            watts_strogatz(5_000, 6, 0.2, seed).unwrap(),
            barabasi_albert(5_000, 3, seed).unwrap(),
            random_geometric(5_000, 5.0, seed).unwrap().0,
            stochastic_block(5_000, 7, 6.0, 4.0, seed).unwrap().0,
        ]
    };
    let (a, b, c) = (make(11), make(11), make(12));
    for k in 0..a.len() {
        assert_eq!(
            a[k], b[k],
            "generator {k} differs between two runs with the same seed"
        );
        assert_ne!(a[k], c[k], "generator {k} ignores its seed");
    }
}

#[test]
fn every_generator_is_simple() {
    assert_simple(&erdos_renyi(3_000, 10.0, 3).unwrap());
    assert_simple(&erdos_renyi(50, 40.0, 3).unwrap());
    assert_simple(&watts_strogatz(3_000, 8, 0.5, 3).unwrap());
    assert_simple(&watts_strogatz(12, 10, 1.0, 3).unwrap());
    assert_simple(&barabasi_albert(3_000, 4, 3).unwrap());
    assert_simple(&barabasi_albert(10, 9, 3).unwrap());
    assert_simple(&random_geometric(3_000, 8.0, 3).unwrap().0);
    // Dense: the cell grid is skipped.
    assert_simple(&random_geometric(200, 100.0, 3).unwrap().0);
    assert_simple(&stochastic_block(3_000, 5, 8.0, 6.0, 3).unwrap().0);
    assert_simple(&stochastic_block(3_001, 4, 3.0, 0.0, 3).unwrap().0);
}

#[test]
fn watts_strogatz_without_rewiring_is_the_ring_lattice() {
    let (n, k) = (1_000u32, 6u32);
    let g = watts_strogatz(n, k, 0.0, 5).unwrap();
    let got: HashSet<(u32, u32)> = g.edges.iter().map(|&(u, v)| (u.min(v), u.max(v))).collect();
    let mut lattice = HashSet::new();
    for u in 0..n {
        for j in 1..=k / 2 {
            let v = (u + j) % n;
            lattice.insert((u.min(v), u.max(v)));
        }
    }
    assert_eq!(g.edges.len(), (n * k / 2) as usize);
    assert_eq!(got, lattice);

    // Rewiring moves ties but never changes their number.
    let rewired = watts_strogatz(n, k, 0.3, 5).unwrap();
    assert_eq!(rewired.edges.len(), (n * k / 2) as usize);
    let moved = rewired
        .edges
        .iter()
        .filter(|&&(u, v)| !lattice.contains(&(u.min(v), u.max(v))))
        .count();
    // Each of the 3,000 lattice edges moves with probability 0.3 (sd ≈ 25); a moved edge
    // can land back on the lattice only rarely.
    assert!((800..1000).contains(&moved), "{moved} ties off the lattice");

    let m = bad_input_message(watts_strogatz(100, 5, 0.1, 1));
    assert!(m.contains("graph.mean_degree") && m.contains("even"), "{m}");
    assert!(watts_strogatz(10, 10, 0.1, 1).is_err());
    assert!(bad_input_message(watts_strogatz(10, 4, 1.5, 1)).contains("graph.rewire"));
}

#[test]
fn barabasi_albert_mean_degree_is_two_m() {
    let (n, m) = (20_000u32, 3u32);
    let g = barabasi_albert(n, m, 9).unwrap();
    assert_simple(&g);
    // A clique of m + 1 agents, then m ties per later agent.
    let expected = (m * (m + 1) / 2 + (n - m - 1) * m) as usize;
    assert_eq!(g.edges.len(), expected);
    assert!((g.mean_degree() - 2.0 * m as f64).abs() < 1e-3);
    let d = degrees(&g);
    assert!(d.iter().all(|&x| x >= m));
    // Preferential attachment makes hubs: far above anything ER would give.
    assert!(*d.iter().max().unwrap() > 100);
    assert!(bad_input_message(barabasi_albert(5, 5, 1)).contains("graph.attach"));
    assert!(barabasi_albert(5, 0, 1).is_err());
}

#[test]
fn random_geometric_mean_degree_and_distances() {
    let (n, z) = (100_000u32, 6.0);
    let (g, pos) = random_geometric(n, z, 21).unwrap();
    assert_eq!(pos.len(), n as usize);
    assert!(pos
        .iter()
        .all(|p| (0.0..1.0).contains(&p[0]) && (0.0..1.0).contains(&p[1])));
    // On the torus, two edge indicators are independent whether or not they share an
    // agent, so the edge count has the binomial variance of ER: sd of the mean degree
    // = sqrt(2 z (1-p) / n) ≈ 0.011.
    let p = z / (n - 1) as f64;
    let sd = (2.0 * z * (1.0 - p) / n as f64).sqrt();
    assert!(
        (g.mean_degree() - z).abs() < 4.0 * sd,
        "mean degree {}",
        g.mean_degree()
    );

    // Every tie is short, and a brute-force scan of a few agents finds exactly their ties.
    let r2 = z / (std::f64::consts::PI * (n - 1) as f64);
    let dist2 = |i: usize, j: usize| {
        let d = |a: f32, b: f32| {
            let d = (a as f64 - b as f64).abs();
            d.min(1.0 - d)
        };
        d(pos[i][0], pos[j][0]).powi(2) + d(pos[i][1], pos[j][1]).powi(2)
    };
    assert!(g
        .edges
        .iter()
        .all(|&(u, v)| dist2(u as usize, v as usize) <= r2));
    let csr = Csr::from_edges(&g);
    for i in [0u32, 1, 12_345, 99_999] {
        let brute: Vec<u32> = (0..n)
            .filter(|&j| j != i && dist2(i as usize, j as usize) <= r2)
            .collect();
        assert_eq!(csr.neighbors(i), &brute[..], "agent {i}");
    }
    assert!(random_geometric(100, 80.0, 1).is_err());
}

#[test]
fn stochastic_block_within_fraction() {
    let (n, blocks, z, z_in) = (100_000u32, 10u32, 6.0, 4.0);
    let (g, block) = stochastic_block(n, blocks, z, z_in, 4).unwrap();
    assert_eq!(block.len(), n as usize);
    assert!(block.iter().all(|&b| b < blocks));
    let inside = g
        .edges
        .iter()
        .filter(|&&(u, v)| block[u as usize] == block[v as usize])
        .count();
    let total = g.edges.len();
    // Ties inside W and across B are independent binomials with means n z_in / 2 and
    // n (z - z_in) / 2, so f = W / (W + B) has var ≈ ((1-f)² E[W] + f² E[B]) / T²
    // (sd ≈ 0.0009 here).
    let f = z_in / z;
    let (ew, eb) = (n as f64 * z_in / 2.0, n as f64 * (z - z_in) / 2.0);
    let sd_f = (((1.0 - f).powi(2) * ew + f * f * eb) / (ew + eb).powi(2)).sqrt();
    let got = inside as f64 / total as f64;
    assert!(
        (got - f).abs() < 4.0 * sd_f,
        "within-block fraction {got}, expected {f} ± {}",
        4.0 * sd_f
    );
    let sd_mean = (2.0 * z / n as f64).sqrt();
    assert!(
        (g.mean_degree() - z).abs() < 4.0 * sd_mean,
        "mean degree {}",
        g.mean_degree()
    );

    // Uneven split: the last block takes the remainder.
    let (_, block) = stochastic_block(10, 3, 2.0, 1.0, 1).unwrap();
    assert_eq!(block, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);

    assert!(
        bad_input_message(stochastic_block(100, 3, 4.0, 5.0, 1)).contains("graph.mean_degree_in")
    );
    assert!(bad_input_message(stochastic_block(100, 0, 4.0, 2.0, 1)).contains("graph.blocks"));
    assert!(bad_input_message(stochastic_block(100, 101, 4.0, 2.0, 1)).contains("graph.blocks"));
    // One block has no pairs across blocks, so every tie must be inside.
    assert!(stochastic_block(100, 1, 4.0, 2.0, 1).is_err());
    assert!(stochastic_block(100, 1, 4.0, 4.0, 1).is_ok());
    // Blocks of 5 agents allow at most 4 ties inside.
    assert!(stochastic_block(100, 20, 6.0, 4.5, 1).is_err());
}

#[test]
fn csr_is_symmetric_sorted_and_keeps_weights() {
    let g = erdos_renyi(2_000, 6.0, 8).unwrap();
    let csr = Csr::from_edges(&g);
    assert_eq!(csr.n(), 2_000);
    assert_eq!(csr.num_edges(), g.edges.len());
    assert_eq!(csr.offsets.len(), 2_001);
    let d = degrees(&g);
    assert_eq!(csr.max_degree(), *d.iter().max().unwrap());
    for i in 0..csr.n() {
        let row = csr.neighbors(i);
        assert_eq!(csr.degree(i), d[i as usize]);
        assert!(
            row.windows(2).all(|w| w[0] < w[1]),
            "row {i} not strictly ascending"
        );
        for &j in row {
            assert!(
                csr.neighbors(j).binary_search(&i).is_ok(),
                "{i}-{j} missing at {j}"
            );
        }
    }

    // Edge order does not matter: the form is canonical.
    let mut reversed = g.clone();
    reversed.edges.reverse();
    reversed.edges.iter_mut().for_each(|e| *e = (e.1, e.0));
    assert_eq!(Csr::from_edges(&reversed), csr);

    let weighted = EdgeList {
        n: 4,
        edges: vec![(2, 0), (0, 1), (3, 0), (1, 2)],
        weights: Some(vec![0.5, 0.25, 0.75, 1.0]),
    };
    let csr = Csr::from_edges(&weighted);
    assert_eq!(csr.offsets, vec![0, 3, 5, 7, 8]);
    assert_eq!(csr.neighbors, vec![1, 2, 3, 0, 2, 0, 1, 0]);
    assert_eq!(
        csr.weights.as_deref().unwrap(),
        &[0.25, 0.5, 0.75, 0.25, 1.0, 0.5, 1.0, 0.75]
    );
    assert_eq!(csr.weights_of(3), Some(&[0.75f32][..]));
}

#[test]
fn tie_store_from_edges_keeps_invariants() {
    let g = erdos_renyi(3_000, 6.0, 2).unwrap();
    let (store, dropped) = TieStore::from_edges(&g, 8, 0.2);
    store.check_invariants().unwrap();
    assert_eq!(store.num_ties() + dropped, g.edges.len());
    assert!(store.degree.iter().all(|&d| d <= 8));
    // With K above the largest degree nothing is dropped and the CSR round-trips.
    let k = Csr::from_edges(&g).max_degree();
    let (store, dropped) = TieStore::from_edges(&g, k, 0.2);
    assert_eq!(dropped, 0);
    let csr = store.to_csr();
    let plain = Csr::from_edges(&g);
    assert_eq!(
        (csr.offsets.clone(), csr.neighbors.clone()),
        (plain.offsets, plain.neighbors)
    );
    assert!(csr.weights.unwrap().iter().all(|&w| w == 0.2));
    // The lifecycle's device bytes per tie slot, from the buffers it declares: what one
    // more slot per agent costs. DESIGN §8 allows 12 (id, weight, age).
    let lifecycle = emergence::model::find("lifecycle").unwrap();
    let bytes = |slots| -> u64 {
        let size = emergence::model::Size {
            agents: 1000,
            ties: 0,
            slots,
            complete: false,
        };
        lifecycle.buffers(&size).iter().map(|b| b.bytes).sum()
    };
    assert_eq!((bytes(24) - bytes(23)) / 1000, 12);
}

#[test]
fn tie_store_drops_star_leaves_beyond_k() {
    let leaves = 10u32;
    let star = EdgeList {
        n: leaves + 1,
        edges: (1..=leaves).map(|leaf| (0, leaf)).collect(),
        weights: None,
    };
    let (store, dropped) = TieStore::from_edges(&star, 4, 0.5);
    store.check_invariants().unwrap();
    assert_eq!(dropped, 6);
    assert_eq!(store.num_ties(), 4);
    // Edges are taken in list order: the first four leaves keep their tie.
    assert_eq!(store.neighbors(0), &[1, 2, 3, 4]);
    assert_eq!(store.neighbors(5), &[] as &[u32]);
    assert_eq!(&store.neighbor[4..8], &[0, EMPTY, EMPTY, EMPTY]);
}

#[test]
fn tie_store_check_detects_broken_ties() {
    let path = EdgeList {
        n: 4,
        edges: vec![(0, 1), (1, 2), (2, 3)],
        weights: None,
    };
    let (good, _) = TieStore::from_edges(&path, 3, 0.5);
    good.check_invariants().unwrap();
    assert!(TieStore::empty(5, 4).check_invariants().is_ok());

    // One end forgets the tie.
    let mut s = good.clone();
    let slot = s.slot_range(2).start; // agent 2's first tie is to 1
    assert_eq!(s.neighbor[slot], 1);
    s.neighbor[slot] = s.neighbor[slot + 1];
    s.weight[slot] = s.weight[slot + 1];
    s.neighbor[slot + 1] = EMPTY;
    s.weight[slot + 1] = 0.0;
    s.degree[2] = 1;
    let err = s.check_invariants().unwrap_err();
    assert!(err.contains("agent 1") && err.contains("mirror"), "{err}");

    // The two ends disagree on the weight.
    let mut s = good.clone();
    let idx = s.slot_range(3).start;
    s.weight[idx] = 0.7;
    assert!(s.check_invariants().unwrap_err().contains("weight"));

    // A free slot that is not cleared.
    let mut s = good.clone();
    let last = s.slot_range(0).end - 1;
    s.age[last] = 3;
    assert!(s.check_invariants().unwrap_err().contains("free slot"));

    // A tie to itself.
    let mut s = good.clone();
    let idx = s.slot_range(0).start;
    s.neighbor[idx] = 0;
    assert!(s.check_invariants().unwrap_err().contains("itself"));

    // A live slot after a hole (not compacted).
    let mut s = good;
    s.degree[1] = 3;
    assert!(s.check_invariants().is_err());
}

/// A file under the temp dir with a name no other test (or test run) uses.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "emergence-graph-test-{}-{tag}-{:?}.txt",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn import(tag: &str, contents: &str, base: IdBase) -> Result<(EdgeList, ImportReport), Error> {
    let file = TempFile::new(tag, contents);
    read_graph_file(&file.0, base)
}

#[test]
fn import_zero_one_and_auto_bases() {
    let (g, r) = import("zero", "0 1\n1 2\n", IdBase::Zero).unwrap();
    assert_eq!(
        (g.n, g.edges.clone(), g.weights),
        (3, vec![(0, 1), (1, 2)], None)
    );
    assert_eq!(r.resolved_base, IdBase::Zero);

    let (g, _) = import("one", "1 2\n2 3\n", IdBase::One).unwrap();
    assert_eq!((g.n, g.edges), (3, vec![(0, 1), (1, 2)]));

    let (g, r) = import("auto1", "1 2\n2 3\n", IdBase::Auto).unwrap();
    assert_eq!(
        (g.n, g.edges, r.resolved_base),
        (3, vec![(0, 1), (1, 2)], IdBase::One)
    );
    let (g, r) = import("auto0", "1 2\n2 0\n", IdBase::Auto).unwrap();
    assert_eq!(
        (g.n, g.edges, r.resolved_base),
        (3, vec![(1, 2), (2, 0)], IdBase::Zero)
    );

    let m = bad_input_message(import("one0", "1 2\n0 3\n", IdBase::One));
    assert!(m.contains(":2:") && m.contains("1-based"), "{m}");

    assert_eq!("auto".parse::<IdBase>().unwrap(), IdBase::Auto);
    assert_eq!("1".parse::<IdBase>().unwrap(), IdBase::One);
    assert!("2".parse::<IdBase>().is_err());
}

#[test]
fn import_comments_csv_and_weights() {
    let text = "# a comment\n% matrix-market style comment\n\n0 1  # trailing\n\t1\t2\n";
    let (g, _) = import("comments", text, IdBase::Zero).unwrap();
    assert_eq!(g.edges, vec![(0, 1), (1, 2)]);

    let (g, _) = import("csv", "0,1\n1, 2\n2 ,3,\n", IdBase::Zero).unwrap();
    assert_eq!((g.n, g.edges), (4, vec![(0, 1), (1, 2), (2, 3)]));

    let (g, _) = import("weights", "0 1 0.5\n1,2,2e-1\n", IdBase::Zero).unwrap();
    assert_eq!(g.weights, Some(vec![0.5, 0.2]));

    let m = bad_input_message(import("mixed", "0 1 0.5\n1 2\n", IdBase::Zero));
    assert!(m.contains(":2:") && m.contains("weight"), "{m}");
}

#[test]
fn import_reports_bad_line_with_its_number() {
    let file = TempFile::new("bad", "0 1 1.0\n# ok\n1 2 x\n");
    let m = bad_input_message(read_graph_file(&file.0, IdBase::Zero));
    let expected = format!(
        "{}:3: expected `u v [weight]` (ids integers or names, the weight a finite number > 0), found `1 2 x`",
        file.0.display()
    );
    assert_eq!(m, expected);
    assert!(!m.contains('\n'));

    for (tag, text) in [
        ("neg_weight", "0 1 -1\n"),
        ("one_field", "5\n"),
        ("four", "0 1 1.0 7\n"),
        ("zero_weight", "0 1 0\n"),
        ("nan_weight", "0 1 nan\n"),
        ("inf_weight", "0 1 inf\n"),
    ] {
        let m = bad_input_message(import(tag, text, IdBase::Zero));
        assert!(m.contains(":1: expected"), "{tag}: {m}");
    }

    // Agents are the distinct ids in ascending order: large or sparse ids cost nothing,
    // and the user's id of each agent is kept.
    let (g, r) = import("big", "0 1\n4294967295 2\n", IdBase::Zero).unwrap();
    assert_eq!((g.n, g.edges), (4, vec![(0, 1), (3, 2)]));
    assert_eq!(r.ids, UserIds::Numeric(vec![0, 1, 2, 4294967295]));
    let (g, r) = import("huge", "0 100000000\n", IdBase::Auto).unwrap();
    assert_eq!(
        (g.n, g.edges, r.ids),
        (2, vec![(0, 1)], UserIds::Numeric(vec![0, 100000000]))
    );
    let (g, r) = import("max", "7 18446744073709551615\n", IdBase::One).unwrap();
    assert_eq!((g.n, r.ids), (2, UserIds::Numeric(vec![7, u64::MAX])));
    // Past 2^64 − 1 an id is not a u64: the file's ids are taken as strings.
    let (g, r) = import("over", "1 18446744073709551616\n", IdBase::Auto).unwrap();
    assert_eq!(
        (g.n, r.ids),
        (
            2,
            UserIds::Text(["1", "18446744073709551616"].into_iter().collect())
        )
    );
}

#[test]
fn import_refuses_what_is_not_an_edge_list() {
    for (tag, bytes, expected) in [
        (
            "nul",
            b"0 1\n2 \x003\n".to_vec(),
            ":2: not a text edge list (a NUL byte)",
        ),
        (
            "latin1",
            b"0 1\n\xe9 2\n".to_vec(),
            ":2: not a text edge list (not UTF-8)",
        ),
        ("empty", Vec::new(), ": no ties"),
        ("comments", b"# only\n% this\n\n".to_vec(), ": no ties"),
    ] {
        let path = std::env::temp_dir().join(format!(
            "emergence-graph-test-{tag}-{}.txt",
            std::process::id()
        ));
        std::fs::write(&path, &bytes).unwrap();
        let m = bad_input_message(read_graph_file(&path, IdBase::Auto));
        let _ = std::fs::remove_file(&path);
        assert!(m.contains(expected), "{tag}: {m}");
    }
    // An endless line is refused at the bound, without reading the rest.
    let long = "1".repeat(emergence::graph::import::MAX_LINE_BYTES + 10);
    let m = bad_input_message(import("long", &format!("0 1\n{long}"), IdBase::Auto));
    assert!(
        m.contains(":2: not a text edge list (a line longer than 65536 bytes)"),
        "{m}"
    );
    // A malformed line is quoted, but never more than 200 bytes of it.
    let wide = format!("0 1 {}", "x".repeat(5000));
    let m = bad_input_message(import("wide", &wide, IdBase::Auto));
    assert!(m.len() < 400 && m.contains('…'), "{} bytes: {m}", m.len());
    let m = bad_input_message(read_graph_file(&std::env::temp_dir(), IdBase::Auto));
    assert!(m.contains("is a directory"), "{m}");
}

#[test]
fn import_missing_file() {
    let path = std::env::temp_dir().join("emergence-graph-test-no-such-file.txt");
    let m = bad_input_message(read_graph_file(&path, IdBase::Auto));
    assert!(
        m.starts_with(&format!("{}: cannot read graph file: ", path.display())),
        "{m}"
    );
}

#[test]
fn import_drops_and_counts_self_loops_and_duplicates() {
    let text = "0 1 0.5\n1 1 0.3\n1 0 0.9\n2 3 1\n0 1 0.1\n3 2 2\n4 4 1\n";
    let (g, r) = import("dups", text, IdBase::Zero).unwrap();
    assert_eq!((r.self_loops, r.duplicates), (2, 3));
    assert_eq!(g.edges, vec![(0, 1), (2, 3)]);
    assert_eq!(g.weights, Some(vec![0.5, 1.0]));
    // The self-loop still counts as the agent's existence.
    assert_eq!(g.n, 5);
}
