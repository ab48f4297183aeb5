// Kernel: where each opinion's members start in `members` (exclusive prefix sum of the
// counts) and the scatter cursors. One workgroup: each thread sums a contiguous run of
// opinions, the 256 run totals are scanned in the workgroup, then each run is written.
// Twin: model::voter::group_members.
#import rng
#import voter

@group(0) @binding(4) var<storage, read_write> count: array<u32>;
@group(0) @binding(5) var<storage, read_write> start: array<u32>;
@group(0) @binding(6) var<storage, read_write> cursor: array<u32>;

var<workgroup> totals: array<u32, 256>;

// 256, not WORKGROUP: one workgroup scans all opinions, so it is as wide as a workgroup
// may be on every device (the WebGPU default limit), and `totals` and the runs match it.
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let g = params.opinions;
    let run = (g + 255u) / 256u;
    let begin = min(lid * run, g);
    let end = min(begin + run, g);
    var sum = 0u;
    for (var k = begin; k < end; k++) { sum += count[k]; }
    totals[lid] = sum;
    workgroupBarrier();
    // Hillis-Steele inclusive scan of the run totals.
    for (var d = 1u; d < 256u; d = d << 1u) {
        var v = 0u;
        if (lid >= d) { v = totals[lid - d]; }
        workgroupBarrier();
        totals[lid] += v;
        workgroupBarrier();
    }
    var at = totals[lid] - sum;
    for (var k = begin; k < end; k++) {
        start[k] = at;
        cursor[k] = at;
        at += count[k];
    }
}
