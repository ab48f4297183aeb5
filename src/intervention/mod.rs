//! Interventions: what leaders, activists and funders do to a run (DESIGN §11). A
//! scenario's `[[intervention]]` tables say *when* (a tick, or a condition on the run's
//! own metrics rows and on the stage the online tracker has confirmed) and *what* (an
//! action with its budget). [`Schedule`] is the driver's [`Intervener`]: it fires each
//! intervention once, on the state between two intervals, and records what it touched.
//!
//! A one-off action is a few passes on the state where it lives ([`passes`]: a GPU kernel
//! each with its CPU twin); an action that lasts is set on the state as named arrays,
//! downloaded and uploaded again (`actions`). An action draws from its own random stream
//! (the intervention's index in the stream's high bits), so an intervention that touches
//! nothing leaves the run bit for bit as it was.

mod actions;
pub mod passes;

pub use actions::Touched;

use crate::analysis::stages::{OnlineTracker, StageParams};
use crate::engine::{Intervener, Per, Simulation, State, Values};
use crate::error::{Error, Result};
use crate::io::MetricsTable;
use serde::{Deserialize, Serialize};

/// One `[[intervention]]` table as written: every key any action reads. [`parse`] turns
/// it into an [`Intervention`], refusing the keys its action does not read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InterventionConfig {
    /// What is done.
    pub action: Option<ActionKind>,
    /// Fire after this tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// Fire at the first metrics row where this holds: `stage >= 2`, `s1 >= 0.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The budget: agents touched (seed_adopters, broadcast, remove_hubs) or ties added
    /// (connect_pioneers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// seed_adopters: which agents (random, the most knowledgeable, the highest degree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
    /// connect_pioneers: the starting weight of the new ties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// cut_ties: the share of ties cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// broadcast: the share of the angle to `direction` each purpose turns through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<f64>,
    /// broadcast: the direction purposes are pulled towards (radians).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<f64>,
    /// illuminate, nourish: ticks the action lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// nourish: the factor on the learning rate inside the communities nourished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// nourish: the smallest community nourished (members, by the last label propagation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<i64>,
}

/// The actions, by their scenario names.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    SeedAdopters,
    ConnectPioneers,
    Broadcast,
    RemoveHubs,
    CutTies,
    Illuminate,
    Nourish,
}

impl ActionKind {
    pub const ALL: [ActionKind; 7] = [
        ActionKind::SeedAdopters,
        ActionKind::ConnectPioneers,
        ActionKind::Illuminate,
        ActionKind::Nourish,
        ActionKind::Broadcast,
        ActionKind::RemoveHubs,
        ActionKind::CutTies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::SeedAdopters => "seed_adopters",
            ActionKind::ConnectPioneers => "connect_pioneers",
            ActionKind::Broadcast => "broadcast",
            ActionKind::RemoveHubs => "remove_hubs",
            ActionKind::CutTies => "cut_ties",
            ActionKind::Illuminate => "illuminate",
            ActionKind::Nourish => "nourish",
        }
    }

    /// The keys this action reads besides `action`, `at` and `when`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            ActionKind::SeedAdopters => &["count", "select"],
            ActionKind::ConnectPioneers => &["count", "weight"],
            ActionKind::Broadcast => &["count", "strength", "direction"],
            ActionKind::RemoveHubs => &["count"],
            ActionKind::CutTies => &["share"],
            ActionKind::Illuminate => &["count", "share", "duration"],
            ActionKind::Nourish => &["count", "factor", "min_size", "duration"],
        }
    }

    /// Whether the action lasts a while (and ends by itself).
    pub fn lasts(self) -> bool {
        matches!(self, ActionKind::Illuminate | ActionKind::Nourish)
    }
}

/// seed_adopters: which agents are made adopters.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    /// Agents drawn at random among those who have not adopted.
    #[default]
    Random,
    /// The most knowledgeable who have not adopted.
    Knowledge,
    /// The highest degree who have not adopted.
    Degree,
}

/// When an intervention fires.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// After tick `t` (before tick t + 1).
    Tick(u64),
    /// At the first metrics row where the condition holds.
    Row(Condition),
}

/// `name op value` on a metrics row, or on the highest stage the online tracker has said.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A metrics column, or `stage`.
    pub name: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl Op {
    fn holds(self, x: f64, v: f64) -> bool {
        match self {
            Op::Ge => x >= v,
            Op::Gt => x > v,
            Op::Le => x <= v,
            Op::Lt => x < v,
            Op::Eq => x == v,
        }
    }
}

impl Condition {
    /// `stage = S` and `stage >= S` both hold from the row at which the tracker first says
    /// stage S or a later one: stages are only ever added, so `=` means "reached".
    fn is_stage(&self) -> bool {
        self.name == "stage"
    }
}

/// The typed action with its budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Critical mass: `count` agents made adopters.
    SeedAdopters { count: u32, select: Select },
    /// Critical connections: up to `count` ties between pioneers (the most knowledgeable
    /// agents) of different communities, where both have a free slot, at `weight`.
    ConnectPioneers { count: u32, weight: f32 },
    /// Top-down messaging: `count` agents (all by default) turn their purpose through
    /// `strength` of the angle to `direction`.
    Broadcast {
        count: u32,
        strength: f32,
        direction: f32,
    },
    /// A shock: the `count` highest-degree agents lose all their ties.
    RemoveHubs { count: u32 },
    /// A shock: each tie is cut with probability `share`.
    CutTies { share: f64 },
    /// The work made visible: for `duration` ticks a `share` of random searches goes to
    /// one of the `count` most knowledgeable agents instead of to anyone.
    Illuminate {
        count: u32,
        share: f64,
        duration: u64,
    },
    /// Communities of practice nourished: for `duration` ticks the learning rate of the
    /// members of communities of at least `min_size` (the largest first, up to `count`
    /// members in all) is raised by `factor`.
    Nourish {
        count: u32,
        factor: f32,
        min_size: u32,
        duration: u64,
    },
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::SeedAdopters { .. } => ActionKind::SeedAdopters,
            Action::ConnectPioneers { .. } => ActionKind::ConnectPioneers,
            Action::Broadcast { .. } => ActionKind::Broadcast,
            Action::RemoveHubs { .. } => ActionKind::RemoveHubs,
            Action::CutTies { .. } => ActionKind::CutTies,
            Action::Illuminate { .. } => ActionKind::Illuminate,
            Action::Nourish { .. } => ActionKind::Nourish,
        }
    }

    /// Ticks the action lasts (one-off actions: none).
    pub fn duration(&self) -> Option<u64> {
        match self {
            Action::Illuminate { duration, .. } | Action::Nourish { duration, .. } => {
                Some(*duration)
            }
            _ => None,
        }
    }

    /// Whether the action can touch nothing by its budget alone (then the state is not
    /// even downloaded).
    fn is_empty(&self) -> bool {
        match self {
            Action::SeedAdopters { count, .. }
            | Action::ConnectPioneers { count, .. }
            | Action::RemoveHubs { count } => *count == 0,
            Action::Broadcast {
                count, strength, ..
            } => *count == 0 || *strength == 0.0,
            Action::CutTies { share } => *share == 0.0,
            Action::Illuminate { count, share, .. } => *count == 0 || *share == 0.0,
            Action::Nourish { count, factor, .. } => *count == 0 || *factor == 1.0,
        }
    }
}

/// One scheduled intervention.
#[derive(Debug, Clone, PartialEq)]
pub struct Intervention {
    /// Its place among the scenario's `[[intervention]]` tables (0-based, as `--set
    /// intervention.0.count` addresses it).
    pub index: usize,
    pub when: When,
    pub action: Action,
}

/// What parsing one table found wrong: the key (`intervention.0.count`) and the message
/// that follows `key = value` or the key alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub key: String,
    pub message: String,
}

/// Parse table `index` of a scenario with `agents` agents, `slots` tie slots, `ticks`
/// ticks and metrics `columns`.
pub fn parse(
    c: &InterventionConfig,
    index: usize,
    agents: u32,
    slots: u32,
    ticks: u64,
    columns: &[&str],
) -> std::result::Result<Intervention, Refusal> {
    let key = |k: &str| format!("intervention.{index}.{k}");
    let refuse = |k: &str, message: String| Refusal {
        key: key(k),
        message,
    };
    let kind = c.action.ok_or_else(|| {
        refuse(
            "action",
            format!(
                "{} is missing; allowed: {}",
                key("action"),
                ActionKind::ALL.map(ActionKind::name).join(", ")
            ),
        )
    })?;
    let given: [(&str, bool); 9] = [
        ("count", c.count.is_some()),
        ("select", c.select.is_some()),
        ("weight", c.weight.is_some()),
        ("share", c.share.is_some()),
        ("strength", c.strength.is_some()),
        ("direction", c.direction.is_some()),
        ("duration", c.duration.is_some()),
        ("factor", c.factor.is_some()),
        ("min_size", c.min_size.is_some()),
    ];
    if let Some((k, _)) = given
        .iter()
        .find(|(k, given)| *given && !kind.keys().contains(k))
    {
        return Err(refuse(
            k,
            format!(
                "{} is not read by action {}; it reads: {}",
                key(k),
                kind.name(),
                kind.keys().join(", ")
            ),
        ));
    }
    let when = match (c.at, &c.when) {
        (Some(_), Some(_)) => {
            return Err(refuse(
                "when",
                format!(
                    "{} and {} are both given; an intervention fires once, at a tick (at) or at a condition (when)",
                    key("at"),
                    key("when")
                ),
            ))
        }
        (None, None) => {
            return Err(refuse(
                "at",
                format!(
                    "{} needs `at = TICK` or `when = \"stage >= 2\"` (or a metrics column: \"s1 >= 0.3\")",
                    format_args!("intervention.{index}")
                ),
            ))
        }
        (Some(t), None) => {
            if t < 0 || t as u64 >= ticks.max(1) {
                return Err(refuse(
                    "at",
                    format!(
                        "{} = {t} is out of range; allowed: 0 ≤ {} < ticks = {ticks}",
                        key("at"),
                        key("at")
                    ),
                ));
            }
            When::Tick(t as u64)
        }
        (None, Some(text)) => When::Row(
            condition(text, columns).map_err(|why| {
                refuse("when", format!("{} = \"{text}\": {why}", key("when")))
            })?,
        ),
    };
    let count = |hi: u64, default: Option<u64>| -> std::result::Result<u32, Refusal> {
        let v = match (c.count, default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d as u32),
            (None, None) => {
                return Err(refuse(
                    "count",
                    format!(
                        "{} is missing; allowed: 0 ≤ {} ≤ {hi}",
                        key("count"),
                        key("count")
                    ),
                ))
            }
        };
        if v < 0 || v as u64 > hi {
            return Err(refuse(
                "count",
                format!(
                    "{} = {v} is out of range; allowed: 0 ≤ {} ≤ {hi}",
                    key("count"),
                    key("count")
                ),
            ));
        }
        Ok(v as u32)
    };
    let real = |k: &str, v: f64, lo: f64, hi: f64| -> std::result::Result<f64, Refusal> {
        if !v.is_finite() || v < lo || v > hi {
            return Err(refuse(
                k,
                format!(
                    "{} = {v} is out of range; allowed: {lo} ≤ {} ≤ {hi}",
                    key(k),
                    key(k)
                ),
            ));
        }
        Ok(v)
    };
    let n = agents as u64;
    let duration = || -> std::result::Result<u64, Refusal> {
        match c.duration {
            Some(d) if d >= 1 && d as u64 <= ticks.max(1) => Ok(d as u64),
            Some(d) => Err(refuse(
                "duration",
                format!(
                    "{} = {d} is out of range; allowed: 1 ≤ {} ≤ ticks = {ticks}",
                    key("duration"),
                    key("duration")
                ),
            )),
            None => Err(refuse(
                "duration",
                format!(
                    "{} is missing: the ticks the action lasts (1 to {ticks})",
                    key("duration")
                ),
            )),
        }
    };
    // A share that must be given (0 to 1).
    let share = |what: &str| -> std::result::Result<f64, Refusal> {
        let v = c.share.ok_or_else(|| {
            refuse(
                "share",
                format!(
                    "{} is missing: {what}, 0 ≤ {} ≤ 1",
                    key("share"),
                    key("share")
                ),
            )
        })?;
        real("share", v, 0.0, 1.0)
    };
    let action = match kind {
        ActionKind::SeedAdopters => Action::SeedAdopters {
            count: count(n, None)?,
            select: c.select.unwrap_or_default(),
        },
        ActionKind::ConnectPioneers => {
            let weight = real(
                "weight",
                c.weight.unwrap_or(DEFAULT_PIONEER_WEIGHT),
                0.0,
                1.0,
            )?;
            if weight == 0.0 {
                return Err(refuse(
                    "weight",
                    format!(
                        "{} = 0 is out of range; allowed: 0 < {} ≤ 1 (a tie at weight 0 is removed in the next tick)",
                        key("weight"),
                        key("weight")
                    ),
                ));
            }
            Action::ConnectPioneers {
                count: count(n * slots as u64 / 2, None)?,
                weight: weight as f32,
            }
        }
        ActionKind::Broadcast => Action::Broadcast {
            count: count(n, Some(n))?,
            strength: real("strength", c.strength.unwrap_or(0.5), 0.0, 1.0)? as f32,
            direction: real(
                "direction",
                c.direction.unwrap_or(0.0),
                0.0,
                std::f64::consts::TAU,
            )? as f32,
        },
        ActionKind::RemoveHubs => Action::RemoveHubs {
            count: count(n, None)?,
        },
        ActionKind::CutTies => Action::CutTies {
            share: share("the share of ties cut")?,
        },
        ActionKind::Illuminate => Action::Illuminate {
            count: count(n, None)?,
            share: share("the share of random searches steered to a pioneer")?,
            duration: duration()?,
        },
        ActionKind::Nourish => Action::Nourish {
            count: count(n, Some(n))?,
            factor: real("factor", c.factor.unwrap_or(2.0), 0.0, 1000.0)? as f32,
            min_size: match c.min_size.unwrap_or(5) {
                m if m >= 1 && m as u64 <= n => m as u32,
                m => {
                    return Err(refuse(
                        "min_size",
                        format!(
                            "{} = {m} is out of range; allowed: 1 ≤ {} ≤ agents = {n}",
                            key("min_size"),
                            key("min_size")
                        ),
                    ))
                }
            },
            duration: duration()?,
        },
    };
    Ok(Intervention {
        index,
        when,
        action,
    })
}

/// connect_pioneers' starting weight when none is given: the default strong-tie weight w*,
/// so a new tie between pioneers counts as strong and carries closure searches at once
/// (docs/strategies.md compares it with w0 = 0.2).
pub const DEFAULT_PIONEER_WEIGHT: f64 = 0.5;

/// `name op value`: a metrics column or `stage`, one of >= > <= < =, a number.
fn condition(text: &str, columns: &[&str]) -> std::result::Result<Condition, String> {
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ];
    let Some((at, sym, op)) = ops
        .iter()
        .filter_map(|&(sym, op)| text.find(sym).map(|at| (at, sym, op)))
        .min_by_key(|&(at, sym, _)| (at, std::cmp::Reverse(sym.len())))
    else {
        return Err("expected `name op value` with op one of >=, >, <=, <, = (e.g. \"stage >= 2\", \"s1 >= 0.3\")".into());
    };
    let name = text[..at].trim();
    let value_text = text[at + sym.len()..].trim();
    if name != "stage" && !columns.contains(&name) {
        return Err(format!(
            "`{name}` is neither `stage` nor a metrics column; allowed: stage, {}",
            columns
                .iter()
                .filter(|c| **c != "tick")
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let value: f64 = value_text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("`{value_text}` is not a number"))?;
    if name == "stage" && !(matches!(op, Op::Ge | Op::Eq) && [1.0, 2.0, 3.0].contains(&value)) {
        return Err(
            "a stage condition is `stage >= S` or `stage = S` with S one of 1, 2, 3 (stages are confirmed once and never revised)"
                .into(),
        );
    }
    Ok(Condition {
        name: name.to_string(),
        op,
        value,
    })
}

/// One intervention as it was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub index: usize,
    pub action: &'static str,
    /// The tick after which it was applied.
    pub tick: u64,
    /// What fired it: `at 500`, or the condition as written.
    pub trigger: String,
    /// A stage trigger: the tick the online tracker dates the stage to (its confirmation
    /// row is `tick`).
    pub dated: Option<u64>,
    /// An action that lasts: the tick after which it ends (past the run's end: it lasted
    /// to the end).
    pub until: Option<u64>,
    #[serde(flatten)]
    pub touched: Touched,
}

/// The columns of `interventions.csv`.
pub const CSV_COLUMNS: [&str; 9] = [
    "index",
    "action",
    "tick",
    "trigger",
    "stage_dated",
    "until",
    "agents",
    "ties_added",
    "ties_removed",
];

/// `interventions.csv`: one line per intervention applied, in the order applied.
pub fn to_csv(applied: &[Applied]) -> String {
    let mut out = CSV_COLUMNS.join(",") + "\n";
    for a in applied {
        out += &format!(
            "{},{},{},\"{}\",{},{},{},{},{}\n",
            a.index,
            a.action,
            a.tick,
            a.trigger.replace('"', "\"\""),
            a.dated.map(|t| t.to_string()).unwrap_or_default(),
            a.until.map(|t| t.to_string()).unwrap_or_default(),
            a.touched.agents,
            a.touched.ties_added,
            a.touched.ties_removed
        );
    }
    out
}

/// The name of the checkpoint field that holds which interventions fired and what they
/// touched (six words each).
const FIELD: &str = "interventions";
const WORDS: usize = 6;

/// The scenario's interventions as the driver fires them.
#[derive(Debug, Clone)]
pub struct Schedule {
    items: Vec<Intervention>,
    /// The text of each trigger, for the record.
    triggers: Vec<String>,
    seed: u32,
    agents: u32,
    fired: Vec<Option<Applied>>,
    /// The online stage tracker, fed the rows while a stage condition waits.
    tracker: Option<OnlineTracker>,
}

impl Schedule {
    /// The interventions of a (validated) scenario of `agents` agents.
    pub fn of(loaded: &crate::config::Loaded, agents: u32) -> Result<Schedule> {
        let s = &loaded.scenario;
        let columns = crate::model::find(s.model.kind())?.columns();
        let mut items = Vec::new();
        let mut triggers = Vec::new();
        for (i, c) in s.interventions.iter().enumerate() {
            let item = parse(c, i, agents, s.graph.slots as u32, s.ticks as u64, columns)
                .map_err(|r| Error::bad_input(format!("{}: {}", loaded.source, r.message)))?;
            triggers.push(match (&item.when, &c.when) {
                (When::Tick(t), _) => format!("at {t}"),
                (When::Row(_), Some(text)) => text.trim().to_string(),
                (When::Row(_), None) => unreachable!("a condition comes from `when`"),
            });
            items.push(item);
        }
        Ok(Schedule {
            fired: vec![None; items.len()],
            items,
            triggers,
            seed: s.seed as u32,
            agents,
            tracker: None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The interventions applied so far, in the order applied.
    pub fn applied(&self) -> Vec<Applied> {
        let mut a: Vec<Applied> = self.fired.iter().flatten().cloned().collect();
        a.sort_by_key(|a| (a.tick, a.index));
        a
    }

    /// Go on from a checkpoint's state: what had fired, and what it touched.
    pub fn restore(&mut self, state: &State) -> Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let words = state.u64s(FIELD).map_err(|_| {
            Error::bad_input(
                "the checkpoint has no record of the scenario's interventions (it was written by a run without them)",
            )
        })?;
        if words.len() != WORDS * self.items.len() {
            return Err(Error::bad_input(format!(
                "the checkpoint records {} interventions, the scenario has {}",
                words.len() / WORDS,
                self.items.len()
            )));
        }
        for (k, w) in words.chunks(WORDS).enumerate() {
            self.fired[k] = (w[0] == 1).then(|| Applied {
                index: k,
                action: self.items[k].action.kind().name(),
                tick: w[1],
                trigger: self.triggers[k].clone(),
                dated: (w[2] != u64::MAX).then_some(w[2]),
                until: self.items[k].action.duration().map(|d| w[1] + d),
                touched: Touched {
                    agents: w[3],
                    ties_added: w[4],
                    ties_removed: w[5],
                },
            });
        }
        Ok(())
    }

    /// Whether `item` is due at `tick` with the rows of `table` (the last row is at
    /// `tick` when a row was just taken); for a stage condition, the tick it is dated to.
    fn due(&mut self, k: usize, tick: u64, table: &MetricsTable) -> Option<Option<u64>> {
        match &self.items[k].when {
            When::Tick(t) => (*t == tick).then_some(None),
            When::Row(c) => {
                let row = table.rows.last().filter(|r| r[0] as u64 == tick)?;
                if c.is_stage() {
                    let tracker = self.tracker.get_or_insert_with(|| {
                        OnlineTracker::new(StageParams::new(self.agents), &table.columns)
                    });
                    tracker.catch_up(table);
                    let reached = tracker
                        .said()
                        .iter()
                        .filter(|t| t.stage as f64 >= c.value)
                        .min_by_key(|t| t.stage)?;
                    Some(Some(reached.tick))
                } else {
                    let col = table.columns.iter().position(|n| *n == c.name)?;
                    c.op.holds(row[col], c.value).then_some(None)
                }
            }
        }
    }
}

impl Intervener for Schedule {
    fn next_after(&self, tick: u64) -> Option<u64> {
        let starts = self
            .items
            .iter()
            .zip(&self.fired)
            .filter(|(_, f)| f.is_none())
            .filter_map(|(i, _)| match i.when {
                When::Tick(t) if t > tick => Some(t),
                _ => None,
            });
        let ends = self
            .fired
            .iter()
            .flatten()
            .filter_map(|a| a.until.filter(|&u| u > tick));
        starts.chain(ends).min()
    }

    fn watching(&self) -> bool {
        self.items
            .iter()
            .zip(&self.fired)
            .any(|(i, f)| f.is_none() && matches!(i.when, When::Row(_)))
    }

    fn at(&mut self, sim: &mut dyn Simulation, tick: u64, table: &MetricsTable) -> Result<()> {
        let mut state: Option<State> = None;
        let mut state_edited = false;
        // Actions that end here, unless a later one of the same kind has taken over.
        for k in 0..self.items.len() {
            let Some(a) = self.fired[k].as_ref().filter(|a| a.until == Some(tick)) else {
                continue;
            };
            let kind = self.items[k].action.kind();
            let replaced = self.fired.iter().flatten().any(|b| {
                b.index != k
                    && self.items[b.index].action.kind() == kind
                    && (b.tick, b.index) > (a.tick, a.index)
                    && b.until.is_some_and(|u| u > tick)
                    && !b.touched.is_empty()
            });
            if replaced || a.touched.is_empty() {
                continue;
            }
            if state.is_none() {
                state = Some(sim.state().map_err(|e| {
                    e.during(format_args!(
                        "the download of the state at tick {tick} for the end of intervention {k}"
                    ))
                })?);
            }
            actions::end(state.as_mut().expect("downloaded above"), kind);
            state_edited = true;
            tracing::info!("intervention {k} ({}) ends at tick {tick}", kind.name());
        }
        for k in 0..self.items.len() {
            if self.fired[k].is_some() {
                continue;
            }
            let Some(dated) = self.due(k, tick, table) else {
                continue;
            };
            let action = self.items[k].action.clone();
            let touched = if action.is_empty() {
                Touched::default()
            } else if action.kind().lasts() {
                if state.is_none() {
                    state = Some(sim.state().map_err(|e| {
                        e.during(format_args!(
                            "the download of the state at tick {tick} for intervention {k}"
                        ))
                    })?);
                }
                let s = state.as_mut().expect("downloaded above");
                let touched = actions::apply_lasting(&action, s)?;
                state_edited |= !touched.is_empty();
                touched
            } else {
                // What an earlier action of this tick set on the named state goes to the
                // model first, so the passes act on it.
                if let Some(s) = state.take() {
                    if std::mem::take(&mut state_edited) {
                        sim.set_state(&s).map_err(|e| {
                            e.during(format_args!(
                                "the upload of the state at tick {tick} before intervention {k}"
                            ))
                        })?;
                    }
                }
                let mut passes = sim.action_passes()?.ok_or_else(|| {
                    Error::bad_input("interventions act on the lifecycle model only")
                })?;
                actions::apply_passes(&action, passes.as_mut(), self.seed, k as u32, tick)
                    .map_err(|e| e.during(format_args!("intervention {k} at tick {tick}")))?
            };
            let applied = Applied {
                index: k,
                action: action.kind().name(),
                tick,
                trigger: self.triggers[k].clone(),
                dated,
                until: action.duration().map(|d| tick + d),
                touched,
            };
            tracing::info!(
                "intervention {k} ({}) at tick {tick} ({}): {} agents, {} ties added, {} removed",
                applied.action,
                applied.trigger,
                touched.agents,
                touched.ties_added,
                touched.ties_removed
            );
            self.fired[k] = Some(applied);
        }
        if state_edited {
            let state = state.expect("touched only what was downloaded");
            sim.set_state(&state).map_err(|e| {
                e.during(format_args!(
                    "the upload of the state at tick {tick} after its interventions"
                ))
            })?;
        }
        Ok(())
    }

    fn save(&self, state: State) -> State {
        if self.items.is_empty() {
            return state;
        }
        let mut words = Vec::with_capacity(WORDS * self.items.len());
        for f in &self.fired {
            match f {
                Some(a) => words.extend([
                    1,
                    a.tick,
                    a.dated.unwrap_or(u64::MAX),
                    a.touched.agents,
                    a.touched.ties_added,
                    a.touched.ties_removed,
                ]),
                None => words.extend([0, 0, u64::MAX, 0, 0, 0]),
            }
        }
        state.with(FIELD, Per::Run, Values::U64(words))
    }
}

/// A [`Schedule`] the driver holds while its owner reads what was applied afterwards.
#[derive(Debug, Clone)]
pub struct Shared(std::rc::Rc<std::cell::RefCell<Schedule>>);

impl Shared {
    pub fn new(schedule: Schedule) -> Shared {
        Shared(std::rc::Rc::new(std::cell::RefCell::new(schedule)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    pub fn applied(&self) -> Vec<Applied> {
        self.0.borrow().applied()
    }
}

impl Intervener for Shared {
    fn next_after(&self, tick: u64) -> Option<u64> {
        self.0.borrow().next_after(tick)
    }

    fn watching(&self) -> bool {
        self.0.borrow().watching()
    }

    fn at(&mut self, sim: &mut dyn Simulation, tick: u64, table: &MetricsTable) -> Result<()> {
        self.0.borrow_mut().at(sim, tick, table)
    }

    fn save(&self, state: State) -> State {
        self.0.borrow().save(state)
    }
}
