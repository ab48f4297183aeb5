//! Theory the simulations are checked against. The Gleeson–Cahalane (2007) recursion
//! gives the final active fraction of the Watts threshold cascade on a random graph
//! with Poisson degrees (Erdős–Rényi) from a seed fraction ρ0, with the same integer
//! activation rule as the model: m of k ties active suffice when 100·m ≥ θ_pct·k.

/// Poisson probabilities P(k) for k = 0..=k_max with k_max far in the tail.
fn poisson(z: f64) -> Vec<f64> {
    let k_max = (z + 20.0 * z.sqrt() + 20.0).ceil() as usize;
    let mut p = vec![0.0; k_max + 1];
    p[0] = (-z).exp();
    for k in 1..=k_max {
        p[k] = p[k - 1] * z / k as f64;
    }
    p
}

/// Probability that at least the threshold of `k` ties are active when each of `trials`
/// of them is independently active with probability `q` (the others inactive).
fn activates(k: usize, trials: usize, q: f64, theta_pct: u32) -> f64 {
    // Smallest m with 100·m ≥ θ_pct·k.
    let m_min = (theta_pct as usize * k).div_ceil(100);
    if m_min > trials {
        return 0.0;
    }
    if q <= 0.0 {
        return if m_min == 0 { 1.0 } else { 0.0 };
    }
    if q >= 1.0 {
        return 1.0;
    }
    // Binomial(trials, q) upper tail from m_min, each term from the last in log space.
    let (lq, lp) = (q.ln(), (1.0 - q).ln());
    let mut log_term = trials as f64 * lp; // m = 0
    let mut tail = 0.0;
    for m in 0..=trials {
        if m > 0 {
            log_term += ((trials - m + 1) as f64 / m as f64).ln() + lq - lp;
        }
        if m >= m_min {
            tail += log_term.exp();
        }
    }
    tail.min(1.0)
}

/// Final active fraction of the Watts cascade on an ER graph of mean degree `z`.
pub fn gleeson_cahalane(z: f64, theta_pct: u32, rho0: f64) -> f64 {
    let p = poisson(z);
    let mut q = rho0;
    for _ in 0..100_000 {
        // A tie's far end activates from its k − 1 other ties (the near end is inactive).
        let mut next = 0.0;
        for (k, &pk) in p.iter().enumerate().skip(1) {
            next += k as f64 * pk / z * activates(k, k - 1, q, theta_pct);
        }
        next = rho0 + (1.0 - rho0) * next;
        let done = (next - q).abs() < 1e-14;
        q = next;
        if done {
            break;
        }
    }
    let mut rho = 0.0;
    for (k, &pk) in p.iter().enumerate().skip(1) {
        rho += pk * activates(k, k, q, theta_pct);
    }
    rho0 + (1.0 - rho0) * rho
}

/// The seed fraction in `[lo, hi]` at which the cascade's final fraction jumps past
/// one half (a discontinuous transition), by bisection to `1e-7`.
pub fn critical_seed_fraction(z: f64, theta_pct: u32, lo: f64, hi: f64) -> Option<f64> {
    let big = |r: f64| gleeson_cahalane(z, theta_pct, r) > 0.5;
    if big(lo) || !big(hi) {
        return None;
    }
    let (mut a, mut b) = (lo, hi);
    while b - a > 1e-7 {
        let m = 0.5 * (a + b);
        if big(m) {
            b = m;
        } else {
            a = m;
        }
    }
    Some(0.5 * (a + b))
}

/// The giant component S = 1 − e^{−cS} of an ER graph of mean degree c (0 for c ≤ 1),
/// by fixed-point iteration from S = 1. Also the final size of a major SIR outbreak
/// with transmissibility T at c·T.
pub fn er_giant_component(c: f64) -> f64 {
    if c <= 1.0 {
        return 0.0;
    }
    let mut s = 1.0f64;
    for _ in 0..10_000 {
        let next = 1.0 - (-c * s).exp();
        if (next - s).abs() < 1e-15 {
            return next;
        }
        s = next;
    }
    s
}
