//! Frames and movies: the layout and render kernels against their CPU twins, the
//! layout's measured quality, a frame's pixels, determinism, and the CLI's writers.

use crate::common::{emergence, gpu, scratch};
use emergence::analysis::community_tracker::{CommunityTracker, TrackerParams};
use emergence::config::Scenario;
use emergence::gpu::{buffers, GpuContext};
use emergence::graph::{generators, TieStore};
use emergence::io::MetricsTable;
use emergence::model::lifecycle::{Lifecycle, LifecycleParams};
use emergence::render::drive::{self, render_cpu};
use emergence::render::gpu::{GpuRenderer, RenderBuffer, RenderInputs, RenderPass};
use emergence::render::groups::Groups;
use emergence::render::layout::{self, ForceLayout, TieView};
use emergence::render::overlay::{Captioner, OverlayInfo};
use emergence::render::writer::{compose, Frame};
use emergence::render::{splat, CameraMode, ColorMode, RenderParams};
use std::path::Path;
use std::process::Command;

/// A lifecycle state after `ticks` ticks on the CPU (default model, seed 1).
fn lifecycle_state(n: u32, ticks: u32) -> (Lifecycle, LifecycleParams) {
    let p = LifecycleParams::from_config(&Scenario::default());
    let mut life = Lifecycle::new(n, 1, &p, TieStore::empty(n, p.slots));
    for _ in 0..ticks {
        life.step(&p);
    }
    (life, p)
}

/// The same with its label-propagation communities (a metrics row's labels).
fn lifecycle_with_labels(n: u32, ticks: u32) -> (Lifecycle, LifecycleParams) {
    let (mut life, p) = lifecycle_state(n, ticks);
    let _ = life.metrics(&p, 10);
    (life, p)
}

/// A stochastic block model in tie slots, every tie at weight 1 (all strong).
fn sbm(n: u32, blocks: u32) -> TieStore {
    let (edges, _) = generators::stochastic_block(n, blocks, 8.0, 7.0, 3).unwrap();
    TieStore::from_edges(&edges, 32, 1.0).0
}

fn params(life: &Lifecycle, p: &LifecycleParams, size: (u32, u32)) -> RenderParams {
    RenderParams::new(
        life.n,
        life.ties.slots,
        size,
        life.seed,
        p.strong_tie,
        p.mastery,
    )
}

/// The state's buffers on the device, as a renderer reads them.
struct Uploaded([wgpu::Buffer; 4], [buffers::SlotArray; 2]);

impl Uploaded {
    fn new(ctx: &GpuContext, life: &Lifecycle) -> Uploaded {
        let whole = emergence::gpu::shaders::SlotSplit::WHOLE;
        Uploaded(
            [
                buffers::storage(ctx, "phi", &life.phi),
                buffers::storage(ctx, "knowledge", &life.knowledge),
                buffers::storage(ctx, "adopted_at", &life.adopted_at),
                buffers::storage(ctx, "degree", &life.ties.degree),
            ],
            [
                buffers::SlotArray::upload(ctx, "neighbor", &life.ties.neighbor, whole),
                buffers::SlotArray::upload(ctx, "weight", &life.ties.weight, whole),
            ],
        )
    }

    fn inputs(&self) -> RenderInputs<'_> {
        let [phi, knowledge, adopted_at, degree] = &self.0;
        let [neighbor, weight] = &self.1;
        RenderInputs {
            phi,
            knowledge,
            adopted_at,
            degree,
            neighbor,
            weight,
        }
    }
}

fn run_pass(ctx: &GpuContext, r: &GpuRenderer, pass: RenderPass) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    r.record_pass(ctx, &mut encoder, pass);
    ctx.queue.submit([encoder.finish()]);
}

/// The layout kernels: density grid and both smoothings bit-identical to the CPU twins,
/// positions after a forces step within 1e-5 (f32 division and sqrt may differ in the
/// last bits on a GPU).
#[test]
fn layout_kernels_match_their_cpu_twins() {
    let Some(ctx) = gpu() else { return };
    let (life, p) = lifecycle_with_labels(3000, 400);
    let rp = params(&life, &p, (320, 180));
    let pos = layout::initial_positions(life.n, 7);
    let up = Uploaded::new(&ctx, &life);
    let r = GpuRenderer::new(&ctx, rp, &pos, up.inputs()).unwrap();
    run_pass(&ctx, &r, RenderPass::Density);
    let density = layout::layout_density(&rp, &pos);
    assert_eq!(r.read(&ctx, RenderBuffer::Density).unwrap(), density);
    assert_eq!(density.iter().sum::<u32>(), life.n);
    run_pass(&ctx, &r, RenderPass::LayoutSmooth);
    let smooth = layout::layout_smooth(&rp, &density);
    assert_eq!(r.read(&ctx, RenderBuffer::Smooth).unwrap(), smooth);
    run_pass(&ctx, &r, RenderPass::LayoutSmoothBack);
    let twice = layout::layout_smooth(&rp, &smooth);
    assert_eq!(r.read(&ctx, RenderBuffer::Density).unwrap(), twice);
    run_pass(&ctx, &r, RenderPass::Forces);
    let cpu = layout::layout_forces(&rp, &pos, &twice, TieView::from(&life.ties));
    let gpu_next = r.next_positions(&ctx).unwrap();
    assert!(
        worst(&cpu, &gpu_next) < 1e-5,
        "forces: {}",
        worst(&cpu, &gpu_next)
    );
    let moved = cpu.iter().zip(&pos).filter(|(a, b)| a != b).count();
    assert!(moved > life.n as usize / 2, "only {moved} agents moved");
    // The second level: group sums and cohesion, from the device's own forces step so
    // the twins see the same inputs. Groups: the state's label-propagation labels.
    let groups = Groups::from_labels(&life.labels, 5);
    assert!(groups.len() > 20, "{} groups", groups.len());
    let mut r = r;
    r.set_groups(&ctx, &groups);
    let mut rp = rp;
    rp.groups = groups.len() as u32;
    rp.follow = groups.follow;
    run_pass(&ctx, &r, RenderPass::Groups);
    let sums = layout::layout_groups(&rp, &pos, &gpu_next, &groups.of_agent);
    let gpu_sums = r.read(&ctx, RenderBuffer::GroupSums).unwrap();
    for (g, (a, b)) in sums.chunks(5).zip(gpu_sums.chunks(5)).enumerate() {
        // Positions and counts are exact; the moves go through a division, which may
        // differ in the last bit on a GPU: at most one unit per member.
        assert_eq!([a[0], a[1], a[4]], [b[0], b[1], b[4]], "group {g}");
        for k in [2, 3] {
            assert!(
                a[k].abs_diff(b[k]) <= a[4],
                "group {g} word {k}: {a:?} {b:?}"
            );
        }
    }
    run_pass(&ctx, &r, RenderPass::Cohesion);
    let mut next = gpu_next.clone();
    layout::layout_cohesion(
        &rp,
        &pos,
        &groups.of_agent,
        &gpu_sums,
        &life.ties.degree,
        &mut next,
    );
    let gpu_pos = r.positions(&ctx).unwrap();
    assert!(
        worst(&next, &gpu_pos) < 1e-5,
        "cohesion: {}",
        worst(&next, &gpu_pos)
    );
    let pulled = next.iter().zip(&gpu_next).filter(|(a, b)| a != b).count();
    assert!(pulled > life.n as usize / 4, "only {pulled} agents pulled");
}

fn worst(a: &[[f32; 2]], b: &[[f32; 2]]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a[0] - b[0]).abs().max((a[1] - b[1]).abs()))
        .fold(0.0f32, f32::max)
}

/// The camera and colour kernels: bounds exact, the camera within float rounding (and
/// moving a quarter of the way each frame), every colour mode's colours exact, and a
/// frame under a moving camera culls what is out of view.
#[test]
fn camera_and_colour_kernels_match_their_cpu_twins() {
    let Some(ctx) = gpu() else { return };
    let (mut life, p) = lifecycle_with_labels(3000, 700);
    // Some adopters, so every mode has more than one colour to give.
    for i in (0..life.n as usize).step_by(7) {
        life.adopted_at[i] = 650;
    }
    let groups = Groups::from_labels(&life.labels, 5);
    for mode in ColorMode::ALL {
        let rp = params(&life, &p, (320, 180)).with_view(mode, CameraMode::Follow);
        let mut lay = ForceLayout::new(rp, life.seed);
        lay.set_groups(groups.clone());
        lay.step(TieView::from(&life.ties), 30);
        let up = Uploaded::new(&ctx, &life);
        let mut r = GpuRenderer::new(&ctx, rp, &lay.pos, up.inputs()).unwrap();
        r.set_groups(&ctx, &groups);
        let rp = lay.params;
        run_pass(&ctx, &r, RenderPass::Bounds);
        let bounds = splat::render_bounds(&rp, &lay.pos, &groups.of_agent);
        let gpu_bounds = r.read(&ctx, RenderBuffer::Bounds).unwrap();
        assert_eq!(gpu_bounds, bounds.to_vec());
        assert!(bounds[6] > 0, "the followed group has members");
        run_pass(&ctx, &r, RenderPass::Camera);
        let first = splat::render_camera(&rp, &bounds, [0.0; 4]);
        let gpu_cam = r.camera(&ctx).unwrap();
        for k in 0..4 {
            assert!(
                (first[k] - gpu_cam[k]).abs() < 1e-6,
                "{first:?} {gpu_cam:?}"
            );
        }
        // Following a community: a view smaller than the whole square.
        assert!(first[2] < 0.9 && first[3] == 1.0, "{first:?}");
        run_pass(&ctx, &r, RenderPass::Camera);
        let moved = splat::render_camera(&rp, &bounds, [0.0, 0.0, 1.0, 1.0]);
        let from_fixed = splat::render_camera(&rp, &bounds, first);
        assert_eq!(from_fixed, first, "at its target the camera stays");
        assert!((moved[2] - (1.0 + 0.25 * (first[2] - 1.0))).abs() < 1e-6);
        run_pass(&ctx, &r, RenderPass::Colour);
        let colour = splat::render_colour(
            &rp,
            &life.phi,
            &life.knowledge,
            &life.adopted_at,
            &life.ties.degree,
            &groups.of_agent,
            &groups.palette,
        );
        assert_eq!(
            r.read(&ctx, RenderBuffer::Colour).unwrap(),
            colour,
            "{mode:?}"
        );
        let distinct: std::collections::BTreeSet<u32> = colour.iter().copied().collect();
        assert!(distinct.len() >= 2, "{mode:?}: one colour for all");
        // Splat under the same camera: exact, and agents out of view are not drawn.
        r.set_camera(&ctx, first);
        run_pass(&ctx, &r, RenderPass::Splat);
        let accum = splat::render_splat(&rp, &lay.pos, &colour, &first);
        assert_eq!(r.read(&ctx, RenderBuffer::Accum).unwrap(), accum);
        let drawn: u32 = accum.chunks(4).map(|c| c[3]).sum();
        let in_view = lay
            .pos
            .iter()
            .filter(|q| splat::view_pixel(&rp, &first, **q).is_some())
            .count() as u32;
        assert!(in_view < life.n, "the follow camera shows only part");
        assert!(drawn >= in_view && drawn <= in_view * rp.point * rp.point);
    }
}

/// The colour modes say what they claim: in `stage` mode an isolated agent, a networked
/// one, a member of a community of practice and an adopter get the legend's four
/// colours; in `community` mode members of one group share their lineage colour and
/// agents outside every group are grey.
#[test]
fn colour_modes_colour_what_the_legend_says() {
    let (life, p) = lifecycle_with_labels(3000, 700);
    let groups = Groups::from_labels(&life.labels, 5);
    let colours = |mode| {
        let rp = params(&life, &p, (320, 180)).with_view(mode, CameraMode::Fixed);
        splat::render_colour(
            &rp,
            &life.phi,
            &life.knowledge,
            &life.adopted_at,
            &life.ties.degree,
            &groups.of_agent,
            &groups.palette,
        )
    };
    let pack = |c: [u32; 3]| c[0] | (c[1] << 8) | (c[2] << 16);
    let stage = colours(ColorMode::Stage);
    let community = colours(ColorMode::Community);
    let mut seen = [0; 4];
    for i in 0..life.n as usize {
        let want = if life.adopted_at[i] != u32::MAX {
            splat::INFLUENCE
        } else if groups.of_agent[i] != u32::MAX {
            splat::PRACTICE
        } else if life.ties.degree[i] > 0 {
            splat::NETWORKED
        } else {
            splat::ISOLATED
        };
        seen[[
            splat::INFLUENCE,
            splat::PRACTICE,
            splat::NETWORKED,
            splat::ISOLATED,
        ]
        .iter()
        .position(|&c| c == want)
        .unwrap()] += 1;
        assert_eq!(stage[i], pack(want), "agent {i}");
        match groups.of_agent[i] {
            u32::MAX => assert_eq!(community[i], pack(splat::NO_COMMUNITY)),
            g => assert_eq!(community[i], groups.palette[g as usize] & 0xff_ffff),
        }
    }
    assert!(seen[1] > 0 && seen[2] > 0 && seen[3] > 0, "{seen:?}");
    // Lineage colours are spread: the groups do not all share a few hues.
    let hues: std::collections::BTreeSet<u32> =
        groups.palette.iter().map(|c| c & 0xff_ffff).collect();
    assert!(
        hues.len() * 10 >= groups.len() * 9,
        "{} of {}",
        hues.len(),
        groups.len()
    );
}

/// The two-level layout draws communities as islands: the mean distance between two
/// members of a community is at most a fifth of the mean distance between community
/// centres, for planted blocks and for a lifecycle run in stage 2 (its tracker's
/// communities); random positions, the control, fail the same criterion by far.
#[test]
fn layout_draws_communities_as_islands() {
    let check = |name: &str, ties: &TieStore, groups: Groups, steps: u32| {
        let rp = RenderParams::new(ties.n, ties.slots, (640, 360), 1, 0.5, 60.0);
        let mut lay = ForceLayout::new(rp, 1);
        let (w0, b0) = layout::community_separation(&lay.pos, &groups.of_agent, 5);
        assert!(w0 > b0, "{name}: random positions {w0} vs {b0}");
        lay.set_groups(groups);
        lay.step(TieView::from(ties), steps);
        let (w, b) = layout::community_separation(&lay.pos, &lay.groups.of_agent, 5);
        assert!(w <= b / 5.0, "{name}: within {w} vs between {b}");
        // Not a collapse: the islands are spread over the square.
        assert!(b > 0.15, "{name}: centres only {b} apart");
        (w, b)
    };
    let (edges, blocks) = generators::stochastic_block(4000, 40, 8.0, 7.0, 3).unwrap();
    let planted = TieStore::from_edges(&edges, 32, 1.0).0;
    check("sbm", &planted, Groups::from_labels(&blocks, 5), 60);
    // A lifecycle run past the start of stage 2 (tick 700 at N = 4,000), its
    // communities as the run's tracker saw them every 50 ticks.
    let p = LifecycleParams::from_config(&Scenario::default());
    let n = 4000;
    let mut life = Lifecycle::new(n, 1, &p, TieStore::empty(n, p.slots));
    let mut tracker = CommunityTracker::new(TrackerParams::default());
    for t in 1..=800u32 {
        life.step(&p);
        if t % 50 == 0 {
            let _ = life.metrics(&p, 50);
            let (_, growth) = life.null_sample(&p);
            life.track_communities(&mut tracker, &growth);
        }
    }
    let groups = Groups::from_tracker(&tracker, n);
    assert!(groups.len() >= 20, "{} communities", groups.len());
    assert!(groups.practices().0 > 0, "some have lasted 100 ticks");
    check("lifecycle", &life.ties, groups, 60);
}

/// Captions come at the frame where the online tracker confirms a stage, once, with the
/// hold the plan asks for, and say what was measured; the stage bands follow.
#[test]
fn captions_come_once_at_each_confirmed_transition() {
    let dir = scratch("render-captions");
    run_ok(
        &dir,
        &[
            "run",
            "--agents",
            "3000",
            "--ticks",
            "1600",
            "-q",
            "--backend",
            "cpu",
            "--out",
            "r",
        ],
    );
    let csv = std::fs::read_to_string(dir.join("r/metrics.csv")).unwrap();
    let table = emergence::report::parse_metrics_csv(&csv, Path::new("metrics.csv")).unwrap();
    let req = emergence::render::RenderRequest {
        frames: true,
        hold: Some(1.5),
        fps: Some(10),
        ..Default::default()
    };
    let plan = emergence::render::plan(&req, true, 1600, false)
        .unwrap()
        .unwrap();
    assert_eq!((plan.hold_frames, plan.caption_frames), (15, 20));
    let mut captions = Captioner::new(&plan, 3000, 0, 1600, false);
    let online = emergence::analysis::stages::OnlineTracker::replay(
        &table,
        emergence::analysis::stages::StageParams::new(3000),
    );
    let said = online.said().to_vec();
    assert!(said.len() >= 2, "{said:?}");
    let mut held = Vec::new();
    let mut last_caption = None;
    for tick in (0..=1600u64).step_by(10) {
        let seen = MetricsTable {
            columns: table.columns.clone(),
            rows: table
                .rows
                .iter()
                .filter(|r| r[0] <= tick as f64)
                .cloned()
                .collect(),
        };
        let (info, hold) = captions.frame(&seen, tick, &[(12, true), (30, false), (8, true)]);
        if hold > 0 {
            held.push((tick, info.stage, hold));
            let (stage, line) = info.caption.clone().expect("a held frame is captioned");
            assert_eq!(stage, info.stage);
            assert!(!line.is_empty());
            if stage == 2 {
                assert_eq!(
                    line,
                    "3 communities, median 12 members; 2 have lasted 100 ticks"
                );
            }
        }
        last_caption = info.caption.clone().or(last_caption);
        assert_eq!(
            info.bands.len(),
            said.iter().filter(|t| t.confirmed_at <= tick).count()
        );
    }
    let want: Vec<(u64, u8, u32)> = said
        .iter()
        .map(|t| (t.confirmed_at.div_ceil(10) * 10, t.stage, 15))
        .collect();
    assert_eq!(held, want, "one held, captioned frame per confirmed stage");
    assert!(last_caption.is_some());
}

/// The render kernels (splat, tie lines, pack) produce the CPU twins' sums and pixels to
/// the bit from the same positions.
#[test]
fn render_kernels_match_their_cpu_twins() {
    let Some(ctx) = gpu() else { return };
    let (life, p) = lifecycle_state(3000, 700);
    let rp = params(&life, &p, (320, 180));
    let mut lay = ForceLayout::new(rp, life.seed);
    lay.step(TieView::from(&life.ties), 40);
    let up = Uploaded::new(&ctx, &life);
    let r = GpuRenderer::new(&ctx, rp, &lay.pos, up.inputs()).unwrap();
    let fixed = splat::FIXED_CAMERA;
    run_pass(&ctx, &r, RenderPass::Camera);
    assert_eq!(r.camera(&ctx).unwrap(), fixed);
    run_pass(&ctx, &r, RenderPass::Colour);
    let colour = splat::render_colour(
        &rp,
        &life.phi,
        &life.knowledge,
        &life.adopted_at,
        &life.ties.degree,
        &lay.groups.of_agent,
        &lay.groups.palette,
    );
    assert_eq!(r.read(&ctx, RenderBuffer::Colour).unwrap(), colour);
    run_pass(&ctx, &r, RenderPass::Splat);
    let accum = splat::render_splat(&rp, &lay.pos, &colour, &fixed);
    assert_eq!(r.read(&ctx, RenderBuffer::Accum).unwrap(), accum);
    run_pass(&ctx, &r, RenderPass::Ties);
    let lines = splat::render_ties(&rp, &lay.pos, TieView::from(&life.ties), &fixed);
    assert!(lines.iter().any(|&l| l > 0), "some strong ties are drawn");
    assert_eq!(r.read(&ctx, RenderBuffer::Lines).unwrap(), lines);
    run_pass(&ctx, &r, RenderPass::Pack);
    let image = splat::render_pack(&rp, &accum, &lines);
    assert_eq!(r.read(&ctx, RenderBuffer::Image).unwrap(), image);
    assert_eq!(drive::render_gpu_once(&ctx, &r, 0).unwrap(), image);
}

/// The layout's measured quality: strong ties shorter than a quarter of the mean
/// distance between random pairs once communities have formed, and not before (random
/// start positions), for planted blocks and for a lifecycle run past stage 2.
#[test]
fn layout_pulls_communities_together() {
    let check = |name: &str, ties: &TieStore, steps: u32| {
        let rp = RenderParams::new(ties.n, ties.slots, (640, 360), 1, 0.5, 60.0);
        let mut lay = ForceLayout::new(rp, 1);
        let (s0, r0) = layout::tie_lengths(&lay.pos, TieView::from(ties), 0.5, 1, 20_000);
        assert!(s0 > 0.25 * r0, "{name}: at the random start {s0} vs {r0}");
        lay.step(TieView::from(ties), steps);
        let (s, r) = layout::tie_lengths(&lay.pos, TieView::from(ties), 0.5, 1, 20_000);
        assert!(s < 0.25 * r, "{name}: after {steps} steps {s} vs {r}");
        // Still spread out, not collapsed to a point.
        assert!(r > 0.15, "{name}: random pairs only {r} apart");
    };
    check("sbm", &sbm(4000, 40), 100);
    let (life, _) = lifecycle_state(4000, 800);
    check("lifecycle", &life.ties, 100);
}

/// A scene with known colours: red agents (φ = 0) on the left, green (φ = 2π/3) on the
/// right, all adopted. The frame is not blank, has the expected hues where the agents
/// are, and the overlay adds text; the GPU draws the same pixels.
#[test]
fn a_frame_shows_hues_where_agents_are_and_the_overlay() {
    let n = 2000u32;
    let p = LifecycleParams::from_config(&Scenario::default());
    let mut life = Lifecycle::new(n, 1, &p, TieStore::empty(n, p.slots));
    let mut pos = Vec::new();
    for i in 0..n {
        let left = i % 2 == 0;
        life.phi[i as usize] = if left {
            0.0
        } else {
            std::f32::consts::TAU / 3.0
        };
        life.adopted_at[i as usize] = 0;
        let f = (i / 2) as f32 / (n / 2) as f32;
        let x = if left { 0.1 } else { 0.7 } + 0.2 * (f * 37.0).fract();
        pos.push([x, 0.1 + 0.8 * f]);
    }
    let (w, h) = (640u32, 360u32);
    let rp = params(&life, &p, (w, h));
    let mut lay = ForceLayout::fixed(rp, pos.clone());
    let pixels = render_cpu(&life, &mut lay);
    let bg = pixels[0];
    let lit = pixels.iter().filter(|&&q| q != bg).count();
    assert!(lit > 1000, "only {lit} pixels differ from the background");
    let rgb = |q: u32| [q & 255, (q >> 8) & 255, (q >> 16) & 255];
    let (mut red, mut green) = (0, 0);
    for (i, q) in pos.iter().enumerate() {
        let (x, y) = splat::pixel_of(&rp, *q);
        let [r, g, b] = rgb(pixels[(y * w + x) as usize]);
        if i % 2 == 0 && r > 2 * g && r > 2 * b && r > 150 {
            red += 1;
        }
        if i % 2 == 1 && g > 2 * r && g > 2 * b && g > 150 {
            green += 1;
        }
    }
    assert!(
        red > 950 && green > 950,
        "red {red}, green {green} of 1000 each"
    );
    let frame = Frame {
        tick: 42,
        pixels: pixels.clone(),
        overlay: OverlayInfo {
            tick: 42,
            stage: 2,
            series: vec![vec![(0.0, 0.1), (42.0, 0.5)]; 4],
            first_tick: 0.0,
            last_tick: 100.0,
            agents: n,
            colour: ColorMode::Purpose,
            title: Some("A talk".into()),
            caption: Some((2, "27 communities".into())),
            bands: vec![(10.0, 1), (30.0, 2)],
        },
        hold: 0,
    };
    let raw: Vec<u8> = bytemuck::cast_slice(&pixels).to_vec();
    let drawn = compose(&frame, w, h);
    // The overlay's corner: the background only, until the text and sparklines come.
    let corner = || (0..180u32).flat_map(|y| (0..120u32).map(move |x| 4 * (y * w + x) as usize));
    let bright = |img: &[u8]| {
        corner()
            .filter(|&k| img[k] > 180 && img[k + 1] > 180 && img[k + 2] > 180)
            .count()
    };
    let changed = corner()
        .filter(|&k| raw[k..k + 3] != drawn[k..k + 3])
        .count();
    assert_eq!(bright(&raw), 0);
    assert!(
        bright(&drawn) > 30 && changed > 1000,
        "overlay: {} bright and {changed} changed pixels",
        bright(&drawn)
    );
    if let Some(ctx) = gpu() {
        let up = Uploaded::new(&ctx, &life);
        let r = GpuRenderer::new(&ctx, rp, &pos, up.inputs()).unwrap();
        assert_eq!(drive::render_gpu_once(&ctx, &r, 0).unwrap(), pixels);
    }
}

const SMALL: [&str; 6] = ["--agents", "2000", "--ticks", "300", "-q", "--force"];
const FRAMES: [&str; 4] = ["--size", "320x180", "--frame-every", "50"];

fn run_ok(dir: &Path, args: &[&str]) {
    let out = emergence(args, dir);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn with(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["run".into()];
    v.extend(SMALL.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_args(dir: &Path, args: &[String]) {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(dir, &a);
}

/// Rendering never changes the science: metrics.csv is the same byte for byte with and
/// without a movie, on each backend; the same seed gives the same frames on the same
/// backend; frames come at tick 0, every --frame-every ticks and the last tick.
fn science_and_frames_on(backend: &str) {
    let dir = scratch(&format!("render-science-{backend}"));
    let b = ["--backend", backend];
    run_args(&dir, &with(&[&b[..], &["--out", "plain"]].concat()));
    run_args(
        &dir,
        &with(
            &[
                &b[..],
                &FRAMES,
                &["--out", "a", "--frames", "--movie", "a.gif"],
            ]
            .concat(),
        ),
    );
    run_args(
        &dir,
        &with(&[&b[..], &FRAMES, &["--out", "b", "--frames"]].concat()),
    );
    let csv = |r: &str| std::fs::read(dir.join(r).join("metrics.csv")).unwrap();
    assert_eq!(
        csv("plain"),
        csv("a"),
        "{backend}: metrics differ with a movie"
    );
    assert_eq!(csv("plain"), csv("b"));
    let gif = std::fs::read(dir.join("a.gif")).unwrap();
    assert!(gif.starts_with(b"GIF89a"));
    let frames = |r: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(r).join("frames"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(frames("a").len(), 7, "{:?}", frames("a"));
    assert_eq!(frames("a")[6], "frame-000300.png");
    for name in frames("a") {
        let read = |r: &str| std::fs::read(dir.join(r).join("frames").join(&name)).unwrap();
        assert_eq!(
            read("a"),
            read("b"),
            "{backend}: {name} differs between runs"
        );
    }
    let last = std::fs::read(dir.join("a/frames/frame-000300.png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(last));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (320, 180));
}

#[test]
fn rendering_keeps_the_science_and_frames_repeat_on_cpu() {
    science_and_frames_on("cpu");
}

#[test]
fn rendering_keeps_the_science_and_frames_repeat_on_gpu() {
    if gpu().is_none() {
        return;
    }
    science_and_frames_on("gpu");
}

/// An MP4 through ffmpeg, checked with ffprobe: frame count and size. Skipped without
/// ffmpeg unless EMERGENCE_REQUIRE_FFMPEG=1 (CI), when a missing ffmpeg fails.
#[test]
fn mp4_has_the_frames_and_the_size() {
    if !emergence::render::ffmpeg_available() {
        if std::env::var("EMERGENCE_REQUIRE_FFMPEG").is_ok_and(|v| v == "1") {
            panic!("EMERGENCE_REQUIRE_FFMPEG=1 but ffmpeg is not on PATH");
        }
        eprintln!("SKIPPED: the MP4 test (no ffmpeg on PATH)");
        return;
    }
    let dir = scratch("render-mp4");
    run_args(
        &dir,
        &with(
            &[
                &FRAMES[..],
                &["--backend", "cpu", "--out", "r", "--movie", "--fps", "12"],
            ]
            .concat(),
        ),
    );
    let movie = dir.join("r/movie.mp4");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames,width,height,pix_fmt,codec_name",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(&movie)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "codec_name=h264",
        "width=320",
        "height=180",
        "pix_fmt=yuv420p",
        "nb_read_frames=7",
    ] {
        assert!(text.contains(want), "ffprobe says:\n{text}");
    }
    // A movie given by path lands there, and nothing else is left beside it.
    run_args(
        &dir,
        &with(
            &[
                &FRAMES[..],
                &["--backend", "cpu", "--out", "s", "--movie", "s.mp4"],
            ]
            .concat(),
        ),
    );
    assert!(dir.join("s.mp4").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Bad render flags: exit code 2, one line naming the flag, nothing written.
#[test]
fn bad_render_flags_are_refused_before_the_run() {
    let dir = scratch("render-bad");
    let cases: [(&[&str], &str); 15] = [
        (
            &["--movie", "x.gif", "--color", "rainbow"],
            "--color rainbow",
        ),
        (&["--frames", "--camera", "spin"], "--camera spin"),
        (
            &["--movie", "x.gif", "--preset", "cinema"],
            "--preset cinema",
        ),
        (&["--frames", "--hold", "11"], "--hold 11"),
        (&["--color", "stage"], "--color"),
        (&["--frames", "--title", "two\nlines"], "--title"),
        (
            &[
                "--frames",
                "--color",
                "community",
                "--set",
                "model.null_every=0",
            ],
            "--color community",
        ),
        (&["--movie", "out.avi"], "--movie out.avi"),
        (&["--movie", "x.gif", "--size", "100"], "--size 100"),
        (&["--frames", "--size", "321x180"], "--size 321x180"),
        (&["--frames", "--size", "0x0"], "--size 0x0"),
        (&["--movie", "x.gif", "--fps", "0"], "--fps 0"),
        (&["--frames", "--frame-every", "0"], "--frame-every 0"),
        (&["--fps", "24"], "--fps"),
        (
            &[
                concat!(env!("CARGO_MANIFEST_DIR"), "/configs/threshold.toml"),
                "--movie",
                "x.gif",
            ],
            "--movie",
        ),
    ];
    for (extra, mention) in cases {
        let mut args = vec!["run", "--agents", "100", "--out", "r"];
        args.extend_from_slice(extra);
        let out = emergence(&args, &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR") && !l.trim().is_empty())
            .collect();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {lines:?}");
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains(mention), "{args:?}: {}", lines[0]);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{args:?} wrote files"
        );
    }
    // An .mp4 with no ffmpeg on PATH is refused up front, naming the way out.
    let empty = scratch("render-no-path");
    let out = Command::new(env!("CARGO_BIN_EXE_emergence"))
        .args(["run", "--agents", "100", "--out", "r", "--movie", "m.mp4"])
        .current_dir(&dir)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ffmpeg") && err.contains(".gif"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
