"""``tokensmith convert``: rewrite a tokenizer as a Hugging Face directory or a tiktoken rank file."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokensmith.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert between tokenizer formats",
        description="Convert IN (a tokenizer directory, tokenizer.json, .tiktoken or SentencePiece .model) "
                    "to OUT: --to hf writes OUT/tokenizer.json + tokenizer_config.json; --to tiktoken writes "
                    "the rank file OUT.")
    parser.add_argument("input", type=Path, metavar="IN")
    parser.add_argument("output", type=Path, metavar="OUT")
    parser.add_argument("--to", required=True, choices=("hf", "tiktoken"), help="output format")
    parser.add_argument("--pattern", help="pretokenization pattern when IN is a .tiktoken rank file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tokensmith.api import _method_loader, load_data
    from tokensmith.errors import FormatError

    loader = _method_loader(args.input)
    if loader is not None:
        data = loader(args.input).to_data()
        ordinary = sum(t is not None for t in data.vocab) - len(data.special_tokens)
        if not data.merges and ordinary > 256:
            raise FormatError(f"{args.input} holds a tokenizer whose encoding is not a merge list (e.g. Picky "
                              f"BPE's event log); it cannot be converted to {args.to}; use it with tokensmith.load")
    else:
        data = load_data(args.input, pattern=args.pattern)
    try:
        _write(data, args)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}; pick a writable path") from None
    return 0


def _write(data, args: argparse.Namespace) -> None:
    from tokensmith.formats import hf, tiktoken

    if args.to == "hf":
        if args.output.exists() and not args.output.is_dir():
            raise ConfigError(f"{args.output} exists and is not a directory; --to hf writes a directory")
        hf.save_dir(data, args.output)
        print(f"wrote {args.output}/tokenizer.json and tokenizer_config.json ({data.vocab_size:,} ids)")
    else:
        if args.output.is_dir():
            raise ConfigError(f"{args.output} is a directory; --to tiktoken writes a file such as out.tiktoken")
        ranks = tiktoken.data_to_ranks(data)
        tiktoken.write_ranks(ranks, args.output)
        specials = ", ".join(f"{t}={i}" for t, i in data.special_tokens.items()) or "none"
        print(f"wrote {args.output} ({len(ranks):,} ranks; special tokens, not stored in the file: {specials})")
