"""Word counting: counts equal a Counter over the pieces, whatever the thread count or chunking;
normalization applies; merge/save/load/pickle round trips; corrupt and foreign files are rejected."""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith import _core
from tokensmith.errors import CorpusError, FormatError
from tokensmith.normalize import normalize
from tokensmith.pretokenize import split

WordCounts = _core.WordCounts


def expected(texts: list[str], pattern: str, normalization: str = "none") -> dict[bytes, int]:
    counter: collections.Counter[bytes] = collections.Counter()
    for text in texts:
        counter.update(p.encode("utf-8") for p in split(normalize(text, normalization), pattern))
    return dict(counter)


@pytest.fixture(scope="module")
def english(tiny_data: Path) -> str:
    return (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("pattern", ["gpt2", "o200k", "superbpe_stage1", "superbpe_stage2", "none"])
def test_long_text_is_cut_into_chunks_without_changing_counts(english, pattern):
    long_text = english * 20  # ~3 MB: several parallel chunks
    want = expected([long_text], pattern)
    for threads in (1, 2, 0):
        counts = WordCounts.count_texts([long_text], pattern, "none", threads)
        assert counts.to_dict() == want, (pattern, threads)
    assert counts.total() == sum(want.values())
    assert len(counts) == len(want)


def test_many_texts_and_normalization(english):
    lines = english.splitlines(keepends=True)
    counts = WordCounts.count_texts(lines, pattern="cl100k", normalization="nfkc_lowercase", num_threads=2)
    assert counts.to_dict() == expected(lines, "cl100k", "nfkc_lowercase")
    assert b" the" in counts and counts[b" the"] == counts.get(" the") > 100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab Ab'1\u00e9\u0301\n\u4e2d.", max_size=30), max_size=12), st.integers(0, 12))
def test_merged_shards_equal_one_count(texts, cut):
    whole = WordCounts.count_texts(texts, "llama3", "nfc", 2)
    assert whole.to_dict() == expected(texts, "llama3", "nfc")
    left = WordCounts.count_texts(texts[:cut], "llama3", "nfc", 1)
    right = WordCounts.count_texts(texts[cut:], "llama3", "nfc", 1)
    left.merge(right)
    assert left == whole
    assert WordCounts.from_bytes(whole.to_bytes()) == whole


def test_items_most_common_and_accessors():
    counts = WordCounts.count_texts(["b a b c c"], "whitespace")
    assert counts.items() == [(b" c", 2), (b" a", 1), (b" b", 1), (b"b", 1)]
    assert counts.most_common(1) == [(b" c", 2)]
    assert len(counts) == 4 and counts.total() == 5
    assert counts[b"missing"] == 0 and b"missing" not in counts
    counts.add_piece(b"new", 3)
    counts.add_piece("new")
    counts.add_texts(["c c"], "whitespace")
    assert counts[b"new"] == 4 and counts[b" c"] == 3 and counts[b"c"] == 1
    assert repr(WordCounts()) == "WordCounts(len=0, total=0)"


def test_save_load_and_pickle_round_trip(tmp_path, english):
    counts = WordCounts.count_texts([english], "o200k")
    path = tmp_path / "counts.bin"
    counts.save(path)
    assert WordCounts.load(str(path)) == counts
    assert pickle.loads(pickle.dumps(counts)) == counts
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_and_foreign_files_are_format_errors(tmp_path):
    data = bytearray(WordCounts.count_texts(["one two two"], "gpt2").to_bytes())
    assert data[:8] == b"TSWCOUNT" and struct.unpack("<I", data[8:12]) == (1,)
    flipped = bytearray(data)
    flipped[30] ^= 0x20
    newer = bytearray(data)
    newer[8] = 2
    cases = {"flip.bin": bytes(flipped), "short.bin": bytes(data[:-5]), "json.bin": b'{"a": 1}',
             "empty.bin": b"", "newer.bin": bytes(newer)}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(FormatError):
            WordCounts.load(tmp_path / name)
    with pytest.raises(FormatError, match="version 2"):
        WordCounts.from_bytes(bytes(newer))
    with pytest.raises(CorpusError):
        WordCounts.load(tmp_path / "missing.bin")
