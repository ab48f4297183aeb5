//! The community tracker (`analysis::community_tracker`) on planted partitions with
//! scheduled births, a merge, a split and a death, under 5% label noise: ids persist,
//! the events are exactly the planted ones, the state round-trips through a checkpoint;
//! and in a lifecycle run: `communities.parquet`, `community_events.parquet` and the
//! `communities` summary.

use crate::common::scratch;
use emergence::analysis::community_tracker::{CommunityTracker, EventKind, Sample, TrackerParams};
use emergence::backend::BackendChoice;
use emergence::graph::{Csr, EdgeList};
use emergence::rng;
use emergence::run::{run, RunOptions};

const N: u32 = 600;
const SAMPLES: u32 = 12;

/// The planted groups at sample `s`, as ranges of agents: A = 0..80 and B = 80..120
/// merge at sample 5 (the merged group continues the larger, A); C = 120..200 splits into 120..170 and 170..200 at sample 7; D =
/// 200..260 is born at sample 3 and loses its ties at sample 9.
fn groups(s: u32) -> Vec<std::ops::Range<u32>> {
    let mut g = Vec::new();
    if s < 5 {
        g.push(0..80);
        g.push(80..120);
    } else {
        g.push(0..120);
    }
    if s < 7 {
        g.push(120..200);
    } else {
        g.push(120..170);
        g.push(170..200);
    }
    if (3..9).contains(&s) {
        g.push(200..260);
    }
    g
}

/// The graph of sample `s` (a ring and chords inside each group) and its labels: each
/// group labelled by its smallest agent, except 5% of the agents (a fresh draw each
/// sample), which get the label of another group.
fn planted(s: u32) -> (Csr, Vec<u32>) {
    let gs = groups(s);
    let mut edges = Vec::new();
    let mut labels: Vec<u32> = (0..N).collect();
    for g in &gs {
        let len = g.end - g.start;
        for k in 0..len {
            let (a, b, c) = (
                g.start + k,
                g.start + (k + 1) % len,
                g.start + (k + 7) % len,
            );
            edges.push((a.min(b), a.max(b)));
            edges.push((a.min(c), a.max(c)));
            labels[a as usize] = g.start;
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for i in 0..N {
        let r = rng::rand4(7, s, i, 99);
        if r[0] % 100 < 5 {
            let other = &gs[r[1] as usize % gs.len()];
            labels[i as usize] = other.start;
        }
    }
    (
        Csr::from_edges(&EdgeList {
            n: N,
            edges,
            weights: None,
        }),
        labels,
    )
}

fn observe(t: &mut CommunityTracker, s: u32) {
    let (graph, labels) = planted(s);
    let zeros = vec![0.0f32; N as usize];
    let growth = vec![0.0f64; N as usize];
    t.observe(&Sample {
        tick: 50 * s as u64,
        graph: &graph,
        labels: &labels,
        knowledge: &zeros,
        growth: &growth,
        phi: &zeros,
    });
}

/// The id of the tracked community holding most of the agents `around` at the last
/// sample (a noisy agent sits in another group now and then), if it holds at least half.
fn id_of(t: &CommunityTracker, around: std::ops::Range<u32>) -> Option<u64> {
    let len = around.len();
    t.alive()
        .into_iter()
        .map(|(id, m)| {
            (
                around
                    .clone()
                    .filter(|a| m.binary_search(a).is_ok())
                    .count(),
                id,
            )
        })
        .max()
        .filter(|&(count, _)| 2 * count >= len)
        .map(|(_, id)| id)
}

#[test]
fn planted_births_merges_splits_and_deaths_are_tracked_under_label_noise() {
    let mut t = CommunityTracker::new(TrackerParams::default());
    let mut ids = Vec::new();
    for s in 0..SAMPLES {
        observe(&mut t, s);
        // Parts of A, B, C, C's split-off part and D.
        ids.push([0..20, 90..110, 125..145, 180..195, 220..240].map(|r| id_of(&t, r)));
    }
    let (a, b, c) = (ids[0][0].unwrap(), ids[0][1].unwrap(), ids[0][2].unwrap());
    assert!(a != b && b != c && a != c);
    for (s, row) in ids.iter().enumerate() {
        let s = s as u32;
        // A keeps its id throughout; after the merge, B's agents are in A.
        assert_eq!(row[0], Some(a), "sample {s}");
        assert_eq!(row[1], Some(if s < 5 { b } else { a }), "sample {s}");
        // C keeps its id through the split; the split-off part gets a new one.
        assert_eq!(row[2], Some(c), "sample {s}");
        if s < 7 {
            assert_eq!(row[3], Some(c), "sample {s}");
        } else {
            assert!(row[3].is_some() && row[3] != Some(c), "sample {s}: {row:?}");
        }
        assert_eq!(row[4].is_some(), (3..9).contains(&s), "sample {s}: {row:?}");
    }
    let d = ids[3][4].unwrap();
    let split_off = ids[7][3].unwrap();
    let events: Vec<(u64, EventKind, u64, Option<u64>)> = t
        .events
        .iter()
        .map(|e| (e.tick, e.kind, e.id, e.other))
        .collect();
    let expected = vec![
        (0, EventKind::Birth, a, None),
        (0, EventKind::Birth, b, None),
        (0, EventKind::Birth, c, None),
        (150, EventKind::Birth, d, None),
        (250, EventKind::Merge, b, Some(a)),
        (350, EventKind::Split, split_off, Some(c)),
        // Unmatched at sample 9 (tick 450), dormant for one sample, dead at the next.
        (500, EventKind::Death, d, None),
    ];
    let mut sorted = events.clone();
    sorted.sort_by_key(|e| (e.0, e.2));
    assert_eq!(
        sorted, expected,
        "every event, and only those (5% label noise)"
    );
    // Sizes: the planted size less the noisy agents (≈ 5%).
    for r in t.rows.iter().filter(|r| r.id == a && r.tick < 250) {
        assert!((72..=80).contains(&r.size), "{r:?}");
        assert!(r.density > 0.0 && r.density <= 1.0);
    }
    let summary = t.summary(550, Some(200));
    assert_eq!(summary["tracked"], 5);
    assert_eq!(summary["merges"], 1);
    assert_eq!(summary["splits"], 1);
    assert_eq!(summary["deaths"], 1);
    // Lived ≥ 100 ticks: all five (B 250, D 300, the split-off part 200).
    assert_eq!(summary["communities_of_practice"], 5);
    assert_eq!(
        summary["absorbed_into_system_of_influence"], 1,
        "B merged at 250 ≥ 200"
    );
}

#[test]
fn the_tracker_state_round_trips_and_continues_identically() {
    let mut whole = CommunityTracker::new(TrackerParams::default());
    let mut first = CommunityTracker::new(TrackerParams::default());
    for s in 0..6 {
        observe(&mut whole, s);
        observe(&mut first, s);
    }
    let (w, f) = first.to_parts();
    let mut resumed = CommunityTracker::from_parts(TrackerParams::default(), &w, &f).unwrap();
    assert_eq!(resumed, first);
    for s in 6..SAMPLES {
        observe(&mut whole, s);
        observe(&mut resumed, s);
    }
    assert_eq!(resumed, whole);
    assert!(
        CommunityTracker::from_parts(TrackerParams::default(), &w[..w.len() - 1], &f).is_none()
    );
}

#[test]
fn a_lifecycle_run_writes_its_communities() {
    let dir = scratch("communities-run");
    let report = run(&RunOptions {
        sets: vec!["agents=4000".into(), "ticks=1600".into()],
        out: Some(dir.join("r")),
        backend: BackendChoice::Cpu,
        ..Default::default()
    })
    .unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.dir.join("summary.json")).unwrap())
            .unwrap();
    let c = &summary["communities"];
    eprintln!("{c}");
    assert!(c["communities_of_practice"].as_u64().unwrap() >= 10, "{c}");
    assert!(c["peak_size"]["max"].as_f64().unwrap() >= 20.0, "{c}");
    assert!(c["merges"].as_u64().unwrap() > 0, "{c}");
    // The jump (stage 3 at ≈ 1,100) absorbs communities into the system of influence.
    assert!(
        c["absorbed_into_system_of_influence"].as_u64().unwrap() > 0,
        "{c}"
    );
    for f in ["communities.parquet", "community_events.parquet"] {
        assert!(report.dir.join(f).is_file(), "{f}");
    }
}
