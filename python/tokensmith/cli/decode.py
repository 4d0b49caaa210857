"""``tokensmith decode``: lines of token ids on stdin -> one line of text per input line."""

from __future__ import annotations

import argparse
import sys

from tokensmith.cli.encode import add_tokenizer_args, load_tokenizer
from tokensmith.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("decode", help="decode token ids from stdin, one line at a time",
                                   description="Read lines of token ids (space- or comma-separated) from "
                                               "stdin; write the text of each line.")
    add_tokenizer_args(parser)
    parser.set_defaults(func=run)


def parse_ids(line: str, lineno: int) -> list[int]:
    ids = []
    for part in line.replace(",", " ").split():
        try:
            ids.append(int(part))
        except ValueError:
            raise ConfigError(f"stdin line {lineno}: {part!r} is not a token id; pass integers") from None
    return ids


def run(args: argparse.Namespace) -> int:
    tok = load_tokenizer(args)
    texts = [tok.decode(parse_ids(line, n)) for n, line in enumerate(sys.stdin, 1)]
    sys.stdout.write("".join(text + "\n" for text in texts))
    return 0
