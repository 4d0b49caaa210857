"""Training configurations: frozen dataclasses, one docstring line per field, validated on creation.

Each training method has one config class (``BpeConfig`` for plain BPE; the variants subclass it and add
their own fields). The CLI derives its ``tokensmith train`` flags from these fields (``vocab_size`` →
``--vocab-size``), and the full config is saved with every trained tokenizer (``tokenizer_config.json``,
key ``"tokensmith"``), so ``from_dict(cfg.to_dict()) == cfg``.

>>> cfg = BpeConfig(vocab_size=1000, special_tokens=("<|endoftext|>",))
>>> BpeConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import textwrap
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from tokensmith.errors import ConfigError

__all__ = [
    "BpeConfig", "NORMALIZATIONS", "PROGRESS_MODES", "BYTE_ALPHABET_SIZE",
    "known_patterns", "resolve_pattern", "field_docs",
]

NORMALIZATIONS = ("none", "nfc", "nfkc", "lowercase", "nfkc_lowercase")
PROGRESS_MODES = ("auto", "bar", "none", "json")
BYTE_ALPHABET_SIZE = 256
# Used when the pretokenizer module is not importable (it is helper code over the Rust core):
# the public tiktoken / Llama 3 patterns.
_FALLBACK_PATTERNS = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
              r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""]),
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    "whitespace": r"\S+|\s+",
    "none": "",
}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def known_patterns() -> dict[str, str]:
    """Named pretokenization patterns: name -> regex (as ``tokensmith.pretokenize.PATTERNS`` has them)."""
    try:
        from tokensmith.pretokenize import PATTERNS
    except ImportError:
        return dict(_FALLBACK_PATTERNS)
    return dict(PATTERNS)


def resolve_pattern(pattern: str) -> str:
    """Check a pattern: a known name (returned as is) or a regex (compiled to check its syntax).

    A bare identifier must be a known name, so a typo (``"o200"``) is not silently taken as a regex.
    """
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError("pattern must be a pattern name or a regex string, e.g. pattern='o200k'")
    names = known_patterns()
    if pattern in names:
        return pattern
    if _NAME.match(pattern):
        raise ConfigError(f"unknown pattern {pattern!r}; known patterns: {', '.join(names)} "
                          "(or pass a regex)")
    try:  # the engine's own regex syntax (fancy-regex) decides
        from tokensmith.pretokenize import get_pretokenizer
    except ImportError:  # pragma: no cover - fallback before the core is built
        import regex as get_pretokenizer_module

        get_pretokenizer = get_pretokenizer_module.compile
    try:
        get_pretokenizer(pattern)
    except ConfigError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"pattern is not a valid regex ({first}); pass a pattern name such as "
                          "'o200k' or fix the regex") from None
    return pattern


@dataclass(frozen=True)
class BpeConfig:
    """Byte-level BPE: normalize, pretokenize with a regex, count words, merge the most frequent pair."""

    method: ClassVar[str] = "bpe"

    vocab_size: int
    """Final vocabulary size, special tokens included (at least 256 bytes + specials)."""
    min_frequency: int = 2
    """Stop merging when the most frequent pair occurs fewer times than this."""
    max_token_length: int | None = None
    """Longest token in bytes; merges that would make a longer token are skipped (None: no limit)."""
    special_tokens: tuple[str, ...] = ()
    """Special tokens, given the first ids in this order; they never merge with text."""
    pattern: str = "o200k"
    """Pretokenization: a named pattern (gpt2, cl100k, o200k, llama3, ...) or a regex."""
    normalization: str = "none"
    """Unicode normalization applied before pretokenization: none, nfc, nfkc, lowercase, nfkc_lowercase."""
    num_threads: int = 0
    """Worker threads for counting and training (0: all cores)."""
    progress: str = "auto"
    """Progress report on stderr: auto (a bar on a terminal), bar, none or json (one object per line)."""
    seed: int = 0
    """Seed for anything random (corpus sampling); training itself is deterministic."""

    def __post_init__(self) -> None:
        if isinstance(self.special_tokens, (list, str)):
            tokens = [self.special_tokens] if isinstance(self.special_tokens, str) else self.special_tokens
            object.__setattr__(self, "special_tokens", tuple(tokens))
        self._check_int("vocab_size", minimum=1)
        self._check_int("min_frequency", minimum=1)
        if self.max_token_length is not None:
            self._check_int("max_token_length", minimum=1)
        self._check_int("num_threads", minimum=0)
        self._check_int("seed", minimum=0)
        for token in self.special_tokens:
            if not isinstance(token, str) or not token:
                raise ConfigError(f"special tokens must be non-empty strings, got {token!r}")
        if len(set(self.special_tokens)) != len(self.special_tokens):
            dupes = sorted({t for t in self.special_tokens if self.special_tokens.count(t) > 1})
            raise ConfigError(f"special token listed twice: {', '.join(dupes)}")
        floor = BYTE_ALPHABET_SIZE + len(self.special_tokens)
        if self.vocab_size < floor:
            raise ConfigError(f"vocab_size={self.vocab_size} is below the byte alphabet (256) plus "
                              f"{len(self.special_tokens)} special tokens; use vocab_size >= {floor}")
        object.__setattr__(self, "pattern", resolve_pattern(self.pattern))
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(f"unknown normalization {self.normalization!r}; known: {', '.join(NORMALIZATIONS)}")
        if self.progress not in PROGRESS_MODES:
            raise ConfigError(f"unknown progress mode {self.progress!r}; use one of {', '.join(PROGRESS_MODES)}")

    def _check_int(self, name: str, *, minimum: int) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")

    # -- serialisation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, ``"method"`` first."""
        out: dict[str, Any] = {"method": self.method}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BpeConfig":
        """Rebuild a config from ``to_dict()`` output; the ``"method"`` key picks the subclass."""
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        method = data.pop("method", cls.method)
        target = cls
        if method != cls.method:
            from tokensmith.methods import get_method

            target = get_method(method).config_class
        names = {f.name for f in dataclasses.fields(target)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown option(s) for method {method!r}: {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(names))}")
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = tuple(value)
        return target(**data)

    def replace(self, **changes: Any) -> "BpeConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@functools.lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """The docstring line under each field of a dataclass, gathered from its class hierarchy."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a config class's fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(cls)}
