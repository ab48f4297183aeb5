//! What the bench targets share: short runs, so a whole target takes seconds (raise them
//! with criterion's own flags, e.g. `-- --measurement-time 10`).

use criterion::Criterion;
use std::time::Duration;

pub fn short() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
