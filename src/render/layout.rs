//! The force layout that gives agents a place on screen. The lifecycle model has no
//! geography, so this runs beside the simulation for rendering only: it reads the ties
//! and writes nothing but positions. Attraction pulls each agent towards the centroid of
//! its ties weighted by w²; repulsion pushes it down the gradient of a coarse density grid
//! (particle-mesh style), so one step costs O(N·K + G²), never O(N²). A second force
//! draws each community of practice to its centroid (so communities are islands) and
//! agents with ties gently to the centre (so the crowd pushes isolated agents to the
//! rim).
//!
//! Each function here is the CPU twin of one kernel (`shaders/layout_*.wgsl`) with the
//! same f32 formulas in the same order; the grids are integer and match the GPU to the
//! bit, positions within float rounding (docs/render.md).

use super::groups::Groups;
use super::{splat, RenderParams, NO_GROUP};
use crate::graph::TieStore;
use crate::rng::{self, stream};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Agents per rayon task.
const MIN_LEN: usize = 1024;

/// The ties as the layout and the tie lines read them (the lifecycle's [`TieStore`]
/// slots, or any static graph stored the same way).
#[derive(Clone, Copy)]
pub struct TieView<'a> {
    pub slots: u32,
    pub degree: &'a [u32],
    pub neighbor: &'a [u32],
    pub weight: &'a [f32],
}

impl<'a> From<&'a TieStore> for TieView<'a> {
    fn from(t: &'a TieStore) -> Self {
        TieView {
            slots: t.slots,
            degree: &t.degree,
            neighbor: &t.neighbor,
            weight: &t.weight,
        }
    }
}

/// Random start positions in (0, 1)², from the seed (stream `LAYOUT`).
pub fn initial_positions(n: u32, seed: u32) -> Vec<[f32; 2]> {
    (0..n)
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .map(|i| {
            let r = rng::rand4(seed, 0, i, stream::LAYOUT);
            [rng::uniform(r[0]), rng::uniform(r[1])]
        })
        .collect()
}

/// Density-grid cell of a position (twin of `cell_of` in `shaders/shared/render.wgsl`).
#[inline]
pub fn cell_of(p: [f32; 2], g: u32) -> u32 {
    let gf = g as f32;
    let cx = ((p[0].max(0.0) * gf) as u32).min(g - 1);
    let cy = ((p[1].max(0.0) * gf) as u32).min(g - 1);
    cy * g + cx
}

/// Twin of `layout_density.wgsl`: agents per grid cell.
pub fn layout_density(p: &RenderParams, pos: &[[f32; 2]]) -> Vec<u32> {
    let g = p.grid;
    let cells: Vec<AtomicU32> = (0..g * g).map(|_| AtomicU32::new(0)).collect();
    pos.par_iter().with_min_len(MIN_LEN).for_each(|&q| {
        cells[cell_of(q, g) as usize].fetch_add(1, Relaxed);
    });
    cells.into_iter().map(AtomicU32::into_inner).collect()
}

#[inline]
fn mirror(v: i32, g: i32) -> i32 {
    if v < 0 {
        -v - 1
    } else if v >= g {
        2 * g - v - 1
    } else {
        v
    }
}

/// Twin of `layout_smooth.wgsl`: each cell's 5 × 5 box sum, edges mirrored.
pub fn layout_smooth(p: &RenderParams, density: &[u32]) -> Vec<u32> {
    let g = p.grid as i32;
    (0..g * g)
        .into_par_iter()
        .with_min_len(256)
        .map(|c| {
            let (cx, cy) = (c % g, c / g);
            let mut s = 0u32;
            for dy in -2..=2 {
                let y = mirror(cy + dy, g);
                for dx in -2..=2 {
                    let x = mirror(cx + dx, g);
                    s += density[(y * g + x) as usize];
                }
            }
            s
        })
        .collect()
}

/// Twin of `layout_forces.wgsl`: every agent's position after one Jacobi step.
pub fn layout_forces(
    p: &RenderParams,
    pos: &[[f32; 2]],
    smooth: &[u32],
    ties: TieView<'_>,
) -> Vec<[f32; 2]> {
    let g = p.grid;
    let gf = g as f32;
    let k = ties.slots as usize;
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .map(|i| {
            let q0 = pos[i];
            let base = i * k;
            let (mut sx, mut sy, mut sw) = (0.0f32, 0.0f32, 0.0f32);
            for e in 0..ties.degree[i] as usize {
                let q = pos[ties.neighbor[base + e] as usize];
                let w0 = ties.weight[base + e];
                let w = w0 * w0;
                sx += w * (q[0] - q0[0]);
                sy += w * (q[1] - q0[1]);
                sw += w;
            }
            let pull = p.attraction / sw.max(1.0);
            let u = (q0[0] * gf - 0.5).clamp(0.0, gf - 1.0);
            let v = (q0[1] * gf - 0.5).clamp(0.0, gf - 1.0);
            let cx = (u as u32).min(g - 2);
            let cy = (v as u32).min(g - 2);
            let fx = u - cx as f32;
            let fy = v - cy as f32;
            let at = |x: u32, y: u32| smooth[(y * g + x) as usize] as f32;
            let grad_x = |x: u32, y: u32| at((x + 1).min(g - 1), y) - at(x.max(1) - 1, y);
            let grad_y = |x: u32, y: u32| at(x, (y + 1).min(g - 1)) - at(x, y.max(1) - 1);
            let gx = (1.0 - fy) * ((1.0 - fx) * grad_x(cx, cy) + fx * grad_x(cx + 1, cy))
                + fy * ((1.0 - fx) * grad_x(cx, cy + 1) + fx * grad_x(cx + 1, cy + 1));
            let gy = (1.0 - fy) * ((1.0 - fx) * grad_y(cx, cy) + fx * grad_y(cx + 1, cy))
                + fy * ((1.0 - fx) * grad_y(cx, cy + 1) + fx * grad_y(cx + 1, cy + 1));
            let push = p.repulsion * p.inv_mean / gf;
            let mut dx = pull * sx - push * gx;
            let mut dy = pull * sy - push * gy;
            let len2 = dx * dx + dy * dy;
            if len2 > p.max_step * p.max_step {
                let s = p.max_step / len2.sqrt();
                dx *= s;
                dy *= s;
            }
            [
                (q0[0] + dx).clamp(0.001, 0.999),
                (q0[1] + dy).clamp(0.001, 0.999),
            ]
        })
        .collect()
}

/// Twin of `layout_groups.wgsl`: per group, five fixed-point sums over its members: x,
/// y, the move from [`layout_forces`] mapped from [−max_step, max_step] to [0, 1] (x and
/// y), and their count.
pub fn layout_groups(
    p: &RenderParams,
    pos: &[[f32; 2]],
    next: &[[f32; 2]],
    group: &[u32],
) -> Vec<u32> {
    let sums: Vec<AtomicU32> = (0..5 * p.groups.max(1))
        .map(|_| AtomicU32::new(0))
        .collect();
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .for_each(|i| {
            let g = group[i];
            if g == NO_GROUP {
                return;
            }
            let g = 5 * g as usize;
            let fix = |v: f32| (v.clamp(0.0, 1.0) * p.fixed_scale) as u32;
            let step = |k: usize| ((next[i][k] - pos[i][k]) / p.max_step + 1.0) * 0.5;
            sums[g].fetch_add(fix(pos[i][0]), Relaxed);
            sums[g + 1].fetch_add(fix(pos[i][1]), Relaxed);
            sums[g + 2].fetch_add(fix(step(0)), Relaxed);
            sums[g + 3].fetch_add(fix(step(1)), Relaxed);
            sums[g + 4].fetch_add(1, Relaxed);
        });
    sums.into_iter().map(AtomicU32::into_inner).collect()
}

/// Twin of `island_offset` in `shaders/layout_cohesion.wgsl`: agent `i`'s place on its
/// group's island, in the unit disc.
pub fn island_offset(i: u32) -> [f32; 2] {
    let a = rng::pcg(i ^ 0x51ed27);
    let b = rng::pcg(a);
    let c = rng::pcg(b);
    let inv = 1.0 / 16_777_216.0f32;
    let v = [
        (a >> 8) as f32 * inv * 2.0 - 1.0,
        (b >> 8) as f32 * inv * 2.0 - 1.0,
    ];
    let len = (v[0] * v[0] + v[1] * v[1]).sqrt().max(0.000001);
    let r = ((c >> 8) as f32 * inv).sqrt();
    [v[0] * (r / len), v[1] * (r / len)]
}

/// Twin of `layout_cohesion.wgsl`: `next` (from [`layout_forces`]) replaced, for each
/// member of a group, by its group's mean move plus the pull to its place on the group's
/// island (centroid and moves from `sums`), and moved for each agent with ties by the
/// pull to the centre.
pub fn layout_cohesion(
    p: &RenderParams,
    pos: &[[f32; 2]],
    group: &[u32],
    sums: &[u32],
    degree: &[u32],
    next: &mut [[f32; 2]],
) {
    let capped = |d: [f32; 2]| {
        let len2 = d[0] * d[0] + d[1] * d[1];
        if len2 > p.max_step * p.max_step {
            let s = p.max_step / len2.sqrt();
            [d[0] * s, d[1] * s]
        } else {
            d
        }
    };
    next.par_iter_mut()
        .enumerate()
        .with_min_len(MIN_LEN)
        .for_each(|(i, q)| {
            let p0 = pos[i];
            let mut pull = [0.0f32, 0.0f32];
            let g = group[i];
            if g != NO_GROUP {
                let g = 5 * g as usize;
                let count = sums[g + 4];
                if count > 1 {
                    let inv = 1.0 / (count as f32 * p.fixed_scale);
                    let centre = [sums[g] as f32 * inv, sums[g + 1] as f32 * inv];
                    let mean = [sums[g + 2] as f32 * inv, sums[g + 3] as f32 * inv];
                    *q = [
                        p0[0] + (mean[0] * 2.0 - 1.0) * p.max_step,
                        p0[1] + (mean[1] * 2.0 - 1.0) * p.max_step,
                    ];
                    let o = island_offset(i as u32);
                    let r = p.island * (count as f32).sqrt();
                    pull = [
                        p.cohesion * (centre[0] + o[0] * r - p0[0]),
                        p.cohesion * (centre[1] + o[1] * r - p0[1]),
                    ];
                }
            }
            if degree[i] > 0 {
                pull[0] += p.gravity * (0.5 - p0[0]);
                pull[1] += p.gravity * (0.5 - p0[1]);
            }
            let d = capped(pull);
            *q = [
                (q[0] + d[0]).clamp(0.001, 0.999),
                (q[1] + d[1]).clamp(0.001, 0.999),
            ];
        });
}

/// The renderer's state on the CPU backend: positions (stepped by the layout passes),
/// the groups being drawn and the camera.
pub struct ForceLayout {
    pub params: RenderParams,
    pub pos: Vec<[f32; 2]>,
    pub groups: Groups,
    /// (x0, y0, extent, set); unset until the first frame.
    pub camera: [f32; 4],
}

impl ForceLayout {
    /// Random start positions from the seed.
    pub fn new(params: RenderParams, seed: u32) -> ForceLayout {
        ForceLayout::fixed(params, initial_positions(params.n, seed))
    }

    /// Given start positions (tests; a model that has its own, e.g. a random geometric
    /// graph).
    pub fn fixed(params: RenderParams, pos: Vec<[f32; 2]>) -> ForceLayout {
        ForceLayout {
            groups: Groups::none(params.n),
            params,
            pos,
            camera: [0.0; 4],
        }
    }

    /// Draw these groups from now on.
    pub fn set_groups(&mut self, groups: Groups) {
        self.params.groups = groups.len() as u32;
        self.params.follow = groups.follow;
        self.groups = groups;
    }

    /// `steps` Jacobi steps: density grid, two box smoothings (a tent kernel 9 cells wide,
    /// whose gradient has no flat plateaus that would let clumps settle on a lattice),
    /// forces, then the groups' cohesion.
    pub fn step(&mut self, ties: TieView<'_>, steps: u32) {
        for _ in 0..steps {
            let density = layout_density(&self.params, &self.pos);
            let smooth = layout_smooth(&self.params, &density);
            let smooth = layout_smooth(&self.params, &smooth);
            let mut next = layout_forces(&self.params, &self.pos, &smooth, ties);
            let sums = layout_groups(&self.params, &self.pos, &next, &self.groups.of_agent);
            layout_cohesion(
                &self.params,
                &self.pos,
                &self.groups.of_agent,
                &sums,
                ties.degree,
                &mut next,
            );
            self.pos = next;
        }
    }

    /// Move the camera for a frame of the current positions; returns it.
    pub fn frame_camera(&mut self) -> [f32; 4] {
        let bounds = splat::render_bounds(&self.params, &self.pos, &self.groups.of_agent);
        self.camera = splat::render_camera(&self.params, &bounds, self.camera);
        self.camera
    }
}

/// How well the layout separates communities: over the groups of at least `min_size`
/// members, the mean distance between two members of the same group (`within`, each
/// group's mean over its pairs, then the mean over groups; a group of more than 300 uses
/// its first 300 members in agent order) and the mean distance between the centroids
/// of two groups (`between`, over all pairs). Communities read as islands when `within`
/// ≤ `between` / 5 (docs/render.md); uniform random positions give `within` ≈ 0.52 and
/// `between` ≈ 0.52·√(2/size), which fails.
pub fn community_separation(pos: &[[f32; 2]], group: &[u32], min_size: u32) -> (f64, f64) {
    let mut members = std::collections::BTreeMap::<u32, Vec<[f64; 2]>>::new();
    for (q, &g) in pos.iter().zip(group) {
        if g != NO_GROUP {
            members
                .entry(g)
                .or_default()
                .push([q[0] as f64, q[1] as f64]);
        }
    }
    members.retain(|_, m| m.len() >= min_size as usize);
    let dist = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let mut within = 0.0;
    let mut centres = Vec::new();
    for m in members.values() {
        let s = &m[..m.len().min(300)];
        let mut sum = 0.0;
        for a in 0..s.len() {
            for b in a + 1..s.len() {
                sum += dist(s[a], s[b]);
            }
        }
        within += sum / (s.len() * (s.len() - 1) / 2) as f64;
        let c = m.iter().fold([0.0, 0.0], |c, q| [c[0] + q[0], c[1] + q[1]]);
        centres.push([c[0] / m.len() as f64, c[1] / m.len() as f64]);
    }
    let (mut between, mut pairs) = (0.0, 0u64);
    for a in 0..centres.len() {
        for b in a + 1..centres.len() {
            between += dist(centres[a], centres[b]);
            pairs += 1;
        }
    }
    (
        within / members.len().max(1) as f64,
        if pairs > 0 {
            between / pairs as f64
        } else {
            f64::NAN
        },
    )
}

/// How well the layout shows the structure: the mean length of strong ties (w ≥
/// `strong_tie`, each counted once) and the mean distance between random pairs of agents
/// (`pairs` pairs from the seed). Once communities form the first falls below a quarter
/// of the second (docs/render.md).
pub fn tie_lengths(
    pos: &[[f32; 2]],
    ties: TieView<'_>,
    strong_tie: f32,
    seed: u32,
    pairs: u32,
) -> (f64, f64) {
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]) as f64).hypot((a[1] - b[1]) as f64);
    let k = ties.slots as usize;
    let (sum, count) = (0..pos.len())
        .into_par_iter()
        .map(|i| {
            let mut s = 0.0;
            let mut c = 0u64;
            for e in 0..ties.degree[i] as usize {
                let j = ties.neighbor[i * k + e] as usize;
                if j > i && ties.weight[i * k + e] >= strong_tie {
                    s += dist(pos[i], pos[j]);
                    c += 1;
                }
            }
            (s, c)
        })
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let n = pos.len() as u32;
    let random: f64 = (0..pairs)
        .map(|t| {
            let r = rng::rand4(seed, 2, t, stream::LAYOUT);
            dist(pos[(r[0] % n) as usize], pos[(r[1] % n) as usize])
        })
        .sum();
    (
        if count > 0 {
            sum / count as f64
        } else {
            f64::NAN
        },
        random / pairs.max(1) as f64,
    )
}
