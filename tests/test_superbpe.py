"""SuperBPE: t = vocab_size is plain BPE; stage 2 replays every stage-1 merge first; the filters hold;
the export loads in stock ``tokenizers`` with our ids; the CLI encodes with a saved directory."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensmith
from tokensmith.errors import ConfigError


@pytest.fixture(scope="module")
def text(tiny_data):
    return (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lines(text):
    return text.splitlines()


@pytest.fixture(scope="module")
def superbpe(lines):
    return tokensmith.train(lines, method="superbpe", vocab_size=1200, transition=900, max_words=3,
                            special_tokens=["<|endoftext|>"], progress="none")


def test_transition_equal_vocab_is_plain_bpe(lines):
    sup = tokensmith.train(lines, method="superbpe", vocab_size=800, transition=800, progress="none")
    bpe = tokensmith.train(lines, method="bpe", vocab_size=800, pattern="superbpe_stage1", progress="none")
    assert sup.merges == bpe.merges
    assert sup.vocab == bpe.vocab


def test_stage2_replays_exactly_the_stage1_merges(lines, superbpe):
    stage1 = tokensmith.train(lines, method="bpe", vocab_size=900, pattern="superbpe_stage1",
                              special_tokens=["<|endoftext|>"], progress="none")
    n = len(stage1.merges)
    assert superbpe.config["stage1_merges"] == n
    spell = lambda tok, m: (tok.token_bytes(m[0]), tok.token_bytes(m[1]))  # noqa: E731
    assert [spell(superbpe, m) for m in superbpe.merges[:n]] == [spell(stage1, m) for m in stage1.merges]
    assert superbpe.config["stage2_merges"] > 0
    assert superbpe.pattern == "superbpe_stage2"


@pytest.mark.parametrize("pattern", ["superbpe_stage1", "gpt2"])
def test_one_call_equals_stage_by_stage(lines, pattern):
    """The fused Rust trainer (words counted from the lines for superbpe_stage1, given otherwise) makes
    the merges of stage 1, then stage 2 on the lines with stage 1's merges as initial merges."""
    from tokensmith import _core

    kw = dict(progress="none", special_tokens=["<|endoftext|>"])
    sup = tokensmith.train(lines, method="superbpe", vocab_size=1100, transition=700, pattern=pattern, **kw)
    words = _core.WordCounts.count_texts(lines, pattern, "none", 0)
    pieces = _core.WordCounts.count_texts(lines, "superbpe_stage2", "none", 0)
    vocab1, merges1 = _core.train_bpe(words, 700, special_tokens=["<|endoftext|>"])
    vocab, merges = _core.train_bpe(pieces, 1100, special_tokens=["<|endoftext|>"], max_words_per_token=4,
                                    forbid_colon_space=True,
                                    initial_merges=[(vocab1[a], vocab1[b]) for a, b in merges1])
    assert sup.merges == [tuple(m) for m in merges]
    assert [sup.token_bytes(i) for i in range(sup.vocab_size)] == vocab
    assert sup.config["stage1_merges"] == len(merges1)


def test_filters_and_superwords(superbpe):
    from tokensmith import _core

    tokens = [superbpe.token_bytes(i) for i in range(superbpe.vocab_size) if i not in superbpe.special_ids]
    # Word starts as the trainer counts them (a non-space byte at the start or after whitespace).
    starts = lambda t: sum(1 for i, b in enumerate(t) if not chr(b).isspace() and (i == 0 or chr(t[i - 1]).isspace()))  # noqa: E731
    assert all(starts(t) <= 3 for t in tokens)
    assert not any(b": " in t for t in tokens)
    assert any(b" " in t.strip() for t in tokens), "stage 2 learned tokens that cross a space"


def test_fewer_tokens_than_bpe(lines, text, superbpe):
    bpe = tokensmith.train(lines, method="bpe", vocab_size=1200, pattern="superbpe_stage1",
                           special_tokens=["<|endoftext|>"], progress="none")
    assert len(superbpe.encode_ordinary(text)) < len(bpe.encode_ordinary(text))


@settings(max_examples=40, deadline=None)
@given(sample=st.text(max_size=60))
def test_round_trip_and_hf_agreement(superbpe, sample):
    ids = superbpe.encode_ordinary(sample)
    assert superbpe.decode(ids) == sample
    hf = _hf(superbpe)
    assert hf.encode(sample, add_special_tokens=False).ids == ids


_HF = {}


def _hf(tok):
    if id(tok) not in _HF:
        _HF[id(tok)] = tok.to_hf()
    return _HF[id(tok)]


def test_saved_file_loads_in_stock_tokenizers(superbpe, tmp_path, text):
    import tokenizers

    superbpe.save(tmp_path / "s")
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "s" / "tokenizer.json"))
    sample = text[:3000]
    assert stock.encode(sample, add_special_tokens=False).ids == superbpe.encode_ordinary(sample)
    loaded = tokensmith.load(tmp_path / "s")
    assert loaded.encode_ordinary(sample) == superbpe.encode_ordinary(sample)
    assert loaded.config["config"]["transition"] == 900
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "s")],
                         input="Marley was dead: to begin with.\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == superbpe.encode_ordinary("Marley was dead: to begin with.")


def test_bad_transition():
    with pytest.raises(ConfigError):
        tokensmith.train(["a b"], method="superbpe", vocab_size=300, transition=400)


def test_piece_list_keeps_every_piece_in_order(lines):
    """SuperBPE's stage-2 pieces, listed (not counted): counting the list gives the count table, and
    training on either gives the same tokenizer."""
    from tokensmith import _core

    listed = _core.PieceList()
    half = len(lines) // 2
    listed.add_texts(lines[:half], "superbpe_stage2", "none", 2)
    listed.add_texts(lines[half:], "superbpe_stage2", "none", 1)
    counts = _core.WordCounts.count_texts(lines, "superbpe_stage2", "none", 0)
    assert len(listed) == counts.total() > len(counts)
    assert sorted(listed.to_counts().items()) == sorted(counts.items())
    trained = [_core.train_superbpe(None, c2, 900, 600, "superbpe_stage1") for c2 in (listed, counts)]
    assert trained[0] == trained[1]
    with pytest.raises(TypeError, match="WordCounts or a PieceList"):
        _core.train_superbpe(None, ["not", "counts"], 900, 600, "superbpe_stage1")
