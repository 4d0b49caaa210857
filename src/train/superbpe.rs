//! SuperBPE's two stages in one call (Liu et al., "SuperBPE: Space Travel for Language Models", 2025).
//!
//! Stage 1 learns subword merges on words (`counts1`, the stage-1 pretokenization) up to the
//! transition vocabulary size t; stage 2 starts from the lines (`lines`, split only at digit
//! groups) encoded with stage 1's merges and continues to `vocab_size` with the superword filters.
//! The result equals training stage 2 with `initial_merges` = stage 1's merges (`BpeTrainer`'s
//! general path, which this falls back to when a stage-1 merge re-made an existing token, or when
//! the cut below could change the result).
//!
//! What the fusion saves:
//! - The corpus is pretokenized once: with the stage-1 pattern the words are counted from the
//!   stage-2 pieces, and each line is kept as its sequence of stage-1 words.
//! - Stage 2 never encodes its lines byte by byte: a line is its words' final stage-1 encodings put
//!   together (stage 1 leaves them behind); bytes are encoded only where an inherited token could
//!   span two words, or a pretoken is not a stage-1 word (a `counts1` made some other way).
//! - Stage 2 does not train on whole lines. Its pairs are counted from the words, the lines are cut
//!   wherever the pair across two words is too rare to be merged before the pair index would be
//!   rebuilt, and each distinct part is kept once (`CountedUnits::cut`). The index is kept small
//!   (`cut_index_sizes`) so that more is cut: at 5 MB / 8k, 84k parts of 313k tokens instead of
//!   78k lines of 1.2M tokens. The trainer starts from the pair counts the cut already made.
//! - Stage 2's lines are laid out as units (where a token could join two words) on a thread of lowest
//!   priority while stage 1 trains, whose merge loop leaves a core idle: that a token could join two
//!   words is known from the words' byte pairs, before stage 1's tokens are (`Stage2Text::joins`).
//!   The same thread then counts each distinct pair of units side by side (`UnitLayout::count_pairs`):
//!   the pair of tokens across a junction is the last token of one unit and the first of the next, so
//!   once stage 1 is done the junctions' pairs are counted from 1.66M pairs of units instead of 8.3M
//!   junctions (42 MB).

use crate::count::{absorb, PieceList, PieceNumbering, WordCounts};
use crate::error::Result;
use crate::model::bpe::thread_pool;
use crate::pretokenize::Pretokenizer;
use crate::train::bpe::{
    drop_later, index_floor, index_size, install, pack, unpack, usable_pieces, BitSet, BpeModelData, BpeTrainer, BytePairs,
    BpeTrainerConfig, CutWords, InheritedMerges, PairFilter, Progress,
};
use crate::train::words::Words;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};


/// The pair-index sizes stage 2 tries on cut lines when `remaining` merges are left: three times
/// that (at least 1,024), then the usual size (`index_size`). The smaller the index, the higher its
/// floor and the more junctions are cut (at 5 MB / 8k: floor 45 instead of 29, 84k parts of 313k
/// tokens instead of 111k of 444k). The last stage-2 merge is counted about as often as the pair
/// ranked at twice the merges left (measured from 5 to 42 MB, 8k to 64k), so the small index
/// rarely stops; where it does, the usual one takes over.
fn cut_index_sizes(remaining: usize) -> Vec<usize> {
    let (small, usual) = ((3 * remaining).max(1 << 10), index_size(remaining));
    if small < usual { vec![small, usual] } else { vec![usual] }
}

/// Marks a line entry that is a stretch of bytes (its length in the other bits), not a stage-1 word.
const BYTES: u32 = 1 << 31;

/// Every line as its stage-1 pretokens, one `u32` entry each: the index of the stage-1 word it spells,
/// or `BYTES | length` for text that is no stage-1 word. Line `i` is `entries[ends[i - 1]..ends[i]]`.
#[derive(Default)]
struct LineWords {
    entries: Vec<u32>,
    ends: Vec<usize>,
}

impl LineWords {
    fn line(&self, i: usize) -> &[u32] {
        &self.entries[if i == 0 { 0 } else { self.ends[i - 1] }..self.ends[i]]
    }

    /// Append `other`'s lines.
    fn append(&mut self, other: LineWords) {
        let shift = self.entries.len();
        self.ends.extend(other.ends.into_iter().map(|end| end + shift));
        self.entries.extend(other.entries);
    }
}

/// Each line as its stage-1 words, in the threads' shares of the lines: the first share numbered as
/// the words are, each other share with its own numbers and their words' numbers (`joined` puts the
/// shares together).
struct LineShares {
    first: LineWords,
    rest: Vec<(Vec<u32>, LineWords)>,
}

impl LineShares {
    /// The shares put together, in line order, renumbered (on the calling thread).
    fn joined(self) -> LineWords {
        let mut line_words = self.first;
        for (renumber, mut share) in self.rest {
            share.entries.iter_mut().filter(|e| **e & BYTES == 0).for_each(|e| *e = renumber[*e as usize]);
            line_words.append(share);
        }
        line_words
    }
}

/// Stage 2's lines: counted (each distinct line once), or listed in corpus order.
#[derive(Clone, Copy)]
pub enum Lines<'c> {
    Counts(&'c WordCounts),
    List(&'c PieceList),
}

impl<'c> Lines<'c> {
    /// The non-empty lines with their counts (a listed line counts once each time it occurs).
    fn usable(self) -> Vec<(&'c [u8], u64)> {
        match self {
            Lines::Counts(counts) => usable_pieces(counts),
            Lines::List(list) => list.iter().map(|line| (line, 1)).collect(),
        }
    }

    /// `trainer` (stage 2, with stage 1's merges as initial merges) on the whole lines.
    fn train(self, trainer: &BpeTrainer, progress: &mut dyn FnMut(Progress)) -> Result<BpeModelData> {
        match self {
            Lines::Counts(counts) => trainer.train_counts(counts, progress),
            Lines::List(list) => trainer.train_words(list.iter().map(|line| (line, 1)), progress),
        }
    }
}

pub struct SuperBpeTrainer {
    /// The final configuration: `vocab_size`, the superword filters, and no `initial_merges`.
    config: BpeTrainerConfig,
    /// t, the stage-1 vocabulary size.
    transition: usize,
    /// Stage 1's pretokenizer (the one `counts1` was made with).
    stage1_pattern: Pretokenizer,
}

/// The trained model, how many of its merges stage 1 made, and how many times stage 2 trained (on
/// lines cut for a small pair index, for the usual one, on the whole lines: 1 unless a cut could
/// have changed the result).
pub struct SuperBpeModel {
    pub data: BpeModelData,
    pub stage1_merges: usize,
    pub stage2_runs: usize,
}

impl SuperBpeTrainer {
    pub fn new(config: BpeTrainerConfig, transition: usize, stage1_pattern: &str) -> Result<SuperBpeTrainer> {
        BpeTrainer::new(config.clone())?;
        Ok(SuperBpeTrainer { config, transition, stage1_pattern: Pretokenizer::new(stage1_pattern)? })
    }

    /// Train stage 1 on the words and stage 2 on the `lines`; `progress` hears each stage.
    /// The words are `counts1` when given; otherwise they are counted from the lines, which gives the
    /// same counts when every stage-1 pretoken lies inside one stage-2 piece (true of
    /// `superbpe_stage1`, whose pretokens never mix digits with other characters).
    pub fn train(&self, counts1: Option<&WordCounts>, lines: Lines, progress: &mut dyn FnMut(Progress))
        -> Result<SuperBpeModel> {
        self.train_with(counts1, lines, cut_index_sizes, progress)
    }

    /// `train`, with stage 2 on lines cut for each pair-index size `cut_sizes` gives for the merges
    /// left, in turn (`cut_index_sizes` by default), then on the whole lines (no sizes: at once).
    fn train_with(&self, counts1: Option<&WordCounts>, all_lines: Lines, cut_sizes: fn(usize) -> Vec<usize>,
                  progress: &mut dyn FnMut(Progress)) -> Result<SuperBpeModel> {
        let stage1 = BpeTrainer::new(BpeTrainerConfig {
            vocab_size: self.transition.min(self.config.vocab_size),
            max_words_per_token: None,
            forbid_colon_space: false,
            initial_merges: Vec::new(),
            ..self.config.clone()
        })?;
        let lines = all_lines.usable();
        let pool = thread_pool(self.config.num_threads)?;
        let (words, shares) = match counts1 {
            Some(counts1) => {
                let words = usable_pieces(counts1);
                let line_words = install(&pool, || self.line_words(&lines, &words));
                (words, LineShares { first: line_words, rest: Vec::new() })
            }
            None => install(&pool, || self.words_of_lines(&lines)),
        };
        // The lines' words are put together and stage 2's lines laid out as units beside stage 1: where
        // a token could join two words is known from the words' bytes.
        let lay_out = || {
            let line_words = shares.joined();
            let text = Stage2Text::new(&lines, &line_words, &words);
            let layout = text.layout();
            let unit_pairs = layout.count_pairs(&line_words, words.len());
            (layout, unit_pairs, text.joins, line_words)
        };
        let (stage1_result, (layout, unit_pairs, joins, line_words)) =
            self.beside(|| stage1.train_pieces_encoded(&words, progress), lay_out);
        let (data1, encoded) = stage1_result?;
        let stage1_merges = data1.merges.len();
        if self.transition >= self.config.vocab_size {
            return Ok(SuperBpeModel { data: data1, stage1_merges, stage2_runs: 0 });
        }
        // Stage 2 proper: stage 1's merges as initial merges, on the whole lines, encoded again.
        let on_whole_lines = |progress: &mut dyn FnMut(Progress)| {
            let initial_merges = data1
                .merges
                .iter()
                .map(|&(a, b)| (data1.vocab[a as usize].clone(), data1.vocab[b as usize].clone()))
                .collect();
            all_lines.train(&BpeTrainer::new(BpeTrainerConfig { initial_merges, ..self.config.clone() })?, progress)
        };
        let Some(merges) = InheritedMerges::of_model(&data1, self.config.special_tokens.len()) else {
            return Ok(SuperBpeModel { data: on_whole_lines(progress)?, stage1_merges, stage2_runs: 1 });
        };
        let stage1_words = Stage1Words::new(encoded);
        // The layout joins words wherever a token could; it holds if every inherited token's pairs are
        // among the words' (always: tokens lie inside words).
        let (layout, unit_pairs) = if joins.holds(merges.byte_pairs()) {
            (layout, unit_pairs)
        } else {
            let layout = Stage2Text::new(&lines, &line_words, &words).layout_for(|a, b| merges.spans(a, b));
            let unit_pairs = layout.count_pairs(&line_words, words.len());
            (layout, unit_pairs)
        };
        let units = install(&pool, || Units::new(layout, unit_pairs, &line_words, &stage1_words, &merges));
        let sizes = cut_sizes(self.config.vocab_size.saturating_sub(data1.vocab.len()));
        let (trained, mut stage2_runs) = self.train_cut(units, &data1, &sizes, &pool, progress)?;
        drop_later(&pool, (line_words, stage1_words)); // thousands of vectors: freed off the caller's path
        drop((lines, words));
        // Where the cut could change the result (rare), stage 2 trains on the whole lines.
        let data = match trained {
            Some(data) => data,
            None => {
                stage2_runs += 1;
                on_whole_lines(progress)?
            }
        };
        Ok(SuperBpeModel { data, stage1_merges, stage2_runs })
    }

    /// `train` (stage 1) with `work` beside it, on a thread of lowest priority: stage 1's merge loop
    /// leaves a core idle. With one thread asked for, `work` runs after `train`, on this thread.
    fn beside<R, W: Send>(&self, train: impl FnOnce() -> R, work: impl FnOnce() -> W + Send) -> (R, W) {
        if self.config.num_threads == 1 {
            return (train(), work());
        }
        std::thread::scope(|scope| {
            let working = scope.spawn(|| {
                lowest_priority();
                work()
            });
            (train(), working.join().expect("work beside stage 1 panicked"))
        })
    }

    /// Stage 2 on the lines cut for each pair-index size in turn (`cut_index_sizes`) until one
    /// gives the result; None where none does (or there are no sizes). Also how many it tried.
    fn train_cut(&self, units: Units, stage1: &BpeModelData, sizes: &[usize],
                 pool: &Option<std::sync::Arc<rayon::ThreadPool>>, progress: &mut dyn FnMut(Progress))
        -> Result<(Option<BpeModelData>, usize)> {
        let Some(&largest) = sizes.iter().max() else { return Ok((None, 0)) };
        let stage2 = BpeTrainer::new(self.config.clone())?;
        let counted = install(pool, || units.count(self.config.min_frequency, largest));
        for (tried, &keep) in sizes.iter().enumerate() {
            let parts = install(pool, || counted.cut(keep));
            if let Some(data) = stage2.train_encoded_cut(stage1, parts, progress)? {
                counted.drop_later(pool);
                return Ok((Some(data), tried + 1));
            }
        }
        Ok((None, sizes.len()))
    }

    /// The stage-1 words of the lines (each distinct word once, with its count over the lines'
    /// counts) and each line as its words. Each thread counts its share of the lines; the shares'
    /// words are then numbered into one list.
    fn words_of_lines<'a>(&self, lines: &[(&'a [u8], u64)]) -> (Vec<(&'a [u8], u64)>, LineShares) {
        let chunk = lines.len().div_ceil(rayon::current_num_threads()).max(1);
        let shares: Vec<(PieceNumbering<'a>, LineWords)> = lines
            .par_chunks(chunk)
            .map(|share| {
                let mut words = PieceNumbering::default();
                let line_words = self.cut_lines(share, |w, count| words.add(w, count));
                (words, line_words)
            })
            .collect();
        let mut shares = shares.into_iter();
        let (mut words, first) = shares.next().unwrap_or_default();
        let rest = shares.map(|(share_words, share_lines)| (words.absorb(share_words), share_lines)).collect();
        (words.into_pieces(), LineShares { first, rest })
    }

    /// Each line as its stage-1 pretokens, looked up among stage 1's `words`.
    fn line_words(&self, lines: &[(&[u8], u64)], words: &[(&[u8], u64)]) -> LineWords {
        let index: FxHashMap<&[u8], u32> = words.iter().enumerate().map(|(i, &(w, _))| (w, i as u32)).collect();
        let chunk = lines.len().div_ceil(rayon::current_num_threads()).max(1);
        let shares: Vec<LineWords> = lines
            .par_chunks(chunk)
            .map(|share| self.cut_lines(share, |w, _| index.get(w).copied().unwrap_or(BYTES | w.len() as u32)))
            .collect();
        let mut line_words = LineWords::default();
        for share in shares {
            line_words.append(share);
        }
        line_words
    }

    /// `lines` cut into their stage-1 pretokens, each entry given by `entry(pretoken, line count)`.
    /// Bytes the pretokenizer leaves out, and a line that is not UTF-8, are `BYTES` entries.
    fn cut_lines<'a>(&self, lines: &[(&'a [u8], u64)], mut entry: impl FnMut(&'a [u8], u64) -> u32) -> LineWords {
        let bytes_len: usize = lines.iter().map(|(l, _)| l.len()).sum();
        let mut out = LineWords { entries: Vec::with_capacity(bytes_len / 4), ends: Vec::with_capacity(lines.len()) };
        for &(line, count) in lines {
            match std::str::from_utf8(line) {
                Err(_) => out.entries.push(BYTES | line.len() as u32),
                Ok(text) => {
                    let mut done = 0;
                    self.stage1_pattern.for_each_span(text, |start, end| {
                        if start > done {
                            out.entries.push(BYTES | (start - done) as u32);
                        }
                        out.entries.push(entry(&line[start..end], count));
                        done = end;
                    });
                    if done < line.len() {
                        out.entries.push(BYTES | (line.len() - done) as u32);
                    }
                }
            }
            out.ends.push(out.entries.len());
        }
        out
    }
}

/// Give the calling thread the lowest scheduling priority (Linux; elsewhere nothing), so that work
/// done beside a trainer takes only a core the trainer leaves idle.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; on failure the priority is unchanged.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
    }
}

/// What stage 1 leaves for stage 2: each word's final encoding.
struct Stage1Words {
    encoded: Words,
    /// The first and the last token of each word's encoding.
    outer: Vec<(u32, u32)>,
}

impl Stage1Words {
    fn new(encoded: Words) -> Stage1Words {
        Stage1Words { outer: encoded.iter().map(|e| (e[0], e[e.len() - 1])).collect(), encoded }
    }
}

/// Stage 2's lines as stage-1 words: each word's length in bytes and its first and last byte, and
/// where a token could join two words (`joins`).
struct Stage2Text<'t, 'a> {
    lines: &'t [(&'a [u8], u64)],
    line_words: &'t LineWords,
    lengths: Vec<u32>,
    ends: Vec<(u8, u8)>,
    /// The byte pairs some stage-1 word holds. Every inherited token lies inside a word, so a token
    /// can only join two words where the junction's two bytes are such a pair: these pairs hold the
    /// inherited tokens' (`InheritedMerges::byte_pairs`) and are known before stage 1 trains.
    joins: BytePairs,
}

impl<'t, 'a> Stage2Text<'t, 'a> {
    fn new(lines: &'t [(&'a [u8], u64)], line_words: &'t LineWords, words: &[(&[u8], u64)]) -> Stage2Text<'t, 'a> {
        Stage2Text {
            lines,
            line_words,
            lengths: words.iter().map(|&(w, _)| w.len() as u32).collect(),
            ends: words.iter().map(|&(w, _)| (w[0], w[w.len() - 1])).collect(),
            joins: BytePairs::of(words.iter().map(|&(w, _)| w)),
        }
    }

    /// Line `i` as runs, in order: `f(Some(word), bytes)` for a stage-1 word on its own, `f(None,
    /// bytes)` for words a token could join (`spans`: so they encode together) or text that is no
    /// stage-1 word.
    fn for_each_run(&self, i: usize, spans: &impl Fn(u8, u8) -> bool, mut f: impl FnMut(Option<u32>, &'a [u8])) {
        let line = self.lines[i].0;
        let (mut start, mut end, mut run_words) = (0usize, 0usize, 0usize);
        for &entry in self.line_words.line(i) {
            end += match entry & BYTES {
                0 => self.lengths[entry as usize],
                _ => entry & !BYTES,
            } as usize;
            run_words += 1;
            if end < line.len() && spans(line[end - 1], line[end]) {
                continue; // a token may join this entry with the next
            }
            let word = (run_words == 1 && entry & BYTES == 0).then_some(entry);
            f(word, &line[start..end]);
            (start, run_words) = (end, 0);
        }
    }

    /// Whether line `i` is its words put together: every entry a word, and no token could join two
    /// of them (`spans`).
    fn is_plain(&self, i: usize, spans: &impl Fn(u8, u8) -> bool) -> bool {
        let entries = self.line_words.line(i);
        entries.iter().all(|&e| e & BYTES == 0)
            && entries.windows(2).all(|w| !spans(self.ends[w[0] as usize].1, self.ends[w[1] as usize].0))
    }

    /// The lines laid out as units, joining words wherever the words' byte pairs (`joins`) say a
    /// token could: on the calling thread alone (it runs beside stage 1).
    fn layout(&self) -> UnitLayout<'a> {
        self.layout_for(|a, b| self.joins.contains(a, b))
    }

    /// The lines laid out as units where `spans` says a token could join two words: plain lines as
    /// they are, then the others as runs, each distinct run of text numbered in line order.
    fn layout_for(&self, spans: impl Fn(u8, u8) -> bool) -> UnitLayout<'a> {
        let n = self.lines.len();
        let plain: Vec<bool> = (0..n).map(|i| self.is_plain(i, &spans)).collect();
        let mut layout = UnitLayout { lines: Vec::with_capacity(n), texts: Vec::new() };
        for i in (0..n).filter(|&i| plain[i]) {
            layout.lines.push((UnitRun::Line(i), self.lines[i].1));
        }
        let first_run = self.lengths.len() as u32;
        let mut run_ids: FxHashMap<&[u8], u32> = FxHashMap::default();
        for i in (0..n).filter(|&i| !plain[i]) {
            let mut entries = Vec::new();
            self.for_each_run(i, &spans, |word, bytes| {
                entries.push(word.unwrap_or_else(|| {
                    *run_ids.entry(bytes).or_insert_with(|| {
                        layout.texts.push(bytes);
                        first_run + layout.texts.len() as u32 - 1
                    })
                }))
            });
            layout.lines.push((UnitRun::Own(entries), self.lines[i].1));
        }
        layout
    }
}

/// Stage 2's lines as units before they are encoded: each line as stage-1 words (`Line`) or as its
/// own units (words, and numbered runs of text, `texts`, which encode as one).
struct UnitLayout<'a> {
    lines: Vec<(UnitRun, u64)>,
    texts: Vec<&'a [u8]>,
}

impl UnitLayout<'_> {
    /// Each unit's count and each distinct pair of units side by side on a line, with its count
    /// (`words`: how many units are stage-1 words; the runs of text are numbered after them).
    ///
    /// The pair of tokens across a junction is the last token of one unit and the first of the next,
    /// so stage 2's junction pairs are counted from these pairs once stage 1's tokens are known: at
    /// 42 MB, 1.66M distinct pairs of units instead of 8.3M junctions. It runs beside stage 1, on
    /// one thread: each junction goes to one of `UNIT_PAIR_SHARDS` lists by the low bits of the sum
    /// of its ids, in 32 bits where the ids fit (`ShardKey`), then each list is counted in a map small
    /// enough to stay in cache. A unit's count is that of the pairs it starts, plus the lines it ends.
    fn count_pairs(&self, line_words: &LineWords, words: usize) -> UnitPairs {
        let units = words + self.texts.len();
        let id_bits = (usize::BITS - units.leading_zeros()).max(SHARD_BITS);
        if 2 * id_bits - SHARD_BITS <= 32 {
            self.count_pairs_as::<u32>(line_words, units, id_bits - SHARD_BITS)
        } else {
            self.count_pairs_as::<u64>(line_words, units, 32)
        }
    }

    /// `count_pairs`, each pair kept as `(a << shift | b >> SHARD_BITS)` in a `K`, in shard `a + b`'s
    /// low bits (from which, with `a`, `b`'s low bits come back).
    fn count_pairs_as<K: ShardKey>(&self, line_words: &LineWords, units: usize, shift: u32) -> UnitPairs {
        let per_shard = line_words.entries.len() / UNIT_PAIR_SHARDS + 64;
        let mut once: Vec<Vec<K>> = (0..UNIT_PAIR_SHARDS).map(|_| Vec::with_capacity(per_shard)).collect();
        let mut more: Vec<Vec<(K, u64)>> = vec![Vec::new(); UNIT_PAIR_SHARDS];
        let mut unit_counts = vec![0u64; units];
        for (run, count) in &self.lines {
            let entries = match run {
                UnitRun::Line(i) => line_words.line(*i),
                UnitRun::Own(entries) => entries,
            };
            if let Some(&last) = entries.last() {
                unit_counts[last as usize] += count;
            }
            for w in entries.windows(2) {
                let shard = (w[0] as usize + w[1] as usize) % UNIT_PAIR_SHARDS;
                let key = K::of((w[0] as u64) << shift | (w[1] >> SHARD_BITS) as u64);
                match count {
                    1 => once[shard].push(key),
                    _ => more[shard].push((key, *count)),
                }
            }
        }
        let mut counts: FxHashMap<K, u64> = FxHashMap::default();
        let mut pairs = Vec::new();
        for (shard, (once, more)) in once.into_iter().zip(more).enumerate() {
            for (key, count) in once.into_iter().map(|key| (key, 1)).chain(more) {
                *counts.entry(key).or_insert(0) += count;
            }
            pairs.extend(counts.drain().map(|(key, count)| {
                let a = (key.get() >> shift) as u32;
                let low = (shard as u32).wrapping_sub(a) % UNIT_PAIR_SHARDS as u32;
                let b = ((key.get() & ((1 << shift) - 1)) << SHARD_BITS) as u32 | low;
                unit_counts[a as usize] += count;
                ((a, b), count)
            }));
        }
        UnitPairs { units: unit_counts, pairs }
    }
}

/// A pair of units as `UnitLayout::count_pairs_as` keeps it.
trait ShardKey: Copy + Eq + std::hash::Hash {
    fn of(key: u64) -> Self;
    fn get(self) -> u64;
}

impl ShardKey for u32 {
    fn of(key: u64) -> u32 {
        key as u32
    }

    fn get(self) -> u64 {
        self as u64
    }
}

impl ShardKey for u64 {
    fn of(key: u64) -> u64 {
        key
    }

    fn get(self) -> u64 {
        self
    }
}

/// Shards of the junctions `UnitLayout::count_pairs` lists (by the low `SHARD_BITS` of `a + b`):
/// about 6,000 distinct pairs each at 42 MB.
const SHARD_BITS: u32 = 8;
const UNIT_PAIR_SHARDS: usize = 1 << SHARD_BITS;

/// Each unit's count over stage 2's lines, and each distinct pair of units side by side, with its count.
struct UnitPairs {
    units: Vec<u64>,
    pairs: Vec<((u32, u32), u64)>,
}

/// Stage 2's lines as units, with the exact count of every pair an index of up to some size could
/// hold (`Units::count`).
struct CountedUnits<'t> {
    units: Units<'t>,
    pair_counts: FxHashMap<u64, u64>,
    min_count: u64,
}

impl CountedUnits<'_> {
    /// Free the owned parts (hundreds of thousands of lines, the pair counts) on one of `pool`'s
    /// threads, off the caller's path.
    fn drop_later(mut self, pool: &Option<std::sync::Arc<rayon::ThreadPool>>) {
        let owned = (std::mem::take(&mut self.units.lines), std::mem::take(&mut self.units.runs),
                     std::mem::take(&mut self.pair_counts));
        drop_later(pool, owned);
    }

    /// Stage 2's words with the lines cut where no merge can cross while the trainer indexes the
    /// `keep` most frequent pairs, each distinct part once.
    ///
    /// `floor` is that index's floor (the `keep`-th largest count, at least `min_count`). A
    /// junction whose pair is counted fewer than `floor` times is cut: the pair holding that
    /// junction's two tokens can only lose occurrences, and any later pair across it is counted at
    /// most as often (its occurrences come from this pair's), so no merge crosses the cut while the
    /// index is not recounted (`train_encoded_cut` checks the rest).
    fn cut(&self, keep: usize) -> CutWords {
        let counts: Vec<u64> = self.pair_counts.values().copied().filter(|&c| c >= self.min_count).collect();
        let floor = index_floor(counts, self.min_count, keep);
        let index: Vec<(u64, u64)> = self.pair_counts.iter().filter(|&(_, &c)| c >= floor).map(|(&p, &c)| (p, c)).collect();
        let live = LivePairs::new(index.iter().map(|&(pair, _)| pair).collect());
        let (words, counts) = self.units.parts(&live);
        CutWords { words, counts, floor, index }
    }
}

/// A line as units: a stage-2 line whose entries are its units (`Line`), or its own entries.
enum UnitRun {
    Line(usize),
    Own(Vec<u32>),
}

/// Stage 2's lines as units, with each unit's encoding. Units `0..words` are the stage-1 words;
/// the rest are runs of text encoded from their bytes (words an inherited token could join, text
/// that is no stage-1 word).
struct Units<'t> {
    lines: Vec<(UnitRun, u64)>,
    line_words: &'t LineWords,
    /// The first and last token of every unit.
    outer: Vec<(u32, u32)>,
    /// The units of more than one token: only these hold pairs, and only these make one-unit parts.
    /// (Most words' occurrences are of one token; a bit each keeps their counts from being added up.)
    split: BitSet,
    runs: Words,
    words: &'t Stage1Words,
    /// The units' counts and pairs, to count the pairs of tokens from.
    unit_pairs: UnitPairs,
}

impl<'t> Units<'t> {
    /// The units of `layout`, its runs of text encoded with the inherited `merges`.
    fn new(layout: UnitLayout, unit_pairs: UnitPairs, line_words: &'t LineWords, words: &'t Stage1Words,
           merges: &InheritedMerges) -> Units<'t> {
        let runs = Words::build(&layout.texts, |bytes, runs| runs.push(&merges.encode(bytes)));
        let mut outer = words.outer.clone();
        outer.extend(runs.iter().map(|ids| (ids[0], ids[ids.len() - 1])));
        let lengths = words.encoded.iter().chain(runs.iter()).map(<[u32]>::len);
        let split = BitSet::new(outer.len(), lengths.enumerate().filter(|&(_, n)| n > 1).map(|(unit, _)| unit));
        Units { lines: layout.lines, line_words, outer, split, runs, words, unit_pairs }
    }

    /// The units, with the exact count of every pair an index of up to `keep` pairs could hold.
    ///
    /// Every pair is counted over the whole lines, as units: pairs inside a unit's
    /// encoding from the unit counts, the pair across two units from the pairs of units. The
    /// counts go into a sketch first (`Units::sketch`); only pairs whose slot reaches half the
    /// sketch's `keep`-th value are counted exactly (and fewer, again, where that is too few).
    fn count(self, min_count: u64, keep: usize) -> CountedUnits<'t> {
        let sketch = self.sketch();
        let mut threshold = {
            let values: Vec<u64> = sketch.iter().map(|&v| v as u64).filter(|&v| v >= min_count).collect();
            (index_floor(values, min_count, keep) / 2).max(min_count)
        };
        loop {
            let pair_counts = self.count_pairs_above(&sketch, threshold);
            let counts: Vec<u64> = pair_counts.values().copied().filter(|&c| c >= min_count).collect();
            if index_floor(counts, min_count, keep) >= threshold || threshold <= min_count {
                return CountedUnits { units: self, pair_counts, min_count };
            }
            threshold = (threshold / 2).max(min_count);
        }
    }
}

impl Units<'_> {
    /// `line(&mut state, entries, count)` for every line, in one share of the lines per thread, each
    /// share with a state of its own from `start(lines in the share)`: the states, in order.
    fn per_share<'s, S: Send>(&'s self, start: impl Fn(usize) -> S + Sync, line: impl Fn(&mut S, &'s [u32], u64) + Sync)
        -> Vec<S> {
        let chunk = self.lines.len().div_ceil(rayon::current_num_threads()).max(1);
        self.lines
            .par_chunks(chunk)
            .map(|share| {
                let mut state = start(share.len());
                for (run, count) in share {
                    line(&mut state, self.entries(run), *count);
                }
                state
            })
            .collect()
    }

    fn entries<'l>(&'l self, line: &'l UnitRun) -> &'l [u32] {
        match line {
            UnitRun::Line(i) => self.line_words.line(*i),
            UnitRun::Own(entries) => entries,
        }
    }

    fn encoded(&self, unit: u32) -> &[u32] {
        let words = self.words.encoded.len();
        match (unit as usize).checked_sub(words) {
            None => self.words.encoded.get(unit as usize),
            Some(run) => self.runs.get(run),
        }
    }

    /// The pair of tokens across unit `a` followed by unit `b`.
    #[inline]
    fn junction(&self, a: u32, b: u32) -> u64 {
        pack(self.outer[a as usize].1, self.outer[b as usize].0)
    }

    /// Every pair's count, or more (pairs share slots): the sketch.
    fn sketch(&self) -> Vec<u32> {
        let shares = self.per_pair_share(|| vec![0u32; 1 << SKETCH_BITS], |sketch, pair, count| {
            let slot = &mut sketch[sketch_slot(pair)];
            *slot = slot.saturating_add(count.min(u32::MAX as u64) as u32);
        });
        shares.into_iter().reduce(|mut sketch, more| {
            sketch.iter_mut().zip(more).for_each(|(a, b)| *a = a.saturating_add(b));
            sketch
        }).unwrap_or_default()
    }

    /// The exact count of every pair whose sketch slot holds at least `threshold` (so every pair
    /// counted that often, and some others).
    fn count_pairs_above(&self, sketch: &[u32], threshold: u64) -> FxHashMap<u64, u64> {
        // The slots that reach `threshold`, one bit each: 32 kB, which stays in the first-level cache.
        let hot = BitSet::new(sketch.len(), (0..sketch.len()).filter(|&slot| sketch[slot] as u64 >= threshold));
        let shares = self.per_pair_share(FxHashMap::default, |counts, pair, count| {
            if hot.contains(sketch_slot(pair)) {
                *counts.entry(pair).or_insert(0) += count;
            }
        });
        shares.into_iter().reduce(|mut counts, more| {
            absorb(&mut counts, more);
            counts
        }).unwrap_or_default()
    }

    /// `f(&mut state, pair, count)` for the pair across each distinct pair of units and for each pair
    /// inside each unit's encoding (`count`: the pair of units' or the unit's), in one share per
    /// thread, each with a state of its own from `start`: the states.
    fn per_pair_share<S: Send>(&self, start: impl Fn() -> S + Sync, f: impl Fn(&mut S, u64, u64) + Sync) -> Vec<S> {
        let threads = rayon::current_num_threads();
        let (pairs, units) = (&self.unit_pairs.pairs, &self.unit_pairs.units);
        let (pair_chunk, unit_chunk) = (pairs.len().div_ceil(threads).max(1), units.len().div_ceil(threads).max(1));
        (0..threads).into_par_iter().map(|share| {
            let mut state = start();
            for &((a, b), count) in pairs.iter().skip(share * pair_chunk).take(pair_chunk) {
                f(&mut state, self.junction(a, b), count);
            }
            let units = units.iter().enumerate().skip(share * unit_chunk).take(unit_chunk);
            for (unit, &count) in units.filter(|&(unit, &c)| c > 0 && self.split.contains(unit)) {
                for w in self.encoded(unit as u32).windows(2) {
                    f(&mut state, pack(w[0], w[1]), count);
                }
            }
            state
        }).collect()
    }

    /// The lines cut at every junction whose pair is not `live`: each distinct part once, with its
    /// count (one-unit parts without a live pair are left out: nothing merges in them).
    fn parts(&self, live: &LivePairs) -> (Words, Vec<u64>) {
        let n_units = self.outer.len();
        let packable = n_units < (1 << UNIT_BITS) - 1;
        // The same shards on every thread, so that a part's shard is the same in every thread's lists.
        let shards = part_shards(self.lines.len().div_ceil(rayon::current_num_threads()));
        // The units that can end (`left`) or start (`right`) a live pair's junction: a junction between
        // two others is cut without its pair being looked up.
        let (left, right) = live.sides(&self.outer);
        let shares = self.per_share(|lines| Parts::new(n_units, lines, shards), |parts, entries, count| {
            // A part ends wherever the pair across the junction is not live, and after the last unit.
            let mut start = 0;
            for end in 1..=entries.len() {
                if end < entries.len() {
                    let (a, b) = (entries[end - 1], entries[end]);
                    if left.contains(a as usize) && right.contains(b as usize) && live.contains(self.junction(a, b)) {
                        continue;
                    }
                }
                if end - start > 1 || self.split.contains(entries[start] as usize) {
                    parts.add(&entries[start..end], count, packable);
                }
                start = end;
            }
        });
        // Shard s of every thread's lists, counted on all threads.
        let mut single = vec![0u64; n_units];
        let mut listed = Vec::with_capacity(shares.len());
        for share in shares {
            single.iter_mut().zip(share.single).for_each(|(a, b)| *a += b);
            listed.push(share.shards);
        }
        let mut counted = PartShard::count_all(listed);
        // Each shard's parts sorted by their first three units (packed: the third ranks first), so that
        // parts holding the same units lie together and a merge's visits find them near each other.
        counted.par_iter_mut().for_each(|shard| {
            shard.short.sort_unstable_by_key(|&(key, _)| key as u64);
            shard.long.sort_unstable_by_key(|&(run, _)| run);
        });
        // A one-unit part none of whose pairs is live is never merged, nor changed by a merge: left out.
        let single: Vec<(u32, u64)> = (0..n_units as u32)
            .zip(single)
            .filter(|&(unit, count)| count > 0 && self.encoded(unit).windows(2).any(|w| live.contains(pack(w[0], w[1]))))
            .collect();
        // The words spelled shard by shard (short parts, then long ones), and their counts in that order.
        let mut words = Words::build(&single, |&(unit, _), words| words.push(self.encoded(unit)));
        words.append(Words::build(&counted, |shard, words| {
            shard.short.iter().for_each(|&(key, _)| words.push_joined(unpack_units(key).map(|u| self.encoded(u))));
            shard.long.iter().for_each(|&(run, _)| words.push_joined(run.iter().map(|&u| self.encoded(u))));
        }));
        let multi = counted.iter().flat_map(|shard| shard.short.iter().map(|p| p.1).chain(shard.long.iter().map(|p| p.1)));
        let counts = single.iter().map(|p| p.1).chain(multi).collect();
        (words, counts)
    }
}

/// Parts of lines (runs of units) with their counts: one unit counted by its id; two to six units
/// packed in an integer (`pack_units`), longer ones by their slice, listed by shard (by hash; the
/// same `part_shards` on every thread) to be counted shard by shard afterwards (`PartShard::count`),
/// each in a map small enough to stay in the second-level cache. Counting each part as it was found
/// missed the cache on maps of a few MB most times (42 MB / 32k: SuperBPE 4–5% faster listed).
struct Parts<'l> {
    single: Vec<u64>,
    shards: Vec<PartShard<'l>>,
}

/// One shard of the listed parts: of lines counted once (every line of a listed corpus) by key
/// alone, of others with their line's count.
#[derive(Default)]
struct PartShard<'l> {
    once: Vec<u128>,
    short: Vec<(u128, u64)>,
    long: Vec<(&'l [u32], u64)>,
}

/// Shards of `Parts`' lists for shares of `lines` lines: enough that a shard's map stays small.
fn part_shards(lines: usize) -> usize {
    (lines / 16384).next_power_of_two().clamp(4, 64)
}

impl<'l> Parts<'l> {
    fn new(units: usize, lines: usize, shards: usize) -> Parts<'l> {
        let shard = || PartShard { once: Vec::with_capacity(3 * lines / shards), ..PartShard::default() };
        Parts { single: vec![0; units], shards: (0..shards).map(|_| shard()).collect() }
    }

    /// Count `run` `count` more times (`packable`: unit ids fit `pack_units`).
    #[inline]
    fn add(&mut self, run: &'l [u32], count: u64, packable: bool) {
        let shards = self.shards.len();
        let shard = |first: u64| (first.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % shards;
        match run {
            [unit] => self.single[*unit as usize] += count,
            run if packable && run.len() <= 6 => {
                let key = pack_units(run);
                let shard = &mut self.shards[shard(key as u64 ^ (key >> 64) as u64)];
                match count {
                    1 => shard.once.push(key),
                    _ => shard.short.push((key, count)),
                }
            }
            run => self.shards[shard(run[0] as u64 ^ (run[1] as u64) << 32)].long.push((run, count)),
        }
    }
}

impl<'l> PartShard<'l> {
    /// Every thread's shards (the same number each) counted shard by shard, in parallel.
    fn count_all(threads: Vec<Vec<PartShard<'l>>>) -> Vec<PartShard<'l>> {
        let mut by_shard: Vec<Vec<PartShard>> = Vec::new();
        for shards in threads {
            by_shard.resize_with(shards.len(), Vec::new);
            by_shard.iter_mut().zip(shards).for_each(|(lists, list)| lists.push(list));
        }
        by_shard.into_par_iter().map(PartShard::count).collect()
    }

    /// One shard of every thread's lists as one, each distinct part once with its counts added up.
    fn count(lists: Vec<PartShard<'l>>) -> PartShard<'l> {
        let listed: usize = lists.iter().map(|list| list.once.len() + list.short.len()).sum();
        let mut short: FxHashMap<u128, u64> = FxHashMap::with_capacity_and_hasher(listed / 2, Default::default());
        let mut long: FxHashMap<&[u32], u64> = FxHashMap::default();
        for list in lists {
            for (key, count) in list.once.into_iter().map(|key| (key, 1)).chain(list.short) {
                *short.entry(key).or_insert(0) += count;
            }
            for (run, count) in list.long {
                *long.entry(run).or_insert(0) += count;
            }
        }
        PartShard { once: Vec::new(), short: short.into_iter().collect(), long: long.into_iter().collect() }
    }
}

/// The pairs a cut keeps (counted at least the floor times), behind a filter most others fail.
struct LivePairs {
    filter: PairFilter,
    pairs: FxHashSet<u64>,
}

impl LivePairs {
    fn new(pairs: FxHashSet<u64>) -> LivePairs {
        LivePairs { filter: PairFilter::new(pairs.iter().copied()), pairs }
    }

    #[inline]
    fn contains(&self, pair: u64) -> bool {
        self.filter.passes(pair) && self.pairs.contains(&pair)
    }

    /// Of units with these (first, last) tokens, those whose last token is some live pair's first
    /// (`left`), and those whose first token is some live pair's second (`right`).
    fn sides(&self, outer: &[(u32, u32)]) -> (BitSet, BitSet) {
        let pairs = || self.pairs.iter().map(|&pair| unpack(pair));
        let tokens = pairs().map(|(a, b)| a.max(b) as usize + 1).max().unwrap_or(0);
        let (firsts, seconds) = (BitSet::new(tokens, pairs().map(|p| p.0 as usize)), BitSet::new(tokens, pairs().map(|p| p.1 as usize)));
        let has = |set: &BitSet, token: u32| (token as usize) < tokens && set.contains(token as usize);
        let units_where = |holds: &dyn Fn(&(u32, u32)) -> bool| {
            BitSet::new(outer.len(), outer.iter().enumerate().filter(|(_, ends)| holds(ends)).map(|(unit, _)| unit))
        };
        (units_where(&|&(_, last)| has(&firsts, last)), units_where(&|&(first, _)| has(&seconds, first)))
    }
}

/// Slots of the pair-count sketch (`Units::sketch`): 2^18, a megabyte, which stays in cache.
const SKETCH_BITS: u32 = 18;

#[inline]
fn sketch_slot(pair: u64) -> usize {
    (pair.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SKETCH_BITS)) as usize
}

/// Bits of a unit id in a packed run of units.
const UNIT_BITS: u32 = 21;

/// Two to six unit ids (each below 2^21 - 1) in one integer, each plus one so that absent
/// slots are zero.
#[inline]
fn pack_units(run: &[u32]) -> u128 {
    run.iter().enumerate().fold(0u128, |key, (i, &u)| key | ((u as u128 + 1) << (UNIT_BITS * i as u32)))
}

fn unpack_units(key: u128) -> impl Iterator<Item = u32> {
    (0..6).map(move |i| ((key >> (UNIT_BITS * i)) & ((1 << UNIT_BITS) - 1)) as u32).take_while(|&u| u != 0).map(|u| u - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pseudo-random lines of 1 to `max_len` strings drawn from `alphabet`.
    fn random_text(seed: u64, n: usize, max_len: u64, alphabet: &[&str]) -> Vec<String> {
        crate::train::bpe::random_lines(seed, n, max_len, alphabet).into_iter().map(|parts| parts.concat()).collect()
    }

    use crate::normalize::Normalizer;

    fn counts(lines: &[String], pattern: &str) -> WordCounts {
        let pretokenizer = Pretokenizer::new(pattern).unwrap();
        let normalizer = crate::normalize::Normalizer::new("none").unwrap();
        let mut counts = WordCounts::new();
        for line in lines {
            counts.add_text(&pretokenizer, &normalizer, line);
        }
        counts
    }

    /// The general path: stage 1, then stage 2 on the lines with stage 1's merges as initial merges.
    fn two_calls(c1: &WordCounts, c2: &WordCounts, config: &BpeTrainerConfig, t: usize) -> BpeModelData {
        let s1 = BpeTrainer::new(BpeTrainerConfig { vocab_size: t, max_words_per_token: None,
                                                    forbid_colon_space: false, ..config.clone() })
            .unwrap()
            .train_counts(c1, &mut |_| {})
            .unwrap();
        let initial_merges =
            s1.merges.iter().map(|&(a, b)| (s1.vocab[a as usize].clone(), s1.vocab[b as usize].clone())).collect();
        BpeTrainer::new(BpeTrainerConfig { initial_merges, ..config.clone() })
            .unwrap()
            .train_counts(c2, &mut |_| {})
            .unwrap()
    }

    #[test]
    fn one_call_equals_two_calls() {
        let alphabet = ["a", "b", "ab", " ", " ", "  ", "the", " the", ": ", "1", "23", "é", "\n", ",", "x"];
        let mut stage2_runs = vec![Vec::new(); 7];
        for (seed, t, v) in [(7u64, 300, 420), (11, 280, 500), (13, 380, 400)] {
            let text = random_text(seed, 300, 60, &alphabet);
            let (c1, c2) = (counts(&text, "superbpe_stage1"), counts(&text, "superbpe_stage2"));
            let config = BpeTrainerConfig { vocab_size: v, min_frequency: 2, max_words_per_token: Some(3),
                                            forbid_colon_space: true, ..Default::default() };
            let trainer = SuperBpeTrainer::new(config.clone(), t, "superbpe_stage1").unwrap();
            // Stage-1 words of half the text: the lines' other pretokens are encoded from their bytes.
            let half = counts(&text[..text.len() / 2], "superbpe_stage1");
            let fused = trainer.train(Some(&half), Lines::Counts(&c2), &mut |_| {}).unwrap();
            assert_eq!(fused.data, two_calls(&half, &c2, &config, t), "seed {seed}, half the words");
            let expected = two_calls(&c1, &c2, &config, t);
            let mut listed = PieceList::default();
            let (stage2, none) = (Pretokenizer::new("superbpe_stage2").unwrap(), Normalizer::new("none").unwrap());
            listed.add_texts(&text, &stage2, &none, 2).unwrap();
            let whole: fn(usize) -> Vec<usize> = |_| Vec::new();
            let retry: fn(usize) -> Vec<usize> = |r| vec![r / 2 + 1, index_size(r)];
            let stop: fn(usize) -> Vec<usize> = |_| vec![1, 2];
            let runs = [(Some(&c1), Lines::Counts(&c2), cut_index_sizes as fn(usize) -> Vec<usize>),
                        (None, Lines::Counts(&c2), cut_index_sizes), (None, Lines::Counts(&c2), whole),
                        (None, Lines::List(&listed), cut_index_sizes), (None, Lines::List(&listed), whole),
                        (None, Lines::List(&listed), retry), (None, Lines::List(&listed), stop)];
            let one_thread = SuperBpeTrainer::new(BpeTrainerConfig { num_threads: 1, ..config.clone() }, t, "superbpe_stage1");
            let fused = one_thread.unwrap().train(None, Lines::List(&listed), &mut |_| {}).unwrap();
            assert_eq!(fused.data, expected, "seed {seed}, one thread: stage 2 laid out after stage 1");
            for (i, (words, lines, sizes)) in runs.into_iter().enumerate() {
                let fused = trainer.train_with(words, lines, sizes, &mut |_| {}).unwrap();
                assert_eq!(fused.data, expected, "seed {seed}, run {i}");
                assert!(fused.stage1_merges > 0 && fused.data.merges.len() > fused.stage1_merges);
                stage2_runs[i].push(fused.stage2_runs);
            }
        }
        assert!(stage2_runs[2].iter().all(|&n| n == 1), "whole lines: one run");
        assert!(stage2_runs[5].contains(&2), "a small index stops, the usual one gives the result: {stage2_runs:?}");
        assert!(stage2_runs[6].contains(&3), "both cuts stop, the whole lines give the result: {stage2_runs:?}");
    }

    /// Laying the lines out by the words' byte pairs (before stage 1) joins words wherever an
    /// inherited token could, and sometimes where none can: the units' pair counts are the same.
    #[test]
    fn layout_by_word_pairs_counts_what_the_tokens_layout_counts() {
        let alphabet = ["a", "b", "ab", " ", "  ", "the", " the", ": ", "1", "23", "é", "\n", "\n ", ",", "x", "."];
        let mut more_runs = false;
        for seed in [3u64, 5, 9] {
            let text = random_text(seed, 300, 60, &alphabet);
            // Few stage-1 merges: many of the words' byte pairs are in no token.
            let config = BpeTrainerConfig { vocab_size: 275, min_frequency: 2, ..Default::default() };
            let trainer = SuperBpeTrainer::new(config.clone(), 275, "superbpe_stage1").unwrap();
            let c2 = counts(&text, "superbpe_stage2");
            let lines = usable_pieces(&c2);
            let (words, shares) = trainer.words_of_lines(&lines);
            let line_words = shares.joined();
            let (data1, encoded) = BpeTrainer::new(config).unwrap().train_pieces_encoded(&words, &mut |_| {}).unwrap();
            let merges = InheritedMerges::of_model(&data1, 0).unwrap();
            let text2 = Stage2Text::new(&lines, &line_words, &words);
            assert!(text2.joins.holds(merges.byte_pairs()), "seed {seed}");
            let stage1_words = Stage1Words::new(encoded);
            let (by_words, exact) = (text2.layout(), text2.layout_for(|a, b| merges.spans(a, b)));
            let (pairs_by_words, pairs_by_tokens) = (by_words.count_pairs(&line_words, words.len()), exact.count_pairs(&line_words, words.len()));
            let by_words = Units::new(by_words, pairs_by_words, &line_words, &stage1_words, &merges);
            let by_tokens = Units::new(exact, pairs_by_tokens, &line_words, &stage1_words, &merges);
            more_runs |= by_words.runs.len() > by_tokens.runs.len();
            let all = 1 << 20;
            assert_eq!(by_words.count(1, all).pair_counts, by_tokens.count(1, all).pair_counts, "seed {seed}");
        }
        assert!(more_runs, "some junction's bytes are a word's pair but no token's");
    }

    /// The pairs of units (kept in 32 bits, or in 64 where the ids do not fit) and the units' counts
    /// are those of every line's windows, each line counted as often as it occurs.
    #[test]
    fn pairs_of_units_are_counted_as_the_lines_hold_them() {
        for units in [3u32, 300, 5_000] {
            let lines = crate::train::bpe::random_lines(0x9E37 + units as u64, 400, 12, &(0..units).collect::<Vec<_>>());
            let layout = UnitLayout {
                lines: lines.iter().enumerate().map(|(i, line)| (UnitRun::Own(line.clone()), 1 + i as u64 % 3)).collect(),
                texts: Vec::new(),
            };
            let (mut pairs, mut unit_counts) = (FxHashMap::default(), vec![0u64; units as usize]);
            for (run, count) in &layout.lines {
                let UnitRun::Own(line) = run else { unreachable!() };
                line.iter().for_each(|&u| unit_counts[u as usize] += count);
                line.windows(2).for_each(|w| *pairs.entry((w[0], w[1])).or_insert(0) += count);
            }
            let id_bits = (32 - units.leading_zeros()).max(SHARD_BITS);
            for counted in [layout.count_pairs(&LineWords::default(), units as usize),
                            layout.count_pairs_as::<u32>(&LineWords::default(), units as usize, id_bits - SHARD_BITS),
                            layout.count_pairs_as::<u64>(&LineWords::default(), units as usize, 32)] {
                assert_eq!(counted.pairs.len(), pairs.len(), "{units} units: each pair once");
                assert_eq!(counted.pairs.into_iter().collect::<FxHashMap<_, _>>(), pairs, "{units} units");
                assert_eq!(counted.units, unit_counts, "{units} units");
            }
        }
    }

    /// Parts listed on several threads, counted once lines (`once`) or more, come out each once with
    /// their counts added up, whichever thread listed them.
    #[test]
    fn listed_parts_are_counted_once_whatever_the_thread() {
        let runs: Vec<Vec<u32>> = (0..600u32).map(|i| [i % 37, i % 11, i % 5 + 1, 7][..2 + i as usize % 3].to_vec()).collect();
        let long: Vec<u32> = (0..9).collect();
        let shards = part_shards(200_000);
        let mut threads: Vec<Parts> = (0..3).map(|_| Parts::new(64, 1_000, shards)).collect();
        let mut expected: FxHashMap<Vec<u32>, u64> = FxHashMap::default();
        for (i, run) in runs.iter().chain([&long, &long]).enumerate() {
            let count = if i % 2 == 0 { 1 } else { i as u64 };
            threads[i % 3].add(run, count, true);
            *expected.entry(run.clone()).or_insert(0) += count;
        }
        let counted = PartShard::count_all(threads.into_iter().map(|parts| parts.shards).collect());
        let short = counted.iter().flat_map(|shard| shard.short.iter().map(|&(key, c)| (unpack_units(key).collect(), c)));
        let long = counted.iter().flat_map(|shard| shard.long.iter().map(|&(run, c)| (run.to_vec(), c)));
        let listed: Vec<(Vec<u32>, u64)> = short.chain(long).collect();
        assert!(counted.iter().all(|shard| shard.once.is_empty()));
        assert_eq!(listed.len(), expected.len(), "each distinct part once");
        assert_eq!(listed.into_iter().collect::<FxHashMap<_, _>>(), expected);
    }

    /// A line's entries spell the line: each word entry is the stage-1 word, in order.
    fn assert_spells(line_words: &LineWords, lines: &[(&[u8], u64)], words: &[(&[u8], u64)]) {
        for (i, &(line, _)) in lines.iter().enumerate() {
            let mut start = 0;
            for &entry in line_words.line(i) {
                assert_eq!(entry & BYTES, 0, "every pretoken is a stage-1 word");
                let word = words[entry as usize].0;
                assert_eq!(word, &line[start..start + word.len()]);
                start += word.len();
            }
            assert_eq!(start, line.len());
        }
    }

    #[test]
    fn line_words_spell_every_line() {
        let text = random_text(3, 50, 40, &["a", " b", "12345", "  ", "é", "!"]);
        let c1 = counts(&text, "superbpe_stage1");
        let c2 = counts(&text, "superbpe_stage2");
        let trainer = SuperBpeTrainer::new(BpeTrainerConfig::default(), 300, "superbpe_stage1").unwrap();
        let (lines, words) = (usable_pieces(&c2), usable_pieces(&c1));
        assert_spells(&trainer.line_words(&lines, &words), &lines, &words);
    }

    /// Counting stage-1 words from the stage-2 pieces gives the counts of the texts themselves.
    #[test]
    fn words_of_lines_are_the_stage1_counts() {
        let alphabet = ["a", " b", "12345", "1", "  ", " ", "\n", "é", "!", "٣", "½", "\t", "x1y", " 22"];
        let text = random_text(5, 400, 40, &alphabet);
        let c2 = counts(&text, "superbpe_stage2");
        let trainer = SuperBpeTrainer::new(BpeTrainerConfig::default(), 300, "superbpe_stage1").unwrap();
        let lines = usable_pieces(&c2);
        let (words, line_words) = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap()
            .install(|| trainer.words_of_lines(&lines));
        let line_words = line_words.joined();
        let derived: FxHashMap<&[u8], u64> = words.iter().copied().collect();
        assert_eq!(derived.len(), words.len());
        let direct = counts(&text, "superbpe_stage1");
        assert_eq!(derived, direct.iter().collect::<FxHashMap<&[u8], u64>>());
        assert_spells(&line_words, &lines, &words);
    }
}
