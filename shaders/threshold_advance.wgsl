// Kernel: move the cascade to its next sweep (one thread). Keeping the sweep number on
// the device lets a whole batch of sweeps be recorded in one submission.
// Twin: the loop counter in model::threshold.
@group(0) @binding(0) var<storage, read_write> control: array<u32>;

// 1, not WORKGROUP: a single thread bumps one counter.
@compute @workgroup_size(1)
fn main() {
    control[0] = control[0] + 1u;
}
