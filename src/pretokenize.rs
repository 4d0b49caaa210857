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
        if let Some(regex) = pattern_regex(pattern) {
            let compiled = compile(regex)?;
            let cuts_at_lines = pattern != "superbpe_stage2";
            return Ok(Pretokenizer { pattern: pattern.to_string(), engine: Engine::Regex(compiled), cuts_at_lines });
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

    #[test]
    fn bad_regex_is_a_config_error() {
        let err = Pretokenizer::new("(unclosed").unwrap_err();
        assert!(matches!(err, CoreError::Config(_)));
        assert!(err.to_string().contains("cl100k"));
    }
}
