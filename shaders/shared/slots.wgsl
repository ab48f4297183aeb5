// Read access to the tie slots of the dynamic-tie models (TieStore): agent i's live ties
// are slots i·K .. i·K + degree[i]. Same functions as csr.wgsl, so a kernel importing
// `adjacency` runs on either store; `shape` is K here. Bindings 0..4 belong to this file
// (2..4 unused), a kernel's own bindings start at 5.

@group(0) @binding(0) var<storage, read> slot_degree: array<u32>;
@group(0) @binding(1) var<storage, read> slot_neighbor: array<u32>;

fn row_begin(i: u32, shape: u32) -> u32 { return i * shape; }
fn row_end(i: u32, shape: u32) -> u32 { return i * shape + slot_degree[i]; }
fn neighbor(e: u32, shape: u32) -> u32 { return slot_neighbor[e]; }
