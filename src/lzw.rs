//! zip2zip LZW hypertokens over token-id streams (Geng et al., NeurIPS 2025; epfl-dlab/zip2zip).
//!
//! Each sequence gets its own codebook, which starts empty. Base ids live in `[0, V0)`; hyper ids
//! in `[V0, V0 + C)` name sequences of 2..=M base ids, assigned in order of first need exactly as
//! classic LZW does. Disabled ids (specials) are emitted as themselves and never take part in an
//! entry: they flush the current phrase, and no entry spans them. The decoder rebuilds the same
//! codebook from the code stream alone (including the "code defined by this very step" case).
//!
//! Performance notes: the encoder keeps the codebook as a trie `(prefix code, next id) -> code`
//! in an `FxHashMap`, so extending the current phrase is one hash lookup and no phrase is ever
//! copied. Batches run one sequence per rayon task; sequences are independent by construction.
//!
//! Worked example (V0 = 10, C = 4, M = 3): ids `1 2 1 2 1 2` -> codes `1 2 10 10` with entries
//! 10 = [1 2], 11 = [2 1], 12 = [1 2 1]; the last `1 2` is emitted as 10 because `[1 2]` is the
//! longest match left.

use crate::error::{CoreError, Result};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// Parameters shared by the encoder and the decoder; both sides must agree on all of them.
#[derive(Debug, Clone)]
pub struct LzwConfig {
    /// Size of the base vocabulary V0: base ids are `< V0`, hyper ids start at V0.
    pub base_vocab_size: u32,
    /// Number of hyper-id slots C per sequence; when full, no new entry is added.
    pub codebook_size: u32,
    /// Longest entry M, in base ids (M <= 1 disables merging).
    pub max_subtokens: usize,
    /// Ids that are never merged (special tokens); each must be a base id.
    pub disabled: FxHashSet<u32>,
}

impl LzwConfig {
    pub fn new(base_vocab_size: u32, codebook_size: u32, max_subtokens: usize, disabled_ids: &[u32]) -> Result<Self> {
        if base_vocab_size == 0 {
            return Err(CoreError::Config("base_vocab_size must be > 0".into()));
        }
        if (base_vocab_size as u64) + (codebook_size as u64) > u32::MAX as u64 {
            return Err(CoreError::Config(format!(
                "base_vocab_size + codebook_size must fit in u32 (got {base_vocab_size} + {codebook_size})"
            )));
        }
        if max_subtokens == 0 {
            return Err(CoreError::Config("max_subtokens must be >= 1".into()));
        }
        for &d in disabled_ids {
            if d >= base_vocab_size {
                return Err(CoreError::Config(format!(
                    "disabled id {d} is not a base id (base_vocab_size = {base_vocab_size})"
                )));
            }
        }
        Ok(Self {
            base_vocab_size,
            codebook_size,
            max_subtokens,
            disabled: disabled_ids.iter().copied().collect(),
        })
    }

    fn merging(&self) -> bool {
        self.codebook_size > 0 && self.max_subtokens >= 2
    }
}

/// Encode one sequence of base ids into LZW codes (base ids and hyper ids).
pub fn encode(ids: &[u32], cfg: &LzwConfig) -> Result<Vec<u32>> {
    encode_inner(ids, cfg, None)
}

/// Encode and also return the codebook: entry k (hyper id V0 + k) as its base ids.
pub fn encode_with_codebook(ids: &[u32], cfg: &LzwConfig) -> Result<CodesWithCodebook> {
    let mut book = Vec::new();
    let codes = encode_inner(ids, cfg, Some(&mut book))?;
    Ok((codes, book))
}

fn encode_inner(ids: &[u32], cfg: &LzwConfig, mut book: Option<&mut Vec<Vec<u32>>>) -> Result<Vec<u32>> {
    let v0 = cfg.base_vocab_size;
    if let Some(pos) = ids.iter().position(|&t| t >= v0) {
        return Err(CoreError::Token(format!(
            "id {} at position {pos} is outside the base vocabulary (base_vocab_size = {v0})",
            ids[pos]
        )));
    }
    if !cfg.merging() {
        if let Some(b) = book.as_deref_mut() {
            b.clear();
        }
        return Ok(ids.to_vec());
    }
    let mut trie: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    let mut next_code: u32 = 0; // slots used
    let mut out = Vec::with_capacity(ids.len());
    // Current phrase: its code and its length in base ids (len 0 = empty).
    let mut cur: u32 = 0;
    let mut cur_len: usize = 0;
    // Base ids of the current phrase, only kept when the caller wants the codebook.
    let mut phrase: Vec<u32> = Vec::new();
    let want_book = book.is_some();
    for &t in ids {
        if cfg.disabled.contains(&t) {
            if cur_len > 0 {
                out.push(cur);
            }
            out.push(t);
            cur_len = 0;
            phrase.clear();
            continue;
        }
        if cur_len == 0 {
            cur = t;
            cur_len = 1;
            if want_book {
                phrase.clear();
                phrase.push(t);
            }
            continue;
        }
        if let Some(&code) = trie.get(&(cur, t)) {
            cur = code;
            cur_len += 1;
            if want_book {
                phrase.push(t);
            }
            continue;
        }
        out.push(cur);
        if cur_len < cfg.max_subtokens && next_code < cfg.codebook_size {
            trie.insert((cur, t), v0 + next_code);
            next_code += 1;
            if let Some(b) = book.as_deref_mut() {
                let mut e = phrase.clone();
                e.push(t);
                b.push(e);
            }
        }
        cur = t;
        cur_len = 1;
        if want_book {
            phrase.clear();
            phrase.push(t);
        }
    }
    if cur_len > 0 {
        out.push(cur);
    }
    Ok(out)
}

/// Decode LZW codes back to base ids, rebuilding the codebook from the codes alone.
pub fn decode(codes: &[u32], cfg: &LzwConfig) -> Result<Vec<u32>> {
    decode_with_codebook(codes, cfg).map(|(ids, _)| ids)
}

/// Decode and return the rebuilt codebook (entry k = hyper id V0 + k).
pub fn decode_with_codebook(codes: &[u32], cfg: &LzwConfig) -> Result<(Vec<u32>, Vec<Vec<u32>>)> {
    let v0 = cfg.base_vocab_size;
    let mut book: Vec<Vec<u32>> = Vec::new();
    let mut out = Vec::with_capacity(codes.len() * 2);
    // Previous emitted phrase (empty after a disabled id or at the start).
    let mut prev: Vec<u32> = Vec::new();
    let merging = cfg.merging();
    for (pos, &c) in codes.iter().enumerate() {
        if c < v0 && cfg.disabled.contains(&c) {
            out.push(c);
            prev.clear();
            continue;
        }
        let can_add = merging
            && !prev.is_empty()
            && prev.len() < cfg.max_subtokens
            && (book.len() as u32) < cfg.codebook_size;
        let cur: Vec<u32> = if c < v0 {
            vec![c]
        } else {
            let k = (c - v0) as usize;
            if k < book.len() {
                book[k].clone()
            } else if k == book.len() && can_add {
                // The code being defined by this very step: prev + prev[0].
                let mut e = prev.clone();
                e.push(prev[0]);
                e
            } else {
                return Err(CoreError::Token(format!(
                    "code {c} at position {pos} is not in the codebook yet ({} entries; base_vocab_size = {v0})",
                    book.len()
                )));
            }
        };
        if can_add {
            let mut e = std::mem::take(&mut prev);
            e.push(cur[0]);
            book.push(e);
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok((out, book))
}

/// Encode many sequences in parallel (one rayon task per sequence).
pub fn encode_batch(seqs: &[Vec<u32>], cfg: &LzwConfig) -> Result<Vec<Vec<u32>>> {
    seqs.par_iter().map(|s| encode(s, cfg)).collect()
}

/// A sequence's codes and its codebook (entry k, hyper id V0 + k, as its base ids).
pub type CodesWithCodebook = (Vec<u32>, Vec<Vec<u32>>);

/// Encode many sequences in parallel, with each sequence's codebook.
pub fn encode_batch_with_codebook(seqs: &[Vec<u32>], cfg: &LzwConfig) -> Result<Vec<CodesWithCodebook>> {
    seqs.par_iter().map(|s| encode_with_codebook(s, cfg)).collect()
}

/// Decode many code streams in parallel.
pub fn decode_batch(seqs: &[Vec<u32>], cfg: &LzwConfig) -> Result<Vec<Vec<u32>>> {
    seqs.par_iter().map(|s| decode(s, cfg)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v0: u32, c: u32, m: usize, d: &[u32]) -> LzwConfig {
        LzwConfig::new(v0, c, m, d).unwrap()
    }

    /// Tiny deterministic PRNG (xorshift) so the tests need no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn worked_example() {
        let c = cfg(10, 4, 3, &[]);
        let (codes, book) = encode_with_codebook(&[1, 2, 1, 2, 1, 2], &c).unwrap();
        assert_eq!(codes, vec![1, 2, 10, 10]);
        assert_eq!(book, vec![vec![1, 2], vec![2, 1], vec![1, 2, 1]]);
        assert_eq!(decode(&codes, &c).unwrap(), vec![1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn kwkwk_case() {
        let c = cfg(5, 8, 4, &[]);
        let ids = vec![3, 3, 3, 3, 3, 3, 3];
        let codes = encode(&ids, &c).unwrap();
        assert!(codes.len() < ids.len());
        assert_eq!(decode(&codes, &c).unwrap(), ids);
    }

    #[test]
    fn round_trip_random_all_m_c() {
        let mut rng = Rng(0x9E3779B97F4A7C15);
        for m in 1..=6usize {
            for &cs in &[0u32, 1, 2, 3, 7, 64, 1024] {
                for &v0 in &[2u32, 3, 10, 300] {
                    for _ in 0..20 {
                        let n = rng.below(200) as usize;
                        let ids: Vec<u32> = (0..n).map(|_| rng.below(v0 as u64) as u32).collect();
                        let d: Vec<u32> = if v0 > 2 { vec![0] } else { vec![] };
                        for dis in [&[][..], &d[..]] {
                            let c = cfg(v0, cs, m, dis);
                            let (codes, book) = encode_with_codebook(&ids, &c).unwrap();
                            assert!(codes.len() <= ids.len());
                            assert!(book.len() as u32 <= cs);
                            assert!(book.iter().all(|e| e.len() >= 2 && e.len() <= m));
                            assert!(codes.iter().all(|&x| x < v0 + cs));
                            let (back, book2) = decode_with_codebook(&codes, &c).unwrap();
                            assert_eq!(back, ids, "m={m} c={cs} v0={v0}");
                            // The decoder knows every entry the encoder used (it may lag by one at the end).
                            assert!(book2.len() <= book.len());
                            assert_eq!(&book[..book2.len()], &book2[..]);
                            for e in &book {
                                assert!(!e.iter().any(|t| c.disabled.contains(t)));
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn disabled_ids_pass_through() {
        let c = cfg(10, 16, 4, &[0]);
        let ids = vec![1, 2, 0, 1, 2, 0, 1, 2, 1, 2];
        let codes = encode(&ids, &c).unwrap();
        assert_eq!(codes.iter().filter(|&&x| x == 0).count(), 2);
        assert_eq!(decode(&codes, &c).unwrap(), ids);
    }

    #[test]
    fn errors() {
        let c = cfg(10, 4, 3, &[]);
        assert!(matches!(encode(&[1, 10], &c), Err(CoreError::Token(_))));
        assert!(matches!(decode(&[1, 13], &c), Err(CoreError::Token(_))));
        assert!(matches!(decode(&[10], &c), Err(CoreError::Token(_))));
        assert!(LzwConfig::new(0, 4, 3, &[]).is_err());
        assert!(LzwConfig::new(10, 4, 0, &[]).is_err());
        assert!(LzwConfig::new(10, 4, 3, &[10]).is_err());
    }

    #[test]
    fn batch_matches_single() {
        let c = cfg(50, 32, 3, &[1]);
        let mut rng = Rng(7);
        let seqs: Vec<Vec<u32>> = (0..40)
            .map(|_| (0..rng.below(100)).map(|_| rng.below(50) as u32).collect())
            .collect();
        let enc = encode_batch(&seqs, &c).unwrap();
        for (s, e) in seqs.iter().zip(&enc) {
            assert_eq!(&encode(s, &c).unwrap(), e);
        }
        assert_eq!(decode_batch(&enc, &c).unwrap(), seqs);
    }
}
