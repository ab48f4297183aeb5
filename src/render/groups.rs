//! The communities as the renderer sees them: the tracker's communities of at least
//! `min_size` members at its last sample, each agent's group (an index into that list,
//! or [`NO_GROUP`]), each group's colour from its lineage id (so a community keeps its
//! colour for its whole life) with a flag for the communities of practice (those that
//! have lasted `min_lifetime` ticks), the group the camera follows, and the sizes for
//! the captions. Made on the host from the community tracker each time it samples
//! (`model.null_every` rows), so both backends draw the same groups.

use super::{splat, NO_GROUP};
use crate::analysis::community_tracker::CommunityTracker;

/// The groups of one tracker sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// Per agent: its group's index, or [`NO_GROUP`].
    pub of_agent: Vec<u32>,
    /// Per group: its packed RGB colour (r in the low byte), with [`PRACTICE_BIT`] set
    /// for a community of practice.
    pub palette: Vec<u32>,
    /// Per group: its lineage id.
    pub ids: Vec<u64>,
    /// Per group: its size.
    pub sizes: Vec<u32>,
    /// Per group: whether it is a community of practice.
    pub practice: Vec<bool>,
    /// The largest community of practice (or, while there is none, the largest group)
    /// while it holds less than half the agents, not yet the system of influence;
    /// [`NO_GROUP`] otherwise.
    pub follow: u32,
}

/// The palette's flag for a community of practice.
pub const PRACTICE_BIT: u32 = 1 << 24;

impl Groups {
    /// No groups (before the first sample, or without community tracking).
    pub fn none(n: u32) -> Groups {
        Groups {
            of_agent: vec![NO_GROUP; n as usize],
            palette: Vec::new(),
            ids: Vec::new(),
            sizes: Vec::new(),
            practice: Vec::new(),
            follow: NO_GROUP,
        }
    }

    /// The communities of the tracker's last sample.
    pub fn from_tracker(t: &CommunityTracker, n: u32) -> Groups {
        let mut g = Groups::none(n);
        for (id, members, practice) in t.current() {
            g.push(id, members, practice);
        }
        g.choose_follow(n);
        g
    }

    fn push(&mut self, id: u64, members: &[u32], practice: bool) {
        let index = self.ids.len() as u32;
        for &m in members {
            self.of_agent[m as usize] = index;
        }
        let flag = if practice { PRACTICE_BIT } else { 0 };
        self.palette.push(lineage_colour(id) | flag);
        self.ids.push(id);
        self.sizes.push(members.len() as u32);
        self.practice.push(practice);
    }

    /// The largest community of practice, else the largest group; ties go to the older
    /// (smaller id, earlier in the list); none once it holds half the agents.
    fn choose_follow(&mut self, n: u32) {
        let any_practice = self.practice.iter().any(|&p| p);
        let largest = self
            .sizes
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.practice[i] || !any_practice)
            .max_by_key(|&(i, &s)| (s, std::cmp::Reverse(i)));
        self.follow = match largest {
            Some((i, &s)) if (s as u64) * 2 < n as u64 => i as u32,
            _ => NO_GROUP,
        };
    }

    /// Each group's size and whether it is a community of practice.
    pub fn summary(&self) -> Vec<(u32, bool)> {
        self.sizes
            .iter()
            .copied()
            .zip(self.practice.iter().copied())
            .collect()
    }

    /// The number of communities of practice and their median size.
    pub fn practices(&self) -> (usize, u32) {
        let mut s: Vec<u32> = self
            .sizes
            .iter()
            .zip(&self.practice)
            .filter(|(_, &p)| p)
            .map(|(&s, _)| s)
            .collect();
        s.sort_unstable();
        (s.len(), s.get(s.len() / 2).copied().unwrap_or(0))
    }

    /// Planted groups from a label per agent (tests, and graphs with known blocks): each
    /// label with at least `min_size` members is a community of practice, with the label
    /// as its id.
    pub fn from_labels(labels: &[u32], min_size: u32) -> Groups {
        let n = labels.len() as u32;
        let mut members = std::collections::BTreeMap::<u32, Vec<u32>>::new();
        for (i, &l) in labels.iter().enumerate() {
            members.entry(l).or_default().push(i as u32);
        }
        let mut g = Groups::none(n);
        for (&l, m) in members.iter().filter(|(_, m)| m.len() >= min_size as usize) {
            g.push(l as u64, m, true);
        }
        g.choose_follow(n);
        g
    }

    /// Groups in the list (at least 1, the size of the device's arrays).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The median group size (0 without groups).
    pub fn median_size(&self) -> u32 {
        let mut s = self.sizes.clone();
        s.sort_unstable();
        s.get(s.len() / 2).copied().unwrap_or(0)
    }
}

/// The colour of lineage `id`: a hue from the id scrambled by Fibonacci hashing (so
/// neighbouring ids get distant hues), full brightness with a little white.
pub fn lineage_colour(id: u64) -> u32 {
    let h = (id.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as u32 % 1536;
    let [r, g, b] = splat::hue_rgb(h).map(|c| (c * 200 + 55 * 255) / 255);
    r | (g << 8) | (b << 16)
}
