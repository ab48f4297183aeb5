//! The passes a one-off action runs on a model's state where it lives, the same on both
//! backends ([`ActionPasses`]: the `shaders/intervene_*.wgsl` kernels on the GPU, their
//! twins in `model/lifecycle/cpu/intervene_*.rs` on the CPU), and what the host decides
//! between them. An action picks the first `count` eligible agents in an order (a random
//! word of its own stream, the most knowledgeable first, the highest degree first), each
//! agent's *place* being the 64-bit pair (key, id). [`select`] finds the place of the
//! `count`-th agent by radix selection: a histogram of one byte of the places per pass
//! (`intervene_rank`), eight passes at most (fewer when a byte's bucket holds just the
//! agents still needed), each reading back 256 words; then
//! `intervene_mark` flags the agents at or before it, and the action's own kernel reads
//! the flags. Nothing of the size of the population crosses to the host, and the picks
//! are those a sort of all agents by place would make, on every device.

use crate::error::Result;
use crate::rng::stream;

/// The order an action picks agents in (the smallest key first, ties by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// A random word of the intervention's stream.
    Random = 0,
    /// The most knowledgeable first.
    Knowledge = 1,
    /// The highest degree first.
    Degree = 2,
}

/// Which agents an action may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligible {
    All = 0,
    /// Agents that have not adopted.
    NotAdopted = 1,
    /// Agents with a free tie slot.
    FreeSlot = 2,
}

/// An order over the agents of one intervention at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub rank: Rank,
    pub eligible: Eligible,
    pub seed: u32,
    pub tick: u32,
    /// The intervention's own stream: [`stream::INTERVENTION`] with its index above.
    pub stream: u32,
}

impl Query {
    pub fn new(rank: Rank, eligible: Eligible, seed: u32, tick: u64, index: u32) -> Query {
        Query {
            rank,
            eligible,
            seed,
            tick: tick as u32,
            stream: stream::INTERVENTION | (index << 8),
        }
    }
}

/// The largest place: a bound that picks every eligible agent.
pub const ALL: u64 = u64::MAX;

/// The bits of a float as an unsigned word in the order of [`f32::total_cmp`].
pub fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Whether agent `i` may be picked (twin of `eligible` in `intervene_place.wgsl`).
pub fn eligible(q: &Query, slots: u32, i: usize, degree: &[u32], adopted_at: &[u32]) -> bool {
    match q.eligible {
        Eligible::All => true,
        Eligible::NotAdopted => adopted_at[i] == crate::model::lifecycle::NEVER,
        Eligible::FreeSlot => degree[i] < slots,
    }
}

/// Agent `i`'s place, (key << 32) | id (twin of `place` in `intervene_place.wgsl`).
pub fn place(q: &Query, i: usize, knowledge: &[f32], degree: &[u32]) -> u64 {
    let key = match q.rank {
        Rank::Random => crate::rng::rand(q.seed, q.tick, i as u32, q.stream),
        Rank::Knowledge => !ordered_bits(knowledge[i]),
        Rank::Degree => !degree[i],
    };
    ((key as u64) << 32) | i as u64
}

/// Whether `place`'s bits above byte `digit` are `prefix`'s (twin of `agrees` in
/// `intervene_rank.wgsl`).
pub fn agrees(place: u64, digit: u32, prefix: u64) -> bool {
    let shift = 8 * digit + 8;
    shift == 64 || place >> shift == prefix >> shift
}

/// Byte `digit` of `place`.
pub fn byte_of(place: u64, digit: u32) -> usize {
    ((place >> (8 * digit)) & 255) as usize
}

/// How a cut decides which ties go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// Every tie of a flagged agent (the hubs).
    Flagged,
    /// Each tie whose draw (keyed by its lower end, hashed with the upper) is below
    /// `threshold` of 2^24.
    Share { threshold: u32 },
}

/// What a cut removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutCount {
    /// Agents that lost at least one tie.
    pub agents: u64,
    pub ties: u64,
}

/// A gathered pioneer: what the pairing of `connect_pioneers` reads of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pioneer {
    pub id: u32,
    pub knowledge: f32,
    pub label: u32,
    pub degree: u32,
    /// Its K slots (the first `degree` live).
    pub row: Vec<u32>,
}

impl Pioneer {
    /// One record of `intervene_gather`: id, knowledge bits, label, degree, K slots.
    pub fn from_record(words: &[u32]) -> Pioneer {
        Pioneer {
            id: words[0],
            knowledge: f32::from_bits(words[1]),
            label: words[2],
            degree: words[3],
            row: words[4..].to_vec(),
        }
    }
}

/// A new tie end `intervene_connect` writes: `neighbor` into `agent`'s `slot`; the last
/// end of an agent sets its degree to `slot + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct NewEnd {
    pub agent: u32,
    pub slot: u32,
    pub neighbor: u32,
    pub last: u32,
}

/// The passes of the one-off actions on a model's state (nothing in flight). Each runs
/// one kernel on the GPU and its twin on the CPU; the flags are those of the last
/// [`ActionPasses::mark`].
pub trait ActionPasses {
    /// Agents.
    fn agents(&self) -> u32;
    /// Tie slots per agent (K).
    fn slots(&self) -> u32;
    /// `intervene_rank`: the number of eligible agents for each value of byte `digit`
    /// (0 the lowest) of their place, among those whose place has `prefix`'s bits above
    /// that byte.
    fn rank_histogram(&mut self, q: &Query, digit: u32, prefix: u64) -> Result<[u32; 256]>;
    /// `intervene_mark`: flag the eligible agents whose place is at most `bound`.
    fn mark(&mut self, q: &Query, bound: u64) -> Result<()>;
    /// `intervene_gather`: the flagged agents' records, in any order (at most `room`).
    fn gather(&mut self, room: u32) -> Result<Vec<Pioneer>>;
    /// `intervene_adopt`: the flagged agents adopt at `tick`.
    fn adopt(&mut self, tick: u32) -> Result<()>;
    /// `intervene_broadcast`: the flagged agents turn through `strength` of the angle to
    /// `direction`.
    fn broadcast(&mut self, strength: f32, direction: f32) -> Result<()>;
    /// `intervene_cut`: remove the ties the rule says, compacting each row in its order.
    fn cut(&mut self, cut: Cut, q: &Query) -> Result<CutCount>;
    /// `intervene_connect`: write the planned tie ends at weight `weight`.
    fn connect(&mut self, ends: &[NewEnd], weight: f32) -> Result<()>;
}

/// The agents an action picked: the bound of their places and how many they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub bound: u64,
    pub picked: u64,
}

/// The first `count` eligible agents in `q`'s order, found byte by byte from the top;
/// `count` at least the eligible agents picks them all. The passes are flagged with it.
pub fn select(p: &mut dyn ActionPasses, q: &Query, count: u64) -> Result<Selection> {
    if count == 0 {
        return Ok(Selection {
            bound: 0,
            picked: 0,
        });
    }
    let mut need = count;
    let mut prefix = 0u64;
    let mut selection = None;
    for digit in (0..8u32).rev() {
        let h = p.rank_histogram(q, digit, prefix)?;
        if digit == 7 {
            let eligible: u64 = h.iter().map(|&c| c as u64).sum();
            if need >= eligible {
                selection = Some(Selection {
                    bound: ALL,
                    picked: eligible,
                });
                break;
            }
        }
        // The byte whose agents hold the `need`-th place.
        let mut before = 0u64;
        let mut byte = 0;
        while before + (h[byte] as u64) < need {
            before += h[byte] as u64;
            byte += 1;
        }
        need -= before;
        let shift = 8 * digit;
        prefix |= (byte as u64) << shift;
        if h[byte] as u64 == need {
            // Every agent of this byte is picked: the bound is its largest place.
            let low = if shift == 0 { 0 } else { (1u64 << shift) - 1 };
            selection = Some(Selection {
                bound: prefix | low,
                picked: count,
            });
            break;
        }
    }
    // Places are distinct, so the last byte always ends the walk above.
    let selection = selection.expect("distinct places end the selection by the last byte");
    if selection.picked > 0 {
        p.mark(q, selection.bound)?;
    }
    Ok(selection)
}

/// Offsets tried when pairing pioneers.
pub const MAX_OFFSETS: usize = 256;

/// The ties of `connect_pioneers` over its pool, sorted by place (most knowledgeable
/// first): each pioneer is paired with the next ones in rank order (offset 1, then 2, …)
/// of another community, where both have a free slot and are not tied, until `count`
/// ties are planned. Returns the ends to write and the agents touched.
pub fn pair_pioneers(pool: &[Pioneer], slots: u32, count: u64) -> (Vec<NewEnd>, u64) {
    let mut degree: Vec<u32> = pool.iter().map(|p| p.degree).collect();
    let mut added_to: Vec<Vec<u32>> = vec![Vec::new(); pool.len()];
    let mut touched = vec![false; pool.len()];
    let mut ties = 0u64;
    let tied = |a: usize, b: usize, added_to: &[Vec<u32>]| {
        let id = pool[b].id;
        pool[a].row[..pool[a].degree as usize].contains(&id) || added_to[a].contains(&id)
    };
    // Passes beyond a few hundred offsets find almost nothing new where one community
    // holds nearly every pioneer; the budget may stay unspent, and the record says how
    // much was.
    'passes: for offset in 1..pool.len().min(MAX_OFFSETS + 1) {
        for a in 0..pool.len() - offset {
            if ties == count {
                break 'passes;
            }
            let b = a + offset;
            if pool[a].label != pool[b].label
                && degree[a] < slots
                && degree[b] < slots
                && !tied(a, b, &added_to)
            {
                for (x, y) in [(a, b), (b, a)] {
                    added_to[x].push(pool[y].id);
                    degree[x] += 1;
                    touched[x] = true;
                }
                ties += 1;
            }
        }
    }
    let mut ends = Vec::with_capacity(2 * ties as usize);
    for (x, added) in added_to.iter().enumerate() {
        for (t, &y) in added.iter().enumerate() {
            ends.push(NewEnd {
                agent: pool[x].id,
                slot: pool[x].degree + t as u32,
                neighbor: y,
                last: u32::from(t + 1 == added.len()),
            });
        }
    }
    (ends, touched.iter().filter(|&&t| t).count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passes over given places: the selection alone, against a sort.
    struct Places {
        places: Vec<u64>,
        eligible: Vec<bool>,
        flagged: Vec<bool>,
    }

    impl ActionPasses for Places {
        fn agents(&self) -> u32 {
            self.places.len() as u32
        }
        fn slots(&self) -> u32 {
            0
        }
        fn rank_histogram(&mut self, _: &Query, digit: u32, prefix: u64) -> Result<[u32; 256]> {
            let mut h = [0; 256];
            for (i, &p) in self.places.iter().enumerate() {
                if self.eligible[i] && agrees(p, digit, prefix) {
                    h[byte_of(p, digit)] += 1;
                }
            }
            Ok(h)
        }
        fn mark(&mut self, _: &Query, bound: u64) -> Result<()> {
            self.flagged = (0..self.places.len())
                .map(|i| self.eligible[i] && self.places[i] <= bound)
                .collect();
            Ok(())
        }
        fn gather(&mut self, _: u32) -> Result<Vec<Pioneer>> {
            unreachable!()
        }
        fn adopt(&mut self, _: u32) -> Result<()> {
            unreachable!()
        }
        fn broadcast(&mut self, _: f32, _: f32) -> Result<()> {
            unreachable!()
        }
        fn cut(&mut self, _: Cut, _: &Query) -> Result<CutCount> {
            unreachable!()
        }
        fn connect(&mut self, _: &[NewEnd], _: f32) -> Result<()> {
            unreachable!()
        }
    }

    #[test]
    fn the_selection_picks_what_a_sort_by_place_picks() {
        let q = Query::new(Rank::Random, Eligible::All, 1, 0, 0);
        for seed in 0..40u32 {
            let n = 1 + (crate::rng::rand(seed, 0, 0, 0) % 3000) as usize;
            // Keys from few distinct values (degrees: many ties) to all distinct.
            let spread = [1, 3, 40, u32::MAX][seed as usize % 4];
            let places: Vec<u64> = (0..n)
                .map(|i| {
                    let key = crate::rng::rand(seed, 1, i as u32, 0) % spread.max(1);
                    ((key as u64) << 32) | i as u64
                })
                .collect();
            let eligible: Vec<bool> = (0..n)
                .map(|i| seed % 3 == 0 || crate::rng::rand(seed, 2, i as u32, 0) % 4 != 0)
                .collect();
            let mut order: Vec<usize> = (0..n).filter(|&i| eligible[i]).collect();
            order.sort_by_key(|&i| places[i]);
            for count in [0, 1, 2, n as u64 / 3, order.len() as u64, n as u64 + 5] {
                let mut p = Places {
                    places: places.clone(),
                    eligible: eligible.clone(),
                    flagged: vec![false; n],
                };
                let s = select(&mut p, &q, count).unwrap();
                let expected: Vec<usize> = order.iter().copied().take(count as usize).collect();
                let got: Vec<usize> = (0..n).filter(|&i| p.flagged[i]).collect();
                let mut expected_sorted = expected.clone();
                expected_sorted.sort();
                assert_eq!(got, expected_sorted, "seed {seed}, n {n}, count {count}");
                assert_eq!(s.picked, expected.len() as u64);
            }
        }
    }

    #[test]
    fn places_order_knowledge_as_total_cmp_and_degree_from_the_highest() {
        let knowledge = [0.5f32, -1.0, 2.0, 0.5, -0.0, 0.0, f32::INFINITY];
        let degree = [3u32, 9, 0, 3, 1, 7, 2];
        let q = Query::new(Rank::Knowledge, Eligible::All, 1, 0, 0);
        let mut by_place: Vec<usize> = (0..7).collect();
        by_place.sort_by_key(|&i| place(&q, i, &knowledge, &degree));
        let mut by_sort: Vec<usize> = (0..7).collect();
        by_sort.sort_by(|&a, &b| knowledge[b].total_cmp(&knowledge[a]).then(a.cmp(&b)));
        assert_eq!(by_place, by_sort);
        let q = Query::new(Rank::Degree, Eligible::All, 1, 0, 0);
        by_place.sort_by_key(|&i| place(&q, i, &knowledge, &degree));
        assert_eq!(by_place, [1, 5, 0, 3, 6, 4, 2]);
    }

    #[test]
    fn pioneers_pair_across_communities_within_slots_and_budget() {
        let pioneer = |id, label, degree: u32| Pioneer {
            id,
            knowledge: 1.0,
            label,
            degree,
            row: (0..3)
                .map(|s| if s < degree { 100 + s } else { u32::MAX })
                .collect(),
        };
        // 0 and 1 share a community; 3 is full.
        let pool = [
            pioneer(0, 7, 0),
            pioneer(1, 7, 1),
            pioneer(2, 8, 2),
            pioneer(3, 9, 3),
        ];
        let (ends, agents) = pair_pioneers(&pool, 3, 10);
        // Offset 1: 0-1 same community, 1-2 yes, 2-3 full. Offset 2: 0-2 (2 is now
        // full), 1-3 full. Offset 3: 0-3 full.
        let ties: Vec<(u32, u32)> = ends.iter().map(|e| (e.agent, e.neighbor)).collect();
        assert_eq!(ties, [(1, 2), (2, 1)]);
        assert_eq!(agents, 2);
        assert_eq!(
            ends,
            [
                NewEnd {
                    agent: 1,
                    slot: 1,
                    neighbor: 2,
                    last: 1
                },
                NewEnd {
                    agent: 2,
                    slot: 2,
                    neighbor: 1,
                    last: 1
                },
            ]
        );
        let (ends, _) = pair_pioneers(&pool, 3, 0);
        assert!(ends.is_empty(), "no budget, no tie");
    }
}
