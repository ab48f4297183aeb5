//! The command line (DESIGN's contract: extend these names, never rename them). Parsing
//! with clap, dispatch into the library, the signal handlers, and the mapping of errors
//! to exit codes: 0 ok, 1 the run failed, 2 bad input, 3 interrupted by a signal after a
//! checkpoint (resumable); a second signal ends the process at once (130 for SIGINT, 143
//! for SIGTERM).

use clap::{Args, Parser, Subcommand};
use emergence::backend::BackendChoice;
use emergence::error::Error;
use emergence::run::{self, RunOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use run::EXIT_INTERRUPTED;

#[derive(Parser, Debug)]
#[command(
    name = "emergence",
    version,
    about = "Simulate how local efforts become networks, communities of practice and a system of influence"
)]
pub struct Cli {
    /// Only warnings and errors on stderr (RUST_LOG cannot raise it above warnings).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log lines as text, or as one JSON object a line (time, level, message, and tick,
    /// ticks_per_s and stage on progress lines).
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write its run directory (config.toml, metrics.csv, summary.json).
    Run(Box<RunArgs>),
    /// List adapters, backends, the limits that bound a run and the largest N that fits.
    Info {
        /// A scenario: size its model's buffers with its mean degree and K (default: every
        /// model at mean degree 4 and K = 24).
        config: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Measure each backend's speed on a scenario (the same graph for all), with each
    /// pass's bytes and GB/s; or, with --predict GPU, predict it on a named GPU.
    Bench(BenchArgs),
    /// Finite-size scaling: sweep a control parameter at several N and fit how the
    /// transition sharpens.
    Scaling(ScalingArgs),
    /// Check every model against theory on one backend: a table of cases, exit 1 if any fails.
    Validate {
        /// The short suite (about a minute on two CPU cores): fewer runs and agents.
        #[arg(long)]
        quick: bool,
        /// Machine-readable output (a JSON array of cases).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// The stage detector on any lifecycle metrics table (CSV or Parquet): each stage's
    /// tick, confidence and evidence, the order they came in, and what the online tracker
    /// said row by row (docs/stages.md).
    Stages {
        /// A metrics table: a run's metrics.csv or metrics.parquet, or one edited by hand.
        metrics: PathBuf,
        /// N, the number of agents (default: from the summary.json beside the table).
        #[arg(long)]
        agents: Option<u32>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Plots (DIR/plots/*.png|svg) and a self-contained DIR/report.html from a run or a
    /// merged sweep.
    Report {
        /// A run directory (holds at least metrics.csv), or a merged sweep's tables
        /// (`sweep merge --out TABLES`): final metrics against each swept parameter with
        /// 95% intervals over replicates, and time series by parameter value.
        run_dir: PathBuf,
    },
    /// A run's snapshots as a dynamic GEXF (Gephi) or one snapshot as GraphML.
    Export(ExportArgs),
    /// Frames and a movie from a lifecycle run's saved snapshots, after the fact.
    Render(ReplayArgs),
    /// The same population and seeds under several scenarios (strategies of
    /// intervention): a table of outcomes with 95% intervals and paired differences from
    /// the first (docs/strategies.md).
    Compare(CompareArgs),
    /// Parameter sweeps and replicate ensembles, sharded for job arrays (docs/sweeps.md).
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Expand a sweep file into its runs (checking every run's scenario and memory plan).
    Plan {
        /// The sweep file (TOML: base, [grid], [[point]], seeds or replicates).
        sweep: PathBuf,
        /// The plan to write (JSON lines: a header, then one run a line).
        #[arg(short = 'o', long = "out", value_name = "PLAN")]
        out: PathBuf,
        /// Where the memory plans are checked: the host's memory (EMERGENCE_MEMORY_LIMIT
        /// gives a compute node's), and on the GPU backend the adapter's limits.
        #[command(flatten)]
        device: DeviceArgs,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run a shard of a plan into a sweep directory: one part file and one ledger line a run.
    Run(SweepRunArgs),
    /// Compact a sweep directory's parts into long.parquet and runs.parquet; exit 1 if
    /// runs are missing or failed.
    Merge {
        /// The sweep directory.
        dir: PathBuf,
        /// The folder for long.parquet, runs.parquet and merge.json.
        #[arg(long, value_name = "TABLES")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print the sbatch script of a sweep (a job array, one task a shard); plans it into
    /// --out first.
    Slurm(SlurmArgs),
    /// Count a sweep directory's runs: done, failed, pending.
    Status {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct SweepRunArgs {
    /// The plan (from `sweep plan`).
    pub plan: PathBuf,
    /// The sweep directory (created; shards of one plan share it).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// This shard's number, from 0 [default: SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN,
    /// or JOB_COMPLETION_INDEX, or the whole plan].
    #[arg(long)]
    pub shard: Option<u32>,
    /// The number of shards [default: SLURM_ARRAY_TASK_COUNT].
    #[arg(long)]
    pub num_shards: Option<u32>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Let --backend gpu use a software adapter (also EMERGENCE_ALLOW_SOFTWARE=1).
    #[arg(long)]
    pub allow_software: bool,
    /// Keep every finished run's full run directory under DIR/runs/.
    #[arg(long)]
    pub keep_runs: bool,
    /// Runs at once in this process, admitted by their memory plans.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub concurrent: u32,
    /// Bytes the runs in flight may plan together [default: the available host memory on
    /// the CPU backend; on the GPU only --concurrent bounds them].
    #[arg(long, value_name = "BYTES")]
    pub memory_budget: Option<u64>,
    /// Seconds of wall time between a run's checkpoints.
    #[arg(long, default_value_t = 600.0, value_name = "S")]
    pub checkpoint_every_s: f64,
    /// Do not retry runs the ledger records as failed.
    #[arg(long)]
    pub skip_failed: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// A sweep file, or a plan (.jsonl) from `sweep plan`.
    pub sweep: PathBuf,
    /// The sweep directory the tasks write (the plan is written into it now).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Array tasks [default: one a run, at most 1000].
    #[arg(long)]
    pub shards: Option<usize>,
    /// Generic resources of each task; `none` leaves --gres out.
    #[arg(long, default_value = "gpu:1")]
    pub gres: String,
    /// Each task's time limit (sbatch --time).
    #[arg(long)]
    pub time: Option<String>,
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// Each task's memory (sbatch --mem, e.g. 16G).
    #[arg(long)]
    pub mem: Option<String>,
    /// The tasks' backend (auto: the task's GPU when it is a hardware one).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Runs at once in each task.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub concurrent: u32,
    #[arg(long, default_value_t = 600.0, value_name = "S")]
    pub checkpoint_every_s: f64,
    #[arg(long)]
    pub keep_runs: bool,
    #[arg(long)]
    pub allow_software: bool,
    /// Write the script here instead of printing it.
    #[arg(short = 'o', long = "script", value_name = "FILE")]
    pub script: Option<PathBuf>,
}

/// `export RUN_DIR --gexf FILE | --graphml FILE` (docs/export.md).
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A run directory with snapshots (run with --snapshot-every or --snapshot-at).
    pub run_dir: PathBuf,
    /// Write every snapshot as one dynamic GEXF 1.3 (spells, attributes over time).
    #[arg(long, value_name = "FILE")]
    pub gexf: Option<PathBuf>,
    /// Write one snapshot (--tick, default the last) as static GraphML.
    #[arg(long, value_name = "FILE")]
    pub graphml: Option<PathBuf>,
    /// Keep N agents, a snowball from the highest-degree agents with every tie among
    /// them; 0 keeps all [default: 50000].
    #[arg(long, value_name = "N")]
    pub sample: Option<u64>,
    /// The snapshot of a --graphml [default: the last].
    #[arg(long, value_name = "T")]
    pub tick: Option<u64>,
}

/// `render RUN_DIR` (docs/export.md).
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A lifecycle run directory with snapshots.
    pub run_dir: PathBuf,
    /// The movie: a PATH ending in .mp4 (needs ffmpeg) or .gif [default:
    /// RUN_DIR/movie.mp4 with ffmpeg on PATH, else RUN_DIR/movie.gif].
    #[arg(long, value_name = "PATH")]
    pub movie: Option<String>,
    /// Write every frame as a PNG into RUN_DIR/frames/ (without --movie: only the frames).
    #[arg(long)]
    pub frames: bool,
    /// Frames per second [default: one frame per snapshot over about 10 s, 1 to 30].
    #[arg(long)]
    pub fps: Option<u32>,
    /// Frame size in pixels, even numbers [default: 1280x720].
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// Replace an existing --movie PATH.
    #[arg(long)]
    pub force: bool,
}

/// Scenario selection shared by `run` and `bench`.
#[derive(Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// Scenario file (TOML). Absent: the embedded default scenario.
    pub config: Option<PathBuf>,
    /// Number of agents (same as --set agents=N).
    #[arg(long, allow_hyphen_values = true)]
    pub agents: Option<String>,
    /// Upper bound on ticks (same as --set ticks=T).
    #[arg(long, allow_hyphen_values = true)]
    pub ticks: Option<String>,
    /// Random seed (same as --set seed=S).
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<String>,
    /// Override any config key: --set path.key=value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `emergence compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Scenario files; the first is the reference of the paired differences.
    pub scenarios: Vec<PathBuf>,
    /// Replicate seeds per scenario (from the first scenario's seed on; the same in
    /// every scenario).
    #[arg(long, default_value_t = 10)]
    pub seeds: u32,
    /// The comparison's folder (new or empty): the scenarios, the sweep, its tables,
    /// comparison.csv, comparison.json and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Budget levels: each scenario with interventions runs at each (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub budgets: Vec<f64>,
    /// The `--set` path the budget levels set.
    #[arg(long, default_value = emergence::compare::DEFAULT_BUDGET_KEY)]
    pub budget_key: String,
    /// Override a key of every scenario (path.key=value, repeatable): `--set agents=10000`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Runs at once in this process.
    #[arg(long, default_value_t = 1)]
    pub concurrent: u32,
    /// Write the scenarios and the sweep (DIR/compare.toml, DIR/plan.jsonl) and stop: run
    /// it with `sweep run` or `sweep slurm`, merge it into DIR/tables, then `compare
    /// --from DIR`.
    #[arg(long)]
    pub sweep_only: bool,
    /// The comparison of a folder whose sweep ran elsewhere and was merged into
    /// DIR/tables.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scenarios", "out", "sweep_only", "budgets", "sets"])]
    pub from: Option<PathBuf>,
    /// The comparison as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Where the passes run; shared by every command that runs a model.
#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// auto: a hardware GPU if present, else the CPU backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// GPU adapter by index, PCI bus id or name (see `emergence info`).
    #[arg(long)]
    pub adapter: Option<String>,
}

impl DeviceArgs {
    /// A flag that would do nothing is refused rather than ignored.
    fn check(&self) -> Result<(), Error> {
        if self.adapter.is_some() && self.backend == BackendChoice::Cpu {
            return Err(Error::bad_input(
                "--adapter selects a GPU adapter; it has no effect with --backend cpu",
            ));
        }
        Ok(())
    }
}

impl ScenarioArgs {
    /// The overrides, shorthand flags as typed (`--agents 5`) so that an error quotes the
    /// flag the user gave.
    fn all_sets(&self) -> Vec<String> {
        let mut sets = Vec::new();
        for (key, v) in [
            ("agents", &self.agents),
            ("ticks", &self.ticks),
            ("seed", &self.seed),
        ] {
            if let Some(v) = v {
                sets.push(format!("--{key} {v}"));
            }
        }
        sets.extend(self.sets.iter().cloned());
        sets
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Run directory (default runs/<model>-<UTC time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing run directory (only one of ours: its manifest.json says so).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Write a checkpoint every T ticks (RUN_DIR/checkpoint/, the last two kept).
    #[arg(long, value_name = "T")]
    pub checkpoint_every: Option<u64>,
    /// Write a checkpoint every S seconds of wall time.
    #[arg(long, value_name = "S")]
    pub checkpoint_every_s: Option<f64>,
    /// Continue an interrupted run from its last checkpoint, with its own config.toml.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Snapshot agents and ties (RUN_DIR/snapshots/*.parquet) at tick 0 and every T
    /// ticks (a multiple of metrics_every).
    #[arg(long, value_name = "T")]
    pub snapshot_every: Option<u64>,
    /// Snapshot agents and ties at these ticks (metrics rows), e.g. 0,500,3000.
    #[arg(long, value_name = "T1,T2,...", value_delimiter = ',')]
    pub snapshot_at: Vec<u64>,
    /// Time every pass (device timestamps on the GPU, wall clock on the CPU) and write
    /// RUN_DIR/profile.json: calls, time, bytes and GB/s per pass; a table at the end.
    #[arg(long)]
    pub profile: bool,
}

/// Frames and movies of a run (docs/render.md).
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    /// Write a movie: the bare flag writes RUN_DIR/movie.mp4; a PATH ending in .mp4 (needs
    /// ffmpeg) or .gif (no ffmpeg needed) is written there once the run succeeds.
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "")]
    pub movie: Option<String>,
    /// Write every frame as a PNG into RUN_DIR/frames/.
    #[arg(long)]
    pub frames: bool,
    /// Frames per second of the movie [default: 30].
    #[arg(long)]
    pub fps: Option<u32>,
    /// Frame size in pixels, even numbers [default: the preset's, 1920x1080].
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// Ticks between frames [default: ticks / (seconds × fps), a movie of the preset's
    /// length, about 20 s].
    #[arg(long, value_name = "T")]
    pub frame_every: Option<u32>,
    /// What colour says: purpose (hue), community (each community of practice its own
    /// colour), knowledge, adoption, or stage (isolated, networked, community, adopter).
    #[arg(long, value_name = "MODE")]
    pub color: Option<String>,
    /// fixed (the whole layout), fit (the occupied area, moving smoothly) or follow (the
    /// largest community of practice while there is one) [default: fit].
    #[arg(long, value_name = "MODE")]
    pub camera: Option<String>,
    /// A caption of your own on every frame (the talk's title).
    #[arg(long)]
    pub title: Option<String>,
    /// Movie defaults: talk (1920x1080 MP4, 30 fps, about 20 s, 2 s held on each
    /// transition) or slides (640x360 GIF, 12 fps, about 10 s, 1 s held) [default: talk].
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Seconds the movie holds each stage transition's frame, with its caption
    /// [default: the preset's].
    #[arg(long, value_name = "S")]
    pub hold: Option<f64>,
}

#[derive(Args, Debug)]
pub struct ScalingArgs {
    /// Scenario file (TOML). Absent: the embedded default scenario.
    pub config: Option<PathBuf>,
    /// Config path of the control parameter, e.g. model.seed_fraction.
    #[arg(long)]
    pub param: String,
    /// Values a:b:n (n values from a to b inclusive), e.g. 0.004:0.009:11.
    #[arg(long)]
    pub range: String,
    /// Sizes, comma-separated, e.g. 4096,16384,65536.
    #[arg(long, value_delimiter = ',', required = true)]
    pub agents: Vec<u32>,
    /// Seeds per point.
    #[arg(long, default_value_t = 10)]
    pub seeds: u32,
    /// Metrics column taken as the order parameter (default: active_fraction for the
    /// threshold model, alignment for the lifecycle).
    #[arg(long)]
    pub order: Option<String>,
    /// Bisection steps per seed between the two grid values its curve crosses --level
    /// between, so each seed's crossing is known to grid/2^K (K more runs per seed and N).
    #[arg(long, default_value_t = emergence::scaling::DEFAULT_BISECT)]
    pub bisect: u32,
    /// The value of the order parameter whose crossing locates the transition (each
    /// seed's and the mean curve's), e.g. 0.75 for an order parameter between 1/2 and 1.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub level: f64,
    /// Override any other config key: --set path.key=value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Output directory (default runs/scaling-<param>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Timed repetitions per backend (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: u32,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Run nothing: predict each pass's time and the ticks/s on this GPU from the bytes
    /// its kernels' bindings move and the GPU's bandwidth (H200, H100, A100, L40S,
    /// RTX 4090, M2, M3, …; any other with --bandwidth).
    #[arg(long, value_name = "GPU")]
    pub predict: Option<String>,
    /// Memory bandwidth in GB/s of the adapter in use (or of the --predict GPU), when the
    /// table does not know it or to replace its figure.
    #[arg(long, value_name = "GBPS", allow_hyphen_values = true)]
    pub bandwidth: Option<f64>,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_log(cli.quiet, cli.log_format);
    let json = cli.log_format == LogFormat::Json;
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) => {
            let code = e.downcast_ref::<Error>().map(Error::exit_code).unwrap_or(1);
            let line = if json {
                json_line("error", format!("{e:#}").into(), serde_json::Map::new())
            } else {
                format!("error: {e:#}")
            };
            let _ = writeln!(std::io::stderr(), "{line}");
            ExitCode::from(code)
        }
    }
}

/// The log on stderr: colour only on a terminal and without `NO_COLOR`; `RUST_LOG`
/// chooses what is logged, within `--quiet`'s warnings and errors when it is given.
fn init_log(quiet: bool, format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let level = if quiet { "warn" } else { "info" };
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let cap = if quiet {
        LevelFilter::WARN
    } else {
        LevelFilter::TRACE
    };
    let filter = env.and(cap);
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // A log that cannot be written (stderr closed or on a full disk) must not stop a run.
    let writer = || Unfailing(std::io::stderr());
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(colour)
            .with_target(false)
            .log_internal_errors(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .event_format(JsonLine)
            .log_internal_errors(false)
            .with_filter(filter)
            .boxed(),
    };
    tracing_subscriber::registry().with(layer).init();
}

/// `--log-format json`: one object a line, `{"time", "level", "message", ...fields}`.
struct JsonLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JsonLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = JsonFields(serde_json::Map::new());
        event.record(&mut fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let message = fields.0.remove("message").unwrap_or_default();
        writeln!(writer, "{}", json_line(&level, message, fields.0))
    }
}

/// `{"time": .., "level": .., "message": .., <fields>}`, in that order.
fn json_line(
    level: &str,
    message: serde_json::Value,
    fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut line = format!(
        "{{\"time\":{},\"level\":{},\"message\":{}",
        serde_json::Value::from(emergence::io::rundir::utc_now()),
        serde_json::Value::from(level),
        message
    );
    for (k, v) in fields {
        line.push_str(&format!(",{}:{v}", serde_json::Value::from(k)));
    }
    line.push('}');
    line
}

/// The fields of an event as JSON values (numbers stay numbers).
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonFields {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0
            .insert(field.name().into(), emergence::io::json_number(value));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

/// A run that stopped on a signal after its checkpoint (already reported).
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

/// SIGINT and SIGTERM set the flag the run polls between intervals (it checkpoints and
/// stops); once it is set, a second signal ends the process at once.
fn install_stop_handlers() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // The shutdown goes first: it sees the flag as the previous signal left it.
        signal_hook::flag::register_conditional_shutdown(signal, code, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// A writer whose failures are dropped: the log's, whose loss must not end a run.
struct Unfailing<W>(W);

impl<W: Write> Write for Unfailing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Print to stdout. A reader that went away (`| head`) ends the output quietly, as Unix
/// tools do; any other failure to write (a full disk) is an error.
fn say(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            args.scenario.device.check()?;
            let opts = RunOptions {
                config: args.scenario.config.clone(),
                sets: args.scenario.all_sets(),
                out: args.out,
                force: args.force,
                backend: args.scenario.device.backend,
                adapter: args.scenario.device.adapter.clone(),
                render: emergence::render::RenderRequest {
                    frames: args.render.frames,
                    movie: args.render.movie,
                    fps: args.render.fps,
                    size: args.render.size,
                    frame_every: args.render.frame_every,
                    color: args.render.color,
                    camera: args.render.camera,
                    title: args.render.title,
                    preset: args.render.preset,
                    hold: args.render.hold,
                },
                checkpoint_every: args.checkpoint_every,
                checkpoint_every_s: args.checkpoint_every_s,
                resume: args.resume,
                snapshot_every: args.snapshot_every,
                snapshot_at: args.snapshot_at,
                profile: args.profile,
                no_report: false,
                command: std::env::args_os()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
                stop: Some(install_stop_handlers()?),
            };
            let report = run::run(&opts)?;
            if let Some(tick) = report.interrupted {
                let checkpoint = report
                    .checkpoint
                    .as_deref()
                    .map_or_else(String::new, |c| format!(", checkpoint {c}"));
                tracing::warn!(
                    tick,
                    "interrupted at tick {tick}{checkpoint}; continue with `emergence run --resume {}`",
                    report.dir.display()
                );
                return Err(Interrupted.into());
            }
            let s = &report.summary;
            let final_text: Vec<String> = s
                .final_row
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            say(&format!(
                "{}: {} ticks in {:.3} s on {} [{}]; final {}\n",
                report.dir.display(),
                s.ticks_run,
                s.wall_s,
                s.backend,
                s.adapter,
                final_text.join(" ")
            ))
        }
        Command::Info { config, json } => {
            let info = emergence::info::info(config.as_deref())?;
            if json {
                say(&format!("{}\n", serde_json::to_string_pretty(&info)?))
            } else {
                say(&emergence::info::text(&info))
            }
        }
        Command::Scaling(args) => {
            args.device.check()?;
            let (dir, report) = emergence::scaling::scaling(&emergence::scaling::ScalingOptions {
                config: args.config,
                sets: args.sets,
                param: args.param,
                range: args.range,
                agents: args.agents,
                seeds: args.seeds,
                order: args.order,
                bisect: args.bisect,
                level: args.level,
                backend: args.device.backend,
                adapter: args.device.adapter,
                out: args.out,
                force: args.force,
            })?;
            if args.json {
                say(&format!("{}\n", serde_json::to_string_pretty(&report)?))
            } else {
                say(&format!(
                    "{}written to {}\n",
                    report.to_text(),
                    dir.display()
                ))
            }
        }
        Command::Bench(args) => {
            args.scenario.device.check()?;
            if let Some(gpu) = &args.predict {
                // A prediction runs nothing: flags that choose or time a device do nothing.
                if args.scenario.device.adapter.is_some()
                    || args.scenario.device.backend != BackendChoice::Auto
                {
                    return Err(Error::bad_input(
                        "--predict runs nothing on a device; --backend and --adapter have no effect with it",
                    )
                    .into());
                }
                let p = emergence::bench::predict(
                    args.scenario.config.clone(),
                    &args.scenario.all_sets(),
                    gpu,
                    args.bandwidth,
                )?;
                return if args.json {
                    say(&format!("{}\n", serde_json::to_string_pretty(&p)?))
                } else {
                    say(&p.to_text())
                };
            }
            let mut sets = args.scenario.all_sets();
            if args.scenario.ticks.is_none() {
                // A measurement, not a run: 100 ticks unless asked otherwise.
                sets.insert(0, "ticks=100".into());
            }
            let report = emergence::bench::bench_with(
                args.scenario.config.clone(),
                &sets,
                args.scenario.device.backend,
                args.scenario.device.adapter.as_deref(),
                args.repeats,
                args.bandwidth,
            )?;
            if args.json {
                say(&format!("{}\n", serde_json::to_string_pretty(&report)?))
            } else {
                say(&report.to_text())
            }
        }
        Command::Stages {
            metrics,
            agents,
            json,
        } => {
            let found = emergence::stage_table::detect_file(&metrics, agents)?;
            if json {
                say(&format!("{}\n", serde_json::to_string_pretty(&found)?))
            } else {
                say(&(found.describe().join("\n") + "\n"))
            }
        }
        Command::Validate {
            quick,
            json,
            device,
        } => {
            use emergence::validate;
            device.check()?;
            let backend =
                emergence::backend::Backend::open(device.backend, device.adapter.as_deref())?;
            tracing::info!(
                "validating on {} [{}]{}",
                backend.name(),
                backend.adapter_name(),
                if quick { " (quick)" } else { "" }
            );
            if !json {
                say(validate::header().as_ref())?;
            }
            let mut said = Ok(());
            let cases = validate::validate(&backend, validate::Plan { quick }, |c| {
                if !json && said.is_ok() {
                    said = say(validate::row(c).as_ref());
                }
            })?;
            said?;
            let failed = cases.iter().filter(|c| !c.pass).count();
            if json {
                say(&format!("{}\n", serde_json::to_string_pretty(&cases)?))?;
            } else {
                say(&format!(
                    "{} cases on {} [{}]: {} passed, {} failed\n",
                    cases.len(),
                    backend.name(),
                    backend.adapter_name(),
                    cases.len() - failed,
                    failed
                ))?;
            }
            if failed > 0 {
                return Err(Error::Failed(format!(
                    "validate: {failed} of {} cases failed",
                    cases.len()
                ))
                .into());
            }
            Ok(())
        }
        Command::Export(args) => {
            let e = emergence::export::export(&emergence::export::ExportOptions {
                run_dir: args.run_dir,
                gexf: args.gexf,
                graphml: args.graphml,
                sample: args.sample,
                tick: args.tick,
            })?;
            say(&format!(
                "{}: {} of {} agents and {} ties, {} snapshot{}, {:.1} MiB in {:.2} s ({})\n",
                e.path.display(),
                e.agents,
                e.agents_total,
                e.ties,
                e.snapshots,
                if e.snapshots == 1 { "" } else { "s" },
                e.bytes as f64 / (1 << 20) as f64,
                e.seconds,
                e.format
            ))
        }
        Command::Render(args) => {
            let r = emergence::render::replay::replay(&emergence::render::replay::ReplayOptions {
                run_dir: args.run_dir,
                frames: args.frames,
                movie: args.movie,
                fps: args.fps,
                size: args.size,
                force: args.force,
            })?;
            say(&r.to_text())
        }
        Command::Sweep { command } => sweep(command),
        Command::Compare(a) => compare(a),
        Command::Report { run_dir } => {
            let written = emergence::report::write(&run_dir)?;
            say(&format!(
                "{} ({} plots in {})\n",
                written.html.display(),
                written.plots.len(),
                run_dir.join("plots").display()
            ))
        }
    }
}

fn compare(a: CompareArgs) -> anyhow::Result<()> {
    use emergence::compare;
    a.device.check()?;
    let (comparison, out) = match (&a.from, &a.out) {
        (Some(dir), _) => (compare::from(dir)?, dir.clone()),
        (None, Some(out)) => {
            let done = compare::compare(&compare::CompareOptions {
                scenarios: a.scenarios.clone(),
                seeds: a.seeds,
                out: out.clone(),
                budgets: a.budgets.clone(),
                budget_key: a.budget_key.clone(),
                sets: a.sets.clone(),
                backend: a.device.backend,
                adapter: a.device.adapter.clone(),
                concurrent: a.concurrent,
                sweep_only: a.sweep_only,
                stop: Some(install_stop_handlers()?),
            })?;
            match done {
                Some(c) => (c, out.clone()),
                None => {
                    return say(&format!(
                        "{}: the scenarios and the sweep are written; run it (`emergence sweep run {p} --out {s}`, or `emergence sweep slurm {f} --out {s}`), merge it (`emergence sweep merge {s} --out {t}`), then `emergence compare --from {d}`\n",
                        out.display(),
                        p = out.join("plan.jsonl").display(),
                        f = out.join(compare::SWEEP_FILE).display(),
                        s = out.join(compare::SWEEP_DIR).display(),
                        t = out.join(compare::TABLES_DIR).display(),
                        d = out.display()
                    ))
                }
            }
        }
        (None, None) => {
            return Err(Error::bad_input(
                "compare: give --out DIR (a new folder for the comparison), or --from DIR for one whose sweep ran elsewhere",
            )
            .into())
        }
    };
    if a.json {
        say(&format!("{}\n", serde_json::to_string_pretty(&comparison)?))
    } else {
        say(&(comparison.describe().join("\n")
            + &format!(
                "\n{} ({})\n",
                out.join("comparison.csv").display(),
                out.join("report.html").display()
            )))
    }
}

fn sweep(command: SweepCommand) -> anyhow::Result<()> {
    use emergence::sweep;
    match command {
        SweepCommand::Plan {
            sweep: file,
            out,
            device,
            json,
        } => {
            device.check()?;
            let backend =
                emergence::backend::Backend::open(device.backend, device.adapter.as_deref())?;
            let plan = sweep::plan::plan_file(&file, &backend)?;
            sweep::plan::write(&plan, &out)?;
            if json {
                say(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&plan.header)?
                ))
            } else {
                say(&format!(
                    "{}\nwritten to {}\n",
                    plan.describe(),
                    out.display()
                ))
            }
        }
        SweepCommand::Run(a) => {
            let stop = install_stop_handlers()?;
            let report = sweep::exec::run_shard(&sweep::exec::SweepRunOptions {
                plan: a.plan,
                out: a.out.clone(),
                shard: a.shard,
                num_shards: a.num_shards,
                backend: a.device.backend,
                adapter: a.device.adapter,
                allow_software: a.allow_software || sweep::exec::software_allowed_by_env(),
                keep_runs: a.keep_runs,
                concurrent: a.concurrent,
                memory_budget: a.memory_budget,
                checkpoint_every_s: a.checkpoint_every_s,
                skip_failed: a.skip_failed,
                stop: Some(stop),
                command: std::env::args_os()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            })?;
            if a.json {
                say(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                say(&report.to_text(&a.out))?;
            }
            if report.interrupted {
                return Err(Interrupted.into());
            }
            if report.failed > 0 {
                return Err(Error::Failed(format!(
                    "sweep run: {} of {} runs of shard {} failed (the ledger holds their messages; `emergence sweep status {}`)",
                    report.failed,
                    report.assigned,
                    report.shard,
                    a.out.display()
                ))
                .into());
            }
            Ok(())
        }
        SweepCommand::Merge { dir, out, json } => {
            let report = sweep::merge::merge(&dir, &out)?;
            if json {
                say(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                say(&report.to_text())?;
            }
            if !report.complete() {
                return Err(Error::Failed(format!(
                    "sweep merge: {} runs missing and {} failed of {}; the tables hold the {} done",
                    report.missing.len(),
                    report.failed.len(),
                    report.runs,
                    report.done
                ))
                .into());
            }
            Ok(())
        }
        SweepCommand::Status { dir, json } => {
            let st = sweep::status::status(&dir)?;
            if json {
                say(&format!("{}\n", serde_json::to_string_pretty(&st)?))
            } else {
                say(&st.to_text())
            }
        }
        SweepCommand::Slurm(a) => {
            let is_plan = a.sweep.extension().is_some_and(|e| e == "jsonl");
            let plan = if is_plan {
                sweep::plan::Plan::read(&a.sweep)?
            } else {
                sweep::plan::plan_file(&a.sweep, &emergence::backend::Backend::Cpu)?
            };
            let exe = std::env::current_exe()?;
            let dir = std::path::absolute(&a.out)?;
            let opts = sweep::slurm::SlurmOptions {
                shards: a.shards,
                gres: a.gres,
                time: a.time,
                partition: a.partition,
                cpus_per_task: a.cpus_per_task,
                mem: a.mem,
                backend: a.backend,
                concurrent: a.concurrent,
                checkpoint_every_s: a.checkpoint_every_s,
                keep_runs: a.keep_runs,
                allow_software: a.allow_software,
            };
            // The script is checked before anything is written.
            let script = sweep::slurm::script(&plan, &dir, &exe, &opts)?;
            sweep::exec::claim_dir(&dir, &plan, &a.sweep)?;
            let logs = dir.join("logs");
            std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
            match &a.script {
                Some(path) => {
                    emergence::io::rundir::write_atomic(path, script.as_bytes())?;
                    say(&format!(
                        "{}: {} runs in the sweep directory {}; submit with `sbatch {}`\n",
                        path.display(),
                        plan.runs.len(),
                        dir.display(),
                        path.display()
                    ))
                }
                None => say(&script),
            }
        }
    }
}
