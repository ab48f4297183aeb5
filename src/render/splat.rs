//! The frame itself: CPU twins of the render kernels (`shaders/render_*.wgsl`). Agents
//! are splatted as points into per-pixel integer sums, strong ties into a per-pixel line
//! count, and a pack pass turns both into RGBA8. All of it is integer once a position
//! has become a pixel, so the CPU and the GPU produce the same frame to the bit from
//! the same positions, whatever order the agents are processed in.

use super::RenderParams;
use crate::rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

pub use super::layout::TieView;

const MIN_LEN: usize = 1024;
/// `adopted_at` of an agent that has not adopted.
const NOT_ADOPTED: u32 = u32::MAX;
/// 1536 hue steps (6 segments of 256) per turn; the same literal as in WGSL.
const HUE_PER_RADIAN: f32 = 244.46199;

/// Twin of `pixel_of` in `shaders/shared/render.wgsl`.
#[inline]
pub fn pixel_of(p: &RenderParams, q: [f32; 2]) -> (u32, u32) {
    let s = p.side as f32;
    let x = p.origin_x + ((q[0].max(0.0) * s) as u32).min(p.side - 1);
    let y = p.origin_y + ((q[1].max(0.0) * s) as u32).min(p.side - 1);
    (x, y)
}

/// Twin of `agent_colour`: hue from the purpose angle, value from knowledge or adoption.
#[inline]
pub fn agent_colour(p: &RenderParams, phi: f32, k: f32, adopted_at: u32) -> [u32; 3] {
    let h = ((phi.max(0.0) * HUE_PER_RADIAN) as u32).min(1535);
    let f = h % 256;
    let rgb = match h / 256 {
        0 => [255, f, 0],
        1 => [255 - f, 255, 0],
        2 => [0, 255, f],
        3 => [0, 255 - f, 255],
        4 => [f, 0, 255],
        _ => [255, 0, 255 - f],
    };
    let v = if adopted_at == NOT_ADOPTED {
        110 + ((k * p.inv_mastery).min(1.0) * 110.0) as u32
    } else {
        255
    };
    rgb.map(|c| (c * 220 + 35 * 255) / 255 * v / 255)
}

fn atomics(len: usize) -> Vec<AtomicU32> {
    (0..len).map(|_| AtomicU32::new(0)).collect()
}

/// Twin of `render_splat.wgsl`: per pixel (r, g, b, count) sums of the agents on it.
pub fn render_splat(
    p: &RenderParams,
    pos: &[[f32; 2]],
    phi: &[f32],
    knowledge: &[f32],
    adopted_at: &[u32],
) -> Vec<u32> {
    let accum = atomics(4 * (p.width * p.height) as usize);
    let half = p.point / 2;
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .for_each(|i| {
            let c = agent_colour(p, phi[i], knowledge[i], adopted_at[i]);
            let (px, py) = pixel_of(p, pos[i]);
            for dy in 0..p.point {
                for dx in 0..p.point {
                    let x = (px + dx).wrapping_sub(half);
                    let y = (py + dy).wrapping_sub(half);
                    if x < p.width && y < p.height {
                        let k = 4 * (y * p.width + x) as usize;
                        accum[k].fetch_add(c[0], Relaxed);
                        accum[k + 1].fetch_add(c[1], Relaxed);
                        accum[k + 2].fetch_add(c[2], Relaxed);
                        accum[k + 3].fetch_add(1, Relaxed);
                    }
                }
            }
        });
    accum.into_iter().map(AtomicU32::into_inner).collect()
}

/// Twin of `render_ties.wgsl`: per pixel, how many sampled strong-tie lines cross it.
pub fn render_ties(p: &RenderParams, pos: &[[f32; 2]], ties: TieView<'_>) -> Vec<u32> {
    let lines = atomics((p.width * p.height) as usize);
    let k = ties.slots as usize;
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .for_each(|i| {
            if (rng::pcg(i as u32 ^ p.line_salt) >> 8) >= p.line_cut {
                return;
            }
            let (ax, ay) = pixel_of(p, pos[i]);
            let (ax, ay) = (ax as i32, ay as i32);
            for e in 0..ties.degree[i] as usize {
                let j = ties.neighbor[i * k + e];
                if j as usize <= i || ties.weight[i * k + e] < p.strong_tie {
                    continue;
                }
                let (bx, by) = pixel_of(p, pos[j as usize]);
                let (dx, dy) = (bx as i32 - ax, by as i32 - ay);
                let steps = dx.abs().max(dy.abs()).max(1);
                for s in 0..=steps {
                    let x = ax + dx * s / steps;
                    let y = ay + dy * s / steps;
                    lines[(y as u32 * p.width + x as u32) as usize].fetch_add(1, Relaxed);
                }
            }
        });
    lines.into_iter().map(AtomicU32::into_inner).collect()
}

/// Twin of `render_pack.wgsl`: RGBA8 pixels (r in the low byte) from the sums.
pub fn render_pack(p: &RenderParams, accum: &[u32], lines: &[u32]) -> Vec<u32> {
    (0..(p.width * p.height) as usize)
        .into_par_iter()
        .with_min_len(4096)
        .map(|q| {
            let c = accum[4 * q + 3];
            let rgb = if c > 0 {
                let gain = (160 + 24 * (31 - c.leading_zeros())).min(256);
                [0, 1, 2].map(|k| (accum[4 * q + k] / c * gain / 256).min(255))
            } else {
                let t = (lines[q].min(64) * p.line_gain).min(64);
                [9 + t * 5 / 8, 11 + t * 6 / 8, 17 + t]
            };
            rgb[0] | (rgb[1] << 8) | (rgb[2] << 16) | 0xff00_0000
        })
        .collect()
}
