//! Scenarios: the TOML a run is configured by (DESIGN's names are the contract), its
//! defaults, `--set path.key=value` overrides and validation. Every error names where
//! the value came from (the file and line, or the `--set` flag), the field, and what is
//! allowed, in one line.

mod models;

pub use models::{
    DeffuantConfig, FreqDist, KuramotoConfig, LifecycleConfig, ModelConfig, SirConfig,
    ThresholdConfig, VoterConfig, BUILTIN,
};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The scenario `emergence run` uses when no config is given.
pub const DEFAULT_SCENARIO: &str = include_str!("../../configs/lifecycle.toml");
pub const DEFAULT_SCENARIO_NAME: &str = "lifecycle";

/// Largest agent count the engine addresses (u32 ids, one value reserved as "empty").
pub const MAX_AGENTS: i64 = u32::MAX as i64 - 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// N, the number of agents.
    pub agents: i64,
    /// Upper bound on ticks (sweeps for the threshold model).
    pub ticks: i64,
    pub seed: i64,
    /// Ticks between metrics rows (models with one row per sweep ignore it).
    pub metrics_every: i64,
    pub graph: GraphConfig,
    pub model: ModelConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            agents: 100_000,
            ticks: 1000,
            seed: 1,
            metrics_every: 10,
            graph: GraphConfig::default(),
            model: ModelConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GraphKind {
    Er,
    Ws,
    Ba,
    Geometric,
    Sbm,
    File,
    Empty,
    Complete,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GraphConfig {
    pub kind: GraphKind,
    /// Expected mean degree (er, ws, geometric, sbm; ba uses it for `attach`).
    pub mean_degree: f64,
    /// K, tie slots per agent (dynamic-tie models).
    pub slots: i64,
    /// ws: probability of rewiring each lattice tie.
    pub rewire: f64,
    /// ba: ties each new agent attaches with (0: mean_degree / 2).
    pub attach: i64,
    /// sbm: number of equal blocks.
    pub blocks: i64,
    /// sbm: expected ties inside an agent's own block.
    pub mean_degree_in: f64,
    /// file: edge list path (relative paths are taken from the config file's folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// file: node ids are 0-based, 1-based, or `auto` (1-based when no id 0 appears).
    pub id_base: String,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            kind: GraphKind::Er,
            mean_degree: 4.0,
            slots: 24,
            rewire: 0.1,
            attach: 0,
            blocks: 8,
            mean_degree_in: 3.0,
            path: None,
            id_base: "auto".into(),
        }
    }
}

/// Older names of keys → their names in the contract (DESIGN §10). The older names are
/// still accepted everywhere (files and `--set`); a resolved `config.toml` shows only the
/// contract's.
pub const ALIASES: [(&str, &str); 7] = [
    ("model.infection", "model.beta"),
    ("model.recovery", "model.gamma"),
    ("model.confidence", "model.epsilon"),
    ("model.convergence", "model.mu"),
    ("model.rewiring", "model.rewire"),
    ("model.frequencies", "model.freq_dist"),
    ("model.frequency_width", "model.freq_width"),
];

/// The contract's name of a key path (itself unless it is an older name).
pub fn canonical_key(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(old, _)| *old == key)
        .map_or(key, |(_, new)| new)
}

/// A scenario with where it came from, for error messages and relative paths.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    /// The config file's path, or "the embedded default scenario".
    pub source: String,
    /// Folder that relative paths in the scenario are taken from.
    pub base_dir: PathBuf,
    /// Keys given with `--set` (or `--agents`, ...), to name the flag in errors.
    pub overridden: BTreeSet<String>,
}

/// The `[model]` key a message about it starts with ("model.X is not a key ...",
/// "model.X = value: ...").
fn key_named(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("model.")?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

/// The line of `key = ...` inside `[section]` of a TOML text.
fn line_of_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t.trim_start_matches('[').trim_end_matches(']').trim() == section;
        } else if inside
            && t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Load a scenario from `path` (or the embedded default) and apply `sets`
/// (`path.key=value`, the value in TOML syntax; bare words are taken as strings).
pub fn load(path: Option<&Path>, sets: &[String]) -> Result<Loaded> {
    let (text, source, base_dir) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::bad_input(format!("{}: cannot read config: {e}", p.display()))
            })?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            (text, p.display().to_string(), base)
        }
        None => (
            DEFAULT_SCENARIO.to_string(),
            "the embedded default scenario".to_string(),
            PathBuf::from("."),
        ),
    };
    // Parse once as written, so errors in the file point at its line.
    toml::from_str::<Scenario>(&text).map_err(|e| {
        let message = e.message().trim();
        // A key the model does not read is reported at its own line, not the table's.
        let line = key_named(message)
            .and_then(|key| line_of_key(&text, "model", key))
            .or_else(|| e.span().map(|s| line_of(&text, s.start)));
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        Error::bad_input(format!("{source}{at}: {message}"))
    })?;
    let mut table: toml::Table = toml::from_str(&text).expect("parsed above");
    if let Some(model) = table.get_mut("model").and_then(toml::Value::as_table_mut) {
        // Older names of `[model]` keys are kept in the file's table under their
        // contract names, so `--set` with either name replaces the same value.
        models::rename_aliases(model).map_err(|e| Error::bad_input(format!("{source}: {e}")))?;
    }
    let mut overridden = BTreeSet::new();
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| {
            Error::bad_input(format!(
                "--set {set}: expected path.key=value, e.g. --set model.theta=0.2"
            ))
        })?;
        let key = canonical_key(key.trim());
        let value = parse_value(value.trim());
        insert(&mut table, key, value)
            .map_err(|why| Error::bad_input(format!("--set {set}: {why}")))?;
        overridden.insert(key.to_string());
    }
    model_defaults(&mut table);
    let scenario: Scenario =
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                Error::bad_input(format!(
                    "--set {}: {}",
                    sets.join(" --set "),
                    e.message().trim()
                ))
            })?;
    let loaded = Loaded {
        scenario,
        source,
        base_dir,
        overridden,
    };
    loaded.validate()?;
    Ok(loaded)
}

/// Graph defaults that depend on the model, filled in where the scenario does not say:
/// the lifecycle starts from isolated agents (`graph.kind = "empty"`); Deffuant and
/// Kuramoto are well mixed unless a graph is given. (The models' own defaults are those
/// of their typed tables.)
fn model_defaults(table: &mut toml::Table) {
    let kind = table
        .get("model")
        .and_then(|m| m.get("kind"))
        .and_then(toml::Value::as_str)
        .map(str::to_string);
    let has = |table: &toml::Table, section: &str, key: &str| {
        table.get(section).and_then(|g| g.get(key)).is_some()
    };
    let mut defaults: Vec<(&str, &str, toml::Value)> = Vec::new();
    match kind.as_deref() {
        Some("lifecycle") => defaults.push(("graph", "kind", "empty".into())),
        Some("deffuant") => defaults.push(("graph", "kind", "complete".into())),
        Some("kuramoto") => defaults.push(("graph", "kind", "complete".into())),
        _ => {}
    }
    for (section, key, value) in defaults {
        if !has(table, section, key) {
            // An ill-typed section (not a table) is left for the deserialiser to report.
            let _ = insert(table, &format!("{section}.{key}"), value);
        }
    }
}

fn parse_value(text: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {text}")) {
        Ok(mut t) => t.remove("v").expect("one key"),
        Err(_) => toml::Value::String(text.to_string()),
    }
}

fn insert(
    table: &mut toml::Table,
    key: &str,
    value: toml::Value,
) -> std::result::Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{key}` is not a key path"));
    }
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        t = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is a value, not a table"))?;
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

impl Loaded {
    /// Where a key's value came from, for error messages.
    fn origin(&self, key: &str) -> String {
        if self.overridden.contains(key) {
            "--set".to_string()
        } else {
            self.source.clone()
        }
    }

    fn out_of_range(&self, key: &str, value: impl std::fmt::Display, allowed: &str) -> Error {
        Error::bad_input(format!(
            "{}: {key} = {value} is out of range; allowed: {allowed}",
            self.origin(key)
        ))
    }

    fn int(&self, key: &str, v: i64, lo: i64, hi: i64) -> Result<()> {
        if v < lo || v > hi {
            return Err(self.out_of_range(key, v, &format!("{lo} ≤ {key} ≤ {hi}")));
        }
        Ok(())
    }

    fn real(&self, key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
        if !v.is_finite() || v < lo || v > hi {
            return Err(self.out_of_range(key, v, &format!("{lo} ≤ {key} ≤ {hi}")));
        }
        Ok(())
    }

    /// Range checks of every field the scenario's model uses.
    pub fn validate(&self) -> Result<()> {
        let s = &self.scenario;
        self.int("agents", s.agents, 1, MAX_AGENTS)?;
        self.int("ticks", s.ticks, 0, 100_000_000)?;
        self.int("seed", s.seed, 0, u32::MAX as i64)?;
        self.int("metrics_every", s.metrics_every, 1, 100_000_000)?;
        let g = &s.graph;
        self.real(
            "graph.mean_degree",
            g.mean_degree,
            0.0,
            (s.agents - 1).max(0) as f64,
        )?;
        self.int("graph.slots", g.slots, 1, 1024)?;
        // Fields of one generator are checked only when that generator is used.
        match g.kind {
            GraphKind::Ws => self.real("graph.rewire", g.rewire, 0.0, 1.0)?,
            GraphKind::Ba => self.int("graph.attach", g.attach, 0, (s.agents - 1).max(0))?,
            GraphKind::Sbm => {
                self.int("graph.blocks", g.blocks, 1, s.agents)?;
                self.real("graph.mean_degree_in", g.mean_degree_in, 0.0, g.mean_degree)?;
            }
            _ => {}
        }
        if !["0", "1", "auto"].contains(&g.id_base.as_str()) {
            return Err(Error::bad_input(format!(
                "{}: graph.id_base = \"{}\" is not allowed; allowed: \"0\", \"1\", \"auto\"",
                self.origin("graph.id_base"),
                g.id_base
            )));
        }
        if g.kind == GraphKind::File && g.path.is_none() {
            return Err(Error::bad_input(format!(
                "{}: graph.kind = \"file\" needs graph.path, the edge list to read",
                self.origin("graph.kind")
            )));
        }
        match &s.model {
            ModelConfig::Registered { kind, .. } => {
                // A model a program registered reads its own keys.
                crate::model::find(kind)
                    .map_err(|e| Error::bad_input(format!("{}: {e}", self.origin("model.kind"))))?;
            }
            ModelConfig::Threshold(m) => {
                self.real("model.theta", m.theta, 0.0, 1.0)?;
                self.real("model.seed_fraction", m.seed_fraction, 0.0, 1.0)?;
                if g.kind == GraphKind::Complete {
                    return Err(Error::bad_input(format!(
                        "{}: graph.kind = \"complete\" (well mixed) does not fit model.kind = \"threshold\"; allowed: er, ws, ba, geometric, sbm, file, empty",
                        self.origin("graph.kind")
                    )));
                }
            }
            ModelConfig::Lifecycle(m) => self.validate_lifecycle(m)?,
            ModelConfig::Sir(m) => {
                self.real("model.beta", m.beta, 0.0, 1.0)?;
                if !m.gamma.is_finite() || m.gamma <= 0.0 || m.gamma > 1.0 {
                    return Err(self.out_of_range("model.gamma", m.gamma, "0 < model.gamma ≤ 1"));
                }
                self.int(
                    "model.initial_infected",
                    m.initial_infected as i64,
                    1,
                    s.agents,
                )?;
                self.static_graph("sir")?;
            }
            ModelConfig::Deffuant(m) => {
                self.real("model.epsilon", m.epsilon, 0.0, 1.0)?;
                self.real("model.mu", m.mu, 0.0, 0.5)?;
            }
            ModelConfig::Voter(m) => {
                self.real("model.rewire", m.rewire, 0.0, 1.0)?;
                self.int("model.opinions", m.opinions as i64, 0, s.agents)?;
                self.static_graph("voter")?;
            }
            ModelConfig::Kuramoto(m) => {
                self.non_negative("model.coupling", m.coupling)?;
                if !m.dt.is_finite() || m.dt <= 0.0 || m.dt > 0.1 {
                    return Err(self.out_of_range("model.dt", m.dt, "0 < model.dt ≤ 0.1"));
                }
                self.positive("model.freq_width", m.freq_width)?;
                self.int("model.average_ticks", m.average_ticks as i64, 0, s.ticks)?;
            }
        }
        Ok(())
    }

    /// Models that need ties to run on refuse the well-mixed `complete` graph.
    fn static_graph(&self, model: &str) -> Result<()> {
        if self.scenario.graph.kind == GraphKind::Complete {
            return Err(Error::bad_input(format!(
                "{}: graph.kind = \"complete\" (well mixed) does not fit model.kind = \"{model}\"; allowed: er, ws, ba, geometric, sbm, file, empty",
                self.origin("graph.kind")
            )));
        }
        Ok(())
    }

    /// `key ≥ 0` (and finite).
    fn non_negative(&self, key: &str, v: f64) -> Result<()> {
        if !v.is_finite() || v < 0.0 {
            return Err(self.out_of_range(key, v, &format!("{key} ≥ 0")));
        }
        Ok(())
    }

    /// `key > 0` (and finite).
    fn positive(&self, key: &str, v: f64) -> Result<()> {
        if !v.is_finite() || v <= 0.0 {
            return Err(self.out_of_range(key, v, &format!("{key} > 0")));
        }
        Ok(())
    }

    fn validate_lifecycle(&self, m: &LifecycleConfig) -> Result<()> {
        let s = &self.scenario;
        for (key, v) in [
            ("model.coupling", m.coupling),
            ("model.noise", m.noise),
            ("model.field", m.field),
            ("model.drift_sd", m.drift_sd),
            ("model.learning_rate", m.learning_rate),
            ("model.forgetting", m.forgetting),
            ("model.mastery", m.mastery),
            ("model.tie_gain", m.tie_gain),
            ("model.tie_cost", m.tie_cost),
            ("model.search_rate", m.search_rate),
        ] {
            self.non_negative(key, v)?;
        }
        self.positive("model.knowledge_norm", m.knowledge_norm)?;
        self.real("model.theta", m.theta, 0.0, 1.0)?;
        self.real("model.closure", m.closure, 0.0, 1.0)?;
        self.real("model.strong_tie", m.strong_tie, 0.0, 1.0)?;
        // A tie at weight 0 would be removed in the tick it formed.
        if !m.new_tie.is_finite() || m.new_tie <= 0.0 || m.new_tie > 1.0 {
            return Err(self.out_of_range("model.new_tie", m.new_tie, "0 < model.new_tie ≤ 1"));
        }
        if !m.dt.is_finite() || m.dt <= 0.0 || m.dt > 1.0 {
            return Err(self.out_of_range("model.dt", m.dt, "0 < model.dt ≤ 1"));
        }
        self.int("model.lpa_rounds", m.lpa_rounds as i64, 0, 1000)?;
        let search = m.search_rate * m.dt;
        if search > 1.0 {
            return Err(Error::bad_input(format!(
                "{}: model.search_rate·model.dt = {}·{} = {search} is a probability per tick; allowed: model.search_rate·model.dt ≤ 1",
                self.origin_of(&["model.search_rate", "model.dt"]),
                m.search_rate,
                m.dt
            )));
        }
        // Explicit Euler: the largest phase step the coupling and the field can ask for in
        // one tick is dt·(K0·(1 + k*) + h) radians; past 1 the update overshoots.
        let step = m.dt * (m.coupling * (1.0 + m.mastery) + m.field);
        if step > 1.0 {
            return Err(Error::bad_input(format!(
                "{}: model.dt·(model.coupling·(1 + model.mastery) + model.field) = {}·({}·(1 + {}) + {}) = {step:.4} makes the phase update unstable; allowed: ≤ 1 (lower dt, coupling, mastery or field)",
                self.origin_of(&["model.dt", "model.coupling", "model.mastery", "model.field"]),
                m.dt,
                m.coupling,
                m.mastery,
                m.field
            )));
        }
        if s.graph.kind == GraphKind::Complete {
            return Err(Error::bad_input(format!(
                "{}: graph.kind = \"complete\" (well mixed) does not fit model.kind = \"lifecycle\"; allowed: empty, er, ws, ba, geometric, sbm, file",
                self.origin("graph.kind")
            )));
        }
        Ok(())
    }

    /// Where a rule over several keys came from: `--set` if any of them was set there.
    fn origin_of(&self, keys: &[&str]) -> String {
        match keys.iter().find(|k| self.overridden.contains(**k)) {
            Some(k) => self.origin(k),
            None => self.source.clone(),
        }
    }

    /// The graph file's path, resolved against the config's folder.
    pub fn graph_path(&self) -> Option<PathBuf> {
        self.scenario.graph.path.as_ref().map(|p| {
            if p.is_absolute() || self.overridden.contains("graph.path") {
                p.clone()
            } else {
                self.base_dir.join(p)
            }
        })
    }

    /// The fully resolved scenario as TOML (written into the run directory): every key
    /// with its value, the model's under `[model]` by their contract names, a graph file
    /// by its path as resolved.
    pub fn resolved_toml(&self) -> String {
        let mut s = self.scenario.clone();
        // By absolute path, so the run record re-runs from any folder.
        s.graph.path = self
            .graph_path()
            .map(|p| std::path::absolute(&p).unwrap_or(p));
        toml::to_string(&s).expect("a scenario always serialises")
    }
}
