"""AdaptiVocab on a tiny LM: the base model of `lm_base_english.py` (general English, BPE-4k) adapted
to the biomedical domain (MedQuAD). Bits per byte on held-apart domain text for: the base model; the
adapted tokenizer with exponentially initialised embeddings (no training); after N steps of the light
fine-tuning phase (embeddings + first and last blocks); and the control: the base tokenizer and model
fine-tuned the same N steps on the same domain bytes with the same trainable parameters.

    python3 experiments/adaptivocab_lm.py --base /tmp/lm_base --num-tokens 400 --steps 60
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="/tmp/lm_base")
    ap.add_argument("--domain", default="biomed_medquad")
    ap.add_argument("--num-tokens", type=int, default=400)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--out", default="/tmp/adaptivocab_lm.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    import torch

    from tokensmith.adapt.adaptivocab import AdaptiVocab, finetune_filter, init_embeddings
    from tokensmith.evaluate.loaders import load_tokenizer
    from tokensmith.lm import encode_chunks, make_chunks
    from tokensmith.lm.train import evaluate_bpb, load_lm, train_lm

    base, _ = load_lm(args.base)
    cfg = base.cfg
    a = load_tokenizer(f"hf:{Path(args.base) / 'tokenizer.json'}", "A")
    docs = [json.loads(l)["text"] for l in open(DATA / "domain" / f"{args.domain}.jsonl", encoding="utf-8")]
    random.Random(7).shuffle(docs)
    fit, held = docs[: int(len(docs) * 0.9)], docs[int(len(docs) * 0.9):]
    fit = fit[:900]  # ~1 MB
    t0 = time.time()
    av = AdaptiVocab.fit(a, fit, args.num_tokens, rounds=10)
    fit_s = time.time() - t0
    tr_chunks, va_chunks = make_chunks(fit, cfg.chunk_bytes), make_chunks(held, cfg.chunk_bytes)
    sets = {}
    for name, tok in (("base", a), ("adapted", av)):
        sets[name] = (encode_chunks(tok.encode_batch, tr_chunks, a.vocab_size),
                      encode_chunks(tok.encode_batch, va_chunks, a.vocab_size))
    keep_va = [i for i in range(len(va_chunks)) if len(sets["base"][1].ids[i]) < base.n_ctx]
    keep_tr = [i for i in range(len(tr_chunks)) if len(sets["base"][0].ids[i]) < base.n_ctx]
    for tr, va in sets.values():
        va.ids, va.nbytes = [va.ids[i] for i in keep_va], [va.nbytes[i] for i in keep_va]
        tr.ids, tr.nbytes = [tr.ids[i] for i in keep_tr], [tr.nbytes[i] for i in keep_tr]
    tb, ta = sets["base"][1].total_tokens, sets["adapted"][1].total_tokens
    rows = {"num_tokens": len(av.new_tokens), "fit_seconds": fit_s, "val_tokens_base": tb, "val_tokens_adapted": ta,
            "token_reduction": 1 - ta / tb, "val_bytes": sets["base"][1].total_bytes}
    rows["bpb_base"] = evaluate_bpb(base, sets["base"][1])
    adapted = copy.deepcopy(base)
    with torch.no_grad():
        w_in, w_out = init_embeddings(av, base.tok_emb.weight, base.lm_head.weight, c=args.c)
        adapted.tok_emb.weight.copy_(w_in)
        adapted.lm_head.weight.copy_(w_out)
    rows["bpb_adapted_init"] = evaluate_bpb(adapted, sets["adapted"][1])
    keep = finetune_filter(cfg.n_layer)
    ft = cfg.replace(steps=args.steps, warmup=5, eval_every=args.steps, lr=2e-3)
    adapted, _ = train_lm(ft, sets["adapted"][0], None, model=adapted, trainable=keep)
    rows["bpb_adapted_finetuned"] = evaluate_bpb(adapted, sets["adapted"][1])
    control, _ = train_lm(ft, sets["base"][0], None, model=copy.deepcopy(base), trainable=keep)
    rows["bpb_base_finetuned"] = evaluate_bpb(control, sets["base"][1])
    rows["steps"] = args.steps
    rows["c"] = args.c
    print(json.dumps(rows), file=sys.stderr)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
