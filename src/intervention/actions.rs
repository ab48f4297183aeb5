//! The actions. A one-off action (seed_adopters, connect_pioneers, broadcast,
//! remove_hubs, cut_ties) is a few passes on the state where it lives, a GPU kernel each
//! with its CPU twin ([`super::passes`]); an action that lasts (illuminate, nourish)
//! sets, on the state as named arrays, what the tick kernels read for its duration.
//! Agents are ranked by integer keys and ties broken by id, so an action's result does
//! not depend on threads or on the backend that holds the state; ties stay symmetric and
//! each agent's live slots stay first, in their order.

use super::passes::{self, ActionPasses, Cut, Eligible, Query, Rank};
use super::{Action, ActionKind, Select};
use crate::engine::state::Field;
use crate::engine::{Per, State, Values};
use crate::error::Result;
use crate::model::lifecycle::NEVER;
use crate::rng;
use serde::Serialize;

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

/// Apply intervention `index`'s one-off `action` at `tick` through a model's passes: pick
/// agents by [`passes::select`], then run the action's own kernel (or its CPU twin).
pub fn apply_passes(
    action: &Action,
    p: &mut dyn ActionPasses,
    seed: u32,
    index: u32,
    tick: u64,
) -> Result<Touched> {
    let query = |rank, eligible| Query::new(rank, eligible, seed, tick, index);
    let mut touched = Touched::default();
    match *action {
        Action::SeedAdopters { count, select } => {
            let rank = match select {
                Select::Random => Rank::Random,
                Select::Knowledge => Rank::Knowledge,
                Select::Degree => Rank::Degree,
            };
            let picked = passes::select(p, &query(rank, Eligible::NotAdopted), count as u64)?;
            if picked.picked > 0 {
                // Adopted from the next tick on (an agent counts as adopted in tick t
                // when adopted_at < t).
                p.adopt(u32::try_from(tick).unwrap_or(NEVER - 1))?;
            }
            touched.agents = picked.picked;
        }
        Action::ConnectPioneers { count, weight } => {
            // Pioneers: the most knowledgeable agents with a free slot, twice the ties
            // asked for, gathered and put in rank order; the pairing is planned on them.
            let q = query(Rank::Knowledge, Eligible::FreeSlot);
            let pool_size = (2 * count as u64).max(2);
            let picked = passes::select(p, &q, pool_size)?;
            if picked.picked > 0 {
                let mut pool = p.gather(picked.picked as u32)?;
                pool.sort_by(|a, b| b.knowledge.total_cmp(&a.knowledge).then(a.id.cmp(&b.id)));
                let (ends, agents) = passes::pair_pioneers(&pool, p.slots(), count as u64);
                p.connect(&ends, weight)?;
                touched.ties_added = ends.len() as u64 / 2;
                touched.agents = agents;
            }
        }
        Action::Broadcast {
            count,
            strength,
            direction,
        } => {
            let picked = passes::select(p, &query(Rank::Random, Eligible::All), count as u64)?;
            if picked.picked > 0 {
                p.broadcast(strength, direction)?;
            }
            touched.agents = picked.picked;
        }
        Action::RemoveHubs { count } => {
            let q = query(Rank::Degree, Eligible::All);
            let picked = passes::select(p, &q, count as u64)?;
            if picked.picked > 0 {
                touched.ties_removed = p.cut(Cut::Flagged, &q)?.ties;
            }
            touched.agents = picked.picked;
        }
        Action::CutTies { share } => {
            let q = query(Rank::Random, Eligible::All);
            let cut = p.cut(
                Cut::Share {
                    threshold: rng::threshold_24(share),
                },
                &q,
            )?;
            touched.ties_removed = cut.ties;
            touched.agents = cut.agents;
        }
        Action::Illuminate { .. } | Action::Nourish { .. } => {
            unreachable!("an action that lasts is applied by apply_lasting (ActionKind::lasts)")
        }
    }
    Ok(touched)
}

/// Apply intervention `index`'s lasting `action` (illuminate, nourish) to a lifecycle
/// state, as named arrays, at `tick`.
pub fn apply_lasting(action: &Action, state: &mut State) -> Result<Touched> {
    let n = state.u32s("degree")?.len();
    let knowledge = state.f32s("knowledge")?.to_vec();
    let labels = state.u32s("labels")?.to_vec();
    let mut touched = Touched::default();
    match *action {
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
        _ => unreachable!("a one-off action is applied by apply_passes (ActionKind::lasts)"),
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
