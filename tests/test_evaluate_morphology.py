"""Morphological consistency F1, edit distance and boundary P/R/F1 against hand-computed values."""

import pytest

from tokensmith.errors import ConfigError, CorpusError
from tokensmith.evaluate.loaders import load_tokenizer
from tokensmith.evaluate.morphology import (boundaries, levenshtein, load_gold_segmentations,
                                            morph_consistency_f1, morph_edit_distance, morpheme_boundary_prf,
                                            pieces_from_bytes, word_segmenter)

GOLD = {
    "walked": ["walk", "ed"],
    "walking": ["walk", "ing"],
    "jumped": ["jump", "ed"],
    "cat": ["cat"],
}
SEG = {
    "walked": ["walk", "ed"],
    "walking": ["wal", "king"],
    "jumped": ["jump", "ed"],
    "cat": ["c", "at"],
}


def tokenize(word):
    return SEG[word]


def test_consistency_f1_hand_computed():
    # 6 pairs. Gold positives (share a morpheme): walked-walking (walk), walked-jumped (ed)  -> 2
    # Predicted positives (share a token): walked-jumped (ed)                              -> 1
    # TP = 1, FP = 0, FN = 1 -> P = 1, R = 0.5, F1 = 2/3
    r = morph_consistency_f1(tokenize, GOLD)
    assert (r["precision"], r["recall"]) == (1.0, 0.5)
    assert r["f1"] == pytest.approx(2 / 3)
    assert r["pairs"] == 6 and r["gold_positive"] == 2 and r["predicted_positive"] == 1


def test_consistency_f1_explicit_pairs_match_all_pairs():
    words = list(GOLD)
    pairs = [(a, b) for i, a in enumerate(words) for b in words[i + 1:]]
    a = morph_consistency_f1(tokenize, GOLD, pairs=pairs)
    b = morph_consistency_f1(tokenize, GOLD)
    assert a["f1"] == b["f1"] and a["pairs"] == b["pairs"]
    with pytest.raises(ConfigError):
        morph_consistency_f1(tokenize, GOLD, words=["walked", "unknown"])


def test_edit_distance_hand_computed():
    # walked 0, walking 2 (two substitutions), jumped 0, cat: [c, at] vs [cat] = 2 (sub + del)
    r = morph_edit_distance(tokenize, GOLD)
    assert r["mean"] == pytest.approx((0 + 2 + 0 + 2) / 4)
    assert r["exact_match"] == 0.5
    assert levenshtein("kitten", "sitting") == 3


def test_boundary_prf_hand_computed():
    # gold boundaries: walked {4}, walking {4}, jumped {4}, cat {}
    # predicted:       walked {4}, walking {3}, jumped {4}, cat {1}
    # TP = 2, FP = 2 (3 in walking, 1 in cat), FN = 1 (4 in walking)
    r = morpheme_boundary_prf(tokenize, GOLD)
    assert r["precision"] == 0.5 and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert r["words"] == 4 and r["skipped"] == 0
    # canonical segmentations that do not spell the word are skipped, not scored
    r2 = morpheme_boundary_prf(lambda w: [w], {"ozonising": ["ozone", "ise", "ing"]})
    assert r2["skipped"] == 1 and r2["words"] == 0
    assert sorted(boundaries(["a", "bc", "d"])) == [1, 3]


def test_pieces_from_bytes_joins_partial_characters_and_trims_space():
    assert pieces_from_bytes([b" walk", b"ed"]) == ["walk", "ed"]
    na = "न".encode()
    assert pieces_from_bytes([b" " + na[:2], na[2:], b"x"]) == ["न", "x"]
    assert pieces_from_bytes([b" ", b"ab"]) == ["ab"]


def test_gold_loader_and_real_tokenizers(tiny_data, shared_data):
    gold = load_gold_segmentations(tiny_data / "morphology" / "eng.tsv")
    assert len(gold) == 100 and all(gold.values())
    with pytest.raises(CorpusError):
        load_gold_segmentations(tiny_data / "morphology" / "nope.tsv")
    rus = load_gold_segmentations(tiny_data / "morphology" / "rus.tsv")
    cl100k = load_tokenizer(str(shared_data / "tokenizers/openai_cl100k_base/cl100k_base.tiktoken"))
    seg = word_segmenter(cl100k)
    # byte-level BPE sees the word after a space; the pieces spell the word again
    assert "".join(seg("walking")) == "walking"
    for name in ("llama2/tokenizer.model", "bert_base_uncased/tokenizer.json"):
        tok = load_tokenizer(str(shared_data / "tokenizers" / name))
        assert "".join(word_segmenter(tok)("unhappiness")) == "unhappiness"
    r = morpheme_boundary_prf(cl100k, rus)
    assert r["words"] == 100 and 0 < r["f1"] < 1
    c = morph_consistency_f1(cl100k, rus)
    assert c["pairs"] == 100 * 99 // 2 and 0 < c["f1"] < 1
    assert morph_edit_distance(cl100k, rus)["mean"] > 0


def test_argument_orders_for_morphbpe():
    words = ["walked", "walking", "jumped"]
    pairs = [("walked", "walking"), ("walked", "jumped")]
    a = morph_consistency_f1(tokenize, pairs, GOLD)          # (tokenize, pairs, gold)
    b = morph_consistency_f1(tokenize, GOLD, pairs=pairs)
    assert a == b and a["pairs"] == 2
    assert morph_consistency_f1(tokenize, words, GOLD) == morph_consistency_f1(tokenize, GOLD, words=words)
    assert morph_edit_distance(tokenize, words, GOLD) == morph_edit_distance(tokenize, GOLD, words)
    assert morpheme_boundary_prf(tokenize, words, GOLD) == morpheme_boundary_prf(tokenize, GOLD, words)
    with pytest.raises(ConfigError):
        morph_edit_distance(tokenize, words, words)
