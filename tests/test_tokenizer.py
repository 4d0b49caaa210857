"""The BPE model and `Tokenizer`: round trips, specials, offsets, batch, pickling, and identical ids to
tiktoken (real cl100k/o200k rank files) and to HF `tokenizers` (a model we trained)."""

from __future__ import annotations

import base64
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith import ConfigError, TokenError, _core
from tokensmith.config import known_patterns
from tokensmith.tokenizer import Tokenizer

import reference_bpe

SPECIALS = ["<|endoftext|>", "<|fim|>"]
NASTY = [
    "", " ", "\n\n\n", "a", "héllo wörld", "👩‍👩‍👧‍👦 family 🇯🇵 flag", "e\u0301\u0302 combining",
    "مرحبا بالعالم שלום", "中文字符测试，日本語のテキスト", "한국어 텍스트", "\x00\x01\x7f\t\r\n control",
    " " * 3000, "9" * 5000, "ab" * 2000, "\u200b\u200d\ufeff zero widths", "Ω≈ç√∫˜µ≤≥÷", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


def _read_ranks(path) -> dict[bytes, int]:
    ranks = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _educational_bpe(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """tiktoken `_educational.py`: merge the lowest-ranked pair below `max_rank` until none is left."""
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            return parts
        i = best[1]
        parts[i:i + 2] = [parts[i] + parts[i + 1]]


def merges_from_ranks(ranks: dict[bytes, int]) -> list[tuple[int, int]]:
    """The merge that makes each token, in rank order. When only one split of a token into two
    lower-ranked tokens exists it must be the one BPE reaches; otherwise run the educational BPE."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        splits = [(token[:k], token[k:]) for k in range(1, len(token))
                  if ranks.get(token[:k], rank) < rank and ranks.get(token[k:], rank) < rank]
        if len(splits) != 1:
            parts = _educational_bpe(ranks, token, rank)
            assert len(parts) == 2, (token, parts)
            splits = [tuple(parts)]
        merges.append((ranks[splits[0][0]], ranks[splits[0][1]]))
    return merges


@pytest.fixture(scope="module")
def flores(shared_data) -> list[str]:
    lines = []
    for path in sorted((shared_data / "multilingual/flores200_sib").glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()[:40]
    return lines


@pytest.fixture(scope="module")
def tok(tiny_data) -> Tokenizer:
    text = (tiny_data / "english_bench/gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()
    files = sorted((tiny_data / "multilingual/flores200_sib").glob("*.txt"))
    text += [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    counts = _core.WordCounts.count_texts(text, "o200k", "none", 1)
    vocab, merges = _core.train_bpe(counts, vocab_size=1500, special_tokens=SPECIALS)
    return Tokenizer(vocab, merges, pattern="o200k", special_tokens={s: i for i, s in enumerate(SPECIALS)},
                     config={"method": "bpe"})


# -- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", NASTY)
def test_round_trip_nasty(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids, errors="strict") == text
    assert tok.decode_bytes(ids) == text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200) | st.lists(st.sampled_from(NASTY[4:12] + ["  ", "\n", "x"]), max_size=8).map("".join))
def test_round_trip_any_text(tok, text):
    assert tok.decode(tok.encode(text, disallowed_special=()), errors="strict") == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=60), max_size=12))
def test_batch_equals_one_by_one(tok, texts):
    one = [tok.encode(t, disallowed_special=()) for t in texts]
    assert tok.encode_batch(texts, disallowed_special=(), num_threads=2) == one
    assert tok.encode_batch(texts, disallowed_special=()) == one
    ids, bounds = tok.encode_batch_flat(texts, disallowed_special=(), num_threads=2)
    assert ids.dtype == "uint32" and bounds.dtype == "int64" and len(bounds) == len(texts) + 1
    assert [ids[bounds[i]:bounds[i + 1]].tolist() for i in range(len(texts))] == one


def test_batch_flat_special_policy_and_errors(tok):
    ids, bounds = tok.encode_batch_flat(["a<|endoftext|>", ""], allowed_special="all")
    assert ids.tolist() == tok.encode("a<|endoftext|>", allowed_special="all") and bounds.tolist() == [0, 2, 2]
    with pytest.raises(TokenError):
        tok.encode_batch_flat(["a<|endoftext|>"])
    with pytest.raises(ConfigError, match="num_threads"):
        tok.encode_batch_flat(["a"], num_threads=-1)


def test_pieces_match_reference_encoder(tok):
    """Merging inside a piece: lowest rank first, leftmost on a tie (slow reference, no cache)."""
    import regex

    vocab = [tok.id_to_token(i) for i in range(tok.vocab_size)]
    rx = regex.compile(known_patterns()["o200k"])
    text = " ".join(NASTY[4:12]) + " internationalisation tokenization aaaaaaa"
    ref = reference_bpe.Encoder(vocab, tok.merges)
    expect = [i for m in rx.finditer(text) for i in ref.encode_piece(m.group().encode())]
    assert tok.encode(text) == expect


# -- offsets -----------------------------------------------------------------------------------

def _slow_offsets(tok, ids, text):
    raw, pos, byte_offsets, char_offsets = text.encode("utf-8"), 0, [], []
    for i in ids:
        end = pos + len(tok.id_to_token(i))
        byte_offsets.append((pos, end))
        char_offsets.append((len(raw[:pos].decode("utf-8", "ignore")), len(raw[:end].decode("utf-8", "replace"))))
        pos = end
    return byte_offsets, char_offsets


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80) | st.sampled_from(NASTY))
def test_offsets_agree_with_slow_reference(tok, text):
    text = text + "<|fim|>" + text
    enc = tok.encode_with_offsets(text, allowed_special="all")
    assert enc.ids == tok.encode(text, allowed_special="all")
    assert (enc.byte_offsets, enc.char_offsets) == _slow_offsets(tok, enc.ids, text)


# -- special tokens, decoding errors, dropout, vocabulary ---------------------------------------

def test_special_tokens_policy(tok):
    text = "a<|endoftext|>b<|fim|>"
    with pytest.raises(TokenError, match="allowed_special"):
        tok.encode(text)
    assert tok.encode(text, allowed_special="all") == tok.encode("a") + [0] + tok.encode("b") + [1]
    with pytest.raises(TokenError, match="fim"):
        tok.encode(text, allowed_special={"<|endoftext|>"})
    mixed = tok.encode(text, allowed_special={"<|endoftext|>"}, disallowed_special=())
    assert 0 in mixed and 1 not in mixed
    plain = tok.encode_ordinary(text)
    assert 0 not in plain and tok.decode(plain) == text
    with pytest.raises(TokenError, match="not a special token"):
        tok.encode("x", allowed_special={"<|nope|>"})


def test_lone_surrogates_become_replacement_chars(tok):
    assert tok.decode(tok.encode("a\ud800b")) == "a\ufffdb"
    assert tok.encode_batch(["\udfff"]) == [tok.encode("\ufffd")]


def test_decode_errors(tok):
    ids = tok.encode("é")
    pieces = [tok.id_to_token(i) for i in tok.encode("日本")]
    first = tok.encode("日本")[:1]
    if len(pieces[0]) < 3:  # the first token ends inside a character
        with pytest.raises(TokenError, match="inside a UTF-8 character"):
            tok.decode(first, errors="strict")
        assert tok.decode(first).endswith("\ufffd")
        assert tok.decode(first, errors="ignore") == ""
    assert tok.decode(ids, errors="strict") == "é"
    for bad in (10**6, -1, 2**40):
        with pytest.raises(TokenError, match="unknown token id"):
            tok.decode([bad])
    with pytest.raises(ConfigError):
        tok.decode(ids, errors="bogus")


def test_dropout(tok):
    text = "internationalisation of tokenization " * 5
    assert tok.encode(text, dropout=0.0) == tok.encode(text)
    a = tok.encode(text, dropout=0.3, seed=1)
    assert a == tok.encode(text, dropout=0.3, seed=1)
    assert len(a) > len(tok.encode(text))
    assert tok.decode(a) == text
    assert len(tok.encode(text, dropout=1.0, seed=2)) == len(text.encode())


def test_vocab_accessors_and_pickle(tok):
    assert tok.vocab_size == 1500 == len(tok.vocab)
    assert tok.special_tokens == {"<|endoftext|>": 0, "<|fim|>": 1}
    assert tok.token_to_id("<|fim|>") == 1
    the = tok.token_to_id(" the")
    assert the is not None and tok.id_to_token(the) == b" the" and tok.vocab[b" the"] == the
    assert tok.token_to_id("never-a-token-xyz") is None
    with pytest.raises(TokenError):
        tok.id_to_token(10**7)
    assert len(tok.merges) == 1500 - 258
    again = pickle.loads(pickle.dumps(tok))
    assert again.encode(NASTY[5]) == tok.encode(NASTY[5]) and again.config == {"method": "bpe"}
    core = pickle.loads(pickle.dumps(tok._core))
    assert core.encode("héllo wörld") == tok.encode("héllo wörld")
    assert "vocab_size=1500" in repr(tok)


# -- identical ids to the reference libraries ----------------------------------------------------

def test_same_ids_as_hf_tokenizers(tok, flores):
    from tokenizers import Regex, Tokenizer as HFTokenizer, decoders, models, pre_tokenizers

    from test_train_bpe import _gpt2_unicode

    uni = _gpt2_unicode()
    piece = lambda b: "".join(uni[x] for x in b)  # noqa: E731
    vocab = {piece(tok.id_to_token(i)): i for i in range(2, tok.vocab_size)}
    merges = [(piece(tok.id_to_token(a)), piece(tok.id_to_token(b))) for a, b in tok.merges]
    hf = HFTokenizer(models.BPE(vocab=vocab, merges=merges))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(known_patterns()["o200k"]), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.decoder = decoders.ByteLevel()
    texts = flores[::3] + NASTY
    ours = tok.encode_batch(texts)
    theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    assert ours == theirs


@pytest.mark.parametrize("name,pattern,via", [
    ("openai_cl100k_base/cl100k_base.tiktoken", "cl100k", "merges"),
    ("openai_o200k_base/o200k_base.tiktoken", "o200k", "ranks"),
])
def test_same_ids_as_tiktoken(shared_data, flores, name, pattern, via):
    import tiktoken

    ranks = _read_ranks(shared_data / "tokenizers" / name)
    vocab = [b""] * len(ranks)
    for token, rank in ranks.items():
        vocab[rank] = token
    special = {"<|endoftext|>": len(ranks) + 1}
    # "merges": the merge list derived as tiktoken's educational code does; "ranks": the rank file
    # straight into the engine (the rank of a pair is the rank of its concatenation).
    merges = merges_from_ranks(ranks) if via == "merges" else None
    ours = _core.BpeModel(vocab, merges, pattern, "none", special, ignore_merges=True)
    enc = tiktoken.Encoding(pattern, pat_str=known_patterns()[pattern], mergeable_ranks=ranks, special_tokens=special)
    texts = flores + NASTY + ["hello<|endoftext|>world"]
    assert ours.encode_batch(texts, "all") == enc.encode_batch(texts, allowed_special="all")
    sample = texts[::50]
    assert [ours.encode(t, None, ()) for t in sample] == [enc.encode_ordinary(t) for t in sample]
    assert all(ours.decode_bytes(enc.encode_ordinary(t)) == t.encode() for t in sample)
