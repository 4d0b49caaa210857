//! Picky BPE trainer (Chizhov et al., "BPE Gets Picky: Efficient Vocabulary Refinement During
//! Tokenizer Training", EMNLP 2024; reference code `pchizhov/picky_bpe`, PyPI `pickybpe-bauwenst`).
//!
//! Plain byte-level BPE (same id layout, same counts, same tie-break as `train::bpe`) plus one step
//! after every merge `x1 + x2 -> x1x2` with count `m`: for each parent `x` (left first, then right),
//! IoS(x) = m / f(x), where f(x) is the frequency of `x` just before the merge (the paper's
//! `f(x1, x2) / f(x1)`). When IoS(x) > τ (strict, as the reference) and `x` is neither one byte nor
//! one UTF-8 character, `x` is removed: its remaining occurrences are re-split into its current pieces
//! (recursively through its parents while they are removed too), its slot is freed, and a SPLIT event
//! is logged. A removed token comes back (a new MERGE event, a slot again) when a later merge spells
//! it. With τ ≥ 1 nothing is ever removed (IoS ≤ 1), so the result is exactly `train::bpe`'s.
//!
//! Differences from the reference, on purpose: IoS uses the frequency *before* the merge (the
//! reference divides by "remaining + merged count of the child so far", which differs only when the
//! child already existed or the pair is `(x, x)`, where the reference can exceed 1); the atoms are the
//! 256 bytes; a duplicate spelling (`a+bc` after `ab+c`) does not grow the vocabulary.
//!
//! Ids: every token ever made has a *uid* (creation order, never reused; the tie-break compares uid
//! pairs). The final vocabulary gives each present token a *slot*: specials, the 256 bytes, then
//! new tokens take the lowest free slot, so removed tokens' slots are reused and ids stay dense.

use crate::error::{CoreError, Result};
use crate::train::bpe::{byte_alphabet_order, merge_word, BpeTrainerConfig, Entry, Pair, Progress};
use rustc_hash::FxHashMap;
use std::collections::{BTreeSet, BinaryHeap};

/// Options: the BPE options plus the IoS threshold τ.
#[derive(Clone, Debug)]
pub struct PickyTrainerConfig {
    /// vocab_size, min_frequency, max_token_length, special_tokens (other BPE fields are ignored).
    pub bpe: BpeTrainerConfig,
    /// Remove a parent when IoS > threshold (paper default 0.9; ≥ 1 gives plain BPE).
    pub threshold: f64,
    /// Stop after this many events whatever the vocabulary size (None: 20 × vocab_size + 1000), a
    /// guard against merge/split cycles.
    pub max_events: Option<usize>,
}

/// One event of the training log, with token bytes (the same order the encoder replays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickyEvent {
    /// `left + right` merged everywhere into their concatenation.
    Merge(Vec<u8>, Vec<u8>),
    /// `token` removed: every occurrence replaced by `pieces` (present tokens at that time).
    Split(Vec<u8>, Vec<Vec<u8>>),
}

/// A trained Picky BPE vocabulary: `vocab[id]` bytes and the ordered event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickyModelData {
    pub vocab: Vec<Vec<u8>>,
    pub events: Vec<PickyEvent>,
}


/// Per-token facts, indexed by uid.
struct Tok {
    bytes: Vec<u8>,
    parents: Option<Pair>,
    freq: i64,
    slot: Option<u32>,
    atomic: bool,
    /// Words that may contain the token (a superset: checked on use).
    words: Vec<u32>,
}

struct State {
    words: Vec<Vec<u32>>,
    counts: Vec<u64>,
    pair_counts: FxHashMap<Pair, i64>,
    where_: FxHashMap<Pair, Vec<u32>>,
    toks: Vec<Tok>,
    ids: FxHashMap<Vec<u8>, u32>,
    free_slots: BTreeSet<u32>,
    next_slot: u32,
    present: usize,
    events: Vec<PickyEvent>,
    heap: BinaryHeap<Entry>,
}

pub struct PickyTrainer {
    pub config: PickyTrainerConfig,
}

/// One byte, or exactly one UTF-8 character: never removed.
fn is_atomic(token: &[u8]) -> bool {
    token.len() == 1 || std::str::from_utf8(token).is_ok_and(|s| s.chars().count() == 1)
}

impl PickyTrainer {
    pub fn new(config: PickyTrainerConfig) -> Result<PickyTrainer> {
        // Validate the shared BPE options the same way the BPE trainer does.
        crate::train::bpe::BpeTrainer::new(config.bpe.clone())?;
        if !config.threshold.is_finite() || config.threshold <= 0.0 {
            return Err(CoreError::Config(format!(
                "threshold={} must be a number above 0 (paper default 0.9; >= 1 disables removal)",
                config.threshold
            )));
        }
        Ok(PickyTrainer { config })
    }

    /// Train on plain words with their counts (e.g. `WordCounts::iter`).
    pub fn train_words<'a, I>(&self, words: I, progress: &mut dyn FnMut(Progress)) -> Result<PickyModelData>
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        let mut state = self.initial_state(words);
        state.count_pairs();
        self.merge_loop(&mut state, progress);
        Ok(state.finish())
    }

    fn initial_state<'a, I>(&self, words: I) -> State
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        let cfg = &self.config.bpe;
        let mut state = State {
            words: Vec::new(),
            counts: Vec::new(),
            pair_counts: FxHashMap::default(),
            where_: FxHashMap::default(),
            toks: Vec::new(),
            ids: FxHashMap::default(),
            free_slots: BTreeSet::new(),
            next_slot: 0,
            present: 0,
            events: Vec::new(),
            heap: BinaryHeap::new(),
        };
        for s in &cfg.special_tokens {
            // Specials are never merged and stay out of the byte lookup (as in the BPE trainer).
            state.new_token(s.as_bytes().to_vec(), None, true, false);
        }
        let mut byte_id = [0u32; 256];
        for b in byte_alphabet_order() {
            byte_id[b as usize] = state.new_token(vec![b], None, true, true);
        }
        let mut unique: FxHashMap<&[u8], u64> = FxHashMap::default();
        for (piece, count) in words {
            if !piece.is_empty() && count > 0 {
                *unique.entry(piece).or_insert(0) += count;
            }
        }
        let mut sorted: Vec<(&[u8], u64)> = unique.into_iter().collect();
        sorted.sort_unstable();
        for (wi, (piece, count)) in sorted.iter().enumerate() {
            let word: Vec<u32> = piece.iter().map(|&b| byte_id[b as usize]).collect();
            for &t in &word {
                let tok = &mut state.toks[t as usize];
                tok.freq += *count as i64;
                if tok.words.last() != Some(&(wi as u32)) {
                    tok.words.push(wi as u32);
                }
            }
            state.words.push(word);
            state.counts.push(*count);
        }
        state
    }

    fn allowed(&self, token: &[u8]) -> bool {
        self.config.bpe.max_token_length.is_none_or(|m| token.len() <= m)
    }

    fn merge_loop(&self, state: &mut State, progress: &mut dyn FnMut(Progress)) {
        let target = self.config.bpe.vocab_size;
        let total = target.saturating_sub(state.present);
        // Merges and splits cannot cycle forever in practice; the cap only guarantees termination.
        let max_events = self.config.max_events.unwrap_or(20 * target + 1000);
        state.heap = state
            .pair_counts
            .iter()
            .filter(|(_, &c)| c > 0)
            .map(|(&pair, &c)| Entry { count: c as u64, pair })
            .collect();
        let mut done = 0usize;
        progress(Progress { merges_done: 0, merges_total: total, last_count: 0 });
        while state.present < target && state.events.len() < max_events {
            let Some(top) = state.heap.pop() else { break };
            let current = state.pair_counts.get(&top.pair).copied().unwrap_or(0).max(0) as u64;
            if current != top.count {
                if current > 0 {
                    state.heap.push(Entry { count: current, pair: top.pair });
                }
                continue;
            }
            if current < self.config.bpe.min_frequency {
                break;
            }
            let (a, b) = top.pair;
            let token = [state.toks[a as usize].bytes.as_slice(), &state.toks[b as usize].bytes].concat();
            if !self.allowed(&token) {
                continue;
            }
            let before = [state.toks[a as usize].freq, state.toks[b as usize].freq];
            state.merge(top.pair, token);
            let parents: &[u32] = if a == b { &[a] } else { &[a, b] };
            for (i, &p) in parents.iter().enumerate() {
                let ios = current as f64 / before[i].max(1) as f64;
                if ios > self.config.threshold && !state.toks[p as usize].atomic {
                    state.remove(p);
                }
            }
            done += 1;
            progress(Progress { merges_done: done, merges_total: total, last_count: current });
        }
    }
}

impl State {
    fn new_token(&mut self, bytes: Vec<u8>, parents: Option<Pair>, present: bool, lookup: bool) -> u32 {
        let uid = self.toks.len() as u32;
        let atomic = parents.is_none() || is_atomic(&bytes);
        if lookup {
            self.ids.insert(bytes.clone(), uid);
        }
        self.toks.push(Tok { bytes, parents, freq: 0, slot: None, atomic, words: Vec::new() });
        if present {
            self.take_slot(uid);
        }
        uid
    }

    fn take_slot(&mut self, uid: u32) {
        let slot = match self.free_slots.pop_first() {
            Some(s) => s,
            None => {
                self.next_slot += 1;
                self.next_slot - 1
            }
        };
        self.toks[uid as usize].slot = Some(slot);
        self.present += 1;
    }

    fn count_pairs(&mut self) {
        for (wi, word) in self.words.iter().enumerate() {
            let count = self.counts[wi] as i64;
            for w in word.windows(2) {
                let pair = (w[0], w[1]);
                *self.pair_counts.entry(pair).or_insert(0) += count;
                let list = self.where_.entry(pair).or_default();
                if list.last() != Some(&(wi as u32)) {
                    list.push(wi as u32);
                }
            }
        }
    }

    fn add_pair_delta(&mut self, delta: FxHashMap<Pair, i64>) {
        for (p, d) in delta {
            if d == 0 {
                continue;
            }
            let entry = self.pair_counts.entry(p).or_insert(0);
            *entry += d;
            let now = *entry;
            if now <= 0 {
                self.pair_counts.remove(&p);
            } else if d > 0 {
                self.heap.push(Entry { count: now as u64, pair: p });
            }
        }
    }

    /// Merge `pair` into the token spelling `token` (new, restored or a duplicate spelling).
    fn merge(&mut self, pair: Pair, token: Vec<u8>) {
        let new_id = match self.ids.get(&token) {
            Some(&uid) => {
                if self.toks[uid as usize].slot.is_none() {
                    self.take_slot(uid);
                }
                uid
            }
            None => self.new_token(token, Some(pair), true, true),
        };
        self.events.push(PickyEvent::Merge(self.toks[pair.0 as usize].bytes.clone(), self.toks[pair.1 as usize].bytes.clone()));
        let mut indices = self.where_.remove(&pair).unwrap_or_default();
        indices.sort_unstable();
        indices.dedup();
        let mut delta: FxHashMap<Pair, i64> = FxHashMap::default();
        let mut merged = 0i64;
        let mut touched: Vec<(Pair, u32)> = Vec::new();
        for &wi in &indices {
            let count = self.counts[wi as usize] as i64;
            let word = &mut self.words[wi as usize];
            let before = word.len();
            merge_word(word, pair.0, pair.1, new_id, &mut |p, sign| {
                *delta.entry(p).or_insert(0) += sign * count;
                if sign > 0 {
                    touched.push((p, wi));
                }
            });
            let n = (before - word.len()) as i64;
            if n > 0 {
                merged += n * count;
                self.toks[new_id as usize].words.push(wi);
            }
        }
        self.toks[new_id as usize].freq += merged;
        self.toks[pair.0 as usize].freq -= merged;
        self.toks[pair.1 as usize].freq -= merged;
        self.index_pairs(touched);
        self.add_pair_delta(delta);
    }

    fn index_pairs(&mut self, touched: Vec<(Pair, u32)>) {
        for (p, wi) in touched {
            let list = self.where_.entry(p).or_default();
            if list.last() != Some(&wi) {
                list.push(wi);
            }
        }
    }

    /// The present pieces a removed token stands for (recursively through removed parents).
    fn walk(&self, uid: u32, out: &mut Vec<u32>) {
        let tok = &self.toks[uid as usize];
        match tok.parents {
            Some((l, r)) if tok.slot.is_none() && !tok.atomic => {
                self.walk(l, out);
                self.walk(r, out);
            }
            _ => out.push(uid),
        }
    }

    /// Remove `uid`: free its slot, re-split its remaining occurrences, log a SPLIT event.
    fn remove(&mut self, uid: u32) {
        if let Some(slot) = self.toks[uid as usize].slot.take() {
            self.free_slots.insert(slot);
            self.present -= 1;
        }
        let mut pieces = Vec::new();
        self.walk(uid, &mut pieces);
        let remaining = std::mem::take(&mut self.toks[uid as usize].freq);
        let mut word_list = std::mem::take(&mut self.toks[uid as usize].words);
        word_list.sort_unstable();
        word_list.dedup();
        let mut delta: FxHashMap<Pair, i64> = FxHashMap::default();
        let mut touched: Vec<(Pair, u32)> = Vec::new();
        for wi in word_list {
            if !self.words[wi as usize].contains(&uid) {
                continue;
            }
            let count = self.counts[wi as usize] as i64;
            let old = std::mem::take(&mut self.words[wi as usize]);
            let mut new = Vec::with_capacity(old.len() + pieces.len());
            for &t in &old {
                if t == uid {
                    new.extend_from_slice(&pieces);
                } else {
                    new.push(t);
                }
            }
            for w in old.windows(2) {
                *delta.entry((w[0], w[1])).or_insert(0) -= count;
            }
            for w in new.windows(2) {
                *delta.entry((w[0], w[1])).or_insert(0) += count;
                touched.push(((w[0], w[1]), wi));
            }
            self.words[wi as usize] = new;
            for &p in &pieces {
                let words = &mut self.toks[p as usize].words;
                if words.last() != Some(&wi) {
                    words.push(wi);
                }
            }
        }
        for &p in &pieces {
            self.toks[p as usize].freq += remaining;
        }
        delta.retain(|_, d| *d != 0);
        self.index_pairs(touched);
        self.add_pair_delta(delta);
        let piece_bytes = pieces.iter().map(|&p| self.toks[p as usize].bytes.clone()).collect();
        self.events.push(PickyEvent::Split(self.toks[uid as usize].bytes.clone(), piece_bytes));
    }

    fn finish(self) -> PickyModelData {
        let mut vocab = vec![Vec::new(); self.next_slot as usize];
        let mut used = vec![false; self.next_slot as usize];
        for tok in &self.toks {
            if let Some(slot) = tok.slot {
                vocab[slot as usize] = tok.bytes.clone();
                used[slot as usize] = true;
            }
        }
        // Slots still free at the end (only when training stopped early after removals): compact.
        if used.iter().any(|u| !u) {
            vocab = vocab.into_iter().zip(used).filter(|(_, u)| *u).map(|(v, _)| v).collect();
        }
        PickyModelData { vocab, events: self.events }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::bpe::BpeTrainer;

    fn corpus() -> Vec<(&'static str, u64)> {
        vec![
            ("the", 50), ("then", 12), ("there", 9), ("other", 7), ("hello", 20), ("help", 8),
            ("helping", 6), ("lowest", 5), ("newest", 6), ("widest", 3), ("tokenization", 4),
            ("tokens", 9), ("token", 11), ("aaaa", 3),
        ]
    }

    fn picky(tau: f64, vocab: usize) -> PickyModelData {
        let bpe = BpeTrainerConfig { vocab_size: vocab, min_frequency: 1, ..Default::default() };
        let t = PickyTrainer::new(PickyTrainerConfig { bpe, threshold: tau, max_events: None }).unwrap();
        t.train_words(corpus().iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {}).unwrap()
    }

    #[test]
    fn tau_one_is_plain_bpe() {
        let data = picky(1.0, 300);
        let bpe = BpeTrainer::new(BpeTrainerConfig { vocab_size: 300, min_frequency: 1, ..Default::default() })
            .unwrap()
            .train_words(corpus().iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {})
            .unwrap();
        assert_eq!(data.vocab, bpe.vocab);
        let merges: Vec<PickyEvent> = bpe
            .merges
            .iter()
            .map(|&(a, b)| PickyEvent::Merge(bpe.vocab[a as usize].clone(), bpe.vocab[b as usize].clone()))
            .collect();
        assert_eq!(data.events, merges);
    }

    #[test]
    fn low_tau_removes_and_keeps_size() {
        let data = picky(0.5, 270);
        assert_eq!(data.vocab.len(), 270);
        assert!(data.events.iter().any(|e| matches!(e, PickyEvent::Split(..))));
        let mut seen = std::collections::HashSet::new();
        assert!(data.vocab.iter().all(|t| seen.insert(t.clone())), "vocab has duplicates");
        for e in &data.events {
            if let PickyEvent::Split(t, pieces) = e {
                assert_eq!(&pieces.concat(), t);
                assert!(pieces.len() >= 2);
            }
        }
    }

    #[test]
    fn atoms_are_bytes_or_one_char() {
        assert!(is_atomic(b"a"));
        assert!(is_atomic("é".as_bytes()));
        assert!(!is_atomic(b"ab"));
    }

    #[test]
    fn bad_threshold() {
        let bpe = BpeTrainerConfig::default();
        assert!(PickyTrainer::new(PickyTrainerConfig { bpe, threshold: 0.0, max_events: None }).is_err());
    }
}
