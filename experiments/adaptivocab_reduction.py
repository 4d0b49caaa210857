"""AdaptiVocab token reduction on each domain of the data kit (vocabulary size fixed).

For each domain file: documents are shuffled with a fixed seed; AdaptiVocab is fitted on up to
`--fit-bytes` of the first 90% and scored on the last 10% (held apart): tokens of the base
tokenizer vs tokens of the patched encoding, and the check that the patched ids decode to the
same text the base ids decode to.

    python3 experiments/adaptivocab_reduction.py --tokenizer spm:.../mistral_v1/tokenizer.model.v1 --num-tokens 2000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=f"spm:{DATA / 'tokenizers/mistral_v1/tokenizer.model.v1'}")
    ap.add_argument("--num-tokens", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--fit-bytes", type=int, default=1_000_000)
    ap.add_argument("--eval-bytes", type=int, default=300_000)
    ap.add_argument("--out", default="/tmp/adaptivocab_reduction.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    from tokensmith.adapt.adaptivocab import AdaptiVocab
    from tokensmith.evaluate.loaders import load_tokenizer

    base = load_tokenizer(args.tokenizer)
    rows = []
    for path in sorted((DATA / "domain").glob("*.jsonl")):
        t0 = time.time()
        docs = [json.loads(l)["text"] for l in open(path, encoding="utf-8")]
        random.Random(7).shuffle(docs)
        cut = int(len(docs) * 0.9)
        fit, held = take(docs[:cut], args.fit_bytes), take(docs[cut:], args.eval_bytes)
        av = AdaptiVocab.fit(base, fit, args.num_tokens, rounds=args.rounds)
        b_ids = base.encode_batch(held)
        a_ids = [av.patch(s) for s in b_ids]
        spell = lambda tok, ids: b"".join(tok.token_bytes(i) or b"" for i in ids)  # noqa: E731
        same = all(spell(av, a) == spell(base, b) for a, b in zip(a_ids, b_ids))
        before, after = sum(map(len, b_ids)), sum(map(len, a_ids))
        sample = [av.token_bytes(t).decode("utf-8", "replace") for t in list(av.new_tokens)[:8]]
        rows.append({"domain": path.stem, "fit_bytes": sum(len(d.encode()) for d in fit),
                     "held_bytes": sum(len(d.encode()) for d in held), "new_tokens": len(av.new_tokens),
                     "tokens_before": before, "tokens_after": after, "reduction": 1 - after / before,
                     "same_bytes_as_base": same, "first_picks": sample, "seconds": time.time() - t0})
        print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps({"tokenizer": args.tokenizer, "num_tokens": args.num_tokens,
                                          "vocab_size": base.vocab_size, "rows": rows}, indent=1, ensure_ascii=False))
    return 0


def take(docs, budget):
    out, n = [], 0
    for d in docs:
        if n >= budget:
            break
        d = d.encode("utf-8")[: budget - n].decode("utf-8", "ignore")
        out.append(d)
        n += len(d.encode())
    return out


if __name__ == "__main__":
    sys.exit(main())
