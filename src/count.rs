//! Word counting: normalize, pretokenize, count each piece's UTF-8 bytes with 64-bit counts.
//!
//! `WordCounts::count_texts_parallel` splits the input into chunks of about `CHUNK_BYTES`, counts each
//! chunk on a local rayon pool of `num_threads` workers and merges the per-worker tables. Long texts
//! are cut only at positions where the named pattern is guaranteed to start a new piece (see
//! `safe_cut`), so the counts equal a sequential count exactly.
//!
//! # File format (version 1), little-endian
//! ```text
//! magic    8 bytes   b"TSWCOUNT"
//! version  u32       1
//! flags    u32       0 (reserved)
//! entries  u64       number of entries N
//! N times: len u32, `len` bytes of the piece, count u64     (sorted by piece bytes)
//! checksum u64       FNV-1a 64 of every byte before it
//! ```
//! `load` rejects another magic, an unknown version, a bad checksum, truncation, trailing bytes,
//! duplicate pieces and zero counts with a Format error.

use std::fs;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::{CoreError, Result};
use crate::model::bpe::with_threads;
use crate::normalize::Normalizer;
use crate::pretokenize::Pretokenizer;

/// Target size of one unit of parallel work, in bytes.
pub const CHUNK_BYTES: usize = 1 << 20;
const MAGIC: &[u8; 8] = b"TSWCOUNT";
const VERSION: u32 = 1;

/// Piece bytes → number of occurrences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordCounts {
    counts: FxHashMap<Vec<u8>, u64>,
}

impl WordCounts {
    pub fn new() -> WordCounts {
        WordCounts::default()
    }

    /// Count the pieces of `text` (normalized, then pretokenized).
    pub fn add_text(&mut self, pretokenizer: &Pretokenizer, normalizer: &Normalizer, text: &str) {
        let normalized = normalizer.normalize(text);
        let mut counter = PieceCounter::default();
        pretokenizer.for_each_piece(&normalized, |piece| counter.add(piece.as_bytes()));
        counter.add_into(&mut self.counts);
    }

    /// Add `count` occurrences of one piece.
    pub fn add_piece(&mut self, piece: &[u8], count: u64) {
        if count > 0 {
            bump(&mut self.counts, piece, count);
        }
    }

    /// Count many texts on `num_threads` workers (0: one per core). Equal to adding them one by one.
    pub fn count_texts_parallel<S: AsRef<str> + Sync>(
        texts: &[S],
        pretokenizer: &Pretokenizer,
        normalizer: &Normalizer,
        num_threads: usize,
    ) -> WordCounts {
        let mut counts = WordCounts::new();
        counts.add_texts_parallel(texts, pretokenizer, normalizer, num_threads);
        counts
    }

    /// Count many more texts into this table on `num_threads` workers (0: one per core). The
    /// workers' counts are added up with the pieces still packed, and only pieces new to the table
    /// are copied out.
    pub fn add_texts_parallel<S: AsRef<str> + Sync>(
        &mut self,
        texts: &[S],
        pretokenizer: &Pretokenizer,
        normalizer: &Normalizer,
        num_threads: usize,
    ) {
        let chunks = plan_chunks(texts, pretokenizer, CHUNK_BYTES);
        let count_all = || count_chunks(texts, &chunks, pretokenizer, normalizer);
        let counter = if num_threads == 1 || chunks.len() <= 1 {
            sequential(texts, &chunks, pretokenizer, normalizer)
        } else {
            with_threads(num_threads, count_all).unwrap_or_else(|_| sequential(texts, &chunks, pretokenizer, normalizer))
        };
        counter.add_into(&mut self.counts);
    }

    /// Add every count of `other` to this table.
    pub fn merge(&mut self, other: WordCounts) {
        if other.counts.len() > self.counts.len() {
            let smaller = std::mem::replace(&mut self.counts, other.counts);
            absorb(&mut self.counts, smaller);
        } else {
            absorb(&mut self.counts, other.counts);
        }
    }

    /// Number of distinct pieces.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0u64, |sum, &c| sum.saturating_add(c))
    }

    /// The count of one piece (0 when absent).
    pub fn get(&self, piece: &[u8]) -> u64 {
        self.counts.get(piece).copied().unwrap_or(0)
    }

    /// Every (piece, count), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.counts.iter().map(|(k, &v)| (k.as_slice(), v))
    }

    /// The underlying table.
    pub fn as_map(&self) -> &FxHashMap<Vec<u8>, u64> {
        &self.counts
    }

    /// The table itself.
    pub fn into_map(self) -> FxHashMap<Vec<u8>, u64> {
        self.counts
    }

    /// Every (piece, count), most frequent first; ties by piece bytes (deterministic).
    pub fn sorted_items(&self) -> Vec<(&[u8], u64)> {
        let mut items: Vec<(&[u8], u64)> = self.iter().collect();
        items.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        items
    }

    /// The `n` most frequent pieces (ties by piece bytes).
    pub fn most_common(&self, n: usize) -> Vec<(&[u8], u64)> {
        let mut items = self.sorted_items();
        items.truncate(n);
        items
    }

    /// The table in the documented binary format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut keys: Vec<&Vec<u8>> = self.counts.keys().collect();
        keys.sort_unstable();
        let body: usize = keys.iter().map(|k| k.len() + 12).sum();
        let mut out = Vec::with_capacity(32 + body);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        for key in keys {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key);
            out.extend_from_slice(&self.counts[key].to_le_bytes());
        }
        let checksum = fnv1a64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Parse the binary format; anything else is a Format error.
    pub fn from_bytes(data: &[u8]) -> Result<WordCounts> {
        let mut reader = Reader::new(data)?;
        let n = reader.header()?;
        let mut counts = FxHashMap::default();
        counts.reserve(n.min(data.len() / 12));
        for _ in 0..n {
            let (piece, count) = reader.entry()?;
            if count == 0 {
                return Err(format_error("an entry has count 0"));
            }
            if counts.insert(piece.to_vec(), count).is_some() {
                return Err(format_error("a piece appears twice"));
            }
        }
        reader.finish()?;
        Ok(WordCounts { counts })
    }

    /// Write the table to `path` atomically (a temporary file beside it, then a rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        fs::write(&tmp, self.to_bytes())?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            CoreError::Io(e)
        })
    }

    /// Read a table written by `save`.
    pub fn load(path: impl AsRef<Path>) -> Result<WordCounts> {
        let path = path.as_ref();
        let data = fs::read(path)?;
        WordCounts::from_bytes(&data).map_err(|e| match e {
            CoreError::Format(m) => CoreError::Format(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

/// Slots of the direct-mapped cache in front of the short-piece map (64 KiB: stays in L2).
const HOT_SLOTS: usize = 4096;

/// The counter used while scanning. Pieces of 1 to 15 bytes are packed into a `u128` key (no heap
/// key to compare) and counted first in a small direct-mapped cache, which holds the frequent words, so
/// most pieces never touch the large hash map; a piece that takes a slot flushes the old one into the
/// map. Longer pieces use the byte-string map.
struct PieceCounter {
    hot: Vec<(u128, u64)>,
    short: FxHashMap<u128, u64>,
    long: FxHashMap<Vec<u8>, u64>,
}

impl Default for PieceCounter {
    fn default() -> Self {
        PieceCounter { hot: vec![(0, 0); HOT_SLOTS], short: FxHashMap::default(), long: FxHashMap::default() }
    }
}

impl PieceCounter {
    #[inline]
    fn add(&mut self, piece: &[u8]) {
        if piece.is_empty() || piece.len() > MAX_PACKED {
            bump(&mut self.long, piece, 1);
            return;
        }
        let key = pack(piece); // never 0: the length byte is at least 1
        let slot = hot_slot(key);
        let entry = &mut self.hot[slot];
        if entry.0 == key {
            entry.1 += 1;
            return;
        }
        let (old_key, old_count) = std::mem::replace(entry, (key, 1));
        if old_key != 0 {
            *self.short.entry(old_key).or_insert(0) += old_count;
        }
    }

    /// Move the cache's counts into the map.
    fn flush(&mut self) {
        for slot in self.hot.iter_mut() {
            let (key, count) = std::mem::take(slot);
            if key != 0 {
                *self.short.entry(key).or_insert(0) += count;
            }
        }
    }

    /// Add `other`'s counts (packed keys stay packed: no piece is copied out).
    fn absorb(mut self, mut other: PieceCounter) -> PieceCounter {
        if other.short.len() > self.short.len() {
            std::mem::swap(&mut self, &mut other);
        }
        self.flush();
        other.flush();
        absorb(&mut self.short, other.short);
        absorb(&mut self.long, other.long);
        self
    }

    /// Add every count to `counts`, copying out only the pieces new to it.
    fn add_into(mut self, counts: &mut FxHashMap<Vec<u8>, u64>) {
        self.flush();
        for (key, count) in self.short {
            let (bytes, len) = unpack(key);
            bump(counts, &bytes[..len], count);
        }
        absorb(counts, self.long);
    }
}

/// The longest piece `pack` takes.
const MAX_PACKED: usize = 15;

/// The direct-mapped cache slot of a packed piece.
#[inline]
fn hot_slot(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % HOT_SLOTS
}

/// Pieces in corpus order, back to back, not counted: SuperBPE's stage-2 pieces (lines cut at digit
/// groups) are nearly all distinct (79.4k pieces, 77.6k distinct at 5 MB), so a count table would
/// only cost hashing every line. Iterating gives each piece once per occurrence.
///
/// The pieces are kept in the blocks the threads cut them into (a few per batch of texts), never
/// copied into one buffer: at 42 MB that copy, and the growing buffer's fresh pages, cost more than
/// the cutting.
#[derive(Debug, Clone, Default)]
pub struct PieceList {
    blocks: Vec<PieceBlock>,
    len: usize,
}

/// Pieces back to back: piece `i` ends at `ends[i]`.
#[derive(Debug, Clone, Default)]
struct PieceBlock {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl PieceBlock {
    fn push(&mut self, piece: &[u8]) {
        if !piece.is_empty() {
            self.bytes.extend_from_slice(piece);
            self.ends.push(self.bytes.len());
        }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.bytes[start..end])
    }
}

impl PartialEq for PieceList {
    /// The same pieces in the same order (however they are cut into blocks).
    fn eq(&self, other: &PieceList) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PieceList {}

impl PieceList {
    /// The non-empty pieces of `texts` (normalized, then pretokenized) appended, in order, cut on
    /// `num_threads` workers (0: one per core).
    pub fn add_texts<S: AsRef<str> + Sync>(&mut self, texts: &[S], pretokenizer: &Pretokenizer,
                                           normalizer: &Normalizer, num_threads: usize) -> Result<()> {
        let cut = |texts: &[S]| {
            let mut block = PieceBlock::default();
            for text in texts {
                pretokenizer.for_each_piece(&normalizer.normalize(text.as_ref()), |piece| block.push(piece.as_bytes()));
            }
            block
        };
        let blocks: Vec<PieceBlock> = with_threads(num_threads, || {
            let chunk = texts.len().div_ceil(4 * rayon::current_num_threads()).max(1);
            texts.par_chunks(chunk).map(cut).collect()
        })?;
        for block in blocks.into_iter().filter(|block| !block.ends.is_empty()) {
            self.len += block.ends.len();
            self.blocks.push(block);
        }
        Ok(())
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each piece, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.blocks.iter().flat_map(PieceBlock::iter)
    }

    /// The pieces counted.
    pub fn to_counts(&self) -> WordCounts {
        let mut counts = WordCounts::new();
        for piece in self.iter() {
            counts.add_piece(piece, 1);
        }
        counts
    }
}

/// Distinct pieces numbered in order of first appearance, each with a summed count (SuperBPE numbers
/// stage-1 words while it records each line as word numbers). Looked up like `PieceCounter`: short
/// pieces by their packed bytes, through a direct-mapped cache of recent pieces, which also holds
/// their counts until they leave it (adding each occurrence to the piece's entry would cost a cache
/// miss on the list of pieces most times).
pub(crate) struct PieceNumbering<'a> {
    /// (packed piece, its number, count not yet in `pieces`).
    hot: Vec<(u128, u32, u64)>,
    short: FxHashMap<u128, u32>,
    long: FxHashMap<&'a [u8], u32>,
    pieces: Vec<(&'a [u8], u64)>,
}

impl Default for PieceNumbering<'_> {
    fn default() -> Self {
        PieceNumbering {
            hot: vec![(0, 0, 0); HOT_SLOTS],
            short: FxHashMap::default(),
            long: FxHashMap::default(),
            pieces: Vec::new(),
        }
    }
}

impl<'a> PieceNumbering<'a> {
    /// The number of `piece` (a new piece gets the next one), after adding `count` to its count.
    #[inline]
    pub(crate) fn add(&mut self, piece: &'a [u8], count: u64) -> u32 {
        if piece.is_empty() || piece.len() > MAX_PACKED {
            let id = self.number(piece, |numbering, next| *numbering.long.entry(piece).or_insert(next));
            self.pieces[id as usize].1 += count;
            return id;
        }
        let key = pack(piece);
        let slot = hot_slot(key);
        let (hot_key, hot_id, pending) = &mut self.hot[slot];
        if *hot_key == key {
            *pending += count;
            return *hot_id;
        }
        let (left, left_id, left_count) = std::mem::take(&mut self.hot[slot]);
        if left != 0 {
            self.pieces[left_id as usize].1 += left_count;
        }
        let id = self.number(piece, |numbering, next| *numbering.short.entry(key).or_insert(next));
        self.hot[slot] = (key, id, count);
        id
    }

    /// The number `look_up(self, next number)` gives `piece`, listing it when it is new.
    #[inline]
    fn number(&mut self, piece: &'a [u8], look_up: impl FnOnce(&mut Self, u32) -> u32) -> u32 {
        let next = self.pieces.len() as u32;
        let id = look_up(self, next);
        if id == next {
            self.pieces.push((piece, 0));
        }
        id
    }

    /// The pieces in number order, with their counts.
    pub(crate) fn into_pieces(mut self) -> Vec<(&'a [u8], u64)> {
        for (key, id, count) in std::mem::take(&mut self.hot) {
            if key != 0 {
                self.pieces[id as usize].1 += count;
            }
        }
        self.pieces
    }

    /// Add every piece of `other` (with its count); returns each of `other`'s numbers' new number.
    pub(crate) fn absorb(&mut self, other: PieceNumbering<'a>) -> Vec<u32> {
        other.into_pieces().into_iter().map(|(piece, count)| self.add(piece, count)).collect()
    }
}

/// A piece of at most 15 bytes packed with its length into one integer (None when longer).
#[inline]
pub(crate) fn short_key(piece: &[u8]) -> Option<u128> {
    (piece.len() <= MAX_PACKED).then(|| pack(piece))
}

/// Up to 15 bytes, little-endian, with the length in the top byte (so "a" and "a\0" differ).
///
/// Read with two overlapping loads from the piece itself: copying it into a stack buffer and loading
/// that back stalls on store forwarding, which cost a third of the time of numbering the words.
#[inline]
fn pack(piece: &[u8]) -> u128 {
    let n = piece.len().min(MAX_PACKED);
    let le64 = |at: usize| u64::from_le_bytes(piece[at..at + 8].try_into().unwrap());
    let le32 = |at: usize| u32::from_le_bytes(piece[at..at + 4].try_into().unwrap()) as u64;
    let (lo, hi) = match n {
        0 => (0, 0),
        1..=3 => ((piece[0] as u64) | (piece[n / 2] as u64) << (8 * (n / 2)) | (piece[n - 1] as u64) << (8 * (n - 1)), 0),
        4..=7 => (le32(0) | le32(n - 4) << (8 * (n - 4)), 0),
        8 => (le64(0), 0),
        _ => (le64(0), le64(n - 8) >> (8 * (16 - n))),
    };
    (lo as u128) | (hi as u128) << 64 | (n as u128) << 120
}

#[inline]
fn unpack(key: u128) -> ([u8; 16], usize) {
    let bytes = key.to_le_bytes();
    (bytes, usize::from(bytes[15]))
}

fn bump(counts: &mut FxHashMap<Vec<u8>, u64>, piece: &[u8], by: u64) {
    if let Some(count) = counts.get_mut(piece) {
        *count = count.saturating_add(by);
    } else {
        counts.insert(piece.to_vec(), by);
    }
}

pub(crate) fn absorb<K: Eq + std::hash::Hash>(into: &mut FxHashMap<K, u64>, from: FxHashMap<K, u64>) {
    into.reserve(from.len() / 2);
    for (key, count) in from {
        let slot = into.entry(key).or_insert(0);
        *slot = slot.saturating_add(count);
    }
}

/// One unit of work: bytes `start..end` of text `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    text: usize,
    start: usize,
    end: usize,
}

/// Group small texts and cut long ones so that each chunk holds about `target` bytes.
fn plan_chunks<S: AsRef<str>>(texts: &[S], pretokenizer: &Pretokenizer, target: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let text = text.as_ref();
        let mut start = 0;
        while text.len() - start > target {
            match pretokenizer.safe_cut(text, start + target) {
                Some(cut) if cut > start && cut < text.len() => {
                    chunks.push(Chunk { text: i, start, end: cut });
                    start = cut;
                }
                _ => break,
            }
        }
        chunks.push(Chunk { text: i, start, end: text.len() });
    }
    chunks
}

fn count_chunk<S: AsRef<str>>(counter: &mut PieceCounter, texts: &[S], chunk: &Chunk,
               pretokenizer: &Pretokenizer, normalizer: &Normalizer) {
    let raw = &texts[chunk.text].as_ref()[chunk.start..chunk.end];
    let normalized = normalizer.normalize(raw);
    pretokenizer.for_each_piece(&normalized, |piece| counter.add(piece.as_bytes()));
}

fn sequential<S: AsRef<str>>(texts: &[S], chunks: &[Chunk], pretokenizer: &Pretokenizer,
              normalizer: &Normalizer) -> PieceCounter {
    let mut counter = PieceCounter::default();
    for chunk in chunks {
        count_chunk(&mut counter, texts, chunk, pretokenizer, normalizer);
    }
    counter
}

fn count_chunks<S: AsRef<str> + Sync>(texts: &[S], chunks: &[Chunk], pretokenizer: &Pretokenizer,
                normalizer: &Normalizer) -> PieceCounter {
    // Batches of about CHUNK_BYTES: many tiny texts must not become many tiny tasks.
    let batches = batch_chunks(chunks, CHUNK_BYTES);
    batches
        .par_iter()
        .fold(PieceCounter::default, |mut acc, batch| {
            for chunk in *batch {
                count_chunk(&mut acc, texts, chunk, pretokenizer, normalizer);
            }
            acc
        })
        .reduce(PieceCounter::default, PieceCounter::absorb)
}

fn batch_chunks(chunks: &[Chunk], target: usize) -> Vec<&[Chunk]> {
    let mut batches = Vec::new();
    let (mut first, mut bytes) = (0, 0);
    for (i, chunk) in chunks.iter().enumerate() {
        bytes += chunk.end - chunk.start + 1;
        if bytes >= target {
            batches.push(&chunks[first..=i]);
            first = i + 1;
            bytes = 0;
        }
    }
    if first < chunks.len() {
        batches.push(&chunks[first..]);
    }
    batches
}

fn fnv1a64(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn format_error(what: &str) -> CoreError {
    CoreError::Format(format!(
        "corrupt word-count file ({what}); re-create it with WordCounts.save"
    ))
}

/// Bounds-checked reader over the binary format.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Result<Reader<'a>> {
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            return Err(CoreError::Format(
                "not a tokensmith word-count file (bad magic); pass a file written by WordCounts.save".into(),
            ));
        }
        if data.len() < 32 {
            return Err(format_error("truncated header"));
        }
        let version = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
        if version != VERSION {
            return Err(CoreError::Format(format!(
                "word-count file version {version} is not supported (this build reads version {VERSION}); \
                 re-count with this version"
            )));
        }
        let (body, tail) = data.split_at(data.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| format_error("truncated"))?);
        if fnv1a64(body) != stored {
            return Err(format_error("checksum mismatch"));
        }
        Ok(Reader { data: body, pos: MAGIC.len() })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format_error("truncated"))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Checks version and flags; returns the number of entries.
    fn header(&mut self) -> Result<usize> {
        let _version = self.u32()?; // checked in `new`
        if self.u32()? != 0 {
            return Err(format_error("unknown flags"));
        }
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| format_error("entry count too large"))
    }

    fn entry(&mut self) -> Result<(&'a [u8], u64)> {
        let len = self.u32()? as usize;
        let piece = self.take(len)?;
        let count = self.u64()?;
        Ok((piece, count))
    }

    fn finish(&self) -> Result<()> {
        if self.pos != self.data.len() {
            return Err(format_error("trailing bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_numbers_in_first_seen_order_and_sums_counts() {
        let long = "a piece longer than fifteen bytes".as_bytes();
        let mut a = PieceNumbering::default();
        let ids: Vec<u32> = [&b"the"[..], b" cat", long, b"the", long, b""].iter().map(|p| a.add(p, 2)).collect();
        assert_eq!(ids, [0, 1, 2, 0, 2, 3]);
        let mut b = PieceNumbering::default();
        for piece in [&b" dog"[..], long, b" cat"] {
            b.add(piece, 5);
        }
        assert_eq!(a.absorb(b), [4, 2, 1]);
        let expect: Vec<(&[u8], u64)> = vec![(b"the", 4), (b" cat", 7), (long, 9), (b"", 2), (b" dog", 5)];
        // Many distinct pieces: hot-cache slots are taken over, numbers stay the same.
        let words: Vec<String> = (0..20_000).map(|i| format!("w{i}")).collect();
        let first: Vec<u32> = words.iter().map(|w| a.add(w.as_bytes(), 1)).collect();
        let again: Vec<u32> = words.iter().rev().map(|w| a.add(w.as_bytes(), 1)).collect();
        assert!(first.iter().eq(again.iter().rev()));
        let pieces = a.into_pieces();
        assert_eq!(pieces.len(), 5 + 20_000);
        assert_eq!(pieces[..5], expect[..]);
        assert!(pieces[5..].iter().all(|&(_, count)| count == 2), "every count, in the cache or not");
    }

    fn count(texts: &[&str], pattern: &str, threads: usize) -> WordCounts {
        let texts: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
        let p = Pretokenizer::new(pattern).unwrap();
        WordCounts::count_texts_parallel(&texts, &p, &Normalizer::None, threads)
    }

    #[test]
    fn counts_pieces() {
        let wc = count(&["the cat the dog", "the"], "gpt2", 1);
        assert_eq!(wc.get(b" the"), 1);
        assert_eq!(wc.get(b"the"), 2);
        assert_eq!(wc.get(b" cat"), 1);
        assert_eq!(wc.total(), 5);
        assert_eq!(wc.len(), 4);
    }

    /// Counting texts in several calls into one table equals counting them in one call.
    #[test]
    fn adding_batches_equals_counting_once() {
        let texts: Vec<String> = (0..3000).map(|i| format!("word{} the cat sat é{} {}", i % 97, i % 13, "x".repeat(i % 40))).collect();
        let p = Pretokenizer::new("gpt2").unwrap();
        for threads in [1, 3] {
            let once = WordCounts::count_texts_parallel(&texts, &p, &Normalizer::None, threads);
            let mut batches = WordCounts::new();
            for batch in texts.chunks(700) {
                batches.add_texts_parallel(batch, &p, &Normalizer::None, threads);
            }
            assert_eq!(batches, once, "{threads} threads");
            let mut one_by_one = WordCounts::new();
            for text in &texts {
                one_by_one.add_text(&p, &Normalizer::None, text);
            }
            assert_eq!(once, one_by_one);
        }
    }

    #[test]
    fn parallel_equals_sequential_on_long_text() {
        let line = "Hello  world, it's 2024!\n  x\r\n\n";
        let long: String = line.repeat(CHUNK_BYTES / line.len() * 3);
        for pattern in ["gpt2", "cl100k", "o200k", "llama3", "superbpe_stage1", "superbpe_stage2", "whitespace"] {
            let a = count(&[&long], pattern, 1);
            let b = count(&[&long], pattern, 3);
            let mut seq = WordCounts::new();
            seq.add_text(&Pretokenizer::new(pattern).unwrap(), &Normalizer::None, &long);
            assert_eq!(a, seq, "{pattern}");
            assert_eq!(b, seq, "{pattern}");
        }
    }

    /// `pack` equals the plain byte-array packing for every length.
    #[test]
    fn pack_is_the_bytes_with_their_length() {
        let data: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        for start in 0..8 {
            for n in 0..=MAX_PACKED {
                let piece = &data[start..start + n];
                let mut bytes = [0u8; 16];
                bytes[..n].copy_from_slice(piece);
                bytes[15] = n as u8;
                assert_eq!(pack(piece), u128::from_le_bytes(bytes), "{piece:?}");
            }
        }
    }

    #[test]
    fn short_keys_pack_distinctly() {
        let pieces: [&[u8]; 6] = [b"", b"a", b"a\0", b"\0a", b"1234567", b"123456789012345"];
        let mut counter = PieceCounter::default();
        for p in pieces {
            counter.add(p);
            assert_eq!(&unpack(pack(p)).0[..p.len()], p);
        }
        counter.add(b"1234567890123456");
        // many distinct short keys: slots are taken over and flushed into the map
        for i in 0..20_000u32 {
            counter.add(&i.to_le_bytes());
            counter.add(&i.to_le_bytes());
        }
        let mut wc = WordCounts::new();
        counter.add_into(&mut wc.counts);
        assert_eq!(wc.len(), 7 + 20_000);
        assert!(pieces.iter().all(|p| wc.get(p) == 1));
        assert!((0..20_000u32).all(|i| wc.get(&i.to_le_bytes()) == 2));
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = count(&["a b"], "gpt2", 1);
        a.merge(count(&["b b c"], "gpt2", 1));
        assert_eq!(a.get(b" b"), 2);
        assert_eq!(a.get(b"b"), 1);
        assert_eq!(a.get(b"a"), 1);
        assert_eq!(a.total(), 5);
    }

    #[test]
    fn bytes_round_trip_and_reject_corruption() {
        let wc = count(&["one two two three three three"], "gpt2", 1);
        let bytes = wc.to_bytes();
        assert_eq!(WordCounts::from_bytes(&bytes).unwrap(), wc);
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(matches!(WordCounts::from_bytes(&flipped), Err(CoreError::Format(_))));
        assert!(matches!(WordCounts::from_bytes(&bytes[..bytes.len() - 3]), Err(CoreError::Format(_))));
        assert!(matches!(WordCounts::from_bytes(b"{\"json\": 1}"), Err(CoreError::Format(_))));
        assert!(matches!(WordCounts::from_bytes(b""), Err(CoreError::Format(_))));
    }

    #[test]
    fn most_common_orders_by_count_then_bytes() {
        let wc = count(&["b a b c c"], "whitespace", 1);
        let top = wc.most_common(2);
        assert_eq!(top, vec![(&b" c"[..], 2), (&b" a"[..], 1)]);
    }

    /// However many threads cut the texts (and so however many blocks hold the pieces), and over
    /// several calls, the list is the texts' pieces in order.
    #[test]
    fn piece_list_is_the_pieces_in_order() {
        let texts: Vec<String> = (0..500).map(|i| format!("line {i}: {} 12345 end", "ab ".repeat(i % 7))).collect();
        let pretokenizer = Pretokenizer::new("superbpe_stage2").unwrap();
        let normalizer = Normalizer::new("none").unwrap();
        let expected: Vec<Vec<u8>> = texts
            .iter()
            .flat_map(|t| pretokenizer.split(t).into_iter().map(|(s, e)| t.as_bytes()[s..e].to_vec()))
            .collect();
        let mut lists = Vec::new();
        for threads in [1, 3] {
            let mut list = PieceList::default();
            list.add_texts(&texts[..200], &pretokenizer, &normalizer, threads).unwrap();
            list.add_texts(&texts[200..], &pretokenizer, &normalizer, threads).unwrap();
            assert_eq!(list.len(), expected.len());
            assert_eq!(list.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), expected);
            lists.push(list);
        }
        assert!(lists[1].blocks.len() > lists[0].blocks.len());
        assert_eq!(lists[0], lists[1]);
        assert_eq!(lists[0].to_counts().get(b" end"), 500);
    }
}
