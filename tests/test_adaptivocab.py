"""AdaptiVocab: patched encoding decodes to the original text, vocabulary size is fixed, n-grams
save tokens on the domain, exponential embedding init, save/load, and errors."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.adapt.adaptivocab import AdaptiVocab, finetune_filter, init_embeddings, select_ngrams
from tokensmith.errors import ConfigError, FormatError, TokenError
from tokensmith.evaluate.loaders import load_tokenizer


@pytest.fixture(scope="module")
def base(shared_data):
    return load_tokenizer(str(shared_data / "tokenizers/openai_r50k_base/r50k_base.tiktoken"), "r50k")


@pytest.fixture(scope="module")
def legal(tiny_data):
    texts = [json.loads(l)["text"] for l in open(tiny_data / "domain/legal_eu_law.jsonl", encoding="utf-8")]
    return texts[:30], texts[30:]


@pytest.fixture(scope="module")
def av(base, legal):
    return AdaptiVocab.fit(base, legal[0], 150, rounds=5)


def test_fit_and_reduction(av, base, legal):
    assert 50 < len(av.new_tokens) <= 150
    assert av.vocab_size == base.vocab_size
    for tid, gram in av.new_tokens.items():
        assert 2 <= len(gram) <= 5 and tid not in gram
        assert tid in av.decompose
        assert b"".join(base.token_bytes(i) for i in av.decompose[tid]) == base.token_bytes(tid)
        assert not set(av.decompose[tid]) & set(av.new_tokens)
    before = sum(map(len, base.encode_batch(legal[1])))
    after = sum(map(len, av.encode_batch(legal[1])))
    assert after < 0.9 * before


def test_patched_encoding_round_trips(av, legal):
    for text in legal[0] + legal[1]:
        ids = av.encode(text)
        assert av.decode(ids) == text
        assert all(0 <= i < av.vocab_size for i in ids)
        assert b"".join(av.token_bytes(i) for i in ids) == text.encode("utf-8")


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("the Member States shall Article 1(2) of\n‘’é")), max_size=200))
def test_round_trip_any_text(av, text):
    assert av.decode(av.encode(text)) == text


def test_select_ngrams_recounts():
    seqs = [[1, 2, 3, 1, 2, 3, 1, 2, 3, 4]] * 5
    picks = select_ngrams(seqs, 2, max_n=5, min_freq=2, rounds=2)
    assert picks[0] == (1, 2, 3, 1, 2)  # 5-gram beats everything once; overlap-aware recounting follows
    assert all(len(p) <= 5 for p in picks)


def test_init_embeddings(av):
    v = av.vocab_size
    win, wout = torch.randn(v + 1, 8), torch.randn(v + 1, 8)
    new_in, new_out = init_embeddings(av, win, wout, c=1.0)
    tid, gram = next((t, g) for t, g in av.new_tokens.items() if len(g) >= 3)
    w = torch.softmax(torch.arange(len(gram), dtype=torch.float32), 0)
    assert torch.allclose(new_in[tid], (w[:, None] * win[list(gram)]).sum(0), atol=1e-6)
    assert torch.allclose(new_out[tid], (w.flip(0)[:, None] * wout[list(gram)]).sum(0), atol=1e-6)
    untouched = next(i for i in range(v) if i not in av.new_tokens)
    assert torch.equal(new_in[untouched], win[untouched]) and torch.equal(new_in[v], win[v])
    with pytest.raises(ConfigError):
        init_embeddings(av, torch.randn(10, 8))
    keep = finetune_filter(4)
    assert keep("blocks.0.qkv.weight") and keep("blocks.3.fc.bias") and not keep("blocks.1.fc.bias")


def test_save_load_and_errors(av, base, shared_data, tmp_path, legal):
    spec = str(shared_data / "tokenizers/openai_r50k_base/r50k_base.tiktoken")
    av.save(tmp_path / "av.json", spec)
    again = AdaptiVocab.load(tmp_path / "av.json")
    assert again.encode(legal[1][0]) == av.encode(legal[1][0])
    (tmp_path / "bad.json").write_text("{\"format\": \"x\"}")
    with pytest.raises(FormatError):
        AdaptiVocab.load(tmp_path / "bad.json")
    with pytest.raises(TokenError):
        av.decode([av.vocab_size + 5])
    with pytest.raises(ConfigError):
        AdaptiVocab.fit(base, legal[0], 10, max_n=7)
    with pytest.raises(ConfigError):
        AdaptiVocab.fit(base, [""], 10)


def test_cli(shared_data, tiny_data, tmp_path, capsys):
    from tokensmith.cli import main

    spec = str(shared_data / "tokenizers/openai_r50k_base/r50k_base.tiktoken")
    out = tmp_path / "patch.json"
    rc = main(["adapt", "adaptivocab", "--tokenizer", spec, "--corpus", str(tiny_data / "domain/legal_eu_law.jsonl"),
               "--num-tokens", "100", "--rounds", "4", "--out", str(out)])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tokens_after"] < res["tokens_before"] and out.exists()
    assert AdaptiVocab.load(out).vocab_size == 50257
    bad = tmp_path / "bad.json"
    assert main(["adapt", "adaptivocab", "--tokenizer", spec, "--corpus", str(tmp_path / "missing.jsonl"),
                 "--num-tokens", "10", "--out", str(bad)]) == 2
    assert not bad.exists()


def test_with_tokensmith_tokenizer(legal):
    import tokensmith

    tok = tokensmith.train(legal[0], vocab_size=600)
    av = AdaptiVocab.fit(tok, legal[0], 60, rounds=3)
    assert len(av.new_tokens) > 10
    for text in legal[1]:
        assert av.decode(av.encode(text)) == tok.decode(tok.encode(text))
