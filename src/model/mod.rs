//! Models and the interface every model implements. A model is one folder here (its
//! parameters, `cpu/` with the CPU twin of each kernel, named like its `.wgsl`, its GPU
//! host code, and its [`Simulation`]) plus one line in [`builtin`]; every command (`run`,
//! `bench`, `scaling`, `validate`, `info`) then works for it through [`simulate`] and the
//! one tick driver of [`crate::engine`].

pub mod deffuant;
pub mod device_plan;
pub mod kuramoto;
pub mod lifecycle;
pub mod memory;
pub mod sir;
pub mod threshold;
pub mod voter;

use crate::analysis::components::ComponentStats;
use crate::backend::Backend;
use crate::config::{GraphKind, Loaded};
use crate::engine::{self, Drive, Observer, Simulation};
use crate::error::{Error, Result};
use crate::graph::{Csr, EdgeList, GraphSummary};
use crate::io::MetricsTable;
use crate::progress::Progress;
use crate::render::RenderPlan;
use serde::Serialize;
use std::sync::RwLock;

pub use memory::{check_built, check_memory, host_plan, HostPlan};

/// One device buffer a run allocates: what `info` and the memory refusal are computed
/// from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceBuffer {
    pub name: &'static str,
    pub bytes: u64,
    /// Split over several bindings when larger than one.
    pub chunked: bool,
    /// How it is split.
    pub split: Split,
}

/// How a device buffer is bound.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// One binding.
    Whole,
    /// Up to [`crate::gpu::buffers::MAX_CHUNKS`] bindings (`ChunkedU32`, a static graph's
    /// neighbour ids).
    Csr,
    /// A tie-slot array (`SlotArray`): as many agent-aligned chunks as it needs, up to
    /// [`crate::gpu::shaders::MAX_SLOT_CHUNKS`] and as many as the adapter lets one
    /// stage bind ([`Model::storage_per_stage`]).
    Slots,
}

impl DeviceBuffer {
    pub fn new(name: &'static str, bytes: u64) -> Self {
        DeviceBuffer {
            name,
            bytes,
            chunked: false,
            split: Split::Whole,
        }
    }

    pub fn chunked(name: &'static str, bytes: u64) -> Self {
        DeviceBuffer {
            name,
            bytes,
            chunked: true,
            split: Split::Csr,
        }
    }

    pub fn slots(name: &'static str, bytes: u64) -> Self {
        DeviceBuffer {
            name,
            bytes,
            chunked: true,
            split: Split::Slots,
        }
    }
}

/// Whether a run of `model` at `size` fits `limits` ([`device_plan::plan`]).
pub fn fits(model: &dyn Model, size: &Size, limits: &device_plan::Limits) -> bool {
    device_plan::plan(model, size, limits).binds.is_none()
}

/// The largest N that fits `limits` for a run shaped like `like` (its mean degree
/// `ties / agents · 2` and K kept as N changes): from the model's declared buffers, by
/// bisection.
pub fn largest_agents(model: &dyn Model, like: &Size, limits: &device_plan::Limits) -> u64 {
    device_plan::largest_agents(model, like, limits)
}

/// The largest N for which `fit` holds of a run shaped like `like` (its ties per agent
/// and K kept as N changes), by bisection up to [`crate::config::MAX_AGENTS`]: the
/// largest N of the device's bindings and of the host's memory alike.
pub fn largest_fitting(like: &Size, fit: impl Fn(&Size) -> bool) -> u64 {
    let ties_per_agent = like.ties as f64 / like.agents.max(1) as f64;
    let at = |n: u64| Size {
        agents: n,
        ties: (ties_per_agent * n as f64).ceil() as u64,
        ..*like
    };
    let (mut lo, mut hi) = (0u64, crate::config::MAX_AGENTS as u64 + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fit(&at(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Refuse, before anything is allocated on the device, a run whose declared buffers do not
/// fit the adapter's storage bindings: the message names the buffer that does not fit
/// and the largest N that would, both computed from the model's [`Model::buffers`].
pub fn check_fits(model: &dyn Model, size: &Size, backend: &Backend) -> Result<()> {
    match backend {
        Backend::Gpu(ctx) => check_fits_on(model, size, ctx),
        Backend::Cpu => Ok(()),
    }
}

/// [`check_fits`] on an open device (the models' own GPU entry points call it too): the
/// message names what does not fit ([`device_plan::Binds`]) and the largest N that does.
pub fn check_fits_on(model: &dyn Model, size: &Size, ctx: &crate::gpu::GpuContext) -> Result<()> {
    let limits = device_plan::Limits::of(ctx);
    let plan = device_plan::plan(model, size, &limits);
    let Some(binds) = &plan.binds else {
        return Ok(());
    };
    Err(Error::bad_input(format!(
        "agents: {} agents of model {} (K = {}) do not fit `{}`: {}; the largest N that fits is {}",
        size.agents,
        model.name(),
        size.slots,
        limits.name,
        binds.describe(&plan, &limits),
        largest_agents(model, size, &limits)
    )))
}

/// The size of a run, as far as its buffers depend on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    pub agents: u64,
    /// Ties of the starting graph (each stored at both ends).
    pub ties: u64,
    /// K, tie slots per agent.
    pub slots: u64,
    /// Whether the run is well mixed (no ties stored).
    pub complete: bool,
}

impl Size {
    /// The size a scenario asks for, known before its graph is built: `agents`, the ties
    /// a generator makes on average (agents · mean degree / 2; `ws` its even lattice
    /// degree, `ba` its ties per new agent), K, and whether it is well mixed. A graph file
    /// is sized once read: its size here is 0 agents.
    pub fn from_config(loaded: &Loaded) -> Size {
        let s = &loaded.scenario;
        let g = &s.graph;
        let n = s.agents.max(0) as u64;
        let half_degree = match g.kind {
            GraphKind::Ws => (g.mean_degree / 2.0).round(),
            GraphKind::Ba if g.attach > 0 => g.attach as f64,
            GraphKind::Ba => (g.mean_degree / 2.0).round().max(1.0),
            GraphKind::Empty | GraphKind::Complete | GraphKind::File => 0.0,
            _ => g.mean_degree / 2.0,
        };
        let agents = if g.kind == GraphKind::File { 0 } else { n };
        Size {
            agents,
            ties: (agents as f64 * half_degree).ceil() as u64,
            slots: g.slots.max(0) as u64,
            complete: g.kind == GraphKind::Complete,
        }
    }
}

impl Size {
    /// The size of a run of the scenario `loaded` on the graph it built (`agents` of
    /// them, the graph's ties).
    pub fn of_graph(loaded: &Loaded, graph: &GraphSummary, agents: u64) -> Size {
        Size {
            agents,
            ties: graph.ties,
            slots: loaded.scenario.graph.slots as u64,
            complete: loaded.scenario.graph.kind == GraphKind::Complete,
        }
    }
}

/// What a model is started from: the scenario and the graph built from it.
pub struct Start<'a> {
    pub loaded: &'a Loaded,
    pub graph: &'a GraphSummary,
    pub edges: EdgeList,
    pub csr: Csr,
    /// Frames of the run, when it makes any (only models that [`Model::renders`]).
    pub render: Option<&'a RenderPlan>,
}

impl Start<'_> {
    pub fn n(&self) -> u32 {
        self.csr.n()
    }

    /// The run's size, as the model's buffers depend on it.
    pub fn size(&self) -> Size {
        Size::of_graph(self.loaded, self.graph, self.n() as u64)
    }

    pub fn seed(&self) -> u32 {
        self.loaded.scenario.seed as u32
    }

    pub fn ticks(&self) -> u32 {
        self.loaded.scenario.ticks as u32
    }

    pub fn metrics_every(&self) -> u32 {
        self.loaded.scenario.metrics_every as u32
    }

    /// Well mixed: no ties are stored, the model pairs agents itself.
    pub fn complete(&self) -> bool {
        self.loaded.scenario.graph.kind == GraphKind::Complete
    }
}

/// What a finished simulation says about its run, for `summary.json`.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether the run stopped at its fixed point (false for models that run all ticks).
    pub converged: bool,
    /// Components of the final ties (None when well mixed).
    pub components: Option<ComponentStats>,
    /// The outcome next to theory (the classical models).
    pub result: Option<serde_json::Value>,
    /// Model-specific milestones (the lifecycle's first ticks of each stage's threshold).
    pub milestones: Option<serde_json::Value>,
    /// Log lines the run ends with (costs, milestones).
    pub notes: Vec<String>,
    /// `summary.json` `communities`: the tracked communities of practice (lifecycle).
    pub communities: Option<serde_json::Value>,
    /// `stages.json` `online`: the stages as the online tracker said them during the run
    /// (models with stages).
    pub online_stages: Option<serde_json::Value>,
    /// Parquet tables for the run directory, by file name (the lifecycle's
    /// `communities.parquet` and `community_events.parquet`).
    pub tables: Vec<(&'static str, Vec<crate::io::table::Column>)>,
    /// `summary.json` `ties`: the ties the run created and removed from tick 0 (models
    /// whose ties change).
    pub ties: Option<TieTotals>,
}

/// Ties created and removed over a whole run (interventions' own are not counted here:
/// `interventions.csv` has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TieTotals {
    pub created: u64,
    pub removed: u64,
}

/// A simulation that can be asked for its outcome once the driver is done with it.
pub trait Run: Simulation {
    fn finish(self: Box<Self>, table: &MetricsTable) -> Result<Outcome>;
}

/// The interface of a model.
pub trait Model: Send + Sync {
    /// `model.kind` in a scenario.
    fn name(&self) -> &'static str;
    /// Its metrics columns (a model with optional columns lists them all).
    fn columns(&self) -> &'static [&'static str];
    /// The column `scaling` takes as order parameter unless `--order` says otherwise.
    fn order_column(&self) -> &'static str;
    /// Whether the stage detector reads its metrics.
    fn has_stages(&self) -> bool {
        false
    }
    /// Whether it can draw frames and movies.
    fn renders(&self) -> bool {
        false
    }
    /// The device buffers a run of this size allocates.
    fn buffers(&self, size: &Size) -> Vec<DeviceBuffer>;
    /// The most storage buffers one of its kernels binds when its tie-slot arrays are
    /// split into `slot_chunks` ([`Split::Slots`]); 0 when it has no split arrays (its
    /// kernels' fixed bindings are checked when its pipelines are built).
    fn storage_per_stage(&self, slot_chunks: u32) -> u32 {
        let _ = slot_chunks;
        0
    }
    /// Host bytes its analysis needs beside the state at a size, at its peak (the
    /// lifecycle's same-graph null sample: a rewired copy of the ties and its
    /// communities); 0 for models without such work.
    fn host_analysis_bytes(&self, size: &Size) -> u64 {
        let _ = size;
        0
    }
    /// The unit of progress ("ticks", "sweeps").
    fn unit(&self) -> &'static str {
        "ticks"
    }
    /// The metrics columns that are counts: integers in `metrics.parquet` (the others
    /// are floats).
    fn integer_columns(&self) -> &'static [&'static str] {
        &["tick"]
    }
    /// Whether every tick has a metrics row (models that stop at a fixed point), rather
    /// than every `metrics_every` ticks.
    fn row_every_tick(&self) -> bool {
        false
    }
    /// The bytes each pass of a tick and of a metrics row moves at `size` (counted from
    /// its kernels' storage bindings, [`crate::roofline`]), for `bench`'s roofline and
    /// `bench --predict`; empty for a model that does not declare them.
    fn traffic(
        &self,
        _size: &Size,
        _scenario: &crate::config::Scenario,
    ) -> Vec<crate::roofline::PassTraffic> {
        Vec::new()
    }
    /// Start a run on `backend`.
    fn start<'a>(&self, start: Start<'a>, backend: &'a Backend) -> Result<Box<dyn Run + 'a>>;
}

fn builtin() -> Vec<&'static dyn Model> {
    vec![
        &threshold::Threshold,
        &lifecycle::LifecycleModel,
        &sir::Sir,
        &deffuant::Deffuant,
        &voter::VoterModel,
        &kuramoto::Kuramoto,
    ]
}

static REGISTRY: RwLock<Vec<&'static dyn Model>> = RwLock::new(Vec::new());

fn with_registry<T>(f: impl FnOnce(&[&'static dyn Model]) -> T) -> T {
    {
        let models = REGISTRY.read().expect("registry lock");
        if !models.is_empty() {
            return f(&models);
        }
    }
    let mut models = REGISTRY.write().expect("registry lock");
    if models.is_empty() {
        *models = builtin();
    }
    f(&models)
}

/// Add a model to the registry (a model of one's own, or a test's). A name already taken
/// is refused.
pub fn register(model: &'static dyn Model) -> Result<()> {
    with_registry(|_| ());
    let mut models = REGISTRY.write().expect("registry lock");
    if models.iter().any(|m| m.name() == model.name()) {
        return Err(Error::bad_input(format!(
            "model `{}` is registered already",
            model.name()
        )));
    }
    models.push(model);
    Ok(())
}

/// Every registered model.
pub fn all() -> Vec<&'static dyn Model> {
    with_registry(|m| m.to_vec())
}

/// The model of `model.kind = name`.
pub fn find(name: &str) -> Result<&'static dyn Model> {
    with_registry(|models| {
        models
            .iter()
            .copied()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "model.kind = \"{name}\" is not a model; allowed: {}",
                    models
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    })
}

/// A run's results as the commands need them.
pub struct Simulated {
    pub table: MetricsTable,
    /// Ticks from tick 0 to the last state (a resumed run counts the ticks before its
    /// checkpoint too).
    pub ticks_run: u64,
    /// The ticks run by this process (`ticks_run` less the checkpoint's tick).
    pub ticks_here: u64,
    pub outcome: Outcome,
    pub agents: u32,
    /// Stopped by a signal after a checkpoint at this tick: the outcome is empty.
    pub interrupted: Option<u64>,
    /// The pass times of a profiled run.
    pub profiled: Option<crate::profile::Profiled>,
    /// The interventions applied, from tick 0 (a resumed run's earlier ones too).
    pub interventions: Vec<crate::intervention::Applied>,
}

/// A state to go on from, and the metrics rows up to it (a checkpoint's).
pub struct Resume {
    pub state: crate::engine::State,
    pub table: MetricsTable,
}

/// Start the scenario's model on `backend` from `start`, drive it through the one tick
/// driver, and finish it: the path of every run of every model.
pub fn simulate<'o>(
    model: &dyn Model,
    start: Start<'_>,
    backend: &Backend,
    progress: &'o Progress,
    observers: Vec<&'o mut dyn Observer>,
) -> Result<Simulated> {
    simulate_with(
        model,
        start,
        backend,
        progress,
        observers,
        Saves::default(),
        None,
    )
}

/// What a run saves of its state as it goes: checkpoints (to resume from) and snapshots
/// (for analysis and `export`).
#[derive(Default)]
pub struct Saves<'o> {
    pub checkpoints: Option<engine::Checkpoints<'o>>,
    pub snapshots: Option<engine::Snapshots<'o>>,
    /// Time the passes too (`run --profile`): [`Simulated::profiled`].
    pub profile: bool,
}

/// [`simulate`] with checkpoints (and a stop flag) and snapshots, going on from `resume`
/// when given.
pub fn simulate_with<'o>(
    model: &dyn Model,
    start: Start<'_>,
    backend: &Backend,
    progress: &'o Progress,
    observers: Vec<&'o mut dyn Observer>,
    saves: Saves<'o>,
    resume: Option<Resume>,
) -> Result<Simulated> {
    let total = start.ticks() as u64;
    let agents = start.n();
    let frame_every = start.render.map(|p| p.frame_every);
    let start_loaded = start.loaded;
    memory::check_built(model, &start.size(), start.loaded, backend)?;
    let mut sim = model.start(start, backend).map_err(|e| {
        e.during(format_args!(
            "the start of model {} (allocating its buffers, building its pipelines)",
            model.name()
        ))
    })?;
    let from = resume.as_ref().map_or(0, |r| r.state.tick);
    let mut schedule = crate::intervention::Schedule::of(start_loaded, agents)?;
    if let Some(r) = &resume {
        schedule.restore(&r.state)?;
    }
    let schedule = crate::intervention::Shared::new(schedule);
    let drive = Drive {
        ticks: total.saturating_sub(from),
        frame_every,
        progress,
        observers,
        fresh: true,
        prior: None,
        checkpoints: saves.checkpoints,
        snapshots: saves.snapshots,
        profile: saves.profile,
        intervener: (!schedule.is_empty())
            .then(|| Box::new(schedule.clone()) as Box<dyn crate::engine::Intervener>),
    };
    let drive = match resume {
        Some(r) => {
            sim.set_state(&r.state)
                .map_err(|e| e.during("the upload of the checkpoint's state"))?;
            drive.resumed_from(r.table)
        }
        None => drive,
    };
    let driven = engine::drive(sim.as_mut(), drive)?;
    let outcome = if driven.interrupted.is_some() {
        Outcome::default()
    } else {
        sim.finish(&driven.table)?
    };
    Ok(Simulated {
        table: driven.table,
        ticks_run: from + driven.ticks_run,
        ticks_here: driven.ticks_run,
        outcome,
        agents,
        interrupted: driven.interrupted,
        profiled: driven.profiled,
        interventions: schedule.applied(),
    })
}
