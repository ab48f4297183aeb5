//! A model is one folder plus one registry line: a model defined here, in the test binary,
//! and registered at run time, goes through the library's `run`, `bench`, `scaling` and
//! `info` entry points, which know nothing of it.
//!
//! The model, `coin`: each tick every agent not yet heads turns heads with probability
//! θ (`model.theta`), so the heads share after T ticks is 1 − (1 − θ)^T.

use crate::common::scratch;
use emergence::backend::{Backend, BackendChoice};
use emergence::engine::{Collected, Interval, Per, Rows, Simulation, State, Values};
use emergence::error::{Error, Result};
use emergence::io::MetricsTable;
use emergence::model::{self, DeviceBuffer, Model, Outcome, Run, Size, Start};
use emergence::rng;
use std::collections::VecDeque;
use std::path::PathBuf;

struct Coin;

struct CoinSim {
    theta: f64,
    seed: u32,
    every: u32,
    tick: u32,
    heads: Vec<u32>,
    done: VecDeque<Collected>,
}

impl CoinSim {
    fn row(&self) -> Vec<f64> {
        let heads: u64 = self.heads.iter().map(|&h| h as u64).sum();
        vec![self.tick as f64, heads as f64 / self.heads.len() as f64]
    }
}

impl Simulation for CoinSim {
    fn columns(&self) -> &'static [&'static str] {
        &["tick", "heads"]
    }
    fn start_tick(&self) -> u64 {
        self.tick as u64
    }
    fn rows(&self) -> Rows {
        Rows::Every(self.every)
    }
    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>> {
        Ok(vec![self.row()])
    }
    fn submit(&mut self, iv: Interval) -> Result<()> {
        let cut = rng::threshold_24(self.theta);
        for _ in 0..iv.ticks {
            self.tick += 1;
            for (i, h) in self.heads.iter_mut().enumerate() {
                if (rng::rand(self.seed, self.tick, i as u32, 200) >> 8) < cut {
                    *h = 1;
                }
            }
        }
        let rows = if iv.row { vec![self.row()] } else { vec![] };
        self.done.push_back(Collected { rows, frame: None });
        Ok(())
    }
    fn collect(&mut self) -> Result<Collected> {
        Ok(self.done.pop_front().expect("collect after submit"))
    }
    fn state(&mut self) -> Result<State> {
        Ok(State::new("coin", self.tick as u64).with(
            "heads",
            Per::Agent,
            Values::U32(self.heads.clone()),
        ))
    }
    fn set_state(&mut self, state: &State) -> Result<()> {
        state.check("coin", self.heads.len(), 0)?;
        self.heads = state.u32s("heads")?.to_vec();
        self.tick = state.tick as u32;
        Ok(())
    }
}

impl Run for CoinSim {
    fn finish(self: Box<Self>, _table: &MetricsTable) -> Result<Outcome> {
        Ok(Outcome {
            result: Some(serde_json::json!({
                "theory_heads": 1.0 - (1.0 - self.theta).powi(self.tick as i32),
            })),
            ..Default::default()
        })
    }
}

impl Model for Coin {
    fn name(&self) -> &'static str {
        "coin"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["tick", "heads"]
    }
    fn order_column(&self) -> &'static str {
        "heads"
    }
    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer> {
        vec![DeviceBuffer::new("heads", 4 * size.agents)]
    }
    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>> {
        if let Backend::Gpu(_) = backend {
            return Err(Error::bad_input(
                "coin: the test model runs on the CPU only",
            ));
        }
        Ok(Box::new(CoinSim {
            theta: start
                .loaded
                .scenario
                .model
                .registered_keys()
                .and_then(|k| k.get("theta"))
                .and_then(toml::Value::as_float)
                .unwrap_or(0.5),
            seed: start.seed(),
            every: start.metrics_every(),
            tick: 0,
            heads: vec![0; start.n() as usize],
            done: VecDeque::new(),
        }))
    }
}

static COIN: Coin = Coin;

/// Register `coin` once for the whole test binary; write its scenario into `dir`.
fn coin_scenario(dir: &std::path::Path) -> PathBuf {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| model::register(&COIN).unwrap());
    let path = dir.join("coin.toml");
    std::fs::write(
        &path,
        "agents = 2000\nticks = 20\nmetrics_every = 5\nseed = 3\n[graph]\nkind = \"empty\"\n[model]\nkind = \"coin\"\ntheta = 0.05\n",
    )
    .unwrap();
    path
}

#[test]
fn a_model_registered_by_the_test_runs_through_run() {
    let dir = scratch("extension-run");
    let config = coin_scenario(&dir);
    let report = emergence::run::run(&emergence::run::RunOptions {
        config: Some(config),
        out: Some(dir.join("run")),
        backend: BackendChoice::Cpu,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(report.summary.model, "coin");
    assert_eq!(report.metrics.columns, ["tick", "heads"]);
    let ticks = report.metrics.column("tick").unwrap();
    assert_eq!(ticks, [0.0, 5.0, 10.0, 15.0, 20.0]);
    // 1 − 0.95^20 = 0.6415; per-run sd sqrt(p(1 − p)/N) = 0.0107 at N = 2000.
    let p = 1.0 - 0.95f64.powi(20);
    let heads = report.metrics.last("heads").unwrap();
    assert!(
        (heads - p).abs() <= 4.0 * (p * (1.0 - p) / 2000.0).sqrt(),
        "{heads}"
    );
    let summary = std::fs::read_to_string(dir.join("run/summary.json")).unwrap();
    assert!(summary.contains("\"theory_heads\""), "{summary}");
    // An unregistered kind is refused, naming the models there are.
    let e = emergence::config::load(Some(&dir.join("coin.toml")), &["model.kind=dice".into()])
        .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("coin") && e.to_string().contains("lifecycle"),
        "{e}"
    );
}

#[test]
fn a_model_registered_by_the_test_is_benchmarked_and_listed() {
    let dir = scratch("extension-bench");
    let config = coin_scenario(&dir);
    let report = emergence::bench::bench(Some(config), &[], BackendChoice::Cpu, None, 1).unwrap();
    assert_eq!(report.model, "coin");
    assert_eq!(report.backends[0].ticks, 20);
    assert_eq!(report.device_bytes, 4 * 2000);
    let info = emergence::info::info(None).unwrap();
    let coin = info
        .models
        .iter()
        .find(|m| m.model == "coin")
        .expect("listed");
    assert_eq!(coin.bytes_at_1e6, 4_000_000);
}

#[test]
fn a_model_registered_by_the_test_is_swept_by_scaling() {
    let dir = scratch("extension-scaling");
    let config = coin_scenario(&dir);
    let (_, report) = emergence::scaling::scaling(&emergence::scaling::ScalingOptions {
        config: Some(config.clone()),
        sets: vec![],
        param: "model.theta".into(),
        range: "0.01:0.2:4".into(),
        agents: vec![500, 1000],
        seeds: 2,
        order: None,
        bisect: 0,
        level: 0.5,
        backend: BackendChoice::Cpu,
        adapter: None,
        out: Some(dir.join("scaling")),
        force: false,
    })
    .unwrap();
    assert_eq!(report.model, "coin");
    assert_eq!(report.order, "heads");
    assert_eq!(report.points.len(), 8);
    for n in [500, 1000] {
        let means: Vec<f64> = report
            .points
            .iter()
            .filter(|p| p.agents == n)
            .map(|p| p.mean)
            .collect();
        assert!(means.windows(2).all(|w| w[0] < w[1]), "{n}: {means:?}");
    }
    // A lower level of a rising curve is crossed at a lower value, by the mean curve and
    // by every seed; the slope there is the mean curve's rise over that grid interval.
    let at = |level: f64, out: &str| {
        emergence::scaling::scaling(&emergence::scaling::ScalingOptions {
            config: Some(config.clone()),
            sets: vec![],
            param: "model.theta".into(),
            range: "0.01:0.2:4".into(),
            agents: vec![1000],
            seeds: 3,
            order: None,
            bisect: 2,
            level,
            backend: BackendChoice::Cpu,
            adapter: None,
            out: Some(dir.join(out)),
            force: false,
        })
        .unwrap()
        .1
    };
    let (half, low) = (at(0.5, "half"), at(0.3, "low"));
    assert_eq!(low.level, 0.3);
    let (h, l) = (&half.sizes[0], &low.sizes[0]);
    assert!(l.crossing.unwrap() < h.crossing.unwrap(), "{l:?} {h:?}");
    for (a, b) in l.seed_crossings.iter().zip(&h.seed_crossings) {
        assert!(a.unwrap() < b.unwrap(), "{a:?} {b:?}");
    }
    assert!(h.slope.unwrap() > 0.0);
    // The heads share 1 − (1 − θ)^T still grows over the last fifth of the 20 ticks
    // (from the row at tick 15), by 0.024–0.042 over this range: no plateau, and the
    // report says so.
    // A seed's rise is binomial: sd ≈ sqrt(expected / N); the band is 4·sd/√seeds.
    for p in &half.points {
        let expected = (1.0 - p.value).powi(15) - (1.0 - p.value).powi(20);
        let band = 4.0 * (expected / 1000.0).sqrt() / 3f64.sqrt();
        assert!(
            (p.late_change - expected).abs() < band,
            "θ = {}: {} against {expected}",
            p.value,
            p.late_change
        );
    }
}
