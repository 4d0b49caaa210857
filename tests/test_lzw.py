"""zip2zip LZW hypertokens: round trips for every M and C, agreement with the Python reference,
disabled ids, batch == single, and clear errors on bad codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.adapt import lzw
from tokensmith.errors import ConfigError, TokenError


@st.composite
def streams(draw):
    v0 = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, v0 - 1), max_size=300))
    m = draw(st.integers(1, 6))
    c = draw(st.sampled_from([0, 1, 2, 5, 16, 1024]))
    disabled = draw(st.lists(st.integers(0, v0 - 1), max_size=2, unique=True))
    return ids, dict(base_vocab_size=v0, codebook_size=c, max_subtokens=m, disabled_ids=disabled)


@settings(max_examples=400, deadline=None)
@given(streams())
def test_round_trip_and_reference(case):
    ids, kw = case
    codes = lzw.encode(ids, **kw)
    assert lzw.decode(codes, **kw) == ids
    assert codes == lzw.reference_encode(ids, **kw)
    assert len(codes) <= len(ids)
    assert all(c < kw["base_vocab_size"] + kw["codebook_size"] for c in codes)
    # disabled ids pass through unchanged and in place
    assert [c for c in codes if c in kw["disabled_ids"]] == [i for i in ids if i in kw["disabled_ids"]]


@settings(max_examples=100, deadline=None)
@given(streams())
def test_codebook_entries(case):
    ids, kw = case
    codes, book = lzw.encode_with_codebook(ids, **kw)
    assert len(book) <= kw["codebook_size"]
    for entry in book:
        assert 2 <= len(entry) <= kw["max_subtokens"]
        assert not set(entry) & set(kw["disabled_ids"])
    # expanding codes through the codebook gives back the ids
    v0 = kw["base_vocab_size"]
    expanded = [t for c in codes for t in ([c] if c < v0 else book[c - v0])]
    assert expanded == ids
    back, book2 = lzw.decode_with_codebook(codes, **kw)
    assert back == ids and book[: len(book2)] == book2


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("c", [0, 1, 3, 64, 2048])
def test_every_m_c_repetitive(m, c):
    ids = ([5, 6, 7, 5, 6] * 40 + [1, 2, 3]) * 3
    kw = dict(base_vocab_size=10, codebook_size=c, max_subtokens=m)
    codes = lzw.encode(ids, **kw)
    assert lzw.decode(codes, **kw) == ids
    if m >= 2 and c >= 3:
        assert len(codes) < len(ids) * 0.8


def test_batch_matches_single():
    seqs = [[i % 7, (i * 3) % 7, 1] * (i % 13) for i in range(50)]
    kw = dict(base_vocab_size=7, codebook_size=32, max_subtokens=3, disabled_ids=[1])
    enc = lzw.encode_batch(seqs, **kw)
    assert enc == [lzw.encode(s, **kw) for s in seqs]
    assert lzw.decode_batch(enc, **kw) == seqs
    pairs = lzw.encode_batch_with_codebook(seqs, **kw)
    assert [p[0] for p in pairs] == enc


def test_errors():
    kw = dict(base_vocab_size=10, codebook_size=4, max_subtokens=3)
    with pytest.raises(TokenError, match="outside the base vocabulary"):
        lzw.encode([1, 10], **kw)
    with pytest.raises(TokenError, match="not in the codebook"):
        lzw.decode([1, 12], **kw)
    with pytest.raises(TokenError, match="not in the codebook"):
        lzw.decode([10], **kw)
    with pytest.raises(TokenError):
        lzw.encode([-1], **kw)
    with pytest.raises(ConfigError):
        lzw.encode([1], base_vocab_size=0, codebook_size=4, max_subtokens=3)
    with pytest.raises(ConfigError):
        lzw.encode([1], base_vocab_size=10, codebook_size=4, max_subtokens=0)
    with pytest.raises(ConfigError, match="disabled id"):
        lzw.encode([1], **kw, disabled_ids=[10])


def test_stats_on_text(tiny_data):
    from tokensmith.evaluate.loaders import load_tokenizer

    tok = load_tokenizer(str(tiny_data.parent / "tokenizers/openai_r50k_base/r50k_base.tiktoken"))
    raw = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8")
    lines = [raw[i:i + 4000] for i in range(0, min(len(raw), 40000), 4000)]
    seqs = tok.encode_batch(lines)
    kw = dict(base_vocab_size=tok.vocab_size, codebook_size=1024, max_subtokens=3)
    stats = lzw.compression_stats(seqs, **kw)
    assert 0.05 < stats.reduction < 0.6
    assert lzw.decode_batch(lzw.encode_batch(seqs, **kw), **kw) == seqs
