"""The two front doors: ``tokensmith.train(corpus, ...)`` and ``tokensmith.load(path)``.

>>> tok = tokensmith.train(["a corpus", "of lines"], vocab_size=300)        # doctest: +SKIP
>>> tok = tokensmith.load("openai_o200k_base/o200k_base.tiktoken", pattern="o200k")   # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokensmith.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.formats import BpeData
    from tokensmith.tokenizer import Tokenizer

__all__ = ["train", "load", "load_data", "make_config", "CORPUS_OPTIONS"]

# Keyword arguments of train() that describe how to read the corpus (the rest configure the method).
CORPUS_OPTIONS = ("text_field", "whole_files", "max_bytes", "sample_rate", "strict")


def make_config(method: str = "bpe", **options: Any):
    """The method's config object from keyword options; unknown options raise ``ConfigError``."""
    from dataclasses import fields

    from tokensmith.methods import get_method

    spec = get_method(method)
    names = {f.name for f in fields(spec.config_class)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) for method {method!r}: {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(names | set(CORPUS_OPTIONS)))}")
    if "vocab_size" not in options:
        raise ConfigError("pass vocab_size=, the size of the vocabulary to train (e.g. vocab_size=8000)")
    return spec.config_class(**options)


def train(corpus: Any, method: str = "bpe", *, vocab_size: int, **options: Any) -> "Tokenizer":
    """Train a tokenizer.

    ``corpus``: a path, glob, directory, list of ``Path``, iterable of ``str``, ``datasets.Dataset`` or a
    ``tokensmith.corpus.Corpus`` (see ``tokensmith.corpus``). ``method``: a registered method
    (``tokensmith.methods.available_methods()``). ``options``: fields of the method's config
    (``min_frequency``, ``special_tokens``, ``pattern``, ``normalization``, ``num_threads``...) and the
    corpus options ``text_field``, ``whole_files``, ``max_bytes``, ``sample_rate``, ``strict``.

    The returned tokenizer carries its full config; ``tok.save(dir)`` writes it to ``tokenizer_config.json``.
    """
    from tokensmith.corpus import Corpus
    from tokensmith.methods import get_method

    corpus_options = {k: options.pop(k) for k in CORPUS_OPTIONS if k in options}
    config = make_config(method, vocab_size=vocab_size, **options)
    if isinstance(corpus, Corpus):
        if corpus_options:
            raise ConfigError(f"pass {', '.join(corpus_options)} to Corpus(...), not to train(), "
                              "when giving a Corpus object")
    else:
        corpus = Corpus(corpus, seed=config.seed, **corpus_options)
    start = time.perf_counter()
    tokenizer = get_method(method).train(corpus, config)
    _record_provenance(tokenizer, corpus, time.perf_counter() - start)
    if corpus.stats.invalid_utf8_lines:
        import warnings

        from tokensmith.corpus import SkippedLinesWarning

        warnings.warn(f"skipped {corpus.stats.invalid_utf8_lines} lines of invalid UTF-8 "
                      "(strict=True makes this an error)", SkippedLinesWarning, stacklevel=2)
    return tokenizer


def _record_provenance(tokenizer: Any, corpus: Any, seconds: float) -> None:
    """What was read and how long it took, saved with the tokenizer (``tokenizer_config.json``)."""
    provenance = {"corpus": corpus.stats.to_dict(), "train_seconds": round(seconds, 3)}
    info = getattr(tokenizer, "training_info", None)
    if isinstance(info, dict):
        info.update(provenance)
    data = tokenizer.to_data() if hasattr(tokenizer, "to_data") else None
    if data is not None:
        data.config.update(provenance)


def load_data(path: str | os.PathLike, pattern: str | None = None) -> "BpeData":
    """Read any supported tokenizer file into a ``BpeData`` (the format layer's view, no engine)."""
    from tokensmith.formats import hf, sentencepiece, sniff_format, tiktoken

    path = Path(path)
    kind = sniff_format(path)
    if kind == "dir":
        data = hf.load_dir(path)
    elif kind == "hf":
        data = hf.from_tokenizer_json(hf.read_tokenizer_json(path), source=str(path))
    elif kind == "tiktoken":
        checked = tiktoken._resolve_pattern(pattern, path)  # before reading megabytes of ranks
        return tiktoken.ranks_to_data(tiktoken.read_ranks(path), pattern=checked, source=str(path))
    else:
        model_path = path / "tokenizer.model" if path.is_dir() else path
        data = sentencepiece.model_to_data(sentencepiece.read_model(model_path), source=str(model_path))
    if pattern is not None:
        raise ConfigError(f"pattern= only applies to tiktoken rank files; {path} stores its own pattern")
    return data


def load(path: str | os.PathLike, pattern: str | None = None) -> "Tokenizer":
    """Load a tokenizer, sniffing the format.

    - a directory written by ``Tokenizer.save`` (``tokenizer.json`` + ``tokenizer_config.json``);
    - a Hugging Face ``tokenizer.json`` (also ``.json.gz``) with a byte-level BPE model;
    - a tiktoken rank file (``.tiktoken``): pass ``pattern=`` (``"o200k"``, ``"cl100k"``, ``"llama3"``,
      ``"gpt2"`` or a regex); the special tokens of the OpenAI and Llama 3 files are added;
    - a SentencePiece ``.model`` of BPE type (Llama 2, Mistral).
    """
    from tokensmith.tokenizer import Tokenizer

    special = _method_loader(Path(path))
    if special is not None:
        if pattern is not None:
            raise ConfigError(f"pattern= only applies to tiktoken rank files; {path} stores its own pattern")
        return special(path)
    return Tokenizer.from_data(load_data(path, pattern=pattern))


# Method file formats known before their module registers a loader (import path of the loader).
_BUILTIN_METHOD_FILES = {"picky.json": ("tokensmith.methods.picky", "load_picky")}


def _method_loader(path: Path):
    """The loader for a method's own format (``picky.json``...) when ``path`` is one, else None."""
    import importlib

    from tokensmith.methods import method_loaders

    loaders: dict[str, Any] = {}
    for name, (module, attr) in _BUILTIN_METHOD_FILES.items():
        loaders[name] = (module, attr)
    loaders.update(method_loaders())
    for name, loader in loaders.items():
        if (path.is_dir() and (path / name).is_file()) or (path.is_file() and path.name == name):
            if isinstance(loader, tuple):
                loader = getattr(importlib.import_module(loader[0]), loader[1])
            return loader
    return None
