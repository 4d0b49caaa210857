"""``tokensmith train``: train a tokenizer on files and write ``DIR/tokenizer.json`` + ``tokenizer_config.json``.

The method flags come from the methods' config dataclasses (``vocab_size`` -> ``--vocab-size``), so a
new method's options appear here without editing this file. A flag given for a method that has no such
option is an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import types
import typing
import warnings
from pathlib import Path
from typing import Any

from tokensmith.errors import ConfigError

# Flags whose name is not the field name.
RENAMED = {"num_threads": "--threads"}
# Parsed specially rather than from the type.
CHOICES = {"progress": ("auto", "bar", "none", "json"),
           "normalization": ("none", "nfc", "nfkc", "lowercase", "nfkc_lowercase")}


def _flag(field: dataclasses.Field) -> str | None:
    if "cli" in field.metadata:
        return field.metadata["cli"]
    return RENAMED.get(field.name, "--" + field.name.replace("_", "-"))


def _unwrap_optional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else str
    return tp


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split(",") if t)


def _add_field(group: argparse._ArgumentGroup, field: dataclasses.Field, tp: Any, doc: str,
               seen: dict[str, str]) -> None:
    flag = _flag(field)
    if flag is None or field.name in seen:
        return
    kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS, "help": doc or None}
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if field.name in CHOICES:
        kwargs["choices"] = CHOICES[field.name]
    elif tp is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif origin in (tuple, list):
        kwargs["type"] = _comma_list
        kwargs["metavar"] = "A,B"
    elif tp in (int, float, str):
        kwargs["type"] = tp
    else:
        kwargs["type"] = str
    if field.name == "vocab_size":
        kwargs["metavar"] = "N"
    group.add_argument(flag, **kwargs)
    seen[field.name] = flag


def register(subparsers: argparse._SubParsersAction) -> None:
    from tokensmith.config import field_docs, field_types
    from tokensmith.methods import available_methods

    methods = available_methods()
    parser = subparsers.add_parser(
        "train", help="train a tokenizer on text files",
        description="Train a tokenizer and write OUT/tokenizer.json and OUT/tokenizer_config.json.",
        epilog="methods: " + "; ".join(f"{m.name}: {m.summary}" for m in methods.values()))
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="text files (.txt: a document per line; .jsonl), directories or globs; "
                             "gz/bz2/xz/zst compressed files are read as is")
    parser.add_argument("--method", default="bpe", help=f"training method: {', '.join(methods)} (default bpe)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    corpus = parser.add_argument_group("corpus")
    corpus.add_argument("--text-field", default="text", help="field holding the text in .jsonl files")
    corpus.add_argument("--whole-files", action="store_true", help=".txt files are one document each")
    corpus.add_argument("--max-bytes", type=int, help="read at most this many bytes of text")
    corpus.add_argument("--sample-rate", type=float, default=1.0, help="keep each document with this probability")
    corpus.add_argument("--strict", action="store_true", help="stop at invalid UTF-8 instead of skipping the line")
    seen: dict[str, str] = {}
    for method in methods.values():
        cls = method.config_class
        group = parser.add_argument_group(f"{method.name} options" if method.name != "bpe" else "training")
        docs, types_ = field_docs(cls), field_types(cls)
        for field in dataclasses.fields(cls):
            _add_field(group, field, types_[field.name], docs.get(field.name, ""), seen)
        if method.cli_options is not None:
            method.cli_options(group)
    parser.set_defaults(func=run, _field_flags=seen)


def run(args: argparse.Namespace) -> int:
    import tokensmith
    from tokensmith.corpus import Corpus, SkippedLinesWarning, resolve_files
    from tokensmith.methods import get_method

    method = get_method(args.method)
    names = {f.name for f in dataclasses.fields(method.config_class)}
    options: dict[str, Any] = {}
    skip = {"inputs", "method", "out", "text_field", "whole_files", "max_bytes", "sample_rate", "strict",
            "func", "command", "_field_flags"}
    for key, value in vars(args).items():
        if key in skip:
            continue
        if key not in names:
            flag = args._field_flags.get(key, "--" + key.replace("_", "-"))
            raise ConfigError(f"{flag} does not apply to method {args.method!r}")
        options[key] = value
    if "vocab_size" not in options:
        raise ConfigError("pass --vocab-size N, the size of the vocabulary to train")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} exists and is not a directory")
    options.setdefault("progress", "auto")
    config = tokensmith.make_config(args.method, **options)
    corpus = Corpus(resolve_files(args.inputs), text_field=args.text_field, whole_files=args.whole_files,
                    max_bytes=args.max_bytes, sample_rate=args.sample_rate, seed=config.seed, strict=args.strict)
    start = time.perf_counter()
    with warnings.catch_warnings():  # reported below as one plain line
        warnings.simplefilter("ignore", SkippedLinesWarning)
        tok = tokensmith.train(corpus, args.method, **{k: v for k, v in config.to_dict().items() if k != "method"})
    seconds = time.perf_counter() - start
    stats = corpus.stats
    if stats.invalid_utf8_lines:
        print(f"tokensmith train: skipped {stats.invalid_utf8_lines} lines of invalid UTF-8 "
              "(--strict makes this an error)", file=sys.stderr)
    try:
        tok.save(args.out)
    except OSError as exc:
        raise ConfigError(f"cannot write to --out {args.out}: {exc.strerror or exc}; pick a writable directory") from None
    written = ", ".join(sorted(p.name for p in args.out.iterdir() if p.is_file() and not p.name.startswith(".")))
    print(f"wrote {args.out} ({written}): {args.method}, vocab {tok.vocab_size}, "
          f"{stats.documents} documents, {stats.bytes / 1e6:.2f} MB, {seconds:.1f} s")
    return 0
