//! Frames and movies of a run. A force layout gives the agents places on screen
//! ([`layout`]), with the communities of practice ([`groups`]) drawn together as islands;
//! a camera fits the occupied area or follows the largest community; agents are splatted
//! as points in one of the colour modes ([`ColorMode`]), strong ties drawn as faint lines
//! ([`splat`], on the GPU [`gpu`]); an overlay adds the tick, the stage, a legend,
//! captions at each transition and sparklines with stage bands ([`overlay`]); writers
//! turn frames into PNGs, an MP4 through the system `ffmpeg`, or a GIF ([`writer`]).
//! [`drive`] runs the lifecycle's ticks with frames in between; [`replay`] draws a run
//! after the fact from its saved snapshots. Rendering only reads the model's state: the
//! science is the same with or without it. docs/render.md gives the algorithms, the
//! determinism rules and the costs.

pub mod drive;
pub mod gpu;
pub mod groups;
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
/// Share of the gap to its place on its community's island a member closes per step:
/// what makes communities islands rather than smears.
pub const COHESION: f32 = 0.2;
/// How much denser than the mean a community's island is drawn.
pub const ISLAND_DENSITY: f64 = 3.0;
/// Share of the gap to the centre an agent with ties closes per step, so networks gather
/// in the middle and isolated agents are pushed out to the rim by the crowd.
pub const GRAVITY: f32 = 0.004;
/// Share of the gap to its target the camera closes per frame (smooth motion).
pub const CAMERA_RATE: f32 = 0.25;
/// Largest frame side in pixels.
pub const MAX_SIDE: u32 = 4096;
/// Marks "no group" in the per-agent group array and "follow nothing".
pub const NO_GROUP: u32 = u32::MAX;

/// What the colour of an agent says (`--color`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    /// Hue: purpose angle; brightness: knowledge, full for adopters.
    #[default]
    Purpose,
    /// Each community of practice its own colour for its whole life (by lineage id);
    /// everyone else grey.
    Community,
    /// Knowledge k / k* on a dark-to-bright ramp.
    Knowledge,
    /// Adopters against everyone else.
    Adoption,
    /// The agent's place in the life-cycle: isolated, in a network, in a community of
    /// practice, adopter (the stage colours).
    Stage,
}

impl ColorMode {
    pub const ALL: [ColorMode; 5] = [
        ColorMode::Purpose,
        ColorMode::Community,
        ColorMode::Knowledge,
        ColorMode::Adoption,
        ColorMode::Stage,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ColorMode::Purpose => "purpose",
            ColorMode::Community => "community",
            ColorMode::Knowledge => "knowledge",
            ColorMode::Adoption => "adoption",
            ColorMode::Stage => "stage",
        }
    }
    /// The code the kernels switch on.
    pub fn code(self) -> u32 {
        self as u32
    }
    pub fn parse(s: &str) -> Result<ColorMode> {
        ColorMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "--color {s}: unknown colour mode; expected purpose, community, knowledge, adoption or stage"
                ))
            })
    }
}

/// How the camera frames the layout (`--camera`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMode {
    /// The whole layout square, always.
    Fixed,
    /// The area the agents occupy, with smooth motion.
    #[default]
    Fit,
    /// The largest community of practice while there is one smaller than half the
    /// population (stage 2), the occupied area otherwise.
    Follow,
}

impl CameraMode {
    pub fn name(self) -> &'static str {
        match self {
            CameraMode::Fixed => "fixed",
            CameraMode::Fit => "fit",
            CameraMode::Follow => "follow",
        }
    }
    pub fn code(self) -> u32 {
        self as u32
    }
    pub fn parse(s: &str) -> Result<CameraMode> {
        [CameraMode::Fixed, CameraMode::Fit, CameraMode::Follow]
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "--camera {s}: unknown camera; expected fixed, fit or follow"
                ))
            })
    }
}

/// Movie defaults (`--preset`): what `--size`, `--fps`, the movie's length and the hold
/// on each transition default to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    pub size: (u32, u32),
    pub fps: u32,
    /// The movie lasts about this many seconds (sets the default --frame-every).
    pub seconds: u32,
    /// Seconds each transition's frame is held in the movie (its caption readable).
    pub hold_s: f64,
    /// The container of a bare `--movie`.
    pub kind: MovieKind,
}

/// For a projector: 1920x1080, 30 fps, about 20 s, 2 s held on each transition.
pub const TALK: Preset = Preset {
    name: "talk",
    size: (1920, 1080),
    fps: 30,
    seconds: 20,
    hold_s: 2.0,
    kind: MovieKind::Mp4,
};
/// For a slide: a 640x360 GIF, 12 fps, about 10 s, 1 s held on each transition.
pub const SLIDES: Preset = Preset {
    name: "slides",
    size: (640, 360),
    fps: 12,
    seconds: 10,
    hold_s: 1.0,
    kind: MovieKind::Gif,
};

impl Preset {
    pub fn parse(s: &str) -> Result<Preset> {
        [TALK, SLIDES]
            .into_iter()
            .find(|p| p.name == s)
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "--preset {s}: unknown preset; expected talk (1920x1080 MP4, 20 s) or slides (640x360 GIF, 10 s)"
                ))
            })
    }
}

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
    /// [`ColorMode::code`].
    pub colour: u32,
    /// [`CameraMode::code`].
    pub camera: u32,
    /// The group the camera follows ([`NO_GROUP`]: none).
    pub follow: u32,
    /// Groups (communities of practice) in the per-agent group array.
    pub groups: u32,
    pub cohesion: f32,
    pub gravity: f32,
    /// Fixed-point units per layout unit in the groups' position sums: the largest power
    /// of two that keeps N agents' sum inside a u32 (at most 2^20).
    pub fixed_scale: f32,
    pub camera_rate: f32,
    /// A group of s members is drawn as a disc of radius `island`·√s: 1/√(π·c·N), the
    /// radius its members would fill at [`ISLAND_DENSITY`] times the mean density.
    pub island: f32,
    pub _pad: u32,
}
crate::host_layout! {
    RenderParams {
        n, slots, grid, width, height, side, origin_x, origin_y, point, line_cut, line_salt,
        line_gain, attraction, repulsion, max_step, inv_mean, strong_tie, inv_mastery, colour,
        camera, follow, groups, cohesion, gravity, fixed_scale, camera_rate, island, _pad
    }
}

/// Fixed-point units per layout unit for `n` agents (see [`RenderParams::fixed_scale`]).
pub fn fixed_scale_for(n: u32) -> f32 {
    let room = (u32::MAX as u64 / (n as u64 + 1)).max(1);
    let bits = (63 - room.leading_zeros()).min(20);
    (1u64 << bits) as f32
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
            colour: ColorMode::Purpose.code(),
            camera: CameraMode::Fixed.code(),
            follow: NO_GROUP,
            groups: 0,
            cohesion: COHESION,
            gravity: GRAVITY,
            fixed_scale: fixed_scale_for(n),
            camera_rate: CAMERA_RATE,
            island: (1.0 / (std::f64::consts::PI * ISLAND_DENSITY * n.max(1) as f64).sqrt()) as f32,
            _pad: 0,
        }
    }

    /// The same with the plan's colour mode and camera.
    pub fn with_view(mut self, colour: ColorMode, camera: CameraMode) -> RenderParams {
        self.colour = colour.code();
        self.camera = camera.code();
        self
    }
}

/// What the command line asked for, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RenderRequest {
    /// `--frames`: PNGs into RUN_DIR/frames/.
    pub frames: bool,
    /// `--movie [PATH]`: `Some("")` for the bare flag (RUN_DIR/movie.mp4).
    pub movie: Option<String>,
    pub fps: Option<u32>,
    /// `--size WxH`.
    pub size: Option<String>,
    pub frame_every: Option<u32>,
    /// `--color`.
    #[serde(default)]
    pub color: Option<String>,
    /// `--camera`.
    #[serde(default)]
    pub camera: Option<String>,
    /// `--title`: the talk's own caption, on every frame.
    #[serde(default)]
    pub title: Option<String>,
    /// `--preset talk|slides`.
    #[serde(default)]
    pub preset: Option<String>,
    /// `--hold S`: seconds the movie holds each transition's frame.
    #[serde(default)]
    pub hold: Option<f64>,
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
    pub colour: ColorMode,
    pub camera: CameraMode,
    pub title: Option<String>,
    /// Movie frames each transition's frame is held for (0: none).
    pub hold_frames: u32,
    /// Movie frames a transition's caption stays up.
    pub caption_frames: u32,
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

/// The default ticks between frames: a movie of about `seconds` at `fps`.
pub fn default_frame_every(ticks: u64, fps: u32, seconds: u32) -> u32 {
    let frames = (seconds as u64 * fps as u64).max(1);
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
            ("--color", req.color.is_some()),
            ("--camera", req.camera.is_some()),
            ("--title", req.title.is_some()),
            ("--preset", req.preset.is_some()),
            ("--hold", req.hold.is_some()),
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
    let preset = match &req.preset {
        Some(p) => Preset::parse(p)?,
        None => TALK,
    };
    let colour = req
        .color
        .as_deref()
        .map_or(Ok(ColorMode::default()), ColorMode::parse)?;
    let camera = req
        .camera
        .as_deref()
        .map_or(Ok(CameraMode::default()), CameraMode::parse)?;
    if let Some(t) = &req.title {
        if t.chars().count() > 80 || t.chars().any(char::is_control) {
            return Err(Error::bad_input(
                "--title: at most 80 characters on one line",
            ));
        }
    }
    let hold_s = req.hold.unwrap_or(preset.hold_s);
    if !(0.0..=10.0).contains(&hold_s) {
        return Err(Error::bad_input(format!(
            "--hold {hold_s}: seconds held on each transition must be from 0 to 10"
        )));
    }
    let fps = req.fps.unwrap_or(preset.fps);
    if !(1..=240).contains(&fps) {
        return Err(Error::bad_input(format!(
            "--fps {fps}: frames per second must be from 1 to 240"
        )));
    }
    let (width, height) = match &req.size {
        Some(s) => parse_size(s)?,
        None => preset.size,
    };
    let frame_every = match req.frame_every {
        Some(0) => {
            return Err(Error::bad_input(
                "--frame-every 0: ticks between frames must be at least 1",
            ))
        }
        Some(t) => t,
        None => default_frame_every(ticks, fps, preset.seconds),
    };
    let movie = match req.movie.as_deref() {
        None => None,
        Some("") => Some(Movie {
            kind: preset.kind,
            dest: MovieDest::RunDir(
                match preset.kind {
                    MovieKind::Mp4 => "movie.mp4",
                    MovieKind::Gif => "movie.gif",
                }
                .into(),
            ),
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
        colour,
        camera,
        title: req.title.clone(),
        hold_frames: (hold_s * fps as f64).round() as u32,
        caption_frames: (2.0 * fps as f64).round().max(1.0) as u32,
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

/// A colour mode or camera that draws communities needs the community tracker, which
/// `model.null_every = 0` turns off: refused before the run.
pub fn check_groups_drawn(plan: &RenderPlan, scenario: &crate::config::Scenario) -> Result<()> {
    let needs = plan.colour == ColorMode::Community || plan.camera == CameraMode::Follow;
    let params = crate::model::lifecycle::LifecycleParams::from_config(scenario);
    if needs && params.null_every == 0 {
        let flag = if plan.colour == ColorMode::Community {
            "--color community"
        } else {
            "--camera follow"
        };
        return Err(Error::bad_input(format!(
            "{flag}: communities are drawn from the community tracker, which model.null_every = 0 turns off; set model.null_every to at least 1"
        )));
    }
    Ok(())
}
