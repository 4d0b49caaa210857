"""Tokenizer transfer: give a model trained with tokenizer A embeddings for a new tokenizer B.

Heuristics (the baselines ZeTT compares against; methods.md §10):
- every method but `random_all` first copies the rows of tokens A and B share (same text, same
  word-initial flag: GPT-2 `Ġthe` = WordPiece `the`, GPT-2 `ing` = WordPiece `##ing`);
- `fvt` (Fast Vocabulary Transfer, Gee et al. 2022): a new token is the mean of the A-pieces A's
  tokenizer splits it into;
- `wechsel` (Minixhofer et al. 2022): auxiliary embeddings for A's and B's tokens (PPMI + SVD of
  token co-occurrences on a corpus, standing in for fastText), B's aligned to A's by orthogonal
  Procrustes over the shared tokens (the "bilingual dictionary"); a new token is the softmax
  (temperature 0.1) weighted mean of its k = 10 nearest A tokens;
- `focus` (Dobler & de Melo 2023): auxiliary embeddings of B's tokens on the B-tokenized corpus;
  a new token is the sparsemax-weighted mean of the *shared* tokens' (copied) rows by similarity;
- `random` / `random_all`: normal with A's per-dimension mean and std (with / without copying).
New tokens the auxiliary embeddings never saw fall back to FVT (counted in the result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from tokensmith.errors import ConfigError

__all__ = ["METHODS", "TransferResult", "token_key", "shared_tokens", "source_pieces", "cooccurrence_embeddings",
           "sparsemax", "transfer_embeddings", "transfer_tiny_lm", "transfer_checkpoint", "embeddings_only"]

METHODS = ("fvt", "wechsel", "focus", "random", "random_all")


@dataclass
class TransferResult:
    """New embedding matrix for the target vocabulary, with how each row was made."""

    weight: Any  # torch.Tensor (rows = target ids, plus extra rows)
    method: str
    shared: dict[int, int] = field(default_factory=dict)  # target id -> source id (copied rows)
    fallback: int = 0  # new rows that fell back to FVT (no auxiliary embedding)
    unknown: int = 0  # new rows with no usable A-pieces (mean row)

    @property
    def n_shared(self) -> int:
        return len(self.shared)


# ---- matching tokens across tokenizers --------------------------------------------------------------

def _style(adapter) -> str:
    if getattr(adapter, "_wordpiece_prefix", None) is not None:
        return "wordpiece"
    return "marker" if getattr(adapter, "word_initial_marker", False) else "space"


def token_key(adapter, token_id: int, lowercase: bool = False) -> tuple[bytes, bool] | None:
    """(text bytes without the word-start space, word_initial) of a token; None for specials/empty."""
    data = adapter.token_bytes(token_id)
    if not data:
        return None
    style = _style(adapter)
    if style == "wordpiece":
        initial = not adapter.is_continuation(token_id)
    elif style == "marker":
        initial = not adapter.is_continuation(token_id)
        data = data[1:] if data.startswith(b" ") else data
    else:
        initial = data.startswith(b" ")
        data = data[1:] if initial else data
    if not data:
        return None
    if lowercase:
        try:
            data = data.decode("utf-8").lower().encode("utf-8")
        except UnicodeDecodeError:
            pass
    return data, initial


def _keys(adapter, lowercase: bool) -> dict[tuple[bytes, bool], int]:
    out: dict[tuple[bytes, bool], int] = {}
    for i in range(adapter.vocab_size):
        k = token_key(adapter, i, lowercase)
        if k is not None and k not in out:
            out[k] = i
    return out


def shared_tokens(source, target, *, lowercase: bool = False) -> dict[int, int]:
    """target id -> source id for tokens with the same text and word-initial flag."""
    src = _keys(source, lowercase)
    wordpiece = "wordpiece" in (_style(source), _style(target))
    out = {}
    for i in range(target.vocab_size):
        k = token_key(target, i, lowercase)
        if k is None:
            continue
        tries = [k]
        if not any(c.isalnum() for c in k[0].decode("utf-8", errors="replace")):
            # punctuation: WordPiece splits it off as a word of its own, byte-level BPE glues it on
            # without a space; prefer the WordPiece word-initial row (its `##,` rows are barely trained)
            tries = [(k[0], True), (k[0], False)] if wordpiece else [k, (k[0], not k[1])]
        for key in tries:
            if key in src:
                out[i] = src[key]
                break
    return out


def source_pieces(source, key: tuple[bytes, bool]) -> list[int]:
    """Ids of A's tokens that spell a B token (FVT decomposition), word-initial or not."""
    data, initial = key
    text = data.decode("utf-8", errors="replace")
    style = _style(source)
    if style == "space" and initial:
        text = " " + text
    ids = [i for i in source.encode(text) if i not in source.special_ids]
    if style == "wordpiece" and ids and not initial:
        first = source.token_bytes(ids[0])
        inner = getattr(source, "tokenizer", None)
        cont = inner.token_to_id(source._wordpiece_prefix + first.decode("utf-8", "replace")) if inner and first else None
        if cont is not None:
            ids[0] = cont
    return ids


# ---- auxiliary embeddings -------------------------------------------------------------------------

def cooccurrence_embeddings(seqs: Sequence[Sequence[int]], vocab_size: int, *, dim: int = 64, window: int = 4,
                            seed: int = 0) -> np.ndarray:
    """Token vectors from PPMI-weighted co-occurrence counts (±window) and a truncated SVD.

    A small stand-in for fastText: rows of tokens that never occur are zero. Returns (vocab_size, dim), L2-normalised.
    """
    import torch

    parts = [np.asarray(s, dtype=np.int64) for s in seqs if len(s) > 1]
    if not parts:
        return np.zeros((vocab_size, dim), dtype=np.float32)
    keys = []
    for a in parts:
        for k in range(1, window + 1):
            if len(a) > k:
                keys.append(a[:-k] * vocab_size + a[k:])
                keys.append(a[k:] * vocab_size + a[:-k])
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    rows, cols = uniq // vocab_size, uniq % vocab_size
    counts = counts.astype(np.float64)
    row_sum = np.bincount(rows, weights=counts, minlength=vocab_size)
    col_sum = np.bincount(cols, weights=counts, minlength=vocab_size) ** 0.75  # context smoothing (word2vec)
    pmi = np.log(counts * col_sum.sum() / (row_sum[rows] * col_sum[cols]))
    keep = pmi > 0
    mat = torch.sparse_coo_tensor(np.stack([rows[keep], cols[keep]]), torch.tensor(pmi[keep], dtype=torch.float32),
                                  (vocab_size, vocab_size), check_invariants=False).coalesce()
    q = min(dim, vocab_size - 1)
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(mat, q=q, niter=4)
    vec = (u * s.sqrt()).numpy()
    vec[np.bincount(rows[keep], minlength=vocab_size) == 0] = 0.0  # no evidence: no vector (randomized SVD noise)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    vec = np.where(norms > 0, vec / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    if q < dim:
        vec = np.pad(vec, ((0, 0), (0, dim - q)))
    return vec


def sparsemax(z: np.ndarray) -> np.ndarray:
    """Sparsemax (Martins & Astudillo 2016) of a 1-D score vector: a sparse probability vector."""
    z = np.asarray(z, dtype=np.float64)
    zs = np.sort(z)[::-1]
    cums = np.cumsum(zs)
    k = np.arange(1, len(z) + 1)
    support = 1 + k * zs > cums
    kz = k[support][-1]
    tau = (cums[kz - 1] - 1) / kz
    return np.maximum(z - tau, 0.0)


def _procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Orthogonal W minimising ||x W - y||."""
    u, _, vt = np.linalg.svd(x.T @ y)
    return u @ vt


# ---- the transfer itself --------------------------------------------------------------------------

def transfer_embeddings(source, target, weight, *, method: str = "fvt", corpus: Sequence[str] | None = None,
                        k: int = 10, temperature: float = 0.1, aux_dim: int = 64, extra_rows: Mapping[int, int] | None = None,
                        lowercase: bool = False, seed: int = 0) -> TransferResult:
    """Embeddings for `target`'s ids from `weight` (source ids -> rows).

    `extra_rows` maps target rows beyond the tokenizer (BOS, [CLS]...) to source rows, copied as is.
    `corpus` (texts) is needed by `wechsel` and `focus`. `lowercase` matches tokens case-insensitively
    (an uncased source such as BERT uncased). Raises `ConfigError` on size mismatch or no overlap.
    """
    import torch

    from tokensmith.evaluate.loaders import as_adapter

    if method not in METHODS:
        raise ConfigError(f"unknown transfer method '{method}': use one of {', '.join(METHODS)}")
    source, target = as_adapter(source), as_adapter(target)
    weight = torch.as_tensor(weight)
    if weight.dim() != 2:
        raise ConfigError(f"embedding matrix must be 2-D (got shape {tuple(weight.shape)})")
    if weight.shape[0] < source.vocab_size:
        raise ConfigError(f"embedding matrix has {weight.shape[0]} rows but the source tokenizer has "
                          f"{source.vocab_size} ids: pass the tokenizer the model was trained with")
    extra_rows = dict(extra_rows or {})
    for t, s in extra_rows.items():
        if not 0 <= s < weight.shape[0]:
            raise ConfigError(f"extra row {t} <- {s}: source row out of range (0..{weight.shape[0] - 1})")
    if method in ("wechsel", "focus") and not corpus:
        raise ConfigError(f"method '{method}' needs corpus= (texts to train auxiliary embeddings on)")
    n_rows = max([target.vocab_size] + [t + 1 for t in extra_rows])
    w = weight.detach().float()
    mean, std = w[: source.vocab_size].mean(0), w[: source.vocab_size].std(0)
    gen = torch.Generator().manual_seed(seed)
    out = mean + std * torch.randn(n_rows, w.shape[1], generator=gen)
    result = TransferResult(out, method)
    if method == "random_all":
        for t, s in extra_rows.items():
            out[t] = w[s]
        result.weight = out.to(weight.dtype)
        return result
    shared = shared_tokens(source, target, lowercase=lowercase)
    if not shared:
        raise ConfigError(f"target tokenizer {target.name!r} shares no token with the source {source.name!r}: "
                          "transfer needs some overlap (check casing: lowercase=True for uncased models)")
    result.shared = shared
    for t, s in shared.items():
        out[t] = w[s]
    new = [i for i in range(target.vocab_size) if i not in shared and i not in target.special_ids
           and token_key(target, i, lowercase) is not None]

    def fvt(i: int) -> torch.Tensor | None:
        pieces = [p for p in source_pieces(source, token_key(target, i, lowercase)) if p < w.shape[0]]
        return w[pieces].mean(0) if pieces else None

    if method == "fvt" or method in ("wechsel", "focus"):
        fv = {}
        for i in new:
            v = fvt(i)
            if v is None:
                result.unknown += 1
                v = mean
            fv[i] = v
    if method == "fvt":
        for i, v in fv.items():
            out[i] = v
    elif method in ("wechsel", "focus"):
        tgt_seqs = target.encode_batch(list(corpus))
        aux_t = cooccurrence_embeddings(tgt_seqs, target.vocab_size, dim=aux_dim, seed=seed)
        seen_t = np.linalg.norm(aux_t, axis=1) > 0
        if method == "wechsel":
            aux_s = cooccurrence_embeddings(source.encode_batch(list(corpus)), source.vocab_size, dim=aux_dim,
                                            seed=seed)
            seen_s = np.linalg.norm(aux_s, axis=1) > 0
            pairs = [(t, s) for t, s in shared.items() if seen_t[t] and seen_s[s]]
            if len(pairs) < 2:
                raise ConfigError("too few shared tokens occur in the corpus to align auxiliary embeddings")
            rot = _procrustes(aux_t[[t for t, _ in pairs]], aux_s[[s for _, s in pairs]])
            aligned = aux_t @ rot
            cand = np.flatnonzero(seen_s[: source.vocab_size])
            cand = np.array([c for c in cand if c not in source.special_ids])
            bank = aux_s[cand]
        else:
            cand = np.array([t for t in shared if seen_t[t]])
            if len(cand) == 0:
                raise ConfigError("no shared token occurs in the corpus: FOCUS has nothing to combine")
            bank = aux_t[cand]
        for i in new:
            if not seen_t[i]:
                out[i] = fv[i]
                result.fallback += 1
                continue
            if method == "wechsel":
                sims = bank @ aligned[i]
                top = np.argsort(-sims)[:k]
                p = np.exp((sims[top] - sims[top].max()) / temperature)
                p /= p.sum()
                rows = w[torch.as_tensor(cand[top])]
            else:
                sims = bank @ aux_t[i]
                p = sparsemax(sims)
                nz = np.flatnonzero(p)
                p, rows = p[nz], out[torch.as_tensor(cand[nz])]
            out[i] = (torch.as_tensor(p, dtype=torch.float32)[:, None] * rows).sum(0)
    for t, s in extra_rows.items():
        out[t] = w[s]
    result.weight = out.to(weight.dtype)
    return result


def transfer_tiny_lm(model, source, target, *, method: str = "fvt", corpus: Sequence[str] | None = None,
                     **kwargs: Any):
    """A copy of a `tokensmith.lm` TinyGPT for `target`: input and output embeddings transferred (BOS copied),
    every other weight unchanged. Returns (new model, TransferResult of the input side)."""
    import copy

    import torch

    from tokensmith.evaluate.loaders import as_adapter

    source, target = as_adapter(source), as_adapter(target)
    if model.vocab_size != source.vocab_size + 1:
        raise ConfigError(f"model has {model.vocab_size} embedding rows but source tokenizer has {source.vocab_size} "
                          "ids (+1 BOS): pass the tokenizer the model was trained with")
    extra = {target.vocab_size: source.vocab_size}  # BOS
    res_in = transfer_embeddings(source, target, model.tok_emb.weight, method=method, corpus=corpus,
                                 extra_rows=extra, **kwargs)
    res_out = transfer_embeddings(source, target, model.lm_head.weight, method=method, corpus=corpus,
                                  extra_rows=extra, **kwargs)
    new = copy.deepcopy(model)
    rows = target.vocab_size + 1
    new.vocab_size = rows
    new.tok_emb = torch.nn.Embedding(rows, model.cfg.d_model)
    new.lm_head = torch.nn.Linear(model.cfg.d_model, rows, bias=False)
    with torch.no_grad():
        new.tok_emb.weight.copy_(res_in.weight)
        if model.cfg.tie_embeddings:
            new.lm_head.weight = new.tok_emb.weight
        else:
            new.lm_head.weight.copy_(res_out.weight)
    return new, res_in


def transfer_checkpoint(src_path, dst_path, source, target, *, method: str = "fvt", corpus: Sequence[str] | None = None,
                        input_key: str | None = None, output_key: str | None = None,
                        extra_rows: Mapping[int, int] | None = None, **kwargs: Any) -> TransferResult:
    """Transfer the embeddings of a safetensors checkpoint and write it to `dst_path` (atomically; nothing
    is written on failure). Other tensors are copied unchanged."""
    from tokensmith.adapt.embeddings import find_embedding_keys, read_safetensors, write_safetensors

    state = read_safetensors(src_path)
    keys = find_embedding_keys(state, input_key, output_key)
    res = transfer_embeddings(source, target, state[keys.input], method=method, corpus=corpus,
                              extra_rows=extra_rows, **kwargs)
    state[keys.input] = res.weight
    if keys.output is not None:
        state[keys.output] = transfer_embeddings(source, target, state[keys.output], method=method, corpus=corpus,
                                                 extra_rows=extra_rows, **kwargs).weight
    write_safetensors(state, dst_path)
    return res


def embeddings_only(name: str) -> bool:
    """Parameter filter for the light continued training after transfer: input and output embeddings only.

    >>> from tokensmith.lm.train import train_lm                             # doctest: +SKIP
    >>> model, _ = train_lm(cfg.replace(steps=60), chunks_b, model=new, trainable=embeddings_only)  # doctest: +SKIP
    """
    return name in ("tok_emb.weight", "lm_head.weight")
