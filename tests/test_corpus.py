"""Corpus input: files, globs, directories, compression, JSONL, iterables, datasets, budgets, errors."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith import corpus as corpus_module
from tokensmith.corpus import Corpus, resolve_files
from tokensmith.errors import ConfigError, CorpusError

LINES = ["hello world", "नमस्ते दुनिया", "你好，世界", "ok"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _text(lines=LINES) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _jsonl(lines=LINES, field="text") -> bytes:
    return "".join(json.dumps({"id": i, field: t}, ensure_ascii=False) + "\n" for i, t in enumerate(lines)).encode()


COMPRESSORS = {
    "": lambda b: b,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
@pytest.mark.parametrize("kind", ["txt", "jsonl"])
def test_every_format_and_compression(tmp_path, suffix, kind):
    raw = _text() if kind == "txt" else _jsonl()
    path = _write(tmp_path / f"c.{kind}{suffix}", COMPRESSORS[suffix](raw))
    corpus = Corpus(path)
    assert list(corpus) == LINES
    assert corpus.stats.documents == 4
    assert corpus.stats.bytes == sum(len(t.encode()) for t in LINES)


def test_zstd_stream_larger_than_one_read(tmp_path):
    lines = [f"line {i} " + "x" * (i % 50) for i in range(20000)]
    path = _write(tmp_path / "big.txt.zst", zstandard.ZstdCompressor().compress(_text(lines)))
    assert list(Corpus(path)) == lines


def test_jsonl_text_field_and_errors(tmp_path):
    path = _write(tmp_path / "d.jsonl", _jsonl(field="body"))
    assert list(Corpus(path, text_field="body")) == LINES
    with pytest.raises(CorpusError, match=r"d\.jsonl:1: record has no field 'text' \(it has: body, id\)"):
        list(Corpus(path))
    bad = _write(tmp_path / "bad.jsonl", b'{"text": "a"}\n{oops\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl:2: not valid JSON"):
        list(Corpus(bad))


def test_real_jsonl_from_data_kit(tiny_data):
    corpus = Corpus(tiny_data / "domain" / "legal_eu_law.jsonl")
    docs = list(corpus)
    assert docs[0].startswith("With a view to ensuring the proper functioning")
    assert corpus.stats.documents == len(docs) > 5


def test_whole_files_mode(tmp_path):
    path = _write(tmp_path / "a.txt", b"line one\nline two\n")
    assert list(Corpus(path, whole_files=True)) == ["line one\nline two\n"]


def test_directories_and_globs(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "a.txt", b"a\n")
    _write(tmp_path / "sub" / "b.jsonl.gz", gzip.compress(b'{"text": "b"}\n'))
    _write(tmp_path / "sub" / "ignored.tsv", b"x\ty\n")
    _write(tmp_path / ".hidden.txt", b"hidden\n")
    assert list(Corpus(tmp_path)) == ["a", "b"]
    assert list(Corpus(str(tmp_path / "**" / "*.jsonl.gz"))) == ["b"]
    assert list(Corpus([tmp_path / "a.txt", tmp_path / "sub" / "b.jsonl.gz"])) == ["a", "b"]
    # The same file named twice is read once.
    assert resolve_files([tmp_path / "a.txt", tmp_path / "a.txt"]) == [tmp_path / "a.txt"]


def test_iterables_of_strings_and_generators():
    assert list(Corpus(["x", "", "y"])) == ["x", "y"]
    assert [b for b in Corpus(iter(["p", "q"])).batches()] == [["p", "q"]]
    with pytest.raises(ConfigError, match="corpus item 1 is int"):
        list(Corpus(["a", 3]))


def test_batches_are_bounded():
    docs = ["x" * 100] * 50
    batches = list(Corpus(docs).batches(batch_bytes=1000))
    assert [len(b) for b in batches] == [10] * 5
    assert sum(batches, []) == docs


def test_max_bytes_budget_cuts_at_a_character_boundary():
    corpus = Corpus(["aaaa", "बबब", "cccc"], max_bytes=7)
    docs = list(corpus)
    assert docs == ["aaaa", "ब"]
    assert corpus.stats.bytes == 7 and corpus.stats.truncated


def test_sampling_is_seeded_and_roughly_proportional():
    docs = [f"doc {i}" for i in range(2000)]
    a = list(Corpus(docs, sample_rate=0.25, seed=1))
    b = list(Corpus(docs, sample_rate=0.25, seed=1))
    c = list(Corpus(docs, sample_rate=0.25, seed=2))
    assert a == b != c
    assert 400 < len(a) < 600
    with pytest.raises(ConfigError, match="sample_rate"):
        Corpus(docs, sample_rate=0)


def test_invalid_utf8_is_skipped_and_counted_or_strict(tmp_path):
    path = _write(tmp_path / "mixed.txt", b"good\nbad \xff\xfe line\nalso good\n")
    corpus = Corpus(path)
    assert list(corpus) == ["good", "also good"]
    assert corpus.stats.invalid_utf8_lines == 1
    with pytest.raises(CorpusError, match=r"mixed\.txt:2: invalid UTF-8"):
        list(Corpus(path, strict=True))
    whole = Corpus(path, whole_files=True)
    assert list(whole) == ["good\nalso good\n"] and whole.stats.invalid_utf8_lines == 1


def test_binary_missing_and_empty_inputs(tmp_path):
    binary = _write(tmp_path / "blob.txt", b"abc\x00\x01\x02\n")
    with pytest.raises(CorpusError, match=r"blob\.txt looks like a binary file"):
        list(Corpus(binary))
    with pytest.raises(CorpusError, match=r"corpus file not found: .*nope\.txt"):
        Corpus(tmp_path / "nope.txt")
    with pytest.raises(CorpusError, match="no files match"):
        Corpus(str(tmp_path / "*.nothing"))
    empty = _write(tmp_path / "empty.txt", b"\n\n")
    with pytest.raises(CorpusError, match="the corpus is empty"):
        list(Corpus(empty))
    with pytest.raises(CorpusError, match="the corpus is empty"):
        list(Corpus([]))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(CorpusError, match="holds no text files"):
        Corpus(tmp_path / "emptydir")


def test_unreadable_file_is_named(tmp_path):
    import os

    path = _write(tmp_path / "secret.txt", b"x\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # running as root: permissions do not apply
            return
        with pytest.raises(CorpusError, match=r"cannot read corpus file .*secret\.txt"):
            Corpus(path)
    finally:
        path.chmod(0o644)


def test_hf_datasets_object():
    import datasets

    ds = datasets.Dataset.from_dict({"text": LINES, "n": list(range(4))})
    assert list(Corpus(ds)) == LINES
    with pytest.raises(ConfigError, match="no column 'body'"):
        list(Corpus(ds, text_field="body"))
    with pytest.raises(ConfigError, match="one split"):
        list(Corpus(datasets.DatasetDict({"train": ds})))


def test_not_a_corpus():
    with pytest.raises(ConfigError, match="cannot read a corpus from int"):
        list(Corpus(42))


def _reference_lines(data: bytes) -> tuple[list[str], int]:
    """The documents of a text file read line by line (the reader's contract), and the invalid lines."""
    docs, invalid = [], 0
    for raw in data.split(b"\n"):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            invalid += 1
            continue
        if line:
            docs.append(line)
    return docs, invalid


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from([b"a", b"bc", b" ", b"\n", b"\r", b"\r\n", "é".encode(), "न".encode(), b"\xff",
                                       b"\n\n"]), max_size=60),
       read_bytes=st.integers(1, 9))
def test_block_reader_equals_line_by_line_reading(tmp_path, monkeypatch, parts, read_bytes):
    data = b"".join(parts)
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    monkeypatch.setattr(corpus_module, "_READ_BYTES", read_bytes)
    corpus = Corpus(path)
    docs, invalid = _reference_lines(data)
    if not docs:
        with pytest.raises(CorpusError, match="empty"):
            list(corpus)
        return
    assert list(corpus) == docs and corpus.stats.invalid_utf8_lines == invalid
    batches = list(corpus.batches(batch_bytes=5))
    assert sum(batches, []) == docs
    assert corpus.stats.documents == len(docs) and corpus.stats.bytes == sum(len(d.encode()) for d in docs)
    assert all(sum(map(len, b)) >= 5 for b in batches[:-1]) and all(sum(map(len, b[:-1])) < 5 for b in batches)


def test_block_reader_names_the_line_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "_READ_BYTES", 4)
    path = _write(tmp_path / "late.txt", b"one\ntwo\nthree\nfo\xffur\n")
    with pytest.raises(CorpusError, match=r"late\.txt:4: invalid UTF-8"):
        list(Corpus(path, strict=True))
    binary = _write(tmp_path / "late.bin.txt", b"one\ntwo\nthree\nfo\x00ur\n")
    with pytest.raises(CorpusError, match=r"NUL byte on line 4"):
        list(Corpus(binary))


@given(docs=st.lists(st.text(max_size=12), max_size=40), batch_bytes=st.integers(1, 30))
def test_batches_end_where_the_size_is_reached(docs, batch_bytes):
    expected, batch, size = [], [], 0
    for doc in filter(None, docs):
        batch.append(doc)
        size += len(doc)
        if size >= batch_bytes:
            expected.append(batch)
            batch, size = [], 0
    expected += [batch] if batch else []
    if not expected:
        return
    assert list(Corpus(docs).batches(batch_bytes=batch_bytes)) == expected
    assert list(Corpus(iter(docs)).batches(batch_bytes=batch_bytes)) == expected
