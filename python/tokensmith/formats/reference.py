"""A slow, plain-Python encoder for any ``BpeData``: the executable spec the fast engine must match.

It is what the format tests use to check that a file was read right independently of the Rust
engine, and it spells out the semantics in one screen:

1. split out special tokens (when allowed); 2. normalize; 3. SentencePiece: spaces -> ``▁`` and a dummy
prefix; 4. pretokenize with the pattern (``regex.finditer``; text between matches is dropped);
5. per piece: whole-piece lookup if ``ignore_merges``, else start from bytes (byte-level) or characters
and apply the lowest-ranked adjacent merge until none applies; 6. characters with no token fall back
to their ``<0xXX>`` byte tokens, or ``unk_id``.

>>> ReferenceEncoder(data).encode("hello world")   # doctest: +SKIP
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from tokensmith.formats import BpeData

__all__ = ["ReferenceEncoder", "normalize"]


def normalize(kind: str, text: str) -> str:
    if kind == "none":
        return text
    if kind == "nfc":
        return unicodedata.normalize("NFC", text)
    if kind == "nfkc":
        return unicodedata.normalize("NFKC", text)
    if kind == "lowercase":
        return text.lower()
    if kind == "nfkc_lowercase":
        return unicodedata.normalize("NFKC", text).lower()
    raise ValueError(kind)


class ReferenceEncoder:
    def __init__(self, data: BpeData) -> None:
        import regex

        from tokensmith.formats.hf import _pattern_regex

        self.data = data
        self.token_ids = data.token_to_id()
        self.ranks: dict[tuple[int, int], tuple[int, int]] = {}
        priority = data.merge_priority or range(len(data.merges))
        for rank, (a, b) in zip(priority, data.merges):
            result = self.token_ids[data.vocab[a] + data.vocab[b]]  # type: ignore[operator]
            self.ranks.setdefault((a, b), (rank, result))
        regex_text = _pattern_regex(data.pattern)
        self.pattern = regex.compile(regex_text) if regex_text else None
        specials = sorted(data.special_tokens, key=len, reverse=True)
        self.special_re = regex.compile("|".join(regex.escape(s) for s in specials)) if specials else None
        self.encode_piece = lru_cache(maxsize=1 << 16)(self._encode_piece)

    def encode(self, text: str, allowed_special: set[str] | str = frozenset()) -> list[int]:
        ids: list[int] = []
        allowed = set(self.data.special_tokens) if allowed_special == "all" else set(allowed_special)
        start = 0
        if self.special_re is not None and allowed:
            for m in self.special_re.finditer(text):
                if m.group() in allowed:
                    ids += self._encode_ordinary(text[start:m.start()])
                    ids.append(self.data.special_tokens[m.group()])
                    start = m.end()
        return ids + self._encode_ordinary(text[start:])

    def _encode_ordinary(self, text: str) -> list[int]:
        data = self.data
        if not text:
            return []
        text = normalize(data.normalization, text)
        if data.space_replacement:
            text = text.replace(" ", data.space_replacement)
            if data.add_dummy_prefix:
                text = data.space_replacement + text
        pieces = [m.group() for m in self.pattern.finditer(text)] if self.pattern else [text]
        out: list[int] = []
        for piece in pieces:
            out += self.encode_piece(piece)
        return out

    def _encode_piece(self, piece: str) -> list[int]:
        data = self.data
        if data.units == "bytes":
            raw = piece.encode("utf-8")
            if data.ignore_merges and raw in self.token_ids:
                return [self.token_ids[raw]]
            symbols: list[int | str] = [self.token_ids[raw[i:i + 1]] for i in range(len(raw))]
        else:
            if data.ignore_merges and piece.encode() in self.token_ids:
                return [self.token_ids[piece.encode()]]
            symbols = [self.token_ids.get(ch.encode(), ch) for ch in piece]
        while len(symbols) > 1:
            best = None
            for i in range(len(symbols) - 1):
                a, b = symbols[i], symbols[i + 1]
                if isinstance(a, int) and isinstance(b, int):
                    hit = self.ranks.get((a, b))
                    if hit is not None and (best is None or hit[0] < best[0]):
                        best = (hit[0], hit[1], i)
            if best is None:
                break
            _, result, i = best
            symbols[i:i + 2] = [result]
        out: list[int] = []
        for s in symbols:
            if isinstance(s, int):
                out.append(s)
            elif data.byte_fallback:
                out += [data.byte_fallback[b] for b in s.encode("utf-8")]
            elif data.unk_id is not None:
                out.append(data.unk_id)
        return out

    def decode_bytes(self, ids: list[int]) -> bytes:
        data = self.data
        raw = b"".join(data.vocab[i] or b"" for i in ids)
        if data.space_replacement:
            text = raw.decode("utf-8", "replace").replace(data.space_replacement, " ")
            if data.add_dummy_prefix and text.startswith(" "):
                text = text[1:]
            return text.encode("utf-8")
        return raw
