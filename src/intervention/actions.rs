//! The actions, each an edit of the lifecycle's named state arrays between two ticks:
//! `adopted_at`, `phi`, `knowledge` and `labels` per agent, `neighbor`, `weight`, `age`
//! per tie slot and `degree`. Agents are ranked by integer keys and ties broken by id, so
//! an action's result does not depend on threads or on the backend that held the state;
//! ties stay symmetric and each agent's live slots stay first, in their order.

use super::{Action, ActionKind, Select};
use crate::engine::state::Field;
use crate::engine::{Per, State, Values};
use crate::error::{Error, Result};
use crate::graph::ties::EMPTY;
use crate::model::lifecycle::{wrap, NEVER};
use crate::rng::{self, stream};
use serde::Serialize;
use std::f32::consts::PI;

/// What an action touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Touched {
    /// Agents whose own state changed (adopted, turned, or lost their ties).
    pub agents: u64,
    pub ties_added: u64,
    pub ties_removed: u64,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        *self == Touched::default()
    }
}

/// The tie arrays of a state, edited in place.
struct Ties<'a> {
    k: usize,
    degree: &'a mut Vec<u32>,
    neighbor: &'a mut Vec<u32>,
    weight: &'a mut Vec<f32>,
    age: &'a mut Vec<u32>,
}

impl Ties<'_> {
    fn row(&self, i: usize) -> &[u32] {
        &self.neighbor[i * self.k..i * self.k + self.degree[i] as usize]
    }

    fn tied(&self, a: usize, b: u32) -> bool {
        self.row(a).contains(&b)
    }

    fn free(&self, i: usize) -> bool {
        (self.degree[i] as usize) < self.k
    }

    /// Add the tie a–b at both ends (both must have a free slot).
    fn add(&mut self, a: usize, b: usize, w: f32) {
        for (x, y) in [(a, b), (b, a)] {
            let s = x * self.k + self.degree[x] as usize;
            self.neighbor[s] = y as u32;
            self.weight[s] = w;
            self.age[s] = 0;
            self.degree[x] += 1;
        }
    }

    /// Keep, in each row, the ties `keep(i, j)` allows (it must be symmetric), compacted
    /// in their order; returns the ties removed.
    fn retain(&mut self, keep: impl Fn(usize, u32) -> bool) -> u64 {
        let mut removed = 0;
        for i in 0..self.degree.len() {
            let base = i * self.k;
            let d = self.degree[i] as usize;
            let mut kept = 0;
            for s in 0..d {
                let j = self.neighbor[base + s];
                if keep(i, j) {
                    self.neighbor[base + kept] = j;
                    self.weight[base + kept] = self.weight[base + s];
                    self.age[base + kept] = self.age[base + s];
                    kept += 1;
                } else if (i as u32) < j {
                    removed += 1;
                }
            }
            for s in kept..d {
                self.neighbor[base + s] = EMPTY;
                self.weight[base + s] = 0.0;
                self.age[base + s] = 0;
            }
            self.degree[i] = kept as u32;
        }
        removed
    }
}

/// The random word of agent (or tie end) `i` in intervention `index`'s own stream.
fn key(seed: u32, tick: u64, index: u32, i: u32) -> u32 {
    rng::rand(seed, tick as u32, i, stream::INTERVENTION | (index << 8))
}

/// Apply intervention `index`'s `action` to a lifecycle state at `tick`.
pub fn apply(
    action: &Action,
    state: &mut State,
    seed: u32,
    index: u32,
    tick: u64,
) -> Result<Touched> {
    let n = state.u32s("degree")?.len();
    let k = state.u32s("neighbor")?.len() / n.max(1);
    let knowledge = state.f32s("knowledge")?.to_vec();
    let labels = state.u32s("labels")?.to_vec();
    let adopted_at = state.u32s("adopted_at")?.to_vec();
    let mut touched = Touched::default();
    match *action {
        Action::SeedAdopters { count, select } => {
            let degree = state.u32s("degree")?.to_vec();
            let mut candidates: Vec<u32> = (0..n as u32)
                .filter(|&i| adopted_at[i as usize] == NEVER)
                .collect();
            match select {
                Select::Random => candidates.sort_by_key(|&i| (key(seed, tick, index, i), i)),
                Select::Knowledge => candidates.sort_by(|&a, &b| {
                    knowledge[b as usize]
                        .total_cmp(&knowledge[a as usize])
                        .then(a.cmp(&b))
                }),
                Select::Degree => {
                    candidates.sort_by_key(|&i| (std::cmp::Reverse(degree[i as usize]), i))
                }
            }
            candidates.truncate(count as usize);
            let at = state.u32s_mut("adopted_at")?;
            // Adopted from the next tick on (an agent counts as adopted in tick t when
            // adopted_at < t).
            let t = u32::try_from(tick).unwrap_or(NEVER - 1);
            for &i in &candidates {
                at[i as usize] = t;
            }
            touched.agents = candidates.len() as u64;
        }
        Action::ConnectPioneers { count, weight } => {
            // Pioneers: the most knowledgeable agents with a free slot, twice the ties
            // asked for; each is paired with the next pioneers in rank order (offset 1,
            // then 2, …) of another community until the budget is spent.
            let degree = state.u32s("degree")?.to_vec();
            let mut pool: Vec<u32> = (0..n as u32)
                .filter(|&i| (degree[i as usize] as usize) < k)
                .collect();
            pool.sort_by(|&a, &b| {
                knowledge[b as usize]
                    .total_cmp(&knowledge[a as usize])
                    .then(a.cmp(&b))
            });
            pool.truncate((2 * count as usize).max(2));
            let mut ties = ties_of(state, k)?;
            let mut added = 0u64;
            let mut agents = vec![false; n];
            // Passes beyond a few hundred offsets find almost nothing new where one
            // community holds nearly every pioneer; the budget may stay unspent, and the
            // record says how much was.
            'passes: for offset in 1..pool.len().min(MAX_OFFSETS + 1) {
                for a_at in 0..pool.len() - offset {
                    if added == count as u64 {
                        break 'passes;
                    }
                    let (a, b) = (pool[a_at] as usize, pool[a_at + offset] as usize);
                    if labels[a] != labels[b]
                        && ties.free(a)
                        && ties.free(b)
                        && !ties.tied(a, b as u32)
                    {
                        ties.add(a, b, weight);
                        agents[a] = true;
                        agents[b] = true;
                        added += 1;
                    }
                }
            }
            touched.ties_added = added;
            touched.agents = agents.iter().filter(|&&a| a).count() as u64;
        }
        Action::Broadcast {
            count,
            strength,
            direction,
        } => {
            let mut chosen: Vec<u32> = (0..n as u32).collect();
            if (count as usize) < n {
                chosen.sort_by_key(|&i| (key(seed, tick, index, i), i));
                chosen.truncate(count as usize);
            }
            let phi = state.f32s_mut("phi")?;
            for &i in &chosen {
                let p = phi[i as usize];
                // The signed angle from φ to the direction, in [−π, π).
                let delta = wrap(direction - p + PI) - PI;
                phi[i as usize] = wrap(p + strength * delta);
            }
            touched.agents = chosen.len() as u64;
        }
        Action::RemoveHubs { count } => {
            let degree = state.u32s("degree")?.to_vec();
            let mut hubs: Vec<u32> = (0..n as u32).collect();
            hubs.sort_by_key(|&i| (std::cmp::Reverse(degree[i as usize]), i));
            hubs.truncate(count as usize);
            let mut hub = vec![false; n];
            for &h in &hubs {
                hub[h as usize] = true;
            }
            let mut ties = ties_of(state, k)?;
            touched.ties_removed = ties.retain(|i, j| !hub[i] && !hub[j as usize]);
            touched.agents = hubs.len() as u64;
        }
        Action::CutTies { share } => {
            let cut = rng::threshold_24(share);
            let mut ties = ties_of(state, k)?;
            // One draw per tie, keyed by its lower end and hashed with the upper, so both
            // ends agree.
            let keep = |i: usize, j: u32| {
                let (a, b) = ((i as u32).min(j), (i as u32).max(j));
                (rng::pcg(key(seed, tick, index, a) ^ b) >> 8) >= cut
            };
            let mut ends = vec![false; n];
            for (i, e) in ends.iter_mut().enumerate() {
                *e = ties.row(i).iter().any(|&j| !keep(i, j));
            }
            touched.ties_removed = ties.retain(keep);
            touched.agents = ends.iter().filter(|&&e| e).count() as u64;
        }
        Action::Illuminate { count, share, .. } => {
            let mut pioneers: Vec<u32> = (0..n as u32).collect();
            pioneers.sort_by(|&a, &b| {
                knowledge[b as usize]
                    .total_cmp(&knowledge[a as usize])
                    .then(a.cmp(&b))
            });
            pioneers.truncate(count as usize);
            touched.agents = pioneers.len() as u64;
            end(state, ActionKind::Illuminate);
            state.fields.push(Field {
                name: "illuminate_cut".into(),
                per: Per::Run,
                values: Values::U32(vec![rng::threshold_24(share)]),
            });
            state.fields.push(Field {
                name: "pioneers".into(),
                per: Per::Run,
                values: Values::U32(pioneers),
            });
        }
        Action::Nourish {
            count,
            factor,
            min_size,
            ..
        } => {
            // Communities by the last label propagation, the largest first (ties by
            // label), whole, while their members fit the budget.
            let mut size = std::collections::HashMap::<u32, u32>::new();
            for &l in &labels {
                *size.entry(l).or_default() += 1;
            }
            let mut communities: Vec<(u32, u32)> =
                size.into_iter().filter(|&(_, s)| s >= min_size).collect();
            communities.sort_by_key(|&(l, s)| (std::cmp::Reverse(s), l));
            let mut chosen = std::collections::HashSet::new();
            let mut members = 0u64;
            for (l, s) in communities {
                if members + s as u64 > count as u64 {
                    break;
                }
                members += s as u64;
                chosen.insert(l);
            }
            // A nourish that finds no community leaves an earlier one as it is.
            if members > 0 {
                end(state, ActionKind::Nourish);
                let flags: Vec<u32> = labels
                    .iter()
                    .map(|l| u32::from(chosen.contains(l)))
                    .collect();
                state.fields.push(Field {
                    name: "nourish_factor".into(),
                    per: Per::Run,
                    values: Values::F32(vec![factor]),
                });
                state.fields.push(Field {
                    name: "nourished".into(),
                    per: Per::Agent,
                    values: Values::U32(flags),
                });
            }
            touched.agents = members;
        }
    }
    Ok(touched)
}

/// End what an action of `kind` that lasts set: searches go anywhere again, learning is
/// at its rate again.
pub fn end(state: &mut State, kind: ActionKind) {
    let fields: &[&str] = match kind {
        ActionKind::Illuminate => &["illuminate_cut", "pioneers"],
        ActionKind::Nourish => &["nourish_factor", "nourished"],
        _ => &[],
    };
    state.fields.retain(|f| !fields.contains(&f.name.as_str()));
}

/// Offsets tried when pairing pioneers.
const MAX_OFFSETS: usize = 256;

fn ties_of(state: &mut State, k: usize) -> Result<Ties<'_>> {
    // Four distinct fields borrowed at once: split the field list.
    let mut degree = None;
    let mut neighbor = None;
    let mut weight = None;
    let mut age = None;
    for f in state.fields.iter_mut() {
        match (f.name.as_str(), &mut f.values) {
            ("degree", Values::U32(v)) => degree = Some(v),
            ("neighbor", Values::U32(v)) => neighbor = Some(v),
            ("weight", Values::F32(v)) => weight = Some(v),
            ("age", Values::U32(v)) => age = Some(v),
            _ => {}
        }
    }
    match (degree, neighbor, weight, age) {
        (Some(degree), Some(neighbor), Some(weight), Some(age)) => Ok(Ties {
            k,
            degree,
            neighbor,
            weight,
            age,
        }),
        _ => Err(Error::bad_input(
            "interventions on ties need the lifecycle's degree, neighbor, weight and age",
        )),
    }
}
