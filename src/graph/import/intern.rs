//! String ids, each stored once. Every distinct id is an entry of one byte buffer (its
//! index, its length, its bytes), and an open-addressing table maps the id's 64-bit
//! hash to its entry, so an id costs its length plus a few words, not a heap block and
//! a `String` of its own. Looking up an id reads one table slot and one entry (the
//! slot holds the whole hash, the entry its index beside its bytes): with millions of
//! ids each read misses the cache, and the number of them is what an import of string
//! ids costs. Ids with equal hashes are told apart by their bytes, so the mapping is
//! exact.

use rayon::prelude::*;

use super::TextIds;

/// The bytes eight at a time (FxHash's rotate, xor and multiply, with the length mixed
/// in), then the murmur3 finaliser so that every bit of the result depends on every
/// byte (the table's position comes from the low bits).
fn hash(s: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = s.len() as u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The first 16 bytes of an id as a number that orders like the bytes (zero-padded), so
/// the sort compares numbers and reads an id's bytes only when two ids share them.
fn prefix(s: &[u8]) -> u128 {
    let mut p = [0u8; 16];
    let k = s.len().min(16);
    p[..k].copy_from_slice(&s[..k]);
    u128::from_be_bytes(p)
}

/// A table slot: the id's hash and where its entry starts (+ 1; 0 is an empty slot).
#[derive(Clone, Copy, Default)]
struct Slot {
    hash: u64,
    entry: u64,
}

/// The distinct ids in the order they were first seen.
#[derive(Default)]
pub(super) struct Interner {
    /// Entries: index (u32, little-endian), length (u32), bytes.
    entries: Vec<u8>,
    slots: Vec<Slot>,
    len: usize,
    /// Bytes of the ids themselves.
    id_bytes: usize,
}

const HEAD: usize = 8;

impl Interner {
    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of the distinct ids.
    pub fn bytes(&self) -> usize {
        self.id_bytes
    }

    /// The entry at `at`: its index and its bytes.
    fn entry(&self, at: usize) -> (u32, &[u8]) {
        let head = &self.entries[at..at + HEAD];
        let index = u32::from_le_bytes(head[..4].try_into().expect("four bytes"));
        let len = u32::from_le_bytes(head[4..].try_into().expect("four bytes")) as usize;
        (index, &self.entries[at + HEAD..at + HEAD + len])
    }

    /// The index of `id`, a new one if it was not seen yet.
    pub fn intern(&mut self, id: &str) -> u32 {
        // At most 3/4 full, so a miss ends within a few slots.
        if 4 * (self.len + 1) > 3 * self.slots.len() {
            self.grow();
        }
        let h = hash(id.as_bytes());
        let mask = self.slots.len() - 1;
        let mut at = h as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot.entry == 0 {
                break;
            }
            if slot.hash == h {
                let (index, bytes) = self.entry(slot.entry as usize - 1);
                if bytes == id.as_bytes() {
                    return index;
                }
            }
            at = (at + 1) & mask;
        }
        let index = self.len as u32;
        let start = self.entries.len();
        self.entries.extend_from_slice(&index.to_le_bytes());
        self.entries
            .extend_from_slice(&(id.len() as u32).to_le_bytes());
        self.entries.extend_from_slice(id.as_bytes());
        self.slots[at] = Slot {
            hash: h,
            entry: start as u64 + 1,
        };
        self.len += 1;
        self.id_bytes += id.len();
        index
    }

    /// Twice the slots, every id placed again by its stored hash.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|s| s.entry != 0) {
            let mut at = slot.hash as usize & mask;
            while self.slots[at].entry != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }

    /// The ids in ascending byte order, and the rank of each index in that order.
    pub fn into_sorted(mut self) -> (TextIds, Vec<u32>) {
        self.slots = Vec::new();
        // Entries are in index order: one pass finds where each starts.
        let mut starts = Vec::with_capacity(self.len);
        let mut at = 0;
        while at < self.entries.len() {
            starts.push(at);
            at += HEAD + self.entry(at).1.len();
        }
        let bytes = |k: u32| self.entry(starts[k as usize]).1;
        // Sorted by the 16-byte prefix, then (rarely: ids sharing 16 bytes, or equal but
        // for trailing zero bytes) by the whole id.
        let mut keyed: Vec<(u128, u32)> = (0..self.len as u32)
            .map(|k| (prefix(bytes(k)), k))
            .collect();
        keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| bytes(a.1).cmp(bytes(b.1))));
        let mut rank = vec![0u32; self.len];
        let mut sorted = TextIds {
            bytes: String::with_capacity(self.id_bytes),
            ends: Vec::with_capacity(self.len),
        };
        for (r, &(_, k)) in keyed.iter().enumerate() {
            rank[k as usize] = r as u32;
            // Every entry was a &str.
            sorted.push(std::str::from_utf8(bytes(k)).expect("ids are UTF-8"));
        }
        (sorted, rank)
    }
}
