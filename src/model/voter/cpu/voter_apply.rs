//! CPU twin of `shaders/voter_apply.wgsl`: the moves that won every claim are made.

use super::super::*;

/// Twin of `voter_apply.wgsl`: make the moves that won all their claims. Returns
/// (adoptions, rewires).
pub fn apply(v: &mut Voter, p: &VoterParams, t: u32, moves: &[Move], claim: &[u32]) -> (u32, u32) {
    let k = v.ties.slots as usize;
    let won: Vec<u32> = (0..v.ties.n)
        .into_par_iter()
        .filter(|&i| {
            let m = moves[i as usize];
            let prio = move_priority(p.seed, t, i);
            m.kind != MOVE_NONE
                && claim[i as usize] == prio
                && claim[m.j as usize] == prio
                && (m.l == NONE || claim[m.l as usize] == prio)
        })
        .collect();
    // The winners touch disjoint agents, so applying them in any order is the same.
    let (mut adoptions, mut rewires) = (0, 0);
    for i in won {
        let m = moves[i as usize];
        if m.kind == MOVE_ADOPT {
            v.opinion[i as usize] = v.opinion[m.j as usize];
            adoptions += 1;
        } else {
            let ties = &mut v.ties;
            ties.neighbor[i as usize * k + m.slot as usize] = m.l;
            let jrow = m.j as usize * k;
            let last = ties.degree[m.j as usize] as usize - 1;
            if let Some(at) = ties.neighbor[jrow..=jrow + last]
                .iter()
                .position(|&x| x == i)
            {
                ties.neighbor[jrow + at] = ties.neighbor[jrow + last];
                ties.neighbor[jrow + last] = EMPTY;
                ties.weight[jrow + last] = 0.0;
                ties.age[jrow + last] = 0;
            }
            ties.degree[m.j as usize] = last as u32;
            let dl = ties.degree[m.l as usize] as usize;
            ties.neighbor[m.l as usize * k + dl] = i;
            ties.weight[m.l as usize * k + dl] = 1.0;
            ties.degree[m.l as usize] += 1;
            rewires += 1;
        }
    }
    (adoptions, rewires)
}
