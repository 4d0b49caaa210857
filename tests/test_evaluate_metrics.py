"""Count-based metrics against hand-computed values on tiny examples."""

import math

import numpy as np
import pytest

from tokensmith.errors import ConfigError
from tokensmith.evaluate import metrics as M
from tokensmith.evaluate.loaders import NativeAdapter, as_adapter


class CharTokenizer:
    """A toy tokenizer of our own shape: one token per character, ids = code point % 100."""

    vocab_size = 100

    def encode_batch(self, texts):
        return [[ord(c) % 100 for c in t] for t in texts]

    def id_to_bytes(self, i):
        return chr(i).encode()

    def decode(self, ids):
        return "".join(chr(i) for i in ids)


def test_count_text_bytes_chars_words():
    c = M.count_text(["a bc", "नम", "  "])
    # "नम" is 2 code points of 3 UTF-8 bytes each; a line of spaces has no word
    assert c.bytes.tolist() == [4, 6, 2]
    assert c.chars.tolist() == [4, 2, 2]
    assert c.words.tolist() == [2, 1, 0]


def test_count_tokens_one_pass_counts_and_frequencies():
    per_line, freqs = M.count_tokens(CharTokenizer(), ["abca", "", "b"])
    assert per_line.tolist() == [4, 0, 1]
    # a=97, b=98, c=99
    assert freqs[97] == 2 and freqs[98] == 2 and freqs[99] == 1 and freqs.sum() == 5
    assert isinstance(as_adapter(CharTokenizer()), NativeAdapter)


def test_nsl_is_corpus_level_ratio():
    # per-line ratios would average (3/4 + 5/4)/2 = 1.0 too; use an asymmetric case to see the sum ratio
    assert M.normalized_sequence_length([2, 10], [4, 4]) == pytest.approx(12 / 8)
    assert M.normalized_sequence_length(7, 7) == 1.0
    assert math.isnan(M.normalized_sequence_length(3, 0))


def test_fertility_and_tokens_per_char():
    assert M.fertility([3, 4], [2, 2]) == pytest.approx(7 / 4)
    assert M.tokens_per_char(6, 24) == 0.25
    assert math.isnan(M.fertility(5, 0))
    assert M.is_unsegmented("Jpan") and not M.is_unsegmented("Latn")


def test_parity_corpus_and_median():
    lang, pivot = [4, 9, 2], [2, 3, 2]
    assert M.parity(lang, pivot) == pytest.approx(15 / 7)
    # per-sentence ratios 2, 3, 1 -> median 2
    assert M.parity_median(lang, pivot) == 2.0
    # a pivot sentence with no tokens is dropped: ratios 2, 1 -> median 1.5
    assert M.parity_median([4, 5, 2], [2, 0, 2]) == 1.5
    with pytest.raises(ConfigError):
        M.parity_median([1, 2], [1])


def test_bytes_and_chars_per_token():
    assert M.bytes_per_token([10, 20], [5, 5]) == 3.0
    assert M.chars_per_token(9, 6) == 1.5


def test_renyi_efficiency_hand_computed():
    # p = (3/4, 1/4), alpha = 2: H2 = -log(9/16 + 1/16) = -log(0.625); |V| = 4
    assert M.renyi_efficiency([3, 1], 4, alpha=2.0) == pytest.approx(-math.log(0.625) / math.log(4))
    # alpha = 2.5 default: H = log(sum p^2.5) / (1 - 2.5)
    h = math.log(0.75 ** 2.5 + 0.25 ** 2.5) / -1.5
    assert M.renyi_efficiency([3, 1, 0, 0], 4) == pytest.approx(h / math.log(4))
    # alpha = 1 is Shannon entropy
    assert M.renyi_entropy([1, 1], 1.0) == pytest.approx(math.log(2))
    # uniform over the whole vocabulary: efficiency 1
    assert M.renyi_efficiency([5] * 8, 8) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        M.renyi_efficiency([1], 1)


def test_vocabulary_utilisation_excludes_specials():
    f = [0, 3, 1, 0, 12, 0]
    u = M.vocabulary_utilisation(f, 6, k=2, exclude_ids=[0])
    # ids 1..5 counted: >=2 are ids 1 and 4; never produced: ids 3 and 5
    assert u["counted_types"] == 5
    assert u["used_at_least_k"] == 2 and u["share_used_at_least_k"] == pytest.approx(0.4)
    assert u["never_produced"] == 2 and u["share_never_produced"] == pytest.approx(0.4)
    # a vocabulary larger than the frequency array counts the tail as never produced
    assert M.vocabulary_utilisation([1], 3)["never_produced"] == 2


def test_subword_productivity_counts_distinct_words():
    seg = {"unhappy": ["un", "happy"], "undo": ["un", "do"], "happy": ["happy"], "dodo": ["do", "do"]}
    p = M.subword_productivity(seg)
    assert p == {"un": 2, "happy": 2, "do": 2}  # "do" twice in one word counts once for that word
    s = M.productivity_summary({"a": 1, "b": 1, "c": 4})
    assert s["mean_words_per_type"] == 2.0 and s["share_single_word_types"] == pytest.approx(2 / 3)


def test_cross_language_sharing():
    r = M.cross_language_sharing({"x": np.array([2, 0, 1, 0]), "y": np.array([1, 1, 0, 0]),
                                  "z": np.array([5, 0, 0, 0])})
    # id0 in 3 languages, id1 in 1, id2 in 1
    assert r["histogram"] == {1: 2, 3: 1}
    assert r["shared_by_all"] == 1
    assert r["mean_languages_per_type"] == pytest.approx(5 / 3)


def test_token_frequencies():
    assert M.token_frequencies([[1, 1], [3]], 5).tolist() == [0, 2, 0, 1, 0]


def test_roundtrip_share_flags_lossy_tokenizers():
    class Lower(CharTokenizer):
        def encode_batch(self, texts):
            return super().encode_batch([t.lower() for t in texts])

    lines = ["ab", "Ab", "  ", "a b"]
    # blank lines are ignored; "Ab" comes back as "ab"; whitespace differences do not count
    assert M.roundtrip_share(Lower(), lines) == pytest.approx(2 / 3)
    assert M.roundtrip_share(CharTokenizer(), lines) == 1.0
