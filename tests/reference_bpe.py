"""A small pure-Python BPE trainer and encoder: the executable spec of `src/train/bpe.rs`.

Same id layout (special tokens, then the 256 bytes in GPT-2 alphabet order, then one id per new token)
and the same tie-break (highest count, then the smallest pair of ids). Every step recounts all pairs,
so it is slow and obviously right; tests check the Rust trainer gives identical merges.

>>> vocab, merges = train({b"hug": 10, b"pug": 5}, vocab_size=258)
>>> vocab[merges[0][0]] + vocab[merges[0][1]]
b'ug'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def gpt2_byte_order() -> list[int]:
    """The 256 bytes in the order of their GPT-2 unicode characters (printable ones first)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    return printable + [b for b in range(256) if b not in printable]


def word_starts(token: bytes) -> int:
    """Non-whitespace bytes that begin the token or follow an ASCII whitespace byte."""
    ws = b" \t\n\r\x0c"
    return sum(1 for i, b in enumerate(token) if b not in ws and (i == 0 or token[i - 1] in ws))


def _merge(word: tuple[int, ...], a: int, b: int, new: int) -> tuple[int, ...]:
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train(counts: Mapping[bytes | tuple[bytes, ...], int], vocab_size: int, *, min_frequency: int = 2,
          max_token_length: int | None = None, special_tokens: Sequence[str] = (),
          initial_merges: Sequence[tuple[bytes, bytes]] = (), max_words_per_token: int | None = None,
          forbid_colon_space: bool = False) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Train on word counts; a key may be a tuple of segments that never merge across."""
    vocab = [s.encode("utf-8") for s in special_tokens]
    byte_id = {}
    for b in gpt2_byte_order():
        byte_id[b] = len(vocab)
        vocab.append(bytes([b]))
    ids = {tok: i for i, tok in enumerate(vocab) if i >= len(special_tokens)}
    words: Counter[tuple[int, ...]] = Counter()
    for word, count in counts.items():
        for seg in (word if isinstance(word, tuple) else (word,)):
            if seg and count > 0:
                words[tuple(byte_id[b] for b in seg)] += count
    merges: list[tuple[int, int]] = []

    def apply(a: int, b: int) -> None:
        token = vocab[a] + vocab[b]
        if token not in ids:
            ids[token] = len(vocab)
            vocab.append(token)
        merges.append((a, b))
        new = ids[token]
        merged: Counter[tuple[int, ...]] = Counter()
        for w, c in words.items():
            merged[_merge(w, a, b, new)] += c
        words.clear()
        words.update(merged)

    for left, right in initial_merges:
        apply(ids[left], ids[right])
    banned: set[tuple[int, int]] = set()
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[int, int]] = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        candidates = [(c, p) for p, c in pairs.items() if p not in banned]
        if not candidates:
            break
        count, pair = min(candidates, key=lambda cp: (-cp[0], cp[1]))
        if count < min_frequency:
            break
        token = vocab[pair[0]] + vocab[pair[1]]
        if ((max_token_length is not None and len(token) > max_token_length)
                or (forbid_colon_space and b": " in token)
                or (max_words_per_token is not None and word_starts(token) > max_words_per_token)):
            banned.add(pair)  # the Rust trainer drops such a pair for good, too
            continue
        apply(*pair)
    return vocab, merges


class Encoder:
    """Lowest-rank adjacent pair first, leftmost on a tie (no whole-piece lookup, no cache)."""

    def __init__(self, vocab: Sequence[bytes], merges: Sequence[tuple[int, int]]) -> None:
        self.vocab = vocab
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        self.rank = {pair: r for r, pair in reversed(list(enumerate(merges)))}

    def encode_piece(self, piece: bytes) -> list[int]:
        symbols = [self.ids[bytes([b])] for b in piece]
        while len(symbols) > 1:
            best = min(range(len(symbols) - 1),
                       key=lambda i: (self.rank.get((symbols[i], symbols[i + 1]), 1 << 62), i))
            pair = (symbols[best], symbols[best + 1])
            if pair not in self.rank:
                break
            symbols[best:best + 2] = [self.ids[self.vocab[pair[0]] + self.vocab[pair[1]]]]
        return symbols
