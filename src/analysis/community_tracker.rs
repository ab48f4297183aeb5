//! Communities of practice as entities across a run: each sample's label-propagation
//! communities (of at least [`TrackerParams::min_size`] members) are matched to the
//! communities tracked so far by their members, so a community keeps one id while it
//! lives, and its births, merges, splits and deaths are events.
//!
//! Matching, at each sample, between the tracked communities P and the current ones C:
//! p's *successor* is the c holding the largest share of p's members (if at least half),
//! c's *predecessor* the p that gave c the largest share of its members (if at least
//! half). c **continues** p when they are each other's successor and predecessor and
//! their Jaccard overlap |p∩c|/|p∪c| ≥ `jaccard_min` (0.5); another c whose predecessor
//! is p **splits** from it (a new id); a p that does not continue but has a successor
//! **merges** into that successor (continued, split or newborn) and ends; a c without a
//! continued predecessor is **born**. Hysteresis: a
//! tracked community that is matched by nothing stays dormant for `grace` samples
//! (members remembered) and is continued if it reappears; only then it **dies**. Ties
//! in every choice go to the smaller id or label, so the result is deterministic.

use crate::graph::Adjacency;
use serde::Serialize;
use std::collections::BTreeMap;

/// The tracker's thresholds (docs/stages.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackerParams {
    /// Communities smaller than this are not tracked.
    pub min_size: u32,
    /// Jaccard overlap a continuation needs. The two majority conditions alone imply
    /// |p∩c|/|p∪c| ≥ 1/3, so a value above 1/3 is what makes this a condition.
    pub jaccard_min: f64,
    /// Samples a tracked community may go unmatched before it dies.
    pub grace: u32,
    /// A tracked community counts as a community of practice once it has lived this
    /// many ticks.
    pub min_lifetime: u64,
}

impl Default for TrackerParams {
    fn default() -> Self {
        TrackerParams {
            min_size: crate::analysis::nulls::MIN_COMMUNITY,
            jaccard_min: 0.5,
            grace: 1,
            min_lifetime: 100,
        }
    }
}

/// What happened to a community at a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Birth,
    /// Born from part of `other`.
    Split,
    /// Ended by merging into `other`.
    Merge,
    Death,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Birth => "birth",
            EventKind::Split => "split",
            EventKind::Merge => "merge",
            EventKind::Death => "death",
        }
    }
    fn code(self) -> u64 {
        self as u64
    }
    fn of(code: u64) -> EventKind {
        [
            EventKind::Birth,
            EventKind::Split,
            EventKind::Merge,
            EventKind::Death,
        ][code as usize % 4]
    }
}

/// One event: at `tick`, community `id` was born, split from `other`, merged into
/// `other`, or died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Event {
    pub tick: u64,
    pub kind: EventKind,
    pub id: u64,
    /// The other community of a split (its origin) or a merge (what it joined).
    pub other: Option<u64>,
}

/// One tracked community at one sample (a row of `communities.parquet`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CommunityRow {
    pub tick: u64,
    pub id: u64,
    pub size: u32,
    /// Ties inside over s(s − 1)/2.
    pub density: f64,
    pub knowledge: f64,
    /// Mean dk/dt of the members.
    pub knowledge_growth: f64,
    /// |Σ e^{iφ}| / s over the members.
    pub alignment: f64,
}

/// What the tracker reads of one sample: the partition and per-agent values.
pub struct Sample<'a, G: Adjacency + ?Sized> {
    pub tick: u64,
    pub graph: &'a G,
    /// A label per agent (agent ids); agents without ties belong to no community.
    pub labels: &'a [u32],
    pub knowledge: &'a [f32],
    /// dk/dt of each agent.
    pub growth: &'a [f64],
    pub phi: &'a [f32],
}

#[derive(Debug, Clone, PartialEq)]
struct Tracked {
    id: u64,
    born: u64,
    last_seen: u64,
    /// Samples in a row without a match.
    missed: u32,
    peak_size: u32,
    members: Vec<u32>,
}

/// The tracker's state and everything it has recorded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommunityTracker {
    pub params: TrackerParams,
    next_id: u64,
    tracked: Vec<Tracked>,
    pub events: Vec<Event>,
    pub rows: Vec<CommunityRow>,
    /// (id, born, ended, peak size, how it ended) of every community that ended.
    ended: Vec<(u64, u64, u64, u32, EventKind)>,
}

const NONE: u64 = u64::MAX;

impl CommunityTracker {
    pub fn new(params: TrackerParams) -> CommunityTracker {
        CommunityTracker {
            params,
            ..Default::default()
        }
    }

    /// Match one sample's communities to the tracked ones and record rows and events.
    pub fn observe<G: Adjacency + ?Sized>(&mut self, s: &Sample<'_, G>) {
        let n = s.labels.len();
        // The current communities, in label order, with their members in id order.
        let mut by_label: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for i in 0..n as u32 {
            if !s.graph.neighbors(i).is_empty() {
                by_label.entry(s.labels[i as usize]).or_default().push(i);
            }
        }
        let current: Vec<Vec<u32>> = by_label
            .into_values()
            .filter(|m| m.len() as u32 >= self.params.min_size)
            .collect();
        // Who was where: dormant communities first, so a member seen since in a live one
        // counts there.
        let mut owner = vec![NONE; n];
        let mut order: Vec<usize> = (0..self.tracked.len()).collect();
        order.sort_by_key(|&k| (self.tracked[k].missed == 0, self.tracked[k].id));
        for &k in &order {
            for &m in &self.tracked[k].members {
                owner[m as usize] = k as u64;
            }
        }
        // overlap[c] = (tracked index → shared members).
        let overlap: Vec<BTreeMap<usize, u32>> = current
            .iter()
            .map(|members| {
                let mut o = BTreeMap::new();
                for &m in members {
                    let k = owner[m as usize];
                    if k != NONE {
                        *o.entry(k as usize).or_insert(0) += 1;
                    }
                }
                o
            })
            .collect();
        let tracked_size: Vec<u32> = self
            .tracked
            .iter()
            .map(|t| t.members.len() as u32)
            .collect();
        // Successor of each tracked community: the current one with most of its members.
        let mut successor: Vec<Option<(usize, u32)>> = vec![None; self.tracked.len()];
        for (c, o) in overlap.iter().enumerate() {
            for (&k, &shared) in o {
                if 2 * shared >= tracked_size[k] && successor[k].is_none_or(|(_, b)| shared > b) {
                    successor[k] = Some((c, shared));
                }
            }
        }
        let predecessor: Vec<Option<usize>> = overlap
            .iter()
            .zip(&current)
            .map(|(o, members)| {
                let (&k, &shared) = o.iter().max_by_key(|(&k, &v)| (v, std::cmp::Reverse(k)))?;
                (2 * shared as usize >= members.len()).then_some(k)
            })
            .collect();
        // Continuations.
        let mut continues: Vec<Option<usize>> = vec![None; current.len()];
        let mut continued = vec![false; self.tracked.len()];
        for (c, members) in current.iter().enumerate() {
            let Some(k) = predecessor[c] else { continue };
            if successor[k].map(|(sc, _)| sc) != Some(c) {
                continue;
            }
            let shared = overlap[c][&k] as f64;
            let jaccard = shared / (members.len() as f64 + tracked_size[k] as f64 - shared);
            if jaccard >= self.params.jaccard_min {
                continues[c] = Some(k);
                continued[k] = true;
            }
        }
        let tick = s.tick;
        // Ids of the current communities: continued, split or born.
        let mut ids = vec![0u64; current.len()];
        let mut events = Vec::new();
        for c in 0..current.len() {
            ids[c] = match continues[c] {
                Some(k) => self.tracked[k].id,
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let origin = predecessor[c].filter(|&k| continued[k]);
                    events.push(Event {
                        tick,
                        kind: if origin.is_some() {
                            EventKind::Split
                        } else {
                            EventKind::Birth
                        },
                        id,
                        other: origin.map(|k| self.tracked[k].id),
                    });
                    id
                }
            };
        }
        // Tracked communities that did not continue: merged, dormant or dead.
        let mut next: Vec<Tracked> = Vec::new();
        for (k, t) in self.tracked.iter().enumerate() {
            if continued[k] {
                continue;
            }
            let merged_into = successor[k].map(|(c, _)| ids[c]);
            match merged_into {
                Some(into) => {
                    events.push(Event {
                        tick,
                        kind: EventKind::Merge,
                        id: t.id,
                        other: Some(into),
                    });
                    self.ended
                        .push((t.id, t.born, tick, t.peak_size, EventKind::Merge));
                }
                None if t.missed < self.params.grace => {
                    let mut dormant = t.clone();
                    dormant.missed += 1;
                    next.push(dormant);
                }
                None => {
                    events.push(Event {
                        tick,
                        kind: EventKind::Death,
                        id: t.id,
                        other: None,
                    });
                    self.ended
                        .push((t.id, t.born, t.last_seen, t.peak_size, EventKind::Death));
                }
            }
        }
        for (c, members) in current.into_iter().enumerate() {
            let size = members.len() as u32;
            let (born, peak) = match continues[c] {
                Some(k) => (self.tracked[k].born, self.tracked[k].peak_size.max(size)),
                None => (tick, size),
            };
            self.rows.push(row(s, tick, ids[c], &members));
            next.push(Tracked {
                id: ids[c],
                born,
                last_seen: tick,
                missed: 0,
                peak_size: peak,
                members,
            });
        }
        next.sort_by_key(|t| t.id);
        self.tracked = next;
        events.sort_by_key(|e| (e.id, e.kind.code()));
        self.events.extend(events);
    }

    /// The lifetimes so far: every ended community and the living ones up to `end`.
    fn lifetimes(&self, end: u64) -> Vec<(u64, u64, u64, u32, Option<EventKind>)> {
        let mut v: Vec<_> = self
            .ended
            .iter()
            .map(|&(id, born, ended, peak, how)| (id, born, ended, peak, Some(how)))
            .collect();
        v.extend(
            // A dormant community lived until it was last seen.
            self.tracked.iter().map(|t| {
                let until = if t.missed == 0 {
                    end.max(t.last_seen)
                } else {
                    t.last_seen
                };
                (t.id, t.born, until, t.peak_size, None)
            }),
        );
        v.sort_by_key(|x| x.0);
        v
    }

    /// `summary.json` `communities`: how many were tracked and how many lived long enough
    /// to count as communities of practice, their peak sizes and lifetimes (min, median,
    /// 90th percentile, max), the events, and how many ended by merging at or after
    /// `absorbed_from` (the start of the adoption jump): absorbed into the system of
    /// influence.
    pub fn summary(&self, end: u64, absorbed_from: Option<u64>) -> serde_json::Value {
        let all = self.lifetimes(end);
        let cops: Vec<_> = all
            .iter()
            .filter(|x| x.2 - x.1 >= self.params.min_lifetime)
            .collect();
        let quantiles = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            let q = |f: f64| v.get(((v.len() - 1) as f64 * f).round() as usize).copied();
            if v.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::json!({"min": q(0.0), "median": q(0.5), "p90": q(0.9), "max": q(1.0)})
            }
        };
        let count = |k: EventKind| self.events.iter().filter(|e| e.kind == k).count();
        let absorbed = absorbed_from.map(|from| {
            cops.iter()
                .filter(|x| x.4 == Some(EventKind::Merge) && x.2 >= from)
                .count()
        });
        serde_json::json!({
            "params": self.params,
            "tracked": all.len(),
            "communities_of_practice": cops.len(),
            "peak_size": quantiles(cops.iter().map(|x| x.3 as f64).collect()),
            "lifetime_ticks": quantiles(cops.iter().map(|x| (x.2 - x.1) as f64).collect()),
            "births": count(EventKind::Birth),
            "splits": count(EventKind::Split),
            "merges": count(EventKind::Merge),
            "deaths": count(EventKind::Death),
            "alive_at_end": self.tracked.iter().filter(|t| t.missed == 0).count(),
            "absorbed_into_system_of_influence": absorbed,
        })
    }

    /// The state as flat run arrays, for a checkpoint: [`Self::from_parts`] inverts it.
    pub fn to_parts(&self) -> (Vec<u64>, Vec<f64>) {
        let mut w = vec![self.next_id, self.tracked.len() as u64];
        for t in &self.tracked {
            w.extend([
                t.id,
                t.born,
                t.last_seen,
                t.missed as u64,
                t.peak_size as u64,
            ]);
            w.push(t.members.len() as u64);
            w.extend(t.members.iter().map(|&m| m as u64));
        }
        w.push(self.events.len() as u64);
        for e in &self.events {
            w.extend([e.tick, e.kind.code(), e.id, e.other.unwrap_or(NONE)]);
        }
        w.push(self.ended.len() as u64);
        for &(id, born, ended, peak, how) in &self.ended {
            w.extend([id, born, ended, peak as u64, how.code()]);
        }
        let mut f = Vec::with_capacity(self.rows.len() * 7);
        for r in &self.rows {
            f.extend([
                r.tick as f64,
                r.id as f64,
                r.size as f64,
                r.density,
                r.knowledge,
                r.knowledge_growth,
                r.alignment,
            ]);
        }
        (w, f)
    }

    /// The tracker [`Self::to_parts`] wrote (None if the arrays are malformed).
    pub fn from_parts(params: TrackerParams, w: &[u64], f: &[f64]) -> Option<CommunityTracker> {
        let mut it = w.iter().copied();
        let mut next = || it.next();
        let next_id = next()?;
        let mut tracked = Vec::new();
        for _ in 0..next()? {
            let (id, born, last_seen, missed, peak) = (next()?, next()?, next()?, next()?, next()?);
            let len = next()?;
            let members = (0..len)
                .map(|_| next().map(|m| m as u32))
                .collect::<Option<Vec<u32>>>()?;
            tracked.push(Tracked {
                id,
                born,
                last_seen,
                missed: missed as u32,
                peak_size: peak as u32,
                members,
            });
        }
        let mut events = Vec::new();
        for _ in 0..next()? {
            let (tick, kind, id, other) = (next()?, next()?, next()?, next()?);
            events.push(Event {
                tick,
                kind: EventKind::of(kind),
                id,
                other: (other != NONE).then_some(other),
            });
        }
        let mut ended = Vec::new();
        for _ in 0..next()? {
            let (id, born, end, peak, how) = (next()?, next()?, next()?, next()?, next()?);
            ended.push((id, born, end, peak as u32, EventKind::of(how)));
        }
        if !f.len().is_multiple_of(7) {
            return None;
        }
        let rows = f
            .chunks_exact(7)
            .map(|r| CommunityRow {
                tick: r[0] as u64,
                id: r[1] as u64,
                size: r[2] as u32,
                density: r[3],
                knowledge: r[4],
                knowledge_growth: r[5],
                alignment: r[6],
            })
            .collect();
        Some(CommunityTracker {
            params,
            next_id,
            tracked,
            events,
            rows,
            ended,
        })
    }

    /// The communities seen at the last sample, in id order: id, members, and whether it
    /// counts as a community of practice (at least `min_lifetime` ticks old).
    pub fn current(&self) -> Vec<(u64, &[u32], bool)> {
        let mut v: Vec<(u64, &[u32], bool)> = self
            .tracked
            .iter()
            .filter(|t| t.missed == 0)
            .map(|t| {
                let practice = t.last_seen >= t.born + self.params.min_lifetime;
                (t.id, &t.members[..], practice)
            })
            .collect();
        v.sort_by_key(|&(id, _, _)| id);
        v
    }

    /// The ids alive at the last sample, with their members (tests).
    pub fn alive(&self) -> Vec<(u64, &[u32])> {
        self.tracked
            .iter()
            .filter(|t| t.missed == 0)
            .map(|t| (t.id, &t.members[..]))
            .collect()
    }
}

/// The row of a community: its size, density, knowledge, growth and alignment.
fn row<G: Adjacency + ?Sized>(
    s: &Sample<'_, G>,
    tick: u64,
    id: u64,
    members: &[u32],
) -> CommunityRow {
    let size = members.len();
    let label = s.labels[members[0] as usize];
    let inside: u64 = members
        .iter()
        .map(|&m| {
            s.graph
                .neighbors(m)
                .iter()
                .filter(|&&j| s.labels[j as usize] == label)
                .count() as u64
        })
        .sum();
    let pairs = size as f64 * (size as f64 - 1.0) / 2.0;
    let (mut k, mut g, mut c, mut sn) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for &m in members {
        k += s.knowledge[m as usize] as f64;
        g += s.growth[m as usize];
        let (sin, cos) = (s.phi[m as usize] as f64).sin_cos();
        c += cos;
        sn += sin;
    }
    let sf = size as f64;
    CommunityRow {
        tick,
        id,
        size: size as u32,
        density: (inside as f64 / 2.0) / pairs.max(1.0),
        knowledge: k / sf,
        knowledge_growth: g / sf,
        alignment: c.hypot(sn) / sf,
    }
}
