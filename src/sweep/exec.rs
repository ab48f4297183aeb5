//! `sweep run PLAN --out DIR`: one shard's share of a plan. The shard comes from
//! `--shard/--num-shards`, or a job array's environment (`SLURM_ARRAY_TASK_ID` and
//! `SLURM_ARRAY_TASK_COUNT`, Kubernetes' `JOB_COMPLETION_INDEX`); it takes the runs whose
//! index is its number modulo the count. Each run is an ordinary run into
//! `DIR/work/<run_id>/` (checkpointed, so a preempted task resumes it where it stopped);
//! once it finishes, its rows become one Parquet part file, its id goes into the shard's
//! ledger, and its run directory is removed (kept under `DIR/runs/` with `--keep-runs`).
//! A run that fails is recorded and the shard goes on; runs done by any shard are
//! skipped. `--concurrent K` runs up to K at once, admitted by their memory plans; one
//! that still runs out of device memory is retried alone afterwards.

use super::ledger::{self, Entry, Outcome};
use super::plan::{ParamType, Plan, PlannedRun};
use super::{Marker, LEDGER_DIR, PARTS_DIR, PLAN_FILE, RUNS_DIR, SWEEP_MARKER, WORK_DIR};
use crate::backend::{Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::io::rundir::{self, Manifest, Status};
use crate::io::table::{self, Column};
use crate::io::{checkpoint, MetricsTable};
use crate::run::{self, RunOptions};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// `EMERGENCE_ALLOW_SOFTWARE=1`: `sweep run --backend gpu` may use a software adapter.
pub const ALLOW_SOFTWARE_ENV: &str = "EMERGENCE_ALLOW_SOFTWARE";

#[derive(Debug, Clone, Default)]
pub struct SweepRunOptions {
    pub plan: PathBuf,
    pub out: PathBuf,
    pub shard: Option<u32>,
    pub num_shards: Option<u32>,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    /// `--allow-software` (or [`ALLOW_SOFTWARE_ENV`]): a software adapter under `--backend gpu`.
    pub allow_software: bool,
    /// `--keep-runs`: every finished run's full run directory under `DIR/runs/`.
    pub keep_runs: bool,
    /// `--concurrent K`: runs at once in this process (at least 1).
    pub concurrent: u32,
    /// `--memory-budget BYTES`: what the runs in flight may plan together (default: the
    /// host's available memory on the CPU backend; on the GPU, K alone bounds them).
    pub memory_budget: Option<u64>,
    /// Seconds of wall time between a run's checkpoints.
    pub checkpoint_every_s: f64,
    /// `--skip-failed`: runs the ledger records as failed are not tried again.
    pub skip_failed: bool,
    pub stop: Option<Arc<AtomicBool>>,
    pub command: Vec<String>,
}

/// What one shard did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShardReport {
    pub shard: u32,
    pub num_shards: u32,
    /// Runs of the plan that are this shard's.
    pub assigned: usize,
    /// Of them, done before this process started (by any shard).
    pub already_done: usize,
    pub done: usize,
    pub failed: usize,
    /// Runs another live process is running (left alone).
    pub busy: usize,
    /// Stopped by a signal: the runs in flight checkpointed.
    pub interrupted: bool,
    pub wall_s: f64,
}

impl ShardReport {
    pub fn to_text(&self, dir: &Path) -> String {
        format!(
            "shard {} of {}: {} runs, {} done before, {} done now, {} failed{}{} in {:.1} s; {}\n",
            self.shard,
            self.num_shards,
            self.assigned,
            self.already_done,
            self.done,
            self.failed,
            if self.busy > 0 {
                format!(", {} running elsewhere", self.busy)
            } else {
                String::new()
            },
            if self.interrupted {
                " (interrupted: the runs in flight checkpointed; run the shard again to go on)"
            } else {
                ""
            },
            self.wall_s,
            dir.display()
        )
    }
}

/// The shard from the flags or a job array's environment: (shard, count).
pub fn resolve_shard(shard: Option<u32>, num_shards: Option<u32>) -> Result<(u32, u32)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let number = |k: &str, v: String| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| Error::bad_input(format!("{k}={v}: expected a non-negative integer")))
    };
    let (shard, count, from) = match (shard, num_shards) {
        (Some(s), Some(n)) => (s, n, "--shard/--num-shards".to_string()),
        (Some(_), None) | (None, Some(_)) if env("JOB_COMPLETION_INDEX").is_none() => {
            return Err(Error::bad_input(
                "--shard and --num-shards go together: give both, or neither (a job array's environment then says)",
            ))
        }
        (None, n) => {
            if let (Some(id), Some(count)) =
                (env("SLURM_ARRAY_TASK_ID"), env("SLURM_ARRAY_TASK_COUNT"))
            {
                let id = number("SLURM_ARRAY_TASK_ID", id)?;
                let min = match env("SLURM_ARRAY_TASK_MIN") {
                    Some(m) => number("SLURM_ARRAY_TASK_MIN", m)?,
                    None => 0,
                };
                let count = number("SLURM_ARRAY_TASK_COUNT", count)?;
                if let Some(step) = env("SLURM_ARRAY_TASK_STEP").filter(|s| s != "1") {
                    return Err(Error::bad_input(format!(
                        "SLURM_ARRAY_TASK_STEP={step}: shards are numbered by a job array without steps (--array=0-{})",
                        count.saturating_sub(1)
                    )));
                }
                (
                    id.saturating_sub(min),
                    n.unwrap_or(count),
                    "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT".into(),
                )
            } else if let Some(i) = env("JOB_COMPLETION_INDEX") {
                let Some(n) = n else {
                    return Err(Error::bad_input(format!(
                        "JOB_COMPLETION_INDEX={i}: give --num-shards (the Job's completions) with it"
                    )));
                };
                (number("JOB_COMPLETION_INDEX", i)?, n, "JOB_COMPLETION_INDEX".into())
            } else {
                (0, 1, "no shard given: the whole plan".into())
            }
        }
        (Some(s), None) => {
            return Err(Error::bad_input(format!(
                "--shard {s}: give --num-shards with it"
            )))
        }
    };
    if count == 0 || shard >= count {
        return Err(Error::bad_input(format!(
            "shard {shard} of {count} ({from}): allowed: a shard from 0 to the number of shards − 1, at least one shard"
        )));
    }
    Ok((shard, count))
}

/// Whether the environment allows a software adapter (`EMERGENCE_ALLOW_SOFTWARE=1`).
pub fn software_allowed_by_env() -> bool {
    std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1")
}

/// The backend every run of the shard uses, chosen once: `auto` resolved to the CPU or
/// to one adapter by index. A software adapter is refused unless allowed: a cluster job
/// must not crawl on llvmpipe by accident (a single `run` only warns).
fn resolve_backend(opts: &SweepRunOptions) -> Result<(BackendChoice, Option<String>)> {
    if opts.backend == BackendChoice::Cpu {
        if opts.adapter.is_some() {
            return Err(Error::bad_input(
                "--adapter selects a GPU adapter; it has no effect with --backend cpu",
            ));
        }
        return Ok((BackendChoice::Cpu, None));
    }
    match Backend::open(opts.backend, opts.adapter.as_deref())? {
        Backend::Cpu => Ok((BackendChoice::Cpu, None)),
        Backend::Gpu(ctx) => {
            if ctx.adapter.software && !opts.allow_software {
                return Err(Error::bad_input(format!(
                    "--backend gpu: the adapter `{}` is a software rasterizer, slower than --backend cpu; a sweep refuses it unless --allow-software (or {ALLOW_SOFTWARE_ENV}=1) says it is meant",
                    ctx.adapter.name
                )));
            }
            Ok((BackendChoice::Gpu, Some(ctx.adapter.index.to_string())))
        }
    }
}

/// Make `dir` the sweep directory of `plan`, or check that it is: a directory of another
/// plan, or one that is not ours, is refused (nothing in it is touched).
pub fn claim_dir(dir: &Path, plan: &Plan, plan_path: &Path) -> Result<()> {
    let shown = dir.display();
    let marker = Marker {
        kind: "emergence-sweep".into(),
        name: plan.header.name.clone(),
        plan_sha256: plan.sha256.clone(),
        runs: plan.runs.len(),
    };
    match std::fs::symlink_metadata(dir) {
        Ok(md) if !md.is_dir() => {
            return Err(Error::bad_input(format!(
                "--out {shown}: is a file, not a directory; --out names the sweep directory"
            )))
        }
        Ok(_) => match Marker::read(dir) {
            Some(m) if m.plan_sha256 == plan.sha256 => return ensure_layout(dir),
            Some(m) => {
                return Err(Error::bad_input(format!(
                    "--out {shown}: is the sweep directory of another plan ({}, {} runs, plan {}); {} is plan {}: give another --out",
                    m.name,
                    m.runs,
                    &m.plan_sha256[..12],
                    plan_path.display(),
                    &plan.sha256[..12]
                )))
            }
            None => {
                let empty = std::fs::read_dir(dir)
                    .map_err(|e| Error::io(dir, e))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(Error::bad_input(format!(
                        "--out {shown}: exists and is not a sweep directory of emergence (no {SWEEP_MARKER}); give a new or empty directory"
                    )));
                }
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Err(e) => return Err(Error::io(dir, e)),
    }
    // Shards starting together write the same bytes; each write is atomic.
    rundir::write_atomic(&dir.join(PLAN_FILE), plan.to_jsonl().as_bytes())?;
    rundir::write_atomic(
        &dir.join(SWEEP_MARKER),
        (serde_json::to_string_pretty(&marker).expect("a marker serialises") + "\n").as_bytes(),
    )?;
    ensure_layout(dir)
}

fn ensure_layout(dir: &Path) -> Result<()> {
    for sub in [PARTS_DIR, LEDGER_DIR, WORK_DIR] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// `emergence sweep run`.
pub fn run_shard(opts: &SweepRunOptions) -> Result<ShardReport> {
    let wall = Instant::now();
    let (shard, num_shards) = resolve_shard(opts.shard, opts.num_shards)?;
    let plan = Plan::read(&opts.plan)?;
    if opts.concurrent == 0 {
        return Err(Error::bad_input(
            "--concurrent 0: runs at once must be at least 1",
        ));
    }
    if !(opts.checkpoint_every_s.is_finite() && opts.checkpoint_every_s > 0.0) {
        return Err(Error::bad_input(format!(
            "--checkpoint-every-s {}: seconds between checkpoints must be a positive number",
            opts.checkpoint_every_s
        )));
    }
    let (backend, adapter) = resolve_backend(opts)?;
    claim_dir(&opts.out, &plan, &opts.plan)?;
    let dir = opts.out.as_path();
    let latest = ledger::latest(&ledger::read_all(dir)?);
    let mine: Vec<&PlannedRun> = plan
        .runs
        .iter()
        .filter(|r| r.index as u32 % num_shards == shard)
        .collect();
    let is_done = |r: &PlannedRun| {
        latest
            .get(&r.run_id)
            .is_some_and(|e| e.status == Outcome::Done)
            && super::part_path(dir, &r.run_id).is_file()
    };
    let already_done = mine.iter().filter(|r| is_done(r)).count();
    let todo: Vec<&PlannedRun> = mine
        .iter()
        .copied()
        .filter(|r| !is_done(r))
        .filter(|r| {
            !(opts.skip_failed
                && latest
                    .get(&r.run_id)
                    .is_some_and(|e| e.status == Outcome::Failed))
        })
        .collect();
    tracing::info!(
        "sweep {}: shard {shard} of {num_shards}: {} runs, {already_done} done already, {} to run",
        plan.header.name,
        mine.len(),
        todo.len()
    );
    let ctx = Ctx {
        opts,
        backend,
        adapter,
        plan: &plan,
        dir,
        shard,
        num_shards,
        total: todo.len(),
        started: Mutex::new(0),
    };
    let mut report = ShardReport {
        shard,
        num_shards,
        assigned: mine.len(),
        already_done,
        done: 0,
        failed: 0,
        busy: 0,
        interrupted: false,
        wall_s: 0.0,
    };
    let stopped = || {
        opts.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    let outcomes = if opts.concurrent <= 1 {
        let mut outcomes = Vec::new();
        for r in &todo {
            if stopped() {
                break;
            }
            let o = ctx.one(r)?;
            let halt = matches!(o, RunOutcome::Interrupted);
            outcomes.push((*r, o));
            if halt {
                break;
            }
        }
        outcomes
    } else {
        ctx.pool(&todo)?
    };
    let mut oom = Vec::new();
    for (r, o) in outcomes {
        match o {
            RunOutcome::Done => report.done += 1,
            RunOutcome::Failed { oom: true } if opts.concurrent > 1 => oom.push(r),
            RunOutcome::Failed { .. } => report.failed += 1,
            RunOutcome::Busy => report.busy += 1,
            RunOutcome::Interrupted => report.interrupted = true,
        }
    }
    // Out of device memory beside other runs: once more, alone.
    for r in oom {
        if stopped() || report.interrupted {
            report.failed += 1;
            continue;
        }
        tracing::warn!(
            "run {} ran out of device memory beside other runs; retrying it alone",
            r.run_id
        );
        match ctx.one(r)? {
            RunOutcome::Done => report.done += 1,
            RunOutcome::Interrupted => report.interrupted = true,
            RunOutcome::Busy => report.busy += 1,
            RunOutcome::Failed { .. } => report.failed += 1,
        }
    }
    report.interrupted |= stopped();
    report.wall_s = wall.elapsed().as_secs_f64();
    Ok(report)
}

enum RunOutcome {
    Done,
    Failed { oom: bool },
    Busy,
    Interrupted,
}

struct Ctx<'a> {
    opts: &'a SweepRunOptions,
    backend: BackendChoice,
    adapter: Option<String>,
    plan: &'a Plan,
    dir: &'a Path,
    shard: u32,
    num_shards: u32,
    total: usize,
    started: Mutex<usize>,
}

impl Ctx<'_> {
    /// Up to `concurrent` runs at once; a run waits until the memory its plan needs is free
    /// (one alone is always admitted).
    fn pool<'r>(&self, todo: &[&'r PlannedRun]) -> Result<Vec<(&'r PlannedRun, RunOutcome)>> {
        let gpu = self.backend == BackendChoice::Gpu;
        let budget = match self.opts.memory_budget {
            Some(b) => b,
            None if gpu => u64::MAX,
            None => crate::model::memory::available_memory()?.bytes,
        };
        let need = |r: &PlannedRun| if gpu { r.device_bytes } else { r.host_bytes };
        let queue: Mutex<VecDeque<&'r PlannedRun>> = Mutex::new(todo.iter().copied().collect());
        let in_use = (Mutex::new((0u64, 0u32)), Condvar::new());
        let results: Mutex<Vec<(&'r PlannedRun, RunOutcome)>> = Mutex::new(Vec::new());
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let halt = AtomicBool::new(false);
        let stop = self.opts.stop.clone();
        let stopped = || {
            halt.load(Ordering::Relaxed) || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
        };
        std::thread::scope(|s| {
            for _ in 0..self.opts.concurrent {
                s.spawn(|| loop {
                    if stopped() {
                        return;
                    }
                    let Some(r) = queue.lock().expect("queue").pop_front() else {
                        return;
                    };
                    let bytes = need(r);
                    {
                        let (lock, cv) = &in_use;
                        let mut u = lock.lock().expect("admission");
                        while u.1 > 0 && u.0.saturating_add(bytes) > budget {
                            u = cv.wait(u).expect("admission");
                        }
                        u.0 += bytes;
                        u.1 += 1;
                    }
                    let outcome = self.one(r);
                    {
                        let (lock, cv) = &in_use;
                        let mut u = lock.lock().expect("admission");
                        u.0 -= bytes;
                        u.1 -= 1;
                        cv.notify_all();
                    }
                    match outcome {
                        Ok(o) => {
                            if matches!(o, RunOutcome::Interrupted) {
                                halt.store(true, Ordering::Relaxed);
                            }
                            results.lock().expect("results").push((r, o));
                        }
                        Err(e) => {
                            halt.store(true, Ordering::Relaxed);
                            first_error.lock().expect("error").get_or_insert(e);
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().expect("error") {
            return Err(e);
        }
        Ok(results.into_inner().expect("results"))
    }

    /// One run: resumed from its checkpoint when an earlier attempt left one, else from
    /// the start; its part file and ledger line once it ends. An error here (the sweep
    /// directory cannot be written) stops the shard; a failure of the run is recorded.
    fn one(&self, r: &PlannedRun) -> Result<RunOutcome> {
        let n = {
            let mut s = self.started.lock().expect("counter");
            *s += 1;
            *s
        };
        let work = self.dir.join(WORK_DIR).join(&r.run_id);
        let config = self.dir.join(WORK_DIR).join(format!("{}.toml", r.run_id));
        let what = format!(
            "[{n}/{}] run {} ({}seed {})",
            self.total,
            r.run_id,
            r.params
                .iter()
                .map(|(k, v)| format!("{k}={v}, "))
                .collect::<String>(),
            r.seed
        );
        let here = rundir::hostname();
        let mut opts = RunOptions {
            backend: self.backend,
            adapter: self.adapter.clone(),
            stop: self.opts.stop.clone(),
            command: self.opts.command.clone(),
            no_report: true,
            ..RunOptions::default()
        };
        let manifest = Manifest::read(&work);
        let resumable = manifest
            .as_ref()
            .is_some_and(|m| m.status != Status::Complete && !checkpoint::list(&work).is_empty());
        if let Some(m) = &manifest {
            if m.status == Status::Running && m.host == here && m.maybe_running() {
                tracing::warn!(
                    "run {} is being run by process {} on this host; left to it",
                    r.run_id,
                    m.pid
                );
                return Ok(RunOutcome::Busy);
            }
        }
        if resumable {
            tracing::info!("{what}: resuming from its checkpoint");
            opts.resume = Some(work.clone());
            // This shard owns the run: an earlier attempt on a node that is gone cannot
            // say so itself.
            opts.force = true;
        } else {
            if work.exists() {
                // An attempt that left no checkpoint, in our own work folder: start over.
                std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
            }
            tracing::info!("{what}");
            rundir::write_atomic(&config, r.config.as_bytes())?;
            opts.config = Some(config.clone());
            opts.out = Some(work.clone());
            opts.checkpoint_every_s = Some(self.opts.checkpoint_every_s);
        }
        let wall = Instant::now();
        let mut entry = Entry {
            run_id: r.run_id.clone(),
            index: r.index,
            status: Outcome::Done,
            reason: None,
            message: None,
            shard: self.shard,
            num_shards: self.num_shards,
            host: here,
            time: String::new(),
            wall_s: 0.0,
            ticks_run: 0,
            backend: String::new(),
            adapter: String::new(),
            stages: Default::default(),
            totals: Default::default(),
        };
        match run::run(&opts) {
            Ok(report) if report.interrupted.is_some() => {
                tracing::warn!(
                    "run {} interrupted at tick {}; its checkpoint is in {}",
                    r.run_id,
                    report.interrupted.unwrap_or(0),
                    work.display()
                );
                Ok(RunOutcome::Interrupted)
            }
            Ok(report) => {
                write_part(self.dir, self.plan, r, &report.metrics)?;
                let s = &report.summary;
                entry.wall_s = wall.elapsed().as_secs_f64();
                entry.ticks_run = s.ticks_run;
                entry.backend = s.backend.clone();
                entry.adapter = s.adapter.clone();
                for t in s.stages.iter().flatten() {
                    entry.stages.insert(t.stage.to_string(), t.tick);
                }
                entry.totals = totals(s);
                entry.time = rundir::utc_now();
                ledger::append(self.dir, &entry)?;
                if self.opts.keep_runs {
                    let kept = self.dir.join(RUNS_DIR).join(&r.run_id);
                    let parent = self.dir.join(RUNS_DIR);
                    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
                    if kept.exists() {
                        std::fs::remove_dir_all(&kept).map_err(|e| Error::io(&kept, e))?;
                    }
                    std::fs::rename(&work, &kept).map_err(|e| Error::io(&kept, e))?;
                } else {
                    std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
                }
                let _ = std::fs::remove_file(&config);
                tracing::info!(
                    "run {} done: {} ticks in {:.2} s",
                    r.run_id,
                    s.ticks_run,
                    entry.wall_s
                );
                Ok(RunOutcome::Done)
            }
            Err(e) => {
                let message = e.to_string();
                let oom = is_oom(&message);
                tracing::error!("run {} failed: {message}", r.run_id);
                entry.status = Outcome::Failed;
                entry.reason = oom.then(|| "oom".to_string());
                entry.message = Some(message);
                entry.wall_s = wall.elapsed().as_secs_f64();
                entry.time = rundir::utc_now();
                ledger::append(self.dir, &entry)?;
                Ok(RunOutcome::Failed { oom })
            }
        }
    }
}

/// Whether a run's error says it ran out of memory: the device's (wgpu's out-of-memory
/// errors), or the host plan's refusal, since runs in flight take memory from each other.
/// The whole-run counts of a finished run's summary that its ledger line keeps
/// ([`Entry::totals`]).
fn totals(s: &crate::io::summary::Summary) -> std::collections::BTreeMap<String, u64> {
    let mut t = std::collections::BTreeMap::new();
    if let Some(ties) = s.ties {
        t.insert("ties_created".into(), ties.created);
        t.insert("ties_removed".into(), ties.removed);
        // A model whose ties change takes interventions: none applied counts 0.
        let applied = s.interventions.as_deref().unwrap_or(&[]);
        let sum = |f: fn(&crate::intervention::Applied) -> u64| applied.iter().map(f).sum::<u64>();
        t.insert("intervention_agents".into(), sum(|a| a.touched.agents));
        t.insert(
            "intervention_ties_added".into(),
            sum(|a| a.touched.ties_added),
        );
        t.insert(
            "intervention_ties_removed".into(),
            sum(|a| a.touched.ties_removed),
        );
        t.insert(
            "seeded_adopters".into(),
            sum(|a| {
                if a.action == "seed_adopters" {
                    a.touched.agents
                } else {
                    0
                }
            }),
        );
    }
    if let Some(c) = s.communities.as_ref() {
        if let Some(n) = c["communities_of_practice"].as_u64() {
            t.insert("communities_of_practice".into(), n);
        }
        // The tracked communities' peak sizes (members), median and largest.
        for (key, stat) in [
            ("community_size_median", "median"),
            ("community_size_max", "max"),
        ] {
            if let Some(v) = c["peak_size"][stat].as_f64() {
                t.insert(key.into(), v.round() as u64);
            }
        }
    }
    t
}

fn is_oom(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("out of memory")
        || m.contains("outofmemory")
        || message.contains(crate::model::memory::HOST_MEMORY_REFUSAL)
}

/// The columns of a part file and of `long.parquet`: run_id, replicate, seed, every
/// swept parameter, the metrics (tick first), the binary's version.
pub fn part_schema(plan: &Plan) -> arrow_schema::Schema {
    use arrow_schema::{DataType, Field};
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("replicate", DataType::Int64, false),
        Field::new("seed", DataType::Int64, false),
    ];
    for p in &plan.header.params {
        fields.push(Field::new(&p.name, param_type(p.kind), true));
    }
    for c in &plan.header.columns {
        let t = if c.integer {
            DataType::Int64
        } else {
            DataType::Float64
        };
        fields.push(Field::new(&c.name, t, true));
    }
    fields.push(Field::new("version", DataType::Utf8, false));
    arrow_schema::Schema::new(fields)
}

pub fn param_type(kind: ParamType) -> arrow_schema::DataType {
    use arrow_schema::DataType;
    match kind {
        ParamType::Int => DataType::Int64,
        ParamType::Float => DataType::Float64,
        ParamType::Bool => DataType::Boolean,
        ParamType::Text => DataType::Utf8,
    }
}

/// A parameter's column from each row's value (null where a run has none).
pub fn param_array(kind: ParamType, values: &[Option<&serde_json::Value>]) -> ArrayRef {
    let it = values.iter();
    match kind {
        ParamType::Int => Arc::new(
            it.map(|v| v.and_then(|v| v.as_i64()))
                .collect::<Int64Array>(),
        ),
        ParamType::Float => Arc::new(
            it.map(|v| v.and_then(|v| v.as_f64()))
                .collect::<Float64Array>(),
        ),
        ParamType::Bool => Arc::new(
            it.map(|v| v.and_then(|v| v.as_bool()))
                .collect::<BooleanArray>(),
        ),
        ParamType::Text => Arc::new(
            it.map(|v| v.and_then(|v| v.as_str()))
                .collect::<StringArray>(),
        ),
    }
}

/// `DIR/parts/<run_id>.parquet`: the run's rows, tidy.
fn write_part(dir: &Path, plan: &Plan, r: &PlannedRun, metrics: &MetricsTable) -> Result<()> {
    let rows = metrics.rows.len();
    let mut columns = vec![
        Column::new(
            "run_id",
            Arc::new(StringArray::from(vec![r.run_id.as_str(); rows])) as ArrayRef,
        ),
        Column::new(
            "replicate",
            Arc::new(Int64Array::from(vec![r.replicate as i64; rows])) as ArrayRef,
        ),
        Column::new(
            "seed",
            Arc::new(Int64Array::from(vec![r.seed; rows])) as ArrayRef,
        ),
    ];
    for p in &plan.header.params {
        columns.push(Column::new(
            &p.name,
            param_array(p.kind, &vec![r.params.get(&p.name); rows]),
        ));
    }
    for c in &plan.header.columns {
        let k = metrics.columns.iter().position(|n| *n == c.name);
        let values = |row: &Vec<f64>| k.map(|k| row[k]).filter(|v| v.is_finite());
        let array: ArrayRef = if c.integer {
            Arc::new(
                metrics
                    .rows
                    .iter()
                    .map(|row| values(row).map(|v| v as i64))
                    .collect::<Int64Array>(),
            )
        } else {
            Arc::new(metrics.rows.iter().map(values).collect::<Float64Array>())
        };
        columns.push(Column::new(&c.name, array));
    }
    columns.push(Column::new(
        "version",
        Arc::new(StringArray::from(vec![env!("CARGO_PKG_VERSION"); rows])) as ArrayRef,
    ));
    table::write_parquet_schema(
        &super::part_path(dir, &r.run_id),
        Arc::new(part_schema(plan)),
        &columns,
    )
}
