"""Domain (KL3M-style) and character-level recipes: whole tokens are single ids, the vocabulary stays
within vocab_size, files round-trip through stock tokenizers and ``tokensmith.load``, the CLI encodes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensmith
from tokensmith.methods.domain import DomainConfig, DomainTokenizer, whole_tokens


@pytest.fixture(scope="module")
def legal(tiny_data):
    return tiny_data / "domain" / "legal_eu_law.jsonl"


@pytest.fixture(scope="module")
def domain(legal):
    return tokensmith.train(legal, method="domain", vocab_size=2400, progress="none")


def test_whole_token_list():
    words = whole_tokens(DomainConfig(vocab_size=5000))
    assert "1776" in words and "2049" in words and "1775" not in words
    assert "10" in words and "999" in words and "1000" not in words
    assert "https://" in words and "<p>" in words and "    " in words and "U.S.C." in words
    assert len(words) == len(set(words))
    assert not whole_tokens(DomainConfig(vocab_size=5000, years=False, numbers=False)).count("1999")


def test_whole_tokens_are_single_ids(domain):
    assert domain.vocab_size <= 2400
    assert domain.config["config"]["normalization"] == "nfkc"
    for text in ["1999", "https://", "<p>", "    ", "U.S.C."]:
        ids = domain.encode(text)
        assert len(ids) == 1 and domain.token_bytes(ids[0]) == text.encode(), text
    ids = domain.encode("In 1999 see https://eur-lex.europa.eu and Art. 5")
    assert domain.token_to_id("1999") in ids and domain.token_to_id("https://") in ids


def test_specials_still_guarded(domain):
    with pytest.raises(tokensmith.errors.TokenError):
        domain.encode("hello <|end|>")
    assert domain.encode("hello <|end|>", allowed_special="all")[-1] == domain.token_to_id("<|end|>")


@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab 19\n<p>/:.Art§é")), max_size=60))
def test_round_trip_and_hf_agreement(domain, text):
    import unicodedata

    ids = domain.encode_ordinary(text)
    assert domain.decode(ids) == unicodedata.normalize("NFKC", text)
    assert _hf(domain).encode(text, add_special_tokens=False).ids == ids


_CACHE: dict = {}


def _hf(tok):
    if "hf" not in _CACHE:
        _CACHE["hf"] = tok.to_hf()
    return _CACHE["hf"]


def test_save_load_and_cli(domain, tmp_path):
    domain.save(tmp_path / "d")
    loaded = tokensmith.load(tmp_path / "d")
    assert isinstance(loaded, DomainTokenizer)
    text = "Article 1999 of https://x.eu\n\n## Scope"
    assert loaded.encode(text) == domain.encode(text)
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "d")],
                         input="In 1999 see <p>\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == domain.encode("In 1999 see <p>")


def test_chars_recipe(legal, tmp_path):
    tok = tokensmith.train(legal, method="chars", vocab_size=1000, progress="none")
    lengths = [len(tok.token_bytes(i)) for i in range(tok.vocab_size)]
    assert max(lengths) == 3
    text = "Regulation (EU) 2016/679 — Article 5"
    assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path / "c")
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "c")],
                         input=text + "\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == tok.encode(text)


def test_whole_tokens_are_not_special_in_transformers(domain, tmp_path):
    """transformers drops special tokens on ``decode(skip_special_tokens=True)``: whole tokens are text."""
    from transformers import PreTrainedTokenizerFast

    domain.save(tmp_path / "d")
    hf = PreTrainedTokenizerFast.from_pretrained(str(tmp_path / "d"))
    text = "In 1999 see https://x.eu <p>"
    ids = hf.encode(text, add_special_tokens=False)
    assert ids == domain.encode(text)
    assert hf.decode(ids, skip_special_tokens=True) == text
    flat, bounds = domain.encode_batch_flat([text, "<p>1999"])
    assert flat.tolist() == domain.encode(text) + domain.encode("<p>1999") and bounds[1] == len(ids)
    end = domain.token_to_id("<|end|>")
    assert hf.decode([*ids, end], skip_special_tokens=True) == text
