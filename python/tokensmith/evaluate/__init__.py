"""Intrinsic evaluation of any tokenizer: loaders, metrics, multilingual reports (see docs/evaluation.md).

>>> from tokensmith.evaluate import load_tokenizer, write_report          # doctest: +SKIP
>>> toks = {"gpt4": load_tokenizer("tiktoken:cl100k_base.tiktoken")}       # doctest: +SKIP
>>> write_report(toks, None, "out/")   # CLDR default: English + the 22 official languages of India  # doctest: +SKIP
"""

from tokensmith.evaluate.loaders import TokenizerAdapter, as_adapter, load_many, load_tokenizer, parse_tokenizer_arg
from tokensmith.evaluate.metrics import (bytes_per_token, chars_per_token, count_text, count_tokens, fertility,
                                         normalized_sequence_length, parity, parity_median, renyi_efficiency,
                                         roundtrip_share, subword_productivity, tokens_per_char,
                                         vocabulary_utilisation)
from tokensmith.evaluate.morphology import (load_gold_segmentations, morph_consistency_f1, morph_edit_distance,
                                            morpheme_boundary_prf, word_segmenter)
from tokensmith.evaluate.variants import load_spelling_pairs, variation_sensitivity
from tokensmith.evaluate.vocab_checks import undecodable_tokens, undertrained_candidates, unreachable_tokens


def write_report(*args, **kwargs):
    """See `tokensmith.evaluate.report.write_report` (imported lazily: it pulls in matplotlib)."""
    from tokensmith.evaluate.report import write_report as _write_report

    return _write_report(*args, **kwargs)


__all__ = [
    "TokenizerAdapter", "as_adapter", "load_tokenizer", "load_many", "parse_tokenizer_arg",
    "count_text", "count_tokens", "normalized_sequence_length", "fertility", "tokens_per_char", "parity",
    "parity_median", "bytes_per_token", "chars_per_token", "renyi_efficiency", "vocabulary_utilisation",
    "subword_productivity", "roundtrip_share", "load_gold_segmentations", "morph_consistency_f1",
    "morph_edit_distance", "morpheme_boundary_prf", "word_segmenter", "load_spelling_pairs",
    "variation_sensitivity", "undecodable_tokens", "unreachable_tokens", "undertrained_candidates", "write_report",
]
