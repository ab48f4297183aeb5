//! Frames and movies of a run. A force layout gives the agents places on screen
//! ([`layout`]); agents are splatted as points coloured by purpose (hue) and knowledge or
//! adoption (brightness), strong ties drawn as faint lines ([`splat`], on the GPU
//! [`gpu`]); an overlay adds the tick, the current stage and sparklines of S1, C, r and
//! adoption ([`overlay`]); writers turn frames into PNGs, an MP4 through the system
//! `ffmpeg`, or a GIF ([`writer`]). [`drive`] runs the lifecycle's ticks with frames in
//! between; [`replay`] draws a run after the fact from its saved snapshots. Rendering
//! only reads the model's state: the science is the same with or without it.
//! docs/render.md gives the algorithms, the determinism rules and the costs.

pub mod drive;
pub mod gpu;
pub mod layout;
pub mod overlay;
pub mod replay;
pub mod splat;
pub mod writer;

use crate::error::{Error, Result};
use crate::rng::{self, stream};
use std::path::{Path, PathBuf};

/// Layout steps between two frames: enough for the layout to follow the ties as they
/// change over a frame interval, cheap next to the ticks themselves.
pub const LAYOUT_STEPS_PER_FRAME: u32 = 8;
/// Share of the gap to the ties' weighted centroid an agent closes per step (when its
/// tie weights sum to at least 1).
pub const ATTRACTION: f32 = 0.3;
/// Strength of the push down the density gradient.
pub const REPULSION: f32 = 1.0;
/// Longest move of one step, in units of the layout square.
pub const MAX_STEP: f32 = 0.02;
/// About this many agents draw their strong ties (a hashed sample), so millions of ties
/// cost no more than a few hundred thousand short lines.
pub const LINE_AGENTS: u32 = 50_000;
/// Brightness one line adds to an empty pixel (of at most 64).
pub const LINE_GAIN: u32 = 12;
/// Largest frame side in pixels.
pub const MAX_SIDE: u32 = 4096;
/// Default frame size.
pub const DEFAULT_SIZE: (u32, u32) = (1280, 720);
/// Default frames per second of a movie.
pub const DEFAULT_FPS: u32 = 30;
/// A default run's movie lasts about this many seconds (sets the default --frame-every).
pub const DEFAULT_SECONDS: u32 = 10;

/// Parameters of the layout and render kernels (mirror of `RenderParams` in
/// `shaders/shared/render.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RenderParams {
    pub n: u32,
    pub slots: u32,
    /// G: the density grid is G × G cells over the layout square.
    pub grid: u32,
    pub width: u32,
    pub height: u32,
    /// The layout square is drawn as `side` × `side` pixels at (origin_x, origin_y).
    pub side: u32,
    pub origin_x: u32,
    pub origin_y: u32,
    /// Points are `point` × `point` pixels.
    pub point: u32,
    /// Agent i draws its strong ties when `(pcg(i ^ line_salt) >> 8) < line_cut`.
    pub line_cut: u32,
    pub line_salt: u32,
    pub line_gain: u32,
    pub attraction: f32,
    pub repulsion: f32,
    pub max_step: f32,
    /// 1 / (the smoothed grid's value at uniform density: 625 cells' weight of the
    /// tent kernel): makes the push depend on relative density, the same at every N.
    pub inv_mean: f32,
    /// w*: ties at least this heavy are drawn.
    pub strong_tie: f32,
    /// 1 / k*: knowledge at mastery is full brightness.
    pub inv_mastery: f32,
    pub _pad: [u32; 2],
}
crate::host_layout! {
    RenderParams {
        n, slots, grid, width, height, side, origin_x, origin_y, point, line_cut, line_salt,
        line_gain, attraction, repulsion, max_step, inv_mean, strong_tie, inv_mastery, _pad
    }
}

/// G for N agents: about 8 agents per cell, a power of two from 16 to 256.
pub fn grid_for(n: u32) -> u32 {
    ((n as f64 / 8.0).sqrt().ceil() as u32)
        .next_power_of_two()
        .clamp(16, 256)
}

impl RenderParams {
    /// The parameters for `n` agents with `slots` tie slots drawn into a `width` ×
    /// `height` frame.
    pub fn new(
        n: u32,
        slots: u32,
        (width, height): (u32, u32),
        seed: u32,
        strong_tie: f32,
        mastery: f32,
    ) -> RenderParams {
        let short = width.min(height);
        let margin = (short / 20).max(4);
        let side = short - 2 * margin;
        let area = side as u64 * side as u64;
        let point = if (n as u64) * 64 <= area {
            3
        } else if (n as u64) * 8 <= area {
            2
        } else {
            1
        };
        let grid = grid_for(n);
        let share = (LINE_AGENTS as f64 / n.max(1) as f64).min(1.0);
        RenderParams {
            n,
            slots,
            grid,
            width,
            height,
            side,
            origin_x: (width - side) / 2,
            origin_y: (height - side) / 2,
            point,
            line_cut: rng::threshold_24(share),
            line_salt: rng::rand4(seed, 1, 0, stream::LAYOUT)[0],
            line_gain: LINE_GAIN,
            attraction: ATTRACTION,
            repulsion: REPULSION,
            max_step: MAX_STEP,
            inv_mean: (grid * grid) as f32 / (625.0 * n.max(1) as f32),
            strong_tie,
            inv_mastery: 1.0 / mastery.max(1e-6),
            _pad: [0; 2],
        }
    }
}

/// What the command line asked for, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderRequest {
    /// `--frames`: PNGs into RUN_DIR/frames/.
    pub frames: bool,
    /// `--movie [PATH]`: `Some("")` for the bare flag (RUN_DIR/movie.mp4).
    pub movie: Option<String>,
    pub fps: Option<u32>,
    /// `--size WxH`.
    pub size: Option<String>,
    pub frame_every: Option<u32>,
}

/// Container of a movie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovieKind {
    /// H.264 in MP4, encoded by the system `ffmpeg`.
    Mp4,
    /// Animated GIF, encoded in-process.
    Gif,
}

/// Where a movie goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovieDest {
    /// A file name inside the run directory (written with it, atomically).
    RunDir(String),
    /// A path of the user's; written to a temporary name beside it and renamed when the
    /// run has succeeded.
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub kind: MovieKind,
    pub dest: MovieDest,
}

/// A checked render request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderPlan {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Ticks between frames (frames at the first tick, every `frame_every` ticks and at
    /// the last tick).
    pub frame_every: u32,
    pub frames: bool,
    pub movie: Option<Movie>,
}

/// `WxH` → (W, H), both even and in 16..=MAX_SIDE.
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        Error::bad_input(format!(
            "--size {s}: expected WIDTHxHEIGHT with even numbers from 16 to {MAX_SIDE}, e.g. 1280x720"
        ))
    };
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    let ok = |v: u32| (16..=MAX_SIDE).contains(&v) && v.is_multiple_of(2);
    if ok(w) && ok(h) {
        Ok((w, h))
    } else {
        Err(bad())
    }
}

/// Whether `ffmpeg` runs from PATH.
pub fn ffmpeg_available() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The default ticks between frames: a movie of about [`DEFAULT_SECONDS`] at `fps`.
pub fn default_frame_every(ticks: u64, fps: u32) -> u32 {
    let frames = (DEFAULT_SECONDS as u64 * fps as u64).max(1);
    ((ticks as f64 / frames as f64).round() as u32).max(1)
}

/// Check a request against the scenario (its model and ticks) before anything runs or
/// is written; `None` when nothing is to be rendered. `force` allows replacing an
/// existing movie file.
pub fn plan(
    req: &RenderRequest,
    model_renders: bool,
    ticks: u64,
    force: bool,
) -> Result<Option<RenderPlan>> {
    if !req.frames && req.movie.is_none() {
        for (flag, given) in [
            ("--fps", req.fps.is_some()),
            ("--size", req.size.is_some()),
            ("--frame-every", req.frame_every.is_some()),
        ] {
            if given {
                return Err(Error::bad_input(format!(
                    "{flag}: only used with --movie or --frames"
                )));
            }
        }
        return Ok(None);
    }
    if !model_renders {
        return Err(Error::bad_input(
            "--movie/--frames: only the lifecycle model renders frames (model.kind = \"lifecycle\")",
        ));
    }
    let fps = req.fps.unwrap_or(DEFAULT_FPS);
    if !(1..=240).contains(&fps) {
        return Err(Error::bad_input(format!(
            "--fps {fps}: frames per second must be from 1 to 240"
        )));
    }
    let (width, height) = match &req.size {
        Some(s) => parse_size(s)?,
        None => DEFAULT_SIZE,
    };
    let frame_every = match req.frame_every {
        Some(0) => {
            return Err(Error::bad_input(
                "--frame-every 0: ticks between frames must be at least 1",
            ))
        }
        Some(t) => t,
        None => default_frame_every(ticks, fps),
    };
    let movie = match req.movie.as_deref() {
        None => None,
        Some("") => Some(Movie {
            kind: MovieKind::Mp4,
            dest: MovieDest::RunDir("movie.mp4".into()),
        }),
        Some(path) => Some(movie_at(Path::new(path), force)?),
    };
    if let Some(m) = &movie {
        if m.kind == MovieKind::Mp4 && !ffmpeg_available() {
            let shown = match &m.dest {
                MovieDest::RunDir(_) => String::new(),
                MovieDest::Path(p) => format!(" {}", p.display()),
            };
            return Err(Error::bad_input(format!(
                "--movie{shown}: an .mp4 needs ffmpeg on PATH, and none was found; install ffmpeg or ask for a GIF (--movie movie.gif)"
            )));
        }
    }
    Ok(Some(RenderPlan {
        width,
        height,
        fps,
        frame_every,
        frames: req.frames,
        movie,
    }))
}

fn movie_at(path: &Path, force: bool) -> Result<Movie> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let kind = match ext.as_str() {
        "mp4" => MovieKind::Mp4,
        "gif" => MovieKind::Gif,
        _ => {
            return Err(Error::bad_input(format!(
            "--movie {}: unknown movie type; the file name must end in .mp4 (needs ffmpeg) or .gif",
            path.display()
        )))
        }
    };
    if path.is_dir() {
        return Err(Error::bad_input(format!(
            "--movie {}: is a directory; give a file name ending in .mp4 or .gif",
            path.display()
        )));
    }
    if path.exists() && !force {
        return Err(Error::bad_input(format!(
            "--movie {}: the file already exists; choose another name or pass --force to replace it",
            path.display()
        )));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        if !parent.is_dir() {
            return Err(Error::bad_input(format!(
                "--movie {}: the directory {} does not exist",
                path.display(),
                parent.display()
            )));
        }
    }
    Ok(Movie {
        kind,
        dest: MovieDest::Path(path.to_path_buf()),
    })
}
