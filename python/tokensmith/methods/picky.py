"""Picky BPE (Chizhov et al., "BPE Gets Picky: Efficient Vocabulary Refinement During Tokenizer
Training", EMNLP 2024; reference code ``pchizhov/picky_bpe``).

Differs from plain BPE in one step: after each merge, a parent whose Intersection-over-Self (merged
count / its own frequency) exceeds ``threshold`` is removed and re-split, freeing its slot; encoding replays
the MERGE/SPLIT log (Rust: ``src/train/picky.rs``, ``src/model/picky.rs``). ``threshold >= 1`` is plain BPE.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokensmith.config import BpeConfig
from tokensmith.errors import ConfigError, FormatError, TokenError
from tokensmith.methods import register
from tokensmith.methods.bpe import count_words, progress_mode
from tokensmith.tokenizer import EncodingWithOffsets, Tokenizer, _char_offsets, _check_text

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus

__all__ = ["PickyConfig", "PickyTokenizer", "train_picky", "load_picky"]


@dataclass(frozen=True)
class PickyConfig(BpeConfig):
    """Picky BPE: BPE that removes intermediate tokens whose IoS exceeds a threshold."""

    threshold: float = 0.9
    """IoS threshold τ: a merge parent with IoS > τ is removed (paper default 0.9; >= 1: plain BPE)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) or not self.threshold > 0:
            raise ConfigError(f"threshold must be a number above 0 (paper default 0.9), got {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))


class PickyTokenizer(Tokenizer):
    """A Picky BPE tokenizer: the ``Tokenizer`` API over ``_core.PickyModel`` (event-log replay).

    ``save(dir)`` writes ``picky.json`` (``tokensmith.formats.picky``); there is no ``tokenizer.json`` /
    tiktoken export, since a merge list cannot express the SPLIT events.
    """

    def __init__(self, vocab: list[bytes], events: list[tuple], *, pattern: str | None = None,
                 normalization: str = "none", special_tokens: dict[str, int] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self._setup_picky(list(vocab), list(events), pattern, normalization, dict(special_tokens or {}),
                          dict(config or {}))

    def _setup_picky(self, vocab: list[bytes], events: list[tuple], pattern: str | None, normalization: str,
                     specials: dict[str, int], config: dict[str, Any], training_info: dict | None = None) -> None:
        from tokensmith import _core
        from tokensmith.formats import BpeData

        self._events = events
        self._data = BpeData(vocab=vocab, merges=[], special_tokens=specials, pattern=pattern,
                             normalization=normalization, config=config, source=f"picky:{config.get('method', 'picky')}")
        self._core = _core.PickyModel(vocab, events, pattern, normalization, specials)
        self._control = frozenset()
        self._ids = self._data.token_to_id()
        self.training_info = dict(training_info or {})

    @property
    def events(self) -> list[tuple]:
        """The training log: ``("merge", left, right)`` and ``("split", token, [pieces])``, bytes."""
        return list(self._events)

    def _allowed(self, text: str, allowed: Iterable[str] | str, disallowed: Iterable[str] | str) -> Any:
        specials = self._data.special_tokens
        allowed_set = set(specials) if allowed == "all" else set(allowed)
        banned = (set(specials) - allowed_set) if disallowed == "all" else set(disallowed)
        for s in banned:
            if s in text:
                raise TokenError(f"text contains the special token {s!r}; pass allowed_special={{{s!r}}} (or "
                                 "\"all\") to encode it as a special token, or disallowed_special=() for plain text")
        return sorted(allowed_set)

    def encode(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
               disallowed_special: Iterable[str] | str = "all", dropout: float | None = None,
               seed: int | None = None) -> list[int]:
        """Token ids of ``text`` (log replay). BPE-dropout does not apply to Picky BPE."""
        _check_text(text)
        if dropout:
            raise ConfigError("dropout is not defined for Picky BPE (its encoder replays a merge/split log)")
        return self._core.encode(text, self._allowed(text, allowed_special, disallowed_special))

    def encode_ordinary(self, text: str) -> list[int]:
        _check_text(text)
        return self._core.encode(text, [])

    def encode_batch(self, texts: Iterable[str], *, allowed_special: Iterable[str] | str = frozenset(),
                     disallowed_special: Iterable[str] | str = "all", num_threads: int | None = None) -> list[list[int]]:
        texts = list(texts)
        allowed: list[str] = []
        for text in texts:
            _check_text(text)
            allowed = self._allowed(text, allowed_special, disallowed_special)
        return self._core.encode_batch(texts, int(num_threads or 0), allowed)

    def encode_with_offsets(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
                            disallowed_special: Iterable[str] | str = "all") -> EncodingWithOffsets:
        _check_text(text)
        ids, offsets = self._core.encode_with_offsets(text, self._allowed(text, allowed_special, disallowed_special))
        seen = text if self._engine_sees_input() else self._engine_text(text)
        return EncodingWithOffsets(ids, offsets, _char_offsets(seen, offsets))

    def token_to_id(self, token: str | bytes) -> int | None:
        if isinstance(token, str):
            if token in self._data.special_tokens:
                return self._data.special_tokens[token]
            token = token.encode("utf-8")
        return self._ids.get(bytes(token))

    @property
    def merges(self) -> list[tuple[int, int]]:
        raise ConfigError("a Picky BPE tokenizer has an event log, not a merge list; use .events")

    def save(self, directory: str | os.PathLike) -> Any:
        """Write ``picky.json`` + ``tokenizer_config.json`` (see ``tokensmith.formats.picky``)."""
        from tokensmith.formats import picky

        obj = picky.to_json(self._data.vocab, self._events, pattern=self._data.pattern,
                            normalization=self._data.normalization, special_tokens=self._data.special_tokens)
        return picky.save_dir(obj, self._data.config, directory)

    def to_hf(self) -> Any:
        raise FormatError("Picky BPE cannot be written as tokenizer.json (SPLIT events); use save() -> picky.json")

    def to_tiktoken(self, name: str = "tokensmith") -> Any:
        raise FormatError("Picky BPE cannot be written as a tiktoken rank file (SPLIT events); use save()")

    def __getstate__(self) -> dict[str, Any]:
        d = self._data
        return {"vocab": d.vocab, "events": self._events, "pattern": d.pattern, "normalization": d.normalization,
                "specials": d.special_tokens, "config": d.config, "training_info": self.training_info}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup_picky(state["vocab"], state["events"], state["pattern"], state["normalization"],
                          state["specials"], state["config"], state.get("training_info"))


def load_picky(path: str | os.PathLike) -> PickyTokenizer:
    """Load a directory (or ``picky.json``) written by ``PickyTokenizer.save``."""
    from tokensmith.formats import picky

    obj, config = picky.load_dir(path)
    return PickyTokenizer(obj["vocab"], obj["events"], pattern=obj["pattern"], normalization=obj["normalization"],
                          special_tokens=obj["special_tokens"], config=config)


@register("picky", config=PickyConfig)
def train_picky(corpus: "Corpus", config: PickyConfig) -> PickyTokenizer:
    """Picky BPE: after each merge, remove parents whose IoS exceeds the threshold."""
    from tokensmith import _core

    counts = count_words(corpus, config)
    mode = progress_mode(config)
    vocab, events = _core.train_picky(
        counts, vocab_size=config.vocab_size, threshold=config.threshold, min_frequency=config.min_frequency,
        max_token_length=config.max_token_length, special_tokens=list(config.special_tokens),
        progress="none" if mode == "auto" else mode)
    specials = {t: i for i, t in enumerate(config.special_tokens)}
    splits = sum(1 for e in events if e[0] == "split")
    return PickyTokenizer(vocab, events, pattern=config.pattern, normalization=config.normalization,
                          special_tokens=specials,
                          config={"method": config.method, "config": config.to_dict(), "picky_splits": splits})
