//! Counter-based, stateless randomness: every draw is a pure function of
//! `(seed, tick, agent, stream)`, so any agent's draw can be made on any thread or
//! GPU invocation in any order and the run stays bit-identical. The same hash lives
//! in `shaders/shared/rng.wgsl`; known-answer tests pin both.

/// PCG hash of one word (Jarzynski & Olano 2020, "Hash Functions for GPU Rendering").
#[inline]
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// 4-D PCG hash: four words in, four well-mixed words out.
#[inline]
pub fn pcg4d(v: [u32; 4]) -> [u32; 4] {
    let [mut x, mut y, mut z, mut w] =
        v.map(|a| a.wrapping_mul(1_664_525).wrapping_add(1_013_904_223));
    x = x.wrapping_add(y.wrapping_mul(w));
    y = y.wrapping_add(z.wrapping_mul(x));
    z = z.wrapping_add(x.wrapping_mul(y));
    w = w.wrapping_add(y.wrapping_mul(z));
    x ^= x >> 16;
    y ^= y >> 16;
    z ^= z >> 16;
    w ^= w >> 16;
    x = x.wrapping_add(y.wrapping_mul(w));
    y = y.wrapping_add(z.wrapping_mul(x));
    z = z.wrapping_add(x.wrapping_mul(y));
    w = w.wrapping_add(y.wrapping_mul(z));
    [x, y, z, w]
}

/// The four random words of `(seed, tick, agent, stream)`. The argument order into
/// the hash is fixed here and in WGSL: (agent, tick, seed, stream).
#[inline]
pub fn rand4(seed: u32, tick: u32, agent: u32, stream: u32) -> [u32; 4] {
    pcg4d([agent, tick, seed, stream])
}

/// One random word of `(seed, tick, agent, stream)`.
#[inline]
pub fn rand(seed: u32, tick: u32, agent: u32, stream: u32) -> u32 {
    rand4(seed, tick, agent, stream)[0]
}

/// Uniform float in (0, 1) from the top 23 bits: `((x >> 9) + 0.5) · 2^-23`. Exact in
/// f32 and never 0 (so Box–Muller's log never sees 0) nor 1; with 24 bits the `+ 0.5`
/// would be rounded away at the top and 1.0 could come out.
#[inline]
pub fn uniform(x: u32) -> f32 {
    ((x >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Integer threshold for a probability `p`: `(x >> 8) < threshold_24(p)` happens with
/// probability `p` (to 2^-24) and is decided identically on every backend.
pub fn threshold_24(p: f64) -> u32 {
    (p.clamp(0.0, 1.0) * 16_777_216.0).round() as u32
}

/// Standard normal draw by Box–Muller from two words. The logarithm and cosine are
/// `crate::trig`'s (within 2 ulp of libm's, the same bits on every machine), so a loop of
/// draws vectorises; the GPU's draws, through WGSL's `log` and `cos`, agree within 2^-10
/// (tests/rng.rs).
#[inline(always)]
pub fn normal(x: u32, y: u32) -> f32 {
    let u1 = uniform(x);
    let u2 = uniform(y);
    (-2.0 * crate::trig::ln(u1)).sqrt() * crate::trig::cos(std::f32::consts::TAU * u2)
}

/// Streams: one per purpose, so that draws for different purposes never coincide. Every
/// WGSL kernel gets this same table as `const STREAM_<NAME>: u32 = <id>u;` (the prelude of
/// [`crate::gpu::shaders`]), so host and device cannot disagree on an id. Ids stay below
/// 256: kernels may put a slot index in the bits above (`STREAM_INFECT | (slot << 8u)`).
pub mod stream {
    macro_rules! streams {
        ($($(#[$doc:meta])* $name:ident = $id:literal;)*) => {
            $($(#[$doc])* pub const $name: u32 = $id;)*

            /// Every stream as (name, id), in the order declared: the table the WGSL
            /// prelude is generated from.
            pub const ALL: &[(&str, u32)] = &[$((stringify!($name), $name)),*];
        };
    }

    streams! {
        SEED_ACTIVE = 1;
        GRAPH = 2;
        GRAPH_AUX = 3;
        LAYOUT = 4;
        /// lifecycle: initial phases.
        PHI_INIT = 10;
        /// lifecycle: self-interest drifts ω.
        OMEGA = 11;
        /// lifecycle: phase noise ξ of each tick.
        NOISE = 12;
        /// lifecycle: whether, how and where an agent searches for a tie.
        SEARCH = 13;
        /// lifecycle: the tick's priority key of the tie handshake (agent 0 only).
        SEARCH_KEY = 14;
        /// lifecycle metrics: the wedge each agent samples for the clustering.
        WEDGE = 15;
        /// lifecycle metrics: label-propagation salts (one per round).
        LPA = 16;
        /// lifecycle metrics: the stub matching of the degree-preserving null graph.
        NULL_REWIRE = 17;
        /// lifecycle metrics: the label permutation within components (alignment null)
        /// and the null graph's label-propagation salts.
        NULL_PERMUTE = 18;
        /// interventions: each action's own draws (the intervention's index in bits 8 and
        /// up), so one that touches nothing changes no other draw.
        INTERVENTION = 19;
        /// sir: transmissions (one word per susceptible agent and neighbour slot).
        INFECT = 20;
        /// sir: recoveries.
        RECOVER = 21;
        /// sir: which agents start infected (agent 0 only).
        SIR_SEED = 22;
        /// deffuant: the tick's matching (agent 0: the permutation keys; per agent: tie
        /// priorities).
        MATCH = 23;
        /// deffuant: initial opinions.
        OPINION_INIT = 24;
        /// voter: initial opinions.
        VOTER_INIT = 25;
        /// voter: each agent's planned move (rewire or adopt, which tie, which target).
        VOTER_MOVE = 26;
        /// voter: the tick's priority key (agent 0 only).
        VOTER_KEY = 27;
        /// kuramoto: initial phases.
        KURAMOTO_PHASE = 28;
        /// kuramoto: the permutation that deals the frequency quantiles to agents.
        KURAMOTO_FREQ = 29;
        /// kuramoto: the start vector of the power iteration for λ_max.
        POWER_START = 30;
        /// lifecycle, while an `illuminate` intervention lasts: whether a random search
        /// is steered to a pioneer, and to which.
        ILLUMINATE = 31;
    }
}

/// A random permutation of `0..n` that can be evaluated at one index, forwards or
/// backwards, in O(1) expected time: a 4-round balanced Feistel network on the smallest
/// even number of bits that holds `n`, with cycle walking to stay inside `0..n`. The
/// same function lives in `shaders/shared/permute.wgsl`. `keys` are four random words.
#[derive(Debug, Clone, Copy)]
pub struct Permutation {
    pub n: u32,
    pub half_bits: u32,
    pub keys: [u32; 4],
}

impl Permutation {
    pub fn new(n: u32, keys: [u32; 4]) -> Self {
        let bits = 32 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        Permutation { n, half_bits, keys }
    }

    #[inline]
    fn round(&self, r: u32, k: u32) -> u32 {
        pcg(r ^ k) & ((1u32 << self.half_bits) - 1)
    }

    #[inline]
    fn feistel(&self, x: u32) -> u32 {
        let mask = (1u32 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys {
            let t = l ^ self.round(r, k);
            l = r;
            r = t;
        }
        (l << self.half_bits) | r
    }

    #[inline]
    fn feistel_inv(&self, x: u32) -> u32 {
        let mask = (1u32 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys.iter().rev() {
            let t = r ^ self.round(l, *k);
            r = l;
            l = t;
        }
        (l << self.half_bits) | r
    }

    /// Where index `i` goes.
    #[inline]
    pub fn apply(&self, i: u32) -> u32 {
        let mut x = self.feistel(i);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }

    /// The index that goes to `p`.
    #[inline]
    pub fn invert(&self, p: u32) -> u32 {
        let mut x = self.feistel_inv(p);
        while x >= self.n {
            x = self.feistel_inv(x);
        }
        x
    }
}
