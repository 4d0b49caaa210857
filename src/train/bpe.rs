//! The byte-level BPE trainer: unique words × u64 counts in, a vocabulary and a merge list out.
//!
//! Id layout (the same as Hugging Face `tokenizers`' `BpeTrainer` with the ByteLevel initial alphabet):
//! special tokens first (ids `0..k`, in the order given), then the 256 single bytes in GPT-2 alphabet
//! order (`!`..`~`, `¡`..`¬`, `®`..`ÿ`, then the 68 remaining bytes in byte order — the order of
//! `bytes::byte_to_char_table` sorted by char, which is also the first 256 ranks of `r50k`/`cl100k`),
//! then one id per merge.
//!
//! Algorithm: pair → word inverted index and a max-heap with lazy invalidation. Pair counts of pairs
//! that do not contain the newest token only ever go down, so a popped entry whose stored count is
//! stale is re-pushed with its current count; the heap top is then exact. After a merge only the words
//! that contained the pair are rewritten and only pairs containing the new token are pushed.
//!
//! Tie-break (documented, deterministic): highest count first, then the smallest pair of ids
//! `(left, right)` — exactly HF `tokenizers`' order, so with the same id layout both trainers give the
//! same merges on the same word counts.
//!
//! A word given as several segments never merges across a segment boundary (MorphBPE). Since pairs
//! never cross segments, each segment is trained as its own word carrying the word's count.
//!
//! Duplicate tokens: two different merges may spell the same bytes (`a+bc`, `ab+c`); as in HF the
//! second merge is recorded but reuses the existing id, so `merges.len()` may exceed
//! `vocab.len() - 256 - specials`.

use crate::bytes::byte_to_char_table;
use crate::error::{CoreError, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;

/// Options of the BPE trainer. Every field has the default of `BpeTrainerConfig::default()`.
#[derive(Clone, Debug)]
pub struct BpeTrainerConfig {
    /// Final vocabulary size, special tokens and the 256 bytes included.
    pub vocab_size: usize,
    /// Stop when the best pair occurs fewer times than this.
    pub min_frequency: u64,
    /// Longest token in bytes (merges that would make a longer one are skipped). `None`: no limit.
    pub max_token_length: Option<usize>,
    /// Special tokens: ids `0..k` in this order, never merged.
    pub special_tokens: Vec<String>,
    /// Merges replayed first, in order (SuperBPE stage 2 inherits stage 1's first t merges).
    pub initial_merges: Vec<(Vec<u8>, Vec<u8>)>,
    /// Skip merges whose token holds more than this many word starts (see `word_starts`).
    pub max_words_per_token: Option<usize>,
    /// Skip merges whose token contains `": "` (SuperBPE stage 2).
    pub forbid_colon_space: bool,
    /// Threads for the initial pair count; 0 = rayon's default (all cores).
    pub num_threads: usize,
}

impl Default for BpeTrainerConfig {
    fn default() -> Self {
        BpeTrainerConfig {
            vocab_size: 1000,
            min_frequency: 2,
            max_token_length: None,
            special_tokens: Vec::new(),
            initial_merges: Vec::new(),
            max_words_per_token: None,
            forbid_colon_space: false,
            num_threads: 0,
        }
    }
}

/// A trained vocabulary: `vocab[id]` is the token's bytes, `merges` the id pairs in rank order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpeModelData {
    pub vocab: Vec<Vec<u8>>,
    pub merges: Vec<(u32, u32)>,
}

/// One progress report, sent after each merge (and once at the start with `merges_done == 0`).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub merges_done: usize,
    /// Merges needed to reach `vocab_size` (an upper bound: training may stop early).
    pub merges_total: usize,
    /// Count of the last merged pair (0 at the start).
    pub last_count: u64,
}

/// The 256 bytes in GPT-2 alphabet order (the order HF's ByteLevel trainer and tiktoken give them ids).
pub fn byte_alphabet_order() -> Vec<u8> {
    let table = byte_to_char_table();
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.sort_by_key(|&b| table[b as usize] as u32);
    bytes
}

/// Word starts in a token: bytes that are not ASCII whitespace and begin the token or follow a space.
/// Example: `" the cat"` → 2, `"the"` → 1, `"  "` → 0.
pub fn word_starts(token: &[u8]) -> usize {
    (0..token.len())
        .filter(|&i| !token[i].is_ascii_whitespace() && (i == 0 || token[i - 1].is_ascii_whitespace()))
        .count()
}

pub(crate) type Pair = (u32, u32);

/// Heap entry: max count first, then the smallest pair (hence the reversed pair order).
/// Shared with the Picky BPE trainer, which breaks ties the same way.
#[derive(PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) count: u64,
    pub(crate) pair: Pair,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.count.cmp(&other.count).then_with(|| other.pair.cmp(&self.pair))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Training state: words as id sequences, pair counts and the pair → words index.
struct State {
    words: Vec<Vec<u32>>,
    counts: Vec<u64>,
    pair_counts: FxHashMap<Pair, i64>,
    where_: FxHashMap<Pair, Vec<u32>>,
    vocab: Vec<Vec<u8>>,
    ids: FxHashMap<Vec<u8>, u32>,
    merges: Vec<Pair>,
}

pub struct BpeTrainer {
    pub config: BpeTrainerConfig,
}

impl BpeTrainer {
    pub fn new(config: BpeTrainerConfig) -> Result<BpeTrainer> {
        let floor = 256 + config.special_tokens.len();
        if config.vocab_size < floor {
            return Err(CoreError::Config(format!(
                "vocab_size={} is below the 256 bytes plus {} special tokens; use vocab_size >= {floor}",
                config.vocab_size,
                config.special_tokens.len()
            )));
        }
        if config.min_frequency == 0 {
            return Err(CoreError::Config("min_frequency must be at least 1".into()));
        }
        if config.max_token_length == Some(0) {
            return Err(CoreError::Config("max_token_length must be at least 1 (or None)".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for s in &config.special_tokens {
            if s.is_empty() || !seen.insert(s) {
                return Err(CoreError::Config(format!("special token {s:?} is empty or listed twice")));
            }
        }
        Ok(BpeTrainer { config })
    }

    /// Train on words given as segments (a plain word is one segment) with their counts.
    pub fn train(&self, words: &[(Vec<Vec<u8>>, u64)], progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData> {
        self.train_pieces(words.iter().flat_map(|(segs, c)| segs.iter().map(move |s| (s.as_slice(), *c))), progress)
    }

    /// Train on plain words (each one segment) with their counts, e.g. from `WordCounts::iter`.
    pub fn train_words<'a, I>(&self, words: I, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData>
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        self.train_pieces(words, progress)
    }

    fn train_pieces<'a, I>(&self, pieces: I, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData>
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        let mut state = self.initial_state(pieces);
        if self.config.num_threads > 0 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.config.num_threads)
                .build()
                .map_err(|e| CoreError::Config(format!("cannot start {} threads: {e}", self.config.num_threads)))?;
            pool.install(|| state.count_pairs());
        } else {
            state.count_pairs();
        }
        // Replay after indexing: each inherited merge then touches only the words holding its pair.
        for (left, right) in &self.config.initial_merges {
            self.replay_merge(&mut state, left, right)?;
        }
        self.merge_loop(&mut state, progress);
        Ok(BpeModelData { vocab: state.vocab, merges: state.merges })
    }

    fn initial_state<'a, I>(&self, pieces: I) -> State
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        let mut vocab: Vec<Vec<u8>> = self.config.special_tokens.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut byte_id = [0u32; 256];
        for b in byte_alphabet_order() {
            byte_id[b as usize] = vocab.len() as u32;
            vocab.push(vec![b]);
        }
        let mut ids = FxHashMap::default();
        // Specials are never merged; keep them out of the lookup so a merge spelling one gets its own id.
        for (id, tok) in vocab.iter().enumerate().skip(self.config.special_tokens.len()) {
            ids.insert(tok.clone(), id as u32);
        }
        let mut unique: FxHashMap<&[u8], u64> = FxHashMap::default();
        for (piece, count) in pieces {
            if !piece.is_empty() && count > 0 {
                *unique.entry(piece).or_insert(0) += count;
            }
        }
        let mut sorted: Vec<(&[u8], u64)> = unique.into_iter().collect();
        sorted.sort_unstable(); // deterministic word order (only affects speed, not results)
        let words = sorted.iter().map(|(p, _)| p.iter().map(|&b| byte_id[b as usize]).collect()).collect();
        let counts = sorted.iter().map(|(_, c)| *c).collect();
        State {
            words,
            counts,
            pair_counts: FxHashMap::default(),
            where_: FxHashMap::default(),
            vocab,
            ids,
            merges: Vec::new(),
        }
    }

    /// Apply a given merge to every word holding its pair, whatever its count, keeping the pair index.
    fn replay_merge(&self, state: &mut State, left: &[u8], right: &[u8]) -> Result<()> {
        let lookup = |s: &State, t: &[u8]| {
            s.ids.get(t).copied().ok_or_else(|| {
                CoreError::Config(format!(
                    "initial merge part {:?} is not a token at that point; initial_merges must build on \
                     the byte alphabet and earlier merges",
                    String::from_utf8_lossy(t)
                ))
            })
        };
        let (a, b) = (lookup(state, left)?, lookup(state, right)?);
        if state.vocab.len() >= self.config.vocab_size {
            return Err(CoreError::Config(format!(
                "vocab_size={} is too small for {} initial merges",
                self.config.vocab_size,
                self.config.initial_merges.len()
            )));
        }
        let new_id = state.token_id(&[left, right].concat());
        state.merges.push((a, b));
        state.apply_merge((a, b), new_id);
        Ok(())
    }

    /// Whether the token made by a merge passes the length and SuperBPE filters.
    fn allowed(&self, token: &[u8]) -> bool {
        if self.config.max_token_length.is_some_and(|m| token.len() > m) {
            return false;
        }
        if self.config.forbid_colon_space && token.windows(2).any(|w| w == b": ") {
            return false;
        }
        if self.config.max_words_per_token.is_some_and(|m| word_starts(token) > m) {
            return false;
        }
        true
    }

    fn merge_loop(&self, state: &mut State, progress: &mut dyn FnMut(Progress)) {
        let target = self.config.vocab_size;
        let total = target.saturating_sub(state.vocab.len());
        let mut heap: BinaryHeap<Entry> = state
            .pair_counts
            .iter()
            .filter(|(_, &c)| c > 0)
            .map(|(&pair, &c)| Entry { count: c as u64, pair })
            .collect();
        let mut done = 0usize;
        progress(Progress { merges_done: 0, merges_total: total, last_count: 0 });
        while state.vocab.len() < target {
            let Some(top) = heap.pop() else { break };
            let current = state.pair_counts.get(&top.pair).copied().unwrap_or(0).max(0) as u64;
            if current != top.count {
                if current > 0 {
                    heap.push(Entry { count: current, pair: top.pair });
                }
                continue;
            }
            if current < self.config.min_frequency {
                break;
            }
            let token = [state.vocab[top.pair.0 as usize].as_slice(), &state.vocab[top.pair.1 as usize]].concat();
            if !self.allowed(&token) {
                continue;
            }
            let new_id = state.token_id(&token);
            state.merges.push(top.pair);
            for pair in state.apply_merge(top.pair, new_id) {
                let c = state.pair_counts.get(&pair).copied().unwrap_or(0);
                if c > 0 {
                    heap.push(Entry { count: c as u64, pair });
                }
            }
            done += 1;
            progress(Progress { merges_done: done, merges_total: total, last_count: current });
        }
    }
}

impl State {
    /// The id of a token, adding it to the vocabulary when new.
    fn token_id(&mut self, token: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.vocab.len() as u32;
        self.vocab.push(token.to_vec());
        self.ids.insert(token.to_vec(), id);
        id
    }

    /// Count every adjacent pair and index the words it occurs in, in parallel over word chunks.
    fn count_pairs(&mut self) {
        let chunk = (self.words.len() / (4 * rayon::current_num_threads()).max(1)).max(1024);
        let partials: Vec<(FxHashMap<Pair, i64>, FxHashMap<Pair, Vec<u32>>)> = self
            .words
            .par_chunks(chunk)
            .enumerate()
            .map(|(ci, words)| {
                let mut counts: FxHashMap<Pair, i64> = FxHashMap::default();
                let mut where_: FxHashMap<Pair, Vec<u32>> = FxHashMap::default();
                for (wi, word) in words.iter().enumerate() {
                    let index = (ci * chunk + wi) as u32;
                    let count = self.counts[index as usize] as i64;
                    for w in word.windows(2) {
                        let pair = (w[0], w[1]);
                        *counts.entry(pair).or_insert(0) += count;
                        let list = where_.entry(pair).or_default();
                        if list.last() != Some(&index) {
                            list.push(index);
                        }
                    }
                }
                (counts, where_)
            })
            .collect();
        for (counts, where_) in partials {
            for (pair, c) in counts {
                *self.pair_counts.entry(pair).or_insert(0) += c;
            }
            for (pair, list) in where_ {
                self.where_.entry(pair).or_default().extend(list);
            }
        }
    }

    /// Merge `pair` into `new_id` in every word holding it; update counts and the index.
    /// Returns the pairs containing the new token whose count went up (to push on the heap).
    fn apply_merge(&mut self, pair: Pair, new_id: u32) -> Vec<Pair> {
        let mut indices = self.where_.remove(&pair).unwrap_or_default();
        indices.sort_unstable();
        indices.dedup();
        let mut delta: FxHashMap<Pair, i64> = FxHashMap::default();
        let mut new_pairs: Vec<(Pair, u32)> = Vec::new();
        for &index in &indices {
            let count = self.counts[index as usize] as i64;
            let word = &mut self.words[index as usize];
            merge_word(word, pair.0, pair.1, new_id, &mut |p, sign| {
                *delta.entry(p).or_insert(0) += sign * count;
                if sign > 0 {
                    new_pairs.push((p, index));
                }
            });
        }
        for (p, d) in delta {
            if d != 0 {
                let entry = self.pair_counts.entry(p).or_insert(0);
                *entry += d;
                if *entry <= 0 {
                    self.pair_counts.remove(&p);
                }
            }
        }
        let mut pushed: Vec<Pair> = Vec::new();
        for (p, index) in new_pairs {
            let list = self.where_.entry(p).or_default();
            if list.last() != Some(&index) {
                list.push(index);
            }
            pushed.push(p);
        }
        pushed.sort_unstable();
        pushed.dedup();
        pushed
    }
}

/// Merge every non-overlapping `(a, b)` in `word` (left to right) into `new_id`, in place.
/// `change(pair, ±1)` reports each pair occurrence removed (-1) or created (+1).
/// Example: `a b a b` with `(a,b)→X`: removes (a,b)×2 and (b,a), creates (X,X).
pub(crate) fn merge_word(word: &mut Vec<u32>, a: u32, b: u32, new_id: u32, change: &mut dyn FnMut(Pair, i64)) {
    let n = word.len();
    if n < 2 {
        return;
    }
    let (mut read, mut write) = (0usize, 0usize);
    while read < n {
        if read + 1 < n && word[read] == a && word[read + 1] == b {
            if write > 0 {
                let prev = word[write - 1];
                change((prev, a), -1);
                change((prev, new_id), 1);
            }
            change((a, b), -1);
            if read + 2 < n {
                let next = word[read + 2];
                change((b, next), -1);
                change((new_id, next), 1);
            }
            word[write] = new_id;
            read += 2;
        } else {
            word[write] = word[read];
            read += 1;
        }
        write += 1;
    }
    word.truncate(write);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(words: &[(&str, u64)], config: BpeTrainerConfig) -> BpeModelData {
        let trainer = BpeTrainer::new(config).unwrap();
        trainer.train_words(words.iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {}).unwrap()
    }

    fn token(data: &BpeModelData, id: u32) -> String {
        String::from_utf8_lossy(&data.vocab[id as usize]).into_owned()
    }

    #[test]
    fn alphabet_is_gpt2_order() {
        let order = byte_alphabet_order();
        assert_eq!(order[0], b'!');
        assert_eq!(order[93], b'~');
        assert_eq!(order[188], 0);
        assert_eq!(order[188 + 32], b' ');
    }

    #[test]
    fn merges_most_frequent_first() {
        let data = train(&[("hug", 10), ("pug", 5), ("pun", 12), ("bun", 4), ("hugs", 5)],
                         BpeTrainerConfig { vocab_size: 259, ..Default::default() });
        let merged: Vec<String> = (256..259).map(|i| token(&data, i)).collect();
        assert_eq!(merged, ["ug", "un", "hug"]);
    }

    #[test]
    fn tie_break_smallest_ids() {
        // "ab" and "cd" both occur 3 times: (a,b) has the smaller ids.
        let data = train(&[("cd", 3), ("ab", 3)], BpeTrainerConfig { vocab_size: 258, ..Default::default() });
        assert_eq!(token(&data, 256), "ab");
        assert_eq!(token(&data, 257), "cd");
    }

    #[test]
    fn specials_first_and_never_merged() {
        let cfg = BpeTrainerConfig { vocab_size: 260, special_tokens: vec!["<s>".into()], ..Default::default() };
        let data = train(&[("<s><s>", 10)], cfg);
        assert_eq!(data.vocab[0], b"<s>");
        assert_eq!(data.vocab[1], b"!");
        assert!(data.vocab.len() <= 260);
    }

    #[test]
    fn max_token_length_is_exact() {
        let cfg = BpeTrainerConfig { vocab_size: 400, max_token_length: Some(3), min_frequency: 1, ..Default::default() };
        let data = train(&[("abcdefgh", 100), ("abc", 7)], cfg);
        assert!(data.vocab.iter().all(|t| t.len() <= 3));
        assert!(data.vocab.iter().any(|t| t.len() == 3));
    }

    #[test]
    fn segments_never_merge_across() {
        let trainer = BpeTrainer::new(BpeTrainerConfig { vocab_size: 300, min_frequency: 1, ..Default::default() }).unwrap();
        let words = vec![(vec![b"ab".to_vec(), b"cd".to_vec()], 10u64)];
        let data = trainer.train(&words, &mut |_| {}).unwrap();
        assert!(!data.vocab.iter().any(|t| t.as_slice() == b"bc" || t.len() > 2));
    }

    #[test]
    fn filters_colon_space_and_words() {
        let cfg = BpeTrainerConfig {
            vocab_size: 400, min_frequency: 1, forbid_colon_space: true, max_words_per_token: Some(2),
            ..Default::default()
        };
        let data = train(&[("key: a b c d", 50)], cfg);
        assert!(!data.vocab.iter().any(|t| t.windows(2).any(|w| w == b": ")));
        assert!(data.vocab.iter().all(|t| word_starts(t) <= 2));
        assert_eq!(word_starts(b" the cat"), 2);
    }

    #[test]
    fn initial_merges_replayed_first() {
        let cfg = BpeTrainerConfig {
            vocab_size: 260, min_frequency: 1,
            initial_merges: vec![(b"x".to_vec(), b"y".to_vec()), (b"xy".to_vec(), b"z".to_vec())],
            ..Default::default()
        };
        let data = train(&[("abab", 100), ("xyz", 1)], cfg);
        assert_eq!(token(&data, 256), "xy");
        assert_eq!(token(&data, 257), "xyz");
        assert_eq!(token(&data, 258), "ab");
        let bad = BpeTrainerConfig { initial_merges: vec![(b"qq".to_vec(), b"r".to_vec())], ..Default::default() };
        let err = BpeTrainer::new(bad).unwrap().train_words(std::iter::empty(), &mut |_| {});
        assert!(err.is_err());
    }

    #[test]
    fn merge_word_reports_changes() {
        let mut word = vec![1, 2, 1, 2];
        let mut changes = FxHashMap::default();
        merge_word(&mut word, 1, 2, 9, &mut |p, s| *changes.entry(p).or_insert(0) += s);
        assert_eq!(word, vec![9, 9]);
        changes.retain(|_, v| *v != 0);
        let expect: FxHashMap<Pair, i64> = [((1, 2), -2), ((2, 1), -1), ((9, 9), 1)].into_iter().collect();
        assert_eq!(changes, expect);
    }

    #[test]
    fn small_vocab_is_an_error() {
        assert!(BpeTrainer::new(BpeTrainerConfig { vocab_size: 100, ..Default::default() }).is_err());
    }
}
