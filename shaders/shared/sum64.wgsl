// Exact, order-independent 64-bit sums from 32-bit integer atomics: add to the low word
// and carry into the high word when it wraps. Float quantities are summed in fixed
// point, so every order of the atomics gives the same bits (no float atomics). A kernel
// that imports this sums per workgroup with group_add(column, v), then calls
// flush(column, acc_column) from one thread per column. `acc` holds (lo, hi) pairs.

@group(0) @binding(15) var<storage, read_write> acc: array<atomic<u32>>;

var<workgroup> group_lo: array<atomic<u32>, 16>;
var<workgroup> group_hi: array<atomic<u32>, 16>;

fn group_add(column: u32, v: u32) {
    if (v == 0u) { return; }
    let old = atomicAdd(&group_lo[column], v);
    if (old + v < old) { atomicAdd(&group_hi[column], 1u); }
}

fn flush(column: u32, acc_column: u32) {
    let lo = atomicLoad(&group_lo[column]);
    let hi = atomicLoad(&group_hi[column]);
    if (lo != 0u) {
        let old = atomicAdd(&acc[2u * acc_column], lo);
        if (old + lo < old) { atomicAdd(&acc[2u * acc_column + 1u], 1u); }
    }
    if (hi != 0u) { atomicAdd(&acc[2u * acc_column + 1u], hi); }
}
