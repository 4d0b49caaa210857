"""Under-trained token candidates: from the tokenizer alone, and from a model's input embeddings.

Tokenizer-only signals (Land & Bartolo, 2024, "Fishing for Magikarp"):
- `undecodable_tokens`: ids whose bytes are not valid UTF-8 on their own (partial characters of a
  byte-level BPE); they can only occur next to other tokens.
- `unreachable_tokens`: ids whose decoded string does not encode back to that single id.
- never-produced tokens on a corpus (`metrics.vocabulary_utilisation`).

From weights: `undertrained_candidates` takes the input embedding matrix and flags the reachable
tokens whose embedding norm is in the bottom 2%, then cross-tabulates them with the signals above.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from tokensmith.errors import ConfigError, FormatError

__all__ = ["undecodable_tokens", "unreachable_tokens", "load_embedding_matrix", "embedding_norms",
           "undertrained_candidates"]


def _adapter(tokenizer: Any):
    from tokensmith.evaluate.loaders import as_adapter

    return as_adapter(tokenizer)


def undecodable_tokens(tokenizer: Any, ids: Iterable[int] | None = None) -> list[int]:
    """Ids (specials excluded) whose bytes are not valid UTF-8 by themselves.

    >>> import tiktoken  # doctest: +SKIP
    """
    a = _adapter(tokenizer)
    out = []
    for i in (range(a.vocab_size) if ids is None else ids):
        b = a.token_bytes(i)
        if b is None:
            continue
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            out.append(i)
    return out


def unreachable_tokens(tokenizer: Any, ids: Iterable[int] | None = None, *, batch_size: int = 4096) -> dict[str, list[int]]:
    """Ids whose string does not encode back to exactly that id.

    Returns `{"unreachable": [...], "unchecked": [...]}`. Specials and undecodable ids are left out;
    word-internal pieces of tokenizers that mark word starts (WordPiece `##x`, SentencePiece pieces without
    `▁`) cannot be encoded alone and are listed as `unchecked`. A SentencePiece word-initial piece `▁x` is
    checked by encoding `x` (the tokenizer adds the `▁`).
    """
    a = _adapter(tokenizer)
    ids = range(a.vocab_size) if ids is None else list(ids)
    texts: list[str] = []
    checked: list[int] = []
    unchecked: list[int] = []
    for i in ids:
        b = a.token_bytes(i)
        if b is None:
            continue
        try:
            s = b.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if a.word_initial_marker:
            if a.is_continuation(i):
                unchecked.append(i)
                continue
            if a.kind != "hf" or getattr(a, "_metaspace", False):
                s = s[1:] if s.startswith(" ") else s
        if not s:
            unchecked.append(i)
            continue
        texts.append(s)
        checked.append(i)
    unreachable = []
    for start in range(0, len(texts), batch_size):
        enc = a.encode_batch(texts[start:start + batch_size])
        for i, got in zip(checked[start:start + batch_size], enc):
            if list(got) != [i]:
                unreachable.append(i)
    return {"unreachable": unreachable, "unchecked": unchecked}


def load_embedding_matrix(source: Any, key: str | None = None, *, vocab_size: int | None = None) -> np.ndarray:
    """The input embedding matrix as float32 numpy, from a safetensors file, a torch tensor or an array.

    Without `key`, the first 2-D tensor whose name contains `embed` (word/token embeddings preferred) and
    whose row count is at least `vocab_size` is used.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FormatError(f"embedding file {path} does not exist: pass a .safetensors file")
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="np") as f:
                keys = list(f.keys())
                if key is None:
                    key = _pick_embedding_key(keys, lambda k: f.get_slice(k).get_shape(), vocab_size, path)
                if key not in keys:
                    raise ConfigError(f"{path} has no tensor '{key}': choose one of {', '.join(keys[:10])}...")
                return np.asarray(f.get_tensor(key), dtype=np.float32)
        except (ConfigError, FormatError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise FormatError(f"cannot read {path} as safetensors ({exc}); pass a .safetensors file") from exc
    if hasattr(source, "detach"):
        source = source.detach().float().cpu().numpy()
    arr = np.asarray(source, dtype=np.float32)
    if arr.ndim != 2:
        raise ConfigError(f"an embedding matrix must be 2-D (vocab × dim), got shape {arr.shape}")
    return arr


def _pick_embedding_key(keys: Sequence[str], shape_of, vocab_size: int | None, path: Path) -> str:
    cands = []
    for k in keys:
        shape = shape_of(k)
        if len(shape) == 2 and "embed" in k.lower() and (vocab_size is None or shape[0] >= vocab_size):
            score = 0 if any(s in k for s in ("word_embeddings", "embed_tokens", "wte", "tok_embeddings")) else 1
            cands.append((score, -shape[0], k))
    if not cands:
        raise ConfigError(f"no input embedding matrix found in {path}: pass key= (tensor names: {', '.join(keys[:8])}...)")
    return sorted(cands)[0][2]


def embedding_norms(matrix: Any) -> np.ndarray:
    """L2 norm of each row.

    >>> embedding_norms([[3, 4], [0, 1]]).tolist()
    [5.0, 1.0]
    """
    m = np.asarray(matrix, dtype=np.float32) if not hasattr(matrix, "detach") else load_embedding_matrix(matrix)
    return np.linalg.norm(m, axis=1)


def undertrained_candidates(tokenizer: Any, embeddings: Any, *, quantile: float = 0.02,
                            frequencies: Sequence[int] | None = None, key: str | None = None,
                            unreachable: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Tokens whose input-embedding norm is in the bottom `quantile` among reachable, decodable,
    non-special tokens, cross-tabulated with the tokenizer-only signals.

    `embeddings` is a safetensors path, a torch tensor or an array (rows ≥ the tokenizer's ids);
    `frequencies` (optional) are corpus counts per id for the "never produced" signal.
    """
    a = _adapter(tokenizer)
    matrix = load_embedding_matrix(embeddings, key, vocab_size=a.vocab_size) if isinstance(embeddings, (str, Path)) \
        else load_embedding_matrix(embeddings)
    if matrix.shape[0] < a.vocab_size:
        raise ConfigError(f"embedding matrix has {matrix.shape[0]} rows, fewer than the tokenizer's {a.vocab_size} ids: "
                          "is it the model of this tokenizer?")
    norms = np.linalg.norm(matrix[: a.vocab_size], axis=1)
    undecodable = set(undecodable_tokens(a))
    reach = unreachable if unreachable is not None else unreachable_tokens(a)
    unreachable_set = set(reach["unreachable"])
    eligible = np.array([i for i in range(a.vocab_size)
                         if i not in a.special_ids and i not in undecodable and i not in unreachable_set
                         and a.token_bytes(i) is not None], dtype=np.int64)
    if not len(eligible):
        raise ConfigError("no reachable tokens to rank by embedding norm")
    threshold = float(np.quantile(norms[eligible], quantile))
    cands = eligible[norms[eligible] <= threshold]
    cands = cands[np.argsort(norms[cands])]
    never = set()
    if frequencies is not None:
        f = np.asarray(frequencies)
        never = {int(i) for i in range(min(len(f), a.vocab_size)) if f[i] == 0}
    cand_set = {int(i) for i in cands}
    unchecked = set(reach.get("unchecked", []))
    crosstab = {
        "candidates": len(cand_set),
        "candidates_never_produced": len(cand_set & never) if frequencies is not None else None,
        "candidates_unchecked_reachability": len(cand_set & unchecked),
        "eligible_never_produced": len(set(eligible.tolist()) & never) if frequencies is not None else None,
        "eligible": int(len(eligible)),
        "unreachable": len(unreachable_set),
        "undecodable": len(undecodable),
        "special": len(a.special_ids),
        "unreachable_mean_norm": float(norms[list(unreachable_set)].mean()) if unreachable_set else None,
        "eligible_mean_norm": float(norms[eligible].mean()),
    }
    examples = [{"id": int(i), "token": (a.token_bytes(int(i)) or b"").decode("utf-8", "replace"),
                 "norm": float(norms[i])} for i in cands[:50]]
    return {"quantile": quantile, "threshold": threshold, "vocab_size": a.vocab_size,
            "candidate_ids": [int(i) for i in cands], "examples": examples, "crosstab": crosstab}
