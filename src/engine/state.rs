//! A model's state as named, typed arrays: what snapshots, checkpoints and interventions
//! read and write, on either backend. [`super::Simulation::state`] gives everything a run
//! needs to go on (per-agent arrays, per-slot tie arrays, and the few counters a model
//! keeps between ticks); [`super::Simulation::set_state`] puts it back, after which the
//! run continues bit for bit as if it had never stopped.

use crate::error::{Error, Result};

/// What an array is indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// One value per agent (`0..N`).
    Agent,
    /// One value per tie slot (`agent · K + slot`).
    Slot,
    /// Counters and other values of the whole run.
    Run,
}

/// The values of one array.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    U32(Vec<u32>),
    F32(Vec<f32>),
    U64(Vec<u64>),
    F64(Vec<f64>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::U32(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::U64(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type's name, as a Parquet or NumPy user would say it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Values::U32(_) => "u32",
            Values::F32(_) => "f32",
            Values::U64(_) => "u64",
            Values::F64(_) => "f64",
        }
    }
}

/// One named array.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub per: Per,
    pub values: Values,
}

/// A model's whole state at a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The model (`model.kind`) whose state this is.
    pub model: String,
    /// Ticks completed.
    pub tick: u64,
    pub fields: Vec<Field>,
}

macro_rules! getter {
    ($name:ident, $variant:ident, $t:ty) => {
        /// The field `name`, which must hold this type.
        pub fn $name(&self, name: &str) -> Result<&[$t]> {
            match &self.field(name)?.values {
                Values::$variant(v) => Ok(v),
                other => Err(self.mistyped(name, other)),
            }
        }
    };
}

macro_rules! getter_mut {
    ($name:ident, $variant:ident, $t:ty) => {
        /// The field `name` to edit in place (an intervention's), which must hold this
        /// type.
        pub fn $name(&mut self, name: &str) -> Result<&mut Vec<$t>> {
            let values = &self.field(name)?.values;
            if !matches!(values, Values::$variant(_)) {
                return Err(self.mistyped(name, values));
            }
            match self
                .fields
                .iter_mut()
                .find(|f| f.name == name)
                .map(|f| &mut f.values)
            {
                Some(Values::$variant(v)) => Ok(v),
                _ => unreachable!("found above, of this type"),
            }
        }
    };
}

impl State {
    pub fn new(model: &str, tick: u64) -> State {
        State {
            model: model.to_string(),
            tick,
            fields: Vec::new(),
        }
    }

    /// Add a field (builder style).
    pub fn with(mut self, name: &str, per: Per, values: Values) -> State {
        self.fields.push(Field {
            name: name.to_string(),
            per,
            values,
        });
        self
    }

    pub fn field(&self, name: &str) -> Result<&Field> {
        self.fields.iter().find(|f| f.name == name).ok_or_else(|| {
            Error::bad_input(format!(
                "state of model {}: no field `{name}`; it has {}",
                self.model,
                self.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    fn mistyped(&self, name: &str, got: &Values) -> Error {
        Error::bad_input(format!(
            "state of model {}: field `{name}` holds {}, not the type asked for",
            self.model,
            got.type_name()
        ))
    }

    getter!(u32s, U32, u32);
    getter!(f32s, F32, f32);
    getter!(u64s, U64, u64);
    getter!(f64s, F64, f64);
    getter_mut!(u32s_mut, U32, u32);
    getter_mut!(f32s_mut, F32, f32);

    /// A counter kept as a one-element `u64` field.
    pub fn counter(&self, name: &str) -> Result<u64> {
        self.u64s(name)?
            .first()
            .copied()
            .ok_or_else(|| Error::bad_input(format!("state: `{name}` is empty")))
    }

    /// Refuse a state of another model or of another size.
    pub fn check(&self, model: &str, agents: usize, slots: usize) -> Result<()> {
        if self.model != model {
            return Err(Error::bad_input(format!(
                "a state of model {} cannot be loaded into model {model}",
                self.model
            )));
        }
        for f in &self.fields {
            let want = match f.per {
                Per::Agent => agents,
                Per::Slot => agents * slots,
                Per::Run => continue,
            };
            if f.values.len() != want {
                return Err(Error::bad_input(format!(
                    "state of model {model}: field `{}` has {} values, the run needs {want}",
                    f.name,
                    f.values.len()
                )));
            }
        }
        Ok(())
    }
}
