//! `emergence render RUN_DIR`: frames and a movie of a lifecycle run after the fact, from
//! its saved snapshots (`--snapshot-every`, `--snapshot-at`), without running the model
//! again. One frame per snapshot: the CPU force layout ([`super::layout::ForceLayout`],
//! seeded by the run's seed) takes [`REPLAY_LAYOUT_STEPS`] steps over each snapshot's
//! ties, carrying its positions from one snapshot to the next so that the movie is
//! continuous; the CPU splat draws the snapshot's agents and strong ties; the overlay
//! shows the run's metrics rows up to the snapshot's tick; the writers of
//! [`super::writer`] make the PNGs (RUN_DIR/frames) and the movie. Everything is
//! deterministic in the run directory: the same snapshots give the same frames.

use super::layout::{ForceLayout, TieView};
use super::overlay::Captioner;
use super::writer::{Frame, FrameWriter};
use super::{splat, MovieDest, MovieKind, RenderParams, RenderRequest};
use crate::engine::Values;
use crate::error::{Error, Result};
use crate::export::snapshots::{SavedRun, Ties};
use crate::model::lifecycle::LifecycleParams;
use std::path::PathBuf;
use std::time::Instant;

/// Layout steps before each frame. Snapshots are usually tens of ticks apart, where a
/// run's own movie takes [`super::LAYOUT_STEPS_PER_FRAME`] steps every few ticks; this
/// many let the layout follow a snapshot's ties (communities clump within 100 steps from
/// a random start, docs/render.md) while the movie stays continuous.
pub const REPLAY_LAYOUT_STEPS: u32 = 100;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    pub run_dir: PathBuf,
    pub frames: bool,
    /// `--movie PATH`.
    pub movie: Option<String>,
    pub fps: Option<u32>,
    pub size: Option<String>,
    /// Replace an existing `--movie PATH`.
    pub force: bool,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub frames: usize,
    pub frames_dir: Option<PathBuf>,
    pub movie: Option<PathBuf>,
    pub fps: u32,
    pub seconds: f64,
}

impl Replayed {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(m) = &self.movie {
            out.push_str(&format!(
                "{}: {} frames at {} fps\n",
                m.display(),
                self.frames,
                self.fps
            ));
        }
        if let Some(d) = &self.frames_dir {
            out.push_str(&format!("{}: {} frames (PNG)\n", d.display(), self.frames));
        }
        out
    }
}

/// A replay's movie lasts about this many seconds by default.
const REPLAY_SECONDS: u32 = 10;

/// The default frames per second: the snapshots over about [`REPLAY_SECONDS`], from 1 to
/// the talk preset's frame rate.
pub fn default_fps(frames: usize) -> u32 {
    ((frames as f64 / REPLAY_SECONDS as f64).round() as u32).clamp(1, super::TALK.fps)
}

/// One snapshot's ties as tie slots (each tie in both ends' slots, in file order).
fn slots_of(n: u32, ties: &Ties) -> (u32, Vec<u32>, Vec<u32>, Vec<f32>) {
    let mut degree = vec![0u32; n as usize];
    for (&s, &d) in ties.src.iter().zip(&ties.dst) {
        degree[s as usize] += 1;
        degree[d as usize] += 1;
    }
    let k = degree.iter().copied().max().unwrap_or(0).max(1);
    let mut neighbor = vec![0u32; n as usize * k as usize];
    let mut weight = vec![0f32; n as usize * k as usize];
    let mut fill = vec![0u32; n as usize];
    for t in 0..ties.len() {
        let w = ties.weight.get(t).copied().unwrap_or(1.0);
        for (a, b) in [(ties.src[t], ties.dst[t]), (ties.dst[t], ties.src[t])] {
            let slot = a as usize * k as usize + fill[a as usize] as usize;
            neighbor[slot] = b;
            weight[slot] = w;
            fill[a as usize] += 1;
        }
    }
    (k, degree, neighbor, weight)
}

/// Render the run directory's snapshots as `opts` asks.
pub fn replay(opts: &ReplayOptions) -> Result<Replayed> {
    let started = Instant::now();
    let run = SavedRun::open(&opts.run_dir)?;
    let dir = &run.dir;
    let model = run.manifest.model.clone();
    if !crate::model::find(&model).is_ok_and(|m| m.renders()) {
        return Err(Error::bad_input(format!(
            "render {}: a {model} run; only the lifecycle model renders frames (model.kind = \"lifecycle\")",
            dir.display()
        )));
    }
    for needed in ["phi", "knowledge", "adopted_at"] {
        if !run.agent_columns.iter().any(|(n, _)| n == needed) {
            return Err(Error::bad_input(format!(
                "{}: no column `{needed}`; not a lifecycle snapshot",
                run.agents_path(run.ticks[0]).display()
            )));
        }
    }
    let config = dir.join("config.toml");
    let loaded = crate::config::load(Some(&config), &[])?;
    let params = LifecycleParams::from_config(&loaded.scenario);
    let csv = dir.join("metrics.csv");
    let text = std::fs::read_to_string(&csv).map_err(|e| {
        Error::bad_input(format!(
            "{}: cannot read the run's metrics ({e})",
            csv.display()
        ))
    })?;
    let table = crate::report::parse_metrics_csv(&text, &csv)?;

    // The request as `run` would check it; no flag at all asks for the default movie.
    let default_movie = opts.movie.is_none() && !opts.frames;
    let mp4 = default_movie && super::ffmpeg_available();
    let gif = default_movie && !mp4;
    let request = RenderRequest {
        // The default GIF goes through the checks as frames, then becomes the movie.
        frames: opts.frames || gif,
        movie: if mp4 {
            Some(String::new())
        } else {
            opts.movie.clone()
        },
        fps: opts.fps.or(Some(default_fps(run.ticks.len()))),
        size: opts.size.clone(),
        frame_every: None,
        ..Default::default()
    };
    let last = *run.ticks.last().expect("a snapshot");
    let mut plan = super::plan(&request, true, last.max(1), opts.force)?
        .expect("frames or a movie are asked for");
    if gif {
        plan.frames = false;
        plan.movie = Some(super::Movie {
            kind: MovieKind::Gif,
            dest: MovieDest::RunDir("movie.gif".into()),
        });
    }

    let seed = run.manifest.seed as u32;
    let n = run.agents;
    let rp = |slots: u32| {
        RenderParams::new(
            n,
            slots,
            (plan.width, plan.height),
            seed,
            params.strong_tie,
            params.mastery,
        )
        .with_view(plan.colour, plan.camera)
    };
    let mut layout = ForceLayout::new(rp(1), seed);
    let end_tick = run.manifest.tick.max(last);
    let mut writer = FrameWriter::start(&plan, dir, false)?;
    let mut captions = Captioner::new(&plan, n, 0, end_tick, false);
    for &tick in &run.ticks {
        let ties = run.read_ties(tick)?;
        let (k, degree, neighbor, weight) = slots_of(n, &ties);
        drop(ties);
        let view = TieView {
            slots: k,
            degree: &degree,
            neighbor: &neighbor,
            weight: &weight,
        };
        // The parameters depend on K only through `slots`, which the CPU passes read
        // from the view; the rest is the same for every snapshot.
        layout.params = rp(k);
        layout.step(view, REPLAY_LAYOUT_STEPS);
        let mut columns = run.read_agents(tick, Some(&["phi", "knowledge", "adopted_at"]))?;
        let take_f32 = |v: Values, name: &str| match v {
            Values::F32(v) => Ok(v),
            other => Err(Error::bad_input(format!(
                "{}: column `{name}` is {}, a lifecycle snapshot has f32",
                run.agents_path(tick).display(),
                other.type_name()
            ))),
        };
        let adopted_at = match columns.pop().map(|c| c.1) {
            Some(Values::U32(v)) => v,
            _ => {
                return Err(Error::bad_input(format!(
                    "{}: column `adopted_at` is not u32",
                    run.agents_path(tick).display()
                )))
            }
        };
        let knowledge = take_f32(columns.pop().expect("asked for").1, "knowledge")?;
        let phi = take_f32(columns.pop().expect("asked for").1, "phi")?;
        let camera = layout.frame_camera();
        let p = &layout.params;
        let colour = splat::render_colour(
            p,
            &phi,
            &knowledge,
            &adopted_at,
            &degree,
            &layout.groups.of_agent,
            &layout.groups.palette,
        );
        let accum = splat::render_splat(p, &layout.pos, &colour, &camera);
        let lines = splat::render_ties(p, &layout.pos, view, &camera);
        let pixels = splat::render_pack(p, &accum, &lines);
        let (overlay, hold) = captions.frame(&table, tick, &[]);
        writer.send(Frame {
            tick,
            pixels,
            overlay,
            hold,
        })?;
    }
    let (stats, pending) = writer.finish()?;
    let movie = pending.map(|m| m.commit()).transpose()?;
    let out = Replayed {
        frames: stats.frames as usize,
        frames_dir: plan.frames.then(|| dir.join("frames")),
        movie,
        fps: plan.fps,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(
        "{} frames from {} snapshots in {:.2} s ({} layout steps each)",
        out.frames,
        run.ticks.len(),
        out.seconds,
        REPLAY_LAYOUT_STEPS
    );
    Ok(out)
}
