//! The merge step of the BPE encoder: turn one piece's initial units into token ids.
//!
//! Semantics (tiktoken and HF `tokenizers` agree): repeatedly merge the adjacent pair with the lowest
//! rank, leftmost first on a tie, until no adjacent pair has a rank.
//!
//! Performance notes:
//! - Priorities live in one table keyed by the pair of ids packed in a u64 (FxHash of one integer),
//!   which is cheaper than tiktoken's hashing of byte slices. A rank file (tiktoken semantics: the rank
//!   of a pair is the rank of its concatenation) is compiled into the same table by listing, for every
//!   token, each split into two tokens.
//! - Short pieces (the vast majority) use a linear scan over a small array of pair ranks, as tiktoken's
//!   `byte_pair_merge`: two rank look-ups per merge, no allocation beyond one reused scratch buffer.
//! - Long pieces (a run of 10 000 digits or spaces) use a heap over a linked list, so a run costs
//!   O(n log n) instead of O(n²).

use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Pieces with more units than this use the heap algorithm.
pub const LINEAR_MAX_UNITS: usize = 128;
const NONE: u32 = u32::MAX;

#[inline]
fn key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

/// Pair of ids → (rank, merged id). Lower rank merges first.
#[derive(Clone, Debug, Default)]
pub struct MergeTable {
    map: FxHashMap<u64, (u32, u32)>,
}

impl MergeTable {
    pub fn new() -> MergeTable {
        MergeTable::default()
    }

    pub fn insert(&mut self, a: u32, b: u32, rank: u32, new_id: u32) {
        self.map.entry(key(a, b)).or_insert((rank, new_id));
    }

    #[inline]
    pub fn get(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        self.map.get(&key(a, b)).copied()
    }

    #[inline]
    fn rank(&self, a: u32, b: u32) -> u32 {
        self.map.get(&key(a, b)).map_or(NONE, |r| r.0)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A small seeded generator (splitmix64) for BPE-dropout; reproducible across platforms.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Merge `units` in place (they become the final ids of the piece).
pub fn merge_units(table: &MergeTable, units: &mut Vec<u32>) {
    if units.len() < 2 {
        return;
    }
    if units.len() <= LINEAR_MAX_UNITS {
        merge_linear(table, units);
    } else {
        merge_heap(table, units);
    }
}

/// tiktoken-style: `ranks[i]` is the rank of (units[i], units[i+1]); find the minimum, merge, patch two.
fn merge_linear(table: &MergeTable, units: &mut Vec<u32>) {
    let mut ranks: Vec<u32> = units.windows(2).map(|w| table.rank(w[0], w[1])).collect();
    loop {
        let mut best = NONE;
        let mut at = 0usize;
        for (i, &r) in ranks.iter().enumerate() {
            if r < best {
                best = r;
                at = i;
            }
        }
        if best == NONE {
            return;
        }
        let new_id = table.get(units[at], units[at + 1]).map_or(NONE, |r| r.1);
        units[at] = new_id;
        units.remove(at + 1);
        ranks.remove(at);
        if at + 1 < units.len() {
            ranks[at] = table.rank(units[at], units[at + 1]);
        }
        if at > 0 {
            ranks[at - 1] = table.rank(units[at - 1], units[at]);
        }
    }
}

/// Heap over a doubly linked list; entries are re-validated on pop (lazy deletion).
fn merge_heap(table: &MergeTable, units: &mut Vec<u32>) {
    let n = units.len();
    let mut next: Vec<u32> = (1..=n as u32).collect();
    let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
    next[n - 1] = NONE;
    prev[0] = NONE;
    let mut alive = vec![true; n];
    let mut heap: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::with_capacity(n);
    for i in 0..n - 1 {
        let r = table.rank(units[i], units[i + 1]);
        if r != NONE {
            heap.push(Reverse((r, i as u32)));
        }
    }
    while let Some(Reverse((rank, pos))) = heap.pop() {
        let i = pos as usize;
        if !alive[i] || next[i] == NONE {
            continue;
        }
        let j = next[i] as usize;
        let Some((r, new_id)) = table.get(units[i], units[j]) else { continue };
        if r != rank {
            continue;
        }
        units[i] = new_id;
        alive[j] = false;
        next[i] = next[j];
        if next[j] != NONE {
            prev[next[j] as usize] = i as u32;
            let r = table.rank(units[i], units[next[i] as usize]);
            if r != NONE {
                heap.push(Reverse((r, i as u32)));
            }
        }
        if prev[i] != NONE {
            let p = prev[i] as usize;
            let r = table.rank(units[p], units[i]);
            if r != NONE {
                heap.push(Reverse((r, p as u32)));
            }
        }
    }
    let mut write = 0;
    for read in 0..n {
        if alive[read] {
            units[write] = units[read];
            write += 1;
        }
    }
    units.truncate(write);
}

/// BPE-dropout (Provilkov et al. 2020): at each step every applicable merge is dropped with
/// probability `p`; the lowest-rank survivor is applied; the piece is done when none survives.
pub fn merge_units_dropout(table: &MergeTable, units: &mut Vec<u32>, p: f64, rng: &mut SplitMix) {
    loop {
        let mut best = (NONE, 0usize);
        for i in 0..units.len().saturating_sub(1) {
            let r = table.rank(units[i], units[i + 1]);
            if r != NONE && r < best.0 && rng.next_f64() >= p {
                best = (r, i);
            }
        }
        if best.0 == NONE {
            return;
        }
        let at = best.1;
        units[at] = table.get(units[at], units[at + 1]).map_or(NONE, |r| r.1);
        units.remove(at + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units 0..4 = a b c d; merges: (a,b)→4 rank 0, (4,c)→5 rank 1, (c,d)→6 rank 2, (b,c)→7 rank 3.
    fn table() -> MergeTable {
        let mut t = MergeTable::new();
        t.insert(0, 1, 0, 4);
        t.insert(4, 2, 1, 5);
        t.insert(2, 3, 2, 6);
        t.insert(1, 2, 3, 7);
        t
    }

    #[test]
    fn lowest_rank_first() {
        let mut u = vec![0, 1, 2, 3];
        merge_units(&table(), &mut u);
        assert_eq!(u, vec![5, 3]);
        let mut u = vec![1, 2, 3];
        merge_units(&table(), &mut u);
        assert_eq!(u, vec![1, 6]);
    }

    #[test]
    fn heap_equals_linear_on_long_runs() {
        let t = table();
        let mut state = SplitMix::new(7);
        for len in [130usize, 257, 1000] {
            let units: Vec<u32> = (0..len).map(|_| (state.next_f64() * 4.0) as u32).collect();
            let mut a = units.clone();
            merge_linear(&t, &mut a);
            let mut b = units.clone();
            merge_heap(&t, &mut b);
            assert_eq!(a, b);
        }
        let mut run = vec![0u32; 10_000];
        let mut t2 = MergeTable::new();
        t2.insert(0, 0, 0, 1);
        t2.insert(1, 1, 1, 2);
        merge_units(&t2, &mut run);
        assert_eq!(run, vec![2; 2_500]);
    }

    #[test]
    fn dropout_zero_and_one() {
        let t = table();
        let mut rng = SplitMix::new(1);
        let mut u = vec![0, 1, 2, 3];
        merge_units_dropout(&t, &mut u, 0.0, &mut rng);
        assert_eq!(u, vec![5, 3]);
        let mut u = vec![0, 1, 2, 3];
        merge_units_dropout(&t, &mut u, 1.0, &mut rng);
        assert_eq!(u, vec![0, 1, 2, 3]);
    }
}
