//! Runs `rng_draws.wgsl`, which writes the random words (and one normal draw) of each
//! agent, so the WGSL hash can be checked against [`crate::rng`] bit for bit.

use super::{buffers, shaders, GpuContext};
use crate::error::Result;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    n: u32,
    seed: u32,
    tick: u32,
    stream: u32,
}
crate::host_layout! { Params { n, seed, tick, stream } }

/// The four words of `rand4(seed, tick, i, stream)` and `normal(words.x, words.y)` for
/// every agent `i < n`, computed on the GPU.
pub fn draws(
    ctx: &GpuContext,
    n: u32,
    seed: u32,
    tick: u32,
    stream: u32,
) -> Result<(Vec<[u32; 4]>, Vec<f32>)> {
    let params = buffers::uniform(
        ctx,
        "rng params",
        &Params {
            n,
            seed,
            tick,
            stream,
        },
    );
    let words = buffers::zeroed(ctx, "words", n as u64 * 16);
    let normals = buffers::zeroed(ctx, "normals", n as u64 * 4);
    let kernel = shaders::pipeline(&ctx.device, "rng_draws")?;
    let group = buffers::bind(ctx, &kernel, &[(0, &params), (1, &words), (2, &normals)]);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        buffers::dispatch(ctx, &mut pass, &kernel, &group, n);
    }
    ctx.queue.submit([encoder.finish()]);
    Ok((
        buffers::read_back(ctx, &words, 0, n as usize)?,
        buffers::read_back(ctx, &normals, 0, n as usize)?,
    ))
}
