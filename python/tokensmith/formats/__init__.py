"""File formats: what a BPE tokenizer is on disk, independent of the engine that runs it.

Every reader returns, and every writer takes, a ``BpeData``: the vocabulary (id -> token bytes), the
merges in rank order, the special tokens, and the text pipeline (normalization, pretokenization
pattern, units). ``tokensmith.api`` turns a ``BpeData`` into a ``Tokenizer`` and back.

- ``hf``: Hugging Face ``tokenizer.json`` (+ ``tokenizer_config.json``), byte-level BPE.
- ``tiktoken``: ``.tiktoken`` rank files (base64 token, space, rank), and ``tiktoken.Encoding``.
- ``sentencepiece``: SentencePiece ``.model`` protobuf (BPE models), parsed without ``protobuf``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tokensmith.errors import FormatError

__all__ = ["BpeData", "LazyList", "UNITS", "sniff_format", "read_maybe_gzip"]

UNITS = ("bytes", "chars_byte_fallback")


class LazyList(list):
    """A list filled by ``fill()`` on first use: rank files derive hundreds of thousands of merges that
    the engine never needs (it takes ``token_ranks``), so they are only built when something reads them.
    Pickles and compares as a plain list."""

    def __init__(self, fill: Callable[[], Iterable[Any]]) -> None:
        super().__init__()
        self._fill: Callable[[], Iterable[Any]] | None = fill

    def _ready(self) -> None:
        if self._fill is not None:
            fill, self._fill = self._fill, None
            super().extend(fill())

    def __iter__(self) -> Iterator[Any]:
        self._ready()
        return super().__iter__()

    def __len__(self) -> int:
        self._ready()
        return super().__len__()

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: Any) -> Any:
        self._ready()
        return super().__getitem__(index)

    def __eq__(self, other: object) -> bool:
        self._ready()
        if isinstance(other, LazyList):
            other._ready()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._ready()
        return super().__repr__()

    def __reduce__(self) -> tuple:
        self._ready()
        return (list, (list(super().__iter__()),))


@dataclass
class BpeData:
    """A BPE tokenizer as data. ``vocab[i]`` is the bytes token ``i`` stands for (``None``: an unused id)."""

    vocab: list[bytes | None]
    """Token id -> the bytes it decodes to (special tokens: their UTF-8 text)."""
    merges: list[tuple[int, int]]
    """Merges in priority order: ``(left_id, right_id)``; the result is the id whose bytes are the concatenation."""
    merge_priority: list[int] | None = None
    """Priority of each merge when several share one (rank files: the rank of the merged token); None: the index."""
    token_ranks: list[int] | None = None
    """Rank of each id as a merge result (rank files: the id), equivalent to ``merge_priority``; the engine's fast path."""
    special_tokens: dict[str, int] = field(default_factory=dict)
    """Special token text -> id. Text that spells one is matched as a whole, never merged."""
    pattern: str | None = None
    """Pretokenization: a named pattern or a regex; ``None`` means the text is one piece."""
    normalization: str = "none"
    """none, nfc, nfkc, lowercase or nfkc_lowercase."""
    units: str = "bytes"
    """``bytes``: byte-level BPE; ``chars_byte_fallback``: SentencePiece-style characters, unknown ones as bytes."""
    ignore_merges: bool = False
    """Look a whole pretokenized piece up in the vocabulary before merging (Llama 3 style)."""
    space_replacement: str | None = None
    """SentencePiece: the character spaces are replaced with (``"▁"``); ``None`` for byte-level."""
    add_dummy_prefix: bool = False
    """SentencePiece: prepend one ``space_replacement`` to the text before encoding."""
    unk_id: int | None = None
    """Id for characters with no token and no byte fallback (SentencePiece ``<unk>``)."""
    byte_fallback: dict[int, int] = field(default_factory=dict)
    """SentencePiece: byte value -> id of its ``<0xXX>`` piece."""
    control_ids: list[int] = field(default_factory=list)
    """Ids that text never produces and that decode to nothing (SentencePiece control pieces: ``<s>``...)."""
    config: dict[str, Any] = field(default_factory=dict)
    """Training provenance (``tokenizer_config.json["tokensmith"]``), empty for foreign files."""
    source: str = ""
    """Where this came from, for messages (``"tiktoken:cl100k_base.tiktoken"``)."""

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def core_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``tokensmith._core.BpeModel`` that encode exactly as this data says.

        With ``merge_priority`` (rank files, SentencePiece) the engine gets a rank per id, which it
        applies to every split of a token (tiktoken's rule, leftmost on a tie); otherwise the merge pairs.
        """
        if self.units == "chars_byte_fallback" and self.byte_fallback and len(self.byte_fallback) != 256:
            raise FormatError(f"{self.source}: byte fallback needs all 256 <0xXX> pieces, "
                              f"found {len(self.byte_fallback)}")
        from tokensmith.formats.hf import _pattern_regex

        pattern = self.pattern
        if pattern is not None:
            from tokensmith.config import known_patterns

            if pattern not in known_patterns():
                pattern = _pattern_regex(pattern)
        kwargs: dict[str, Any] = {
            "vocab": [t if t is not None else b"" for t in self.vocab],
            "pattern": None if pattern in (None, "none") else pattern,
            "normalization": self.normalization,
            "special_tokens": dict(self.special_tokens),
            "ignore_merges": self.ignore_merges,
            "units": self.units,
        }
        if self.units == "chars_byte_fallback" and self.byte_fallback:
            kwargs["byte_fallback_ids"] = [self.byte_fallback[b] for b in range(256)]
        if self.token_ranks is not None:
            kwargs["ranks"] = list(self.token_ranks)
        elif self.merge_priority is None:
            kwargs["merges"] = [tuple(m) for m in self.merges]
        else:
            never = 2**32 - 1
            ranks = [never] * len(self.vocab)
            ids = self.token_to_id()
            for (a, b), priority in zip(self.merges, self.merge_priority):
                result = ids[self.vocab[a] + self.vocab[b]]  # type: ignore[operator]
                ranks[result] = min(ranks[result], priority)
            kwargs["ranks"] = ranks
        return kwargs

    def token_to_id(self) -> dict[bytes, int]:
        """bytes -> id for ordinary tokens (special tokens excluded)."""
        specials = set(self.special_tokens.values()) | set(self.control_ids)
        return {tok: i for i, tok in enumerate(self.vocab) if tok is not None and i not in specials}


def read_maybe_gzip(path: str | Path) -> bytes:
    """File bytes, gunzipped when the file starts with the gzip magic."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FormatError(f"tokenizer file not found: {path}") from None
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise FormatError(f"{path} is a corrupt gzip file ({exc})") from None
    return data


def _head(path: Path, size: int = 64) -> bytes:
    """The first bytes of a file, gunzipped when it is gzip."""
    try:
        with path.open("rb") as f:
            head = f.read(size)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                head = f.read(size)
    except (OSError, EOFError) as exc:
        raise FormatError(f"cannot read {path}: {exc}") from None
    return head


def sniff_format(path: str | Path) -> str:
    """``"dir"``, ``"hf"``, ``"tiktoken"`` or ``"sentencepiece"``, from the path and the first bytes."""
    path = Path(path)
    if path.is_dir():
        if (path / "tokenizer.json").is_file() or (path / "tokenizer.json.gz").is_file():
            return "dir"
        if (path / "tokenizer.model").is_file():
            return "sentencepiece"
        raise FormatError(f"{path} holds no tokenizer.json; pass a tokenizer directory or file")
    if not path.exists():
        raise FormatError(f"tokenizer file not found: {path}")
    head = _head(path)
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "hf"
    if head[:1] == b"\x0a":  # protobuf: field 1 (pieces), length-delimited
        return "sentencepiece"
    first = head.split(b"\n", 1)[0]
    parts = first.split()
    if len(parts) == 2 and parts[1].isdigit():
        return "tiktoken"
    raise FormatError(f"{path}: unknown tokenizer format; expected tokenizer.json, a .tiktoken rank file "
                      "or a SentencePiece .model")
