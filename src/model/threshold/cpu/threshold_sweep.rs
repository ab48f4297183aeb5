//! CPU twin of `shaders/threshold_sweep.wgsl`: one synchronous sweep of the threshold rule, decided in integers.

use super::super::*;

#[inline]
pub(crate) fn activates(
    csr: &Csr,
    theta_pct: u32,
    s: u32,
    i: u32,
    activated_at: &[AtomicU32],
) -> bool {
    let nbrs = csr.neighbors(i);
    let k = nbrs.len() as u64;
    let m = nbrs
        .iter()
        .filter(|&&j| activated_at[j as usize].load(Relaxed) < s)
        .count() as u64;
    k > 0 && 100 * m >= theta_pct as u64 * k
}

/// Twin of `threshold_sweep.wgsl`, the reference semantics: every inactive agent is
/// examined. Returns how many activated in sweep `s`.
pub fn sweep(csr: &Csr, theta_pct: u32, s: u32, activated_at: &[AtomicU32]) -> u32 {
    (0..csr.n())
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&i| {
            if activated_at[i as usize].load(Relaxed) != NEVER
                || !activates(csr, theta_pct, s, i, activated_at)
            {
                return false;
            }
            activated_at[i as usize].store(s, Relaxed);
            true
        })
        .count() as u32
}
