"""Pretokenization: the hand-written scanners split exactly like their reference regexes (Python
``regex`` and fancy-regex, tiktoken's engine) on every FLORES-200 file and on random Unicode; SuperBPE's
patterns equal the SuperBPE pipeline in HF ``tokenizers``; names and errors."""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith import _core
from tokensmith.errors import ConfigError
from tokensmith.pretokenize import PATTERNS, SUPERBPE_REFERENCE, check_pattern, count_words, get_pretokenizer, split

NAMED = [name for name in PATTERNS if name != "none"]
LINES_PER_FILE_FOR_PYTHON_REGEX = 40


@functools.lru_cache(maxsize=None)
def _flores(shared: Path) -> tuple[tuple[str, str], ...]:
    files = sorted((shared / "multilingual" / "flores200_sib").glob("*.txt"))
    return tuple((f.stem, f.read_text(encoding="utf-8")) for f in files)


@pytest.fixture(scope="module")
def flores(shared_data: Path) -> tuple[tuple[str, str], ...]:
    texts = _flores(shared_data)
    assert len(texts) == 205
    return texts


@functools.lru_cache(maxsize=None)
def _reference(name: str):
    """The named pattern's regex on fancy-regex (tiktoken's regex engine)."""
    return _core.Pretokenizer.from_regex(PATTERNS[name])


def test_python_patterns_are_the_core_patterns():
    assert dict(_core.named_patterns()) == {name: (rx or None) for name, rx in PATTERNS.items()}


@pytest.mark.parametrize("name", NAMED)
def test_scanner_equals_fancy_regex_on_every_flores_file(flores, name):
    scanner, reference = _core.Pretokenizer(name), _reference(name)
    for code, text in flores:
        at = scanner.first_difference(reference, text)
        assert at is None, f"{name} differs on {code} at byte {at}: {text.encode()[at:at + 40]!r}"


@pytest.mark.parametrize("name", NAMED)
def test_scanner_equals_python_regex_on_flores_lines(flores, name):
    scanner, compiled = _core.Pretokenizer(name), regex.compile(PATTERNS[name])
    for code, text in flores:
        lines = text.split("\n")[:LINES_PER_FILE_FOR_PYTHON_REGEX]
        for line in lines:
            assert scanner.split(line) == compiled.findall(line), f"{name} differs on {code}: {line!r}"
        block = "\n".join(lines)
        assert scanner.split(block) == compiled.findall(block), f"{name} differs on {code}"


def _hf_superbpe(name: str):
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(Regex(SUPERBPE_REFERENCE[name]), behavior="isolated"),
    ])


@pytest.mark.parametrize("name", ["superbpe_stage1", "superbpe_stage2"])
def test_superbpe_equals_the_reference_pipeline_on_flores(flores, name):
    reference, ours = _hf_superbpe(name), _core.Pretokenizer(name)
    for code, text in flores:
        for line in text.split("\n")[:LINES_PER_FILE_FOR_PYTHON_REGEX]:
            assert ours.split(line) == [p for p, _ in reference.pre_tokenize_str(line)], f"{code}: {line!r}"


ALPHABET = (
    "abstlvermdSTLVERMDQ\u017f\u01c5\u02b0\u4e2d\u00e9\u0301\u0903\u20dd0179\u0661\u0967\u00b2\u00bd\u216b"
    "   \t\n\r\u00a0\u3000\u0085\u2028''./!-,\u1f600\u200d\ufe0f\U0001d400\U00010400\U00010428\x1f\U0001f600"
)
texts = st.text(alphabet=ALPHABET, max_size=40) | st.text(max_size=30)


def _assigned_in_python_unicode(text: str) -> bool:
    return all(unicodedata.category(c) != "Cn" for c in text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_scanners_equal_both_regex_engines_on_random_text(text):
    for name in NAMED:
        pieces = _core.Pretokenizer(name).split(text)
        assert pieces == _reference(name).split(text), name
        if _assigned_in_python_unicode(text):  # newer characters: `regex` may use an older Unicode
            assert pieces == regex.findall(PATTERNS[name], text), name
        assert "".join(pieces) == text, name  # every named pattern covers the whole text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="12345\u00b2\u0967\u0968 ab,.\n", max_size=30))
def test_superbpe_equals_reference_pipeline_on_random_numbers(text):
    for name in ("superbpe_stage1", "superbpe_stage2"):
        expected = [p for p, _ in _hf_superbpe(name).pre_tokenize_str(text)]
        assert _core.Pretokenizer(name).split(text) == expected


@settings(max_examples=100, deadline=None)
@given(texts)
def test_spans_index_the_python_string(text):
    pretokenizer = get_pretokenizer("o200k")
    pieces = pretokenizer.split(text)
    assert [text[s:e] for s, e in pretokenizer.spans(text)] == pieces
    encoded = text.encode("utf-8")
    assert [encoded[s:e].decode("utf-8") for s, e in pretokenizer.byte_spans(text)] == pieces


def test_known_splits():
    assert split("I'm  here 42!\n", "gpt2") == ["I", "'m", " ", " here", " 42", "!", "\n"]
    assert split("HELLO world's 12345", "o200k") == ["HELLO", " world's", " ", "123", "45"]
    assert split("a 1234567 b", "superbpe_stage1") == ["a", " ", "1", "234", "567", " b"]
    assert split("a b, 1234 c", "superbpe_stage2") == ["a b, ", "1", "234", " c"]
    assert split("a  b\n", "whitespace") == ["a", " ", " b", "\n"]
    assert split("a b", "none") == ["a b"]
    assert split("", "gpt2") == []


def test_user_regex_keeps_find_iter_semantics():
    assert split("a12b3", r"\d+") == ["12", "3"]
    assert _core.Pretokenizer(r"\p{L}+").pattern == r"\p{L}+"


def test_unknown_name_and_bad_regex_are_config_errors():
    with pytest.raises(ConfigError, match="cl100k"):
        get_pretokenizer("o200")
    with pytest.raises(ConfigError, match="regex"):
        get_pretokenizer("(unclosed")
    with pytest.raises(ConfigError):
        check_pattern("")
    assert check_pattern("llama3") == "llama3"
    assert check_pattern(r"\w+") == r"\w+"


def test_count_words_counts_pieces():
    counts = count_words(["the cat the", "cat"], "gpt2", "lowercase", num_threads=1)
    assert dict(counts.items()) == {b" cat": 1, b"the": 1, b" the": 1, b"cat": 1}
    with pytest.raises(ConfigError, match="nfkc"):
        count_words(["x"], "gpt2", "nfd")
