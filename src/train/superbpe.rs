//! SuperBPE's two stages in one call (Liu et al., "SuperBPE: Space Travel for Language Models", 2025).
//!
//! Stage 1 learns subword merges on words (`counts1`, the stage-1 pretokenization) up to the
//! transition vocabulary size t; stage 2 starts from the lines (`counts2`, split only at digit
//! groups) encoded with stage 1's merges and continues to `vocab_size` with the superword filters.
//! The result equals training stage 2 with `initial_merges` = stage 1's merges (`BpeTrainer`'s
//! general path, which this falls back to when a stage-1 merge re-made an existing token).
//!
//! What the fusion saves: stage 2 does not encode its lines byte by byte. While stage 1 trains, a
//! second thread cuts every line into stage-1 pretokens and looks each one up among stage 1's words;
//! stage 2 then builds a line from the words' final encodings (which stage 1 leaves behind), encoding
//! bytes only where an inherited token could span two pretokens (rare) or a pretoken is not a stage-1
//! word (text the two pretokenizations cut differently).

use crate::count::WordCounts;
use crate::error::Result;
use crate::model::bpe::thread_pool;
use crate::pretokenize::Pretokenizer;
use crate::train::bpe::{install, BpeModelData, BpeTrainer, BpeTrainerConfig, InheritedMerges, Numbering, Progress};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Marks a line item that is not a stage-1 word.
const NOT_A_WORD: u32 = u32::MAX;

/// A stage-1 pretoken of a line: the index of the stage-1 word it spells (or `NOT_A_WORD`), and the
/// byte offset where it ends (it starts where the previous item ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Item {
    word: u32,
    end: u32,
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
        let lines = usable(counts2);
        let pool = thread_pool(self.config.num_threads)?;
        let (trained, words, items) = match counts1 {
            Some(counts1) => {
                let words = usable(counts1);
                let (trained, items) = std::thread::scope(|scope| {
                    let cutting = scope.spawn(|| install(&pool, || self.line_items(&lines, &words)));
                    let trained = stage1.train_pieces_encoded(&words, progress);
                    (trained, cutting.join().expect("cutting lines into stage-1 words panicked"))
                });
                (trained, words, items)
            }
            None => {
                let (words, items) = install(&pool, || self.words_of_lines(&lines));
                (stage1.train_pieces_encoded(&words, progress), words, items)
            }
        };
        drop(words);
        let (data1, encoded) = trained?;
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
                let words2 = install(&pool, || encode_lines(&lines, &items, &encoded, &merges));
                stage2.train_encoded(words2, lines.iter().map(|&(_, c)| c).collect(), progress)?
            }
            None => stage2.train_counts(counts2, progress)?,
        };
        Ok(SuperBpeModel { data, stage1_merges })
    }

    /// The stage-1 words of the lines (each distinct word once, with its count over the lines'
    /// counts) and each line as items pointing at them. Each thread counts its share of the lines;
    /// the shares' words are then numbered into one list.
    fn words_of_lines<'a>(&self, lines: &[(&'a [u8], u64)]) -> (Vec<(&'a [u8], u64)>, Vec<Vec<Item>>) {
        let chunk = lines.len().div_ceil(rayon::current_num_threads()).max(1);
        let shares: Vec<(Numbering<'a, u8>, Vec<Vec<Item>>)> = lines
            .par_chunks(chunk)
            .map(|share| {
                let mut words = Numbering::default();
                let items = share.iter().map(|&(line, count)| self.cut_line(line, |w| words.add(w, count))).collect();
                (words, items)
            })
            .collect();
        let mut words = Numbering::default();
        let mut items = Vec::with_capacity(lines.len());
        for (share_words, mut share_items) in shares {
            let renumber = words.absorb(share_words);
            share_items.par_iter_mut().flatten().filter(|item| item.word != NOT_A_WORD).for_each(|item| {
                item.word = renumber[item.word as usize];
            });
            items.append(&mut share_items);
        }
        (words.keys, items)
    }

    /// Each line as its stage-1 pretokens, looked up among stage 1's `words`.
    fn line_items(&self, lines: &[(&[u8], u64)], words: &[(&[u8], u64)]) -> Vec<Vec<Item>> {
        let index: FxHashMap<&[u8], u32> = words.iter().enumerate().map(|(i, &(w, _))| (w, i as u32)).collect();
        lines
            .par_iter()
            .map(|&(line, _)| self.cut_line(line, |piece| index.get(piece).copied().unwrap_or(NOT_A_WORD)))
            .collect()
    }

    /// `line` cut into its stage-1 pretokens, each item's word given by `word_of(pretoken)`. Bytes the
    /// pretokenizer leaves out, and a line that is not UTF-8, are items with no word.
    fn cut_line<'a>(&self, line: &'a [u8], mut word_of: impl FnMut(&'a [u8]) -> u32) -> Vec<Item> {
        let Ok(text) = std::str::from_utf8(line) else {
            return vec![Item { word: NOT_A_WORD, end: line.len() as u32 }];
        };
        let mut items = Vec::with_capacity(line.len() / 4 + 1);
        let mut done = 0;
        self.stage1_pattern.for_each_span(text, |start, end| {
            if start > done {
                items.push(Item { word: NOT_A_WORD, end: start as u32 });
            }
            items.push(Item { word: word_of(&line[start..end]), end: end as u32 });
            done = end;
        });
        if done < line.len() {
            items.push(Item { word: NOT_A_WORD, end: line.len() as u32 });
        }
        items
    }
}

/// Non-empty pieces with a positive count (the pieces `BpeTrainer::train_counts` trains on).
fn usable(counts: &WordCounts) -> Vec<(&[u8], u64)> {
    counts.iter().filter(|&(w, c)| !w.is_empty() && c > 0).collect()
}

/// Each line encoded with stage 1's merges: the concatenation of its items' encodings (`encoded[w]`
/// for stage-1 word `w`), except that items an inherited token could join, and items that are no
/// stage-1 word, are encoded from their bytes (once per distinct run of bytes and thread).
fn encode_lines(lines: &[(&[u8], u64)], items: &[Vec<Item>], encoded: &[Vec<u32>], merges: &InheritedMerges)
    -> Vec<Vec<u32>> {
    let encode_chunk = |chunk: &[((&[u8], u64), &Vec<Item>)]| {
        let mut cache: FxHashMap<&[u8], Vec<u32>> = FxHashMap::default();
        chunk
            .iter()
            .map(|&((line, _), items)| {
                let mut ids = Vec::with_capacity(items.len() + items.len() / 2);
                let (mut run_start, mut run_first) = (0usize, 0usize);
                for (k, item) in items.iter().enumerate() {
                    let end = item.end as usize;
                    if k + 1 < items.len() && merges.spans(line[end - 1], line[end]) {
                        continue; // an inherited token may join this item with the next
                    }
                    if run_first == k && item.word != NOT_A_WORD {
                        ids.extend_from_slice(&encoded[item.word as usize]);
                    } else {
                        let bytes = &line[run_start..end];
                        ids.extend_from_slice(cache.entry(bytes).or_insert_with(|| merges.encode(bytes)));
                    }
                    (run_start, run_first) = (end, k + 1);
                }
                ids
            })
            .collect::<Vec<Vec<u32>>>()
    };
    let paired: Vec<((&[u8], u64), &Vec<Item>)> = lines.iter().copied().zip(items).collect();
    let chunk = paired.len().div_ceil(rayon::current_num_threads()).max(1);
    let parts: Vec<Vec<Vec<u32>>> = paired.par_chunks(chunk).map(encode_chunk).collect();
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pseudo-random lines (xorshift from `seed`) of 1 to `max_len` bytes drawn from `alphabet`.
    fn random_text(mut seed: u64, n: usize, max_len: u64, alphabet: &[&str]) -> Vec<String> {
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
            let expected = two_calls(&c1, &c2, &config, t);
            for words in [Some(&c1), None] {
                let fused = trainer.train(words, &c2, &mut |_| {}).unwrap();
                assert_eq!(fused.data, expected, "seed {seed}, words given: {}", words.is_some());
                assert!(fused.stage1_merges > 0 && fused.data.merges.len() > fused.stage1_merges);
            }
        }
    }

    #[test]
    fn items_cover_every_line() {
        let text = random_text(3, 50, 40, &["a", " b", "12345", "  ", "é", "!"]);
        let c1 = counts(&text, "superbpe_stage1");
        let c2 = counts(&text, "superbpe_stage2");
        let trainer = SuperBpeTrainer::new(BpeTrainerConfig::default(), 300, "superbpe_stage1").unwrap();
        let (lines, words) = (usable(&c2), usable(&c1));
        for (items, &(line, _)) in trainer.line_items(&lines, &words).iter().zip(&lines) {
            assert_eq!(items.last().unwrap().end as usize, line.len());
            assert!(items.windows(2).all(|w| w[0].end < w[1].end));
            assert!(items.iter().all(|item| item.word != NOT_A_WORD));
        }
    }

    /// Counting stage-1 words from the stage-2 pieces gives the counts of the texts themselves.
    #[test]
    fn words_of_lines_are_the_stage1_counts() {
        let alphabet = ["a", " b", "12345", "1", "  ", " ", "\n", "é", "!", "٣", "½", "\t", "x1y", " 22"];
        let text = random_text(5, 400, 40, &alphabet);
        let c2 = counts(&text, "superbpe_stage2");
        let trainer = SuperBpeTrainer::new(BpeTrainerConfig::default(), 300, "superbpe_stage1").unwrap();
        let lines = usable(&c2);
        let (words, items) = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap()
            .install(|| trainer.words_of_lines(&lines));
        let derived: FxHashMap<&[u8], u64> = words.iter().copied().collect();
        assert_eq!(derived.len(), words.len());
        let direct = counts(&text, "superbpe_stage1");
        assert_eq!(derived, direct.iter().collect::<FxHashMap<&[u8], u64>>());
        for (items, &(line, _)) in items.iter().zip(&lines) {
            let mut start = 0;
            for item in items {
                assert_eq!(words[item.word as usize].0, &line[start..item.end as usize]);
                start = item.end as usize;
            }
        }
    }
}
