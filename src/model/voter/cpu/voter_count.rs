//! CPU twin of `shaders/voter_count.wgsl`: agents per opinion.

/// Twin of `voter_count.wgsl`: agents per opinion.
pub fn count(opinion: &[u32], opinions: u32) -> Vec<u32> {
    let mut c = vec![0u32; opinions as usize];
    for &g in opinion {
        c[g as usize] += 1;
    }
    c
}
