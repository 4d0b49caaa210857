"""The `tokensmith` command line. Each subcommand lives in its own module here and exposes
`register(subparsers)`, which adds its parser and sets `func` to a callable taking the parsed args
and returning an exit code. Results go to stdout, progress to stderr. A `TokensmithError` prints one
line and exits 2; no traceback reaches the user."""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules, in `--help` order. Each owner adds theirs here once.
SUBCOMMAND_MODULES = [
    "train", "encode", "decode", "inspect", "convert", "demo",
    "eval", "reproduce", "lm", "lzw", "adapt", "neural",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokensmith",
        description="Train, evaluate, adapt and compress tokenizers.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"tokensmith.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tokensmith.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(subparsers)
    return parser


def _version() -> str:
    from tokensmith import __version__

    return f"tokensmith {__version__}"


def main(argv: list[str] | None = None) -> int:
    from tokensmith.errors import TokensmithError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except TokensmithError as exc:
        print(f"tokensmith {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
