//! CPU twin of `shaders/power_step.wgsl`: one step of the power iteration, y = A x / ||x||.

use super::super::*;

/// Twin of `power_step.wgsl`: y = A x / ||x||.
pub fn power_step(csr: &Csr, x: &[f32], x_norm: f32, y: &mut [f32]) {
    y.par_iter_mut().enumerate().for_each(|(i, out)| {
        let mut sum = 0.0f32;
        for &j in csr.neighbors(i as u32) {
            sum += x[j as usize];
        }
        *out = sum / x_norm;
    });
}
