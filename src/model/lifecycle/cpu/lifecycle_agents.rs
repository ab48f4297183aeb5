//! CPU twin of `shaders/lifecycle_agents.wgsl`: alignment, knowledge and adoption of every
//! agent from the state at the start of the tick.

use super::super::{wrap, Lifecycle, LifecycleParams, MIN_LEN};
use crate::rng::{self, stream};
use rayon::prelude::*;

impl Lifecycle {
    /// Twin of `lifecycle_agents`, tick `t`: alignment, knowledge and adoption of every
    /// agent from the state at the start of the tick (Jacobi).
    pub fn agents(&mut self, p: &LifecycleParams, psi: f32, n_a: u32, t: u32) {
        let n = self.n as usize;
        let mut phi_next = vec![0.0f32; n];
        let mut k_next = vec![0.0f32; n];
        let mut at_next = vec![0u32; n];
        let noise_amp = p.noise_amp();
        {
            let this = &*self;
            phi_next
                .par_iter_mut()
                .zip(k_next.par_iter_mut())
                .zip(at_next.par_iter_mut())
                .enumerate()
                .with_min_len(MIN_LEN)
                .for_each(|(i, ((phi_o, k_o), at_o))| {
                    let phi_i = this.phi[i];
                    let k_i = this.knowledge[i];
                    let at_i = this.adopted_at[i];
                    let adopted = at_i < t;
                    let (mut w_sum, mut a_sum, mut p_sum, mut b_sum) = (0.0f32, 0.0, 0.0, 0.0);
                    let ties = &this.ties;
                    for (&j, &w) in ties.neighbors(i as u32).iter().zip(ties.weights(i as u32)) {
                        let (sin_d, cos_d) = (this.phi[j as usize] - phi_i).sin_cos();
                        w_sum += w;
                        a_sum += w * sin_d;
                        p_sum += w * cos_d.max(0.0);
                        if this.adopted_at[j as usize] < t {
                            b_sum += w;
                        }
                    }
                    let mut drive = this.omega[i]
                        + p.coupling * (1.0 + k_i.min(p.mastery)) * a_sum / w_sum.max(1.0);
                    if adopted && n_a > 0 {
                        drive += p.field * (psi - phi_i).sin();
                    }
                    let r = rng::rand4(this.seed, t, i as u32, stream::NOISE);
                    let xi = rng::normal(r[0], r[1]);
                    *phi_o = wrap(phi_i + p.dt * drive + noise_amp * xi);
                    *k_o = k_i
                        + p.dt
                            * (p.learning_rate * p_sum * p_sum / p.knowledge_norm
                                - p.forgetting * k_i);
                    let adopts =
                        !adopted && (k_i >= p.mastery || (w_sum > 0.0 && b_sum >= p.theta * w_sum));
                    *at_o = if adopts { t } else { at_i };
                });
        }
        self.phi = phi_next;
        self.knowledge = k_next;
        self.adopted_at = at_next;
    }
}
