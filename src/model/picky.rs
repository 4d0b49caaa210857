//! The Picky BPE encoder (Chizhov et al., EMNLP 2024): replays the trainer's MERGE/SPLIT log.
//!
//! A piece starts as its bytes; then, repeatedly, the earliest event after the last applied one that
//! applies to the piece's current tokens runs: a MERGE of an adjacent pair present in the piece (all
//! non-overlapping occurrences, left to right), or a SPLIT of a token present in the piece. This is
//! the same as replaying the whole log in order (events in between do not apply), hence the same
//! segmentation the trainer gave every training word — but it only looks at events that touch the
//! piece: per pair and per token, the sorted event indices (binary search for the next one).
//!
//! Text pipeline as `model::bpe`: normalize → cut out allowed specials → pretokenize → pieces.
//! Performance notes: tokens are interned to u32 once; a sharded piece cache skips repeated words.

use crate::error::{CoreError, Result};
use crate::model::bpe::{with_threads, IdsWithOffsets, Shard, Splitter};
use crate::normalize::Normalizer;
use crate::train::picky::PickyEvent;
use aho_corasick::{AhoCorasick, MatchKind};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;
use std::sync::{Arc, Mutex};

const NONE: u32 = u32::MAX;
const SHARDS: usize = 32;
const CACHE_PER_SHARD: usize = 4096;

pub struct PickyModel {
    vocab: Vec<Vec<u8>>,
    /// Interned token (every token the log mentions) → final id, or `NONE` when removed at the end.
    final_id: Vec<u32>,
    /// Interned id of each byte.
    byte_uid: [u32; 256],
    /// Pair of interned ids → (sorted event indices, merged interned id).
    merges: FxHashMap<(u32, u32), (Vec<u32>, u32)>,
    /// Interned id → sorted split event indices.
    splits: FxHashMap<u32, Vec<u32>>,
    /// Split event index → pieces (interned).
    split_pieces: FxHashMap<u32, Vec<u32>>,
    splitter: Option<Arc<dyn Splitter>>,
    normalizer: Normalizer,
    specials: Vec<(String, u32)>,
    special_ac: Option<AhoCorasick>,
    cache: Vec<Shard>,
}

struct Interner {
    ids: FxHashMap<Vec<u8>, u32>,
}

impl Interner {
    fn get(&mut self, t: &[u8]) -> u32 {
        let n = self.ids.len() as u32;
        *self.ids.entry(t.to_vec()).or_insert(n)
    }
}

impl PickyModel {
    /// `vocab[id]` = bytes (specials included at their ids), `events` the training log in order.
    pub fn new(
        vocab: Vec<Vec<u8>>,
        events: &[PickyEvent],
        splitter: Option<Arc<dyn Splitter>>,
        normalizer: Normalizer,
        specials: Vec<(String, u32)>,
    ) -> Result<PickyModel> {
        let mut interner = Interner { ids: FxHashMap::default() };
        let mut byte_uid = [0u32; 256];
        for b in 0..=255u8 {
            byte_uid[b as usize] = interner.get(&[b]);
        }
        let mut merges: FxHashMap<(u32, u32), (Vec<u32>, u32)> = FxHashMap::default();
        let mut splits: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut split_pieces = FxHashMap::default();
        for (i, e) in events.iter().enumerate() {
            let i = i as u32;
            match e {
                PickyEvent::Merge(l, r) => {
                    let (a, b) = (interner.get(l), interner.get(r));
                    let c = interner.get(&[l.as_slice(), r].concat());
                    merges.entry((a, b)).or_insert_with(|| (Vec::new(), c)).0.push(i);
                }
                PickyEvent::Split(t, pieces) => {
                    if pieces.concat() != *t || pieces.len() < 2 {
                        return Err(CoreError::Format(format!("split event {i} does not spell its token {:?}", String::from_utf8_lossy(t))));
                    }
                    let uid = interner.get(t);
                    splits.entry(uid).or_default().push(i);
                    split_pieces.insert(i, pieces.iter().map(|p| interner.get(p)).collect());
                }
            }
        }
        let special_ids: rustc_hash::FxHashSet<u32> = specials.iter().map(|s| s.1).collect();
        let mut final_id = vec![NONE; interner.ids.len()];
        for (id, tok) in vocab.iter().enumerate() {
            if special_ids.contains(&(id as u32)) {
                continue;
            }
            if let Some(&uid) = interner.ids.get(tok.as_slice()) {
                final_id[uid as usize] = id as u32;
            }
        }
        if let Some(b) = (0..256).find(|&b| final_id[byte_uid[b] as usize] == NONE) {
            return Err(CoreError::Format(format!("byte 0x{b:02X} has no token: a Picky vocabulary holds all 256 bytes")));
        }
        let special_ac = if specials.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(specials.iter().map(|s| s.0.as_str()))
                    .map_err(|e| CoreError::Config(format!("cannot index special tokens: {e}")))?,
            )
        };
        let cache = (0..SHARDS).map(|_| Mutex::new(FxHashMap::default())).collect();
        Ok(PickyModel { vocab, final_id, byte_uid, merges, splits, split_pieces, splitter, normalizer, specials, special_ac, cache })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    pub fn token_bytes(&self, id: u32) -> Result<&[u8]> {
        self.vocab.get(id as usize).map(|v| v.as_slice()).ok_or_else(|| CoreError::Token(format!("id {id} is out of range (vocab size {})", self.vocab.len())))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for &id in ids {
            out.extend_from_slice(self.token_bytes(id)?);
        }
        Ok(out)
    }

    /// Replay the log on one piece; returns interned ids.
    pub fn replay(&self, piece: &[u8]) -> Vec<u32> {
        let mut word: Vec<u32> = piece.iter().map(|&b| self.byte_uid[b as usize]).collect();
        let mut last: i64 = -1;
        loop {
            let next_after = |list: &[u32]| -> Option<u32> {
                let k = list.partition_point(|&e| (e as i64) <= last);
                list.get(k).copied()
            };
            let mut best: Option<(u32, bool, usize)> = None; // (event, is_merge, position)
            for (i, w) in word.windows(2).enumerate() {
                if let Some((list, _)) = self.merges.get(&(w[0], w[1])) {
                    if let Some(e) = next_after(list) {
                        if best.is_none_or(|b| e < b.0) {
                            best = Some((e, true, i));
                        }
                    }
                }
            }
            for (i, t) in word.iter().enumerate() {
                if let Some(list) = self.splits.get(t) {
                    if let Some(e) = next_after(list) {
                        if best.is_none_or(|b| e < b.0) {
                            best = Some((e, false, i));
                        }
                    }
                }
            }
            let Some((event, is_merge, pos)) = best else { break };
            if is_merge {
                let (a, b) = (word[pos], word[pos + 1]);
                let c = self.merges[&(a, b)].1;
                crate::train::bpe::merge_word(&mut word, a, b, c, &mut |_, _| {});
            } else {
                let t = word[pos];
                let pieces = &self.split_pieces[&event];
                word = word.iter().flat_map(|&x| if x == t { pieces.clone() } else { vec![x] }).collect();
            }
            last = event as i64;
        }
        word
    }

    /// Final ids of one piece (cached).
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) -> Result<()> {
        let mut h = FxHasher::default();
        h.write(piece);
        let shard = &self.cache[(h.finish() >> 59) as usize % SHARDS];
        if let Ok(map) = shard.try_lock() {
            if let Some(ids) = map.get(piece) {
                out.extend_from_slice(ids);
                return Ok(());
            }
        }
        let start = out.len();
        for uid in self.replay(piece) {
            let id = self.final_id[uid as usize];
            if id == NONE {
                return Err(CoreError::Format("the event log ends with a token that is not in the vocabulary".into()));
            }
            out.push(id);
        }
        if let Ok(mut map) = shard.try_lock() {
            if map.len() >= CACHE_PER_SHARD {
                map.clear();
            }
            map.insert(piece.into(), out[start..].into());
        }
        Ok(())
    }

    /// Encode text; specials whose id is in `allowed` are matched as a whole, others are text.
    pub fn encode(&self, text: &str, allowed: &[u32]) -> Result<Vec<u32>> {
        Ok(self.encode_with_offsets(text, allowed)?.0)
    }

    /// Ids and byte offsets into the normalized text (the input when normalization is `none`).
    pub fn encode_with_offsets(&self, text: &str, allowed: &[u32]) -> Result<IdsWithOffsets> {
        let (mut ids, mut offsets) = (Vec::new(), Vec::new());
        let mut start = 0usize;
        let mut out_pos = 0usize;
        if let (Some(ac), false) = (&self.special_ac, allowed.is_empty()) {
            for m in ac.find_iter(text) {
                let id = self.specials[m.pattern().as_usize()].1;
                if !allowed.contains(&id) {
                    continue;
                }
                out_pos = self.encode_ordinary(&text[start..m.start()], out_pos, &mut ids, &mut offsets)?;
                ids.push(id);
                offsets.push((out_pos, out_pos + m.len()));
                out_pos += m.len();
                start = m.end();
            }
        }
        self.encode_ordinary(&text[start..], out_pos, &mut ids, &mut offsets)?;
        Ok((ids, offsets))
    }

    fn encode_ordinary(&self, text: &str, out_pos: usize, ids: &mut Vec<u32>, offsets: &mut Vec<(usize, usize)>) -> Result<usize> {
        if text.is_empty() {
            return Ok(out_pos);
        }
        let norm = self.normalizer.normalize(text);
        let bytes = norm.as_bytes();
        let spans = match &self.splitter {
            Some(s) => s.split(&norm),
            None => vec![(0, bytes.len())],
        };
        for (s, e) in spans {
            if e <= s {
                continue;
            }
            let before = ids.len();
            self.encode_piece(&bytes[s..e], ids)?;
            let mut pos = out_pos + s;
            for &id in &ids[before..] {
                let len = self.vocab[id as usize].len();
                offsets.push((pos, pos + len));
                pos += len;
            }
        }
        Ok(out_pos + bytes.len())
    }

    /// Encode many texts in parallel (`num_threads` 0: rayon's global pool).
    pub fn encode_batch<S: AsRef<str> + Sync>(&self, texts: &[S], allowed: &[u32], num_threads: usize) -> Result<Vec<Vec<u32>>> {
        with_threads(num_threads, || texts.par_iter().map(|t| self.encode(t.as_ref(), allowed)).collect::<Result<Vec<_>>>())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::bpe::BpeTrainerConfig;
    use crate::train::picky::{PickyTrainer, PickyTrainerConfig};

    const WORDS: &[(&str, u64)] = &[
        ("the", 50), ("then", 12), ("there", 9), ("other", 7), ("hello", 20), ("help", 8), ("helping", 6),
        ("lowest", 5), ("newest", 6), ("widest", 3), ("tokenization", 4), ("tokens", 9), ("token", 11),
    ];

    /// Slow reference: replay every event in order.
    fn replay_all(events: &[PickyEvent], piece: &[u8]) -> Vec<Vec<u8>> {
        let mut word: Vec<Vec<u8>> = piece.iter().map(|&b| vec![b]).collect();
        for e in events {
            match e {
                PickyEvent::Merge(l, r) => {
                    let mut out: Vec<Vec<u8>> = Vec::new();
                    let mut i = 0;
                    while i < word.len() {
                        if i + 1 < word.len() && &word[i] == l && &word[i + 1] == r {
                            out.push([l.as_slice(), r].concat());
                            i += 2;
                        } else {
                            out.push(word[i].clone());
                            i += 1;
                        }
                    }
                    word = out;
                }
                PickyEvent::Split(t, pieces) => {
                    word = word.into_iter().flat_map(|x| if &x == t { pieces.clone() } else { vec![x] }).collect();
                }
            }
        }
        word
    }

    #[test]
    fn replay_matches_sequential_log() {
        let bpe = BpeTrainerConfig { vocab_size: 285, min_frequency: 1, ..Default::default() };
        let data = PickyTrainer::new(PickyTrainerConfig { bpe, threshold: 0.6, max_events: None })
            .unwrap()
            .train_words(WORDS.iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {})
            .unwrap();
        assert!(data.events.iter().any(|e| matches!(e, PickyEvent::Split(..))));
        let model = PickyModel::new(data.vocab.clone(), &data.events, None, Normalizer::default(), vec![]).unwrap();
        for w in ["thetokens", "helping", "newest", "other", "xyz", "lowtoken"] {
            let ids = model.encode(w, &[]).unwrap();
            let got: Vec<Vec<u8>> = ids.iter().map(|&i| data.vocab[i as usize].clone()).collect();
            assert_eq!(got, replay_all(&data.events, w.as_bytes()), "{w}");
            assert_eq!(model.decode(&ids).unwrap(), w.as_bytes());
        }
    }
}
