//! Scenarios: the TOML a run is configured by (DESIGN's names are the contract), its
//! defaults, `--set path.key=value` overrides and validation. Every error names where
//! the value came from (the file and line, or the `--set` flag), the field, and what is
//! allowed, in one line.

mod models;

pub use models::{
    DeffuantConfig, FieldMode, FreqDist, KuramotoConfig, LifecycleConfig, ModelConfig, SirConfig,
    ThresholdConfig, VoterConfig, BUILTIN,
};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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
    /// `[[intervention]]`: what is done to the run and when (the lifecycle; DESIGN §11,
    /// docs/interventions.md).
    #[serde(rename = "intervention", skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<crate::intervention::InterventionConfig>,
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
            interventions: Vec::new(),
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
    /// file: the graph file (an edge list, plain or gzip/zstd-compressed, a Matrix Market
    /// matrix or a Parquet edge table; relative paths are taken from the config file's
    /// folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// file: integer ids are 0-based, 1-based (id 0 refused), or `auto` (1-based when no
    /// id 0 appears); string ids and Matrix Market indices ignore it.
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
    /// The flag each overridden key was given with, as typed (`--agents 5`,
    /// `--set model.theta=0.2`).
    pub flags: BTreeMap<String, String>,
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
    load_text(&text, source, base_dir, sets)
}

/// Load a scenario from a TOML `text` (a sweep's inline base, a planned run's resolved
/// config): `source` names it in errors, relative paths are taken from `base_dir`.
pub fn load_text(text: &str, source: String, base_dir: PathBuf, sets: &[String]) -> Result<Loaded> {
    // Parse once as written, so errors in the file point at its line.
    toml::from_str::<Scenario>(text).map_err(|e| {
        let message = e.message().trim();
        // A key the model does not read is reported at its own line, not the table's.
        let line = key_named(message)
            .and_then(|key| line_of_key(text, "model", key))
            .or_else(|| e.span().map(|s| line_of(text, s.start)));
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        let key = e.span().and_then(|s| key_at(text, s.start));
        let given = key.as_deref().and_then(|k| value_in(text, k));
        Error::bad_input(format!(
            "{source}{at}: {}",
            plain(message, key.as_deref(), given.as_deref())
        ))
    })?;
    let mut table: toml::Table = toml::from_str(text).expect("parsed above");
    if let Some(model) = table.get_mut("model").and_then(toml::Value::as_table_mut) {
        // Older names of `[model]` keys are kept in the file's table under their
        // contract names, so `--set` with either name replaces the same value.
        models::rename_aliases(model).map_err(|e| Error::bad_input(format!("{source}: {e}")))?;
    }
    let file_table = table.clone();
    let mut overridden = BTreeSet::new();
    let mut flags = BTreeMap::new();
    let mut parsed: Vec<(String, String, toml::Value)> = Vec::new();
    for set in sets {
        let (flag, key, value) = parse_set(set)?;
        let key = canonical_key(&key).to_string();
        insert(&mut table, &key, value.clone())
            .map_err(|why| Error::bad_input(format!("{flag}: {why}")))?;
        overridden.insert(key.clone());
        flags.insert(key.clone(), flag.clone());
        parsed.push((flag, key, value));
    }
    model_defaults(&mut table);
    let scenario: Scenario =
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                // The flag to quote is the one that fails on the file alone (with its
                // own message); a failure of several together is said with all of them.
                let culprit = parsed.iter().find_map(|(flag, key, value)| {
                    let mut alone = file_table.clone();
                    if let Err(why) = insert(&mut alone, key, value.clone()) {
                        return Some((flag, key, value, why));
                    }
                    model_defaults(&mut alone);
                    toml::Value::Table(alone)
                        .try_into::<Scenario>()
                        .err()
                        .map(|e| (flag, key, value, e.message().trim().to_string()))
                });
                match culprit {
                    Some((flag, key, value, message)) => Error::bad_input(format!(
                        "{flag}: {}",
                        plain(&message, Some(key), Some(&value.to_string()))
                    )),
                    None => Error::bad_input(format!(
                        "{}: {}",
                        parsed
                            .iter()
                            .map(|(f, _, _)| f.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                        plain(e.message().trim(), None, None)
                    )),
                }
            })?;
    let loaded = Loaded {
        scenario,
        source,
        base_dir,
        overridden,
        flags,
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

/// One override: `path.key=value` (quoted as `--set path.key=value`) or a shorthand flag
/// as the user typed it, `--agents 5` (quoted so): the flag, the key path and the value.
fn parse_set(set: &str) -> Result<(String, String, toml::Value)> {
    let shown = crate::error::shorten(set, 120);
    if let Some(rest) = set.strip_prefix("--") {
        let (name, value) = rest
            .split_once([' ', '='])
            .ok_or_else(|| Error::bad_input(format!("--{shown}: expected a value")))?;
        return Ok((shown, name.trim().to_string(), parse_value(value.trim())));
    }
    let (key, value) = set.split_once('=').ok_or_else(|| {
        Error::bad_input(format!(
            "--set {shown}: expected path.key=value, e.g. --set model.theta=0.2"
        ))
    })?;
    Ok((
        format!("--set {shown}"),
        key.trim().to_string(),
        parse_value(value.trim()),
    ))
}

/// The key path (`graph.mean_degree`, `agents`) of the line at `offset` of a TOML text:
/// the line's own `key =`, inside the last `[section]` above it, or the section itself
/// on a header line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let header = |l: &str| -> Option<String> {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    if let Some(section) = header(line) {
        return Some(section);
    }
    let key = line.split_once('=')?.0.trim().trim_matches('"').to_string();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let section = text[..line_start].lines().rev().find_map(header);
    Some(match section {
        Some(sec) if !sec.is_empty() => format!("{sec}.{key}"),
        _ => key,
    })
}

/// The value written for `key` (a path from [`key_at`]) in a TOML text, as written.
fn value_in(text: &str, key: &str) -> Option<String> {
    let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
    let mut inside = section.is_empty();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t.trim_matches(|c| c == '[' || c == ']').trim() == section;
        } else if inside {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == name {
                    return Some(crate::error::shorten(v.trim(), 60));
                }
            }
        }
    }
    None
}

/// What a serde type name asks for, in words.
fn wanted(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "i64" | "i32" => "an integer".into(),
        "u32" | "u64" => "a non-negative integer".into(),
        "f64" | "f32" => "a number".into(),
        "a map" | "struct ModelConfig" => "a table".into(),
        "struct GraphConfig" => "a table ([graph])".into(),
        "struct Scenario" => "a table".into(),
        "a string" | "string" => "a string in quotes".into(),
        _ => e.trim_start_matches("struct ").to_string(),
    }
}

/// Serde's and TOML's messages said for a person: the key (when known), what was given
/// and what is allowed, e.g. `invalid type: string "many", expected i64` for `agents` →
/// `agents = "many": expected an integer, found a string`.
fn plain(message: &str, key: Option<&str>, given: Option<&str>) -> String {
    let quoted = |v: &str| crate::error::shorten(v, 60);
    let given = given.filter(|v| !v.is_empty() && message != "duplicate key");
    let lead = match (key, given) {
        (Some(k), Some(v)) => format!("{k} = {}: ", quoted(v)),
        (Some(k), None) => format!("{k}: "),
        _ => String::new(),
    };
    // A message that names its key already (the `[model]` tables') is said as it is.
    if message.starts_with("model.") {
        if let Some(at) = message
            .find("invalid type: ")
            .or_else(|| message.find("invalid value: "))
        {
            // The value is in the message's lead already: say only its kind after it.
            return format!(
                "{}{}",
                &message[..at],
                plain(&message[at..], None, Some("(in the lead)"))
            );
        }
        return message.to_string();
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            // The value is in the lead when it is known; here only its kind.
            let kind = match found.split_whitespace().next().unwrap_or("") {
                "string" => "a string",
                "integer" => "an integer",
                "floating" => "a fractional number",
                "boolean" => "a boolean",
                "sequence" => "an array",
                "map" => "a table",
                _ => "another type",
            };
            let found = match found.split_once(' ') {
                _ if given.is_some() => kind.to_string(),
                // serde says `floating point `1e308``, the number in all its digits.
                Some((_, value)) => format!(
                    "{} {}",
                    kind,
                    quoted(&value.trim_start_matches("point ").replace('`', ""))
                ),
                None => kind.to_string(),
            };
            return format!("{lead}expected {}, not {found}", wanted(expected));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            return format!(
                "{lead}expected {}, not {}",
                wanted(expected),
                found.replace('`', "")
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        if let Some((found, allowed)) = rest.split_once(", expected one of ") {
            return format!(
                "{lead}{} is not allowed; allowed: {}",
                found.replace('`', "\""),
                allowed.replace('`', "")
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some((found, allowed)) = rest.split_once(", expected one of ") {
            let found = found.trim_matches('`');
            // The key path up to the segment that is not a key.
            let path = key
                .and_then(|k| {
                    let parts: Vec<&str> = k.split('.').collect();
                    let at = parts.iter().position(|p| *p == found)?;
                    Some(parts[..=at].join("."))
                })
                .unwrap_or_else(|| found.to_string());
            return format!("{path} is not a key; allowed: {}", allowed.replace('`', ""));
        }
    }
    if message == "duplicate key" {
        return format!("{lead}duplicate key; give each key once");
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("{lead}missing key {}", field.replace('`', ""));
    }
    format!("{lead}{message}")
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
    let mut i = 0;
    while i + 1 < parts.len() {
        let p = parts[i];
        // An array of tables (`[[intervention]]`) is addressed by index:
        // `intervention.0.count`; the index one past the last adds a table.
        if let Some(toml::Value::Array(_)) = t.get(p) {
            let index: usize = parts[i + 1]
                .parse()
                .map_err(|_| format!("`{p}` is a list of tables; address one as {p}.0.KEY"))?;
            if i + 2 >= parts.len() {
                return Err(format!("`{p}.{index}` is a table; set one of its keys"));
            }
            let Some(toml::Value::Array(items)) = t.get_mut(p) else {
                unreachable!("checked above")
            };
            if index == items.len() {
                items.push(toml::Value::Table(Default::default()));
            }
            let len = items.len();
            t = items
                .get_mut(index)
                .ok_or_else(|| match len {
                    0 => format!("`{p}.{index}`: the scenario has no [[{p}]] tables; add the first as {p}.0.KEY"),
                    _ => format!(
                        "`{p}.{index}`: the scenario has {len} [[{p}]] tables (0 to {})",
                        len - 1
                    ),
                })?
                .as_table_mut()
                .ok_or_else(|| format!("`{p}.{index}` is a value, not a table"))?;
            i += 2;
            continue;
        }
        // `intervention.0.KEY` in a scenario without interventions starts the list.
        if p == "intervention" && t.get(p).is_none() && parts[i + 1] == "0" && i + 2 < parts.len() {
            t.insert(
                p.to_string(),
                toml::Value::Array(vec![toml::Value::Table(Default::default())]),
            );
            continue;
        }
        t = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is a value, not a table"))?;
        i += 1;
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// A number as a message shows it: short, in exponent form when it is very large or
/// small (never the 300 digits of 1e308).
trait Number {
    fn shown(&self) -> String;
}

impl Number for f64 {
    fn shown(&self) -> String {
        let a = self.abs();
        if a != 0.0 && a.is_finite() && !(1e-4..1e6).contains(&a) {
            format!("{self:e}")
        } else {
            format!("{self}")
        }
    }
}

impl Number for i64 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Loaded {
    /// Where a key's value came from, for error messages.
    fn origin(&self, key: &str) -> String {
        if let Some(flag) = self.flags.get(key) {
            flag.clone()
        } else if self.overridden.contains(key) {
            "--set".to_string()
        } else {
            self.source.clone()
        }
    }

    fn out_of_range(&self, key: &str, value: impl Number, allowed: &str) -> Error {
        let value = value.shown();
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
            return Err(self.out_of_range(
                key,
                v,
                &format!("{} ≤ {key} ≤ {}", lo.shown(), hi.shown()),
            ));
        }
        Ok(())
    }

    /// `lo < key ≤ hi` (and finite).
    fn above(&self, key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
        if !v.is_finite() || v <= lo || v > hi {
            return Err(self.out_of_range(
                key,
                v,
                &format!("{} < {key} ≤ {}", lo.shown(), hi.shown()),
            ));
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
                // Past these the f32 phases overflow (NaN order parameters).
                self.real("model.coupling", m.coupling, 0.0, 1000.0)?;
                self.real("model.dt", m.dt, 1e-6, 0.1)?;
                self.above("model.freq_width", m.freq_width, 0.0, 1000.0)?;
                self.int("model.average_ticks", m.average_ticks as i64, 0, s.ticks)?;
            }
        }
        self.validate_interventions()
    }

    /// Every `[[intervention]]` parsed (each action's keys, budgets within the run's
    /// size, triggers naming a metrics column or the stage).
    fn validate_interventions(&self) -> Result<()> {
        let s = &self.scenario;
        if s.interventions.is_empty() {
            return Ok(());
        }
        if !matches!(s.model, ModelConfig::Lifecycle(_)) {
            return Err(Error::bad_input(format!(
                "{}: [[intervention]] acts on the lifecycle's agents and ties; model.kind = \"{}\" takes none",
                self.origin("intervention.0.action"),
                s.model.kind()
            )));
        }
        let columns = crate::model::find(s.model.kind())?.columns();
        for (i, c) in s.interventions.iter().enumerate() {
            crate::intervention::parse(
                c,
                i,
                s.agents as u32,
                s.graph.slots as u32,
                s.ticks as u64,
                columns,
            )
            .map_err(|r| Error::bad_input(format!("{}: {}", self.origin(&r.key), r.message)))?;
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

    fn validate_lifecycle(&self, m: &LifecycleConfig) -> Result<()> {
        let s = &self.scenario;
        // Each bound keeps the f32 state finite (past them phases, knowledge or weights
        // overflow to inf and the metrics to NaN); they are far past any meaningful value.
        for (key, v, hi) in [
            ("model.coupling", m.coupling, 100.0),
            ("model.noise", m.noise, 100.0),
            ("model.field", m.field, 100.0),
            ("model.drift_sd", m.drift_sd, 100.0),
            ("model.learning_rate", m.learning_rate, 1000.0),
            ("model.forgetting", m.forgetting, 1000.0),
            ("model.mastery", m.mastery, 1e6),
            ("model.tie_gain", m.tie_gain, 1000.0),
            ("model.tie_cost", m.tie_cost, 1000.0),
            ("model.search_rate", m.search_rate, 1000.0),
        ] {
            self.real(key, v, 0.0, hi)?;
        }
        self.real("model.knowledge_norm", m.knowledge_norm, 1e-3, 1e6)?;
        self.real("model.theta", m.theta, 0.0, 1.0)?;
        self.real("model.closure", m.closure, 0.0, 1.0)?;
        self.real("model.strong_tie", m.strong_tie, 0.0, 1.0)?;
        // A tie at weight 0 would be removed in the tick it formed.
        self.above("model.new_tie", m.new_tie, 0.0, 1.0)?;
        self.real("model.dt", m.dt, 1e-6, 1.0)?;
        // Knowledge decays by κ·dt of itself per tick; past 1 it turns negative.
        let decay = m.forgetting * m.dt;
        if decay > 1.0 {
            return Err(Error::bad_input(format!(
                "{}: model.forgetting·model.dt = {}·{} = {} is the share of knowledge lost per tick; allowed: model.forgetting·model.dt ≤ 1",
                self.origin_of(&["model.forgetting", "model.dt"]),
                m.forgetting.shown(),
                m.dt.shown(),
                decay.shown()
            )));
        }
        self.int("model.lpa_rounds", m.lpa_rounds as i64, 0, 1000)?;
        self.int("model.null_every", m.null_every as i64, 0, 1_000_000)?;
        let search = m.search_rate * m.dt;
        if search > 1.0 {
            return Err(Error::bad_input(format!(
                "{}: model.search_rate·model.dt = {}·{} = {search} is a probability per tick; allowed: model.search_rate·model.dt ≤ 1",
                self.origin_of(&["model.search_rate", "model.dt"]),
                m.search_rate.shown(),
                m.dt.shown(),
                search = search.shown()
            )));
        }
        // Explicit Euler: the largest phase step the coupling and the field can ask for in
        // one tick is dt·(K0·(1 + k*) + h) radians; past 1 the update overshoots.
        let step = m.dt * (m.coupling * (1.0 + m.mastery) + m.field);
        if step > 1.0 {
            return Err(Error::bad_input(format!(
                "{}: model.dt·(model.coupling·(1 + model.mastery) + model.field) = {}·({}·(1 + {}) + {}) = {step:.4} makes the phase update unstable; allowed: ≤ 1 (lower dt, coupling, mastery or field)",
                self.origin_of(&["model.dt", "model.coupling", "model.mastery", "model.field"]),
                m.dt.shown(),
                m.coupling.shown(),
                m.mastery.shown(),
                m.field.shown()
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
