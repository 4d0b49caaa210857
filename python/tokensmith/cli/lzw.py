"""`tokensmith lzw`: zip2zip LZW hypertokens over a tokenizer's ids; reads text on stdin.

    cat text.txt | tokensmith lzw --tokenizer tiktoken:cl100k_base.tiktoken --codebook-size 1024 --max-subtokens 3

Each line (or each blank-line separated paragraph with --unit paragraph, or the whole input with
--unit all) is one sequence with its own codebook; --window N cuts sequences into N base tokens.
Prints the sequence-length reduction; every sequence is decoded again and checked.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("lzw", help="compress stdin text with LZW hypertokens and print the reduction",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", required=True, help="tokenizer spec or directory (hf:, tiktoken:, spm:, tokensmith:...)")
    p.add_argument("--codebook-size", type=int, default=1024, help="hyper-id slots C per sequence (default 1024)")
    p.add_argument("--max-subtokens", type=int, default=3, help="longest entry M in base tokens (default 3)")
    p.add_argument("--unit", choices=["line", "paragraph", "all"], default="line", help="what one sequence is")
    p.add_argument("--window", type=int, default=0, help="cut sequences into windows of N base tokens (0: no cut)")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from tokensmith.adapt import lzw
    from tokensmith.errors import ConfigError, CorpusError
    from tokensmith.evaluate.loaders import load_tokenizer

    if args.window < 0:
        raise ConfigError("--window must be >= 0")
    tok = load_tokenizer(args.tokenizer)
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"stdin is not valid UTF-8 (byte {exc.start}): pipe UTF-8 text") from exc
    if args.unit == "line":
        units = [u for u in text.splitlines() if u.strip()]
    elif args.unit == "paragraph":
        units = [u for u in text.split("\n\n") if u.strip()]
    else:
        units = [text] if text.strip() else []
    if not units:
        raise CorpusError("no text on stdin: pipe some text into tokensmith lzw")
    seqs = tok.encode_batch(units)
    if args.window:
        seqs = [s[i:i + args.window] for s in seqs for i in range(0, max(len(s), 1), args.window)]
    kw = dict(base_vocab_size=tok.vocab_size, codebook_size=args.codebook_size, max_subtokens=args.max_subtokens,
              disabled_ids=sorted(i for i in tok.special_ids if i < tok.vocab_size))
    codes = lzw.encode_batch(seqs, **kw)
    if lzw.decode_batch(codes, **kw) != seqs:  # pragma: no cover - would be a bug in the core
        raise RuntimeError("LZW round trip failed")
    base, comp = sum(map(len, seqs)), sum(map(len, codes))
    result = {"sequences": len(seqs), "base_tokens": base, "codes": comp,
              "reduction": 1 - comp / base if base else 0.0, "bytes": len(data),
              "codebook_size": args.codebook_size, "max_subtokens": args.max_subtokens}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(seqs)} sequences, {base} tokens -> {comp} codes: {100 * result['reduction']:.1f}% shorter "
              f"(C={args.codebook_size}, M={args.max_subtokens}; {len(data) / max(comp, 1):.2f} bytes/code)")
    return 0
