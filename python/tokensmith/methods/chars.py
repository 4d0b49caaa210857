"""Character-level BPE in the KL3M manner (Bommarito et al., "KL3M Tokenizers: A Family of Domain-Specific
and Character-Level Tokenizers for Legal, Financial, and Preprocessing Applications", 2025;
``alea-institute/kl3m-tokenizers``).

Differs from plain BPE by a small token-length cap (default 3) and small vocabularies (4k/8k/16k), so
tokens stay close to characters (OCR correction, spelling). As in KL3M's trainer, the cap counts symbols
of the byte-level alphabet, i.e. bytes: ASCII characters count 1, ``é`` counts 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokensmith.config import BpeConfig
from tokensmith.methods import register
from tokensmith.methods.bpe import build_tokenizer, count_words, progress_mode

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus
    from tokensmith.tokenizer import Tokenizer

__all__ = ["CharsConfig", "train_chars", "KL3M_CHAR_SIZES"]

KL3M_CHAR_SIZES = (4096, 8192, 16384)


@dataclass(frozen=True)
class CharsConfig(BpeConfig):
    """Character-level BPE: tokens of at most a few bytes (KL3M char 4k/8k/16k)."""

    max_token_length: int | None = 3
    """Longest token in bytes (KL3M char tokenizers: 3)."""
    normalization: str = "nfkc"
    """Unicode normalization before pretokenization (KL3M: NFKC)."""


@register("chars", config=CharsConfig)
def train_chars(corpus: "Corpus", config: CharsConfig) -> "Tokenizer":
    """Character-level BPE: merges capped at max_token_length bytes (KL3M char style)."""
    from tokensmith import _core

    counts = count_words(corpus, config)
    vocab, merges = _core.train_bpe(
        counts, config.vocab_size, min_frequency=config.min_frequency, max_token_length=config.max_token_length,
        special_tokens=list(config.special_tokens), progress=progress_mode(config), num_threads=config.num_threads)
    return build_tokenizer(vocab, merges, config)
