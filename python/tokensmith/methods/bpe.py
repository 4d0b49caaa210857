"""Byte-level BPE (Sennrich et al., ACL 2016; byte-level as in GPT-2, Radford et al., 2019).

The reference method the others vary: count pretokenized words in Rust, merge the most frequent adjacent
pair until the vocabulary is full. ``count_words`` and ``build_tokenizer`` are shared with the variants.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tokensmith.config import BpeConfig
from tokensmith.methods import register

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus
    from tokensmith.tokenizer import Tokenizer

__all__ = ["train_bpe", "train_from_counts", "count_words", "build_tokenizer", "progress_mode"]


def progress_mode(config: BpeConfig) -> str:
    """``auto`` -> ``bar`` on a terminal, else ``none``."""
    if config.progress != "auto":
        return config.progress
    return "bar" if sys.stderr.isatty() else "none"


def count_words(corpus: "Corpus", config: BpeConfig, *, pattern: str | None = None) -> Any:
    """Word counts of the corpus (a ``_core.WordCounts``), read batch by batch so memory holds only the
    counts. ``pattern`` overrides ``config.pattern`` (SuperBPE's second stage)."""
    return count_words_by_patterns(corpus, config, [pattern or config.pattern])[0]


def count_words_by_patterns(corpus: "Corpus", config: BpeConfig, patterns: list[str]) -> list[Any]:
    """One word-count table per pretokenization pattern, reading the corpus once."""
    from tokensmith import _core

    totals = [_core.WordCounts() for _ in patterns]
    for batch in corpus.batches():
        for table, pattern in zip(totals, patterns):  # each batch is counted straight into the table
            table.add_texts(batch, pattern, config.normalization, config.num_threads)
    return totals


def build_tokenizer(vocab: list[bytes], merges: list[tuple[int, int]], config: BpeConfig, *,
                    pattern: str | None = None, extra: dict[str, Any] | None = None) -> "Tokenizer":
    """Wrap trained tables in a ``Tokenizer`` that remembers the config it was trained with."""
    from tokensmith.formats import BpeData
    from tokensmith.tokenizer import Tokenizer

    specials = {}
    for token in config.special_tokens:
        raw = token.encode("utf-8")
        specials[token] = next(i for i, t in enumerate(vocab) if t == raw)
    data = BpeData(vocab=list(vocab), merges=[tuple(m) for m in merges], special_tokens=specials,
                   pattern=pattern or config.pattern, normalization=config.normalization, units="bytes",
                   config={"method": config.method, "config": config.to_dict(), **(extra or {})},
                   source=f"trained:{config.method}")
    return Tokenizer.from_data(data)


@register("bpe", config=BpeConfig)
def train_bpe(corpus: "Corpus", config: BpeConfig) -> "Tokenizer":
    """Byte-level BPE: the most frequent adjacent pair merges first."""
    return train_from_counts(count_words(corpus, config), config)


def train_from_counts(counts: Any, config: BpeConfig) -> "Tokenizer":
    """BPE on word counts already made by ``count_words`` (count once, train several sizes)."""
    from tokensmith import _core

    vocab, merges = _core.train_bpe(
        counts, vocab_size=config.vocab_size, min_frequency=config.min_frequency,
        max_token_length=config.max_token_length, special_tokens=list(config.special_tokens),
        progress=progress_mode(config), num_threads=config.num_threads)
    return build_tokenizer(vocab, merges, config)
