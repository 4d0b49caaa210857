"""``tokensmith demo``: train BPE at a few sizes on a local corpus and write report.md / report.json."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="train BPE at a few vocabulary sizes and report compression",
        description="Train byte-level BPE at 1k/4k/16k (--quick: 1k/4k) on the data kit (shared/data, "
                    "found by searching upward) or, without it, the Python standard library sources; "
                    "write OUT/report.md, OUT/report.json and the tokenizers.")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR", help="output directory")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--data", type=Path, metavar="DIR", help="the data kit directory (default: search for shared/data)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tokensmith.demo import run_demo
    from tokensmith.errors import ConfigError

    if args.data is not None and not args.data.is_dir():
        raise ConfigError(f"--data {args.data} is not a directory")
    demo = run_demo(args.out, quick=args.quick, data_dir=args.data)
    print((args.out / "report.md").read_text(encoding="utf-8"), end="")
    print(f"wrote {args.out}/report.md, report.json, eval/report.html and {len(demo.tokenizers)} tokenizers")
    return 0
