//! What the bench targets share: short runs, so a whole target takes seconds (raise them
//! with criterion's own flags, e.g. `-- --measurement-time 10`).

use criterion::Criterion;
use std::str::FromStr;
use std::time::Duration;

pub fn short() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// A size from the environment variable `name`, or `default`.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
