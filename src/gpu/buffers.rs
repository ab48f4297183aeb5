//! Buffers on the device: creation from slices, chunking of arrays that outgrow one
//! storage binding, and blocking readback (used only outside the tick loop or for the
//! periodic metrics).

use super::shaders::{SlotSplit, CHUNK_STRIDE};
use super::GpuContext;
use crate::error::{Error, Result};
use wgpu::util::DeviceExt;

/// Number of bindings a chunked array may be split over (the `csr.wgsl` switch).
pub const MAX_CHUNKS: usize = 4;

pub fn storage<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    // A zero-sized binding is invalid; keep one element's room.
    let bytes: &[u8] = bytemuck::cast_slice(data);
    let padded;
    let contents = if bytes.is_empty() {
        padded = [0u8; 4];
        &padded[..]
    } else {
        bytes
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        })
}

pub fn zeroed(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

pub fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, value: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// A u32 array split over up to [`MAX_CHUNKS`] bindings of `chunk_len` elements each,
/// because one binding is capped (128 MiB on lavapipe and by wgpu's default).
pub struct ChunkedU32 {
    pub chunks: Vec<wgpu::Buffer>,
    pub chunk_len: u32,
    pub len: u64,
}

/// Elements per chunk for a context: the binding cap in u32s, a multiple of 64.
pub fn chunk_len_for(ctx: &GpuContext) -> u64 {
    ((ctx.binding_cap / 4) / 64 * 64).min(u32::MAX as u64 / 64 * 64)
}

impl ChunkedU32 {
    pub fn upload(ctx: &GpuContext, label: &str, data: &[u32]) -> Result<Self> {
        let chunk_len = chunk_len_for(ctx);
        let needed = (data.len() as u64).div_ceil(chunk_len).max(1);
        if needed > MAX_CHUNKS as u64 {
            return Err(Error::bad_input(format!(
                "{label}: {} entries need {needed} bindings of {} MiB, more than the {MAX_CHUNKS} this adapter can bind; reduce --agents or graph.mean_degree",
                data.len(),
                ctx.binding_cap >> 20
            )));
        }
        let mut chunks: Vec<wgpu::Buffer> = data
            .chunks(chunk_len as usize)
            .map(|c| storage(ctx, label, c))
            .collect();
        while chunks.len() < MAX_CHUNKS {
            // Unused bindings still need a buffer behind them.
            chunks.push(zeroed(ctx, label, 4));
        }
        Ok(ChunkedU32 {
            chunks,
            chunk_len: chunk_len as u32,
            len: data.len() as u64,
        })
    }
}

/// A tie-slot array on the device, split over the bindings its [`SlotSplit`] says
/// (one buffer per chunk; a kernel declares it with `#slots` and binds chunk `c` at
/// `binding + CHUNK_STRIDE·c`).
pub struct SlotArray {
    pub chunks: Vec<wgpu::Buffer>,
    pub split: SlotSplit,
    /// Entries over all chunks.
    pub len: u64,
}

impl SlotArray {
    /// Upload `data`, split as `split` says.
    pub fn upload<T: bytemuck::Pod>(
        ctx: &GpuContext,
        label: &str,
        data: &[T],
        split: SlotSplit,
    ) -> SlotArray {
        let len = data.len() as u64;
        let chunks = (0..split.chunks)
            .map(|c| storage(ctx, label, &data[split.chunk_range(c, len)]))
            .collect();
        SlotArray { chunks, split, len }
    }

    /// The bind-group entries of this array declared at `binding`.
    pub fn entries(&self, binding: u32) -> impl Iterator<Item = (u32, &wgpu::Buffer)> {
        self.chunks
            .iter()
            .enumerate()
            .map(move |(c, b)| (binding + CHUNK_STRIDE * c as u32, b))
    }

    /// The whole array back on the host, chunk after chunk (outside the tick loop).
    pub fn read_back<T: bytemuck::Pod>(&self, ctx: &GpuContext) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(self.len as usize);
        for (c, chunk) in self.chunks.iter().enumerate() {
            let range = self.split.chunk_range(c as u32, self.len);
            out.extend(read_back::<T>(ctx, chunk, 0, range.len())?);
        }
        Ok(out)
    }
}

/// Bind-group entries: `plain` buffers, then every chunk of each `(binding, array)`.
pub fn with_slots<'b>(
    plain: &[(u32, &'b wgpu::Buffer)],
    arrays: &[(u32, &'b SlotArray)],
) -> Vec<(u32, &'b wgpu::Buffer)> {
    let mut entries = plain.to_vec();
    for (binding, array) in arrays {
        entries.extend(array.entries(*binding));
    }
    entries
}

/// Copy `buffer[..bytes]` back to the host and wait. Used outside the tick loop and
/// for the small periodic metrics buffers.
pub fn read_back<T: bytemuck::Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    offset: u64,
    count: usize,
) -> Result<Vec<T>> {
    let bytes = (count * std::mem::size_of::<T>()) as u64;
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    map_and_read(ctx, &staging)
}

/// Map a MAP_READ `staging` buffer, wait for the device, and copy its contents out.
pub fn map_and_read<T: bytemuck::Pod>(ctx: &GpuContext, staging: &wgpu::Buffer) -> Result<Vec<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|_| Error::Gpu("readback callback never ran".into()))?
        .map_err(|e| Error::Gpu(format!("readback failed: {e}")))?;
    read_mapped(staging)
}

/// Copy out the contents of a mapped staging buffer and unmap it.
pub fn read_mapped<T: bytemuck::Pod>(staging: &wgpu::Buffer) -> Result<Vec<T>> {
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| Error::Gpu(format!("readback mapping failed: {e}")))?;
    let out = bytemuck::cast_slice::<u8, T>(&view).to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}

/// Record one dispatch of `pipeline` over `n` threads with bind group 0.
pub fn dispatch(
    ctx: &GpuContext,
    pass: &mut wgpu::ComputePass<'_>,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    n: u32,
) {
    let (x, y) = ctx.dispatch_size(n);
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(x, y, 1);
}

/// Record one dispatch of a single workgroup (the counters and final reductions that
/// one workgroup does).
pub fn dispatch_one(
    pass: &mut wgpu::ComputePass<'_>,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
) {
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(1, 1, 1);
}

/// Bind group 0 of `pipeline` from buffers in binding order.
pub fn bind(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let layout = pipeline.get_bind_group_layout(0);
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .map(|(binding, b)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &entries,
    })
}

/// Submit `ticks` ticks of a model whose tick is a one-thread counter kernel followed by
/// one per-agent kernel over `n` agents (the cascade's sweeps, SIR's ticks), in one
/// submission; nothing waits.
pub fn submit_counted_ticks(
    ctx: &GpuContext,
    ticks: u32,
    counter: (&wgpu::ComputePipeline, &wgpu::BindGroup),
    step: (&wgpu::ComputePipeline, &wgpu::BindGroup),
    n: u32,
) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for _ in 0..ticks {
            dispatch_one(&mut pass, counter.0, counter.1);
            dispatch(ctx, &mut pass, step.0, step.1, n);
        }
    }
    ctx.queue.submit([encoder.finish()]);
}
