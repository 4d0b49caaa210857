"""`tokensmith lm`: tiny causal LMs per tokenizer, compared in bits per byte.

    tokensmith lm compare --tokenizers a=hf:a.json,b=tiktoken:b.tiktoken --corpus text.txt --out DIR
    torchrun --nproc_per_node 2 -m tokensmith lm compare ...     # DDP, unchanged
    tokensmith lm eval --model DIR/models/a --tokenizer hf:a.json --corpus held.txt
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    from tokensmith.lm.config import LMConfig

    for f in dataclasses.fields(LMConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(f.type), str)
            p.add_argument(flag, dest=f.name, type=kind, default=None, help=f"default {f.default}")


def _config(args):
    from tokensmith.lm.config import LMConfig

    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(LMConfig) if getattr(args, f.name) is not None}
    return LMConfig(**changes)


def _texts(args) -> list[str]:
    from pathlib import Path

    from tokensmith.corpus import Corpus

    source = args.corpus[0] if len(args.corpus) == 1 else [Path(p) for p in args.corpus]  # one arg may be a glob
    return list(Corpus(source, max_bytes=args.max_bytes, text_field=args.text_field))


def register(subparsers) -> None:
    p = subparsers.add_parser("lm", help="tiny causal LMs per tokenizer (bits per byte)", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="lm_command", metavar="ACTION")

    c = sub.add_parser("compare", help="train one tiny LM per tokenizer on the same bytes and compare bits per byte")
    c.add_argument("--tokenizers", required=True, help="comma-separated NAME=SPEC or SPEC (hf:, tiktoken:, spm:, ...)")
    c.add_argument("--corpus", required=True, nargs="+", help="files, globs or directories (.txt, .jsonl, ...)")
    c.add_argument("--out", required=True, help="output directory (results.json, results.md, curves.png)")
    c.add_argument("--max-bytes", type=int, default=None, help="read at most this many bytes of the corpus")
    c.add_argument("--text-field", default="text", help="JSONL field holding the text")
    c.add_argument("--save-models", action="store_true", help="also save each model (safetensors) under OUT/models")
    _add_config_flags(c)
    c.set_defaults(func=_compare)

    e = sub.add_parser("eval", help="bits per byte of a saved tiny LM on a corpus")
    e.add_argument("--model", required=True, help="directory written by lm compare --save-models")
    e.add_argument("--tokenizer", required=True, help="tokenizer spec the model was trained with")
    e.add_argument("--corpus", required=True, nargs="+")
    e.add_argument("--max-bytes", type=int, default=None)
    e.add_argument("--text-field", default="text")
    e.set_defaults(func=_eval)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])


def _compare(args) -> int:
    from tokensmith.errors import ConfigError
    from tokensmith.evaluate.loaders import load_many
    from tokensmith.lm.extrinsic import compare, format_table

    cfg = _config(args)
    specs = [s for s in args.tokenizers.split(",") if s.strip()]
    if not specs:
        raise ConfigError("--tokenizers is empty: give NAME=SPEC,...")
    toks = load_many(specs)
    rows = compare(toks, _texts(args), args.out, config=cfg, save_models=args.save_models)
    from tokensmith.lm.train import dist_info

    if dist_info()[0] == 0:
        print(format_table(rows))
    return 0


def _eval(args) -> int:
    from tokensmith.evaluate.loaders import load_tokenizer
    from tokensmith.lm.data import encode_chunks, make_chunks
    from tokensmith.lm.train import evaluate_bpb, load_lm

    model, meta = load_lm(args.model)
    tok = load_tokenizer(args.tokenizer)
    if tok.vocab_size + 1 != model.vocab_size:
        from tokensmith.errors import ConfigError

        raise ConfigError(f"tokenizer vocab {tok.vocab_size} (+BOS) does not match the model's {model.vocab_size}")
    cs = encode_chunks(tok.encode_batch, make_chunks(_texts(args), model.cfg.chunk_bytes), tok.vocab_size)
    keep = [i for i, x in enumerate(cs.ids) if len(x) < model.n_ctx]  # chunks longer than the context are skipped
    skipped = len(cs.ids) - len(keep)
    cs.ids, cs.nbytes = [cs.ids[i] for i in keep], [cs.nbytes[i] for i in keep]
    print(json.dumps({"bpb": evaluate_bpb(model, cs), "bytes": cs.total_bytes, "tokens": cs.total_tokens,
                      "chunks_skipped_too_long": skipped, "tokenizer": meta.get("tokenizer")}))
    return 0
