"""Tiny causal LMs: byte-fair chunks, training lowers bits per byte, checkpoints round-trip in
safetensors, DDP with 2 gloo processes equals 1 process, and the `lm compare` CLI writes its table."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.errors import ConfigError, FormatError
from tokensmith.lm import LMConfig, encode_chunks, make_chunks, split_texts
from tokensmith.lm.train import evaluate_bpb, load_lm, save_lm, train_lm

SMALL = LMConfig(d_model=32, n_layer=1, n_head=2, chunk_bytes=64, batch_size=8, steps=12, eval_every=6,
                 eval_chunks=32, lr=5e-3, warmup=2, threads=1)


@pytest.fixture(scope="module")
def texts(tiny_data):
    raw = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8")[:30000]
    return [raw[i:i + 2000] for i in range(0, len(raw), 2000)]


@pytest.fixture(scope="module")
def hf_tok(texts, tmp_path_factory):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=320, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5), st.integers(8, 80))
def test_chunks_cover_documents(docs, size):
    chunks = make_chunks(docs, size)
    assert "".join(chunks) == "".join(docs)
    assert all(0 < len(c.encode()) <= size for c in chunks)


def test_split_and_errors():
    tr, va = split_texts(["a" * 90, "b" * 10], 0.1)
    assert tr == ["a" * 90] and va == ["b" * 10]
    with pytest.raises(ConfigError):
        LMConfig(d_model=30, n_head=4)
    with pytest.raises(ConfigError):
        encode_chunks(lambda b: [[5]] * len(b), ["x"], vocab_size=3)


def test_train_save_load(texts, hf_tok, tmp_path):
    from tokensmith.evaluate.loaders import load_tokenizer

    tok = load_tokenizer(f"hf:{hf_tok}")
    tr_t, va_t = split_texts(texts, 0.2)
    tr = encode_chunks(tok.encode_batch, make_chunks(tr_t, 64), tok.vocab_size)
    va = encode_chunks(tok.encode_batch, make_chunks(va_t, 64), tok.vocab_size)
    model, hist = train_lm(SMALL, tr, va)
    assert len(hist) == 2 and hist[-1]["bytes_seen"] > 0
    assert hist[-1]["val_bpb"] < hist[0]["val_bpb"] < 8.5
    # bits per byte is the summed NLL over exactly the chunk bytes
    assert math.isclose(evaluate_bpb(model, va, limit=SMALL.eval_chunks), hist[-1]["val_bpb"], rel_tol=1e-6)
    x_bpb = evaluate_bpb(model, va)
    save_lm(model, tmp_path / "m", meta={"tokenizer": "t"})
    again, meta = load_lm(tmp_path / "m")
    assert meta == {"tokenizer": "t"}
    assert math.isclose(evaluate_bpb(again, va), x_bpb, rel_tol=1e-6)
    # corrupt checkpoint: typed error
    blob = (tmp_path / "m/model.safetensors").read_bytes()
    (tmp_path / "m/model.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FormatError):
        load_lm(tmp_path / "m")
    with pytest.raises(FormatError):
        load_lm(tmp_path / "nothing")


def _ddp_worker(rank, world, port, tr, cfg, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    model, _ = train_lm(cfg, tr, None)
    again, _ = train_lm(cfg, tr, None)  # a second model in the same launch (lm compare does this)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    if rank == 0:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)


def test_ddp_two_processes_match_one(texts, hf_tok, tmp_path):
    import socket

    import torch.multiprocessing as mp

    from tokensmith.evaluate.loaders import load_tokenizer

    tok = load_tokenizer(f"hf:{hf_tok}")
    tr = encode_chunks(tok.encode_batch, make_chunks(texts, 64), tok.vocab_size)
    cfg = SMALL.replace(steps=3)
    single, _ = train_lm(cfg, tr, None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "rank0.safetensors"
    mp.spawn(_ddp_worker, args=(2, port, tr, cfg, str(out)), nprocs=2, join=True)
    from safetensors.torch import load_file

    state = load_file(out)
    for k, v in single.state_dict().items():
        # Adam turns float-noise gradients of never-targeted output rows into ~1e-5 steps; lr is 5e-3
        assert torch.allclose(state[k], v, atol=1e-4), k


def test_cli_compare(texts, hf_tok, tmp_path):
    from tokensmith.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(texts), encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["lm", "compare", "--tokenizers", f"a=hf:{hf_tok},b=hf:{hf_tok}", "--corpus", str(corpus),
               "--out", str(out), "--d-model", "32", "--n-layer", "1", "--n-head", "2", "--chunk-bytes", "64",
               "--steps", "4", "--eval-every", "2", "--batch-size", "4", "--save-models", "--threads", "1"])
    assert rc == 0
    data = json.loads((out / "results.json").read_text())
    assert [r["tokenizer"] for r in data["rows"]] == ["a", "b"]
    assert data["rows"][0]["val_bpb"] == pytest.approx(data["rows"][1]["val_bpb"])
    assert (out / "curves.png").stat().st_size > 1000
    assert "val bits/byte" in (out / "results.md").read_text()
    assert main(["lm", "eval", "--model", str(out / "models/a"), "--tokenizer", f"hf:{hf_tok}",
                 "--corpus", str(corpus), "--max-bytes", "5000"]) == 0
    # bad input: unknown tokenizer file -> exit code 2, nothing written
    out2 = tmp_path / "out2"
    assert main(["lm", "compare", "--tokenizers", "x=hf:/nonexistent.json", "--corpus", str(corpus),
                 "--out", str(out2)]) == 2
    assert not out2.exists()


def test_compare_with_tokensmith_tokenizer(texts, hf_tok):
    """lm compare takes tokensmith's own tokenizers (trained here) next to foreign ones."""
    import tokensmith
    from tokensmith.evaluate.loaders import load_tokenizer
    from tokensmith.lm import compare

    ours = tokensmith.train(texts, vocab_size=320)
    rows = compare({"tokensmith-bpe": ours, "hf-bpe": load_tokenizer(f"hf:{hf_tok}")}, texts,
                   config=SMALL.replace(steps=3, eval_every=3), log=None)
    assert [r["tokenizer"] for r in rows] == ["tokensmith-bpe", "hf-bpe"]
    assert all(0 < r["val_bpb"] < 9 and r["val_bytes"] == rows[0]["val_bytes"] for r in rows)
