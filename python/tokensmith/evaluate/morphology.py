"""Morphological alignment of a tokenizer against gold segmentations (MorphBPE's three metrics).

All three take `tokenize`: a callable `word -> list[str]` (the surface pieces of the word), or any
tokenizer object, which `word_segmenter` turns into one; `gold` maps a word to its morphemes.

- `morph_consistency_f1`: over word pairs, gold positive = the words share a morpheme, predicted
  positive = they share a token; precision, recall and F1 of the predicted pairs (Asgari et al., 2025).
- `morph_edit_distance`: Levenshtein distance between the token sequence and the morpheme sequence
  (pieces as units), per word, averaged.
- `morpheme_boundary_prf`: precision/recall/F1 of the word-internal boundaries the tokenizer places
  against the gold morpheme boundaries; only words whose morphemes spell the word (surface
  segmentations) count, the others are reported as skipped.

>>> gold = {"walked": ["walk", "ed"], "walking": ["walk", "ing"], "jumped": ["jump", "ed"]}
>>> seg = {"walked": ["walk", "ed"], "walking": ["wal", "king"], "jumped": ["jump", "ed"]}.__getitem__
>>> morpheme_boundary_prf(seg, gold)["f1"]
0.6666666666666666
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from tokensmith.errors import ConfigError, CorpusError

__all__ = ["load_gold_segmentations", "word_segmenter", "morph_consistency_f1", "morph_edit_distance",
           "morpheme_boundary_prf", "levenshtein", "boundaries"]

Segmenter = Callable[[str], Sequence[str]]


def load_gold_segmentations(path: str | Path, *, word_column: str = "word",
                            morpheme_column: str = "morphemes", limit: int | None = None) -> dict[str, list[str]]:
    """Read a `word<TAB>morphemes` TSV (header row; morphemes space-separated), e.g.
    `shared/data/morphology/eng.tsv`. For Arabic, `word_undiacritized`/`morphemes_undiacritized` also work."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"gold segmentation file {path} does not exist: pass a word/morphemes TSV")
    gold: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if not reader.fieldnames or word_column not in reader.fieldnames or morpheme_column not in reader.fieldnames:
            raise CorpusError(f"{path} needs columns '{word_column}' and '{morpheme_column}' (has {reader.fieldnames})")
        for row in reader:
            word, morphs = row[word_column], row[morpheme_column]
            if word and morphs:
                gold[word] = morphs.split()
            if limit and len(gold) >= limit:
                break
    return gold


def word_segmenter(tokenizer: Any, *, leading_space: bool | None = None) -> Segmenter:
    """Turn a tokenizer into `word -> surface pieces`. Byte-level BPEs (tiktoken, GPT-2-style
    `tokenizer.json`) see the word as in running text, after a space (`leading_space=None` picks that);
    the space is then removed from the pieces. Pieces that end inside a multi-byte character are joined
    to the next one so every piece is whole characters."""
    if callable(tokenizer) and not hasattr(tokenizer, "encode_batch"):
        return tokenizer
    from tokensmith.evaluate.loaders import as_adapter

    adapter = as_adapter(tokenizer)
    if leading_space is None:
        leading_space = adapter.kind == "tiktoken" or bool(getattr(adapter, "_byte_level", False))

    def segment(word: str) -> list[str]:
        return segment_many([word])[word]

    def segment_many(words: Sequence[str]) -> dict[str, list[str]]:
        texts = [(" " + w) if leading_space else w for w in words]
        out = {}
        for word, ids in zip(words, adapter.encode_batch(texts)):
            out[word] = pieces_from_bytes([adapter.token_bytes(i) or b"" for i in ids])
        return out

    segment.many = segment_many  # type: ignore[attr-defined]
    return segment


def pieces_from_bytes(token_bytes: Sequence[bytes]) -> list[str]:
    """Surface pieces from the bytes of consecutive tokens: whitespace trimmed at both ends of the word,
    pieces merged where a token ends inside a UTF-8 character.

    >>> pieces_from_bytes([b" wal", b"ked"])
    ['wal', 'ked']
    >>> pieces_from_bytes([b" \\xe0\\xa4", b"\\xa8", b"a"])   # the first two bytes are half of 'न'
    ['न', 'a']
    """
    pieces: list[str] = []
    pending = b""
    for b in token_bytes:
        pending += b
        try:
            text = pending.decode("utf-8")
        except UnicodeDecodeError:
            continue
        pieces.append(text)
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    # trim the word's outer whitespace (the leading space of byte-level BPE, SentencePiece's ▁)
    while pieces and not pieces[0].strip():
        pieces.pop(0)
    if pieces:
        pieces[0] = pieces[0].lstrip()
        pieces[-1] = pieces[-1].rstrip()
    return [p for p in pieces if p]


def _segment_all(tokenize: Any, words: Iterable[str]) -> dict[str, list[str]]:
    seg = word_segmenter(tokenize)
    words = list(dict.fromkeys(words))
    many = getattr(seg, "many", None)
    if many is not None:
        return many(words)
    return {w: list(seg(w)) for w in words}


def boundaries(pieces: Sequence[str]) -> set[int]:
    """Character offsets of the internal boundaries of a segmentation.

    >>> sorted(boundaries(["un", "do", "ing"]))
    [2, 4]
    """
    out, pos = set(), 0
    for p in pieces[:-1]:
        pos += len(p)
        out.add(pos)
    return out


def _order(gold: Any, words: Any) -> tuple[Mapping[str, Sequence[str]], Any]:
    """Accept both `(tokenize, gold, words)` and `(tokenize, words, gold)`."""
    if not isinstance(gold, Mapping) and isinstance(words, Mapping):
        return words, gold
    if not isinstance(gold, Mapping):
        raise ConfigError("pass the gold segmentations as a dict word -> morphemes "
                          "(load_gold_segmentations(path) reads the kit's TSV files)")
    return gold, words


def morpheme_boundary_prf(tokenize: Any, gold: Mapping[str, Sequence[str]],
                          words: Iterable[str] | None = None) -> dict[str, float]:
    """Micro-averaged boundary precision, recall and F1 of the tokenizer against gold morpheme boundaries.

    Words whose gold morphemes do not spell the word (canonical segmentations such as
    `ozonising -> ozone ise ing`), or whose pieces do not spell it (lowercasing tokenizers), are skipped
    and counted in `skipped`.
    """
    gold, words = _order(gold, words)
    words = list(gold) if words is None else list(words)
    seg = _segment_all(tokenize, words)
    tp = fp = fn = used = skipped = 0
    for w in words:
        morphs, pieces = gold[w], seg[w]
        if "".join(morphs) != w or "".join(pieces) != w:
            skipped += 1
            continue
        g, p = boundaries(morphs), boundaries(pieces)
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
        used += 1
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0 if (tp + fp + fn) else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "words": used, "skipped": skipped,
            "true_positives": tp, "false_positives": fp, "false_negatives": fn}


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance between two sequences (insert, delete, substitute: cost 1 each).

    >>> levenshtein(["wal", "ked"], ["walk", "ed"]), levenshtein(["walk", "ed"], ["walk", "ed"])
    (2, 0)
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def morph_edit_distance(tokenize: Any, gold: Mapping[str, Sequence[str]],
                        words: Iterable[str] | None = None) -> dict[str, float]:
    """Morphological edit distance: mean over words of the Levenshtein distance between the token
    pieces and the gold morphemes (each piece one unit). 0 means every word is split into its morphemes."""
    gold, words = _order(gold, words)
    words = list(gold) if words is None else list(words)
    if not words:
        raise ConfigError("morph_edit_distance needs at least one word with a gold segmentation")
    seg = _segment_all(tokenize, words)
    d = [levenshtein(seg[w], list(gold[w])) for w in words]
    return {"mean": float(np.mean(d)), "words": len(d), "exact_match": float(np.mean([x == 0 for x in d]))}


def morph_consistency_f1(tokenize: Any, gold: Mapping[str, Sequence[str]],
                         pairs_or_words: Iterable[Any] | None = None, *,
                         pairs: Iterable[tuple[str, str]] | None = None,
                         words: Iterable[str] | None = None) -> dict[str, float]:
    """Morphological consistency F1 over word pairs: gold positive when the two words share a morpheme,
    predicted positive when they share a token (piece). With `pairs=None`, every unordered pair of the
    words is scored (exactly, through an inverted index); pass `pairs` to score a sample instead.
    Also callable as `morph_consistency_f1(tokenize, pairs_or_words, gold)`.

    >>> gold = {"walked": ["walk", "ed"], "walks": ["walk", "s"], "cat": ["cat"]}
    >>> seg = {"walked": ["walk", "ed"], "walks": ["wal", "ks"], "cat": ["c", "at"]}.__getitem__
    >>> morph_consistency_f1(seg, gold)["recall"]      # the one gold pair (walked, walks) shares no token
    0.0
    """
    gold, pairs_or_words = _order(gold, pairs_or_words)
    if pairs_or_words is not None:  # positional: a list of (a, b) pairs or of words
        items = list(pairs_or_words)
        if items and isinstance(items[0], (tuple, list)):
            pairs = items
        else:
            words = items
    if pairs is not None:
        pairs = list(pairs)
        words = {w for p in pairs for w in p}
    words = list(dict.fromkeys(gold if words is None else words))
    missing = [w for w in words if w not in gold]
    if missing:
        raise ConfigError(f"{len(missing)} words have no gold segmentation (first: {missing[0]!r})")
    seg = _segment_all(tokenize, words)
    if pairs is not None:
        tp = fp = fn = 0
        for a, b in pairs:
            g = bool(set(gold[a]) & set(gold[b]))
            p = bool(set(seg[a]) & set(seg[b]))
            tp += g and p
            fp += p and not g
            fn += g and not p
        n_pairs = len(pairs)
    else:
        index = {w: i for i, w in enumerate(words)}
        g_mat = _shared_feature_matrix([gold[w] for w in words])
        p_mat = _shared_feature_matrix([seg[w] for w in words])
        upper = np.triu(np.ones((len(index), len(index)), dtype=bool), k=1)
        g_mat &= upper
        p_mat &= upper
        tp = int((g_mat & p_mat).sum())
        fp = int((p_mat & ~g_mat).sum())
        fn = int((g_mat & ~p_mat).sum())
        n_pairs = len(words) * (len(words) - 1) // 2
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": n_pairs,
            "gold_positive": tp + fn, "predicted_positive": tp + fp}


def _shared_feature_matrix(features: list[Sequence[str]]) -> np.ndarray:
    """n×n boolean matrix: words i and j share at least one feature."""
    n = len(features)
    mat = np.zeros((n, n), dtype=bool)
    postings: dict[str, list[int]] = {}
    for i, feats in enumerate(features):
        for f in set(feats):
            postings.setdefault(f, []).append(i)
    for idx in postings.values():
        if len(idx) > 1:
            ix = np.asarray(idx)
            mat[np.ix_(ix, ix)] = True
    return mat
