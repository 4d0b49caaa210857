"""The shared base model for the transfer, AdaptiVocab and zip2zip tiny-LM experiments: a byte-level
BPE (4096, trained on the first 1.5 MB of the English benchmark corpus) and a tiny GPT trained on
the same text (last 10% held apart). Saved to OUT (tokenizer.json, model.safetensors, lm.json, data.json).

    python3 experiments/lm_base_english.py --out /tmp/lm_base
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

CFG = dict(d_model=64, n_layer=2, n_head=2, dropout=0.0, chunk_bytes=384, batch_size=16, warmup=15, eval_every=50,
           eval_chunks=64, lr=4e-3, threads=1)


def english_docs(n_bytes: int = 1_500_000) -> list[str]:
    with gzip.open(DATA / "english_bench/gutenberg_en.txt.gz", "rt", encoding="utf-8") as f:
        raw = f.read(n_bytes)
    return [p for p in raw.split("\n\n") if p.strip()]


def bpe(texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/lm_base")
    ap.add_argument("--steps", type=int, default=250)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    from tokensmith.evaluate.loaders import as_adapter
    from tokensmith.lm import LMConfig, encode_chunks, make_chunks, split_texts
    from tokensmith.lm.train import save_lm, train_lm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = LMConfig(steps=args.steps, **CFG)
    docs = english_docs()
    train, val = split_texts(docs, cfg.val_fraction)
    tok = bpe(train, 4096)
    tok.save(str(out / "tokenizer.json"))
    a = as_adapter(tok, "bpe4k")
    tr = encode_chunks(a.encode_batch, make_chunks(train, cfg.chunk_bytes), a.vocab_size)
    va = encode_chunks(a.encode_batch, make_chunks(val, cfg.chunk_bytes), a.vocab_size)
    t0 = time.time()
    model, hist = train_lm(cfg, tr, va, log=lambda p: print(json.dumps(p), file=sys.stderr, flush=True))
    save_lm(model, out, meta={"tokenizer": str(out / "tokenizer.json")})
    (out / "data.json").write_text(json.dumps({"history": hist, "seconds": time.time() - t0,
                                               "train_tokens": tr.total_tokens, "val_bpb": hist[-1]["val_bpb"]}))
    print(f"base model: val bpb {hist[-1]['val_bpb']:.3f} in {time.time() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
