"""Tokenizer transfer on a tiny LM: the base model of `lm_base_english.py` (BPE-4k A) moved to a
different BPE-4k B (trained on the English-variants text: another corpus, same size), per
heuristic: bits per byte on the held-apart English text right after transfer and after N steps of
embedding-only training (input + output embeddings; every block frozen).

    python3 experiments/transfer_lm.py --base /tmp/lm_base --steps 60
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="/tmp/lm_base")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default="/tmp/transfer_lm.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    sys.path.insert(0, str(ROOT / "experiments"))
    from lm_base_english import bpe, english_docs

    from tokensmith.adapt.transfer import METHODS, transfer_tiny_lm
    from tokensmith.evaluate.loaders import load_tokenizer, as_adapter
    from tokensmith.lm import encode_chunks, make_chunks, split_texts
    from tokensmith.lm.train import evaluate_bpb, load_lm, train_lm

    base, _ = load_lm(args.base)
    cfg = base.cfg
    a = load_tokenizer(f"hf:{Path(args.base) / 'tokenizer.json'}", "A")
    variants = [(DATA / "english_variants" / f).read_text(encoding="utf-8") for f in ("british_text.txt", "american_text.txt")]
    b = as_adapter(bpe([p for v in variants for p in v.split("\n\n") if p.strip()], 4096), "B")
    train, val = split_texts(english_docs(), cfg.val_fraction)
    tr_chunks, va_chunks = make_chunks(train, cfg.chunk_bytes), make_chunks(val, cfg.chunk_bytes)
    va_a = encode_chunks(a.encode_batch, va_chunks, a.vocab_size)
    tr_b = encode_chunks(b.encode_batch, tr_chunks, b.vocab_size)
    va_b = encode_chunks(b.encode_batch, va_chunks, b.vocab_size)
    # B may need more positions than A's model has on a few chunks: drop those chunks from both sides
    keep = [i for i in range(len(va_chunks)) if len(va_b.ids[i]) < base.n_ctx]
    for cs in (va_a, va_b):
        cs.ids, cs.nbytes = [cs.ids[i] for i in keep], [cs.nbytes[i] for i in keep]
    keep = [i for i in range(len(tr_chunks)) if len(tr_b.ids[i]) < base.n_ctx]
    tr_b.ids, tr_b.nbytes = [tr_b.ids[i] for i in keep], [tr_b.nbytes[i] for i in keep]
    rows = [{"method": "original (A)", "bpb_transfer": evaluate_bpb(base, va_a)}]
    emb = {"tok_emb.weight", "lm_head.weight"}
    aux = train[:2000]
    for method in METHODS:
        t0 = time.time()
        model, res = transfer_tiny_lm(base, a, b, method=method, corpus=aux)
        before = evaluate_bpb(model, va_b)
        model, _ = train_lm(cfg.replace(steps=args.steps, warmup=5, eval_every=args.steps), tr_b, None, model=model,
                            trainable=lambda n: n in emb)
        rows.append({"method": method, "shared": res.n_shared, "fallback": res.fallback,
                     "bpb_transfer": before, "bpb_after_steps": evaluate_bpb(model, va_b), "seconds": time.time() - t0})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps({"steps": args.steps, "vocab_a": a.vocab_size, "vocab_b": b.vocab_size,
                                          "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
