"""``tokensmith inspect``: what a tokenizer is: size, method, pattern, special tokens, longest tokens, config."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="summarise a tokenizer",
                                   description="Print a summary of a tokenizer directory or file.")
    parser.add_argument("path", type=Path, metavar="PATH",
                        help="a tokenizer directory, tokenizer.json, .tiktoken rank file or SentencePiece .model")
    parser.add_argument("--pattern", help="pretokenization pattern for .tiktoken files")
    parser.add_argument("--longest", type=int, default=10, metavar="K", help="how many longest tokens to list")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def summarize(data, longest: int = 10) -> dict[str, Any]:
    """The summary ``inspect`` prints, as a dict."""
    specials = set(data.special_tokens.values()) | set(data.control_ids)
    ordinary = [(i, t) for i, t in enumerate(data.vocab) if t is not None and i not in specials]
    top = sorted(ordinary, key=lambda it: (-len(it[1]), it[0]))[:longest]
    config = data.config.get("config", {})
    return {
        "source": data.source,
        "vocab_size": sum(t is not None for t in data.vocab),
        "method": data.config.get("method", "foreign"),
        "units": data.units,
        "pattern": data.pattern if data.pattern is not None else "none",
        "normalization": data.normalization,
        "merges": len(data.merges),
        "special_tokens": dict(sorted(data.special_tokens.items(), key=lambda kv: kv[1])),
        "longest_tokens": [{"id": i, "bytes": len(t), "text": t.decode("utf-8", "backslashreplace")} for i, t in top],
        "config": config,
        "training": {k: v for k, v in data.config.items() if k not in ("method", "config")},
    }


def run(args: argparse.Namespace) -> int:
    from tokensmith.api import _method_loader, load_data

    loader = _method_loader(args.path)
    data = loader(args.path).to_data() if loader is not None else load_data(args.path, pattern=args.pattern)
    info = summarize(data, args.longest)
    info["source"] = str(args.path)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    out = sys.stdout
    pattern = info["pattern"]
    out.write(f"tokenizer      {info['source']}\n")
    out.write(f"vocab size     {info['vocab_size']:,}\n")
    out.write(f"method         {info['method']} ({info['units']} units, {info['merges']:,} merges)\n")
    out.write(f"pattern        {pattern if len(pattern) <= 60 else pattern[:57] + '...'}\n")
    out.write(f"normalization  {info['normalization']}\n")
    specials = info["special_tokens"]
    shown = ", ".join(f"{t}={i}" for t, i in list(specials.items())[:8])
    more = f" and {len(specials) - 8} more" if len(specials) > 8 else ""
    out.write(f"special tokens {shown or '(none)'}{more}\n")
    out.write("longest tokens " + ", ".join(f"{t['text']!r} ({t['bytes']} B)" for t in info["longest_tokens"]) + "\n")
    if info["config"]:
        out.write("config         " + json.dumps(info["config"], ensure_ascii=False) + "\n")
    if info["training"]:
        out.write("training       " + json.dumps(info["training"], ensure_ascii=False) + "\n")
    return 0
