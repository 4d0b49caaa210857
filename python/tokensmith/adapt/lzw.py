"""zip2zip hypertokens: LZW compression over token ids, per sequence (Geng et al., NeurIPS 2025;
epfl-dlab/zip2zip). Differs from plain BPE in that nothing is learned ahead of time: each sequence
grows its own codebook at inference, and the decoder rebuilds it from the codes alone.

Ids in `[0, base_vocab_size)` are base tokens; ids in `[base_vocab_size, base_vocab_size +
codebook_size)` are hypertokens, each standing for 2..`max_subtokens` base ids. `disabled_ids`
(special tokens) are never merged.

>>> encode([1, 2, 1, 2, 1, 2], base_vocab_size=10, codebook_size=4, max_subtokens=3)
[1, 2, 10, 10]
>>> decode([1, 2, 10, 10], base_vocab_size=10, codebook_size=4, max_subtokens=3)
[1, 2, 1, 2, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tokensmith import _core
from tokensmith.errors import ConfigError, TokenError

__all__ = [
    "encode", "decode", "encode_batch", "decode_batch", "encode_with_codebook", "decode_with_codebook",
    "encode_batch_with_codebook", "LzwStats", "compression_stats", "reference_encode",
]


def _ids(ids: Iterable[int], what: str) -> list[int]:
    out = [int(i) for i in ids]
    if out and min(out) < 0:
        raise TokenError(f"{what} contain a negative id ({min(out)}); ids must be >= 0")
    if out and max(out) >= 2**32:
        raise TokenError(f"{what} contain an id >= 2**32 ({max(out)})")
    return out


def _params(base_vocab_size: int, codebook_size: int, max_subtokens: int, disabled_ids: Iterable[int]) -> tuple:
    for name, value, low in (("base_vocab_size", base_vocab_size, 1), ("codebook_size", codebook_size, 0),
                             ("max_subtokens", max_subtokens, 1)):
        if int(value) < low:
            raise ConfigError(f"{name} must be >= {low} (got {value})")
    disabled = _ids(disabled_ids, "disabled_ids")
    return int(base_vocab_size), int(codebook_size), int(max_subtokens), disabled


def encode(ids: Sequence[int], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
           disabled_ids: Iterable[int] = ()) -> list[int]:
    """LZW-compress one sequence of base ids into codes (base ids and hyper ids)."""
    return _core.lzw_encode(_ids(ids, "ids"), *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def decode(codes: Sequence[int], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
           disabled_ids: Iterable[int] = ()) -> list[int]:
    """Inverse of `encode`; raises `TokenError` on a code that is not (yet) in the codebook."""
    return _core.lzw_decode(_ids(codes, "codes"), *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def encode_with_codebook(ids: Sequence[int], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
                         disabled_ids: Iterable[int] = ()) -> tuple[list[int], list[list[int]]]:
    """`encode`, plus the codebook: entry k lists the base ids of hyper id `base_vocab_size + k`."""
    return _core.lzw_encode_with_codebook(
        _ids(ids, "ids"), *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def decode_with_codebook(codes: Sequence[int], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
                         disabled_ids: Iterable[int] = ()) -> tuple[list[int], list[list[int]]]:
    """`decode`, plus the codebook rebuilt from the codes."""
    return _core.lzw_decode_with_codebook(
        _ids(codes, "codes"), *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def encode_batch(seqs: Sequence[Sequence[int]], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
                 disabled_ids: Iterable[int] = ()) -> list[list[int]]:
    """`encode` for many sequences, in parallel in the Rust core (GIL released)."""
    return _core.lzw_encode_batch([_ids(s, "ids") for s in seqs],
                                  *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def encode_batch_with_codebook(seqs: Sequence[Sequence[int]], *, base_vocab_size: int, codebook_size: int,
                               max_subtokens: int, disabled_ids: Iterable[int] = ()
                               ) -> list[tuple[list[int], list[list[int]]]]:
    """`encode_with_codebook` for many sequences, in parallel."""
    return _core.lzw_encode_batch_with_codebook([_ids(s, "ids") for s in seqs],
                                                *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


def decode_batch(seqs: Sequence[Sequence[int]], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
                 disabled_ids: Iterable[int] = ()) -> list[list[int]]:
    """`decode` for many code streams, in parallel."""
    return _core.lzw_decode_batch([_ids(s, "codes") for s in seqs],
                                  *_params(base_vocab_size, codebook_size, max_subtokens, disabled_ids))


@dataclass(frozen=True)
class LzwStats:
    """Sequence-length reduction of LZW over a set of sequences."""

    base_tokens: int
    codes: int
    sequences: int

    @property
    def reduction(self) -> float:
        """1 - codes / base tokens (0.25 = 25% shorter)."""
        return 1.0 - self.codes / self.base_tokens if self.base_tokens else 0.0


def compression_stats(seqs: Sequence[Sequence[int]], *, base_vocab_size: int, codebook_size: int = 1024,
                      max_subtokens: int = 3, disabled_ids: Iterable[int] = ()) -> LzwStats:
    """Encode every sequence and count base tokens against codes."""
    codes = encode_batch(seqs, base_vocab_size=base_vocab_size, codebook_size=codebook_size,
                         max_subtokens=max_subtokens, disabled_ids=disabled_ids)
    return LzwStats(sum(len(s) for s in seqs), sum(len(c) for c in codes), len(seqs))


def reference_encode(ids: Sequence[int], *, base_vocab_size: int, codebook_size: int, max_subtokens: int,
                     disabled_ids: Iterable[int] = ()) -> list[int]:
    """Pure-Python reference of `encode` (slow; for tests and reading)."""
    disabled = set(disabled_ids)
    book: dict[tuple[int, ...], int] = {}
    out: list[int] = []
    phrase: tuple[int, ...] = ()

    def code(p: tuple[int, ...]) -> int:
        return p[0] if len(p) == 1 else book[p]

    for t in ids:
        if t in disabled:
            if phrase:
                out.append(code(phrase))
            out.append(t)
            phrase = ()
            continue
        if not phrase or phrase + (t,) in book:
            phrase += (t,)
            continue
        out.append(code(phrase))
        if len(phrase) < max_subtokens and len(book) < codebook_size:
            book[phrase + (t,)] = base_vocab_size + len(book)
        phrase = (t,)
    if phrase:
        out.append(code(phrase))
    return out
