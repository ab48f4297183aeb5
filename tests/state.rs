//! A model's state as named arrays (engine::State): a run of 2T ticks equals a run of T
//! ticks whose state is taken, put into a fresh simulation of the same scenario, and run
//! for T more, row for row and array for array, for every model on each backend.

use crate::common::{gpu, scenario, started};
use emergence::backend::Backend;
use emergence::config;
use emergence::engine::{drive, Drive, State};
use emergence::graph::build_graph;
use emergence::io::MetricsTable;

/// (config, agents, T): T ticks before the state is taken and T after; the models that
/// stop at a fixed point are sized so that they are still going at T.
const CASES: [(&str, u32, u64); 6] = [
    ("lifecycle", 1500, 150),
    ("threshold", 20000, 3),
    ("sir", 20000, 6),
    ("deffuant", 1500, 200),
    ("voter", 400, 100),
    ("kuramoto", 800, 200),
];

fn loaded(config: &str, agents: u32) -> config::Loaded {
    scenario(config, agents, 5)
}

fn rows_after(table: &MetricsTable, tick: u64) -> Vec<Vec<f64>> {
    table
        .rows
        .iter()
        .filter(|r| r[0] as u64 > tick)
        .cloned()
        .collect()
}

fn resume_equals_straight(backend: &Backend) {
    for (config, agents, t) in CASES {
        let loaded = loaded(config, agents);
        let (edges, graph, csr) = build_graph(&loaded).unwrap();
        // Straight: 2T ticks.
        let mut straight = started(&loaded, &graph, &edges, &csr, backend);
        let whole = drive(straight.as_mut(), Drive::quiet(2 * t)).unwrap().table;
        let end: State = straight.state().unwrap();
        // T ticks, the state, a fresh simulation, T more.
        let mut first = started(&loaded, &graph, &edges, &csr, backend);
        let half = drive(first.as_mut(), Drive::quiet(t)).unwrap().table;
        let middle = first.state().unwrap();
        assert_eq!(middle.tick, t, "{config}: the state's tick");
        drop(first);
        let mut second = started(&loaded, &graph, &edges, &csr, backend);
        second.set_state(&middle).unwrap();
        let rest = drive(second.as_mut(), Drive::quiet(t).resumed())
            .unwrap()
            .table;
        let resumed_end = second.state().unwrap();
        assert!(
            !rest.rows.is_empty(),
            "{config}: the resumed half made no rows, so it tests nothing"
        );
        // Bit for bit (an undefined value, NaN, equals itself).
        let bits = |rows: &[Vec<f64>]| -> Vec<Vec<u64>> {
            rows.iter()
                .map(|r| r.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert_eq!(
            bits(&half.rows),
            bits(&whole.rows[..half.rows.len()]),
            "{config}: first half"
        );
        assert_eq!(
            bits(&rest.rows),
            bits(&rows_after(&whole, t)),
            "{config}: the resumed rows"
        );
        assert_eq!(resumed_end, end, "{config}: the final state");
        // The state names its arrays and types, and a state of another model is refused.
        assert!(!end.fields.is_empty());
        let mut other = middle.clone();
        other.model = "not-this-model".into();
        let mut fresh = started(&loaded, &graph, &edges, &csr, backend);
        assert!(
            fresh.set_state(&other).is_err(),
            "{config}: a foreign state"
        );
    }
}

#[test]
fn resumed_state_continues_bit_for_bit_on_the_cpu() {
    resume_equals_straight(&Backend::Cpu);
}

#[test]
fn resumed_state_continues_bit_for_bit_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    resume_equals_straight(&Backend::Gpu(ctx));
}
