//! The CPU backend's sine and cosine (`emergence::trig`): within 2 ulp of the true value
//! over the range of angles the models produce, and `cos` the same bits as `sin_cos`.

use emergence::trig::{cos, sin, sin_cos};

/// Distance in units of the last place of the exact value (f64 rounded to f32). Results
/// smaller than 2^-16 are measured against the ulp of 2^-16 (1.8e-12): there the error is
/// absolute, from π/2's three-part split being short by 1.7e-15, times the quadrant
/// (2.5e-14 at x = −3π, 3.4 ulp of the tiny result there), far below any use of it.
fn ulps(got: f32, exact: f64) -> f64 {
    let e = (exact as f32).abs().max(2f32.powi(-16));
    let ulp = (f32::from_bits(e.to_bits() + 1) - e) as f64;
    (got as f64 - exact).abs() / ulp
}

#[test]
fn trig_within_two_ulp_over_the_models_range() {
    let (mut worst_s, mut worst_c) = (0.0f64, 0.0f64);
    let steps = 2_000_000u32;
    for k in 0..=steps {
        let x = (-4.0 * std::f64::consts::PI + 8.0 * std::f64::consts::PI * k as f64 / steps as f64)
            as f32;
        let (s, c) = sin_cos(x);
        worst_s = worst_s.max(ulps(s, (x as f64).sin()));
        worst_c = worst_c.max(ulps(c, (x as f64).cos()));
        assert_eq!(
            cos(x).to_bits(),
            c.to_bits(),
            "cos and sin_cos differ at {x}"
        );
        assert_eq!(
            sin(x).to_bits(),
            s.to_bits(),
            "sin and sin_cos differ at {x}"
        );
    }
    // The classic minimax fits are good to about 1 ulp; 2 allows the reduction's rounding.
    assert!(worst_s <= 2.0, "sin: {worst_s} ulp");
    assert!(worst_c <= 2.0, "cos: {worst_c} ulp");
}

#[test]
fn trig_at_the_quadrant_points() {
    assert_eq!(sin_cos(0.0), (0.0, 1.0));
    let (s, c) = sin_cos(std::f32::consts::FRAC_PI_2);
    assert!((s - 1.0).abs() <= f32::EPSILON && c.abs() < 1e-7, "{s} {c}");
    let (s, c) = sin_cos(-std::f32::consts::PI);
    assert!(s.abs() < 1e-7 && (c + 1.0).abs() <= f32::EPSILON, "{s} {c}");
    let (s, c) = sin_cos(3.0 * std::f32::consts::FRAC_PI_2);
    assert!((s + 1.0).abs() <= f32::EPSILON && c.abs() < 1e-6, "{s} {c}");
}

#[test]
fn ln_within_two_ulp_over_every_uniform_draw() {
    use emergence::rng::uniform;
    use emergence::trig::ln;
    // Every value `rng::uniform` can return (2^23 of them, the Box–Muller inputs), and
    // the powers of two and their neighbours up to 2^64, where the exponent split works.
    let mut worst = 0.0f64;
    let mut check = |x: f32| {
        let exact = (x as f64).ln();
        let e = (exact as f32).abs();
        let ulp = (f32::from_bits(e.to_bits() + 1) - e) as f64;
        let err = (ln(x) as f64 - exact).abs() / ulp;
        assert!(err <= 2.0, "ln({x}) = {}, exact {exact}: {err} ulp", ln(x));
        worst = worst.max(err);
    };
    for k in 0..1u32 << 23 {
        check(uniform(k << 9));
    }
    for p in -126..64 {
        let x = 2f32.powi(p);
        for y in [
            f32::from_bits(x.to_bits() - 1),
            x,
            f32::from_bits(x.to_bits() + 1),
        ] {
            if y != 1.0 && y.is_normal() {
                check(y);
            }
        }
    }
    assert!(worst > 0.0, "a check that measured nothing");
    assert_eq!(ln(1.0), 0.0);
}
