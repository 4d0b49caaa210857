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


def test_hyper_lm_trains_and_is_causal(tiny_data):
    """The zip2zip hyper-embedding LM: finite loss on code streams (KwKwK included), training lowers it,
    and logits at a position never depend on later codes (entries are offered only once decodable)."""
    import torch

    from tokensmith.adapt.hyper import HyperLM, evaluate_hyper_bpb, hyper_batch, hyper_loss_fn, lzw_schedule
    from tokensmith.lm import LMConfig, encode_chunks, make_chunks
    from tokensmith.lm.train import new_model, train_lm

    raw = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8")[:20000]
    chunks = make_chunks([raw], 96) + ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]  # forces the KwKwK case

    def enc(batch):  # a byte-level "tokenizer": base ids are bytes
        return [list(t.encode("utf-8")) for t in batch]

    cs = encode_chunks(enc, chunks, 256)
    cfg = LMConfig(d_model=32, n_layer=1, n_head=2, chunk_bytes=96, batch_size=8, steps=10, lr=5e-3, threads=1)
    base = new_model(cfg, 256, 1 + cs.max_len)
    hlm = HyperLM(base, max_subtokens=3, codebook_size=64)
    kw = hlm.lzw_kwargs()
    codes, book = lzw.encode_with_codebook([256] + cs.ids[-1], **kw)
    assert any(lzw_schedule(codes, book, 257, 64, 3, [256])[2])  # a KwKwK code is present
    before = evaluate_hyper_bpb(hlm, cs)
    assert 0.1 < before["reduction"] < 0.7 and before["bpb"] < 9
    train_lm(cfg, cs, None, model=hlm, loss_fn=hyper_loss_fn(cs, kw))
    after = evaluate_hyper_bpb(hlm, cs)
    assert after["bpb"] < before["bpb"]
    # causality: a different continuation leaves earlier logits unchanged
    a = encode_chunks(enc, ["the cat sat on the mat, the cat sat on the hat"], 256)
    b = encode_chunks(enc, ["the cat sat on the mat, the dog ran to the car"], 256)
    hlm.eval()
    xa = hyper_batch(a, [0], kw, torch.device("cpu"))
    xb = hyper_batch(b, [0], kw, torch.device("cpu"))
    la, lb = hlm(*xa[:1], *xa[2:]), hlm(*xb[:1], *xb[2:])
    same = next(i for i in range(min(xa[0].shape[1], xb[0].shape[1])) if xa[0][0, i] != xb[0][0, i])
    assert same > 5
    v = hlm.base.vocab_size
    for p in range(same):
        known = [k for k in range(xa[2].shape[1]) if xa[3][0, k] <= p]
        assert torch.allclose(la[0, p, :v], lb[0, p, :v], atol=1e-5)
        assert torch.allclose(la[0, p, v:][known], lb[0, p, v:][known], atol=1e-5)
        assert torch.allclose(la[0, p, -1], lb[0, p, -1], atol=1e-5) or (la[0, p, -1].isinf() and lb[0, p, -1].isinf())


def test_cli(tiny_data, monkeypatch, capsys):
    import io
    import json as _json

    from tokensmith.cli import main

    text = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8")[:8000]
    spec = str(tiny_data.parent / "tokenizers/openai_r50k_base/r50k_base.tiktoken")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["lzw", "--tokenizer", spec, "--unit", "all", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert out["sequences"] == 1 and 0.1 < out["reduction"] < 0.6
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe bad")))
    assert main(["lzw", "--tokenizer", spec]) == 2
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["lzw", "--tokenizer", spec]) == 2
