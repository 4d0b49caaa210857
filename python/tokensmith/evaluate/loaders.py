"""Load any tokenizer behind one small interface, so every metric works on all of them.

The interface (`TokenizerAdapter`) is what the metrics need and nothing more:
`encode_batch(texts) -> list[list[int]]` through each library's fastest batch path,
`vocab_size`, `token_bytes(id)` (the bytes the token contributes to decoded text, `None` for
special/control ids), `special_ids` and `decode(ids)`.

Specs on the command line: `hf:PATH` (tokenizer.json, also `.json.gz`), `transformers:DIR`,
`spm:PATH`, `tiktoken:PATH[#PATTERN]`, `tekken:PATH`, `tokensmith:PATH`, or a bare path whose format
is sniffed. tiktoken rank files carry no pattern: the known files (r50k, p50k, cl100k, o200k,
llama3) are recognised by their rank count, others need `#NAME` (a name below) or `#regex:...`.

>>> tok = load_tokenizer("tiktoken:cl100k_base.tiktoken")      # doctest: +SKIP
>>> tok.encode_batch(["hello world"])                          # doctest: +SKIP
[[15339, 1917]]
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

from tokensmith.errors import ConfigError, FormatError
from tokensmith.formats.tiktoken import llama3_special_tokens

__all__ = [
    "TokenizerAdapter", "EncodesBatch", "as_adapter", "load_tokenizer", "parse_tokenizer_arg",
    "TIKTOKEN_PATTERNS", "TiktokenAdapter", "HFTokenizersAdapter", "SentencePieceAdapter",
    "TransformersAdapter", "NativeAdapter",
]

# Patterns of the OpenAI/Meta rank files (they are not stored in the files themselves).
_R50K = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_CL100K = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
           r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
_O200K = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""])
_LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TIKTOKEN_PATTERNS: dict[str, str] = {
    "r50k": _R50K, "r50k_base": _R50K, "gpt2": _R50K, "p50k": _R50K, "p50k_base": _R50K,
    "cl100k": _CL100K, "cl100k_base": _CL100K, "o200k": _O200K, "o200k_base": _O200K,
    "llama3": _LLAMA3,
}




# number of ranks in the real file -> (pattern name, special tokens)
_KNOWN_RANK_COUNTS: dict[int, tuple[str, dict[str, int]]] = {
    50256: ("r50k", {"<|endoftext|>": 50256}),
    50280: ("p50k", {"<|endoftext|>": 50256}),
    100256: ("cl100k", {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                        "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}),
    199998: ("o200k", {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    128000: ("llama3", llama3_special_tokens()),
}


@runtime_checkable
class EncodesBatch(Protocol):
    """What a tokenizer object needs to be evaluated (tokensmith's own `Tokenizer` has it)."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...


class TokenizerAdapter:
    """Base class: one interface over every tokenizer library. Subclasses fill in the hooks."""

    kind = "generic"

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._bytes_cache: dict[int, bytes | None] = {}

    vocab_size: int = 0
    special_ids: frozenset[int] = frozenset()
    #: True when a token's bytes may continue a word (WordPiece `##`, SentencePiece pieces without `▁`):
    #: such tokens cannot be checked for reachability by encoding them alone.
    word_initial_marker = False

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) or b"" for i in ids).decode("utf-8", errors="replace")

    def _token_bytes(self, token_id: int) -> bytes | None:
        raise NotImplementedError

    def token_bytes(self, token_id: int) -> bytes | None:
        """Bytes this token adds to decoded text (SentencePiece `▁` is a space); `None` for specials."""
        if token_id not in self._bytes_cache:
            self._bytes_cache[token_id] = None if token_id in self.special_ids else self._token_bytes(token_id)
        return self._bytes_cache[token_id]

    def is_continuation(self, token_id: int) -> bool:
        """True for pieces that only occur inside a word (WordPiece `##x`, SentencePiece `x` without `▁`)."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} vocab_size={self.vocab_size}>"


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class TiktokenAdapter(TokenizerAdapter):
    """A `tiktoken.Encoding`; `id_offset` shifts ids (Tekken: id = rank + 1000 specials)."""

    kind = "tiktoken"

    def __init__(self, encoding: Any, name: str = "", *, id_offset: int = 0, vocab_size: int | None = None) -> None:
        super().__init__(name or encoding.name)
        self.encoding = encoding
        self.id_offset = id_offset
        self.vocab_size = vocab_size if vocab_size is not None else encoding.n_vocab + id_offset
        specials = set(encoding._special_tokens.values()) | set(range(id_offset))
        self.special_ids = frozenset(specials)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        out = self.encoding.encode_ordinary_batch(list(texts), num_threads=_threads())
        if self.id_offset:
            off = self.id_offset
            out = [[i + off for i in ids] for ids in out]
        return out

    def _token_bytes(self, token_id: int) -> bytes | None:
        try:
            return self.encoding.decode_single_token_bytes(token_id - self.id_offset)
        except KeyError:
            return None


def _gpt2_byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class HFTokenizersAdapter(TokenizerAdapter):
    """A Hugging Face `tokenizers.Tokenizer` (BPE, WordPiece, Unigram); specials are not added."""

    kind = "hf"

    def __init__(self, tokenizer: Any, name: str = "") -> None:
        super().__init__(name)
        self.tokenizer = tokenizer
        tokenizer.no_truncation()
        tokenizer.no_padding()
        spec = json.loads(tokenizer.to_str())
        self.model_type = spec.get("model", {}).get("type", "")
        decoders = _flatten_decoders(spec.get("decoder"))
        types = [d.get("type", "") for d in decoders]
        self._byte_level = "ByteLevel" in types
        self._wordpiece_prefix = next((d.get("prefix", "##") for d in decoders if d.get("type") == "WordPiece"), None)
        if self.model_type == "WordPiece" and self._wordpiece_prefix is None:
            self._wordpiece_prefix = spec["model"].get("continuing_subword_prefix") or "##"
        self._metaspace = not self._byte_level and ("Metaspace" in types or any(
            d.get("type") == "Replace" and d.get("pattern", {}).get("String") == "\u2581" for d in decoders))
        self._byte_fallback = "ByteFallback" in types
        self.word_initial_marker = self._wordpiece_prefix is not None or self._metaspace
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        self.special_ids = frozenset(t["id"] for t in spec.get("added_tokens", []) if t.get("special"))
        self._gpt2 = _gpt2_byte_decoder() if self._byte_level else None

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def _token_bytes(self, token_id: int) -> bytes | None:
        piece = self.tokenizer.id_to_token(token_id)
        if piece is None:
            return None
        if self._gpt2 is not None:
            try:
                return bytes(self._gpt2[c] for c in piece)
            except KeyError:  # an added (non-byte-level) token
                return piece.encode("utf-8")
        if self._byte_fallback and len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            return bytes([int(piece[3:5], 16)])
        if self._wordpiece_prefix is not None:
            if piece.startswith(self._wordpiece_prefix):
                return piece[len(self._wordpiece_prefix):].encode("utf-8")
            return piece.encode("utf-8")
        if self._metaspace:
            return piece.replace("\u2581", " ").encode("utf-8")
        return piece.encode("utf-8")

    def is_continuation(self, token_id: int) -> bool:
        piece = self.tokenizer.id_to_token(token_id) or ""
        if self._wordpiece_prefix is not None:
            return piece.startswith(self._wordpiece_prefix)
        if self._metaspace:
            return not piece.startswith("\u2581")
        return False


def _flatten_decoders(decoder: dict | None) -> list[dict]:
    if not decoder:
        return []
    if decoder.get("type") == "Sequence":
        return [d2 for d in decoder.get("decoders", []) for d2 in _flatten_decoders(d)]
    return [decoder]


class SentencePieceAdapter(TokenizerAdapter):
    """A `sentencepiece.SentencePieceProcessor` (no BOS/EOS added); byte-fallback pieces are bytes."""

    kind = "sentencepiece"
    word_initial_marker = True

    def __init__(self, processor: Any, name: str = "") -> None:
        super().__init__(name)
        self.sp = processor
        self.vocab_size = processor.vocab_size()
        self.special_ids = frozenset(
            i for i in range(self.vocab_size)
            if processor.is_control(i) or processor.is_unknown(i) or processor.is_unused(i))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.sp.encode(list(texts), out_type=int, num_threads=_threads())

    def decode(self, ids: Sequence[int]) -> str:
        return self.sp.decode(list(ids))

    def _token_bytes(self, token_id: int) -> bytes | None:
        piece = self.sp.id_to_piece(token_id)
        if self.sp.is_byte(token_id):
            return bytes([int(piece[3:5], 16)])
        return piece.replace("\u2581", " ").encode("utf-8")

    def is_continuation(self, token_id: int) -> bool:
        return not self.sp.id_to_piece(token_id).startswith("\u2581")


class TransformersAdapter(TokenizerAdapter):
    """A `transformers` tokenizer; fast ones go through their `tokenizers` backend instead."""

    kind = "transformers"

    def __init__(self, tokenizer: Any, name: str = "") -> None:
        super().__init__(name)
        self.tokenizer = tokenizer
        self.vocab_size = len(tokenizer)
        self.special_ids = frozenset(tokenizer.all_special_ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def _token_bytes(self, token_id: int) -> bytes | None:
        token = self.tokenizer.convert_ids_to_tokens(token_id)
        if token is None:
            return None
        return self.tokenizer.convert_tokens_to_string([token]).encode("utf-8")


class NativeAdapter(TokenizerAdapter):
    """Any object with `encode_batch` (tokensmith's own `Tokenizer`): its Rust batch encoder is used."""

    kind = "tokensmith"

    def __init__(self, tokenizer: Any, name: str = "") -> None:
        super().__init__(name)
        self.tokenizer = tokenizer
        size = getattr(tokenizer, "vocab_size", None)
        self.vocab_size = int(size() if callable(size) else size or 0)
        specials = getattr(tokenizer, "special_tokens", None) or {}
        self.special_ids = frozenset(specials.values()) if isinstance(specials, dict) else frozenset()

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        texts = list(texts)
        if self._plain_text_kwargs:
            try:  # text that spells a special token is ordinary text here (as tiktoken's encode_ordinary)
                return [list(ids) for ids in self.tokenizer.encode_batch(texts, disallowed_special=())]
            except TypeError:
                self._plain_text_kwargs = False
        return [list(ids) for ids in self.tokenizer.encode_batch(texts)]

    _plain_text_kwargs = True

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def _token_bytes(self, token_id: int) -> bytes | None:
        for attr in ("id_to_bytes", "token_bytes"):
            fn = getattr(self.tokenizer, attr, None)
            if fn is not None:
                try:
                    return bytes(fn(token_id))
                except Exception:  # noqa: BLE001 - an id the tokenizer refuses has no bytes
                    return None
        fn = getattr(self.tokenizer, "decode_bytes", None)
        if fn is not None:
            return bytes(fn([token_id]))
        return self.tokenizer.decode([token_id]).encode("utf-8")


def as_adapter(obj: Any, name: str = "") -> TokenizerAdapter:
    """Wrap a tokenizer object of any supported library (or pass an adapter through)."""
    if isinstance(obj, TokenizerAdapter):
        if name:
            obj.name = name
        return obj
    module = type(obj).__module__ or ""
    if module.startswith("tiktoken"):
        return TiktokenAdapter(obj, name)
    if module.startswith("tokenizers"):
        return HFTokenizersAdapter(obj, name)
    if module.startswith("sentencepiece"):
        return SentencePieceAdapter(obj, name)
    if module.startswith("transformers"):
        backend = getattr(obj, "backend_tokenizer", None)
        if backend is not None and getattr(obj, "is_fast", False):
            return HFTokenizersAdapter(backend, name)
        return TransformersAdapter(obj, name)
    if isinstance(obj, EncodesBatch):
        return NativeAdapter(obj, name)
    raise ConfigError(f"cannot evaluate a {type(obj).__name__}: pass a tokensmith Tokenizer, tiktoken.Encoding, "
                      "tokenizers.Tokenizer, SentencePieceProcessor or transformers tokenizer")


# ---- loading from files -------------------------------------------------------------------------

_PREFIXES = ("hf", "transformers", "spm", "tiktoken", "tekken", "tokensmith")


def parse_tokenizer_arg(arg: str) -> tuple[str, str]:
    """`name=spec` -> (name, spec); a bare spec is its own name.

    >>> parse_tokenizer_arg("gpt4=tiktoken:cl100k_base.tiktoken")
    ('gpt4', 'tiktoken:cl100k_base.tiktoken')
    """
    arg = arg.strip()
    if "=" in arg:
        name, spec = arg.split("=", 1)
        if name and ":" not in name and "/" not in name:
            return name.strip(), spec.strip()
    return arg, arg


def _read_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def load_tokenizer(spec: str, name: str | None = None) -> TokenizerAdapter:
    """Load a tokenizer from a spec (`hf:`, `transformers:`, `spm:`, `tiktoken:PATH#PATTERN`, `tekken:`,
    `tokensmith:` or a bare path whose format is sniffed). Raises `FormatError`/`ConfigError` naming the file."""
    name = name or spec
    kind, _, rest = spec.partition(":")
    if kind in _PREFIXES and rest:
        path_str = rest
    else:
        kind, path_str = "", spec
    fragment = ""
    if "#" in path_str and not Path(path_str).exists():
        path_str, fragment = path_str.split("#", 1)
    path = Path(path_str).expanduser()
    if not path.exists():
        raise FormatError(f"tokenizer file {path} does not exist: give an existing path "
                          "(hf:, transformers:, spm:, tiktoken:PATH#PATTERN, tekken:, tokensmith:)")
    try:
        if not kind:
            kind = _sniff(path)
        loader = {"hf": _load_hf, "transformers": _load_transformers, "spm": _load_spm,
                  "tiktoken": _load_tiktoken, "tekken": _load_tekken, "tokensmith": _load_native}[kind]
        return loader(path, name, fragment) if kind in ("tiktoken", "tokensmith") else loader(path, name)
    except (FormatError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - a library's own error becomes a one-line FormatError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FormatError(f"cannot load tokenizer {path} as {kind}: {first[:200]}; "
                          "check the file or give its format explicitly (hf:, spm:, tiktoken:PATH#PATTERN, ...)") from exc


def _sniff(path: Path) -> str:
    if path.is_dir():
        config = path / "tokenizer_config.json"
        if config.exists() and b"tokensmith" in config.read_bytes():
            return "tokensmith"  # saved by tokensmith: its own loader keeps method and config
        if config.exists() or (path / "vocab.txt").exists():
            return "transformers"
        for cand in ("tokenizer.json", "tokenizer.json.gz"):
            if (path / cand).exists():
                return "hf"
        raise FormatError(f"{path} is a directory without tokenizer.json or tokenizer_config.json: "
                          "give the tokenizer file itself")
    head = _read_maybe_gz(path)[:4096]
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        if b'"added_tokens"' in head and b'"truncation"' in head:  # the first keys tokenizers writes
            return "hf"
        if b'"config"' in head and b'"vocab"' in head:
            return "tekken"
        text = _read_maybe_gz(path).decode("utf-8", errors="replace")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path} looks like JSON but does not parse ({exc}); fix or re-export it") from exc
        if "model" in obj and isinstance(obj["model"], dict) and "type" in obj["model"]:
            return "hf"
        if "config" in obj and "vocab" in obj:
            return "tekken"
        return "tokensmith"
    first_line = head.split(b"\n", 1)[0].split()
    if len(first_line) == 2 and first_line[1].isdigit():
        try:
            base64.b64decode(first_line[0], validate=True)
            return "tiktoken"
        except ValueError:
            pass
    if head[:1] == b"\x0a":  # a SentencePiece ModelProto starts with field 1 (pieces), wire type 2
        return "spm"
    raise FormatError(f"cannot tell the format of {path}: prefix it with hf:, spm:, tiktoken: (with #PATTERN), "
                      "tekken:, transformers: or tokensmith:")


def _load_hf(path: Path, name: str) -> TokenizerAdapter:
    from tokenizers import Tokenizer

    if path.is_dir():
        path = path / "tokenizer.json" if (path / "tokenizer.json").exists() else path / "tokenizer.json.gz"
    tok = Tokenizer.from_str(_read_maybe_gz(path).decode("utf-8"))
    return HFTokenizersAdapter(tok, name)


def _load_transformers(path: Path, name: str) -> TokenizerAdapter:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return as_adapter(tok, name)


def _load_spm(path: Path, name: str) -> TokenizerAdapter:
    import sentencepiece as spm

    return SentencePieceAdapter(spm.SentencePieceProcessor(model_file=str(path)), name)


def _load_tiktoken(path: Path, name: str, fragment: str) -> TokenizerAdapter:
    import tiktoken

    ranks: dict[bytes, int] = {}
    for n, line in enumerate(_read_maybe_gz(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError as exc:
            raise FormatError(f"{path}:{n} is not a tiktoken rank line ('<base64> <rank>')") from exc
    specials: dict[str, int] = {}
    if fragment.startswith("regex:"):
        pattern = fragment[len("regex:"):]
    elif fragment:
        if fragment not in TIKTOKEN_PATTERNS:
            raise ConfigError(f"unknown tiktoken pattern '{fragment}' for {path}: use one of "
                              f"{', '.join(sorted(TIKTOKEN_PATTERNS))} or #regex:<pattern>")
        pattern = TIKTOKEN_PATTERNS[fragment]
        known = _KNOWN_RANK_COUNTS.get(len(ranks))
        if known and TIKTOKEN_PATTERNS[known[0]] == pattern:
            specials = known[1]
    else:
        known = _KNOWN_RANK_COUNTS.get(len(ranks))
        if known is None:
            raise ConfigError(f"{path} is a tiktoken rank file without a pattern and not one of the known files: "
                              f"write tiktoken:{path}#NAME with NAME in {', '.join(sorted(TIKTOKEN_PATTERNS))} "
                              "or #regex:<pattern>")
        pattern = TIKTOKEN_PATTERNS[known[0]]
        specials = known[1]
    enc = tiktoken.Encoding(name=Path(path).stem, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
    return TiktokenAdapter(enc, name)


def _load_tekken(path: Path, name: str) -> TokenizerAdapter:
    import tiktoken

    data = json.loads(_read_maybe_gz(path))
    cfg = data["config"]
    n_special = cfg["default_num_special_tokens"]
    n = cfg["default_vocab_size"] - n_special
    ranks = {base64.b64decode(v["token_bytes"]): v["rank"] for v in data["vocab"][:n]}
    enc = tiktoken.Encoding(name="tekken", pat_str=cfg["pattern"], mergeable_ranks=ranks, special_tokens={})
    return TiktokenAdapter(enc, name, id_offset=n_special, vocab_size=cfg["default_vocab_size"])


def _load_native(path: Path, name: str, fragment: str = "") -> TokenizerAdapter:
    """tokensmith.load (our Rust encoder); `#PATTERN` is passed on as its `pattern=` for rank files."""
    import tokensmith

    loader = getattr(tokensmith, "load", None)
    if loader is None:
        raise ConfigError("tokensmith.load is not available in this build: load the tokenizer with hf: or tiktoken:")
    pattern = fragment[len("regex:"):] if fragment.startswith("regex:") else fragment
    tok = loader(str(path), pattern=pattern) if pattern else loader(str(path))
    return as_adapter(tok, name)


def load_many(args: Iterable[str]) -> dict[str, TokenizerAdapter]:
    """`["a=hf:x.json", "spm:y.model"]` -> `{name: adapter}`; names must be unique."""
    out: dict[str, TokenizerAdapter] = {}
    for arg in args:
        name, spec = parse_tokenizer_arg(arg)
        if name in out:
            raise ConfigError(f"tokenizer name '{name}' is given twice: name them with NAME=SPEC")
        out[name] = load_tokenizer(spec, name)
    return out
