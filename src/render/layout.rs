//! The force layout that gives agents a place on screen. The lifecycle model has no
//! geography, so this runs beside the simulation for rendering only: it reads the ties
//! and writes nothing but positions. Attraction pulls each agent towards the centroid of
//! its ties weighted by w²; repulsion pushes it down the gradient of a coarse density grid
//! (particle-mesh style), so one step costs O(N·K + G²), never O(N²). Communities clump;
//! isolated agents spread evenly.
//!
//! Each function here is the CPU twin of one kernel (`shaders/layout_*.wgsl`) with the
//! same f32 formulas in the same order; the grids are integer and match the GPU to the
//! bit, positions within float rounding (docs/render.md).

use super::RenderParams;
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

/// The layout's state on the CPU backend: positions, stepped by the three passes.
pub struct ForceLayout {
    pub params: RenderParams,
    pub pos: Vec<[f32; 2]>,
}

impl ForceLayout {
    /// Random start positions from the seed.
    pub fn new(params: RenderParams, seed: u32) -> ForceLayout {
        ForceLayout {
            pos: initial_positions(params.n, seed),
            params,
        }
    }

    /// Fixed positions (a model that has its own, e.g. a random geometric graph).
    pub fn fixed(params: RenderParams, pos: Vec<[f32; 2]>) -> ForceLayout {
        ForceLayout { params, pos }
    }

    /// `steps` Jacobi steps: density grid, two box smoothings (a tent kernel 9 cells wide,
    /// whose gradient has no flat plateaus that would let clumps settle on a lattice),
    /// forces.
    pub fn step(&mut self, ties: TieView<'_>, steps: u32) {
        for _ in 0..steps {
            let density = layout_density(&self.params, &self.pos);
            let smooth = layout_smooth(&self.params, &density);
            let smooth = layout_smooth(&self.params, &smooth);
            self.pos = layout_forces(&self.params, &self.pos, &smooth, ties);
        }
    }
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
