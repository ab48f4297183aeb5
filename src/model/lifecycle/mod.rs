//! The lifecycle model, the flagship: isolated local efforts connect into networks,
//! harden into communities of practice and suddenly become a system of influence
//! (Wheatley & Frieze 2006). Agents carry a purpose angle φ, a self-interest drift ω,
//! knowledge k and the tick they adopted; their ties (a [`TieStore`]) grow when both ends
//! point the same way and fade otherwise, and a propose → confirm → commit handshake adds
//! at most one tie per agent and tick.
//!
//! Each pass here is the CPU twin of one GPU kernel (named after it) and the reference
//! semantics written out in `docs/lifecycle.md`: same random streams, same integer
//! probability tests, the same f32 formulas evaluated in the same order, pair quantities
//! computed from the canonical operands (a, b) = (min, max) so both ends agree bit for
//! bit. All passes are parallel and deterministic: per-agent outputs, integer atomics only
//! where the result is order-independent (`fetch_min`), and float sums over fixed chunks
//! combined in a fixed order.

mod cpu;
pub mod gpu;
mod sim;
mod traffic;

pub use sim::{run, LifecycleModel, LifecycleSim};

use crate::analysis::community_tracker::{self, CommunityTracker};
use crate::analysis::{clustering, communities, components, nulls};
use crate::config::{LifecycleConfig, Scenario};
use crate::graph::TieStore;
use crate::io::MetricsTable;
use crate::profile::PassTimes;
use crate::rng::{self, stream};
use rayon::prelude::*;
use std::f32::consts::TAU;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

/// `adopted_at` of an agent that has not adopted.
pub const NEVER: u32 = u32::MAX;
/// `params.field_mode`: the pull towards ψ of every adopter (h·sin(ψ − φ)).
pub const FIELD_GLOBAL: u32 = 0;
/// `params.field_mode`: that pull scaled by the adopted share (h·ρ·sin(ψ − φ)).
pub const FIELD_ADOPTED_SHARE: u32 = 1;
/// `params.field_mode`: the pull through ties to adopters only.
pub const FIELD_TIES: u32 = 2;
/// No target / no partner in the handshake.
pub const NONE: u32 = u32::MAX;
/// Agents per chunk of the deterministic float sums (ψ and the metrics). Chunks are summed
/// sequentially and the chunk sums combined in chunk order, so the result does not depend
/// on how rayon splits the work.
pub const SUM_CHUNK: usize = 1024;
/// Agents per rayon task in the per-agent passes.
pub(crate) const MIN_LEN: usize = 512;

/// The ratios of the metrics row that are undefined (NaN) without ties or wedges.
const RATIO_COLUMNS: [&str; 4] = [
    "strong_ties",
    "clustering",
    "clustering_ratio",
    "modularity",
];

/// The columns whose value may be undefined (NaN) at a row: ratios over ties or
/// wedges when there are none, and the same-graph nulls on rows without a null sample.
pub const UNDEFINED_COLUMNS: [&str; 11] = join(RATIO_COLUMNS, NULL_VALUES, []);

/// The columns of the metrics row the kernels reduce ([`Lifecycle::metrics`] on the CPU,
/// `GpuLifecycle::metrics` on the GPU).
pub const BASE_COLUMNS: [&str; 13] = [
    "tick",
    "mean_degree",
    "s1",
    "churn",
    "strong_ties",
    "clustering",
    "clustering_ratio",
    "communities",
    "modularity",
    "alignment",
    "community_alignment",
    "adoption",
    "knowledge",
];

/// The values of a null sample ([`Lifecycle::null_row`] after its `null_sampled` flag).
const NULL_VALUES: [&str; 7] = [
    "clustering_null",
    "modularity_null",
    "community_alignment_null",
    "knowledge_growth_inside",
    "knowledge_growth_outside",
    "knowledge_growth_matched",
    "lpa_unsettled",
];

/// The same-graph nulls and the knowledge comparison ([`Lifecycle::null_row`]), computed
/// on the host from the state every `model.null_every` rows: `null_sampled` (1 on those
/// rows, 0 on the others) and [`NULL_VALUES`] (NaN on the other rows).
pub const NULL_COLUMNS: [&str; 8] = join(["null_sampled"], NULL_VALUES, []);

/// Metrics columns of a lifecycle run: [`BASE_COLUMNS`], `components_converged` (1 when
/// the connected components were complete: always on the CPU, within the GPU's fixed
/// rounds otherwise), `adoption_by_cascade` (the share of agents that adopted through
/// the threshold rule, not by mastery: fixed once everyone has adopted, the order
/// parameter of the lifecycle's scaling study), then [`NULL_COLUMNS`].
pub const COLUMNS: [&str; 23] = join(
    BASE_COLUMNS,
    ["components_converged", "adoption_by_cascade"],
    NULL_COLUMNS,
);

/// Three column lists as one (the lengths must add up, checked when compiling).
const fn join<const A: usize, const B: usize, const C: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
    c: [&'static str; C],
) -> [&'static str; N] {
    assert!(A + B + C == N, "the column lists' lengths must add up");
    let mut out = [""; N];
    let mut k = 0;
    while k < A {
        out[k] = a[k];
        k += 1;
    }
    while k < A + B {
        out[k] = b[k - A];
        k += 1;
    }
    while k < N {
        out[k] = c[k - A - B];
        k += 1;
    }
    out
}

/// Label-propagation rounds on the null graph, from a cold start, at most (it stops once
/// a round changes no label). The null's modularity still creeps up past 16 rounds, by
/// ≈ 0.015 up to 32 at N = 10^5 (docs/stages.md): far below the margin it is compared with,
/// at half the cost.
pub const NULL_LPA_ROUNDS: u32 = 16;

/// The model's parameters as the passes use them (f32, like the GPU's uniforms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifecycleParams {
    /// K0, alignment coupling.
    pub coupling: f32,
    /// D, phase noise.
    pub noise: f32,
    /// h, pull of adopters towards ψ.
    pub field: f32,
    /// σ, sd of the drift ω.
    pub drift_sd: f32,
    /// β, knowledge gain.
    pub learning_rate: f32,
    /// κ, knowledge decay.
    pub forgetting: f32,
    /// n_k, normalisation of the knowledge gain.
    pub knowledge_norm: f32,
    /// k*, mastery: adoption by knowledge and the cap of the coupling boost.
    pub mastery: f32,
    /// θ, adoption threshold on the adopted share of tie weight.
    pub theta: f32,
    /// α, growth of aligned ties.
    pub tie_gain: f32,
    /// λ, cost of every tie.
    pub tie_cost: f32,
    /// p_s, search rate per unit time.
    pub search_rate: f32,
    /// q, share of searches through a friend of a friend.
    pub closure: f32,
    /// w*, weight of a strong tie.
    pub strong_tie: f32,
    /// w0, weight of a new tie.
    pub new_tie: f32,
    pub dt: f32,
    /// K, tie slots per agent.
    pub slots: u32,
    /// Label-propagation rounds per metrics row.
    pub lpa_rounds: u32,
    /// `model.field_mode` as [`crate::config::FieldMode::code`]: 0 global, 1 adopted
    /// share, 2 through ties.
    pub field_mode: u32,
    /// Metrics rows between two same-graph null samples (0: never).
    pub null_every: u32,
}

impl Default for LifecycleParams {
    /// The defaults of `docs/lifecycle.md` (those of [`crate::config::LifecycleConfig`] and
    /// `graph.slots`, K = 24).
    fn default() -> Self {
        LifecycleParams::from_config(&Scenario::default())
    }
}

impl LifecycleParams {
    /// The parameters of a (validated) scenario: `[model]` and `graph.slots`.
    pub fn from_config(s: &Scenario) -> LifecycleParams {
        // A scenario of another model gives the lifecycle's defaults.
        let m = LifecycleConfig::of(&s.model);
        LifecycleParams {
            coupling: m.coupling as f32,
            noise: m.noise as f32,
            field: m.field as f32,
            drift_sd: m.drift_sd as f32,
            learning_rate: m.learning_rate as f32,
            forgetting: m.forgetting as f32,
            knowledge_norm: m.knowledge_norm as f32,
            mastery: m.mastery as f32,
            theta: m.theta as f32,
            tie_gain: m.tie_gain as f32,
            tie_cost: m.tie_cost as f32,
            search_rate: m.search_rate as f32,
            closure: m.closure as f32,
            strong_tie: m.strong_tie as f32,
            new_tie: m.new_tie as f32,
            dt: m.dt as f32,
            slots: s.graph.slots as u32,
            lpa_rounds: m.lpa_rounds,
            field_mode: m.field_mode.code(),
            null_every: m.null_every,
        }
    }

    /// Integer cut of the search test: an agent searches when `(r.x >> 8) < search_cut`.
    /// Computed in f64 from the f32 parameters, so every backend derives the same integer.
    pub fn search_cut(&self) -> u32 {
        rng::threshold_24(self.search_rate as f64 * self.dt as f64)
    }

    /// Integer cut of the closure test: `(r.y >> 8) < closure_cut` searches through a
    /// friend of a friend.
    pub fn closure_cut(&self) -> u32 {
        rng::threshold_24(self.closure as f64)
    }

    /// Amplitude of the phase noise per tick, `sqrt(2·D·dt)`, evaluated in f32.
    pub fn noise_amp(&self) -> f32 {
        (2.0 * self.noise * self.dt).sqrt()
    }
}

/// `x − 2π·floor(x / 2π)`, in f32 as on the GPU; a result that rounds up to 2π (x just
/// below a multiple of 2π) becomes 0, so φ stays in [0, 2π).
#[inline]
pub fn wrap(x: f32) -> f32 {
    let y = x - TAU * floor(x / TAU);
    if y >= TAU {
        0.0
    } else {
        y
    }
}

/// `v.floor()` for |v| < 2^31, bit for bit, without the library call that `floor`
/// compiles to where the target lacks a rounding instruction (x86-64's baseline, SSE2).
#[inline(always)]
fn floor(v: f32) -> f32 {
    let t = v as i32 as f32;
    if t > v {
        t - 1.0
    } else {
        t
    }
}

/// cos(φ_b − φ_a) with (a, b) = (min, max) of the pair: both ends of a tie evaluate
/// exactly the same expression, so they agree to the bit without talking to each other.
#[inline]
pub fn pair_cos(phi: &[f32], i: u32, j: u32) -> f32 {
    let (a, b) = (i.min(j), i.max(j));
    crate::trig::cos(phi[b as usize] - phi[a as usize])
}

/// The tick's priority key of agent `i` in the handshake: `pcg(i ^ key_t)`, a bijection
/// of `i`, so no two agents share a key.
#[inline]
pub fn search_key(key_t: u32, i: u32) -> u32 {
    rng::pcg(i ^ key_t)
}

/// The salt of tick `t`'s keys.
#[inline]
pub fn key_salt(seed: u32, t: u32) -> u32 {
    rng::rand4(seed, t, 0, stream::SEARCH_KEY)[0]
}

/// The whole state of a lifecycle run.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    pub n: u32,
    pub seed: u32,
    /// Ticks completed (the state is that at the end of tick `tick`).
    pub tick: u32,
    /// Purpose angle φ in [0, 2π).
    pub phi: Vec<f32>,
    /// Self-interest drift ω.
    pub omega: Vec<f32>,
    /// Knowledge k.
    pub knowledge: Vec<f32>,
    /// Tick of adoption, or [`NEVER`]; agent j counts as adopted during tick t when
    /// `adopted_at[j] < t`.
    pub adopted_at: Vec<u32>,
    /// Community labels of label propagation, warm-started from row to row.
    pub labels: Vec<u32>,
    pub ties: TieStore,
    /// Ties created since the last metrics row.
    pub created: u64,
    /// Ties removed since the last metrics row.
    pub removed: u64,
    /// Ties created since tick 0.
    pub created_total: u64,
    /// Ties removed since tick 0.
    pub removed_total: u64,
    /// Agents that adopted through the threshold rule alone (the cascade, not mastery)
    /// since tick 0.
    pub cascade_total: u64,
    /// What an `illuminate` or `nourish` intervention set for its duration (nothing by
    /// default).
    pub support: Support,
    /// Buffers the CPU tick reuses; not part of the state.
    pub(crate) scratch: TickScratch,
}

/// What the interventions that last a while set (docs/interventions.md): the pioneers a
/// share of random searches is steered to (`illuminate`), and the agents whose learning
/// is raised (`nourish`). The default steers nothing and raises nothing, and leaves
/// every pass bit for bit as without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Support {
    /// The share of random searches steered to a pioneer, as the 24-bit cut of
    /// [`rng::threshold_24`] (0: none).
    pub illuminate_cut: u32,
    /// The pioneers searches are steered to (empty: none).
    pub pioneers: Vec<u32>,
    /// The factor on the learning rate β of nourished agents (1: none).
    pub nourish_factor: f32,
    /// 1 for an agent whose learning is raised, per agent (empty: none).
    pub nourished: Vec<u32>,
}

impl Default for Support {
    fn default() -> Self {
        Support {
            illuminate_cut: 0,
            pioneers: Vec::new(),
            nourish_factor: 1.0,
            nourished: Vec::new(),
        }
    }
}

impl Support {
    /// Whether searches are steered: a cut above 0 and someone to steer them to.
    pub fn illuminates(&self) -> bool {
        self.illuminate_cut > 0 && !self.pioneers.is_empty()
    }

    /// Whether some agent's learning is raised.
    pub fn nourishes(&self) -> bool {
        !self.nourished.is_empty()
    }
}

/// Buffers the CPU tick writes into and keeps from tick to tick, so that no pass
/// allocates: the agents pass's next state (swapped with the current one) and the search
/// handshake's targets, claims and partners. Every element is written before it is read,
/// so what they hold is not state: two states compare equal, and clone, without it.
#[derive(Default)]
pub(crate) struct TickScratch {
    pub(crate) next: NextState,
    pub(crate) search: SearchScratch,
}

/// The agents pass's output arrays.
#[derive(Default)]
pub(crate) struct NextState {
    pub(crate) phi: Vec<f32>,
    pub(crate) knowledge: Vec<f32>,
    pub(crate) adopted_at: Vec<u32>,
}

/// The search handshake's per-agent words.
#[derive(Default)]
pub(crate) struct SearchScratch {
    pub(crate) target: Vec<u32>,
    pub(crate) claim: Vec<AtomicU32>,
    pub(crate) partner: Vec<AtomicU32>,
}

impl Clone for TickScratch {
    fn clone(&self) -> Self {
        TickScratch::default()
    }
}

impl PartialEq for TickScratch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for TickScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TickScratch")
    }
}

impl Lifecycle {
    /// The state at tick 0: φ uniform on the circle, ω ~ N(0, σ²), no knowledge, nobody
    /// adopted, every agent its own community, and the given ties.
    pub fn new(n: u32, seed: u32, params: &LifecycleParams, ties: TieStore) -> Lifecycle {
        assert_eq!(ties.n, n, "the tie store must hold n agents");
        assert_eq!(ties.slots, params.slots, "the tie store must have K slots");
        let phi = (0..n)
            .into_par_iter()
            .with_min_len(MIN_LEN)
            .map(|i| TAU * rng::uniform(rng::rand4(seed, 0, i, stream::PHI_INIT)[0]))
            .collect();
        let omega = (0..n)
            .into_par_iter()
            .with_min_len(MIN_LEN)
            .map(|i| {
                let r = rng::rand4(seed, 0, i, stream::OMEGA);
                params.drift_sd * rng::normal(r[0], r[1])
            })
            .collect();
        Lifecycle {
            n,
            seed,
            tick: 0,
            phi,
            omega,
            knowledge: vec![0.0; n as usize],
            adopted_at: vec![NEVER; n as usize],
            labels: (0..n).collect(),
            ties,
            created: 0,
            removed: 0,
            created_total: 0,
            cascade_total: 0,
            removed_total: 0,
            support: Support::default(),
            scratch: TickScratch::default(),
        }
    }

    /// A state of no agents, held while the real one is inside a simulation.
    pub(crate) fn placeholder(p: &LifecycleParams) -> Lifecycle {
        Lifecycle::new(0, 0, p, TieStore::empty(0, p.slots))
    }

    /// One tick: ψ, agents, tie weights, then the search handshake on the updated ties.
    pub fn step(&mut self, p: &LifecycleParams) {
        self.steps(p, 1, None);
    }

    /// `ticks` ticks, adding the wall time of each pass group (`psi`, `agents`,
    /// `weights`, `search`) to `times` when given (`run --profile`, `bench`). The thread
    /// pool is entered once for all of them: inside it each pass's parallel loop starts
    /// without handing work from this thread to the pool and waiting on it.
    pub fn steps(&mut self, p: &LifecycleParams, ticks: u64, mut times: Option<&mut PassTimes>) {
        rayon::scope(|_| {
            for _ in 0..ticks {
                self.tick_passes(p, times.as_deref_mut());
            }
        });
    }

    fn tick_passes(&mut self, p: &LifecycleParams, mut times: Option<&mut PassTimes>) {
        let mut lap = times.is_some().then(Instant::now);
        let mut mark = |pass: &str, times: &mut Option<&mut PassTimes>| {
            if let (Some(t0), Some(times)) = (lap, times.as_deref_mut()) {
                times.add(pass, 1, t0.elapsed().as_secs_f64());
                lap = Some(Instant::now());
            }
        };
        let t = self.tick + 1;
        let (psi, n_a) = self.psi();
        mark("psi", &mut times);
        self.cascade_total += self.agents(p, psi, n_a, t);
        mark("agents", &mut times);
        let removed = self.tie_weights(p) as u64;
        mark("weights", &mut times);
        let created = self.search(p, t) as u64;
        mark("search", &mut times);
        self.removed += removed;
        self.created += created;
        self.removed_total += removed;
        self.created_total += created;
        self.tick = t;
    }

    /// The search handshake of tick `t` (propose, confirm, commit) through the buffers
    /// kept from tick to tick. Returns the ties created.
    pub fn search(&mut self, p: &LifecycleParams, t: u32) -> u32 {
        let mut s = std::mem::take(&mut self.scratch.search);
        self.propose_into(p, t, &mut s.target, &mut s.claim);
        let claim = &s.claim;
        self.confirm_into(&s.target, |i| claim[i].load(Relaxed), t, &mut s.partner);
        let partner = &s.partner;
        let created = self.commit_with(p, |i| partner[i].load(Relaxed));
        self.scratch.search = s;
        created
    }

    /// Share of agents that adopted through the cascade (the threshold rule, not mastery)
    /// by the end of the current tick: the metrics' `adoption_by_cascade`.
    pub fn cascade_share(&self) -> f64 {
        self.share(self.cascade_total)
    }

    /// `count` agents as a share of all N.
    pub fn share(&self, count: u64) -> f64 {
        count as f64 / self.n.max(1) as f64
    }

    /// Share of agents adopted by the end of the current tick.
    pub fn adoption(&self) -> f64 {
        let t = self.tick;
        let adopted: u64 = self
            .adopted_at
            .par_iter()
            .with_min_len(4096)
            .map(|&a| (a <= t) as u64)
            .sum();
        adopted as f64 / self.n.max(1) as f64
    }

    /// Twin of the metrics row on the GPU (`metrics_agents.wgsl`, then the community and
    /// component kernels).
    /// One metrics row (the columns of [`BASE_COLUMNS`]) for the current tick. Runs
    /// `lpa_rounds` rounds of label propagation from the previous row's labels, and resets
    /// the interval's created/removed counters; `ticks_in_interval` is the number of ticks
    /// since the previous row (0 for the row at tick 0, whose churn is 0).
    pub fn metrics(&mut self, p: &LifecycleParams, ticks_in_interval: u32) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        let ties = self.ties.num_ties() as u64;
        let comps = components::components_cpu(&self.ties);
        let churn = if ticks_in_interval == 0 {
            0.0
        } else {
            (self.created + self.removed) as f64 / (ticks_in_interval as f64 * ties.max(1) as f64)
        };
        self.created = 0;
        self.removed = 0;
        let strong: u64 = self
            .ties
            .weight
            .par_iter()
            .with_min_len(4096)
            .map(|&w| (w >= p.strong_tie && w > 0.0) as u64)
            .sum::<u64>()
            / 2;
        // A ratio with nothing to be computed on is undefined (NaN: empty in metrics.csv,
        // null in metrics.parquet), not 0.
        let strong_ties = if ties == 0 {
            f64::NAN
        } else {
            strong as f64 / ties as f64
        };
        let wedges = clustering::sample_wedges(&self.ties, self.seed, self.tick);
        let c = if wedges.total_weight == 0 {
            f64::NAN
        } else {
            wedges.transitivity()
        };
        let c_null = clustering::configuration_null(&self.ties.degree);
        let ratio = if c_null > 0.0 { c / c_null } else { f64::NAN };
        communities::label_propagation(
            &self.ties,
            &mut self.labels,
            self.seed,
            self.tick,
            p.lpa_rounds,
        );
        let count = communities::count_communities(&self.ties, &self.labels);
        let q = if ties == 0 {
            f64::NAN
        } else {
            communities::modularity(&self.ties, &self.labels)
        };
        let (cos_sum, sin_sum) = chunked_sum2(&self.phi, |x| {
            let (s, c) = (x as f64).sin_cos();
            (c, s)
        });
        let alignment = cos_sum.hypot(sin_sum) / n;
        let community_alignment =
            communities::community_alignment(&self.ties, &self.labels, &self.phi);
        let (k_sum, _) = chunked_sum2(&self.knowledge, |x| (x as f64, 0.0));
        vec![
            self.tick as f64,
            2.0 * ties as f64 / n,
            comps.s1(),
            churn,
            strong_ties,
            c,
            ratio,
            count as f64,
            q,
            alignment,
            community_alignment,
            self.adoption(),
            k_sum / n,
        ]
    }
}

impl Lifecycle {
    /// Whether the row at `tick` carries a null sample: rows at multiples of
    /// `every·null_every` ticks (by tick, so a resumed run samples the same rows).
    pub fn null_row_due(p: &LifecycleParams, every: u32, tick: u32) -> bool {
        let period = every as u64 * p.null_every as u64;
        period > 0 && (tick as u64).is_multiple_of(period)
    }

    /// The [`NULL_COLUMNS`] of the current state, after [`Self::metrics`] has updated the
    /// labels (docs/stages.md): the wedge-sampled transitivity and the label-propagation
    /// modularity of a degree-preserving rewiring of the ties, the community alignment
    /// with labels permuted within components, and the knowledge growth rate inside
    /// communities of ≥ [`nulls::MIN_COMMUNITY`] members against the rest, overall and at
    /// equal tie weight. Host code, the same for both backends (the GPU's state is
    /// downloaded first).
    pub fn null_row(&self, p: &LifecycleParams) -> Vec<f64> {
        self.null_sample(p).0
    }

    /// [`Self::null_row`] and each agent's knowledge growth rate dk/dt (for the community
    /// tracker, which samples on the same rows).
    pub fn null_sample(&self, p: &LifecycleParams) -> (Vec<f64>, Vec<f64>) {
        let (seed, tick) = (self.seed, self.tick);
        let null = nulls::rewired(&self.ties, seed, tick);
        let wedges = clustering::sample_wedges(&null, seed, tick);
        let clustering_null = if wedges.total_weight == 0 {
            f64::NAN
        } else {
            wedges.transitivity()
        };
        let mut labels: Vec<u32> = (0..self.n).collect();
        let lpa_seed = rng::rand4(seed, tick, 1, stream::NULL_PERMUTE)[0];
        for chunk in 0..NULL_LPA_ROUNDS / 4 {
            if communities::label_propagation(&null, &mut labels, lpa_seed, chunk, 4) == 0 {
                break;
            }
        }
        let modularity_null = if null.num_edges() == 0 {
            f64::NAN
        } else {
            communities::modularity(&null, &labels)
        };
        let (component, _) = components::labels_cpu(&self.ties);
        let permuted =
            nulls::permuted_within_components(&self.ties, &self.labels, &component, seed, tick);
        let community_alignment_null = if self.ties.num_ties() == 0 {
            f64::NAN
        } else {
            communities::community_alignment(&self.ties, &permuted, &self.phi)
        };
        let size = nulls::community_sizes(&self.ties, &self.labels);
        let per_agent: Vec<(f64, f64, bool)> = (0..self.n)
            .into_par_iter()
            .with_min_len(MIN_LEN)
            .map(|i| {
                let (mut w_sum, mut aligned) = (0.0f64, 0.0f64);
                for (&j, &w) in self.ties.neighbors(i).iter().zip(self.ties.weights(i)) {
                    w_sum += w as f64;
                    let d = self.phi[j as usize] as f64 - self.phi[i as usize] as f64;
                    aligned += w as f64 * d.cos().max(0.0);
                }
                let k = self.knowledge[i as usize] as f64;
                let rate = p.learning_rate as f64 * aligned * aligned / p.knowledge_norm as f64
                    - p.forgetting as f64 * k;
                let inside = !self.ties.neighbors(i).is_empty()
                    && size[self.labels[i as usize] as usize] >= nulls::MIN_COMMUNITY;
                (rate, w_sum, inside)
            })
            .collect();
        let rate: Vec<f64> = per_agent.iter().map(|a| a.0).collect();
        let weight: Vec<f64> = per_agent.iter().map(|a| a.1).collect();
        let inside: Vec<bool> = per_agent.iter().map(|a| a.2).collect();
        let growth = nulls::knowledge_growth(&rate, &weight, &inside);
        let row = vec![
            1.0,
            clustering_null,
            modularity_null,
            community_alignment_null,
            growth.inside,
            growth.outside,
            growth.matched,
            communities::unsettled(&self.ties, &self.labels, seed, tick + 1),
        ];
        (row, rate)
    }

    /// Feed the communities of the current state to `tracker` (`growth`: each agent's
    /// dk/dt, from [`Self::null_sample`]).
    pub fn track_communities(&self, tracker: &mut CommunityTracker, growth: &[f64]) {
        tracker.observe(&community_tracker::Sample {
            tick: self.tick as u64,
            graph: &self.ties,
            labels: &self.labels,
            knowledge: &self.knowledge,
            growth,
            phi: &self.phi,
        });
    }
}

/// The [`NULL_COLUMNS`] of a row without a null sample: `null_sampled` 0, the rest NaN.
pub fn no_null_row() -> Vec<f64> {
    let mut row = vec![f64::NAN; NULL_COLUMNS.len()];
    row[0] = 0.0;
    row
}

/// Two f64 sums of `f(x)` over fixed chunks, combined in chunk order (deterministic).
fn chunked_sum2(xs: &[f32], f: impl Fn(f32) -> (f64, f64) + Sync) -> (f64, f64) {
    let partial: Vec<(f64, f64)> = xs
        .par_chunks(SUM_CHUNK)
        .map(|chunk| {
            chunk.iter().fold((0.0, 0.0), |(a, b), &x| {
                let (u, v) = f(x);
                (a + u, b + v)
            })
        })
        .collect();
    partial
        .into_iter()
        .fold((0.0, 0.0), |(a, b), (u, v)| (a + u, b + v))
}

/// Ticks at which the stages of the lifecycle showed in a metrics table: the first row
/// with S1 ≥ 0.1, with clustering ≥ 0.2, and the rows where adoption first reached 0.1,
/// 0.5 and 0.9 (each `None` if never).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Milestones {
    pub s1_tenth: Option<u64>,
    pub clustering_fifth: Option<u64>,
    pub adoption_tenth: Option<u64>,
    pub adoption_half: Option<u64>,
    pub adoption_nine_tenths: Option<u64>,
}

impl Milestones {
    pub fn of(table: &MetricsTable) -> Milestones {
        let col = |name: &str| {
            table
                .columns
                .iter()
                .position(|c| c == name)
                .unwrap_or_else(|| panic!("metrics lack column {name}"))
        };
        let (tick, s1, c, rho) = (col("tick"), col("s1"), col("clustering"), col("adoption"));
        let first = |k: usize, at: f64| {
            table
                .rows
                .iter()
                .find(|r| r[k] >= at)
                .map(|r| r[tick] as u64)
        };
        Milestones {
            s1_tenth: first(s1, 0.1),
            clustering_fifth: first(c, 0.2),
            adoption_tenth: first(rho, 0.1),
            adoption_half: first(rho, 0.5),
            adoption_nine_tenths: first(rho, 0.9),
        }
    }

    /// Whether the stages came in order: S1 ≥ 0.1, then C ≥ 0.2, then adoption ≥ 0.5.
    pub fn in_order(&self) -> bool {
        matches!(
            (self.s1_tenth, self.clustering_fifth, self.adoption_half),
            (Some(a), Some(b), Some(c)) if a <= b && b <= c
        )
    }

    /// A few log lines saying where each stage happened.
    pub fn describe(&self) -> Vec<String> {
        let at = |t: Option<u64>| t.map_or("never".to_string(), |t| format!("at tick {t}"));
        let mut lines = vec![
            format!("networks: largest component ≥ 10% {}", at(self.s1_tenth)),
            format!(
                "communities of practice: clustering ≥ 0.2 {}",
                at(self.clustering_fifth)
            ),
        ];
        lines.push(match (self.adoption_tenth, self.adoption_nine_tenths) {
            (Some(a), Some(b)) => format!(
                "system of influence: adoption 0.1 → 0.9 between ticks {a} and {b} ({} ticks)",
                b - a
            ),
            (Some(a), None) => {
                format!("system of influence: adoption reached 0.1 at tick {a}, never 0.9")
            }
            _ => "system of influence: adoption never reached 0.1".to_string(),
        });
        lines
    }
}
