//! The BPE model: normalize → split out special tokens → pretokenize → merge each piece → ids;
//! and ids → bytes.
//!
//! Built from a vocabulary (`vocab[id]` = token bytes) and a merge priority, either
//! - `MergeSpec::Pairs`: merges as id pairs in rank order (HF `tokenizers` / our trainer), or
//! - `MergeSpec::Ranks`: a rank per id (tiktoken: the rank *is* the id; SentencePiece BPE: by score);
//!   the rank of a pair is the rank of its concatenation, exactly as tiktoken's `byte_pair_merge`.
//!
//! Initial units: `Units::Bytes` (byte-level, every byte must be a token) or
//! `Units::CharsByteFallback` (SentencePiece-BPE imports: a char that is a token is one unit, any other
//! char becomes its UTF-8 bytes as byte-fallback tokens, which never merge).
//!
//! `ignore_merges` (HF Llama-3 style, and what tiktoken always does) looks a whole piece up in the
//! vocabulary first. Special tokens: text spelling a special is an error unless it is allowed (then it
//! becomes that id) or not disallowed (then it is ordinary text), as in tiktoken. Specials are matched
//! leftmost-longest. Offsets are byte offsets into the normalized text (the input itself when the
//! normalizer is `none`).
//!
//! Performance notes: a whole-piece vocabulary look-up and a sharded cache of piece → ids skip most
//! merge work; the merge itself is in `bpe_merge` (linear scan for short pieces, heap for long ones).

use crate::error::{CoreError, Result};
use crate::model::bpe_merge::{merge_units, merge_units_dropout, MergeTable, SplitMix};
pub use crate::model::bpe_specials::SpecialPolicy;
use crate::model::bpe_specials::Specials;
use crate::normalize::Normalizer;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use std::hash::Hasher;
use std::sync::{Arc, Mutex, OnceLock};

/// Splits text into pieces (byte spans), e.g. `pretokenize::Pretokenizer`.
pub trait Splitter: Send + Sync {
    fn split(&self, text: &str) -> Vec<(usize, usize)>;

    /// Call `f(start, end)` per piece, in order (override to skip building the span list).
    fn for_each_span(&self, text: &str, f: &mut dyn FnMut(usize, usize)) {
        for (s, e) in self.split(text) {
            f(s, e);
        }
    }
}

impl Splitter for crate::pretokenize::Pretokenizer {
    fn split(&self, text: &str) -> Vec<(usize, usize)> {
        crate::pretokenize::Pretokenizer::split(self, text)
    }

    fn for_each_span(&self, text: &str, f: &mut dyn FnMut(usize, usize)) {
        crate::pretokenize::Pretokenizer::for_each_span(self, text, f)
    }
}

/// How merge priorities are given.
#[derive(Clone, Debug)]
pub enum MergeSpec {
    /// Id pairs in rank order; the merged token is the vocab entry spelling their concatenation.
    Pairs(Vec<(u32, u32)>),
    /// A rank per id (`None`: rank = id, as in tiktoken files). Lower rank merges first.
    Ranks(Option<Vec<u32>>),
}

/// The initial units of a piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Units {
    Bytes,
    /// `byte_ids[b]` is the byte-fallback token of byte `b` (256 entries, or empty: no fallback).
    CharsByteFallback(Vec<u32>),
}

#[derive(Clone, Debug)]
pub struct BpeOptions {
    pub ignore_merges: bool,
    pub units: Units,
    /// Pieces cached per shard (64 shards); 0 disables the cache.
    pub cache_capacity: usize,
    /// SentencePiece: spaces become this string after normalization (`"▁"`).
    pub space_replacement: Option<String>,
    /// SentencePiece: prepend one `space_replacement` to each run of ordinary text.
    pub add_dummy_prefix: bool,
    /// Id for a unit with no token and no byte fallback (SentencePiece `<unk>`); `None`: an error.
    pub unk_id: Option<u32>,
}

impl Default for BpeOptions {
    fn default() -> Self {
        BpeOptions {
            ignore_merges: false,
            units: Units::Bytes,
            cache_capacity: 4096,
            space_replacement: None,
            add_dummy_prefix: false,
            unk_id: None,
        }
    }
}

const SHARDS: usize = 64;
pub(crate) type Shard = Mutex<FxHashMap<Box<[u8]>, Box<[u32]>>>;

/// Token ids with each token's byte span `(start, end)` in the text.
pub type IdsWithOffsets = (Vec<u32>, Vec<(usize, usize)>);

pub struct BpeModel {
    vocab: Vec<Vec<u8>>,
    token_ids: FxHashMap<Vec<u8>, u32>,
    byte_units: [Option<u32>; 256],
    table: MergeTable,
    splitter: Option<Arc<dyn Splitter>>,
    normalizer: Normalizer,
    specials: Specials,
    options: BpeOptions,
    cache: Vec<Shard>,
}

/// Output sink of the encoder: ids, and byte offsets when asked for.
struct Sink<'a> {
    ids: &'a mut Vec<u32>,
    offsets: Option<&'a mut Vec<(usize, usize)>>,
}

impl Sink<'_> {
    fn push_piece(&mut self, model: &BpeModel, ids: &[u32], start: usize) {
        self.ids.extend_from_slice(ids);
        if let Some(offsets) = self.offsets.as_mut() {
            let mut pos = start;
            for &id in ids {
                let len = model.token_len(id);
                offsets.push((pos, pos + len));
                pos += len;
            }
        }
    }
}

impl BpeModel {
    pub fn new(
        vocab: Vec<Vec<u8>>,
        merges: MergeSpec,
        splitter: Option<Arc<dyn Splitter>>,
        normalizer: Normalizer,
        specials: Vec<(String, u32)>,
        options: BpeOptions,
    ) -> Result<BpeModel> {
        let special_ids: FxHashSet<u32> = specials.iter().map(|s| s.1).collect();
        let fallback: FxHashSet<u32> = match &options.units {
            Units::CharsByteFallback(ids) => {
                if !ids.is_empty() && ids.len() != 256 {
                    return Err(CoreError::Config(format!("byte_fallback_ids needs 256 ids, got {}", ids.len())));
                }
                ids.iter().copied().collect()
            }
            Units::Bytes => FxHashSet::default(),
        };
        for &id in fallback.iter() {
            if id as usize >= vocab.len() {
                return Err(CoreError::Config(format!("byte-fallback id {id} is outside the vocabulary")));
            }
        }
        let mut token_ids: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
        for (id, tok) in vocab.iter().enumerate() {
            let id = id as u32;
            if !special_ids.contains(&id) && !fallback.contains(&id) && !tok.is_empty() {
                token_ids.entry(tok.clone()).or_insert(id);
            }
        }
        let mut byte_units = [None; 256];
        for (b, unit) in byte_units.iter_mut().enumerate() {
            *unit = token_ids.get(&[b as u8][..]).copied();
        }
        let table = match merges {
            MergeSpec::Pairs(pairs) => pair_table(&vocab, &token_ids, &pairs)?,
            MergeSpec::Ranks(ranks) => rank_table(&vocab, &token_ids, ranks.as_deref())?,
        };
        let specials = Specials::new(specials)?;
        let cache = (0..SHARDS).map(|_| Mutex::new(FxHashMap::default())).collect();
        Ok(BpeModel {
            vocab, token_ids, byte_units, table, splitter, normalizer, specials, options, cache,
        })
    }

    /// Ids run from 0 to `vocab_size() - 1` (specials may sit above the ordinary vocabulary).
    pub fn vocab_size(&self) -> usize {
        let top = self.specials.list().iter().map(|s| s.1 as usize + 1).max().unwrap_or(0);
        self.vocab.len().max(top)
    }

    pub fn specials(&self) -> &[(String, u32)] {
        self.specials.list()
    }

    pub fn merge_table_len(&self) -> usize {
        self.table.len()
    }

    /// The bytes of one id (a special's text for special ids).
    pub fn token_bytes(&self, id: u32) -> Result<&[u8]> {
        if let Some(b) = self.specials.bytes(id) {
            return Ok(b);
        }
        self.vocab
            .get(id as usize)
            .map(|v| v.as_slice())
            .ok_or_else(|| CoreError::Token(format!("unknown token id {id}; ids run from 0 to {}", self.vocab_size().saturating_sub(1))))
    }

    /// The id of a non-special token's bytes.
    pub fn token_id(&self, bytes: &[u8]) -> Option<u32> {
        self.token_ids.get(bytes).copied()
    }

    fn token_len(&self, id: u32) -> usize {
        self.token_bytes(id).map_or(0, |b| b.len())
    }

    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            out.extend_from_slice(self.token_bytes(id)?);
        }
        Ok(out)
    }

    /// The policy allowing every special (`allowed_special="all"`).
    pub fn allow_all(&self) -> SpecialPolicy {
        self.specials.allow_all()
    }

    pub fn encode(&self, text: &str, policy: &SpecialPolicy) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_into(text, policy, &mut Sink { ids: &mut ids, offsets: None }, None)?;
        Ok(ids)
    }

    /// Ids with (start, end) byte offsets of each token.
    pub fn encode_with_offsets(&self, text: &str, policy: &SpecialPolicy) -> Result<IdsWithOffsets> {
        let (mut ids, mut offsets) = (Vec::new(), Vec::new());
        self.encode_into(text, policy, &mut Sink { ids: &mut ids, offsets: Some(&mut offsets) }, None)?;
        Ok((ids, offsets))
    }

    /// BPE-dropout encoding: each applicable merge is skipped with probability `p` (seeded).
    pub fn encode_dropout(&self, text: &str, policy: &SpecialPolicy, p: f64, seed: u64) -> Result<Vec<u32>> {
        if !(0.0..=1.0).contains(&p) {
            return Err(CoreError::Config(format!("dropout must be in [0, 1], got {p}")));
        }
        let mut ids = Vec::new();
        let mut rng = SplitMix::new(seed);
        self.encode_into(text, policy, &mut Sink { ids: &mut ids, offsets: None }, Some((p, &mut rng)))?;
        Ok(ids)
    }

    /// Encode many texts in parallel (`num_threads` 0: rayon's global pool).
    pub fn encode_batch<S: AsRef<str> + Sync>(&self, texts: &[S], policy: &SpecialPolicy, num_threads: usize) -> Result<Vec<Vec<u32>>> {
        let run = || texts.par_iter().with_min_len(16).map(|t| self.encode(t.as_ref(), policy)).collect::<Result<Vec<_>>>();
        with_threads(num_threads, run)?
    }

    fn encode_into(&self, text: &str, policy: &SpecialPolicy, sink: &mut Sink, mut dropout: Option<(f64, &mut SplitMix)>) -> Result<()> {
        self.specials.check_disallowed(text, policy)?;
        let mut start = 0usize;
        let mut out_pos = 0usize; // offset in the normalized output
        if let Some(matcher) = self.specials.allowed_matcher(policy)? {
            for m in matcher.automaton.find_iter(text) {
                let id = matcher.ids[m.pattern().as_usize()];
                let before = &text[start..m.start()];
                out_pos = self.encode_ordinary(before, out_pos, sink, dropout.as_mut().map(|(p, r)| (*p, &mut **r)))?;
                sink.push_piece(self, &[id], out_pos);
                out_pos += m.end() - m.start();
                start = m.end();
            }
        }
        self.encode_ordinary(&text[start..], out_pos, sink, dropout.as_mut().map(|(p, r)| (*p, &mut **r)))?;
        Ok(())
    }

    /// Encode text without specials; returns the output offset after it.
    fn encode_ordinary(&self, text: &str, out_pos: usize, sink: &mut Sink, mut dropout: Option<(f64, &mut SplitMix)>) -> Result<usize> {
        if text.is_empty() {
            return Ok(out_pos);
        }
        let mut norm = self.normalizer.normalize(text);
        if let Some(rep) = &self.options.space_replacement {
            let prefix = if self.options.add_dummy_prefix { rep.as_str() } else { "" };
            norm = std::borrow::Cow::Owned(format!("{prefix}{}", norm.replace(' ', rep)));
        }
        let bytes = norm.as_bytes();
        let mut scratch = Vec::new();
        let mut emit = |s: usize, e: usize, sink: &mut Sink| -> Result<()> {
            let piece = &bytes[s..e];
            match dropout.as_mut() {
                None => self.encode_piece(piece, &mut scratch)?,
                Some((p, rng)) => {
                    scratch.clear();
                    self.initial_units(piece, &mut scratch)?;
                    merge_units_dropout(&self.table, &mut scratch, *p, rng);
                }
            }
            sink.push_piece(self, &scratch, out_pos + s);
            Ok(())
        };
        match &self.splitter {
            Some(splitter) => {
                let mut failed = None;
                splitter.for_each_span(&norm, &mut |s, e| {
                    if e > s && failed.is_none() {
                        failed = emit(s, e, sink).err();
                    }
                });
                if let Some(err) = failed {
                    return Err(err);
                }
            }
            None => emit(0, bytes.len(), sink)?,
        }
        Ok(out_pos + bytes.len())
    }

    /// The ids of one piece into `out` (cleared first).
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) -> Result<()> {
        out.clear();
        if self.options.ignore_merges {
            if let Some(&id) = self.token_ids.get(piece) {
                out.push(id);
                return Ok(());
            }
        }
        let shard = if self.options.cache_capacity > 0 && piece.len() > 1 {
            let mut h = FxHasher::default();
            h.write(piece);
            let shard = &self.cache[(h.finish() >> 58) as usize % SHARDS];
            if let Ok(map) = shard.try_lock() {
                if let Some(ids) = map.get(piece) {
                    out.extend_from_slice(ids);
                    return Ok(());
                }
            }
            Some(shard)
        } else {
            None
        };
        self.initial_units(piece, out)?;
        merge_units(&self.table, out);
        if let Some(shard) = shard {
            if let Ok(mut map) = shard.try_lock() {
                if map.len() >= self.options.cache_capacity {
                    map.clear();
                }
                map.insert(piece.into(), out.as_slice().into());
            }
        }
        Ok(())
    }

    fn initial_units(&self, piece: &[u8], out: &mut Vec<u32>) -> Result<()> {
        match &self.options.units {
            Units::Bytes => {
                for &b in piece {
                    match (self.byte_units[b as usize], self.options.unk_id) {
                        (Some(id), _) | (None, Some(id)) => out.push(id),
                        (None, None) => return Err(no_byte(b)),
                    }
                }
            }
            Units::CharsByteFallback(fallback) => {
                let text = std::str::from_utf8(piece).map_err(|e| CoreError::Corpus(e.to_string()))?;
                for (i, ch) in text.char_indices() {
                    let bytes = &piece[i..i + ch.len_utf8()];
                    if let Some(&id) = self.token_ids.get(bytes) {
                        out.push(id);
                    } else if fallback.is_empty() {
                        if let Some(unk) = self.options.unk_id {
                            out.push(unk);
                            continue;
                        }
                        return Err(CoreError::Token(format!("character {ch:?} is not in the vocabulary and there is no byte fallback")));
                    } else {
                        out.extend(bytes.iter().map(|&b| fallback[b as usize]));
                    }
                }
            }
        }
        Ok(())
    }
}

fn no_byte(b: u8) -> CoreError {
    CoreError::Token(format!("byte 0x{b:02X} has no token in this vocabulary (not a full byte-level alphabet)"))
}

/// Run `f` on a pool of `n` threads (0: rayon's global pool); see `thread_pool`.
pub fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    Ok(match thread_pool(n)? {
        Some(pool) => pool.install(f),
        None => f(),
    })
}

/// A pool of `n` threads (None for 0: rayon's global pool). Pools are kept per size, so repeated
/// calls (batch encoding, training, counting) do not start threads each time.
pub fn thread_pool(n: usize) -> Result<Option<Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<FxHashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    if n == 0 {
        return Ok(None);
    }
    let pools = POOLS.get_or_init(|| Mutex::new(FxHashMap::default()));
    if let Some(pool) = pools.lock().ok().and_then(|map| map.get(&n).cloned()) {
        return Ok(Some(pool));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| CoreError::Config(format!("cannot start {n} threads: {e}")))?;
    let pool = Arc::new(pool);
    if let Ok(mut map) = pools.lock() {
        if map.len() < 16 {
            map.insert(n, pool.clone());
        }
    }
    Ok(Some(pool))
}

fn pair_table(vocab: &[Vec<u8>], token_ids: &FxHashMap<Vec<u8>, u32>, pairs: &[(u32, u32)]) -> Result<MergeTable> {
    let mut table = MergeTable::new();
    let mut buf = Vec::new();
    for (rank, &(a, b)) in pairs.iter().enumerate() {
        let (Some(x), Some(y)) = (vocab.get(a as usize), vocab.get(b as usize)) else {
            return Err(CoreError::Format(format!("merge {rank} ({a}, {b}) names an id outside the vocabulary")));
        };
        buf.clear();
        buf.extend_from_slice(x);
        buf.extend_from_slice(y);
        let Some(&new_id) = token_ids.get(&buf) else {
            return Err(CoreError::Format(format!(
                "merge {rank} ({a}, {b}) makes {:?}, which is not in the vocabulary",
                String::from_utf8_lossy(&buf)
            )));
        };
        table.insert(a, b, rank as u32, new_id);
    }
    Ok(table)
}

/// tiktoken semantics compiled into pairs: every split of every token into two tokens.
fn rank_table(vocab: &[Vec<u8>], token_ids: &FxHashMap<Vec<u8>, u32>, ranks: Option<&[u32]>) -> Result<MergeTable> {
    if let Some(r) = ranks {
        if r.len() != vocab.len() {
            return Err(CoreError::Config(format!("ranks has {} entries for {} tokens", r.len(), vocab.len())));
        }
    }
    let mut entries: Vec<(u32, u32, u32, u32)> = token_ids
        .par_iter()
        .flat_map_iter(|(tok, &id)| {
            let rank = ranks.map_or(id, |r| r[id as usize]);
            (1..tok.len()).filter_map(move |k| {
                let a = *token_ids.get(&tok[..k])?;
                let b = *token_ids.get(&tok[k..])?;
                Some((rank, a, b, id))
            })
        })
        .collect();
    entries.sort_unstable();
    let mut table = MergeTable::new();
    for (rank, a, b, id) in entries {
        table.insert(a, b, rank, id);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::bpe::{BpeTrainer, BpeTrainerConfig};

    struct Spaces;
    impl Splitter for Spaces {
        fn split(&self, text: &str) -> Vec<(usize, usize)> {
            let mut out = Vec::new();
            let mut start = 0;
            for (i, c) in text.char_indices() {
                if c == ' ' && i > start {
                    out.push((start, i));
                    start = i;
                }
            }
            if start < text.len() {
                out.push((start, text.len()));
            }
            out
        }
    }

    fn trained() -> BpeModel {
        let words = [("hello", 50u64), (" hello", 40), (" world", 30), (" low", 20), ("lower", 5)];
        let cfg = BpeTrainerConfig { vocab_size: 300, special_tokens: vec!["<|end|>".into()], min_frequency: 1, ..Default::default() };
        let data = BpeTrainer::new(cfg).unwrap().train_words(words.iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {}).unwrap();
        BpeModel::new(data.vocab, MergeSpec::Pairs(data.merges), Some(Arc::new(Spaces)), Normalizer::None,
                      vec![("<|end|>".into(), 0)], BpeOptions::default()).unwrap()
    }

    #[test]
    fn round_trip_and_merges() {
        let m = trained();
        let ids = m.encode("hello world", &SpecialPolicy::none()).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(m.decode(&ids).unwrap(), b"hello world");
        let text = "h\u{e9}llo \u{1F600} \0x";
        assert_eq!(m.decode(&m.encode(text, &SpecialPolicy::none()).unwrap()).unwrap(), text.as_bytes());
    }

    #[test]
    fn specials_allowed_disallowed_or_text() {
        let m = trained();
        let text = "hello<|end|> world";
        let ids = m.encode(text, &m.allow_all()).unwrap();
        assert!(ids.contains(&0));
        let as_text = m.encode(text, &SpecialPolicy::none()).unwrap();
        assert!(!as_text.contains(&0));
        assert_eq!(m.decode(&as_text).unwrap(), text.as_bytes());
        let strict = SpecialPolicy { allowed: FxHashSet::default(), disallowed: [0].into_iter().collect() };
        assert!(matches!(m.encode(text, &strict), Err(CoreError::Token(_))));
    }

    #[test]
    fn only_allowed_specials_are_matched() {
        let words = [("ab", 5u64)];
        let cfg = BpeTrainerConfig { vocab_size: 300, min_frequency: 1, ..Default::default() };
        let data = BpeTrainer::new(cfg).unwrap().train_words(words.iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {}).unwrap();
        let mut vocab = data.vocab;
        vocab.push(b"<a>".to_vec());
        vocab.push(b"x<a>".to_vec());
        let n = vocab.len() as u32;
        let specials = vec![("<a>".to_string(), n - 2), ("x<a>".to_string(), n - 1)];
        let m = BpeModel::new(vocab, MergeSpec::Pairs(data.merges), None, Normalizer::None, specials, BpeOptions::default()).unwrap();
        let only_a = SpecialPolicy { allowed: [n - 2].into_iter().collect(), disallowed: FxHashSet::default() };
        let ids = m.encode("x<a>", &only_a).unwrap();
        assert_eq!(ids.last(), Some(&(n - 2)));
        assert_eq!(m.encode("x<a>", &m.allow_all()).unwrap(), vec![n - 1]);
    }

    #[test]
    fn offsets_cover_text() {
        let m = trained();
        let text = "hello<|end|> lower \u{1F600}";
        let (ids, offsets) = m.encode_with_offsets(text, &m.allow_all()).unwrap();
        assert_eq!(ids.len(), offsets.len());
        for (id, (s, e)) in ids.iter().zip(&offsets) {
            assert_eq!(m.token_bytes(*id).unwrap(), &text.as_bytes()[*s..*e]);
        }
        assert_eq!(offsets.last().unwrap().1, text.len());
    }

    #[test]
    fn ranks_mode_matches_pairs_mode() {
        // A vocabulary whose ids are merge ranks (tiktoken layout): bytes, then merges in order.
        let data = {
            let words = [("abcabc", 10u64), ("abd", 7), ("bcd", 3)];
            let cfg = BpeTrainerConfig { vocab_size: 262, min_frequency: 1, ..Default::default() };
            BpeTrainer::new(cfg).unwrap().train_words(words.iter().map(|(w, c)| (w.as_bytes(), *c)), &mut |_| {}).unwrap()
        };
        let a = BpeModel::new(data.vocab.clone(), MergeSpec::Pairs(data.merges.clone()), None, Normalizer::None, vec![], BpeOptions::default()).unwrap();
        let b = BpeModel::new(data.vocab, MergeSpec::Ranks(None), None, Normalizer::None, vec![], BpeOptions::default()).unwrap();
        for t in ["abcabcd", "bcdab", "dcba", "abcbcd"] {
            assert_eq!(a.encode(t, &SpecialPolicy::none()).unwrap(), b.encode(t, &SpecialPolicy::none()).unwrap());
        }
    }

    #[test]
    fn batch_equals_one_by_one() {
        let m = trained();
        let texts = ["hello world", "", "lower low", "h\u{e9}llo <|end|>"];
        let one: Vec<Vec<u32>> = texts.iter().map(|t| m.encode(t, &SpecialPolicy::none()).unwrap()).collect();
        for n in [0, 1, 2, 2] {
            assert_eq!(m.encode_batch(&texts, &SpecialPolicy::none(), n).unwrap(), one);
        }
    }

    #[test]
    fn unknown_id_is_an_error() {
        assert!(matches!(trained().decode(&[99999]), Err(CoreError::Token(_))));
    }

    #[test]
    fn chars_with_byte_fallback() {
        // vocab: fallback bytes 0..256 (raw bytes), then "a", "b", "ab".
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        vocab.extend([b"a".to_vec(), b"b".to_vec(), b"ab".to_vec()]);
        let options = BpeOptions { units: Units::CharsByteFallback((0..256).collect()), ..Default::default() };
        let ranks: Vec<u32> = (0..vocab.len() as u32).collect();
        let m = BpeModel::new(vocab, MergeSpec::Ranks(Some(ranks)), None, Normalizer::None, vec![], options).unwrap();
        let ids = m.encode("abé", &SpecialPolicy::none()).unwrap();
        assert_eq!(ids, vec![258, 0xC3, 0xA9]);
        assert_eq!(m.decode(&ids).unwrap(), "abé".as_bytes());
    }

    #[test]
    fn dropout_is_seeded() {
        let m = trained();
        let a = m.encode_dropout("hello hello world", &SpecialPolicy::none(), 0.5, 3).unwrap();
        let b = m.encode_dropout("hello hello world", &SpecialPolicy::none(), 0.5, 3).unwrap();
        assert_eq!(a, b);
        let full = m.encode_dropout("hello", &SpecialPolicy::none(), 1.0, 3).unwrap();
        assert_eq!(full.len(), 5);
        assert_eq!(m.encode_dropout("hello", &SpecialPolicy::none(), 0.0, 3).unwrap(), m.encode("hello", &SpecialPolicy::none()).unwrap());
    }
}
