"""`tokensmith adapt`: move models between tokenizers and tokenizers to domains.

    tokensmith adapt transfer --checkpoint model.safetensors --source hf:bert/tokenizer.json \\
        --target tokenizer.json --method focus --corpus text.txt --out new.safetensors
    tokensmith adapt adaptivocab --tokenizer tiktoken:r50k_base.tiktoken --corpus legal.jsonl \\
        --num-tokens 2000 --out legal_patch.json
    tokensmith adapt resize --checkpoint model.safetensors --rows 32000 --out resized.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _texts(paths, max_bytes):
    from tokensmith.corpus import Corpus

    source = paths[0] if len(paths) == 1 else [Path(p) for p in paths]
    return list(Corpus(source, max_bytes=max_bytes))


def register(subparsers) -> None:
    p = subparsers.add_parser("adapt", help="tokenizer transfer, AdaptiVocab, embedding resize", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="adapt_command", metavar="ACTION")

    t = sub.add_parser("transfer", help="initialise a checkpoint's embeddings for a new tokenizer")
    t.add_argument("--checkpoint", required=True, help="model .safetensors (pickles are refused)")
    t.add_argument("--source", required=True, help="tokenizer the checkpoint was trained with")
    t.add_argument("--target", required=True, help="the new tokenizer")
    t.add_argument("--method", default="fvt", help="fvt, wechsel, focus, random or random_all")
    t.add_argument("--corpus", nargs="+", help="texts for the auxiliary embeddings (wechsel, focus)")
    t.add_argument("--max-bytes", type=int, default=2_000_000)
    t.add_argument("--lowercase", action="store_true", help="match tokens case-insensitively (uncased models)")
    t.add_argument("--input-key", help="name of the input embedding tensor (found automatically otherwise)")
    t.add_argument("--output-key", help="name of the output embedding tensor")
    t.add_argument("--out", required=True, help="new .safetensors path")
    t.set_defaults(func=_transfer)

    a = sub.add_parser("adaptivocab", help="domain n-gram tokens in place of rarely used ones (fixed vocab size)")
    a.add_argument("--tokenizer", required=True)
    a.add_argument("--corpus", required=True, nargs="+", help="domain texts")
    a.add_argument("--num-tokens", type=int, required=True, help="n-gram tokens to add (= tokens replaced)")
    a.add_argument("--max-n", type=int, default=5)
    a.add_argument("--min-freq", type=int, default=3)
    a.add_argument("--rounds", type=int, default=20, help="recounting rounds of the greedy selection")
    a.add_argument("--max-bytes", type=int, default=None)
    a.add_argument("--holdout", type=float, default=0.1, help="share of documents held apart to report the reduction")
    a.add_argument("--out", required=True, help="patch file (JSON)")
    a.set_defaults(func=_adaptivocab)

    r = sub.add_parser("resize", help="resize input/output embeddings of a safetensors checkpoint")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--rows", type=int, required=True)
    r.add_argument("--init", default="mean", help="new rows: mean, zeros or normal")
    r.add_argument("--out", required=True)
    r.set_defaults(func=_resize)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])


def _transfer(args) -> int:
    from tokensmith.adapt.transfer import transfer_checkpoint
    from tokensmith.evaluate.loaders import load_tokenizer

    src, tgt = load_tokenizer(args.source, "source"), load_tokenizer(args.target, "target")
    corpus = _texts(args.corpus, args.max_bytes) if args.corpus else None
    res = transfer_checkpoint(args.checkpoint, args.out, src, tgt, method=args.method, corpus=corpus,
                              input_key=args.input_key, output_key=args.output_key, lowercase=args.lowercase)
    print(json.dumps({"out": args.out, "method": res.method, "rows": int(res.weight.shape[0]),
                      "shared": res.n_shared, "fallback": res.fallback, "unknown": res.unknown}))
    return 0


def _adaptivocab(args) -> int:
    from tokensmith.adapt.adaptivocab import AdaptiVocab
    from tokensmith.errors import ConfigError
    from tokensmith.evaluate.loaders import load_tokenizer

    if not 0 <= args.holdout < 1:
        raise ConfigError("--holdout must be in [0, 1)")
    base = load_tokenizer(args.tokenizer)
    texts = _texts(args.corpus, args.max_bytes)
    cut = len(texts) - int(len(texts) * args.holdout) if args.holdout else len(texts)
    train, held = texts[:cut], texts[cut:] or texts
    av = AdaptiVocab.fit(base, train, args.num_tokens, max_n=args.max_n, min_freq=args.min_freq, rounds=args.rounds)
    before = sum(map(len, base.encode_batch(held)))
    after = sum(map(len, av.encode_batch(held)))
    av.save(args.out, args.tokenizer)
    print(json.dumps({"out": args.out, "new_tokens": len(av.new_tokens), "held_out_docs": len(held),
                      "tokens_before": before, "tokens_after": after,
                      "reduction": 1 - after / before if before else 0.0}))
    return 0


def _resize(args) -> int:
    from tokensmith.adapt.embeddings import resize_checkpoint

    keys = resize_checkpoint(args.checkpoint, args.out, args.rows, init=args.init)
    print(json.dumps({"out": args.out, "input": keys.input, "output": keys.output, "rows": args.rows}))
    return 0
