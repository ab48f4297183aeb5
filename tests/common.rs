//! Helpers shared by the test modules.

use emergence::gpu::GpuContext;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A GPU context on the default adapter (lavapipe in CI). Without an adapter the GPU
/// tests skip, unless EMERGENCE_REQUIRE_GPU=1, when they fail loudly instead.
pub fn gpu() -> Option<GpuContext> {
    match GpuContext::new(None) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            if std::env::var("EMERGENCE_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("EMERGENCE_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            let test = std::thread::current().name().unwrap_or("?").to_string();
            eprintln!("SKIPPED: {test} (no GPU adapter: {e})");
            println!("SKIPPED: {test} (no GPU adapter: {e})");
            None
        }
    }
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("emergence-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Mean and sample standard deviation.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Run the real binary in `cwd`, as a user or a batch script would.
pub fn emergence(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs")
}

/// [`emergence`] with environment variables set (a job array's, a memory limit).
pub fn emergence_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

/// `configs/<config>.toml` at `agents` agents and `seed`.
pub fn scenario(config: &str, agents: u32, seed: u32) -> emergence::config::Loaded {
    let path = format!("{}/configs/{config}.toml", env!("CARGO_MANIFEST_DIR"));
    let sets = vec![format!("agents={agents}"), format!("seed={seed}")];
    emergence::config::load(Some(path.as_ref()), &sets).unwrap()
}

/// The scenario's model started on `backend` from a copy of the graph (no frames).
pub fn started<'a>(
    loaded: &'a emergence::config::Loaded,
    graph: &'a emergence::graph::GraphSummary,
    edges: &emergence::graph::EdgeList,
    csr: &emergence::graph::Csr,
    backend: &'a emergence::backend::Backend,
) -> Box<dyn emergence::model::Run + 'a> {
    let model = emergence::model::find(loaded.scenario.model.kind()).unwrap();
    let start = emergence::model::Start {
        loaded,
        graph,
        edges: edges.clone(),
        csr: csr.clone(),
        render: None,
    };
    model.start(start, backend).unwrap()
}

/// A checkpoint sink that keeps what the driver hands it.
#[derive(Default)]
pub struct Kept(pub Vec<(emergence::engine::State, emergence::io::MetricsTable)>);

impl emergence::engine::CheckpointSink for Kept {
    fn save(
        &mut self,
        state: &emergence::engine::State,
        table: &emergence::io::MetricsTable,
    ) -> emergence::error::Result<()> {
        self.0.push((state.clone(), table.clone()));
        Ok(())
    }
}
