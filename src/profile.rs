//! `run --profile`: where a run's time goes, pass by pass. A model that times its passes
//! ([`crate::engine::Simulation::set_profiling`]) reports, per pass, how often it ran and
//! the time it took — device time from timestamp queries on the GPU backend, wall time of
//! the pass on the CPU backend — and the bytes its bindings move per call
//! ([`crate::model::Model::traffic`]) turn that into GB/s and, where the adapter's memory
//! bandwidth is known ([`crate::roofline`]), a fraction of its peak. The driver times every
//! model's intervals as a whole, so a model without per-pass timing still gets one line.
//! Written to `profile.json` in the run directory and printed as a table at the end.

use crate::roofline::{Bandwidth, PassTraffic, Phase};
use serde::Serialize;

/// The time of one pass over a run, as a model measured it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PassTime {
    pub pass: String,
    pub calls: u64,
    pub seconds: f64,
}

/// Pass times as they are gathered.
#[derive(Debug, Default, Clone)]
pub struct PassTimes(Vec<PassTime>);

impl PassTimes {
    /// Add `calls` calls of `pass` that took `seconds`.
    pub fn add(&mut self, pass: &str, calls: u64, seconds: f64) {
        match self.0.iter_mut().find(|p| p.pass == pass) {
            Some(p) => {
                p.calls += calls;
                p.seconds += seconds;
            }
            None => self.0.push(PassTime {
                pass: pass.to_string(),
                calls,
                seconds,
            }),
        }
    }

    pub fn into_vec(self) -> Vec<PassTime> {
        self.0
    }
}

/// One line of the profile.
#[derive(Debug, Clone, Serialize)]
pub struct PassProfile {
    pub pass: String,
    pub calls: u64,
    pub seconds: f64,
    pub seconds_per_call: f64,
    /// Share of the profiled time.
    pub share: f64,
    /// Bytes one call reads and writes, counted from its kernels' bindings (an upper
    /// bound); null where the model declares no traffic for it.
    pub bytes_per_call: Option<u64>,
    pub gb_per_s: Option<f64>,
    /// `gb_per_s` over the adapter's peak memory bandwidth, where it is known.
    pub fraction_of_peak: Option<f64>,
}

/// A run's profile (`profile.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub model: String,
    pub backend: String,
    pub adapter: String,
    /// How the passes were timed.
    pub clock: String,
    pub agents: u64,
    /// Ticks run in this process (a resumed run counts from its checkpoint).
    pub ticks: u64,
    pub rows: u64,
    /// Wall time of the driver's intervals (submission to collection).
    pub driver_s: f64,
    pub passes: Vec<PassProfile>,
    /// The peak bandwidth the fractions are taken of, when known.
    pub bandwidth: Option<Bandwidth>,
}

/// Bytes one call of each timed pass moves: the sum of the model's traffic entries of a
/// tick's pass group (`psi`, `agents`, `weights`, `search`, per tick), and of the whole
/// metrics row (`metrics row`, per row).
pub fn bytes_per_call(traffic: &[PassTraffic], pass: &str) -> Option<u64> {
    let entries: Vec<&PassTraffic> = match pass {
        "metrics row" => traffic
            .iter()
            .filter(|t| t.phase == Phase::Metrics)
            .collect(),
        group => traffic
            .iter()
            .filter(|t| t.phase == Phase::Tick && t.group.as_deref() == Some(group))
            .collect(),
    };
    (!entries.is_empty()).then(|| entries.iter().map(|t| t.bytes()).sum())
}

/// What the driver hands back of a profiled run.
#[derive(Debug, Clone, Default)]
pub struct Profiled {
    pub clock: String,
    pub passes: Vec<PassTime>,
    pub driver_s: f64,
    pub rows: u64,
}

#[allow(clippy::too_many_arguments)]
pub fn profile(
    profiled: Profiled,
    model: &str,
    backend: &str,
    adapter: &str,
    agents: u64,
    ticks: u64,
    traffic: &[PassTraffic],
    bandwidth: Option<Bandwidth>,
) -> Profile {
    let total: f64 = profiled.passes.iter().map(|p| p.seconds).sum();
    let passes = profiled
        .passes
        .iter()
        .map(|p| {
            let bytes_per_call = bytes_per_call(traffic, &p.pass);
            let gb_per_s = bytes_per_call
                .filter(|_| p.seconds > 0.0)
                .map(|b| b as f64 * p.calls as f64 / p.seconds / 1e9);
            PassProfile {
                pass: p.pass.clone(),
                calls: p.calls,
                seconds: p.seconds,
                seconds_per_call: p.seconds / p.calls.max(1) as f64,
                share: if total > 0.0 { p.seconds / total } else { 0.0 },
                bytes_per_call,
                gb_per_s,
                fraction_of_peak: gb_per_s
                    .zip(bandwidth.as_ref())
                    .map(|(g, b)| g / b.gb_per_s),
            }
        })
        .collect();
    Profile {
        model: model.into(),
        backend: backend.into(),
        adapter: adapter.into(),
        clock: profiled.clock,
        agents,
        ticks,
        rows: profiled.rows,
        driver_s: profiled.driver_s,
        passes,
        bandwidth,
    }
}

impl Profile {
    /// The table printed at the end of a profiled run, one line each.
    pub fn table(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "profile ({}, {}): {} ticks and {} rows in {:.3} s of intervals",
                self.backend, self.clock, self.ticks, self.rows, self.driver_s
            ),
            format!(
                "{:<14} {:>8} {:>11} {:>12} {:>6} {:>12} {:>8} {:>8}",
                "pass", "calls", "total s", "per call", "share", "bytes/call", "GB/s", "of peak"
            ),
        ];
        for p in &self.passes {
            let opt = |v: Option<f64>, digits: usize| {
                v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
            };
            out.push(format!(
                "{:<14} {:>8} {:>11.4} {:>10.1} µs {:>6.3} {:>12} {:>8} {:>8}",
                p.pass,
                p.calls,
                p.seconds,
                p.seconds_per_call * 1e6,
                p.share,
                p.bytes_per_call.map_or("-".to_string(), |b| b.to_string()),
                opt(p.gb_per_s, 2),
                opt(p.fraction_of_peak, 3)
            ));
        }
        out
    }
}
