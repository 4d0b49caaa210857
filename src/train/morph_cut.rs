//! MorphBPE's piece cutting (Asgari et al., 2025): each pretokenized piece is cut inside its letter runs
//! at gold or Morfessor (`train::morfessor`) boundaries; BPE then never merges across a cut.
//!
//! A letter run is a maximal run of characters matching Python's `[^\W\d_]` (Unicode letters, and
//! numerics that are not decimal digits); its key is its case fold. ASCII is built in ([A-Za-z],
//! lower-cased); other characters come from a table made by the caller (the binding asks Python's own
//! `re` and `str.casefold`, so the segments equal the Python reference exactly). Offsets are in
//! characters, as in Python.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::train::morfessor::Morfessor;

/// Non-ASCII letter → its case fold (characters not in the table are not letters).
pub type LetterTable = FxHashMap<char, String>;

/// The UTF-8 text of `piece`, invalid bytes dropped (Python's `errors="ignore"`).
fn decode_ignore(piece: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(piece) {
        return s.into();
    }
    piece.utf8_chunks().map(|c| c.valid()).collect::<String>().into()
}

/// Each letter run of `text` as (start char, end char, case-folded key).
fn letter_runs(text: &str, letters: &LetterTable, mut f: impl FnMut(usize, usize, &str)) {
    let mut key = String::new();
    let mut start = None;
    let mut n = 0;
    for ch in text.chars() {
        let is_letter = if ch.is_ascii() {
            if ch.is_ascii_alphabetic() {
                key.push(ch.to_ascii_lowercase());
                true
            } else {
                false
            }
        } else if let Some(fold) = letters.get(&ch) {
            key.push_str(fold);
            true
        } else {
            false
        };
        match (is_letter, start) {
            (true, None) => start = Some(n),
            (false, Some(s)) => {
                f(s, n, &key);
                key.clear();
                start = None;
            }
            _ => {}
        }
        n += 1;
    }
    if let Some(s) = start {
        f(s, n, &key);
    }
}

/// Distinct non-ASCII characters of the pieces (the caller classifies them into a `LetterTable`).
pub fn non_ascii_chars(pieces: &[(&[u8], u64)]) -> Vec<char> {
    let mut set: FxHashSet<char> = pieces
        .par_iter()
        .filter(|(p, _)| !p.is_ascii())
        .fold(FxHashSet::default, |mut set, (p, _)| {
            set.extend(decode_ignore(p).chars().filter(|c| !c.is_ascii()));
            set
        })
        .reduce(FxHashSet::default, |mut a, b| {
            a.extend(b);
            a
        });
    let mut out: Vec<char> = set.drain().collect();
    out.sort_unstable();
    out
}

/// Case-folded letter run → summed count of the pieces holding it (invalid UTF-8 bytes dropped).
pub fn letter_run_counts(pieces: &[(&[u8], u64)], letters: &LetterTable) -> FxHashMap<String, u64> {
    // One table per worker-sized chunk: rayon's finer splits would each build and merge a table.
    let chunk = pieces.len().div_ceil(rayon::current_num_threads().max(1)).max(1);
    pieces
        .par_chunks(chunk)
        .map(|chunk| {
            let mut runs: FxHashMap<String, u64> = FxHashMap::default();
            for &(p, c) in chunk {
                letter_runs(&decode_ignore(p), letters, |_, _, key| {
                    if let Some(v) = runs.get_mut(key) {
                        *v += c;
                    } else {
                        runs.insert(key.to_string(), c);
                    }
                });
            }
            runs
        })
        .reduce(FxHashMap::default, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (k, v) in small {
                *big.entry(k).or_insert(0) += v;
            }
            big
        })
}

/// Where each piece is cut: byte offsets of the segment bounds, empty when the piece stays whole.
/// `gold` (case-folded run → character cuts) wins over `model`; a run in neither stays whole. Pieces
/// that are not valid UTF-8 stay whole. The rule is Python's `segment_piece`: cut positions are the
/// run start plus each cut, deduplicated and sorted, bounded by 0 and the piece length; empty spans
/// are dropped, and spans past the end become empty segments, as Python slicing does.
pub fn segment_pieces(pieces: &[(&[u8], u64)], letters: &LetterTable, gold: &FxHashMap<String, Vec<usize>>,
                      model: Option<&Morfessor>) -> Vec<Vec<usize>> {
    pieces
        .par_iter()
        .map(|&(p, _)| {
            let Ok(text) = std::str::from_utf8(p) else { return Vec::new() };
            let mut cuts: Vec<usize> = Vec::new();
            letter_runs(text, letters, |start, _, key| {
                // Viterbi per occurrence: cheaper than a shared table of distinct runs.
                match (gold.get(key), model) {
                    (Some(found), _) => cuts.extend(found.iter().map(|c| start + c)),
                    (None, Some(model)) => cuts.extend(model.cuts(key).into_iter().map(|c| start + c)),
                    (None, None) => {}
                }
            });
            if cuts.is_empty() {
                return Vec::new();
            }
            cuts.sort_unstable();
            cuts.dedup();
            let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let n = offsets.len() - 1;
            let byte = |c: usize| offsets[c.min(n)];
            let mut bounds = vec![0usize];
            let mut prev = 0usize;
            for c in cuts.into_iter().chain([n]) {
                if c > prev {
                    bounds.push(byte(c));
                }
                prev = c;
            }
            // `bounds` holds 0 then the end of each kept span: consecutive pairs are the segments.
            bounds
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_cut_inside_letter_runs() {
        let mut letters = LetterTable::default();
        letters.insert('É', "é".into());
        letters.insert('é', "é".into());
        let gold: FxHashMap<String, Vec<usize>> =
            [("walked".to_string(), vec![4]), ("été".to_string(), vec![1])].into_iter().collect();
        let pieces: Vec<(&[u8], u64)> =
            vec![(b" Walked,", 3), ("Été2walked".as_bytes(), 1), (b"42", 1), (b"\xffwalked", 1)];
        let out = segment_pieces(&pieces, &letters, &gold, None);
        assert_eq!(out[0], vec![0, 5, 8]); // " Walk" | "ed,"
        assert_eq!(out[1], vec![0, 2, 10, 12]); // "É" | "té2walk" | "ed"
        assert!(out[2].is_empty() && out[3].is_empty());
        let runs = letter_run_counts(&pieces, &letters);
        assert_eq!(runs["walked"], 5);
        assert_eq!(runs["été"], 1);
        assert_eq!(non_ascii_chars(&pieces), vec!['É', 'é']);
    }
}
