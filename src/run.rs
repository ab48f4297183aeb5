//! One run, start to finish, and its resumption. Load and check the scenario and `--out`
//! (everything that can be refused is refused before any work or any file appears),
//! build the graph, open the backend, create the run directory with its manifest and
//! `config.toml`, hand the model to the one tick driver ([`crate::model::simulate_with`])
//! with `metrics.csv` appended as rows come and checkpoints as asked, then write
//! `summary.json`, `stages.json` and the report. A run stopped by a signal checkpoints
//! and is marked `interrupted`; `run --resume RUN_DIR` goes on from its last checkpoint
//! and ends with the files an uninterrupted run would have written.

use crate::analysis::stages::{self, OnlineTracker, StageParams, StageReport};
use crate::backend::{Backend, BackendChoice};
use crate::config::{self, Loaded};
use crate::engine::{Checkpoints, Observer, SnapshotTicks, Snapshots};
use crate::error::{Error, Result};
use crate::graph::{build_graph, Csr, EdgeList, GraphSummary};
use crate::io::{
    checkpoint::{self, Checkpoint, Checkpointer, Identity},
    metrics_file::MetricsFile,
    rundir::{self, GraphFile, Manifest, RunDir, Status},
    snapshot::{self, Snapshotter},
    summary::Summary,
    table, MetricsTable,
};
use crate::model::{self, Model, Resume, Start};
use crate::progress::Progress;
use crate::render::drive::FrameObserver;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    pub sets: Vec<String>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    /// Frames and movies (`--frames`, `--movie`, ...); the default renders nothing.
    pub render: crate::render::RenderRequest,
    /// `--checkpoint-every T`: a checkpoint at every multiple of T ticks.
    pub checkpoint_every: Option<u64>,
    /// `--checkpoint-every-s S`: a checkpoint once S seconds of wall time have passed.
    pub checkpoint_every_s: Option<f64>,
    /// `--resume RUN_DIR`: go on from the run directory's last checkpoint.
    pub resume: Option<PathBuf>,
    /// `--snapshot-every T`: snapshots of agents and ties at tick 0 and every multiple
    /// of T.
    pub snapshot_every: Option<u64>,
    /// `--snapshot-at t1,t2,...`: snapshots at these ticks.
    pub snapshot_at: Vec<u64>,
    /// `--profile`: time every pass and write `profile.json` (a table at the end too).
    pub profile: bool,
    /// No plots or `report.html` at the end (a sweep's runs: their rows go into one table).
    pub no_report: bool,
    /// The command line, for the manifest.
    pub command: Vec<String>,
    /// Set by SIGINT/SIGTERM (the binary installs the handlers): the run finishes its
    /// interval, checkpoints and stops as `interrupted`.
    pub stop: Option<Arc<AtomicBool>>,
}

pub struct RunReport {
    pub dir: PathBuf,
    pub summary: Summary,
    pub metrics: MetricsTable,
    /// Stopped by a signal: the tick of the checkpoint it wrote.
    pub interrupted: Option<u64>,
    /// The last checkpoint (relative to `dir`).
    pub checkpoint: Option<String>,
}

/// `emergence run`.
pub fn run(opts: &RunOptions) -> Result<RunReport> {
    if let Some(dir) = &opts.resume {
        return resume(opts, dir);
    }
    let wall = Instant::now();
    let loaded = config::load(opts.config.as_deref(), &opts.sets)?;
    let model = model::find(loaded.scenario.model.kind())?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| rundir::default_out(model.name()));
    let claim = rundir::claim(&out, opts.force, "--out")?;
    let schedule = Schedule::of(opts)?;
    let ticks = loaded.scenario.ticks as u64;
    let snapshots = snapshot_ticks(opts, model, &loaded)?;
    let render_plan = crate::render::plan(&opts.render, model.renders(), ticks, opts.force)?;
    if let Some(plan) = &render_plan {
        crate::render::check_groups_drawn(plan, &loaded.scenario)?;
    }
    let graph_file = graph_file_of(&loaded)?;
    // The memory plan (the device's limits, the host's memory) before the graph is built
    // or anything large allocated.
    let backend = Backend::open(opts.backend, opts.adapter.as_deref())?;
    model::check_memory(model, &model::Size::from_config(&loaded), &backend)?;
    let (edges, graph, csr) = build_graph(&loaded)?;
    // The real size (a graph file's is known only now), before the run directory exists.
    let size = model::Size::of_graph(&loaded, &graph, csr.n() as u64);
    model::check_built(model, &size, &loaded, &backend)?;
    check_disk(
        model,
        &size,
        &loaded,
        claim.path(),
        schedule,
        &snapshots,
        graph.ties,
    )?;
    let config_toml = loaded.resolved_toml();
    let mut manifest = Manifest::new("run", model.name());
    manifest.backend = backend.name().into();
    manifest.adapter = backend.adapter_name();
    manifest.adapter_driver = backend.adapter_driver();
    manifest.planned_device_bytes = model.buffers(&size).iter().map(|b| b.bytes).sum();
    manifest.command = opts.command.clone();
    manifest.snapshot_every = snapshots.every;
    manifest.snapshot_at = snapshots.at.clone();
    manifest.agents = csr.n() as u64;
    manifest.seed = loaded.scenario.seed as u64;
    manifest.ticks = ticks;
    manifest.config_sha256 = rundir::sha256_hex(config_toml.as_bytes());
    manifest.graph_file = graph_file;
    if render_plan.is_some() {
        let mut request = opts.render.clone();
        // By absolute path, so a resume from another folder finds the movie.
        if let Some(movie) = request.movie.as_mut().filter(|m| !m.is_empty()) {
            *movie = std::path::absolute(&*movie)
                .map_err(|e| Error::io(Path::new(movie.as_str()), e))?
                .display()
                .to_string();
        }
        manifest.render = Some(request);
    }
    let mut dir = claim.create(manifest)?;
    dir.write("config.toml", &config_toml)?;
    if let Some(ids) = &graph.ids {
        if let Err(e) = crate::io::ids::write_ids(dir.path(), ids) {
            return Err(failed(dir, e));
        }
    }
    let parts = Parts {
        loaded: &loaded,
        model,
        backend: &backend,
        edges,
        graph,
        csr,
        render: render_plan.as_ref(),
        schedule,
        snapshots,
        stop: opts.stop.clone(),
        profile: opts.profile,
        no_report: opts.no_report,
        wall,
    };
    execute(&mut dir, parts, None).map_err(|e| failed(dir, e))
}

/// `emergence run --resume RUN_DIR`.
fn resume(opts: &RunOptions, run_dir: &Path) -> Result<RunReport> {
    let wall = Instant::now();
    let shown = run_dir.display();
    let bad = |why: String| Error::bad_input(format!("--resume {shown}: {why}"));
    if opts.config.is_some()
        || !opts.sets.is_empty()
        || opts.out.is_some()
        || opts.render != crate::render::RenderRequest::default()
        || opts.checkpoint_every.is_some()
        || opts.checkpoint_every_s.is_some()
        || opts.snapshot_every.is_some()
        || !opts.snapshot_at.is_empty()
    {
        return Err(bad(
            "a resume goes on with the run's own config.toml, render flags, checkpoint and snapshot schedules; CONFIG, --set, --agents, --ticks, --seed, --out, render flags, --checkpoint-every(-s) and --snapshot-every/--snapshot-at cannot be given with it".into(),
        ));
    }
    let manifest = Manifest::read(run_dir).ok_or_else(|| {
        bad(format!(
            "is not a run directory of emergence (no readable {})",
            rundir::MANIFEST
        ))
    })?;
    match manifest.status {
        Status::Complete => return Err(bad("the run is complete; nothing to resume".into())),
        Status::Running if manifest.maybe_running() => {
            let here = rundir::hostname();
            if opts.force && manifest.host != here {
                // A job killed with its node (and requeued on another) cannot say so;
                // the user who knows may take the run over.
                tracing::warn!(
                    "taking over the run of process {} on {}, which --force says is gone",
                    manifest.pid,
                    manifest.host
                );
            } else {
                let hint = if manifest.host != here {
                    "; if that process is gone (its node failed), --force takes the run over"
                } else {
                    ""
                };
                return Err(bad(format!(
                    "the run is still running (process {} on {}){hint}",
                    manifest.pid, manifest.host
                )));
            }
        }
        _ => {}
    }
    let all = checkpoint::list(run_dir);
    let Some(newest) = all.last() else {
        return Err(bad(
            "has no checkpoint to resume from (checkpoints are written by --checkpoint-every T, --checkpoint-every-s S, and when a run is stopped by SIGINT or SIGTERM)".into(),
        ));
    };
    let ck = checkpoint::read(newest).map_err(|e| match all.len() {
        1 => e,
        _ => Error::bad_input(format!(
            "{e}; remove it to resume from the one before, {}",
            all[all.len() - 2].display()
        )),
    })?;
    let config_path = run_dir.join("config.toml");
    let config_bytes = std::fs::read(&config_path).map_err(|e| Error::io(&config_path, e))?;
    if rundir::sha256_hex(&config_bytes) != ck.identity.config_sha256 {
        return Err(bad(format!(
            "config.toml changed since the checkpoint at tick {}; a resume goes on with the config the run started with (start a new run for a changed one)",
            ck.identity.tick
        )));
    }
    let loaded = config::load(Some(&config_path), &[])?;
    let model = model::find(loaded.scenario.model.kind())?;
    if model.name() != ck.identity.model {
        return Err(bad(format!(
            "the checkpoint is of model {}, config.toml of model {}",
            ck.identity.model,
            model.name()
        )));
    }
    let backend_choice = match ck.identity.backend.as_str() {
        "gpu" => BackendChoice::Gpu,
        _ => BackendChoice::Cpu,
    };
    if opts.backend != BackendChoice::Auto && opts.backend != backend_choice {
        return Err(bad(format!(
            "--backend {}: the run's checkpoints are from backend {}, and a run goes on bit for bit only on the backend it started on",
            opts.backend.name(),
            ck.identity.backend
        )));
    }
    if let Some(file) = &manifest.graph_file {
        let (sha, _) = rundir::sha256_file(&file.path)
            .map_err(|e| bad(format!("the run's graph file cannot be read: {e}")))?;
        if sha != file.sha256 {
            return Err(bad(format!(
                "the graph file {} changed since the run started (its SHA-256 differs)",
                file.path.display()
            )));
        }
    }
    let backend = Backend::open(backend_choice, opts.adapter.as_deref())?;
    model::check_memory(model, &model::Size::from_config(&loaded), &backend)?;
    let (edges, graph, csr) = build_graph(&loaded)?;
    let size = model::Size::of_graph(&loaded, &graph, csr.n() as u64);
    model::check_built(model, &size, &loaded, &backend)?;
    // The schedule of checkpoints goes on as it was asked for when the run started.
    let schedule = Schedule {
        every_ticks: manifest.checkpoint_every,
        every_s: manifest.checkpoint_every_s,
    };
    // Its frames and movie go on where they stopped (the movie's file is there).
    let render_plan = match &manifest.render {
        Some(request) => {
            crate::render::plan(request, model.renders(), loaded.scenario.ticks as u64, true)?
        }
        None => None,
    };
    let snapshots = SnapshotTicks::new(manifest.snapshot_every, manifest.snapshot_at.clone());
    let mut dir = RunDir::reopen(run_dir, manifest)?;
    dir.update(|m| m.command = opts.command.clone())?;
    tracing::info!(
        "resuming {} from tick {} ({})",
        run_dir.display(),
        ck.identity.tick,
        newest.display()
    );
    let parts = Parts {
        loaded: &loaded,
        model,
        backend: &backend,
        edges,
        graph,
        csr,
        render: render_plan.as_ref(),
        schedule,
        snapshots,
        stop: opts.stop.clone(),
        profile: opts.profile,
        no_report: opts.no_report,
        wall,
    };
    execute(&mut dir, parts, Some(ck)).map_err(|e| failed(dir, e))
}

/// When checkpoints are due.
#[derive(Debug, Clone, Copy, Default)]
struct Schedule {
    every_ticks: Option<u64>,
    every_s: Option<f64>,
}

impl Schedule {
    fn of(opts: &RunOptions) -> Result<Schedule> {
        if opts.checkpoint_every == Some(0) {
            return Err(Error::bad_input(
                "--checkpoint-every 0: ticks between checkpoints must be at least 1",
            ));
        }
        if let Some(s) = opts.checkpoint_every_s {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::bad_input(format!(
                    "--checkpoint-every-s {s}: seconds between checkpoints must be a positive number"
                )));
            }
        }
        Ok(Schedule {
            every_ticks: opts.checkpoint_every,
            every_s: opts.checkpoint_every_s,
        })
    }

    fn any(&self) -> bool {
        self.every_ticks.is_some() || self.every_s.is_some()
    }
}

/// What a run is made of once everything is checked.
struct Parts<'a> {
    loaded: &'a Loaded,
    model: &'static dyn Model,
    backend: &'a Backend,
    edges: EdgeList,
    graph: GraphSummary,
    csr: Csr,
    render: Option<&'a crate::render::RenderPlan>,
    schedule: Schedule,
    snapshots: SnapshotTicks,
    stop: Option<Arc<AtomicBool>>,
    profile: bool,
    no_report: bool,
    wall: Instant,
}

/// A graph file, by absolute path and hash, for the manifest.
fn graph_file_of(loaded: &Loaded) -> Result<Option<GraphFile>> {
    let Some(path) = loaded.graph_path() else {
        return Ok(None);
    };
    if !path.is_file() {
        // build_graph says what is wrong with it.
        return Ok(None);
    }
    let path = std::path::absolute(&path).map_err(|e| Error::io(&path, e))?;
    let (sha256, bytes) = rundir::sha256_file(&path)?;
    Ok(Some(GraphFile {
        path,
        sha256,
        bytes,
    }))
}

/// Bytes of one checkpoint of this run.
fn checkpoint_bytes(model: &dyn Model, size: &model::Size, loaded: &Loaded) -> u64 {
    let rows = loaded.scenario.ticks as u64 / loaded.scenario.metrics_every.max(1) as u64 + 2;
    checkpoint::estimate_bytes(model, size, rows)
}

/// Refuse checkpoints and snapshots the disk cannot hold: the last two checkpoints and
/// the one being written, and every snapshot planned (each at its uncompressed size).
fn check_disk(
    model: &dyn Model,
    size: &model::Size,
    loaded: &Loaded,
    out: &Path,
    schedule: Schedule,
    snapshots: &SnapshotTicks,
    ties: u64,
) -> Result<()> {
    let mut need = 0u64;
    let mut what = Vec::new();
    if schedule.any() {
        let each = checkpoint_bytes(model, size, loaded);
        let bytes = each.saturating_mul(checkpoint::KEEP as u64 + 1);
        need = need.saturating_add(bytes);
        what.push(format!(
            "checkpoints (up to {:.1} MiB each; {} are kept while one more is written: {:.1} MiB)",
            each as f64 / MIB,
            checkpoint::KEEP,
            bytes as f64 / MIB
        ));
    }
    let count = snapshots.between(0, loaded.scenario.ticks as u64).len() as u64;
    if count > 0 {
        let each = snapshot_bytes(model, size, ties);
        let bytes = each.saturating_mul(count);
        need = need.saturating_add(bytes);
        what.push(format!(
            "{count} snapshot{} (up to {:.1} MiB each: {:.1} MiB)",
            if count == 1 { "" } else { "s" },
            each as f64 / MIB,
            bytes as f64 / MIB
        ));
    }
    match checkpoint::free_bytes(out) {
        Some(free) if need > 0 && free < need => Err(Error::bad_input(format!(
            "--out {}: this run's {} need {:.1} MiB, but only {:.1} MiB are free there",
            out.display(),
            what.join(" and "),
            need as f64 / MIB,
            free as f64 / MIB,
        ))),
        _ => Ok(()),
    }
}

/// Bytes of one snapshot at most: the model's per-agent state, each tie slot once (a
/// live tie is stored at both ends) or the scenario's ties for a fixed graph.
pub(crate) fn snapshot_bytes(model: &dyn Model, size: &model::Size, ties: u64) -> u64 {
    let state = checkpoint::estimate_bytes(model, size, 0);
    let agents = size.agents;
    let slot_ties = agents * size.slots / 2;
    // The state's bytes per agent bound the per-agent columns; ties add 16 bytes each.
    snapshot::estimate_bytes(agents, state / agents.max(1), slot_ties.max(ties))
}

/// The snapshot ticks asked for, checked: each at a metrics row (where a model's
/// community labels are current) and within the run.
fn snapshot_ticks(opts: &RunOptions, model: &dyn Model, loaded: &Loaded) -> Result<SnapshotTicks> {
    let ticks = loaded.scenario.ticks as u64;
    let every_row = if model.row_every_tick() {
        1
    } else {
        loaded.scenario.metrics_every.max(1) as u64
    };
    if let Some(t) = opts.snapshot_every {
        if t == 0 || t % every_row != 0 {
            return Err(Error::bad_input(format!(
                "--snapshot-every {t}: snapshots are taken at metrics rows; allowed: a positive multiple of metrics_every = {every_row}"
            )));
        }
    }
    for &t in &opts.snapshot_at {
        if t > ticks {
            return Err(Error::bad_input(format!(
                "--snapshot-at {t}: after the run's last tick; allowed: ticks from 0 to {ticks}"
            )));
        }
        if t % every_row != 0 && t != ticks {
            return Err(Error::bad_input(format!(
                "--snapshot-at {t}: snapshots are taken at metrics rows; allowed: multiples of metrics_every = {every_row} and the last tick, {ticks}"
            )));
        }
    }
    Ok(SnapshotTicks::new(
        opts.snapshot_every,
        opts.snapshot_at.clone(),
    ))
}

/// The exit code of a run stopped by a signal after its checkpoint (the binary's too).
pub const EXIT_INTERRUPTED: u8 = 3;

const MIB: f64 = (1u64 << 20) as f64;

/// Mark the run failed (its partial files stay) and say where it is.
fn failed(mut dir: RunDir, e: Error) -> Error {
    let last = dir.manifest().checkpoint.clone();
    let message = e.to_string();
    let _ = dir.end(Status::Failed, e.exit_code(), Some(message));
    let kept = match &last {
        Some(c) => format!(
            "; the partial run is kept in {}, its last checkpoint is {}",
            dir.path().display(),
            dir.path().join(c).display()
        ),
        None => format!("; the partial run is kept in {}", dir.path().display()),
    };
    match e {
        Error::Gpu(m) => Error::Gpu(m + &kept),
        Error::Io { context, source } => Error::Io {
            context: context + &kept,
            source,
        },
        Error::BadInput(m) => Error::BadInput(m + &kept),
        Error::Failed(m) => Error::Failed(m + &kept),
    }
}

/// Drive the run (fresh, or from `from`) and write its outputs.
fn execute(dir: &mut RunDir, p: Parts<'_>, from: Option<Checkpoint>) -> Result<RunReport> {
    let model = p.model;
    let backend = p.backend;
    let agents = p.csr.n();
    let ticks = p.loaded.scenario.ticks as u64;
    tracing::info!(
        "{} agents, model {}, backend {} [{}], from {}",
        agents,
        model.name(),
        backend.name(),
        backend.adapter_name(),
        p.loaded.source
    );
    tracing::info!(
        "graph {}: {} ties, mean degree {:.3}, max degree {} ({:.3} s)",
        p.graph.kind,
        p.graph.ties,
        p.graph.mean_degree,
        p.graph.max_degree,
        p.graph.build_s
    );
    dir.update(|m| {
        m.checkpoint_every = p.schedule.every_ticks;
        m.checkpoint_every_s = p.schedule.every_s;
    })?;
    // A model whose state keeps no ties snapshots the scenario's graph (a copy: the
    // model takes the original).
    let mut snapshotter = if p.snapshots.is_empty() {
        None
    } else {
        let graph =
            (p.loaded.scenario.graph.kind != config::GraphKind::Complete).then(|| p.edges.clone());
        Some(Snapshotter::new(
            dir.path(),
            p.loaded.scenario.seed as u32,
            graph,
        )?)
    };
    let prior = from
        .as_ref()
        .map_or_else(|| MetricsTable::new(model.columns()), |c| c.table.clone());
    let mut metrics_file = MetricsFile::create(dir.path(), &prior)?;
    let continues = from.is_some();
    let mut frames = p
        .render
        .map(|plan| FrameObserver::start(plan, dir.path(), agents, 0, ticks, continues))
        .transpose()?;
    let start_tick = from.as_ref().map_or(0, |c| c.identity.tick);
    let progress = Progress::new(ticks, model.unit());
    progress.update(start_tick, "");
    let mut observers: Vec<&mut dyn Observer> = vec![&mut metrics_file];
    observers.extend(frames.iter_mut().map(|f| f as &mut dyn Observer));
    let run_path = dir.path().to_path_buf();
    let mut saver = Checkpointer {
        run_dir: run_path.clone(),
        identity: Identity {
            model: model.name().into(),
            backend: backend.name().into(),
            tick: 0,
            config_sha256: dir.manifest().config_sha256.clone(),
        },
        saved: Box::new(|relative: &str, tick: u64| {
            dir.update(|m| {
                m.checkpoint = Some(relative.into());
                m.tick = tick;
            })
        }),
        integer_columns: model.integer_columns(),
        seconds: 0.0,
        written: 0,
    };
    let checkpoints = Checkpoints {
        every_ticks: p.schedule.every_ticks,
        every: p.schedule.every_s.map(Duration::from_secs_f64),
        stop: p.stop.as_deref(),
        at_end: p.schedule.any(),
        sink: &mut saver,
    };
    let start = Start {
        loaded: p.loaded,
        graph: &p.graph,
        edges: p.edges,
        csr: p.csr,
        render: p.render,
    };
    let resume = from.map(|c| Resume {
        state: c.state,
        table: c.table,
    });
    let snapshots = snapshotter.as_mut().map(|sink| Snapshots {
        ticks: p.snapshots.clone(),
        sink,
    });
    let saves = model::Saves {
        checkpoints: Some(checkpoints),
        snapshots,
        profile: p.profile,
    };
    let scheduled = !p.loaded.scenario.interventions.is_empty();
    let done = model::simulate_with(model, start, backend, &progress, observers, saves, resume)?;
    let (checkpoint_s, checkpoints_written) = (saver.seconds, saver.written);
    drop(saver);
    if let Some(s) = &snapshotter {
        if s.written > 0 {
            tracing::info!(
                "{} snapshot{} written in {:.3} s ({:.1} MiB) to {}",
                s.written,
                if s.written == 1 { "" } else { "s" },
                s.seconds,
                s.bytes as f64 / MIB,
                run_path.join(snapshot::DIR).display()
            );
        }
    }
    progress.finish();
    if checkpoints_written > 0 {
        tracing::info!(
            "{checkpoints_written} checkpoint{} written in {checkpoint_s:.3} s",
            if checkpoints_written == 1 { "" } else { "s" }
        );
    }
    let pending_movie = frames.map(FrameObserver::finish).transpose()?.flatten();
    let metrics = done.table;
    if let Some(tick) = done.interrupted {
        metrics_file.sync()?;
        if let Some(movie) = pending_movie {
            let path = movie.commit()?;
            tracing::warn!("the movie up to tick {tick} is in {}", path.display());
        }
        table::write_metrics(&run_path, &metrics, model.integer_columns())?;
        if scheduled {
            dir.write(
                "interventions.csv",
                crate::intervention::to_csv(&done.interventions),
            )?;
        }
        dir.end(Status::Interrupted, EXIT_INTERRUPTED, None)?;
        let summary = Summary {
            model: model.name().into(),
            agents,
            ticks_run: done.ticks_run,
            seed: p.loaded.scenario.seed as u32,
            backend: backend.name().into(),
            adapter: backend.adapter_name(),
            wall_s: p.wall.elapsed().as_secs_f64(),
            ticks_per_s: 0.0,
            final_row: metrics.last_as_map(),
            converged: false,
            graph: p.graph,
            components: serde_json::Value::Null,
            milestones: None,
            stages: None,
            communities: None,
            result: None,
            interventions: scheduled.then(|| done.interventions.clone()),
            ties: None,
            version: env!("CARGO_PKG_VERSION").into(),
        };
        return Ok(RunReport {
            dir: run_path,
            summary,
            metrics,
            interrupted: Some(tick),
            checkpoint: dir.manifest().checkpoint.clone(),
        });
    }
    for line in &done.outcome.notes {
        tracing::info!("{line}");
    }
    let stage_report: Option<StageReport> = model
        .has_stages()
        .then(|| stages::detect(&metrics, &StageParams::new(agents)))
        .flatten();
    if let Some(report) = &stage_report {
        for line in report.describe() {
            tracing::info!("{line}");
        }
    }
    let mut outcome = done.outcome;
    let online_stages = outcome.online_stages.take();
    let wall_s = p.wall.elapsed().as_secs_f64();
    let summary = Summary {
        model: model.name().into(),
        agents,
        ticks_run: done.ticks_run,
        seed: p.loaded.scenario.seed as u32,
        backend: backend.name().into(),
        adapter: backend.adapter_name(),
        wall_s,
        ticks_per_s: done.ticks_here as f64 / wall_s.max(1e-9),
        final_row: metrics.last_as_map(),
        converged: outcome.converged,
        graph: p.graph,
        // Well mixed runs store no ties: no components.
        components: outcome.components.map_or(serde_json::Value::Null, |comps| {
            serde_json::json!({
                "largest": comps.largest,
                "count": comps.count,
                "mean_other_size": comps.mean_other_size(),
                "rounds": comps.rounds,
            })
        }),
        milestones: outcome.milestones,
        communities: outcome.communities,
        stages: stage_report.as_ref().map(|r| r.transitions.clone()),
        result: outcome.result,
        interventions: scheduled.then(|| done.interventions.clone()),
        ties: outcome.ties,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    metrics_file.sync()?;
    drop(metrics_file);
    // The whole table once more, atomically: the appended file and this one are the
    // same bytes, and a run directory's files are always whole.
    dir.write("metrics.csv", metrics.to_csv())?;
    table::write_metrics(&run_path, &metrics, model.integer_columns())?;
    for (name, columns) in &outcome.tables {
        table::write_parquet(&run_path.join(name), columns)?;
    }
    if scheduled {
        dir.write(
            "interventions.csv",
            crate::intervention::to_csv(&done.interventions),
        )?;
    }
    dir.write(
        "summary.json",
        serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n",
    )?;
    if let Some(report) = &stage_report {
        // What the online tracker said during the run (a model without a live tracker:
        // the same rows fed to one now).
        let online = online_stages.unwrap_or_else(|| {
            let said = OnlineTracker::replay(&metrics, report.params)
                .said()
                .to_vec();
            serde_json::to_value(said).expect("stages serialise")
        });
        let mut value = serde_json::to_value(report).expect("stages serialise");
        value["online"] = online;
        dir.write(
            "stages.json",
            serde_json::to_string_pretty(&value).expect("stages serialise") + "\n",
        )?;
    }
    if let Some(movie) = pending_movie {
        let path = movie.commit()?;
        tracing::info!("movie written to {}", path.display());
    }
    if let Some(profiled) = done.profiled {
        let bandwidth = crate::roofline::Bandwidth::for_adapter(&backend.adapter_name(), None)
            .filter(|_| matches!(backend, Backend::Gpu(_)));
        let size = model::Size::of_graph(p.loaded, &summary.graph, agents as u64);
        let profile = crate::profile::profile(
            profiled,
            model.name(),
            backend.name(),
            &backend.adapter_name(),
            agents as u64,
            done.ticks_here,
            &model.traffic(&size, &p.loaded.scenario),
            bandwidth,
        );
        dir.write(
            "profile.json",
            serde_json::to_string_pretty(&profile).expect("a profile serialises") + "\n",
        )?;
        for line in profile.table() {
            tracing::info!("{line}");
        }
    }
    let last_tick = metrics.rows.last().map_or(0, |r| r[0] as u64);
    dir.update(|m| m.tick = last_tick)?;
    dir.end(Status::Complete, 0, None)?;
    // The report comes after the run is complete, so a report that fails (a full disk,
    // a plotting error) costs only the report, never the run's data.
    if p.no_report {
        dir.record_files()?;
        return Ok(RunReport {
            dir: run_path,
            summary,
            metrics,
            interrupted: None,
            checkpoint: dir.manifest().checkpoint.clone(),
        });
    }
    if let Err(e) = crate::report::write(&run_path) {
        tracing::warn!(
            "report not written: {e}; `emergence report {}` retries it",
            run_path.display()
        );
    }
    // The report's files too.
    dir.record_files()?;
    Ok(RunReport {
        dir: run_path,
        summary,
        metrics,
        interrupted: None,
        checkpoint: dir.manifest().checkpoint.clone(),
    })
}
