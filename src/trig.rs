//! Sine, cosine and the natural logarithm in f32 for the CPU backend's hot loops: no
//! branches and no library call, so a loop over a slice of angles (or of uniform draws)
//! vectorises and each costs a few multiply-adds instead of calls into libm.
//!
//! The reduction subtracts the nearest multiple of π/2 in three parts (Cody–Waite), exact
//! for the angles the models produce (differences of phases in [0, 2π), well under the
//! 2^16·π/2 where the first part stops being exact); the polynomials are the classic
//! minimax fits on [−π/4, π/4] (Cephes `sinf`/`cosf`). Errors stay within about 2 ulp of
//! the true value, the accuracy of libm's f32 functions and well inside the 2^-11 that
//! WGSL promises the GPU backend (DESIGN §3.4). The logarithm splits off the binary
//! exponent by bit operations and fits the mantissa with Cephes `logf`'s polynomial.
//! Every operation is a plain IEEE add or multiply, never fused, so the result is the same
//! bit pattern on every x86-64 and ARM machine, whatever vector width the compiler picks.

/// 2/π.
const FRAC_2_PI: f32 = std::f32::consts::FRAC_2_PI;
/// π/2 = PIO2_1 + PIO2_2 + PIO2_3; PIO2_1 has 8 significant bits, so q·PIO2_1 is exact.
const PIO2_1: f32 = 1.570_312_5;
const PIO2_2: f32 = 4.837_513e-4;
const PIO2_3: f32 = 7.549_79e-8;
/// 1.5·2^23: adding and subtracting it rounds an f32 below 2^22 to the nearest integer
/// (ties to even) without a rounding instruction, which SSE2 lacks.
const ROUND_MAGIC: f32 = 12_582_912.0;

const S1: f32 = -1.666_665_5e-1;
const S2: f32 = 8.332_161e-3;
const S3: f32 = -1.951_529_6e-4;
const C1: f32 = 4.166_664_6e-2;
const C2: f32 = -1.388_731_6e-3;
const C3: f32 = 2.443_315_7e-5;

/// x reduced to [−π/4, π/4], and the quadrant (the multiple of π/2 taken off) in the low
/// bits of the second value: adding ROUND_MAGIC leaves the rounded integer in the low
/// bits of the mantissa, so no float-to-integer conversion is needed.
#[inline(always)]
fn reduce(x: f32) -> (f32, u32) {
    let m = x * FRAC_2_PI + ROUND_MAGIC;
    let q = m - ROUND_MAGIC;
    let r = ((x - q * PIO2_1) - q * PIO2_2) - q * PIO2_3;
    (r, m.to_bits())
}

#[inline(always)]
fn poly_sin(r: f32, z: f32) -> f32 {
    ((S3 * z + S2) * z + S1) * z * r + r
}

#[inline(always)]
fn poly_cos(z: f32) -> f32 {
    ((C3 * z + C2) * z + C1) * z * z - 0.5 * z + 1.0
}

/// `a` where the quadrant is even, `b` where it is odd, by masks (a vector blend).
#[inline(always)]
fn pick(q: u32, a: f32, b: f32) -> u32 {
    let odd = 0u32.wrapping_sub(q & 1);
    (a.to_bits() & !odd) | (b.to_bits() & odd)
}

/// (sin x, cos x) for |x| < 2^16 (the lifecycle's angles are within ±4π).
#[inline(always)]
pub fn sin_cos(x: f32) -> (f32, f32) {
    let (r, q) = reduce(x);
    let z = r * r;
    let (s, c) = (poly_sin(r, z), poly_cos(z));
    // Quadrant q: (sin, cos) = (s, c), (c, −s), (−s, −c), (−c, s).
    let sin = pick(q, s, c) ^ ((q & 2) << 30);
    let cos = pick(q, c, s) ^ ((q.wrapping_add(1) & 2) << 30);
    (f32::from_bits(sin), f32::from_bits(cos))
}

/// cos x for |x| < 2^16.
#[inline(always)]
pub fn cos(x: f32) -> f32 {
    let (r, q) = reduce(x);
    let z = r * r;
    f32::from_bits(pick(q, poly_cos(z), poly_sin(r, z)) ^ ((q.wrapping_add(1) & 2) << 30))
}

/// sin x for |x| < 2^16.
#[inline(always)]
pub fn sin(x: f32) -> f32 {
    sin_cos(x).0
}

/// √½, where the logarithm's mantissa switches from [½, √½) doubled to [√½, 1).
const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so e·LN2_HI is exact.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const L: [f32; 9] = [
    0.070_376_836,
    -0.115_146_1,
    0.116_769_984,
    -0.124_201_41,
    0.142_493_23,
    -0.166_680_57,
    0.200_007_14,
    -0.249_999_94,
    0.333_333_3,
];

/// ln x for a positive, finite, normal x (the uniform draws of `rng::uniform` and up):
/// x = m·2^e with m in [√½, √2), ln x = e·ln 2 + ln m, ln m from a polynomial in m − 1.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    // m in [½, 1) with the exponent e counted to match.
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let low = m < SQRT_HALF;
    let e = ((bits >> 23) as i32 - 126 - i32::from(low)) as f32;
    let f = if low { m + m } else { m } - 1.0;
    let z = f * f;
    let mut y = L[0];
    for c in &L[1..] {
        y = y * f + c;
    }
    let y = y * f * z + e * LN2_LO - 0.5 * z;
    (f + y) + e * LN2_HI
}
