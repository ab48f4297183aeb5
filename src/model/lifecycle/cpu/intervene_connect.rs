//! CPU twin of `shaders/intervene_connect.wgsl`: the planned ties of
//! connect_pioneers written.

use super::super::Lifecycle;
use crate::intervention::passes::NewEnd;

impl Lifecycle {
    /// Twin of `intervene_connect`: each end puts its neighbour in its agent's slot at
    /// `weight`, age 0; an agent's last end sets its degree.
    pub fn intervene_connect(&mut self, ends: &[NewEnd], weight: f32) {
        let k = self.ties.slots as usize;
        for e in ends {
            let s = e.agent as usize * k + e.slot as usize;
            self.ties.neighbor[s] = e.neighbor;
            self.ties.weight[s] = weight;
            self.ties.age[s] = 0;
            if e.last == 1 {
                self.ties.degree[e.agent as usize] = e.slot + 1;
            }
        }
    }
}
