//! CPU twin of `shaders/voter_scan.wgsl` and `shaders/voter_scatter.wgsl`: each opinion's first index (an exclusive prefix sum of the counts) and its members.

/// Twin of `voter_scan.wgsl` + `voter_scatter.wgsl`: each opinion's first index into
/// `members` and the members (in id order here; nothing depends on the order).
pub fn group_members(opinion: &[u32], counts: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(counts.len());
    let mut at = 0u32;
    for &c in counts {
        start.push(at);
        at += c;
    }
    let mut cursor = start.clone();
    let mut members = vec![0u32; opinion.len()];
    for (i, &g) in opinion.iter().enumerate() {
        members[cursor[g as usize] as usize] = i as u32;
        cursor[g as usize] += 1;
    }
    (start, members)
}
