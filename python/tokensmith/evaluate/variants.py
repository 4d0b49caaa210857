"""Sensitivity to language variation: British vs American spelling pairs.

A tokenizer trained mostly on one variety splits the other variety's spellings into more pieces
(`colour` vs `color`). `variation_sensitivity` counts the tokens of each form (as a word in running
text) and how many pairs tokenize to a different number of tokens.

>>> pairs = [("colour", "color"), ("centre", "center")]
>>> counts = {"colour": 2, "color": 1, "centre": 1, "center": 1}
>>> r = variation_sensitivity(lambda ws: [counts[w] for w in ws], pairs)
>>> r["tokens_gb"], r["tokens_us"], r["pairs_different_length"], r["gb_longer"]
(3, 2, 1, 1)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tokensmith.errors import CorpusError

__all__ = ["load_spelling_pairs", "variation_sensitivity", "word_token_counter"]


def load_spelling_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Read `british<TAB>american[...]` rows (with a header), e.g. `english_variants/spelling_pairs_gb_us.tsv`."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"spelling-pair file {path} does not exist: pass a british/american TSV")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or len(rows[0]) < 2:
        raise CorpusError(f"{path} has no british/american columns")
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2 and r[0] and r[1]]


def word_token_counter(tokenizer: Any, *, leading_space: bool | None = None) -> Callable[[Sequence[str]], list[int]]:
    """`words -> tokens per word`, each word encoded as it appears in running text (after a space for
    byte-level BPEs; SentencePiece and WordPiece mark word starts themselves)."""
    from tokensmith.evaluate.loaders import as_adapter

    adapter = as_adapter(tokenizer)
    if leading_space is None:
        leading_space = adapter.kind == "tiktoken" or bool(getattr(adapter, "_byte_level", False))

    def count(words: Sequence[str]) -> list[int]:
        texts = [(" " + w) if leading_space else w for w in words]
        return [len(ids) for ids in adapter.encode_batch(texts)]

    return count


def variation_sensitivity(count_tokens: Callable[[Sequence[str]], Sequence[int]] | Any,
                          pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Tokens of the British and the American forms, and how many pairs differ in token count.

    `count_tokens` is `words -> token counts` or a tokenizer (see `word_token_counter`).
    """
    if not callable(count_tokens) or hasattr(count_tokens, "encode_batch"):
        count_tokens = word_token_counter(count_tokens)
    gb = np.asarray(count_tokens([p[0] for p in pairs]), dtype=np.int64)
    us = np.asarray(count_tokens([p[1] for p in pairs]), dtype=np.int64)
    diff = gb - us
    n = len(pairs)
    return {
        "pairs": n,
        "tokens_gb": int(gb.sum()), "tokens_us": int(us.sum()),
        "ratio_gb_over_us": float(gb.sum() / us.sum()) if us.sum() else float("nan"),
        "pairs_different_length": int((diff != 0).sum()),
        "share_different_length": float((diff != 0).mean()) if n else float("nan"),
        "gb_longer": int((diff > 0).sum()), "us_longer": int((diff < 0).sum()),
        "mean_abs_difference": float(np.abs(diff).mean()) if n else float("nan"),
    }
