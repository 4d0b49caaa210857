"""``tokensmith encode``: text on stdin -> one line of token ids per input line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator


def add_tokenizer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokenizer", "-t", required=True, type=Path, metavar="PATH",
                        help="a tokenizer directory, tokenizer.json, .tiktoken rank file or SentencePiece .model")
    parser.add_argument("--pattern", help="pretokenization pattern for .tiktoken files (e.g. o200k, cl100k, llama3)")


def load_tokenizer(args: argparse.Namespace):
    import tokensmith

    return tokensmith.load(args.tokenizer, pattern=args.pattern)


def piece_text(tok, token_id: int) -> str:
    """A token as readable text: its bytes as UTF-8, with invalid bytes shown as \\xNN."""
    return tok.token_bytes(token_id).decode("utf-8", errors="backslashreplace")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encode", help="encode text from stdin, one line at a time",
                                   description="Read text from stdin; write one line of token ids per input line.")
    add_tokenizer_args(parser)
    parser.add_argument("--format", choices=("ids", "pieces", "json"), default="ids",
                        help="ids: space-separated ids; pieces: the tokens' text, space-separated; "
                             "json: {\"ids\": [...], \"pieces\": [...]} per line")
    parser.add_argument("--allow-special", action="store_true",
                        help="encode special-token text (e.g. <|endoftext|>) as the special token")
    parser.set_defaults(func=run)


BATCH_LINES = 4096  # lines encoded per parallel batch: bounded memory on any input size


def _batches(stream) -> "Iterator[list[str]]":
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\n").rstrip("\r"))
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


def run(args: argparse.Namespace) -> int:
    tok = load_tokenizer(args)
    allowed = "all" if args.allow_special else set()
    from tokensmith.errors import TokenError

    for batch in _batches(sys.stdin):
        try:
            ids = tok.encode_batch(batch, allowed_special=allowed)
        except TokenError as exc:
            specials = [s for s in tok.special_tokens if any(s in line for line in batch)]
            if not specials:
                raise
            raise TokenError(f"the input contains the special token {specials[0]!r}; pass --allow-special "
                             "to encode it as that token") from exc
        _write(tok, ids, args.format)
    return 0


def _write(tok, batch_ids: list[list[int]], fmt: str) -> None:
    out = sys.stdout
    for ids in batch_ids:
        if fmt == "ids":
            out.write(" ".join(map(str, ids)) + "\n")
        elif fmt == "pieces":
            out.write(" ".join(piece_text(tok, i) for i in ids) + "\n")
        else:
            out.write(json.dumps({"ids": ids, "pieces": [piece_text(tok, i) for i in ids]},
                                 ensure_ascii=False) + "\n")
