"""tiktoken rank files (``.tiktoken``) and ``tiktoken.Encoding`` objects.

A rank file is one line per token: ``base64(token bytes) SPACE rank``; the rank is the token id and the
merge priority (lower merges first). It stores no pattern and no special tokens, so loading one needs
``pattern=`` (a name such as ``"o200k"`` or a regex); the special tokens of the well-known OpenAI/Meta
files are added when the file is recognised by its size.

Ranks carry no explicit merges: ``merges_from_ranks`` lists every split of every token into two ranked
tokens, with the token's rank as the merge priority, which is exactly tiktoken's rule.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from tokensmith.errors import ConfigError, FormatError
from tokensmith.formats import BpeData, LazyList, read_maybe_gzip

__all__ = ["read_ranks", "write_ranks", "ranks_to_data", "data_to_ranks", "merges_from_ranks",
           "to_encoding", "KNOWN_ENCODINGS", "PATTERN_ALIASES"]

# Pattern names accepted for rank files, mapped to tokensmith's named patterns.
PATTERN_ALIASES = {"r50k": "gpt2", "r50k_base": "gpt2", "p50k": "gpt2", "p50k_base": "gpt2",
                   "cl100k_base": "cl100k", "o200k_base": "o200k", "o200k_harmony": "o200k"}


def llama3_special_tokens() -> dict[str, int]:
    names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
             "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>", "<|image|>"]
    names += [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(names))]
    return {t: 128000 + i for i, t in enumerate(names)}


# Well-known rank files, recognised by (rank count, pattern): their special tokens (tiktoken_ext/openai_public.py;
# Llama 3: llama_models/llama3/tokenizer.py).
KNOWN_ENCODINGS: dict[tuple[int, str], tuple[str, dict[str, int]]] = {
    (50256, "gpt2"): ("r50k_base", {"<|endoftext|>": 50256}),
    (50280, "gpt2"): ("p50k_base", {"<|endoftext|>": 50256}),
    (100256, "cl100k"): ("cl100k_base", {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                         "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
    (199998, "o200k"): ("o200k_base", {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    (128000, "llama3"): ("llama3", llama3_special_tokens()),
}


def read_ranks(path: str | Path) -> dict[bytes, int]:
    """Parse a rank file (optionally gzipped): token bytes -> rank."""
    ranks: dict[bytes, int] = {}
    for lineno, line in enumerate(read_maybe_gzip(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise FormatError(f"{path}:{lineno}: expected 'base64-token rank', got {line[:60]!r}")
        try:
            token = base64.b64decode(parts[0], validate=True)
            rank = int(parts[1])
        except (binascii.Error, ValueError):
            raise FormatError(f"{path}:{lineno}: expected 'base64-token rank', got {line[:60]!r}") from None
        if token in ranks:
            raise FormatError(f"{path}:{lineno}: token {token!r} is ranked twice")
        ranks[token] = rank
    if not ranks:
        raise FormatError(f"{path} holds no ranks; pass a .tiktoken rank file")
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise FormatError(f"{path}: {len(missing)} single bytes have no rank (e.g. {missing[0]:#04x}); "
                          "a byte-level rank file must rank all 256 bytes")
    return ranks


def write_ranks(ranks: dict[bytes, int], path: str | Path) -> None:
    """Write a rank file atomically, in rank order."""
    from tokensmith._io import atomic_write

    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise FormatError(f"cannot write a rank file: {len(missing)} single bytes have no rank")
    with atomic_write(path, "wb") as f:
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")


def merges_from_ranks(ranks: dict[bytes, int]) -> tuple[list[tuple[bytes, bytes]], list[int]]:
    """Every split of every multi-byte token into two ranked tokens, with the token's rank as priority.

    tiktoken merges the adjacent pair whose concatenation has the lowest rank (leftmost on a tie), so a
    merge table holding all such splits at the concatenation's rank reproduces it exactly.
    """
    merges: list[tuple[bytes, bytes]] = []
    priority: list[int] = []
    items = list(ranks.items())
    if any(items[i][1] > items[i + 1][1] for i in range(len(items) - 1)):
        items.sort(key=lambda kv: kv[1])
    add_merge, add_priority = merges.append, priority.append
    for token, rank in items:
        for cut in range(1, len(token)):
            left = token[:cut]
            if left in ranks:
                right = token[cut:]
                if right in ranks:
                    add_merge((left, right))
                    add_priority(rank)
    return merges, priority


def _resolve_pattern(pattern: str | None, path: Any) -> str:
    if pattern is None:
        raise ConfigError(f"{path} is a tiktoken rank file, which stores no pretokenization pattern; "
                          "pass pattern= (--pattern on the command line), e.g. pattern='o200k', 'cl100k', 'llama3', 'gpt2' or a regex")
    pattern = PATTERN_ALIASES.get(pattern, pattern)
    from tokensmith.config import resolve_pattern

    return resolve_pattern(pattern)


def ranks_to_data(ranks: dict[bytes, int], *, pattern: str | None, special_tokens: dict[str, int] | None = None,
                  source: str = "rank file") -> BpeData:
    """A ``BpeData`` from ranks (+ the pattern, + specials: the known files' ones when not given)."""
    pattern = _resolve_pattern(pattern, source)
    if special_tokens is None:
        special_tokens = dict(KNOWN_ENCODINGS.get((len(ranks), pattern), ("", {}))[1])
    size = max([*ranks.values(), *special_tokens.values()]) + 1
    vocab: list[bytes | None] = [None] * size
    for token, rank in ranks.items():
        if vocab[rank] is not None:
            raise FormatError(f"{source}: rank {rank} is given to two tokens")
        vocab[rank] = token
    for text, i in special_tokens.items():
        if vocab[i] is not None:
            raise FormatError(f"{source}: special token {text!r} id {i} collides with a ranked token")
        vocab[i] = text.encode("utf-8")
    derived: dict[str, list] = {}

    def derive() -> dict[str, list]:  # only when something reads the merges (export, inspection)
        if not derived:
            pairs, priority = merges_from_ranks(ranks)
            derived["merges"] = [(ranks[a], ranks[b]) for a, b in pairs]
            derived["priority"] = priority
        return derived

    merges = LazyList(lambda: derive()["merges"])
    priority = LazyList(lambda: derive()["priority"])
    # tiktoken looks a whole piece up before merging; ignore_merges does the same.
    never = 2**32 - 1
    token_ranks = [never] * size
    for rank in ranks.values():
        token_ranks[rank] = rank
    return BpeData(vocab=vocab, merges=merges, merge_priority=priority, token_ranks=token_ranks,
                   special_tokens=dict(special_tokens),
                   pattern=pattern, units="bytes", ignore_merges=True, source=source)


def data_to_ranks(data: BpeData) -> dict[bytes, int]:
    """Ranks for a byte-level ``BpeData``: id is rank. Needs merges in increasing id order (trained files)."""
    if data.units != "bytes":
        raise FormatError("only byte-level BPE can be written as a tiktoken rank file")
    specials = set(data.special_tokens.values())
    ranks = {tok: i for i, tok in enumerate(data.vocab) if tok is not None and i not in specials}
    # tiktoken merges by the rank of the result, so results must rank in merge order.
    last = -1
    seen: set[int] = set()
    for left, right in data.merges:
        result = ranks.get(data.vocab[left] + data.vocab[right])  # type: ignore[operator]
        if result in seen:
            continue  # a second spelling of a token (a+bc after ab+c): tiktoken needs no entry for it
        if result is None or result < last:
            raise FormatError("this tokenizer's merge order differs from its id order, so it cannot be "
                              "expressed as tiktoken ranks; save it as tokenizer.json instead")
        last = result
        seen.add(result)
    return ranks


def to_encoding(data: BpeData, name: str = "tokensmith") -> Any:
    """A ``tiktoken.Encoding`` that gives the same ids."""
    try:
        import tiktoken
    except ImportError:
        raise ConfigError("to_tiktoken() needs the tiktoken package (pip install tiktoken)") from None
    if data.normalization != "none":
        raise FormatError(f"tiktoken cannot normalize text ({data.normalization}); this tokenizer cannot "
                          "be expressed as a tiktoken.Encoding")
    from tokensmith.formats.hf import _pattern_regex

    regex = _pattern_regex(data.pattern)
    if regex is None:
        raise FormatError("tiktoken needs a pretokenization pattern; this tokenizer has none")
    return tiktoken.Encoding(name=name, pat_str=regex, mergeable_ranks=data_to_ranks(data),
                             special_tokens=dict(data.special_tokens))
