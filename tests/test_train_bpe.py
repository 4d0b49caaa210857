"""The Rust BPE trainer against the pure-Python reference (`reference_bpe.py`) and HF `tokenizers`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import regex

from tokensmith import ConfigError, _core
from tokensmith.config import known_patterns

import reference_bpe


def _texts(tiny_data, name: str, limit: int = 400) -> list[str]:
    path = tiny_data / name
    if path.suffix == ".jsonl":
        lines = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    return lines[:limit]


def _counts(texts: list[str], pattern: str = "o200k") -> Counter[bytes]:
    rx = regex.compile(known_patterns()[pattern])
    counts: Counter[bytes] = Counter()
    for text in texts:
        counts.update(m.group().encode("utf-8") for m in rx.finditer(text))
    return counts


@pytest.fixture(scope="module")
def english(tiny_data) -> Counter[bytes]:
    return _counts(_texts(tiny_data, "english_bench/gutenberg_en_sample.txt", 300))


@pytest.fixture(scope="module")
def multilingual(tiny_data) -> Counter[bytes]:
    files = sorted((tiny_data / "multilingual/flores200_sib").glob("*.txt"))[:60]
    return _counts([line for f in files for line in f.read_text(encoding="utf-8").splitlines()])


@pytest.fixture(scope="module")
def code(tiny_data) -> Counter[bytes]:
    return _counts(_texts(tiny_data, "domain/code_python_stdlib.jsonl", 3))


@pytest.mark.parametrize("corpus", ["english", "multilingual", "code"])
def test_identical_to_reference(corpus, request):
    counts = request.getfixturevalue(corpus)
    options = dict(vocab_size=420, special_tokens=["<|endoftext|>", "<pad>"], min_frequency=2)
    ours = _core.train_bpe(dict(counts), num_threads=1, **options)
    ref = reference_bpe.train(counts, **options)
    assert ours[0] == ref[0]
    assert ours[1] == ref[1]


@pytest.mark.parametrize("options", [
    dict(max_token_length=3),
    dict(min_frequency=40),
    dict(forbid_colon_space=True, max_words_per_token=2),
    dict(initial_merges=[(b"q", b"u"), (b"qu", b"e")]),
    # two inherited merges spell "the": replayed one by one, not by rank encoding
    dict(initial_merges=[(b"h", b"e"), (b"t", b"h"), (b"t", b"he"), (b"th", b"e")]),
])
def test_options_identical_to_reference(english, options):
    ours = _core.train_bpe(dict(english), vocab_size=380, num_threads=2, **options)
    ref = reference_bpe.train(english, vocab_size=380, **options)
    assert ours == (ref[0], ref[1])


def test_max_token_length_is_exact(english):
    vocab, _ = _core.train_bpe(dict(english), vocab_size=600, max_token_length=4)
    assert max(len(t) for t in vocab) == 4


def test_segments_never_merge_across():
    counts = [([b"walk", b"ing"], 50), ([b"talk", b"ing"], 40), ([b"walk", b"ed"], 30)]
    vocab, merges = _core.train_bpe(counts, vocab_size=400, min_frequency=1)
    assert b"walk" in vocab and b"ing" in vocab
    assert not any(b"king" in t or b"kin" in t or b"ked" in t for t in vocab)
    ref = reference_bpe.train({tuple(w): c for w, c in counts}, vocab_size=400, min_frequency=1)
    assert (vocab, merges) == (ref[0], ref[1])


def test_word_counts_object_and_threads(tiny_data, english):
    text = _texts(tiny_data, "english_bench/gutenberg_en_sample.txt", 300)
    native = _core.WordCounts.count_texts(text, "o200k", "none", 1)
    one = _core.train_bpe(native, vocab_size=500, num_threads=1)
    two = _core.train_bpe(dict(english), vocab_size=500, num_threads=2)
    assert one == two


def test_progress_modes(english, capfd):
    seen = []
    _core.train_bpe(dict(english), vocab_size=300, progress=seen.append)
    assert seen[0]["merges_done"] == 0 and seen[-1]["merges_done"] == 300 - 256
    _core.train_bpe(dict(english), vocab_size=300, progress="json")
    lines = capfd.readouterr().err.strip().splitlines()
    assert json.loads(lines[-1])["event"] == "done"
    _core.train_bpe(dict(english), vocab_size=300, progress="bar")
    assert "44/44 merges" in capfd.readouterr().err


def test_bad_options():
    with pytest.raises(ConfigError, match="vocab_size"):
        _core.train_bpe({b"ab": 3}, vocab_size=100)
    with pytest.raises(ConfigError, match="progress"):
        _core.train_bpe({b"ab": 3}, vocab_size=300, progress="loud")
    with pytest.raises(ConfigError, match="initial merge"):
        _core.train_bpe({b"ab": 3}, vocab_size=300, initial_merges=[(b"xy", b"z")])
    with pytest.raises(ConfigError):
        _core.train_bpe({b"ab": "three"}, vocab_size=300)


def test_same_merges_as_hf_tokenizers(tiny_data):
    """HF's BpeTrainer with the ByteLevel alphabet: same id layout, same tie-break, same merges."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    texts = _texts(tiny_data, "english_bench/gutenberg_en_sample.txt", 400)
    specials = ["<|endoftext|>"]
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(known_patterns()["gpt2"]), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator(texts, trainer)
    vocab, merges = _core.train_bpe(dict(_counts(texts, "gpt2")), vocab_size=700, special_tokens=specials)
    hf_json = json.loads(hf.to_str())["model"]
    byte_of = {c: b for b, c in _gpt2_unicode().items()}
    as_bytes = lambda s: bytes(byte_of[c] for c in s)  # noqa: E731
    hf_merges = [tuple(as_bytes(p) for p in (m.split(" ") if isinstance(m, str) else m)) for m in hf_json["merges"]]
    ours = [(vocab[a], vocab[b]) for a, b in merges]
    assert ours == hf_merges
    hf_vocab = {as_bytes(t) if t not in specials else t.encode(): i for t, i in hf_json["vocab"].items()}
    assert hf_vocab == {t: i for i, t in enumerate(vocab)}


def _gpt2_unicode() -> dict[int, str]:
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, n = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


_lines = st.lists(st.text(alphabet="ab c", min_size=1, max_size=40), min_size=1, max_size=30)


def _line_counts(lines: list[str]) -> Counter[bytes]:
    return Counter(line.encode() for line in lines)


@settings(max_examples=60, deadline=None)
@given(lines=_lines, min_frequency=st.integers(1, 3))
def test_random_words_identical_to_reference(lines, min_frequency):
    """A 4-letter alphabet makes duplicate tokens (a+bc, ab+c) common: rare pairs left out of the
    index must be recounted when a merge re-creates one of their tokens."""
    counts = _line_counts(lines)
    ours = _core.train_bpe(dict(counts), vocab_size=300, min_frequency=min_frequency, num_threads=2)
    assert ours == reference_bpe.train(counts, vocab_size=300, min_frequency=min_frequency)


@settings(max_examples=60, deadline=None)
@given(lines=_lines, min_frequency=st.integers(1, 3), stage1=st.integers(257, 290))
def test_inherited_merges_identical_to_reference(lines, min_frequency, stage1):
    """SuperBPE's stage 2: merges learned on space-split words are replayed over whole lines
    (by rank encoding in Rust, one by one in the reference), then training goes on."""
    words = Counter(w.encode() for line in lines for w in line.split(" ") if w)
    vocab1, merges1 = reference_bpe.train(words, vocab_size=stage1, min_frequency=1)
    initial = [(vocab1[a], vocab1[b]) for a, b in merges1]
    counts = _line_counts(lines)
    options = dict(vocab_size=stage1 + 20, min_frequency=min_frequency, initial_merges=initial)
    ours = _core.train_bpe(dict(counts), num_threads=2, **options)
    assert ours == reference_bpe.train(counts, **options)
