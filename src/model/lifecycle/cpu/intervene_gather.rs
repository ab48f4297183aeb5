//! CPU twin of `shaders/intervene_gather.wgsl`: the flagged agents' records.

use super::super::Lifecycle;
use crate::intervention::passes::Pioneer;

impl Lifecycle {
    /// Twin of `intervene_gather`: the records of the flagged agents, at most `room`
    /// (in id order; the kernel's order is the threads', and the host sorts them).
    pub fn intervene_gather(&self, flags: &[u32], room: u32) -> Vec<Pioneer> {
        let k = self.ties.slots as usize;
        (0..self.n as usize)
            .filter(|&i| flags[i] == 1)
            .take(room as usize)
            .map(|i| Pioneer {
                id: i as u32,
                knowledge: self.knowledge[i],
                label: self.labels[i],
                degree: self.ties.degree[i],
                row: self.ties.neighbor[i * k..(i + 1) * k].to_vec(),
            })
            .collect()
    }
}
