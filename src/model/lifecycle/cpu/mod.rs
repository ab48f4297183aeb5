//! The lifecycle's CPU twins, one file per kernel of `shaders/`, named like it. Each is
//! the reference semantics of its kernel (docs/lifecycle.md) and part of the CPU backend.

mod intervene_adopt;
mod intervene_broadcast;
mod intervene_connect;
mod intervene_cut;
mod intervene_gather;
mod intervene_mark;
mod intervene_rank;
pub(crate) mod lifecycle_agents;
mod lifecycle_psi;
mod ties_commit;
mod ties_confirm;
mod ties_propose;
mod ties_weights;

use super::Lifecycle;
use crate::error::Result;
use crate::intervention::passes::{ActionPasses, Cut, CutCount, NewEnd, Pioneer, Query};

/// The one-off actions' passes on a CPU state: the twins of `shaders/intervene_*.wgsl`,
/// with the flags of the last mark.
pub struct CpuActions<'a> {
    pub life: &'a mut Lifecycle,
    pub flags: &'a mut Vec<u32>,
}

impl ActionPasses for CpuActions<'_> {
    fn agents(&self) -> u32 {
        self.life.n
    }

    fn slots(&self) -> u32 {
        self.life.ties.slots
    }

    fn rank_histogram(&mut self, q: &Query, digit: u32, prefix: u64) -> Result<[u32; 256]> {
        Ok(self.life.intervene_rank(q, digit, prefix))
    }

    fn mark(&mut self, q: &Query, bound: u64) -> Result<()> {
        self.life.intervene_mark(q, bound, self.flags);
        Ok(())
    }

    fn gather(&mut self, room: u32) -> Result<Vec<Pioneer>> {
        Ok(self.life.intervene_gather(self.flags, room))
    }

    fn adopt(&mut self, tick: u32) -> Result<()> {
        self.life.intervene_adopt(self.flags, tick);
        Ok(())
    }

    fn broadcast(&mut self, strength: f32, direction: f32) -> Result<()> {
        self.life
            .intervene_broadcast(self.flags, strength, direction);
        Ok(())
    }

    fn cut(&mut self, cut: Cut, q: &Query) -> Result<CutCount> {
        Ok(self.life.intervene_cut(self.flags, cut, q))
    }

    fn connect(&mut self, ends: &[NewEnd], weight: f32) -> Result<()> {
        self.life.intervene_connect(ends, weight);
        Ok(())
    }
}
