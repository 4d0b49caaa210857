"""Corpus input: turn files, globs, directories, iterables or a Hugging Face dataset into a stream of
documents (``str``), read in bounded batches so memory does not grow with the corpus.

Sources (``Corpus(source)``):

- a path (``str`` or ``os.PathLike``) to a file, a directory (searched recursively for ``.txt``,
  ``.text``, ``.md``, ``.jsonl``, ``.ndjson`` files, each optionally ``.gz``/``.bz2``/``.xz``/``.zst``)
  or a glob (``"data/**/*.jsonl.gz"``); a list or tuple of ``Path`` objects is several paths;
- any other iterable of ``str``: each string is one document;
- a ``datasets.Dataset`` / ``IterableDataset``: the ``text_field`` column.

Text files give one document per line (``whole_files=True``: one per file); ``.jsonl`` files give
the ``text_field`` of each record. Compression is recognised by its magic bytes, not the name.
Lines that are not valid UTF-8 are skipped and counted (``stats.invalid_utf8_lines``), or raise a
``CorpusError`` naming the file and line with ``strict=True``. A file holding NUL bytes is binary
and is refused by name.

>>> corpus = Corpus(["hello world", "hello there"])
>>> [len(batch) for batch in corpus.batches()]
[2]
"""

from __future__ import annotations

import bisect
import bz2
import glob
import itertools
import gzip
import json
import lzma
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from tokensmith.errors import ConfigError, CorpusError

__all__ = ["Corpus", "CorpusStats", "SkippedLinesWarning", "TEXT_SUFFIXES", "resolve_files"]


class SkippedLinesWarning(UserWarning):
    """Some corpus lines were skipped (invalid UTF-8); ``strict=True`` makes that an error."""

# What a directory walk picks up; explicit files and globs may have any name.
TEXT_SUFFIXES = (".txt", ".text", ".md", ".jsonl", ".ndjson")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zstd")
_MAGIC = [  # (prefix, opener name)
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]
DEFAULT_BATCH_BYTES = 4 << 20
# Text files are read, checked and decoded this many bytes at a time (then split into lines), and
# in-memory lists handed over this many documents at a time: no Python work per line but a split.
_READ_BYTES = 4 << 20
_LIST_SLICE = 8192


@dataclass
class CorpusStats:
    """What one pass over the corpus read. Filled in as the corpus is iterated."""

    documents: int = 0
    """Documents yielded (after sampling and the byte budget)."""
    bytes: int = 0
    """UTF-8 bytes of the documents yielded."""
    files: list[str] = field(default_factory=list)
    """Files opened, in reading order."""
    invalid_utf8_lines: int = 0
    """Lines skipped because they were not valid UTF-8 (non-strict mode)."""
    truncated: bool = False
    """True when reading stopped at ``max_bytes``."""

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "bytes": self.bytes, "files": len(self.files),
                "invalid_utf8_lines": self.invalid_utf8_lines, "truncated": self.truncated}


class Corpus:
    """A re-iterable stream of documents. See the module docstring for the accepted sources.

    Iterating yields documents; ``batches()`` yields lists of documents of about ``batch_bytes``.
    Every pass re-reads the source (an iterator source can only be read once) and refreshes ``stats``.
    """

    def __init__(
        self,
        source: Any,
        *,
        text_field: str = "text",
        whole_files: bool = False,
        max_bytes: int | None = None,
        sample_rate: float = 1.0,
        seed: int = 0,
        strict: bool = False,
    ) -> None:
        if isinstance(source, Corpus):
            source = source.source
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes <= 0):
            raise ConfigError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        if not (isinstance(sample_rate, (int, float)) and 0.0 < sample_rate <= 1.0):
            raise ConfigError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
        if not isinstance(text_field, str) or not text_field:
            raise ConfigError("text_field must be a non-empty field name, e.g. text_field='text'")
        self.source = source
        self.text_field = text_field
        self.whole_files = whole_files
        self.max_bytes = max_bytes
        self.sample_rate = float(sample_rate)
        self.seed = seed
        self.strict = strict
        self.stats = CorpusStats()
        self._files: list[Path] | None = None
        if _is_path_source(source):
            self._files = resolve_files(source)  # fail early on a missing file

    def __repr__(self) -> str:
        what = f"{len(self._files)} files" if self._files is not None else type(self.source).__name__
        return f"Corpus({what}, text_field={self.text_field!r})"

    # -- iteration -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        self.stats = stats = CorpusStats()
        rng = random.Random(self.seed) if self.sample_rate < 1.0 else None
        budget = self.max_bytes
        for doc in self._raw_documents(stats):
            if not doc:
                continue
            if rng is not None and rng.random() >= self.sample_rate:
                continue
            size = len(doc.encode("utf-8"))
            if budget is not None and stats.bytes + size > budget:
                rest = budget - stats.bytes
                doc = doc.encode("utf-8")[:rest].decode("utf-8", errors="ignore")
                stats.truncated = True
                if doc:
                    stats.documents += 1
                    stats.bytes += len(doc.encode("utf-8"))
                    yield doc
                break
            stats.documents += 1
            stats.bytes += size
            yield doc
        if stats.documents == 0:
            raise self._empty_error()

    def batches(self, batch_bytes: int = DEFAULT_BATCH_BYTES) -> Iterator[list[str]]:
        """Yield lists of documents holding about ``batch_bytes`` of text each (a batch ends with the
        document that brings its length in characters to ``batch_bytes`` or more)."""
        if self.sample_rate < 1.0 or self.max_bytes is not None:
            yield from _cut_batches(([doc] for doc in self), batch_bytes)
            return
        self.stats = stats = CorpusStats()
        yield from _cut_batches(self._nonempty_lists(stats), batch_bytes)
        if stats.documents == 0:
            raise self._empty_error()

    def _nonempty_lists(self, stats: CorpusStats) -> Iterator[list[str]]:
        """The documents as lists, empty ones dropped, counted into ``stats``."""
        for docs, size in self._document_lists(stats):
            docs = list(filter(None, docs))
            if docs:
                stats.documents += len(docs)
                stats.bytes += _utf8_size(docs) if size is None else size
                yield docs

    def _empty_error(self) -> CorpusError:
        return CorpusError(f"the corpus is empty: {self._describe()} gave no text; check the paths"
                           + (" and text_field" if self._files is not None else ""))

    def _describe(self) -> str:
        if self._files is not None:
            names = ", ".join(str(p) for p in self._files[:3])
            return names + (f" and {len(self._files) - 3} more" if len(self._files) > 3 else "")
        return f"the {type(self.source).__name__} source"

    def _raw_documents(self, stats: CorpusStats) -> Iterator[str]:
        for docs, _ in self._document_lists(stats):
            yield from docs

    def _document_lists(self, stats: CorpusStats) -> Iterator[tuple[list[str], int | None]]:
        """The source's documents (empty ones included) in lists of many, in order, each list with
        its UTF-8 size where that is known without encoding (else None)."""
        if self._files is not None:
            for path in self._files:
                stats.files.append(str(path))
                if _is_jsonl(path) or self.whole_files:
                    yield from _sized(_lists(self._read_file(path, stats)))
                else:
                    yield from self._text_lines(path, stats)
        elif _is_hf_dataset(self.source):
            yield from _sized(_lists(_iter_hf_dataset(self.source, self.text_field)))
        elif isinstance(self.source, (bytes, bytearray)) or not _is_iterable(self.source):
            raise ConfigError(
                f"cannot read a corpus from {type(self.source).__name__}; pass a path, a glob, "
                "a list of Paths, an iterable of str, or a datasets.Dataset")
        elif isinstance(self.source, (list, tuple)):
            for start in range(0, len(self.source), _LIST_SLICE):
                docs = self.source[start:start + _LIST_SLICE]
                if not all(map(isinstance, docs, itertools.repeat(str))):
                    _check_strings(docs, start)
                yield list(docs), None
        else:
            yield from _sized(_lists(self._checked_documents()))

    def _checked_documents(self) -> Iterator[str]:
        for i, doc in enumerate(self.source):
            _check_strings([doc], i)
            yield doc

    def _text_lines(self, path: Path, stats: CorpusStats) -> Iterator[tuple[list[str], int | None]]:
        """A text file's lines (without line endings) in lists, read and decoded in large blocks."""
        with _open_binary(path) as handle:
            lineno, rest = 1, b""  # lineno: the number of the block's first line
            while True:
                chunk = handle.read(_READ_BYTES)
                data = rest + chunk
                cut = data.rfind(b"\n") + 1 if chunk else len(data)
                if chunk and cut == 0:  # no line end yet: read on
                    rest = data
                    continue
                block, rest = data[:cut], data[cut:]
                if b"\0" in block:
                    line = lineno + block.count(b"\n", 0, block.index(b"\0"))
                    raise CorpusError(f"{path} looks like a binary file (NUL byte on line {line}); "
                                      "pass text files only")
                lines, size = self._block_lines(path, block, lineno, stats)
                yield lines, size
                lineno += block.count(b"\n") if size is None else len(block) - size
                if not chunk:
                    return

    def _block_lines(self, path: Path, block: bytes, lineno: int, stats: CorpusStats) -> tuple[list[str], int | None]:
        """The lines of a block of whole lines (lines that are not UTF-8 are skipped, or raise), with
        their UTF-8 size when the block has no carriage return (the block less its line ends)."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return list(self._decode_lines(path, block, lineno, stats)), None
        lines = text.split("\n")
        line_ends = len(lines) - 1
        if text.endswith("\n"):
            lines.pop()
        if "\r" in text:
            return [line.rstrip("\r") for line in lines], None
        return lines, len(block) - line_ends

    def _decode_lines(self, path: Path, block: bytes, lineno: int, stats: CorpusStats) -> Iterator[str]:
        for number, raw in enumerate(block.split(b"\n"), lineno):
            line = self._decode_line(path, number, raw, stats)
            if line is not None:
                yield line.rstrip("\r")

    def _decode_line(self, path: Path, lineno: int, raw: bytes, stats: CorpusStats) -> str | None:
        """A line as text; None (counted) if it is not UTF-8, or a ``CorpusError`` with ``strict``."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.strict:
                raise CorpusError(f"{path}:{lineno}: invalid UTF-8 at byte {exc.start}; fix the "
                                  "file or drop --strict to skip such lines") from None
            stats.invalid_utf8_lines += 1
            return None

    def _read_file(self, path: Path, stats: CorpusStats) -> Iterator[str]:
        """A .jsonl file's ``text_field`` per record, or (``whole_files``) a text file as one document."""
        with _open_binary(path) as handle:
            if not _is_jsonl(path):
                yield from self._whole_file(path, handle, stats)
                return
            for lineno, raw in enumerate(handle, 1):
                if b"\0" in raw:
                    raise CorpusError(f"{path} looks like a binary file (NUL byte on line {lineno}); "
                                      "pass text files only")
                line = self._decode_line(path, lineno, raw, stats)
                if line is not None and line.strip():
                    yield _jsonl_text(path, lineno, line.rstrip("\r\n"), self.text_field)

    def _whole_file(self, path: Path, handle: IO[bytes], stats: CorpusStats) -> Iterator[str]:
        data = handle.read()
        if b"\0" in data:
            raise CorpusError(f"{path} looks like a binary file (NUL bytes); pass text files only")
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            lineno = data.count(b"\n", 0, exc.start) + 1
            if self.strict:
                raise CorpusError(f"{path}:{lineno}: invalid UTF-8 at byte {exc.start}; fix the file "
                                  "or drop --strict to skip invalid lines") from None
            good: list[str] = []
            for raw in data.splitlines(keepends=True):
                try:
                    good.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    stats.invalid_utf8_lines += 1
            yield "".join(good)


def _cut_batches(lists: Iterable[list[str]], batch_bytes: int) -> Iterator[list[str]]:
    """Regroup lists of documents into batches that end with the document bringing the batch's
    length (in characters) to ``batch_bytes`` or more; the cut points are found by bisection."""
    batch: list[str] = []
    size = 0
    for docs in lists:
        ends = list(itertools.accumulate(map(len, docs), initial=size))  # ends[k]: length with docs[:k]
        start, base = 0, 0
        while (k := bisect.bisect_left(ends, base + batch_bytes, start + 1)) < len(ends):
            batch.extend(docs[start:k])
            yield batch
            batch, start, base = [], k, ends[k]
        batch.extend(docs[start:])
        size = ends[-1] - base
    if batch:
        yield batch


def _lists(documents: Iterable[str], size: int = _LIST_SLICE) -> Iterator[list[str]]:
    """Group a stream of documents into lists of ``size``."""
    iterator = iter(documents)
    while docs := list(itertools.islice(iterator, size)):
        yield docs


def _sized(lists: Iterable[list[str]]) -> Iterator[tuple[list[str], None]]:
    return ((docs, None) for docs in lists)


def _check_strings(docs: list[Any], offset: int) -> None:
    for i, doc in enumerate(docs, offset):
        if not isinstance(doc, str):
            raise ConfigError(f"corpus item {i} is {type(doc).__name__}, not str; "
                              "pass an iterable of str (or Path objects for files)")


def _utf8_size(docs: list[str]) -> int:
    """UTF-8 bytes of the documents together."""
    text = "".join(docs)
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))


# -- sources ---------------------------------------------------------------------------------------

def _is_path_source(source: Any) -> bool:
    if isinstance(source, (str, os.PathLike)):
        return True
    return isinstance(source, (list, tuple)) and bool(source) and all(
        isinstance(s, os.PathLike) for s in source)


def _is_iterable(obj: Any) -> bool:
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def resolve_files(source: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand paths, globs and directories into a sorted, de-duplicated list of files.

    >>> resolve_files("corpus/*.txt")   # doctest: +SKIP
    [PosixPath('corpus/a.txt'), PosixPath('corpus/b.txt')]
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[Path] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _walkable(p, path))
            if not found:
                raise CorpusError(f"directory {path} holds no text files ({', '.join(TEXT_SUFFIXES)}, "
                                  "optionally compressed); pass the files themselves")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif isinstance(item, str) and glob.has_magic(text):
            found = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True)
                           if os.path.isfile(p))
            if not found:
                raise CorpusError(f"no files match {text!r}; check the pattern")
            files.extend(found)
        elif path.exists():
            raise CorpusError(f"{path} is not a regular file or directory")
        elif isinstance(item, str) and (len(text) > 200 or "\n" in text):
            raise CorpusError(f"corpus file not found: {text[:40]!r}...; to train on text itself, "
                              "pass a list of strings")
        else:
            raise CorpusError(f"corpus file not found: {path}")
    for path in files:
        if not os.access(path, os.R_OK):
            raise CorpusError(f"cannot read corpus file {path} (permission denied)")
    seen: set[Path] = set()
    return [p for p in files if not (p in seen or seen.add(p))]


def _walkable(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):
        return False
    name = path.name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.endswith(TEXT_SUFFIXES)


def _is_jsonl(path: Path) -> bool:
    name = path.name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.endswith(JSONL_SUFFIXES)


def _open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading, decompressing by magic bytes."""
    try:
        with open(path, "rb") as probe:
            head = probe.read(8)
        kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
        if kind == "gzip":
            return gzip.open(path, "rb")
        if kind == "bz2":
            return bz2.open(path, "rb")
        if kind == "xz":
            return lzma.open(path, "rb")
        if kind == "zstd":
            return _open_zstd(path)
        return open(path, "rb")
    except OSError as exc:
        raise CorpusError(f"cannot read corpus file {path}: {exc.strerror or exc}") from None


def _open_zstd(path: Path) -> IO[bytes]:
    try:
        import zstandard
    except ImportError:
        raise CorpusError(f"{path} is zstd-compressed; install the zstandard package "
                          "(pip install zstandard)") from None
    import io

    raw = open(path, "rb")
    reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    return io.BufferedReader(reader)  # type: ignore[arg-type]


def _jsonl_text(path: Path, lineno: int, line: str, text_field: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}:{lineno}: not valid JSON ({exc.msg}); each line of a .jsonl file "
                          "must be one JSON object") from None
    if not isinstance(record, dict) or text_field not in record:
        keys = ", ".join(sorted(record)) if isinstance(record, dict) else type(record).__name__
        raise CorpusError(f"{path}:{lineno}: record has no field {text_field!r} (it has: {keys}); "
                          "pass text_field= / --text-field")
    text = record[text_field]
    if text is None:
        return ""
    if not isinstance(text, str):
        raise CorpusError(f"{path}:{lineno}: field {text_field!r} is {type(text).__name__}, not a string")
    return text


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "datasets"


def _iter_hf_dataset(ds: Any, text_field: str) -> Iterator[str]:
    if type(ds).__name__ in ("DatasetDict", "IterableDatasetDict"):
        raise ConfigError(f"pass one split of the dataset (e.g. ds['train']), not a "
                          f"{type(ds).__name__} with splits {', '.join(ds)}")
    columns = getattr(ds, "column_names", None)
    if columns is not None and text_field not in columns:
        raise ConfigError(f"the dataset has no column {text_field!r} (it has: {', '.join(columns)}); "
                          "pass text_field=")
    if hasattr(ds, "iter"):
        for batch in ds.iter(batch_size=1000):
            for text in batch[text_field]:
                if isinstance(text, str):
                    yield text
        return
    for row in ds:
        text = row.get(text_field)
        if isinstance(text, str):
            yield text
