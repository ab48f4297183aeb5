//! Checkpoints through the driver and the file format: a run of 2T ticks equals a run
//! checkpointed at T, read back from its file into a fresh simulation and run for T
//! more (rows and final state, bit for bit), for the lifecycle and two classical models
//! on each backend; checkpoint stops do not change a run; a stop flag checkpoints and
//! stops; a corrupt, truncated or foreign file is refused.

use crate::common::{gpu, scenario, scratch, started, Kept};
use emergence::backend::Backend;
use emergence::config;
use emergence::engine::{drive, Checkpoints, Drive, State};
use emergence::graph::build_graph;
use emergence::io::checkpoint::{self, Identity};
use emergence::io::MetricsTable;
use std::sync::atomic::{AtomicBool, Ordering};

/// (config, agents, T): the lifecycle (rows every `metrics_every`), the voter model (a
/// tie store that rewires) and the cascade (a row per sweep, collected in batches).
const CASES: [(&str, u32, u64); 3] = [
    ("lifecycle", 1500, 150),
    ("voter", 400, 100),
    ("threshold", 20000, 3),
];

fn loaded(config: &str, agents: u32) -> config::Loaded {
    scenario(config, agents, 9)
}

fn identity(model: &str, backend: &Backend) -> Identity {
    Identity {
        model: model.into(),
        backend: backend.name().into(),
        tick: 0,
        config_sha256: "0".repeat(64),
    }
}

fn resume_from_file_equals_straight(backend: &Backend, name: &str) {
    let dir = scratch(&format!("checkpoint-{name}"));
    for (config, agents, t) in CASES {
        let loaded = loaded(config, agents);
        let (edges, graph, csr) = build_graph(&loaded).unwrap();
        // Straight: 2T ticks, no checkpoints.
        let mut straight = started(&loaded, &graph, &edges, &csr, backend);
        let whole = drive(straight.as_mut(), Drive::quiet(2 * t)).unwrap().table;
        let end = straight.state().unwrap();
        drop(straight);
        // The same 2T ticks with a checkpoint at T (and at the end): the stops for the
        // checkpoints change nothing.
        let mut kept = Kept::default();
        let mut with = started(&loaded, &graph, &edges, &csr, backend);
        let mut drive_with = Drive::quiet(2 * t);
        drive_with.checkpoints = Some(Checkpoints {
            every_ticks: Some(t),
            every: None,
            stop: None,
            at_end: true,
            sink: &mut kept,
        });
        let checkpointed = drive(with.as_mut(), drive_with).unwrap();
        drop(with);
        assert!(
            checkpointed.table == whole,
            "{config}: checkpoints changed the rows"
        );
        assert_eq!(kept.0.len(), 2, "{config}: checkpoints at T and at the end");
        let (middle, rows_so_far) = &kept.0[0];
        assert_eq!(middle.tick, t, "{config}: the checkpoint's tick");
        // (assert! rather than assert_eq!: a state is too long to print.)
        assert!(
            kept.0[1].0 == end,
            "{config}: the final checkpoint is the final state"
        );
        // Through the file: written, read back, loaded into a fresh simulation.
        let file = dir.join(format!("{config}.ckpt"));
        let id = identity(config, backend);
        checkpoint::write(&file, &id, middle, rows_so_far).unwrap();
        let back = checkpoint::read(&file).unwrap();
        assert!(&back.state == middle, "{config}: the state read back");
        assert!(&back.table == rows_so_far, "{config}: the rows read back");
        let mut second = started(&loaded, &graph, &edges, &csr, backend);
        second.set_state(&back.state).unwrap();
        let rest = drive(second.as_mut(), Drive::quiet(t).resumed_from(back.table)).unwrap();
        assert!(
            rest.table.rows.len() > rows_so_far.rows.len(),
            "{config}: the resumed half made no rows, so it tests nothing"
        );
        assert!(rest.table == whole, "{config}: resumed rows");
        assert!(
            second.state().unwrap() == end,
            "{config}: resumed final state"
        );
    }
}

#[test]
fn a_run_resumed_from_its_checkpoint_file_equals_one_uninterrupted_on_the_cpu() {
    resume_from_file_equals_straight(&Backend::Cpu, "cpu");
}

#[test]
fn a_run_resumed_from_its_checkpoint_file_equals_one_uninterrupted_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    resume_from_file_equals_straight(&Backend::Gpu(ctx), "gpu");
}

/// Sets the stop flag once the run has `after` rows, as a signal would.
struct StopAfter<'a> {
    after: usize,
    flag: &'a AtomicBool,
}

impl emergence::engine::Observer for StopAfter<'_> {
    fn on_rows(&mut self, table: &MetricsTable) -> emergence::error::Result<()> {
        if table.rows.len() >= self.after {
            self.flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[test]
fn a_stop_checkpoints_the_state_reached_and_stops() {
    let loaded = loaded("lifecycle", 1000);
    let (edges, graph, csr) = build_graph(&loaded).unwrap();
    let backend = Backend::Cpu;
    let flag = AtomicBool::new(false);
    let mut kept = Kept::default();
    let mut stopper = StopAfter {
        after: 3,
        flag: &flag,
    };
    let mut sim = started(&loaded, &graph, &edges, &csr, &backend);
    let mut d = Drive::quiet(400);
    d.observers = vec![&mut stopper];
    d.checkpoints = Some(Checkpoints {
        every_ticks: None,
        every: None,
        stop: Some(&flag),
        at_end: true,
        sink: &mut kept,
    });
    let driven = drive(sim.as_mut(), d).unwrap();
    let stopped_at = driven.interrupted.expect("the run stopped");
    assert!(
        stopped_at < 400,
        "it stopped before the end, at {stopped_at}"
    );
    assert_eq!(kept.0.len(), 1, "one checkpoint, no final one");
    assert_eq!(kept.0[0].0.tick, stopped_at);
    assert_eq!(driven.table.rows.last().unwrap()[0] as u64, stopped_at);
}

#[test]
fn a_corrupt_truncated_or_foreign_checkpoint_is_refused() {
    let dir = scratch("checkpoint-bad");
    let state = State::new("voter", 7).with(
        "opinion",
        emergence::engine::Per::Agent,
        emergence::engine::Values::U32(vec![1, 2, 3]),
    );
    let mut table = MetricsTable::new(&["tick", "x"]);
    table.push(vec![7.0, 0.5]);
    let good = dir.join("good.ckpt");
    checkpoint::write(&good, &identity("voter", &Backend::Cpu), &state, &table).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let refused = |name: &str, contents: &[u8], says: &str| {
        let p = dir.join(name);
        std::fs::write(&p, contents).unwrap();
        let e = checkpoint::read(&p).unwrap_err().to_string();
        assert!(e.contains(says), "{name}: `{e}` should say `{says}`");
        assert!(
            e.contains(&p.display().to_string()),
            "{name}: names the file"
        );
    };
    let mut flipped = bytes.clone();
    let k = bytes.len() - 10;
    flipped[k] ^= 0x40;
    refused("flipped.ckpt", &flipped, "corrupt");
    refused("short.ckpt", &bytes[..bytes.len() - 7], "truncated");
    refused(
        "foreign.ckpt",
        b"tick,x\n7,0.5\n",
        "not a checkpoint of emergence",
    );
    let mut future = bytes.clone();
    future[8] = 99;
    refused("future.ckpt", &future, "format version 99");
    assert_eq!(checkpoint::read(&good).unwrap().state, state);
}

/// A simulation whose column `x` turns NaN at tick 5.
struct GoesNan {
    tick: u64,
}

impl emergence::engine::Simulation for GoesNan {
    fn columns(&self) -> &'static [&'static str] {
        &["tick", "x"]
    }
    fn start_tick(&self) -> u64 {
        0
    }
    fn rows(&self) -> emergence::engine::Rows {
        emergence::engine::Rows::Every(1)
    }
    fn initial_rows(&mut self) -> emergence::error::Result<Vec<Vec<f64>>> {
        Ok(vec![vec![0.0, 1.0]])
    }
    fn submit(&mut self, interval: emergence::engine::Interval) -> emergence::error::Result<()> {
        self.tick += interval.ticks as u64;
        Ok(())
    }
    fn collect(&mut self) -> emergence::error::Result<emergence::engine::Collected> {
        let x = if self.tick >= 5 { f64::NAN } else { 1.0 };
        Ok(emergence::engine::Collected {
            rows: vec![vec![self.tick as f64, x]],
            frame: None,
        })
    }
    fn state(&mut self) -> emergence::error::Result<State> {
        Ok(State::new("goes-nan", self.tick))
    }
    fn set_state(&mut self, state: &State) -> emergence::error::Result<()> {
        self.tick = state.tick;
        Ok(())
    }
}

#[test]
fn a_row_that_is_not_finite_stops_the_run_naming_tick_and_column() {
    let err = match drive(&mut GoesNan { tick: 0 }, Drive::quiet(10)) {
        Ok(_) => panic!("a NaN row was accepted"),
        Err(e) => e,
    };
    let m = err.to_string();
    assert!(matches!(err, emergence::error::Error::Failed(_)), "{m}");
    assert!(
        m.contains("tick 5") && m.contains("`x`") && m.contains("NaN"),
        "{m}"
    );
}
