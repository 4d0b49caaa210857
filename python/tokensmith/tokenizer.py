"""The user-facing ``Tokenizer``: a frozen Rust BPE engine plus the data it was built from.

>>> tok = tokensmith.train(["some text", "more text"], vocab_size=300)      # doctest: +SKIP
>>> tok.decode(tok.encode("some text"))                                      # doctest: +SKIP
'some text'

The tables cross into Rust once (``tokensmith._core.BpeModel``); ``encode``/``decode`` then move
``str`` in and ids out with the GIL released. Special tokens follow tiktoken: text that spells a special
token raises ``TokenError`` unless it is allowed (``allowed_special={"<|endoftext|>"}`` or ``"all"``, then it
becomes its id) or not disallowed (``disallowed_special=()``, then it is ordinary text).

Offsets are byte offsets into the text the engine saw: the input itself unless the tokenizer normalizes
(NFC/NFKC/lowercase) or replaces spaces (SentencePiece ``▁``), in which case they index that text.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from tokensmith.errors import ConfigError, TokenError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["Tokenizer", "EncodingWithOffsets"]

_DECODE_ERRORS = ("replace", "strict", "ignore")
# bytes.translate table: 1 for a byte that starts a UTF-8 character, 0 for a continuation byte.
_LEAD = bytes(0 if 0x80 <= b < 0xC0 else 1 for b in range(256))


class EncodingWithOffsets(NamedTuple):
    """Ids with the (start, end) of each token, in bytes and in characters of the encoded text."""

    ids: list[int]
    byte_offsets: list[tuple[int, int]]
    char_offsets: list[tuple[int, int]]


def _check_threads(num_threads: Any) -> int:
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                    or num_threads < 0):
        raise ConfigError(f"num_threads must be a non-negative int, got {num_threads!r}")
    return int(num_threads or 0)


def _char_offsets(text: str, byte_offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte spans -> character spans. A token that starts or ends inside a character (byte-level BPE
    can split one) gets the whole character: start rounds down, end rounds up."""
    raw = text.encode("utf-8")
    leads = [0, *itertools.accumulate(raw.translate(_LEAD))]  # leads[p] = characters starting before byte p
    out = []
    for start, end in byte_offsets:
        start, end = min(start, len(raw)), min(end, len(raw))
        first = leads[start + 1] - 1 if start < len(raw) else leads[start]
        out.append((first, leads[end]))
    return out


class Tokenizer:
    """A BPE tokenizer: byte-level (trained, tiktoken, ``tokenizer.json``) or SentencePiece-BPE.

    Build one with ``tokensmith.train``/``tokensmith.load``, from a ``BpeData`` (``Tokenizer.from_data``) or
    directly: ``Tokenizer(vocab, merges, pattern="o200k", special_tokens={"<|endoftext|>": 0})`` where
    ``vocab[i]`` is the bytes of id ``i`` and ``merges`` the id pairs in rank order. Extra keyword arguments
    are ``BpeData`` fields (``merge_priority``, ``units``, ``ignore_merges``, ``byte_fallback``...).
    """

    def __init__(self, vocab: Sequence[bytes | None], merges: Sequence[tuple[int, int]], *,
                 pattern: str | None = None, normalization: str = "none",
                 special_tokens: Mapping[str, int] | None = None, config: Mapping[str, Any] | None = None,
                 **data_fields: Any) -> None:
        from tokensmith.formats import BpeData

        try:
            data = BpeData(vocab=list(vocab), merges=[(int(a), int(b)) for a, b in merges], pattern=pattern,
                           normalization=normalization, special_tokens=dict(special_tokens or {}),
                           config=dict(config or {}), **data_fields)
        except TypeError as exc:
            raise ConfigError(f"unknown Tokenizer option ({exc}); see tokensmith.formats.BpeData for the fields") from None
        self._setup(data)

    @classmethod
    def from_data(cls, data: Any) -> "Tokenizer":
        """Wrap a ``tokensmith.formats.BpeData`` (what the format readers and trainers produce)."""
        tok = cls.__new__(cls)
        tok._setup(data)
        return tok

    def _setup(self, data: Any, training_info: dict[str, Any] | None = None) -> None:
        from tokensmith import _core

        self._data = data
        kwargs = data.core_kwargs()
        kwargs.setdefault("space_replacement", data.space_replacement)
        kwargs.setdefault("add_dummy_prefix", data.add_dummy_prefix)
        kwargs.setdefault("unk_id", data.unk_id)
        self._core = _core.BpeModel(**kwargs)
        self._control = frozenset(data.control_ids)
        self.training_info: dict[str, Any] = dict(training_info or {})

    # -- encoding ---------------------------------------------------------------------------------

    def encode(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
               disallowed_special: Iterable[str] | str = "all", dropout: float | None = None,
               seed: int | None = None) -> list[int]:
        """Token ids of ``text``. ``dropout=p`` applies BPE-dropout (each merge skipped with probability
        ``p``); ``seed`` makes it reproducible (default: a fresh random seed per call)."""
        text = _check_text(text)
        if dropout:
            if not 0.0 <= dropout <= 1.0:
                raise ConfigError(f"dropout must be between 0 and 1, got {dropout}")
            if seed is None:
                seed = int.from_bytes(os.urandom(8), "little")
            return self._core.encode(text, allowed_special, disallowed_special, dropout=float(dropout), seed=seed)
        return self._core.encode(text, allowed_special, disallowed_special)

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of ``text`` with special tokens treated as plain text."""
        return self._core.encode(_check_text(text), (), ())

    def encode_batch(self, texts: Iterable[str], *, allowed_special: Iterable[str] | str = frozenset(),
                     disallowed_special: Iterable[str] | str = "all", num_threads: int | None = None) -> list[list[int]]:
        """Encode many texts in parallel (``num_threads``: None or 0 = all cores)."""
        texts = [_check_text(text) for text in texts]
        return self._core.encode_batch(texts, allowed_special, disallowed_special, _check_threads(num_threads))

    def encode_batch_flat(self, texts: Iterable[str], *, allowed_special: Iterable[str] | str = frozenset(),
                          disallowed_special: Iterable[str] | str = "all",
                          num_threads: int | None = None) -> tuple["np.ndarray", "np.ndarray"]:
        """All texts' ids in one ``uint32`` array and the ``n + 1`` document boundaries (``int64``):
        ``ids[bounds[i]:bounds[i + 1]]`` are text ``i``'s ids, as ``encode_batch`` gives them.

        Prefer it for large batches: ``encode_batch`` turns every id into a Python int on one thread
        (under the GIL), which caps its speed-up from threads; this returns two buffers.

        >>> ids, bounds = tokensmith.load("gpt2").encode_batch_flat(["hi", "a b"])  # doctest: +SKIP
        """
        import numpy as np

        texts = [_check_text(text) for text in texts]
        threads = _check_threads(num_threads)
        flat = getattr(self._core, "encode_batch_flat", None)
        if flat is None:  # an engine without the flat form (Picky BPE's log replay)
            docs = self.encode_batch(texts, allowed_special=allowed_special, disallowed_special=disallowed_special,
                                     num_threads=threads)
            bounds = np.zeros(len(docs) + 1, dtype=np.int64)
            np.cumsum([len(d) for d in docs], out=bounds[1:])
            return np.fromiter(itertools.chain.from_iterable(docs), dtype=np.uint32, count=int(bounds[-1])), bounds
        allowed, banned = self._policy(allowed_special, disallowed_special)
        ids, bounds = flat(texts, allowed, banned, threads)
        return np.frombuffer(ids, dtype=np.uint32), np.frombuffer(bounds, dtype=np.uint64).astype(np.int64)

    def _policy(self, allowed: Iterable[str] | str, disallowed: Iterable[str] | str) -> tuple[Any, Any]:
        """The special-token policy handed to the engine (subclasses may widen it)."""
        return allowed, disallowed

    def encode_with_offsets(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
                            disallowed_special: Iterable[str] | str = "all") -> EncodingWithOffsets:
        """Ids with byte and character offsets of each token (see the module notes on normalization)."""
        text = _check_text(text)
        ids, offsets = self._core.encode_with_offsets(text, allowed_special, disallowed_special)
        seen = text if self._engine_sees_input() else self._engine_text(text)
        return EncodingWithOffsets(ids, offsets, _char_offsets(seen, offsets))

    def _engine_sees_input(self) -> bool:
        return self._data.normalization == "none" and not self._data.space_replacement

    def _engine_text(self, text: str) -> str:
        """Best effort: the text the engine indexes (normalized, spaces replaced), decoded leniently."""
        from tokensmith.formats.reference import normalize

        out = normalize(self._data.normalization, text)
        if self._data.space_replacement:
            out = out.replace(" ", self._data.space_replacement)
            if self._data.add_dummy_prefix:
                out = self._data.space_replacement + out
        return out

    # -- decoding ---------------------------------------------------------------------------------

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The exact bytes of ``ids`` (SentencePiece: ``▁`` back to spaces, dummy prefix removed)."""
        ids = [int(i) for i in ids]
        if self._control:
            ids = [i for i in ids if i not in self._control]
        if any(not 0 <= i < 2**32 for i in ids):
            raise TokenError(f"unknown token id {next(i for i in ids if not 0 <= i < 2**32)}; "
                             f"ids run from 0 to {self.vocab_size - 1}")
        raw = self._core.decode_bytes(ids)
        rep = self._data.space_replacement
        if rep:
            raw = raw.replace(rep.encode("utf-8"), b" ")
            if self._data.add_dummy_prefix and raw.startswith(b" "):
                raw = raw[1:]
        return raw

    def decode(self, ids: Iterable[int], *, errors: str = "replace") -> str:
        """Text of ``ids``. ``errors="strict"`` raises ``TokenError`` when the bytes are not valid UTF-8
        (e.g. the ids end inside a character); ``"replace"`` gives U+FFFD; ``"ignore"`` drops them."""
        if errors not in _DECODE_ERRORS:
            raise ConfigError(f"errors must be one of {', '.join(_DECODE_ERRORS)}, got {errors!r}")
        raw = self.decode_bytes(ids)
        try:
            return raw.decode("utf-8", errors)
        except UnicodeDecodeError as exc:
            where = "ends inside a UTF-8 character" if exc.end == len(raw) else f"is not valid UTF-8 at byte {exc.start}"
            raise TokenError(f"the decoded byte sequence {where}; pass errors='replace' or decode more ids") from None

    # -- vocabulary -------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Ids run from 0 to ``vocab_size - 1`` (special tokens included)."""
        return self._core.vocab_size

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def special_tokens(self) -> dict[str, int]:
        """Special token text -> id."""
        return dict(self._data.special_tokens)

    @property
    def special_ids(self) -> frozenset[int]:
        return frozenset(self._data.special_tokens.values())

    @property
    def vocab(self) -> dict[bytes, int]:
        """Token bytes -> id, special tokens (as their UTF-8 text) included."""
        out = self._data.token_to_id()
        for text, i in self._data.special_tokens.items():
            out[text.encode("utf-8")] = i
        return out

    @property
    def merges(self) -> list[tuple[int, int]]:
        """Merges as id pairs in rank order."""
        return list(self._data.merges)

    @property
    def pattern(self) -> str | None:
        return self._data.pattern

    @property
    def normalization(self) -> str:
        return self._data.normalization

    @property
    def config(self) -> dict[str, Any]:
        """The training config (``{"method": ..., "config": {...}}``); empty for imported files."""
        return dict(self._data.config)

    def token_to_id(self, token: str | bytes) -> int | None:
        """The id of a token (``str``: its UTF-8; special tokens by their text), or None."""
        if isinstance(token, str):
            if token in self._data.special_tokens:
                return self._data.special_tokens[token]
            token = token.encode("utf-8")
        if not isinstance(token, (bytes, bytearray)):
            raise ConfigError(f"token_to_id takes str or bytes, got {type(token).__name__}")
        return self._core.token_id(bytes(token))

    def id_to_token(self, token_id: int) -> bytes:
        """The bytes of one id (a special token's UTF-8 text); ``TokenError`` for an unknown id."""
        if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0:
            raise TokenError(f"token ids are non-negative ints, got {token_id!r}")
        return self._core.token_bytes(token_id)

    token_bytes = id_to_token

    # -- conversion, saving, pickling -------------------------------------------------------------

    def to_data(self) -> Any:
        """The ``BpeData`` this tokenizer runs (the format layer's view)."""
        return self._data

    def save(self, directory: str | os.PathLike) -> Any:
        """Write ``tokenizer.json`` + ``tokenizer_config.json`` (loadable by stock ``tokenizers``)."""
        from tokensmith.formats import hf

        return hf.save_dir(self._data, directory)

    def to_tiktoken(self, name: str = "tokensmith") -> Any:
        """A ``tiktoken.Encoding`` giving the same ids."""
        from tokensmith.formats.tiktoken import to_encoding

        return to_encoding(self._data, name)

    def to_hf(self) -> Any:
        """A stock ``tokenizers.Tokenizer`` giving the same ids."""
        import tokenizers

        from tokensmith.formats import hf

        return tokenizers.Tokenizer.from_str(hf.dumps(hf.to_tokenizer_json(self._data)))

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self._data, "training_info": self.training_info}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(state["data"], state.get("training_info"))

    def __repr__(self) -> str:
        method = self._data.config.get("method") or (self._data.source or "bpe")
        return (f"Tokenizer(vocab_size={self.vocab_size}, pattern={self._data.pattern!r}, "
                f"normalization={self._data.normalization!r}, special_tokens={len(self._data.special_tokens)}, "
                f"source={method!r})")


def _check_text(text: Any) -> str:
    """The text to encode; lone surrogates (not encodable as UTF-8) become U+FFFD, as in tiktoken."""
    if not isinstance(text, str):
        raise ConfigError(f"expected text as str, got {type(text).__name__}; decode bytes first")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
