//! `[model]`: which model runs and its parameters, one typed table per built-in model.
//! Each table refuses keys it does not read and says which model reads them; a model
//! registered by a program of its own (`crate::model::register`) gets its keys as
//! written. Older names of keys are renamed to the contract's (DESIGN §10) first.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The threshold cascade.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdConfig {
    /// Adoption threshold θ.
    pub theta: f64,
    /// Initially active fraction ρ0.
    pub seed_fraction: f64,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            theta: 0.18,
            seed_fraction: 0.001,
        }
    }
}

/// The lifecycle (docs/lifecycle.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// K0: alignment coupling.
    pub coupling: f64,
    /// D: phase noise.
    pub noise: f64,
    /// h: pull of adopters towards the adopters' mean direction ψ.
    pub field: f64,
    /// σ: sd of the self-interest drift ω.
    pub drift_sd: f64,
    /// β: knowledge gain.
    pub learning_rate: f64,
    /// κ: knowledge decay.
    pub forgetting: f64,
    /// n_k: normalisation of the knowledge gain (independent of K).
    pub knowledge_norm: f64,
    /// k*: knowledge at which an agent adopts; caps the coupling boost.
    pub mastery: f64,
    /// θ: adoption threshold on the adopted share of tie weight.
    pub theta: f64,
    /// α: growth of aligned ties.
    pub tie_gain: f64,
    /// λ: cost of every tie.
    pub tie_cost: f64,
    /// p_s: rate of looking for a kindred spirit.
    pub search_rate: f64,
    /// q: share of searches through a friend of a friend.
    pub closure: f64,
    /// w*: weight of a strong tie.
    pub strong_tie: f64,
    /// w0: weight of a new tie.
    pub new_tie: f64,
    /// Time step.
    pub dt: f64,
    /// Label-propagation rounds per metrics row.
    pub lpa_rounds: u32,
    /// How adopters are pulled towards the adopters' direction (docs/lifecycle.md).
    pub field_mode: FieldMode,
    /// Metrics rows between two samples of the same-graph nulls and the community
    /// tracker (1: every row; 0: never). docs/stages.md.
    pub null_every: u32,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            coupling: 0.05,
            noise: 0.05,
            field: 1.0,
            drift_sd: 0.5,
            learning_rate: 0.5,
            forgetting: 0.002,
            knowledge_norm: 24.0,
            mastery: 60.0,
            theta: 0.18,
            tie_gain: 0.3,
            tie_cost: 0.15,
            search_rate: 0.4,
            closure: 0.6,
            strong_tie: 0.5,
            new_tie: 0.2,
            dt: 0.1,
            lpa_rounds: 4,
            field_mode: FieldMode::AdoptedShare,
            null_every: 5,
        }
    }
}

/// The pull of adopters towards a common direction (`model.field_mode`), of strength
/// h = `model.field`. Each is at most h, so the stability bound on dt holds for all.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldMode {
    /// h·sin(ψ − φ_i): every adopter pulled towards the mean direction ψ of all
    /// adopters, however few (an all-to-all coupling).
    Global,
    /// h·ρ·sin(ψ − φ_i): the same pull scaled by the adopted share ρ: a norm pulls as
    /// strongly as it is held.
    #[default]
    AdoptedShare,
    /// h·Σ_{j adopted} w_ij·sin(φ_j − φ_i) / max(1, Σ_j w_ij): only through the
    /// adopter's own ties to adopters (local).
    Ties,
}

impl FieldMode {
    /// The integer the kernels read (`params.field_mode`).
    pub fn code(self) -> u32 {
        match self {
            FieldMode::Global => 0,
            FieldMode::AdoptedShare => 1,
            FieldMode::Ties => 2,
        }
    }
}

impl<'de> Deserialize<'de> for FieldMode {
    /// By name, with a message that says which key and what is allowed.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "global" => Ok(FieldMode::Global),
            "adopted_share" => Ok(FieldMode::AdoptedShare),
            "ties" => Ok(FieldMode::Ties),
            _ => Err(D::Error::custom(format!(
                "model.field_mode = \"{}\" is not allowed; allowed: \"global\", \"adopted_share\", \"ties\"",
                name.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// SIR.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SirConfig {
    /// β: infection probability per tick and tie.
    pub beta: f64,
    /// γ: recovery probability per tick.
    pub gamma: f64,
    /// Agents infected at tick 0.
    pub initial_infected: u32,
}

impl Default for SirConfig {
    fn default() -> Self {
        SirConfig {
            beta: 0.2,
            gamma: 0.25,
            initial_infected: 1,
        }
    }
}

/// Deffuant bounded confidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeffuantConfig {
    /// ε: the largest opinion difference at which a pair interacts.
    pub epsilon: f64,
    /// μ: the share of the difference each moves.
    pub mu: f64,
}

impl Default for DeffuantConfig {
    fn default() -> Self {
        DeffuantConfig {
            epsilon: 0.3,
            mu: 0.5,
        }
    }
}

/// The coevolving voter model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VoterConfig {
    /// φ: the probability that a move rewires a tie.
    pub rewire: f64,
    /// G: the number of opinions (0: agents / 10).
    pub opinions: u32,
}

impl Default for VoterConfig {
    fn default() -> Self {
        VoterConfig {
            rewire: 0.458,
            opinions: 0,
        }
    }
}

/// The natural frequencies' distribution.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FreqDist {
    Lorentzian,
    Gaussian,
}

impl<'de> Deserialize<'de> for FreqDist {
    /// By name, with a message that says which key and what is allowed.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "lorentzian" => Ok(FreqDist::Lorentzian),
            "gaussian" => Ok(FreqDist::Gaussian),
            _ => Err(D::Error::custom(format!(
                "model.freq_dist = \"{}\" is not allowed; allowed: \"lorentzian\", \"gaussian\"",
                name.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// Kuramoto oscillators.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KuramotoConfig {
    /// K: coupling.
    pub coupling: f64,
    /// RK4 step.
    pub dt: f64,
    pub freq_dist: FreqDist,
    /// The frequencies' half width γ (Lorentzian) or sd σ (Gaussian).
    pub freq_width: f64,
    /// Ticks at the end over which r is averaged (0: the second half).
    pub average_ticks: u32,
}

impl Default for KuramotoConfig {
    fn default() -> Self {
        KuramotoConfig {
            coupling: 3.0,
            dt: 0.05,
            freq_dist: FreqDist::Lorentzian,
            freq_width: 1.0,
            average_ticks: 0,
        }
    }
}

/// `[model]`: the model and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelConfig {
    Threshold(ThresholdConfig),
    Lifecycle(LifecycleConfig),
    Sir(SirConfig),
    Deffuant(DeffuantConfig),
    Voter(VoterConfig),
    Kuramoto(KuramotoConfig),
    /// A model registered by a program of its own: its keys as written.
    Registered {
        kind: String,
        keys: toml::Table,
    },
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Threshold(ThresholdConfig::default())
    }
}

/// `T::of(&scenario.model)`: a model's own table, or its defaults when the scenario runs
/// another model (tests and tools that build one model's parameters from any scenario).
macro_rules! table_of {
    ($($t:ident => $variant:ident),* $(,)?) => {$(
        impl $t {
            pub fn of(model: &ModelConfig) -> $t {
                match model {
                    ModelConfig::$variant(c) => c.clone(),
                    _ => $t::default(),
                }
            }
        }
    )*};
}

table_of! {
    ThresholdConfig => Threshold,
    LifecycleConfig => Lifecycle,
    SirConfig => Sir,
    DeffuantConfig => Deffuant,
    VoterConfig => Voter,
    KuramotoConfig => Kuramoto,
}

/// The built-in models' names and the keys each reads (for messages).
pub const BUILTIN: [(&str, &[&str]); 6] = [
    ("threshold", &["theta", "seed_fraction"]),
    (
        "lifecycle",
        &[
            "coupling",
            "noise",
            "field",
            "drift_sd",
            "learning_rate",
            "forgetting",
            "knowledge_norm",
            "mastery",
            "theta",
            "tie_gain",
            "tie_cost",
            "search_rate",
            "closure",
            "strong_tie",
            "new_tie",
            "dt",
            "lpa_rounds",
            "field_mode",
            "null_every",
        ],
    ),
    ("sir", &["beta", "gamma", "initial_infected"]),
    ("deffuant", &["epsilon", "mu"]),
    ("voter", &["rewire", "opinions"]),
    (
        "kuramoto",
        &["coupling", "dt", "freq_dist", "freq_width", "average_ticks"],
    ),
];

impl ModelConfig {
    /// `model.kind`.
    pub fn kind(&self) -> &str {
        match self {
            ModelConfig::Threshold(_) => "threshold",
            ModelConfig::Lifecycle(_) => "lifecycle",
            ModelConfig::Sir(_) => "sir",
            ModelConfig::Deffuant(_) => "deffuant",
            ModelConfig::Voter(_) => "voter",
            ModelConfig::Kuramoto(_) => "kuramoto",
            ModelConfig::Registered { kind, .. } => kind,
        }
    }

    /// A registered model's keys (None for a built-in model).
    pub fn registered_keys(&self) -> Option<&toml::Table> {
        match self {
            ModelConfig::Registered { keys, .. } => Some(keys),
            _ => None,
        }
    }

    /// The keys of this model's table, in its order, with their values.
    fn table(&self) -> Result<toml::Table, String> {
        let typed = |r: Result<toml::Table, toml::ser::Error>| r.map_err(|e| e.to_string());
        match self {
            ModelConfig::Threshold(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Lifecycle(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Sir(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Deffuant(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Voter(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Kuramoto(c) => typed(toml::Table::try_from(c)),
            ModelConfig::Registered { keys, .. } => Ok(keys.clone()),
        }
    }
}

/// Rename older key names to the contract's in a `[model]` table; both names of one key
/// is an error.
pub fn rename_aliases(model: &mut toml::Table) -> Result<(), String> {
    for (old, new) in super::ALIASES {
        let (old, new) = (&old["model.".len()..], &new["model.".len()..]);
        if let Some(v) = model.remove(old) {
            if model.contains_key(new) {
                return Err(format!(
                    "model.{old} and model.{new} are one key (model.{old} is its older name); give it once"
                ));
            }
            model.insert(new.to_string(), v);
        }
    }
    Ok(())
}

/// The message for a key a built-in model does not read.
fn unknown_key(kind: &str, key: &str, allowed: &[&str]) -> String {
    let readers: Vec<&str> = BUILTIN
        .iter()
        .filter(|(m, keys)| *m != kind && keys.contains(&key))
        .map(|(m, _)| *m)
        .collect();
    let read_by = if readers.is_empty() {
        String::new()
    } else {
        format!(" (model.kind = \"{}\" reads it)", readers.join("\", \""))
    };
    format!(
        "model.{key} is not a {kind} key{read_by}; allowed: {}",
        allowed.join(", ")
    )
}

fn typed<'de, T: Deserialize<'de>>(kind: &str, table: toml::Table) -> Result<T, String> {
    let allowed = BUILTIN
        .iter()
        .find(|(m, _)| *m == kind)
        .map_or(&[][..], |(_, keys)| *keys);
    if let Some(key) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(unknown_key(kind, key, allowed));
    }
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        // Every field has a default, so the key whose value is wrong is the one that
        // fails alone: name it, with what was given.
        let culprit = table.iter().find(|(k, v)| {
            let alone: toml::Table = [((*k).clone(), (*v).clone())].into_iter().collect();
            T::deserialize(toml::Value::Table(alone)).is_err()
        });
        let msg = e.message().trim();
        match culprit {
            Some((k, v)) => {
                // A float in TOML's own form, not its 300 digits.
                let given: String = match v {
                    toml::Value::Float(f) if f.abs() >= 1e15 || (*f != 0.0 && f.abs() < 1e-6) => {
                        format!("{f:e}")
                    }
                    _ => v.to_string(),
                }
                .chars()
                .take(60)
                .collect();
                format!("model.{k} = {given}: {msg}")
            }
            None => format!("[model] of model.kind = \"{kind}\": {msg}"),
        }
    })
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(d)?;
        let kind = match table.remove("kind") {
            None => "threshold".to_string(),
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "model.kind = {other} is not a model's name; give one in quotes, e.g. model.kind = \"lifecycle\""
                )))
            }
        };
        rename_aliases(&mut table).map_err(D::Error::custom)?;
        let config = match kind.as_str() {
            "threshold" => typed(&kind, table).map(ModelConfig::Threshold),
            "lifecycle" => typed(&kind, table).map(ModelConfig::Lifecycle),
            "sir" => typed(&kind, table).map(ModelConfig::Sir),
            "deffuant" => typed(&kind, table).map(ModelConfig::Deffuant),
            "voter" => typed(&kind, table).map(ModelConfig::Voter),
            "kuramoto" => typed(&kind, table).map(ModelConfig::Kuramoto),
            _ => Ok(ModelConfig::Registered { kind, keys: table }),
        };
        config.map_err(D::Error::custom)
    }
}

impl Serialize for ModelConfig {
    /// `kind` first, then the model's keys.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let table = self.table().map_err(S::Error::custom)?;
        let mut map = s.serialize_map(Some(table.len() + 1))?;
        map.serialize_entry("kind", self.kind())?;
        let order: Vec<&str> = BUILTIN.iter().find(|(m, _)| *m == self.kind()).map_or_else(
            || table.keys().map(String::as_str).collect(),
            |(_, keys)| keys.to_vec(),
        );
        for key in order {
            if let Some(v) = table.get(key) {
                map.serialize_entry(key, v)?;
            }
        }
        map.end()
    }
}
