//! SuperBPE's two stages in one call (Liu et al., "SuperBPE: Space Travel for Language Models", 2025).
//!
//! Stage 1 learns subword merges on words (`counts1`, the stage-1 pretokenization) up to the
//! transition vocabulary size t; stage 2 starts from the lines (`counts2`, split only at digit
//! groups) encoded with stage 1's merges and continues to `vocab_size` with the superword filters.
//! The result equals training stage 2 with `initial_merges` = stage 1's merges (`BpeTrainer`'s
//! general path, which this falls back to when a stage-1 merge re-made an existing token).
//!
//! What the fusion saves: the corpus is pretokenized once (with the stage-1 pattern the words are
//! counted from the stage-2 pieces, and each line is kept as its sequence of stage-1 words), and stage
//! 2 does not encode its lines byte by byte: a line is the concatenation of its words' final stage-1
//! encodings (which stage 1 leaves behind), bytes being encoded only where an inherited token could
//! span two words (rare) or a pretoken is not a stage-1 word (a `counts1` made some other way).

use crate::count::{PieceNumbering, WordCounts};
use crate::error::Result;
use crate::model::bpe::thread_pool;
use crate::pretokenize::Pretokenizer;
use crate::train::bpe::{
    install, usable_pieces, BpeModelData, BpeTrainer, BpeTrainerConfig, InheritedMerges, Progress,
};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

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

pub struct SuperBpeTrainer {
    /// The final configuration: `vocab_size`, the superword filters, and no `initial_merges`.
    config: BpeTrainerConfig,
    /// t, the stage-1 vocabulary size.
    transition: usize,
    /// Stage 1's pretokenizer (the one `counts1` was made with).
    stage1_pattern: Pretokenizer,
}

/// The trained model and how many of its merges stage 1 made.
pub struct SuperBpeModel {
    pub data: BpeModelData,
    pub stage1_merges: usize,
}

impl SuperBpeTrainer {
    pub fn new(config: BpeTrainerConfig, transition: usize, stage1_pattern: &str) -> Result<SuperBpeTrainer> {
        BpeTrainer::new(config.clone())?;
        Ok(SuperBpeTrainer { config, transition, stage1_pattern: Pretokenizer::new(stage1_pattern)? })
    }

    /// Train stage 1 on the words and stage 2 on `counts2` (lines); `progress` hears each stage.
    /// The words are `counts1` when given; otherwise they are counted from the lines, which gives the
    /// same counts when every stage-1 pretoken lies inside one stage-2 piece (true of
    /// `superbpe_stage1`, whose pretokens never mix digits with other characters).
    pub fn train(&self, counts1: Option<&WordCounts>, counts2: &WordCounts, progress: &mut dyn FnMut(Progress))
        -> Result<SuperBpeModel> {
        let stage1 = BpeTrainer::new(BpeTrainerConfig {
            vocab_size: self.transition.min(self.config.vocab_size),
            max_words_per_token: None,
            forbid_colon_space: false,
            initial_merges: Vec::new(),
            ..self.config.clone()
        })?;
        let lines = usable_pieces(counts2);
        let pool = thread_pool(self.config.num_threads)?;
        let (words, line_words) = match counts1 {
            Some(counts1) => {
                let words = usable_pieces(counts1);
                let line_words = install(&pool, || self.line_words(&lines, &words));
                (words, line_words)
            }
            None => install(&pool, || self.words_of_lines(&lines)),
        };
        let (data1, encoded) = stage1.train_pieces_encoded(&words, progress)?;
        let word_lengths: Vec<u32> = words.iter().map(|&(w, _)| w.len() as u32).collect();
        drop(words);
        let stage1_merges = data1.merges.len();
        if self.transition >= self.config.vocab_size {
            return Ok(SuperBpeModel { data: data1, stage1_merges });
        }
        let initial_merges = data1
            .merges
            .iter()
            .map(|&(a, b)| (data1.vocab[a as usize].clone(), data1.vocab[b as usize].clone()))
            .collect();
        let stage2 = BpeTrainer::new(BpeTrainerConfig { initial_merges, ..self.config.clone() })?;
        let data = match InheritedMerges::of_model(&data1, self.config.special_tokens.len()) {
            Some(merges) => {
                let stage1_words = Stage1Words { encoded, lengths: word_lengths };
                let words2 = install(&pool, || encode_lines(&lines, &line_words, &stage1_words, &merges));
                drop((line_words, stage1_words));
                stage2.train_encoded(words2, lines.iter().map(|&(_, c)| c).collect(), progress)?
            }
            None => stage2.train_counts(counts2, progress)?,
        };
        Ok(SuperBpeModel { data, stage1_merges })
    }

    /// The stage-1 words of the lines (each distinct word once, with its count over the lines'
    /// counts) and each line as its words. Each thread counts its share of the lines; the shares'
    /// words are then numbered into one list.
    fn words_of_lines<'a>(&self, lines: &[(&'a [u8], u64)]) -> (Vec<(&'a [u8], u64)>, LineWords) {
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
        let (mut words, mut line_words) = shares.next().unwrap_or_default();
        for (share_words, mut share_lines) in shares {
            let renumber = words.absorb(share_words);
            share_lines.entries.par_iter_mut().filter(|e| **e & BYTES == 0).for_each(|e| *e = renumber[*e as usize]);
            line_words.append(share_lines);
        }
        (words.pieces, line_words)
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

/// What stage 1 leaves for stage 2: each word's final encoding and its length in bytes.
struct Stage1Words {
    encoded: Vec<Vec<u32>>,
    lengths: Vec<u32>,
}

/// Each line encoded with stage 1's merges: the concatenation of its words' encodings, except that
/// words an inherited token could join, and text that is no stage-1 word, are encoded from their
/// bytes (once per distinct run of bytes and thread).
fn encode_lines(lines: &[(&[u8], u64)], line_words: &LineWords, words: &Stage1Words, merges: &InheritedMerges)
    -> Vec<Vec<u32>> {
    let encode_chunk = |range: std::ops::Range<usize>| {
        let mut cache: FxHashMap<&[u8], Vec<u32>> = FxHashMap::default();
        range
            .map(|i| {
                let (line, entries) = (lines[i].0, line_words.line(i));
                let mut ids = Vec::with_capacity(entries.len() + entries.len() / 2);
                let (mut run_start, mut run_words, mut end) = (0usize, 0usize, 0usize);
                for &entry in entries {
                    end += match entry & BYTES {
                        0 => words.lengths[entry as usize],
                        _ => entry & !BYTES,
                    } as usize;
                    run_words += 1;
                    if end < line.len() && merges.spans(line[end - 1], line[end]) {
                        continue; // an inherited token may join this entry with the next
                    }
                    if run_words == 1 && entry & BYTES == 0 {
                        ids.extend_from_slice(&words.encoded[entry as usize]);
                    } else {
                        let bytes = &line[run_start..end];
                        ids.extend_from_slice(cache.entry(bytes).or_insert_with(|| merges.encode(bytes)));
                    }
                    (run_start, run_words) = (end, 0);
                }
                ids
            })
            .collect::<Vec<Vec<u32>>>()
    };
    let chunk = lines.len().div_ceil(rayon::current_num_threads()).max(1);
    let ranges: Vec<std::ops::Range<usize>> = (0..lines.len()).step_by(chunk).map(|s| s..(s + chunk).min(lines.len())).collect();
    let parts: Vec<Vec<Vec<u32>>> = ranges.into_par_iter().map(encode_chunk).collect();
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pseudo-random lines of 1 to `max_len` strings drawn from `alphabet`.
    fn random_text(seed: u64, n: usize, max_len: u64, alphabet: &[&str]) -> Vec<String> {
        crate::train::bpe::random_lines(seed, n, max_len, alphabet).into_iter().map(|parts| parts.concat()).collect()
    }

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
        for (seed, t, v) in [(7u64, 300, 420), (11, 280, 500), (13, 380, 400)] {
            let text = random_text(seed, 300, 60, &alphabet);
            let (c1, c2) = (counts(&text, "superbpe_stage1"), counts(&text, "superbpe_stage2"));
            let config = BpeTrainerConfig { vocab_size: v, min_frequency: 2, max_words_per_token: Some(3),
                                            forbid_colon_space: true, ..Default::default() };
            let trainer = SuperBpeTrainer::new(config.clone(), t, "superbpe_stage1").unwrap();
            // Stage-1 words of half the text: the lines' other pretokens are encoded from their bytes.
            let half = counts(&text[..text.len() / 2], "superbpe_stage1");
            let fused = trainer.train(Some(&half), &c2, &mut |_| {}).unwrap();
            assert_eq!(fused.data, two_calls(&half, &c2, &config, t), "seed {seed}, half the words");
            let expected = two_calls(&c1, &c2, &config, t);
            for words in [Some(&c1), None] {
                let fused = trainer.train(words, &c2, &mut |_| {}).unwrap();
                assert_eq!(fused.data, expected, "seed {seed}, words given: {}", words.is_some());
                assert!(fused.stage1_merges > 0 && fused.data.merges.len() > fused.stage1_merges);
            }
        }
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
        let derived: FxHashMap<&[u8], u64> = words.iter().copied().collect();
        assert_eq!(derived.len(), words.len());
        let direct = counts(&text, "superbpe_stage1");
        assert_eq!(derived, direct.iter().collect::<FxHashMap<&[u8], u64>>());
        assert_spells(&line_words, &lines, &words);
    }
}
