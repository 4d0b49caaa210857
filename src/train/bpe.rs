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
use crate::count::{short_key, WordCounts};
use crate::error::{CoreError, Result};
use crate::model::bpe::thread_pool;
use crate::model::bpe_merge::{merge_units, MergeTable};
use crate::train::words::{merge_in_place, Words};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BinaryHeap;
use std::sync::Arc;

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
#[derive(Clone)]
struct State {
    words: Words,
    counts: Vec<u64>,
    pair_counts: FxHashMap<Pair, i64>,
    where_: FxHashMap<Pair, Vec<u32>>,
    /// Every pair in `pair_counts`, and maybe others: a pair it does not pass is counted fewer than
    /// `floor` times (see `merge_words`). Pairs enter `pair_counts` through `index_count` only.
    indexed: PairFilter,
    vocab: Vec<Vec<u8>>,
    ids: FxHashMap<Vec<u8>, u32>,
    merges: Vec<Pair>,
    /// The trainer's own threads (`num_threads` > 0); None: rayon's global pool.
    pool: Option<Arc<rayon::ThreadPool>>,
    /// Every pair counted at least this many times is indexed with its exact count; rarer pairs may
    /// be left out (see `count_pairs`).
    floor: u64,
    /// Pairs whose token a filter forbids (`max_token_length`, SuperBPE's filters): never merged.
    rejected: FxHashSet<Pair>,
    /// Training on cut lines (`train_encoded_cut`): stop, setting `aborted`, where the cut could
    /// change the result (a recount, a duplicate token, an index floor below the cut's).
    strict: bool,
    aborted: bool,
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
        self.train_words(words.iter().flat_map(|(segs, c)| segs.iter().map(move |s| (s.as_slice(), *c))), progress)
    }

    /// Train on plain words (each one segment) with their counts; repeated words are added up.
    pub fn train_words<'a, I>(&self, words: I, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData>
    where
        I: IntoIterator<Item = (&'a [u8], u64)>,
    {
        self.train_pieces(unique_pieces(words), progress)
    }

    /// Train on a word-count table (its words are distinct: no adding up needed).
    pub fn train_counts(&self, counts: &WordCounts, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData> {
        self.train_pieces(usable_pieces(counts), progress)
    }

    /// Train on distinct, non-empty pieces with positive counts.
    fn train_pieces(&self, pieces: Vec<(&[u8], u64)>, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData> {
        Ok(self.train_pieces_encoded(&pieces, progress)?.0)
    }

    /// Train on distinct, non-empty pieces with positive counts; also return each piece's final
    /// encoding (`words[i]` encodes `pieces[i]` with every merge; SuperBPE's stage 2 starts from them).
    pub(crate) fn train_pieces_encoded(&self, pieces: &[(&[u8], u64)], progress: &mut dyn FnMut(Progress))
        -> Result<(BpeModelData, Words)> {
        let mut state = self.run(progress, |state, inherited, min_count, keep| {
            state.start_words(pieces, inherited, min_count, keep)
        })?;
        let words = std::mem::take(&mut state.words);
        Ok((state.into_model(), words))
    }

    /// Train on words already encoded with the config's initial merges (each of which must make a new
    /// token; see `InheritedMerges`), `counts[i]` times each: what `train_encoded_cut` must equal.
    #[cfg(test)]
    fn train_encoded(&self, words: Vec<Vec<u32>>, counts: Vec<u64>, progress: &mut dyn FnMut(Progress))
        -> Result<BpeModelData> {
        let state = self.run(progress, |state, _, min_count, keep| {
            state.words = words.iter().map(Vec::as_slice).collect();
            state.counts = counts;
            state.count_pairs(min_count, keep);
        })?;
        Ok(state.into_model())
    }

    /// `train_encoded` on lines cut where the pair across the cut is counted fewer than `cut.floor`
    /// times in the uncut lines, continuing `model` (whose merges the words are encoded with; each
    /// made the next new token, as `InheritedMerges::of_model` checks) in place of initial merges.
    /// The result equals training on the uncut lines as long as no merge needs a pair across a
    /// cut: the index floor stays `cut.floor` (so every indexed pair has its full count; a pair
    /// across a cut can only lose occurrences), the pairs are never recounted and no merge re-makes
    /// an existing token. None where that fails.
    pub(crate) fn train_encoded_cut(&self, model: &BpeModelData, cut: CutWords, progress: &mut dyn FnMut(Progress))
        -> Result<Option<BpeModelData>> {
        let state = self.run_from(self.model_state(model), &[], progress, |state, _, _, _| {
            state.words = cut.words;
            state.counts = cut.counts;
            state.strict = true;
            state.index_counted(cut.index, cut.floor);
        })?;
        Ok((!state.aborted).then(|| state.into_model()))
    }

    /// Register the initial merges, let `start` set the words and index their pairs (on the
    /// trainer's threads), then merge up to `vocab_size`.
    fn run(&self, progress: &mut dyn FnMut(Progress),
           start: impl FnOnce(&mut State, &[(Pair, u32)], u64, usize) + Send) -> Result<State> {
        let mut state = self.alphabet_state();
        let inherited = self.register_initial_merges(&mut state)?;
        self.run_from(state, &inherited, progress, start)
    }

    /// `run` from `state` (the alphabet with the `inherited` merges registered).
    fn run_from(&self, mut state: State, inherited: &[(Pair, u32)], progress: &mut dyn FnMut(Progress),
                start: impl FnOnce(&mut State, &[(Pair, u32)], u64, usize) + Send) -> Result<State> {
        let min_count = self.config.min_frequency;
        state.pool = thread_pool(self.config.num_threads)?;
        let keep = index_size(self.config.vocab_size.saturating_sub(state.vocab.len()));
        state.in_pool(|state| start(state, inherited, min_count, keep));
        self.merge_loop(&mut state, progress);
        Ok(state)
    }

    /// The state before any word: specials, then the 256 bytes in GPT-2 alphabet order.
    fn alphabet_state(&self) -> State {
        // Room for the whole vocabulary: growing the lookup rehashes every token's bytes.
        let room = self.config.vocab_size.min(1 << 20);
        let mut vocab: Vec<Vec<u8>> = Vec::with_capacity(room);
        vocab.extend(self.config.special_tokens.iter().map(|s| s.as_bytes().to_vec()));
        vocab.extend(byte_alphabet_order().into_iter().map(|b| vec![b]));
        let mut ids = FxHashMap::with_capacity_and_hasher(room, Default::default());
        // Specials are never merged; keep them out of the lookup so a merge spelling one gets its own id.
        ids.extend(vocab.iter().enumerate().skip(self.config.special_tokens.len()).map(|(id, t)| (t.clone(), id as u32)));
        State {
            words: Words::default(),
            counts: Vec::new(),
            pair_counts: FxHashMap::default(),
            where_: FxHashMap::default(),
            indexed: PairFilter::default(),
            ids,
            vocab,
            merges: Vec::new(),
            pool: None,
            floor: 1,
            rejected: FxHashSet::default(),
            strict: false,
            aborted: false,
        }
    }

    /// The state after `model`'s merges, each of which made the next new token: its vocabulary and
    /// merges taken over, not registered again by their bytes.
    fn model_state(&self, model: &BpeModelData) -> State {
        let mut state = self.alphabet_state();
        let first = state.vocab.len();
        debug_assert_eq!(model.vocab[..first], state.vocab[..], "the same specials and byte alphabet");
        for (id, token) in model.vocab.iter().enumerate().skip(first) {
            state.ids.insert(token.clone(), id as u32);
            state.vocab.push(token.clone());
        }
        state.merges = model.merges.clone();
        state
    }

    /// Add the inherited merges to the vocabulary and merge list; return each as (pair, merged id).
    fn register_initial_merges(&self, state: &mut State) -> Result<Vec<(Pair, u32)>> {
        let lookup = |s: &State, t: &[u8]| {
            s.ids.get(t).copied().ok_or_else(|| {
                CoreError::Config(format!(
                    "initial merge part {:?} is not a token at that point; initial_merges must build on \
                     the byte alphabet and earlier merges",
                    String::from_utf8_lossy(t)
                ))
            })
        };
        let mut inherited = Vec::with_capacity(self.config.initial_merges.len());
        for (left, right) in &self.config.initial_merges {
            let (a, b) = (lookup(state, left)?, lookup(state, right)?);
            if state.vocab.len() >= self.config.vocab_size {
                return Err(CoreError::Config(format!(
                    "vocab_size={} is too small for {} initial merges",
                    self.config.vocab_size,
                    self.config.initial_merges.len()
                )));
            }
            let new_id = state.token_id(&[left.as_slice(), right].concat());
            state.merges.push((a, b));
            inherited.push(((a, b), new_id));
        }
        Ok(inherited)
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
        let min_count = self.config.min_frequency;
        let mut heap = state.heap();
        let mut done = 0usize;
        progress(Progress { merges_done: 0, merges_total: total, last_count: 0 });
        while state.vocab.len() < target && !state.aborted {
            let top = heap.pop();
            let current = top.as_ref().map_or(0, |t| state.pair_counts.get(&t.pair).copied().unwrap_or(0).max(0) as u64);
            if let Some(top) = top.as_ref().filter(|t| t.count != current) {
                if current > 0 {
                    heap.push(Entry { count: current, pair: top.pair });
                }
                continue;
            }
            if current < state.floor && state.floor > min_count {
                // An unindexed pair may now be the most frequent: index more pairs and go on.
                if state.strict {
                    state.aborted = true;
                    break;
                }
                let remaining = target - state.vocab.len();
                state.in_pool(|state| state.recount_pairs(min_count, index_size(remaining)));
                heap = state.heap();
                continue;
            }
            let Some(top) = top else { break };
            if current < min_count {
                break;
            }
            let token = [state.vocab[top.pair.0 as usize].as_slice(), &state.vocab[top.pair.1 as usize]].concat();
            if !self.allowed(&token) {
                state.rejected.insert(top.pair);
                continue;
            }
            let duplicate = state.ids.contains_key(&token);
            if duplicate && state.strict {
                state.aborted = true;
                break;
            }
            let new_id = state.token_id(&token);
            state.merges.push(top.pair);
            let mut grown = state.apply_merge(top.pair, new_id, if duplicate { 1 } else { state.floor });
            if duplicate {
                grown.extend(state.reindex_token(new_id));
            }
            for pair in grown {
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

/// Stage-2 words of SuperBPE cut where no merge can cross (`train_encoded_cut`): the words with
/// their counts, the count below which the pair across every cut lies, and the exact count of
/// every pair counted at least that many times (as `pack`ed pairs).
pub(crate) struct CutWords {
    pub(crate) words: Words,
    pub(crate) counts: Vec<u64>,
    pub(crate) floor: u64,
    pub(crate) index: Vec<(u64, u64)>,
}

/// A set of small integers, one bit each.
#[derive(Clone)]
pub(crate) struct BitSet(Vec<u64>);

impl BitSet {
    /// The integers of `members`, each below `size`.
    pub(crate) fn new(size: usize, members: impl Iterator<Item = usize>) -> BitSet {
        let mut bits = BitSet(vec![0; size.div_ceil(64)]);
        for i in members {
            bits.0[i / 64] |= 1 << (i % 64);
        }
        bits
    }

    #[inline]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// A filter of 2^16 bits (8 kB, which stays in the first-level cache) that every pair of a set
/// passes and most other pairs fail.
#[derive(Clone)]
pub(crate) struct PairFilter(BitSet);

impl Default for PairFilter {
    /// The filter of no pair.
    fn default() -> PairFilter {
        PairFilter::new(std::iter::empty())
    }
}

impl PairFilter {
    pub(crate) fn new(pairs: impl Iterator<Item = u64>) -> PairFilter {
        PairFilter(BitSet::new(PAIR_FILTER_BITS, pairs.map(pair_filter_bit)))
    }

    pub(crate) fn insert(&mut self, pair: u64) {
        self.0.insert(pair_filter_bit(pair));
    }

    /// False: `pair` is not in the set; true: it may be.
    #[inline]
    pub(crate) fn passes(&self, pair: u64) -> bool {
        self.0.contains(pair_filter_bit(pair))
    }
}

const PAIR_FILTER_BITS: usize = 1 << 16;

#[inline]
fn pair_filter_bit(pair: u64) -> usize {
    (pair.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 48) as usize
}

/// Free `value` on one of `pool`'s threads (None: rayon's global pool), while the caller goes on.
pub(crate) fn drop_later<T: Send + 'static>(pool: &Option<Arc<rayon::ThreadPool>>, value: T) {
    match pool {
        Some(pool) => pool.spawn(move || drop(value)),
        None => rayon::spawn(move || drop(value)),
    }
}

/// Run `f` on `pool` (None: rayon's global pool).
pub(crate) fn install<R: Send>(pool: &Option<Arc<rayon::ThreadPool>>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// How many of the most frequent pairs to index when `remaining` merges are left: many more than
/// can be merged (so a recount is rare; none in the 5 MB and 42 MB benchmarks), at least 4,096.
/// Fewer indexed pairs means shorter word lists to build: SuperBPE stage 2 at 5 MB ran 25% faster
/// than with 8 × remaining, at least 65,536.
pub(crate) fn index_size(remaining: usize) -> usize {
    (4 * remaining).max(1 << 12)
}

impl State {
    /// The vocabulary and merges; the rest (the words, the pair index's thousands of lists) is freed
    /// on another thread, off the caller's path.
    fn into_model(mut self) -> BpeModelData {
        let data = BpeModelData { vocab: std::mem::take(&mut self.vocab), merges: std::mem::take(&mut self.merges) };
        drop_later(&self.pool.take(), self);
        data
    }

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

    /// Set the words (each unique piece with its count) with the inherited merges applied, then
    /// count and index the pairs.
    ///
    /// Replaying the merges one by one (each over all its occurrences, left to right) gives the same
    /// words as encoding each word with the merges as ranks (lowest rank first, leftmost on a tie)
    /// as long as every merge makes a new token: a token's pairs then all rank after its creation, so
    /// no earlier merge can apply again. Encoding runs in parallel, which matters for SuperBPE's
    /// stage 2, whose words are whole lines. When two inherited merges spell the same token
    /// (`a+bc`, `ab+c`) the merges are replayed one by one instead.
    fn start_words(&mut self, pieces: &[(&[u8], u64)], inherited: &[(Pair, u32)], min_count: u64, keep: usize) {
        self.counts = pieces.iter().map(|&(_, c)| c).collect();
        let first_new = self.vocab.len() - inherited.len();
        let all_new = inherited.iter().enumerate().all(|(i, &(_, id))| id as usize == first_new + i);
        if inherited.is_empty() || !all_new {
            let byte_id = self.byte_ids();
            self.words = Words::build(pieces, |(piece, _), words| {
                words.push_joined(piece.iter().map(|&b| std::slice::from_ref(&byte_id[b as usize])))
            });
            if inherited.is_empty() {
                self.count_pairs(min_count, keep);
            } else {
                self.count_pairs(1, usize::MAX); // the one-by-one replay needs every pair indexed
            }
            for &(pair, new_id) in inherited {
                self.apply_merge(pair, new_id, 1);
            }
            return;
        }
        let merges = InheritedMerges::new(&self.vocab, self.byte_ids(), inherited);
        self.words = encode_pieces(pieces, &merges);
        self.count_pairs(min_count, keep);
    }

    /// The id of each byte.
    fn byte_ids(&self) -> [u32; 256] {
        let mut byte_id = [0u32; 256];
        for b in 0..=255u8 {
            byte_id[b as usize] = self.ids[&[b][..]];
        }
        byte_id
    }

    /// Run `f` on the trainer's threads.
    fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut State) -> R + Send) -> R {
        let pool = self.pool.clone();
        install(&pool, || f(self))
    }

    /// Merge `pair` into `new_id` in the words at `indices` (ascending, no repeats); the changes,
    /// weighted by word counts. With `parallel` (a frequent pair: many words) they are merged on all
    /// threads, and the threads' changes added up.
    fn merge_words(&mut self, indices: &[u32], pair: Pair, new_id: u32, parallel: bool, every: bool) -> MergeChanges {
        let counts = &self.counts;
        // The words' counts read first, in a loop whose loads do not depend on each other: their cache
        // misses overlap here, and each change recorded below then finds its word's count in cache.
        std::hint::black_box(indices.iter().fold(0u64, |touched, &i| touched ^ counts[i as usize]));
        // Unless `every` change is wanted, a neighbour's pair the index does not hold is counted fewer
        // than `floor` times, so its losses change nothing and the pair the merge makes of it stays
        // below `floor` too (it is made only from that pair's occurrences): neither is recorded. In
        // SuperBPE's stage 2, where a superword's neighbours are mostly rare, that is most changes.
        let indexed = &self.indexed;
        let matters = |p: Pair| every || indexed.passes(pack(p.0, p.1));
        let record = |(delta, new_pairs): &mut MergeChanges, p: Pair, sign: i64, word: u32| {
            *delta.entry(p).or_insert(0) += sign * counts[word as usize] as i64;
            if sign > 0 {
                new_pairs.push((p, word));
            }
        };
        let words = &mut self.words;
        // Sized for the changes a merge makes in this many words (mostly fewer than four pairs each):
        // a merge of superwords touches hundreds of pairs, and growing the map rehashes them each time.
        let start = |words: usize| move || -> MergeChanges {
            (FxHashMap::with_capacity_and_hasher(2 * words, Default::default()), Vec::with_capacity(2 * words))
        };
        let parts = if parallel {
            install(&self.pool, || {
                let threads = rayon::current_num_threads();
                words.merge(indices, (pair, new_id), threads, matters, start(indices.len() / threads), record)
            })
        } else {
            words.merge(indices, (pair, new_id), 1, matters, start(indices.len()), record)
        };
        let mut parts = parts.into_iter();
        let (mut delta, mut new_pairs) = parts.next().unwrap_or_default();
        for (more_delta, more_pairs) in parts {
            for (p, d) in more_delta {
                *delta.entry(p).or_insert(0) += d;
            }
            new_pairs.extend(more_pairs);
        }
        (delta, new_pairs)
    }

    /// Count every adjacent pair and index the words it occurs in, leaving out pairs counted fewer
    /// than `min_count` times and, when more than `keep` pairs remain, all but the `keep` most
    /// frequent mergeable ones (ties included): `floor` becomes the lowest count indexed.
    ///
    /// A pair without the newest token only loses occurrences (unless a merge re-creates one of its
    /// tokens, a duplicate token, which `reindex_token` handles). So a pair below `min_count` can
    /// never be merged, and while the most frequent indexed pair is counted at least `floor` times,
    /// no pair left out can beat it; when it drops below, `merge_loop` counts again. In SuperBPE's
    /// stage 2, whose words are lines, most pairs occur once and few of the rest are ever merged.
    fn count_pairs(&mut self, min_count: u64, keep: usize) {
        let packable = self.vocab.len() <= 1 << PACKED_ID_BITS && self.words.len() <= 1 << PACKED_WORD_BITS;
        self.count_pairs_as(packable, min_count, keep);
    }

    /// `count_pairs` sorting packed occurrences (`packed`, when ids and word indices fit) or tuples.
    fn count_pairs_as(&mut self, packed: bool, min_count: u64, keep: usize) {
        self.floor = if packed {
            let occurrences = self.occurrences(PackedOccurrence::new);
            self.index_occurrences(occurrences, min_count, keep).1
        } else {
            let occurrences = self.occurrences(|a, b, i| (pack(a, b), i));
            self.index_occurrences(occurrences, min_count, keep).1
        };
    }

    /// One entry per adjacent pair in every word, in word order, built in parallel into one buffer.
    fn occurrences<O: Copy + Default + Send + Sync>(&self, make: impl Fn(u32, u32, u32) -> O + Sync) -> Vec<O> {
        let mut offsets = Vec::with_capacity(self.words.len() + 1);
        let mut total = 0usize;
        offsets.push(0);
        for word in self.words.iter() {
            total += word.len().saturating_sub(1);
            offsets.push(total);
        }
        let mut out = vec![O::default(); total];
        let chunk = self.words.len().div_ceil(4 * rayon::current_num_threads()).max(1);
        let mut slices = Vec::new();
        let mut rest: &mut [O] = &mut out;
        for start in (0..self.words.len()).step_by(chunk) {
            let end = (start + chunk).min(self.words.len());
            let (head, tail) = rest.split_at_mut(offsets[end] - offsets[start]);
            slices.push((start, end, head));
            rest = tail;
        }
        slices.into_par_iter().for_each(|(start, end, slots)| {
            let mut at = 0;
            for (i, word) in self.words.range(start..end).enumerate() {
                for w in word.windows(2) {
                    slots[at] = make(w[0], w[1], (start + i) as u32);
                    at += 1;
                }
            }
        });
        out
    }

    /// Index the given pairs (every pair counted at least `floor` times, with its exact count:
    /// what `count_pairs` would index) without counting the others.
    fn index_counted(&mut self, index: Vec<(u64, u64)>, floor: u64) {
        let filter = PairFilter::new(index.iter().map(|&(pair, _)| pair));
        let number: FxHashMap<u64, u32> = index.iter().enumerate().map(|(k, &(pair, _))| (pair, k as u32)).collect();
        // Each share of the words lists its (pair number, word) occurrences in word order, in parallel;
        // the shares are then put in the pairs' lists in order.
        let chunk = self.words.len().div_ceil(4 * rayon::current_num_threads()).max(1);
        let shares: Vec<Vec<(u32, u32)>> = (0..self.words.len())
            .into_par_iter()
            .step_by(chunk)
            .map(|first| {
                let mut found = Vec::new();
                for i in first..(first + chunk).min(self.words.len()) {
                    for w in self.words.get(i).windows(2) {
                        let pair = pack(w[0], w[1]);
                        if let Some(&k) = filter.passes(pair).then(|| number.get(&pair)).flatten() {
                            found.push((k, i as u32));
                        }
                    }
                }
                found
            })
            .collect();
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); index.len()];
        for (k, word) in shares.into_iter().flatten() {
            let list = &mut lists[k as usize];
            if list.last() != Some(&word) {
                list.push(word);
            }
        }
        for ((pair, count), list) in index.into_iter().zip(lists) {
            self.index_count(unpack(pair), count as i64);
            self.where_.insert(unpack(pair), list);
        }
        self.floor = floor;
    }

    /// Forget the index and count again (after the merges so far), indexing about `keep` pairs.
    fn recount_pairs(&mut self, min_count: u64, keep: usize) {
        self.pair_counts.clear();
        self.where_.clear();
        self.indexed = PairFilter::default();
        self.count_pairs(min_count, keep);
    }

    /// A heap of every indexed pair that may still be merged.
    fn heap(&self) -> BinaryHeap<Entry> {
        self.pair_counts
            .iter()
            .filter(|(p, &c)| c > 0 && !self.rejected.contains(p))
            .map(|(&pair, &c)| Entry { count: c as u64, pair })
            .collect()
    }

    /// Recount and re-index every pair holding `id` (after a merge re-created the existing token
    /// `id`, pairs left out of the index as too rare may have gained occurrences). Returns them.
    fn reindex_token(&mut self, id: u32) -> Vec<Pair> {
        let occurrences: Vec<(u64, u32)> = (0..self.words.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                self.words.get(i).windows(2)
                    .filter(move |w| w[0] == id || w[1] == id)
                    .map(move |w| (pack(w[0], w[1]), i as u32))
            })
            .collect();
        self.index_occurrences(occurrences, 1, usize::MAX).0
    }

    /// Set the count and word list of each pair in `occurrences` (one (pair, word) entry per
    /// occurrence) counted at least `min_count` times. Sorting (in parallel) puts each pair's
    /// occurrences in one run, already in word order: one map insert per distinct pair.
    fn index_occurrences<O: Occurrence>(&mut self, mut occurrences: Vec<O>, min_count: u64, keep: usize)
        -> (Vec<Pair>, u64) {
        occurrences.par_sort_unstable();
        let runs: Vec<(&[O], u64)> = occurrences
            .chunk_by(|x, y| x.pair() == y.pair())
            .map(|run| (run, run.iter().map(|o| self.counts[o.word() as usize]).sum::<u64>()))
            .filter(|&(_, count)| count >= min_count)
            .collect();
        let floor = self.keep_floor(&runs, min_count, keep);
        let mut indexed = Vec::new();
        for &(run, count) in runs.iter().filter(|&&(_, count)| count >= floor) {
            let pair = run[0].pair();
            let mut list: Vec<u32> = run.iter().map(|o| o.word()).collect();
            list.dedup();
            self.index_count(pair, count as i64);
            self.where_.insert(pair, list);
            indexed.push(pair);
        }
        (indexed, floor)
    }

    /// The count of the `keep`-th most frequent mergeable run, at least `min_count`.
    fn keep_floor<O: Occurrence>(&self, runs: &[(&[O], u64)], min_count: u64, keep: usize) -> u64 {
        let counts: Vec<u64> = runs
            .iter()
            .filter(|(run, _)| self.rejected.is_empty() || !self.rejected.contains(&run[0].pair()))
            .map(|&(_, count)| count)
            .collect();
        index_floor(counts, min_count, keep)
    }

    /// Merge `pair` into `new_id` in every word holding it; update counts and the index.
    /// Returns the created pairs left in the index (to push on the heap).
    /// New pairs counted fewer than `min_count` times are left out of the index (see `count_pairs`).
    fn apply_merge(&mut self, pair: Pair, new_id: u32, min_count: u64) -> Vec<Pair> {
        let mut indices = self.where_.remove(&pair).unwrap_or_default();
        indices.sort_unstable();
        indices.dedup();
        let every = min_count < self.floor; // a re-made token: its pairs may have been counted before
        let (mut delta, new_pairs) = self.merge_words(&indices, pair, new_id, indices.len() >= PARALLEL_MIN_WORDS, every);
        // Every created pair holds the new token; delta keeps those left indexed. (A pair holding it that
        // was only removed, when the merge re-made an existing token, is checked against `min_count` = 1:
        // as if untouched, but it may be pushed on the heap again, which is harmless.)
        delta.retain(|&p, &mut d| self.change_count(p, d, p.0 == new_id || p.1 == new_id, min_count));
        for (p, index) in new_pairs {
            if delta.contains_key(&p) {
                let list = self.where_.entry(p).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
        }
        let mut pushed: Vec<Pair> = delta.into_keys().collect();
        pushed.sort_unstable();
        pushed
    }

    /// Change `pair`'s count by `delta`; a pair counted 0 times leaves the index, and so does a
    /// `created` one counted fewer than `min_count` times (a pair left out of the index as too rare
    /// has no entry to lower). Whether `created` is left indexed.
    fn change_count(&mut self, pair: Pair, delta: i64, created: bool, min_count: u64) -> bool {
        use std::collections::hash_map::Entry::{Occupied, Vacant};
        let min_count = min_count as i64;
        match self.pair_counts.entry(pair) {
            Occupied(mut entry) => {
                *entry.get_mut() += delta;
                let count = *entry.get();
                if count <= 0 || (created && count < min_count) {
                    entry.remove();
                    return false;
                }
                created
            }
            Vacant(_) if created && delta >= min_count => {
                self.index_count(pair, delta);
                true
            }
            Vacant(_) => false,
        }
    }

    /// Index `pair` with `count` (and let it pass the `indexed` filter).
    fn index_count(&mut self, pair: Pair, count: i64) {
        self.pair_counts.insert(pair, count);
        self.indexed.insert(pack(pair.0, pair.1));
    }
}

/// The `keep`-th largest of `counts`, at least `min_count` (`min_count` when there are no more than
/// `keep`): the lowest count the pair index holds.
pub(crate) fn index_floor(mut counts: Vec<u64>, min_count: u64, keep: usize) -> u64 {
    if counts.len() > keep {
        let (_, &mut kth, _) = counts.select_nth_unstable_by(keep - 1, |a, b| b.cmp(a));
        kth.max(min_count)
    } else {
        min_count
    }
}

/// A merge's changes: count change per pair, and each created pair with the word it is in.
type MergeChanges = (FxHashMap<Pair, i64>, Vec<(Pair, u32)>);

/// Merges touching at least this many words run on all threads.
const PARALLEL_MIN_WORDS: usize = 4096;

/// Inherited merges as an encoder: byte strings encoded with the merges as ranks (lowest first,
/// leftmost on a tie), which equals replaying them one by one when every merge makes a new token.
pub(crate) struct InheritedMerges {
    table: MergeTable,
    /// The byte pairs some inherited token holds.
    inside: BytePairs,
    byte_id: [u32; 256],
}

/// Which bytes `a` are followed by `b` somewhere in a set of byte strings (a table of 2^16 flags).
pub(crate) struct BytePairs(Vec<bool>);

impl BytePairs {
    /// The pairs of adjacent bytes in `strings`.
    pub(crate) fn of<'s>(strings: impl Iterator<Item = &'s [u8]>) -> BytePairs {
        let mut pairs = vec![false; 1 << 16];
        for string in strings {
            for w in string.windows(2) {
                pairs[(w[0] as usize) << 8 | w[1] as usize] = true;
            }
        }
        BytePairs(pairs)
    }

    /// Whether some string holds `left` followed by `right`.
    #[inline]
    pub(crate) fn contains(&self, left: u8, right: u8) -> bool {
        self.0[(left as usize) << 8 | right as usize]
    }

    /// Whether every pair of `other` is one of these.
    pub(crate) fn holds(&self, other: &BytePairs) -> bool {
        self.0.iter().zip(&other.0).all(|(&mine, &theirs)| mine || !theirs)
    }
}

impl InheritedMerges {
    /// `inherited[i]` is merge `i` as (pair, merged id); `vocab` holds every id's bytes.
    fn new(vocab: &[Vec<u8>], byte_id: [u32; 256], inherited: &[(Pair, u32)]) -> InheritedMerges {
        let mut table = MergeTable::new();
        for (rank, &((a, b), new_id)) in inherited.iter().enumerate() {
            table.insert(a, b, rank as u32, new_id);
        }
        let inside = BytePairs::of(inherited.iter().map(|&(_, new_id)| vocab[new_id as usize].as_slice()));
        InheritedMerges { table, inside, byte_id }
    }

    /// The merges of a trained model whose every merge made a new token (ids in merge order after
    /// the specials and the 256 bytes); None when some merge re-made an existing token.
    pub(crate) fn of_model(data: &BpeModelData, specials: usize) -> Option<InheritedMerges> {
        let first_new = specials + 256;
        if data.vocab.len() != first_new + data.merges.len() {
            return None;
        }
        let mut byte_id = [0u32; 256];
        for (id, token) in data.vocab.iter().enumerate().skip(specials).take(256) {
            byte_id[token[0] as usize] = id as u32;
        }
        let inherited: Vec<(Pair, u32)> =
            data.merges.iter().enumerate().map(|(i, &pair)| (pair, (first_new + i) as u32)).collect();
        Some(InheritedMerges::new(&data.vocab, byte_id, &inherited))
    }

    /// Whether some inherited token holds `left` followed by `right`. Where none does, no merge can
    /// join the two bytes, so the text on either side encodes on its own.
    #[inline]
    pub(crate) fn spans(&self, left: u8, right: u8) -> bool {
        self.inside.contains(left, right)
    }

    /// The byte pairs some inherited token holds.
    pub(crate) fn byte_pairs(&self) -> &BytePairs {
        &self.inside
    }

    /// `bytes` encoded with the merges.
    pub(crate) fn encode(&self, bytes: &[u8]) -> Vec<u32> {
        let mut ids: Vec<u32> = bytes.iter().map(|&b| self.byte_id[b as usize]).collect();
        merge_units(&self.table, &mut ids);
        ids
    }
}

/// Encode every piece with the inherited merges.
///
/// A piece is cut where its two adjacent bytes never occur next to each other inside an inherited
/// token: no merge can cross such a cut (it would make a token holding those two bytes), so the
/// parts encode independently, and each distinct part is encoded once per thread.
fn encode_pieces<'a>(pieces: &[(&'a [u8], u64)], merges: &InheritedMerges) -> Words {
    // One share per thread, each with its own cache (rayon's map_init would start a cache per split):
    // each distinct part's ids live in one arena, found by (start, len).
    Words::build_shares(pieces, |chunk: &[(&'a [u8], u64)], words| {
        // Short parts (most) are keyed by their bytes packed in a u128: no look-up reads the
        // line where the part was first seen.
        let mut short: FxHashMap<u128, (u32, u32)> = FxHashMap::default();
        let mut long: FxHashMap<&'a [u8], (u32, u32)> = FxHashMap::default();
        let mut arena: Vec<u32> = Vec::new();
        let mut line: Vec<u32> = Vec::new();
        let mut encode_part = |part: &'a [u8], line: &mut Vec<u32>| {
            let add = |arena: &mut Vec<u32>| {
                let ids = merges.encode(part);
                let start = arena.len() as u32;
                arena.extend_from_slice(&ids);
                (start, ids.len() as u32)
            };
            let (start, len) = match short_key(part) {
                Some(key) => *short.entry(key).or_insert_with(|| add(&mut arena)),
                None => *long.entry(part).or_insert_with(|| add(&mut arena)),
            };
            line.extend_from_slice(&arena[start as usize..(start + len) as usize]);
        };
        for &(piece, _) in chunk {
            line.clear();
            let mut start = 0;
            for end in 1..=piece.len() {
                if end == piece.len() || !merges.spans(piece[end - 1], piece[end]) {
                    encode_part(&piece[start..end], &mut line);
                    start = end;
                }
            }
            words.push(&line);
        }
    })
}

/// The pieces of a count table that training uses: non-empty, with a positive count.
pub(crate) fn usable_pieces(counts: &WordCounts) -> Vec<(&[u8], u64)> {
    counts.iter().filter(|&(w, c)| !w.is_empty() && c > 0).collect()
}

/// Non-empty pieces with a positive count, repeats added together.
fn unique_pieces<'a, I>(pieces: I) -> Vec<(&'a [u8], u64)>
where
    I: IntoIterator<Item = (&'a [u8], u64)>,
{
    let mut unique: FxHashMap<&[u8], u64> = FxHashMap::default();
    for (piece, count) in pieces {
        if !piece.is_empty() && count > 0 {
            *unique.entry(piece).or_insert(0) += count;
        }
    }
    unique.into_iter().collect()
}

/// One occurrence of a pair in a word, sortable so that each pair's occurrences form one run in
/// word order.
trait Occurrence: Ord + Copy + Send + Sync {
    fn pair(&self) -> Pair;
    fn word(&self) -> u32;
}

impl Occurrence for (u64, u32) {
    fn pair(&self) -> Pair {
        unpack(self.0)
    }
    fn word(&self) -> u32 {
        self.1
    }
}

/// Bits of a token id and of a word index in a `PackedOccurrence`.
const PACKED_ID_BITS: u32 = 20;
const PACKED_WORD_BITS: u32 = 64 - 2 * PACKED_ID_BITS;

/// An occurrence in one u64 (left id, right id, word: the same order as the tuple), half the size
/// to sort; used while ids fit in 20 bits and word indices in 24.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct PackedOccurrence(u64);

impl PackedOccurrence {
    fn new(a: u32, b: u32, word: u32) -> PackedOccurrence {
        PackedOccurrence((a as u64) << (PACKED_ID_BITS + PACKED_WORD_BITS) | (b as u64) << PACKED_WORD_BITS | word as u64)
    }
}

impl Occurrence for PackedOccurrence {
    fn pair(&self) -> Pair {
        let ids = self.0 >> PACKED_WORD_BITS;
        ((ids >> PACKED_ID_BITS) as u32, (ids & ((1 << PACKED_ID_BITS) - 1)) as u32)
    }
    fn word(&self) -> u32 {
        (self.0 & ((1 << PACKED_WORD_BITS) - 1)) as u32
    }
}

pub(crate) fn pack(a: u32, b: u32) -> u64 {
    (a as u64) << 32 | b as u64
}

pub(crate) fn unpack(key: u64) -> Pair {
    ((key >> 32) as u32, key as u32)
}

/// `merge_in_place` on a vector, which it shortens.
pub(crate) fn merge_word(word: &mut Vec<u32>, a: u32, b: u32, new_id: u32, change: &mut impl FnMut(Pair, i64)) {
    let merged = merge_in_place(word, a, b, new_id, &|_| true, change);
    word.truncate(merged);
}

/// `n` pseudo-random lines (xorshift from `seed`) of 1 to `max_len` items drawn from `alphabet`.
#[cfg(test)]
pub(crate) fn random_lines<T: Copy>(mut seed: u64, n: usize, max_len: u64, alphabet: &[T]) -> Vec<Vec<T>> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|_| (0..(next() % max_len + 1)).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect())
        .collect()
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

    /// Pseudo-random lines over a small alphabet with spaces, and merges learned on their space-split
    /// words (as SuperBPE's stage 1): encoding with ranks must equal the one-by-one replay.
    #[test]
    fn rank_replay_equals_sequential_replay() {
        let lines = random_lines(0x2545_F491_4F6C_DD1D, 400, 300, b"aab  cba");
        let mut words: FxHashMap<Vec<u8>, u64> = FxHashMap::default();
        for line in &lines {
            for w in line.split_inclusive(|&c| c == b' ') {
                *words.entry(w.to_vec()).or_insert(0) += 1;
            }
        }
        let stage1 = BpeTrainer::new(BpeTrainerConfig { vocab_size: 300, min_frequency: 1, ..Default::default() })
            .unwrap()
            .train_words(words.iter().map(|(w, c)| (w.as_slice(), *c)), &mut |_| {})
            .unwrap();
        let initial: Vec<(Vec<u8>, Vec<u8>)> = stage1
            .merges
            .iter()
            .map(|&(a, b)| (stage1.vocab[a as usize].clone(), stage1.vocab[b as usize].clone()))
            .collect();
        let trainer = BpeTrainer::new(BpeTrainerConfig {
            vocab_size: 400, min_frequency: 1, initial_merges: initial, ..Default::default()
        })
        .unwrap();
        let pieces = unique_pieces(lines.iter().map(|l| (l.as_slice(), 1u64)));
        let mut state = trainer.alphabet_state();
        let inherited = trainer.register_initial_merges(&mut state).unwrap();
        assert!(inherited.len() > 20);
        let mut sequential = state.clone();
        sequential.start_words(&pieces, &[], 1, usize::MAX);
        for &(pair, id) in &inherited {
            sequential.apply_merge(pair, id, 1);
        }
        let mut min2 = state.clone();
        min2.start_words(&pieces, &inherited, 2, usize::MAX);
        state.start_words(&pieces, &inherited, 1, usize::MAX);
        assert_eq!(min2.words, sequential.words);
        assert!(min2.pair_counts.len() < sequential.pair_counts.len());
        assert!(min2.pair_counts.iter().all(|(p, &c)| c >= 2 && sequential.pair_counts[p] == c));
        assert_eq!(state.words, sequential.words);
        assert_eq!(state.pair_counts, sequential.pair_counts);
    }

    /// A merge that re-creates an existing token can give occurrences to a pair left out of the
    /// index as too rare; `reindex_token` must restore its exact count and word list.
    #[test]
    fn reindex_recounts_pairs_of_a_recreated_token() {
        let trainer = BpeTrainer::new(BpeTrainerConfig { vocab_size: 300, ..Default::default() }).unwrap();
        let pieces = unique_pieces([(&b"abab"[..], 1u64), (b"abcd", 1), (b"xcd", 3)]);
        let mut state = trainer.alphabet_state();
        state.start_words(&pieces, &[], 2, usize::MAX);
        let id = |s: &State, t: &[u8]| s.ids[t];
        let (a, b, c, d) = (id(&state, b"a"), id(&state, b"b"), id(&state, b"c"), id(&state, b"d"));
        let x = state.token_id(b"ab");
        state.apply_merge((a, b), x, 2);
        assert!(!state.pair_counts.contains_key(&(x, x)), "(ab, ab) occurs once: left out");
        state.apply_merge((c, d), x, 1); // as if `cd` spelled the existing token `ab`
        state.reindex_token(x);
        let mut fresh = trainer.alphabet_state();
        fresh.vocab = state.vocab.clone();
        fresh.counts = state.counts.clone();
        fresh.words = state.words.clone();
        fresh.count_pairs(1, usize::MAX);
        assert_eq!(state.pair_counts[&(x, x)], 2);
        for (pair, count) in &fresh.pair_counts {
            if pair.0 == x || pair.1 == x {
                assert_eq!(state.pair_counts.get(pair), Some(count), "{pair:?}");
                let mut list = state.where_[pair].clone();
                list.sort_unstable();
                list.dedup();
                assert_eq!(list, fresh.where_[pair]);
            }
        }
    }

    #[test]
    fn parallel_merge_equals_sequential() {
        let trainer = BpeTrainer::new(BpeTrainerConfig { vocab_size: 300, num_threads: 2, ..Default::default() }).unwrap();
        let words: Vec<Vec<u8>> = (0..5000u32).map(|i| format!("ab{i}abab{}", i % 7).into_bytes()).collect();
        let pieces = unique_pieces(words.iter().map(|w| (w.as_slice(), 1 + (w.len() as u64 % 3))));
        let mut state = trainer.alphabet_state();
        state.pool = Some(Arc::new(rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap()));
        state.start_words(&pieces, &[], 1, usize::MAX);
        let (a, b) = (state.ids[&b"a"[..]], state.ids[&b"b"[..]]);
        let x = state.token_id(b"ab");
        let indices: Vec<u32> = (0..state.words.len() as u32).collect();
        let mut other = state.clone();
        let (delta, mut created) = state.merge_words(&indices, (a, b), x, true, false);
        let (delta2, mut created2) = other.merge_words(&indices, (a, b), x, false, false);
        created.sort_unstable();
        created2.sort_unstable();
        assert_eq!(state.words, other.words);
        assert_eq!((delta, created), (delta2, created2));
        assert_eq!(state.counts, other.counts);
    }

    #[test]
    fn packed_and_tuple_occurrences_index_the_same() {
        let lines = random_lines(0x51_7CC1_B727_220A, 400, 60, b"abcab  ba:c");
        let trainer = BpeTrainer::new(BpeTrainerConfig { vocab_size: 400, ..Default::default() }).unwrap();
        let pieces = unique_pieces(lines.iter().map(|l| (l.as_slice(), 1u64)));
        let mut state = trainer.alphabet_state();
        state.start_words(&pieces, &[], 1, usize::MAX);
        let (packed, tuple) = (state.clone(), {
            state.pair_counts.clear();
            state.where_.clear();
            state.count_pairs_as(false, 1, usize::MAX);
            state
        });
        assert!(packed.pair_counts.len() > 20);
        assert_eq!((&packed.pair_counts, &packed.where_, packed.floor), (&tuple.pair_counts, &tuple.where_, tuple.floor));
        let (p, t) = (PackedOccurrence::new(7, (1 << PACKED_ID_BITS) - 1, 123_456), (pack(7, (1 << PACKED_ID_BITS) - 1), 123_456));
        assert_eq!((p.pair(), p.word()), (t.pair(), t.word()));
    }

    /// Indexing only the most frequent pairs (recounting when they run out) changes nothing,
    /// with filters that reject some of the most frequent pairs.
    #[test]
    fn small_index_gives_the_same_merges() {
        let lines = random_lines(0x9E37_79B9_7F4A_7C15, 300, 80, b"aab  cb:a d");
        let config = BpeTrainerConfig {
            vocab_size: 420, min_frequency: 2, max_token_length: Some(6), max_words_per_token: Some(2),
            forbid_colon_space: true, ..Default::default()
        };
        let trainer = BpeTrainer::new(config).unwrap();
        let full = trainer.train_words(lines.iter().map(|l| (l.as_slice(), 1u64)), &mut |_| {}).unwrap();
        let pieces = unique_pieces(lines.iter().map(|l| (l.as_slice(), 1u64)));
        let mut state = trainer.alphabet_state();
        state.start_words(&pieces, &[], 2, 8);
        assert!(state.floor > 2 && state.pair_counts.len() < 20, "the index is cut");
        trainer.merge_loop(&mut state, &mut |_| {});
        assert!(!state.rejected.is_empty());
        assert_eq!((state.vocab, state.merges), (full.vocab, full.merges));
    }

    /// Cut lines train like whole ones, or give None: where a merge re-makes a token, or where the
    /// most frequent pair falls below the cut's floor (the pairs would be recounted).
    #[test]
    fn cut_training_stops_where_the_cut_could_matter() {
        let config = BpeTrainerConfig {
            vocab_size: 262, min_frequency: 1,
            initial_merges: vec![(b"b".to_vec(), b"c".to_vec()), (b"a".to_vec(), b"b".to_vec())],
            ..Default::default()
        };
        let trainer = BpeTrainer::new(config.clone()).unwrap();
        // The cut trainer continues the model of the initial merges alone.
        let model = trainer.train_encoded(Vec::new(), Vec::new(), &mut |_| {}).unwrap();
        assert_eq!(model.merges.len(), 2);
        let cut_trainer = BpeTrainer::new(BpeTrainerConfig { initial_merges: Vec::new(), ..config }).unwrap();
        let id = |t: &[u8]| byte_alphabet_order().iter().position(|&b| b == t[0]).unwrap() as u32;
        let (a, c, bc, ab) = (id(b"a"), id(b"c"), 256, 257);
        // (a, bc) makes "abc"; then (ab, c) would make "abc" again.
        let words = vec![vec![a, bc], vec![ab, c]];
        let whole = trainer.train_encoded(words.clone(), vec![5, 3], &mut |_| {}).unwrap();
        assert_eq!(whole.merges.len(), 4, "the duplicate merge is made");
        let train_cut = |cut| cut_trainer.train_encoded_cut(&model, cut, &mut |_| {}).unwrap();
        assert_eq!(train_cut(cut_words(words, vec![5, 3], 1)), None);
        let plain = vec![vec![a, bc, a, bc], vec![c, c]];
        let expected = trainer.train_encoded(plain.clone(), vec![2, 1], &mut |_| {}).unwrap();
        assert_eq!(train_cut(cut_words(plain.clone(), vec![2, 1], 1)), Some(expected));
        assert_eq!(train_cut(cut_words(plain, vec![2, 1], 5)), None, "the most frequent pair is below the cut's floor");
    }

    /// `words` cut at `floor`, with the pairs counted that often indexed.
    fn cut_words(words: Vec<Vec<u32>>, counts: Vec<u64>, floor: u64) -> CutWords {
        let mut pairs: FxHashMap<u64, u64> = FxHashMap::default();
        for (word, &count) in words.iter().zip(&counts) {
            for w in word.windows(2) {
                *pairs.entry(pack(w[0], w[1])).or_insert(0) += count;
            }
        }
        CutWords { index: pairs.into_iter().filter(|&(_, c)| c >= floor).collect(), words: words.iter().map(Vec::as_slice).collect(), counts, floor }
    }

    #[test]
    fn small_vocab_is_an_error() {
        assert!(BpeTrainer::new(BpeTrainerConfig { vocab_size: 100, ..Default::default() }).is_err());
    }
}
