"""SuperBPE (Liu et al., "SuperBPE: Space Travel for Language Models", 2025; ``alisawuffles/superbpe``).

Differs from plain BPE by a two-stage curriculum: stage 1 learns subwords with a word-level pretokenizer
(``superbpe_stage1``) up to the transition vocabulary size t; stage 2 re-counts the corpus with only digit
boundaries (``superbpe_stage2``), replays stage 1's merges and continues to ``vocab_size``, so later merges
make "superword" tokens that cross spaces (at most ``max_words`` words, never ``": "``).

The reference scripts hand stage 2 the first ``t - 1`` merges (``head -n`` over a ``merges.txt`` whose first
line is the ``#version`` header); here stage 2 replays exactly the merges stage 1 made. The result is an
ordinary byte-level BPE (merges in rank order, stage-2 pretokenization) that stock ``tokenizers`` loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tokensmith.config import BpeConfig
from tokensmith.errors import ConfigError
from tokensmith.methods import register
from tokensmith.methods.bpe import build_tokenizer, count_words, count_words_by_patterns, progress_mode

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus
    from tokensmith.tokenizer import Tokenizer

__all__ = ["SuperBpeConfig", "train_superbpe", "STAGE1_PATTERN", "STAGE2_PATTERN"]

STAGE1_PATTERN = "superbpe_stage1"
STAGE2_PATTERN = "superbpe_stage2"


@dataclass(frozen=True)
class SuperBpeConfig(BpeConfig):
    """SuperBPE: subword BPE to the transition point, then superword merges across spaces."""

    transition: int | None = None
    """Vocabulary size t where stage 1 (subwords) stops and stage 2 (superwords) starts (None: 0.9 × vocab_size)."""
    max_words: int = 4
    """Stage 2 skips merges whose token would hold more than this many words."""
    forbid_colon_space: bool = field(default=True, metadata={"cli": "--forbid-colon-space"})
    """Stage 2 skips merges whose token contains ':' followed by a space."""
    pattern: str = STAGE1_PATTERN
    """Stage-1 pretokenization (stage 2 always uses superbpe_stage2, which the saved tokenizer encodes with)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_int("max_words", minimum=1)
        if self.transition is not None:
            self._check_int("transition", minimum=256 + len(self.special_tokens))
            if self.transition > self.vocab_size:
                raise ConfigError(f"transition={self.transition} is above vocab_size={self.vocab_size}; "
                                  "use a transition point t <= vocab_size")

    @property
    def transition_size(self) -> int:
        """t, the stage-1 vocabulary size."""
        floor = 256 + len(self.special_tokens)
        return self.transition if self.transition is not None else max(floor, round(0.9 * self.vocab_size))


def _train_bpe(counts, config: SuperBpeConfig, vocab_size: int):
    from tokensmith import _core

    return _core.train_bpe(counts, vocab_size, min_frequency=config.min_frequency,
                           max_token_length=config.max_token_length, special_tokens=list(config.special_tokens),
                           progress=progress_mode(config), num_threads=config.num_threads)


def _stage2_pieces(corpus: "Corpus", config: SuperBpeConfig):
    """The corpus as stage-2 pieces in order (a ``_core.PieceList``): nearly every piece is a distinct
    line, so counting them would only cost hashing."""
    from tokensmith import _core

    pieces = _core.PieceList()
    for batch in corpus.batches():
        pieces.add_texts(batch, STAGE2_PATTERN, config.normalization, config.num_threads)
    return pieces


@register("superbpe", config=SuperBpeConfig)
def train_superbpe(corpus: "Corpus", config: SuperBpeConfig) -> "Tokenizer":
    """SuperBPE: stage-1 subword BPE to t, then stage-2 superword merges to vocab_size."""
    from tokensmith import _core

    t = config.transition_size
    if t >= config.vocab_size:
        vocab1, merges1 = _train_bpe(count_words(corpus, config, pattern=config.pattern), config, t)
        return build_tokenizer(vocab1, merges1, config, pattern=config.pattern,
                               extra={"stage1_merges": len(merges1), "stage2_merges": 0})
    if config.pattern == STAGE1_PATTERN:  # its words never cross a stage-2 piece: count them from the pieces
        counts1, counts2 = None, _stage2_pieces(corpus, config)
    else:
        counts1, counts2 = count_words_by_patterns(corpus, config, [config.pattern, STAGE2_PATTERN])
    vocab, merges, stage1 = _core.train_superbpe(
        counts1, counts2, config.vocab_size, t, config.pattern, min_frequency=config.min_frequency,
        max_token_length=config.max_token_length, special_tokens=list(config.special_tokens),
        progress=progress_mode(config), num_threads=config.num_threads, max_words_per_token=config.max_words,
        forbid_colon_space=config.forbid_colon_space)
    return build_tokenizer(vocab, merges, config, pattern=STAGE2_PATTERN,
                           extra={"stage1_merges": stage1, "stage2_merges": len(merges) - stage1})
