//! CPU twin of `shaders/sir_step.wgsl`: one tick of transmissions, then recoveries, from the state at its start.

use super::super::*;

/// Twin of `sir_step.wgsl`: tick `t` from the state at its start. Returns the new
/// infections and recoveries, already applied.
pub fn step(
    csr: &Csr,
    params: &SirParams,
    t: u32,
    infected_at: &mut [u32],
    recovered_at: &mut [u32],
) -> (u32, u32) {
    let infect_24 = rng::threshold_24(params.infection);
    let recover_24 = rng::threshold_24(params.recovery);
    let (inf, rec) = (&*infected_at, &*recovered_at);
    // Decide everything from the state at the start of the tick, then apply.
    let events: Vec<(u32, bool)> = (0..csr.n())
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|i| {
            let at = inf[i as usize];
            if at == NEVER {
                let infected = csr.neighbors(i).iter().enumerate().any(|(k, &j)| {
                    inf[j as usize] < t
                        && rec[j as usize] >= t
                        && (rng::rand(params.seed, t, i, rng::stream::INFECT | ((k as u32) << 8))
                            >> 8)
                            < infect_24
                });
                infected.then_some((i, true))
            } else if at < t && rec[i as usize] == NEVER {
                let x = rng::rand(params.seed, t, i, rng::stream::RECOVER);
                ((x >> 8) < recover_24).then_some((i, false))
            } else {
                None
            }
        })
        .collect();
    let (mut new, mut recovered) = (0, 0);
    for (i, infection) in events {
        if infection {
            infected_at[i as usize] = t;
            new += 1;
        } else {
            recovered_at[i as usize] = t;
            recovered += 1;
        }
    }
    (new, recovered)
}
