"""Picky BPE: the Rust trainer equals a pure-Python reference, τ >= 1 equals BPE, the encoder equals a
sequential replay of the log, files and pickles round-trip, and the CLI encodes with a saved directory."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensmith
from tokensmith import _core
from tokensmith.errors import ConfigError
from tokensmith.methods.picky import PickyTokenizer, load_picky


# -- pure-Python reference (tests only) -------------------------------------------------------------

def _byte_order() -> list[int]:
    from tokensmith.formats.hf import bytes_to_unicode

    table = bytes_to_unicode()
    return sorted(range(256), key=lambda b: ord(table[b]))


def _atomic(tok: bytes) -> bool:
    if len(tok) == 1:
        return True
    try:
        return len(tok.decode("utf-8")) == 1
    except UnicodeDecodeError:
        return False


def _merge(word: list[int], a: int, b: int, c: int) -> list[int]:
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(c)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def reference_picky(counts: dict[bytes, int], vocab_size: int, threshold: float, min_frequency: int = 2):
    """Slow Picky BPE: recount every pair each step; same ids, tie-break and IoS as the Rust trainer."""
    toks: list[bytes] = []
    parents: list[tuple[int, int] | None] = []
    slot: list[int | None] = []
    ids: dict[bytes, int] = {}
    free: list[int] = []
    next_slot = [0]

    def take(uid: int) -> None:
        if free:
            free.sort()
            slot[uid] = free.pop(0)
        else:
            slot[uid] = next_slot[0]
            next_slot[0] += 1

    def new(tok: bytes, par) -> int:
        uid = len(toks)
        toks.append(tok), parents.append(par), slot.append(None)
        ids[tok] = uid
        take(uid)
        return uid

    byte_uid = {b: new(bytes([b]), None) for b in _byte_order()}
    words = {w: [byte_uid[b] for b in w] for w in sorted(counts) if w and counts[w] > 0}
    events = []

    def freq(uid: int) -> int:
        return sum(counts[w] * seq.count(uid) for w, seq in words.items())

    def walk(uid: int) -> list[int]:
        if slot[uid] is not None or parents[uid] is None or _atomic(toks[uid]):
            return [uid]
        left, right = parents[uid]
        return walk(left) + walk(right)

    present = lambda: sum(s is not None for s in slot)  # noqa: E731
    while present() < vocab_size:
        pairs: Counter = Counter()
        for w, seq in words.items():
            for p in zip(seq, seq[1:]):
                pairs[p] += counts[w]
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], (-kv[0][0], -kv[0][1])))
        (a, b), m = best
        if m < min_frequency:
            break
        before = {a: freq(a), b: freq(b)}
        tok = toks[a] + toks[b]
        if tok in ids:
            c = ids[tok]
            if slot[c] is None:
                take(c)
        else:
            c = new(tok, (a, b))
        events.append(("merge", toks[a], toks[b]))
        words = {w: _merge(seq, a, b, c) for w, seq in words.items()}
        for p in ([a] if a == b else [a, b]):
            if m / max(before[p], 1) > threshold and not _atomic(toks[p]):
                free.append(slot[p])
                slot[p] = None
                pieces = walk(p)
                words = {w: [x for t in seq for x in (pieces if t == p else [t])] for w, seq in words.items()}
                events.append(("split", toks[p], [toks[q] for q in pieces]))
    vocab = [b""] * next_slot[0]
    for uid, s in enumerate(slot):
        if s is not None:
            vocab[s] = toks[uid]
    return [v for v in vocab if v or False], events


def replay(events, piece: bytes) -> list[bytes]:
    """Sequential replay of the whole log on one piece (the definition the encoder must meet)."""
    word = [bytes([b]) for b in piece]
    for kind, x, y in events:
        if kind == "merge":
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == x and word[i + 1] == y:
                    out.append(x + y)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        else:
            word = [q for t in word for q in (y if t == x else [t])]
    return word


# -- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def english(tiny_data):
    return (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def small_counts(english):
    return _core.WordCounts.count_texts(english[:300], "gpt2", "none", 1)


@pytest.fixture(scope="module")
def picky_tok(english):
    return tokensmith.train(english, method="picky", vocab_size=700, threshold=0.9, pattern="gpt2",
                            special_tokens=["<|endoftext|>"], progress="none")


# -- tests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("threshold", [0.6, 0.9])
def test_rust_trainer_equals_python_reference(small_counts, threshold):
    counts = {bytes(w): c for w, c in small_counts.items()}
    vocab, events = _core.train_picky(small_counts, vocab_size=330, threshold=threshold)
    ref_vocab, ref_events = reference_picky(counts, 330, threshold)
    assert [tuple(e[:2]) + (list(e[2]) if e[0] == "split" else e[2],) for e in events] == \
           [tuple(e[:2]) + (e[2],) for e in ref_events]
    assert list(vocab) == ref_vocab
    assert any(e[0] == "split" for e in events), "threshold low enough to remove something"


@settings(max_examples=25, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcde ", min_size=1, max_size=8), st.integers(1, 30),
                             min_size=1, max_size=25),
       threshold=st.floats(1.0, 5.0), size=st.integers(256, 300))
def test_threshold_at_least_one_is_plain_bpe(words, threshold, size):
    counts = _core.WordCounts()
    for w, c in words.items():
        counts.add_piece(w, c)
    vocab, events = _core.train_picky(counts, vocab_size=size, threshold=threshold)
    bpe_vocab, merges = _core.train_bpe(counts, size, progress="none")
    assert list(vocab) == list(bpe_vocab)
    assert [(e[1], e[2]) for e in events] == [(bpe_vocab[a], bpe_vocab[b]) for a, b in merges]


@settings(max_examples=20, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcdé", min_size=1, max_size=10), st.integers(1, 40),
                             min_size=2, max_size=30), threshold=st.floats(0.3, 0.95))
def test_invariants_and_replay(words, threshold):
    counts = _core.WordCounts()
    for w, c in words.items():
        counts.add_piece(w, c)
    vocab, events = _core.train_picky(counts, vocab_size=290, threshold=threshold, min_frequency=1)
    assert len(set(vocab)) == len(vocab)                       # dense ids, no duplicates
    assert all(bytes([b]) in set(vocab) for b in range(256))   # bytes are never removed
    assert all(b"".join(e[2]) == e[1] for e in events if e[0] == "split")
    model = _core.PickyModel(vocab, events, None, "none", {})
    for w in words:
        raw = w.encode()
        assert [vocab[i] for i in model.encode(w)] == replay(events, raw)


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=80))
def test_round_trip(picky_tok, text):
    assert picky_tok.decode(picky_tok.encode(text, disallowed_special=())) == text


def test_encoder_equals_replay_on_corpus(picky_tok, english):
    pre = _core.Pretokenizer("gpt2")
    events = picky_tok.events
    for line in english[300:340]:
        for piece in pre.split(line):
            got = [picky_tok.token_bytes(i) for i in picky_tok.encode(piece)]
            assert got == replay(events, piece.encode())


def test_batch_flat_equals_batch(picky_tok, english):
    """Picky BPE has no flat engine path: the Python fallback must give the same ids."""
    texts = english[:20] + [""]
    ids, bounds = picky_tok.encode_batch_flat(texts)
    docs = picky_tok.encode_batch(texts)
    assert [ids[bounds[i]:bounds[i + 1]].tolist() for i in range(len(texts))] == docs


def test_save_load_pickle_and_specials(picky_tok, tmp_path, english):
    text = "Scrooge said<|endoftext|>humbug"
    ids = picky_tok.encode(text, allowed_special="all")
    assert picky_tok.token_to_id("<|endoftext|>") in ids
    with pytest.raises(tokensmith.errors.TokenError):
        picky_tok.encode(text)
    picky_tok.save(tmp_path / "p")
    loaded = load_picky(tmp_path / "p")
    assert isinstance(loaded, PickyTokenizer)
    assert loaded.encode_batch(english[:50]) == picky_tok.encode_batch(english[:50])
    assert loaded.config["config"]["threshold"] == 0.9
    again = pickle.loads(pickle.dumps(picky_tok))
    assert again.encode(text, allowed_special="all") == ids
    assert picky_tok.encode_with_offsets("Hello there").byte_offsets[-1][1] == len("Hello there")


def test_config_validation():
    with pytest.raises(ConfigError):
        tokensmith.train(["a b"], method="picky", vocab_size=300, threshold=0)


def test_cli_encode_with_saved_directory(picky_tok, tmp_path):
    picky_tok.save(tmp_path / "tok")
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "tok")],
                         input="Marley was dead\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == picky_tok.encode("Marley was dead")
