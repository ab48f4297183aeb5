//! CPU twin of `shaders/voter_plan.wgsl`: every agent with ties plans its move and claims the agents it touches.

use super::super::*;

pub(crate) fn move_priority(seed: u32, t: u32, i: u32) -> u32 {
    rng::pcg(i ^ rng::rand(seed, t, 0, rng::stream::VOTER_KEY))
}

/// Twin of `voter_plan.wgsl`: every agent's move in tick `t` and its claims.
pub fn plan(
    v: &Voter,
    p: &VoterParams,
    t: u32,
    counts: &[u32],
    start: &[u32],
    members: &[u32],
) -> (Vec<Move>, Vec<u32>) {
    let n = v.ties.n;
    let k = v.ties.slots as usize;
    let rewire_24 = rng::threshold_24(p.rewiring);
    let (scan, draws) = (scan_below(n), max_draws(n));
    let claim: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let moves: Vec<Move> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let deg = v.ties.degree[i as usize];
            if deg == 0 {
                return NO_MOVE;
            }
            let r = rng::rand4(p.seed, t, i, rng::stream::VOTER_MOVE);
            let row = &v.ties.neighbor[i as usize * k..i as usize * k + deg as usize];
            let s = r[1] % deg;
            let j = row[s as usize];
            let g = v.opinion[i as usize];
            let prio = move_priority(p.seed, t, i);
            let held = counts[g as usize];
            let l = if held >= 2 && held < scan {
                let first = start[g as usize] as usize;
                members[first..first + held as usize]
                    .iter()
                    .copied()
                    .filter(|&a| a != i)
                    .min_by_key(|&a| rng::pcg(a ^ r[2]))
            } else if held >= 2 {
                (1..=draws)
                    .map(|d| rng::rand(p.seed, t, i, rng::stream::VOTER_MOVE | (d << 8)) % n)
                    .find(|&a| a != i && v.opinion[a as usize] == g)
            } else {
                None
            };
            claim[i as usize].fetch_max(prio, Relaxed);
            claim[j as usize].fetch_max(prio, Relaxed);
            if let Some(l) = l {
                claim[l as usize].fetch_max(prio, Relaxed);
            }
            let l_id = l.unwrap_or(NONE);
            if (r[0] >> 8) < rewire_24 {
                match l {
                    Some(l) if v.ties.degree[l as usize] < v.ties.slots => Move {
                        kind: MOVE_REWIRE,
                        j,
                        l,
                        slot: s,
                    },
                    _ => NO_MOVE,
                }
            } else if v.opinion[j as usize] != g {
                Move {
                    kind: MOVE_ADOPT,
                    j,
                    l: l_id,
                    slot: s,
                }
            } else {
                NO_MOVE
            }
        })
        .collect();
    (
        moves,
        claim.into_iter().map(AtomicU32::into_inner).collect(),
    )
}
