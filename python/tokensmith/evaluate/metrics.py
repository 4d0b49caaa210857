"""Intrinsic metrics computed from token counts. Each function is usable alone on plain numbers.

One pass over the text (`count_tokens`) gives, per line, the number of tokens, plus the frequency of
every token id; `count_text` gives bytes, characters and whitespace words per line. Everything below
is arithmetic on those counts:

>>> normalized_sequence_length(12, 10)          # 12 tokens where the baseline needs 10
1.2
>>> fertility(12, 8)                            # tokens per whitespace word
1.5
>>> round(renyi_efficiency([1, 1], vocab_size=2), 6)   # uniform use of the whole vocabulary
1.0
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from tokensmith.errors import ConfigError

__all__ = [
    "TextCounts", "count_text", "count_tokens", "token_frequencies",
    "normalized_sequence_length", "fertility", "tokens_per_char", "parity", "parity_median",
    "bytes_per_token", "chars_per_token", "renyi_entropy", "renyi_efficiency",
    "vocabulary_utilisation", "subword_productivity", "productivity_summary",
    "cross_language_sharing", "UNSEGMENTED_SCRIPTS", "is_unsegmented", "roundtrip_share",
]

#: Scripts written without spaces between words: fertility is measured per character there.
UNSEGMENTED_SCRIPTS = frozenset({"Hans", "Hant", "Jpan", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Bali", "Java"})


def is_unsegmented(script: str | None = None, *, words: int = 0, chars: int = 0) -> bool:
    """True for scripts without word spaces (by ISO 15924 code, or, without one, when a "word"
    averages more than 12 characters).

    >>> is_unsegmented("Hans"), is_unsegmented("Deva"), is_unsegmented(words=2, chars=40)
    (True, False, True)
    """
    if script:
        return script in UNSEGMENTED_SCRIPTS
    return words > 0 and chars / words > 12


@dataclass(frozen=True)
class TextCounts:
    """Per-line counts of a list of lines: UTF-8 bytes, characters (code points) and whitespace words."""

    bytes: np.ndarray
    chars: np.ndarray
    words: np.ndarray

    @property
    def total_bytes(self) -> int:
        return int(self.bytes.sum())

    @property
    def total_chars(self) -> int:
        return int(self.chars.sum())

    @property
    def total_words(self) -> int:
        return int(self.words.sum())


def count_text(lines: Sequence[str]) -> TextCounts:
    """Bytes, characters and whitespace-separated words of each line.

    >>> c = count_text(["ab cd", "é"]); c.bytes.tolist(), c.chars.tolist(), c.words.tolist()
    ([5, 2], [5, 1], [2, 1])
    """
    return TextCounts(
        bytes=np.fromiter((len(s.encode("utf-8")) for s in lines), dtype=np.int64, count=len(lines)),
        chars=np.fromiter((len(s) for s in lines), dtype=np.int64, count=len(lines)),
        words=np.fromiter((len(s.split()) for s in lines), dtype=np.int64, count=len(lines)),
    )


def count_tokens(tokenizer: Any, lines: Sequence[str], *, vocab_size: int | None = None,
                 batch_size: int = 2048, keep_ids: list | None = None,
                 keep_first: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Encode `lines` once through the tokenizer's batch path; return (tokens per line, id frequencies).

    `tokenizer` is a `TokenizerAdapter` or any object `as_adapter` accepts. The frequency array has
    `vocab_size` entries (grown if an id is larger). Pass a list as `keep_ids` to receive the ids of the
    first `keep_first` lines (for a round-trip check without encoding again).
    """
    from tokensmith.evaluate.loaders import as_adapter

    adapter = as_adapter(tokenizer)
    size = int(vocab_size or adapter.vocab_size or 1)
    per_line = np.zeros(len(lines), dtype=np.int64)
    freqs = np.zeros(size, dtype=np.int64)
    for start in range(0, len(lines), batch_size):
        batch = adapter.encode_batch(list(lines[start:start + batch_size]))
        lens = np.fromiter((len(ids) for ids in batch), dtype=np.int64, count=len(batch))
        per_line[start:start + len(batch)] = lens
        if keep_ids is not None and len(keep_ids) < keep_first:
            keep_ids.extend(list(ids) for ids in batch[: keep_first - len(keep_ids)])
        if lens.sum():
            flat = np.fromiter(itertools.chain.from_iterable(batch), dtype=np.int64, count=int(lens.sum()))
            counts = np.bincount(flat)
            if len(counts) > len(freqs):
                freqs = np.pad(freqs, (0, len(counts) - len(freqs)))
            freqs[: len(counts)] += counts
    return per_line, freqs


def token_frequencies(id_lists: Iterable[Sequence[int]], vocab_size: int) -> np.ndarray:
    """How often each id occurs in `id_lists` (an array of length `vocab_size`).

    >>> token_frequencies([[0, 2], [2]], 4).tolist()
    [1, 0, 2, 0]
    """
    flat = [i for ids in id_lists for i in ids]
    counts = np.bincount(np.asarray(flat, dtype=np.int64), minlength=vocab_size) if flat else np.zeros(vocab_size, np.int64)
    return counts.astype(np.int64)


def _total(x: int | float | Sequence[float] | np.ndarray) -> float:
    return float(np.sum(x)) if not isinstance(x, (int, float)) else float(x)


def _ratio(num: float, den: float, what: str) -> float:
    if den <= 0:
        return float("nan")
    return num / den


def normalized_sequence_length(tokens: int | Sequence[int], baseline_tokens: int | Sequence[int]) -> float:
    """NSL: tokens of λ divided by tokens of the baseline β on the same text (corpus level:
    sum over lines / sum over lines). Below 1: λ is more compact than β. NaN if β produced nothing.

    >>> normalized_sequence_length([3, 5], [4, 4])
    1.0
    """
    return _ratio(_total(tokens), _total(baseline_tokens), "baseline tokens")


def fertility(tokens: int | Sequence[int], words: int | Sequence[int]) -> float:
    """Tokens per whitespace-separated word (Rust et al., 2021). NaN for text without words.

    >>> fertility(10, 4)
    2.5
    """
    return _ratio(_total(tokens), _total(words), "words")


def tokens_per_char(tokens: int | Sequence[int], chars: int | Sequence[int]) -> float:
    """Tokens per character (code point): the fertility of scripts without word spaces.

    >>> tokens_per_char(3, 12)
    0.25
    """
    return _ratio(_total(tokens), _total(chars), "characters")


def parity(tokens: int | Sequence[int], pivot_tokens: int | Sequence[int]) -> float:
    """Tokenization parity / premium (Petrov et al., 2023) at corpus level: tokens for a language over
    tokens for the pivot language on the same (parallel) sentences. 1.0 is parity; 2.0 a 100% premium.

    >>> parity([20, 10], [10, 5])
    2.0
    """
    return _ratio(_total(tokens), _total(pivot_tokens), "pivot tokens")


def parity_median(tokens: Sequence[int], pivot_tokens: Sequence[int]) -> float:
    """Median over sentences of the per-sentence ratio (sentences where the pivot has no tokens are dropped).

    >>> parity_median([2, 9, 4], [1, 3, 4])
    2.0
    """
    a = np.asarray(tokens, dtype=np.float64)
    b = np.asarray(pivot_tokens, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError(f"parity_median needs parallel sentences: {a.shape[0]} vs {b.shape[0]} counts")
    keep = b > 0
    return float(np.median(a[keep] / b[keep])) if keep.any() else float("nan")


def bytes_per_token(n_bytes: int | Sequence[int], tokens: int | Sequence[int]) -> float:
    """UTF-8 bytes of the text per token (higher is more compression).

    >>> bytes_per_token(30, 10)
    3.0
    """
    return _ratio(_total(n_bytes), _total(tokens), "tokens")


def chars_per_token(chars: int | Sequence[int], tokens: int | Sequence[int]) -> float:
    """Characters (code points) per token.

    >>> chars_per_token(25, 10)
    2.5
    """
    return _ratio(_total(chars), _total(tokens), "tokens")


def renyi_entropy(frequencies: Sequence[float] | np.ndarray, alpha: float = 2.5) -> float:
    """Rényi entropy (nats) of the unigram token distribution: 1/(1-α) · log Σ p^α (Shannon at α = 1).

    >>> round(renyi_entropy([1, 1, 1, 1], 2.5), 6) == round(math.log(4), 6)
    True
    """
    f = np.asarray(frequencies, dtype=np.float64)
    total = f.sum()
    if total <= 0:
        return float("nan")
    p = f[f > 0] / total
    if abs(alpha - 1.0) < 1e-12:
        return float(-(p * np.log(p)).sum())
    return float(math.log((p ** alpha).sum()) / (1.0 - alpha))


def renyi_efficiency(frequencies: Sequence[float] | np.ndarray, vocab_size: int, alpha: float = 2.5) -> float:
    """Rényi efficiency (Zouhar et al., 2023): H_α(p) / log |V|, in [0, 1]. State `vocab_size` (the
    real one, specials included) and `alpha` with the number; 2.5 is the paper's choice.

    >>> round(renyi_efficiency([3, 1], vocab_size=4, alpha=2.0), 4)   # -log(0.625) / log 4
    0.339
    """
    if vocab_size < 2:
        raise ConfigError(f"renyi_efficiency needs vocab_size >= 2, got {vocab_size}")
    return renyi_entropy(frequencies, alpha) / math.log(vocab_size)


def vocabulary_utilisation(frequencies: Sequence[int] | np.ndarray, vocab_size: int | None = None, *, k: int = 1,
                           exclude_ids: Iterable[int] = ()) -> dict[str, float]:
    """How much of the vocabulary a corpus uses: types produced at least `k` times and types never produced,
    among the `vocab_size` ids minus `exclude_ids` (special tokens).

    >>> vocabulary_utilisation([5, 0, 1, 2], k=2)
    {'vocab_size': 4, 'counted_types': 4, 'k': 2, 'used_at_least_k': 2, 'share_used_at_least_k': 0.5, 'never_produced': 1, 'share_never_produced': 0.25}
    """
    f = np.asarray(frequencies, dtype=np.int64)
    size = int(vocab_size if vocab_size is not None else len(f))
    if len(f) < size:
        f = np.pad(f, (0, size - len(f)))
    mask = np.ones(len(f), dtype=bool)
    mask[size:] = False
    excl = [i for i in exclude_ids if 0 <= i < len(f)]
    mask[excl] = False
    counted = int(mask.sum())
    used = int((f[mask] >= k).sum())
    never = int((f[mask] == 0).sum())
    return {"vocab_size": size, "counted_types": counted, "k": k,
            "used_at_least_k": used, "share_used_at_least_k": used / counted if counted else float("nan"),
            "never_produced": never, "share_never_produced": never / counted if counted else float("nan")}


def subword_productivity(segmented_words: Mapping[str, Sequence[Any]]) -> dict[Any, int]:
    """For each token type, the number of distinct words whose segmentation contains it.

    >>> sorted(subword_productivity({"walked": ["walk", "ed"], "jumped": ["jump", "ed"], "walk": ["walk"]}).items())
    [('ed', 2), ('jump', 1), ('walk', 2)]
    """
    counts: dict[Any, int] = {}
    for tokens in segmented_words.values():
        for t in set(tokens):
            counts[t] = counts.get(t, 0) + 1
    return counts


def productivity_summary(productivity: Mapping[Any, int]) -> dict[str, float]:
    """Mean and median words per token type, and the share of types seen in only one word.

    >>> productivity_summary({"a": 1, "b": 3})
    {'types': 2, 'mean_words_per_type': 2.0, 'median_words_per_type': 2.0, 'share_single_word_types': 0.5}
    """
    v = np.asarray(list(productivity.values()), dtype=np.float64)
    if not len(v):
        return {"types": 0, "mean_words_per_type": float("nan"), "median_words_per_type": float("nan"),
                "share_single_word_types": float("nan")}
    return {"types": int(len(v)), "mean_words_per_type": float(v.mean()),
            "median_words_per_type": float(np.median(v)), "share_single_word_types": float((v == 1).mean())}


def cross_language_sharing(frequencies_by_language: Mapping[str, np.ndarray], *, min_count: int = 1) -> dict[str, Any]:
    """Subword productivity across languages: in how many languages each token type occurs (≥ `min_count`).

    Returns the histogram {n_languages: n_types} and the mean over types that occur at all.

    >>> cross_language_sharing({"a": np.array([1, 0, 2]), "b": np.array([1, 1, 0])})
    {'languages': 2, 'histogram': {1: 2, 2: 1}, 'mean_languages_per_type': 1.3333333333333333, 'shared_by_all': 1}
    """
    arrays = list(frequencies_by_language.values())
    if not arrays:
        return {"languages": 0, "histogram": {}, "mean_languages_per_type": float("nan"), "shared_by_all": 0}
    size = max(len(a) for a in arrays)
    n = np.zeros(size, dtype=np.int64)
    for a in arrays:
        n[: len(a)] += (np.asarray(a) >= min_count)
    used = n[n > 0]
    hist = {int(k): int(v) for k, v in zip(*np.unique(used, return_counts=True))}
    return {"languages": len(arrays), "histogram": hist,
            "mean_languages_per_type": float(used.mean()) if len(used) else float("nan"),
            "shared_by_all": int((n == len(arrays)).sum())}


def _loose(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def roundtrip_share(tokenizer: Any, lines: Sequence[str], ids: Sequence[Sequence[int]] | None = None) -> float:
    """Share of lines that decode back to themselves, up to NFKC and whitespace (a lossless tokenizer
    scores 1.0). Token counts of a lossy tokenizer (lowercasing, stripping marks, `[UNK]`) are not
    comparable: the reports rank only tokenizers with a share of at least 0.95 on a language.

    >>> class Upper:
    ...     vocab_size = 128
    ...     def encode_batch(self, texts): return [[ord(c) for c in t.upper()] for t in texts]
    ...     def decode(self, ids): return "".join(map(chr, ids))
    ...     def id_to_bytes(self, i): return chr(i).encode()
    >>> roundtrip_share(Upper(), ["ABC", "abc", "A b"])
    0.3333333333333333
    """
    from tokensmith.evaluate.loaders import as_adapter

    adapter = as_adapter(tokenizer)
    if ids is None:
        ids = adapter.encode_batch(list(lines))
    pairs = [(ln, i) for ln, i in zip(lines, ids) if ln.strip()]
    if not pairs:
        return float("nan")
    ok = 0
    for line, line_ids in pairs:
        try:
            ok += _loose(adapter.decode(line_ids)) == _loose(line)
        except Exception:  # noqa: BLE001 - a decoder that fails is not lossless
            pass
    return ok / len(pairs)


def script_of(text: str) -> str:
    """A rough majority script label from Unicode names (used only when no script code is known)."""
    counts: dict[str, int] = {}
    for ch in text[:2000]:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            key = name.split(" ")[0] if name else "?"
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=counts.get) if counts else ""
