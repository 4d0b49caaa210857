"""Hugging Face ``tokenizer.json`` for byte-level BPE, and the ``tokenizer_config.json`` beside it.

Written files: normalizer (NFC/NFKC/Lowercase or null) -> pre_tokenizer ``Sequence[Split(regex,
Isolated), ByteLevel(use_regex=false)]`` -> BPE model with legacy ``"a b"`` merge strings (they load in
every ``tokenizers`` version, since byte-level tokens never contain a space) -> ByteLevel decoder.
``tokenizer_config.json`` names ``PreTrainedTokenizerFast`` and carries our training config under
``"tokensmith"``; ``tokenizer.json`` never gets extra keys (stock ``tokenizers`` refuses them).

Read files: the above, GPT-2 style (``ByteLevel`` pre-tokenizer with its own regex), Llama 3 style
(``Split`` + ``ByteLevel(use_regex=false)``, ``ignore_merges``) and Qwen style (NFC normalizer, added
tokens). Anything else (WordPiece, Unigram, Metaspace...) is refused with a ``FormatError``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokensmith.errors import ConfigError, FormatError
from tokensmith.formats import BpeData, read_maybe_gzip

__all__ = [
    "bytes_to_unicode", "to_tokenizer_json", "dumps", "tokenizer_config", "from_tokenizer_json",
    "read_tokenizer_json", "save_dir", "load_dir", "GPT2_BYTELEVEL_REGEX", "CONFIG_KEY",
]

CONFIG_KEY = "tokensmith"
# The regex `ByteLevel(use_regex=true)` applies (tokenizers/src/pre_tokenizers/byte_level.rs).
GPT2_BYTELEVEL_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"

_NORMALIZERS = {
    "nfc": {"type": "NFC"},
    "nfkc": {"type": "NFKC"},
    "lowercase": {"type": "Lowercase"},
    "nfkc_lowercase": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
}


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table: printable Latin-1 bytes map to themselves, the
    other 68 to U+0100 onwards. ``bytes_to_unicode()[ord(" ")] == "Ġ"``."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@lru_cache(maxsize=1)
def _unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


@lru_cache(maxsize=1)
def _translation() -> dict[int, str]:
    return {b: c for b, c in bytes_to_unicode().items()}


def _to_piece(token: bytes) -> str:
    """Token bytes in GPT-2's byte alphabet (``b" the"`` -> ``"Ġthe"``)."""
    return token.decode("latin-1").translate(_translation())


def _from_piece(piece: str) -> bytes | None:
    table = _unicode_to_bytes()
    try:
        return bytes(table[c] for c in piece)
    except KeyError:
        return None


def _pattern_regex(pattern: str | None) -> str | None:
    if pattern is None or pattern == "none":
        return None
    from tokensmith.config import known_patterns

    named = known_patterns()
    if pattern in named:
        if not named[pattern]:
            raise ConfigError(f"pattern {pattern!r} has no regex form, so it cannot be written to tokenizer.json")
        return named[pattern]
    return pattern


def _hf_regex(regex: str) -> str:
    r"""``regex`` as stock ``tokenizers`` (Oniguruma) must be given it to split the same way.

    Oniguruma reads a possessive interval ``{1,3}+`` as ``(?:{1,3})+`` (any number of digits), so
    cl100k's ``\p{N}{1,3}+`` would split "1877" as 18|77. At the end of an alternative the plain
    interval matches exactly what the possessive one does, so write that.
    """
    return regex.replace(r"\p{N}{1,3}+", r"\p{N}{1,3}")


def _pattern_name(regex: str) -> str:
    """A named pattern whose regex is ``regex`` (as written by us or by tiktoken), else the regex itself."""
    from tokensmith.config import known_patterns

    for name, known in known_patterns().items():
        if known and regex in (known, _hf_regex(known)):
            return name
    return regex


# -- writing -------------------------------------------------------------------------------------

def to_tokenizer_json(data: BpeData) -> dict[str, Any]:
    """The ``tokenizer.json`` object for a byte-level BPE ``BpeData``."""
    if data.units != "bytes":
        raise FormatError("only byte-level BPE can be written as tokenizer.json; this tokenizer uses "
                          f"{data.units!r} units (save it in its own format instead)")
    specials = {i: t for t, i in data.special_tokens.items()}
    ordinary = _ordinary_added(data)
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": t not in ordinary} for i, t in sorted(specials.items())]
    vocab: dict[str, int] = {}
    pieces: list[str] = []
    for i, token in enumerate(data.vocab):
        if token is None:
            pieces.append("")
            continue
        piece = specials[i] if i in specials else _to_piece(token)
        pieces.append(piece)
        if piece in vocab:
            raise FormatError(f"token {piece!r} appears twice in the vocabulary (ids {vocab[piece]} and {i})")
        vocab[piece] = i
    merges = [f"{pieces[left]} {pieces[right]}" for left, right in data.merges]
    regex = _pattern_regex(data.pattern)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    if regex is None:
        pre_tokenizer: dict[str, Any] = byte_level
    else:
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": _hf_regex(regex)}, "behavior": "Isolated", "invert": False},
            byte_level]}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": _NORMALIZERS.get(data.normalization),
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": data.ignore_merges, "vocab": vocab, "merges": merges,
        },
    }


def _ordinary_added(data: BpeData) -> set[str]:
    """Added tokens that are ordinary text (the domain recipe's whole tokens: ``https://``, years...):
    always matched, but kept by ``decode(skip_special_tokens=True)``."""
    return set(data.config.get("whole_tokens", ()))


def dumps(obj: dict[str, Any]) -> str:
    """Stable JSON text: 2-space indent, UTF-8 characters as is, a final newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def tokenizer_config(data: BpeData) -> dict[str, Any]:
    """``tokenizer_config.json``: what ``transformers`` reads, plus our provenance under ``"tokensmith"``."""
    ordinary = _ordinary_added(data)
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": t not in ordinary}
             for t, i in sorted(data.special_tokens.items(), key=lambda kv: kv[1])}
    out: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1000000000000000019884624838656,  # transformers' "no limit" value
    }
    names = list(data.special_tokens)
    for role, candidates in (("bos_token", ("<|begin_of_text|>", "<s>", "<|bos|>")),
                             ("eos_token", ("<|endoftext|>", "<|end_of_text|>", "</s>", "<|eos|>")),
                             ("pad_token", ("<|pad|>", "<pad>")), ("unk_token", ("<unk>", "<|unk|>"))):
        match = next((n for n in candidates if n in names), None)
        if match:
            out[role] = match
    from tokensmith import __version__

    out[CONFIG_KEY] = {"version": __version__, **data.config}
    return out


def save_dir(data: BpeData, directory: str | Path) -> Path:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``directory`` (each written atomically)."""
    from tokensmith._io import atomic_write

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory; pass a directory to save into")
    tok_json = dumps(to_tokenizer_json(data))
    cfg_json = dumps(tokenizer_config(data))
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(directory / "tokenizer.json") as f:
        f.write(tok_json)
    with atomic_write(directory / "tokenizer_config.json") as f:
        f.write(cfg_json)
    return directory


# -- reading -------------------------------------------------------------------------------------

def read_tokenizer_json(path: str | Path) -> dict[str, Any]:
    """Parse a ``tokenizer.json`` (or ``.json.gz``) file into a dict."""
    raw = read_maybe_gzip(path)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path} is not valid JSON ({exc}); pass a tokenizer.json file") from None
    if not isinstance(obj, dict) or "model" not in obj:
        raise FormatError(f"{path} is not a tokenizer.json file (no 'model' key)")
    return obj


def _normalization(spec: Any, source: str) -> str:
    if spec is None:
        return "none"
    kind = spec.get("type")
    if kind == "Sequence":
        parts = [n.get("type") for n in spec.get("normalizers", [])]
        if parts == []:
            return "none"
        if len(parts) == 1:
            return _normalization(spec["normalizers"][0], source)
        if parts == ["NFKC", "Lowercase"]:
            return "nfkc_lowercase"
        kind = "Sequence[" + ", ".join(map(str, parts)) + "]"
    for name, known in _NORMALIZERS.items():
        if known.get("type") == kind and kind != "Sequence":
            return name
    raise FormatError(f"{source}: unsupported normalizer {kind}; tokensmith reads byte-level BPE files "
                      "with NFC, NFKC or Lowercase normalizers")


def _pretokenizer(spec: Any, source: str) -> str | None:
    """The pattern the pre-tokenizer applies (None: no split). Checks the byte-level stage is there."""
    if spec is None:
        raise FormatError(f"{source}: no pre_tokenizer; tokensmith reads byte-level BPE files (ByteLevel pre-tokenizer)")
    steps = spec.get("pretokenizers", []) if spec.get("type") == "Sequence" else [spec]
    regex: str | None = None
    saw_byte_level = False
    for step in steps:
        kind = step.get("type")
        if kind == "Split" and not saw_byte_level and regex is None:
            pattern = step.get("pattern", {})
            if "Regex" not in pattern or step.get("invert") or step.get("behavior") != "Isolated":
                raise FormatError(f"{source}: unsupported Split pre-tokenizer {json.dumps(step)[:120]}")
            regex = pattern["Regex"]
        elif kind == "ByteLevel" and not saw_byte_level:
            saw_byte_level = True
            if step.get("add_prefix_space"):
                raise FormatError(f"{source}: ByteLevel(add_prefix_space=true) is not supported")
            if step.get("use_regex", True):
                if regex is not None:
                    raise FormatError(f"{source}: a Split regex followed by ByteLevel(use_regex=true) is not supported")
                regex = GPT2_BYTELEVEL_REGEX
        else:
            raise FormatError(f"{source}: unsupported pre-tokenizer step {kind}; tokensmith reads byte-level "
                              "BPE files (Split regex + ByteLevel)")
    if not saw_byte_level:
        raise FormatError(f"{source}: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)")
    return None if regex is None else _pattern_name(regex)


def from_tokenizer_json(obj: dict[str, Any], source: str = "tokenizer.json") -> BpeData:
    """A ``BpeData`` from a parsed byte-level BPE ``tokenizer.json``."""
    model = obj.get("model") or {}
    if model.get("type", "BPE") != "BPE" or "merges" not in model:
        raise FormatError(f"{source}: model type {model.get('type')!r} is not supported; tokensmith reads BPE models")
    for key in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            raise FormatError(f"{source}: BPE {key}={model[key]!r} is not supported")
    if model.get("byte_fallback"):
        raise FormatError(f"{source}: byte_fallback BPE is not byte-level; load the SentencePiece .model instead")
    if model.get("dropout"):
        raise FormatError(f"{source}: BPE dropout is not supported")
    normalization = _normalization(obj.get("normalizer"), source)
    pattern = _pretokenizer(obj.get("pre_tokenizer"), source)
    decoder = obj.get("decoder")
    if decoder is not None and decoder.get("type") not in ("ByteLevel",):
        raise FormatError(f"{source}: unsupported decoder {decoder.get('type')}; expected ByteLevel")

    pieces: dict[str, int] = model.get("vocab") or {}
    specials: dict[str, int] = {}
    for entry in obj.get("added_tokens") or []:
        specials[entry["content"]] = int(entry["id"])
    size = max([*pieces.values(), *specials.values(), -1]) + 1
    vocab: list[bytes | None] = [None] * size
    special_ids = set(specials.values())
    for piece, i in pieces.items():
        if i in special_ids:
            continue
        token = _from_piece(piece)
        if token is None:
            raise FormatError(f"{source}: vocabulary entry {piece!r} (id {i}) is not a byte-level token")
        if vocab[i] is not None and vocab[i] != token:
            raise FormatError(f"{source}: id {i} is used by two vocabulary entries")
        vocab[i] = token
    for text, i in specials.items():
        vocab[i] = text.encode("utf-8")

    merges: list[tuple[int, int]] = []
    for n, merge in enumerate(model["merges"]):
        if isinstance(merge, str):
            parts = merge.split(" ")
        else:
            parts = list(merge)
        if len(parts) != 2 or parts[0] not in pieces or parts[1] not in pieces:
            raise FormatError(f"{source}: merge {n} {merge!r} names tokens missing from the vocabulary")
        if parts[0] + parts[1] not in pieces:
            raise FormatError(f"{source}: merge {n} {merge!r} makes a token missing from the vocabulary")
        merges.append((pieces[parts[0]], pieces[parts[1]]))
    return BpeData(vocab=vocab, merges=merges, special_tokens=specials, pattern=pattern,
                   normalization=normalization, units="bytes",
                   ignore_merges=bool(model.get("ignore_merges", False)), source=source)


def load_dir(directory: str | Path) -> BpeData:
    """Read a directory with ``tokenizer.json`` and, when present, our ``tokenizer_config.json``."""
    directory = Path(directory)
    path = directory / "tokenizer.json"
    if not path.is_file() and (directory / "tokenizer.json.gz").is_file():
        path = directory / "tokenizer.json.gz"
    data = from_tokenizer_json(read_tokenizer_json(path), source=str(path))
    cfg_path = directory / "tokenizer_config.json"
    if cfg_path.is_file():
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{cfg_path} is not valid JSON ({exc})") from None
        ours = cfg.get(CONFIG_KEY) if isinstance(cfg, dict) else None
        if isinstance(ours, dict):
            data.config = {k: v for k, v in ours.items() if k != "version"}
            named = (ours.get("config") or {}).get("pattern")
            if isinstance(named, str) and data.pattern is not None and _same_regex(named, data.pattern):
                data.pattern = named
    return data


def _same_regex(a: str, b: str) -> bool:
    ra, rb = _pattern_regex_or_none(a), _pattern_regex_or_none(b)
    return ra is not None and rb is not None and _hf_regex(ra) == _hf_regex(rb)


def _pattern_regex_or_none(pattern: str) -> str | None:
    try:
        return _pattern_regex(pattern)
    except ConfigError:
        return None
