//! The frame itself: CPU twins of the render kernels (`shaders/render_*.wgsl`). Each
//! agent gets a colour by the colour mode, the bounds of the agents (and of the followed
//! community) move the camera, agents are splatted as points into per-pixel integer
//! sums, strong ties into a per-pixel line count, and a pack pass turns both into RGBA8.
//! All of it is integer once a position has become a pixel, so the CPU and the GPU
//! produce the same frame to the bit from the same positions and camera, whatever order
//! the agents are processed in.

use super::{CameraMode, ColorMode, RenderParams, NO_GROUP};
use crate::rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

pub use super::layout::TieView;

const MIN_LEN: usize = 1024;
/// `adopted_at` of an agent that has not adopted.
const NOT_ADOPTED: u32 = u32::MAX;
/// 1536 hue steps (6 segments of 256) per turn; the same literal as in WGSL.
const HUE_PER_RADIAN: f32 = 244.46199;

/// The camera of the whole layout square: (x0, y0, extent, set).
pub const FIXED_CAMERA: [f32; 4] = [0.0, 0.0, 1.0, 1.0];
/// Fixed-point units per layout unit of the bounds.
const BOUNDS_SCALE: f32 = 16_777_216.0;
/// The colours of the `adoption` and `stage` modes and of agents outside every group in
/// the `community` mode (the same literals as in `shaders/shared/render.wgsl`).
pub const ADOPTER: [u32; 3] = [255, 150, 60];
pub const NOT_ADOPTER: [u32; 3] = [70, 95, 140];
pub const ISOLATED: [u32; 3] = [115, 115, 120];
pub const NETWORKED: [u32; 3] = [90, 150, 255];
pub const PRACTICE: [u32; 3] = [110, 225, 130];
pub const INFLUENCE: [u32; 3] = [255, 170, 80];
pub const NO_COMMUNITY: [u32; 3] = [58, 64, 78];
/// The knowledge ramp: k = 0, k*/2, k* (and above).
pub const KNOWLEDGE_RAMP: [[u32; 3]; 3] = [[45, 35, 100], [30, 150, 140], [250, 230, 80]];

/// Twin of `pixel_of` in `shaders/shared/render.wgsl` for the whole-square camera.
#[inline]
pub fn pixel_of(p: &RenderParams, q: [f32; 2]) -> (u32, u32) {
    view_pixel(p, &FIXED_CAMERA, q).expect("the whole square is in view")
}

/// Twin of `view_pixel`: the pixel of a layout position under `camera`, `None` when it
/// is out of view.
#[inline]
pub fn view_pixel(p: &RenderParams, camera: &[f32; 4], q: [f32; 2]) -> Option<(u32, u32)> {
    let s = p.side as f32;
    let scale = s / camera[2];
    let u = (q[0] - camera[0]) * scale;
    let v = (q[1] - camera[1]) * scale;
    if !(u >= 0.0 && v >= 0.0 && u < s && v < s) {
        return None;
    }
    let x = p.origin_x + (u as u32).min(p.side - 1);
    let y = p.origin_y + (v as u32).min(p.side - 1);
    Some((x, y))
}

/// Twin of `hue_rgb`: the integer hue wheel, 1536 steps.
#[inline]
pub fn hue_rgb(h: u32) -> [u32; 3] {
    let f = h % 256;
    match h / 256 {
        0 => [255, f, 0],
        1 => [255 - f, 255, 0],
        2 => [0, 255, f],
        3 => [0, 255 - f, 255],
        4 => [f, 0, 255],
        _ => [255, 0, 255 - f],
    }
}

/// Twin of `purpose_colour`: hue from the purpose angle, value from knowledge or
/// adoption.
#[inline]
pub fn purpose_colour(p: &RenderParams, phi: f32, k: f32, adopted_at: u32) -> [u32; 3] {
    let h = ((phi.max(0.0) * HUE_PER_RADIAN) as u32).min(1535);
    let rgb = hue_rgb(h);
    let v = if adopted_at == NOT_ADOPTED {
        110 + ((k * p.inv_mastery).min(1.0) * 110.0) as u32
    } else {
        255
    };
    rgb.map(|c| (c * 220 + 35 * 255) / 255 * v / 255)
}

fn unpack(c: u32) -> [u32; 3] {
    [c & 255, (c >> 8) & 255, (c >> 16) & 255]
}

fn pack(c: [u32; 3]) -> u32 {
    c[0] | (c[1] << 8) | (c[2] << 16)
}

/// Twin of `knowledge_colour`: the ramp of [`KNOWLEDGE_RAMP`] at k / k*.
#[inline]
pub fn knowledge_colour(p: &RenderParams, k: f32) -> [u32; 3] {
    let u = ((k * p.inv_mastery).clamp(0.0, 1.0) * 510.0) as u32;
    let (a, b, t) = if u < 255 {
        (KNOWLEDGE_RAMP[0], KNOWLEDGE_RAMP[1], u)
    } else {
        (KNOWLEDGE_RAMP[1], KNOWLEDGE_RAMP[2], u - 255)
    };
    [0, 1, 2].map(|c| (a[c] * (255 - t) + b[c] * t) / 255)
}

/// What the colour of one agent is made from.
#[derive(Debug, Clone, Copy)]
pub struct AgentLook {
    pub phi: f32,
    pub knowledge: f32,
    pub adopted_at: u32,
    pub degree: u32,
    pub group: u32,
}

/// Twin of `agent_colour`: an agent's colour in the params' mode.
#[inline]
pub fn agent_colour(p: &RenderParams, a: AgentLook, palette: &[u32]) -> [u32; 3] {
    let adopted = a.adopted_at != NOT_ADOPTED;
    let grouped = a.group != NO_GROUP;
    match p.colour {
        c if c == ColorMode::Community.code() => {
            if grouped {
                unpack(palette[a.group as usize])
            } else {
                NO_COMMUNITY
            }
        }
        c if c == ColorMode::Knowledge.code() => knowledge_colour(p, a.knowledge),
        c if c == ColorMode::Adoption.code() => {
            if adopted {
                ADOPTER
            } else {
                NOT_ADOPTER
            }
        }
        c if c == ColorMode::Stage.code() => {
            if adopted {
                INFLUENCE
            } else if grouped && palette[a.group as usize] & super::groups::PRACTICE_BIT != 0 {
                PRACTICE
            } else if a.degree > 0 {
                NETWORKED
            } else {
                ISOLATED
            }
        }
        _ => purpose_colour(p, a.phi, a.knowledge, a.adopted_at),
    }
}

/// Twin of `render_colour.wgsl`: every agent's packed colour (r in the low byte).
pub fn render_colour(
    p: &RenderParams,
    phi: &[f32],
    knowledge: &[f32],
    adopted_at: &[u32],
    degree: &[u32],
    group: &[u32],
    palette: &[u32],
) -> Vec<u32> {
    (0..p.n as usize)
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .map(|i| {
            let look = AgentLook {
                phi: phi[i],
                knowledge: knowledge[i],
                adopted_at: adopted_at[i],
                degree: degree[i],
                group: group[i],
            };
            pack(agent_colour(p, look, palette))
        })
        .collect()
}

/// Twin of `render_bounds.wgsl`: the fixed-point bounds of all agents (words 0–3) and of
/// the members of the followed group (4–7). Lower bounds are stored as
/// `u32::MAX − x`, so every word is a maximum from zero.
pub fn render_bounds(p: &RenderParams, pos: &[[f32; 2]], group: &[u32]) -> [u32; 8] {
    let fix = |v: f32| (v.clamp(0.0, 1.0) * BOUNDS_SCALE) as u32;
    let fold = |mut b: [u32; 4], q: [f32; 2]| {
        let (x, y) = (fix(q[0]), fix(q[1]));
        b[0] = b[0].max(u32::MAX - x);
        b[1] = b[1].max(u32::MAX - y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
        b
    };
    let max4 = |a: [u32; 4], b: [u32; 4]| [0, 1, 2, 3].map(|k| a[k].max(b[k]));
    let all = pos
        .par_iter()
        .with_min_len(MIN_LEN)
        .fold(|| [0u32; 4], |b, &q| fold(b, q))
        .reduce(|| [0u32; 4], max4);
    let follow = if p.follow == NO_GROUP {
        [0u32; 4]
    } else {
        pos.par_iter()
            .zip(group.par_iter())
            .with_min_len(MIN_LEN)
            .filter(|(_, &g)| g == p.follow)
            .fold(|| [0u32; 4], |b, (&q, _)| fold(b, q))
            .reduce(|| [0u32; 4], max4)
    };
    [
        all[0], all[1], all[2], all[3], follow[0], follow[1], follow[2], follow[3],
    ]
}

/// Twin of `render_camera.wgsl`: the camera moved towards its target for this frame's
/// bounds (the followed group's in `follow` mode when it has members, all agents'
/// otherwise): a square around the bounds with a margin, at least `min` wide.
pub fn render_camera(p: &RenderParams, bounds: &[u32; 8], camera: [f32; 4]) -> [f32; 4] {
    if p.camera == CameraMode::Fixed.code() {
        return FIXED_CAMERA;
    }
    let follow = p.camera == CameraMode::Follow.code() && p.follow != NO_GROUP && bounds[6] > 0;
    let (b, margin, min) = if follow {
        (&bounds[4..8], 0.35f32, 0.25f32)
    } else {
        (&bounds[0..4], 0.04f32, 0.25f32)
    };
    let inv = 1.0 / BOUNDS_SCALE;
    let lo_x = (u32::MAX - b[0]) as f32 * inv;
    let lo_y = (u32::MAX - b[1]) as f32 * inv;
    let hi_x = b[2] as f32 * inv;
    let hi_y = b[3] as f32 * inv;
    let ext = ((hi_x - lo_x).max(hi_y - lo_y) * (1.0 + 2.0 * margin)).max(min);
    let target = [
        0.5 * (lo_x + hi_x) - 0.5 * ext,
        0.5 * (lo_y + hi_y) - 0.5 * ext,
        ext,
    ];
    if camera[3] == 0.0 {
        return [target[0], target[1], target[2], 1.0];
    }
    let r = p.camera_rate;
    [
        camera[0] + r * (target[0] - camera[0]),
        camera[1] + r * (target[1] - camera[1]),
        camera[2] + r * (target[2] - camera[2]),
        1.0,
    ]
}

fn atomics(len: usize) -> Vec<AtomicU32> {
    (0..len).map(|_| AtomicU32::new(0)).collect()
}

/// Twin of `render_splat.wgsl`: per pixel (r, g, b, count) sums of the agents in view
/// on it.
pub fn render_splat(
    p: &RenderParams,
    pos: &[[f32; 2]],
    colour: &[u32],
    camera: &[f32; 4],
) -> Vec<u32> {
    let accum = atomics(4 * (p.width * p.height) as usize);
    let half = p.point / 2;
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .for_each(|i| {
            let c = unpack(colour[i]);
            let Some((px, py)) = view_pixel(p, camera, pos[i]) else {
                return;
            };
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

/// Twin of `render_ties.wgsl`: per pixel, how many sampled strong-tie lines cross it
/// (lines with both ends in view).
pub fn render_ties(
    p: &RenderParams,
    pos: &[[f32; 2]],
    ties: TieView<'_>,
    camera: &[f32; 4],
) -> Vec<u32> {
    let lines = atomics((p.width * p.height) as usize);
    let k = ties.slots as usize;
    (0..pos.len())
        .into_par_iter()
        .with_min_len(MIN_LEN)
        .for_each(|i| {
            if (rng::pcg(i as u32 ^ p.line_salt) >> 8) >= p.line_cut {
                return;
            }
            let Some((ax, ay)) = view_pixel(p, camera, pos[i]) else {
                return;
            };
            let (ax, ay) = (ax as i32, ay as i32);
            for e in 0..ties.degree[i] as usize {
                let j = ties.neighbor[i * k + e];
                if j as usize <= i || ties.weight[i * k + e] < p.strong_tie {
                    continue;
                }
                let Some((bx, by)) = view_pixel(p, camera, pos[j as usize]) else {
                    continue;
                };
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
