//! CPU twin of `shaders/lifecycle_agents.wgsl`: alignment, knowledge and adoption of every
//! agent from the state at the start of the tick.

use super::super::{
    wrap, Lifecycle, LifecycleParams, FIELD_ADOPTED_SHARE, FIELD_GLOBAL, FIELD_TIES,
};
use crate::rng::{self, stream};
use crate::trig;
use rayon::prelude::*;

/// Agents per task. A block's live ties are gathered first and their sines and cosines
/// taken in one loop, which the compiler vectorises; then each agent sums its own in slot
/// order, so the sums are the same whatever the block size.
pub(crate) const BLOCK: usize = 256;

/// One task's gathered phase differences and their sines and cosines, kept across the
/// blocks it takes so the vectors grow once.
#[derive(Default)]
struct BlockScratch {
    diff: Vec<f32>,
    sc: Vec<(f32, f32)>,
}

impl Lifecycle {
    /// Twin of `lifecycle_agents`, tick `t`: alignment, knowledge and adoption of every
    /// agent from the state at the start of the tick (Jacobi). Returns how many agents
    /// adopted through the threshold rule alone (the cascade), not by mastery.
    pub fn agents(&mut self, p: &LifecycleParams, psi: f32, n_a: u32, t: u32) -> u64 {
        let n = self.n as usize;
        // The next state goes into the scratch buffers, swapped in at the end, so a tick
        // allocates nothing; every element is written before it is read.
        let mut next = std::mem::take(&mut self.scratch.next);
        next.phi.resize(n, 0.0);
        next.knowledge.resize(n, 0.0);
        next.adopted_at.resize(n, 0);
        let noise_amp = p.noise_amp();
        let nourished = &self.support.nourished[..];
        let nourish_factor = self.support.nourish_factor;
        let cascade = {
            let this = &*self;
            let ties = &this.ties;
            next.phi
                .par_chunks_mut(BLOCK)
                .zip(next.knowledge.par_chunks_mut(BLOCK))
                .zip(next.adopted_at.par_chunks_mut(BLOCK))
                .enumerate()
                .map_init(
                    BlockScratch::default,
                    |scratch, (b, ((phi_o, k_o), at_o))| {
                        let lo = b * BLOCK;
                        let hi = lo + phi_o.len();
                        let BlockScratch { diff, sc } = scratch;
                        diff.clear();
                        for i in lo..hi {
                            let phi_i = this.phi[i];
                            diff.extend(
                                ties.neighbors(i as u32)
                                    .iter()
                                    .map(|&j| this.phi[j as usize] - phi_i),
                            );
                        }
                        sc.clear();
                        sc.extend(diff.iter().map(|&x| trig::sin_cos(x)));
                        // The block's noise draws in one loop of its own: hashing, logarithm,
                        // square root and cosine, all branch-free, vectorise.
                        let mut xi = [0.0f32; BLOCK];
                        for (o, x) in xi[..hi - lo].iter_mut().enumerate() {
                            let r = rng::rand4(this.seed, t, (lo + o) as u32, stream::NOISE);
                            *x = rng::normal(r[0], r[1]);
                        }
                        let mut e = 0usize;
                        let mut cascade = 0u64;
                        for (o, i) in (lo..hi).enumerate() {
                            let phi_i = this.phi[i];
                            let k_i = this.knowledge[i];
                            let at_i = this.adopted_at[i];
                            let adopted = at_i < t;
                            let (mut w_sum, mut a_sum, mut p_sum, mut b_sum, mut b_pull) =
                                (0.0f32, 0.0, 0.0, 0.0, 0.0f32);
                            for (&j, &w) in
                                ties.neighbors(i as u32).iter().zip(ties.weights(i as u32))
                            {
                                w_sum += w;
                                let (sin_d, cos_d) = sc[e];
                                a_sum += w * sin_d;
                                p_sum += w * cos_d.max(0.0);
                                if this.adopted_at[j as usize] < t {
                                    b_sum += w;
                                    b_pull += w * sin_d;
                                }
                                e += 1;
                            }
                            let mut drive = this.omega[i]
                                + p.coupling * (1.0 + k_i.min(p.mastery)) * a_sum / w_sum.max(1.0);
                            if adopted {
                                drive += match p.field_mode {
                                    FIELD_GLOBAL if n_a > 0 => p.field * trig::sin(psi - phi_i),
                                    FIELD_ADOPTED_SHARE if n_a > 0 => {
                                        p.field
                                            * (n_a as f32 / this.n as f32)
                                            * trig::sin(psi - phi_i)
                                    }
                                    FIELD_TIES => p.field * b_pull / w_sum.max(1.0),
                                    _ => 0.0,
                                };
                            }
                            phi_o[o] = wrap(phi_i + p.dt * drive + noise_amp * xi[o]);
                            // A nourished agent learns at β times the intervention's factor.
                            let beta = if nourish_factor != 1.0 && nourished.get(i) == Some(&1) {
                                p.learning_rate * nourish_factor
                            } else {
                                p.learning_rate
                            };
                            k_o[o] = k_i
                                + p.dt
                                    * (beta * p_sum * p_sum / p.knowledge_norm
                                        - p.forgetting * k_i);
                            let masters = k_i >= p.mastery;
                            let follows = w_sum > 0.0 && b_sum >= p.theta * w_sum;
                            let adopts = !adopted && (masters || follows);
                            // Mastery comes first: only those who would not adopt by their own
                            // knowledge are the cascade's.
                            cascade += u64::from(adopts && !masters);
                            at_o[o] = if adopts { t } else { at_i };
                        }
                        cascade
                    },
                )
                .sum()
        };
        std::mem::swap(&mut self.phi, &mut next.phi);
        std::mem::swap(&mut self.knowledge, &mut next.knowledge);
        std::mem::swap(&mut self.adopted_at, &mut next.adopted_at);
        self.scratch.next = next;
        cascade
    }
}
