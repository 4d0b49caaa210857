//! Special tokens of the BPE model: which ones a call allows, finding them in text, and rejecting
//! text that spells a disallowed one (tiktoken's rules).
//!
//! Allowed specials are matched leftmost-longest by an Aho-Corasick automaton built over exactly the
//! allowed set (cached per set), so a special that is not allowed never hides an allowed one. The
//! disallowed check searches overlapping matches, so a disallowed special inside a longer one is found.

use crate::error::{CoreError, Result};
use aho_corasick::{AhoCorasick, MatchKind};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{Arc, Mutex};

/// Which specials may be encoded as their id, and which make `encode` fail.
#[derive(Clone, Debug, Default)]
pub struct SpecialPolicy {
    pub allowed: FxHashSet<u32>,
    pub disallowed: FxHashSet<u32>,
}

impl SpecialPolicy {
    /// Everything ordinary text: specials spelled in the text are encoded as text.
    pub fn none() -> SpecialPolicy {
        SpecialPolicy::default()
    }
}

/// An automaton over some special tokens and the id of each pattern.
pub(crate) struct Matcher {
    pub automaton: AhoCorasick,
    pub ids: Vec<u32>,
}

pub(crate) struct Specials {
    list: Vec<(String, u32)>,
    bytes: FxHashMap<u32, Vec<u8>>,
    all: Option<Arc<Matcher>>,
    subsets: Mutex<FxHashMap<Vec<u32>, Arc<Matcher>>>,
    overlapping: Option<AhoCorasick>,
}

impl Specials {
    pub fn new(list: Vec<(String, u32)>) -> Result<Specials> {
        let mut bytes = FxHashMap::default();
        for (s, id) in &list {
            if s.is_empty() {
                return Err(CoreError::Config("a special token may not be empty".into()));
            }
            bytes.insert(*id, s.as_bytes().to_vec());
        }
        let all = matcher(&list, |_| true)?;
        let overlapping = automaton(list.iter().map(|s| s.0.as_str()), MatchKind::Standard)?;
        Ok(Specials { list, bytes, all, subsets: Mutex::new(FxHashMap::default()), overlapping })
    }

    pub fn list(&self) -> &[(String, u32)] {
        &self.list
    }

    pub fn bytes(&self, id: u32) -> Option<&[u8]> {
        self.bytes.get(&id).map(|b| b.as_slice())
    }

    /// The policy allowing every special (`allowed_special="all"`).
    pub fn allow_all(&self) -> SpecialPolicy {
        SpecialPolicy { allowed: self.list.iter().map(|s| s.1).collect(), disallowed: FxHashSet::default() }
    }

    /// Leftmost-longest matcher over exactly the allowed specials (tiktoken matches only those).
    pub fn allowed_matcher(&self, policy: &SpecialPolicy) -> Result<Option<Arc<Matcher>>> {
        if policy.allowed.is_empty() {
            return Ok(None);
        }
        if self.list.iter().all(|s| policy.allowed.contains(&s.1)) {
            return Ok(self.all.clone());
        }
        let mut key: Vec<u32> = policy.allowed.iter().copied().collect();
        key.sort_unstable();
        if let Ok(map) = self.subsets.lock() {
            if let Some(m) = map.get(&key) {
                return Ok(Some(m.clone()));
            }
        }
        let built = matcher(&self.list, |id| policy.allowed.contains(&id))?;
        if let (Some(m), Ok(mut map)) = (&built, self.subsets.lock()) {
            if map.len() < 64 {
                map.insert(key, m.clone());
            }
        }
        Ok(built)
    }

    /// A `Token` error naming the first disallowed special spelled in `text`.
    pub fn check_disallowed(&self, text: &str, policy: &SpecialPolicy) -> Result<()> {
        if policy.disallowed.is_empty() {
            return Ok(());
        }
        let Some(ac) = &self.overlapping else { return Ok(()) };
        for m in ac.find_overlapping_iter(text) {
            let (s, id) = &self.list[m.pattern().as_usize()];
            if policy.disallowed.contains(id) {
                return Err(CoreError::Token(format!(
                    "text contains the special token {s:?}; pass allowed_special={{{s:?}}} (or \"all\") to encode \
                     it as a special token, or disallowed_special=() to encode it as ordinary text"
                )));
            }
        }
        Ok(())
    }
}

fn matcher(specials: &[(String, u32)], keep: impl Fn(u32) -> bool) -> Result<Option<Arc<Matcher>>> {
    let kept: Vec<&(String, u32)> = specials.iter().filter(|s| keep(s.1)).collect();
    let automaton = automaton(kept.iter().map(|s| s.0.as_str()), MatchKind::LeftmostLongest)?;
    Ok(automaton.map(|automaton| Arc::new(Matcher { automaton, ids: kept.iter().map(|s| s.1).collect() })))
}

fn automaton<'a>(patterns: impl Iterator<Item = &'a str>, kind: MatchKind) -> Result<Option<AhoCorasick>> {
    let patterns: Vec<&str> = patterns.collect();
    if patterns.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .match_kind(kind)
        .build(&patterns)
        .map(Some)
        .map_err(|e| CoreError::Config(format!("cannot index special tokens: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_matcher_sees_only_allowed() {
        let specials = Specials::new(vec![("<a>".into(), 1), ("x<a>".into(), 2)]).unwrap();
        let only_a = SpecialPolicy { allowed: [1].into_iter().collect(), disallowed: FxHashSet::default() };
        let m = specials.allowed_matcher(&only_a).unwrap().unwrap();
        let hits: Vec<u32> = m.automaton.find_iter("x<a>").map(|h| m.ids[h.pattern().as_usize()]).collect();
        assert_eq!(hits, vec![1]);
        let all = specials.allowed_matcher(&specials.allow_all()).unwrap().unwrap();
        let hits: Vec<u32> = all.automaton.find_iter("x<a>").map(|h| all.ids[h.pattern().as_usize()]).collect();
        assert_eq!(hits, vec![2]);
    }

    #[test]
    fn disallowed_found_inside_longer_special() {
        let specials = Specials::new(vec![("<a>".into(), 1), ("x<a>".into(), 2)]).unwrap();
        let policy = SpecialPolicy { allowed: FxHashSet::default(), disallowed: [1].into_iter().collect() };
        assert!(matches!(specials.check_disallowed("x<a>", &policy), Err(CoreError::Token(_))));
        assert!(specials.check_disallowed("x<b>", &policy).is_ok());
        assert!(Specials::new(vec![(String::new(), 0)]).is_err());
    }
}
