"""AdaptiVocab (Nakash et al., 2025): adapt an existing tokenizer to a domain with a fixed
vocabulary size. Differs from plain BPE in that nothing is retrained: n-grams (n <= 5) of the base
tokenizer's tokens that save the most tokens on the domain take the ids of tokens the domain
rarely uses, and encoding patches the base tokenizer's output.

Selection: savings(g) = freq(g) x (len(g) - 1), greedy; after each round of picks the chosen
n-grams are merged into the domain sequences and every count is recomputed, so overlapping
candidates (` of the` vs `of the European`) are scored on what is left. Removed tokens are the
least-used ones on the domain (never single bytes, specials, or pieces of a chosen n-gram); each is
decomposed into the fewest remaining tokens that spell it.

Patched encoding: base encode -> decompose removed ids -> merge runs into n-gram tokens, longest n
first. Embeddings of an n-gram token (t_1..t_n): input row sum_i w_i E_in(t_i), w_i ∝ exp(+c·i)
(later pieces weigh more); output row with w_i ∝ exp(-c·i) (earlier pieces weigh more).

>>> av = AdaptiVocab.fit(base, domain_texts, num_tokens=1000)     # doctest: +SKIP
>>> av.decode(av.encode("Article 5 of the Regulation")) == "Article 5 of the Regulation"  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError, FormatError, TokenError

__all__ = ["AdaptiVocab", "select_ngrams", "init_embeddings", "finetune_filter"]


def select_ngrams(seqs: Sequence[Sequence[int]], num_tokens: int, *, max_n: int = 5, min_freq: int = 3,
                  rounds: int = 20, banned: set[int] | None = None) -> list[tuple[int, ...]]:
    """Pick up to `num_tokens` n-grams of base ids (2 <= n <= max_n), greedy by savings with recounting.

    Each round takes the best remaining candidates (about num_tokens / rounds, no two sharing a
    unit), merges them into the sequences, then recounts. Units are base ids or earlier picks, so a
    pick may extend an earlier one; its length in base ids stays <= max_n. Counting is exact
    (numpy `unique` over the sliding windows of one flat array; -1 separates documents).
    """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    if num_tokens <= 0:
        return []
    banned = set(banned or ())
    top_base = max((max(s) for s in seqs if len(s)), default=-1) + 1
    # units: ids < top_base are base ids; top_base + k is pick k
    units: list[tuple[int, ...]] = []
    parts = []
    for s in seqs:
        if len(s):
            parts.append(np.asarray(s, dtype=np.int64))
            parts.append(np.array([-1], dtype=np.int64))
    arr = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    picks: list[tuple[int, ...]] = []
    per_round = max(1, -(-num_tokens // max(1, rounds)))

    def base_of(u: int) -> tuple[int, ...]:
        return (u,) if u < top_base else units[u - top_base]

    banned_arr = np.array(sorted(banned), dtype=np.int64)
    while len(picks) < num_tokens and len(arr) > 1:
        lens = np.ones(top_base + len(units), dtype=np.int64)
        bad = np.zeros(top_base + len(units), dtype=bool)
        if len(banned_arr):
            bad[banned_arr[banned_arr < top_base]] = True
        for k, g in enumerate(units):
            lens[top_base + k] = len(g)
            bad[top_base + k] = bool(banned.intersection(g))
        cands = []
        for n in range(2, max_n + 1):
            if len(arr) < n:
                break
            win = sliding_window_view(arr, n)
            ok = (win >= 0).all(1)
            win = win[ok]
            if not len(win):
                continue
            ok = (lens[win].sum(1) <= max_n) & ~bad[win].any(1)
            win = win[ok]
            if not len(win):
                continue
            grams, counts = np.unique(win, axis=0, return_counts=True)
            keep = counts >= min_freq
            grams, counts = grams[keep], counts[keep]
            if not len(grams):
                continue
            sav = counts * (n - 1)
            order = np.argsort(-sav, kind="stable")[: 4 * per_round]
            cands += [(int(sav[i]), int(counts[i]), tuple(int(x) for x in grams[i])) for i in order]
        if not cands:
            break
        cands.sort(key=lambda c: (-c[0], -c[1], sum((base_of(u) for u in c[2]), ())))
        seen = set(picks)
        taken: set[int] = set()
        chosen: dict[int, tuple[tuple[int, ...], int]] = {}  # first unit -> (gram, new unit)
        for _, _, g in cands:
            if len(chosen) >= min(per_round, num_tokens - len(picks)):
                break
            base = sum((base_of(u) for u in g), ())
            if base in seen or taken.intersection(g):
                continue
            taken.update(g)
            seen.add(base)
            units.append(base)
            picks.append(base)
            chosen[g[0]] = (g, top_base + len(units) - 1)
        if not chosen:
            break
        # one left-to-right pass applies every pick of the round (they share no unit)
        src = arr.tolist()
        out: list[int] = []
        i, L = 0, len(src)
        while i < L:
            hit = chosen.get(src[i])
            if hit is not None:
                g, unit = hit
                n = len(g)
                if tuple(src[i:i + n]) == g:
                    out.append(unit)
                    i += n
                    continue
            out.append(src[i])
            i += 1
        arr = np.asarray(out, dtype=np.int64)
    return picks


def _min_pieces(data: bytes, table: dict[bytes, int], max_len: int) -> list[int] | None:
    """Fewest tokens of `table` that spell `data` (DP), or None."""
    n = len(data)
    best: list[tuple[int, int, int] | None] = [None] * (n + 1)  # (count, prev, id)
    best[0] = (0, -1, -1)
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + max_len) + 1):
            tid = table.get(data[i:j])
            if tid is not None and (best[j] is None or best[j][0] > best[i][0] + 1):
                best[j] = (best[i][0] + 1, i, tid)
    if best[n] is None:
        return None
    out, j = [], n
    while j > 0:
        _, i, tid = best[j]
        out.append(tid)
        j = i
    return out[::-1]


@dataclass
class AdaptiVocab:
    """A base tokenizer patched for a domain: `new_tokens[id]` = base ids it stands for (the id was a
    removed token's), `decompose[id]` = remaining base ids that spell a removed token."""

    base: Any
    new_tokens: dict[int, tuple[int, ...]] = field(default_factory=dict)
    decompose: dict[int, list[int]] = field(default_factory=dict)
    max_n: int = 5

    def __post_init__(self) -> None:
        from tokensmith.evaluate.loaders import as_adapter

        self.base = as_adapter(self.base)
        self._by_len: dict[int, dict[tuple[int, ...], int]] = {}
        for tid, gram in self.new_tokens.items():
            self._by_len.setdefault(len(gram), {})[tuple(gram)] = tid

    # -- fitting ------------------------------------------------------------------------------
    @classmethod
    def fit(cls, base: Any, texts: Sequence[str], num_tokens: int, *, max_n: int = 5, min_freq: int = 3,
            rounds: int = 20) -> "AdaptiVocab":
        """Choose `num_tokens` n-gram tokens on `texts` and the same number of rarely used tokens to replace."""
        from tokensmith.evaluate.loaders import as_adapter

        if not 2 <= max_n <= 5:
            raise ConfigError(f"max_n must be in 2..5 (got {max_n})")
        if num_tokens < 0:
            raise ConfigError(f"num_tokens must be >= 0 (got {num_tokens})")
        base = as_adapter(base)
        seqs = base.encode_batch(list(texts))
        if not any(seqs):
            raise ConfigError("the domain corpus is empty: give domain texts to adapt to")
        usage = Counter(i for s in seqs for i in s)
        byte_tokens = {}
        removable = []
        for i in range(base.vocab_size):
            b = base.token_bytes(i)
            if b is None or i in base.special_ids:
                continue
            if len(b) == 1 or b not in byte_tokens:
                byte_tokens.setdefault(b, i)
            if len(b) > 1:
                removable.append(i)
        # the least used tokens first (ties: longest, then highest id = latest merge)
        removable.sort(key=lambda i: (usage.get(i, 0), -len(base.token_bytes(i)), -i))
        # never remove a token a pick needs: pick first on the domain, ban nothing but specials
        picks = select_ngrams(seqs, num_tokens, max_n=max_n, min_freq=min_freq, rounds=rounds,
                              banned=set(base.special_ids))
        used_in_picks = {t for g in picks for t in g}
        victims = [i for i in removable if i not in used_in_picks][: len(picks)]
        if len(victims) < len(picks):
            picks = picks[: len(victims)]
        victim_set = set(victims)
        table = {b: i for b, i in byte_tokens.items() if i not in victim_set}
        longest = max(map(len, table), default=1)
        decompose = {}
        for v in victims:
            pieces = _min_pieces(base.token_bytes(v), table, longest)
            if pieces is None:
                raise ConfigError(f"token {v} cannot be spelled by the remaining tokens: the base tokenizer "
                                  "needs byte or character fallback tokens")
            decompose[v] = pieces
        return cls(base, dict(zip(victims, picks)), decompose, max_n)

    # -- encoding -----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.base.vocab_size

    @property
    def special_ids(self) -> frozenset[int]:
        return self.base.special_ids

    def patch(self, ids: Sequence[int]) -> list[int]:
        """Base ids -> adapted ids: decompose removed tokens, then merge n-grams longest first."""
        seq: list[int] = []
        for i in ids:
            seq.extend(self.decompose.get(i, (i,)))
        is_new = [False] * len(seq)
        for n in sorted(self._by_len, reverse=True):
            table = self._by_len[n]
            out, flags, j, L = [], [], 0, len(seq)
            while j < L:
                if j + n <= L and not any(is_new[j:j + n]):
                    tid = table.get(tuple(seq[j:j + n]))
                    if tid is not None:
                        out.append(tid)
                        flags.append(True)
                        j += n
                        continue
                out.append(seq[j])
                flags.append(is_new[j])
                j += 1
            seq, is_new = out, flags
        return seq

    def expand(self, ids: Sequence[int]) -> list[int]:
        """Adapted ids -> base ids."""
        out: list[int] = []
        for i in ids:
            if i in self.new_tokens:
                out.extend(self.new_tokens[i])
            elif 0 <= i < self.vocab_size:
                out.append(i)
            else:
                raise TokenError(f"id {i} is outside the vocabulary (size {self.vocab_size})")
        return out

    def encode(self, text: str) -> list[int]:
        return self.patch(self.base.encode(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.patch(s) for s in self.base.encode_batch(list(texts))]

    def decode(self, ids: Sequence[int]) -> str:
        return self.base.decode(self.expand(ids))

    def token_bytes(self, token_id: int) -> bytes | None:
        if token_id in self.new_tokens:
            return b"".join(self.base.token_bytes(i) or b"" for i in self.new_tokens[token_id])
        return self.base.token_bytes(token_id)

    # -- files --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, base_spec: str) -> Path:
        """Write the patch as JSON (atomically); `base_spec` is how to load the base tokenizer again."""
        data = {"format": "tokensmith-adaptivocab", "version": 1, "base": base_spec, "max_n": self.max_n,
                "new_tokens": {str(k): list(v) for k, v in self.new_tokens.items()},
                "decompose": {str(k): v for k, v in self.decompose.items()}}
        with atomic_write(path) as f:
            json.dump(data, f)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AdaptiVocab":
        from tokensmith.evaluate.loaders import load_tokenizer

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != "tokensmith-adaptivocab":
                raise FormatError(f"{path} is not an AdaptiVocab file")
            base = load_tokenizer(data["base"])
            return cls(base, {int(k): tuple(v) for k, v in data["new_tokens"].items()},
                       {int(k): list(v) for k, v in data["decompose"].items()}, int(data["max_n"]))
        except FileNotFoundError as exc:
            raise FormatError(f"{path} does not exist") from exc
        except (KeyError, ValueError, TypeError) as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"{path} is not a valid AdaptiVocab file ({exc})") from exc


def init_embeddings(av: AdaptiVocab, input_weight, output_weight=None, *, c: float = 1.0):
    """New (input, output) matrices: rows of n-gram tokens are exponentially weighted sums of their
    pieces' rows (input: later pieces weigh more, w_i ∝ exp(+c·i); output: w_i ∝ exp(-c·i)).
    Other rows are copied. Extra rows beyond the vocabulary (BOS...) are kept."""
    import torch

    if input_weight.shape[0] < av.vocab_size:
        raise ConfigError(f"embedding matrix has {input_weight.shape[0]} rows, fewer than the vocabulary "
                          f"({av.vocab_size})")
    if output_weight is not None and output_weight.shape != input_weight.shape:
        raise ConfigError(f"input {tuple(input_weight.shape)} and output {tuple(output_weight.shape)} embeddings differ")
    new_in = input_weight.detach().clone()
    new_out = output_weight.detach().clone() if output_weight is not None else None
    for tid, gram in av.new_tokens.items():
        idx = torch.tensor(gram)
        pos = torch.arange(len(gram), dtype=torch.float32)
        w_in = torch.softmax(c * pos, 0).to(new_in.dtype)
        new_in[tid] = (w_in[:, None] * input_weight[idx]).sum(0)
        if new_out is not None:
            w_out = torch.softmax(-c * pos, 0).to(new_out.dtype)
            new_out[tid] = (w_out[:, None] * output_weight[idx]).sum(0)
    return new_in, new_out


def finetune_filter(n_layer: int):
    """Parameter filter for the light fine-tuning phase of a tokensmith TinyGPT: embeddings, the first and
    last blocks, and the final LayerNorm."""
    first, last = "blocks.0.", f"blocks.{n_layer - 1}."

    def keep(name: str) -> bool:
        return name in ("tok_emb.weight", "lm_head.weight") or name.startswith((first, last, "ln_f."))

    return keep
