"""Byte-fair data for tiny LMs: chunks of text with the same bytes for every tokenizer.

A chunk is at most `chunk_bytes` bytes, cut at whitespace (or at a character boundary when a
run has no whitespace). Each chunk is encoded alone and prefixed with BOS (id = vocab_size), so the
model predicts every token of the chunk and the summed loss covers exactly the chunk's bytes.

>>> make_chunks(["aaa bbb ccc ddd"], 8)
['aaa bbb ', 'ccc ddd']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from tokensmith.errors import ConfigError, CorpusError

__all__ = ["make_chunks", "split_texts", "encode_chunks", "ChunkSet"]


def split_texts(texts: Sequence[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """Hold apart the last `val_fraction` of the bytes (whole documents; at least one each side)."""
    texts = [t for t in texts if t]
    if len(texts) < 2:
        raise CorpusError("need at least two non-empty documents to hold some apart for evaluation")
    sizes = [len(t.encode("utf-8")) for t in texts]
    target = sum(sizes) * (1.0 - val_fraction)
    acc, cut = 0, len(texts) - 1
    for i, s in enumerate(sizes):
        acc += s
        if acc >= target:
            cut = min(max(i + 1, 1), len(texts) - 1)
            break
    return texts[:cut], texts[cut:]


def make_chunks(texts: Iterable[str], chunk_bytes: int) -> list[str]:
    """Cut documents into chunks of at most `chunk_bytes` UTF-8 bytes, at whitespace when possible.

    Documents are never joined: a chunk never spans two documents. Empty documents are dropped.
    """
    if chunk_bytes < 8:
        raise ConfigError(f"chunk_bytes must be >= 8 (got {chunk_bytes})")
    out: list[str] = []
    for text in texts:
        data = text.encode("utf-8")
        start = 0
        while start < len(data):
            end = min(start + chunk_bytes, len(data))
            if end < len(data):
                cut = max(data.rfind(b" ", start, end), data.rfind(b"\n", start, end))
                if cut > start:
                    end = cut + 1  # keep the space with the left chunk
                else:
                    while end > start and (data[end] & 0xC0) == 0x80:  # not inside a UTF-8 character
                        end -= 1
            out.append(data[start:end].decode("utf-8"))
            start = end
    return out


@dataclass
class ChunkSet:
    """Encoded chunks of one tokenizer: token ids (without BOS) and the byte length of each chunk."""

    ids: list[list[int]]
    nbytes: list[int]
    vocab_size: int

    @property
    def bos_id(self) -> int:
        return self.vocab_size

    @property
    def total_bytes(self) -> int:
        return sum(self.nbytes)

    @property
    def total_tokens(self) -> int:
        return sum(len(x) for x in self.ids)

    @property
    def max_len(self) -> int:
        return max((len(x) for x in self.ids), default=0)


def encode_chunks(encode_batch: Callable[[list[str]], list[list[int]]], chunks: Sequence[str], vocab_size: int,
                  batch: int = 2048) -> ChunkSet:
    """Encode every chunk with `encode_batch`; ids must be < vocab_size."""
    ids: list[list[int]] = []
    for i in range(0, len(chunks), batch):
        ids.extend(list(map(int, x)) for x in encode_batch(list(chunks[i:i + batch])))
    top = max((max(x) for x in ids if x), default=-1)
    if top >= vocab_size:
        raise ConfigError(f"the tokenizer produced id {top} >= its vocab_size {vocab_size}")
    return ChunkSet(ids, [len(c.encode("utf-8")) for c in chunks], vocab_size)
