"""MorphBPE: no learned token crosses a training boundary, the alignment rule, Morfessor fallback,
ordinary BPE export (stock tokenizers, CLI)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensmith
from tokensmith import _core
from tokensmith.methods.morphbpe import MorphBpeConfig, segment_piece, segmented_counts, surface_cuts


@pytest.fixture(scope="module")
def lines(tiny_data):
    return (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "gold.tsv"
    rows = ["word\tmorphemes", "walked\twalk ed", "walking\twalk ing", "talking\ttalk ing", "unkind\tun kind",
            "kindness\tkind ness", "christmas\tchrist mas", "the\tthe", "there\tthere", "ozonising\tozone ise ing"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def morph(lines, gold_file):
    return tokensmith.train(lines, method="morphbpe", vocab_size=900, segmentations=[str(gold_file)],
                            morfessor=False, progress="none")


def test_alignment_rule():
    assert surface_cuts("ozonising", ["ozone", "ise", "ing"]) == [4, 6]
    assert surface_cuts("abatchanka", ["abat", "chan", "k", "a"]) == [4, 8, 9]
    assert surface_cuts("Walked", ["walk", "ed"]) == [4]
    assert surface_cuts("happiness", ["happy", "ness"]) == [5]
    assert surface_cuts("cat", ["cat"]) == []


@settings(max_examples=60, deadline=None)
@given(word=st.text(alphabet="abcdeé", min_size=1, max_size=12),
       morphs=st.lists(st.text(alphabet="abcdeé", min_size=1, max_size=5), min_size=1, max_size=4))
def test_cuts_are_inside_and_increasing(word, morphs):
    cuts = surface_cuts(word, morphs)
    assert all(0 < c < len(word) for c in cuts)
    assert cuts == sorted(set(cuts))
    if "".join(morphs) == word:
        assert len(cuts) == len(morphs) - 1


def test_no_token_crosses_a_training_boundary(lines, gold_file, morph):
    counts = _core.WordCounts.count_texts(lines, "o200k", "none", 1)
    config = MorphBpeConfig(vocab_size=900, segmentations=(str(gold_file),), morfessor=False)
    words = segmented_counts(counts, config)
    assert sum(len(s) > 1 for s, _ in words) > 5
    # MorphBPE is BPE on the segments as separate words: same merges, same vocabulary.
    flat: dict[bytes, int] = {}
    for segs, c in words:
        for s in segs:
            flat[s] = flat.get(s, 0) + c
    vocab, merges = _core.train_bpe(flat, 900, progress="none")
    assert morph.merges == [tuple(m) for m in merges]
    # Every learned token spells a substring of some training segment (never only across a cut).
    segments = [s for segs, _ in words for s in segs]
    assert all(any(t in seg for seg in segments) for t in vocab[256:])


@settings(max_examples=30, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcd", min_size=2, max_size=8), st.integers(1, 20), min_size=1,
                             max_size=20), data=st.data())
def test_segments_never_merge_across_random(words, data):
    segmented = []
    for w, c in words.items():
        cut = data.draw(st.integers(1, len(w) - 1))
        segmented.append(([w[:cut].encode(), w[cut:].encode()], c))
    vocab, _ = _core.train_bpe(segmented, 300, min_frequency=1, progress="none")
    pieces = [s for segs, _ in segmented for s in segs]
    assert all(any(t in p for p in pieces) for t in vocab[256:])


def test_segment_piece_and_morfessor(lines):
    assert segment_piece(" walked,", {"walked": [4]}.get) == [" walk", "ed,"]
    assert segment_piece("42", {}.get) == ["42"]
    tok = tokensmith.train(lines[:400], method="morphbpe", vocab_size=500, morfessor=True, morfessor_words=300,
                           morfessor_epochs=1, progress="none")
    assert tok.config["segmented_words"] > 0
    assert tok.config["config"]["morfessor_words"] == 300


def test_encoding_is_plain_bpe_and_exports(morph, tmp_path, lines):
    import tokenizers

    sample = "\n".join(lines[:40])
    assert morph.decode(morph.encode_ordinary(sample)) == sample
    morph.save(tmp_path / "m")
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "m" / "tokenizer.json"))
    assert stock.encode(sample, add_special_tokens=False).ids == morph.encode_ordinary(sample)
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "m")],
                         input="they walked\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == morph.encode_ordinary("they walked")
    assert tokensmith.load(tmp_path / "m").config["config"]["segmentations"] == morph.config["config"]["segmentations"]
