// Read access to the tie slots of the dynamic-tie models (TieStore): agent i's live ties
// are slots i·K .. i·K + degree[i]. Same functions as csr.wgsl, so a kernel importing
// `adjacency` runs on either store; `shape` is K here. Bindings 0..4 belong to this file
// (the neighbour ids' chunks at 1, 101, …, see `#slots` in src/gpu/shaders.rs), a
// kernel's own bindings start at 5.

@group(0) @binding(0) var<storage, read> slot_degree: array<u32>;
#slots 1 read slot_neighbor: u32

fn row_begin(i: u32, shape: u32) -> u32 { return i * shape; }
fn row_end(i: u32, shape: u32) -> u32 { return i * shape + slot_degree[i]; }
fn neighbor(e: u32, shape: u32) -> u32 { return slot_neighbor_get(e); }
