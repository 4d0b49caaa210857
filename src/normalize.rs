//! Text normalization applied before pretokenization: `none`, `nfc`, `nfkc`, `lowercase`,
//! `nfkc_lowercase`.
//!
//! Lowercasing is per character (`char::to_lowercase`, full Unicode mappings, no context rules such
//! as the Greek final sigma), which is exactly what the Hugging Face `Lowercase` normalizer does, so a
//! tokenizer exported to `tokenizer.json` normalizes the same way. `nfkc_lowercase` is NFKC, then
//! lowercase (HF `Sequence[NFKC, Lowercase]`).
//!
//! Every form returns the input borrowed when it is already normalized (ASCII text needs no
//! composition; NFC/NFKC use the quick-check first), so the common case allocates nothing.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::error::{CoreError, Result};

/// The normalization names `Normalizer::new` accepts, in documentation order.
pub const NORMALIZATIONS: &[&str] = &["none", "nfc", "nfkc", "lowercase", "nfkc_lowercase"];

/// One normalization form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Normalizer {
    #[default]
    None,
    Nfc,
    Nfkc,
    Lowercase,
    NfkcLowercase,
}

impl Normalizer {
    /// The normalizer called `name` (one of `NORMALIZATIONS`); a Config error lists the known names.
    pub fn new(name: &str) -> Result<Normalizer> {
        match name {
            "none" | "" => Ok(Normalizer::None),
            "nfc" => Ok(Normalizer::Nfc),
            "nfkc" => Ok(Normalizer::Nfkc),
            "lowercase" => Ok(Normalizer::Lowercase),
            "nfkc_lowercase" => Ok(Normalizer::NfkcLowercase),
            other => Err(CoreError::Config(format!(
                "unknown normalization {other:?}; use one of: {}",
                NORMALIZATIONS.join(", ")
            ))),
        }
    }

    /// The name this normalizer was built from.
    pub fn name(&self) -> &'static str {
        match self {
            Normalizer::None => "none",
            Normalizer::Nfc => "nfc",
            Normalizer::Nfkc => "nfkc",
            Normalizer::Lowercase => "lowercase",
            Normalizer::NfkcLowercase => "nfkc_lowercase",
        }
    }

    /// True when `normalize` always returns its input unchanged.
    pub fn is_identity(&self) -> bool {
        matches!(self, Normalizer::None)
    }

    /// The normalized text; borrowed when nothing changes.
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self {
            Normalizer::None => Cow::Borrowed(text),
            Normalizer::Nfc => nfc(text),
            Normalizer::Nfkc => nfkc(text),
            Normalizer::Lowercase => lowercase(text),
            Normalizer::NfkcLowercase => match nfkc(text) {
                Cow::Borrowed(same) => lowercase(same),
                Cow::Owned(changed) => Cow::Owned(lowercase(&changed).into_owned()),
            },
        }
    }
}

fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(text);
    }
    let composed: String = text.nfc().collect();
    if composed == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(composed)
    }
}

fn nfkc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(text);
    }
    let composed: String = text.nfkc().collect();
    if composed == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(composed)
    }
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if !text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Borrowed(text);
        }
        return Cow::Owned(text.to_ascii_lowercase());
    }
    let needs_change = text.chars().any(|c| {
        let mut lower = c.to_lowercase();
        !(lower.next() == Some(c) && lower.next().is_none())
    });
    if !needs_change {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        out.extend(c.to_lowercase());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in NORMALIZATIONS {
            assert_eq!(Normalizer::new(name).unwrap().name(), *name);
        }
    }

    #[test]
    fn unknown_name_lists_known_ones() {
        let err = Normalizer::new("nfd").unwrap_err().to_string();
        assert!(err.contains("nfkc_lowercase") && err.contains("\"nfd\""), "{err}");
    }

    #[test]
    fn nfc_composes_and_borrows_when_unchanged() {
        let n = Normalizer::new("nfc").unwrap();
        assert_eq!(n.normalize("e\u{301}"), "\u{e9}");
        assert!(matches!(n.normalize("plain ascii"), Cow::Borrowed(_)));
        assert!(matches!(n.normalize("caf\u{e9}"), Cow::Borrowed(_)));
    }

    #[test]
    fn nfkc_folds_compatibility_forms() {
        let n = Normalizer::new("nfkc").unwrap();
        assert_eq!(n.normalize("\u{fb01}x\u{2075}"), "fix5");
        assert_eq!(n.normalize("\u{ff21}"), "A");
    }

    #[test]
    fn lowercase_is_per_character() {
        let n = Normalizer::new("lowercase").unwrap();
        assert_eq!(n.normalize("HeLLo \u{130}"), "hello i\u{307}");
        // no final-sigma rule, like the HF Lowercase normalizer
        assert_eq!(n.normalize("\u{3a3}\u{3a3}"), "\u{3c3}\u{3c3}");
        assert!(matches!(n.normalize("lower"), Cow::Borrowed(_)));
    }

    #[test]
    fn nfkc_lowercase_composes_both() {
        let n = Normalizer::new("nfkc_lowercase").unwrap();
        assert_eq!(n.normalize("\u{ff21}B"), "ab");
    }
}
