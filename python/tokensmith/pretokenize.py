"""Pretokenization: the pieces BPE never merges across (the Rust core does the splitting).

Named patterns (``PATTERNS``: name -> the regex it is equal to):

- ``gpt2`` (r50k/p50k), ``cl100k``, ``o200k``, ``llama3``: the tiktoken patterns (GPT-2, Radford et al.
  2019; GPT-4; GPT-4o; Llama 3). Hand-written scanners give exactly the regex's ``findall`` pieces.
- ``superbpe_stage1`` / ``superbpe_stage2``: SuperBPE (Liu et al., 2025, alisawuffles/superbpe). The
  reference is HF ``Sequence[Digits(individual_digits=False), Split(R, "isolated")]``; each regex here
  is one equivalent pattern, so it can go into a ``tokenizer.json`` Split step. Stage 1: GPT-2 without
  contractions, numbers in groups of 3 digits from the right. Stage 2: only number boundaries split.
- ``whitespace``: a word with at most one leading space, or a run of whitespace (lossless).
- ``none``: the whole text is one piece (``PATTERNS["none"] == ""``: no regex form).

Any other string is a user regex (fancy-regex syntax: ``\\p{..}``, lookaround, possessive quantifiers);
a bare identifier that is not a name is rejected so a typo is not taken as a regex.

>>> split("I'm here 42!", "gpt2")
['I', "'m", ' here', ' 42', '!']
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable

from tokensmith.errors import ConfigError

__all__ = ["PATTERNS", "check_pattern", "get_pretokenizer", "split", "count_words"]

PATTERNS: dict[str, str] = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""]),
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "superbpe_stage1": r"""\p{N}+?(?=(?:\d{3})+(?!\d)|(?!\p{N}))| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?![^\s\p{N}])|\s+""",
    "superbpe_stage2": r"""\p{N}+?(?=(?:\d{3})+(?!\d)|(?!\p{N}))|\P{N}+""",
    "whitespace": r""" ?\S+|\s+(?!\S)|\s+""",
    "none": "",
}

# The original SuperBPE pipeline regexes (applied after HF Digits(individual_digits=False), "isolated").
SUPERBPE_REFERENCE: dict[str, str] = {
    "superbpe_stage1": r"""(?=(\d{3})+(?!\d))| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "superbpe_stage2": r"""(?=(\d{3})+(?!\d))""",
}

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")


def check_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a name or a regex that compiles; else raise ``ConfigError``."""
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"pattern must be a name ({', '.join(PATTERNS)}) or a regex string")
    if pattern in PATTERNS:
        return pattern
    if _IDENTIFIER.match(pattern):
        raise ConfigError(f"unknown pattern {pattern!r}; use one of: {', '.join(PATTERNS)} (or pass a regex)")
    get_pretokenizer(pattern)
    return pattern


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> Any:
    from tokensmith import _core

    return _core.Pretokenizer(pattern)


def get_pretokenizer(pattern: str) -> Any:
    """A compiled ``_core.Pretokenizer`` (cached) with ``split(text)`` and ``spans(text)``."""
    if isinstance(pattern, str) and pattern not in PATTERNS and _IDENTIFIER.match(pattern):
        raise ConfigError(f"unknown pattern {pattern!r}; use one of: {', '.join(PATTERNS)} (or pass a regex)")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"pattern must be a name ({', '.join(PATTERNS)}) or a regex string")
    return _compiled(pattern)


def split(text: str, pattern: str = "gpt2") -> list[str]:
    """The pieces of ``text`` under ``pattern``."""
    return get_pretokenizer(pattern).split(text)


def count_words(texts: Iterable[str], pattern: str = "gpt2", normalization: str = "none",
                num_threads: int = 0) -> Any:
    """A ``_core.WordCounts`` of the pieces of ``texts`` (normalized, then pretokenized)."""
    from tokensmith import _core
    from tokensmith.normalize import check_normalization

    check_normalization(normalization)
    get_pretokenizer(pattern)
    if num_threads < 0:
        raise ConfigError(f"num_threads must be >= 0 (0: one per core), got {num_threads}")
    return _core.WordCounts.count_texts(list(texts), pattern, normalization, num_threads)
