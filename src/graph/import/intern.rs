//! String ids, each stored once: the bytes of every distinct id in one buffer and a
//! table from a 64-bit hash of the id to its index, so an id costs its length plus a
//! few words, not a heap block and a `String` of its own. Two ids whose hashes collide
//! (about one pair in 2^64 / N) are told apart by comparing their bytes; the second goes
//! to a small table keyed by the id itself.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::TextIds;

/// Hashes are computed here (FNV-1a, then a mix), so the table's own hasher passes the
/// u64 key through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// FNV-1a over the bytes, then the murmur3 finaliser so that every bit of the result
/// depends on every byte (the table uses both the low and the high bits).
fn hash(s: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The distinct ids in the order they were first seen.
#[derive(Default)]
pub(super) struct Interner {
    ids: TextIds,
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    /// Ids whose hash another id already has.
    collided: HashMap<Box<str>, u32>,
}

impl Interner {
    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Bytes of the distinct ids.
    pub fn bytes(&self) -> usize {
        self.ids.bytes.len()
    }

    /// The index of `id`, a new one if it was not seen yet.
    pub fn intern(&mut self, id: &str) -> u32 {
        let next = self.ids.len() as u32;
        let h = hash(id.as_bytes());
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(next);
                self.ids.push(id);
                next
            }
            std::collections::hash_map::Entry::Occupied(slot) => {
                let k = *slot.get();
                if self.ids.get(k as usize) == id {
                    return k;
                }
                if let Some(&k) = self.collided.get(id) {
                    return k;
                }
                self.collided.insert(id.into(), next);
                self.ids.push(id);
                next
            }
        }
    }

    /// The ids in ascending byte order, and the rank of each index in that order.
    pub fn into_sorted(self) -> (TextIds, Vec<u32>) {
        use rayon::prelude::*;
        let Interner {
            ids,
            by_hash,
            collided,
        } = self;
        drop(by_hash);
        drop(collided);
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.par_sort_unstable_by(|&a, &b| {
            ids.get(a as usize)
                .as_bytes()
                .cmp(ids.get(b as usize).as_bytes())
        });
        let mut rank = vec![0u32; ids.len()];
        let mut sorted = TextIds {
            bytes: String::with_capacity(ids.bytes.len()),
            ends: Vec::with_capacity(ids.len()),
        };
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
            sorted.push(ids.get(k as usize));
        }
        (sorted, rank)
    }
}
