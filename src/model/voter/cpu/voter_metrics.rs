//! CPU twin of `shaders/voter_metrics.wgsl`: discordant ties, the largest group and the opinions held.

use super::super::*;

/// Twin of `voter_metrics.wgsl`: (discordant ties, largest group, opinions held).
pub fn metrics(v: &Voter, opinions: u32) -> (u64, u32, u32) {
    let k = v.ties.slots as usize;
    let discordant: u64 = (0..v.ties.n)
        .into_par_iter()
        .map(|i| {
            let row = &v.ties.neighbor[i as usize * k..][..v.ties.degree[i as usize] as usize];
            let g = v.opinion[i as usize];
            row.iter()
                .filter(|&&j| j > i && v.opinion[j as usize] != g)
                .count() as u64
        })
        .sum();
    let c = count(&v.opinion, opinions);
    let largest = c.iter().copied().max().unwrap_or(0);
    let held = c.iter().filter(|&&x| x > 0).count() as u32;
    (discordant, largest, held)
}
