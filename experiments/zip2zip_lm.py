"""zip2zip on a tiny LM: the base model of `lm_base_english.py` taught to read and write LZW
hypertokens (hyper-embedding encoders on both sides, all weights trained N steps), against the control
(the base model trained the same N steps on base tokens). Bits per byte on the held-apart English text.

    python3 experiments/zip2zip_lm.py --base /tmp/lm_base --steps 60 --codebook-size 1024 --max-subtokens 3
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="/tmp/lm_base")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--codebook-size", type=int, default=1024)
    ap.add_argument("--max-subtokens", type=int, default=3)
    ap.add_argument("--out", default="/tmp/zip2zip_lm.json")
    ap.add_argument("--domain", default="", help="train a fresh base model on this domain file instead "
                    "(e.g. code_python_stdlib), with --chunk-bytes and --base-steps")
    ap.add_argument("--chunk-bytes", type=int, default=768)
    ap.add_argument("--base-steps", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    sys.path.insert(0, str(ROOT / "experiments"))
    from lm_base_english import english_docs

    from tokensmith.adapt.hyper import HyperLM, evaluate_hyper_bpb, hyper_loss_fn
    from tokensmith.evaluate.loaders import load_tokenizer
    from tokensmith.lm import encode_chunks, make_chunks, split_texts
    from tokensmith.lm.train import evaluate_bpb, inference_speed, load_lm, train_lm

    if args.domain:  # a fresh base model on longer chunks of one domain (more to compress per sequence)
        import random

        from lm_base_english import CFG, bpe

        from tokensmith.evaluate.loaders import as_adapter
        from tokensmith.lm import LMConfig

        docs = [json.loads(l)["text"] for l in open(ROOT.parent / "shared/data/domain" / f"{args.domain}.jsonl",
                                                    encoding="utf-8")]
        random.Random(7).shuffle(docs)
        cfg = LMConfig(**{**CFG, "chunk_bytes": args.chunk_bytes, "batch_size": args.batch_size,
                          "steps": args.base_steps, "eval_every": args.base_steps})
        train, val = split_texts(docs, cfg.val_fraction)
        train = train[:300]
        val = val[:40]
        a = as_adapter(bpe(train, 4096), "A")
        tr = encode_chunks(a.encode_batch, make_chunks(train, cfg.chunk_bytes), a.vocab_size)
        va = encode_chunks(a.encode_batch, make_chunks(val, cfg.chunk_bytes), a.vocab_size)
        base, _ = train_lm(cfg, tr, va)
    else:
        base, _ = load_lm(args.base)
        cfg = base.cfg
        a = load_tokenizer(f"hf:{Path(args.base) / 'tokenizer.json'}", "A")
        train, val = split_texts(english_docs(), cfg.val_fraction)
        tr = encode_chunks(a.encode_batch, make_chunks(train, cfg.chunk_bytes), a.vocab_size)
        va = encode_chunks(a.encode_batch, make_chunks(val, cfg.chunk_bytes), a.vocab_size)
    ft = cfg.replace(steps=args.steps, warmup=5, eval_every=args.steps, lr=2e-3)
    rows = {"domain": args.domain or "english_bench", "chunk_bytes": cfg.chunk_bytes,
            "train_bytes": tr.total_bytes, "val_bytes": va.total_bytes, "bpb_base": evaluate_bpb(base, va), "steps": args.steps, "C": args.codebook_size, "M": args.max_subtokens}
    t0 = time.time()
    hlm = HyperLM(copy.deepcopy(base), max_subtokens=args.max_subtokens, codebook_size=args.codebook_size)
    start = evaluate_hyper_bpb(hlm, va)
    rows["hyper_bpb_untrained"] = start["bpb"]
    rows["sequence_reduction"] = start["reduction"]
    train_lm(ft, tr, None, model=hlm, loss_fn=hyper_loss_fn(tr, hlm.lzw_kwargs()))
    rows["hyper_bpb_trained"] = evaluate_hyper_bpb(hlm, va)["bpb"]
    rows["hyper_seconds"] = time.time() - t0
    t0 = time.time()
    control, _ = train_lm(ft, tr, None, model=copy.deepcopy(base))
    rows["control_bpb_trained"] = evaluate_bpb(control, va)
    rows["control_seconds"] = time.time() - t0
    rows["base_speed"] = inference_speed(control, va)
    print(json.dumps(rows), file=sys.stderr)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
