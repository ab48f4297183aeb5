//! Progress of long work: a bar on a terminal, periodic log lines in a batch log
//! (stderr not a terminal), so Slurm logs stay readable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    unit: &'static str,
    last_log: Mutex<Instant>,
}

/// Seconds between log lines when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

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
        }
    }

    /// Progress that shows nothing (inner runs of a sweep, which report their own).
    pub fn hidden() -> Self {
        Progress {
            bar: None,
            unit: "",
            last_log: Mutex::new(Instant::now() + Duration::from_secs(365 * 86_400)),
        }
    }

    pub fn update(&self, done: u64, message: &str) {
        if self.unit.is_empty() {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(message.to_string());
        } else {
            let mut last = self.last_log.lock().expect("not poisoned");
            if last.elapsed() >= LOG_EVERY {
                *last = Instant::now();
                tracing::info!("{done} {}: {message}", self.unit);
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
