"""SentencePiece ``.model`` files (BPE type), parsed straight from the protobuf wire format.

The fields read (``sentencepiece_model.proto``): ``ModelProto.pieces`` (1: piece, 2: score, 3: type),
``trainer_spec`` (2: 3 model_type, 35 byte_fallback, 40 unk_id) and ``normalizer_spec`` (3: 1 name,
2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces).

SentencePiece BPE joins, again and again, the adjacent pair whose concatenation is the highest-scoring
piece (leftmost on a tie). As merges: every split ``(left, right)`` of every piece into two pieces, with
the piece's place in score order as the shared priority. Characters with no piece become ``<0xXX>`` byte pieces (byte fallback) or ``<unk>``.
Spaces become ``▁`` and, with ``add_dummy_prefix``, one ``▁`` is put in front of the text.
Unigram models are refused: their encoding is a Viterbi search, not merges.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tokensmith.errors import FormatError
from tokensmith.formats import BpeData, read_maybe_gzip

__all__ = ["SentencePieceModel", "read_model", "model_to_data", "SPACE"]

SPACE = "\u2581"  # ▁
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


@dataclass
class SentencePieceModel:
    """The parts of a ``.model`` file that encoding needs."""

    pieces: list[tuple[str, float, int]]
    """(piece, score, type) by id."""
    model_type: str = "unigram"
    byte_fallback: bool = False
    unk_id: int = 0
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True
    treat_whitespace_as_suffix: bool = False
    extra: dict = field(default_factory=dict)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise FormatError("truncated protobuf varint")
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) for each field of a protobuf message; varints as int, the rest as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, value
        elif wire == 1:
            yield number, buf[i:i + 8]
            i += 8
        elif wire == 2:
            length, i = _varint(buf, i)
            if i + length > len(buf):
                raise FormatError("truncated protobuf field")
            yield number, buf[i:i + length]
            i += length
        elif wire == 5:
            yield number, buf[i:i + 4]
            i += 4
        else:
            raise FormatError(f"unsupported protobuf wire type {wire}")


def read_model(path: str | Path) -> SentencePieceModel:
    """Parse a SentencePiece ``.model`` file."""
    buf = read_maybe_gzip(path)
    model = SentencePieceModel(pieces=[])
    try:
        for number, value in _fields(buf):
            if number == 1 and isinstance(value, bytes):
                piece, score, kind = "", 0.0, NORMAL
                for n, v in _fields(value):
                    if n == 1 and isinstance(v, bytes):
                        piece = v.decode("utf-8")
                    elif n == 2 and isinstance(v, bytes):
                        score = struct.unpack("<f", v)[0]
                    elif n == 3 and isinstance(v, int):
                        kind = v
                model.pieces.append((piece, score, kind))
            elif number == 2 and isinstance(value, bytes):
                for n, v in _fields(value):
                    if n == 3 and isinstance(v, int):
                        model.model_type = MODEL_TYPES.get(v, str(v))
                    elif n == 35 and isinstance(v, int):
                        model.byte_fallback = bool(v)
                    elif n == 40 and isinstance(v, int):
                        model.unk_id = v
                    elif n == 24 and isinstance(v, int):
                        model.treat_whitespace_as_suffix = bool(v)
            elif number == 3 and isinstance(value, bytes):
                for n, v in _fields(value):
                    if n == 1 and isinstance(v, bytes):
                        model.normalizer_name = v.decode("utf-8", "replace")
                    elif n == 2 and isinstance(v, bytes):
                        model.precompiled_charsmap = v
                    elif n == 3 and isinstance(v, int):
                        model.add_dummy_prefix = bool(v)
                    elif n == 4 and isinstance(v, int):
                        model.remove_extra_whitespaces = bool(v)
                    elif n == 5 and isinstance(v, int):
                        model.escape_whitespaces = bool(v)
    except (FormatError, UnicodeDecodeError, struct.error) as exc:
        raise FormatError(f"{path} is not a valid SentencePiece model ({exc})") from None
    if not model.pieces:
        raise FormatError(f"{path} is not a SentencePiece model (no pieces)")
    return model


def model_to_data(model: SentencePieceModel, source: str = "tokenizer.model") -> BpeData:
    """A ``BpeData`` (``units="chars_byte_fallback"``) that encodes exactly like SentencePiece."""
    if model.model_type != "bpe":
        raise FormatError(f"{source} is a SentencePiece {model.model_type} model; tokensmith loads BPE models "
                          "only (Unigram encoding is a Viterbi search, not merges)")
    if model.precompiled_charsmap:
        raise FormatError(f"{source}: the SentencePiece normalizer {model.normalizer_name or 'precompiled'!r} "
                          "is not supported; only identity normalization is")
    if model.remove_extra_whitespaces:
        raise FormatError(f"{source}: remove_extra_whitespaces=true is not supported")
    if model.treat_whitespace_as_suffix:
        raise FormatError(f"{source}: treat_whitespace_as_suffix=true is not supported")

    vocab: list[bytes | None] = []
    piece_ids: dict[str, int] = {}
    byte_ids: dict[int, int] = {}
    specials: dict[str, int] = {}
    controls: list[int] = []
    for i, (piece, _score, kind) in enumerate(model.pieces):
        if kind == BYTE and len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            byte_ids[int(piece[3:5], 16)] = i
            vocab.append(bytes([int(piece[3:5], 16)]))
        elif kind in (CONTROL, UNKNOWN):
            controls.append(i)
            vocab.append(b"")
        elif kind == USER_DEFINED:
            specials[piece] = i  # matched whole in the text, as SentencePiece does
            vocab.append(piece.encode("utf-8"))
        else:
            vocab.append(piece.encode("utf-8"))
            if kind == NORMAL:
                piece_ids[piece] = i
    # Every split of a piece into two pieces is a merge, prioritised by the piece's score (ties: id).
    order = sorted(piece_ids.items(), key=lambda kv: (-model.pieces[kv[1]][1], kv[1]))
    merges: list[tuple[int, int]] = []
    priority: list[int] = []
    token_ranks = [2**32 - 1] * len(vocab)
    for rank, (piece, i) in enumerate(order):
        token_ranks[i] = rank
        for cut in range(1, len(piece)):
            left, right = piece_ids.get(piece[:cut]), piece_ids.get(piece[cut:])
            if left is not None and right is not None:
                merges.append((left, right))
                priority.append(rank)
    return BpeData(
        vocab=vocab, merges=merges, merge_priority=priority, token_ranks=token_ranks, special_tokens=specials, pattern=None, normalization="none",
        units="chars_byte_fallback", space_replacement=SPACE if model.escape_whitespaces else None,
        add_dummy_prefix=model.add_dummy_prefix,
        unk_id=model.unk_id if model.unk_id < len(vocab) else None,
        byte_fallback=byte_ids if model.byte_fallback else {}, control_ids=controls, source=source,
    )
