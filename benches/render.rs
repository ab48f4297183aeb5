//! The cost of a rendered frame at 1920 × 1080, on planted communities of 50 agents (mean
//! degree 8, 7 of them inside, every tie strong: the layout and the tie lines have real
//! work; the dynamics do not matter to the cost) at N = 100,000 (`EMERGENCE_RENDER_N`
//! sets N), drawn as the movie preset draws them: the planted blocks as the communities
//! (two-level layout, `--color community`, `--camera fit`). On the CPU backend (group `render_cpu`): the layout steps of one frame
//! (`LAYOUT_STEPS_PER_FRAME`), splat + tie lines + pack, and the overlay + PNG encoding
//! (host work on either backend). On the GPU (`render_gpu`, skipped with a note when
//! `GpuContext::new(None)` fails): the layout steps alone, splat + lines + pack with the
//! readback of the pixels, and a whole frame with its layout steps, each from submission
//! to the device's idle. The layout moves the positions on from one iteration to the next,
//! as in a movie. Throughput is in agents per frame.
//!
//! `cargo bench --bench render` (`EMERGENCE_RENDER_N=1000000 cargo bench --bench render`
//! for the figures at 10^6 in docs/render.md; criterion's `--measurement-time S` and
//! `--sample-size K` change the run's length). On Linux without a GPU, lavapipe needs
//! `XDG_RUNTIME_DIR` set.

mod common;
use common::short;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use emergence::config::Scenario;
use emergence::gpu::{buffers, GpuContext};
use emergence::graph::{generators, TieStore};
use emergence::model::lifecycle::{Lifecycle, LifecycleParams};
use emergence::render::drive::{self, render_cpu};
use emergence::render::gpu::{GpuRenderer, RenderInputs};
use emergence::render::groups::Groups;
use emergence::render::layout::{ForceLayout, TieView};
use emergence::render::overlay::OverlayInfo;
use emergence::render::writer::{compose, write_png, Frame};
use emergence::render::{CameraMode, ColorMode, RenderParams, LAYOUT_STEPS_PER_FRAME};

const SIZE: (u32, u32) = (1920, 1080);

fn agents() -> u32 {
    common::env_or("EMERGENCE_RENDER_N", 100_000)
}

/// A lifecycle state on planted communities (ties at weight 0.6, strong), knowledge
/// spread over agents so the colours vary, and its render parameters.
fn scene() -> (Lifecycle, RenderParams, Groups) {
    let n = agents();
    let p = LifecycleParams::from_config(&Scenario::default());
    let (edges, blocks) =
        generators::stochastic_block(n, n / 50, 8.0, 7.0, 3).expect("the planted graph builds");
    let ties = TieStore::from_edges(&edges, p.slots, 0.6).0;
    let mut life = Lifecycle::new(n, 1, &p, ties);
    for (i, k) in life.knowledge.iter_mut().enumerate() {
        *k = (i % 97) as f32;
    }
    let rp = RenderParams::new(
        life.n,
        life.ties.slots,
        SIZE,
        life.seed,
        p.strong_tie,
        p.mastery,
    )
    .with_view(ColorMode::Community, CameraMode::Fit);
    (life, rp, Groups::from_labels(&blocks, 5))
}

fn cpu(c: &mut Criterion) {
    let (life, rp, groups) = scene();
    let mut g = c.benchmark_group("render_cpu");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(life.n as u64));
    let mut lay = ForceLayout::new(rp, 1);
    lay.set_groups(groups);
    g.bench_function("layout_steps", |b| {
        b.iter(|| lay.step(TieView::from(&life.ties), LAYOUT_STEPS_PER_FRAME))
    });
    g.bench_function("splat_lines_pack", |b| {
        b.iter(|| render_cpu(&life, &mut lay))
    });
    let frame = Frame {
        tick: 1,
        pixels: render_cpu(&life, &mut lay),
        overlay: OverlayInfo {
            tick: 1,
            stage: 1,
            series: vec![vec![(0.0, 0.1), (1.0, 0.5)]; 4],
            first_tick: 0.0,
            last_tick: 2.0,
            agents: life.n,
            colour: ColorMode::Community,
            title: Some("Emergence".into()),
            caption: Some((2, "1000 communities, median 50 members".into())),
            bands: vec![(0.0, 1)],
        },
        hold: 0,
    };
    let dir = std::env::temp_dir().join(format!("emergence-bench-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let png = dir.join("frame.png");
    g.bench_function("overlay_png", |b| {
        b.iter(|| {
            let rgba = compose(&frame, SIZE.0, SIZE.1);
            write_png(&png, &rgba, SIZE.0, SIZE.1).expect("the PNG is written")
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn gpu(c: &mut Criterion) {
    let ctx = match GpuContext::new(None) {
        Ok(ctx) => ctx,
        Err(e) => {
            println!("render_gpu skipped: no GPU adapter ({e})");
            return;
        }
    };
    let (life, rp, groups) = scene();
    // The state's buffers, as a renderer reads them.
    let phi = buffers::storage(&ctx, "phi", &life.phi);
    let knowledge = buffers::storage(&ctx, "knowledge", &life.knowledge);
    let adopted_at = buffers::storage(&ctx, "adopted_at", &life.adopted_at);
    let degree = buffers::storage(&ctx, "degree", &life.ties.degree);
    let whole = emergence::gpu::shaders::SlotSplit::WHOLE;
    let neighbor = buffers::SlotArray::upload(&ctx, "neighbor", &life.ties.neighbor, whole);
    let weight = buffers::SlotArray::upload(&ctx, "weight", &life.ties.weight, whole);
    let inputs = RenderInputs {
        phi: &phi,
        knowledge: &knowledge,
        adopted_at: &adopted_at,
        degree: &degree,
        neighbor: &neighbor,
        weight: &weight,
    };
    let pos = emergence::render::layout::initial_positions(life.n, 1);
    let mut r = GpuRenderer::new(&ctx, rp, &pos, inputs).expect("the renderer starts");
    r.set_groups(&ctx, &groups);
    // One frame first, so the layout has left its random start as on the CPU.
    drive::render_gpu_once(&ctx, &r, LAYOUT_STEPS_PER_FRAME).expect("a frame renders");
    let mut g = c.benchmark_group("render_gpu");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(life.n as u64));
    g.bench_function("layout_steps", |b| {
        b.iter(|| {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            r.record_layout(&ctx, &mut encoder, LAYOUT_STEPS_PER_FRAME);
            ctx.queue.submit([encoder.finish()]);
            ctx.wait().expect("the layout runs")
        })
    });
    g.bench_function("splat_lines_pack_readback", |b| {
        b.iter(|| drive::render_gpu_once(&ctx, &r, 0).expect("a frame renders"))
    });
    g.bench_function("frame_with_layout", |b| {
        b.iter(|| {
            drive::render_gpu_once(&ctx, &r, LAYOUT_STEPS_PER_FRAME).expect("a frame renders")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = short();
    targets = cpu, gpu
}
criterion_main!(benches);
