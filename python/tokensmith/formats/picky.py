"""Our documented JSON format for Picky BPE (Chizhov et al., EMNLP 2024): ``picky.json``.

A Picky BPE tokenizer is a vocabulary plus an ordered MERGE/SPLIT event log (encoding replays the log),
which a plain ``tokenizer.json`` merge list cannot express. Layout (version 1)::

    {
      "format": "tokensmith-picky", "version": 1,
      "pattern": "gpt2", "normalization": "none",
      "special_tokens": {"<|endoftext|>": 0},
      "vocab": ["<|endoftext|>", "!", ..., "Ġthe"],            # id -> token (GPT-2 byte alphabet)
      "events": [["merge", "Ġ", "t"], ["split", "Ġth", ["Ġt", "h"]], ...]
    }

Tokens are written in the GPT-2 byte-to-unicode alphabet (as ``tokenizer.json`` does), so every byte
string round-trips; special tokens appear in ``vocab`` as their text. Events are in training order; a
``split`` lists the pieces its token was re-split into at that time. The directory written by
``save_dir`` also holds ``tokenizer_config.json`` with the full training config (key ``"tokensmith"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokensmith.errors import ConfigError, FormatError

__all__ = ["FILE_NAME", "FORMAT", "to_json", "from_json", "save_dir", "load_dir", "is_picky_dir"]

FILE_NAME = "picky.json"
FORMAT = "tokensmith-picky"
VERSION = 1


def _enc(token: bytes) -> str:
    from tokensmith.formats.hf import bytes_to_unicode

    table = bytes_to_unicode()
    return "".join(table[b] for b in token)


def _dec(piece: str) -> bytes:
    from tokensmith.formats.hf import bytes_to_unicode

    inverse = {c: b for b, c in bytes_to_unicode().items()}
    try:
        return bytes(inverse[c] for c in piece)
    except KeyError as exc:
        raise FormatError(f"token {piece!r} has a character outside the GPT-2 byte alphabet ({exc})") from None


def to_json(vocab: list[bytes], events: list[tuple], *, pattern: str | None, normalization: str,
            special_tokens: dict[str, int]) -> dict[str, Any]:
    """The ``picky.json`` object of a trained tokenizer."""
    specials = {i: t for t, i in special_tokens.items()}
    out_events: list[list[Any]] = []
    for kind, first, second in events:
        out_events.append([kind, _enc(first), _enc(second) if kind == "merge" else [_enc(p) for p in second]])
    return {"format": FORMAT, "version": VERSION, "pattern": pattern, "normalization": normalization,
            "special_tokens": dict(special_tokens),
            "vocab": [specials[i] if i in specials else _enc(t) for i, t in enumerate(vocab)],
            "events": out_events}


def from_json(obj: Any, source: str = FILE_NAME) -> dict[str, Any]:
    """Parse a ``picky.json`` object: ``vocab`` (bytes), ``events`` (byte tuples) and the pipeline."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise FormatError(f"{source} is not a tokensmith Picky BPE file (format != {FORMAT!r})")
    if obj.get("version") != VERSION:
        raise FormatError(f"{source} has Picky format version {obj.get('version')!r}; this tokensmith reads {VERSION}")
    specials = {str(t): int(i) for t, i in obj.get("special_tokens", {}).items()}
    by_id = {i: t for t, i in specials.items()}
    vocab = [by_id[i].encode("utf-8") if i in by_id else _dec(t) for i, t in enumerate(obj["vocab"])]
    events: list[tuple] = []
    for ev in obj["events"]:
        if not isinstance(ev, list) or len(ev) != 3 or ev[0] not in ("merge", "split"):
            raise FormatError(f"{source}: bad event {ev!r}; expected ['merge', a, b] or ['split', t, [pieces]]")
        second = _dec(ev[2]) if ev[0] == "merge" else [_dec(p) for p in ev[2]]
        events.append((ev[0], _dec(ev[1]), second))
    return {"vocab": vocab, "events": events, "pattern": obj.get("pattern"),
            "normalization": obj.get("normalization", "none"), "special_tokens": specials}


def save_dir(obj: dict[str, Any], config: dict[str, Any], directory: str | Path) -> Path:
    """Write ``picky.json`` and ``tokenizer_config.json`` (training config under ``"tokensmith"``)."""
    from tokensmith import __version__
    from tokensmith._io import atomic_write

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory; pass a directory to save into")
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(directory / FILE_NAME) as f:
        json.dump(obj, f, ensure_ascii=False)
        f.write("\n")
    with atomic_write(directory / "tokenizer_config.json") as f:
        json.dump({"tokenizer_class": "tokensmith-picky", "tokensmith": {"version": __version__, **config}},
                  f, ensure_ascii=False, indent=2)
        f.write("\n")
    return directory


def is_picky_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding ``picky.json`` (or is that file)."""
    path = Path(path)
    return (path / FILE_NAME).is_file() or (path.is_file() and path.name.endswith(FILE_NAME))


def load_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a directory written by ``save_dir`` (or a ``picky.json`` file): (parsed file, config)."""
    path = Path(path)
    file = path / FILE_NAME if path.is_dir() else path
    try:
        obj = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"no {FILE_NAME} in {path}; pass a directory saved from a Picky BPE tokenizer") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{file} is not valid JSON ({exc})") from None
    config: dict[str, Any] = {}
    cfg = file.parent / "tokenizer_config.json"
    if cfg.is_file():
        ours = json.loads(cfg.read_text(encoding="utf-8")).get("tokensmith", {})
        config = {k: v for k, v in ours.items() if k != "version"}
    return from_json(obj, source=str(file)), config
