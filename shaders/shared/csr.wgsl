// Read access to a static graph in CSR form: row offsets (n + 1) and neighbour ids split
// over four bindings of `chunk_len` entries each, because one storage binding is capped.
// Bindings 0..4 belong to this file; a kernel's own bindings start at 5. Kernels that
// also run on the tie slots of the dynamic models import it as `adjacency` and use
// row_begin / row_end / neighbor (see slots.wgsl); `shape` is chunk_len here.

@group(0) @binding(0) var<storage, read> offsets: array<u32>;
@group(0) @binding(1) var<storage, read> nbr0: array<u32>;
@group(0) @binding(2) var<storage, read> nbr1: array<u32>;
@group(0) @binding(3) var<storage, read> nbr2: array<u32>;
@group(0) @binding(4) var<storage, read> nbr3: array<u32>;

fn neighbor(e: u32, chunk_len: u32) -> u32 {
    let c = e / chunk_len;
    let o = e - c * chunk_len;
    switch c {
        case 0u: { return nbr0[o]; }
        case 1u: { return nbr1[o]; }
        case 2u: { return nbr2[o]; }
        default: { return nbr3[o]; }
    }
}

fn row_begin(i: u32, shape: u32) -> u32 { return offsets[i]; }
fn row_end(i: u32, shape: u32) -> u32 { return offsets[i + 1u]; }
