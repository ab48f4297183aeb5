//! The one tick driver. Every model runs through [`drive`]: it owns the loop, the metrics
//! schedule, the queue of in-flight submissions (two deep for models that may run ahead,
//! so the device computes the next interval while the host reads the last row), progress,
//! the early stop at a model's fixed point, the observers called at metrics rows and
//! frames, checkpoints (every T ticks, every S seconds, and when a stop is asked for by a
//! signal), snapshots of the state at chosen metrics rows, the interventions applied
//! between intervals (an [`Intervener`]), and the refusal of a metrics row that is not
//! finite. A model only says how to run an interval and what its row is:
//! see [`Simulation`].

pub mod state;

pub use state::{Per, State, Values};

use crate::error::{Error, Result};
use crate::io::MetricsTable;
use crate::progress::Progress;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One submission: `ticks` ticks, then (if asked) a metrics row and a frame of the state
/// at the end of the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub ticks: u32,
    pub row: bool,
    pub frame: bool,
}

/// What a collected interval produced: its metrics rows (several for models with a row
/// per tick, none when no row was asked for) and the frame's packed pixels.
#[derive(Debug, Default)]
pub struct Collected {
    pub rows: Vec<Vec<f64>>,
    pub frame: Option<FrameOut>,
}

/// A frame as a model hands it over: its packed RGBA8 pixels and what its captions may
/// say of the communities of practice drawn in it.
#[derive(Debug, Clone, Default)]
pub struct FrameOut {
    pub pixels: Vec<u32>,
    /// The communities drawn (from the last tracker sample): each one's size and whether
    /// it counts as a community of practice.
    pub communities: Vec<(u32, bool)>,
}

/// When a model writes metrics rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// A row every `metrics_every` ticks (at multiples of it) and at the last tick.
    Every(u32),
    /// A row for every tick, collected `batch` ticks at a time (models that stop at a
    /// fixed point: the cascade, SIR).
    EachTick { batch: u32 },
}

/// A model's run on one backend, driven interval by interval by [`drive`]. On the GPU
/// `submit` records and submits without waiting and `collect` waits for the oldest
/// submission (first in, first out); on the CPU `submit` does the work.
pub trait Simulation {
    /// Metrics columns, in the order of every row.
    fn columns(&self) -> &'static [&'static str];
    /// The columns whose value may be undefined at a row (NaN: empty in metrics.csv,
    /// null in metrics.parquet); NaN anywhere else is refused.
    fn undefined_columns(&self) -> &'static [&'static str] {
        &[]
    }
    /// Ticks completed at the start of the run (0, or a resumed state's tick).
    fn start_tick(&self) -> u64;
    /// The row schedule.
    fn rows(&self) -> Rows;
    /// How many intervals may be in flight at once: 2 for models whose ticks never stop
    /// early, 1 for those whose fixed point is known only from the last row.
    fn queue_depth(&self) -> usize {
        1
    }
    /// The rows of the starting state (usually one, at tick 0).
    fn initial_rows(&mut self) -> Result<Vec<Vec<f64>>>;
    fn submit(&mut self, interval: Interval) -> Result<()>;
    fn collect(&mut self) -> Result<Collected>;
    /// True once the model reached its fixed point: further ticks would change nothing,
    /// or its stopping rule says so.
    fn finished(&self) -> bool {
        false
    }
    /// The progress line for the rows so far.
    fn progress(&self, table: &MetricsTable) -> String {
        let _ = table;
        String::new()
    }
    /// The stage of the life-cycle the rows so far show (models with stages).
    fn stage(&self, table: &MetricsTable) -> Option<u32> {
        let _ = table;
        None
    }
    /// The passes the one-off interventions run on the state where it lives
    /// ([`crate::intervention::passes`]), or None for a model they do not act on.
    /// Nothing may be in flight.
    fn action_passes(
        &mut self,
    ) -> Result<Option<Box<dyn crate::intervention::passes::ActionPasses + '_>>> {
        Ok(None)
    }
    /// The whole state after the last collected interval, as named arrays (downloaded
    /// from the device on the GPU). Nothing may be in flight.
    fn state(&mut self) -> Result<State>;
    /// Go on from `state` (uploaded to the device on the GPU): the ticks that follow are
    /// those the run that reached `state` would have made. The driver is then run with
    /// [`Drive::resumed`], since the rows up to the state are already taken.
    fn set_state(&mut self, state: &State) -> Result<()>;
    /// Time each pass from now on (`run --profile`); the clock it uses ("device
    /// timestamps", "CPU wall clock"), or None when the model does not time its passes.
    /// Timing must not change the run.
    fn set_profiling(&mut self) -> Option<&'static str> {
        None
    }
    /// The passes timed since [`Self::set_profiling`]. Nothing may be in flight.
    fn pass_times(&mut self) -> Result<Vec<crate::profile::PassTime>> {
        Ok(Vec::new())
    }
}

/// Called by the driver as the run goes.
pub trait Observer {
    /// After each collected interval that produced rows; `table` holds every row so far.
    fn on_rows(&mut self, table: &MetricsTable) -> Result<()> {
        let _ = table;
        Ok(())
    }
    /// A frame of the state at `tick`, after that tick's row (if any) is in `table`.
    fn on_frame(&mut self, tick: u64, frame: FrameOut, table: &MetricsTable) -> Result<()> {
        let _ = (tick, frame, table);
        Ok(())
    }
}

/// What acts on a run between its intervals (the scenario's interventions,
/// [`crate::intervention::Schedule`]). The driver stops at the ticks it names, keeps one
/// interval in flight while it watches the rows, and calls [`Intervener::at`] whenever
/// nothing is in flight after an interval, before any checkpoint or snapshot of that
/// tick, so a checkpoint holds the state with what was applied at its tick.
pub trait Intervener {
    /// The first tick after `tick` at which something is due whatever the rows say.
    fn next_after(&self, tick: u64) -> Option<u64>;
    /// Whether something waits for a condition on the rows: then the state must be that
    /// of each row's tick when the row is read, and one interval at most is in flight.
    fn watching(&self) -> bool;
    /// The state is that of `tick`, nothing is in flight, `table` holds every row so far
    /// (its last row is `tick`'s if one was just taken): apply what is due.
    fn at(&mut self, sim: &mut dyn Simulation, tick: u64, table: &MetricsTable) -> Result<()>;
    /// The checkpoint's state with what the intervener must remember added.
    fn save(&self, state: State) -> State;
}

/// Where checkpoints go: the driver hands it the whole state (nothing in flight) and the
/// metrics rows so far.
pub trait CheckpointSink {
    fn save(&mut self, state: &State, table: &MetricsTable) -> Result<()>;
}

/// Where snapshots go: the driver hands it the whole state at a snapshot tick (nothing
/// in flight) and the metrics rows so far, whose last row is that tick's.
pub trait SnapshotSink {
    fn save(&mut self, state: &State, table: &MetricsTable) -> Result<()>;
}

/// The ticks at which the state is snapshot: every multiple of `every` (tick 0 included)
/// and each tick of `at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotTicks {
    pub every: Option<u64>,
    /// Ascending, without repeats.
    pub at: Vec<u64>,
}

impl SnapshotTicks {
    pub fn new(every: Option<u64>, mut at: Vec<u64>) -> SnapshotTicks {
        at.sort_unstable();
        at.dedup();
        SnapshotTicks {
            every: every.map(|e| e.max(1)),
            at,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.every.is_none() && self.at.is_empty()
    }

    pub fn due(&self, tick: u64) -> bool {
        self.every.is_some_and(|e| tick.is_multiple_of(e)) || self.at.binary_search(&tick).is_ok()
    }

    /// The first snapshot tick after `tick`.
    pub fn next_after(&self, tick: u64) -> Option<u64> {
        let every = self.every.map(|e| (tick / e + 1) * e);
        let at = self.at.iter().copied().find(|&t| t > tick);
        [every, at].into_iter().flatten().min()
    }

    /// Every snapshot tick from `from` to `to`, both included.
    pub fn between(&self, from: u64, to: u64) -> Vec<u64> {
        let mut ticks = Vec::new();
        let mut t = if self.due(from) {
            Some(from)
        } else {
            self.next_after(from)
        };
        while let Some(tick) = t.filter(|&t| t <= to) {
            ticks.push(tick);
            t = self.next_after(tick);
        }
        ticks
    }
}

/// When to snapshot and where to.
pub struct Snapshots<'a> {
    pub ticks: SnapshotTicks,
    pub sink: &'a mut dyn SnapshotSink,
}

/// When to checkpoint, and the flag that asks the run to stop (set by SIGINT/SIGTERM).
pub struct Checkpoints<'a> {
    /// A checkpoint at every multiple of this tick.
    pub every_ticks: Option<u64>,
    /// A checkpoint once this much wall time has passed since the last one.
    pub every: Option<Duration>,
    /// Once set, the run finishes the interval in flight, checkpoints and stops.
    pub stop: Option<&'a AtomicBool>,
    /// A checkpoint of the final state too, when the run completes.
    pub at_end: bool,
    pub sink: &'a mut dyn CheckpointSink,
}

/// How long to drive and what to observe.
pub struct Drive<'a> {
    /// Ticks to run past the starting state (an upper bound for models that stop early).
    pub ticks: u64,
    /// Ticks between frames (`None`: no frames). Frames fall at tick 0 (of a run that
    /// starts there), at every multiple of `frame_every` and at the last tick.
    pub frame_every: Option<u32>,
    pub progress: &'a Progress,
    pub observers: Vec<&'a mut dyn Observer>,
    /// Whether the run starts here (its initial rows are taken), or goes on from a state
    /// whose rows were taken before.
    pub fresh: bool,
    /// The rows taken before a resumed state (a checkpoint's), which the table goes on
    /// from.
    pub prior: Option<MetricsTable>,
    pub checkpoints: Option<Checkpoints<'a>>,
    pub snapshots: Option<Snapshots<'a>>,
    /// Time the passes (`run --profile`): [`Driven::profiled`].
    pub profile: bool,
    /// The scenario's interventions, applied between intervals.
    pub intervener: Option<Box<dyn Intervener + 'a>>,
}

impl<'a> Drive<'a> {
    /// The same drive, going on from a state loaded with [`Simulation::set_state`].
    pub fn resumed(self) -> Drive<'a> {
        Drive {
            fresh: false,
            ..self
        }
    }

    /// The same drive, going on from a state loaded with [`Simulation::set_state`] whose
    /// rows up to it are `prior`.
    pub fn resumed_from(self, prior: MetricsTable) -> Drive<'a> {
        Drive {
            fresh: false,
            prior: Some(prior),
            ..self
        }
    }
}

impl Drive<'_> {
    /// A drive with no progress and no observers (the runs of `validate`, the tests).
    pub fn quiet<'a>(ticks: u64) -> Drive<'a> {
        static HIDDEN: std::sync::OnceLock<Progress> = std::sync::OnceLock::new();
        Drive {
            ticks,
            frame_every: None,
            progress: HIDDEN.get_or_init(Progress::hidden),
            observers: Vec::new(),
            fresh: true,
            prior: None,
            checkpoints: None,
            snapshots: None,
            profile: false,
            intervener: None,
        }
    }
}

/// What a finished drive gives back.
pub struct Driven {
    pub table: MetricsTable,
    /// Ticks run (the tick of the last state minus the starting tick).
    pub ticks_run: u64,
    /// The run stopped because a stop was asked for (a signal), after its checkpoint:
    /// the tick it stopped at.
    pub interrupted: Option<u64>,
    /// The pass times of a profiled drive.
    pub profiled: Option<crate::profile::Profiled>,
}

/// Refuse a row that holds an infinity, or NaN outside the columns the model says may be
/// undefined: it names the tick and the column.
fn check_finite(columns: &[&str], undefined: &[&str], row: &[f64]) -> Result<()> {
    let allowed =
        |k: usize, v: f64| v.is_finite() || (v.is_nan() && undefined.contains(&columns[k]));
    match row.iter().enumerate().position(|(k, &v)| !allowed(k, v)) {
        None => Ok(()),
        Some(k) => Err(Error::Failed(format!(
            "tick {}: metrics column `{}` is {}; the model left the range where it is finite (check its parameters)",
            row.first().copied().unwrap_or(f64::NAN),
            columns.get(k).copied().unwrap_or("?"),
            row[k]
        ))),
    }
}

/// The next stop after `tick`: the next row, the next frame, the next checkpoint, the
/// next snapshot or the end, whichever comes first, and what is due there.
fn next_stop(
    tick: u64,
    end: u64,
    rows: Rows,
    frame_every: Option<u32>,
    checkpoint_every: Option<u64>,
    snapshot_at: Option<u64>,
    intervene_at: Option<u64>,
) -> (u64, Interval) {
    let row_at = match rows {
        Rows::Every(every) => {
            let every = every.max(1) as u64;
            ((tick / every + 1) * every).min(end)
        }
        Rows::EachTick { batch } => (tick + batch.max(1) as u64).min(end),
    };
    // Frames fall at multiples of `frame_every` from tick 0, so a resumed run draws the
    // frames the uninterrupted one would have.
    let frame_at = frame_every.map(|f| ((tick / f as u64 + 1) * f as u64).min(end));
    let checkpoint_at = checkpoint_every.map(|c| ((tick / c + 1) * c).min(end));
    let next = [
        frame_at,
        checkpoint_at,
        snapshot_at.map(|t| t.min(end)),
        intervene_at.map(|t| t.min(end)),
    ]
    .into_iter()
    .flatten()
    .fold(row_at, u64::min);
    let interval = Interval {
        ticks: (next - tick) as u32,
        row: next == row_at,
        frame: frame_at == Some(next),
    };
    (next, interval)
}

/// Run `sim` for `drive.ticks` ticks (or to its fixed point): the one loop of every model
/// on every backend.
pub fn drive(sim: &mut dyn Simulation, mut drive: Drive<'_>) -> Result<Driven> {
    let columns = sim.columns();
    let undefined = sim.undefined_columns();
    // The tick comes first in every table: the driver reads it from the rows.
    debug_assert_eq!(columns.first(), Some(&"tick"));
    let mut table = drive
        .prior
        .take()
        .unwrap_or_else(|| MetricsTable::new(columns));
    if drive.fresh {
        for row in sim.initial_rows()? {
            check_finite(columns, undefined, &row)?;
            table.push(row);
        }
    }
    let start = sim.start_tick();
    let end = start + drive.ticks;
    let rows = sim.rows();
    let frame_every = drive.frame_every.map(|f| f.max(1));
    let depth = sim.queue_depth().max(1);
    let checkpoint_every = drive
        .checkpoints
        .as_ref()
        .and_then(|c| c.every_ticks)
        .map(|t| t.max(1));
    let snapshot_ticks = drive.snapshots.as_ref().map(|s| s.ticks.clone());
    let mut last_checkpoint = Instant::now();
    // Ticks at which the queued intervals end.
    let mut in_flight: VecDeque<u64> = VecDeque::new();
    let mut planned = start;
    let mut reached = start;
    // Set while the queue drains for a checkpoint or a snapshot: nothing more is
    // submitted until the state at `planned` has been taken.
    let mut holding = false;
    // Whether the state taken once drained goes to the checkpoint sink.
    let mut checkpoint_due = false;
    // The last tick snapshot (a resumed run took those up to its start before).
    let mut snapshot_taken = (!drive.fresh).then_some(start);
    let mut interrupted = None;
    let clock = if drive.profile {
        Some(sim.set_profiling().unwrap_or("the driver's wall clock"))
    } else {
        None
    };
    let rows_before = table.rows.len();
    let looped = Instant::now();
    // What is due on the starting state (`at = 0`, a condition the first row meets),
    // before its snapshot and its frame; a resumed run's was applied before its
    // checkpoint.
    if drive.fresh {
        if let Some(iv) = drive.intervener.as_deref_mut() {
            iv.at(sim, start, &table)?;
        }
    }
    if drive.fresh && snapshot_ticks.as_ref().is_some_and(|t| t.due(start)) {
        let state = sim
            .state()
            .map_err(|e| e.during(format_args!("the download of the state at tick {start}")))?;
        if let Some(s) = drive.snapshots.as_mut() {
            s.sink.save(&state, &table)?;
        }
        snapshot_taken = Some(start);
    }
    if frame_every.is_some() && drive.fresh {
        // The frame of the starting state (its row is the initial row).
        sim.submit(Interval {
            ticks: 0,
            row: false,
            frame: true,
        })?;
        in_flight.push_back(start);
    }
    for o in drive.observers.iter_mut() {
        o.on_rows(&table)?;
    }
    loop {
        if let Some(c) = &drive.checkpoints {
            let asked = c.stop.is_some_and(|s| s.load(Ordering::SeqCst));
            let due = c.every.is_some_and(|d| last_checkpoint.elapsed() >= d);
            if (asked || due) && planned < end && !sim.finished() {
                holding = true;
                checkpoint_due = true;
            }
        }
        // While a condition on the rows waits, the state must be that of each row's tick
        // when the row is read: one interval in flight.
        let depth = match drive.intervener.as_deref() {
            Some(iv) if iv.watching() => 1,
            _ => depth,
        };
        while !holding && in_flight.len() < depth && planned < end && !sim.finished() {
            let snapshot_at = snapshot_ticks.as_ref().and_then(|t| t.next_after(planned));
            let intervene_at = drive
                .intervener
                .as_deref()
                .and_then(|iv| iv.next_after(planned));
            let (next, interval) = next_stop(
                planned,
                end,
                rows,
                frame_every,
                checkpoint_every,
                snapshot_at,
                intervene_at,
            );
            sim.submit(interval).map_err(|e| {
                e.during(format_args!("the tick passes of ticks {planned}..{next}"))
            })?;
            in_flight.push_back(next);
            planned = next;
            if checkpoint_every.is_some_and(|c| next % c == 0) && next < end {
                holding = true;
                checkpoint_due = true;
            }
            if snapshot_ticks.as_ref().is_some_and(|t| t.due(next)) {
                holding = true;
            }
            if intervene_at == Some(next) && next < end {
                holding = true;
            }
        }
        let Some(tick) = in_flight.pop_front() else {
            if holding {
                // Everything submitted is collected: the state is that of `reached`.
                holding = false;
                let snapshot = snapshot_taken != Some(reached)
                    && snapshot_ticks.as_ref().is_some_and(|t| t.due(reached));
                let checkpoint = checkpoint_due && !sim.finished();
                checkpoint_due = false;
                if !(snapshot || checkpoint) {
                    continue;
                }
                let state = sim.state().map_err(|e| {
                    e.during(format_args!("the download of the state at tick {reached}"))
                })?;
                if snapshot {
                    if let Some(s) = drive.snapshots.as_mut() {
                        s.sink.save(&state, &table)?;
                    }
                    snapshot_taken = Some(reached);
                }
                if checkpoint {
                    let c = drive
                        .checkpoints
                        .as_mut()
                        .expect("a checkpoint is due only with checkpoints");
                    match drive.intervener.as_deref() {
                        Some(iv) => c.sink.save(&iv.save(state), &table)?,
                        None => c.sink.save(&state, &table)?,
                    }
                    last_checkpoint = Instant::now();
                    if c.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                        interrupted = Some(reached);
                        break;
                    }
                }
                continue;
            }
            break;
        };
        let collected = sim.collect().map_err(|e| {
            e.during(format_args!(
                "the tick passes and metrics ending at tick {tick}"
            ))
        })?;
        let had_rows = !collected.rows.is_empty();
        for row in collected.rows {
            check_finite(columns, undefined, &row)?;
            table.push(row);
        }
        // Every table's first column is the tick; a model with a row per tick may stop
        // inside its batch, and its last row says where.
        reached = reached.max(match table.rows.last() {
            Some(row) if had_rows => row[0] as u64,
            _ => tick,
        });
        if had_rows {
            drive
                .progress
                .update_with(reached, &sim.progress(&table), || sim.stage(&table));
            for o in drive.observers.iter_mut() {
                o.on_rows(&table)?;
            }
        }
        if let Some(frame) = collected.frame {
            for o in drive.observers.iter_mut() {
                o.on_frame(tick, frame.clone(), &table)?;
            }
        }
        if in_flight.is_empty() && reached < end {
            if let Some(iv) = drive.intervener.as_deref_mut() {
                iv.at(sim, reached, &table)?;
            }
        }
    }
    let driver_s = looped.elapsed().as_secs_f64();
    let profiled = match clock {
        Some(clock) => {
            let mut passes = sim.pass_times()?;
            if passes.is_empty() {
                // No per-pass timing: the intervals as a whole.
                passes.push(crate::profile::PassTime {
                    pass: "ticks and rows".into(),
                    calls: reached - start,
                    seconds: driver_s,
                });
            }
            Some(crate::profile::Profiled {
                clock: clock.into(),
                passes,
                driver_s,
                rows: (table.rows.len() - rows_before) as u64,
            })
        }
        None => None,
    };
    if interrupted.is_none() {
        if let Some(c) = drive.checkpoints.as_mut().filter(|c| c.at_end) {
            let state = sim.state()?;
            match drive.intervener.as_deref() {
                Some(iv) => c.sink.save(&iv.save(state), &table)?,
                None => c.sink.save(&state, &table)?,
            }
        }
    }
    Ok(Driven {
        table,
        ticks_run: reached - start,
        interrupted,
        profiled,
    })
}
