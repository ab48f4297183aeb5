//! `sweep plan`: a sweep file (a base scenario, a grid and/or explicit points of `--set`
//! paths, replicate seeds) expanded into runs. Every run's scenario and memory plan is
//! checked here, so a bad point is refused before anything is submitted; each run's id
//! is a hash of its resolved scenario (seed included), so the same sweep file always
//! gives the same plan, byte for byte; the columns of the output (the union over the
//! runs' models) and the type of every swept parameter are fixed here too.
//!
//! The plan is JSON lines: a header line, then one line per run holding its resolved
//! scenario, so a shard needs nothing but the plan (docs/sweeps.md).

use crate::backend::Backend;
use crate::config::{self, Loaded};
use crate::error::{Error, Result};
use crate::io::{checkpoint, rundir};
use crate::model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The plan format's version (the header's `emergence_sweep_plan`).
pub const FORMAT: u32 = 1;

/// Keys a sweep file may have.
const KEYS: &[&str] = &[
    "name",
    "base",
    "scenarios",
    "seeds",
    "replicates",
    "grid",
    "point",
];

/// The type of a swept parameter's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Int,
    Float,
    Bool,
    Text,
}

impl ParamType {
    fn of(v: &toml::Value) -> Option<ParamType> {
        match v {
            toml::Value::Integer(_) => Some(ParamType::Int),
            toml::Value::Float(_) => Some(ParamType::Float),
            toml::Value::Boolean(_) => Some(ParamType::Bool),
            toml::Value::String(_) => Some(ParamType::Text),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ParamType::Int => "integer",
            ParamType::Float => "float",
            ParamType::Bool => "boolean",
            ParamType::Text => "string",
        }
    }

    /// Integers and floats together make a float column; any other mix is refused.
    fn join(self, other: ParamType) -> Option<ParamType> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (ParamType::Int, ParamType::Float) | (ParamType::Float, ParamType::Int) => {
                Some(ParamType::Float)
            }
            _ => None,
        }
    }
}

/// A swept parameter: its `--set` path and its column's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
}

/// A metrics column of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricColumn {
    pub name: String,
    /// `int64` (a count, the tick) rather than `float64`.
    pub integer: bool,
}

/// The plan's first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub emergence_sweep_plan: u32,
    pub name: String,
    /// SHA-256 of the sweep file's bytes (of the base scenario's too when it is a file).
    pub sweep_sha256: String,
    pub version: String,
    pub runs: usize,
    pub params: Vec<Param>,
    pub columns: Vec<MetricColumn>,
    /// Whether some run's model has stages (the wide table gets their ticks).
    pub stages: bool,
}

/// One run of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Position in the plan, from 0; a shard takes the runs with `index % shards == shard`.
    pub index: usize,
    pub run_id: String,
    /// Which replicate of its point (0, 1, ...).
    pub replicate: u32,
    pub seed: i64,
    pub model: String,
    pub agents: u64,
    /// Every swept parameter's value in this run (its scenario's value where the run's
    /// point does not set it), typed as its column.
    pub params: BTreeMap<String, serde_json::Value>,
    /// The device bytes of its memory plan, and its host bytes (`--concurrent`'s
    /// admission), and the bytes of one checkpoint (the Slurm signal's lead time).
    pub device_bytes: u64,
    pub host_bytes: u64,
    pub checkpoint_bytes: u64,
    /// The fully resolved scenario (TOML): what the run runs.
    pub config: String,
}

/// A sweep's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub header: Header,
    pub runs: Vec<PlannedRun>,
    /// SHA-256 of the plan's JSON-lines text.
    pub sha256: String,
}

/// What a sweep file says, parsed.
struct SweepFile {
    name: String,
    /// The base scenario, or `scenarios = [..]`: each with its name (the file's stem),
    /// the `scenario` column of the runs.
    bases: Vec<(Option<String>, Base)>,
    seeds: Seeds,
    /// `[grid]`: path → values, every combination.
    grid: Vec<(String, Vec<toml::Value>)>,
    /// `[[point]]`: explicit parameter sets, each combined with every grid combination.
    points: Vec<Vec<(String, toml::Value)>>,
}

enum Base {
    Embedded,
    File(std::path::PathBuf),
    Inline(String),
}

enum Seeds {
    List(Vec<i64>),
    /// `replicates = R`: seeds from the base scenario's seed on.
    Replicates(u32),
}

/// Plan the sweep file at `path`; `backend` is where the memory plans are checked (the
/// host's memory, and the adapter's limits on the GPU backend).
pub fn plan_file(path: &Path, backend: &Backend) -> Result<Plan> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::bad_input(format!("{shown}: cannot read the sweep file: {e}")))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| Error::bad_input(format!("{shown}: the sweep file is not UTF-8 text")))?;
    let sweep = parse(&text, &shown, path.parent().unwrap_or(Path::new("")))?;
    let mut hashed = bytes;
    for (_, base) in &sweep.bases {
        if let Base::File(base) = base {
            // A change to a base scenario is a different sweep.
            hashed.extend(std::fs::read(base).map_err(|e| {
                Error::bad_input(format!(
                    "{shown}: base = {}: cannot read the scenario: {e}",
                    base.display()
                ))
            })?);
        }
    }
    expand(&sweep, &shown, &rundir::sha256_hex(&hashed), backend)
}

fn bad(file: &str, key: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("{file}: {key}: {why}"))
}

fn parse(text: &str, file: &str, dir: &Path) -> Result<SweepFile> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                format!(
                    ":{}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        Error::bad_input(format!("{file}{line}: {}", e.message().trim()))
    })?;
    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(bad(
                file,
                key,
                format!("not a key of a sweep file; allowed: {}", KEYS.join(", ")),
            ));
        }
    }
    let name = match table.get("name") {
        None => Path::new(file)
            .file_stem()
            .map_or("sweep".into(), |s| s.to_string_lossy().into_owned()),
        Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v) => {
            return Err(bad(
                file,
                "name",
                format!("{v}: expected a non-empty string"),
            ))
        }
    };
    let base = match table.get("base") {
        None if table.contains_key("scenarios") => Base::Embedded,
        Some(_) if table.contains_key("scenarios") => {
            return Err(bad(
                file,
                "scenarios",
                "give either base = .. or scenarios = [..], not both",
            ))
        }
        None => Base::Embedded,
        Some(toml::Value::String(p)) => {
            let p = Path::new(p);
            Base::File(if p.is_absolute() { p.into() } else { dir.join(p) })
        }
        Some(toml::Value::Table(t)) => {
            Base::Inline(toml::to_string(t).expect("a TOML table serialises"))
        }
        Some(v) => {
            return Err(bad(
                file,
                "base",
                format!("{v}: expected a scenario file's path (base = \"threshold.toml\") or a [base] table"),
            ))
        }
    };
    let seeds = match (table.get("seeds"), table.get("replicates")) {
        (Some(_), Some(_)) => {
            return Err(bad(
                file,
                "seeds",
                "give either seeds = [..] or replicates = R, not both",
            ))
        }
        (Some(toml::Value::Array(a)), None) => {
            let mut seeds = Vec::new();
            for v in a {
                match v.as_integer() {
                    Some(s) if (0..=u32::MAX as i64).contains(&s) => seeds.push(s),
                    _ => {
                        return Err(bad(
                            file,
                            "seeds",
                            format!("{v}: a seed is an integer from 0 to {}", u32::MAX),
                        ))
                    }
                }
            }
            if seeds.is_empty() {
                return Err(bad(file, "seeds", "an empty list; give at least one seed"));
            }
            for (i, s) in seeds.iter().enumerate() {
                if seeds[..i].contains(s) {
                    return Err(bad(file, "seeds", format!("seed {s} is given twice")));
                }
            }
            Seeds::List(seeds)
        }
        (Some(v), None) => {
            return Err(bad(
                file,
                "seeds",
                format!("{v}: expected a list of integers, e.g. seeds = [1, 2, 3]"),
            ))
        }
        (None, Some(v)) => match v.as_integer() {
            Some(r) if (1..=1_000_000).contains(&r) => Seeds::Replicates(r as u32),
            _ => {
                return Err(bad(
                    file,
                    "replicates",
                    format!("{v}: expected an integer from 1 to 1000000"),
                ))
            }
        },
        (None, None) => Seeds::Replicates(1),
    };
    let mut grid = Vec::new();
    match table.get("grid") {
        None => {}
        Some(toml::Value::Table(t)) => {
            let mut leaves = Vec::new();
            flatten(t, "", &mut leaves, true);
            for (path, v) in leaves {
                let key = format!("grid.{path}");
                let values = grid_values(file, &key, &v)?;
                grid.push((config::canonical_key(&path).to_string(), values));
            }
        }
        Some(v) => {
            return Err(bad(
                file,
                "grid",
                format!("{v}: expected a table of paths and lists, e.g. [grid] graph.mean_degree = [2.0, 4.0]"),
            ))
        }
    }
    let mut points = Vec::new();
    match table.get("point") {
        None => {}
        Some(toml::Value::Array(a)) => {
            for (i, p) in a.iter().enumerate() {
                let key = format!("point[{i}]");
                let Some(t) = p.as_table() else {
                    return Err(bad(
                        file,
                        &key,
                        "expected a [[point]] table of path = value",
                    ));
                };
                let mut leaves = Vec::new();
                flatten(t, "", &mut leaves, false);
                let mut point = Vec::new();
                for (path, v) in leaves {
                    if ParamType::of(&v).is_none() {
                        return Err(bad(
                            file,
                            &format!("{key}.{path}"),
                            format!("{v}: a point's value is a number, a boolean or a string"),
                        ));
                    }
                    point.push((config::canonical_key(&path).to_string(), v));
                }
                if point.is_empty() {
                    return Err(bad(
                        file,
                        &key,
                        "an empty point; give at least one path = value",
                    ));
                }
                points.push(point);
            }
        }
        Some(v) => {
            return Err(bad(
                file,
                "point",
                format!("{v}: expected [[point]] tables of path = value"),
            ))
        }
    }
    // A path both swept by the grid and set by a point would have two values.
    for point in &points {
        for (path, _) in point {
            if grid.iter().any(|(g, _)| g == path) {
                return Err(bad(
                    file,
                    path,
                    "is both in [grid] and in a [[point]]; give it in one of them",
                ));
            }
        }
    }
    for path in grid
        .iter()
        .map(|(p, _)| p)
        .chain(points.iter().flatten().map(|(p, _)| p))
    {
        if path == "seed" {
            return Err(bad(
                file,
                "seed",
                "seeds are set by seeds = [..] or replicates = R, not swept as a parameter",
            ));
        }
    }
    let bases = match table.get("scenarios") {
        None => vec![(None, base)],
        Some(toml::Value::Array(a)) if !a.is_empty() => {
            let mut bases: Vec<(Option<String>, Base)> = Vec::new();
            for v in a {
                let Some(p) = v.as_str() else {
                    return Err(bad(
                        file,
                        "scenarios",
                        format!("{v}: expected a scenario file's path"),
                    ));
                };
                let path = Path::new(p);
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if bases.iter().any(|(n, _)| n.as_deref() == Some(&name)) {
                    return Err(bad(
                        file,
                        "scenarios",
                        format!("two scenarios are named {name}; each file's stem names its runs, give distinct ones"),
                    ));
                }
                let path = if path.is_absolute() {
                    path.into()
                } else {
                    dir.join(path)
                };
                bases.push((Some(name), Base::File(path)));
            }
            bases
        }
        Some(v) => {
            return Err(bad(
                file,
                "scenarios",
                format!(
                "{v}: expected a list of scenario files, e.g. scenarios = [\"a.toml\", \"b.toml\"]"
            ),
            ))
        }
    };
    Ok(SweepFile {
        name,
        bases,
        seeds,
        grid,
        points,
    })
}

/// The leaves of a nested table as dotted paths. In a grid a list is a leaf (the
/// values) and so is a `{from, to, n}` range; in a point every non-table is.
fn flatten(t: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>, grid: bool) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) if !(grid && inner.contains_key("from")) => {
                flatten(inner, &path, out, grid)
            }
            _ => out.push((path, v.clone())),
        }
    }
}

/// A grid entry's values: a non-empty list of scalars of one type (integers and floats
/// may mix), or `{ from = a, to = b, n = k }`, k values from a to b inclusive.
fn grid_values(file: &str, key: &str, v: &toml::Value) -> Result<Vec<toml::Value>> {
    let values = match v {
        toml::Value::Array(a) => a.clone(),
        toml::Value::Table(t) => {
            let number = |k: &str| t.get(k).and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
            let (Some(from), Some(to), Some(n)) =
                (number("from"), number("to"), t.get("n").and_then(toml::Value::as_integer))
            else {
                return Err(bad(
                    file,
                    key,
                    "a range is { from = a, to = b, n = k } (k values from a to b inclusive)",
                ));
            };
            if t.len() != 3 || !(1..=100_000).contains(&n) || !from.is_finite() || !to.is_finite()
            {
                return Err(bad(
                    file,
                    key,
                    "a range is { from = a, to = b, n = k }, finite a and b and k from 1 to 100000",
                ));
            }
            let ints = t.get("from").is_some_and(toml::Value::is_integer)
                && t.get("to").is_some_and(toml::Value::is_integer)
                && (n == 1 || (to - from) % (n - 1) as f64 == 0.0);
            (0..n)
                .map(|i| {
                    let x = if n == 1 {
                        from
                    } else {
                        from + (to - from) * i as f64 / (n - 1) as f64
                    };
                    if ints {
                        toml::Value::Integer(x.round() as i64)
                    } else {
                        toml::Value::Float(x)
                    }
                })
                .collect()
        }
        _ => {
            return Err(bad(
                file,
                key,
                format!("{v}: expected a list of values, e.g. [2.0, 4.0], or {{ from = 2.0, to = 6.0, n = 9 }}"),
            ))
        }
    };
    if values.is_empty() {
        return Err(bad(file, key, "an empty list; give at least one value"));
    }
    let mut kind: Option<ParamType> = None;
    for x in &values {
        let Some(k) = ParamType::of(x) else {
            return Err(bad(
                file,
                key,
                format!("{x}: a value is a number, a boolean or a string"),
            ));
        };
        kind = Some(match kind {
            None => k,
            Some(prev) => prev.join(k).ok_or_else(|| {
                bad(
                    file,
                    key,
                    format!(
                        "mixes {} and {} values; give values of one type",
                        prev.name(),
                        k.name()
                    ),
                )
            })?,
        });
    }
    Ok(values)
}

/// The value at a dotted path of a TOML table.
/// The parameter column that names each run's scenario in a sweep of `scenarios = [..]`
/// (`emergence compare`).
pub const SCENARIO: &str = "scenario";

fn lookup<'a>(t: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut v = t.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

fn load_base(base: &Base, file: &str, sets: &[String]) -> Result<Loaded> {
    match base {
        Base::Embedded => config::load(None, sets),
        Base::File(p) => config::load(Some(p), sets),
        Base::Inline(text) => config::load_text(
            text,
            format!("{file} [base]"),
            Path::new(file)
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf(),
            sets,
        ),
    }
}

fn expand(sweep: &SweepFile, file: &str, sweep_sha256: &str, backend: &Backend) -> Result<Plan> {
    // Every combination of the grid (its paths sorted, the last fastest), each with every
    // point (or none).
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (path, values) in &sweep.grid {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for c in &combos {
            for v in values {
                let mut c = c.clone();
                c.push((path.clone(), v.clone()));
                next.push(c);
            }
        }
        combos = next;
    }
    let points: Vec<Vec<(String, toml::Value)>> = if sweep.points.is_empty() {
        vec![Vec::new()]
    } else {
        sweep.points.clone()
    };
    let seeds: Vec<i64> = match &sweep.seeds {
        Seeds::List(s) => s.clone(),
        Seeds::Replicates(r) => {
            let first = load_base(&sweep.bases[0].1, file, &[])?.scenario.seed as i64;
            (0..*r as i64).map(|i| first + i).collect()
        }
    };
    if let Some(s) = seeds.iter().find(|&&s| s > u32::MAX as i64) {
        return Err(bad(
            file,
            "replicates",
            format!(
                "seeds run from the base scenario's seed to {s}, past {}",
                u32::MAX
            ),
        ));
    }
    let total = sweep.bases.len() * points.len() * combos.len() * seeds.len();
    if total > 10_000_000 {
        return Err(bad(
            file,
            "grid",
            format!("{total} runs; a plan holds at most 10000000"),
        ));
    }
    // Every swept path, sorted: the parameter columns.
    let mut names: Vec<String> = sweep
        .grid
        .iter()
        .map(|(p, _)| p.clone())
        .chain(points.iter().flatten().map(|(p, _)| p.clone()))
        .collect();
    if sweep.bases[0].0.is_some() {
        names.push(SCENARIO.into());
    }
    names.sort();
    names.dedup();
    let mut runs: Vec<PlannedRun> = Vec::with_capacity(total);
    let mut kinds: BTreeMap<String, ParamType> = BTreeMap::new();
    let mut raw: Vec<BTreeMap<String, toml::Value>> = Vec::with_capacity(total);
    let mut columns: Vec<MetricColumn> = Vec::new();
    let mut stages = false;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (scenario, base) in &sweep.bases {
        for point in &points {
            for combo in &combos {
                for (replicate, &seed) in seeds.iter().enumerate() {
                    let index = runs.len();
                    let set: Vec<(String, toml::Value)> =
                        point.iter().chain(combo.iter()).cloned().collect();
                    let mut sets: Vec<String> =
                        set.iter().map(|(p, v)| format!("{p}={v}")).collect();
                    sets.push(format!("seed={seed}"));
                    let what = || {
                        let shown: Vec<String> =
                            set.iter().map(|(p, v)| format!("{p}={v}")).collect();
                        format!(
                            "{file}: run {} of {total} ({}seed {seed})",
                            index + 1,
                            if shown.is_empty() {
                                String::new()
                            } else {
                                format!("{}, ", shown.join(", "))
                            }
                        )
                    };
                    let loaded = load_base(base, file, &sets)
                        .map_err(|e| Error::bad_input(format!("{}: {e}", what())))?;
                    let model = model::find(loaded.scenario.model.kind())?;
                    let size = model::Size::from_config(&loaded);
                    model::check_memory(model, &size, backend)
                        .map_err(|e| Error::bad_input(format!("{}: {e}", what())))?;
                    let config = loaded.resolved_toml();
                    let run_id = rundir::sha256_hex(config.as_bytes())[..16].to_string();
                    if let Some(&other) = ids.get(&run_id) {
                        return Err(Error::bad_input(format!(
                        "{}: the same scenario as run {} (a point given twice); every run must differ",
                        what(),
                        other + 1
                    )));
                    }
                    ids.insert(run_id.clone(), index);
                    let resolved: toml::Table =
                        toml::from_str(&config).expect("a resolved scenario parses");
                    let mut values = BTreeMap::new();
                    for name in &names {
                        let v = set
                            .iter()
                            .find(|(p, _)| p == name)
                            .map(|(_, v)| v.clone())
                            .or_else(|| {
                                (name == SCENARIO)
                                    .then(|| scenario.clone().map(toml::Value::String))
                                    .flatten()
                            })
                            .or_else(|| lookup(&resolved, name).cloned());
                        if let Some(v) = v {
                            if let Some(k) = ParamType::of(&v) {
                                let joined = match kinds.get(name) {
                                    None => Some(k),
                                    Some(prev) => prev.join(k),
                                };
                                let Some(joined) = joined else {
                                    return Err(bad(
                                    file,
                                    name,
                                    format!(
                                        "takes {} and {} values across the runs; give values of one type",
                                        kinds[name].name(),
                                        k.name()
                                    ),
                                ));
                                };
                                kinds.insert(name.clone(), joined);
                                values.insert(name.clone(), v);
                            }
                        }
                    }
                    for c in model.columns() {
                        if !columns.iter().any(|m| m.name == *c) {
                            columns.push(MetricColumn {
                                name: (*c).to_string(),
                                integer: model.integer_columns().contains(c),
                            });
                        }
                    }
                    stages |= model.has_stages();
                    let rows = loaded.scenario.ticks as u64
                        / loaded.scenario.metrics_every.max(1) as u64
                        + 2;
                    runs.push(PlannedRun {
                        index,
                        run_id,
                        replicate: replicate as u32,
                        seed,
                        model: model.name().into(),
                        agents: size.agents,
                        params: BTreeMap::new(),
                        device_bytes: model.buffers(&size).iter().map(|b| b.bytes).sum(),
                        host_bytes: model::memory::host_plan(model, &size).total(),
                        checkpoint_bytes: checkpoint::estimate_bytes(model, &size, rows),
                        config,
                    });
                    raw.push(values);
                }
            }
        }
    }
    // Now that every column's type is known, each value as its column's type.
    for (run, values) in runs.iter_mut().zip(raw) {
        for (name, v) in values {
            let json = match (kinds[&name], &v) {
                (ParamType::Float, toml::Value::Integer(i)) => serde_json::json!(*i as f64),
                (_, toml::Value::Integer(i)) => serde_json::json!(i),
                (_, toml::Value::Float(x)) => crate::io::json_number(*x),
                (_, toml::Value::Boolean(b)) => serde_json::json!(b),
                (_, toml::Value::String(s)) => serde_json::json!(s),
                _ => continue,
            };
            run.params.insert(name, json);
        }
    }
    let header = Header {
        emergence_sweep_plan: FORMAT,
        name: sweep.name.clone(),
        sweep_sha256: sweep_sha256.to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
        runs: runs.len(),
        params: names
            .iter()
            .filter_map(|n| {
                kinds.get(n).map(|&kind| Param {
                    name: n.clone(),
                    kind,
                })
            })
            .collect(),
        columns,
        stages,
    };
    Ok(Plan::new(header, runs))
}

impl Plan {
    fn new(header: Header, runs: Vec<PlannedRun>) -> Plan {
        let mut plan = Plan {
            header,
            runs,
            sha256: String::new(),
        };
        plan.sha256 = rundir::sha256_hex(plan.to_jsonl().as_bytes());
        plan
    }

    /// The plan as JSON lines: the header, then one line per run.
    pub fn to_jsonl(&self) -> String {
        let mut out = serde_json::to_string(&self.header).expect("a header serialises");
        out.push('\n');
        for r in &self.runs {
            out.push_str(&serde_json::to_string(r).expect("a run serialises"));
            out.push('\n');
        }
        out
    }

    /// Read a plan written by `sweep plan`.
    pub fn read(path: &Path) -> Result<Plan> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::bad_input(format!("{shown}: cannot read the plan: {e}")))?;
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        let header: Header = serde_json::from_str(first).map_err(|e| {
            Error::bad_input(format!(
                "{shown}:1: not a sweep plan of emergence ({e}); `emergence sweep plan SWEEP -o {shown}` writes one"
            ))
        })?;
        if header.emergence_sweep_plan != FORMAT {
            return Err(Error::bad_input(format!(
                "{shown}: a plan of format {}; this emergence reads format {FORMAT} (plan the sweep again)",
                header.emergence_sweep_plan
            )));
        }
        let mut runs = Vec::with_capacity(header.runs);
        for (i, line) in lines.enumerate() {
            let run: PlannedRun = serde_json::from_str(line).map_err(|e| {
                Error::bad_input(format!("{shown}:{}: not a planned run: {e}", i + 2))
            })?;
            // A run's id is the hash of its scenario, and its seed is the scenario's: a
            // line edited by hand no longer says what its run runs.
            let seed = toml::from_str::<toml::Table>(&run.config)
                .ok()
                .and_then(|t| t.get("seed").and_then(toml::Value::as_integer));
            if rundir::sha256_hex(run.config.as_bytes())[..16] != run.run_id
                || seed != Some(run.seed)
            {
                return Err(Error::bad_input(format!(
                    "{shown}:{}: run {} changed since it was planned (its id or seed no longer match its scenario); plan the sweep again",
                    i + 2,
                    run.run_id
                )));
            }
            if run.index != runs.len() {
                return Err(Error::bad_input(format!(
                    "{shown}:{}: run index {} out of order (expected {})",
                    i + 2,
                    run.index,
                    runs.len()
                )));
            }
            runs.push(run);
        }
        if runs.len() != header.runs {
            return Err(Error::bad_input(format!(
                "{shown}: the header says {} runs but {} follow (a truncated plan?)",
                header.runs,
                runs.len()
            )));
        }
        let plan = Plan::new(header, runs);
        if plan.to_jsonl() != text {
            return Err(Error::bad_input(format!(
                "{shown}: changed since it was planned (its lines are not as `sweep plan` writes them); plan the sweep again"
            )));
        }
        Ok(plan)
    }

    /// One line per run for `sweep plan`'s summary.
    pub fn describe(&self) -> String {
        let h = &self.header;
        let points = self.runs.iter().filter(|r| r.replicate == 0).count();
        let params: Vec<String> = h.params.iter().map(|p| p.name.clone()).collect();
        format!(
            "sweep {}: {} runs ({} points × {} replicates){}; models {}; columns {}",
            h.name,
            self.runs.len(),
            points,
            self.runs.len() / points.max(1),
            if params.is_empty() {
                String::new()
            } else {
                format!(" over {}", params.join(", "))
            },
            {
                let mut m: Vec<&str> = self.runs.iter().map(|r| r.model.as_str()).collect();
                m.sort();
                m.dedup();
                m.join(", ")
            },
            h.columns.len()
        )
    }
}

/// Write `plan` to `path` (atomically). A file already there is replaced only if it is a
/// plan of ours: anything else of the user's is left alone.
pub fn write(plan: &Plan, path: &Path) -> Result<()> {
    if let Ok(md) = std::fs::symlink_metadata(path) {
        let ours = md.is_file()
            && std::fs::read_to_string(path).is_ok_and(|t| {
                serde_json::from_str::<Header>(t.lines().next().unwrap_or("")).is_ok()
            });
        if !ours {
            return Err(Error::bad_input(format!(
                "-o {}: exists and is not a sweep plan of emergence; choose another path (nothing was written)",
                path.display()
            )));
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    rundir::write_atomic(path, plan.to_jsonl().as_bytes())
}
