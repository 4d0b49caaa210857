"""The public API: tokensmith.train / tokensmith.load, configs, the method registry, saving and loading,
and exact agreement of loaded foreign tokenizers with their own libraries."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import tokensmith
from tokensmith.config import BpeConfig, field_docs
from tokensmith.errors import ConfigError, CorpusError, FormatError
from tokensmith.methods import available_methods, get_method

KIT = Path(__file__).resolve().parents[2] / "shared" / "data"
TOKENIZERS = KIT / "tokenizers"


@pytest.fixture(scope="module")
def flores_lines(tiny_data) -> list[str]:
    lines = []
    for path in sorted((tiny_data / "multilingual" / "flores200_sib").glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()
    return lines


@pytest.fixture(scope="module")
def train_texts(tiny_data, flores_lines) -> list[str]:
    english = (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()
    return english + flores_lines[::2]


@pytest.fixture(scope="module")
def tok(train_texts):
    return tokensmith.train(train_texts, vocab_size=1000, special_tokens=["<|endoftext|>", "<|pad|>"],
                            pattern="o200k", num_threads=1)


# -- config and registry ------------------------------------------------------------------------

def test_config_round_trip_docs_and_frozen():
    cfg = BpeConfig(vocab_size=500, special_tokens=["<s>"], normalization="nfc", max_token_length=16)
    assert cfg.special_tokens == ("<s>",)
    assert BpeConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.vocab_size = 3  # type: ignore[misc]
    docs = field_docs(BpeConfig)
    assert all(docs.get(f.name) for f in dataclasses.fields(BpeConfig))


@pytest.mark.parametrize("options,message", [
    ({"vocab_size": 200}, r"vocab_size=200 is below the byte alphabet \(256\) plus 0 special tokens; use vocab_size >= 256"),
    ({"vocab_size": 257, "special_tokens": ["a", "b"]}, "use vocab_size >= 258"),
    ({"vocab_size": 500, "pattern": "o200"}, r"unknown pattern 'o200'; known patterns: .*o200k"),
    ({"vocab_size": 500, "pattern": "([unclosed"}, "regex"),
    ({"vocab_size": 500, "normalization": "nfd"}, r"unknown normalization 'nfd'; known: none, nfc, nfkc"),
    ({"vocab_size": 500, "min_frequency": 0}, "min_frequency must be at least 1"),
    ({"vocab_size": 500, "special_tokens": ["x", "x"]}, "special token listed twice: x"),
    ({"vocab_size": "many"}, "vocab_size must be an integer"),
])
def test_config_validation(options, message):
    with pytest.raises(ConfigError, match=message):
        BpeConfig(**options)


def test_registry_knows_bpe_and_names_the_known_methods():
    assert "bpe" in available_methods()
    assert get_method("bpe").config_class is BpeConfig
    with pytest.raises(ConfigError, match=r"unknown method 'nope'; known methods: bpe"):
        get_method("nope")
    with pytest.raises(ConfigError, match=r"unknown method 'nope'"):
        tokensmith.train(["x"], "nope", vocab_size=300)
    with pytest.raises(ConfigError, match=r"unknown option\(s\) for method 'bpe': colour"):
        tokensmith.train(["x"], vocab_size=300, colour="red")
    with pytest.raises(ConfigError, match=r"unknown method 'nope'"):
        BpeConfig.from_dict({"method": "nope", "vocab_size": 300})


# -- training -----------------------------------------------------------------------------------

def test_train_gives_the_asked_size_and_round_trips(tok, flores_lines):
    assert tok.vocab_size == 1000
    for line in flores_lines:
        assert tok.decode(tok.encode(line)) == line
    assert tok.encode_batch(flores_lines[:50]) == [tok.encode(line) for line in flores_lines[:50]]
    assert tok.encode("<|endoftext|>", allowed_special="all") == [0]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_any_text_round_trips(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_files_and_texts_train_the_same_tokenizer(tmp_path, train_texts):
    (tmp_path / "a.txt").write_text("\n".join(train_texts[:1000]) + "\n", encoding="utf-8")
    rows = "".join(json.dumps({"body": t}, ensure_ascii=False) + "\n" for t in train_texts[1000:])
    (tmp_path / "b.jsonl").write_text(rows, encoding="utf-8")
    from_files = tokensmith.train(tmp_path, vocab_size=600, text_field="body", num_threads=1)
    from_texts = tokensmith.train(train_texts, vocab_size=600, num_threads=1)
    sample = " ".join(train_texts[:40])
    assert from_files.encode(sample) == from_texts.encode(sample)


def test_train_corpus_errors(tmp_path):
    with pytest.raises(CorpusError, match="corpus file not found"):
        tokensmith.train(tmp_path / "missing.txt", vocab_size=300)
    with pytest.raises(CorpusError, match="the corpus is empty"):
        tokensmith.train([], vocab_size=300)


# -- saving and loading -------------------------------------------------------------------------

def test_save_load_round_trip_and_stock_libraries(tok, flores_lines, tmp_path):
    import tokenizers
    import transformers

    tok.save(tmp_path / "tok")
    cfg = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert cfg["tokensmith"]["method"] == "bpe" and cfg["tokensmith"]["config"]["vocab_size"] == 1000
    assert "tokensmith" not in json.loads((tmp_path / "tok" / "tokenizer.json").read_text())
    again = tokensmith.load(tmp_path / "tok")
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tok" / "tokenizer.json"))
    for line in flores_lines:
        ids = tok.encode(line)
        assert again.encode(line) == ids
        assert stock.encode(line, add_special_tokens=False).ids == ids, line
        assert fast.encode(line, add_special_tokens=False) == ids, line


def test_to_tiktoken_gives_our_ids(tok, flores_lines):
    enc = tok.to_tiktoken()
    for line in flores_lines:
        assert enc.encode_ordinary(line) == tok.encode(line), line


def _tiktoken_ref(path: str, pattern: str):
    import tiktoken

    from tokensmith.config import known_patterns
    from tokensmith.formats.tiktoken import read_ranks

    enc = tiktoken.Encoding(pattern, pat_str=known_patterns()[pattern], mergeable_ranks=read_ranks(TOKENIZERS / path),
                            special_tokens={})
    return enc.encode_ordinary


def _hf_ref(path: str):
    import tokenizers

    from tokensmith.formats import read_maybe_gzip

    ref = tokenizers.Tokenizer.from_str(read_maybe_gzip(TOKENIZERS / path).decode("utf-8"))
    return lambda text: ref.encode(text, add_special_tokens=False).ids


def _spm_ref(path: str):
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(TOKENIZERS / path)).encode


FOREIGN = {
    "cl100k": ("openai_cl100k_base/cl100k_base.tiktoken", "cl100k", lambda: _tiktoken_ref("openai_cl100k_base/cl100k_base.tiktoken", "cl100k")),
    "o200k": ("openai_o200k_base/o200k_base.tiktoken", "o200k", lambda: _tiktoken_ref("openai_o200k_base/o200k_base.tiktoken", "o200k")),
    "llama3": ("llama3/tokenizer.model", "llama3", lambda: _tiktoken_ref("llama3/tokenizer.model", "llama3")),
    "qwen3": ("qwen3/tokenizer.json.gz", None, lambda: _hf_ref("qwen3/tokenizer.json.gz")),
    "claude_legacy": ("claude_legacy/tokenizer.json", None, lambda: _hf_ref("claude_legacy/tokenizer.json")),
    "llama2": ("llama2/tokenizer.model", None, lambda: _spm_ref("llama2/tokenizer.model")),
    "mistral_v1": ("mistral_v1/tokenizer.model.v1", None, lambda: _spm_ref("mistral_v1/tokenizer.model.v1")),
    "mistral_v3": ("mistral_v3/tokenizer.model.v3", None, lambda: _spm_ref("mistral_v3/tokenizer.model.v3")),
}


_LOADED: dict[str, tokensmith.Tokenizer] = {}


def _load_foreign(name: str):
    """Load each foreign tokenizer once per test session (the big ones take seconds)."""
    if name not in _LOADED:
        path, pattern, _ = FOREIGN[name]
        _LOADED[name] = tokensmith.load(TOKENIZERS / path, pattern=pattern)
    return _LOADED[name]


@pytest.mark.parametrize("name", list(FOREIGN))
def test_loaded_foreign_tokenizers_encode_exactly(name, flores_lines):
    path, pattern, reference = FOREIGN[name]
    ours = _load_foreign(name)
    ref = reference()
    extra = ["  two  spaces\tand a tab ", "emoji 🙂🙂 and digits 1234567", ""]
    for line in flores_lines + extra:
        ids = ours.encode(line)
        assert ids == ref(line), (name, line)
        form = {"qwen3": "NFC", "claude_legacy": "NFKC"}.get(name)
        assert ours.decode(ids) == (unicodedata.normalize(form, line) if form else line)
    assert ours.encode_batch(flores_lines) == [ref(line) for line in flores_lines]


def _batch_reference(name: str):
    """The reference library's own batch encoder for a foreign tokenizer."""
    import sentencepiece
    import tiktoken
    import tokenizers

    from tokensmith.config import known_patterns
    from tokensmith.formats import read_maybe_gzip
    from tokensmith.formats.tiktoken import read_ranks

    path, pattern, _ = FOREIGN[name]
    if pattern is not None:
        enc = tiktoken.Encoding(name, pat_str=known_patterns()[pattern], special_tokens={},
                                mergeable_ranks=read_ranks(TOKENIZERS / path))
        return lambda lines: enc.encode_ordinary_batch(lines, num_threads=2)
    if path.endswith((".json", ".json.gz")):
        ref = tokenizers.Tokenizer.from_str(read_maybe_gzip(TOKENIZERS / path).decode("utf-8"))
        return lambda lines: [e.ids for e in ref.encode_batch(lines, add_special_tokens=False)]
    sp = sentencepiece.SentencePieceProcessor(model_file=str(TOKENIZERS / path))
    return lambda lines: sp.encode(lines)


@pytest.mark.slow
def test_foreign_tokenizers_on_the_full_multilingual_kit(shared_data):
    """All 205 FLORES-200 languages (76,500 lines, 10 MB), one tokenizer of each kind of file."""
    all_lines = []
    for path in sorted((shared_data / "multilingual" / "flores200_sib").glob("*.txt")):
        all_lines += path.read_text(encoding="utf-8").splitlines()
    assert len(all_lines) > 70000
    for name, step in (("o200k", 1), ("llama2", 1), ("qwen3", 10)):  # qwen3's reference is the slowest
        lines = all_lines[::step]
        ours = _load_foreign(name).encode_batch(lines)
        ref = _batch_reference(name)(lines)
        mismatches = [i for i, (a, b) in enumerate(zip(ours, ref)) if a != b]
        assert len(ours) == len(ref) and not mismatches, (name, len(mismatches), lines[mismatches[0]][:80])


def test_load_errors(tmp_path, tiny_data):
    with pytest.raises(ConfigError, match="stores no pretokenization pattern; pass pattern="):
        tokensmith.load(TOKENIZERS / "openai_cl100k_base" / "cl100k_base.tiktoken")
    with pytest.raises(ConfigError, match="pattern= only applies to tiktoken rank files"):
        tokensmith.load(TOKENIZERS / "qwen3" / "tokenizer.json.gz", pattern="o200k")
    with pytest.raises(FormatError, match="WordPiece"):
        tokensmith.load(TOKENIZERS / "bert_base_uncased" / "tokenizer.json")
    with pytest.raises(FormatError, match="not found"):
        tokensmith.load(tmp_path / "nothing.json")
    with pytest.raises(FormatError, match="unknown tokenizer format"):
        tokensmith.load(tiny_data / "morphology" / "eng.tsv")


def test_train_on_a_datasets_object(train_texts):
    import datasets

    ds = datasets.Dataset.from_dict({"content": train_texts[:500]})
    tok = tokensmith.train(ds, vocab_size=400, text_field="content", num_threads=1)
    assert tok.vocab_size == 400
    assert tok.to_data().config["corpus"]["documents"] == len([t for t in train_texts[:500] if t])


def test_skipped_invalid_utf8_lines_are_reported(tmp_path):
    from tokensmith.corpus import SkippedLinesWarning

    (tmp_path / "mixed.txt").write_bytes(("hello world\n" * 20).encode() + b"bad \xff\n")
    with pytest.warns(SkippedLinesWarning, match="skipped 1 lines of invalid UTF-8"):
        tok = tokensmith.train(tmp_path / "mixed.txt", vocab_size=270)
    assert tok.to_data().config["corpus"]["invalid_utf8_lines"] == 1
