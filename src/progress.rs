//! Progress of long work: a bar on a terminal, periodic log lines in a batch log
//! (stderr not a terminal), so Slurm logs stay readable. A log line carries the tick,
//! the rate and (for a model with stages) the current stage as fields, which
//! `--log-format json` writes as keys of their own.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    unit: &'static str,
    last_log: Mutex<Instant>,
    /// When and where the counting started, for the rate.
    first: Mutex<Option<(Instant, u64)>>,
}

/// Time between log lines when stderr is not a terminal: 10 s, or
/// `EMERGENCE_PROGRESS_EVERY_S` seconds.
fn log_every() -> Duration {
    std::env::var("EMERGENCE_PROGRESS_EVERY_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}

impl Progress {
    pub fn new(total: u64, unit: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} {prefix} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(unit);
            bar
        });
        Progress {
            bar,
            unit,
            last_log: Mutex::new(Instant::now()),
            first: Mutex::new(None),
        }
    }

    /// Progress that shows nothing (inner runs of a sweep, which report their own).
    pub fn hidden() -> Self {
        Progress {
            bar: None,
            unit: "",
            last_log: Mutex::new(Instant::now() + Duration::from_secs(365 * 86_400)),
            first: Mutex::new(None),
        }
    }

    pub fn update(&self, done: u64, message: &str) {
        self.update_with(done, message, || None);
    }

    /// [`Progress::update`] of a run whose log line also names its current stage
    /// (`stage` is asked only when a line is written).
    pub fn update_with(&self, done: u64, message: &str, stage: impl FnOnce() -> Option<u32>) {
        if self.unit.is_empty() {
            return;
        }
        let rate = {
            let mut first = self.first.lock().expect("not poisoned");
            let (t0, d0) = *first.get_or_insert((Instant::now(), done));
            let s = t0.elapsed().as_secs_f64();
            if s > 0.0 {
                done.saturating_sub(d0) as f64 / s
            } else {
                0.0
            }
        };
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(message.to_string());
        } else {
            let mut last = self.last_log.lock().expect("not poisoned");
            // A line says how far the run got: none before its first row.
            if !message.is_empty() && last.elapsed() >= log_every() {
                *last = Instant::now();
                let rate = (rate * 10.0).round() / 10.0;
                match stage() {
                    Some(stage) => tracing::info!(
                        tick = done,
                        ticks_per_s = rate,
                        stage,
                        "{done} {}: {message}",
                        self.unit
                    ),
                    None => tracing::info!(
                        tick = done,
                        ticks_per_s = rate,
                        "{done} {}: {message}",
                        self.unit
                    ),
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
