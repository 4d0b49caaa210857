//! Pretokenization: split text into the pieces BPE never merges across.
//!
//! Named patterns (`NAMED_PATTERNS`) and their reference regexes (`pattern_regex`):
//! - `gpt2` (r50k/p50k), `cl100k`, `o200k`, `llama3`: the tiktoken patterns, verbatim.
//! - `superbpe_stage1` / `superbpe_stage2`: SuperBPE (Liu et al., 2025; alisawuffles/superbpe). The
//!   reference pipeline is HF `Sequence[Digits(individual_digits=False), Split(R, Isolated)]` with
//!   `R = (?=(\d{3})+(?!\d))| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (stage 1) or
//!   `R = (?=(\d{3})+(?!\d))` (stage 2). We state each as one equivalent regex (so it can be written
//!   into a `tokenizer.json` Split step); tests check both agree with the HF pipeline.
//! - `whitespace`: words with at most one leading space, whitespace runs otherwise (lossless).
//! - `none`: the whole text is one piece.
//!
//! Anything else is compiled as a user regex with fancy-regex (`find_iter` semantics: text between
//! matches is dropped, empty matches are skipped).
//!
//! `Pretokenizer::split` returns byte spans; `for_each_piece` is the allocation-free fast path.

use fancy_regex::Regex;

use crate::error::{CoreError, Result};

/// GPT-2 / r50k_base / p50k_base (tiktoken's form).
pub const GPT2_REGEX: &str =
    r"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s";
/// cl100k_base (GPT-4).
pub const CL100K_REGEX: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";
/// o200k_base (GPT-4o).
pub const O200K_REGEX: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"|\s*[\r\n]+",
    r"|\s+(?!\S)",
    r"|\s+"
);
/// Llama 3.
pub const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// SuperBPE stage 1: GPT-2 without contractions; numbers split into groups of 3 digits from the right.
pub const SUPERBPE_STAGE1_REGEX: &str =
    r"\p{N}+?(?=(?:\d{3})+(?!\d)|(?!\p{N}))| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?![^\s\p{N}])|\s+";
/// SuperBPE stage 2: only number boundaries and 3-digit groups split; everything else is one piece.
pub const SUPERBPE_STAGE2_REGEX: &str = r"\p{N}+?(?=(?:\d{3})+(?!\d)|(?!\p{N}))|\P{N}+";
/// Whitespace: a word with at most one leading space, or a whitespace run.
pub const WHITESPACE_REGEX: &str = r" ?\S+|\s+(?!\S)|\s+";

/// The names `Pretokenizer::new` accepts besides arbitrary regexes.
pub const NAMED_PATTERNS: &[&str] = &[
    "gpt2",
    "cl100k",
    "o200k",
    "llama3",
    "superbpe_stage1",
    "superbpe_stage2",
    "whitespace",
    "none",
];

/// The reference regex of a named pattern (`None` for `none` and for unknown names).
pub fn pattern_regex(name: &str) -> Option<&'static str> {
    match name {
        "gpt2" => Some(GPT2_REGEX),
        "cl100k" => Some(CL100K_REGEX),
        "o200k" => Some(O200K_REGEX),
        "llama3" => Some(LLAMA3_REGEX),
        "superbpe_stage1" => Some(SUPERBPE_STAGE1_REGEX),
        "superbpe_stage2" => Some(SUPERBPE_STAGE2_REGEX),
        "whitespace" => Some(WHITESPACE_REGEX),
        _ => None,
    }
}

#[derive(Debug, Clone)]
enum Engine {
    /// The whole text is one piece.
    Whole,
    /// A hand-written scanner equal to the named pattern's regex.
    Scan(Scanner),
    /// fancy-regex `find_iter`.
    Regex(Regex),
}

/// A compiled pretokenizer.
#[derive(Debug, Clone)]
pub struct Pretokenizer {
    pattern: String,
    engine: Engine,
    /// Whether a position right after "\n" between two non-whitespace characters always starts a
    /// new piece (true for the named patterns that never join a newline with what follows it).
    cuts_at_lines: bool,
}

impl Pretokenizer {
    /// A named pattern (see `NAMED_PATTERNS`) or any fancy-regex.
    pub fn new(pattern: &str) -> Result<Pretokenizer> {
        if pattern == "none" {
            return Ok(Pretokenizer { pattern: pattern.to_string(), engine: Engine::Whole, cuts_at_lines: false });
        }
        if let Some(scanner) = Scanner::for_name(pattern) {
            let cuts_at_lines = scanner != Scanner::SuperBpe2;
            return Ok(Pretokenizer { pattern: pattern.to_string(), engine: Engine::Scan(scanner), cuts_at_lines });
        }
        Self::from_regex(pattern)
    }

    /// Always the fancy-regex engine, even when `regex` is the text of a named pattern (the
    /// reference the fast scanners are tested against).
    pub fn from_regex(regex: &str) -> Result<Pretokenizer> {
        if regex.is_empty() {
            return Err(CoreError::Config(format!(
                "empty pretokenization pattern; use a name ({}) or a regex",
                NAMED_PATTERNS.join(", ")
            )));
        }
        let compiled = compile(regex)?;
        Ok(Pretokenizer { pattern: regex.to_string(), engine: Engine::Regex(compiled), cuts_at_lines: false })
    }

    /// The name or regex this pretokenizer was built from.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// A byte position at or after `from` where `text` can be cut in two and each half pretokenized
    /// alone with the same pieces as the whole: right after a "\n" that sits between two
    /// non-whitespace characters. `None` when there is none, or when the pattern gives no such
    /// guarantee (user regexes, `superbpe_stage2`, `none`).
    pub fn safe_cut(&self, text: &str, from: usize) -> Option<usize> {
        if !self.cuts_at_lines {
            return None;
        }
        let bytes = text.as_bytes();
        let mut pos = from.max(1);
        while let Some(offset) = memchr_newline(&bytes[pos.min(bytes.len())..]) {
            let nl = pos + offset;
            let after = nl + 1;
            let before_ok = text[..nl].chars().next_back().is_some_and(|c| !c.is_whitespace());
            let after_ok = text[after..].chars().next().is_some_and(|c| !c.is_whitespace());
            if before_ok && after_ok {
                return Some(after);
            }
            pos = after;
        }
        None
    }

    /// Byte spans `(start, end)` of the pieces, in order; never empty spans.
    pub fn split(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans = Vec::with_capacity(text.len() / 4 + 1);
        self.for_each_span(text, |start, end| spans.push((start, end)));
        spans
    }

    /// Like `split`, but a regex that fails at run time (fancy-regex's backtracking limit) is an error
    /// instead of leaving the rest of the text as one piece.
    pub fn try_split(&self, text: &str) -> Result<Vec<(usize, usize)>> {
        let mut spans = Vec::new();
        self.try_for_each_span(text, |start, end| spans.push((start, end)))?;
        Ok(spans)
    }

    /// Call `f` with each piece, in order.
    pub fn for_each_piece<'t, F: FnMut(&'t str)>(&self, text: &'t str, mut f: F) {
        self.for_each_span(text, |start, end| f(&text[start..end]));
    }

    /// Call `f(start, end)` for each piece. A user regex that hits the backtracking limit leaves the
    /// rest of the text as one piece (use `try_split` to get the error instead).
    pub fn for_each_span<F: FnMut(usize, usize)>(&self, text: &str, mut f: F) {
        let mut done = 0;
        let outcome = self.try_for_each_span(text, |start, end| {
            done = end;
            f(start, end)
        });
        if outcome.is_err() && done < text.len() {
            f(done, text.len());
        }
    }

    fn try_for_each_span<F: FnMut(usize, usize)>(&self, text: &str, mut f: F) -> Result<()> {
        match &self.engine {
            Engine::Whole => {
                if !text.is_empty() {
                    f(0, text.len());
                }
                Ok(())
            }
            Engine::Scan(scanner) => {
                scanner.run(text, &mut f);
                Ok(())
            }
            Engine::Regex(regex) => {
                for found in regex.find_iter(text) {
                    let m = found.map_err(|e| {
                        CoreError::Corpus(format!(
                            "pretokenization regex failed on the input ({e}); simplify the pattern"
                        ))
                    })?;
                    if m.end() > m.start() {
                        f(m.start(), m.end());
                    }
                }
                Ok(())
            }
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn compile(regex: &str) -> Result<Regex> {
    Regex::new(regex).map_err(|e| {
        CoreError::Config(format!(
            "invalid pretokenization regex {regex:?} ({e}); use a name ({}) or a valid regex",
            NAMED_PATTERNS.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces<'a>(p: &Pretokenizer, text: &'a str) -> Vec<&'a str> {
        p.split(text).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn every_name_compiles() {
        for name in NAMED_PATTERNS {
            let p = Pretokenizer::new(name).unwrap();
            assert_eq!(p.pattern(), *name);
        }
    }

    #[test]
    fn gpt2_splits_contractions_and_spaces() {
        let p = Pretokenizer::new("gpt2").unwrap();
        assert_eq!(pieces(&p, "I'm  here 42!\n"), vec!["I", "'m", " ", " here", " 42", "!", "\n"]);
    }

    #[test]
    fn cl100k_groups_digits_by_three() {
        let p = Pretokenizer::new("cl100k").unwrap();
        assert_eq!(pieces(&p, "12345 abc"), vec!["123", "45", " abc"]);
    }

    #[test]
    fn superbpe_groups_digits_from_the_right() {
        let p1 = Pretokenizer::new("superbpe_stage1").unwrap();
        assert_eq!(pieces(&p1, "a 1234567 b"), vec!["a", " ", "1", "234", "567", " b"]);
        let p2 = Pretokenizer::new("superbpe_stage2").unwrap();
        assert_eq!(pieces(&p2, "a b, 1234 c"), vec!["a b, ", "1", "234", " c"]);
    }

    #[test]
    fn none_is_one_piece_and_empty_text_has_none() {
        let p = Pretokenizer::new("none").unwrap();
        assert_eq!(pieces(&p, "a b"), vec!["a b"]);
        assert!(p.split("").is_empty());
    }

    #[test]
    fn user_regex_drops_gaps_and_empty_matches() {
        let p = Pretokenizer::new(r"\d*").unwrap();
        assert_eq!(pieces(&p, "a12b3"), vec!["12", "3"]);
    }

    /// A tiny deterministic generator (no test-only dependencies).
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Letters of every case class, marks, digits of several kinds, spaces, newlines, apostrophes,
    /// contraction letters (with the long s), punctuation, emoji and a CJK ideograph.
    const ALPHABET: &[char] = &[
        'a', 'b', 's', 't', 'l', 'v', 'e', 'r', 'd', 'm', 'S', 'T', 'L', 'V', 'E', 'R', 'D', 'M', 'Q',
        '\u{17f}', '\u{1c5}', '\u{2b0}', '\u{4e2d}', '\u{e9}', '\u{301}', '\u{903}', '\u{20dd}',
        '0', '1', '7', '\u{661}', '\u{967}', '\u{b2}', '\u{bd}', '\u{216b}', ' ', ' ', ' ', '\t',
        '\n', '\r', '\u{a0}', '\u{3000}', '\u{85}', '\u{2028}', '\'', '\'', '.', '/', '!', '-',
        '\u{1f600}', '\u{200d}', '\u{fe0f}', '\u{1d400}', '\u{10400}', '\u{10428}', '\u{1f}',
    ];

    fn random_text(rng: &mut XorShift) -> String {
        let len = (rng.next() % 24) as usize;
        (0..len).map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]).collect()
    }

    #[test]
    fn scanners_equal_their_regexes_on_random_text() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let texts: Vec<String> = (0..6000).map(|_| random_text(&mut rng)).collect();
        for name in NAMED_PATTERNS.iter().filter(|n| **n != "none") {
            let scanner = Pretokenizer::new(name).unwrap();
            let reference = Pretokenizer::from_regex(pattern_regex(name).unwrap()).unwrap();
            for text in &texts {
                assert_eq!(scanner.split(text), reference.try_split(text).unwrap(), "{name} on {text:?}");
            }
        }
    }

    #[test]
    fn scanners_equal_their_regexes_on_tricky_cases() {
        let cases = [
            "HELLO world", "\u{2b0}A x", "(A) B", "don't DON'T \u{17f}", "x'\u{17f}", "a  \n\n  b  ",
            "!\n/\nx", "\u{301}\u{301} a", "1234567 12\u{b2}345", "  \u{3000}\u{85}", "\r\n\r\n", "'ll'LL",
            "\u{1c5}\u{1c5}a", "A\u{301}B\u{301}c", "  12  ", "x\u{661}\u{662}\u{663}\u{664}",
        ];
        for name in NAMED_PATTERNS.iter().filter(|n| **n != "none") {
            let scanner = Pretokenizer::new(name).unwrap();
            let reference = Pretokenizer::from_regex(pattern_regex(name).unwrap()).unwrap();
            for text in cases {
                assert_eq!(scanner.split(text), reference.try_split(text).unwrap(), "{name} on {text:?}");
            }
        }
    }

    #[test]
    fn safe_cut_splits_counts_nothing_differently() {
        let text = "a b.\n  c\nd\n\ne!\nf";
        for name in ["gpt2", "cl100k", "o200k", "llama3", "superbpe_stage1", "whitespace"] {
            let p = Pretokenizer::new(name).unwrap();
            let whole = p.split(text);
            let mut from = 0;
            while let Some(cut) = p.safe_cut(text, from) {
                let mut joined: Vec<(usize, usize)> = p.split(&text[..cut]);
                joined.extend(p.split(&text[cut..]).into_iter().map(|(s, e)| (s + cut, e + cut)));
                assert_eq!(joined, whole, "{name} cut at {cut}");
                from = cut + 1;
            }
        }
        assert!(Pretokenizer::new("superbpe_stage2").unwrap().safe_cut(text, 0).is_none());
    }

    #[test]
    fn ascii_table_equals_unicode_classes() {
        for b in 0u8..128 {
            assert_eq!(ASCII_CLASSES[b as usize], class_of(b as char), "byte {b}");
        }
    }

    #[test]
    fn bad_regex_is_a_config_error() {
        let err = Pretokenizer::new("(unclosed").unwrap_err();
        assert!(matches!(err, CoreError::Config(_)));
        assert!(err.to_string().contains("cl100k"));
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written scanners. Each one follows its regex's alternatives in order, including the
// backtracking the regex engine would do, so the pieces are exactly the regex's `find_iter` matches.

/// The named patterns that have a scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scanner {
    Gpt2,
    Cl100k,
    O200k,
    Llama3,
    SuperBpe1,
    SuperBpe2,
    Whitespace,
}

impl Scanner {
    fn for_name(name: &str) -> Option<Scanner> {
        Some(match name {
            "gpt2" => Scanner::Gpt2,
            "cl100k" => Scanner::Cl100k,
            "o200k" => Scanner::O200k,
            "llama3" => Scanner::Llama3,
            "superbpe_stage1" => Scanner::SuperBpe1,
            "superbpe_stage2" => Scanner::SuperBpe2,
            "whitespace" => Scanner::Whitespace,
            _ => return None,
        })
    }

    /// Emit every piece of `text`, in order.
    fn run<F: FnMut(usize, usize)>(self, text: &str, f: &mut F) {
        let t = Text { b: text.as_bytes() };
        let mut i = 0;
        while i < t.b.len() {
            let next = match self {
                Scanner::Gpt2 => emit_one(i, gpt2(&t, i), f),
                Scanner::Cl100k => emit_one(i, cl100k_like(&t, i, true), f),
                Scanner::Llama3 => emit_one(i, cl100k_like(&t, i, false), f),
                Scanner::O200k => emit_one(i, o200k(&t, i), f),
                Scanner::SuperBpe1 => superbpe_stage1(&t, i, f),
                Scanner::SuperBpe2 => superbpe_stage2(&t, i, f),
                Scanner::Whitespace => emit_one(i, whitespace(&t, i), f),
            };
            // Every scanner consumes at least one character; guard anyway so a bug cannot loop.
            i = if next > i { next } else { t.next_char(i) };
        }
    }
}

#[inline]
fn emit_one<F: FnMut(usize, usize)>(start: usize, end: usize, f: &mut F) -> usize {
    if end > start {
        f(start, end);
    }
    end
}

// Character classes (bit sets). `\p{L}` = UPPER | LOWER | OTHER_LETTER.
const UPPER: u16 = 1; // Lu, Lt
const LOWER: u16 = 2; // Ll
const OTHER_LETTER: u16 = 4; // Lm, Lo
const MARK: u16 = 8; // Mn, Mc, Me
const NUMBER: u16 = 16; // Nd, Nl, No
const DIGIT: u16 = 32; // Nd (`\d`)
const SPACE: u16 = 64; // White_Space (`\s`)
const NEWLINE: u16 = 128; // \r, \n
const EOF: u16 = 256; // past the end of the text
const LETTER: u16 = UPPER | LOWER | OTHER_LETTER;
/// o200k's `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`.
const HEAD: u16 = UPPER | OTHER_LETTER | MARK;
/// o200k's `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
const TAIL: u16 = LOWER | OTHER_LETTER | MARK;

/// `[^\s\p{L}\p{N}]` (and not past the end).
#[inline]
fn is_other(k: u16) -> bool {
    k & (SPACE | LETTER | NUMBER | EOF) == 0
}

fn class_of(c: char) -> u8 {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    let mut k: u16 = match get_general_category(c) {
        G::UppercaseLetter | G::TitlecaseLetter => UPPER,
        G::LowercaseLetter => LOWER,
        G::ModifierLetter | G::OtherLetter => OTHER_LETTER,
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark => MARK,
        G::DecimalNumber => NUMBER | DIGIT,
        G::LetterNumber | G::OtherNumber => NUMBER,
        _ => 0,
    };
    if c.is_whitespace() {
        k |= SPACE;
    }
    if c == '\r' || c == '\n' {
        k |= NEWLINE;
    }
    k as u8
}

/// Classes of ASCII, known at compile time (the fast path).
const ASCII_CLASSES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_uppercase() {
            UPPER as u8
        } else if c.is_ascii_lowercase() {
            LOWER as u8
        } else if c.is_ascii_digit() {
            (NUMBER | DIGIT) as u8
        } else if c == b'\r' || c == b'\n' {
            (SPACE | NEWLINE) as u8
        } else if c == b' ' || c == b'\t' || c == 0x0B || c == 0x0C {
            SPACE as u8
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Classes of the Basic Multilingual Plane, built on first use (64 KiB).
fn bmp_classes() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0u32..0x10000).map(|cp| char::from_u32(cp).map_or(0, class_of)).collect()
    })
}

/// The text as bytes with class look-ups. All positions are char boundaries.
struct Text<'a> {
    b: &'a [u8],
}

impl<'a> Text<'a> {
    /// The class of the character at `i` and its length in bytes (`EOF`, 0 past the end).
    #[inline(always)]
    fn at(&self, i: usize) -> (u16, usize) {
        match self.b.get(i) {
            Some(&x) if x < 0x80 => (u16::from(ASCII_CLASSES[x as usize]), 1),
            Some(_) => self.at_non_ascii(i),
            None => (EOF, 0),
        }
    }

    #[inline(never)]
    fn at_non_ascii(&self, i: usize) -> (u16, usize) {
        let (cp, len) = self.decode(i);
        let class = match char::from_u32(cp) {
            Some(_) if cp < 0x10000 => bmp_classes()[cp as usize],
            Some(c) => class_of(c),
            None => 0,
        };
        (u16::from(class), len)
    }

    #[inline]
    fn class(&self, i: usize) -> u16 {
        self.at(i).0
    }

    #[inline]
    fn decode(&self, i: usize) -> (u32, usize) {
        let b = self.b;
        let cont = |j: usize| u32::from(b.get(j).copied().unwrap_or(0x80) & 0x3F);
        let x = u32::from(b[i]);
        if x < 0xE0 {
            (((x & 0x1F) << 6) | cont(i + 1), 2)
        } else if x < 0xF0 {
            (((x & 0x0F) << 12) | (cont(i + 1) << 6) | cont(i + 2), 3)
        } else {
            (((x & 0x07) << 18) | (cont(i + 1) << 12) | (cont(i + 2) << 6) | cont(i + 3), 4)
        }
    }

    #[inline]
    fn next_char(&self, i: usize) -> usize {
        i + self.at(i).1.max(1)
    }

    /// Start of the character that ends at `i` (`i > 0`).
    #[inline]
    fn prev_char(&self, i: usize) -> usize {
        let mut j = i - 1;
        while j > 0 && (self.b[j] & 0xC0) == 0x80 {
            j -= 1;
        }
        j
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// End of the run of characters from `i` whose class satisfies `keep`.
    #[inline(always)]
    fn run(&self, mut i: usize, keep: impl Fn(u16) -> bool) -> usize {
        loop {
            let (k, n) = self.at(i);
            if k == EOF || !keep(k) {
                return i;
            }
            i += n;
        }
    }

    /// End of the run of up to `max` characters from `i` whose class has a bit of `mask`.
    #[inline]
    fn run_max(&self, mut i: usize, mask: u16, max: usize) -> usize {
        for _ in 0..max {
            let (k, n) = self.at(i);
            if k & mask == 0 || k == EOF {
                break;
            }
            i += n;
        }
        i
    }

    /// If `i` starts `' ?X` where the character after the optional space has a class accepted by
    /// `accept`, the position of that character.
    #[inline]
    fn after_optional_space(&self, i: usize, accept: impl Fn(u16) -> bool) -> Option<usize> {
        if self.byte(i) == b' ' && accept(self.class(i + 1)) {
            return Some(i + 1);
        }
        if accept(self.class(i)) {
            return Some(i);
        }
        None
    }

    /// End of an English contraction at `i` (which holds `'`): `'(?:[sdmt]|ll|ve|re)`, optionally
    /// case-insensitive (Unicode simple case folding, so `ſ` matches `s`).
    #[inline]
    fn contraction(&self, i: usize, ignore_case: bool) -> Option<usize> {
        let fold = |b: u8| if ignore_case { b.to_ascii_lowercase() } else { b };
        let (c1, c2) = (fold(self.byte(i + 1)), fold(self.byte(i + 2)));
        match c1 {
            b's' | b'd' | b'm' | b't' => return Some(i + 2),
            b'l' if c2 == b'l' => return Some(i + 3),
            b'v' | b'r' if c2 == b'e' => return Some(i + 3),
            _ => {}
        }
        // U+017F LATIN SMALL LETTER LONG S folds to `s`.
        if ignore_case && self.byte(i + 1) == 0xC5 && self.byte(i + 2) == 0xBF {
            return Some(i + 3);
        }
        None
    }

    /// The whitespace alternatives shared by the patterns, from `i` (a whitespace character):
    /// `whole_at_end` is `\s++$`, `through_newline` is `\s*[\r\n]`, then `\s+(?!\S)` and `\s`.
    #[inline]
    fn whitespace_end(&self, i: usize, whole_at_end: bool, through_newline: bool) -> usize {
        let end = self.run(i, |k| k & SPACE != 0);
        if whole_at_end && end == self.b.len() {
            return end;
        }
        if through_newline {
            if let Some(nl) = self.b[i..end].iter().rposition(|&b| b == b'\n' || b == b'\r') {
                return i + nl + 1;
            }
        }
        if end == self.b.len() {
            return end;
        }
        let last = self.prev_char(end);
        if last > i {
            last
        } else {
            end
        }
    }
}

/// `'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s`
fn gpt2(t: &Text, i: usize) -> usize {
    if t.byte(i) == b'\'' {
        if let Some(end) = t.contraction(i, false) {
            return end;
        }
    }
    if let Some(j) = t.after_optional_space(i, |k| k & LETTER != 0) {
        return t.run(j, |k| k & LETTER != 0);
    }
    if let Some(j) = t.after_optional_space(i, |k| k & NUMBER != 0) {
        return t.run(j, |k| k & NUMBER != 0);
    }
    if let Some(j) = t.after_optional_space(i, is_other) {
        return t.run(j, is_other);
    }
    t.whitespace_end(i, true, false)
}

/// cl100k: `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`;
/// llama3 (`whole_at_end == false`) is the same without `\s++$`.
fn cl100k_like(t: &Text, i: usize, whole_at_end: bool) -> usize {
    if t.byte(i) == b'\'' {
        if let Some(end) = t.contraction(i, true) {
            return end;
        }
    }
    let (k, n) = t.at(i);
    if k & LETTER != 0 {
        return t.run(i, |k| k & LETTER != 0);
    }
    if k & (NEWLINE | NUMBER) == 0 && t.class(i + n) & LETTER != 0 {
        return t.run(i + n, |k| k & LETTER != 0);
    }
    if k & NUMBER != 0 {
        return t.run_max(i, NUMBER, 3);
    }
    if let Some(j) = t.after_optional_space(i, is_other) {
        let end = t.run(j, is_other);
        return t.run(end, |k| k & NEWLINE != 0);
    }
    if whole_at_end {
        t.whitespace_end(i, true, true)
    } else {
        t.whitespace_end(i, false, true)
    }
}

/// o200k: two letter alternatives (see `o200k_word`), `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
/// `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
fn o200k(t: &Text, i: usize) -> usize {
    if let Some(end) = o200k_word(t, i) {
        return end;
    }
    if t.class(i) & NUMBER != 0 {
        return t.run_max(i, NUMBER, 3);
    }
    if let Some(j) = t.after_optional_space(i, is_other) {
        let mut end = t.run(j, is_other);
        while matches!(t.byte(end), b'\r' | b'\n' | b'/') {
            end += 1;
        }
        return end;
    }
    t.whitespace_end(i, false, true)
}

/// `[^\r\n\p{L}\p{N}]?HEAD*TAIL+(?i:'s|...)?` then `[^\r\n\p{L}\p{N}]?HEAD+TAIL*(?i:'s|...)?`, each
/// first with the optional prefix taken, then without it (the regex's backtracking order).
fn o200k_word(t: &Text, i: usize) -> Option<usize> {
    let (k, n) = t.at(i);
    let prefix = k & (NEWLINE | LETTER | NUMBER | EOF) == 0;
    let word_end = if prefix { o200k_head_tail(t, i + n) } else { None };
    let word_end = word_end
        .or_else(|| o200k_head_tail(t, i))
        .or_else(|| if prefix { o200k_heads(t, i + n) } else { None })
        .or_else(|| o200k_heads(t, i))?;
    Some(o200k_suffix(t, word_end))
}

/// `HEAD*TAIL+` at `p`: HEAD* takes the longest run, then gives back characters until TAIL+ matches.
fn o200k_head_tail(t: &Text, p: usize) -> Option<usize> {
    let heads_end = t.run(p, |k| k & HEAD != 0);
    if t.class(heads_end) & LOWER != 0 {
        return Some(t.run(heads_end, |k| k & TAIL != 0));
    }
    // Give back head characters: the last one that is also a TAIL starts TAIL+.
    let mut j = heads_end;
    while j > p {
        j = t.prev_char(j);
        if t.class(j) & TAIL != 0 {
            return Some(t.run(j, |k| k & TAIL != 0));
        }
    }
    None
}

/// `HEAD+TAIL*` at `p`.
fn o200k_heads(t: &Text, p: usize) -> Option<usize> {
    let heads_end = t.run(p, |k| k & HEAD != 0);
    if heads_end == p {
        return None;
    }
    Some(t.run(heads_end, |k| k & TAIL != 0))
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
fn o200k_suffix(t: &Text, end: usize) -> usize {
    if t.byte(end) == b'\'' {
        if let Some(e) = t.contraction(end, true) {
            return e;
        }
    }
    end
}

/// ` ?\S+|\s+(?!\S)|\s+`
fn whitespace(t: &Text, i: usize) -> usize {
    if let Some(j) = t.after_optional_space(i, |k| k & (SPACE | EOF) == 0) {
        return t.run(j, |k| k & SPACE == 0);
    }
    t.whitespace_end(i, true, false)
}

/// Stage 1: a number (see `emit_number`), ` ?\p{L}+`, ` ?[^\s\p{L}\p{N}]+`, `\s+(?![^\s\p{N}])`, `\s+`.
fn superbpe_stage1<F: FnMut(usize, usize)>(t: &Text, i: usize, f: &mut F) -> usize {
    let (k, n) = t.at(i);
    if k & NUMBER != 0 {
        return emit_number(t, i, f);
    }
    let end = if let Some(j) = t.after_optional_space(i, |k| k & LETTER != 0) {
        t.run(j, |k| k & LETTER != 0)
    } else if let Some(j) = t.after_optional_space(i, is_other) {
        t.run(j, is_other)
    } else {
        let end = t.run(i, |k| k & SPACE != 0);
        if end == t.b.len() || t.class(end) & NUMBER != 0 || t.prev_char(end) <= i {
            end.max(i + n)
        } else {
            t.prev_char(end)
        }
    };
    emit_one(i, end, f)
}

/// Stage 2: a number (see `emit_number`) or a run of anything else.
fn superbpe_stage2<F: FnMut(usize, usize)>(t: &Text, i: usize, f: &mut F) -> usize {
    if t.class(i) & NUMBER != 0 {
        return emit_number(t, i, f);
    }
    emit_one(i, t.run(i, |k| k & NUMBER == 0), f)
}

/// A run of `\p{N}` from `i`, cut before each position where a multiple of three `\d` follows up
/// to a non-`\d` (`\p{N}+?(?=(?:\d{3})+(?!\d)|(?!\p{N}))`). Returns the end of the run.
fn emit_number<F: FnMut(usize, usize)>(t: &Text, i: usize, f: &mut F) -> usize {
    let end = t.run(i, |k| k & NUMBER != 0);
    let mut chars = 0usize;
    let mut all_digits = true;
    let mut p = i;
    while p < end {
        let (k, n) = t.at(p);
        all_digits &= k & DIGIT != 0;
        chars += 1;
        p += n;
    }
    if all_digits {
        // Pieces of chars % 3 (when not 0), then groups of three.
        let mut start = i;
        let mut group = if chars.is_multiple_of(3) { 3 } else { chars % 3 };
        while start < end {
            let mut stop = start;
            for _ in 0..group {
                stop = t.next_char(stop);
            }
            f(start, stop);
            start = stop;
            group = 3;
        }
        return end;
    }
    emit_mixed_number(t, i, end, f);
    end
}

/// The general case: `\d` runs interrupted by other numbers (`²`, `½`, ...).
fn emit_mixed_number<F: FnMut(usize, usize)>(t: &Text, i: usize, end: usize, f: &mut F) {
    let mut starts = Vec::new();
    let mut p = i;
    while p < end {
        let (k, n) = t.at(p);
        starts.push((p, k & DIGIT != 0));
        p += n;
    }
    // digits_from[j]: length of the `\d` run starting at character j.
    let mut digits_from = vec![0usize; starts.len() + 1];
    for j in (0..starts.len()).rev() {
        digits_from[j] = if starts[j].1 { digits_from[j + 1] + 1 } else { 0 };
    }
    let mut piece_start = i;
    for j in 1..starts.len() {
        let d = digits_from[j];
        if d >= 3 && d.is_multiple_of(3) {
            f(piece_start, starts[j].0);
            piece_start = starts[j].0;
        }
    }
    f(piece_start, end);
}
