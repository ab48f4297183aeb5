//! CPU twin of `shaders/lifecycle_psi_partial.wgsl` and `shaders/lifecycle_psi_final.wgsl`:
//! ψ, the adopters' mean direction, summed over fixed chunks.

use super::super::{Lifecycle, SUM_CHUNK};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `lifecycle_psi_partial` + `lifecycle_psi_final`: ψ = atan2(Σ sin φ, Σ cos φ)
    /// over the agents adopted during tick `self.tick + 1`, and their number n_a. ψ is 0
    /// (and unused) when n_a = 0.
    pub fn psi(&self) -> (f32, u32) {
        let t = self.tick + 1;
        let partial: Vec<(f32, f32, u32)> = self
            .phi
            .par_chunks(SUM_CHUNK)
            .zip(self.adopted_at.par_chunks(SUM_CHUNK))
            .map(|(phi, at)| {
                let (mut c, mut s, mut n) = (0.0f32, 0.0f32, 0u32);
                for (&p, &a) in phi.iter().zip(at) {
                    if a < t {
                        c += p.cos();
                        s += p.sin();
                        n += 1;
                    }
                }
                (c, s, n)
            })
            .collect();
        let (mut c, mut s, mut n) = (0.0f32, 0.0f32, 0u32);
        for (pc, ps, pn) in partial {
            c += pc;
            s += ps;
            n += pn;
        }
        if n == 0 {
            (0.0, 0)
        } else {
            (s.atan2(c), n)
        }
    }
}
