"""Normalization: NFC/NFKC agree with Python's ``unicodedata`` on every FLORES-200 file, lowercase
agrees with the HF ``Lowercase`` normalizer (per character), hypothesis invariants, errors."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith import _core
from tokensmith.errors import ConfigError
from tokensmith.normalize import NORMALIZATIONS, check_normalization, normalize


def _assigned(text: str) -> bool:
    """Python 3.11 knows Unicode 14; the core knows a newer version."""
    return all(unicodedata.category(c) != "Cn" for c in text)


def test_flores_matches_unicodedata_and_hf_lowercase(shared_data: Path):
    from tokenizers import normalizers

    hf_lower = normalizers.Lowercase()
    files = sorted((shared_data / "multilingual" / "flores200_sib").glob("*.txt"))
    assert len(files) == 205
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert normalize(text, "nfc") == unicodedata.normalize("NFC", text), path.stem
        assert normalize(text, "nfkc") == unicodedata.normalize("NFKC", text), path.stem
        assert normalize(text, "lowercase") == hf_lower.normalize_str(text), path.stem
        nfkc = unicodedata.normalize("NFKC", text)
        assert normalize(text, "nfkc_lowercase") == hf_lower.normalize_str(nfkc), path.stem


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_forms_are_idempotent_and_match_python(text):
    for name in NORMALIZATIONS:
        once = normalize(text, name)
        if name != "lowercase":  # lowercasing can leave text that NFC would not compose; it is idempotent too
            assert normalize(once, name) == once, name
    assert normalize(normalize(text, "lowercase"), "lowercase") == normalize(text, "lowercase")
    assert normalize(text, "none") == text
    assert normalize(text, "nfkc_lowercase") == normalize(normalize(text, "nfkc"), "lowercase")
    if _assigned(text):
        assert normalize(text, "nfc") == unicodedata.normalize("NFC", text)
        assert normalize(text, "nfkc") == unicodedata.normalize("NFKC", text)
        assert normalize(text, "lowercase") == "".join(c.lower() for c in text)


def test_known_values():
    assert normalize("e\u0301", "nfc") == "\u00e9"
    assert normalize("\ufb01\u2075", "nfkc") == "fi5"
    assert normalize("\u03a3\u03a3", "lowercase") == "\u03c3\u03c3"  # no final-sigma rule (as HF)
    assert normalize("\uff21B", "nfkc_lowercase") == "ab"
    assert _core.normalize("nfc", "") == ""


def test_unknown_names_raise_config_error_listing_the_known_ones():
    with pytest.raises(ConfigError, match="nfkc_lowercase"):
        normalize("x", "nfd")
    with pytest.raises(ConfigError, match="nfkc_lowercase"):
        _core.normalize("NFC", "x")
    assert check_normalization("nfkc") == "nfkc"
    with pytest.raises(ConfigError):
        normalize(b"bytes", "nfc")  # type: ignore[arg-type]
