"""File formats: tokenizer.json / tokenizer_config.json golden files, tiktoken ranks, SentencePiece
.model parsing, and exact agreement with the reference libraries on the multilingual tiny kit.

The format layer is checked with the plain-Python reference encoder (``formats.reference``), so a
failure here is a reading/writing bug, not an engine bug; ``test_api.py`` checks the engine."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest
import regex

from tokensmith.errors import ConfigError, FormatError
from tokensmith.formats import BpeData, hf, sentencepiece as spm_format, sniff_format, tiktoken as tk_format
from tokensmith.formats.reference import ReferenceEncoder

GOLDEN = Path(__file__).parent / "golden"
KIT = Path(__file__).resolve().parents[2] / "shared" / "data"
TOKENIZERS = KIT / "tokenizers"


@pytest.fixture(scope="module")
def flores_lines(tiny_data) -> list[str]:
    lines = []
    for path in sorted((tiny_data / "multilingual" / "flores200_sib").glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()[:2]
    return lines


def tiny_bpe(texts: list[str], merges: int, specials=("<|endoftext|>",), pattern="o200k") -> BpeData:
    """A deterministic plain-Python BPE (HF id layout: specials, then bytes, then merges)."""
    from tokensmith.config import known_patterns

    order = sorted(range(256), key=lambda b: hf.bytes_to_unicode()[b])
    vocab: list[bytes | None] = [s.encode() for s in specials] + [bytes([b]) for b in order]
    ids = {t: i for i, t in enumerate(vocab)}
    words = Counter(m.group().encode() for t in texts for m in regex.finditer(known_patterns()[pattern], t))
    seqs = {w: [ids[w[i:i + 1]] for i in range(len(w))] for w in words}
    out = []
    for _ in range(merges):
        pairs: Counter = Counter()
        for w, seq in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        new = vocab[a] + vocab[b]
        if new not in ids:
            ids[new] = len(vocab)
            vocab.append(new)
        out.append((a, b))
        for w, seq in seqs.items():
            i, merged = 0, []
            while i < len(seq):
                if i + 1 < len(seq) and (seq[i], seq[i + 1]) == (a, b):
                    merged.append(ids[new])
                    i += 2
                else:
                    merged.append(seq[i])
                    i += 1
            seqs[w] = merged
    return BpeData(vocab=vocab, merges=out, special_tokens={s: i for i, s in enumerate(specials)},
                   pattern=pattern, config={"method": "bpe", "config": {"pattern": pattern}})


GOLDEN_TEXT = ["the cat sat on the mat", "the dog ate the cat's hat", "Über straße naïve café — 東京 2024!"]


@pytest.fixture(scope="module")
def golden_data() -> BpeData:
    return tiny_bpe(GOLDEN_TEXT * 3, merges=24)


@pytest.fixture(scope="module")
def multilingual_data(flores_lines) -> BpeData:
    """A small BPE over some of every script in the kit (plain Python, so kept small)."""
    return tiny_bpe(flores_lines[::4] + GOLDEN_TEXT, merges=150)


# -- tokenizer.json -----------------------------------------------------------------------------

def test_tokenizer_json_matches_golden_file(golden_data, tmp_path):
    hf.save_dir(golden_data, tmp_path / "tok")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        written = (tmp_path / "tok" / name).read_text(encoding="utf-8")
        assert written == (GOLDEN / f"tiny_bpe_{name}").read_text(encoding="utf-8"), name


def test_tokenizer_json_has_no_extra_keys_and_config_is_beside_it(golden_data):
    obj = hf.to_tokenizer_json(golden_data)
    assert list(obj) == ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                         "post_processor", "decoder", "model"]
    assert obj["model"]["merges"][0].count(" ") == 1  # legacy "a b" strings
    cfg = hf.tokenizer_config(golden_data)
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert cfg["tokensmith"]["config"] == {"pattern": "o200k"} and cfg["eos_token"] == "<|endoftext|>"


def test_written_file_loads_in_tokenizers_and_transformers_with_our_ids(multilingual_data, flores_lines, tmp_path):
    import tokenizers
    import transformers

    data = multilingual_data
    hf.save_dir(data, tmp_path / "tok")
    ours = ReferenceEncoder(data)
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tok" / "tokenizer.json"))
    auto = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    for line in flores_lines:
        ids = ours.encode(line)
        assert stock.encode(line, add_special_tokens=False).ids == ids, line
        assert fast.encode(line, add_special_tokens=False) == ids, line
        assert auto.encode(line, add_special_tokens=False) == ids, line
        assert stock.decode(ids) == line
    assert stock.encode("a<|endoftext|>b", add_special_tokens=False).ids == \
        ours.encode("a<|endoftext|>b", allowed_special="all")


@pytest.mark.parametrize("normalization", ["nfc", "nfkc", "lowercase", "nfkc_lowercase"])
def test_normalizers_round_trip_through_tokenizer_json(golden_data, normalization):
    golden_data = BpeData(**{**golden_data.__dict__, "normalization": normalization})
    back = hf.from_tokenizer_json(hf.to_tokenizer_json(golden_data))
    assert back.normalization == normalization
    assert back.vocab == golden_data.vocab and back.merges == golden_data.merges
    assert back.pattern == "o200k" and back.special_tokens == {"<|endoftext|>": 0}


def test_load_dir_restores_our_config(golden_data, tmp_path):
    hf.save_dir(golden_data, tmp_path / "tok")
    back = hf.load_dir(tmp_path / "tok")
    assert back.config == golden_data.config and back.pattern == "o200k"
    assert sniff_format(tmp_path / "tok") == "dir"
    assert sniff_format(tmp_path / "tok" / "tokenizer.json") == "hf"


@pytest.mark.parametrize("name,path", [("claude_legacy", "claude_legacy/tokenizer.json")])  # qwen3: test_api
def test_foreign_tokenizer_json_reads_exactly(name, path, flores_lines):
    import tokenizers

    source = TOKENIZERS / path
    data = hf.from_tokenizer_json(hf.read_tokenizer_json(source), source=str(source))
    stock = tokenizers.Tokenizer.from_str(hf.read_maybe_gzip(source).decode("utf-8"))
    ours = ReferenceEncoder(data)
    for line in flores_lines:
        assert ours.encode(line) == stock.encode(line, add_special_tokens=False).ids, line
    assert data.normalization == {"qwen3": "nfc", "claude_legacy": "nfkc"}[name]


def test_gpt2_and_llama3_style_pretokenizers_are_read():
    gpt2 = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    assert hf._pretokenizer(gpt2, "x") == hf.GPT2_BYTELEVEL_REGEX
    from tokensmith.config import known_patterns

    llama3 = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": known_patterns()["llama3"]}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    assert hf._pretokenizer(llama3, "x") == "llama3"


def test_unsupported_tokenizer_json_files_are_refused(tmp_path):
    with pytest.raises(FormatError, match="WordPiece"):
        hf.from_tokenizer_json(hf.read_tokenizer_json(TOKENIZERS / "bert_base_uncased" / "tokenizer.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        hf.read_tokenizer_json(bad)
    with pytest.raises(FormatError, match="not found"):
        hf.read_tokenizer_json(tmp_path / "missing.json")


# -- tiktoken -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,path,pattern", [  # o200k and llama3 through the engine: test_api
    ("cl100k_base", "openai_cl100k_base/cl100k_base.tiktoken", "cl100k"),
])
def test_rank_files_read_exactly(name, path, pattern, flores_lines):
    import tiktoken

    from tokensmith.config import known_patterns

    ranks = tk_format.read_ranks(TOKENIZERS / path)
    data = tk_format.ranks_to_data(ranks, pattern=pattern, source=name)
    reference = tiktoken.Encoding(name, pat_str=known_patterns()[pattern], mergeable_ranks=ranks, special_tokens={})
    ours = ReferenceEncoder(data)
    for line in flores_lines:
        assert ours.encode(line) == reference.encode_ordinary(line), line
    expected_specials = {"cl100k_base": 5, "o200k_base": 2, "llama3": 256}[name]
    assert len(data.special_tokens) == expected_specials


def test_rank_file_needs_a_pattern():
    ranks = {bytes([b]): b for b in range(256)}
    with pytest.raises(ConfigError, match="pass pattern="):
        tk_format.ranks_to_data(ranks, pattern=None, source="x.tiktoken")
    with pytest.raises(ConfigError, match="unknown pattern 'o200'"):
        tk_format.ranks_to_data(ranks, pattern="o200", source="x.tiktoken")


def test_rank_file_round_trip_and_encoding(multilingual_data, flores_lines, tmp_path):
    data = BpeData(**multilingual_data.__dict__)
    ranks = tk_format.data_to_ranks(data)
    tk_format.write_ranks(ranks, tmp_path / "t.tiktoken")
    first = (tmp_path / "t.tiktoken").read_text().splitlines()[0].split()
    assert base64.b64decode(first[0]) == data.vocab[1] and first[1] == "1"
    assert tk_format.read_ranks(tmp_path / "t.tiktoken") == ranks
    assert sniff_format(tmp_path / "t.tiktoken") == "tiktoken"
    enc = tk_format.to_encoding(data)
    ours = ReferenceEncoder(data)
    data.ignore_merges = True  # tiktoken always looks a whole piece up first
    whole = ReferenceEncoder(data)
    for line in flores_lines:
        assert enc.encode_ordinary(line) == whole.encode(line)
        assert enc.decode(ours.encode(line)) == line


def test_bad_rank_files(tmp_path):
    (tmp_path / "a.tiktoken").write_bytes(b"!!notbase64 0\n")
    with pytest.raises(FormatError, match="expected 'base64-token rank'"):
        tk_format.read_ranks(tmp_path / "a.tiktoken")
    (tmp_path / "b.tiktoken").write_bytes(base64.b64encode(b"a") + b" 0\n")
    with pytest.raises(FormatError, match="255 single bytes have no rank"):
        tk_format.read_ranks(tmp_path / "b.tiktoken")


# -- SentencePiece ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["llama2/tokenizer.model"])  # Mistral through the engine: test_api
def test_sentencepiece_bpe_models_read_exactly(path, flores_lines):
    import sentencepiece

    model = spm_format.read_model(TOKENIZERS / path)
    assert model.model_type == "bpe" and model.byte_fallback and model.add_dummy_prefix
    data = spm_format.model_to_data(model, source=path)
    reference = sentencepiece.SentencePieceProcessor(model_file=str(TOKENIZERS / path))
    assert len(data.vocab) == reference.vocab_size()
    ours = ReferenceEncoder(data)
    for line in flores_lines + ["  two  spaces ", "tab\tand ünïcödé 🙂"]:
        ids = ours.encode(line)
        assert ids == reference.encode(line), line
        assert ours.decode_bytes(ids).decode() == reference.decode(ids)


@pytest.fixture(scope="module")
def spm_models(tmp_path_factory, tiny_data):
    import sentencepiece

    folder = tmp_path_factory.mktemp("spm")
    text = tiny_data / "english_variants" / "british_text.txt"
    for kind in ("bpe", "unigram"):
        sentencepiece.SentencePieceTrainer.train(
            input=str(text), model_prefix=str(folder / kind), vocab_size=400, model_type=kind,
            byte_fallback=True, remove_extra_whitespaces=False, normalization_rule_name="identity",
            minloglevel=2)
    return folder


def test_sentencepiece_model_trained_here_reads_exactly(spm_models, tiny_data):
    import sentencepiece

    path = spm_models / "bpe.model"
    data = spm_format.model_to_data(spm_format.read_model(path))
    reference = sentencepiece.SentencePieceProcessor(model_file=str(path))
    lines = (tiny_data / "english_variants" / "american_text.txt").read_text().splitlines()[:200]
    ours = ReferenceEncoder(data)
    for line in lines + ["東京 çà"]:
        assert ours.encode(line) == reference.encode(line), line
    assert sniff_format(path) == "sentencepiece"


def test_sentencepiece_unigram_is_refused(spm_models):
    with pytest.raises(FormatError, match="unigram model; tokensmith loads BPE models only"):
        spm_format.model_to_data(spm_format.read_model(spm_models / "unigram.model"))


def test_corrupt_sentencepiece_file(tmp_path):
    (tmp_path / "x.model").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(FormatError, match="not a valid SentencePiece model"):
        spm_format.read_model(tmp_path / "x.model")


def test_sniffing_unknown_files(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(FormatError, match="unknown tokenizer format"):
        sniff_format(tmp_path / "x.bin")
    with pytest.raises(FormatError, match="no tokenizer.json"):
        sniff_format(tmp_path)


def test_lazy_merges_behave_like_a_list():
    import pickle

    from tokensmith.formats import LazyList

    calls = []
    lazy = LazyList(lambda: calls.append(1) or [(1, 2), (3, 4)])
    assert not calls
    assert len(lazy) == 2 and lazy[1] == (3, 4) and list(lazy) == [(1, 2), (3, 4)] and lazy == [(1, 2), (3, 4)]
    assert calls == [1]  # filled once
    assert pickle.loads(pickle.dumps(lazy)) == [(1, 2), (3, 4)]
    assert not LazyList(list)
    ranks = {bytes([b]): b for b in range(256)} | {b"ab": 256, b"abc": 257}
    data = tk_format.ranks_to_data(ranks, pattern="gpt2")
    assert data.merges == [(97, 98), (256, 99)] and data.merge_priority == [256, 257]


def test_cl100k_export_splits_digit_runs_like_tiktoken_in_stock_tokenizers(shared_data):
    """Oniguruma reads cl100k's possessive ``\\p{N}{1,3}+`` differently; the export must not."""
    import tokensmith

    ours = tokensmith.load(shared_data / "tokenizers" / "openai_cl100k_base" / "cl100k_base.tiktoken",
                           pattern="cl100k")
    text = "In 1877, 123456 people paid 1234567890 coins; 12 cats."
    expected = ours.to_tiktoken().encode_ordinary(text)
    assert ours.encode(text) == expected
    assert ours.to_hf().encode(text, add_special_tokens=False).ids == expected
