"""Optional report sections beyond the per-language counts: morphology against gold segmentations,
GB/US spelling sensitivity, subword productivity per language, and under-trained tokens from weights.

Each returns plain JSON-ready dicts keyed by tokenizer name; `report.write_report` adds them to the report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tokensmith.errors import ConfigError, CorpusError
from tokensmith.evaluate import metrics as M

__all__ = ["morphology_section", "variation_section", "productivity_section", "undertrained_section"]


def _bar(items: list, desc: str):
    """A progress bar on stderr when it is a terminal (long sections), else the plain list."""
    if not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, file=sys.stderr, leave=False)


def morphology_section(tokenizers: Mapping[str, Any], source: str | Path, *, max_words: int = 2000,
                       languages: Sequence[str] | None = None, min_boundary_words: int = 20) -> dict[str, dict[str, dict]]:
    """`{lang: {tokenizer: {consistency_f1, edit_distance, boundary_precision, boundary_recall, boundary_f1, ...}}}`
    over `source` (a folder of `<lang>.tsv` gold files such as `shared/data/morphology/`, or one TSV).
    At most `max_words` words per language (the first ones; the kit's files are randomly sampled).
    Boundary scores need words whose morphemes and pieces both spell the word; with fewer than
    `min_boundary_words` of them the boundary scores are null."""
    from tokensmith.evaluate.morphology import (load_gold_segmentations, morph_consistency_f1, morph_edit_distance,
                                                morpheme_boundary_prf, word_segmenter)

    source = Path(source)
    files = sorted(source.glob("*.tsv")) if source.is_dir() else [source]
    if languages:
        files = [f for f in files if f.stem in languages]
    if not files:
        raise CorpusError(f"no gold segmentation TSV files in {source}: pass a folder of <lang>.tsv (word, morphemes)")
    out: dict[str, dict[str, dict]] = {}
    for f in _bar(files, "morphology"):
        gold = load_gold_segmentations(f, limit=max_words)
        if not gold:
            continue
        out[f.stem] = {}
        for name, tok in tokenizers.items():
            seg = word_segmenter(tok)
            segmented = seg.many(list(gold)) if hasattr(seg, "many") else {w: list(seg(w)) for w in gold}
            lookup = segmented.__getitem__
            c = morph_consistency_f1(lookup, gold)
            e = morph_edit_distance(lookup, gold)
            b = morpheme_boundary_prf(lookup, gold)
            out[f.stem][name] = {
                "words": len(gold), "consistency_precision": c["precision"], "consistency_recall": c["recall"],
                "consistency_f1": c["f1"], "edit_distance": e["mean"], "exact_match": e["exact_match"],
                "boundary_precision": b["precision"], "boundary_recall": b["recall"], "boundary_f1": b["f1"],
                "boundary_words": b["words"], "tokens_per_word": float(np.mean([len(v) for v in segmented.values()])),
            }
            if b["words"] < min_boundary_words:  # e.g. a tokenizer that strips Arabic diacritics: nothing to score
                out[f.stem][name].update(boundary_precision=None, boundary_recall=None, boundary_f1=None)
    return out


def variation_section(tokenizers: Mapping[str, Any], pairs_path: str | Path) -> dict[str, dict]:
    """`{tokenizer: variation_sensitivity(...)}` on a GB/US spelling-pair TSV."""
    from tokensmith.evaluate.variants import load_spelling_pairs, variation_sensitivity

    pairs = load_spelling_pairs(pairs_path)
    return {name: variation_sensitivity(tok, pairs) for name, tok in tokenizers.items()}


def productivity_section(tokenizers: Mapping[str, Any], texts: Mapping[str, Sequence[str]], *,
                         max_words: int = 5000) -> dict[str, dict[str, dict]]:
    """Subword productivity per language: each language's distinct whitespace words (first `max_words`)
    are segmented, and each token type counts the distinct words it occurs in.
    `{lang: {tokenizer: productivity_summary}}`."""
    from tokensmith.evaluate.morphology import word_segmenter

    out: dict[str, dict[str, dict]] = {}
    for code, lines in _bar(list(texts.items()), "productivity"):
        words = list(dict.fromkeys(w for ln in lines for w in ln.split()))[:max_words]
        if not words:
            continue
        out[code] = {}
        for name, tok in tokenizers.items():
            seg = word_segmenter(tok)
            segmented = seg.many(words) if hasattr(seg, "many") else {w: list(seg(w)) for w in words}
            out[code][name] = M.productivity_summary(M.subword_productivity(segmented))
    return out


def undertrained_section(tokenizers: Mapping[str, Any], embeddings: Mapping[str, str | Path], *,
                         frequencies: Mapping[str, np.ndarray] | None = None, quantile: float = 0.02) -> dict[str, dict]:
    """`{tokenizer: undertrained_candidates(...)}` for the tokenizers with an embedding file
    (`embeddings = {name: model.safetensors}`), cross-tabulated with "never produced" on the corpus."""
    from tokensmith.evaluate.vocab_checks import undertrained_candidates

    out = {}
    for name, path in embeddings.items():
        if name not in tokenizers:
            raise ConfigError(f"--embeddings names tokenizer '{name}', which is not among the tokenizers "
                              f"({', '.join(tokenizers)})")
        print(f"under-trained tokens: {name}", file=sys.stderr)
        r = undertrained_candidates(tokenizers[name], path, quantile=quantile,
                                    frequencies=(frequencies or {}).get(name))
        r.pop("candidate_ids")
        out[name] = r
    return out
